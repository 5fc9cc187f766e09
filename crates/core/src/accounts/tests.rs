//! Unit tests of accounts against a real encrypted database.

use super::*;
use crate::error::Error;
use crate::people::Kind;
use crate::store::Store;

/// The first `n` people of `kind` (in list order) whose account is `state`.
fn first(store: &Store, kind: Kind, state: &str, n: u64) -> Vec<crate::people::ListedPerson> {
    let q = crate::people::PeopleQuery {
        kind: Some(kind),
        state: Some(state.into()),
        limit: Some(n),
        ..Default::default()
    };
    crate::people::list(store.conn(), &q).unwrap()
}

#[test]
fn a_reset_whose_secrets_cannot_be_delivered_changes_nothing() {
    let (_dir, mut store, _) = crate::testing::demo_school(40);
    let students = crate::people::PeopleQuery {
        kind: Some(Kind::Student),
        state: Some("enabled".into()),
        limit: Some(3),
        ..Default::default()
    };
    let log = |s: &Store| crate::audit::count(s.conn()).unwrap();
    let before = log(&store);
    let failed = reset(
        &mut store,
        "test",
        &students,
        false,
        &mut |_, _| true,
        &mut |_| Err(Error::Invalid("the disk is full".into())),
    );
    assert!(failed.is_err());
    assert_eq!(log(&store), before, "no entry, no secret set");
    let set: i64 = store
        .conn()
        .query_row(
            "SELECT count(*) FROM account WHERE password_hash IS NOT NULL
                                            OR activation_hash IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(set, 0);

    let mut delivered = Vec::new();
    let done = reset(
        &mut store,
        "test",
        &students,
        false,
        &mut |_, _| true,
        &mut |h| {
            delivered.extend(h.iter().map(|h| h.username.clone()));
            Ok(())
        },
    )
    .unwrap();
    assert_eq!((done.changed, delivered.len()), (3, 3));
    assert_eq!(log(&store), before + 3);
}

#[test]
fn renaming_checks_the_new_name_and_retires_the_old_one() {
    let (_dir, mut store, _) = crate::testing::demo_school(40);
    let listed = first(&store, Kind::Student, "enabled", 2);
    let (a, b) = (&listed[0], &listed[1]);
    let (a_name, b_name) = (a.username.clone().unwrap(), b.username.clone().unwrap());
    let given = |u: &str| NewUsername::Given(u.into());
    for (bad, why) in [
        (b_name.to_uppercase(), "is taken"),
        ("con".to_owned(), "reserved"),
        ("zoë".to_owned(), "is not a username"),
        ("x".repeat(200), "longer than"),
    ] {
        let err = rename(&mut store, "test", a.id, &given(&bad), false).unwrap_err();
        assert!(err.to_string().contains(why), "{bad}: {err}");
    }
    let dry = rename(&mut store, "test", a.id, &given("zoe.new"), true).unwrap();
    assert_eq!(
        (dry.from.as_str(), dry.to.as_str()),
        (a_name.as_str(), "zoe.new")
    );
    let username = |store: &Store, id| -> String {
        store
            .conn()
            .query_row(
                "SELECT username FROM account WHERE person_id = ?1",
                [id],
                |r| r.get(0),
            )
            .unwrap()
    };
    assert_eq!(username(&store, a.id), a_name, "a dry run changes nothing");
    rename(&mut store, "test", a.id, &given("zoe.new"), false).unwrap();
    assert_eq!(username(&store, a.id), "zoe.new");
    // The old name is retired: nobody else gets it for a year.
    let err = rename(&mut store, "test", b.id, &given(&a_name), false).unwrap_err();
    assert!(
        err.to_string().contains("given up less than a year ago"),
        "{err}"
    );
    // Back to what the policy gives: its old name is retired, so a new one.
    let back = rename(&mut store, "test", a.id, &NewUsername::ByPolicy, false).unwrap();
    assert_ne!(back.to, "zoe.new");
    let created = history(store.conn(), a.id)
        .unwrap()
        .into_iter()
        .find(|e| e.action == "account.create")
        .and_then(|e| e.after)
        .unwrap();
    assert_eq!(
        created["username"].as_str(),
        Some(a_name.as_str()),
        "as created"
    );
}

#[test]
fn generating_reports_its_steps_and_can_be_cancelled() {
    let (_dir, mut store, _) = crate::testing::imported_school(40);
    let count = |s: &Store| -> i64 {
        s.conn()
            .query_row("SELECT count(*) FROM account", [], |r| r.get(0))
            .unwrap()
    };
    let mut steps = Vec::new();
    let stopped = generate(&mut store, "test", false, false, &mut |step| {
        steps.push(step);
        !matches!(step, Step::Saving { .. })
    });
    assert!(
        matches!(stopped, Err(Error::Cancelled)),
        "{:?}",
        stopped.err()
    );
    assert_eq!(count(&store), 0, "cancelled: nothing written");
    let journal = |s: &Store| -> String {
        s.conn()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(
        journal(&store),
        "wal",
        "back from a first run's rollback journal"
    );
    assert_eq!(steps[0], Step::Reading);
    assert!(matches!(steps[1], Step::Deciding { done: 0, total } if total > 40));

    let mut last = None;
    let done = generate(&mut store, "test", false, false, &mut |step| {
        last = Some(step);
        true
    })
    .unwrap();
    assert_eq!(count(&store), done.created as i64);
    assert_eq!(journal(&store), "wal");
    assert!(matches!(last, Some(Step::Saving { done: 0, total }) if total as u64 == done.created));
}

#[test]
fn an_account_creation_entry_reads_back_as_created() {
    let (_dir, mut store, _) = crate::testing::demo_school(40);
    let parent = first(&store, Kind::Contact, "disabled", 1).remove(0);
    let one = crate::people::PeopleQuery {
        sis_ids: vec![parent.sis_id.clone()],
        kind: Some(Kind::Contact),
        ..Default::default()
    };
    batch(&mut store, "test", &Action::Enable, &one, false).unwrap();
    batch(
        &mut store,
        "test",
        &Action::ForcePasswordChange,
        &one,
        false,
    )
    .unwrap();
    let created = |store: &Store| {
        history(store.conn(), parent.id)
            .unwrap()
            .into_iter()
            .find(|e| e.action == "account.create")
            .and_then(|e| e.after)
            .unwrap()
    };
    let after = created(&store);
    assert_eq!(after["state"], "disabled", "{after}");
    assert_eq!(after["reason"], "waiting for review");
    assert_eq!(after["group"], "Parents");
    assert_eq!(after["flags"], "NEW");
    assert_eq!(after["username"].as_str(), parent.username.as_deref());
    // A group's rename does not rewrite the account's history.
    store
        .write("test", |w| rename_group(w, "Parents", "Carers"))
        .unwrap();
    assert_eq!(created(&store)["group"], "Parents");

    // Deleted for good, it is still in the log as it was created.
    store
        .write("test", |w| {
            w.conn().execute(
                "UPDATE account SET state = 'recycled' WHERE person_id = ?1",
                [parent.id],
            )?;
            w.audit(
                "account.recycle",
                "account",
                &format!("parent:{}", parent.sis_id),
                Some(r#"{"state":"enabled","reason":"enabled by the office"}"#),
                Some(r#"{"state":"recycled"}"#),
            )
        })
        .unwrap();
    delete_permanently(&mut store, "test", Kind::Contact, &parent.sis_id, None).unwrap();
    let after = created(&store);
    assert_eq!(
        (after["state"].as_str(), after["group"].as_str()),
        (Some("disabled"), Some("Parents"))
    );
}

/// (The roster is people's; what it does after account changes is tested here.)
#[test]
fn account_changes_are_patched_in_and_anything_else_reloads() {
    let (dir, store, key) = crate::testing::demo_school(400);
    let roster = Roster::load(store.conn()).unwrap();
    let nothing = roster.refreshed(store.conn()).unwrap().unwrap();
    assert_eq!(nothing.len(), roster.len());

    // The office's usual changes, through another connection.
    let mut other = crate::Store::open(&dir.path().join("k.db"), &key).unwrap();
    let parents = PeopleQuery {
        kind: Some(Kind::Contact),
        limit: Some(30),
        ..Default::default()
    };
    use crate::accounts;
    use crate::people::roster::{Roster, Sort, SortBy};
    use crate::people::{self, PeopleQuery};
    accounts::batch(&mut other, "test", &Action::Enable, &parents, false).unwrap();
    other
        .write("test", |w| accounts::create_group(w, "Year 7 parents"))
        .unwrap();
    let some = PeopleQuery {
        kind: Some(Kind::Contact),
        state: Some("disabled".into()),
        limit: Some(5),
        ..Default::default()
    };
    accounts::batch(
        &mut other,
        "test",
        &Action::MoveGroup("Year 7 parents".into()),
        &some,
        false,
    )
    .unwrap();
    let one = people::list(store.conn(), &some).unwrap().remove(0);
    accounts::rename(
        &mut other,
        "test",
        one.id,
        &accounts::NewUsername::Given("zz.renamed".into()),
        false,
    )
    .unwrap();

    let patched = roster
        .refreshed(store.conn())
        .unwrap()
        .expect("patched, not reloaded");
    let fresh = Roster::load(store.conn()).unwrap();
    assert!(patched.is_current(store.conn()).unwrap());
    for (q, sort) in [
        (
            PeopleQuery {
                state: Some("enabled".into()),
                ..Default::default()
            },
            Sort::default(),
        ),
        (
            PeopleQuery {
                state: Some("disabled".into()),
                ..Default::default()
            },
            Sort::default(),
        ),
        (
            PeopleQuery {
                group: Some("year 7 parents".into()),
                ..Default::default()
            },
            Sort::default(),
        ),
        (
            PeopleQuery {
                search: Some("zz.renamed".into()),
                ..Default::default()
            },
            Sort::default(),
        ),
        (
            PeopleQuery::default(),
            Sort {
                by: SortBy::Username,
                descending: false,
            },
        ),
        (
            PeopleQuery::default(),
            Sort {
                by: SortBy::Group,
                descending: true,
            },
        ),
    ] {
        assert_eq!(
            patched.query(&q, sort),
            fresh.query(&q, sort),
            "{q:?} {sort:?}"
        );
    }
    assert_eq!(
        patched
            .query(
                &PeopleQuery {
                    search: Some("zz.renamed".into()),
                    ..Default::default()
                },
                Sort::default()
            )
            .matching,
        1
    );

    // People changing (an import, a rollback) is a full load.
    other
        .write("test", |w| {
            w.conn()
                .execute("UPDATE person SET year_level = 'X' WHERE id = ?1", [one.id])?;
            w.audit("person.update", "person", "x", None, None)
        })
        .unwrap();
    assert!(patched.refreshed(store.conn()).unwrap().is_none());
}

#[test]
fn clearing_an_invitation_brings_new_back_and_an_accepted_one_stays() {
    let (_dir, mut store, _) = crate::testing::demo_school(40);
    let student = first(&store, Kind::Student, "enabled", 1).remove(0);
    let one = crate::people::PeopleQuery {
        ids: vec![student.id],
        ..Default::default()
    };
    let set_invitation = |store: &mut Store, value: &str, flags: &str| {
        store
            .write("test", |w| {
                w.conn().execute(
                    "UPDATE account SET invitation = ?2, flags = ?3 WHERE person_id = ?1",
                    rusqlite::params![student.id, value, flags],
                )?;
                Ok::<_, Error>(())
            })
            .unwrap()
    };
    set_invitation(&mut store, "sent", "");
    let done = batch(&mut store, "test", &Action::ClearInvitation, &one, false).unwrap();
    assert_eq!((done.changed, done.skipped), (1, 0));
    let entry = history(store.conn(), student.id)
        .unwrap()
        .into_iter()
        .rev()
        .find(|e| e.action == "account.clear-invitation")
        .unwrap();
    let (before, after) = (entry.before.unwrap(), entry.after.unwrap());
    assert_eq!(before["invitation"], "sent", "{before}");
    assert_eq!(before["flags"], "", "{before}");
    assert_eq!(after["invitation"], "not_sent", "{after}");
    assert_eq!(after["flags"], "NEW", "{after}");
    assert_eq!(after["note"], "invitation marked as not sent; NEW again");
    assert!(after.get("reason").is_none(), "{after}");
    let flags: String = store
        .conn()
        .query_row(
            "SELECT flags FROM account WHERE person_id = ?1",
            [student.id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(flags, "NEW");

    // Accepted: the account is in use; nothing to send again.
    set_invitation(&mut store, "accepted", "");
    let done = batch(&mut store, "test", &Action::ClearInvitation, &one, false).unwrap();
    assert_eq!((done.changed, done.skipped), (0, 1));
    assert!(
        done.entries[0].reason.contains("accepted"),
        "{:?}",
        done.entries
    );
}
