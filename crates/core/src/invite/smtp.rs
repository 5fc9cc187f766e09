//! The school's SMTP server: where invitations go out. The settings live in
//! the database (audited); the password or OAuth token lives in the OS
//! keychain, never in the database, a file or a log.

use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::oauth::{self, AccessToken, Grant, OAuth};
use crate::error::{Error, Result};
use crate::store::keychain::SERVICE;
use crate::store::Writer;

/// How the connection is protected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// Plain text: only to a relay on this computer.
    None,
    /// Upgraded with STARTTLS (port 587, usually).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

impl Security {
    pub fn parse(s: &str) -> Option<Security> {
        match s {
            "none" => Some(Security::None),
            "starttls" => Some(Security::Starttls),
            "tls" => Some(Security::Tls),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Security::None => "none",
            Security::Starttls => "starttls",
            Security::Tls => "tls",
        }
    }
}

/// How Keyroll signs in to the server (when a user is set).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Auth {
    #[default]
    Plain,
    Login,
    /// Microsoft 365 and Google Workspace: an OAuth access token in place
    /// of a password (pasted, or got with a refresh token: [`OAuth`]).
    Xoauth2,
}

impl Auth {
    pub fn parse(s: &str) -> Option<Auth> {
        match s {
            "plain" => Some(Auth::Plain),
            "login" => Some(Auth::Login),
            "xoauth2" => Some(Auth::Xoauth2),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Auth::Plain => "plain",
            Auth::Login => "login",
            Auth::Xoauth2 => "xoauth2",
        }
    }
}

/// The SMTP settings (no secret in them).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: Security,
    /// Empty: the server takes mail without signing in (a local relay).
    pub user: String,
    pub auth: Auth,
    /// The From address: `Office <office@school.example>` or a bare address.
    pub from: String,
    pub reply_to: String,
    /// Messages a minute at most (0: no limit). Microsoft 365 allows 30 a
    /// minute per mailbox over SMTP AUTH.
    pub rate_per_minute: u32,
    /// Connections kept open in parallel.
    pub connections: u32,
    /// The first wait before trying a deferred message again (seconds);
    /// each later try waits longer.
    pub retry_after_secs: u32,
    /// XOAUTH2 with a refresh token: where access tokens come from. None
    /// with XOAUTH2: the kept secret is an access token the office pasted.
    pub oauth: Option<OAuth>,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        SmtpSettings {
            host: String::new(),
            port: 587,
            security: Security::Starttls,
            user: String::new(),
            auth: Auth::Plain,
            from: String::new(),
            reply_to: String::new(),
            rate_per_minute: 0,
            connections: 4,
            retry_after_secs: 60,
            oauth: None,
        }
    }
}

/// Whether `host` is this computer (where plain text is allowed).
pub fn is_local(host: &str) -> bool {
    matches!(
        host.trim_matches(['[', ']']),
        "localhost" | "127.0.0.1" | "::1"
    ) || host.starts_with("127.")
}

impl SmtpSettings {
    /// Whether the office has set a server up yet.
    pub fn is_set(&self) -> bool {
        !self.host.is_empty() && !self.from.is_empty()
    }

