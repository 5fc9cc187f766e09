//! The merge fields a template, a mail merge or an invitation can use: one
//! list, so the editor's picker, the parser and the exports agree. Raw SIS
//! fields are `sis.<column>` as the export named them.

use serde::Serialize;

/// A merge field.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Field {
    /// As written in a template: `{{given_name}}`.
    pub name: &'static str,
    /// What the picker shows.
    pub label: &'static str,
    /// A block on a line of its own (a table, the QR code), not text.
    pub block: bool,
    /// Printed in a monospaced face, where 0 and O must not be confused.
    pub mono: bool,
    /// Shown in the picker as an example.
    pub example: &'static str,
}

const fn text(name: &'static str, label: &'static str, example: &'static str) -> Field {
    Field {
        name,
        label,
        block: false,
        mono: false,
        example,
    }
}

const fn mono(name: &'static str, label: &'static str, example: &'static str) -> Field {
    Field {
        name,
        label,
        block: false,
        mono: true,
        example,
    }
}

const fn block(name: &'static str, label: &'static str) -> Field {
    Field {
        name,
        label,
        block: true,
        mono: false,
        example: "",
    }
}

/// Every merge field, in the picker's order.
pub const FIELDS: &[Field] = &[
    text("given_name", "Given name", "Zoë"),
    text("family_name", "Family name", "Ångström"),
    text("preferred_name", "Preferred name (or given name)", "Zoe"),
    text("first_name", "First name (preferred, or given)", "Zoe"),
    text("full_name", "Full name", "Zoë Ångström"),
    mono("username", "Username", "zoe.angstrom"),
    mono("password", "Initial password", "Kx7pQ2mZ4a"),
    mono("activation_code", "Activation code", "7KQ2-MZ4A-…"),
    text(
        "activation_link",
        "Activation link",
        "https://…/activate?code=…",
    ),
    text("expires", "Code expires on", "15 January 2027"),
    text(
        "sign_in_url",
        "Sign-in address",
        "https://accounts.example.school",
    ),
    text("school_name", "School name", "Hillside School"),
    text("school_address", "School address", "1 Hill Road"),
    text("year", "Year level", "7"),
    text("home_group", "Home group", "7B"),
    text("classes", "Classes", "7B Maths, 7B English"),
    text("teachers", "Teachers", "Ms Rivera, Mr Chen"),
    text("email", "Email address", "zoe@example.org"),
    text("sis_id", "SIS id", "S1024"),
    text("children", "Children's names", "Zoë, Max"),
    text("today", "Today's date", "1 December 2026"),
    block("children_table", "Table of children (name, username, year)"),
    block("credentials", "Box with username and password or code"),
    block("qr_code", "QR code (activation link, or sign-in address)"),
    block("logo", "School logo"),
];

/// A field by its name.
pub fn find(name: &str) -> Option<&'static Field> {
    FIELDS.iter().find(|f| f.name == name)
}

/// The real field closest to a mistyped one, if any is close.
pub fn nearest(name: &str) -> Option<&'static str> {
    FIELDS
        .iter()
        .map(|f| (distance(name, f.name), f.name))
        .filter(|(d, n)| *d <= 2.max(n.len() / 4))
        .min()
        .map(|(_, n)| n)
}

/// Levenshtein distance (names are short).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (prev + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_field_to_a_typo() {
        for (typed, want) in [
            ("given_nam", Some("given_name")),
            ("usrname", Some("username")),
            ("pasword", Some("password")),
            ("qrcode", Some("qr_code")),
            ("favourite_colour", None),
        ] {
            assert_eq!(nearest(typed), want, "{typed}");
        }
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = FIELDS.iter().map(|f| f.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), FIELDS.len());
    }
}
