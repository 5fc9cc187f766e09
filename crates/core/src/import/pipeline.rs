//! An import's pipeline: the format reads and checks the files on a second
//! thread and sends batches of records over a bounded channel to this one,
//! which applies them ([`super::apply`]) inside one transaction. Parsing and
//! SQLite work overlap, and memory stays flat however large the files are.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Arc;

use serde::Serialize;

use super::apply::{self, Change, Counts};
use super::formats::{self, Format, ReadWith};
use super::mapping::Mapping;
use super::records::Record;
use super::source::{expand, Source};
use super::{
    ClassLists, ClassRecord, EnrollmentRecord, FileInfo, LinkRecord, Loader, OrgRecord, RowError,
    Scope,
};
use crate::error::{Error, Result};
use crate::people::{Kind, PersonRecord, PreparedPerson};
use crate::store::Store;

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
    pub format: Option<&'static dyn Format>,
    pub on_error: OnError,
    /// Compute what would change, then roll back.
    pub dry_run: bool,
    /// What a preview showed ([`Summary::preview`]): if the files changed
    /// since, or applying them would record other changes (the database
    /// changed since), nothing is applied.
    pub expect: Option<Preview>,
    /// How to read a plain CSV file or spreadsheet. None: the saved mapping
    /// made for the file's header, if there is one.
    pub mapping: Option<Mapping>,
}

