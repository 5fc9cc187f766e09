//! Invitation templates: a subject and a body in the letters' markup
//! (headings, bold, lists, merge fields), sent as plain text and HTML. The
//! built-in ones invite students, staff and parents; "Message" starts a
//! free-form email to anyone. The school's own are kept in the database
//! (audited) and moved as files:
//!
//! ```text
//! keyroll-invitation-template: 1
//! name: Invitation (Year 7 parents)
//! for: parent
//! subject: Your parent account at {{school_name}}
//! ---
//! Dear {{full_name}}, …
//! ```
//!
//! A template that shows a credential ({{credentials}}, {{password}},
//! {{activation_code}}, {{activation_link}}) is an invitation: sending it
//! issues the account's code and hands the account out. One without is a
//! message, which changes no account.

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::letters::template::{self, Block, Body, Span};
use crate::letters::Audience;
use crate::people::Kind;
use crate::store::Store;

const MAGIC: &str = "keyroll-invitation-template: 1";

/// An invitation or message template.
#[derive(Clone, Debug, Serialize)]
pub struct InvitationTemplate {
    pub name: String,
    /// Who it is written for; None: anyone (a message).
    pub audience: Option<Audience>,
    pub subject: String,
    /// The body's markup, as the office wrote it.
    pub text: String,
    pub builtin: bool,
    /// Whether it hands an account out (it shows a credential).
    pub invitation: bool,
    #[serde(skip)]
    pub body: Body,
    #[serde(skip)]
    pub subject_spans: Vec<Span>,
}

/// The fields that make a template an invitation.
const CREDENTIAL_FIELDS: [&str; 4] = [
    "credentials",
    "password",
    "activation_code",
    "activation_link",
];

fn spans_use(spans: &[Span], names: &[&str]) -> bool {
    spans.iter().any(|s| match s {
        Span::Field { v } => names.contains(&v.as_str()),
        Span::Bold { c } | Span::Italic { c } => spans_use(c, names),
        Span::Text { .. } => false,
    })
}

/// Whether a body uses any of the fields `names`.
pub fn uses(body: &Body, names: &[&str]) -> bool {
    body.blocks.iter().any(|b| match b {
        Block::Insert { v } => names.contains(&v.as_str()),
        Block::Heading { c, .. } | Block::Para { c } => spans_use(c, names),
        Block::List { items } => items.iter().any(|i| spans_use(i, names)),
    })
}

impl InvitationTemplate {
    /// A template from its parts (checked): the subject is one line of text
    /// with merge fields; the body is the letters' markup.
    pub fn new(
        name: impl Into<String>,
        audience: Option<Audience>,
        subject: impl Into<String>,
        text: impl Into<String>,
    ) -> Result<InvitationTemplate> {
        Self::parsed(name.into(), audience, subject.into(), text.into(), 1)
    }

    fn parsed(
        name: String,
        audience: Option<Audience>,
        subject: String,
        text: String,
        first_line: usize,
    ) -> Result<InvitationTemplate> {
        let subject_spans = parse_subject(&subject)?;
        let body = template::parse_from(&text, first_line)?;
        Ok(InvitationTemplate {
            invitation: uses(&body, &CREDENTIAL_FIELDS),
            name,
            audience,
            subject,
            text,
            builtin: false,
            body,
            subject_spans,
        })
    }

    /// Whether this template may be sent to an account of `kind`.
    pub fn suits(&self, kind: Kind) -> bool {
        self.audience.is_none_or(|a| a == Audience::of(kind))
    }
}

