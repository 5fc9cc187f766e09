//! A letter run against a real encrypted database: cancelled, it changes
//! nothing and leaves no file; a long one is written as parts, all or none.

use super::*;
use crate::people::{Kind, PeopleQuery};
use crate::Error;

/// What a run may change: every account's secrets, flags and hand-out.
fn accounts(store: &crate::Store) -> String {
    store
        .conn()
        .query_row(
            "SELECT group_concat(username || coalesce(password_hash, '') ||
                    coalesce(activation_hash, '') || flags || coalesce(letter_printed_at, ''), '|')
             FROM account",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

fn files_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".pdf") || n.starts_with(".keyroll-"))
        .collect();
    names.sort();
    names
}

fn parents(store: &mut crate::Store) -> Request {
    let all = PeopleQuery {
        kind: Some(Kind::Contact),
        ..Default::default()
    };
    crate::accounts::batch(store, "test", &crate::accounts::Action::Enable, &all, false).unwrap();
    Request {
        query: all,
        ..Default::default()
    }
}

#[test]
fn a_cancelled_run_changes_no_account_and_leaves_no_file() {
    let (dir, mut store, _key) = crate::testing::demo_school(40);
    let req = parents(&mut store);
    let before = accounts(&store);
    let renderer = Renderer::new();
    let out = dir.path().join("letters.pdf");
    let mut asked = 0;
    let err = print(
        &mut store,
        &renderer,
        "test",
        &req,
        &out,
        &mut |step, _, _| {
            asked += 1;
            step != "letters"
        },
    )
    .unwrap_err();
    assert!(matches!(err, Error::Cancelled), "{err}");
    assert!(asked > 0);
    assert_eq!(files_in(dir.path()), Vec::<String>::new());
    assert_eq!(accounts(&store), before);
}

#[test]
fn a_run_of_more_than_a_thousand_letters_is_written_as_parts_together() {
    let (dir, mut store, _key) = crate::testing::demo_school(1200);
    let req = parents(&mut store);
    let renderer = Renderer::new();
    let p = preview(&store, &renderer, &req).unwrap();
    assert!(p.letters > PART, "{} letters", p.letters);
    let out = dir.path().join("welcome.pdf");
    // Cancelled as the last part is laid out, the first one written: it
    // is not left behind.
    let err = print(
        &mut store,
        &renderer,
        "test",
        &req,
        &out,
        &mut |step, done, _| !(step == "letters" && done > PART),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Cancelled), "{err}");
    assert_eq!(files_in(dir.path()), Vec::<String>::new());
    let done = print(&mut store, &renderer, "test", &req, &out, &mut |_, _, _| {
        true
    })
    .unwrap();
    assert_eq!(
        files_in(dir.path()),
        vec!["welcome-part-01-of-02.pdf", "welcome-part-02-of-02.pdf"]
    );
    assert_eq!(done.files.len(), 2);
    assert_eq!(done.pages, p.letters);
    let printed: i64 = store
        .conn()
        .query_row(
            "SELECT count(*) FROM account WHERE letter_printed_at IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(printed as usize, p.letters);
}
