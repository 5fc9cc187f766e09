//! Initial passwords and activation codes: made from the OS's secure random
//! source, kept in memory only for the run that hands them out, stored only
//! as hashes (argon2id PHC strings for passwords; a BLAKE2b digest for
//! activation codes, whose 128 random bits need no slow hash).

use argon2::password_hash::SaltString;
use argon2::{Argon2, PasswordHasher};
use zeroize::Zeroizing;

use super::policy::PasswordPolicy;
use crate::error::{Error, Result};

// No look-alikes: no I l 1 | O 0 o, no quotes or spaces that get lost on paper.
const UPPER: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ";
const LOWER: &[u8] = b"abcdefghijkmnpqrstuvwxyz";
const DIGITS: &[u8] = b"23456789";
const SYMBOLS: &[u8] = b"!#$%&*+-=?@";

/// EFF's long wordlist (7,776 common, distinct words; CC BY 3.0 US, see
/// eff_large_wordlist.LICENSE): each word carries log2(7776) ≈ 12.9 bits.
static WORDS: std::sync::LazyLock<Vec<&'static str>> =
    std::sync::LazyLock::new(|| include_str!("eff_large_wordlist.txt").lines().collect());

/// The fewest words a passphrase has: four carry 51.7 bits, and the number
/// after them 6.5 more.
const MIN_WORDS: usize = 4;

/// The longest word of the list, for the fewest words a passphrase of a
/// minimum length is sure to have.
const LONGEST_WORD: usize = 9;

const POOL: usize = 4096;

thread_local! {
    /// Bytes from the OS's random source, fetched 4 KiB at a time and each
    /// used once: a system call per character cost more than everything else
    /// in a large reset of activation codes. (Wiped when refilled.)
    static RANDOM: std::cell::RefCell<(Zeroizing<[u8; POOL]>, usize)> =
        std::cell::RefCell::new((Zeroizing::new([0; POOL]), POOL));
}

/// Four fresh bytes from the OS's random source.
fn random_u32() -> Result<u32> {
    RANDOM.with(|pool| {
        let (bytes, used) = &mut *pool.borrow_mut();
        if *used + 4 > POOL {
            getrandom::fill(&mut bytes[..])
                .map_err(|e| Error::Invalid(format!("no secure random source: {e}")))?;
            *used = 0;
        }
        let v = u32::from_le_bytes(bytes[*used..*used + 4].try_into().expect("four bytes"));
        bytes[*used..*used + 4].fill(0);
        *used += 4;
        Ok(v)
    })
}

/// A random index below `n`, without modulo bias.
fn below(n: usize) -> Result<usize> {
    debug_assert!(n > 0 && n <= 1 << 16);
    let limit = (u32::MAX / n as u32) * n as u32;
    loop {
        let v = random_u32()?;
        if v < limit {
            return Ok((v % n as u32) as usize);
        }
    }
}

/// A new initial password by the policy.
pub fn generate(policy: &PasswordPolicy) -> Result<Zeroizing<String>> {
    if policy.passphrase {
        return passphrase(policy.min_length);
    }
    let len = policy.min_length.max(10);
    let all: Vec<u8> = [UPPER, LOWER, DIGITS, SYMBOLS].concat();
    let mut chars: Vec<u8> = Vec::with_capacity(len);
    if policy.all_classes {
        for class in [UPPER, LOWER, DIGITS, SYMBOLS] {
            chars.push(class[below(class.len())?]);
        }
    }
    while chars.len() < len {
        chars.push(all[below(all.len())?]);
    }
    // Shuffle (Fisher–Yates), so the classes are not always in front.
    for i in (1..chars.len()).rev() {
        chars.swap(i, below(i + 1)?);
    }
    // A password starting with = + - @ would be taken for a formula by a
    // spreadsheet (and escaped, changing it): start with a letter or digit.
    if !chars[0].is_ascii_alphanumeric() {
        let j = chars
            .iter()
            .position(u8::is_ascii_alphanumeric)
            .expect("every password holds letters");
        chars.swap(0, j);
    }
    Ok(Zeroizing::new(String::from_utf8(chars).expect("ASCII")))
}

/// Words-words-words-NN, at least `min_length` characters and four words.
fn passphrase(min_length: usize) -> Result<Zeroizing<String>> {
    let mut words: Vec<&str> = Vec::new();
    while words.len() < MIN_WORDS
        || words.iter().map(|w| w.len() + 1).sum::<usize>() + 2 < min_length
    {
        words.push(WORDS[below(WORDS.len())?]);
    }
    let n = 10 + below(90)?;
    Ok(Zeroizing::new(format!("{}-{n}", words.join("-"))))
}