/// What a preview (a dry run) showed, for applying exactly that: the files
/// as they were (each one's size and modification time) and a digest of
/// every change it would record ([`crate::store::Writer::changes_digest`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Preview {
    pub files: String,
    pub changes: String,
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
    /// Rows were rejected (or would be imported without a link or field
    /// they state) and the import was set to stop on any error, so nothing
    /// was (or, in a dry run, would be) imported.
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
    /// The rows rejected and those imported with a warning, each problem
    /// once (a row may have several), with its [`super::Outcome`].
    pub errors: Vec<RowError>,
    /// What to pass back ([`Options::expect`]) to apply exactly this (its
    /// `changes` is worked out only for a dry run or a confirmation).
    pub preview: Preview,
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

    fn lists_classes(&mut self, lists: ClassLists) -> Result<()> {
        self.push(Record::ListsClasses(lists))
    }

    fn keep_class(&mut self, sis_id: &str) -> Result<()> {
        self.push(Record::KeepClass(sis_id.to_owned()))
    }

    fn class(&mut self, class: ClassRecord) -> Result<()> {
        self.push(Record::Class(class))
    }

    fn enrollment(&mut self, enrollment: EnrollmentRecord) -> Result<()> {
        self.push(Record::Enrollment(enrollment))
    }

    fn kinds(&mut self, kinds: &[Kind]) -> Result<()> {
        self.push(Record::Kinds(kinds.to_vec()))
    }

    fn reject(&mut self, error: RowError, sis_id: Option<&str>) -> Result<()> {
        self.push(Record::Reject(error, sis_id.map(str::to_owned)))
    }

    fn warn(&mut self, error: RowError, sis_id: Option<&str>) -> Result<()> {
        self.push(Record::Warn(error, sis_id.map(str::to_owned)))
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
        None => formats::detect(&files)?,
    };
    let files_stamp = stamp(&files);
    if let Some(expected) = &opts.expect {
        if expected.files != files_stamp {
            return Err(Error::Invalid(
                "The files changed since the preview; preview again. Nothing was imported.".into(),
            ));
        }
    }
    let total_bytes = format.total_bytes(&files);
    let mapping = match format.needs_mapping() {
        true => Some(mapping_for(store, &files, opts)?),
        false => None,
    };
    let with = ReadWith {
        mapping: mapping.as_ref(),
    };
    let file_names: Vec<String> = files.iter().map(Source::describe).collect();
    let source = format.source(with);
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
    // A preview and its confirmation compare what they would record.
    if opts.dry_run || opts.expect.is_some() {
        w.track_changes();
    }
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
    let outcome = std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            let mut loader = ChannelLoader {
                tx,
                batch: Vec::with_capacity(BATCH),
                orgs: known_orgs,
                files_done: 0,
                read: Vec::new(),
                stored_sources,
                reimport: false,
                queued,
            };
            let read = format.load(&files, with, &mut loader);
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
            Err(Error::Invalid(
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
    let preview = Preview {
        files: files_stamp,
        changes: w.changes_digest().unwrap_or_default(),
    };
    if let Some(expected) = &opts.expect {
        if expected.changes != preview.changes {
            return Err(Error::Invalid(
                "The database changed since the preview (another import, or a change made \
                 elsewhere); preview again. Nothing was imported."
                    .into(),
            ));
        }
    }
    // A row imported only in part (a link dropped) stops it too; an org
    // without its parent does not.
    let refused = (counts.rejected + counts.people_warned) > 0 && opts.on_error == OnError::Stop;
    let applied = !opts.dry_run && !refused && counts.changed();
    if applied {
        // The mapping that read the files is kept for the next time the
        // same header comes back.
        if let Some(m) = mapping.as_ref().filter(|m| !m.name.trim().is_empty()) {
            super::mapping::save(&w, m)?;
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
        preview,
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
fn mapping_for(store: &Store, files: &[Source], opts: &Options) -> Result<Mapping> {
    let first = files
        .first()
        .ok_or_else(|| Error::Invalid("no files to import".into()))?;
    if let Some(m) = &opts.mapping {
        let mut m = m.clone();
        // Remembered with the header it was used on, to be offered again.
        if m.header.is_empty() {
            m.header = super::mapping::sample(first, m.sheet.as_deref(), 0)?.headers;
        }
        return Ok(m);
    }
    let sample = super::mapping::sample(first, None, 0)?;
    if let Some(m) = super::mapping::matching(store.conn(), &sample.headers)? {
        return Ok(m);
    }
    Err(Error::Invalid(format!(
        "{} is a plain list, so Keyroll needs to be told which column holds what. In the app, \
         choose the columns in the import's mapping step; on the command line, run \
         `keyroll mappings suggest {}` > mapping.json, check it, and import again with \
         --mapping mapping.json. Its header has: {}",
        sample.file,
        first.describe(),
        sample.headers.join(", ")
    )))
}

/// The files as they are: each one's name, size and modification time.
fn stamp(files: &[Source]) -> String {
    use blake2::{Blake2s256, Digest};
    let mut h = Blake2s256::new();
    for f in files {
        h.update(f.describe().as_bytes());
        h.update([0]);
        h.update(f.stamp().as_bytes());
        h.update([0]);
    }
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::DbKey;

    fn stored(store: &Store) -> (i64, i64, i64) {
        let n = |sql: &str| -> i64 { store.conn().query_row(sql, [], |r| r.get(0)).unwrap() };
        (
            n("SELECT count(*) FROM person"),
            n("SELECT count(*) FROM audit"),
            n("SELECT count(*) FROM import"),
        )
    }

    #[test]
    fn applying_refuses_when_the_files_or_the_database_changed_since_the_preview() {
        let dir = tempfile::tempdir().unwrap();
        let school = dir.path().join("school");
        keyroll_demo::generate(&school, 200, 4).unwrap();
        let mut store = Store::open(&dir.path().join("k.db"), &DbKey::random().unwrap()).unwrap();
        let paths = [school.clone()];
        let dry = Options {
            dry_run: true,
            ..Default::default()
        };
        let preview = run(&mut store, &paths, &dry, "t", &mut |_| true).unwrap();
        let confirm = |preview: &Summary| Options {
            expect: Some(preview.preview.clone()),
            ..Default::default()
        };

        // A name in the export changes between the preview and the
        // confirmation: the counts are the same, what would be applied is not.
        let users = school.join("users.csv");
        let text = std::fs::read_to_string(&users).unwrap();
        let row = text.lines().nth(5).unwrap().to_owned();
        let given = row.split(',').nth(8).unwrap().to_owned();
        let edited = row.replacen(&format!(",{given},"), ",Changed,", 1);
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&users, text.replacen(&row, &edited, 1)).unwrap();
        let again = run(&mut store, &paths, &dry, "t", &mut |_| true).unwrap();
        assert_eq!(again.counts, preview.counts, "the same counts");
        let stale = run(&mut store, &paths, &confirm(&preview), "t", &mut |_| true);
        assert!(
            matches!(&stale, Err(Error::Invalid(m)) if m.contains("files changed since the preview; preview again")),
            "{stale:?}"
        );
        assert_eq!(stored(&store), (0, 0, 0));

        // The database changes (another import) while the files do not.
        let other = dir.path().join("other");
        keyroll_demo::generate(&other, 20, 4).unwrap();
        let preview = run(&mut store, &paths, &dry, "t", &mut |_| true).unwrap();
        run(&mut store, &[other], &Options::default(), "t", &mut |_| {
            true
        })
        .unwrap();
        let before = stored(&store);
        let stale = run(&mut store, &paths, &confirm(&preview), "t", &mut |_| true);
        assert!(
            matches!(&stale, Err(Error::Invalid(m)) if m.contains("database changed since the preview")),
            "{stale:?}"
        );
        assert_eq!(stored(&store), before);

        // Previewed again, the same confirmation goes through.
        let preview = run(&mut store, &paths, &dry, "t", &mut |_| true).unwrap();
        assert!(
            run(&mut store, &paths, &confirm(&preview), "t", &mut |_| true)
                .unwrap()
                .applied
        );
    }

    #[test]
    fn cancel_while_reading_or_while_saving_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let school = dir.path().join("school");
        keyroll_demo::generate(&school, 2000, 3).unwrap();
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
