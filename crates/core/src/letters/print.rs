//! A letter run: who gets what (the preview), the live sample of the first
//! pages, and printing to a PDF with fresh credentials, all or nothing.

use serde::Serialize;
use typst::foundations::{Array, Dict, IntoValue, Value};

use super::fields::FIELDS;
use super::issue::{issue_and_deliver, issues, Cred, Delivery, Handing, Tally};
use super::parts::{lay_out, part_paths, BATCH, PART_BATCHES};
use super::recipients::{recipients, Per, Recipient, Skipped};
use super::render::{self, Renderer};
use super::settings::{self, LetterSettings, Paper};
use super::templates::{self, Audience, Template};
use crate::accounts::policy::Credential;
use crate::error::{Error, Result};
use crate::output::{self, FileKind};
use crate::people::{Kind, PeopleQuery};
use crate::store::Store;

/// What the pages are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// A letter per recipient, from a template.
    #[default]
    Letter,
    /// Credential slips, eight a page, with cut lines.
    Slips,
    /// A class list for the teacher, one class a page.
    List,
}

impl Layout {
    pub fn parse(s: &str) -> Option<Layout> {
        Some(match s {
            "letter" | "letters" => Layout::Letter,
            "slips" | "slip" => Layout::Slips,
            "list" | "class-list" => Layout::List,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Layout::Letter => "letter",
            Layout::Slips => "slips",
            Layout::List => "list",
        }
    }
}

/// A letter run, as the office chose it.
#[derive(Clone, Debug, Default)]
pub struct Request {
    pub query: PeopleQuery,
    pub per: Per,
    pub layout: Layout,
    /// None: each letter by its audience's built-in template.
    pub template: Option<Template>,
    /// None: the settings' (or the OS locale's).
    pub paper: Option<Paper>,
    /// Give accounts already handed out a new password too.
    pub new_passwords: bool,
}

/// Someone whose name no font on this computer can print.
#[derive(Clone, Debug, Serialize)]
pub struct Unprintable {
    pub sis_id: String,
    pub name: String,
    /// The characters, as `U+1E4D0 𞓐`.
    pub characters: Vec<String>,
}

/// One line of the preview.
#[derive(Clone, Debug, Serialize)]
pub struct PreviewLine {
    pub sis_id: String,
    pub name: String,
    pub kind: Kind,
    pub username: String,
    /// "new initial password", "new activation code", "unchanged".
    pub credential: &'static str,
}

/// What a run will do (or did).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Preview {
    pub layout: Layout,
    pub letters: usize,
    /// Pages in all (for letters, from the first letter's length).
    pub pages: usize,
    /// Accounts never handed out, which get a fresh password or code.
    pub issuing: usize,
    /// Accounts handed out before that get a new one (`--new-passwords`):
    /// their old password stops working.
    pub replacing: usize,
    /// Accounts handed out before whose letter carries no password.
    pub unchanged: usize,
    pub paper: Option<Paper>,
    pub lines: Vec<PreviewLine>,
    pub skipped: Vec<Skipped>,
    pub unprintable: Vec<Unprintable>,
    /// What the office should know first ("no sign-in address is set").
    pub warnings: Vec<String>,
    /// The PDFs written (one, or numbered parts of a long run).
    pub files: Vec<std::path::PathBuf>,
}

/// What a letter PDF is, for [`output::check`]: it may hold the only copy
/// of new passwords, so it never replaces a file.
pub const LETTERS: FileKind = FileKind {
    name: "letters",
    header: "%PDF-1.7",
    replaces: false,
};

/// A run's recipients, settings and preview, before any secret exists.
struct Plan {
    settings: LetterSettings,
    recipients: Vec<Recipient>,
    preview: Preview,
}

