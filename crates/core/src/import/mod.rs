//! SIS import: files in, people out. Each format (one module per format, as
//! atuin does for shell histories) reads its files and pushes the same
//! records into a [`Loader`]; [`run`] applies them to the database in one
//! transaction, so a file never half-imports.

mod apply;
pub mod cases21;
pub mod clever;
pub mod csvfile;
pub mod mapped;
pub mod oneroster;
pub mod rollback;
pub mod sds;
pub mod source;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Arc;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::people::{Kind, PersonRecord, PreparedPerson};
use crate::store::Store;

pub use apply::{Change, Counts, MAX_CHANGES};

/// A map keyed by SIS ids, with a fast hasher: an import looks up hundreds
/// of thousands of them.
pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// A rejected row or field: where it is and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RowError {
    pub file: String,
    /// 1-based line where the row starts (a quoted field may span lines).
    pub line: u64,
    /// 1-based column; 0 when the whole file or header is at fault.
    pub column: usize,
    /// The column's header name.
    pub field: String,
    pub reason: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.reason)
    }
}

/// Where a field is, cheaply: file and column names are shared, since an
/// import may hold hundreds of thousands of these until links are resolved.
#[derive(Clone, Debug)]
pub struct Spot {
    pub file: Arc<str>,
    pub line: u64,
    pub column: usize,
    pub field: Arc<str>,
}

impl Spot {
    pub fn error(&self, reason: String) -> RowError {
        RowError {
            file: self.file.to_string(),
            line: self.line,
            column: self.column,
            field: self.field.to_string(),
            reason,
        }
    }
}

/// A file's name and header, shared by everything read from it.
#[derive(Debug)]
pub struct FileHeader {
    pub name: String,
    pub headers: Vec<String>,
}

/// Where a link is stated: a row, and the columns naming each side. Kept
/// small (a thin pointer and three numbers): an import may hold hundreds of
/// thousands of links until every row is read.
#[derive(Clone, Debug)]
pub struct LinkAt {
    pub file: Arc<FileHeader>,
    pub line: u64,
    /// 0-based columns of the two sides.
    pub from_column: u32,
    pub to_column: u32,
}

impl LinkAt {
    fn error(&self, column: u32, reason: String) -> RowError {
        RowError {
            file: self.file.name.clone(),
            line: self.line,
            column: column as usize + 1,
            field: self
                .file
                .headers
                .get(column as usize)
                .cloned()
                .unwrap_or_default(),
            reason,
        }
    }

    /// An error about the side that states the link.
    pub fn from_error(&self, reason: String) -> RowError {
        self.error(self.from_column, reason)
    }

    /// An error about the side the link names.
    pub fn to_error(&self, reason: String) -> RowError {
        self.error(self.to_column, reason)
    }
}

/// A student–contact link as a file states it, resolved after all rows are read.
#[derive(Clone, Debug)]
pub struct LinkRecord {
    /// The person whose row names the link.
    pub from: String,
    /// The person named.
    pub to: String,
    /// Position of `to` in `from`'s list (0 = first named).
    pub rank: u32,
    /// Whether the contact has parental responsibility for this student,
    /// when the file says so per link; None: from the contact's role.
    pub responsible: Option<bool>,
    /// What the SIS says about the family this link belongs to, for formats
    /// that group contacts into families (CASES21).
    pub family: LinkFamily,
    /// The person named may not exist, and then there is no link (a CASES21
    /// change file naming a family it does not list, whose adult B is unknown).
    pub optional: bool,
    pub at: LinkAt,
}

/// A link's family: its code, whether it is the student's prime family, and
/// the family-level flags the office must respect.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkFamily {
    pub code: String,
    /// Not the student's prime (first) family.
    pub secondary: bool,
    /// AR: the student has an access restriction the office must check.
    pub access_restricted: bool,
    /// NR: this family does not receive academic reports.
    pub no_reports: bool,
    /// Whether this contact is a primary contact of the student, when the
    /// file says so; None: the first contact the student's row names.
    pub primary: Option<bool>,
}

