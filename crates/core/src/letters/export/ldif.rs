//! LDIF (RFC 2849) for Active Directory (`ldifde -i -f FILE`) and OpenLDAP
//! (`ldapadd -f FILE`): one `changetype: add` entry per account, in the OU
//! of its group. No maintained crate writes LDIF, so the two rules that
//! matter are here: a value that is not safe ASCII (or starts with a space,
//! a colon or `<`) goes as base64 after `::`, and lines fold at 76 columns.

use base64::Engine;

use crate::letters::settings::{Directory, LetterSettings};

/// The column lines fold at (RFC 2849 allows any; 76 is what tools write).
const WIDTH: usize = 76;

/// Whether `v` may be written as it is (RFC 2849 SAFE-STRING).
fn safe(v: &str) -> bool {
    let b = v.as_bytes();
    let init_ok = match b.first() {
        None => true,
        Some(&c) => c != b' ' && c != b':' && c != b'<' && safe_char(c),
    };
    init_ok && b.iter().all(|&c| safe_char(c)) && !v.ends_with(' ')
}

/// SAFE-CHAR: 0x01–0x7F except LF and CR.
fn safe_char(c: u8) -> bool {
    (0x01..=0x7f).contains(&c) && c != b'\n' && c != b'\r'
}

/// One attribute as LDIF lines (folded, with the line end).
pub fn attribute(name: &str, value: &str) -> String {
    let line = if safe(value) {
        format!("{name}: {value}")
    } else {
        attribute_bytes_line(name, value.as_bytes())
    };
    fold(&line)
}

/// One attribute whose value is bytes (always base64).
pub fn attribute_bytes(name: &str, value: &[u8]) -> String {
    fold(&attribute_bytes_line(name, value))
}

fn attribute_bytes_line(name: &str, value: &[u8]) -> String {
    format!(
        "{name}:: {}",
        base64::engine::general_purpose::STANDARD.encode(value)
    )
}

/// Folds a line at 76 columns: continuation lines start with one space.
/// (Every line here is ASCII: unsafe values are base64 by then.)
pub fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + line.len() / WIDTH * 3 + 1);
    let mut rest = line;
    let mut first = true;
    while !rest.is_empty() {
        let room = if first { WIDTH } else { WIDTH - 1 };
        let mut cut = rest.len().min(room);
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        if !first {
            out.push(' ');
        }
        out.push_str(&rest[..cut]);
        out.push('\n');
        rest = &rest[cut..];
        first = false;
    }
    out
}

/// A DN's attribute value escaped (RFC 4514): `, + " \ < > ; =`, a
/// leading `#` or space and a trailing space.
pub fn dn_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len() + 4);
    let n = v.chars().count();
    for (i, c) in v.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=')
            || (i == 0 && (c == '#' || c == ' '))
            || (i + 1 == n && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The base DN: the setting, or the domain's (`school.org` →
/// `DC=school,DC=org`).
pub fn base_dn(s: &LetterSettings) -> Option<String> {
    if !s.ldap_base.is_empty() {
        return Some(s.ldap_base.clone());
    }
    let domain = [&s.entra_domain, &s.google_domain]
        .into_iter()
        .find(|d| !d.is_empty())?;
    let dc = if s.directory == Directory::Ad {
        "DC"
    } else {
        "dc"
    };
    Some(
        domain
            .split('.')
            .map(|p| format!("{dc}={}", dn_value(p)))
            .collect::<Vec<_>>()
            .join(","),
    )
}

/// The OU a group's accounts go in (`OU=Students`), by the settings.
pub fn ou_of(s: &LetterSettings, group: &str) -> String {
    match s.ldap_ous.get(group) {
        Some(ou) => ou.clone(),
        None => {
            let ou = if s.directory == Directory::Ad {
                "OU"
            } else {
                "ou"
            };
            format!("{ou}={}", dn_value(group))
        }
    }
}

/// Active Directory's `unicodePwd`: the password in quotes, as UTF-16LE.
pub fn unicode_pwd(password: &str) -> Vec<u8> {
    format!("\"{password}\"")
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_go_as_text_or_base64_by_rfc_2849() {
        for (value, line) in [
            ("Zoe", "cn: Zoe\n"),
            ("Zoë", "cn:: Wm/Dqw==\n"),
            (" leading space", "cn:: IGxlYWRpbmcgc3BhY2U=\n"),
            (":colon", "cn:: OmNvbG9u\n"),
            ("<angle", "cn:: PGFuZ2xl\n"),
            ("trailing ", "cn:: dHJhaWxpbmcg\n"),
            ("two\nlines", "cn:: dHdvCmxpbmVz\n"),
            ("a:b<c", "cn: a:b<c\n"),
            ("", "cn: \n"),
        ] {
            assert_eq!(attribute("cn", value), line, "{value:?}");
        }
    }

    #[test]
    fn long_lines_fold_at_76_columns_and_unfold_to_the_value() {
        let value = "x".repeat(200);
        let folded = attribute("description", &value);
        let lines: Vec<&str> = folded.lines().collect();
        assert!(lines.iter().all(|l| l.len() <= 76), "{folded}");
        assert!(lines[1..].iter().all(|l| l.starts_with(' ')));
        let unfolded: String = lines
            .iter()
            .enumerate()
            .map(|(i, l)| if i == 0 { *l } else { &l[1..] })
            .collect();
        assert_eq!(unfolded, format!("description: {value}"));
    }

    #[test]
    fn dn_values_are_escaped() {
        for (v, want) in [
            ("Smith, John", "Smith\\, John"),
            ("#1", "\\#1"),
            (" x ", "\\ x\\ "),
            ("a+b=c", "a\\+b\\=c"),
            ("O'Brien", "O'Brien"),
        ] {
            assert_eq!(dn_value(v), want);
        }
    }

    #[test]
    fn unicode_pwd_is_the_quoted_password_in_utf16le() {
        assert_eq!(unicode_pwd("ab"), vec![b'"', 0, b'a', 0, b'b', 0, b'"', 0]);
    }
}
