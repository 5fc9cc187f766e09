//! An account's life, as pure functions: no database inside, so each is
//! tested as a table.
//!
//! - [`decide`]: (the account as it is, where the person stands by the SIS
//!   now, the policy's rules, now) → what account generation does: create,
//!   keep, or change the state, reason and flags, and the action to audit;
//! - [`office`]: the same question for an office action (enable, disable,
//!   suspend, archive, restore);
//! - [`handed_out`]: NEW and the invitation state as letters are printed,
//!   invitations sent and accepted, and owners sign in.
//!
//! The rules, in the office's words:
//! - Students and staff have an account while they are at the school (one
//!   starting later has it disabled until then); leavers' are disabled at
//!   once, and come back when they do.
//! - A parent has an account only while they stand as one: their own status
//!   current, linked to a student, holding parental responsibility (and a
//!   primary contact, if the policy says so), with a child at the school. An
//!   account whose parent loses any of that is disabled, saying which; when
//!   it holds again the account goes back to waiting for review, never
//!   straight to enabled. New parent accounts wait for review too.
//! - Only a state Keyroll set, for a reason it can still see, is changed back
//!   by it; what the office set stays. Suspended, archived and recycled
//!   accounts never change state by themselves.
//! - A disabled account whose owner has gone (left, or a parent no longer
//!   linked or with no child at the school) goes to the recycle bin once the
//!   grace period has passed since it was disabled for that reason. One whose
//!   parent lost responsibility or their primary role stays disabled.
//! - AR and NR follow the links as they stand (not on a recycled account).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::policy::ParentContacts;
use crate::people::{Kind, Status};

/// An account's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Enabled,
    Disabled,
    /// Blocked by the office for a while: only "enable" lifts it.
    Suspended,
    /// Kept for the record, out of use.
    Archived,
    /// In the recycle bin: only "restore" brings it back.
    Recycled,
}

impl State {
    pub const ALL: [State; 5] = [
        State::Enabled,
        State::Disabled,
        State::Suspended,
        State::Archived,
        State::Recycled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Enabled => "enabled",
            State::Disabled => "disabled",
            State::Suspended => "suspended",
            State::Archived => "archived",
            State::Recycled => "recycled",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// What the office did to an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OfficeAction {
    Enable,
    Disable,
    Suspend,
    Archive,
    Restore,
}

/// Why an account is in its state: a reason Keyroll set (which it changes
/// back when the SIS says so) or the office's (which it never does).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    None,
    WaitingForReview,
    StartsLater,
    LeftTheSchool,
    AllChildrenLeft,
    NoResponsibility,
    NotLinked,
    /// A contact's own status is no longer current.
    ContactLeft,
    NotPrimary,
    /// Recycled after this many days' grace.
    Recycled(u32),
    ByOffice(OfficeAction),
    /// A reason written by something else (kept as it is).
    Other(String),
}

impl Reason {
    /// The reason as the office reads it (and the database keeps it).
    pub fn text(&self) -> Cow<'static, str> {
        Cow::Borrowed(match self {
            Reason::None => "",
            Reason::WaitingForReview => "waiting for review",
            Reason::StartsLater => "starts later",
            Reason::LeftTheSchool => "left the school",
            Reason::AllChildrenLeft => "all their children have left",
            Reason::NoResponsibility => "no longer has parental responsibility",
            Reason::NotLinked => "no longer linked to a student",
            Reason::ContactLeft => "left",
            Reason::NotPrimary => "no longer a primary contact",
            Reason::Recycled(days) => return format!("left over {days} days ago").into(),
            Reason::ByOffice(OfficeAction::Enable) => "enabled by the office",
            Reason::ByOffice(OfficeAction::Disable) => "disabled by the office",
            Reason::ByOffice(OfficeAction::Suspend) => "suspended by the office",
            Reason::ByOffice(OfficeAction::Archive) => "archived by the office",
            Reason::ByOffice(OfficeAction::Restore) => "restored from the recycle bin",
            Reason::Other(s) => return s.clone().into(),
        })
    }

    pub fn parse(s: &str) -> Reason {
        let known = [
            Reason::None,
            Reason::WaitingForReview,
            Reason::StartsLater,
            Reason::LeftTheSchool,
            Reason::AllChildrenLeft,
            Reason::NoResponsibility,
            Reason::NotLinked,
            Reason::ContactLeft,
            Reason::NotPrimary,
            Reason::ByOffice(OfficeAction::Enable),
            Reason::ByOffice(OfficeAction::Disable),
            Reason::ByOffice(OfficeAction::Suspend),
            Reason::ByOffice(OfficeAction::Archive),
            Reason::ByOffice(OfficeAction::Restore),
        ];
        if let Some(r) = known.into_iter().find(|r| r.text() == s) {
            return r;
        }
        let days = s
            .strip_prefix("left over ")
            .and_then(|d| d.strip_suffix(" days ago"))
            .and_then(|d| d.parse().ok());
        match days {
            Some(d) => Reason::Recycled(d),
            None => Reason::Other(s.to_owned()),
        }
    }

    /// Whether Keyroll set it for something the SIS says (and may undo it
    /// when the SIS says otherwise).
    fn set_by_keyroll(&self) -> bool {
        matches!(
            self,
            Reason::WaitingForReview
                | Reason::StartsLater
                | Reason::LeftTheSchool
                | Reason::AllChildrenLeft
                | Reason::NoResponsibility
                | Reason::NotLinked
                | Reason::ContactLeft
                | Reason::NotPrimary
        )
    }
}

