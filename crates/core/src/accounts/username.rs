//! Usernames from a school's pattern: `{first}.{last}`, `{last:6}{first:2}`,
//! `{first:1}{last}{id}`, `p.{last}{n}`, or the SIS email.
//!
//! A token is `{name}` or `{name:modifier:modifier…}`. Names: `first`,
//! `last`, `preferred` (the preferred name, else the first), `middle`, `id`
//! (the SIS id), `email` (its part before the @), `year`, `group` (home
//! group), `n` (the collision counter) or any raw SIS column by its header.
//! Modifiers: a number keeps that many characters; `upper`, `lower` (the
//! default) or `title` set the case. Text outside braces is kept as written.

use serde::{Deserialize, Serialize};

use crate::people::PersonRecord;

/// How names become ASCII.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Spelling {
    /// ä ö ü as ae oe ue (German convention) rather than a o u.
    pub umlauts_as_e: bool,
    /// Keep hyphens and spaces inside names (as hyphens) rather than drop them.
    /// Apostrophes are always dropped: directories refuse them.
    pub keep_hyphens: bool,
}

/// One piece of a parsed pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Text(String),
    Token {
        name: String,
        take: Option<usize>,
        case: Case,
    },
    Counter,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Case {
    Lower,
    Upper,
    Title,
}

/// A parsed username pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    pieces: Vec<Piece>,
}

impl Pattern {
    /// Parses a pattern, or says what is wrong with it.
    pub fn parse(s: &str) -> Result<Pattern, String> {
        let mut pieces = Vec::new();
        let mut rest = s;
        while !rest.is_empty() {
            match rest.find('{') {
                Some(0) => {
                    let end = rest
                        .find('}')
                        .ok_or_else(|| format!("\"{s}\": a {{ is not closed with }}"))?;
                    let inner = &rest[1..end];
                    let mut parts = inner.split(':');
                    let name = parts.next().unwrap_or("").trim();
                    if name.is_empty() {
                        return Err(format!("\"{s}\": {{}} names no field"));
                    }
                    if name == "n" {
                        pieces.push(Piece::Counter);
                    } else {
                        let (mut take, mut case) = (None, Case::Lower);
                        for m in parts {
                            match m.trim() {
                                "upper" => case = Case::Upper,
                                "lower" => case = Case::Lower,
                                "title" => case = Case::Title,
                                n => match n.parse::<usize>() {
                                    Ok(n) if n > 0 => take = Some(n),
                                    _ => {
                                        return Err(format!(
                                            "\"{s}\": \"{m}\" in {{{inner}}} is neither a length \
                                             nor upper, lower or title"
                                        ))
                                    }
                                },
                            }
                        }
                        pieces.push(Piece::Token {
                            name: name.to_owned(),
                            take,
                            case,
                        });
                    }
                    rest = &rest[end + 1..];
                }
                Some(i) => {
                    pieces.push(Piece::Text(rest[..i].to_owned()));
                    rest = &rest[i..];
                }
                None => {
                    pieces.push(Piece::Text(rest.to_owned()));
                    rest = "";
                }
            }
        }
        if !pieces.iter().any(|p| matches!(p, Piece::Token { .. })) {
            return Err(format!(
                "\"{s}\" uses no field: everyone would get the same username"
            ));
        }
        if let Some(Piece::Text(t)) = pieces.iter().find(|p| match p {
            Piece::Text(t) => t
                .chars()
                .any(|c| !(c.is_ascii_alphanumeric() || "._-".contains(c))),
            _ => false,
        }) {
            return Err(format!(
                "\"{s}\": \"{t}\" may only hold letters, digits, dots, hyphens and underscores"
            ));
        }
        Ok(Pattern { pieces })
    }

    /// Whether the pattern names a raw SIS column (the large raw fields need
    /// reading only then).
    pub fn needs_raw(&self) -> bool {
        let nobody = PersonRecord::default();
        self.pieces.iter().any(
            |piece| matches!(piece, Piece::Token { name, .. } if built_in(&nobody, name).is_none()),
        )
    }

