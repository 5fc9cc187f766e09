//! Password hashing and checking with argon2id, at most one at a time per
//! core: each takes ~19 MiB and tens of milliseconds on purpose, so more at
//! once only thrash the caches (and let a flood of sign-ins eat memory).
//!
//! The checks run on one thread per core, each keeping its own working
//! memory between checks, as the argon2 bound in the benchmark does:
//! allocating 19 MiB afresh for every check cost a zeroing pass and, on
//! whichever pool thread ran it, fresh pages from the kernel.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Mutex, OnceLock};

use argon2::password_hash::{rand_core::OsRng, Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use zeroize::Zeroizing;

/// Work for an argon2 thread: it gets that thread's working memory.
type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

fn queue() -> &'static Mutex<Sender<Job>> {
    static QUEUE: OnceLock<Mutex<Sender<Job>>> = OnceLock::new();
    QUEUE.get_or_init(|| {
        let (send, receive) = channel::<Job>();
        let receive = std::sync::Arc::new(Mutex::new(receive));
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        for n in 0..cores {
            let receive = receive.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || work(&receive))
                .expect("an argon2 thread starts");
        }
        Mutex::new(send)
    })
}

fn work(jobs: &Mutex<Receiver<Job>>) {
    let mut memory = Vec::new();
    loop {
        let job = jobs.lock().unwrap_or_else(|p| p.into_inner()).recv();
        match job {
            Ok(job) => job(&mut memory),
            Err(_) => return,
        }
    }
}

/// Runs `f` on an argon2 thread, with its working memory, and waits for it.
fn gated<T: Send + 'static>(f: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static) -> Option<T> {
    let (done, result) = channel();
    let job: Job = Box::new(move |memory| {
        let _ = done.send(f(memory));
    });
    queue()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .send(job)
        .ok()?;
    result.recv().ok()
}

/// Argon2 output for `password` under these settings.
fn derive(argon2: Argon2<'static>, password: &str, salt: &[u8], out_len: usize) -> Option<Vec<u8>> {
    // The job owns a copy of the password, wiped when it is dropped.
    let password = Zeroizing::new(password.as_bytes().to_vec());
    let salt = salt.to_vec();
    gated(move |memory| {
        let blocks = argon2.params().block_count();
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        let mut out = vec![0u8; out_len];
        argon2
            .hash_password_into_with_memory(&password, &salt, &mut out, &mut memory[..])
            .ok()
            .map(|()| out)
    })
    .flatten()
}

/// An argon2id PHC string for `password`.
pub fn hash(password: &str) -> Option<String> {
    let salt = SaltString::generate(&mut OsRng);
    let params = Params::default();
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut salt_bytes = [0u8; 64];
    let raw_salt = salt.as_salt().decode_b64(&mut salt_bytes).ok()?;
    let out = derive(argon2, password, raw_salt, Params::DEFAULT_OUTPUT_LEN)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).ok()?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).ok()?),
    };
    Some(phc.to_string())
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
    matches(password, &parsed) && is_real
}

/// What argon2's own `verify_password` does, on a core's kept memory.
fn matches(password: &str, phc: &PasswordHash) -> bool {
    let (Some(salt), Some(expected)) = (phc.salt, phc.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(phc.algorithm) else {
        return false;
    };
    let version = match phc.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(phc) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(raw_salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let argon2 = Argon2::new(algorithm, version, params);
    let Some(out) = derive(argon2, password, raw_salt, expected.len()) else {
        return false;
    };
    // Output's equality is constant-time.
    Output::new(&out).is_ok_and(|o| o == expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    #[test]
    fn a_hash_made_here_is_what_argon2_itself_makes_and_checks() {
        let ours = hash("blue kettle morning").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert_eq!(parsed.algorithm, Algorithm::Argon2id.ident());
        assert!(Argon2::default()
            .verify_password(b"blue kettle morning", &parsed)
            .is_ok());
        assert!(Argon2::default()
            .verify_password(b"blue kettle evening", &parsed)
            .is_err());
    }

    #[test]
    fn checks_agree_with_argon2_for_hashes_it_made_with_other_settings() {
        let salt = SaltString::generate(&mut OsRng);
        let table = [
            (
                Algorithm::Argon2id,
                Params::new(19_456, 2, 1, None).unwrap(),
            ),
            (
                Algorithm::Argon2id,
                Params::new(8_192, 3, 2, Some(16)).unwrap(),
            ),
            (Algorithm::Argon2i, Params::new(4_096, 1, 1, None).unwrap()),
            (
                Algorithm::Argon2id,
                Params::new(65_536, 1, 1, None).unwrap(),
            ),
        ];
        for (algorithm, params) in table {
            let stored = Argon2::new(algorithm, Version::V0x13, params.clone())
                .hash_password(b"correct horse", &salt)
                .unwrap()
                .to_string();
            assert!(verify("correct horse", Some(&stored)), "{stored}");
            assert!(!verify("correct horsE", Some(&stored)), "{stored}");
        }
    }

    #[test]
    fn no_usable_hash_never_matches() {
        for stored in [
            None,
            Some(""),
            Some("plain text"),
            Some("$argon2id$v=19$m=1"),
        ] {
            assert!(!verify("not anyone's password", stored), "{stored:?}");
            assert!(!verify("", stored), "{stored:?}");
        }
    }
}
