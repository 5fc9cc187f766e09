//! The lifecycle rules as tables: every kind, status, state and standing.

use super::*;

const NOW: &str = "2026-12-01T09:00:00.000Z";
const LONG_AGO: &str = "2026-08-01T09:00:00.000Z"; // 122 days before NOW
const LATELY: &str = "2026-11-20T09:00:00.000Z"; // 11 days before NOW

const RULES: Rules = Rules {
    parent_contacts: ParentContacts::All,
    recycle_after_days: 90,
};

/// A parent in good standing: linked, responsible, primary, a child at school.
const PARENT: Links = Links {
    linked: true,
    responsible: true,
    responsible_primary: true,
    current_children: 1,
    access_restricted: false,
    no_reports: false,
};

fn standing(kind: Kind, status: Status, links: Links) -> Standing {
    Standing {
        kind,
        status,
        has_email: true,
        links,
    }
}

fn account(state: State, reason: Reason, since: &str) -> Account {
    Account {
        state,
        reason,
        since: since.into(),
        flags: Flags::default(),
    }
}

fn change(state: State, reason: Reason, change: Transition) -> Decision {
    Decision::Change {
        state,
        reason,
        flags: Flags::default(),
        change,
    }
}

#[test]
fn generate_decides_as_the_table_says() {
    use Kind::{Contact, Staff, Student};
    use Reason as R;
    use State::{Archived, Disabled, Enabled, Recycled, Suspended};
    use Status::{Active, Future, Inactive, Leaving, Left};
    let no_links = Links::default();
    let relative = Links {
        responsible: false,
        responsible_primary: false,
        ..PARENT
    };
    let children_left = Links {
        current_children: 0,
        ..PARENT
    };
    let secondary = Links {
        responsible_primary: false,
        ..PARENT
    };
    let new = |state, reason| Decision::Create {
        state,
        reason,
        flags: Flags {
            new: true,
            ..Flags::default()
        },
    };
    #[rustfmt::skip]
    let table: Vec<(&str, Option<Account>, Standing, Decision)> = vec![
        // Who gets an account.
        ("a current student", None, standing(Student, Active, no_links), new(Enabled, R::None)),
        ("a student starting later", None, standing(Student, Future, no_links), new(Disabled, R::StartsLater)),
        ("a leaver", None, standing(Student, Left, no_links), Decision::Nothing),
        ("a student leaving", None, standing(Student, Leaving, no_links), Decision::Nothing),
        ("current staff", None, standing(Staff, Active, no_links), new(Enabled, R::None)),
        ("inactive staff", None, standing(Staff, Inactive, no_links), Decision::Nothing),
        ("a parent", None, standing(Contact, Active, PARENT), new(Disabled, R::WaitingForReview)),
        ("a parent without email", None, Standing { has_email: false, ..standing(Contact, Active, PARENT) }, Decision::Nothing),
        ("a relative", None, standing(Contact, Active, relative), Decision::Nothing),
        ("a contact linked to nobody", None, standing(Contact, Active, no_links), Decision::Nothing),
        ("a parent whose children left", None, standing(Contact, Active, children_left), Decision::Nothing),
        ("a parent who left", None, standing(Contact, Left, PARENT), Decision::Nothing),
        // Students and staff follow the SIS.
        ("an enabled student stays", Some(account(Enabled, R::None, LATELY)), standing(Student, Active, no_links), Decision::Keep),
        ("an enabled leaver is disabled", Some(account(Enabled, R::None, LATELY)), standing(Student, Left, no_links), change(Disabled, R::LeftTheSchool, Transition::Disable)),
        ("an enabled student now starting later stays", Some(account(Enabled, R::None, LATELY)), standing(Student, Future, no_links), Decision::Keep),
        ("a returner is enabled", Some(account(Disabled, R::LeftTheSchool, LATELY)), standing(Student, Active, no_links), change(Enabled, R::None, Transition::Enable)),
        ("a starter is enabled", Some(account(Disabled, R::StartsLater, LONG_AGO)), standing(Staff, Active, no_links), change(Enabled, R::None, Transition::Enable)),
        ("one starting later waits (never recycled)", Some(account(Disabled, R::StartsLater, LONG_AGO)), standing(Student, Future, no_links), Decision::Keep),
        ("a leaver who now starts later", Some(account(Disabled, R::LeftTheSchool, LATELY)), standing(Student, Future, no_links), change(Disabled, R::StartsLater, Transition::Review)),
        ("a leaver in the grace period waits", Some(account(Disabled, R::LeftTheSchool, LATELY)), standing(Student, Left, no_links), Decision::Keep),
        ("a leaver past the grace period is recycled", Some(account(Disabled, R::LeftTheSchool, LONG_AGO)), standing(Student, Left, no_links), change(Recycled, R::Recycled(90), Transition::Recycle)),
        ("the office's disable stays", Some(account(Disabled, R::ByOffice(OfficeAction::Disable), LATELY)), standing(Student, Active, no_links), Decision::Keep),
        ("an office-disabled leaver is recycled in time", Some(account(Disabled, R::ByOffice(OfficeAction::Disable), LONG_AGO)), standing(Staff, Left, no_links), change(Recycled, R::Recycled(90), Transition::Recycle)),
        ("an unknown reason stays", Some(account(Disabled, R::Other("by hand".into()), LATELY)), standing(Student, Active, no_links), Decision::Keep),
        // A parent follows their own standing.
        ("an enabled parent stays", Some(account(Enabled, R::ByOffice(OfficeAction::Enable), LATELY)), standing(Contact, Active, PARENT), Decision::Keep),
        ("responsibility withdrawn", Some(account(Enabled, R::None, LATELY)), standing(Contact, Active, relative), change(Disabled, R::NoResponsibility, Transition::Disable)),
        ("no longer linked", Some(account(Enabled, R::None, LATELY)), standing(Contact, Active, no_links), change(Disabled, R::NotLinked, Transition::Disable)),
        ("the parent left", Some(account(Enabled, R::None, LATELY)), standing(Contact, Inactive, PARENT), change(Disabled, R::ContactLeft, Transition::Disable)),
        ("all their children left", Some(account(Enabled, R::None, LATELY)), standing(Contact, Active, children_left), change(Disabled, R::AllChildrenLeft, Transition::Disable)),
        ("waiting for review, then responsibility withdrawn", Some(account(Disabled, R::WaitingForReview, LATELY)), standing(Contact, Active, relative), change(Disabled, R::NoResponsibility, Transition::Review)),
        ("responsibility granted again", Some(account(Disabled, R::NoResponsibility, LATELY)), standing(Contact, Active, PARENT), change(Disabled, R::WaitingForReview, Transition::Review)),
        ("linked again", Some(account(Disabled, R::NotLinked, LATELY)), standing(Contact, Active, PARENT), change(Disabled, R::WaitingForReview, Transition::Review)),
        ("a child back at school", Some(account(Disabled, R::AllChildrenLeft, LATELY)), standing(Contact, Active, PARENT), change(Disabled, R::WaitingForReview, Transition::Review)),
        ("still waiting for review", Some(account(Disabled, R::WaitingForReview, LONG_AGO)), standing(Contact, Active, PARENT), Decision::Keep),
        ("a parent unlinked past the grace period", Some(account(Disabled, R::NotLinked, LONG_AGO)), standing(Contact, Active, no_links), change(Recycled, R::Recycled(90), Transition::Recycle)),
        ("responsibility withdrawn long ago: kept, disabled", Some(account(Disabled, R::NoResponsibility, LONG_AGO)), standing(Contact, Active, relative), Decision::Keep),
        ("long waiting for review, then unlinked: the reason first", Some(account(Disabled, R::WaitingForReview, LONG_AGO)), standing(Contact, Active, no_links), change(Disabled, R::NotLinked, Transition::Review)),
        ("long starting later, then left: the reason first", Some(account(Disabled, R::StartsLater, LONG_AGO)), standing(Student, Left, no_links), change(Disabled, R::LeftTheSchool, Transition::Review)),
        ("primary only: a secondary contact", Some(account(Enabled, R::None, LATELY)), standing(Contact, Active, secondary), Decision::Keep),
        // The office's states and the bin never change by themselves.
        ("suspended stays suspended", Some(account(Suspended, R::ByOffice(OfficeAction::Suspend), LONG_AGO)), standing(Student, Left, no_links), Decision::Keep),
        ("archived stays archived", Some(account(Archived, R::ByOffice(OfficeAction::Archive), LONG_AGO)), standing(Contact, Left, no_links), Decision::Keep),
        ("recycled stays recycled", Some(account(Recycled, R::Recycled(90), LONG_AGO)), standing(Student, Active, no_links), Decision::Keep),
    ];
    for (name, account, standing, expected) in table {
        let got = decide(account.as_ref(), &standing, &RULES, NOW);
        assert_eq!(got, expected, "{name}");
    }
    // Under a primary-contacts-only policy, a secondary contact loses it.
    let primary_only = Rules {
        parent_contacts: ParentContacts::PrimaryOnly,
        ..RULES
    };
    let enabled = account(Enabled, R::None, LATELY);
    assert_eq!(
        decide(
            Some(&enabled),
            &standing(Contact, Active, secondary),
            &primary_only,
            NOW
        ),
        change(Disabled, R::NotPrimary, Transition::Disable)
    );
    assert_eq!(
        decide(
            None,
            &standing(Contact, Active, secondary),
            &primary_only,
            NOW
        ),
        Decision::Nothing
    );
}

