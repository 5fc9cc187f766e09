//! Keyroll's sync client through the real `keyroll` binary, against the
//! real keyroll-server on loopback (SQLite, and PostgreSQL when
//! scripts/with-postgres runs the suite again) and against the independent
//! PyPI `scim2-server`: the first push, a quiet sync that writes nothing,
//! a delta, a lock and an unlock, conflicts, two Keyroll databases on one
//! server, and a server that fails, drops connections and says 429.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::server::{token, Browser, Client, ScimServer};
use common::{json, keyroll_stdin, ok};
use serde_json::{json, Value};

const SCHOOL: &str = "urn:keyroll:params:scim:schemas:extension:school:2.0:User";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// A demo school in a Keyroll database, with accounts.
fn keyroll_school(dir: &Path, name: &str, students: &str) -> PathBuf {
    let files = dir.join("school");
    let db = dir.join(name);
    if !files.exists() {
        ok(
            &db,
            &[
                "demo",
                "--students",
                students,
                "--out",
                files.to_str().unwrap(),
                "--seed",
                "3",
            ],
        );
    }
    ok(&db, &["import", files.to_str().unwrap()]);
    ok(&db, &["accounts", "generate"]);
    db
}

fn login(db: &Path, base: &str, token: &str) {
    let r = keyroll_stdin(
        db,
        &["sync", "login", "--server", base, "--token-stdin"],
        token,
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
}

fn sync(db: &Path) -> Value {
    json(db, &["sync", "--json"])
}

/// Every user on the server, paged.
fn users(scim: &Client) -> Vec<Value> {
    let mut out = Vec::new();
    loop {
        let page = scim.get(&format!("/Users?startIndex={}&count=500", out.len() + 1));
        assert_eq!(page.status, 200, "{}", page.body);
        let got = page.body["Resources"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if got.is_empty() {
            return out;
        }
        out.extend(got);
    }
}

/// How many different Keyroll accounts (`externalId`s) `users` are.
fn distinct_keys(users: &[Value]) -> u64 {
    let keys: std::collections::BTreeSet<&str> = users
        .iter()
        .map(|u| u["externalId"].as_str().unwrap())
        .collect();
    keys.len() as u64
}

fn user_named(scim: &Client, user_name: &str) -> Value {
    let f = format!("userName eq \"{user_name}\"")
        .replace(' ', "%20")
        .replace('"', "%22");
    let a = scim.get(&format!("/Users?filter={f}"));
    a.body["Resources"][0].clone()
}

fn status(db: &Path) -> Value {
    json(db, &["sync", "status", "--json"])
}

/// A staff member's username in Keyroll (staff are enabled from the start).
fn a_staff_username(db: &Path) -> String {
    let people = json(db, &["accounts", "list", "--kind", "staff", "--json"]);
    people[0]["username"].as_str().unwrap().to_owned()
}

/// What an account's panel shows of the server, read through the core.
fn server_view(db: &Path, username: &str) -> keyroll_core::sync::ServerView {
    let key = keyroll_core::DbKey::from_hex(common::KEY).unwrap();
    let store = keyroll_core::Store::open(db, &key).unwrap();
    let person: i64 = store
        .conn()
        .query_row(
            "SELECT person_id FROM account WHERE username = ?1",
            [username],
            |r| r.get(0),
        )
        .unwrap();
    keyroll_core::sync::server_view(&store, person)
        .unwrap()
        .expect("a server is set up")
}

/// The count of Home's to-do item `what`, if Home shows it.
fn home_item(db: &Path, what: &str) -> Option<u64> {
    let key = keyroll_core::DbKey::from_hex(common::KEY).unwrap();
    let store = keyroll_core::Store::open(db, &key).unwrap();
    keyroll_core::home::todo(store.conn())
        .unwrap()
        .into_iter()
        .find(|i| i.what == what)
        .map(|i| i.count)
}

struct Setup {
    dir: tempfile::TempDir,
    db: PathBuf,
    server: ScimServer,
    scim: Client,
}

fn setup(students: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let db = keyroll_school(dir.path(), "k.db", students);
    let server_db = dir.path().join("server.db");
    let t = token(&server_db, "Office PC 1");
    let server = ScimServer::start(&server_db);
    let scim = Client::new(&server.base, Some(&t));
    login(&db, &server.base, &t);
    Setup {
        dir,
        db,
        server,
        scim,
    }
}

#[test]
fn a_school_is_pushed_once_and_a_quiet_sync_writes_nothing() {
    let s = setup("30");
    let waiting = status(&s.db);
    let accounts = waiting["to_create"].as_u64().unwrap();
    assert!(accounts > 30, "{waiting}");
    assert_eq!(waiting["pending"], accounts, "{waiting}");

    let dry = json(&s.db, &["sync", "--dry-run", "--json"]);
    assert_eq!(dry["pushed"]["users_created"], accounts, "{dry}");
    assert_eq!(dry["requests"]["writes"], 0, "{dry}");
    assert!(users(&s.scim).is_empty(), "a dry run writes nothing");

    let first = sync(&s.db);
    assert_eq!(first["pushed"]["users_created"], accounts, "{first}");
    assert_eq!(first["pushed"]["failed"], json!([]), "{first}");
    let on_server = users(&s.scim);
    assert_eq!(on_server.len() as u64, accounts);
    assert_eq!(distinct_keys(&on_server), accounts, "one user per account");
    // Parents wait for review: pushed, but not active.
    let parent = on_server
        .iter()
        .find(|u| u[SCHOOL]["role"] == "parent")
        .expect("parents are pushed");
    assert_eq!(parent["active"], false);
    assert!(parent[SCHOOL]["familyLinks"][0]["value"]
        .as_str()
        .unwrap()
        .starts_with("student:"));
    let groups = s.scim.get("/Groups");
    let students = groups.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["displayName"] == "Students")
        .cloned()
        .expect("the Students group");
    let listed = json(&s.db, &["accounts", "list", "--kind", "student", "--json"]);
    let in_group = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["group"] == "Students")
        .count();
    assert!(in_group > 20);
    assert_eq!(students["members"].as_array().unwrap().len(), in_group);
    assert_eq!(status(&s.db)["to_create"], 0);

    let quiet = sync(&s.db);
    assert_eq!(quiet["requests"]["writes"], 0, "{quiet}");

    let staff = a_staff_username(&s.db);
    ok(&s.db, &["accounts", "disable", "--search", &staff]);
    let delta = sync(&s.db);
    assert_eq!(delta["pushed"]["users_updated"], 1, "{delta}");
    assert_eq!(delta["requests"]["writes"], 1, "one Bulk request: {delta}");
    assert_eq!(user_named(&s.scim, &staff)["active"], false);
    assert_eq!(status(&s.db)["to_update"], 0);
}

