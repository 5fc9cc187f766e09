//! Times the Accounts screen's page query as the app runs it: the roster of
//! everyone is loaded once (and again after each change to the database),
//! then each filter, search or sort is answered from it and the page's 100
//! rows are read from the database. Cold is the first run of a query (for a
//! sort, the first by that column), warm the median of 5 more.
//!
//!     KEYROLL_DB_KEY=… cargo run --release -p keyroll-core --example list_queries -- DB
//!
//! (bench/accounts.sh runs it.)

use std::time::{Duration, Instant};

use keyroll_core::people::roster::{Roster, Sort, SortBy};
use keyroll_core::people::{self, Kind, PeopleQuery};

fn main() -> keyroll_core::Result<()> {
    let db = std::env::args().nth(1).expect("usage: list_queries DB");
    let store = keyroll_core::open(Some(std::path::Path::new(&db)))?;
    // The app's reader connection uses this cache size (src-tauri/state.rs).
    store.conn().execute_batch("PRAGMA cache_size = -98304")?;
    let t = Instant::now();
    let roster = std::sync::Arc::new(Roster::load(store.conn())?);
    let load = t.elapsed();
    // As the app does: the sort orders are worked out on a spare thread.
    let sorts = roster.clone();
    std::thread::spawn(move || sorts.prepare_sorts());
    let sorted = |by, descending| (PeopleQuery::default(), Sort { by, descending });
    let queries: Vec<(&str, (PeopleQuery, Sort))> = vec![
        ("everyone", (PeopleQuery::default(), Sort::default())),
        (
            "--kind parent --state disabled",
            with_default_sort(PeopleQuery {
                kind: Some(Kind::Contact),
                state: Some("disabled".into()),
                ..Default::default()
            }),
        ),
        (
            "--new --group Students --year 07",
            with_default_sort(PeopleQuery {
                new: true,
                group: Some("Students".into()),
                year: Some("07".into()),
                ..Default::default()
            }),
        ),
        ("--search smith", with_default_sort(search("smith"))),
        (
            "--search o'brien --kind student",
            with_default_sort(PeopleQuery {
                kind: Some(Kind::Student),
                ..search("o'brien")
            }),
        ),
        (
            "--search zoe.camp (a username)",
            with_default_sort(search("zoe.camp")),
        ),
        (
            "--search zzzz-nobody",
            with_default_sort(search("zzzz-nobody")),
        ),
        (
            "sorted by account (username)",
            sorted(SortBy::Username, false),
        ),
        ("sorted by year, descending", sorted(SortBy::Year, true)),
    ];
    println!(
        "| Accounts screen page query (count + 100 rows) | cold (ms) | warm, median of 5 (ms) | goal |"
    );
    println!("|---|---:|---:|---:|");
    println!(
        "| loading the roster of {} people (once, and after each change) | {} | | |",
        roster.len(),
        load.as_millis()
    );
    for (what, (q, sort)) in queries {
        let q = PeopleQuery {
            limit: Some(100),
            ..q
        };
        let run = || -> keyroll_core::Result<Duration> {
            let t = Instant::now();
            let page = roster.query(&q, sort);
            let rows = people::by_ids(store.conn(), &page.ids)?;
            assert_eq!(rows.len(), page.ids.len());
            Ok(t.elapsed())
        };
        let cold = run()?;
        let mut warm: Vec<Duration> = (0..5).map(|_| run()).collect::<keyroll_core::Result<_>>()?;
        warm.sort();
        println!(
            "| {what} | {} | {} | ≤ 100 |",
            cold.as_millis(),
            warm[2].as_millis()
        );
    }
    // The office changes a few accounts (another connection, as the app's
    // writer is): the roster is brought up to date, not loaded again.
    let mut writer = keyroll_core::open(Some(std::path::Path::new(&db)))?;
    let few = PeopleQuery {
        kind: Some(Kind::Contact),
        limit: Some(20),
        ..Default::default()
    };
    let action = keyroll_core::accounts::Action::Suspend;
    keyroll_core::accounts::batch(&mut writer, "bench", &action, &few, false)?;
    let t = Instant::now();
    let patched = roster.refreshed(store.conn())?;
    println!(
        "| bringing it up to date after 20 accounts changed | {} | | |",
        t.elapsed().as_millis()
    );
    assert!(patched.is_some(), "an account change is patched in");
    Ok(())
}

fn search(s: &str) -> PeopleQuery {
    PeopleQuery {
        search: Some(s.into()),
        ..Default::default()
    }
}

fn with_default_sort(q: PeopleQuery) -> (PeopleQuery, Sort) {
    (q, Sort::default())
}