/// A file an import read, as its preview shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileInfo {
    pub file: String,
    /// UTF-8, UTF-16 or Windows-1252, as detected.
    pub encoding: &'static str,
    /// comma, semicolon or tab; empty for a workbook.
    pub delimiter: &'static str,
    /// The worksheet read, for a workbook.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    #[serde(skip)]
    pub size: u64,
}

/// An organisation (district, school) from the SIS.
#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct OrgRecord {
    pub sis_id: String,
    pub name: String,
    pub org_type: String,
    pub parent_sis_id: String,
    pub status: String,
}

/// Whether a file replaces everything from its source or only what it lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// A full export: people missing from it have left.
    Bulk,
    /// A change file: only what it lists changes.
    Delta,
}

/// Where a format's records go, in file order. (The import runs the format on
/// a reading thread; the records travel to the writing thread as [`Record`]s.)
pub trait Loader {
    /// Records are kept apart per source system (their SIS ids are only unique there).
    fn begin(&mut self, source: &str, scope: Scope) -> Result<()>;
    fn org(&mut self, org: OrgRecord) -> Result<()>;
    fn person(&mut self, person: PersonRecord) -> Result<()>;
    fn link(&mut self, link: LinkRecord) -> Result<()>;
    /// The files state no student–contact links at all (not even an empty
    /// list), so stored links must be kept as they are.
    fn no_links(&mut self) -> Result<()>;
    /// A full export lists only these kinds of people: stored people of
    /// other kinds are left alone rather than treated as leavers.
    fn kinds(&mut self, kinds: &[Kind]) -> Result<()>;
    /// A row that cannot be imported; `sis_id` (if known) is protected from
    /// being treated as a leaver.
    fn reject(&mut self, error: RowError, sis_id: Option<&str>) -> Result<()>;
    /// A person whose row was rejected (reported already): not a leaver,
    /// and links to them are not reported as dangling.
    fn protect(&mut self, sis_id: &str) -> Result<()>;
    /// Whether an org id is known (from this import or an earlier one).
    fn has_org(&self, sis_id: &str) -> bool;
    /// Progress through the current file (bytes read of it); returns
    /// `Err(Cancelled)` if the user cancelled.
    fn progress(&mut self, done_bytes: u64) -> Result<()>;
    /// The current file is read through: later progress counts from its end.
    fn file_done(&mut self, file: FileInfo);
}

/// One SIS format.
pub trait Importer {
    /// The name used by `--format`.
    const NAME: &'static str;
    /// Whether these files look like this format.
    fn detect(files: &[Source]) -> bool;
    /// Bytes to read, for the progress bar.
    fn total_bytes(files: &[Source]) -> u64 {
        files.iter().map(Source::size).sum()
    }
    fn load(files: &[Source], loader: &mut dyn Loader) -> Result<()>;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    OneRoster,
    /// CASES21 eduHub (Victoria, Australia).
    Cases21,
    /// Microsoft School Data Sync v2.1 CSV.
    Sds,
    /// Clever SFTP CSV.
    Clever,
    /// Any CSV file or spreadsheet, read with a column mapping.
    Csv,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::OneRoster => oneroster::OneRoster::NAME,
            Format::Cases21 => cases21::Cases21::NAME,
            Format::Sds => sds::Sds::NAME,
            Format::Clever => clever::Clever::NAME,
            Format::Csv => mapped::NAME,
        }
    }

    /// The name people know the format by.
    pub fn title(self) -> &'static str {
        match self {
            Format::OneRoster => "OneRoster",
            Format::Cases21 => "CASES21 eduHub",
            Format::Sds => "School Data Sync v2.1",
            Format::Clever => "Clever",
            Format::Csv => "CSV or spreadsheet with a column mapping",
        }
    }

    /// The source system people from this format are stored under.
    pub fn source(self) -> &'static str {
        match self {
            Format::OneRoster => oneroster::SOURCE,
            Format::Cases21 => cases21::SOURCE,
            Format::Sds => sds::SOURCE,
            Format::Clever => clever::SOURCE,
            Format::Csv => mapped::SOURCE,
        }
    }

    pub fn parse(s: &str) -> Option<Format> {
        match s.to_ascii_lowercase().as_str() {
            "oneroster" => Some(Format::OneRoster),
            "cases21" => Some(Format::Cases21),
            "sds" => Some(Format::Sds),
            "clever" => Some(Format::Clever),
            "csv" | "excel" | "xlsx" | "mapped" => Some(Format::Csv),
            _ => None,
        }
    }
}

