//! Three-way decisions for the fields both Keyroll and the server may
//! change: the value last synced (the base), Keyroll's now, the server's
//! now. Pure: tested as a table.

/// The fields both sides may change. Everything else Keyroll sends is
/// Keyroll's (from the SIS and the school's policy) and everything the
/// server adds is the server's (sign-in state): neither conflicts.
pub const SHARED: [&str; 2] = ["active", "userName"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Both agree (or neither changed): nothing to do.
    Same,
    /// Only Keyroll changed it: the next push sends it.
    Keyroll,
    /// Only the server changed it, and Keyroll takes that on its own.
    Server,
    /// The office decides: both changed it, or the server changed a field
    /// Keyroll does not take silently.
    Conflict,
}

/// What to do with a shared `field`, given its base and both sides' values
/// (as JSON text, so any type compares alike). With no base (a resource
/// adopted from the server) Keyroll's value stands.
pub fn decide(field: &str, base: Option<&str>, keyroll: &str, server: &str) -> Decision {
    if keyroll == server {
        return Decision::Same;
    }
    let Some(base) = base else {
        return Decision::Keyroll;
    };
    if base == server {
        Decision::Keyroll
    } else if base == keyroll && field == "active" {
        // Someone enabled or disabled it on the server (another Keyroll, an
        // administrator): taken, and audited as the server's.
        Decision::Server
    } else {
        Decision::Conflict
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Decision::*;

    #[test]
    fn a_field_goes_to_whoever_changed_it_and_to_the_office_when_both_did() {
        for (field, base, keyroll, server, want) in [
            ("active", Some("true"), "true", "true", Same),
            ("active", Some("true"), "false", "false", Same),
            ("active", Some("true"), "false", "true", Keyroll),
            ("active", Some("true"), "true", "false", Server),
            ("active", None, "true", "false", Keyroll),
            (
                "userName",
                Some("\"ng.a\""),
                "\"ng.alex\"",
                "\"ng.a\"",
                Keyroll,
            ),
            (
                "userName",
                Some("\"ng.a\""),
                "\"ng.a\"",
                "\"alex.ng\"",
                Conflict,
            ),
            (
                "userName",
                Some("\"ng.a\""),
                "\"ng.alex\"",
                "\"alex.ng\"",
                Conflict,
            ),
            (
                "userName",
                Some("\"ng.a\""),
                "\"alex.ng\"",
                "\"alex.ng\"",
                Same,
            ),
        ] {
            assert_eq!(
                decide(field, base, keyroll, server),
                want,
                "{field}: {base:?} {keyroll} {server}"
            );
        }
    }
}