    /// Whether the pattern places the counter itself (`{n}`).
    pub fn has_counter(&self) -> bool {
        self.pieces.contains(&Piece::Counter)
    }

    /// The username for `p` with collision number `n` (None: no number), at
    /// most `max` characters: when it would be longer, the name parts are
    /// shortened from the end (the last part first, down to a letter each),
    /// never the number or the pattern's own text, so that two long
    /// identical names become `p.longname` and `p.longnam2`. An error says
    /// why there is none (a field the pattern needs is empty once made ASCII).
    pub fn render(
        &self,
        p: &PersonRecord,
        n: Option<u32>,
        spelling: &Spelling,
        max: usize,
    ) -> Result<String, String> {
        // (Fixed, text): the pattern's text and the number are fixed.
        let mut parts: Vec<(bool, String)> = Vec::with_capacity(self.pieces.len() + 1);
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => parts.push((true, t.clone())),
                Piece::Counter => parts.push((true, n.map(|n| n.to_string()).unwrap_or_default())),
                Piece::Token { name, take, case } => {
                    parts.push((false, token(p, name, *take, *case, spelling)?))
                }
            }
        }
        if let (false, Some(n)) = (self.has_counter(), n) {
            parts.push((true, n.to_string()));
        }
        // Usernames are ASCII: a character is a byte.
        let mut excess = parts
            .iter()
            .map(|(_, t)| t.len())
            .sum::<usize>()
            .saturating_sub(max);
        for (_, name) in parts.iter_mut().rev().filter(|(fixed, _)| !fixed) {
            if excess == 0 {
                break;
            }
            let cut = excess.min(name.len().saturating_sub(1));
            name.truncate(name.len() - cut);
            excess -= cut;
            // A hyphen left at the end goes too ("van-d" not "van-").
            let kept = name.trim_end_matches('-').len().max(1);
            excess = excess.saturating_sub(name.len() - kept);
            name.truncate(kept);
        }
        if excess > 0 {
            return Err(format!(
                "the pattern's own text and number need more than the {max} characters a \
                 username may have"
            ));
        }
        Ok(parts.into_iter().map(|(_, t)| t).collect())
    }
}

/// One token's text for `p`: the field made ASCII, sliced and cased.
fn token(
    p: &PersonRecord,
    name: &str,
    take: Option<usize>,
    case: Case,
    spelling: &Spelling,
) -> Result<String, String> {
    let value = field(p, name).ok_or_else(|| {
        format!("the pattern names \"{name}\", which is not a field of this person")
    })?;
    let mut v = ascii(&value, spelling);
    if v.is_empty() {
        return Err(if value.trim().is_empty() {
            format!("{name} is empty")
        } else {
            format!(
                "{name} \"{value}\" has no letters a username can use; use a pattern with {{id}}"
            )
        });
    }
    if let Some(k) = take {
        v.truncate(k.min(v.len()));
        v.truncate(v.trim_end_matches('-').len());
    }
    match case {
        Case::Lower => {}
        Case::Upper => v.make_ascii_uppercase(),
        Case::Title => {
            if let Some(first) = v.get_mut(0..1) {
                first.make_ascii_uppercase();
            }
        }
    }
    Ok(v)
}

/// A person's field by the name a pattern uses: a built-in one, else a raw
/// SIS column by its header.
fn field(p: &PersonRecord, name: &str) -> Option<String> {
    built_in(p, name).or_else(|| {
        p.raw
            .fields()
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    })
}

/// The fields every person has, by the names patterns use.
fn built_in(p: &PersonRecord, name: &str) -> Option<String> {
    Some(match name {
        "first" | "given" | "given_name" => p.given_name.clone(),
        "last" | "family" | "family_name" | "surname" => p.family_name.clone(),
        "preferred" | "preferred_name" => {
            if p.preferred_name.trim().is_empty() {
                p.given_name.clone()
            } else {
                p.preferred_name.clone()
            }
        }
        "middle" | "middle_name" => p.middle_name.clone(),
        "id" | "sis_id" => p.sis_id.clone(),
        "email" => p.email.split('@').next().unwrap_or("").to_owned(),
        "year" | "year_level" => p.year_level.clone(),
        "group" | "home_group" => p.home_group.clone(),
        _ => return None,
    })
}

