//! Letter templates: the built-in defaults for students, staff and parents,
//! and the school's own copies, kept in the database (audited) and moved
//! between machines as small text files.
//!
//! A template file:
//!
//! ```text
//! keyroll-letter-template: 1
//! name: Welcome (Year 7)
//! for: student
//! ---
//! # Welcome, {{given_name}}
//! ```

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::template::{self, Body};
use crate::error::{Error, Result};
use crate::people::Kind;
use crate::store::Store;

/// Who a template is written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Audience {
    Student,
    Staff,
    Parent,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Student => "student",
            Audience::Staff => "staff",
            Audience::Parent => "parent",
        }
    }

    pub fn parse(s: &str) -> Option<Audience> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "student" | "students" => Audience::Student,
            "staff" => Audience::Staff,
            "parent" | "parents" | "contact" | "contacts" => Audience::Parent,
            _ => return None,
        })
    }

    pub fn of(kind: Kind) -> Audience {
        match kind {
            Kind::Student => Audience::Student,
            Kind::Staff => Audience::Staff,
            Kind::Contact => Audience::Parent,
        }
    }
}

/// A letter template.
#[derive(Clone, Debug, Serialize)]
pub struct Template {
    pub name: String,
    pub audience: Audience,
    /// The markup, as the office wrote it.
    pub text: String,
    /// Built in (not stored, not editable: the school edits a copy).
    pub builtin: bool,
    #[serde(skip)]
    pub body: Body,
}

impl Template {
    /// One of the school's templates from its markup (checked), not yet
    /// stored: a file's, or the editor's text being previewed.
    pub fn new(
        name: impl Into<String>,
        audience: Audience,
        text: impl Into<String>,
    ) -> Result<Template> {
        let text = text.into();
        Ok(Template {
            body: template::parse(&text)?,
            name: name.into(),
            audience,
            text,
            builtin: false,
        })
    }
}

const BUILTIN: &[(&str, Audience, &str)] = &[
    (
        "Welcome (students)",
        Audience::Student,
        include_str!("defaults/student.txt"),
    ),
    (
        "Welcome (staff)",
        Audience::Staff,
        include_str!("defaults/staff.txt"),
    ),
    (
        "Welcome (parents)",
        Audience::Parent,
        include_str!("defaults/parent.txt"),
    ),
];

fn builtin(i: usize) -> Template {
    let (name, audience, text) = BUILTIN[i];
    Template {
        name: name.into(),
        audience,
        text: text.into(),
        builtin: true,
        body: template::parse(text).expect("built-in templates parse"),
    }
}

/// The built-in template for an audience.
pub fn default_for(audience: Audience) -> Template {
    builtin(
        BUILTIN
            .iter()
            .position(|b| b.1 == audience)
            .expect("one per audience"),
    )
}

/// Every template: the built-in ones, then the school's by name.
pub fn list(store: &Store) -> Result<Vec<Template>> {
    let mut out: Vec<Template> = (0..BUILTIN.len()).map(builtin).collect();
    let mut st = store
        .conn()
        .prepare("SELECT name, audience, body FROM letter_template ORDER BY name")?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    for row in rows {
        let (name, audience, text) = row?;
        out.push(stored(name, &audience, text)?);
    }
    Ok(out)
}

fn stored(name: String, audience: &str, text: String) -> Result<Template> {
    let audience = Audience::parse(audience).unwrap_or(Audience::Student);
    Template::new(name.clone(), audience, text)
        .map_err(|e| Error::Invalid(format!("template {name}: {e}")))
}

/// A template by name (case ignored), built-in or the school's.
pub fn get(store: &Store, name: &str) -> Result<Template> {
    if let Some(i) = BUILTIN
        .iter()
        .position(|b| b.0.eq_ignore_ascii_case(name.trim()))
    {
        return Ok(builtin(i));
    }
    let row = store
        .conn()
        .query_row(
            "SELECT name, audience, body FROM letter_template WHERE name = ?1 COLLATE NOCASE",
            [name.trim()],
            |r| Ok((r.get(0)?, r.get::<_, String>(1)?, r.get(2)?)),
        )
        .optional()?;
    match row {
        Some((name, audience, text)) => stored(name, &audience, text),
        None => Err(Error::Invalid(format!(
            "there is no letter template called {name:?}; `keyroll letters templates list` \
             shows them"
        ))),
    }
}

