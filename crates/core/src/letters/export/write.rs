//! Writing an export: a table as CSV (UTF-8, every cell spreadsheet-safe)
//! or XLSX (every cell a string, so nothing is ever a formula or a number
//! that loses its leading zero), and accounts as LDIF.

use std::io::Write;

use super::columns::Table;
use super::ldif;
use crate::error::{Error, Result};
use crate::letters::issue::Cred;
use crate::letters::recipients::Recipient;
use crate::letters::settings::{Directory, LetterSettings};
use crate::text::spreadsheet_safe as safe;

fn failed(e: impl std::fmt::Display) -> Error {
    Error::Invalid(format!("the export could not be written: {e}"))
}

/// The table as CSV, after its preamble line (Entra's `version:v1.0`).
pub fn write_csv(out: &mut dyn Write, t: &Table) -> Result<()> {
    if let Some(line) = &t.preamble {
        writeln!(out, "{line}").map_err(failed)?;
    }
    {
        let mut w = csv::Writer::from_writer(&mut *out);
        w.write_record(&t.header).map_err(failed)?;
        w.flush().map_err(failed)?;
    }
    if let Some(line) = &t.example {
        writeln!(out, "{line}").map_err(failed)?;
    }
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(out);
    for row in &t.rows {
        w.write_record(row.iter().map(|c| safe(c).into_owned()))
            .map_err(failed)?;
    }
    w.flush().map_err(failed)
}

/// The table as an XLSX workbook of text cells, neutralised like CSV.
pub fn write_xlsx(out: &mut dyn Write, t: &Table) -> Result<()> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("Mail merge").map_err(failed)?;
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for (c, h) in t.header.iter().enumerate() {
        sheet
            .write_string_with_format(0, c as u16, h, &bold)
            .map_err(failed)?;
    }
    for (r, row) in t.rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            sheet
                .write_string(r as u32 + 1, c as u16, safe(v).as_ref())
                .map_err(failed)?;
        }
    }
    sheet.set_freeze_panes(1, 0).map_err(failed)?;
    let bytes = book.save_to_buffer().map_err(failed)?;
    out.write_all(&bytes).map_err(failed)
}

/// Accounts as LDIF `add` entries, in the OU of their group.
pub fn write_ldif(
    out: &mut dyn Write,
    s: &LetterSettings,
    recipients: &[Recipient],
    creds: &[Cred],
) -> Result<()> {
    let base = ldif::base_dn(s).ok_or_else(|| {
        Error::Invalid(
            "LDIF needs the directory's base DN: set it with `keyroll letters settings \
             --ldap-base DC=school,DC=example` (or a Google or Entra domain) in Settings"
                .into(),
        )
    })?;
    let mut text = String::from("version: 1\n");
    for (r, c) in recipients.iter().zip(creds) {
        text.push('\n');
        text.push_str(&entry(s, &base, r, c));
    }
    out.write_all(text.as_bytes()).map_err(failed)
}

fn entry(s: &LetterSettings, base: &str, r: &Recipient, c: &Cred) -> String {
    let mut e = String::new();
    let full = format!("{} {}", r.first_name(), r.family_name)
        .trim()
        .to_owned();
    let ou = ldif::ou_of(s, &r.group);
    let password = match c {
        Cred::Password(p) | Cred::Code(p, _) => Some(p.as_str()),
        Cred::Unchanged => None,
    };
    let add = |e: &mut String, name: &str, v: &str| {
        if !v.is_empty() {
            e.push_str(&ldif::attribute(name, v));
        }
    };
    match s.directory {
        Directory::Ad => {
            // The username is unique; two pupils may share a name.
            add(
                &mut e,
                "dn",
                &format!("CN={},{ou},{base}", ldif::dn_value(&r.username)),
            );
            add(&mut e, "changetype", "add");
            for class in ["top", "person", "organizationalPerson", "user"] {
                add(&mut e, "objectClass", class);
            }
            add(&mut e, "cn", &full);
            add(&mut e, "givenName", r.first_name());
            add(&mut e, "sn", &r.family_name);
            add(&mut e, "displayName", &full);
            add(&mut e, "sAMAccountName", &r.username);
            let domain = [&s.entra_domain, &s.google_domain]
                .into_iter()
                .find(|d| !d.is_empty());
            if let Some(d) = domain {
                add(&mut e, "userPrincipalName", &format!("{}@{d}", r.username));
            }
            add(&mut e, "mail", &r.email);
            add(&mut e, "employeeID", &r.sis_id);
            add(&mut e, "description", r.kind.as_str());
            // 512: a normal, enabled account; 514: disabled until it has a
            // password (AD refuses to enable an account without one).
            add(
                &mut e,
                "userAccountControl",
                if password.is_some() { "512" } else { "514" },
            );
            if let Some(p) = password {
                e.push_str(&ldif::attribute_bytes("unicodePwd", &ldif::unicode_pwd(p)));
                add(&mut e, "pwdLastSet", "0");
            }
        }
        Directory::Openldap => {
            add(
                &mut e,
                "dn",
                &format!("uid={},{ou},{base}", ldif::dn_value(&r.username)),
            );
            add(&mut e, "changetype", "add");
            for class in ["top", "person", "organizationalPerson", "inetOrgPerson"] {
                add(&mut e, "objectClass", class);
            }
            add(&mut e, "uid", &r.username);
            add(&mut e, "cn", &full);
            add(&mut e, "givenName", r.first_name());
            // sn is required by the person class.
            add(
                &mut e,
                "sn",
                if r.family_name.is_empty() {
                    &r.username
                } else {
                    &r.family_name
                },
            );
            add(&mut e, "displayName", &full);
            add(&mut e, "mail", &r.email);
            add(&mut e, "employeeNumber", &r.sis_id);
            add(&mut e, "employeeType", r.kind.as_str());
            if let Some(p) = password {
                add(&mut e, "userPassword", p);
            }
        }
    }
    e
}
