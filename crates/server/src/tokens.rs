//! Bearer tokens for office devices: 256 random bits, shown once when made,
//! kept only as a BLAKE2b hash (a token is random, so a fast hash is
//! enough: nothing to guess from it).

use blake2::{Blake2b512, Digest};

/// What every token starts with, so one pasted into the wrong place is
/// recognisable (and secret scanners can find it).
pub const PREFIX: &str = "kr_";

/// A new token, to be shown once.
pub fn generate() -> anyhow::Result<String> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| anyhow::anyhow!("no randomness for a token: {e}"))?;
    Ok(format!("{PREFIX}{}", hex::encode(b)))
}

/// The hash a token is kept and looked up by.
pub fn hash(token: &str) -> String {
    hex::encode(&Blake2b512::digest(token.trim().as_bytes())[..32])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hashed_alike() {
        let (a, b) = (generate().unwrap(), generate().unwrap());
        assert_ne!(a, b);
        assert!(a.starts_with(PREFIX) && a.len() == PREFIX.len() + 64, "{a}");
        assert_eq!(hash(&a), hash(&format!("{a}\n")));
        assert_ne!(hash(&a), hash(&b));
        assert!(!hash(&a).contains(&a[PREFIX.len()..]));
    }
}
