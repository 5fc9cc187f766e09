//! The real desktop app, driven through its real webview: tauri-driver in
//! front of WebKitWebDriver, under Xvfb (scripts/test provides both).
//!
//! Load the demo school from the first-run screen, search a name, see the row.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{ClientBuilder, Locator};
use futures_util::FutureExt;

const DRIVER_PORT: u16 = 4444;

/// tauri-driver, stopped with SIGTERM on drop (SIGKILL would leave its
/// WebKitWebDriver child holding port 4445).
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.0.id().to_string())
            .status();
        let _ = self.0.wait();
    }
}

fn start_driver() -> Driver {
    assert!(
        std::env::var_os("DISPLAY").is_some(),
        "the webview test needs a display: run it through scripts/test (xvfb-run)"
    );
    let child = Command::new("tauri-driver")
        .args(["--port", &DRIVER_PORT.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("tauri-driver must be installed: cargo install tauri-driver --locked (scripts/install-deps does)");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", DRIVER_PORT)).is_err() {
        assert!(
            Instant::now() < deadline,
            "tauri-driver did not start listening"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Driver(child)
}

/// Clicks what `css` finds, finding it again if the page replaced it in
/// between: lists and panels re-render when their data arrives, and a stale
/// element then is the page moving on, not a failure.
async fn click_fresh(client: &fantoccini::Client, what: &str, css: &str) {
    wait_for(what, || async {
        client
            .find(Locator::Css(css))
            .await
            .ok()?
            .click()
            .await
            .ok()
    })
    .await
}

/// Opens a screen from the side bar (once the click lands).
async fn go_to(client: &fantoccini::Client, screen: &str) {
    let css = format!("button.nav[data-screen='{screen}']");
    click_fresh(client, &format!("the {screen} screen"), &css).await
}

/// Types `value` into the field `id` (in place of what it held), again
/// until the field holds it: a form in a `<details>` just opened, or one a
/// re-render replaced, can refuse keys for a moment under WebKitWebDriver.
async fn fill(client: &fantoccini::Client, id: &str, value: &str) {
    let why = std::cell::RefCell::new(String::from("nothing tried"));
    let filled = wait_until(Duration::from_secs(60), || async {
        let step =
            |what: &str, e: &dyn std::fmt::Debug| *why.borrow_mut() = format!("{what}: {e:?}");
        let field = client
            .find(Locator::Id(id))
            .await
            .map_err(|e| step("find", &e))
            .ok()?;
        client
            .execute(
                "arguments[0].scrollIntoView({block: 'center'})",
                vec![serde_json::to_value(&field).ok()?],
            )
            .await
            .map_err(|e| step("scroll", &e))
            .ok()?;
        field.clear().await.map_err(|e| step("clear", &e)).ok()?;
        field
            .send_keys(value)
            .await
            .map_err(|e| step("type", &e))
            .ok()?;
        let held = field
            .prop("value")
            .await
            .map_err(|e| step("read", &e))
            .ok()?;
        if held.as_deref() != Some(value) {
            step("held", &held);
            return None;
        }
        Some(())
    })
    .await;
    if filled.is_none() {
        panic!("#{id} would not take {value:?}; last: {}", why.borrow());
    }
}

/// Polls `f` until it answers or `limit` passes.
async fn wait_until<F, Fut, T>(limit: Duration, mut f: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(v) = f().await {
            return Some(v);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    None
}

async fn wait_for<F, Fut, T>(what: &str, f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    match wait_until(Duration::from_secs(60), f).await {
        Some(v) => v,
        None => panic!("timed out waiting for {what}"),
    }
}

/// The visible table rows' rendered text (innerText): WebKitWebDriver's
/// element text comes back empty for CSS grid rows, so ask the page itself.
async fn row_texts(client: &fantoccini::Client) -> Option<Vec<String>> {
    let texts = client
        .execute(
            "return [...document.querySelectorAll('#rows .row')].map(r => r.innerText)",
            vec![],
        )
        .await
        .ok()?;
    Some(
        texts
            .as_array()?
            .iter()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect(),
    )
}

/// The import screen's result box as the user reads it.
async fn result_text(client: &fantoccini::Client) -> Result<String, fantoccini::error::CmdError> {
    let text = client
        .execute(
            "return document.getElementById('import-result').innerText",
            vec![],
        )
        .await?;
    Ok(text.as_str().unwrap_or_default().to_owned())
}

/// Types `path` into the Import screen, asks for the preview, and returns
/// its confirm button and text.
async fn preview_import(
    client: &fantoccini::Client,
    path: &std::path::Path,
) -> Result<(fantoccini::elements::Element, String), fantoccini::error::CmdError> {
    go_to(client, "import").await;
    let input = client.find(Locator::Id("import-path")).await?;
    input.clear().await?;
    input.send_keys(path.to_str().unwrap()).await?;
    click_fresh(client, "#check-path", "#check-path").await;
    let confirm = wait_for("the preview", || async {
        client.find(Locator::Id("confirm-import")).await.ok()
    })
    .await;
    Ok((confirm, result_text(client).await?))
}

/// The accounts dialog's text as the user reads it.
async fn accounts_text(client: &fantoccini::Client) -> Result<String, fantoccini::error::CmdError> {
    let text = client
        .execute(
            "return document.getElementById('accounts-result').innerText",
            vec![],
        )
        .await?;
    Ok(text.as_str().unwrap_or_default().to_owned())
}

/// With KEYROLL_WEBVIEW_SHOTS=DIR, keeps a picture of the app as `name`.png
/// there (for a person reviewing the UI).
async fn shot(client: &fantoccini::Client, name: &str) {
    if let Some(dir) = std::env::var_os("KEYROLL_WEBVIEW_SHOTS") {
        tokio::time::sleep(Duration::from_millis(300)).await;
        if let Ok(png) = client.screenshot().await {
            let _ = std::fs::write(std::path::Path::new(&dir).join(format!("{name}.png")), png);
        }
    }
}

/// Whether the dialog `id` is open (a modal preview over the window).
async fn dialog_open(client: &fantoccini::Client, id: &str) -> bool {
    client
        .execute(
            "return document.getElementById(arguments[0]).open",
            vec![serde_json::json!(id)],
        )
        .await
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}

/// How many accounts match `condition` (over `account a JOIN person p`),
/// read straight from the app's database file.
fn accounts_in(db: &std::path::Path, condition: &str) -> i64 {
    let key = keyroll_core::DbKey::from_hex(common::KEY).unwrap();
    let Ok(store) = keyroll_core::Store::open(db, &key) else {
        return -1;
    };
    store
        .conn()
        .query_row(
            &format!(
                "SELECT count(*) FROM account a JOIN person p ON p.id = a.person_id WHERE {condition}"
            ),
            [],
            |r| r.get(0),
        )
        .unwrap_or(-1)
}

/// Presses "Sync now" and waits for the outcome the screen keeps.
async fn sync_in_app(client: &fantoccini::Client) -> serde_json::Value {
    client
        .execute("delete document.body.dataset.lastSync", vec![])
        .await
        .expect("clear the last outcome");
    click_fresh(client, "Sync now", "#sync-now").await;
    let done = wait_until(Duration::from_secs(60), || async {
        let v = client
            .execute("return document.body.dataset.lastSync ?? ''", vec![])
            .await
            .ok()?;
        serde_json::from_str(v.as_str()?).ok()
    })
    .await;
    match done {
        Some(outcome) => outcome,
        None => {
            let said = client.find(Locator::Id("sync-outcome")).await;
            let said = match said {
                Ok(e) => e.text().await.unwrap_or_default(),
                Err(e) => e.to_string(),
            };
            panic!("the sync did not finish; the screen says: {said}")
        }
    }
}

/// The table's "N of M" count as shown.
async fn count_text(client: &fantoccini::Client) -> Option<String> {
    client
        .find(Locator::Id("count"))
        .await
        .ok()?
        .text()
        .await
        .ok()
}

#[tokio::test(flavor = "current_thread")]
async fn load_demo_school_search_and_see_the_row() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gui.db");
    // The app reads its key from KEYROLL_DB_KEY; tauri-driver and
    // WebKitWebDriver pass our environment on to it.
    std::env::set_var("KEYROLL_DB_KEY", common::KEY);
    std::env::remove_var("KEYROLL_DB");
    // A database an earlier Keyroll made (schema v12, before classes and
    // letter templates): the
    // app upgrades it as it opens, and says so.
    {
        let key = keyroll_core::DbKey::from_hex(common::KEY).unwrap();
        let store = keyroll_core::Store::open(&db, &key).unwrap();
        store
            .conn()
            .execute_batch(
                "DROP TRIGGER sync_due_account_made; DROP TRIGGER sync_due_account;
                 DROP TRIGGER sync_due_account_gone; DROP TRIGGER sync_due_person;
                 DROP TRIGGER sync_due_link_made; DROP TRIGGER sync_due_link_changed;
                 DROP TRIGGER sync_due_link_gone; DROP INDEX account_locked; DROP TABLE sync_due;
                 DROP TABLE sync_account; DROP TABLE sync_group; DROP TABLE sync_conflict;
                 ALTER TABLE account DROP COLUMN locked;
                 ALTER TABLE account DROP COLUMN unlock_requested;
                 ALTER TABLE account DROP COLUMN invitation_accepted_at;
                 DROP TABLE outbox; DROP TABLE invite_schedule; DROP TABLE invitation_template;
                 ALTER TABLE account DROP COLUMN invited_at;
                 DROP TABLE letter_template; DROP TABLE enrollment; DROP TABLE class;
                 PRAGMA user_version = 12;",
            )
            .unwrap();
    }
    let _driver = start_driver();

    // The student we will look for: the app's demo school is seed 1, 1,000 students.
    let expected = tempfile::tempdir().unwrap();
    keyroll_demo::generate(expected.path(), 1000, 1).unwrap();
    let users = std::fs::read_to_string(expected.path().join("users.csv")).unwrap();
    let row = csv::Reader::from_reader(users.as_bytes())
        .records()
        .map(Result::unwrap)
        .skip(30)
        .find(|r| &r[5] == "student" && &r[1] == "active")
        .unwrap();
    let (sis_id, given, family) = (&row[0], &row[8], &row[9]);
    // A student with a guardian, for a family letter: the guardian's id.
    let all: Vec<csv::StringRecord> = csv::Reader::from_reader(users.as_bytes())
        .records()
        .map(Result::unwrap)
        .collect();
    let (child, guardian) = all
        .iter()
        .filter(|r| &r[5] == "student" && &r[1] == "active" && !r[15].is_empty())
        .find_map(|r| {
            let g = all.iter().find(|g| {
                &g[0] == r[15].split(',').next().unwrap()
                    && &g[5] == "guardian"
                    && &g[1] == "active"
            })?;
            Some((r.clone(), g.clone()))
        })
        .expect("a student with a guardian");
    // Another parent, with an email address, to invite by email.
    let invitee = all
        .iter()
        .find(|g| {
            &g[5] == "guardian" && &g[1] == "active" && !g[12].is_empty() && g[0] != guardian[0]
        })
        .expect("a guardian with an email address")
        .clone();

    // The same school again, with one student leaving and one renamed.
    let changed = tempfile::tempdir().unwrap();
    keyroll_demo::generate(changed.path(), 1000, 1).unwrap();
    let users_csv = changed.path().join("users.csv");
    let mut reader = csv::Reader::from_path(&users_csv).unwrap();
    let header = reader.headers().unwrap().clone();
    let mut rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let students: Vec<usize> = (0..rows.len())
        .filter(|&i| &rows[i][5] == "student" && &rows[i][1] == "active" && &rows[i][0] != sis_id)
        .take(2)
        .collect();
    let leaver = rows[students[0]][0].to_owned();
    let renamed = rows[students[1]][0].to_owned();
    let set = |r: &csv::StringRecord, col: usize, v: &str| -> csv::StringRecord {
        r.iter()
            .enumerate()
            .map(|(i, f)| if i == col { v } else { f })
            .collect()
    };
    rows[students[0]] = set(&rows[students[0]], 1, "tobedeleted");
    rows[students[1]] = set(&rows[students[1]], 8, "Renamed");
    let mut w = csv::Writer::from_path(&users_csv).unwrap();
    w.write_record(&header).unwrap();
    for r in &rows {
        w.write_record(r).unwrap();
    }
    w.flush().unwrap();
    let changed_export = changed.path().to_owned();
    let cases21 = tempfile::tempdir().unwrap();
    common::cases21_school(cases21.path());
    let cases21_export = cases21.path().to_owned();
    // A staff list saved from Excel as "Unicode text": UTF-16 with a BOM, tabs.
    let staff_dir = tempfile::tempdir().unwrap();
    let staff_list = staff_dir.path().join("Staff list.csv");
    let text = "Staff ID\tFirst name\tSurname\tEmail\r\n\
                WS-9001\tAroha\tNgata\taroha@school.example\r\n\
                WS-9002\tSeán\tÓ Briain\tsean@school.example\r\n";
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    std::fs::write(&staff_list, bytes).unwrap();
    let leaver = leaver.as_str();
    let key = keyroll_core::DbKey::from_hex(common::KEY).unwrap();
    // A person's status, read straight from the app's database file.
    let status_of = |sis: &str| -> String {
        let Ok(store) = keyroll_core::Store::open(&db, &key) else {
            return String::new();
        };
        let q = keyroll_core::people::PeopleQuery {
            search: Some(sis.to_owned()),
            ..Default::default()
        };
        keyroll_core::people::list(store.conn(), &q)
            .ok()
            .and_then(|l| l.first().map(|p| p.status.clone()))
            .unwrap_or_default()
    };

    // The school server the Sync screen connects to.
    let server_db = dir.path().join("server.db");
    let server_token = common::server::token(&server_db, "Office PC 1");
    let server = common::server::ScimServer::start(&server_db);
    let scim = common::server::Client::new(&server.base, Some(&server_token));

    let app = env!("CARGO_BIN_EXE_keyroll-app");
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), "wry".into());
    caps.insert(
        "tauri:options".into(),
        serde_json::json!({ "application": app, "args": ["--db", db] }),
    );
    let client = ClientBuilder::native()
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{DRIVER_PORT}"))
        .await
        .expect("connect to tauri-driver");

    // "1,234" (or "1 234", "1.234" in other locales) as a number.
    let number = |s: &str| -> u64 {
        s.replace([',', '.', ' ', '\u{a0}', '\u{202f}'], "")
            .parse()
            .unwrap_or(0)
    };
    let result = std::panic::AssertUnwindSafe(async {
        // First run: the welcome screen offers the demo school.
        let load = wait_for("the first-run screen", || async {
            let b = client.find(Locator::Id("load-demo")).await.ok()?;
            b.is_displayed().await.ok()?.then_some(b)
        })
        .await;
        // The upgrade's steps reached the window (its dialog shows them).
        let upgraded = client
            .execute("return document.body.dataset.upgraded ?? ''", vec![])
            .await?;
        assert_eq!(upgraded, "Updating your database…: 5 of 5", "the upgrade dialog");
        load.click().await?;

        // The import ends on the people table with everyone counted.
        wait_for("the people count", || async {
            let t = count_text(&client).await?;
            t.contains("of").then_some(t)
        })
        .await;

        // Typed without accents: "zoe" must find "Zoë", as office staff type it.
        let search = client.find(Locator::Id("search")).await?;
        let typed = keyroll_core::text::fold(&format!("{given} {family}"));
        search.send_keys(&typed).await?;
        let text = wait_for("the searched row", || async {
            row_texts(&client)
                .await?
                .into_iter()
                .find(|t| t.contains(sis_id))
        })
        .await;
        let row = client
            .find(Locator::Css(&format!("#rows .row[data-sis-id='{sis_id}']")))
            .await?;
        assert!(row.is_displayed().await?, "the row is on screen");
        assert!(text.contains(family), "{text}");
        assert!(text.contains("Student"), "{text}");

        // The count reflects the search, not the whole school (once the
        // search, which waits for typing to pause, has run).
        let count = wait_for("the search's count", || async {
            let t = count_text(&client).await?;
            let shown = number(t.split(" of ").next()?);
            (1..50).contains(&shown).then_some(t)
        })
        .await;
        assert_eq!(number(count.split(" of ").nth(1).unwrap()), 2288, "{count}");

        // Parents and guardians only: the filter narrows the count, and every
        // row shown is a parent.
        search.clear().await?;
        let kind = client.find(Locator::Id("kind-filter")).await?;
        kind.select_by_value("parent").await?;
        wait_for("only parents listed", || async {
            let rows = row_texts(&client).await?;
            let all_parents = !rows.is_empty() && rows.iter().all(|t| t.contains("Parent"));
            all_parents.then_some(())
        })
        .await;
        let count = wait_for("the parents' count", || async {
            let t = count_text(&client).await?;
            let (shown, total) = t.split_once(" of ")?;
            (number(shown) == number(total) && number(total) < 2288).then_some(t)
        })
        .await;
        assert!(
            number(count.split(" of ").nth(1).unwrap()) > 1000,
            "parents: {count}"
        );

        // Re-import with one leaver and one renamed student: the app previews
        // the changes, writes nothing until confirmed, then applies them.
        let (confirm, preview) = preview_import(&client, &changed_export).await?;
        assert!(
            preview.contains("1 people whose details changed"),
            "{preview}"
        );
        assert!(dialog_open(&client, "import-dialog").await);
        shot(&client, "import-preview").await;
        assert!(preview.contains("1 people who have left"), "{preview}");
        // The change list says what changes, field by field, and filters.
        assert!(
            preview.contains("first name: “") && preview.contains("” → “Renamed”"),
            "{preview}"
        );
        client
            .find(Locator::Id("change-filter"))
            .await?
            .select_by_value("leaving")
            .await?;
        let listed = client
            .find(Locator::Id("change-list"))
            .await?
            .text()
            .await?;
        assert!(
            listed.contains(leaver) && !listed.contains("Renamed"),
            "{listed}"
        );
        assert_eq!(status_of(leaver), "active", "a preview writes nothing");
        confirm.click().await?;
        wait_for("the import to be applied", || async {
            (status_of(leaver) == "left").then_some(())
        })
        .await;

        // A change file with a row that cannot be imported and one that can,
        // without its link: with "import the valid rows" ticked, the preview
        // lists them apart. (Cancelled: nothing is imported.)
        let problems = tempfile::tempdir().unwrap();
        std::fs::write(
            problems.path().join("manifest.csv"),
            "propertyName,value\noneroster.version,1.1\nfile.orgs,absent\nfile.users,delta\n",
        )
        .unwrap();
        std::fs::write(
            problems.path().join("users.csv"),
            "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,\
             givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n\
             new-1,active,,true,school-1,student,,,Wiremu,Tane,,,,,,nobody-here,07,\n\
             new-2,active,,true,school-1,student,,,Mere,Tane,,,not-an-email,,,,07,\n",
        )
        .unwrap();
        go_to(&client, "import").await;
        let skip = client.find(Locator::Id("skip-invalid")).await?;
        skip.click().await?;
        let (_, preview) = preview_import(&client, problems.path()).await?;
        assert!(
            preview.contains("1 row(s) have problems and will be left out:")
                && preview.contains("not-an-email"),
            "{preview}"
        );
        assert!(
            preview.contains("1 row(s) imported without what the warning says was dropped:")
                && preview.contains("nobody-here"),
            "{preview}"
        );
        client
            .find(Locator::XPath("//dialog[@id='import-dialog']//button[text()='Cancel']"))
            .await?
            .click()
            .await?;
        skip.click().await?;
        assert_eq!(status_of("new-1"), "", "a cancelled preview imports nothing");

        // A Victorian school's CASES21 export in Windows-1252: the preview
        // says what it read, and the names arrive with their accents.
        let (confirm, preview) = preview_import(&client, &cases21_export).await?;
        assert!(
            preview.contains("CASES21 eduHub") && preview.contains("ST_8888.csv (Windows-1252)"),
            "{preview}"
        );
        assert!(preview.contains("10 new people"), "{preview}");
        confirm.click().await?;
        wait_for("the CASES21 import to be applied", || async {
            (status_of("OBR0001-A") == "active").then_some(())
        })
        .await;
        go_to(&client, "people").await;
        let kind = client.find(Locator::Id("kind-filter")).await?;
        kind.select_by_value("").await?;
        let search = client.find(Locator::Id("search")).await?;
        search.clear().await?;
        // Their SIS keys: OBR0001, OBR0002 and the family's adults OBR0001-A/B.
        search.send_keys("obr000").await?;
        let rows = wait_for("the O'Brien family's rows", || async {
            let rows = row_texts(&client).await?;
            (rows.len() == 4).then_some(rows)
        })
        .await;
        let all = rows.join("\n");
        for name in ["Zoë", "Seán", "Siobhán", "Liam"] {
            assert!(all.contains(name), "{name} missing from:\n{all}");
        }
        // Home groups are classes: the class filter lists them (a class's
        // students only), and a student's panel says which they are in.
        let class = client.find(Locator::Id("class-filter")).await?;
        wait_for("the home groups in the class filter", || async {
            client
                .find(Locator::Css("#class-filter option[value='03A']"))
                .await
                .ok()
        })
        .await;
        class.select_by_value("03A").await?;
        wait_for("home group 03A's students", || async {
            let rows = row_texts(&client).await?;
            (rows.len() == 1 && rows[0].contains("Zoë")).then_some(())
        })
        .await;
        click_fresh(&client, "Zoë's row", "#rows .row button.person-open").await;
        wait_for("Zoë's home group in her panel", || async {
            let t = client
                .execute(
                    "return document.getElementById('person-classes')?.innerText ?? ''",
                    vec![],
                )
                .await
                .ok()?;
            t.as_str()?.contains("Home group 03A").then_some(())
        })
        .await;
        shot(&client, "classes").await;
        client
            .execute("document.getElementById('person-panel').hidden = true", vec![])
            .await?;
        class.select_by_value("").await?;
        wait_for("the O'Brien family again", || async {
            (row_texts(&client).await?.len() == 4).then_some(())
        })
        .await;

        // The office changes its mind: the history rolls the CASES21 import
        // back after a preview, and its people are gone again.
        go_to(&client, "import").await;
        let rollback = wait_for("the CASES21 import in the history", || async {
            client
                .find(Locator::Css(
                    "#import-history li[data-import-id='3'] button.rollback",
                ))
                .await
                .ok()
        })
        .await;
        rollback.click().await?;
        let confirm = wait_for("the rollback preview", || async {
            client.find(Locator::Id("confirm-rollback")).await.ok()
        })
        .await;
        let preview = result_text(&client).await?;
        assert!(
            preview.contains("10 people it added will be removed"),
            "{preview}"
        );
        assert_eq!(status_of("OBR0001-A"), "active", "a preview writes nothing");
        confirm.click().await?;
        wait_for("the rollback to be applied", || async {
            status_of("OBR0001-A").is_empty().then_some(())
        })
        .await;

        // A plain staff list dropped on the window: the mapping step guesses
        // the columns from their names, then the usual preview follows.
        // (The drop is delivered as Tauri delivers a real one: its event.)
        client
            .execute(
                "window.__TAURI__.event.emit('tauri://drag-drop', \
                 { paths: [arguments[0]], position: { x: 10, y: 10 } }); return true;",
                vec![serde_json::json!(staff_list)],
            )
            .await?;
        let go = wait_for("the mapping step", || async {
            client.find(Locator::Id("mapping-continue")).await.ok()
        })
        .await;
        let guessed = client
            .execute(
                "return [document.getElementById('map-sis_id').value, \
                 document.getElementById('map-family_name').value, \
                 document.getElementById('map-who').value]",
                vec![],
            )
            .await?;
        assert_eq!(guessed, serde_json::json!(["Staff ID", "Surname", "staff"]));
        go.click().await?;
        let confirm = wait_for("the staff list's preview", || async {
            client.find(Locator::Id("confirm-import")).await.ok()
        })
        .await;
        let preview = result_text(&client).await?;
        assert!(
            preview.contains("Staff list.csv (UTF-16") && preview.contains("2 new people"),
            "{preview}"
        );
        confirm.click().await?;
        wait_for("the staff list to be applied", || async {
            (status_of("WS-9001") == "active").then_some(())
        })
        .await;

        // Accounts: generating is previewed and confirmed; then the office
        // reviews the parents waiting and enables them all at once.
        go_to(&client, "people").await;
        let kind = client.find(Locator::Id("kind-filter")).await?;
        kind.select_by_value("").await?;
        client.find(Locator::Id("search")).await?.clear().await?;
        click_fresh(&client, "#generate-accounts", "#generate-accounts").await;
        let confirm = wait_for("the generate preview", || async {
            client.find(Locator::Id("confirm-accounts")).await.ok()
        })
        .await;
        let preview = accounts_text(&client).await?;
        assert!(
            preview.contains("accounts will be created")
                && preview.contains("New parent accounts start disabled"),
            "{preview}"
        );
        assert!(
            dialog_open(&client, "accounts-dialog").await,
            "the preview is a dialog over the window"
        );
        shot(&client, "generate-preview").await;
        assert_eq!(accounts_in(&db, "1 = 1"), 0, "a preview writes nothing");
        confirm.click().await?;
        wait_for("the accounts to be created", || async {
            (accounts_in(&db, "1 = 1") > 0).then_some(())
        })
        .await;
        let waiting = accounts_in(&db, "p.kind = 'contact' AND a.state = 'disabled'");
        assert!(waiting > 100, "parents wait for review: {waiting}");

        // Home lists what needs doing: the parents waiting for review, one
        // click from the list of exactly them.
        go_to(&client, "home").await;
        let waiting_item = "#todo li[data-what='parents_waiting'] button";
        wait_for("the parents waiting on Home", || async {
            client.find(Locator::Css(waiting_item)).await.ok()
        })
        .await;
        let todo = client
            .execute("return document.getElementById('todo').innerText", vec![])
            .await?;
        let todo = todo.as_str().unwrap_or_default().to_owned();
        let shown = todo
            .split_once(" parent accounts are waiting for review")
            .map(|(before, _)| number(before.rsplit('\n').next().unwrap_or("")));
        assert_eq!(shown, Some(waiting as u64), "{todo}");
        assert!(todo.contains("never sent a letter or an invitation"), "{todo}");
        shot(&client, "home").await;
        click_fresh(&client, "the parents waiting on Home", waiting_item).await;
        wait_for("exactly the parents waiting", || async {
            let t = count_text(&client).await?;
            (number(t.split(" of ").next()?) == waiting as u64).then_some(t)
        })
        .await;
        click_fresh(&client, "#extra-filter-clear", "#extra-filter-clear").await;

        kind.select_by_value("parent").await?;
        client
            .find(Locator::Id("state-filter"))
            .await?
            .select_by_value("disabled")
            .await?;
        wait_for("only parents waiting for review", || async {
            let rows = row_texts(&client).await?;
            let ok = !rows.is_empty()
                && rows
                    .iter()
                    .all(|t| t.contains("Parent") && t.contains("disabled"));
            ok.then_some(())
        })
        .await;
        client
            .find(Locator::Id("bulk-target"))
            .await?
            .select_by_value("filter")
            .await?;
        client
            .find(Locator::Id("bulk-action"))
            .await?
            .select_by_value("enable")
            .await?;
        click_fresh(&client, "#bulk-apply", "#bulk-apply").await;
        let (confirm, preview) = wait_for("the enable preview", || async {
            let text = accounts_text(&client).await.ok()?;
            let button = client.find(Locator::Id("confirm-accounts")).await.ok()?;
            text.contains("Enable:").then_some((button, text))
        })
        .await;
        assert!(
            preview.contains(&format!("Enable: {waiting} accounts will change")),
            "{preview}"
        );
        confirm.click().await?;
        wait_for("the parents to be enabled", || async {
            (accounts_in(&db, "p.kind = 'contact' AND a.state = 'disabled'") == 0).then_some(())
        })
        .await;
        assert_eq!(
            accounts_in(&db, "p.kind = 'contact' AND a.state = 'enabled'"),
            waiting
        );
        // A parent's panel tells their story from the audit log.
        client
            .find(Locator::Id("state-filter"))
            .await?
            .select_by_value("enabled")
            .await?;
        // Only once the list shows the filter's rows: a row of the list
        // before it would be replaced under the click.
        wait_for("only enabled parents listed", || async {
            let rows = row_texts(&client).await?;
            let ok = !rows.is_empty() && rows.iter().all(|t| t.contains("enabled"));
            ok.then_some(())
        })
        .await;
        click_fresh(&client, "an enabled parent's row", "#rows .row button.person-open").await;
        let history = wait_for("the parent's history", || async {
            let t = client
                .execute(
                    "return document.getElementById('person-history').innerText",
                    vec![],
                )
                .await
                .ok()?;
            let t = t.as_str()?.to_owned();
            t.contains("account.enable").then_some(t)
        })
        .await;
        for action in ["person.create", "account.create", "account.enable"] {
            assert!(history.contains(action), "{action} missing:\n{history}");
        }

        // Column headers sort the whole filtered list, not just the page;
        // a second click reverses it.
        let sis_ids = || async {
            let ids = client
                .execute(
                    "return [...document.querySelectorAll('#rows .row:not(.loading)')]
                        .map(r => r.children[3].innerText)",
                    vec![],
                )
                .await
                .ok()?;
            let ids: Vec<String> = ids
                .as_array()?
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect();
            (ids.len() > 3).then_some(ids)
        };
        let sort_by_id = client.find(Locator::Css("button.sort[data-sort='sis_id']")).await?;
        sort_by_id.click().await?;
        let up = wait_for("rows in SIS id order", || async {
            sis_ids()
                .await
                .filter(|ids| ids.windows(2).all(|w| w[0] <= w[1]))
        })
        .await;
        sort_by_id.click().await?;
        let down = wait_for("rows in reverse SIS id order", || async {
            sis_ids()
                .await
                .filter(|ids| ids.windows(2).all(|w| w[0] >= w[1]))
        })
        .await;
        // The whole list turned round: the last id comes first now.
        assert!(down[0] > up[0], "{up:?} then {down:?}");
        let header = client
            .execute(
                "return document.querySelector('button.sort[data-sort=sis_id]').parentElement.getAttribute('aria-sort')",
                vec![],
            )
            .await?;
        assert_eq!(header, "descending");

        // Resetting a password from the person's panel: a preview, then the
        // hand-out sheet (the test names the file the "Save as" dialog would
        // ask for), written before the reset is committed.
        let sheet = dir.path().join("new-passwords.csv");
        client
            .execute(
                "window.keyrollTestSaveTo = arguments[0]",
                vec![serde_json::json!(sheet.to_str().unwrap())],
            )
            .await?;
        click_fresh(&client, "the panel's reset", "#person-panel button[data-action='reset']").await;
        let confirm = wait_for("the reset preview", || async {
            let b = client.find(Locator::Id("confirm-accounts")).await.ok()?;
            let text = accounts_text(&client).await.ok()?;
            text.contains("1 accounts will get a new").then_some(b)
        })
        .await;
        confirm.click().await?;
        let written = wait_for("the hand-out sheet", || async {
            let text = std::fs::read_to_string(&sheet).ok()?;
            (text.lines().count() == 2).then_some(text)
        })
        .await;
        let row: Vec<&str> = written.lines().nth(1).unwrap().split(',').collect();
        assert_eq!(row[0], "parent", "{written}");
        assert!(row[5].len() >= 10, "a secret: {written}");
        wait_for("the reset in the audit log", || async {
            (accounts_in(&db, "a.password_hash LIKE '$argon2id$%' OR a.activation_hash IS NOT NULL") == 1)
                .then_some(())
        })
        .await;

        // Renaming is explicit: the panel's form, previewed, then confirmed.
        click_fresh(&client, "the panel's rename", "#person-panel button[data-action='rename']").await;
        let to = wait_for("the rename form", || async {
            client.find(Locator::Id("rename-to")).await.ok()
        })
        .await;
        to.clear().await?;
        to.send_keys("parent.renamed").await?;
        click_fresh(&client, "#rename-form button[type='submit']", "#rename-form button[type='submit']").await;
        let confirm = wait_for("the rename preview", || async {
            let b = client.find(Locator::Id("confirm-accounts")).await.ok()?;
            let text = accounts_text(&client).await.ok()?;
            text.contains("becomes parent.renamed").then_some(b)
        })
        .await;
        confirm.click().await?;
        wait_for("the renamed account", || async {
            (accounts_in(&db, "a.username = 'parent.renamed'") == 1).then_some(())
        })
        .await;

        // Settings: editing a username pattern shows, live, what it would
        // give the school's own students; a broken pattern says why.
        go_to(&client, "settings").await;
        let pattern = wait_for("the policy form", || async {
            client.find(Locator::Id("p-students-pattern")).await.ok()
        })
        .await;
        pattern.clear().await?;
        pattern.send_keys("{last:4}{first:1}").await?;
        let examples = wait_for("the live examples", || async {
            let text = client
                .execute(
                    "return document.getElementById('p-students-examples').innerText",
                    vec![],
                )
                .await
                .ok()?;
            let text = text.as_str()?.to_owned();
            // The examples have followed the edit once none is "{first:1}{last}"-long.
            (text.lines().count() >= 3 && !text.contains(".aberg")).then_some(text)
        })
        .await;
        // "Ama Åberg → abera": four letters of the last name, one of the
        // first, and a number when that is taken ("abera2").
        for line in examples.lines() {
            let username = line.rsplit(" → ").next().unwrap_or_default();
            let letters = username.trim_end_matches(|c: char| c.is_ascii_digit());
            assert!((2..=5).contains(&letters.len()), "{line}\n{examples}");
        }
        pattern.send_keys("{").await?;
        let problem = wait_for("the pattern's problem", || async {
            let t = client
                .find(Locator::Id("policy-problem"))
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            (!t.is_empty()).then_some(t)
        })
        .await;
        assert!(problem.contains("not closed"), "{problem}");

        // A policy file is shown, then saved whole: what the form does not
        // show (the blocklist) is the file's, not the old policy's.
        let file = dir.path().join("district-policy.json");
        let district = keyroll_core::accounts::policy::Policy {
            blocklist: vec!["headteacher".into()],
            recycle_after_days: 45,
            ..Default::default()
        };
        std::fs::write(&file, serde_json::to_string_pretty(&district).unwrap()).unwrap();
        client
            .execute(
                "window.keyrollTestOpen = arguments[0]",
                vec![serde_json::json!(file.to_str().unwrap())],
            )
            .await?;
        click_fresh(&client, "#import-policy", "#import-policy").await;
        wait_for("the file's policy in the form", || async {
            let v = client.find(Locator::Id("p-recycle")).await.ok()?.prop("value").await.ok()??;
            (v == "45").then_some(())
        })
        .await;
        client
            .execute("document.getElementById('toast').textContent = ''", vec![])
            .await?;
        click_fresh(&client, "#save-policy", "#save-policy").await;
        // The app says it saved (or why not) before the file is read here:
        // reading it meanwhile would only race the app's write.
        let said = wait_for("the app's word on saving", || async {
            let said = client
                .execute(
                    "return [document.getElementById('toast').textContent,
                             document.getElementById('policy-problem').textContent]",
                    vec![],
                )
                .await
                .ok()?;
            let said: Vec<String> = serde_json::from_value(said).ok()?;
            (said[0].starts_with("Saved.") || !said[1].is_empty()).then_some(said)
        })
        .await;
        assert!(said[1].is_empty(), "saving failed: {}", said[1]);
        let saved = wait_for("the file's policy saved", || async {
            let key = keyroll_core::DbKey::from_hex(common::KEY).ok()?;
            let store = keyroll_core::Store::open(&db, &key).ok()?;
            let p = keyroll_core::accounts::policy::load(store.conn()).ok()?;
            (p.recycle_after_days == 45).then_some(p)
        })
        .await;
        assert_eq!(saved.blocklist, ["headteacher"]);
        go_to(&client, "people").await;

        // Letters: the parents of one student, one letter each listing their
        // children; the first page previewed from the school's own data and
        // following the template editor, then saved as a PDF and read back.
        go_to(&client, "letters").await;
        let img_src = || async {
            client
                .execute("return document.querySelector('#letters-page img')?.src ?? null", vec![])
                .await
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
        };
        wait_for("the first page's preview", || async { img_src().await }).await;
        // The school's sign-in address, from the screen's own form.
        click_fresh(&client, "#letter-school summary", "#letter-school summary").await;
        client
            .find(Locator::Id("ls-signin"))
            .await?
            .send_keys("https://accounts.demo.example")
            .await?;
        click_fresh(&client, "#ls-save", "#ls-save").await;
        wait_for("the school's details saved", || async {
            let key = keyroll_core::DbKey::from_hex(common::KEY).ok()?;
            let store = keyroll_core::Store::open(&db, &key).ok()?;
            let s = keyroll_core::letters::settings::load(store.conn()).ok()?;
            (s.sign_in_url == "https://accounts.demo.example").then_some(())
        })
        .await;
        client
            .find(Locator::Id("letters-who"))
            .await?
            .select_by_value("student")
            .await?;
        click_fresh(&client, "#letters-new", "#letters-new").await;
        fill(&client, "letters-search", &child[0]).await;
        // One family's letters: a few, not the whole school's (the summary
        // before the search counts hundreds).
        let summary = wait_for("one family's letters in the preview", || async {
            let text = client.find(Locator::Id("letters-summary")).await.ok()?.text().await.ok()?;
            let (n, _) = text.split_once(" letters, ")?;
            (1..10).contains(&n.parse::<u32>().ok()?).then_some(text)
        })
        .await;
        assert!(summary.contains("pages"), "{summary}");
        let before = img_src().await.unwrap();
        client
            .find(Locator::Id("letters-template"))
            .await?
            .select_by_value("Welcome (parents)")
            .await?;
        click_fresh(&client, "#template-editor summary", "#template-editor summary").await;
        let editor = client.find(Locator::Id("template-text")).await?;
        editor.click().await?;
        editor.send_keys("\nA note from the office: the new portal opens on Monday.").await?;
        let followed = wait_until(Duration::from_secs(60), || async {
            img_src().await.filter(|src| *src != before)
        })
        .await;
        if followed.is_none() {
            // Say what the screen shows instead (an error in place of the page?).
            let shown = client
                .execute(
                    "return ['letters-page', 'template-problem', 'letters-summary']\
                     .map(id => document.getElementById(id)?.innerText).join(' | ')",
                    vec![],
                )
                .await?;
            panic!("the preview did not follow the editor; the screen shows: {shown}");
        }
        let pdf = dir.path().join("family-letters.pdf");
        client
            .execute(
                "window.keyrollTestSaveTo = arguments[0]",
                vec![serde_json::json!(pdf.to_str().unwrap())],
            )
            .await?;
        click_fresh(&client, "#letters-save", "#letters-save").await;
        let text = wait_for("the letters' PDF", || async {
            let out = std::process::Command::new("pdftotext")
                .arg(&pdf)
                .arg("-")
                .output()
                .ok()?;
            let text = String::from_utf8(out.stdout).ok()?;
            text.contains("Dear").then_some(text)
        })
        .await;
        assert!(text.contains(&format!("{} {}", &guardian[8], &guardian[9])), "{text}");
        assert!(text.contains(&format!("{} {}", &child[8], &child[9])), "{text}");
        assert!(text.contains("A note from the office"), "{text}");
        assert!(text.contains("Activation code"), "{text}");
        assert!(
            text.contains("https://accounts.demo.example/activate?code="),
            "{text}"
        );
        shot(&client, "letters").await;

        // Invitations: the school's SMTP server set up on the screen, one
        // parent chosen, the first email previewed, sent, and received by a
        // real SMTP server with the parent's own link.
        let smtp = common::smtp::smtp_server(dir.path(), &[]);
        go_to(&client, "invitations").await;
        // The SMTP settings: opened, typed in, saved and tested as an
        // office would.
        // Opened by its summary, once it is truly open (a click while the
        // screen still lays out can be lost).
        wait_for("the SMTP settings open", || async {
            let open = client
                .execute("return document.getElementById('smtp-settings').open", vec![])
                .await
                .ok()?;
            if open.as_bool() == Some(true) {
                return Some(());
            }
            let summary = client.find(Locator::Css("#smtp-settings > summary")).await.ok()?;
            summary.click().await.ok()?;
            None
        })
        .await;
        let port = smtp.port.to_string();
        for (id, value) in [
            ("smtp-host", "127.0.0.1"),
            ("smtp-port", port.as_str()),
            ("smtp-from", "Demo School Office <office@demo.example>"),
            ("smtp-test-to", "office@demo.example"),
        ] {
            fill(&client, id, value).await;
        }
        client
            .find(Locator::Id("smtp-security"))
            .await?
            .select_by_value("none")
            .await?;
        click_fresh(&client, "Save the settings", "#smtp-save").await;
        wait_for("the SMTP settings saved", || async {
            let t = client.find(Locator::Id("smtp-result")).await.ok()?.text().await.ok()?;
            (t == "Saved.").then_some(())
        })
        .await;
        click_fresh(&client, "Send a test email", "#smtp-test").await;
        let tested = wait_for("the test email's answer", || async {
            let t = client.find(Locator::Id("smtp-result")).await.ok()?.text().await.ok()?;
            t.contains("accepted").then_some(t)
        })
        .await;
        assert!(tested.contains("127.0.0.1 accepted the test email"), "{tested}");
        client
            .find(Locator::Id("invite-who"))
            .await?
            .select_by_value("parent")
            .await?;
        fill(&client, "invite-search", &invitee[0]).await;
        let first_email = wait_for("one parent's email in the preview", || async {
            let n = client
                .execute("return document.getElementById('invite-summary').dataset.count ?? ''", vec![])
                .await
                .ok()?;
            if n.as_str()? != "1" {
                return None;
            }
            let t = client.find(Locator::Id("invite-text")).await.ok()?.text().await.ok()?;
            (!t.is_empty()).then_some(t)
        })
        .await;
        assert!(first_email.contains(&invitee[8]), "{first_email}");
        click_fresh(&client, "Send 1 invitations", "#invite-send").await;
        click_fresh(&client, "the send's confirm", "#confirm-invite").await;
        let mail = wait_for("the invitation at the SMTP server", || async {
            let m: Vec<_> = common::smtp::mailbox(&smtp)
                .into_iter()
                .filter(|(to, _)| to != "office@demo.example")
                .collect();
            (m.len() == 1).then_some(m)
        })
        .await;
        assert_eq!(mail[0].0, &invitee[12], "{mail:?}");
        assert!(mail[0].1.contains("Subject: Your parent account at"), "{}", mail[0].1);
        wait_for("the sent email in the outbox", || async {
            let key = keyroll_core::DbKey::from_hex(common::KEY).ok()?;
            let store = keyroll_core::Store::open(&db, &key).ok()?;
            let sent = keyroll_core::invite::outbox::counts(store.conn()).ok()?.sent;
            (sent == 1).then_some(())
        })
        .await;
        // The outbox on the screen shows it sent, to whom.
        client
            .find(Locator::Id("outbox-status"))
            .await?
            .select_by_value("sent")
            .await?;
        let rows = wait_for("the sent email on the Outbox table", || async {
            let v = client
                .execute(
                    "return [...document.querySelectorAll('#outbox-rows tr')]\
                     .map((r) => r.dataset.status + ' ' + r.textContent).join('\\n')",
                    vec![],
                )
                .await
                .ok()?;
            let t = v.as_str()?.to_owned();
            t.contains(&invitee[12][..]).then_some(t)
        })
        .await;
        assert!(
            rows.lines().any(|r| r.starts_with("sent ") && r.contains(&invitee[12][..])),
            "{rows}"
        );
        shot(&client, "invitations").await;

        // Sync with a real keyroll-server: connect, push everyone; then a
        // username changed both here and on the server waits on the Sync
        // screen until the office keeps one side.
        go_to(&client, "sync").await;
        fill(&client, "sync-server", &server.base).await;
        fill(&client, "sync-token", &server_token).await;
        click_fresh(&client, "Connect", "#sync-connect").await;
        let waiting = wait_for("what waits to be sent", || async {
            let v = client
                .execute("return document.getElementById('sync-pending').dataset.total ?? ''", vec![])
                .await
                .ok()?;
            v.as_str()?.parse::<u64>().ok().filter(|&n| n > 0)
        })
        .await;
        let accounts = accounts_in(&db, "1 = 1") as u64;
        assert_eq!(waiting, accounts, "every account waits for the first sync");
        let first = sync_in_app(&client).await;
        assert_eq!(first["pushed"]["users_created"], accounts, "{first}");
        assert_eq!(first["pushed"]["failed"], serde_json::json!([]), "{first}");
        let on_server = scim.get("/Users?count=1");
        assert_eq!(on_server.body["totalResults"], accounts, "{}", on_server.body);

        let staff = common::json(&db, &["accounts", "list", "--kind", "staff", "--json"]);
        let (staff_id, staff_name) = (
            staff[0]["sis_id"].as_str().unwrap().to_owned(),
            staff[0]["username"].as_str().unwrap().to_owned(),
        );
        common::ok(
            &db,
            &["accounts", "rename", "--kind", "staff", "--id", &staff_id, "--to", "kept.office"],
        );
        let filter = format!("userName eq \"{staff_name}\"").replace(' ', "%20").replace('"', "%22");
        let remote = scim.get(&format!("/Users?filter={filter}")).body["Resources"][0].clone();
        let renamed = scim.patch(
            &format!("/Users/{}", remote["id"].as_str().unwrap()),
            &serde_json::json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "userName", "value": "server.office"}]}),
        );
        assert_eq!(renamed.status, 200, "{}", renamed.body);
        let second = sync_in_app(&client).await;
        assert_eq!(second["pulled"]["conflicts"], 1, "{second}");
        let shown = wait_for("the conflict on the Sync screen", || async {
            let t = client.find(Locator::Css("#sync-conflicts tr[data-id]")).await.ok()?.text().await.ok()?;
            t.contains("server.office").then_some(t)
        })
        .await;
        assert!(
            shown.contains("Keyroll says the username is kept.office, the server says server.office"),
            "{shown}"
        );
        shot(&client, "sync-conflict").await;
        click_fresh(&client, "Keep the server's", "#sync-conflicts tr[data-id] button[data-keep='server']").await;
        wait_for("nothing left to decide", || async {
            let t = client.find(Locator::Id("sync-conflicts")).await.ok()?.text().await.ok()?;
            (t == "Nothing to decide.").then_some(())
        })
        .await;
        let kept = accounts_in(&db, "a.username = 'server.office'");
        assert_eq!(kept, 1, "Keyroll took the server's username");
        let third = sync_in_app(&client).await;
        assert_eq!(third["pulled"]["conflicts"], 0, "{third}");
        let on_server = scim.get("/Users?filter=userName%20eq%20%22server.office%22");
        assert_eq!(on_server.body["totalResults"], 1, "{}", on_server.body);

        // For a person reviewing the UI: KEYROLL_WEBVIEW_SHOT=file.png keeps a picture.
        if let Some(path) = std::env::var_os("KEYROLL_WEBVIEW_SHOT") {
            client
                .find(Locator::Id("state-filter"))
                .await?
                .select_by_value("")
                .await?;
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            std::fs::write(path, client.screenshot().await?).ok();
        }
        Ok::<_, fantoccini::error::CmdError>(())
    })
    .catch_unwind()
    .await;
    if !matches!(result, Ok(Ok(()))) {
        // What the user would have seen, for whoever reads the failure.
        if let Ok(png) = client.screenshot().await {
            let shot = common::target_dir().join("webview-failure.png");
            let _ = std::fs::write(&shot, png);
            eprintln!("screenshot of the app: {}", shot.display());
        }
    }
    client.close().await.ok();
    match result {
        Ok(steps) => steps.expect("webview steps"),
        Err(panic) => std::panic::resume_unwind(panic),
    }

    // The app wrote the demo school into the encrypted database we gave it.
    let store =
        keyroll_core::Store::open(&db, &keyroll_core::DbKey::from_hex(common::KEY).unwrap())
            .unwrap();
    let totals = keyroll_core::people::totals(store.conn()).unwrap();
    // The demo school's 1,000; the CASES21 school was rolled back.
    assert_eq!(totals.students, 1000);
    let q = keyroll_core::people::PeopleQuery {
        search: Some(renamed.clone()),
        ..Default::default()
    };
    let person = keyroll_core::people::list(store.conn(), &q)
        .unwrap()
        .remove(0);
    assert_eq!(person.given_name, "Renamed");
}