/// How hard a password `policy` makes is to guess, in bits, for each way
/// of making one: what a guesser who knows the policy must try at best.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Strength {
    /// Random characters of the policy's length.
    pub random: f64,
    /// A passphrase of the policy's length.
    pub passphrase: f64,
    /// The one the policy uses.
    pub in_force: f64,
}

/// The strength of the passwords `policy` makes.
pub fn strength(policy: &PasswordPolicy) -> Strength {
    let log2 = |n: usize| (n as f64).log2();
    let len = policy.min_length.max(10);
    let all = UPPER.len() + LOWER.len() + DIGITS.len() + SYMBOLS.len();
    let random = if policy.all_classes {
        // One of each class, the rest from all of them (a little less than
        // all-random: what the guaranteed classes cost).
        [UPPER, LOWER, DIGITS, SYMBOLS]
            .iter()
            .map(|c| log2(c.len()))
            .sum::<f64>()
            + (len - 4) as f64 * log2(all)
    } else {
        len as f64 * log2(all)
    };
    // The fewest words a passphrase of this length can have.
    let words = MIN_WORDS.max(
        policy
            .min_length
            .saturating_sub(3)
            .div_ceil(LONGEST_WORD + 1),
    );
    let passphrase = words as f64 * log2(WORDS.len()) + log2(90);
    Strength {
        random,
        passphrase,
        in_force: if policy.passphrase {
            passphrase
        } else {
            random
        },
    }
}

/// An activation code: 128 random bits as 26 base32 characters.
pub fn activation_code() -> Result<Zeroizing<String>> {
    const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let mut out = String::with_capacity(26);
    // 26 characters from a 31-letter alphabet: over 128 bits.
    for _ in 0..26 {
        out.push(ALPHABET[below(ALPHABET.len())?] as char);
    }
    Ok(Zeroizing::new(out))
}

/// The stored form of an activation code: the school server's own rule
/// (keyroll-scim), so that a code Keyroll prints is one the server checks.
pub fn hash_code(code: &str) -> String {
    keyroll_scim::credentials::hash_code(code)
}

/// An argon2id PHC string for `password` (the crate's default, OWASP-level
/// parameters).
pub fn hash(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt)
        .map_err(|e| Error::Invalid(format!("no secure random source: {e}")))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| Error::Invalid(e.to_string()))?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| Error::Invalid(format!("cannot hash a password: {e}")))?
        .to_string())
}

