//! The forgot-password email, through the server's own SMTP settings.
//! Sent after the page has answered, so that the answer takes as long
//! whether or not the account exists; failures go to the server's log
//! without the link.

use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{Message, SmtpTransport, Transport};

use crate::storage::Accounts;

/// The environment variable with the SMTP password (never stored).
pub const PASSWORD_ENV: &str = "KEYROLL_SERVER_SMTP_PASSWORD";

pub struct Smtp {
    host: String,
    port: u16,
    security: String,
    user: Option<String>,
    from: Mailbox,
}

impl Smtp {
    /// The settings, if the server has been given an SMTP server.
    pub fn from_settings(s: &dyn Accounts) -> Option<Smtp> {
        let get = |k: &str| s.setting(k).ok().flatten().filter(|v| !v.trim().is_empty());
        let host = get("smtp_host")?;
        let from = get("smtp_from")?.parse().ok()?;
        Some(Smtp {
            port: get("smtp_port").and_then(|p| p.parse().ok()).unwrap_or(587),
            security: get("smtp_security").unwrap_or_else(|| "starttls".into()),
            user: get("smtp_user"),
            host,
            from,
        })
    }

    fn transport(&self) -> Result<SmtpTransport, String> {
        let b = match self.security.as_str() {
            "tls" => SmtpTransport::relay(&self.host).map_err(|e| e.to_string())?,
            "none" => SmtpTransport::builder_dangerous(&self.host),
            _ => SmtpTransport::starttls_relay(&self.host).map_err(|e| e.to_string())?,
        };
        let b = b.port(self.port);
        Ok(match (&self.user, std::env::var(PASSWORD_ENV)) {
            (Some(u), Ok(p)) => b.credentials(Credentials::new(u.clone(), p)).build(),
            _ => b.build(),
        })
    }

    /// Sends the reset link to `to`.
    pub fn send_reset(&self, school: &str, to: &str, name: &str, link: &str) -> Result<(), String> {
        let to: Mailbox = to
            .parse()
            .map_err(|e| format!("the account's email address is not one: {e}"))?;
        let body = format!(
            "Hello {name},\n\n\
             Someone (we hope you) asked to choose a new password for your {school} account.\n\
             Open this link within one hour to choose it; it works once:\n\n{link}\n\n\
             If you did not ask, ignore this email: your password stays as it is.\n"
        );
        let m = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(format!("{school}: choose a new password"))
            .body(body)
            .map_err(|e| e.to_string())?;
        self.transport()?
            .send(&m)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}