/// What to do about rejected rows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// Import nothing if any row is rejected (the default).
    #[default]
    Stop,
    /// Import the valid rows and list the rest.
    SkipInvalid,
}

#[derive(Clone, Debug, Default)]
pub struct Options {
    /// None: detect from the files.
    pub format: Option<Format>,
    pub on_error: OnError,
    /// Compute what would change, then roll back.
    pub dry_run: bool,
    /// The counts a preview showed: if applying would change anything else
    /// (the files or the database changed since), nothing is applied.
    pub expect: Option<Counts>,
    /// How to read a plain CSV file or spreadsheet ([`Format::Csv`]). None:
    /// the saved mapping made for the file's header, if there is one.
    pub mapping: Option<mapped::Mapping>,
}

/// Progress of a running import.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Progress {
    pub stage: Stage,
    pub done_bytes: u64,
    pub total_bytes: u64,
}

/// What a running import is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Reading and checking the files.
    Reading,
    /// Every row is read: links, leavers and indexes are being saved.
    Saving,
}

/// The outcome of an import (applied, refused, or a dry run).
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// The import's id in `imports list` when it was applied and changed something.
    pub import_id: Option<i64>,
    pub applied: bool,
    /// Rows were rejected and the import was set to stop on any error, so
    /// nothing was (or, in a dry run, would be) imported.
    pub refused: bool,
    pub dry_run: bool,
    pub format: &'static str,
    /// The format's name as people know it ("CASES21 eduHub").
    pub format_title: &'static str,
    pub files: Vec<String>,
    /// The files read, with their detected encoding and delimiter.
    pub read: Vec<FileInfo>,
    #[serde(flatten)]
    pub counts: Counts,
    /// The people added, changed (field by field) and leaving, up to
    /// [`MAX_CHANGES`] of them.
    pub changes: Vec<Change>,
    pub errors: Vec<RowError>,
}

/// Whether a column holds a secret (a password, passcode or PIN) that must
/// never be stored, whatever the format: any word of its name (split at
/// case changes, digits and punctuation) that names one.
pub fn is_secret_column(header: &str) -> bool {
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut prev_lower = false;
    for c in header.chars() {
        let boundary = !c.is_alphabetic() || (c.is_uppercase() && prev_lower);
        if boundary && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        if c.is_alphabetic() {
            word.extend(c.to_lowercase());
        }
        prev_lower = c.is_lowercase();
    }
    words.push(word);
    let joined: String = words.concat();
    words.iter().any(|w| {
        w.starts_with("passw")
            || w.starts_with("passc")
            || w.starts_with("passphrase")
            || matches!(
                w.as_str(),
                "pwd" | "pin" | "secret" | "passwort" | "kennwort" | "mdp"
            )
    }) || joined.contains("password")
}

pub use source::{expand, Source};

/// Birth dates by SIS id, as demographics.csv gives them.
pub(crate) type BirthDates = FastMap<String, String>;

/// Birth dates by user id from a demographics file (OneRoster's and SDS's
/// differ only in the name of the id column).
pub(crate) fn read_birth_dates(
    src: &Source,
    loader: &mut dyn Loader,
    id_column: &str,
) -> Result<BirthDates> {
    let mut f = csvfile::CsvFile::open(src)?;
    let c_id = f.require(&[id_column]).map_err(oneroster::fatal)?[0];
    let c_birth = f.column("birthDate");
    // Sized once, at about one row per 56 bytes (OneRoster's run 58).
    let mut out = BirthDates::with_capacity_and_hasher((f.size / 56) as usize, Default::default());
    let mut rec = csv::StringRecord::new();
    while f.next(&mut rec)? {
        loader.progress(f.bytes_read())?;
        if let Err(e) = f.check_width(&rec) {
            loader.reject(e, None)?;
            continue;
        }
        let id = oneroster::field(&rec, Some(c_id));
        let birth = oneroster::field(&rec, c_birth);
        if !birth.is_empty() && !oneroster::is_date(&birth) {
            let why = format!("\"{birth}\" is not a date (expected YYYY-MM-DD)");
            loader.reject(f.error(&rec, c_birth.unwrap_or(0), why), Some(&id))?;
            continue;
        }
        out.insert(id, birth);
    }
    loader.file_done(f.info());
    Ok(out)
}

