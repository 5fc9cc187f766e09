//! What letters and exports need to know about the school beyond the SIS:
//! its address, where accounts are signed in to and activated, its logo,
//! the paper, and how accounts map onto Google, Entra and LDAP. Kept as
//! one audited setting.

use std::collections::BTreeMap;

use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::store::Writer;

/// The paper letters are printed on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Paper {
    #[default]
    A4,
    /// US Letter.
    Letter,
}

impl Paper {
    /// typst's name for it.
    pub fn typst(self) -> &'static str {
        match self {
            Paper::A4 => "a4",
            Paper::Letter => "us-letter",
        }
    }

    pub fn parse(s: &str) -> Option<Paper> {
        match s.trim().to_ascii_lowercase().as_str() {
            "a4" => Some(Paper::A4),
            "letter" | "us-letter" | "us" => Some(Paper::Letter),
            _ => None,
        }
    }

    /// The paper a locale prints on ("en_US.UTF-8", "en-CA"): US Letter in
    /// the Americas that use it and the Philippines, A4 everywhere else.
    pub fn for_locale(locale: &str) -> Paper {
        let region = locale
            .split(['.', '@'])
            .next()
            .unwrap_or("")
            .rsplit(['_', '-'])
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        match region.as_str() {
            "US" | "CA" | "MX" | "PH" | "CL" | "CO" | "VE" | "GT" | "CR" | "PR" => Paper::Letter,
            _ => Paper::A4,
        }
    }

    /// The paper of the user's locale (`LC_PAPER`, `LC_ALL`, `LANG`; on
    /// Windows and macOS the front end passes the OS's own).
    pub fn from_env() -> Paper {
        ["LC_ALL", "LC_PAPER", "LANG"]
            .iter()
            .find_map(|v| {
                std::env::var(v)
                    .ok()
                    .filter(|s| !s.is_empty() && s != "C" && s != "POSIX")
            })
            .map(|l| Paper::for_locale(&l))
            .unwrap_or_default()
    }
}

/// LDIF for which directory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Directory {
    /// Active Directory (`ldifde -i -f FILE`): user objects, sAMAccountName.
    #[default]
    Ad,
    /// OpenLDAP and other RFC 4519 directories: inetOrgPerson.
    Openldap,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LetterSettings {
    /// The school's name as letters print it (default: the SIS's first school).
    pub school_name: String,
    /// Its postal address, as lines.
    pub school_address: String,
    /// Where accounts sign in ("https://accounts.example.school").
    pub sign_in_url: String,
    /// Where an activation code is used; the code is added as `?code=`.
    /// Default: the sign-in address followed by `/activate`.
    pub activation_url: String,
    /// The logo (PNG, JPEG or SVG) as base64, and which of those it is.
    pub logo: String,
    pub logo_format: String,
    /// None: the OS locale's.
    pub paper: Option<Paper>,
    /// Google Workspace: the domain of account email addresses, and the org
    /// unit path of each account group (default `/` + the group's name).
    pub google_domain: String,
    pub org_units: BTreeMap<String, String>,
    /// Microsoft Entra ID: the domain of user principal names.
    pub entra_domain: String,
    /// LDIF: the base DN, the OU of each group (default `OU=<group>`), and
    /// the directory.
    pub ldap_base: String,
    pub ldap_ous: BTreeMap<String, String>,
    pub directory: Directory,
}

impl LetterSettings {
    /// Where activation codes are used.
    pub fn activation_base(&self) -> String {
        if !self.activation_url.is_empty() {
            self.activation_url.clone()
        } else if !self.sign_in_url.is_empty() {
            format!("{}/activate", self.sign_in_url.trim_end_matches('/'))
        } else {
            String::new()
        }
    }

    /// The paper to print on: the setting, or the OS locale's.
    pub fn paper(&self) -> Paper {
        self.paper.unwrap_or_else(Paper::from_env)
    }

