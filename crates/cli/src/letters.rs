//! `keyroll letters …` (print-ready PDF), `keyroll letters templates …`,
//! `keyroll letters settings`, and `keyroll export …` (mail merge, Google
//! Workspace, Microsoft Entra ID, LDIF).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use keyroll_core::letters::export::{self, ExportOutcome, ExportRequest, Format};
use keyroll_core::letters::settings::Directory;
use keyroll_core::letters::{self, templates, Layout, Paper, Per, Preview, Request};
use keyroll_core::{audit, Store};

use crate::output::{print_json, row};
use crate::select::Filters;

#[derive(Clone, Copy, ValueEnum)]
pub enum PerArg {
    Account,
    Family,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum LayoutArg {
    Letter,
    Slips,
    List,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum PaperArg {
    A4,
    Letter,
}

/// Print welcome letters, credential slips or class lists as one PDF.
/// Accounts never handed out (NEW) get a fresh password or activation code
/// on their letter; the PDF is saved before any account changes.
#[derive(Args)]
pub struct LettersArgs {
    #[command(subcommand)]
    command: Option<LettersCommand>,
    /// The PDF to write (a new file).
    #[arg(long, value_name = "FILE.pdf")]
    out: Option<PathBuf>,
    /// A template by name (`keyroll letters templates list`) or a template
    /// file; default: the built-in one for each kind of account.
    #[arg(long, value_name = "NAME|FILE")]
    template: Option<String>,
    /// One letter per account, or one per parent for the chosen students'
    /// families (listing all and only their own children).
    #[arg(long, value_enum, default_value = "account")]
    per: PerArg,
    #[arg(long, value_enum, default_value = "letter")]
    layout: LayoutArg,
    /// Default: the letter settings', or your locale's.
    #[arg(long, value_enum)]
    paper: Option<PaperArg>,
    #[command(flatten)]
    run: Run,
}

/// Who, and whether to write: the same for letters and exports.
#[derive(Args)]
struct Run {
    /// Also give accounts already handed out a new password (the old one
    /// stops working).
    #[arg(long)]
    new_passwords: bool,
    #[command(flatten)]
    filters: Filters,
    /// Every account (needed when no filter or --id is given).
    #[arg(long)]
    all: bool,
    /// Show who would get what, and write nothing.
    #[arg(long)]
    dry_run: bool,
    #[arg(long)]
    json: bool,
}

// Parsed once per run: the size of its largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum LettersCommand {
    /// Letter templates: the built-in ones and the school's.
    Templates {
        #[command(subcommand)]
        command: TemplatesCommand,
    },
    /// What letters and exports print about the school.
    Settings(SettingsArgs),
    /// The merge fields a template can use.
    Fields,
}

#[derive(Subcommand)]
enum TemplatesCommand {
    List {
        #[arg(long)]
        json: bool,
    },
    Show {
        name: String,
    },
    /// Save a template as a file (to edit, or to use on another computer).
    Export {
        name: String,
        file: PathBuf,
    },
    /// Add (or replace) one of the school's templates from a file.
    Import {
        file: PathBuf,
    },
    Delete {
        name: String,
    },
}

#[derive(Args)]
struct SettingsArgs {
    #[arg(long)]
    school_name: Option<String>,
    /// The postal address (use \n between lines).
    #[arg(long)]
    address: Option<String>,
    /// Where accounts sign in (https://…).
    #[arg(long, value_name = "URL")]
    sign_in_url: Option<String>,
    /// Where activation codes are used (default: the sign-in address + /activate).
    #[arg(long, value_name = "URL")]
    activation_url: Option<String>,
    /// The school's logo (PNG, JPEG or SVG).
    #[arg(long, value_name = "FILE")]
    logo: Option<PathBuf>,
    #[arg(long, value_enum)]
    paper: Option<PaperArg>,
    #[arg(long, value_name = "DOMAIN")]
    google_domain: Option<String>,
    /// A group's Google org unit path, as GROUP=/PATH (repeat).
    #[arg(long, value_name = "GROUP=PATH")]
    org_unit: Vec<String>,
    #[arg(long, value_name = "DOMAIN")]
    entra_domain: Option<String>,
    /// The LDAP base DN (DC=school,DC=example).
    #[arg(long, value_name = "DN")]
    ldap_base: Option<String>,
    /// A group's OU, as GROUP=OU=... (repeat).
    #[arg(long, value_name = "GROUP=OU")]
    ldap_ou: Vec<String>,
    /// ad or openldap.
    #[arg(long)]
    directory: Option<String>,
    #[arg(long)]
    json: bool,
}

/// Export accounts for a word processor's mail merge, Google Workspace,
/// Microsoft Entra ID or an LDAP directory. Credentials as for letters.
#[derive(Args)]
pub struct ExportArgs {
    /// mail-merge, google, entra or ldif.
    format: String,
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Mail merge only: csv or xlsx.
    #[arg(long = "format", value_name = "csv|xlsx")]
    format_of_file: Option<String>,
    /// Mail merge only: one row per account or per family.
    #[arg(long, value_enum, default_value = "account")]
    per: PerArg,
    #[command(flatten)]
    run: Run,
}

pub(crate) fn choose(
    filters: Filters,
    all: bool,
    store: &Store,
) -> Result<keyroll_core::people::PeopleQuery> {
    anyhow::ensure!(
        all || !filters.is_empty(),
        "choose who: give filters (--kind, --new, --group, --school, --year, --home-group, \
         --class, --teacher, --search) or --id, or --all for everyone"
    );
    filters.query(store)
}

pub fn letters(store: &mut Store, a: LettersArgs) -> Result<ExitCode> {
    match a.command {
        Some(LettersCommand::Templates { command }) => return templates_cmd(store, command),
        Some(LettersCommand::Settings(s)) => return settings_cmd(store, s),
        Some(LettersCommand::Fields) => {
            for f in letters::fields::FIELDS {
                println!(
                    "{}",
                    row(&[(&format!("{{{{{}}}}}", f.name), 24), (f.label, 0)])
                );
            }
            println!(
                "{}",
                row(&[("{{sis.COLUMN}}", 24), ("any column of the SIS export", 0)])
            );
            return Ok(ExitCode::SUCCESS);
        }
        None => {}
    }
    let query = choose(a.run.filters, a.run.all, store)?;
    let template = a
        .template
        .as_deref()
        .map(|t| template_by_name_or_file(store, t))
        .transpose()?;
    let req = Request {
        query,
        per: match a.per {
            PerArg::Account => Per::Account,
            PerArg::Family => Per::Family,
        },
        layout: match a.layout {
            LayoutArg::Letter => Layout::Letter,
            LayoutArg::Slips => Layout::Slips,
            LayoutArg::List => Layout::List,
        },
        template,
        paper: a.paper.map(paper),
        new_passwords: a.run.new_passwords,
    };
    let renderer = letters::Renderer::new();
    if a.run.dry_run {
        let p = letters::preview(store, &renderer, &req)?;
        if a.run.json {
            print_json(&p)?;
        } else {
            print_preview(&p, true)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let out = a
        .out
        .context("give the PDF to write with --out FILE.pdf (or --dry-run to preview)")?;
    let mut last = std::time::Instant::now();
    let mut progress = |step: &str, done: usize, total: usize| {
        if !a.run.json && (last.elapsed().as_millis() > 500 || done == total) {
            eprint!("\r{step}: {done} of {total}   ");
            if done == total {
                eprintln!();
            }
            last = std::time::Instant::now();
        }
        true
    };
    let p = letters::print(
        store,
        &renderer,
        &audit::current_actor(),
        &req,
        &out,
        &mut progress,
    )?;
    if a.run.json {
        print_json(&serde_json::json!({ "file": out, "preview": p }))?;
    } else {
        print_preview(&p, false)?;
        for f in &p.files {
            println!("Saved {}.", f.display());
        }
        println!("{} pages in all.", p.pages);
    }
    Ok(ExitCode::SUCCESS)
}

fn paper(p: PaperArg) -> Paper {
    match p {
        PaperArg::A4 => Paper::A4,
        PaperArg::Letter => Paper::Letter,
    }
}

/// A template by name, or from a file when `t` is one.
fn template_by_name_or_file(store: &Store, t: &str) -> Result<letters::Template> {
    let path = std::path::Path::new(t);
    if path.is_file() {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{} could not be read", path.display()))?;
        return Ok(templates::from_file(path, &text)?);
    }
    Ok(templates::get(store, t)?)
}

fn print_preview(p: &Preview, dry_run: bool) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let verb = if dry_run { "would get" } else { "got" };
    writeln!(
        out,
        "{} {} ({} pages): {} {verb} a new password or code, {} handed out before {verb} a new \
         one, {} without a password.",
        p.letters,
        match p.layout {
            Layout::Letter => "letters",
            Layout::Slips => "slips",
            Layout::List => "class-list lines",
        },
        p.pages,
        p.issuing,
        p.replacing,
        p.unchanged
    )?;
    for w in &p.warnings {
        writeln!(out, "Note: {w}")?;
    }
    for u in &p.unprintable {
        writeln!(
            out,
            "Cannot print {} ({}): {}",
            u.name,
            u.sis_id,
            u.characters.join(", ")
        )?;
    }
    left_out(&mut out, &p.skipped)?;
    if dry_run {
        for l in p.lines.iter().take(50) {
            writeln!(
                out,
                "{}",
                row(&[(&l.name, 28), (&l.username, 24), (l.credential, 0)])
            )?;
        }
        if p.lines.len() > 50 {
            writeln!(
                out,
                "… and {} more (--json lists everyone)",
                p.lines.len() - 50
            )?;
        }
    }
    Ok(())
}

fn templates_cmd(store: &mut Store, c: TemplatesCommand) -> Result<ExitCode> {
    match c {
        TemplatesCommand::List { json } => {
            let all = templates::list(store)?;
            if json {
                print_json(&all)?;
            } else {
                for t in all {
                    let origin = if t.builtin {
                        "built in"
                    } else {
                        "the school's"
                    };
                    println!(
                        "{}",
                        row(&[(&t.name, 32), (t.audience.as_str(), 8), (origin, 0)])
                    );
                }
            }
        }
        TemplatesCommand::Show { name } => {
            let t = templates::get(store, &name)?;
            print!("{}", t.text);
        }
        TemplatesCommand::Export { name, file } => {
            let t = templates::get(store, &name)?;
            anyhow::ensure!(
                !file.exists(),
                "{} already exists; choose a new file name",
                file.display()
            );
            std::fs::write(&file, templates::to_file(&t))
                .with_context(|| format!("{} could not be written", file.display()))?;
            println!("Saved {:?} to {}.", t.name, file.display());
        }
        TemplatesCommand::Import { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("{} could not be read", file.display()))?;
            let t = templates::from_file(&file, &text)?;
            let t = templates::save(store, &audit::current_actor(), &t.name, t.audience, &t.text)?;
            println!(
                "Saved the template {:?} (for {}).",
                t.name,
                t.audience.as_str()
            );
        }
        TemplatesCommand::Delete { name } => {
            templates::delete(store, &audit::current_actor(), &name)?;
            println!("Deleted the template {name:?}.");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn pairs(items: &[String], what: &str) -> Result<Vec<(String, String)>> {
    items
        .iter()
        .map(|i| {
            i.split_once('=')
                .map(|(g, v)| (g.trim().to_owned(), v.trim().to_owned()))
                .with_context(|| format!("--{what} {i}: write it as GROUP=VALUE"))
        })
        .collect()
}

fn settings_cmd(store: &mut Store, a: SettingsArgs) -> Result<ExitCode> {
    use keyroll_core::letters::settings;
    let mut s = settings::load(store.conn())?;
    let before = s.clone();
    let set = |field: &mut String, v: Option<String>| {
        if let Some(v) = v {
            *field = v;
        }
    };
    set(&mut s.school_name, a.school_name);
    set(
        &mut s.school_address,
        a.address.map(|v| v.replace("\\n", "\n")),
    );
    set(&mut s.sign_in_url, a.sign_in_url);
    set(&mut s.activation_url, a.activation_url);
    set(&mut s.google_domain, a.google_domain);
    set(&mut s.entra_domain, a.entra_domain);
    set(&mut s.ldap_base, a.ldap_base);
    if let Some(p) = a.paper {
        s.paper = Some(paper(p));
    }
    if let Some(f) = &a.logo {
        s.set_logo(f)?;
    }
    if let Some(d) = a.directory {
        s.directory = match d.as_str() {
            "ad" | "active-directory" => Directory::Ad,
            "openldap" | "ldap" => Directory::Openldap,
            other => anyhow::bail!("--directory {other}: use ad or openldap"),
        };
    }
    s.org_units.extend(pairs(&a.org_unit, "org-unit")?);
    s.ldap_ous.extend(pairs(&a.ldap_ou, "ldap-ou")?);
    if s != before {
        let actor = audit::current_actor();
        store.write(&actor, |w| settings::save(w, &s))?;
    }
    let mut shown = s.clone();
    shown.logo = if s.logo.is_empty() {
        String::new()
    } else {
        format!("({} image)", s.logo_format)
    };
    if a.json {
        print_json(&shown)?;
    } else {
        let text = serde_json::to_string_pretty(&shown)?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "{text}")?;
    }
    Ok(ExitCode::SUCCESS)
}

pub fn export_cmd(store: &mut Store, a: ExportArgs) -> Result<ExitCode> {
    let format = Format::parse(&a.format)
        .with_context(|| format!("{}: export mail-merge, google, entra or ldif", a.format))?;
    let xlsx = match a.format_of_file.as_deref() {
        Some("xlsx") => true,
        Some("csv") | None => false,
        Some(other) => anyhow::bail!("--format {other}: use csv or xlsx"),
    };
    anyhow::ensure!(
        !xlsx || format == Format::MailMerge,
        "--format xlsx is for mail merges; {} has its own file format",
        format.as_str()
    );
    let req = ExportRequest {
        query: choose(a.run.filters, a.run.all, store)?,
        format,
        per: match a.per {
            PerArg::Account => Per::Account,
            PerArg::Family => Per::Family,
        },
        xlsx,
        new_passwords: a.run.new_passwords,
    };
    let outcome = if a.run.dry_run {
        export::preview(store, &req)?
    } else {
        let out = a
            .out
            .context("give the file to write with --out FILE (or --dry-run to preview)")?;
        let o = export::export(store, &audit::current_actor(), &req, &out, &mut |_, _| true)?;
        if !a.run.json {
            println!("Saved {}.", out.display());
        }
        o
    };
    if a.run.json {
        print_json(&outcome)?;
    } else {
        print_export(&outcome)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_export(o: &ExportOutcome) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let verb = if o.dry_run { "would get" } else { "got" };
    writeln!(
        out,
        "{} rows: {} {verb} a new password or code, {} handed out before {verb} a new one.",
        o.rows, o.issuing, o.replacing
    )?;
    for w in &o.warnings {
        writeln!(out, "Note: {w}")?;
    }
    left_out(&mut out, &o.skipped)
}

/// Everyone chosen who gets no letter or row, and why.
pub(crate) fn left_out(out: &mut impl Write, skipped: &[letters::Skipped]) -> Result<()> {
    for s in skipped {
        writeln!(
            out,
            "Left out {} ({} {}): {}",
            s.name,
            s.kind.as_str(),
            s.sis_id,
            s.reason
        )?;
    }
    Ok(())
}
