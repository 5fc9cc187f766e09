//! Where the server keeps its resources and tokens, behind one trait with a
//! backend per database (as atuin's server does): [`sqlite`] for a school.
//! The HTTP layer calls it from blocking threads; every method is one
//! transaction.

pub mod sqlite;

use keyroll_scim::Kind;
use serde_json::Value;

/// A resource as stored: the client's document (no id, meta or groups)
/// and what the server adds.
#[derive(Clone, Debug, PartialEq)]
pub struct Stored {
    pub id: String,
    pub version: i64,
    pub created: String,
    pub modified: String,
    pub doc: Value,
}

/// Which stored resources a query needs to look at: an indexed lookup
/// when the filter pins one down, otherwise all of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Narrow {
    All,
    /// `userName eq "…"` (without regard to case).
    UserName(String),
    ExternalId(String),
    Id(String),
    DisplayName(String),
    /// `meta.lastModified gt "…"` (or `ge`): changed since.
    ModifiedSince {
        at: String,
        inclusive: bool,
    },
}

/// A token as listed (never the token itself).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TokenInfo {
    pub name: String,
    pub created: String,
    pub last_used: Option<String>,
    pub revoked: Option<String>,
}

#[derive(Debug)]
pub enum StoreError {
    /// Another resource has this userName (or group displayName).
    Taken(String),
    NotFound,
    /// `If-Match` named another version.
    Stale {
        version: i64,
    },
    /// A group member that is no user or group here.
    NoSuchMember(String),
    Invalid(String),
    Database(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Taken(what) => write!(f, "{what} is taken"),
            StoreError::NotFound => write!(f, "not found"),
            StoreError::Stale { version } => write!(f, "the resource is at version {version}"),
            StoreError::NoSuchMember(id) => write!(f, "no user or group has the id {id:?}"),
            StoreError::Invalid(why) => write!(f, "{why}"),
            StoreError::Database(why) => write!(f, "the database: {why}"),
        }
    }
}

impl std::error::Error for StoreError {}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A write's precondition from `If-Match`: None, any version.
pub type Expect = Option<Box<dyn Fn(i64) -> bool + Send>>;

/// Reading and writing resources. Each write is all or nothing: alone, a
/// transaction of its own; inside [`Storage::batch`], a savepoint.
pub trait Resources {
    /// Keeps a new resource; `password_hash` for a user with a password.
    fn create(&self, kind: Kind, doc: Value, password_hash: Option<String>) -> Result<Stored>;
    fn get(&self, kind: Kind, id: &str) -> Result<Option<Stored>>;
    /// Replaces a resource's document if `expect` accepts its version;
    /// `password_hash`: Some to set a new one.
    fn replace(
        &self,
        kind: Kind,
        id: &str,
        expect: Expect,
        doc: Value,
        password_hash: Option<String>,
    ) -> Result<Stored>;
    fn delete(&self, kind: Kind, id: &str, expect: Expect) -> Result<()>;
    /// The resources a query must look at, in the order they were made.
    fn find(&self, kind: Kind, narrow: &Narrow) -> Result<Vec<Stored>>;
    /// The groups (id, displayName) that have `id` as a member.
    fn groups_of(&self, id: &str) -> Result<Vec<(String, String)>>;
}

pub trait Storage: Resources + Send + Sync + 'static {
    /// Runs many writes in one transaction (a `/Bulk` request): each write
    /// still stands or falls alone, but they commit together, once.
    fn batch(&self, work: &mut dyn FnMut(&dyn Resources) -> Result<()>) -> Result<()>;

    fn create_token(&self, name: &str, hash: &str) -> Result<()>;
    /// The name of the live token with this hash, its use recorded (at
    /// most once a minute, so that reads stay reads).
    fn use_token(&self, hash: &str) -> Result<Option<String>>;
    fn tokens(&self) -> Result<Vec<TokenInfo>>;
    /// Revokes a token by name; false if there is none.
    fn revoke_token(&self, name: &str) -> Result<bool>;
}