fn plan(store: &Store, renderer: &Renderer, req: &Request) -> Result<Plan> {
    let conn = store.conn();
    crate::people::check_filters(conn, &req.query)?;
    let settings = settings::load(conn)?;
    let per = if req.layout == Layout::Letter {
        req.per
    } else {
        Per::Account
    };
    let found = recipients(conn, &req.query, per)?;
    let mut preview = Preview {
        layout: req.layout,
        skipped: found.skipped,
        paper: Some(req.paper.unwrap_or_else(|| settings.paper())),
        ..Default::default()
    };
    let mut kept = Vec::with_capacity(found.recipients.len());
    let coverage = renderer.coverage()?;
    for r in found.recipients {
        if let Some(t) = &req.template {
            if t.audience != Audience::of(r.kind) {
                preview.skipped.push(Skipped {
                    sis_id: r.sis_id.clone(),
                    name: r.name(),
                    kind: r.kind,
                    reason: format!(
                        "the template {:?} is for {} accounts",
                        t.name,
                        t.audience.as_str()
                    ),
                });
                continue;
            }
        }
        let mut missing: Vec<char> = Vec::new();
        for name in r.printed_names() {
            for c in coverage.uncovered(name) {
                if !missing.contains(&c) {
                    missing.push(c);
                }
            }
        }
        if !missing.is_empty() {
            preview.unprintable.push(Unprintable {
                sis_id: r.sis_id.clone(),
                name: r.name(),
                characters: missing
                    .iter()
                    .map(|c| format!("U+{:04X} {c}", *c as u32))
                    .collect(),
            });
            continue;
        }
        kept.push(r);
    }
    if req.layout == Layout::List {
        kept.retain(|r| r.kind == Kind::Student);
        for r in &mut kept {
            r.list_group = list_group(r, &req.query);
        }
        // One class a page: recipients grouped, in list order within each.
        kept.sort_by(|a, b| a.list_group.cmp(&b.list_group));
    }
    for r in &kept {
        let issue = issues(r, req.new_passwords);
        preview.lines.push(PreviewLine {
            sis_id: r.sis_id.clone(),
            name: r.name(),
            kind: r.kind,
            username: r.username.clone(),
            credential: match (issue, r.credential) {
                (false, _) => "unchanged",
                (true, Credential::InitialPassword) => "new initial password",
                (true, Credential::Activation) => "new activation code",
            },
        });
    }
    preview.letters = kept.len();
    if settings.sign_in_url.is_empty() {
        preview.warnings.push(
            "No sign-in address is set, so letters cannot say where to sign in and carry no QR \
             code: set it under “The school's details on letters” on the Letters screen (or `keyroll letters \
             settings --sign-in-url URL`)"
                .into(),
        );
    }
    let tally = Tally::of(&kept, req.new_passwords);
    (preview.issuing, preview.replacing, preview.unchanged) =
        (tally.issuing, tally.replacing, tally.unchanged);
    preview.warnings.extend(tally.warning());
    if !preview.unprintable.is_empty() {
        preview.warnings.push(format!(
            "{} people have characters in their names that no font on this computer can print; \
             their letters are left out: install a font for their script, then print theirs",
            preview.unprintable.len()
        ));
    }
    Ok(Plan {
        settings,
        recipients: kept,
        preview,
    })
}

/// What a run would do: writes nothing, makes no secret.
pub fn preview(store: &Store, renderer: &Renderer, req: &Request) -> Result<Preview> {
    let mut p = plan(store, renderer, req)?;
    p.preview.pages = count_pages(renderer, &p, req)?;
    Ok(p.preview)
}

/// The first `pages` pages of a run as SVG, with example secrets (none is
/// made for a preview): what the live preview shows at every keystroke, so
/// only the first people chosen are read ([`preview`] counts them all).
pub fn sample(
    store: &Store,
    renderer: &Renderer,
    req: &Request,
    pages: usize,
) -> Result<Vec<String>> {
    let take = match req.layout {
        Layout::Letter => pages.max(1),
        Layout::Slips => 8 * pages.max(1),
        Layout::List => 40 * pages.max(1),
    };
    // Enough of the chosen for `take` letters, even when some are left
    // out (no account, a family without a parent account…).
    let mut head_req = req.clone();
    head_req.query.offset = 0;
    head_req.query.limit = Some((take * 8).max(50) as u64);
    let p = plan(store, renderer, &head_req)?;
    let head: Vec<Recipient> = p.recipients.iter().take(take).cloned().collect();
    if head.is_empty() {
        return Ok(Vec::new());
    }
    let creds: Vec<Cred> = head.iter().map(|r| example(r, req.new_passwords)).collect();
    let inputs = Inputs::new(&p.settings, req, &crate::store::now())?;
    let batch = inputs.batch(&head, &creds, req)?;
    let laid = renderer.pages(batch)?;
    Ok(laid.iter().take(pages).map(Renderer::svg).collect())
}

