//! Creation entries of many records at once. A first import creates everyone,
//! and account generation everyone's accounts: a row of the log each slowed
//! both markedly. So the records one run creates share rows of up to
//! [`PER_ROW`], each naming every record's key and what it was created with
//! (the field names once per row, the values per record); the
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
    let mut rows = CreatedRows::new(entity, group_key, fields);
    for c in created {
        rows.push(w, &c.key, |out| out.push_str(&c.values), &c.extra)?;
    }
    rows.finish(w)
}

/// The rows of [`record_created`], built as records are created: each
/// record's key and values go straight into the row being built, which is
/// written every [`PER_ROW`] records (a quarter of a million records make
/// no string of their own, and nothing of them builds up).
pub struct CreatedRows {
    action: String,
    group_key: String,
    /// The row's start: `{"fields":[...],"created":[`.
    head: String,
    row: String,
    n: usize,
}

impl CreatedRows {
    pub fn new(entity: &str, group_key: &str, fields: &[&str]) -> CreatedRows {
        let fields = serde_json::to_string(fields).expect("strings serialise");
        let head = format!("{{\"fields\":{fields},\"created\":[");
        CreatedRows {
            action: format!("{entity}.create"),
            group_key: group_key.to_owned(),
            row: String::with_capacity(head.len() + PER_ROW * 160),
            head,
            n: 0,
        }
    }

    /// Adds one record: its audit key, its values (`values` appends the JSON
    /// array of them), and `extra` (JSON object members, or empty).
    pub fn push(
        &mut self,
        w: &Writer,
        key: &str,
        values: impl FnOnce(&mut String),
        extra: &str,
    ) -> Result<()> {
        let key = |out: &mut String| push_json_string(out, key);
        self.push_with(w, key, values, |out| out.push_str(extra))
    }

    /// Like [`CreatedRows::push`], with the key (a JSON string) and the
    /// extra members (none, or `,"name":value…`) written by `key` and
    /// `extra` too: nothing is made for the record but its part of the row.
    pub fn push_with(
        &mut self,
        w: &Writer,
        key: impl FnOnce(&mut String),
        values: impl FnOnce(&mut String),
        extra: impl FnOnce(&mut String),
    ) -> Result<()> {
        if self.n == 0 {
            self.row.clear();
            self.row.push_str(&self.head);
        } else {
            self.row.push(',');
        }
        self.row.push_str("{\"key\":");
        key(&mut self.row);
        self.row.push_str(",\"values\":");
        values(&mut self.row);
        let before = self.row.len();
        extra(&mut self.row);
        if self.row.len() > before && !self.row[before..].starts_with(',') {
            self.row.insert(before, ',');
        }
        self.row.push('}');
        self.n += 1;
        if self.n == PER_ROW {
            self.write(w)?;
        }
        Ok(())
    }

    /// Writes what is left.
    pub fn finish(mut self, w: &Writer) -> Result<()> {
        self.write(w)
    }

    fn write(&mut self, w: &Writer) -> Result<()> {
        if self.n == 0 {
            return Ok(());
        }
        self.row.push_str("]}");
        w.audit(
            &self.action,
            GROUPED,
            &self.group_key,
            None,
            Some(&self.row),
        )?;
        self.n = 0;
        Ok(())
    }
}

/// Appends `s` to `out` as a JSON string.
pub fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    push_json_escaped(out, s);
    out.push('"');
}

/// Appends `s` to `out` escaped as inside a JSON string (no quotes around
/// it: a key made of parts is written part by part).
pub fn push_json_escaped(out: &mut String, s: &str) {
    use std::fmt::Write;
    // Nearly every name, id and email needs no escaping: copied whole.
    if !s.bytes().any(|b| b == b'"' || b == b'\\' || b < b' ') {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c < ' ' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
}

/// Whether a row (by its entity and action) is a group of creation entries.
pub(super) fn is_grouped(entity: &str, action: &str) -> bool {
    (entity == GROUPED && action.ends_with(".create"))
        || (entity == LEGACY && action == "person.create")
}

#[cfg(test)]
#[test]
fn json_strings_escape_what_json_requires() {
    for s in ["plain", "Zoë \"Zo\" O'Brien\\x", "a\r\nb\t\u{1}", "陈伟"] {
        let mut out = String::new();
        push_json_string(&mut out, s);
        assert_eq!(serde_json::from_str::<String>(&out).unwrap(), s);
    }
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
pub(super) fn expand(mut row: AuditEntry, only: Option<&str>) -> Vec<AuditEntry> {
    let entity = row.action.trim_end_matches(".create").to_owned();
    // The group's rows are read once, from the entry itself (a group holds
    // up to 5,000 records: no copy of it first).
    let parsed: Row = row
        .after
        .take()
        .and_then(|a| serde_json::from_value(a).ok())
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