/// The file in `files` with this name (case-insensitive).
pub(crate) fn find_file<'a>(files: &'a [Source], name: &str) -> Option<&'a Source> {
    source::find(files, name)
}

/// Which format these files are in.
pub fn detect(files: &[Source]) -> Result<Format> {
    // CASES21 names its files apart from everyone else.
    if cases21::Cases21::detect(files) {
        return Ok(Format::Cases21);
    }
    // SDS before OneRoster: it has roles.csv (as OneRoster 1.2 does) but no manifest.csv.
    if sds::Sds::detect(files) {
        return Ok(Format::Sds);
    }
    if oneroster::OneRoster::detect(files) {
        return Ok(Format::OneRoster);
    }
    if clever::Clever::detect(files) {
        return Ok(Format::Clever);
    }
    // Anything else that is one table per file is read with a column mapping.
    let tabular = |f: &Source| {
        let name = f.file_name().to_ascii_lowercase();
        csvfile::is_workbook(&name) || [".csv", ".tsv"].iter().any(|e| name.ends_with(e))
    };
    if !files.is_empty() && files.iter().all(tabular) && files.len() <= 4 {
        return Ok(Format::Csv);
    }
    let names: Vec<String> = files.iter().map(|f| f.file_name().to_owned()).collect();
    Err(Error::Import(format!(
        "These files match no SIS format Keyroll knows ({}). A OneRoster export has \
         manifest.csv, orgs.csv and users.csv; a School Data Sync export has orgs.csv, users.csv \
         and roles.csv; a Clever export has schools.csv and students.csv; a CASES21 export has \
         ST_<school>.csv, DF_<school>.csv and SF_<school>.csv; any other list needs a column \
         mapping (--format csv). Choose the folder that holds them.",
        if names.is_empty() {
            "no files".into()
        } else {
            names.join(", ")
        }
    )))
}

/// What a format produced, on its way from the reading thread to the writer.
// Nearly every record is a Person: boxing it would add an allocation per row.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Record {
    Begin(String, Scope),
    NoLinks,
    Kinds(Vec<Kind>),
    Org(OrgRecord),
    Person(PreparedPerson),
    /// A person of a re-import, prepared by the writer: see
    /// [`ChannelLoader::person`].
    Unprepared(PersonRecord),
    Link(LinkRecord),
    Reject(RowError, Option<String>),
    Protect(String),
    Progress(u64),
}

/// How many records travel together (one channel message each batch).
const BATCH: usize = 512;

/// The [`Loader`] a format sees: it batches records into a channel. Work that
/// needs no database (derived columns, JSON) is done here, on the reading thread.
struct ChannelLoader {
    tx: SyncSender<Vec<Record>>,
    batch: Vec<Record>,
    /// Orgs already stored for this format's source, plus those read so far.
    orgs: HashSet<String>,
    source: String,
    /// Bytes of the files read through before the current one.
    files_done: u64,
    /// The files read through.
    read: Vec<FileInfo>,
    /// Sources with people stored before this import.
    stored_sources: HashSet<String>,
    /// Whether the current source is one of them.
    reimport: bool,
    /// Batches sent and not yet taken by the writer.
    queued: Arc<std::sync::atomic::AtomicUsize>,
}

/// The channel's capacity, in batches.
const QUEUE: usize = 8;

impl ChannelLoader {
    fn push(&mut self, r: Record) -> Result<()> {
        self.batch.push(r);
        if self.batch.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        self.queued
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // The writer only hangs up when it stopped (an error or a cancel).
        self.tx.send(batch).map_err(|_| Error::Cancelled)
    }
}

impl Loader for ChannelLoader {
    fn begin(&mut self, source: &str, scope: Scope) -> Result<()> {
        source.clone_into(&mut self.source);
        self.reimport = self.stored_sources.contains(source);
        self.push(Record::Begin(source.to_owned(), scope))?;
        // At once, not with the next 512 records: the writer loads who is
        // stored while this thread reads the files that come before the
        // people (orgs, demographics), instead of holding it up later.
        self.flush()
    }

