//! The server's own settings, kept in its database and set with
//! `keyroll-server settings set KEY VALUE`. No secret is among them: the
//! SMTP password comes from the environment.

use keyroll_scim::credentials::PasswordRules;

use crate::storage::{Accounts, Result};

/// A setting the server knows, and what it is for.
pub struct SettingKey {
    pub key: &'static str,
    pub help: &'static str,
}

pub const SETTINGS: &[SettingKey] = &[
    SettingKey {
        key: "school_name",
        help: "the school's name, at the top of every page",
    },
    SettingKey {
        key: "logo",
        help: "a PNG, JPEG or SVG file of the school's logo",
    },
    SettingKey {
        key: "password_min_length",
        help: "the shortest password a person may choose (default 10)",
    },
    SettingKey {
        key: "password_all_classes",
        help: "true: a capital, a small letter, a digit and a symbol",
    },
    SettingKey {
        key: "smtp_host",
        help: "the SMTP server for forgot-password emails",
    },
    SettingKey {
        key: "smtp_port",
        help: "its port (default 587)",
    },
    SettingKey {
        key: "smtp_security",
        help: "starttls (default), tls, or none (only to this computer)",
    },
    SettingKey {
        key: "smtp_user",
        help: "the SMTP user name; the password is KEYROLL_SERVER_SMTP_PASSWORD",
    },
    SettingKey {
        key: "smtp_from",
        help: "the From address of its emails",
    },
];

/// What a page calls the school before `school_name` is set.
const DEFAULT_SCHOOL_NAME: &str = "Your school";

pub fn school_name(s: &dyn Accounts) -> Result<String> {
    Ok(s.setting("school_name")?
        .unwrap_or_else(|| DEFAULT_SCHOOL_NAME.to_owned()))
}

/// What every page's frame shows: the school's name and whether it has a
/// logo, in one read (each is a round trip on a shared database).
pub fn frame(s: &dyn Accounts) -> (String, bool) {
    let (school, logo) = match s.settings(&["school_name", "logo"]).as_deref() {
        Ok([school, logo]) => (school.clone(), logo.is_some()),
        _ => (None, false),
    };
    (
        school.unwrap_or_else(|| DEFAULT_SCHOOL_NAME.to_owned()),
        logo,
    )
}

pub fn rules(s: &dyn Accounts) -> Result<PasswordRules> {
    let mut r = PasswordRules::default();
    if let Some(n) = s
        .setting("password_min_length")?
        .and_then(|v| v.parse().ok())
    {
        r.min_length = n;
    }
    if let Some(v) = s.setting("password_all_classes")? {
        r.all_classes = v.eq_ignore_ascii_case("true");
    }
    Ok(r)
}
