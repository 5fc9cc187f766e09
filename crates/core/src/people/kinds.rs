//! Who someone is to the school and where they stand, as the SIS says:
//! their [`Kind`] and [`Status`].

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Student,
    Staff,
    /// A parent, guardian, carer or other relative of a student ("parent"
    /// in the CLI and the app, which is the word office staff use).
    #[serde(alias = "parent")]
    Contact,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Student => "student",
            Kind::Staff => "staff",
            Kind::Contact => "contact",
        }
    }

    /// The word office staff and the CLI use: contacts get *parent* accounts.
    pub fn account_word(self) -> &'static str {
        match self {
            Kind::Contact => "parent",
            k => k.as_str(),
        }
    }

    /// Where the kind's people come in the list (students, staff, then
    /// contacts): the first character of their sort key.
    pub fn list_rank(self) -> char {
        match self {
            Kind::Student => '1',
            Kind::Staff => '2',
            Kind::Contact => '3',
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "student" => Some(Kind::Student),
            "staff" => Some(Kind::Staff),
            "contact" | "parent" => Some(Kind::Contact),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Active,
    /// Enrolled for a later date.
    Future,
    /// Still here, but the SIS says they are leaving.
    Leaving,
    Left,
    Inactive,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Future => "future",
            Status::Leaving => "leaving",
            Status::Left => "left",
            Status::Inactive => "inactive",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "active" => Status::Active,
            "future" => Status::Future,
            "leaving" => Status::Leaving,
            "left" => Status::Left,
            "inactive" => Status::Inactive,
            _ => return None,
        })
    }

    /// Whether the person is at the school (or about to be), i.e. not a leaver.
    pub fn is_current(self) -> bool {
        matches!(self, Status::Active | Status::Future)
    }
}
