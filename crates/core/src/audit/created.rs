//! Creation entries of many records at once. An import creates a quarter of
//! a million people and account generation as many accounts: a row of the
//! log each was a fifth of their time. So the records one run creates share
//! rows of up to [`PER_ROW`], each naming every record's key and what it was
//! created with (the field names once per row, the values per record); the
//! log still reads as one `<entity>.create` entry per record ([`expand`]),
//! whose `after` holds the fields that were not empty.

use serde::Deserialize;

use super::AuditEntry;
use crate::store::{Result, Writer};

/// The entity of a row of grouped creation entries.
pub const GROUPED: &str = "batch";

/// The entity of the grouped person creations written before schema v10,
/// which held no copy of the record: `{"people": [{"key", "children"}]}`.
const LEGACY: &str = "import";

/// How many records one row names: a row stays small to write and to read.
pub const PER_ROW: usize = 5000;

/// One record created: its audit key, the values of its fields then (a JSON
/// array of strings, in the order of the `fields` given to
/// [`record_created`]), and anything else to keep (JSON object members, as
/// text: `"children":["s1"]`; empty for none).
pub struct Created {
    pub key: String,
    pub values: String,
    pub extra: String,
}

/// Records that `entity` records were created (action `<entity>.create`), in
/// rows of up to [`PER_ROW`] keyed `group_key` (the import's id, the run's
/// time), each naming `fields` once.
pub fn record_created(
    w: &Writer,
    entity: &str,
    group_key: &str,
    fields: &[&str],
    created: impl IntoIterator<Item = Created>,
) -> Result<()> {
    let action = format!("{entity}.create");
    let fields = serde_json::to_string(fields).expect("strings serialise");
    let mut created = created.into_iter().peekable();
    let mut row = String::new();
    while created.peek().is_some() {
        // Written by hand: each record's JSON is already made, and a
        // quarter of a million go through here.
        row.clear();
        row.push_str("{\"fields\":");
        row.push_str(&fields);
        row.push_str(",\"created\":[");
        for (i, c) in created.by_ref().take(PER_ROW).enumerate() {
            if i > 0 {
                row.push(',');
            }
            row.push_str("{\"key\":");
            row.push_str(&serde_json::to_string(&c.key).expect("a string serialises"));
            row.push_str(",\"values\":");
            row.push_str(&c.values);
            if !c.extra.is_empty() {
                row.push(',');
                row.push_str(&c.extra);
            }
            row.push('}');
        }
        row.push_str("]}");
        w.audit(&action, GROUPED, group_key, None, Some(&row))?;
    }
    Ok(())
}

/// Whether a row (by its entity and action) is a group of creation entries.
pub(super) fn is_grouped(entity: &str, action: &str) -> bool {
    (entity == GROUPED && action.ends_with(".create"))
        || (entity == LEGACY && action == "person.create")
}

#[derive(Deserialize)]
struct Row {
    #[serde(default)]
    fields: Vec<String>,
    #[serde(default)]
    created: Vec<Item>,
    /// Before schema v10.
    #[serde(default)]
    people: Vec<LegacyItem>,
}

#[derive(Deserialize)]
struct Item {
    key: String,
    #[serde(default)]
    values: Vec<String>,
    /// Anything else the record keeps.
    #[serde(flatten)]
    extra: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct LegacyItem {
    key: String,
    #[serde(default)]
    children: Vec<String>,
}

/// A grouped row as the entries it stands for, each with the row's id,
/// time, actor and import; with `only`, just the one with that key.
pub(super) fn expand(row: AuditEntry, only: Option<&str>) -> Vec<AuditEntry> {
    let entity = row.action.trim_end_matches(".create").to_owned();
    let parsed: Row = row
        .after
        .as_ref()
        .and_then(|a| serde_json::from_value(a.clone()).ok())
        .unwrap_or(Row {
            fields: Vec::new(),
            created: Vec::new(),
            people: Vec::new(),
        });
    let fields = parsed.fields;
    let legacy = parsed.people.into_iter().map(|p| {
        let mut extra = serde_json::Map::new();
        if !p.children.is_empty() {
            extra.insert("children".into(), p.children.into());
        }
        Item {
            key: p.key,
            values: Vec::new(),
            extra,
        }
    });
    parsed
        .created
        .into_iter()
        .chain(legacy)
        .filter(|item| only.is_none_or(|k| item.key == k))
        .map(|item| {
            let mut after: serde_json::Map<String, serde_json::Value> = fields
                .iter()
                .zip(item.values)
                .filter(|(_, v)| !v.is_empty())
                .map(|(f, v)| (f.clone(), v.into()))
                .collect();
            after.extend(item.extra);
            (item.key, after)
        })
        .map(|(key, after)| AuditEntry {
            id: row.id,
            at: row.at.clone(),
            actor: row.actor.clone(),
            action: row.action.clone(),
            entity: entity.clone(),
            entity_key: key,
            before: None,
            after: (!after.is_empty()).then_some(serde_json::Value::Object(after)),
            import_id: row.import_id,
        })
        .collect()
}

/// The keys of the `entity` records that import `import_id` created.
pub fn created_by(
    conn: &rusqlite::Connection,
    import_id: i64,
    entity: &str,
) -> Result<Vec<String>> {
    let mut st = conn.prepare(
        "SELECT coalesce(item.value ->> 'key', '') FROM audit a,
                json_each(a.after, CASE a.entity WHEN 'import' THEN '$.people' ELSE '$.created' END) item
         WHERE a.import_id = ?1 AND a.entity IN ('batch', 'import') AND a.action = ?2
         ORDER BY a.id DESC, item.key DESC",
    )?;
    let rows = st.query_map(
        rusqlite::params![import_id, format!("{entity}.create")],
        |r| r.get(0),
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
