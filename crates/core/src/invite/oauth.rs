//! XOAUTH2 access tokens from a refresh token (RFC 6749 §6), for Microsoft
//! 365 and Google Workspace mailboxes whose administrators have turned
//! passwords off. An access token lasts about an hour; the refresh token,
//! kept in the OS keychain, gets a new one whenever a connection needs it.
//! Microsoft rotates refresh tokens: the new one replaces the old in the
//! keychain as soon as it arrives.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Where and as which app Keyroll asks for access tokens (no secret here:
/// the refresh token and any client secret are in the OS keychain).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OAuth {
    /// The provider's token endpoint.
    pub token_url: String,
    /// The app registration's client id.
    pub client_id: String,
    /// Space-separated scopes asked for (empty: those first granted).
    pub scope: String,
}

impl OAuth {
    /// The settings for a provider by name: `microsoft` (or
    /// `microsoft:TENANT`, "organizations" by default) or `google`.
    pub fn preset(name: &str, client_id: &str) -> Option<OAuth> {
        let (provider, tenant) = name.split_once(':').unwrap_or((name, "organizations"));
        let (token_url, scope) = match provider {
            "microsoft" => (
                format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"),
                "https://outlook.office.com/SMTP.Send offline_access",
            ),
            "google" => (
                "https://oauth2.googleapis.com/token".to_owned(),
                "https://mail.google.com/",
            ),
            _ => return None,
        };
        Some(OAuth {
            token_url,
            client_id: client_id.to_owned(),
            scope: scope.to_owned(),
        })
    }

    /// Says what is missing or unsafe.
    pub fn check(&self) -> Result<(), String> {
        let local = self
            .token_url
            .strip_prefix("http://")
            .and_then(|rest| rest.split(['/', ':']).next())
            .is_some_and(super::smtp::is_local);
        if !self.token_url.starts_with("https://") && !local {
            return Err(format!(
                "the OAuth token address {:?} must start with https:// (Microsoft: \
                 --oauth microsoft; Google: --oauth google)",
                self.token_url
            ));
        }
        if self.client_id.trim().is_empty() {
            return Err("XOAUTH2 with a refresh token needs the app's client id \
                 (--oauth-client-id, from the app registration)"
                .into());
        }
        Ok(())
    }
}

/// What the keychain keeps for a refresh-token sign-in: the refresh token
/// on the first line, the client secret (Google's desktop apps have one)
/// on the second.
pub struct Grant {
    pub refresh_token: Zeroizing<String>,
    pub client_secret: Option<Zeroizing<String>>,
}

impl Grant {
    pub fn parse(kept: &str) -> Grant {
        let mut lines = kept.lines().map(str::trim);
        Grant {
            refresh_token: Zeroizing::new(lines.next().unwrap_or("").to_owned()),
            client_secret: lines
                .next()
                .filter(|s| !s.is_empty())
                .map(|s| Zeroizing::new(s.to_owned())),
        }
    }

    pub fn to_kept(&self) -> Zeroizing<String> {
        let mut s = Zeroizing::new(self.refresh_token.to_string());
        if let Some(c) = &self.client_secret {
            s.push('\n');
            s.push_str(c);
        }
        s
    }
}