#[test]
fn flags_follow_the_links_as_they_stand() {
    let restricted = Links {
        access_restricted: true,
        no_reports: true,
        ..PARENT
    };
    let new_parent = decide(
        None,
        &standing(Kind::Contact, Status::Active, restricted),
        &RULES,
        NOW,
    );
    assert!(
        matches!(new_parent, Decision::Create { flags, .. } if flags.names() == ["NEW", "AR", "NR"])
    );
    // A student's links carry AR too, never NR (reports are a parent's).
    let student = standing(Kind::Student, Status::Active, restricted);
    assert!(
        matches!(decide(None, &student, &RULES, NOW), Decision::Create { flags, .. } if flags.names() == ["NEW", "AR"])
    );
    // The restriction is lifted: only the flags change; NEW stays as it was.
    let mut a = account(
        State::Suspended,
        Reason::ByOffice(OfficeAction::Suspend),
        LATELY,
    );
    a.flags = Flags::parse("NEW,AR,NR");
    let lifted = decide(
        Some(&a),
        &standing(Kind::Contact, Status::Active, PARENT),
        &RULES,
        NOW,
    );
    assert_eq!(
        lifted,
        Decision::Change {
            state: State::Suspended,
            reason: Reason::ByOffice(OfficeAction::Suspend),
            flags: Flags::parse("NEW"),
            change: Transition::Flags,
        }
    );
}