    /// The logo's bytes, if one is set.
    pub fn logo_bytes(&self) -> Option<Vec<u8>> {
        use base64::Engine;
        (!self.logo.is_empty())
            .then(|| {
                base64::engine::general_purpose::STANDARD
                    .decode(&self.logo)
                    .ok()
            })
            .flatten()
    }

    /// Sets the logo from a file, checking that it is an image typst draws.
    pub fn set_logo(&mut self, path: &std::path::Path) -> Result<()> {
        use base64::Engine;
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let format = if bytes.starts_with(b"\x89PNG") {
            "png"
        } else if bytes.starts_with(&[0xff, 0xd8]) {
            "jpg"
        } else if std::str::from_utf8(&bytes[..bytes.len().min(512)])
            .is_ok_and(|s| s.contains("<svg"))
        {
            "svg"
        } else {
            return Err(Error::Invalid(format!(
                "{} is not a PNG, JPEG or SVG image; save the logo as one of those",
                path.display()
            )));
        };
        if bytes.len() > 2_000_000 {
            return Err(Error::Invalid(format!(
                "{} is {} MB: a logo of up to 2 MB prints as well and keeps letters small",
                path.display(),
                bytes.len() / 1_000_000
            )));
        }
        self.logo = base64::engine::general_purpose::STANDARD.encode(bytes);
        self.logo_format = format.into();
        Ok(())
    }
}

/// The stored settings (defaults if none yet).
pub fn load(conn: &rusqlite::Connection) -> Result<LetterSettings> {
    let text: Option<String> = conn
        .query_row("SELECT value FROM setting WHERE key = 'letters'", [], |r| {
            r.get(0)
        })
        .optional()?;
    let mut s: LetterSettings = match text {
        Some(t) => serde_json::from_str(&t).map_err(|e| {
            Error::Invalid(format!(
                "the stored letter settings cannot be read ({e}); set them again in Settings"
            ))
        })?,
        None => LetterSettings::default(),
    };
    if s.school_name.is_empty() {
        s.school_name = conn
            .query_row(
                "SELECT name FROM org WHERE status = 'active' ORDER BY org_type = 'school' DESC, id LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or_default();
    }
    Ok(s)
}

/// Saves the settings, audited (the logo as its size, not its bytes).
pub fn save(w: &Writer, s: &LetterSettings) -> Result<()> {
    for (what, url) in [
        ("sign-in address", &s.sign_in_url),
        ("activation address", &s.activation_url),
    ] {
        if !(url.is_empty() || url.starts_with("https://") || url.starts_with("http://")) {
            return Err(Error::Invalid(format!(
                "the {what} {url:?} must start with https:// (what a phone's camera opens)"
            )));
        }
    }
    let text = serde_json::to_string(s).expect("settings serialise");
    let before = load(w.conn())?;
    w.conn().execute(
        "INSERT INTO setting (key, value) VALUES ('letters', ?1)
         ON CONFLICT (key) DO UPDATE SET value = ?1",
        [&text],
    )?;
    let audited = |s: &LetterSettings| {
        let mut s = s.clone();
        s.logo = format!("{} bytes", s.logo.len() * 3 / 4);
        serde_json::to_string(&s).expect("settings serialise")
    };
    w.audit(
        "letters.settings",
        "setting",
        "letters",
        Some(&audited(&before)),
        Some(&audited(s)),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_follows_the_locale() {
        for (locale, paper) in [
            ("en_US.UTF-8", Paper::Letter),
            ("en-CA", Paper::Letter),
            ("es_MX.utf8", Paper::Letter),
            ("en_GB.UTF-8", Paper::A4),
            ("de_DE@euro", Paper::A4),
            ("en_AU", Paper::A4),
            ("fr", Paper::A4),
            ("", Paper::A4),
        ] {
            assert_eq!(Paper::for_locale(locale), paper, "{locale}");
        }
    }
}
