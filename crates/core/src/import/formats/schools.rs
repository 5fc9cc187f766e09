//! A list of schools with an id and a name, as Clever's schools.csv and SDS
//! classic's School.csv are: each row an org of type school.

use std::collections::HashMap;

use super::super::csvfile::CsvFile;
use super::super::fields::field;
use super::super::{Loader, OrgRecord};
use crate::error::Result;

/// Reads `f`'s rows, the id in column `id` and the name in column `name`.
pub fn read(mut f: CsvFile, id: usize, name: usize, loader: &mut dyn Loader) -> Result<()> {
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut rec = csv::StringRecord::new();
    while f.next(&mut rec)? {
        loader.progress(f.bytes_read())?;
        let sis_id = field(&rec, Some(id));
        if let Err(e) = f.check_width(&rec) {
            loader.reject(e, None)?;
            continue;
        }
        if let Some(e) = f.id_problem(&rec, id, &sis_id, "school", &seen) {
            loader.reject(e, None)?;
            continue;
        }
        seen.insert(sis_id.clone(), f.line_of(&rec));
        loader.org(OrgRecord {
            sis_id,
            name: field(&rec, Some(name)),
            org_type: "school".into(),
            parent_sis_id: String::new(),
            status: "active".into(),
        })?;
    }
    loader.file_done(f.info());
    Ok(())
}
