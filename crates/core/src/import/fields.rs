//! What every format reads the same way: a cell, an id list, dates,
//! emails, names, and the columns that must never be kept (passwords).

use serde::{Deserialize, Serialize};

use super::RowError;
use crate::error::Error;

pub fn field(rec: &csv::StringRecord, col: Option<usize>) -> String {
    col.and_then(|c| rec.get(c)).unwrap_or("").trim().to_owned()
}

/// A OneRoster id list: comma separated, spaces ignored.
pub fn split_ids(s: &str) -> impl Iterator<Item = &str> {
    s.split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// Missing columns make a whole file unreadable: that is never a per-row skip.
pub fn fatal(errors: Vec<RowError>) -> Error {
    Error::Rows(errors)
}

/// A plausible email address: one @, a local part, a dotted domain, no spaces.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !s.chars().any(|c| c.is_whitespace() || c == ',' || c == ';')
        && domain.split('.').all(|l| !l.is_empty())
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
}

/// YYYY-MM-DD with a plausible month and day.
pub fn is_date(s: &str) -> bool {
    time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).is_ok()
}

/// How the file writes dates such as 03/04/2015.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DateOrder {
    /// Day first: UK, Ireland, Australia, New Zealand and most of the world.
    #[default]
    Dmy,
    /// Month first: the United States.
    Mdy,
    Ymd,
}

/// Reads a date as the mapping says it is written: YYYY-MM-DD is always
/// understood; otherwise day/month/year or month/day/year, with /, . or -.
pub fn parse_date(s: &str, order: DateOrder) -> std::result::Result<String, String> {
    let day = s.split(['T', ' ']).next().unwrap_or("");
    let parts: Vec<&str> = day.split(['/', '.', '-']).collect();
    let bad = || {
        let want = match order {
            DateOrder::Dmy => "DD/MM/YYYY",
            DateOrder::Mdy => "MM/DD/YYYY",
            DateOrder::Ymd => "YYYY-MM-DD",
        };
        format!("\"{s}\" is not a date (expected {want}; the mapping's date order says which)")
    };
    let [a, b, c] = parts[..] else {
        return Err(bad());
    };
    let (y, m, d) = if a.len() == 4 {
        (a, b, c)
    } else {
        match order {
            DateOrder::Dmy => (c, b, a),
            DateOrder::Mdy => (c, a, b),
            DateOrder::Ymd => return Err(bad()),
        }
    };
    if y.len() != 4 {
        return Err(bad());
    }
    let num = |s: &str| s.trim().parse::<u8>().ok();
    let year: i32 = y.parse().map_err(|_| bad())?;
    let month = num(m)
        .and_then(|m| time::Month::try_from(m).ok())
        .ok_or_else(bad)?;
    let date = num(d)
        .and_then(|d| time::Date::from_calendar_date(year, month, d).ok())
        .ok_or_else(bad)?;
    Ok(format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    ))
}

/// A full name as (given, family): "Mrs Jane O'Brien" is ("Jane",
/// "O'Brien"). The last word is the family name; a title is not a name.
pub fn split_full_name(full: &str) -> (String, String) {
    let words: Vec<&str> = full
        .split_whitespace()
        .filter(|w| {
            !matches!(
                w.trim_end_matches('.').to_ascii_lowercase().as_str(),
                "mr" | "mrs" | "ms" | "miss" | "mx" | "dr" | "prof" | "rev"
            )
        })
        .collect();
    match words.split_last() {
        Some((last, rest)) => (rest.join(" "), (*last).to_owned()),
        None => (String::new(), String::new()),
    }
}

/// A header or value without case, spaces or punctuation ("Contact 1
/// E-mail" is "contact1email"), for matching the words real files use.
pub fn squash(h: &str) -> String {
    h.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether a column holds a secret (a password, passcode or PIN) that must
/// never be stored, whatever the format: any word of its name (split at
/// case changes, digits and punctuation) that names one.
pub fn is_secret_column(header: &str) -> bool {
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut prev_lower = false;
    for c in header.chars() {
        let boundary = !c.is_alphabetic() || (c.is_uppercase() && prev_lower);
        if boundary && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        if c.is_alphabetic() {
            word.extend(c.to_lowercase());
        }
        prev_lower = c.is_lowercase();
    }
    words.push(word);
    let joined: String = words.concat();
    words.iter().any(|w| {
        w.starts_with("passw")
            || w.starts_with("passc")
            || w.starts_with("passphrase")
            || matches!(
                w.as_str(),
                "pwd" | "pin" | "secret" | "passwort" | "kennwort" | "mdp"
            )
    }) || joined.contains("password")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_and_dates() {
        assert!(is_email("zoe.o'brien@example.org"));
        assert!(!is_email("zoe@example"));
        assert!(!is_email("zoe example@x.org"));
        assert!(!is_email("@x.org"));
        assert!(!is_email("a@@x.org"));
        assert!(is_date("2014-02-28"));
        assert!(!is_date("2014-02-30"));
        assert!(!is_date("28/02/2014"));
    }

    #[test]
    fn secret_columns_are_recognised() {
        for h in [
            "password",
            "Password",
            "user_password",
            "PWD",
            "pin",
            "web_password",
        ] {
            assert!(is_secret_column(h), "{h}");
        }
        for h in ["username", "email", "spinning", "pinned_note", "givenName"] {
            assert!(!is_secret_column(h), "{h}");
        }
    }
}