/// A subject line's text and fields (a field that is a block, like the QR
/// code, cannot be in a subject).
fn parse_subject(subject: &str) -> Result<Vec<Span>> {
    if subject.trim().is_empty() {
        return Err(Error::Invalid("an email needs a subject".into()));
    }
    if subject.contains('\n') {
        return Err(Error::Invalid("a subject is one line".into()));
    }
    // Markup in a subject prints as written: only fields are read.
    let mut spans = Vec::new();
    let mut rest = subject;
    while let Some(start) = rest.find("{{") {
        let Some(end) = rest[start..].find("}}") else {
            break;
        };
        if start > 0 {
            spans.push(Span::Text {
                v: rest[..start].to_owned(),
            });
        }
        spans.push(Span::Field {
            v: rest[start + 2..start + end].trim().to_owned(),
        });
        rest = &rest[start + end + 2..];
    }
    if !rest.is_empty() {
        spans.push(Span::Text { v: rest.to_owned() });
    }
    for sp in &spans {
        let Span::Field { v } = sp else { continue };
        if v.starts_with("sis.") {
            continue;
        }
        match crate::letters::fields::find(v) {
            Some(f) if f.block => {
                return Err(Error::Invalid(format!(
                    "the subject can hold text and fields like {{{{school_name}}}}, not {{{{{v}}}}}"
                )))
            }
            Some(_) => {}
            None => {
                let hint = crate::letters::fields::nearest(v)
                    .map(|n| format!(" (did you mean {{{{{n}}}}}?)"))
                    .unwrap_or_default();
                return Err(Error::Invalid(format!(
                    "the subject: there is no merge field {{{{{v}}}}}{hint}"
                )));
            }
        }
    }
    Ok(spans)
}

const BUILTIN: &[&str] = &[
    include_str!("defaults/student.txt"),
    include_str!("defaults/staff.txt"),
    include_str!("defaults/parent.txt"),
    include_str!("defaults/message.txt"),
];

fn builtin(i: usize) -> InvitationTemplate {
    let mut t = from_file(std::path::Path::new("built-in"), BUILTIN[i])
        .expect("built-in invitation templates parse");
    t.builtin = true;
    t
}

/// The built-in invitation for an account of `kind`.
pub fn default_for(kind: Kind) -> InvitationTemplate {
    (0..BUILTIN.len())
        .map(builtin)
        .find(|t| t.invitation && t.audience == Some(Audience::of(kind)))
        .expect("one invitation per audience")
}

/// Every template: the built-in ones, then the school's by name.
pub fn list(store: &Store) -> Result<Vec<InvitationTemplate>> {
    let mut out: Vec<InvitationTemplate> = (0..BUILTIN.len()).map(builtin).collect();
    let mut st = store
        .conn()
        .prepare("SELECT name, audience, subject, body FROM invitation_template ORDER BY name")?;
    let rows = st.query_map([], |r| {
        Ok((r.get(0)?, r.get::<_, String>(1)?, r.get(2)?, r.get(3)?))
    })?;
    for row in rows {
        let (name, audience, subject, text): (String, String, String, String) = row?;
        out.push(
            InvitationTemplate::new(name.clone(), Audience::parse(&audience), subject, text)
                .map_err(|e| Error::Invalid(format!("invitation template {name}: {e}")))?,
        );
    }
    Ok(out)
}

/// A template by name (case ignored), built-in or the school's.
pub fn get(store: &Store, name: &str) -> Result<InvitationTemplate> {
    list(store)?
        .into_iter()
        .find(|t| t.name.eq_ignore_ascii_case(name.trim()))
        .ok_or_else(|| {
            Error::Invalid(format!(
                "there is no invitation template called {name:?}; `keyroll invite templates \
                 list` shows them"
            ))
        })
}

