//! Choosing people: the same filters wherever people are chosen (lists,
//! batch actions, resets; letters, exports and invitations later).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::ValueEnum;
use keyroll_core::people::{self, Kind, PeopleQuery, Status};

#[derive(Clone, Copy, ValueEnum)]
pub enum KindArg {
    Student,
    Staff,
    Parent,
}

impl From<KindArg> for Kind {
    fn from(k: KindArg) -> Self {
        match k {
            KindArg::Student => Kind::Student,
            KindArg::Staff => Kind::Staff,
            KindArg::Parent => Kind::Contact,
        }
    }
}

/// Which people: the same filters everywhere people are chosen.
#[derive(clap::Args, Clone, Default)]
pub struct Filters {
    #[arg(long, value_enum)]
    kind: Option<KindArg>,
    /// active, future, leaving, left or inactive.
    #[arg(long)]
    status: Option<String>,
    /// enabled, disabled, suspended, archived, recycled, or none (no account).
    #[arg(long)]
    state: Option<String>,
    /// Only accounts in their state for this reason ("waiting for review").
    #[arg(long)]
    reason: Option<String>,
    /// Only accounts flagged NEW (not yet signed in or sent anything).
    #[arg(long)]
    new: bool,
    /// The account's group.
    #[arg(long)]
    group: Option<String>,
    /// A school's SIS id.
    #[arg(long)]
    school: Option<String>,
    /// Year level or grade.
    #[arg(long)]
    year: Option<String>,
    #[arg(long)]
    home_group: Option<String>,
    /// The students of a class, by its SIS id (`keyroll classes list`).
    #[arg(long = "class", value_name = "CLASS_ID")]
    class: Option<String>,
    /// The students of a teacher's classes, by the teacher's SIS id.
    #[arg(long, value_name = "STAFF_ID")]
    teacher: Option<String>,
    /// Words to find in names, email, SIS id or username (accents and case
    /// ignored, any script: "dmitrii" finds Дмитрий).
    #[arg(long)]
    search: Option<String>,
    /// Only this person, by SIS id (repeat for more).
    #[arg(long = "id", value_name = "SIS_ID")]
    ids: Vec<String>,
}

impl Filters {
    /// The query these filters make, checked against `store` (a class or
    /// teacher that does not exist is an error, not an empty list).
    pub fn query(self, store: &keyroll_core::Store) -> Result<PeopleQuery> {
        let status = self
            .status
            .map(|s| {
                Status::parse(&s).with_context(|| {
                    format!("--status {s}: use active, future, leaving, left or inactive")
                })
            })
            .transpose()?;
        if let Some(s) = &self.state {
            anyhow::ensure!(
                [
                    "enabled",
                    "disabled",
                    "suspended",
                    "archived",
                    "recycled",
                    "none"
                ]
                .contains(&s.as_str()),
                "--state {s}: use enabled, disabled, suspended, archived, recycled or none"
            );
        }
        let q = PeopleQuery {
            kind: self.kind.map(Into::into),
            status,
            search: self.search,
            state: self.state,
            reasons: self.reason.into_iter().collect(),
            new: self.new,
            group: self.group,
            school: self.school,
            year: self.year,
            home_group: self.home_group,
            class: self.class,
            teacher: self.teacher,
            sis_ids: self.ids,
            ..Default::default()
        };
        people::check_filters(store.conn(), &q)?;
        Ok(q)
    }

    pub fn is_empty(&self) -> bool {
        self.kind.is_none()
            && self.status.is_none()
            && self.state.is_none()
            && self.reason.is_none()
            && !self.new
            && self.group.is_none()
            && self.school.is_none()
            && self.year.is_none()
            && self.home_group.is_none()
            && self.class.is_none()
            && self.teacher.is_none()
            && self.search.is_none()
            && self.ids.is_empty()
    }
}

/// A batch action's options: which people, and preview or apply.
#[derive(clap::Args)]
pub struct Batch {
    #[command(flatten)]
    pub filters: Filters,
    /// Every account (needed when no filter or --id is given).
    #[arg(long)]
    pub all: bool,
    /// Show what would change without changing anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Write who changed (or would) to this CSV file.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

impl Batch {
    /// The people chosen, refusing to act on everyone unless `--all` says so.
    pub fn query(self, store: &keyroll_core::Store, what: &str) -> Result<PeopleQuery> {
        anyhow::ensure!(
            self.all || !self.filters.is_empty(),
            "choose whose accounts to {what}: give filters (--kind, --state, --new, --group, \
             --school, --year, --home-group, --class, --teacher, --search) or --id, or --all for everyone"
        );
        self.filters.query(store)
    }
}

/// One person, by kind and SIS id (and SIS source, where two share an id):
/// the people whose accounts are renamed or deleted one at a time.
#[derive(clap::Args)]
pub struct OnePerson {
    #[arg(long, value_enum)]
    pub kind: KindArg,
    /// The person's SIS id.
    #[arg(long = "id", value_name = "SIS_ID")]
    pub id: String,
    /// The SIS source they come from (oneroster, cases21:8888, csv:…), when
    /// two sources use the same id.
    #[arg(long)]
    pub source: Option<String>,
}

impl OnePerson {
    /// Their row id, or why there is no one person.
    pub fn find(&self, store: &keyroll_core::Store) -> Result<i64> {
        let kind: Kind = self.kind.into();
        let (id, _) = people::find_one(store.conn(), kind, &self.id, self.source.as_deref())?;
        Ok(id)
    }
}
