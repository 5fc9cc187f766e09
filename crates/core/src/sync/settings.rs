//! Where the school server is, and what the last sync left: the server's
//! address and the pull cursor in the database (audited), the bearer token
//! in the OS keychain only.

use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::store::{keychain::SERVICE, Writer};
use crate::{Error, Result};

/// Overrides the keychain's token (a scheduled sync on a machine with no
/// keychain).
pub const TOKEN_ENV: &str = "KEYROLL_SYNC_TOKEN";

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncSettings {
    /// The SCIM base address, e.g. `https://accounts.school.example/scim/v2`.
    pub server: String,
    /// The newest `meta.lastModified` pulled so far.
    #[serde(default)]
    pub cursor: Option<String>,
    /// When the last sync finished.
    #[serde(default)]
    pub last_sync: Option<String>,
}

/// The stored settings (empty if sync was never set up).
pub fn load(conn: &rusqlite::Connection) -> Result<SyncSettings> {
    let text: Option<String> = conn
        .query_row("SELECT value FROM setting WHERE key = 'sync'", [], |r| {
            r.get(0)
        })
        .optional()?;
    match text {
        Some(t) => serde_json::from_str(&t).map_err(|e| {
            Error::Invalid(format!(
                "the stored sync settings cannot be read ({e}); sign in to the server again"
            ))
        }),
        None => Ok(SyncSettings::default()),
    }
}

/// Saves the settings; a change of server is audited (the cursor's
/// progress is not a change the office made).
pub fn save(w: &Writer, s: &SyncSettings) -> Result<()> {
    let before = load(w.conn())?;
    let text = serde_json::to_string(s).expect("settings serialise");
    w.conn().execute(
        "INSERT INTO setting (key, value) VALUES ('sync', ?1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [&text],
    )?;
    if before.server != s.server {
        w.audit(
            "settings.sync",
            "setting",
            "sync",
            Some(&serde_json::json!({"server": before.server}).to_string()),
            Some(&serde_json::json!({"server": s.server}).to_string()),
        )?;
    }
    Ok(())
}

/// Checks a server address as the office typed it.
pub fn check_server(url: &str) -> Result<String> {
    let url = url.trim().trim_end_matches('/');
    let local = ["http://127.0.0.1", "http://localhost", "http://[::1]"];
    if url.starts_with("https://") || local.iter().any(|l| url.starts_with(l)) {
        Ok(url.to_owned())
    } else if url.starts_with("http://") {
        Err(Error::Invalid(format!(
            "{url} is not encrypted (http://): the token and children's details would cross \
             the network in the clear; use the server's https:// address"
        )))
    } else {
        Err(Error::Invalid(format!(
            "{url} is not a web address: give the SCIM address, e.g. \
             https://accounts.school.example/scim/v2"
        )))
    }
}

fn entry(server: &str) -> Result<keyring::Entry> {
    keyring::Entry::new(SERVICE, &format!("sync:{server}"))
        .map_err(|e| Error::Invalid(format!("the OS keychain cannot be opened: {e}")))
}

/// Keeps the server's token in the OS keychain.
pub fn save_token(server: &str, token: &str) -> Result<()> {
    entry(server)?.set_password(token).map_err(|e| {
        Error::Invalid(format!(
            "the token could not be kept in the OS keychain: {e}"
        ))
    })
}

/// The server's token: `KEYROLL_SYNC_TOKEN` if set, else the keychain's.
pub fn token(server: &str) -> Result<Zeroizing<String>> {
    if let Ok(t) = std::env::var(TOKEN_ENV) {
        return Ok(Zeroizing::new(t));
    }
    match entry(server)?.get_password() {
        Ok(t) => Ok(Zeroizing::new(t)),
        Err(keyring::Error::NoEntry) => Err(Error::Invalid(format!(
            "no token for {server} is kept on this computer: sign in with \
             `keyroll sync login --server {server} --token-stdin` or in Sync"
        ))),
        Err(e) => Err(Error::Invalid(format!(
            "the OS keychain did not give the sync token: {e}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_address_must_be_encrypted_unless_it_is_this_machine() {
        for (url, ok) in [
            ("https://accounts.school.example/scim/v2/", true),
            ("http://127.0.0.1:8080/scim/v2", true),
            ("http://localhost:8080", true),
            ("http://accounts.school.example/scim/v2", false),
            ("accounts.school.example", false),
        ] {
            assert_eq!(check_server(url).is_ok(), ok, "{url}");
        }
        assert_eq!(
            check_server(" https://a.example/scim/v2/ ").unwrap(),
            "https://a.example/scim/v2"
        );
    }
}