/// Saves one of the school's templates (new, or replacing its own of that
/// name), checked; a built-in name is refused (save a copy).
pub fn save(store: &mut Store, actor: &str, t: &InvitationTemplate) -> Result<()> {
    let name = t.name.trim();
    if name.is_empty() {
        return Err(Error::Invalid("a template needs a name".into()));
    }
    if (0..BUILTIN.len()).any(|i| builtin(i).name.eq_ignore_ascii_case(name)) {
        return Err(Error::Invalid(format!(
            "{name:?} is built in and stays as it is; save your changes under a new name"
        )));
    }
    let audience = t.audience.map(Audience::as_str).unwrap_or("any");
    let w = store.writer(actor)?;
    let before: Option<(String, String)> = w
        .conn()
        .query_row(
            "SELECT subject, body FROM invitation_template WHERE name = ?1 COLLATE NOCASE",
            [name],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    w.conn().execute(
        "INSERT INTO invitation_template (name, audience, subject, body, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (name) DO UPDATE SET audience = ?2, subject = ?3, body = ?4, updated_at = ?5",
        params![name, audience, t.subject, t.text, w.at()],
    )?;
    let json = |subject: &str, body: &str| {
        serde_json::json!({ "for": audience, "subject": subject, "body": body }).to_string()
    };
    w.audit(
        if before.is_some() {
            "invitation_template.update"
        } else {
            "invitation_template.create"
        },
        "invitation_template",
        name,
        before.as_ref().map(|(s, b)| json(s, b)).as_deref(),
        Some(&json(&t.subject, &t.text)),
    )?;
    Ok(w.commit()?)
}

/// A template as a file's text.
pub fn to_file(t: &InvitationTemplate) -> String {
    format!(
        "{MAGIC}\nname: {}\nfor: {}\nsubject: {}\n---\n{}",
        t.name,
        t.audience.map(Audience::as_str).unwrap_or("any"),
        t.subject,
        t.text
    )
}

/// A template file's template (checked), naming the file's line on any
/// mistake.
pub fn from_file(path: &std::path::Path, text: &str) -> Result<InvitationTemplate> {
    let bad = |line: usize, what: String| {
        Error::Invalid(format!("{}, line {line}: {what}", path.display()))
    };
    let text = text.trim_start_matches('\u{feff}').replace("\r\n", "\n");
    let Some((head, body)) = text.split_once("\n---\n") else {
        return Err(bad(
            1,
            format!("not a Keyroll invitation template (it starts with {MAGIC:?}, then name:, for:, subject: and ---)"),
        ));
    };
    let mut lines = head.lines();
    if lines.next().map(str::trim) != Some(MAGIC) {
        return Err(bad(1, format!("the first line must be {MAGIC:?}")));
    }
    let (mut name, mut audience, mut subject) = (None, None, None);
    for (i, line) in lines.enumerate() {
        match line.split_once(':') {
            Some(("name", v)) => name = Some(v.trim().to_owned()),
            Some(("subject", v)) => subject = Some(v.trim().to_owned()),
            Some(("for", v)) if v.trim() == "any" => audience = Some(None),
            Some(("for", v)) => {
                audience = Some(Some(Audience::parse(v).ok_or_else(|| {
                    bad(
                        i + 2,
                        format!(
                            "for: must be student, staff, parent or any, not {:?}",
                            v.trim()
                        ),
                    )
                })?))
            }
            _ => return Err(bad(i + 2, format!("unexpected {:?}", line.trim()))),
        }
    }
    let name = name.ok_or_else(|| bad(2, "the template has no name: line".into()))?;
    let audience = audience.ok_or_else(|| bad(3, "the template has no for: line".into()))?;
    let subject = subject.ok_or_else(|| bad(4, "the template has no subject: line".into()))?;
    let first_line = head.lines().count() + 2;
    InvitationTemplate::parsed(name, audience, subject, body.to_owned(), first_line)
        .map_err(|e| Error::Invalid(format!("{}, {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_templates_invite_each_kind_and_the_message_does_not() {
        for kind in [Kind::Student, Kind::Staff, Kind::Contact] {
            let t = default_for(kind);
            assert!(t.invitation && t.suits(kind), "{}", t.name);
        }
        let message = builtin(3);
        assert!(!message.invitation && message.suits(Kind::Contact));
    }

    #[test]
    fn a_template_file_round_trips_and_names_its_mistakes() {
        let t = default_for(Kind::Contact);
        let back = from_file(std::path::Path::new("t.txt"), &to_file(&t)).unwrap();
        assert_eq!(
            (back.name, back.subject, back.text),
            (t.name, t.subject, t.text)
        );
        let broken = to_file(&builtin(0)).replace("{{credentials}}", "{{credentails}}");
        let e = from_file(std::path::Path::new("t.txt"), &broken)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("t.txt, line") && e.contains("credentials"),
            "{e}"
        );
        let e = InvitationTemplate::new("x", None, "Hi {{qr_code}}", "Hello").unwrap_err();
        assert!(e.to_string().contains("subject"), "{e}");
    }

    #[test]
    fn a_subject_keeps_its_own_characters() {
        let t = InvitationTemplate::new("x", None, "Year 7 *new* {{school_name}}!", "Hi").unwrap();
        assert_eq!(
            t.subject_spans,
            vec![
                Span::Text {
                    v: "Year 7 *new* ".into()
                },
                Span::Field {
                    v: "school_name".into()
                },
                Span::Text { v: "!".into() },
            ]
        );
    }
}