/// Prints the run to `out` (a new PDF; a run of more than [`PART`]
/// letters writes numbered parts beside it): fresh secrets for those who
/// get one, every PDF written and synced, then the secrets' hashes and the
/// hand-out committed. `progress(step, done, total)` may cancel, which
/// changes nothing.
pub fn print(
    store: &mut Store,
    renderer: &Renderer,
    actor: &str,
    req: &Request,
    out: &std::path::Path,
    progress: &mut dyn FnMut(&str, usize, usize) -> bool,
) -> Result<Preview> {
    let database = store.path().to_owned();
    output::check(out, LETTERS, &database)?;
    let p = plan(store, renderer, req)?;
    if p.recipients.is_empty() {
        return Err(Error::Invalid(
            "nobody chosen gets a letter (see the preview for why); nothing was printed".into(),
        ));
    }
    let ranges = batch_ranges(&p.recipients, req.layout);
    let files = part_paths(out, ranges.len().div_ceil(PART_BATCHES));
    for f in &files {
        output::check(f, LETTERS, &database)?;
    }
    let mut preview = p.preview.clone();
    let delivery = Delivery {
        handing: Handing::Letter,
        what: req.layout.as_str(),
        file: out,
    };
    // Put in place only once every part is written; a failure, a panic or
    // a Cancel before then leaves none of them.
    let mut persisted: Vec<std::path::PathBuf> = Vec::new();
    let mut pages_done = 0;
    let progress = std::cell::RefCell::new(progress);
    let fresh: Vec<bool> = p
        .recipients
        .iter()
        .map(|r| issues(r, req.new_passwords))
        .collect();
    let result = issue_and_deliver(
        store,
        actor,
        &p.recipients,
        &fresh,
        &delivery,
        &mut |done, total| (progress.borrow_mut())("passwords", done, total),
        &mut |_, creds| {
            let inputs = Inputs::new(&p.settings, req, &crate::store::now())?;
            let total = p.recipients.len();
            let mut done = 0;
            let mut progress = progress.borrow_mut();
            let mut staged = Vec::with_capacity(files.len());
            for (part, file) in ranges.chunks(PART_BATCHES).zip(&files) {
                let job = |i: usize| {
                    let r = part[i].clone();
                    inputs.batch(&p.recipients[r.clone()], &creds[r], req)
                };
                let sizes: Vec<usize> = part.iter().map(|r| r.len()).collect();
                let pages = lay_out(renderer, &job, &sizes, &mut |n| {
                    done += n;
                    (*progress)("letters", done, total)
                })?;
                pages_done += pages.len();
                let title = match files.len() {
                    1 => inputs.title.clone(),
                    n => format!("{} (part {} of {n})", inputs.title, staged.len() + 1),
                };
                let pdf = renderer.pdf(pages, &title, &p.settings.school_name)?;
                staged.push(output::stage(file, LETTERS, &database, |w| {
                    w.write_all(&pdf).map_err(|e| Error::io(file, e))
                })?);
            }
            for s in staged {
                let path = s.path().to_owned();
                s.persist()?;
                persisted.push(path);
            }
            Ok(())
        },
    );
    if result.is_err() {
        // Their secrets were never set: they must not be handed out.
        for f in &persisted {
            let _ = std::fs::remove_file(f);
        }
    }
    result?;
    preview.pages = pages_done;
    preview.files = files;
    Ok(preview)
}