/// A name as username letters: transliterated to ASCII in any script
/// (Zoë → zoe, Дмитрий → dmitrii, 陈 → chen, ß → ss, Ł → l, ä → a or ae),
/// whether it came composed (NFC) or not (NFD); lower case, only a–z, 0–9
/// and (if kept) hyphens.
pub fn ascii(s: &str, spelling: &Spelling) -> String {
    let mut out = String::with_capacity(s.len());
    let push = |spelled: &str, out: &mut String| {
        for f in spelled.chars() {
            if f.is_ascii_alphanumeric() {
                out.push(f.to_ascii_lowercase());
            } else if (f == '-' || f.is_whitespace())
                && spelling.keep_hyphens
                && !out.is_empty()
                && !out.ends_with('-')
            {
                out.push('-');
            }
        }
    };
    for c in crate::text::nfc(s.trim()).chars() {
        let umlaut = match c {
            'ä' | 'Ä' => Some("ae"),
            'ö' | 'Ö' => Some("oe"),
            'ü' | 'Ü' => Some("ue"),
            _ => None,
        };
        match (umlaut, c.is_ascii()) {
            (Some(e), _) if spelling.umlauts_as_e => push(e, &mut out),
            (_, true) => push(c.encode_utf8(&mut [0; 4]), &mut out),
            _ => push(crate::text::transliterate(c).unwrap_or(""), &mut out),
        }
    }
    out.truncate(out.trim_end_matches('-').len());
    out
}