/// The server's user whose externalId ends with `sis_id`.
fn user_by_sis_id(scim: &Client, sis_id: &str) -> Value {
    let suffix = format!(":{sis_id}");
    users(scim)
        .into_iter()
        .find(|u| u["externalId"].as_str().unwrap().ends_with(&suffix))
        .unwrap_or_else(|| panic!("{sis_id} is on the server"))
}

fn family_links(user: &Value) -> Vec<(String, String)> {
    let links = user[SCHOOL]["familyLinks"].as_array().cloned();
    let mut out: Vec<(String, String)> = links
        .unwrap_or_default()
        .iter()
        .map(|l| {
            let value = l["value"].as_str().unwrap();
            let sis_id = value.rsplit(':').next().unwrap().to_owned();
            (sis_id, l["display"].as_str().unwrap_or_default().to_owned())
        })
        .collect();
    out.sort();
    out
}

/// OneRoster users.csv: (sourcedId, givenName, agentSourcedIds) by column.
fn users_csv(path: &Path) -> (csv::StringRecord, Vec<csv::StringRecord>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header = r.headers().unwrap().clone();
    (header, r.records().map(Result::unwrap).collect())
}

#[test]
fn a_family_change_reaches_both_sides_with_no_change_to_either_account() {
    let s = setup("30");
    sync(&s.db);
    let files = s.dir.path().join("school");
    let (header, mut rows) = users_csv(&files.join("users.csv"));
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (id, given, agents) = (col("sourcedId"), col("givenName"), col("agentSourcedIds"));
    let list = |r: &csv::StringRecord| -> Vec<String> {
        r[agents]
            .split(',')
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect()
    };
    // A student with two parents or more, one of whom has another child:
    // that link ends, the other parent stays.
    let on_server: Vec<String> = users(&s.scim)
        .iter()
        .map(|u| {
            u["externalId"]
                .as_str()
                .unwrap()
                .rsplit(':')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    let has_account = |a: &String| on_server.contains(a);
    let children = |agent: &str| {
        rows.iter()
            .find(|r| r[id] == *agent)
            .map_or(0, |r| list(r).len())
    };
    let (student, gone, stays) = rows
        .iter()
        .filter(|r| r[id].starts_with("stu-"))
        .find_map(|r| {
            let parents: Vec<String> = list(r).into_iter().filter(has_account).collect();
            let gone = parents.iter().find(|a| children(a) >= 2)?;
            let stays = parents.iter().find(|a| *a != gone)?;
            Some((r.clone(), gone.clone(), stays.clone()))
        })
        .expect("a student with two parents, one with another child");
    let student_id = student[id].to_owned();
    assert!(family_links(&user_by_sis_id(&s.scim, &gone))
        .iter()
        .any(|(sis, _)| *sis == student_id));

    // The link ends on both rows; the child is renamed, which the parent
    // who stays sees in their family.
    for r in rows.iter_mut() {
        let mut fields: Vec<String> = r.iter().map(str::to_owned).collect();
        if r[id] == student_id {
            let kept: Vec<String> = list(r).into_iter().filter(|a| *a != gone).collect();
            fields[agents] = kept.join(",");
            fields[given] = "Wiremu".into();
        } else if r[id] == gone {
            let kept: Vec<String> = list(r).into_iter().filter(|a| *a != student_id).collect();
            fields[agents] = kept.join(",");
        }
        *r = csv::StringRecord::from(fields);
    }
    let mut w = csv::Writer::from_path(files.join("users.csv")).unwrap();
    w.write_record(&header).unwrap();
    rows.iter().for_each(|r| w.write_record(r).unwrap());
    w.flush().unwrap();
    ok(&s.db, &["import", files.to_str().unwrap()]);

    let delta = sync(&s.db);
    assert_eq!(delta["pushed"]["failed"], json!([]), "{delta}");
    assert!(
        delta["pushed"]["users_updated"].as_u64().unwrap() >= 3,
        "{delta}"
    );
    let gone_links = family_links(&user_by_sis_id(&s.scim, &gone));
    assert!(
        gone_links.iter().all(|(sis, _)| *sis != student_id),
        "{gone} is no longer {student_id}'s parent on the server: {gone_links:?}"
    );
    assert!(!gone_links.is_empty(), "{gone} keeps their other children");
    let student_links = family_links(&user_by_sis_id(&s.scim, &student_id));
    assert!(
        student_links.iter().all(|(sis, _)| *sis != gone),
        "{student_links:?}"
    );
    let stays_links = family_links(&user_by_sis_id(&s.scim, &stays));
    let child = stays_links.iter().find(|(sis, _)| *sis == student_id);
    assert!(
        child.is_some_and(|(_, display)| display.contains("Wiremu")),
        "{stays}'s family names the child as renamed: {stays_links:?}"
    );
    assert_eq!(
        sync(&s.db)["requests"]["writes"],
        0,
        "then nothing is left to send"
    );
}

#[test]
fn a_lock_on_the_server_shows_in_keyroll_and_an_unlock_from_keyroll_lifts_it() {
    let s = setup("10");
    sync(&s.db);
    let staff = a_staff_username(&s.db);
    let mut b = Browser::new(&s.server.site());
    for _ in 0..5 {
        let p = b.submit(
            "/sign-in",
            "/sign-in",
            &[("username", &staff), ("password", "not the password")],
        );
        assert_eq!(p.status, 401);
    }
    assert_eq!(user_named(&s.scim, &staff)[SCHOOL]["locked"], true);
    sync(&s.db);
    assert_eq!(status(&s.db)["locked"], 1);
    // The account's panel shows the server's view.
    let view = server_view(&s.db, &staff);
    assert_eq!(
        (
            view.on_server,
            view.locked,
            view.pending,
            view.unlock_requested
        ),
        (true, true, false, false),
        "{view:?}"
    );
    assert_eq!(view.last_sign_in, None, "five failures are not a sign-in");

    ok(&s.db, &["sync", "unlock", &staff]);
    assert_eq!(status(&s.db)["unlocks"], 1);
    let view = server_view(&s.db, &staff);
    assert_eq!(
        (view.unlock_requested, view.pending),
        (true, true),
        "{view:?}"
    );
    sync(&s.db);
    assert_ne!(user_named(&s.scim, &staff)[SCHOOL]["locked"], true);
    let after = status(&s.db);
    assert_eq!(
        (after["locked"].clone(), after["unlocks"].clone()),
        (json!(0), json!(0))
    );
    // The next sync does not unlock again.
    assert_eq!(sync(&s.db)["requests"]["writes"], 0);
}

#[test]
fn a_username_changed_on_both_sides_waits_for_the_office() {
    let s = setup("10");
    sync(&s.db);
    let people = json(&s.db, &["accounts", "list", "--kind", "student", "--json"]);
    let (first, second) = (&people[0], &people[1]);
    for (i, p) in [first, second].into_iter().enumerate() {
        let id = p["sis_id"].as_str().unwrap();
        ok(
            &s.db,
            &[
                "accounts",
                "rename",
                "--kind",
                "student",
                "--id",
                id,
                "--to",
                &format!("kept.{i}"),
            ],
        );
        let remote = user_named(&s.scim, p["username"].as_str().unwrap());
        let a = s.scim.patch(
            &format!("/Users/{}", remote["id"].as_str().unwrap()),
            &json!({"schemas": [PATCH], "Operations": [
                {"op": "replace", "path": "userName", "value": format!("server.{i}")}]}),
        );
        assert_eq!(a.status, 200, "{}", a.body);
    }
    assert_eq!(
        home_item(&s.db, "sync_pending"),
        Some(2),
        "Home counts what waits"
    );
    let found = sync(&s.db);
    assert_eq!(found["pulled"]["conflicts"], 2, "{found}");
    assert_eq!(
        home_item(&s.db, "sync_conflicts"),
        Some(2),
        "Home counts conflicts"
    );
    // Neither side is overwritten while the office decides.
    assert!(user_named(&s.scim, "server.0").is_object());
    let conflicts = json(&s.db, &["sync", "conflicts", "--json"]);
    let summary = conflicts[0]["summary"].as_str().unwrap();
    assert_eq!(
        summary.split(" since ").next().unwrap(),
        "Keyroll says the username is kept.0, the server says server.0"
    );
    let (one, two) = (
        conflicts[0]["id"].to_string(),
        conflicts[1]["id"].to_string(),
    );

    ok(&s.db, &["sync", "resolve", &one, "--keep", "server"]);
    ok(&s.db, &["sync", "resolve", &two, "--keep", "keyroll"]);
    assert_eq!(status(&s.db)["conflicts"], 0);
    sync(&s.db);
    let names = json(&s.db, &["accounts", "list", "--kind", "student", "--json"]);
    let usernames: Vec<&str> = names
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["username"].as_str())
        .collect();
    assert!(usernames.contains(&"server.0") && usernames.contains(&"kept.1"));
    assert!(user_named(&s.scim, "kept.1").is_object());
    assert!(user_named(&s.scim, "server.1").is_null());
    assert_eq!(sync(&s.db)["pulled"]["conflicts"], 0);
}

#[test]
fn two_keyroll_databases_share_one_server_without_duplicates() {
    let s = setup("10");
    sync(&s.db);
    let count = users(&s.scim).len();
    let other = keyroll_school(s.dir.path(), "other.db", "10");
    let t = token(&s.server.db, "Office PC 2");
    login(&other, &s.server.base, &t);
    let groups = s.scim.get("/Groups").body["totalResults"].clone();
    let second = sync(&other);
    assert_eq!(second["pushed"]["users_created"], 0, "{second}");
    assert_eq!(second["pushed"]["groups_created"], 0, "{second}");
    assert_eq!(
        s.scim.get("/Groups").body["totalResults"],
        groups,
        "no group twice"
    );
    assert_eq!(second["pushed"]["failed"], json!([]), "{second}");
    assert_eq!(users(&s.scim).len(), count, "no duplicates");

    // One office disables; the other office's Keyroll follows the server.
    let staff = a_staff_username(&s.db);
    ok(&s.db, &["accounts", "disable", "--search", &staff]);
    sync(&s.db);
    let followed = sync(&other);
    assert_eq!(followed["pulled"]["taken"], 1, "{followed}");
    let there = json(&other, &["accounts", "list", "--search", &staff, "--json"]);
    assert_eq!(there[0]["state"], "disabled", "{there}");
    assert_eq!(sync(&other)["requests"]["writes"], 0);
}

/// What the proxy does with one request.
enum Fault {
    /// Answers 500 without asking the server.
    Status500,
    /// Answers 429 with Retry-After.
    TooMany,
    /// The server does the work; the answer never arrives.
    LoseAnswer,
    /// The request reaches the server, then this runs (it kills the server
    /// mid-request); the client's connection is dropped.
    Then(Box<dyn FnOnce() + Send>),
}

type Faults = Box<dyn Fn(usize, &str) -> Option<Fault> + Send + Sync>;

/// A proxy in front of the server (`upstream`, which a test may point
/// elsewhere) that fails the requests `fault` picks by their number and
/// their first line.
fn faulty_proxy(upstream: Arc<Mutex<String>>, fault: Faults) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let fault = Arc::new(fault);
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let (upstream, seen, fault) = (upstream.clone(), seen.clone(), fault.clone());
            std::thread::spawn(move || {
                while let Some(request) = read_request(&mut conn) {
                    let n = seen.fetch_add(1, Ordering::SeqCst);
                    let line = String::from_utf8_lossy(&request);
                    let line = line.lines().next().unwrap_or_default().to_owned();
                    let to = upstream.lock().unwrap().clone();
                    match fault(n, &line) {
                        Some(Fault::Status500) => {
                            let _ = conn.write_all(
                                b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n",
                            );
                        }
                        Some(Fault::TooMany) => {
                            let _ = conn.write_all(b"HTTP/1.1 429 Too Many Requests\r\nretry-after: 1\r\ncontent-length: 0\r\n\r\n");
                        }
                        Some(Fault::LoseAnswer) => {
                            let _ = forward(&to, &request, || ());
                            return;
                        }
                        Some(Fault::Then(then)) => {
                            let _ = forward(&to, &request, then);
                            return;
                        }
                        None => match forward(&to, &request, || ()) {
                            Some(answer) => {
                                let _ = conn.write_all(&answer);
                            }
                            None => return,
                        },
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

fn read_request(conn: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if conn.read(&mut byte).ok()? == 0 {
            return None;
        }
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf).to_ascii_lowercase();
    let len = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse::<usize>().unwrap())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    conn.read_exact(&mut body).ok()?;
    buf.extend(body);
    Some(buf)
}

/// Sends `request` upstream, runs `sent`, and reads the answer.
fn forward(upstream: &str, request: &[u8], sent: impl FnOnce()) -> Option<Vec<u8>> {
    let host = upstream.trim_start_matches("http://");
    let mut up = TcpStream::connect(host).ok()?;
    // One request per connection upstream, so its answer ends at close.
    let text = String::from_utf8_lossy(request).replacen("\r\n", "\r\nconnection: close\r\n", 1);
    up.write_all(text.as_bytes()).ok()?;
    sent();
    let mut answer = Vec::new();
    up.read_to_end(&mut answer).ok()?;
    // Say so to the client too.
    Some(answer)
}

#[test]
fn failures_mid_push_resume_with_no_duplicate_and_nothing_skipped() {
    let s = setup("40");
    let accounts = status(&s.db)["to_create"].as_u64().unwrap();
    let site = s.server.site();
    let path = s.server.base.trim_start_matches(&site).to_owned();
    // The groups' Bulk gets a 500 and is retried; the users' Bulk is done
    // by the server but its answer lost, so its retry finds every user
    // there already; of the lookups that find them, the third gets a 429.
    let (bulks, lookups) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let proxy = faulty_proxy(
        Arc::new(Mutex::new(site)),
        Box::new(move |_, line| {
            if line.starts_with("POST") && line.contains("/Bulk ") {
                return match bulks.fetch_add(1, Ordering::SeqCst) {
                    0 => Some(Fault::Status500),
                    2 => Some(Fault::LoseAnswer),
                    _ => None,
                };
            }
            let lookup = line.starts_with("GET") && line.contains("externalId");
            if lookup && lookups.fetch_add(1, Ordering::SeqCst) == 2 {
                return Some(Fault::TooMany);
            }
            None
        }),
    );
    let t = token(&s.server.db, "Office PC 3");
    login(&s.db, &format!("{proxy}{path}"), &t);
    let first = keyroll_stdin(&s.db, &["sync", "--json"], "");
    assert_eq!(first.code, 0, "{}", first.stderr);
    let first: Value = serde_json::from_str(&first.stdout).unwrap();
    assert!(
        first["requests"]["retries"].as_u64().unwrap() >= 3,
        "{first}"
    );
    // The lost answer's users were found on the server, not made again.
    assert_eq!(first["pushed"]["users_created"], 0, "{first}");
    assert_eq!(first["pushed"]["failed"], json!([]), "{first}");
    let resumed = sync(&s.db);
    assert_eq!(resumed["pushed"]["users_created"], 0, "{resumed}");
    let on_server = users(&s.scim);
    assert_eq!(
        on_server.len() as u64,
        accounts,
        "none duplicated, none skipped"
    );
    assert_eq!(status(&s.db)["to_create"], 0);
    assert_eq!(sync(&s.db)["requests"]["writes"], 0);
}

/// The independent PyPI scim2-server, in memory.
struct Scim2Server {
    child: std::process::Child,
    base: String,
}

impl Drop for Scim2Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn scim2_server(token: &str) -> Scim2Server {
    let bin = common::server::scim2_cli()
        .map(|p| p.with_file_name("scim2-server"))
        .filter(|p| p.exists())
        .expect("scim2-server is installed (scripts/install-deps)");
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new(bin)
        .args([
            "--hostname",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--bearer-token",
            token,
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Scim2Server { child, base }
}

#[test]
fn the_same_client_pushes_to_an_independent_scim_server() {
    let dir = tempfile::tempdir().unwrap();
    let db = keyroll_school(dir.path(), "k.db", "10");
    let server = scim2_server("t0ken-for-tests");
    let scim = Client::new(&server.base, Some("t0ken-for-tests"));
    let wrong = keyroll_stdin(
        &db,
        &["sync", "login", "--server", &server.base, "--token-stdin"],
        "nope",
    );
    assert_eq!(wrong.code, 1);
    assert!(
        wrong.stderr.contains("refused Keyroll's token"),
        "{}",
        wrong.stderr
    );
    login(&db, &server.base, "t0ken-for-tests");
    let accounts = status(&db)["to_create"].as_u64().unwrap();
    let first = sync(&db);
    assert_eq!(first["pushed"]["users_created"], accounts, "{first}");
    assert_eq!(first["pushed"]["failed"], json!([]), "{first}");
    let on_server = users(&scim);
    assert_eq!(on_server.len() as u64, accounts);
    assert!(
        on_server.iter().all(|u| u.get(SCHOOL).is_none()),
        "it does not know the extension"
    );
    assert_eq!(sync(&db)["requests"]["writes"], 0);
    let staff = a_staff_username(&db);
    ok(&db, &["accounts", "disable", "--search", &staff]);
    let delta = sync(&db);
    assert_eq!(delta["pushed"]["users_updated"], 1, "{delta}");
    assert_eq!(user_named(&scim, &staff)["active"], false);
}

#[test]
fn a_server_killed_mid_push_and_started_again_gets_every_user_once() {
    let Setup {
        dir: _dir,
        db,
        server,
        ..
    } = setup("40");
    let accounts = status(&db)["to_create"].as_u64().unwrap();
    let site = server.site();
    let path = server.base.trim_start_matches(&site).to_owned();
    let server_db = server.db.clone();
    let upstream = Arc::new(Mutex::new(site));
    let running = Arc::new(Mutex::new(Some(server)));
    let bulks = Arc::new(AtomicUsize::new(0));
    let (up, run, seen, sdb) = (
        upstream.clone(),
        running.clone(),
        bulks.clone(),
        server_db.clone(),
    );
    // The first Bulk is the groups'; the second, the users', reaches the
    // server, which is then killed (SIGKILL) and started again.
    let proxy = faulty_proxy(
        upstream,
        Box::new(move |_, line| {
            let bulk = line.starts_with("POST") && line.contains("/Bulk ");
            if !bulk || seen.fetch_add(1, Ordering::SeqCst) != 1 {
                return None;
            }
            let (up, run, sdb) = (up.clone(), run.clone(), sdb.clone());
            Some(Fault::Then(Box::new(move || {
                let mut running = run.lock().unwrap();
                drop(running.take());
                let again = ScimServer::start(&sdb);
                *up.lock().unwrap() = again.site();
                *running = Some(again);
            })))
        }),
    );
    let t = token(&server_db, "Office PC 4");
    login(&db, &format!("{proxy}{path}"), &t);
    let first = keyroll_stdin(&db, &["sync", "--json"], "");
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(
        bulks.load(Ordering::SeqCst) >= 3,
        "the users' Bulk was sent again"
    );
    let first: Value = serde_json::from_str(&first.stdout).unwrap();
    assert!(
        first["requests"]["retries"].as_u64().unwrap() >= 1,
        "{first}"
    );
    assert_eq!(first["pushed"]["failed"], json!([]), "{first}");

    let base = running.lock().unwrap().as_ref().unwrap().base.clone();
    let scim = Client::new(&base, Some(&t));
    let on_server = users(&scim);
    assert_eq!(on_server.len() as u64, accounts, "none skipped");
    assert_eq!(distinct_keys(&on_server), accounts, "none duplicated");
    assert_eq!(status(&db)["to_create"], 0);
    assert_eq!(sync(&db)["requests"]["writes"], 0);
    // The proxy's thread keeps its handle: stop the server here.
    drop(running.lock().unwrap().take());
}

#[test]
fn a_change_on_the_server_after_the_pull_is_a_412_and_neither_change_is_lost() {
    let s = setup("10");
    let site = s.server.site();
    let path = s.server.base.trim_start_matches(&site).to_owned();
    let t = token(&s.server.db, "Office PC 5");
    let direct = Client::new(&s.server.base, Some(&t));
    // Set when the test picks its user; the proxy then renames that user on
    // the server between Keyroll's pull and its push (at its first Bulk),
    // so the push's If-Match names an ETag that has moved on.
    let target: Arc<Mutex<Option<String>>> = Arc::default();
    let renamed = Arc::new(AtomicUsize::new(0));
    let (aim, count) = (target.clone(), renamed.clone());
    let proxy = faulty_proxy(
        Arc::new(Mutex::new(site)),
        Box::new(move |_, line| {
            let bulk = line.starts_with("POST") && line.contains("/Bulk ");
            if !bulk {
                return None;
            }
            let remote_id = aim.lock().unwrap().take()?;
            let a = direct.patch(
                &format!("/Users/{remote_id}"),
                &json!({"schemas": [PATCH], "Operations": [
                    {"op": "replace", "path": "userName", "value": "renamed.on.server"}]}),
            );
            assert_eq!(a.status, 200, "{}", a.body);
            count.fetch_add(1, Ordering::SeqCst);
            None
        }),
    );
    login(&s.db, &format!("{proxy}{path}"), &t);
    sync(&s.db);
    let staff = a_staff_username(&s.db);
    ok(&s.db, &["accounts", "disable", "--search", &staff]);
    let remote_id = user_named(&s.scim, &staff)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    *target.lock().unwrap() = Some(remote_id);

    let done = sync(&s.db);
    assert_eq!(renamed.load(Ordering::SeqCst), 1, "renamed mid-sync");
    assert_eq!(done["pushed"]["failed"], json!([]), "{done}");
    assert_eq!(done["pushed"]["users_updated"], 1, "{done}");
    assert_eq!(
        done["requests"]["writes"], 2,
        "sent, refused (412), sent again: {done}"
    );
    // The 412 made Keyroll read the user again in the same sync: the
    // server's rename waits for the office (a username is never taken
    // silently), and Keyroll's disable reached the server without undoing it.
    assert_eq!(status(&s.db)["conflicts"], 1);
    let conflicts = json(&s.db, &["sync", "conflicts", "--json"]);
    assert!(
        conflicts[0]["summary"]
            .as_str()
            .unwrap()
            .contains("the server says renamed.on.server"),
        "{conflicts}"
    );
    let here = json(&s.db, &["accounts", "list", "--search", &staff, "--json"]);
    assert_eq!(here[0]["state"], "disabled", "{here}");
    let there = user_named(&s.scim, "renamed.on.server");
    assert_eq!(there["active"], false, "{there}");
    assert_eq!(sync(&s.db)["requests"]["writes"], 0);
}