/// The run cut into batches; a class list's batch ends at a class's end.
fn batch_ranges(rs: &[Recipient], layout: Layout) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < rs.len() {
        let mut end = (start + BATCH).min(rs.len());
        if layout == Layout::List {
            // Recipients come grouped by class (see `list_group`).
            while end < rs.len() && rs[end].list_group == rs[end - 1].list_group {
                end += 1;
            }
        }
        out.push(start..end);
        start = end;
    }
    out
}

/// The page count: slips and lists from their rows; letters from the first
/// letter laid out (a template's length varies little between letters).
fn count_pages(renderer: &Renderer, p: &Plan, req: &Request) -> Result<usize> {
    let n = p.recipients.len();
    Ok(match req.layout {
        Layout::Slips => n.div_ceil(8),
        Layout::List => {
            let mut groups: Vec<(&str, usize)> = Vec::new();
            for r in &p.recipients {
                match groups.last_mut() {
                    Some((g, c)) if *g == r.list_group => *c += 1,
                    _ => groups.push((&r.list_group, 1)),
                }
            }
            groups
                .iter()
                .map(|(_, c)| c.div_ceil(ROWS_PER_LIST_PAGE))
                .sum()
        }
        Layout::Letter if n == 0 => 0,
        Layout::Letter => {
            // The first letter of each audience, laid out once.
            let inputs = Inputs::new(&p.settings, req, &crate::store::now())?;
            let mut per_kind: Vec<(Kind, usize)> = Vec::new();
            let mut total = 0;
            for r in &p.recipients {
                let pages = match per_kind.iter().find(|(k, _)| *k == r.kind) {
                    Some((_, pages)) => *pages,
                    None => {
                        let one = std::slice::from_ref(r);
                        let cred = [example(r, req.new_passwords)];
                        let pages = renderer.pages(inputs.batch(one, &cred, req)?)?.len();
                        per_kind.push((r.kind, pages));
                        pages
                    }
                };
                total += pages;
            }
            total
        }
    })
}

const ROWS_PER_LIST_PAGE: usize = 30;

/// What a preview shows in place of a secret not yet made.
fn example(r: &Recipient, new_passwords: bool) -> Cred {
    match (issues(r, new_passwords), r.credential) {
        (false, _) => Cred::Unchanged,
        (true, Credential::InitialPassword) => Cred::Password("Example-Pa55".to_owned().into()),
        (true, Credential::Activation) => Cred::Code(
            "EXAMPLE-CODE-SHOWN-WHEN-PRINTED".to_owned().into(),
            Some(crate::accounts::lifecycle::days_before(
                &crate::store::now(),
                -14,
            )),
        ),
    }
}

/// A date as letters print it: "1 December 2026".
pub fn long_date(rfc3339: &str) -> String {
    let format = time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::parse(rfc3339, &format)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[day padding:none] [month repr:long] [year]"
            ))
            .ok()
        })
        .unwrap_or_default()
}

/// What every batch of a run shares.
struct Inputs<'a> {
    settings: &'a LetterSettings,
    title: String,
    today: String,
    shared: Dict,
}

