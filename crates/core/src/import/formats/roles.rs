//! roles.csv, as OneRoster 1.2 and School Data Sync v2.1 write it: each
//! user's roles, one row per role per org, primary or secondary.

use std::collections::HashMap;

use super::super::csvfile::CsvFile;
use super::super::fields::{fatal, field};
use super::super::{Loader, Source, Spot};
use crate::error::Result;
use crate::people::Kind;

/// One row of roles.csv (SDS v2.1's, or OneRoster 1.2's).
pub struct Role {
    pub org: String,
    pub role: String,
    pub primary: bool,
    pub grade: String,
    pub at: Spot,
    /// The row was rejected (reported already): its user is left out too,
    /// as a OneRoster 1.1 row naming an unknown org is, rather than imported
    /// without the role.
    pub rejected: bool,
}

/// Why a user whose role row was rejected is left out too, if one was.
pub fn rejected_role(mine: &[Role]) -> Option<String> {
    let r = mine.iter().find(|r| r.rejected)?;
    Some(format!(
        "this user's role on line {} of roles.csv was rejected, so the user is left out too",
        r.at.line
    ))
}

/// The kind a role makes, in any case and with spaces around it ignored, or
/// None for a role Keyroll does not know. The one list every format's role
/// words go through: roles.csv (OneRoster 1.2, SDS v2.1), OneRoster 1.1's and
/// SDS v2's users.csv `role` column.
pub fn kind_of_role(role: &str) -> Option<Kind> {
    match role.trim().to_ascii_lowercase().as_str() {
        "student" => Some(Kind::Student),
        "teacher"
        | "professor"
        | "lecturer"
        | "faculty"
        | "instructor"
        | "administrator"
        | "aide"
        | "principal"
        | "counselor"
        | "staff"
        | "proctor"
        | "librarian"
        // The rest of SDS v2.1's Staff group.
        | "nurse"
        | "officestaff"
        | "chair"
        | "adjunct"
        | "advisor"
        | "itadmin"
        | "teacherassistant"
        | "assistant"
        | "substitute"
        | "coach"
        | "paraprofessional"
        | "therapist"
        | "occupationaltherapist"
        | "physicaltherapist"
        | "speechtherapist"
        | "psychologist"
        | "socialworker"
        | "specialist"
        | "dean"
        | "superintendent"
        | "sysadmin"
        | "districtadministrator"
        | "siteadministrator"
        | "systemadministrator"
        // The rest of Microsoft's default staff role list (SDS v1 and v2.1).
        | "researcher"
        | "affiliate"
        | "visiontherapist"
        | "specialservices" => Some(Kind::Staff),
        "guardian" | "parent" | "relative" => Some(Kind::Contact),
        _ => None,
    }
}

/// Why a row's role is refused: the word, and what Keyroll expects.
pub fn unknown_role(role: &str) -> String {
    if role.trim().is_empty() {
        return "the role is empty (expected student, teacher, staff, administrator, aide, \
                guardian…)"
            .into();
    }
    format!(
        "unknown role \"{role}\" (expected student, teacher, staff, administrator, aide, \
         guardian…)"
    )
}

/// roles.csv by user. SDS says `isPrimary` (TRUE/FALSE); OneRoster 1.2 says
/// `roleType` (primary/secondary).
pub fn read_roles(path: &Source, loader: &mut dyn Loader) -> Result<HashMap<String, Vec<Role>>> {
    let mut f = CsvFile::open(path)?;
    let cols = f
        .require(&["userSourcedId", "orgSourcedId", "role"])
        .map_err(fatal)?;
    let (c_primary, c_grade) = (f.column("isPrimary"), f.column("grade"));
    let c_role_type = f.column("roleType");
    let mut roles: HashMap<String, Vec<Role>> = HashMap::new();
    let mut rec = csv::StringRecord::new();
    while f.next(&mut rec)? {
        loader.progress(f.bytes_read())?;
        let user = field(&rec, Some(cols[0]));
        let (org, role) = (field(&rec, Some(cols[1])), field(&rec, Some(cols[2])));
        let mut errors = Vec::new();
        if let Err(e) = f.check_width(&rec) {
            errors.push(e);
        }
        if user.is_empty() {
            errors.push(f.error(&rec, cols[0], "the role names no user".into()));
        }
        if !loader.has_org(&org) {
            errors.push(f.error(&rec, cols[1], format!("org \"{org}\" is not in orgs.csv")));
        }
        if kind_of_role(&role).is_none() {
            errors.push(f.error(&rec, cols[2], unknown_role(&role)));
        }
        let role_type = field(&rec, c_role_type).to_ascii_lowercase();
        let primary = match field(&rec, c_primary).to_ascii_lowercase().as_str() {
            "" if role_type == "secondary" => false,
            "" if !matches!(role_type.as_str(), "" | "primary") => {
                let why = format!("roleType is \"{role_type}\"; expected primary or secondary");
                errors.push(f.error(&rec, c_role_type.unwrap_or(0), why));
                false
            }
            "" | "true" | "1" | "yes" => true,
            "false" | "0" | "no" => false,
            other => {
                let why = format!("isPrimary is \"{other}\"; expected TRUE or FALSE");
                errors.push(f.error(&rec, c_primary.unwrap_or(0), why));
                false
            }
        };
        let rejected = !errors.is_empty();
        for e in errors {
            loader.reject(e, Some(&user))?;
        }
        if rejected && user.is_empty() {
            continue;
        }
        roles.entry(user).or_default().push(Role {
            org,
            role: role.to_ascii_lowercase(),
            primary,
            grade: field(&rec, c_grade),
            at: f.spot(&rec, cols[0]),
            rejected,
        });
    }
    loader.file_done(f.info());
    Ok(roles)
}

/// Adds to a staff member's `role` the parent or guardian roles among
/// `mine` (their roles.csv rows), as "teacher,parent".
pub fn parent_roles(role: &mut String, mine: &[Role]) {
    for r in mine {
        if kind_of_role(&r.role) == Some(Kind::Contact) && !role.split(',').any(|had| had == r.role)
        {
            role.push(',');
            role.push_str(&r.role);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_words_in_any_case_make_their_kind() {
        for (word, kind) in [
            ("Student", Some(Kind::Student)),
            ("STUDENT", Some(Kind::Student)),
            (" student ", Some(Kind::Student)),
            ("teacher", Some(Kind::Staff)),
            ("Teacher", Some(Kind::Staff)),
            ("faculty", Some(Kind::Staff)),
            ("staff", Some(Kind::Staff)),
            ("aide", Some(Kind::Staff)),
            ("Aide", Some(Kind::Staff)),
            ("Professor", Some(Kind::Staff)),
            ("Lecturer", Some(Kind::Staff)),
            ("administrator", Some(Kind::Staff)),
            ("principal", Some(Kind::Staff)),
            ("officeStaff", Some(Kind::Staff)),
            ("guardian", Some(Kind::Contact)),
            ("Parent", Some(Kind::Contact)),
            ("relative", Some(Kind::Contact)),
            ("wizard", None),
            ("", None),
        ] {
            assert_eq!(kind_of_role(word), kind, "{word:?}");
        }
        assert!(unknown_role("wizard").contains("\"wizard\""));
    }
}
