//! The database key: 256 random bits, kept in the OS keychain (Windows
//! Credential Manager, macOS Keychain, Linux Secret Service), never in a file.
//!
//! `KEYROLL_DB_KEY` (64 hex characters) overrides the keychain for headless use,
//! CI and tests.

use super::error::{Error, Result};

/// Keychain service name; one entry per OS user, shared by the app and the CLI.
pub const SERVICE: &str = "org.keyroll.desktop";
/// Keychain account name of the database key.
pub const DB_KEY_ENTRY: &str = "database-key";
/// Environment variable that overrides the keychain.
pub const KEY_ENV: &str = "KEYROLL_DB_KEY";

/// A raw SQLCipher key. Debug output never shows it; memory is wiped on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct DbKey([u8; 32]);

impl Drop for DbKey {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.0.zeroize();
    }
}

impl std::fmt::Debug for DbKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DbKey(…)")
    }
}

impl DbKey {
    /// A fresh key from the OS CSPRNG.
    pub fn random() -> Result<DbKey> {
        let mut k = [0u8; 32];
        getrandom::fill(&mut k).map_err(|e| Error::Key(format!("no OS randomness: {e}")))?;
        Ok(DbKey(k))
    }

    /// Parses 64 hex characters.
    pub fn from_hex(s: &str) -> Result<DbKey> {
        let bytes = hex::decode(s.trim()).map_err(|_| {
            Error::Key("a database key must be 64 hexadecimal characters (0-9, a-f)".into())
        })?;
        let k: [u8; 32] = bytes.try_into().map_err(|_| {
            Error::Key("a database key must be 64 hexadecimal characters (32 bytes)".into())
        })?;
        Ok(DbKey(k))
    }

    /// A copy made on the heap, for a holder that moves (the store): moving
    /// the box moves no key bytes, so dropping it wipes the only copy.
    pub(crate) fn boxed(&self) -> Box<DbKey> {
        let mut copy = Box::new(DbKey([0; 32]));
        copy.0.copy_from_slice(&self.0);
        copy
    }

    /// The key as hex, wiped from memory when dropped.
    pub fn to_hex(&self) -> zeroize::Zeroizing<String> {
        zeroize::Zeroizing::new(hex::encode(self.0))
    }

    /// Reads `KEYROLL_DB_KEY` and removes it from this process's environment,
    /// so that child processes (a webview's helpers) never inherit it.
    pub fn take_from_env() -> Result<Option<DbKey>> {
        let Ok(hex) = std::env::var(KEY_ENV) else {
            return Ok(None);
        };
        let hex = zeroize::Zeroizing::new(hex);
        std::env::remove_var(KEY_ENV);
        DbKey::from_hex(&hex)
            .map(Some)
            .map_err(|e| Error::Key(format!("{KEY_ENV}: {e}")))
    }
}

/// Where a key came from, so errors can say which one to fix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeySource {
    Environment,
    Keychain,
    NewInKeychain,
}

/// The key for the user's databases: `KEYROLL_DB_KEY` if set, else the keychain
/// entry. A new key is created (and stored) only when `may_create` is true,
/// i.e. when the database file does not exist yet: an existing database whose
/// key is missing must not be silently given a new one.
pub fn database_key(may_create: bool) -> Result<(DbKey, KeySource)> {
    if let Ok(hex) = std::env::var(KEY_ENV) {
        return Ok((
            DbKey::from_hex(&hex).map_err(|e| Error::Key(format!("{KEY_ENV}: {e}")))?,
            KeySource::Environment,
        ));
    }
    keychain_key(
        &keyring::Entry::new(SERVICE, DB_KEY_ENTRY).map_err(keychain_error)?,
        may_create,
    )
}

/// Reads (or creates) the key held by one keychain entry.
pub fn keychain_key(entry: &keyring::Entry, may_create: bool) -> Result<(DbKey, KeySource)> {
    match entry.get_password() {
        Ok(hex) => Ok((
            DbKey::from_hex(&hex)
                .map_err(|e| Error::Key(format!("the keychain entry is damaged: {e}")))?,
            KeySource::Keychain,
        )),
        Err(keyring::Error::NoEntry) if may_create => {
            let key = DbKey::random()?;
            entry.set_password(&key.to_hex()).map_err(keychain_error)?;
            Ok((key, KeySource::NewInKeychain))
        }
        Err(keyring::Error::NoEntry) => Err(Error::Key(format!(
            "this computer's keychain has no Keyroll database key (service {SERVICE}). \
             The database was made on another computer or by another user: open it there, \
             or set {KEY_ENV} to its key."
        ))),
        Err(e) => Err(keychain_error(e)),
    }
}

fn keychain_error(e: keyring::Error) -> Error {
    Error::Key(format!(
        "the OS keychain is not available ({e}). On Linux, Keyroll needs a Secret Service \
         (GNOME Keyring or KWallet) in the desktop session; for headless use set {KEY_ENV}."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_rejects_bad_keys() {
        let k = DbKey::random().unwrap();
        assert_eq!(DbKey::from_hex(&k.to_hex()).unwrap(), k);
        assert!(DbKey::from_hex("abc").is_err());
        assert!(DbKey::from_hex(&"zz".repeat(32)).is_err());
        assert_eq!(format!("{k:?}"), "DbKey(…)");
    }

    #[test]
    fn creates_a_key_only_when_allowed_then_reuses_it() {
        // keyring's mock store: each Entry has its own in-memory credential.
        keyring::set_default_credential_builder(keyring::mock::default_credential_builder());
        let entry = keyring::Entry::new("keyroll-test", "db").unwrap();
        let err = keychain_key(&entry, false).unwrap_err().to_string();
        assert!(err.contains("no Keyroll database key"), "{err}");
        let (k1, src1) = keychain_key(&entry, true).unwrap();
        assert_eq!(src1, KeySource::NewInKeychain);
        let (k2, src2) = keychain_key(&entry, false).unwrap();
        assert_eq!((k1, src2), (k2, KeySource::Keychain));
    }
}