/// Every combination of kind, status, state, reason and links.
fn every_case() -> Vec<(Option<Account>, Standing)> {
    let links = [
        Links::default(),
        PARENT,
        Links {
            responsible: false,
            responsible_primary: false,
            ..PARENT
        },
        Links {
            current_children: 0,
            ..PARENT
        },
        Links {
            responsible_primary: false,
            ..PARENT
        },
        Links {
            access_restricted: true,
            no_reports: true,
            ..PARENT
        },
    ];
    let reasons = [
        Reason::None,
        Reason::WaitingForReview,
        Reason::StartsLater,
        Reason::LeftTheSchool,
        Reason::AllChildrenLeft,
        Reason::NoResponsibility,
        Reason::NotLinked,
        Reason::ContactLeft,
        Reason::Recycled(90),
        Reason::ByOffice(OfficeAction::Disable),
        Reason::ByOffice(OfficeAction::Suspend),
    ];
    let statuses = [
        Status::Active,
        Status::Future,
        Status::Leaving,
        Status::Left,
        Status::Inactive,
    ];
    let mut out = Vec::new();
    for kind in [Kind::Student, Kind::Staff, Kind::Contact] {
        for status in statuses {
            for l in links {
                for has_email in [true, false] {
                    let s = Standing {
                        kind,
                        status,
                        has_email,
                        links: l,
                    };
                    out.push((None, s));
                    for state in State::ALL {
                        for reason in &reasons {
                            for since in [LATELY, LONG_AGO, ""] {
                                for new in [true, false] {
                                    let mut a = account(state, reason.clone(), since);
                                    a.flags.new = new;
                                    out.push((Some(a), s));
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

/// The account after `d` (None: no account).
fn after(account: Option<&Account>, d: &Decision) -> Option<Account> {
    match d {
        Decision::Nothing => None,
        Decision::Keep => account.cloned(),
        Decision::Create {
            state,
            reason,
            flags,
        }
        | Decision::Change {
            state,
            reason,
            flags,
            ..
        } => {
            let changed_state = account.is_none_or(|a| a.state != *state || a.reason != *reason);
            Some(Account {
                state: *state,
                reason: reason.clone(),
                since: if changed_state {
                    NOW.into()
                } else {
                    account.unwrap().since.clone()
                },
                flags: *flags,
            })
        }
    }
}

#[test]
fn in_every_case_the_safeguards_hold() {
    for policy in [ParentContacts::All, ParentContacts::PrimaryOnly] {
        let rules = Rules {
            parent_contacts: policy,
            ..RULES
        };
        for (account, standing) in every_case() {
            let d = decide(account.as_ref(), &standing, &rules, NOW);
            let case = format!("{account:?} {standing:?} {policy:?}: {d:?}");
            let next = after(account.as_ref(), &d);
            if let (Some(a), Some(n)) = (&account, &next) {
                // The office's states and the bin never change by themselves.
                if matches!(
                    a.state,
                    State::Suspended | State::Archived | State::Recycled
                ) {
                    assert_eq!((n.state, &n.reason), (a.state, &a.reason), "{case}");
                }
                // NEW is the handout's business, never generation's.
                assert_eq!(n.flags.new, a.flags.new, "{case}");
            }
            // Nothing is ever deleted: an account always has a next state.
            if account.is_some() {
                assert!(
                    !matches!(d, Decision::Nothing | Decision::Create { .. }),
                    "{case}"
                );
            }
            if let Some(n) = &next {
                // A parent never becomes enabled by generation.
                if standing.kind == Kind::Contact
                    && account.as_ref().is_none_or(|a| a.state != State::Enabled)
                {
                    assert_ne!(n.state, State::Enabled, "{case}");
                }
                // An enabled account always stands (or only starts later).
                if n.state == State::Enabled
                    && account.as_ref().is_none_or(|a| a.state != State::Enabled)
                {
                    assert_eq!(not_standing(&standing, &rules), None, "{case}");
                }
            }
            // Nobody out of standing gets a new account in use.
            if account.is_none() {
                if let Decision::Create { state, .. } = &d {
                    assert!(
                        *state != State::Enabled || not_standing(&standing, &rules).is_none(),
                        "{case}"
                    );
                }
            }
            // Deciding again on what it decided changes nothing more.
            let again = decide(next.as_ref(), &standing, &rules, NOW);
            assert!(
                matches!(again, Decision::Keep | Decision::Nothing),
                "{case} then {again:?}"
            );
        }
    }
}

#[test]
fn the_grace_period_counts_from_when_the_account_was_disabled() {
    let left = standing(Kind::Student, Status::Left, Links::default());
    for (since, days, recycled) in [
        ("2026-09-01T09:00:00.000Z", 90, true),  // 91 days
        ("2026-09-03T09:00:00.000Z", 90, false), // 89 days
        ("2026-11-30T09:00:00.000Z", 0, true),
        ("", 0, false), // unknown: never
    ] {
        let rules = Rules {
            recycle_after_days: days,
            ..RULES
        };
        let a = account(State::Disabled, Reason::LeftTheSchool, since);
        let d = decide(Some(&a), &left, &rules, NOW);
        assert_eq!(
            matches!(
                d,
                Decision::Change {
                    change: Transition::Recycle,
                    ..
                }
            ),
            recycled,
            "{since} with {days} days: {d:?}"
        );
    }
}

/// Only enabling asks where someone stands: a batch of any other office
/// action reads no links (accounts::batch relies on this).
#[test]
fn only_enabling_depends_on_standing() {
    use OfficeAction::*;
    for action in [Disable, Suspend, Archive, Restore] {
        for (account, standing) in every_case() {
            let Some(account) = account else { continue };
            let without_links = Standing {
                links: Links::default(),
                ..standing
            };
            assert_eq!(
                office(&account, &standing, &RULES, action),
                office(&account, &without_links, &RULES, action),
                "{action:?} {account:?} {standing:?}"
            );
        }
    }
}

#[test]
fn office_actions_as_the_table_says() {
    use OfficeAction::*;
    use State::*;
    let student = standing(Kind::Student, Status::Active, Links::default());
    let leaver = standing(Kind::Student, Status::Left, Links::default());
    let starter = standing(Kind::Student, Status::Future, Links::default());
    let parent = standing(Kind::Contact, Status::Active, PARENT);
    let relative = standing(
        Kind::Contact,
        Status::Active,
        Links {
            responsible: false,
            ..PARENT
        },
    );
    let orphaned = standing(
        Kind::Contact,
        Status::Active,
        Links {
            current_children: 0,
            ..PARENT
        },
    );
    let by = |a| Reason::ByOffice(a);
    let to = |state, a| Outcome::Change {
        state,
        reason: by(a),
    };
    let skip = |why: &'static str| Outcome::Skip(why.into());
    #[rustfmt::skip]
    let table = [
        (Disabled, &student, Enable, to(Enabled, Enable)),
        (Disabled, &starter, Enable, to(Enabled, Enable)),
        (Disabled, &leaver, Enable, skip("has left the school (by the SIS)")),
        (Suspended, &student, Enable, to(Enabled, Enable)),
        (Enabled, &student, Enable, Outcome::Unchanged),
        (Recycled, &student, Enable, skip("in the recycle bin: restore it first")),
        (Disabled, &parent, Enable, to(Enabled, Enable)),
        (Disabled, &relative, Enable, skip("no longer has parental responsibility")),
        (Disabled, &orphaned, Enable, skip("none of their children is at the school")),
        (Enabled, &student, Disable, to(Disabled, Disable)),
        (Disabled, &student, Disable, Outcome::Unchanged),
        (Recycled, &student, Disable, Outcome::Unchanged),
        (Enabled, &leaver, Suspend, to(Suspended, Suspend)),
        (Recycled, &student, Suspend, skip("in the recycle bin: restore it first")),
        (Enabled, &student, Archive, to(Archived, Archive)),
        (Archived, &student, Archive, Outcome::Unchanged),
        (Recycled, &leaver, Restore, to(Disabled, Restore)),
        (Enabled, &student, Restore, skip("not in the recycle bin")),
    ];
    for (state, standing, action, expected) in table {
        let a = account(state, Reason::None, LATELY);
        assert_eq!(
            office(&a, standing, &RULES, action),
            expected,
            "{state:?} {action:?} {standing:?}"
        );
    }
}

#[test]
fn new_clears_when_an_account_is_handed_out_and_comes_back_when_the_invitation_is_cleared() {
    use HandoutEvent::*;
    let fresh = HandoutState::default();
    assert!(fresh.is_new());
    #[rustfmt::skip]
    let table = [
        (vec![LetterPrinted], Invitation::NotSent, false),
        (vec![InvitationSent], Invitation::Sent, false),
        (vec![InvitationSent, InvitationAccepted], Invitation::Accepted, false),
        (vec![SignedIn], Invitation::NotSent, false),
        (vec![InvitationSent, InvitationCleared], Invitation::NotSent, true),
        (vec![LetterPrinted, InvitationSent, InvitationCleared], Invitation::NotSent, false),
        (vec![InvitationSent, SignedIn, InvitationCleared], Invitation::NotSent, false),
        (vec![InvitationAccepted, InvitationSent], Invitation::Accepted, false),
        (vec![InvitationCleared], Invitation::NotSent, true),
        (vec![InvitationSent, InvitationAccepted, InvitationCleared], Invitation::Accepted, false),
    ];
    for (events, invitation, new) in table {
        let h = events.iter().fold(fresh, |h, e| handed_out(h, *e));
        assert_eq!((h.invitation, h.is_new()), (invitation, new), "{events:?}");
    }
}

#[test]
fn reasons_and_flags_read_back_as_written() {
    for r in [
        Reason::None,
        Reason::WaitingForReview,
        Reason::NoResponsibility,
        Reason::NotLinked,
        Reason::ContactLeft,
        Reason::Recycled(90),
        Reason::ByOffice(OfficeAction::Restore),
        Reason::Other("set by hand".into()),
    ] {
        assert_eq!(Reason::parse(&r.text()), r);
    }
    assert_eq!(
        Reason::NoResponsibility.text(),
        "no longer has parental responsibility"
    );
    assert_eq!(Flags::parse("NEW,AR").text(), "NEW,AR");
    assert_eq!(Flags::parse(""), Flags::default());
}