    fn org(&mut self, org: OrgRecord) -> Result<()> {
        self.orgs.insert(org.sis_id.clone());
        self.push(Record::Org(org))
    }

    fn person(&mut self, person: PersonRecord) -> Result<()> {
        // Preparing a row (its digest) goes to whichever thread has time. A
        // first import's writer is always the slower, so this thread
        // prepares everything. In a re-import the writer mostly compares
        // digests and this thread is usually the slower, so rows go
        // unprepared, except while the writer has batches waiting.
        let writer_behind = self.queued.load(std::sync::atomic::Ordering::Relaxed) >= QUEUE / 2;
        let record = match (self.reimport, writer_behind) {
            (true, false) => Record::Unprepared(person),
            (true, true) => Record::Person(PreparedPerson::new_lazy(person)),
            (false, _) => Record::Person(PreparedPerson::new(person)),
        };
        self.push(record)
    }

    fn link(&mut self, link: LinkRecord) -> Result<()> {
        self.push(Record::Link(link))
    }

    fn no_links(&mut self) -> Result<()> {
        self.push(Record::NoLinks)
    }

    fn kinds(&mut self, kinds: &[Kind]) -> Result<()> {
        self.push(Record::Kinds(kinds.to_vec()))
    }

    fn reject(&mut self, error: RowError, sis_id: Option<&str>) -> Result<()> {
        self.push(Record::Reject(error, sis_id.map(str::to_owned)))
    }

    fn protect(&mut self, sis_id: &str) -> Result<()> {
        self.push(Record::Protect(sis_id.to_owned()))
    }

    fn has_org(&self, sis_id: &str) -> bool {
        self.orgs.contains(sis_id)
    }

    fn progress(&mut self, done_bytes: u64) -> Result<()> {
        // A few progress records per batch are plenty.
        if self.batch.len().is_multiple_of(128) {
            self.push(Record::Progress(self.files_done + done_bytes))?;
        }
        Ok(())
    }

    fn file_done(&mut self, file: FileInfo) {
        self.files_done += file.size;
        self.read.push(file);
    }
}

/// Imports `paths` (files or folders) into `store` as `actor`.
///
/// The whole import is one transaction. With [`OnError::Stop`] any rejected
/// row leaves the database exactly as it was; a dry run always does.
/// `progress` returning false cancels (nothing is changed).
///
/// The format reads and checks the files on a second thread while this one
/// writes, so parsing and SQLite work overlap.
pub fn run(
    store: &mut Store,
    paths: &[PathBuf],
    opts: &Options,
    actor: &str,
    progress: &mut dyn FnMut(Progress) -> bool,
) -> Result<Summary> {
    let first_load = !opts.dry_run
        && store
            .conn()
            .query_row("SELECT NOT EXISTS (SELECT 1 FROM person)", [], |r| {
                r.get::<_, bool>(0)
            })?;
    if !first_load {
        return run_in(store, paths, opts, actor, progress);
    }
    // Every id a first load links it inserted itself, in its one transaction.
    store.with_foreign_keys_off(|store| {
        store.with_first_load(|store| run_in(store, paths, opts, actor, progress))
    })
}

