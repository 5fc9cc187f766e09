//! Text as Keyroll compares and sorts it: folded to lower-case ASCII in any
//! script (deunicode's transliteration, after NFC normalisation), so that
//! "zoe" finds "Zoë", "dmitrii" finds "Дмитрий" and "STRAẞE" finds
//! "Strasse"; and cells made safe to open in a spreadsheet.
//!
//! Both the database's search and sort keys and the in-memory roster use
//! [`fold`], so they always agree.

use std::borrow::Cow;

use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

/// `s` in NFC (composed) form: "Zoe" + U+0308 becomes "Zoë". Borrowed when
/// it is already (nearly every name is).
pub fn nfc(s: &str) -> Cow<'_, str> {
    if s.is_ascii() || is_nfc_quick(s.chars()) == IsNormalized::Yes {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.nfc().collect())
    }
}

/// The ASCII spelling of one (NFC) character, as deunicode transliterates
/// it ("ß" → "ss", "Д" → "D", "陈" → "Chen "); None for a character it has
/// no spelling for. Only letters and digits become letters: a symbol or an
/// emoji in a name is not spelled out ("🙂" is not "slightsmile"), while
/// dashes, spaces and apostrophes keep their ASCII form.
pub fn transliterate(c: char) -> Option<&'static str> {
    match c {
        // Curly apostrophes are the plain one, so O’Brien finds O'Brien.
        '\u{2018}' | '\u{2019}' | '\u{02BC}' => Some("'"),
        _ if c.is_alphanumeric() => deunicode::deunicode_char(c),
        _ => deunicode::deunicode_char(c).filter(|s| !s.chars().any(|c| c.is_ascii_alphanumeric())),
    }
}

/// Appends the folded form of `c` (NFC) to `out`.
fn push_folded(c: char, out: &mut String) {
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
        return;
    }
    match transliterate(c) {
        Some(s) => out.extend(s.chars().map(|c| c.to_ascii_lowercase())),
        None => out.extend(c.to_lowercase()),
    }
}

/// Lower-cased ASCII form of `s` for search and sort keys.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    fold_into(s, &mut out);
    out
}

/// Like [`fold`], appending to `out` (saves an allocation in hot loops).
pub fn fold_into(s: &str, out: &mut String) {
    // Most names are ASCII: lower-cased in place, with no normalising.
    if s.is_ascii() {
        out.extend(s.bytes().map(|b| char::from(b.to_ascii_lowercase())));
        return;
    }
    for c in nfc(s).chars() {
        push_folded(c, out);
    }
}

/// A person's search key: each non-empty part folded, then a unit separator
/// (so that a search never matches across two parts).
pub fn search_key<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    let mut s = String::with_capacity(96);
    for part in parts {
        if !part.is_empty() {
            fold_into(part, &mut s);
            s.push('\u{1f}');
        }
    }
    s
}

/// A person's search key, from the fields a search looks in.
pub fn person_search_key(
    given: &str,
    preferred: &str,
    middle: &str,
    family: &str,
    email: &str,
    sis_id: &str,
) -> String {
    search_key([given, preferred, middle, family, email, sis_id])
}

/// A person's place in the list in one text: `rank` (their kind's), then the
/// folded family and given names.
pub fn sort_key(rank: char, family: &str, given: &str) -> String {
    let mut k = String::with_capacity(32);
    k.push(rank);
    fold_into(family, &mut k);
    k.push(' ');
    fold_into(given, &mut k);
    k
}

/// Makes a cell safe to open in a spreadsheet: a value that Excel or
/// LibreOffice would run as a formula (starting with = + - @ tab or CR) gets a
/// leading apostrophe, which spreadsheets show as text.
pub fn spreadsheet_safe(s: &str) -> Cow<'_, str> {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}").into(),
        _ => s.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_any_script_to_lower_case_ascii() {
        for (name, folded) in [
            ("Zoë", "zoe"),
            ("Zoe\u{308}", "zoe"), // NFD: a combining diaeresis
            ("José", "jose"),
            ("Łukasz Müller-Straße", "lukasz muller-strasse"),
            ("STRAẞE", "strasse"),
            ("Ó Súilleabháin", "o suilleabhain"),
            ("O’Brien", "o'brien"),
            ("Nguyễn Thị Hương", "nguyen thi huong"),
            ("Дмитрий Иванов", "dmitrii ivanov"),
            ("Γιώργος Παπαδόπουλος", "giorgos papadopoulos"),
            ("Ñúñez", "nunez"),
        ] {
            assert_eq!(fold(name), folded, "{name}");
        }
        assert_eq!(fold("陈伟").trim(), "chen wei");
    }

    #[test]
    fn keys_fold_their_parts() {
        assert_eq!(search_key(["Zoë", "", "S1"]), "zoe\u{1f}s1\u{1f}");
        assert_eq!(sort_key('1', "Müller", "Ana"), "1muller ana");
    }

    #[test]
    fn neutralises_formulas_only() {
        let safe = spreadsheet_safe;
        assert_eq!(safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(safe("+61 400"), "'+61 400");
        assert_eq!(safe("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(safe("O'Brien"), "O'Brien");
        assert_eq!(safe(""), "");
    }
}