/// An account's flags: NEW (never signed in, sent a letter or an
/// invitation), AR (an access restriction to check), NR (no reports).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flags {
    pub new: bool,
    pub access_restricted: bool,
    pub no_reports: bool,
}

impl Flags {
    /// As the database keeps them: "NEW,AR".
    pub fn text(self) -> String {
        self.names().join(",")
    }

    pub fn names(self) -> Vec<&'static str> {
        [
            (self.new, "NEW"),
            (self.access_restricted, "AR"),
            (self.no_reports, "NR"),
        ]
        .into_iter()
        .filter(|(set, _)| *set)
        .map(|(_, name)| name)
        .collect()
    }

    pub fn parse(s: &str) -> Flags {
        let has = |f: &str| s.split(',').any(|x| x == f);
        Flags {
            new: has("NEW"),
            access_restricted: has("AR"),
            no_reports: has("NR"),
        }
    }
}

/// An account as the rules need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub state: State,
    pub reason: Reason,
    /// When the state was last set (RFC 3339; empty if unknown).
    pub since: String,
    pub flags: Flags,
}

/// What the links say about a person, as they stand.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Links {
    /// A contact linked to any student.
    pub linked: bool,
    /// A contact with parental responsibility for at least one student.
    pub responsible: bool,
    /// ...and a primary contact of at least one of them.
    pub responsible_primary: bool,
    /// The students they are responsible for who are at the school.
    pub current_children: u32,
    /// Any of their links carries an access restriction (AR).
    pub access_restricted: bool,
    /// Any of their links says no reports (NR).
    pub no_reports: bool,
}

/// Where a person stands by the SIS now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Standing {
    pub kind: Kind,
    pub status: Status,
    pub has_email: bool,
    pub links: Links,
}

/// The policy's part in the rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rules {
    pub parent_contacts: ParentContacts,
    pub recycle_after_days: u32,
}

/// What generating does to one person's account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// No account, and none is due.
    Nothing,
    /// A new account in this state.
    Create {
        state: State,
        reason: Reason,
        flags: Flags,
    },
    /// As it is.
    Keep,
    /// Changed, audited as `change`.
    Change {
        state: State,
        reason: Reason,
        flags: Flags,
        change: Transition,
    },
}

/// What a change is, as the audit log names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    Disable,
    Enable,
    /// Still disabled, for another reason (back to waiting for review, or
    /// a different reason the account cannot be used).
    Review,
    Recycle,
    /// Only the flags.
    Flags,
}

impl Transition {
    pub fn action(self) -> &'static str {
        match self {
            Transition::Disable => "account.disable",
            Transition::Enable => "account.enable",
            Transition::Review => "account.review",
            Transition::Recycle => "account.recycle",
            Transition::Flags => "account.flags",
        }
    }

    /// The report's word for it.
    pub fn word(self) -> &'static str {
        self.action().trim_start_matches("account.")
    }
}