impl<'a> Inputs<'a> {
    fn new(settings: &'a LetterSettings, req: &Request, now: &str) -> Result<Inputs<'a>> {
        let today = long_date(now);
        let title = match req.layout {
            Layout::Letter => format!("Welcome letters – {} – {today}", settings.school_name),
            Layout::Slips => format!("Sign-in slips – {} – {today}", settings.school_name),
            Layout::List => format!("Class lists – {} – {today}", settings.school_name),
        };
        let mut school = Dict::new();
        school.insert("name".into(), settings.school_name.as_str().into_value());
        school.insert(
            "address".into(),
            settings.school_address.as_str().into_value(),
        );
        school.insert(
            "logo".into(),
            match settings.logo_bytes() {
                Some(b) => typst::foundations::Bytes::new(b).into_value(),
                None => Value::None,
            },
        );
        school.insert(
            "logo_format".into(),
            settings.logo_format.as_str().into_value(),
        );
        let mut templates = Dict::new();
        for audience in [Audience::Student, Audience::Staff, Audience::Parent] {
            let t = match &req.template {
                Some(t) if t.audience == audience => t.clone(),
                _ => templates::default_for(audience),
            };
            let blocks = serde_json::to_value(&t.body.blocks).expect("blocks serialise");
            templates.insert(audience.as_str().into(), render::value(&blocks));
        }
        let mut shared = Dict::new();
        shared.insert("title".into(), title.as_str().into_value());
        shared.insert("today".into(), today.as_str().into_value());
        shared.insert(
            "paper".into(),
            req.paper
                .unwrap_or_else(|| settings.paper())
                .typst()
                .into_value(),
        );
        shared.insert("layout".into(), req.layout.as_str().into_value());
        shared.insert("school".into(), Value::Dict(school));
        shared.insert("templates".into(), Value::Dict(templates));
        let mono: Array = FIELDS
            .iter()
            .filter(|f| f.mono)
            .map(|f| f.name.into_value())
            .collect();
        shared.insert("mono".into(), Value::Array(mono));
        Ok(Inputs {
            settings,
            title,
            today,
            shared,
        })
    }

    /// One batch's `sys.inputs`.
    fn batch(&self, rs: &[Recipient], cs: &[Cred], req: &Request) -> Result<Dict> {
        let mut d = self.shared.clone();
        let letters: Vec<Value> = rs
            .iter()
            .zip(cs)
            .map(|(r, c)| self.letter(r, c))
            .collect::<Result<_>>()?;
        if req.layout == Layout::List {
            d.insert("classes".into(), Value::Array(class_pages(rs, letters)));
            d.insert("letters".into(), Value::Array(Array::new()));
        } else {
            d.insert(
                "letters".into(),
                Value::Array(letters.into_iter().collect()),
            );
        }
        Ok(d)
    }

    fn letter(&self, r: &Recipient, c: &Cred) -> Result<Value> {
        let s = self.settings;
        let (kind, secret, expires) = c.parts();
        let expires = expires.map(long_date).unwrap_or_default();
        let link = match c {
            Cred::Code(code, _) => activation_link(s, code),
            _ => String::new(),
        };
        let fields = merge_fields(r, s, secret, kind, &link, &expires, &self.today);
        let qr_target = if !link.is_empty() {
            link.clone()
        } else {
            s.sign_in_url.clone()
        };
        let mut d = Dict::new();
        d.insert(
            "template".into(),
            Audience::of(r.kind).as_str().into_value(),
        );
        d.insert("name".into(), r.name().into_value());
        let mut f = Dict::new();
        for (k, v) in &fields {
            f.insert(k.as_str().into(), v.as_str().into_value());
        }
        d.insert("fields".into(), Value::Dict(f));
        let children: Array = r
            .children
            .iter()
            .map(|c| {
                let mut cd = Dict::new();
                cd.insert("name".into(), c.name.as_str().into_value());
                cd.insert("username".into(), c.username.as_str().into_value());
                cd.insert("year".into(), c.year.as_str().into_value());
                Value::Dict(cd)
            })
            .collect();
        d.insert("children".into(), Value::Array(children));
        if qr_target.is_empty() {
            d.insert("qr".into(), Value::None);
        } else {
            d.insert("qr".into(), render::qr_svg(&qr_target)?.into_value());
        }
        d.insert(
            "qr_alt".into(),
            if link.is_empty() {
                format!("QR code: the sign-in address {qr_target}")
            } else {
                format!("QR code: the activation link for {}", r.username)
            }
            .into_value(),
        );
        let mut cred = Dict::new();
        cred.insert("kind".into(), kind.into_value());
        cred.insert("username".into(), r.username.as_str().into_value());
        cred.insert("secret".into(), secret.into_value());
        cred.insert("link".into(), link.as_str().into_value());
        cred.insert("expires".into(), expires.as_str().into_value());
        cred.insert("sign_in".into(), s.sign_in_url.as_str().into_value());
        cred.insert(
            "note".into(),
            "unchanged: use the one you were given, or ask the office for a new one".into_value(),
        );
        d.insert("cred".into(), Value::Dict(cred));
        Ok(Value::Dict(d))
    }
}

/// The activation link for a code: the settings' address with `?code=`.
pub fn activation_link(s: &LetterSettings, code: &str) -> String {
    let base = s.activation_base();
    if base.is_empty() {
        return String::new();
    }
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}code={code}")
}

