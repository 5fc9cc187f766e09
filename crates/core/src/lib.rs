//! Keyroll's domain library: SIS exports in, people and accounts out, kept in
//! an encrypted local database with an audit log of every change.
//!
//! The modules follow the product's flow, each one using only those before
//! it: [`import`] reads SIS files into [`people`], who get [`accounts`] by
//! the school's policy, handed out by [`letters`] and [`invite`] (email);
//! [`sync`] takes them to the school server over SCIM and brings back
//! what happened there; [`home`] says what needs doing. Underneath them all,
//! [`store`] keeps everything (SQLCipher, its key in the OS keychain) and
//! [`audit`] records every change; [`text`] folds names for search and
//! [`output`] writes the office's files safely. The desktop app, the
//! `keyroll` CLI and (with sync) the school server are thin front ends.

pub mod accounts;
pub mod audit;
pub mod error;
pub mod home;
pub mod import;
pub mod invite;
pub mod letters;
pub mod output;
pub mod people;
pub mod store;
pub mod sync;
pub mod text;

pub use error::{Error, Result};
pub use store::{DbKey, Store};

/// Opens the database at `path` (the default when None) with the key from
/// `KEYROLL_DB_KEY` or the OS keychain, creating both if neither exists yet.
pub fn open(path: Option<&std::path::Path>) -> Result<Store> {
    open_with(path, None)
}

/// Like [`open`], with a key already in hand (from [`DbKey::take_from_env`]).
pub fn open_with(path: Option<&std::path::Path>, key: Option<&DbKey>) -> Result<Store> {
    open_upgrading(path, key, &mut |_| {})
}

/// Like [`open_with`], telling `upgrading` how an upgrade of the database
/// to this build's schema goes ([`Store::open_upgrading`]).
pub fn open_upgrading(
    path: Option<&std::path::Path>,
    key: Option<&DbKey>,
    upgrading: &mut dyn FnMut(store::Upgrade),
) -> Result<Store> {
    let path = path
        .map(ToOwned::to_owned)
        .unwrap_or_else(store::default_path);
    Ok(match key {
        Some(key) => Store::open_upgrading(&path, key, upgrading)?,
        None => {
            let key = store::keychain::database_key(!path.exists())?.0;
            Store::open_upgrading(&path, &key, upgrading)?
        }
    })
}

/// What the library's own tests share: a demo school in a real encrypted
/// database.
#[cfg(test)]
pub(crate) mod testing {
    /// A fresh encrypted database (with the folder that holds it).
    pub fn empty_store() -> (tempfile::TempDir, crate::Store) {
        let dir = tempfile::tempdir().unwrap();
        let key = crate::DbKey::random().unwrap();
        let store = crate::Store::open(&dir.path().join("k.db"), &key).unwrap();
        (dir, store)
    }

    /// A demo school of `students` imported into a fresh database (with its
    /// folder and key), accounts generated.
    pub fn demo_school(students: u64) -> (tempfile::TempDir, crate::Store, crate::DbKey) {
        let (dir, mut store, key) = imported_school(students);
        crate::accounts::generate(&mut store, "test", false, false, &mut |_| true).unwrap();
        (dir, store, key)
    }

    /// Like [`demo_school`], without accounts yet.
    pub fn imported_school(students: u64) -> (tempfile::TempDir, crate::Store, crate::DbKey) {
        let dir = tempfile::tempdir().unwrap();
        let files = dir.path().join("school");
        keyroll_demo::generate(&files, students, 7).unwrap();
        let key = crate::DbKey::random().unwrap();
        let mut store = crate::Store::open(&dir.path().join("k.db"), &key).unwrap();
        crate::import::run(
            &mut store,
            &[files],
            &crate::import::Options::default(),
            "test",
            &mut |_| true,
        )
        .unwrap();
        (dir, store, key)
    }
}