/// An access token and when to stop using it.
pub struct AccessToken {
    pub token: Zeroizing<String>,
    pub good_until: Instant,
    /// A new refresh token, when the provider rotated it.
    pub rotated: Option<Zeroizing<String>>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    expires_in: Option<u64>,
    refresh_token: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// Reads the provider's answer: a token, or its own error words and what to
/// do. A token is used until five minutes before it expires.
fn read_answer(status: u16, body: &str, now: Instant) -> Result<AccessToken, String> {
    let answer: TokenAnswer = serde_json::from_str(body).map_err(|_| {
        format!(
            "the OAuth token address answered {status} with something that is not a token; \
             check --oauth-token-url"
        )
    })?;
    match answer.access_token {
        Some(token) if status == 200 => {
            let lifetime = answer
                .expires_in
                .unwrap_or(3600)
                .saturating_sub(300)
                .max(30);
            Ok(AccessToken {
                token: Zeroizing::new(token),
                good_until: now + Duration::from_secs(lifetime),
                rotated: answer.refresh_token.map(Zeroizing::new),
            })
        }
        _ => {
            let code = answer.error.unwrap_or_else(|| status.to_string());
            let words = answer.error_description.unwrap_or_default();
            let first_line = words.lines().next().unwrap_or("");
            let advice = if code == "invalid_grant" {
                "the refresh token has expired or was revoked: sign in again to get a new one \
                 and keep it with `keyroll smtp set … --password-stdin` or in Settings"
            } else if code == "invalid_client" || code == "unauthorized_client" {
                "check the client id (and the client secret, for Google) of the app registration"
            } else {
                "check the OAuth settings and that this computer can reach the provider"
            };
            Err(format!(
                "the mailbox's provider refused a new access token ({code}{}{first_line}): {advice}",
                if first_line.is_empty() { "" } else { ": " }
            ))
        }
    }
}

/// Asks the provider for a new access token with the refresh token.
pub fn refresh(o: &OAuth, grant: &Grant) -> Result<AccessToken, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .build()
        .into();
    let mut form: Vec<(&str, &str)> = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", &grant.refresh_token),
        ("client_id", &o.client_id),
    ];
    if let Some(c) = &grant.client_secret {
        form.push(("client_secret", c));
    }
    if !o.scope.is_empty() {
        form.push(("scope", &o.scope));
    }
    let mut response = agent.post(&o.token_url).send_form(form).map_err(|e| {
        format!(
            "cannot reach the OAuth token address {}: {e}; check that this computer is online",
            o.token_url
        )
    })?;
    let status = response.status().as_u16();
    let body = Zeroizing::new(
        response
            .body_mut()
            .read_to_string()
            .map_err(|e| format!("the OAuth token address's answer was cut short: {e}"))?,
    );
    read_answer(status, &body, Instant::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_providers_answers_are_read_as_tokens_or_advice() {
        let now = Instant::now();
        let t = read_answer(
            200,
            r#"{"token_type":"Bearer","access_token":"AT","expires_in":3599,"refresh_token":"R2"}"#,
            now,
        )
        .unwrap();
        assert_eq!(t.token.as_str(), "AT");
        assert_eq!(t.good_until, now + Duration::from_secs(3299));
        assert_eq!(t.rotated.as_deref().map(|s| s.as_str()), Some("R2"));
        let cases = [
            (
                400,
                r#"{"error":"invalid_grant","error_description":"AADSTS70008: The provided authorization code or refresh token has expired.\r\nTrace ID: 1"}"#,
                "(invalid_grant: AADSTS70008: The provided authorization code or refresh token has expired.): the refresh token has expired",
            ),
            (401, r#"{"error":"invalid_client"}"#, "(invalid_client): check the client id"),
            (502, "<html>Bad gateway</html>", "answered 502 with something that is not a token"),
            (500, r#"{"access_token":"AT"}"#, "(500): check the OAuth settings"),
        ];
        for (status, body, want) in cases {
            let e = read_answer(status, body, now).err().unwrap();
            assert!(e.contains(want), "{status} {body}: {e}");
        }
    }

    #[test]
    fn presets_and_checks() {
        let m = OAuth::preset("microsoft:contoso.onmicrosoft.com", "id").unwrap();
        assert_eq!(
            m.token_url,
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        assert!(m.scope.contains("SMTP.Send") && m.scope.contains("offline_access"));
        assert!(OAuth::preset("yahoo", "id").is_none());
        assert!(m.check().is_ok());
        let plain = OAuth {
            token_url: "http://login.example/token".into(),
            ..m.clone()
        };
        assert!(plain.check().unwrap_err().contains("https://"));
        let local = OAuth {
            token_url: "http://127.0.0.1:8080/token".into(),
            ..m.clone()
        };
        assert!(local.check().is_ok());
        let no_id = OAuth {
            client_id: " ".into(),
            ..m
        };
        assert!(no_id.check().unwrap_err().contains("client id"));
        let g = Grant::parse("R1\nSECRET\n");
        assert_eq!(g.refresh_token.as_str(), "R1");
        assert_eq!(g.to_kept().as_str(), "R1\nSECRET");
        assert!(Grant::parse("R1").client_secret.is_none());
    }
}
