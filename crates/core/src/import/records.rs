//! What a format's files hold, on their way to the database: people (as
//! [`crate::people::PersonRecord`]s), orgs, links, and the rows rejected,
//! each named by file, line and column; and the [`Loader`] they are pushed
//! into.

use std::sync::Arc;

use serde::Serialize;

use crate::error::Result;
use crate::people::{ClassRole, Kind, PersonRecord, PreparedPerson};

/// A map keyed by SIS ids, with a fast hasher: an import looks up hundreds
/// of thousands of them.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// A rejected row or field, or a row imported without something it says:
/// where it is, why, and which of the two ([`Outcome`]).
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
    pub outcome: Outcome,
}

/// What became of a row listed in an import's report (with
/// `--skip-invalid`; without it, a refused import imports nothing at all).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub enum Outcome {
    /// The row is not imported: nothing of it is in the database.
    #[default]
    #[serde(rename = "rejected")]
    Rejected,
    /// The row is imported without what the reason says was dropped.
    #[serde(rename = "imported with warning")]
    Warning,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Rejected => "rejected",
            Outcome::Warning => "imported with warning",
        }
    }
}

impl RowError {
    /// The same problem, as a warning: the row is imported without what
    /// `dropped` says ("the link was dropped").
    pub fn warning(mut self, dropped: &str) -> RowError {
        if self.outcome == Outcome::Rejected && !dropped.is_empty() {
            self.reason = format!("{}; {dropped}", self.reason);
        }
        self.outcome = Outcome::Warning;
        self
    }
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
            outcome: Outcome::Rejected,
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
            outcome: Outcome::Rejected,
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

/// What an export says about classes, each part a full list (`Bulk`), a
/// list of changes (`Delta`) or not said (None): the classes themselves
/// (in a full list, a stored class it leaves out is removed), and who is in
/// them as students and as teachers (in a full list, exactly those; a role
/// not said keeps its stored members).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClassLists {
    pub classes: Option<Scope>,
    pub students: Option<Scope>,
    pub teachers: Option<Scope>,
}

impl ClassLists {
    /// Classes and both roles alike: a OneRoster or SDS classes file with
    /// its enrollments file (`members`, None when there is none).
    pub fn with_enrollments(classes: Option<Scope>, members: Option<Scope>) -> ClassLists {
        ClassLists {
            classes,
            students: members,
            teachers: members,
        }
    }
}

/// A class (a section, a home group) as the SIS lists it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClassRecord {
    pub sis_id: String,
    pub title: String,
    /// The org SIS id of its school.
    pub school: String,
    /// Its code or section number, as the SIS shows it.
    pub code: String,
    /// `homeroom` for a home group, `scheduled`, or as the SIS writes it.
    pub class_type: String,
    /// The SIS says the class is gone (OneRoster's `tobedeleted`, SDS's
    /// `Inactive`).
    pub removed: bool,
}

/// Someone in a class, as a file states it: applied as it arrives when its
/// person and class are known, else at the end. `at`'s first column names
/// the class, its second the person.
#[derive(Clone, Debug)]
pub struct EnrollmentRecord {
    pub class: String,
    pub person: String,
    pub role: ClassRole,
    /// The teacher who leads the class (OneRoster's `primary`).
    pub lead: bool,
    /// A change file says this person has left the class.
    pub removed: bool,
    /// Stated in the class's own row (Clever's teachers): a person it names
    /// who is not in the export is a warning, the class imported without them.
    pub in_class_row: bool,
    pub at: LinkAt,
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
/// a reading thread; the records travel to the writing thread in batches.)
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
    /// What the files say about classes (a classes file, even an empty
    /// one, and who is in them): see [`ClassLists`].
    fn lists_classes(&mut self, lists: ClassLists) -> Result<()>;
    /// A class whose row was rejected (reported already): kept as stored,
    /// and enrollments naming it are not reported again.
    fn keep_class(&mut self, sis_id: &str) -> Result<()>;
    fn class(&mut self, class: ClassRecord) -> Result<()>;
    fn enrollment(&mut self, enrollment: EnrollmentRecord) -> Result<()>;
    /// A row that cannot be imported; `sis_id` (if known) is protected from
    /// being treated as a leaver.
    fn reject(&mut self, error: RowError, sis_id: Option<&str>) -> Result<()>;
    /// A row imported without something it says (`error` is a
    /// [`Outcome::Warning`] saying what was dropped). `sis_id`: the person
    /// it is about, if any: were their row rejected after all, the warning
    /// is reported as rejected. Only warnings about people refuse an import
    /// that stops on errors: an org without its parent loses nothing a
    /// person's account depends on.
    fn warn(&mut self, error: RowError, sis_id: Option<&str>) -> Result<()>;
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
    /// the pipeline's `ChannelLoader::person`.
    Unprepared(PersonRecord),
    Link(LinkRecord),
    ListsClasses(ClassLists),
    KeepClass(String),
    Class(ClassRecord),
    Enrollment(EnrollmentRecord),
    Reject(RowError, Option<String>),
    Warn(RowError, Option<String>),
    Protect(String),
    Progress(u64),
}