/// Every merge field's value for one recipient (raw SIS fields as
/// `sis.<column>`), as letters and mail merges print them.
pub fn merge_fields(
    r: &Recipient,
    s: &LetterSettings,
    secret: &str,
    kind: &str,
    link: &str,
    expires: &str,
    today: &str,
) -> Vec<(String, String)> {
    let preferred = r.first_name();
    let classes: Vec<&str> = r.classes.iter().map(|c| c.title.as_str()).collect();
    let mut teachers: Vec<&str> = Vec::new();
    for c in &r.classes {
        for t in &c.teachers {
            if !teachers.contains(&t.as_str()) {
                teachers.push(t);
            }
        }
    }
    let children: Vec<&str> = r.children.iter().map(|c| c.name.as_str()).collect();
    let pairs: [(&str, String); 21] = [
        ("given_name", r.given_name.clone()),
        ("family_name", r.family_name.clone()),
        ("preferred_name", preferred.to_owned()),
        ("first_name", preferred.to_owned()),
        (
            "full_name",
            format!("{preferred} {}", r.family_name).trim().to_owned(),
        ),
        ("username", r.username.clone()),
        (
            "password",
            if kind == "password" {
                secret.into()
            } else {
                String::new()
            },
        ),
        (
            "activation_code",
            if kind == "code" {
                secret.into()
            } else {
                String::new()
            },
        ),
        ("activation_link", link.into()),
        ("expires", expires.into()),
        ("sign_in_url", s.sign_in_url.clone()),
        ("school_name", s.school_name.clone()),
        ("school_address", s.school_address.clone()),
        ("year", r.year.clone()),
        ("home_group", r.home_group.clone()),
        ("classes", classes.join(", ")),
        ("teachers", teachers.join(", ")),
        ("email", r.email.clone()),
        ("sis_id", r.sis_id.clone()),
        ("children", children.join(", ")),
        ("today", today.into()),
    ];
    let mut out: Vec<(String, String)> =
        pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    out.extend(
        r.raw
            .fields()
            .iter()
            .map(|(k, v)| (format!("sis.{k}"), v.clone())),
    );
    out
}

/// The class list a student is printed on: the class the run is for, or
/// their home group.
fn list_group(r: &Recipient, q: &PeopleQuery) -> String {
    let named = |c: &crate::people::PersonClass, id: &str| {
        c.sis_id == id || id.ends_with(&format!(":{}", c.sis_id))
    };
    if let Some(id) = &q.class {
        if let Some(c) = r.classes.iter().find(|c| named(c, id)) {
            return c.title.clone();
        }
    }
    if !r.home_group.is_empty() {
        r.home_group.clone()
    } else if !r.year.is_empty() {
        format!("Year {}", r.year)
    } else {
        String::new()
    }
}

/// A class list batch: its recipients (grouped by class) as pages.
fn class_pages(rs: &[Recipient], letters: Vec<Value>) -> Array {
    let mut out = Array::new();
    let mut i = 0;
    while i < rs.len() {
        let group = &rs[i].list_group;
        let mut rows = Array::new();
        let mut teachers: Vec<String> = Vec::new();
        while i < rs.len() && &rs[i].list_group == group {
            rows.push(letters[i].clone());
            for c in rs[i].classes.iter().filter(|c| {
                c.title.eq_ignore_ascii_case(group) || c.code.eq_ignore_ascii_case(group)
            }) {
                for t in &c.teachers {
                    if !teachers.contains(t) {
                        teachers.push(t.clone());
                    }
                }
            }
            i += 1;
        }
        let mut d = Dict::new();
        let title = if group.is_empty() {
            "No home group or year".to_owned()
        } else {
            group.clone()
        };
        d.insert("title".into(), title.into_value());
        d.insert("teachers".into(), teachers.join(", ").into_value());
        d.insert("rows".into(), Value::Array(rows));
        out.push(Value::Dict(d));
    }
    out
}
