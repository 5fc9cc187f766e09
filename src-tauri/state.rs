//! The app's state: how it was started, the connection the people table
//! reads through, the roster of everyone in memory, and the one writer at a
//! time.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use keyroll_core::people::roster::Roster;
use keyroll_core::{audit, import, Store};

use crate::error::Result;

pub struct AppState {
    pub launch: crate::Launch,
    /// The connection the people table reads through (imports use their own).
    reader: Mutex<Option<Store>>,
    /// Everyone, in memory, for the table's filters and sorts; loaded again
    /// when another connection has committed since.
    roster: Mutex<Option<Arc<Roster>>>,
    /// An import, a rollback or an account change is running.
    pub busy: AtomicBool,
    pub cancel: Arc<AtomicBool>,
    /// The last import's rejected rows, for "Save report…".
    pub last_errors: Mutex<Vec<import::RowError>>,
    /// typst with Keyroll's layouts and fonts, built once (it scans the
    /// system's fonts): the live preview reuses it at every keystroke.
    renderer: std::sync::OnceLock<keyroll_core::letters::Renderer>,
    /// The letters saved in this session: the only files "Print…" opens.
    pub saved_letters: Mutex<Vec<std::path::PathBuf>>,
    /// Emails are being sent (on their own connection, beside the writer).
    pub sending: AtomicBool,
    pub send_cancel: AtomicBool,
}

/// The error for a poisoned lock (a panic elsewhere while holding it).
fn poisoned<T>(_: T) -> crate::error::Error {
    "internal error: lock poisoned".into()
}

impl AppState {
    pub fn new(launch: crate::Launch) -> Self {
        AppState {
            launch,
            reader: Mutex::new(None),
            roster: Mutex::new(None),
            busy: AtomicBool::new(false),
            cancel: Arc::new(AtomicBool::new(false)),
            last_errors: Mutex::new(Vec::new()),
            renderer: std::sync::OnceLock::new(),
            saved_letters: Mutex::new(Vec::new()),
            sending: AtomicBool::new(false),
            send_cancel: AtomicBool::new(false),
        }
    }

    /// The letter renderer, built on first use.
    pub fn renderer(&self) -> &keyroll_core::letters::Renderer {
        self.renderer
            .get_or_init(keyroll_core::letters::Renderer::new)
    }

    /// A new connection to the app's database.
    pub fn open(&self) -> Result<Store> {
        self.open_upgrading(&mut |_| {})
    }

    /// Like [`AppState::open`], telling `upgrading` how an upgrade of the
    /// database to this build goes.
    fn open_upgrading(
        &self,
        upgrading: &mut dyn FnMut(keyroll_core::store::Upgrade),
    ) -> Result<Store> {
        Ok(keyroll_core::open_upgrading(
            self.launch.db.as_deref(),
            self.launch.key.as_ref(),
            upgrading,
        )?)
    }

    /// Opens the table's connection now, upgrading the database if this
    /// build is newer (the first thing the window does, so a long upgrade
    /// shows its progress rather than a screen that does not answer).
    pub fn open_reader(
        &self,
        upgrading: &mut dyn FnMut(keyroll_core::store::Upgrade),
    ) -> Result<()> {
        let mut guard = self.reader.lock().map_err(poisoned)?;
        if guard.is_none() {
            *guard = Some(self.reader_store(self.open_upgrading(upgrading)?)?);
            *self.roster.lock().map_err(poisoned)? = None;
        }
        Ok(())
    }

    /// A connection set up for the table's reads.
    fn reader_store(&self, store: Store) -> Result<Store> {
        // The table's reads stay warm in a larger cache, one that holds a
        // large district's whole list index.
        store
            .conn()
            .execute_batch("PRAGMA cache_size = -98304")
            .map_err(keyroll_core::Error::from)?;
        Ok(store)
    }

    /// The database file the app uses.
    pub fn database(&self) -> std::path::PathBuf {
        self.launch
            .db
            .clone()
            .unwrap_or_else(keyroll_core::store::default_path)
    }

    /// Runs `f` as the app's only writer: an import, a rollback and an
    /// account change never interleave (each is one transaction anyway; this
    /// says so at once instead of waiting on the database lock).
    pub fn exclusive<T>(
        &self,
        f: impl FnOnce(&mut Store, &str) -> keyroll_core::Result<T>,
    ) -> Result<T> {
        if self.busy.swap(true, Ordering::SeqCst) {
            return Err("An import is running; wait for it to finish.".into());
        }
        let result = self
            .open()
            .and_then(|mut store| Ok(f(&mut store, &audit::current_actor())?));
        self.busy.store(false, Ordering::SeqCst);
        result
    }

    pub fn with_reader<T>(&self, f: impl FnOnce(&Store) -> keyroll_core::Result<T>) -> Result<T> {
        let mut guard = self.reader.lock().map_err(poisoned)?;
        if guard.is_none() {
            *guard = Some(self.reader_store(self.open()?)?);
            // A roster is current only for the connection it was loaded through.
            *self.roster.lock().map_err(poisoned)? = None;
        }
        Ok(f(guard.as_ref().expect("opened above"))?)
    }

    /// Like [`AppState::with_reader`], with the roster of everyone, loaded
    /// (again) if the database changed since it was.
    pub fn with_roster<T>(
        &self,
        f: impl FnOnce(&Store, &Roster) -> keyroll_core::Result<T>,
    ) -> Result<T> {
        self.with_reader(|s| {
            let mut roster = self.roster.lock().map_err(|_| {
                keyroll_core::Error::Invalid("internal error: lock poisoned".into())
            })?;
            let stale = match roster.as_ref() {
                Some(r) => !r.is_current(s.conn())?,
                None => true,
            };
            if stale {
                // Account changes are patched in; anything else loads afresh.
                let patched = match roster.as_ref() {
                    Some(r) => r.refreshed(s.conn())?,
                    None => None,
                };
                let loaded = Arc::new(match patched {
                    Some(r) => r,
                    None => Roster::load(s.conn())?,
                });
                let sorts = loaded.clone();
                std::thread::spawn(move || sorts.prepare_sorts());
                *roster = Some(loaded);
            }
            f(s, roster.as_ref().expect("loaded above"))
        })
    }
}