/// Why the person may not have a usable account now, or None if they may.
pub fn not_standing(standing: &Standing, rules: &Rules) -> Option<Reason> {
    let l = &standing.links;
    match standing.kind {
        Kind::Student | Kind::Staff => match standing.status {
            Status::Active => None,
            Status::Future => Some(Reason::StartsLater),
            _ => Some(Reason::LeftTheSchool),
        },
        Kind::Contact if !standing.status.is_current() => Some(Reason::ContactLeft),
        Kind::Contact if !l.linked => Some(Reason::NotLinked),
        Kind::Contact if !l.responsible => Some(Reason::NoResponsibility),
        Kind::Contact
            if rules.parent_contacts == ParentContacts::PrimaryOnly && !l.responsible_primary =>
        {
            Some(Reason::NotPrimary)
        }
        Kind::Contact if l.current_children == 0 => Some(Reason::AllChildrenLeft),
        Kind::Contact => None,
    }
}

/// The AR and NR flags the links give, with `new` as it is.
fn flags_for(standing: &Standing, new: bool) -> Flags {
    Flags {
        new,
        access_restricted: standing.links.access_restricted,
        no_reports: standing.kind == Kind::Contact && standing.links.no_reports,
    }
}

/// `now` (RFC 3339) minus `days`, as RFC 3339 text (which sorts as text).
pub fn days_before(now: &str, days: i64) -> String {
    let format = time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::parse(now, &format)
        .map(|t| t - time::Duration::days(days))
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// What account generation does to `account` (None: the person has none)
/// given where they stand now.
pub fn decide(
    account: Option<&Account>,
    standing: &Standing,
    rules: &Rules,
    now: &str,
) -> Decision {
    let why_not = not_standing(standing, rules);
    let Some(a) = account else {
        let (state, reason) = match (standing.kind, &why_not) {
            (Kind::Contact, None) if standing.has_email => {
                (State::Disabled, Reason::WaitingForReview)
            }
            (Kind::Contact, _) => return Decision::Nothing,
            (_, None) => (State::Enabled, Reason::None),
            (_, Some(Reason::StartsLater)) => (State::Disabled, Reason::StartsLater),
            (_, Some(_)) => return Decision::Nothing,
        };
        return Decision::Create {
            state,
            reason,
            flags: flags_for(standing, true),
        };
    };
    let flags = flags_for(standing, a.flags.new);
    // Gone from the school: what the recycle bin is for. (Not someone who
    // starts later, nor a parent still linked whose responsibility or
    // primary role the SIS took away: the account waits, disabled, in case
    // the SIS gives it back.)
    let gone = matches!(
        why_not,
        Some(
            Reason::LeftTheSchool
                | Reason::ContactLeft
                | Reason::NotLinked
                | Reason::AllChildrenLeft
        )
    );
    let same = (a.state, a.reason.clone(), None);
    let (state, reason, change) = match (a.state, why_not) {
        // The office's states, and the bin, stay as they are.
        (State::Recycled, _) => return Decision::Keep,
        (State::Suspended | State::Archived, _) => same,
        // (An account in use is not taken away for a start date.)
        (State::Enabled, None | Some(Reason::StartsLater)) => same,
        (State::Enabled, Some(why)) => (State::Disabled, why, Some(Transition::Disable)),
        // A new reason first (the grace period counts from it), then the bin.
        (State::Disabled, Some(why)) if a.reason.set_by_keyroll() && why != a.reason => {
            (State::Disabled, why, Some(Transition::Review))
        }
        (State::Disabled, Some(_)) if gone && past_grace(a, rules, now) => (
            State::Recycled,
            Reason::Recycled(rules.recycle_after_days),
            Some(Transition::Recycle),
        ),
        (State::Disabled, Some(_)) => same,
        // Standing again: a parent is reviewed again; a student or staff
        // member Keyroll disabled is back.
        (State::Disabled, None) if !a.reason.set_by_keyroll() => same,
        (State::Disabled, None) => match standing.kind {
            Kind::Contact if a.reason == Reason::WaitingForReview => same,
            Kind::Contact => (
                State::Disabled,
                Reason::WaitingForReview,
                Some(Transition::Review),
            ),
            _ => (State::Enabled, Reason::None, Some(Transition::Enable)),
        },
    };
    match change {
        Some(change) => Decision::Change {
            state,
            reason,
            flags,
            change,
        },
        None if flags != a.flags => Decision::Change {
            state,
            reason,
            flags,
            change: Transition::Flags,
        },
        None => Decision::Keep,
    }
}

/// Whether a disabled account has waited out the grace period.
fn past_grace(a: &Account, rules: &Rules, now: &str) -> bool {
    let cutoff = days_before(now, i64::from(rules.recycle_after_days));
    !a.since.is_empty() && !cutoff.is_empty() && a.since < cutoff
}

/// What an office action does to an account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Change {
        state: State,
        reason: Reason,
    },
    /// It is so already.
    Unchanged,
    /// It does not apply, and why.
    Skip(Cow<'static, str>),
}