fn run_in(
    store: &mut Store,
    paths: &[PathBuf],
    opts: &Options,
    actor: &str,
    progress: &mut dyn FnMut(Progress) -> bool,
) -> Result<Summary> {
    let files = expand(paths)?;
    let format = match opts.format {
        Some(f) => f,
        None => detect(&files)?,
    };
    let total_bytes = match format {
        Format::OneRoster => oneroster::OneRoster::total_bytes(&files),
        Format::Cases21 => cases21::Cases21::total_bytes(&files),
        Format::Sds => sds::Sds::total_bytes(&files),
        Format::Clever => clever::Clever::total_bytes(&files),
        Format::Csv => files.iter().map(Source::size).sum(),
    };
    let mapping = match format {
        Format::Csv => Some(mapping_for(store, &files, opts)?),
        _ => None,
    };
    let file_names: Vec<String> = files.iter().map(Source::describe).collect();
    let source = match &mapping {
        Some(m) => m.source_name(),
        None => format.source().to_owned(),
    };
    let known_orgs = apply::stored_orgs(store.conn(), &source)?;
    let stored_sources = stored_sources(store.conn())?;
    // With people stored, their links are read on a second connection while
    // the writer reads who is stored. (Not only for this format's source: a
    // CASES21 export's source is its school's.) Opened now, it starts reading
    // once this import holds the write lock.
    let reader = match stored_sources.is_empty() {
        true => None,
        false => store.reader().ok(),
    };
    let mut w = store.writer(actor)?;
    let links_loading = reader.and_then(apply::StoredLinks::start);
    let mut apply = apply::Apply::new(
        &mut w,
        format.name(),
        &file_names,
        total_bytes,
        links_loading,
        progress,
    )?;

    let (tx, rx) = sync_channel::<Vec<Record>>(QUEUE);
    let queued = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let taken = queued.clone();
    let mapping_ref = mapping.as_ref();
    let outcome = std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            let mut loader = ChannelLoader {
                tx,
                batch: Vec::with_capacity(BATCH),
                orgs: known_orgs,
                source: String::new(),
                files_done: 0,
                read: Vec::new(),
                stored_sources,
                reimport: false,
                queued,
            };
            let read = match format {
                Format::OneRoster => oneroster::OneRoster::load(&files, &mut loader),
                Format::Cases21 => cases21::Cases21::load(&files, &mut loader),
                Format::Sds => sds::Sds::load(&files, &mut loader),
                Format::Clever => clever::Clever::load(&files, &mut loader),
                Format::Csv => {
                    let m = mapping_ref.expect("resolved above");
                    mapped::load(&files, m, &mut loader)
                }
            };
            read.and_then(|()| loader.flush()).map(|()| loader.read)
        });
        let mut written: Result<()> = Ok(());
        'batches: for batch in rx.iter() {
            taken.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            for record in batch {
                if let Err(e) = apply.apply(record) {
                    written = Err(e);
                    break 'batches;
                }
            }
        }
        // Hanging up stops the reader if the writer stopped early.
        drop(rx);
        let read = reader.join().unwrap_or_else(|_| {
            Err(Error::Import(
                "internal error: the file reader crashed".into(),
            ))
        });
        // The writer's error is the cause; the reader's Cancelled only follows it.
        written.and(read)
    });
    let read = outcome?;
    let (import_id, counts, changes, errors) = apply.finish()?;
    // A Cancel pressed while links and leavers were worked out still counts.
    let done = Progress {
        stage: Stage::Saving,
        done_bytes: total_bytes,
        total_bytes,
    };
    if !progress(done) {
        return Err(Error::Cancelled); // dropping the writer rolls back
    }
    if let Some(expected) = &opts.expect {
        if *expected != counts {
            return Err(Error::Import(
                "The files or the database changed since the preview, so nothing was imported. \
                 Check the changes again before importing."
                    .into(),
            ));
        }
    }
    let refused = !errors.is_empty() && opts.on_error == OnError::Stop;
    let applied = !opts.dry_run && !refused && counts.changed();
    if applied {
        // The mapping that read the files is kept for the next time the
        // same header comes back.
        if let Some(m) = mapping.as_ref().filter(|m| !m.name.trim().is_empty()) {
            mapped::save(&w, m)?;
        }
        w.commit()?;
    } else {
        w.rollback()?;
    }
    Ok(Summary {
        import_id: applied.then_some(import_id),
        applied,
        refused,
        dry_run: opts.dry_run,
        format: format.name(),
        format_title: format.title(),
        files: file_names,
        read,
        counts,
        changes,
        errors,
    })
}

/// The sources people are stored from: each found by one seek of the
/// (source, SIS id) index, where DISTINCT read all of a large school's rows.
fn stored_sources(conn: &rusqlite::Connection) -> Result<HashSet<String>> {
    let mut sources = HashSet::new();
    let mut first = conn.prepare_cached("SELECT min(source) FROM person")?;
    let mut next = conn.prepare_cached("SELECT min(source) FROM person WHERE source > ?1")?;
    let mut source: Option<String> = first.query_row([], |r| r.get(0))?;
    while let Some(s) = source {
        source = next.query_row([&s], |r| r.get(0))?;
        sources.insert(s);
    }
    Ok(sources)
}

