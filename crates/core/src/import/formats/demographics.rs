//! demographics.csv, as OneRoster and School Data Sync v2 write it: birth
//! dates by user id (the two differ only in the id column's name).

use super::super::fields::{fatal, field, is_date};
use super::super::{csvfile, FastMap, Loader, Source};
use crate::error::Result;

/// Birth dates by SIS id, as demographics.csv gives them.
pub type BirthDates = FastMap<String, String>;

/// Birth dates by user id from a demographics file (OneRoster's and SDS's
/// differ only in the name of the id column).
pub fn read_birth_dates(
    src: &Source,
    loader: &mut dyn Loader,
    id_column: &str,
) -> Result<BirthDates> {
    let mut f = csvfile::CsvFile::open(src)?;
    let c_id = f.require(&[id_column]).map_err(fatal)?[0];
    let c_birth = f.column("birthDate");
    // Sized once, at about one row per 56 bytes (OneRoster's run a little
    // longer, so it errs high).
    let mut out = BirthDates::with_capacity_and_hasher((f.size / 56) as usize, Default::default());
    let mut rec = csv::StringRecord::new();
    while f.next(&mut rec)? {
        loader.progress(f.bytes_read())?;
        if let Err(e) = f.check_width(&rec) {
            loader.reject(e, None)?;
            continue;
        }
        let id = field(&rec, Some(c_id));
        let birth = field(&rec, c_birth);
        if !birth.is_empty() && !is_date(&birth) {
            // The person is imported, without a birth date.
            let why = format!("\"{birth}\" is not a date (expected YYYY-MM-DD)");
            let e = f.error(&rec, c_birth.unwrap_or(0), why);
            let dropped = format!("\"{id}\" is imported without a birth date");
            loader.warn(e.warning(&dropped), Some(&id))?;
            continue;
        }
        out.insert(id, birth);
    }
    loader.file_done(f.info());
    Ok(out)
}
