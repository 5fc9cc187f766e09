//! Where the server keeps its resources and tokens, behind one trait with a
//! backend per database (as atuin's server does): [`sqlite`] for a school,
//! [`postgres`] for a district.
//! The HTTP layer calls it from blocking threads; every method is one
//! transaction.

pub mod postgres;
pub mod sqlite;

/// A time as the server keeps it: RFC 3339 UTC with milliseconds, so that
/// text order is time order (the SQL compares them as text).
pub fn stamp(t: time::OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        ))
        .expect("a UTC time formats")
}

pub fn now() -> String {
    stamp(time::OffsetDateTime::now_utc())
}

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
    /// A user's sign-in state (the server's own); empty for a group.
    pub state: SignInState,
}

/// What the server knows of a user's sign-ins, shown in the school
/// extension on read (`lastSignIn`, `locked`, `invitationAccepted`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SignInState {
    pub last_sign_in: Option<String>,
    /// Since when it is locked.
    pub locked: Option<String>,
    /// When its activation code was used.
    pub activated: Option<String>,
}

/// Credentials to keep with a user: None leaves each as it is.
#[derive(Clone, Debug, Default)]
pub struct Secrets {
    /// argon2id PHC string.
    pub password_hash: Option<String>,
    /// An activation code's digest and when it stops working.
    pub activation: Option<(String, Option<String>)>,
    pub must_change: Option<bool>,
    /// Unlocks (and forgets the failed sign-ins).
    pub unlock: bool,
}

/// A user as the sign-in pages need it.
#[derive(Clone, Debug)]
pub struct Account {
    pub id: String,
    pub doc: Value,
    pub password_hash: Option<String>,
    pub must_change: bool,
    pub failed_sign_ins: i64,
    pub locked: Option<String>,
    pub activation_expires: Option<String>,
}

/// How an account is looked up.
#[derive(Clone, Copy, Debug)]
pub enum AccountKey<'a> {
    UserName(&'a str),
    Id(&'a str),
    /// An activation code's digest.
    Activation(&'a str),
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
    /// Keeps a new resource, with a user's credentials.
    fn create(&self, kind: Kind, doc: Value, secrets: Secrets) -> Result<Stored>;
    /// Keeps new users, in order, each standing or falling alone (a
    /// `/Bulk` request's run of POSTs): what became of each. Err only if
    /// the storage itself failed.
    fn create_users(&self, users: Vec<(Value, Secrets)>) -> Result<Vec<Result<Stored>>> {
        Ok(users
            .into_iter()
            .map(|(doc, secrets)| self.create(Kind::User, doc, secrets))
            .collect())
    }
    fn get(&self, kind: Kind, id: &str) -> Result<Option<Stored>>;
    /// Replaces a resource's document if `expect` accepts its version;
    /// `secrets`: the credentials to change with it.
    fn replace(
        &self,
        kind: Kind,
        id: &str,
        expect: Expect,
        doc: Value,
        secrets: Secrets,
    ) -> Result<Stored>;
    fn delete(&self, kind: Kind, id: &str, expect: Expect) -> Result<()>;
    /// The resources a query must look at, in the order they were made.
    fn find(&self, kind: Kind, narrow: &Narrow) -> Result<Vec<Stored>>;
    /// The groups (id, displayName) that have `id` as a member.
    fn groups_of(&self, id: &str) -> Result<Vec<(String, String)>>;
    /// How many of a kind there are, and `count` of them from `skip` on in
    /// the order they were made: an unfiltered list, without reading all.
    fn page(&self, kind: Kind, skip: usize, count: usize) -> Result<(usize, Vec<Stored>)>;
}

/// Sign-ins, activation, sessions and password resets. Every change to a
/// user's state moves its version and lastModified on, so that a sync that
/// pulls changes sees it.
pub trait Accounts {
    fn account(&self, key: AccountKey) -> Result<Option<Account>>;
    /// Counts a failed sign-in; true if it locked the account (after
    /// `lock_after` in a row).
    fn failed_sign_in(&self, id: &str, lock_after: i64) -> Result<bool>;
    /// A sign-in that succeeded: the failures forgotten, the time kept, a
    /// session started (one transaction). False if the account was locked
    /// meanwhile: the sign-in is refused and no session starts.
    fn signed_in(&self, id: &str, session_hash: &str, expires: &str) -> Result<bool>;
    /// A password the person chose (no longer one to change); every
    /// session of theirs ends.
    fn set_password(&self, id: &str, password_hash: &str) -> Result<()>;
    /// Uses an activation code once, if it has not expired: the password
    /// set, the code gone, the account activated and unlocked (the code
    /// proves it is theirs). The user's id, or None.
    fn activate(&self, code_hash: &str, password_hash: &str) -> Result<Option<String>>;
    /// Unlocks by userName; false if there is no such locked account.
    fn unlock(&self, user_name: &str) -> Result<bool>;

    fn start_session(&self, hash: &str, user_id: &str, expires: &str) -> Result<()>;
    /// The user a live session belongs to.
    fn session_user(&self, hash: &str) -> Result<Option<String>>;
    fn end_session(&self, hash: &str) -> Result<()>;

    /// A new reset link for `user_id`; any earlier live one is spent.
    fn start_reset(&self, hash: &str, user_id: &str, expires: &str) -> Result<()>;
    /// Uses a password-reset token once, within its hour: the password
    /// set, the account unlocked, its other reset links and its sessions
    /// ended. The user's id.
    fn finish_reset(&self, hash: &str, password_hash: &str) -> Result<Option<String>>;

    fn setting(&self, key: &str) -> Result<Option<String>>;
    /// Several settings at once, in `keys`' order: every page's frame
    /// needs two, and on a shared database each read is a round trip.
    fn settings(&self, keys: &[&str]) -> Result<Vec<Option<String>>> {
        keys.iter().map(|k| self.setting(k)).collect()
    }
    fn set_setting(&self, key: &str, value: &str) -> Result<()>;
}

pub trait Storage: Resources + Accounts + Send + Sync + 'static {
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
