//! Password hashing and checking with argon2id, at most one at a time per
//! core: each takes ~19 MiB and tens of milliseconds on purpose, so more at
//! once only thrash the caches (and let a flood of sign-ins eat memory).

use std::sync::{Condvar, Mutex, OnceLock};

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};

struct Gate {
    free: Mutex<usize>,
    freed: Condvar,
}

fn gate() -> &'static Gate {
    static GATE: OnceLock<Gate> = OnceLock::new();
    GATE.get_or_init(|| Gate {
        free: Mutex::new(std::thread::available_parallelism().map_or(2, |n| n.get())),
        freed: Condvar::new(),
    })
}

/// Runs `f` when a core is free for it.
fn gated<T>(f: impl FnOnce() -> T) -> T {
    let g = gate();
    {
        let mut free = g.free.lock().unwrap_or_else(|p| p.into_inner());
        while *free == 0 {
            free = g.freed.wait(free).unwrap_or_else(|p| p.into_inner());
        }
        *free -= 1;
    }
    let out = f();
    *g.free.lock().unwrap_or_else(|p| p.into_inner()) += 1;
    g.freed.notify_one();
    out
}

/// An argon2id PHC string for `password`.
pub fn hash(password: &str) -> Option<String> {
    let salt = SaltString::generate(&mut OsRng);
    gated(|| {
        argon2::Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .ok()
            .map(|h| h.to_string())
    })
}

/// Whether `password` matches a stored hash. Without a usable one, a fixed
/// hash is checked instead, so that an unknown username takes as long.
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash("not anyone's password").unwrap_or_default());
    let real = stored.and_then(|h| PasswordHash::new(h).ok());
    let is_real = real.is_some();
    let Some(parsed) = real.or_else(|| PasswordHash::new(dummy).ok()) else {
        return false;
    };
    let ok = gated(|| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    });
    ok && is_real
}