/// Hashes every password on all cores; `progress(done, total)` is called
/// from this thread as they finish and may return false to cancel.
pub fn hash_all(
    passwords: &[Zeroizing<String>],
    progress: &mut dyn FnMut(usize, usize) -> bool,
) -> Result<Vec<String>> {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let total = passwords.len();
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(total.max(1));
    let (next, done, stop) = (
        AtomicUsize::new(0),
        AtomicUsize::new(0),
        AtomicBool::new(false),
    );
    // Each worker takes the next password and keeps (index, hash) pairs.
    let work = || -> Result<Vec<(usize, String)>> {
        let mut mine = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= total || stop.load(Ordering::Relaxed) {
                return Ok(mine);
            }
            mine.push((i, hash(&passwords[i])?));
            done.fetch_add(1, Ordering::Relaxed);
        }
    };
    let mut hashes: Vec<Option<String>> = vec![None; total];
    std::thread::scope(|s| -> Result<()> {
        let workers: Vec<_> = (0..threads).map(|_| s.spawn(work)).collect();
        while !workers.iter().all(|w| w.is_finished()) {
            if !progress(done.load(Ordering::Relaxed), total) {
                stop.store(true, Ordering::Relaxed);
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        progress(done.load(Ordering::Relaxed), total);
        for w in workers {
            let mine = w
                .join()
                .map_err(|_| Error::Invalid("internal error: a hashing thread crashed".into()))??;
            for (i, h) in mine {
                hashes[i] = Some(h);
            }
        }
        Ok(())
    })?;
    if stop.load(Ordering::Relaxed) {
        return Err(Error::Cancelled);
    }
    Ok(hashes
        .into_iter()
        .map(|h| h.expect("every password hashed"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::{PasswordHash, PasswordVerifier};

    #[test]
    fn passwords_meet_the_policy_and_avoid_look_alikes() {
        let policy = PasswordPolicy::default();
        for _ in 0..200 {
            let p = generate(&policy).unwrap();
            assert_eq!(p.len(), 10);
            assert!(p.bytes().any(|b| b.is_ascii_uppercase()), "{}", *p);
            assert!(p.bytes().any(|b| b.is_ascii_lowercase()), "{}", *p);
            assert!(p.bytes().any(|b| b.is_ascii_digit()), "{}", *p);
            assert!(p.bytes().any(|b| SYMBOLS.contains(&b)), "{}", *p);
            assert!(!p.contains(['I', 'l', '1', 'O', '0', 'o']), "{}", *p);
            assert!(p.as_bytes()[0].is_ascii_alphanumeric(), "{}", *p);
            assert_eq!(crate::text::spreadsheet_safe(&p), p.as_str());
        }
        let a = generate(&policy).unwrap();
        let b = generate(&policy).unwrap();
        assert_ne!(*a, *b);
    }

    #[test]
    fn passphrases_are_words_and_a_number() {
        let p = generate(&PasswordPolicy {
            passphrase: true,
            min_length: 16,
            all_classes: false,
        })
        .unwrap();
        let parts: Vec<&str> = p.split('-').collect();
        assert!(parts.len() >= 5 && p.len() >= 16, "{}", *p);
        assert!(parts.last().unwrap().parse::<u32>().is_ok());
        let words = &parts[..parts.len() - 1];
        assert!(words.len() >= MIN_WORDS);
        // Each part a word (or half of one of EFF's few hyphenated words:
        // "t-shirt").
        let hyphenated: Vec<&str> = WORDS
            .iter()
            .filter(|w| w.contains('-'))
            .flat_map(|w| w.split('-'))
            .collect();
        assert!(words
            .iter()
            .all(|w| WORDS.contains(w) || hyphenated.contains(w)));
    }

    #[test]
    fn the_word_list_is_effs_and_passphrases_carry_over_50_bits() {
        assert_eq!(WORDS.len(), 7776);
        assert_eq!((WORDS[0], WORDS[7775]), ("abacus", "zoom"));
        let mut sorted = WORDS.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 7776, "no word twice");
        assert!(WORDS.iter().all(|w| w.len() <= LONGEST_WORD));
        let default = PasswordPolicy::default();
        let s = strength(&PasswordPolicy {
            passphrase: true,
            ..default.clone()
        });
        assert!(s.passphrase >= 50.0 && s.in_force == s.passphrase, "{s:?}");
        assert!((s.passphrase - (4.0 * 7776f64.log2() + 90f64.log2())).abs() < 1e-9);
        let r = strength(&default);
        assert!(r.random >= 50.0 && r.in_force == r.random, "{r:?}");
        let long = strength(&PasswordPolicy {
            min_length: 60,
            passphrase: true,
            ..default
        });
        assert!(
            long.passphrase > s.passphrase,
            "more words for a longer minimum"
        );
    }

    #[test]
    fn codes_never_repeat_across_pool_refills_and_use_every_letter() {
        // 3,000 codes draw some 80 refills of the random pool.
        let codes: Vec<_> = (0..3000).map(|_| activation_code().unwrap()).collect();
        let distinct: std::collections::HashSet<&str> = codes.iter().map(|c| c.as_str()).collect();
        assert_eq!(distinct.len(), codes.len());
        let mut seen = [0u32; 256];
        for c in &codes {
            assert_eq!(c.len(), 26);
            for b in c.bytes() {
                seen[b as usize] += 1;
            }
        }
        // 78,000 letters over 31: each near 2,516; a stuck or biased source is far off.
        for b in b"ABCDEFGHJKMNPQRSTUVWXYZ23456789" {
            assert!(
                (2200..2850).contains(&seen[*b as usize]),
                "{}: {}",
                *b as char,
                seen[*b as usize]
            );
        }
    }

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let pws: Vec<Zeroizing<String>> = (0..3)
            .map(|_| generate(&PasswordPolicy::default()).unwrap())
            .collect();
        let mut calls = 0;
        let hashes = hash_all(&pws, &mut |_, _| {
            calls += 1;
            true
        })
        .unwrap();
        assert!(calls >= 1);
        for (p, h) in pws.iter().zip(&hashes) {
            assert!(h.starts_with("$argon2id$"), "{h}");
            let parsed = PasswordHash::new(h).unwrap();
            assert!(Argon2::default()
                .verify_password(p.as_bytes(), &parsed)
                .is_ok());
            assert!(Argon2::default()
                .verify_password(b"wrong", &parsed)
                .is_err());
        }
        let code = activation_code().unwrap();
        assert_eq!(code.len(), 26);
        assert_eq!(hash_code(&code), hash_code(&code.to_lowercase()));
        assert_ne!(hash_code(&code), hash_code(&activation_code().unwrap()));
    }
}