    /// Refuses settings that cannot work or would send credentials and
    /// children's details in plain text over a network.
    pub fn check(&self) -> Result<()> {
        let bad = |what: String| Err(Error::Invalid(what));
        if self.host.trim().is_empty() {
            return bad(
                "the SMTP server's host name is missing (smtp.office365.com, smtp.gmail.com…)"
                    .into(),
            );
        }
        if self.port == 0 {
            return bad(
                "the SMTP port must be a number from 1 to 65535 (587 for STARTTLS, 465 for TLS)"
                    .into(),
            );
        }
        if self.security == Security::None && !is_local(&self.host) {
            return bad(format!(
                "{} is not this computer: use --security starttls (port 587) or tls (port 465); \
                 plain text is only for a relay on this computer",
                self.host
            ));
        }
        if self.from.parse::<lettre::message::Mailbox>().is_err() {
            return bad(format!(
                "the From address {:?} is not an email address (office@school.example, or \
                 \"School Office <office@school.example>\")",
                self.from
            ));
        }
        if !self.reply_to.is_empty() && self.reply_to.parse::<lettre::message::Mailbox>().is_err() {
            return bad(format!(
                "the Reply-To address {:?} is not an email address",
                self.reply_to
            ));
        }
        if self.auth == Auth::Xoauth2 && self.user.is_empty() {
            return bad("XOAUTH2 needs the mailbox's address as the user (--user)".into());
        }
        if let Some(o) = &self.oauth {
            if self.auth != Auth::Xoauth2 {
                return bad("a refresh token is only for --auth xoauth2".into());
            }
            o.check().map_err(Error::Invalid)?;
        }
        if self.connections == 0 || self.connections > 16 {
            return bad("connections must be from 1 to 16".into());
        }
        Ok(())
    }

    /// The keychain entry that holds the password or token.
    fn keychain_entry(&self) -> Result<keyring::Entry> {
        keyring::Entry::new(SERVICE, &format!("smtp:{}@{}", self.user, self.host))
            .map_err(|e| Error::Invalid(format!("the OS keychain cannot be opened: {e}")))
    }

    /// Keeps the password or token in the OS keychain.
    pub fn save_secret(&self, secret: &str) -> Result<()> {
        self.keychain_entry()?.set_password(secret).map_err(|e| {
            Error::Invalid(format!(
                "the SMTP password could not be kept in the OS keychain: {e}"
            ))
        })
    }

    /// The password or token: `KEYROLL_SMTP_PASSWORD` if set (a scheduled
    /// run with no keychain), else the OS keychain's; None when no user.
    pub fn secret(&self) -> Result<Option<Zeroizing<String>>> {
        if self.user.is_empty() {
            return Ok(None);
        }
        if let Ok(s) = std::env::var(SECRET_ENV) {
            return Ok(Some(Zeroizing::new(s)));
        }
        match self.keychain_entry()?.get_password() {
            Ok(s) => Ok(Some(Zeroizing::new(s))),
            Err(keyring::Error::NoEntry) => Err(Error::Invalid(format!(
                "no SMTP password is kept for {} on this computer: set it with \
                 `keyroll smtp set … --password-stdin` or in Settings",
                self.user
            ))),
            Err(e) => Err(Error::Invalid(format!(
                "the SMTP password could not be read from the OS keychain: {e}"
            ))),
        }
    }
}

/// How the sender signs in, shared by its connections: the kept password
/// (or pasted token), or access tokens got with the kept refresh token and
/// got again shortly before each expires.
pub struct SignIn {
    oauth: Option<OAuth>,
    kept: Option<Zeroizing<String>>,
    /// Where a rotated refresh token goes (None: it came from the
    /// environment, which cannot be written back).
    keychain: Option<SmtpSettings>,
    grant: std::sync::Mutex<Option<Grant>>,
    token: std::sync::Mutex<Option<AccessToken>>,
}

impl SignIn {
    /// Reads the kept secret; with a refresh token, gets the first access
    /// token now, so that a refusal is reported before anything is sent.
    pub fn new(s: &SmtpSettings) -> Result<SignIn> {
        let kept = s.secret()?;
        let from_env = std::env::var_os(SECRET_ENV).is_some();
        let grant = match (&s.oauth, &kept) {
            (Some(_), Some(k)) => Some(Grant::parse(k)),
            _ => None,
        };
        let sign_in = SignIn {
            oauth: s.oauth.clone(),
            kept,
            keychain: (!from_env).then(|| s.clone()),
            grant: std::sync::Mutex::new(grant),
            token: std::sync::Mutex::new(None),
        };
        sign_in.secret().map_err(Error::Invalid)?;
        Ok(sign_in)
    }

