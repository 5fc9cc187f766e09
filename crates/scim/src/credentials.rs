//! Rules about credentials that Keyroll and its server must agree on: how
//! an activation code is kept (so a code printed by Keyroll is checked by
//! the server), and what a password a person chooses must be.

use blake2::{Blake2b512, Digest};

/// An activation code as typed or scanned, the way it is compared:
/// letters and digits only, upper case (a letter prints it in groups of
/// four with hyphens; a person may type it in lower case, with spaces).
pub fn normalise_code(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// The stored form of an activation code (or any single-use token): a
/// BLAKE2b-512 digest in hex. Codes carry 128 random bits, so a fast hash
/// is enough; a slow one would only slow the server down.
pub fn hash_code(code: &str) -> String {
    hex(&Blake2b512::digest(normalise_code(code).as_bytes()))
}

/// The stored form of a random token (a session cookie, a reset link), as
/// given: tokens are compared exactly.
pub fn hash_token(token: &str) -> String {
    hex(&Blake2b512::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a chosen password must be. Length first (NIST SP 800-63B):
/// composition rules only if the school asks for them.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct PasswordRules {
    pub min_length: usize,
    /// Upper, lower, digit and symbol each at least once.
    pub all_classes: bool,
}

impl Default for PasswordRules {
    fn default() -> Self {
        PasswordRules {
            min_length: 10,
            all_classes: false,
        }
    }
}

/// One rule, as shown beside the password box and checked again on the
/// server.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Rule {
    /// A stable name (`length`, `classes`, `not-username`, `not-common`).
    pub id: &'static str,
    pub text: String,
    pub met: bool,
}

/// Passwords too common to allow whatever their length.
const COMMON: &[&str] = &[
    "password",
    "password1",
    "password123",
    "123456789",
    "1234567890",
    "qwertyuiop",
    "iloveyou",
    "letmein123",
    "welcome123",
    "football",
    "baseball",
    "sunshine",
    "princess",
    "abc123456",
    "qwerty123",
    "passw0rd",
    "school123",
    "student123",
    "changeme",
    "1q2w3e4r5t",
];

/// Every rule for `password`, met or not.
pub fn check(rules: &PasswordRules, password: &str, user_name: &str) -> Vec<Rule> {
    let length = password.chars().count();
    let lower = password.to_lowercase();
    let name = user_name.trim().to_lowercase();
    let local = name.split('@').next().unwrap_or_default();
    let mut out = vec![Rule {
        id: "length",
        text: format!("at least {} characters", rules.min_length),
        met: length >= rules.min_length,
    }];
    if rules.all_classes {
        let has = |f: fn(char) -> bool| password.chars().any(f);
        out.push(Rule {
            id: "classes",
            text: "a capital letter, a small letter, a digit and a symbol".into(),
            met: has(char::is_uppercase)
                && has(char::is_lowercase)
                && has(|c| c.is_ascii_digit())
                && has(|c| !c.is_alphanumeric()),
        });
    }
    out.push(Rule {
        id: "not-username",
        text: "not your username".into(),
        met: local.len() < 3 || !lower.contains(local),
    });
    out.push(Rule {
        id: "not-common",
        text: "not a common password (checked when you send it)".into(),
        met: !COMMON.contains(&lower.as_str()),
    });
    out
}

/// Whether `password` meets every rule.
pub fn acceptable(rules: &PasswordRules, password: &str, user_name: &str) -> bool {
    check(rules, password, user_name).iter().all(|r| r.met)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_compare_as_printed_or_typed() {
        let cases = [
            ("7KQ2MZ4AB", "7KQ2MZ4AB"),
            ("7kq2-mz4a-b", "7KQ2MZ4AB"),
            (" 7KQ2 MZ4A B\n", "7KQ2MZ4AB"),
        ];
        for (typed, kept) in cases {
            assert_eq!(hash_code(typed), hash_code(kept), "{typed:?}");
        }
        assert_ne!(hash_code("7KQ2MZ4AB"), hash_code("7KQ2MZ4AC"));
        assert_eq!(hash_code("A").len(), 128);
    }

    #[test]
    fn password_rules_as_a_table() {
        let plain = PasswordRules::default();
        let strict = PasswordRules {
            min_length: 8,
            all_classes: true,
        };
        // (rules, password, username, the rules not met)
        let cases: &[(&PasswordRules, &str, &str, &[&str])] = &[
            (&plain, "correct horse battery", "zoe.ang", &[]),
            (&plain, "short", "zoe.ang", &["length"]),
            (
                &plain,
                "zoe.ang-2026!",
                "zoe.ang@demo.example",
                &["not-username"],
            ),
            (&plain, "Password123", "kim", &["not-common"]),
            (&strict, "alllowercase", "kim", &["classes"]),
            (&strict, "Mixed-Case-9", "kim", &[]),
            (&strict, "Ab1!", "kim", &["length"]),
        ];
        for (rules, pw, user, want) in cases {
            let broken: Vec<&str> = check(rules, pw, user)
                .into_iter()
                .filter(|r| !r.met)
                .map(|r| r.id)
                .collect();
            assert_eq!(&broken, want, "{pw:?}");
            assert_eq!(acceptable(rules, pw, user), want.is_empty());
        }
    }
}
