//! `keyroll smtp …` (the school's SMTP server), `keyroll invite …` (queue
//! and send invitations, status, schedules) and `keyroll outbox …` (what is
//! waiting, failed or may have been sent; run, retry, cancel, dismiss).

use std::io::{Read, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use keyroll_core::invite::oauth::OAuth;
use keyroll_core::invite::outbox::{self, Event, Status, Which};
use keyroll_core::invite::schedule::{self, Every};
use keyroll_core::invite::smtp::{self, Auth, Security};
use keyroll_core::invite::{self, templates, InvitationTemplate, SendRequest};
use keyroll_core::{audit, Store};

use crate::letters::{choose, left_out};
use crate::output::{print_json, row};
use crate::select::Filters;

#[derive(Clone, Copy, ValueEnum)]
pub enum SecurityArg {
    None,
    Starttls,
    Tls,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum AuthArg {
    Plain,
    Login,
    Xoauth2,
}

/// The school's SMTP server, which sends invitations.
#[derive(Subcommand)]
pub enum SmtpCommand {
    /// Set the server up (the password or token goes to the OS keychain).
    Set(Box<SmtpSet>),
    Show {
        #[arg(long)]
        json: bool,
    },
    /// Send a test email; on failure, the server's own answer.
    Test {
        #[arg(long, value_name = "ADDR")]
        to: String,
    },
}

#[derive(Args)]
pub struct SmtpSet {
    #[arg(long)]
    host: String,
    #[arg(long)]
    port: Option<u16>,
    /// starttls (587), tls (465), or none (only to this computer).
    #[arg(long, value_enum, default_value = "starttls")]
    security: SecurityArg,
    /// The From address: office@school.example or "Office <office@…>".
    #[arg(long, value_name = "ADDR")]
    from: String,
    #[arg(long, value_name = "ADDR")]
    reply_to: Option<String>,
    /// The account to sign in as (none: the server needs no sign-in).
    #[arg(long)]
    user: Option<String>,
    #[arg(long, value_enum, default_value = "plain")]
    auth: AuthArg,
    /// Read the password (or XOAUTH2 token) from standard input. With
    /// --oauth: the refresh token, and on a second line the client secret
    /// (Google desktop apps have one).
    #[arg(long)]
    password_stdin: bool,
    /// XOAUTH2 with a refresh token from this provider: microsoft,
    /// microsoft:TENANT or google (access tokens are then got as needed).
    #[arg(long, value_name = "PROVIDER", requires = "oauth_client_id")]
    oauth: Option<String>,
    /// The app registration's client id, for --oauth.
    #[arg(long, value_name = "ID")]
    oauth_client_id: Option<String>,
    /// A token address other than the provider's (a test server, or
    /// another provider); the scope is then --oauth-scope's.
    #[arg(long, value_name = "URL", requires = "oauth_client_id")]
    oauth_token_url: Option<String>,
    #[arg(long, value_name = "SCOPES")]
    oauth_scope: Option<String>,
    /// Messages a minute at most, as "30/min" or "30" (Microsoft 365: 30).
    #[arg(long, value_name = "N/min")]
    rate: Option<String>,
    /// Connections kept open in parallel (1–16).
    #[arg(long)]
    connections: Option<u32>,
    /// Seconds before a deferred message is first tried again.
    #[arg(long, value_name = "SECS")]
    retry_after: Option<u32>,
}

/// The refresh-token settings from --oauth or --oauth-token-url.
fn oauth_settings(a: &SmtpSet) -> Result<Option<OAuth>> {
    let id = a.oauth_client_id.clone().unwrap_or_default();
    let mut o = match (&a.oauth, &a.oauth_token_url) {
        (None, None) => return Ok(None),
        (Some(p), _) => OAuth::preset(p, &id).with_context(|| {
            format!("--oauth {p:?}: the providers are microsoft, microsoft:TENANT and google")
        })?,
        (None, Some(_)) => OAuth {
            client_id: id,
            ..Default::default()
        },
    };
    if let Some(url) = &a.oauth_token_url {
        o.token_url = url.clone();
    }
    if let Some(scope) = &a.oauth_scope {
        o.scope = scope.clone();
    }
    anyhow::ensure!(
        matches!(a.auth, AuthArg::Xoauth2),
        "--oauth is for --auth xoauth2"
    );
    Ok(Some(o))
}

pub fn smtp_cmd(store: &mut Store, c: SmtpCommand) -> Result<ExitCode> {
    match c {
        SmtpCommand::Set(a) => {
            let security = match a.security {
                SecurityArg::None => Security::None,
                SecurityArg::Starttls => Security::Starttls,
                SecurityArg::Tls => Security::Tls,
            };
            let old = smtp::load(store.conn())?;
            let oauth = oauth_settings(&a)?;
            let s = smtp::SmtpSettings {
                host: a.host,
                port: a.port.unwrap_or(match security {
                    Security::Tls => 465,
                    Security::Starttls => 587,
                    Security::None => 25,
                }),
                security,
                user: a.user.unwrap_or_default(),
                auth: match a.auth {
                    AuthArg::Plain => Auth::Plain,
                    AuthArg::Login => Auth::Login,
                    AuthArg::Xoauth2 => Auth::Xoauth2,
                },
                from: a.from,
                reply_to: a.reply_to.unwrap_or_default(),
                rate_per_minute: a
                    .rate
                    .as_deref()
                    .map(parse_rate)
                    .transpose()?
                    .unwrap_or(old.rate_per_minute),
                connections: a.connections.unwrap_or(old.connections),
                retry_after_secs: a.retry_after.unwrap_or(old.retry_after_secs),
                oauth,
            };
            s.check()?;
            if a.password_stdin {
                anyhow::ensure!(!s.user.is_empty(), "--password-stdin needs --user");
                let mut secret = zeroize::Zeroizing::new(String::new());
                std::io::stdin().read_to_string(&mut secret)?;
                let secret = secret.trim_end_matches(['\r', '\n']);
                anyhow::ensure!(!secret.is_empty(), "no password came on standard input");
                s.save_secret(secret)?;
            }
            let w = store.writer(&audit::current_actor())?;
            smtp::save(&w, &s)?;
            w.commit()?;
            println!(
                "SMTP settings saved: {}:{} ({}).",
                s.host,
                s.port,
                s.security.as_str()
            );
            if !s.user.is_empty() && !a.password_stdin {
                println!(
                    "The password is the one kept before (give --password-stdin to change it)."
                );
            }
        }
        SmtpCommand::Show { json } => {
            let s = smtp::load(store.conn())?;
            if json {
                print_json(&s)?;
            } else if !s.is_set() {
                println!("No SMTP server is set up yet: `keyroll smtp set --host … --from …`.");
            } else {
                println!(
                    "Server:      {}:{} ({})",
                    s.host,
                    s.port,
                    s.security.as_str()
                );
                println!("From:        {}", s.from);
                if !s.reply_to.is_empty() {
                    println!("Reply-To:    {}", s.reply_to);
                }
                match (s.user.as_str(), &s.oauth) {
                    ("", _) => println!("Sign-in:     none"),
                    (u, Some(o)) => println!(
                        "Sign-in:     {u} (xoauth2; access tokens from {}, the refresh token \
                         in the OS keychain)",
                        o.token_url
                    ),
                    (u, None) => println!(
                        "Sign-in:     {u} ({}; the password is in the OS keychain)",
                        s.auth.as_str()
                    ),
                }
                match s.rate_per_minute {
                    0 => println!("Rate:        no limit, {} connections", s.connections),
                    n => println!("Rate:        {n} a minute, {} connections", s.connections),
                }
            }
        }
        SmtpCommand::Test { to } => println!("{}", invite::test_email(store, &to)?),
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_rate(s: &str) -> Result<u32> {
    let n = s.trim().trim_end_matches("/min").trim();
    n.parse()
        .with_context(|| format!("--rate {s}: give messages a minute, like 30/min (0: no limit)"))
}

/// Invitations by email: send (queue, then send what is due), status,
/// schedules, templates.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub enum InviteCommand {
    /// Queue an invitation (or message) for each chosen account with an
    /// email address, then send what is due (unless --at or --dry-run).
    Send(SendArgs),
    /// Each chosen account's invitation: not sent, waiting, sent, accepted.
    Status {
        #[command(flatten)]
        filters: Filters,
        #[arg(long)]
        json: bool,
    },
    /// Recurring invitations for accounts that become eligible.
    Schedule {
        #[command(subcommand)]
        command: ScheduleCommand,
    },
    /// Invitation templates: the built-in ones and the school's.
    Templates {
        #[command(subcommand)]
        command: TemplatesCommand,
    },
}

#[derive(Args)]
pub struct SendArgs {
    #[command(flatten)]
    filters: Filters,
    /// Every account (needed when no filter or --id is given).
    #[arg(long)]
    all: bool,
    /// A template by name (`keyroll invite templates list`) or file;
    /// default: each kind's own invitation.
    #[arg(long, value_name = "NAME|FILE")]
    template: Option<String>,
    /// Send at this time (RFC 3339, like 2027-01-15T08:00:00+11:00).
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
    /// Also invite again those invited this many days ago or more who have
    /// not accepted (with a new code; the old one stops working).
    #[arg(long, value_name = "DAYS")]
    resend_after: Option<u32>,
    /// Give accounts handed out before a new password or code.
    #[arg(long)]
    new_passwords: bool,
    #[arg(long)]
    dry_run: bool,
    #[arg(long)]
    json: bool,
}

// Parsed once per run: the size of its largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub enum ScheduleCommand {
    Add {
        #[arg(long, value_name = "day|week")]
        every: String,
        #[command(flatten)]
        filters: Filters,
        #[arg(long, value_name = "NAME")]
        template: Option<String>,
        #[arg(long, value_name = "DAYS")]
        resend_after: Option<u32>,
    },
    List {
        #[arg(long)]
        json: bool,
    },
    Remove {
        id: i64,
    },
}

#[derive(Subcommand)]
pub enum TemplatesCommand {
    List {
        #[arg(long)]
        json: bool,
    },
    Show {
        name: String,
    },
    Export {
        name: String,
        file: std::path::PathBuf,
    },
    Import {
        file: std::path::PathBuf,
    },
}

fn template_by_name_or_file(store: &Store, t: &str) -> Result<InvitationTemplate> {
    let path = Path::new(t);
    if path.is_file() {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {t}"))?;
        return Ok(templates::from_file(path, &text)?);
    }
    Ok(templates::get(store, t)?)
}

/// An RFC 3339 time, kept as the database keeps times (UTC).
fn parse_at(s: &str) -> Result<String> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .with_context(|| {
            format!(
                "--at {s}: give a date and time with its offset, like 2027-01-15T08:00:00+11:00"
            )
        })?;
    Ok(keyroll_core::store::format_time(t))
}

pub fn invite_cmd(store: &mut Store, c: InviteCommand) -> Result<ExitCode> {
    match c {
        InviteCommand::Send(a) => send(store, a),
        InviteCommand::Status { filters, json } => status(store, filters, json),
        InviteCommand::Schedule { command } => schedule_cmd(store, command),
        InviteCommand::Templates { command } => templates_cmd(store, command),
    }
}

fn send(store: &mut Store, a: SendArgs) -> Result<ExitCode> {
    let query = choose(a.filters, a.all, store)?;
    let req = SendRequest {
        query,
        template: a
            .template
            .as_deref()
            .map(|t| template_by_name_or_file(store, t))
            .transpose()?,
        at: a.at.as_deref().map(parse_at).transpose()?,
        resend_after_days: a.resend_after,
        new_passwords: a.new_passwords,
        schedule_id: None,
    };
    let plan = invite::plan(store, &req)?;
    if a.dry_run {
        if a.json {
            print_json(&plan)?;
        } else {
            print_plan(&plan)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    if plan.count == 0 && !a.json {
        // Say who was left out and why before refusing.
        print_plan(&plan)?;
    }
    let queued = invite::queue(store, &audit::current_actor(), &req, &mut |_, _| true)?;
    if !a.json {
        print_plan(&plan)?;
        println!("Queued {} emails.", queued.queued);
    }
    if req.at.is_some() {
        if a.json {
            print_json(&serde_json::json!({ "queued": queued }))?;
        } else {
            println!(
                "They go out at {} (while the app is open, or with `keyroll outbox run`).",
                queued.due_at
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let report = run_outbox(store, a.json)?;
    if a.json {
        print_json(&serde_json::json!({ "queued": queued, "run": report }))?;
    }
    Ok(if report.sending.unreachable.is_some() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn print_plan(p: &invite::Plan) -> Result<()> {
    let mut out = std::io::stdout().lock();
    for w in &p.warnings {
        writeln!(out, "Warning: {w}.")?;
    }
    writeln!(
        out,
        "{} emails: {} invitations, {} messages; {} new passwords or codes.",
        p.count, p.invitations, p.messages, p.issuing
    )?;
    left_out(&mut out, &p.skipped)
}

/// Runs the outbox with progress on stderr, then says what happened.
fn run_outbox(store: &mut Store, json: bool) -> Result<invite::OutboxRun> {
    let mut last = std::time::Instant::now();
    let mut progress = |p: &invite::Progress| {
        if !json && last.elapsed().as_millis() > 500 {
            eprint!(
                "\rSending: {} of {}   ",
                p.sent + p.failed + p.deferred,
                p.total
            );
            last = std::time::Instant::now();
        }
        true
    };
    let r = invite::run(store, &audit::current_actor(), &mut progress)?;
    if !json {
        for s in &r.schedules {
            match &s.error {
                None => println!("Schedule {}: queued {}.", s.id, s.queued),
                Some(e) => println!("Schedule {}: {e}", s.id),
            }
        }
        let s = &r.sending;
        if s.unsure > 0 {
            println!(
                "{} messages were being sent when Keyroll last stopped: they may have been sent. \
                 `keyroll outbox list --status unsure`, then retry or dismiss them.",
                s.unsure
            );
        }
        println!(
            "Sent {}, to be tried again {}, failed {}.",
            s.sent, s.deferred, s.failed
        );
        if s.failed > 0 {
            println!("`keyroll outbox list --status failed` shows the server's reasons.");
        }
        if let Some(why) = &s.unreachable {
            eprintln!(
                "keyroll: the SMTP server could not be used: {why} — {}",
                invite::advice(why)
            );
        }
    }
    Ok(r)
}

fn status(store: &Store, filters: Filters, json: bool) -> Result<ExitCode> {
    let query = filters.query(store)?;
    let chosen = keyroll_core::people::chosen(store.conn(), &query)?;
    let mut rows = Vec::new();
    let mut st = store.conn().prepare(
        "SELECT a.username, a.invitation, a.invited_at, p.email,
                (SELECT o.status FROM outbox o WHERE o.person_id = p.id ORDER BY o.id DESC LIMIT 1),
                (SELECT o.last_error FROM outbox o WHERE o.person_id = p.id ORDER BY o.id DESC LIMIT 1)
         FROM person p JOIN account a ON a.person_id = p.id WHERE p.id = ?1",
    )?;
    for c in chosen {
        let r = st.query_row([c.id], |r| {
            Ok(serde_json::json!({
                "sis_id": c.sis_id, "username": r.get::<_, String>(0)?,
                "invitation": r.get::<_, String>(1)?, "invited_at": r.get::<_, Option<String>>(2)?,
                "email": r.get::<_, String>(3)?, "outbox": r.get::<_, Option<String>>(4)?,
                "last_error": r.get::<_, Option<String>>(5)?,
            }))
        });
        match r {
            Ok(v) => rows.push(v),
            Err(rusqlite::Error::QueryReturnedNoRows) => {}
            Err(e) => return Err(e.into()),
        }
    }
    if json {
        print_json(&rows)?;
        return Ok(ExitCode::SUCCESS);
    }
    let s = |v: &serde_json::Value| v.as_str().unwrap_or("").to_owned();
    for r in &rows {
        println!(
            "{}",
            row(&[
                (&s(&r["username"]), 24),
                (&s(&r["invitation"]), 9),
                (&s(&r["outbox"]), 10),
                (&s(&r["email"]), 0)
            ])
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn schedule_cmd(store: &mut Store, c: ScheduleCommand) -> Result<ExitCode> {
    match c {
        ScheduleCommand::Add {
            every,
            filters,
            template,
            resend_after,
        } => {
            let Some(every) = Every::parse(&every) else {
                bail!("--every {every}: use day or week");
            };
            let query = filters.query(store)?;
            let id = schedule::add(
                store,
                &audit::current_actor(),
                every,
                &query,
                template.as_deref().unwrap_or(""),
                resend_after,
            )?;
            println!(
                "Schedule {id} added: every {}. It runs while the app is open, or with `keyroll \
                 outbox run` from the OS's scheduler.",
                every.as_str()
            );
        }
        ScheduleCommand::List { json } => {
            let all = schedule::list(store)?;
            if json {
                print_json(&all)?;
            }
            for s in all.iter().filter(|_| !json) {
                println!(
                    "{}",
                    row(&[
                        (&s.id.to_string(), 4),
                        (s.every.as_str(), 5),
                        (
                            if s.template.is_empty() {
                                "each kind's own"
                            } else {
                                &s.template
                            },
                            24
                        ),
                        (&format!("next {}", s.next_run_at), 0)
                    ])
                );
            }
        }
        ScheduleCommand::Remove { id } => {
            schedule::remove(store, &audit::current_actor(), id)?;
            println!("Schedule {id} removed.");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn templates_cmd(store: &mut Store, c: TemplatesCommand) -> Result<ExitCode> {
    match c {
        TemplatesCommand::List { json } => {
            let all = templates::list(store)?;
            if json {
                print_json(&all)?;
            }
            for t in all.iter().filter(|_| !json) {
                println!(
                    "{}",
                    row(&[
                        (&t.name, 28),
                        (t.audience.map(|a| a.as_str()).unwrap_or("any"), 8),
                        (
                            if t.invitation {
                                "invitation"
                            } else {
                                "message"
                            },
                            11
                        ),
                        (
                            if t.builtin {
                                "built in"
                            } else {
                                "the school's"
                            },
                            0
                        )
                    ])
                );
            }
        }
        TemplatesCommand::Show { name } => {
            print!("{}", templates::to_file(&templates::get(store, &name)?))
        }
        TemplatesCommand::Export { name, file } => {
            let t = templates::get(store, &name)?;
            std::fs::write(&file, templates::to_file(&t))
                .with_context(|| format!("writing {}", file.display()))?;
            println!("Saved {}.", file.display());
        }
        TemplatesCommand::Import { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let t = templates::from_file(&file, &text)?;
            templates::save(store, &audit::current_actor(), &t)?;
            println!("Saved the template {:?}.", t.name);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The outbox: what is waiting, sent, failed or may have been sent.
#[derive(Subcommand)]
pub enum OutboxCommand {
    List {
        /// queued, sending, sent, retry, failed, unsure (may have been
        /// sent), cancelled or dismissed.
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 1000)]
        limit: u64,
        #[arg(long)]
        json: bool,
    },
    /// Run due schedules, send what is due, and exit (for the OS scheduler).
    Run {
        #[arg(long)]
        json: bool,
    },
    /// Send again now: failed, retrying or may-have-been-sent messages (the
    /// same message, link and Message-ID).
    Retry(Pick),
    /// Never send these.
    Cancel(Pick),
    /// Leave messages that may have been sent as they are.
    Dismiss(Pick),
}

#[derive(Args)]
pub struct Pick {
    ids: Vec<i64>,
    #[arg(long)]
    all_failed: bool,
    /// Every message that may have been sent.
    #[arg(long)]
    all_unsure: bool,
}

impl Pick {
    fn which(self) -> Result<Which> {
        Ok(
            match (self.ids.is_empty(), self.all_failed, self.all_unsure) {
                (false, false, false) => Which::Ids(self.ids),
                (true, true, false) => Which::All(Status::Failed),
                (true, false, true) => Which::All(Status::Unsure),
                _ => bail!(
                    "give message ids (`keyroll outbox list`), or --all-failed, or --all-unsure"
                ),
            },
        )
    }
}

pub fn outbox_cmd(store: &mut Store, c: OutboxCommand) -> Result<ExitCode> {
    let (pick, event, done) = match c {
        OutboxCommand::List {
            status,
            limit,
            json,
        } => {
            let status = status
                .map(|s| Status::parse(&s).with_context(|| format!("--status {s}: use queued, sent, retry, failed, unsure, cancelled or dismissed")))
                .transpose()?;
            let list = outbox::list(store.conn(), status, limit)?;
            if json {
                print_json(&list)?;
            } else {
                for m in &list {
                    println!(
                        "{}",
                        row(&[
                            (&m.id.to_string(), 6),
                            (m.status_label, 18),
                            (&m.to, 32),
                            (m.last_error.as_deref().unwrap_or(&m.subject), 0)
                        ])
                    );
                }
                let c = outbox::counts(store.conn())?;
                println!(
                    "{} waiting ({} due now), {} sent, {} to be tried again, {} failed, {} may have been sent.",
                    c.queued, c.due, c.sent, c.retry, c.failed, c.unsure
                );
            }
            return Ok(ExitCode::SUCCESS);
        }
        OutboxCommand::Run { json } => {
            let r = run_outbox(store, json)?;
            if json {
                print_json(&r)?;
            }
            return Ok(if r.sending.unreachable.is_some() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            });
        }
        OutboxCommand::Retry(p) => (p, Event::Retry, "to be sent again"),
        OutboxCommand::Cancel(p) => (p, Event::Cancel, "cancelled"),
        OutboxCommand::Dismiss(p) => (p, Event::Dismiss, "dismissed"),
    };
    let which = pick.which()?;
    let w = store.writer(&audit::current_actor())?;
    let changed = outbox::act(&w, &which, event)?;
    w.commit()?;
    for r in &changed.refused {
        println!("Not changed: {r}.");
    }
    println!("{} messages {done}.", changed.changed);
    if event == Event::Retry && changed.changed > 0 {
        println!("They go out with the next `keyroll outbox run` (or now, while the app is open).");
    }
    Ok(ExitCode::SUCCESS)
}