/// Saves the school's template (new, or replacing its own of that name),
/// after checking its markup; a built-in name is refused (edit a copy).
pub fn save(
    store: &mut Store,
    actor: &str,
    name: &str,
    audience: Audience,
    text: &str,
) -> Result<Template> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::Invalid("a template needs a name".into()));
    }
    if BUILTIN.iter().any(|b| b.0.eq_ignore_ascii_case(name)) {
        return Err(Error::Invalid(format!(
            "{name:?} is built in and stays as it is; save your changes under a new name"
        )));
    }
    let body = template::parse(text)?;
    let w = store.writer(actor)?;
    let before: Option<String> = w
        .conn()
        .query_row(
            "SELECT body FROM letter_template WHERE name = ?1 COLLATE NOCASE",
            [name],
            |r| r.get(0),
        )
        .optional()?;
    w.conn().execute(
        "INSERT INTO letter_template (name, audience, body, updated_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (name) DO UPDATE SET audience = ?2, body = ?3, updated_at = ?4",
        params![name, audience.as_str(), text, w.at()],
    )?;
    let json =
        |body: &str| serde_json::json!({ "audience": audience.as_str(), "body": body }).to_string();
    w.audit(
        if before.is_some() {
            "letter_template.update"
        } else {
            "letter_template.create"
        },
        "letter_template",
        name,
        before.as_deref().map(json).as_deref(),
        Some(&json(text)),
    )?;
    w.commit()?;
    Ok(Template {
        name: name.into(),
        audience,
        text: text.into(),
        builtin: false,
        body,
    })
}

/// Deletes one of the school's templates.
pub fn delete(store: &mut Store, actor: &str, name: &str) -> Result<()> {
    let t = get(store, name)?;
    if t.builtin {
        return Err(Error::Invalid(format!(
            "{:?} is built in and cannot be deleted",
            t.name
        )));
    }
    let w = store.writer(actor)?;
    w.conn()
        .execute("DELETE FROM letter_template WHERE name = ?1", [&t.name])?;
    let before = serde_json::json!({ "audience": t.audience.as_str(), "body": t.text }).to_string();
    w.audit(
        "letter_template.delete",
        "letter_template",
        &t.name,
        Some(&before),
        None,
    )?;
    Ok(w.commit()?)
}

const MAGIC: &str = "keyroll-letter-template: 1";

/// A template as a file's text.
pub fn to_file(t: &Template) -> String {
    format!(
        "{MAGIC}\nname: {}\nfor: {}\n---\n{}",
        t.name,
        t.audience.as_str(),
        t.text
    )
}

/// A template file's template (checked), naming the file's line on any
/// mistake.
pub fn from_file(path: &std::path::Path, text: &str) -> Result<Template> {
    let bad = |line: usize, what: String| {
        Error::Invalid(format!("{}, line {line}: {what}", path.display()))
    };
    let text = text.trim_start_matches('\u{feff}');
    let Some((head, body)) = text
        .split_once("\n---\n")
        .or_else(|| text.split_once("\r\n---\r\n"))
    else {
        return Err(bad(
            1,
            format!("not a Keyroll letter template (it starts with {MAGIC:?}, then name:, for: and ---)"),
        ));
    };
    let mut lines = head.lines().map(str::trim);
    if lines.next() != Some(MAGIC) {
        return Err(bad(1, format!("the first line must be {MAGIC:?}")));
    }
    let (mut name, mut audience) = (None, None);
    for (i, line) in lines.enumerate() {
        match line.split_once(':') {
            Some(("name", v)) => name = Some(v.trim().to_owned()),
            Some(("for", v)) => {
                audience = Some(Audience::parse(v).ok_or_else(|| {
                    bad(
                        i + 2,
                        format!("for: must be student, staff or parent, not {:?}", v.trim()),
                    )
                })?)
            }
            _ => return Err(bad(i + 2, format!("unexpected {line:?}"))),
        }
    }
    let name = name.ok_or_else(|| bad(2, "the template has no name: line".into()))?;
    let audience = audience.ok_or_else(|| bad(3, "the template has no for: line".into()))?;
    let first_line = head.lines().count() + 2;
    Ok(Template {
        body: template::parse_from(body, first_line)
            .map_err(|e| Error::Invalid(format!("{}, {e}", path.display())))?,
        name,
        audience,
        text: body.to_owned(),
        builtin: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_file_round_trips_and_names_its_mistakes() {
        let t = default_for(Audience::Parent);
        let file = to_file(&t);
        let back = from_file(std::path::Path::new("t.txt"), &file).unwrap();
        assert_eq!(
            (back.name.as_str(), back.audience, back.text.as_str()),
            (t.name.as_str(), t.audience, t.text.as_str())
        );
        let broken =
            "keyroll-letter-template: 1\nname: X\nfor: parent\n---\nHello\n{{given_nme}}\n";
        let err = from_file(std::path::Path::new("t.txt"), broken)
            .unwrap_err()
            .to_string();
        assert!(err.contains("t.txt, line 6"), "{err}");
        assert!(err.contains("given_name"), "{err}");
        let err = from_file(std::path::Path::new("t.txt"), "hello")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a Keyroll letter template"), "{err}");
    }

    #[test]
    fn every_builtin_parses() {
        for a in [Audience::Student, Audience::Staff, Audience::Parent] {
            assert!(!default_for(a).body.blocks.is_empty());
        }
    }
}
