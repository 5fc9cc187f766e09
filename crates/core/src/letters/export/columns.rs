//! Each export's columns, in the order and spelling its system expects, and
//! one row per account.

use std::collections::BTreeSet;

use super::Format;
use crate::accounts::policy::Credential;
use crate::letters::fields::FIELDS;
use crate::letters::issue::Cred;
use crate::letters::print::{activation_link, long_date, merge_fields};
use crate::letters::recipients::Recipient;
use crate::letters::settings::LetterSettings;

/// An export as rows of text, before it is written.
pub struct Table {
    /// A line before the header (Entra's `version:v1.0`).
    pub preamble: Option<String>,
    pub header: Vec<String>,
    /// A line after the header that the system skips (Entra's example row
    /// 3, which Microsoft says to keep).
    pub example: Option<String>,
    pub rows: Vec<Vec<String>>,
}

/// Google Workspace's bulk-upload header (Admin console → Users → Bulk
/// update users → Download blank CSV template), all 28 columns.
pub const GOOGLE_HEADER: &str =
    "First Name [Required],Last Name [Required],Email Address [Required],\
Password [Required],Password Hash Function [UPLOAD ONLY],Org Unit Path [Required],\
New Primary Email [UPLOAD ONLY],Recovery Email,Home Secondary Email,Work Secondary Email,\
Recovery Phone [MUST BE IN THE E.164 FORMAT],Work Phone,Home Phone,Mobile Phone,Work Address,\
Home Address,Employee ID,Employee Type,Employee Title,Manager Email,Department,Cost Center,\
Building ID,Floor Name,Floor Section,Change Password at Next Sign-In,New Status [UPLOAD ONLY],\
Advanced Protection Program enrollment";

/// Microsoft Entra ID's bulk-create header (Users → Bulk operations → Bulk
/// create → Download), after its `version:v1.0` line.
pub const ENTRA_HEADER: &str =
    "Name [displayName] Required,User name [userPrincipalName] Required,\
Initial password [passwordProfile] Required,Block sign in (Yes/No) [accountEnabled] Required,\
First name [givenName],Last name [surname],Job title [jobTitle],Department [department],\
Usage location [usageLocation],Street address [streetAddress],State or province [state],\
Country or region [country],Office [physicalDeliveryOfficeName],City [city],\
ZIP or postal code [postalCode],Office phone [telephoneNumber],Mobile phone [mobile]";

/// Row 3 of Microsoft's template, kept as it is: Entra reads users from
/// row 4 on.
pub const ENTRA_EXAMPLE: &str = " Chris Green, chris@contoso.com, myPassword1234, No,,,,,,,,,,,,,";

/// A mail merge's first header cells, which tell the file apart.
pub const MAIL_MERGE_FIRST: &str = "given_name,family_name,preferred_name,full_name,username,\
password,activation_code,activation_link,expires,sign_in_url,school_name,school_address,year,\
home_group,classes,teachers,email,sis_id,children,today";

/// Why an account cannot go into this export, if it cannot.
pub fn refused(
    format: Format,
    s: &LetterSettings,
    r: &Recipient,
    new_passwords: bool,
) -> Option<String> {
    let system = match format {
        Format::MailMerge => None,
        Format::Google => Some("Google Workspace"),
        Format::Entra => Some("Microsoft Entra ID"),
        Format::Ldif => Some("a directory"),
    };
    // An activation code is used once, on the school's server; as another
    // system's password it would never expire, and a fresh one would undo
    // the account's working password for nothing.
    if let (Some(system), Credential::Activation) = (system, r.credential) {
        return Some(format!(
            "{} accounts get activation codes by the policy, which {system} cannot take; \
             they are activated on the school's server",
            r.kind.account_word()
        ));
    }
    if format == Format::Ldif && r.group.is_empty() {
        return Some("the account has no group, so it has no OU".into());
    }
    if format == Format::Entra && !(r.new || new_passwords) {
        return Some(
            "Microsoft Entra needs an initial password and this account was handed out \
             before: export it with --new-passwords (its old password stops working)"
                .into(),
        );
    }
    match format {
        Format::Google if s.google_domain.is_empty() => Some(
            "no Google Workspace domain is set: `keyroll letters settings --google-domain \
             school.example`"
                .into(),
        ),
        Format::Entra if s.entra_domain.is_empty() => Some(
            "no Microsoft Entra domain is set: `keyroll letters settings --entra-domain \
             school.example`"
                .into(),
        ),
        Format::Ldif
            if s.directory == crate::letters::settings::Directory::Ad
                && r.username.chars().count() > 20 =>
        {
            Some(format!(
                "{} is longer than the 20 characters Active Directory allows for a \
                 pre-Windows 2000 name (sAMAccountName): rename it first",
                r.username
            ))
        }
        _ => None,
    }
}

/// What the office should know before an export.
pub fn warnings(format: Format, s: &LetterSettings) -> Vec<String> {
    let mut out = Vec::new();
    if format == Format::MailMerge && s.sign_in_url.is_empty() {
        out.push("No sign-in address is set, so the sign_in_url column is empty".into());
    }
    if format == Format::Google && s.org_units.is_empty() {
        out.push(
            "No org units are mapped: each group's accounts go to /<group name> \
             (`keyroll letters settings --org-unit \"Students=/Students\"`)"
                .into(),
        );
    }
    out
}