/// The mapping to read a plain CSV file or spreadsheet with: the one given,
/// or the one saved for the first file's header.
fn mapping_for(store: &Store, files: &[Source], opts: &Options) -> Result<mapped::Mapping> {
    let first = files
        .first()
        .ok_or_else(|| Error::Import("no files to import".into()))?;
    if let Some(m) = &opts.mapping {
        let mut m = m.clone();
        // Remembered with the header it was used on, to be offered again.
        if m.header.is_empty() {
            m.header = mapped::sample(first, m.sheet.as_deref(), 0)?.headers;
        }
        return Ok(m);
    }
    let sample = mapped::sample(first, None, 0)?;
    if let Some(m) = mapped::matching(store.conn(), &sample.headers)? {
        return Ok(m);
    }
    Err(Error::Import(format!(
        "{} is a plain list, so Keyroll needs to be told which column holds what. In the app, \
         choose the columns in the import's mapping step; on the command line, run \
         `keyroll mappings suggest {}` > mapping.json, check it, and import again with \
         --mapping mapping.json. Its header has: {}",
        sample.file,
        first.describe(),
        sample.headers.join(", ")
    )))
}

/// One applied import, as `imports list` shows it.
#[derive(Clone, Debug, Serialize)]
pub struct ImportRecord {
    pub id: i64,
    pub started_at: String,
    pub actor: String,
    pub format: String,
    pub files: serde_json::Value,
    pub counts: serde_json::Value,
    pub exceptions: serde_json::Value,
    /// When it was rolled back, if it was.
    pub rolled_back_at: Option<String>,
}

/// Applied imports, oldest first.
pub fn history(conn: &rusqlite::Connection) -> Result<Vec<ImportRecord>> {
    imports(conn, "ORDER BY id")
}

/// The latest applied import.
pub fn last(conn: &rusqlite::Connection) -> Result<Option<ImportRecord>> {
    Ok(imports(conn, "ORDER BY id DESC LIMIT 1")?.pop())
}