    /// The password or a current access token (None: no sign-in). Blocks
    /// while a new access token is fetched.
    pub fn secret(&self) -> std::result::Result<Option<Zeroizing<String>>, String> {
        let Some(o) = &self.oauth else {
            return Ok(self.kept.clone());
        };
        let mut token = self.token.lock().expect("sign-in lock");
        if let Some(t) = token
            .as_ref()
            .filter(|t| t.good_until > std::time::Instant::now())
        {
            return Ok(Some(t.token.clone()));
        }
        let mut grant = self.grant.lock().expect("sign-in lock");
        let g = grant
            .as_mut()
            .ok_or("no refresh token is kept on this computer")?;
        let mut fresh = oauth::refresh(o, g)?;
        if let Some(r) = fresh
            .rotated
            .take()
            .filter(|r| r.as_str() != g.refresh_token.as_str())
        {
            g.refresh_token = r;
            if let Some(s) = &self.keychain {
                s.save_secret(&g.to_kept()).map_err(|e| e.to_string())?;
            }
        }
        let secret = fresh.token.clone();
        *token = Some(fresh);
        Ok(Some(secret))
    }
}

/// Overrides the keychain's SMTP password (for scheduled runs on a server
/// with no keychain).
pub const SECRET_ENV: &str = "KEYROLL_SMTP_PASSWORD";

/// The stored settings (defaults if none yet).
pub fn load(conn: &rusqlite::Connection) -> Result<SmtpSettings> {
    let text: Option<String> = conn
        .query_row("SELECT value FROM setting WHERE key = 'smtp'", [], |r| {
            r.get(0)
        })
        .optional()?;
    match text {
        Some(t) => serde_json::from_str(&t).map_err(|e| {
            Error::Invalid(format!(
                "the stored SMTP settings cannot be read ({e}); set them again in Settings"
            ))
        }),
        None => Ok(SmtpSettings::default()),
    }
}

/// Saves checked settings, audited (they hold no secret).
pub fn save(w: &Writer, s: &SmtpSettings) -> Result<()> {
    s.check()?;
    let before = load(w.conn())?;
    let text = serde_json::to_string(s).expect("settings serialise");
    w.conn().execute(
        "INSERT INTO setting (key, value) VALUES ('smtp', ?1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [&text],
    )?;
    Ok(w.audit(
        "settings.smtp",
        "setting",
        "smtp",
        Some(&serde_json::to_string(&before).expect("settings serialise")),
        Some(&text),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked_before_they_are_kept() {
        let good = SmtpSettings {
            host: "smtp.office365.com".into(),
            from: "Hillside Office <office@hillside.example>".into(),
            user: "office@hillside.example".into(),
            ..Default::default()
        };
        assert!(good.check().is_ok());
        let cases: &[(&str, SmtpSettings)] = &[
            (
                "host name is missing",
                SmtpSettings {
                    host: "".into(),
                    ..good.clone()
                },
            ),
            (
                "not this computer",
                SmtpSettings {
                    security: Security::None,
                    ..good.clone()
                },
            ),
            (
                "not an email address",
                SmtpSettings {
                    from: "office".into(),
                    ..good.clone()
                },
            ),
            (
                "XOAUTH2 needs",
                SmtpSettings {
                    auth: Auth::Xoauth2,
                    user: "".into(),
                    ..good.clone()
                },
            ),
            (
                "connections",
                SmtpSettings {
                    connections: 0,
                    ..good.clone()
                },
            ),
        ];
        for (why, s) in cases {
            let e = s.check().unwrap_err().to_string();
            assert!(e.contains(why), "{why}: {e}");
        }
        let local = SmtpSettings {
            host: "127.0.0.1".into(),
            security: Security::None,
            ..good
        };
        assert!(
            local.check().is_ok(),
            "plain text to this computer is allowed"
        );
    }
}