/// What `action` does to `account`, given where its owner stands.
pub fn office(
    account: &Account,
    standing: &Standing,
    rules: &Rules,
    action: OfficeAction,
) -> Outcome {
    let to = |state: State| {
        if account.state == state {
            Outcome::Unchanged
        } else {
            Outcome::Change {
                state,
                reason: Reason::ByOffice(action),
            }
        }
    };
    let binned = || Outcome::Skip("in the recycle bin: restore it first".into());
    match action {
        OfficeAction::Enable if account.state == State::Recycled => binned(),
        OfficeAction::Enable => match (standing.kind, not_standing(standing, rules)) {
            // One starting later may be enabled early.
            (Kind::Student | Kind::Staff, Some(Reason::StartsLater)) | (_, None) => {
                to(State::Enabled)
            }
            (Kind::Student | Kind::Staff, Some(_)) => {
                Outcome::Skip("has left the school (by the SIS)".into())
            }
            (Kind::Contact, Some(Reason::AllChildrenLeft)) => {
                Outcome::Skip("none of their children is at the school".into())
            }
            (Kind::Contact, Some(why)) => Outcome::Skip(why.text()),
        },
        OfficeAction::Disable if account.state == State::Recycled => Outcome::Unchanged,
        OfficeAction::Disable => to(State::Disabled),
        OfficeAction::Suspend | OfficeAction::Archive if account.state == State::Recycled => {
            binned()
        }
        OfficeAction::Suspend => to(State::Suspended),
        OfficeAction::Archive => to(State::Archived),
        OfficeAction::Restore if account.state != State::Recycled => {
            Outcome::Skip("not in the recycle bin".into())
        }
        OfficeAction::Restore => to(State::Disabled),
    }
}

/// Whether an invitation email was sent, and accepted (the owner activated
/// the account from it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Invitation {
    #[default]
    NotSent,
    Sent,
    Accepted,
}

impl Invitation {
    pub fn as_str(self) -> &'static str {
        match self {
            Invitation::NotSent => "not_sent",
            Invitation::Sent => "sent",
            Invitation::Accepted => "accepted",
        }
    }

    pub fn parse(s: &str) -> Invitation {
        match s {
            "sent" => Invitation::Sent,
            "accepted" => Invitation::Accepted,
            _ => Invitation::NotSent,
        }
    }
}

/// How far an account has been handed out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HandoutState {
    pub invitation: Invitation,
    pub letter_printed: bool,
    pub signed_in: bool,
}

impl HandoutState {
    /// NEW: nobody has been given the account yet, nor used it.
    pub fn is_new(self) -> bool {
        !self.letter_printed && !self.signed_in && self.invitation == Invitation::NotSent
    }
}

/// Something that hands an account out (or takes that back).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandoutEvent {
    LetterPrinted,
    InvitationSent,
    InvitationAccepted,
    SignedIn,
    /// The office marks the invitation as not sent (to send it again); an
    /// accepted one stays accepted.
    InvitationCleared,
}

/// The account's handout after `event`; NEW follows ([`HandoutState::is_new`]).
pub fn handed_out(h: HandoutState, event: HandoutEvent) -> HandoutState {
    let mut h = h;
    match event {
        HandoutEvent::LetterPrinted => h.letter_printed = true,
        HandoutEvent::InvitationSent if h.invitation == Invitation::NotSent => {
            h.invitation = Invitation::Sent
        }
        HandoutEvent::InvitationSent => {}
        HandoutEvent::InvitationAccepted => h.invitation = Invitation::Accepted,
        HandoutEvent::SignedIn => h.signed_in = true,
        // An accepted invitation was used: there is nothing to send again.
        HandoutEvent::InvitationCleared if h.invitation == Invitation::Accepted => {}
        HandoutEvent::InvitationCleared => h.invitation = Invitation::NotSent,
    }
    h
}

#[cfg(test)]
mod tests;