/// The export as a table, one row per recipient with their credential.
pub fn table(format: Format, s: &LetterSettings, rs: &[Recipient], cs: &[Cred]) -> Table {
    match format {
        Format::MailMerge => mail_merge(s, rs, cs),
        Format::Google => google(s, rs, cs),
        Format::Entra => entra(s, rs, cs),
        Format::Ldif => unreachable!("LDIF is not a table"),
    }
}

fn mail_merge(s: &LetterSettings, rs: &[Recipient], cs: &[Cred]) -> Table {
    let today = long_date(&crate::store::now());
    let children = rs.iter().map(|r| r.children.len()).max().unwrap_or(0);
    let sis: BTreeSet<&String> = rs.iter().flat_map(|r| r.raw.fields().keys()).collect();
    let mut header: Vec<String> = FIELDS
        .iter()
        .filter(|f| !f.block)
        .map(|f| f.name.to_owned())
        .collect();
    for i in 1..=children {
        for what in ["name", "username", "year"] {
            header.push(format!("child_{i}_{what}"));
        }
    }
    header.extend(sis.iter().map(|k| format!("sis.{k}")));
    let rows = rs
        .iter()
        .zip(cs)
        .map(|(r, c)| {
            let (kind, secret, expires) = c.parts();
            let expires = expires.map(long_date).unwrap_or_default();
            let link = if kind == "code" {
                activation_link(s, secret)
            } else {
                String::new()
            };
            let fields = merge_fields(r, s, secret, kind, &link, &expires, &today);
            let get = |name: &str| {
                fields
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            header
                .iter()
                .map(|h| match child_cell(r, h) {
                    Some(v) => v,
                    None => get(h),
                })
                .collect()
        })
        .collect();
    Table {
        preamble: None,
        header,
        example: None,
        rows,
    }
}

/// `child_2_username` and the like.
fn child_cell(r: &Recipient, column: &str) -> Option<String> {
    let rest = column.strip_prefix("child_")?;
    let (n, what) = rest.split_once('_')?;
    let i: usize = n.parse().ok()?;
    let c = r.children.get(i.checked_sub(1)?);
    Some(
        c.map(|c| match what {
            "name" => c.name.clone(),
            "username" => c.username.clone(),
            _ => c.year.clone(),
        })
        .unwrap_or_default(),
    )
}

/// One row per recipient, from `row(recipient, new password or "")`.
fn rows(
    rs: &[Recipient],
    cs: &[Cred],
    row: impl Fn(&Recipient, &str) -> Vec<String>,
) -> Vec<Vec<String>> {
    rs.iter()
        .zip(cs)
        .map(|(r, c)| {
            let (kind, secret, _) = c.parts();
            row(r, if kind == "password" { secret } else { "" })
        })
        .collect()
}

fn google(s: &LetterSettings, rs: &[Recipient], cs: &[Cred]) -> Table {
    let header: Vec<String> = GOOGLE_HEADER.split(',').map(str::to_owned).collect();
    let rows = rows(rs, cs, |r, password| {
        let ou = s
            .org_units
            .get(&r.group)
            .cloned()
            .unwrap_or_else(|| format!("/{}", r.group));
        let mut row = vec![String::new(); header.len()];
        row[0] = r.first_name().to_owned();
        row[1] = r.family_name.clone();
        row[2] = format!("{}@{}", r.username, s.google_domain);
        row[3] = password.to_owned();
        row[5] = ou;
        row[16] = r.sis_id.clone();
        row[17] = r.kind.as_str().to_owned();
        // A new password must be changed at first sign-in; with none the
        // account keeps the one it has.
        row[25] = if password.is_empty() { "" } else { "True" }.to_owned();
        row
    });
    Table {
        preamble: None,
        header,
        example: None,
        rows,
    }
}

fn entra(s: &LetterSettings, rs: &[Recipient], cs: &[Cred]) -> Table {
    let header: Vec<String> = ENTRA_HEADER.split(',').map(str::to_owned).collect();
    let rows = rows(rs, cs, |r, password| {
        let mut row = vec![String::new(); header.len()];
        row[0] = format!("{} {}", r.first_name(), r.family_name)
            .trim()
            .to_owned();
        row[1] = format!("{}@{}", r.username, s.entra_domain);
        row[2] = password.to_owned();
        row[3] = "No".to_owned();
        row[4] = r.first_name().to_owned();
        row[5] = r.family_name.clone();
        row[6] = match r.kind {
            crate::people::Kind::Student => "Student",
            crate::people::Kind::Staff => "Staff",
            crate::people::Kind::Contact => "Parent",
        }
        .to_owned();
        row[7] = r.group.clone();
        row
    });
    Table {
        preamble: Some("version:v1.0".into()),
        header,
        example: Some(ENTRA_EXAMPLE.into()),
        rows,
    }
}