/// Names Windows reserves for devices: no account may be called one.
pub fn is_reserved(username: &str) -> bool {
    let stem = username.to_ascii_uppercase();
    let stem = stem.as_str();
    matches!(stem, "CON" | "PRN" | "AUX" | "NUL")
        || ((stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.len() == 4
            && stem.as_bytes()[3].is_ascii_digit()
            && stem.as_bytes()[3] != b'0')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(first: &str, last: &str, id: &str) -> PersonRecord {
        PersonRecord {
            sis_id: id.into(),
            given_name: first.into(),
            family_name: last.into(),
            ..Default::default()
        }
    }

    fn render(pattern: &str, p: &PersonRecord, n: Option<u32>) -> String {
        Pattern::parse(pattern)
            .unwrap()
            .render(p, n, &Spelling::default(), 64)
            .unwrap()
    }

    #[test]
    fn patterns_render_names_slices_and_counters() {
        let zoe = person("Zoë", "O'Brien-Walsh", "S1001");
        assert_eq!(render("{first}.{last}", &zoe, None), "zoe.obrienwalsh");
        assert_eq!(render("{last:6}{first:2}", &zoe, None), "obrienzo");
        assert_eq!(
            render("{first:1}{last}{id}", &zoe, None),
            "zobrienwalshs1001"
        );
        assert_eq!(render("{id}", &zoe, None), "s1001");
        assert_eq!(render("p.{last}{n}", &zoe, Some(2)), "p.obrienwalsh2");
        assert_eq!(render("{first}.{last}", &zoe, Some(3)), "zoe.obrienwalsh3");
        assert_eq!(render("{first:title}{last:1:upper}", &zoe, None), "ZoeO");
    }

    #[test]
    fn names_become_ascii_by_setting() {
        let plain = Spelling::default();
        let german = Spelling {
            umlauts_as_e: true,
            keep_hyphens: true,
        };
        assert_eq!(ascii("José", &plain), "jose");
        assert_eq!(ascii("Zoë", &plain), "zoe");
        assert_eq!(ascii("Müller", &plain), "muller");
        assert_eq!(ascii("Müller", &german), "mueller");
        assert_eq!(ascii("Straße", &plain), "strasse");
        assert_eq!(ascii("Łukasz", &plain), "lukasz");
        assert_eq!(ascii("O'Brien-Walsh", &plain), "obrienwalsh");
        assert_eq!(ascii("O'Brien-Walsh", &german), "obrien-walsh");
        assert_eq!(ascii("van der Berg", &german), "van-der-berg");
        assert_eq!(ascii("李", &plain), "li");
        assert_eq!(ascii("🙂", &plain), "");
    }

    #[test]
    fn names_in_any_script_give_plain_usernames() {
        let plain = Spelling::default();
        let german = Spelling {
            umlauts_as_e: true,
            keep_hyphens: false,
        };
        for (name, spelling, username) in [
            ("Дмитрий", &plain, "dmitrii"),
            ("Иванов", &plain, "ivanov"),
            ("Γιώργος", &plain, "giorgos"),
            ("Παπαδόπουλος", &plain, "papadopoulos"),
            ("陈", &plain, "chen"),
            ("伟", &plain, "wei"),
            ("Nguyễn", &plain, "nguyen"),
            ("Hương", &plain, "huong"),
            ("Zoë", &plain, "zoe"),
            ("Zoe\u{308}", &plain, "zoe"),
            ("Łukasz", &plain, "lukasz"),
            ("Ñúñez", &plain, "nunez"),
            ("Müller", &german, "mueller"),
            ("Mu\u{308}ller", &german, "mueller"),
            ("Straße", &german, "strasse"),
        ] {
            assert_eq!(ascii(name, spelling), username, "{name}");
        }
        let p = Pattern::parse("{first}.{last}").unwrap();
        let chen = person("伟", "陈", "1");
        assert_eq!(p.render(&chen, None, &plain, 20).unwrap(), "wei.chen");
    }

    #[test]
    fn a_long_name_is_shortened_and_keeps_its_number() {
        let s = Spelling::default();
        let long = person("Gil", "Longnameson", "1");
        for (pattern, n, max, username) in [
            ("p.{last}{n}", None, 10, "p.longname"),
            ("p.{last}{n}", Some(2), 10, "p.longnam2"),
            ("p.{last}{n}", Some(12), 10, "p.longna12"),
            ("{first}.{last}", Some(3), 10, "gil.longn3"),
            ("{first}.{last}", None, 6, "gil.lo"),
            ("{last}.{first}", None, 8, "longna.g"),
            ("{first}{n}.{last}", Some(2), 8, "gil2.lon"),
        ] {
            let p = Pattern::parse(pattern).unwrap();
            assert_eq!(
                p.render(&long, n, &s, max).unwrap(),
                username,
                "{pattern} {n:?}"
            );
        }
        let p = Pattern::parse("student.{last}{n}").unwrap();
        assert!(p.render(&long, Some(1234), &s, 10).is_err());
    }

    #[test]
    fn bad_patterns_and_unusable_names_are_explained() {
        assert!(Pattern::parse("{first").unwrap_err().contains("not closed"));
        assert!(Pattern::parse("student")
            .unwrap_err()
            .contains("uses no field"));
        assert!(Pattern::parse("{first:x}")
            .unwrap_err()
            .contains("neither a length"));
        assert!(Pattern::parse("{first} {last}")
            .unwrap_err()
            .contains("may only hold"));
        let p = Pattern::parse("{first}.{last}").unwrap();
        let err = p
            .render(&person("🙂", "王", "1"), None, &Spelling::default(), 20)
            .unwrap_err();
        assert!(err.contains("use a pattern with {id}"), "{err}");
        let err = p
            .render(&person("", "Lee", "1"), None, &Spelling::default(), 20)
            .unwrap_err();
        assert_eq!(err, "first is empty");
    }

    #[test]
    fn only_patterns_naming_a_raw_column_need_raw_fields() {
        assert!(!Pattern::parse("{first}.{last:4}{n}{id}")
            .unwrap()
            .needs_raw());
        assert!(Pattern::parse("{first}.{Adno}").unwrap().needs_raw());
    }

    #[test]
    fn windows_device_names_are_reserved() {
        for r in ["con", "PRN", "aux", "nul", "com1", "LPT9"] {
            assert!(is_reserved(r), "{r}");
        }
        for ok in ["com10", "lpt0", "connor", "auxley", "com", "con.muller"] {
            assert!(!is_reserved(ok), "{ok}");
        }
    }
}