fn imports(conn: &rusqlite::Connection, order: &str) -> Result<Vec<ImportRecord>> {
    let mut st = conn.prepare(&format!(
        "SELECT id, started_at, actor, format, files, counts, exceptions, rolled_back_at
         FROM import {order}"
    ))?;
    let json = |s: String| serde_json::from_str(&s).unwrap_or(serde_json::Value::Null);
    let rows = st.query_map([], |r| {
        Ok(ImportRecord {
            id: r.get(0)?,
            started_at: r.get(1)?,
            actor: r.get(2)?,
            format: r.get(3)?,
            files: json(r.get(4)?),
            counts: json(r.get(5)?),
            exceptions: json(r.get(6)?),
            rolled_back_at: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Writes rejected rows as a CSV report (file, line, column, field, reason),
/// safe to open in a spreadsheet.
pub fn write_report(path: &Path, errors: &[RowError], database: &Path) -> Result<()> {
    use crate::text::spreadsheet_safe as safe;
    // Writing over the database (or its journal) would destroy it and drop
    // the locks of its open connections.
    let canonical = |p: &Path| {
        let dir = p
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::canonicalize(dir)
            .ok()
            .map(|d| d.join(p.file_name().unwrap_or_default()))
    };
    let target = canonical(path);
    let db = database.as_os_str().to_string_lossy().into_owned();
    for side in ["", "-wal", "-shm", "-journal"] {
        if target.is_some() && target == canonical(Path::new(&format!("{db}{side}"))) {
            return Err(Error::Import(format!(
                "{} is Keyroll's database; choose another file for the report",
                path.display()
            )));
        }
    }
    let mut w = csv::Writer::from_path(path)?;
    w.write_record(["file", "line", "column", "field", "reason"])?;
    for e in errors {
        w.write_record([
            safe(&e.file).as_ref(),
            &e.line.to_string(),
            &e.column.to_string(),
            safe(&e.field).as_ref(),
            safe(&e.reason).as_ref(),
        ])?;
    }
    w.flush().map_err(|e| Error::io(path, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keychain::DbKey;

    fn stored(store: &Store) -> (i64, i64, i64) {
        let n = |sql: &str| -> i64 { store.conn().query_row(sql, [], |r| r.get(0)).unwrap() };
        (
            n("SELECT count(*) FROM person"),
            n("SELECT count(*) FROM audit"),
            n("SELECT count(*) FROM import"),
        )
    }

    #[test]
    fn applying_refuses_when_the_preview_no_longer_holds() {
        let dir = tempfile::tempdir().unwrap();
        let school = dir.path().join("school");
        crate::demo::generate(&school, 200, 4).unwrap();
        let mut store = Store::open(&dir.path().join("k.db"), &DbKey::random().unwrap()).unwrap();
        let paths = [school.clone()];
        let dry = Options {
            dry_run: true,
            ..Default::default()
        };
        let preview = run(&mut store, &paths, &dry, "t", &mut |_| true).unwrap();

        // The export changes between the preview and the confirmation.
        let users = school.join("users.csv");
        let text = std::fs::read_to_string(&users).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        lines.truncate(lines.len() - 1);
        std::fs::write(&users, lines.join("\r\n") + "\r\n").unwrap();
        let confirm = Options {
            expect: Some(preview.counts.clone()),
            ..Default::default()
        };
        let stale = run(&mut store, &paths, &confirm, "t", &mut |_| true);
        assert!(
            matches!(&stale, Err(Error::Import(m)) if m.contains("changed since the preview")),
            "{stale:?}"
        );
        assert_eq!(stored(&store), (0, 0, 0));

        // Previewed again, the same confirmation goes through.
        let preview = run(&mut store, &paths, &dry, "t", &mut |_| true).unwrap();
        let confirm = Options {
            expect: Some(preview.counts.clone()),
            ..Default::default()
        };
        assert!(
            run(&mut store, &paths, &confirm, "t", &mut |_| true)
                .unwrap()
                .applied
        );
    }

    #[test]
    fn secret_columns_are_recognised() {
        for h in [
            "password",
            "Password",
            "user_password",
            "PWD",
            "pin",
            "web_password",
        ] {
            assert!(is_secret_column(h), "{h}");
        }
        for h in ["username", "email", "spinning", "pinned_note", "givenName"] {
            assert!(!is_secret_column(h), "{h}");
        }
    }

    #[test]
    fn cancel_while_reading_or_while_saving_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let school = dir.path().join("school");
        crate::demo::generate(&school, 2000, 3).unwrap();
        let mut store = Store::open(&dir.path().join("k.db"), &DbKey::random().unwrap()).unwrap();
        let paths = [school];

        // Cancelled at the first progress report, while the files are read.
        let mut cancelled_mid_read = None;
        let early = run(&mut store, &paths, &Options::default(), "t", &mut |p| {
            cancelled_mid_read.get_or_insert(p.done_bytes < p.total_bytes);
            false
        });
        assert!(matches!(early, Err(Error::Cancelled)), "{early:?}");
        assert_eq!(cancelled_mid_read, Some(true));
        assert_eq!(stored(&store), (0, 0, 0));

        // Cancelled once every row was read, while links and leavers are saved.
        let mut saving_seen = false;
        let late = run(&mut store, &paths, &Options::default(), "t", &mut |p| {
            saving_seen |= p.stage == Stage::Saving;
            p.stage == Stage::Reading
        });
        assert!(saving_seen);
        assert!(matches!(late, Err(Error::Cancelled)), "{late:?}");
        assert_eq!(stored(&store), (0, 0, 0));

        // Not cancelled: everything lands.
        let done = run(&mut store, &paths, &Options::default(), "t", &mut |_| true).unwrap();
        assert!(done.applied);
        let (people, audit, imports) = stored(&store);
        assert_eq!(people as u64, done.counts.new);
        assert!(audit > 0 && imports == 1);
        // The log names every person created, however it stores them.
        let created = crate::audit::list(store.conn(), None)
            .unwrap()
            .into_iter()
            .filter(|e| e.action == "person.create")
            .count();
        assert_eq!(created as i64, people);
    }
}
