//! keyroll-server's SCIM API through a real HTTP client, on the real binary
//! with a SQLite file: tokens, discovery, users and groups as Entra ID and
//! Okta really send them, ETags, and the independent compliance checker.

mod common;

use common::server::{admin, token, Client, ScimServer};
use serde_json::{json, Value};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const SCHOOL: &str = "urn:keyroll:params:scim:schemas:extension:school:2.0:User";

fn started() -> (tempfile::TempDir, ScimServer, String) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let t = token(&db, "Office PC 1");
    let server = ScimServer::start(&db);
    (dir, server, t)
}

fn user(user_name: &str, external_id: &str) -> Value {
    json!({
        "schemas": [USER, SCHOOL],
        "userName": user_name,
        "externalId": external_id,
        "name": {"givenName": "Zoë", "familyName": "Ångström"},
        "displayName": "Zoë Ångström",
        "active": true,
        "emails": [{"value": user_name, "type": "work", "primary": true}],
        "password": "Initial-Secret-9",
        SCHOOL: {"role": "student", "year": "7", "homeGroup": "7A", "sisId": "stu-0001"}
    })
}

#[test]
fn every_call_needs_a_live_token() {
    let (dir, server, t) = started();
    let paths = [
        "/Users",
        "/Groups",
        "/ServiceProviderConfig",
        "/Schemas",
        "/Users/x",
    ];
    let wrong = format!("{t}x");
    for (token, why) in [(None, "no token"), (Some(wrong.as_str()), "a wrong token")] {
        let c = Client::new(&server.base, token);
        for p in paths {
            let a = c.get(p);
            assert_eq!(a.status, 401, "{why}: {p}");
            assert_eq!(
                a.www_authenticate.as_deref(),
                Some("Bearer realm=\"keyroll\""),
                "{p}"
            );
            assert_eq!(a.body["status"], "401");
        }
    }
    let c = Client::new(&server.base, Some(&t));
    assert_eq!(c.get("/Users").status, 200);
    // Listed with its last use; revoked while the server runs, refused at once.
    let db = dir.path().join("server.db");
    let list = admin(&db, &["token", "list", "--json"]);
    let tokens: Value = serde_json::from_str(&list.stdout).unwrap();
    assert_eq!(tokens[0]["name"], "Office PC 1");
    assert!(tokens[0]["last_used"].is_string(), "{tokens}");
    let r = admin(&db, &["token", "revoke", "Office PC 1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(c.get("/Users").status, 401);
    let r = admin(&db, &["token", "revoke", "Office PC 1"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("token list"), "{}", r.stderr);
    // The file keeps neither the token nor anything that reveals it.
    let bytes = common::server::stored_bytes(&db);
    let secret = &t[3..];
    assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()));
}

#[test]
fn discovery_describes_the_school_extension() {
    let (_dir, server, t) = started();
    let c = Client::new(&server.base, Some(&t));
    let spc = c.get("/ServiceProviderConfig");
    assert_eq!(spc.status, 200);
    assert_eq!(spc.content_type.as_deref(), Some("application/scim+json"));
    assert_eq!(spc.body["patch"]["supported"], true);
    assert_eq!(spc.body["etag"]["supported"], true);
    assert_eq!(spc.body["filter"]["maxResults"], 1000);
    let schemas = c.get("/Schemas");
    let ids: Vec<&str> = schemas.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&SCHOOL) && ids.contains(&USER), "{ids:?}");
    let school = c.get(&format!("/Schemas/{SCHOOL}"));
    let names: Vec<&str> = school.body["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    for n in [
        "role",
        "sisId",
        "year",
        "homeGroup",
        "classes",
        "familyLinks",
        "accessRestricted",
        "noReports",
    ] {
        assert!(names.contains(&n), "{n} in {names:?}");
    }
    let types = c.get("/ResourceTypes/User");
    assert_eq!(types.body["endpoint"], "/Users");
    assert_eq!(c.get("/Me").status, 501);
    assert_eq!(c.get("/Nothing").body["status"], "404");
}

#[test]
fn users_as_entra_and_okta_send_them() {
    let (dir, server, t) = started();
    let c = Client::new(&server.base, Some(&t));
    let made = c.post("/Users", &user("Zoe.Angstrom@demo.example", "kr-1"));
    assert_eq!(made.status, 201, "{}", made.body);
    let id = made.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        made.location.as_deref(),
        Some(format!("{}/Users/{id}", server.base).as_str())
    );
    assert_eq!(made.etag.as_deref(), Some("W/\"1\""));
    assert_eq!(made.body["meta"]["version"], "W/\"1\"");
    assert!(
        made.body.get("password").is_none(),
        "a password is never returned"
    );
    assert_eq!(made.body[SCHOOL]["homeGroup"], "7A");

    // userName is unique without regard to case.
    let twin = c.post("/Users", &user("zoe.angstrom@DEMO.example", "kr-2"));
    assert_eq!(twin.status, 409);
    assert_eq!(twin.body["scimType"], "uniqueness");

    // Entra's lookups: userName (any case) and externalId (exactly).
    for (filter, want) in [
        (r#"userName eq "ZOE.ANGSTROM@demo.example""#, 1),
        (r#"externalId eq "kr-1""#, 1),
        (r#"externalId eq "KR-1""#, 0),
        (r#"emails[type eq "work" and value ew "demo.example"]"#, 1),
        (
            r#"urn:keyroll:params:scim:schemas:extension:school:2.0:User:year eq "7""#,
            1,
        ),
        (r#"meta.lastModified gt "2000-01-01T00:00:00Z""#, 1),
    ] {
        let q = format!("/Users?filter={}", urlencode(filter));
        let a = c.get(&q);
        assert_eq!(a.status, 200, "{filter}: {}", a.body);
        assert_eq!(a.body["totalResults"], want, "{filter}");
    }
    let bad = c.get(&format!("/Users?filter={}", urlencode("userName eq")));
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body["scimType"], "invalidFilter");

    // Okta's connection test pages through with startIndex and count.
    for i in 2..=4 {
        let a = c.post(
            "/Users",
            &user(&format!("u{i}@demo.example"), &format!("kr-{i}")),
        );
        assert_eq!(a.status, 201);
    }
    let page = c.get("/Users?startIndex=1&count=2");
    assert_eq!(page.body["totalResults"], 4);
    assert_eq!(page.body["itemsPerPage"], 2);
    assert_eq!(page.body["Resources"].as_array().unwrap().len(), 2);
    let last = c.get(
        "/Users?startIndex=4&count=2&sortBy=userName&sortOrder=descending&attributes=userName",
    );
    assert_eq!(last.body["itemsPerPage"], 1);
    assert_eq!(last.body["Resources"][0]["userName"], "u2@demo.example");
    assert!(last.body["Resources"][0].get("emails").is_none());

    // Entra's PATCH: capitalised ops, a string boolean, a path-less value.
    let off = c.patch(
        &format!("/Users/{id}"),
        &json!({"schemas": [PATCH], "Operations": [
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "Add", "path": "emails[type eq \"home\"].value", "value": "zoe@home.example"},
            {"op": "Replace", "value": {"name.givenName": "Zoe"}}
        ]}),
    );
    assert_eq!(off.status, 200, "{}", off.body);
    assert_eq!(off.body["active"], false);
    assert_eq!(off.body["name"]["givenName"], "Zoe");
    assert_eq!(off.body["emails"].as_array().unwrap().len(), 2);
    assert_eq!(off.etag.as_deref(), Some("W/\"2\""));

    // ETags: a stale If-Match is refused, a current If-None-Match is 304.
    let path = format!("/Users/{id}");
    let stale = c.send(
        "PATCH",
        &path,
        &[("If-Match", "W/\"1\"")],
        Some(&json!({"schemas": [PATCH],
        "Operations": [{"op": "replace", "path": "title", "value": "x"}]})),
    );
    assert_eq!(stale.status, 412);
    assert_eq!(
        c.send("GET", &path, &[("If-None-Match", "W/\"2\"")], None)
            .status,
        304
    );
    assert_eq!(
        c.send("GET", &path, &[("If-None-Match", "W/\"1\"")], None)
            .status,
        200
    );
    let mut again = user("zoe.angstrom@demo.example", "kr-1");
    again["active"] = json!(true);
    let put = c.send("PUT", &path, &[("If-Match", "W/\"2\"")], Some(&again));
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(put.body["active"], true);
    assert_eq!(put.etag.as_deref(), Some("W/\"3\""));

    // The password is kept only as an argon2id hash.
    let bytes = common::server::stored_bytes(&dir.path().join("server.db"));
    let needle = b"Initial-Secret-9";
    assert!(!bytes.windows(needle.len()).any(|w| w == needle));

    assert_eq!(c.send("DELETE", &path, &[], None).status, 204);
    assert_eq!(c.get(&path).status, 404);
    assert_eq!(c.send("DELETE", &path, &[], None).status, 404);
}

#[test]
fn groups_and_their_members() {
    let (_dir, server, t) = started();
    let c = Client::new(&server.base, Some(&t));
    let a = c.post("/Users", &user("a@demo.example", "kr-a")).body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let b = c.post("/Users", &user("b@demo.example", "kr-b")).body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let g = c.post(
        "/Groups",
        &json!({"schemas": [GROUP], "displayName": "Year 7", "externalId": "grp-7", "members": [{"value": a}]}),
    );
    assert_eq!(g.status, 201, "{}", g.body);
    let gid = g.body["id"].as_str().unwrap().to_owned();
    // A user's groups are made on read.
    let ua = c.get(&format!("/Users/{a}"));
    assert_eq!(ua.body["groups"][0]["value"], gid.as_str());
    assert_eq!(ua.body["groups"][0]["display"], "Year 7");
    // Entra adds and removes members by PATCH, and lists groups without them.
    let gp = format!("/Groups/{gid}");
    let added = c.patch(
        &gp,
        &json!({"schemas": [PATCH], "Operations": [
        {"op": "Add", "path": "members", "value": [{"value": b}, {"value": a}]}]}),
    );
    assert_eq!(added.status, 200, "{}", added.body);
    assert_eq!(added.body["members"].as_array().unwrap().len(), 2);
    let listed = c.get(&format!(
        "/Groups?excludedAttributes=members&filter={}",
        urlencode("displayName eq \"year 7\"")
    ));
    assert_eq!(listed.body["totalResults"], 1);
    assert!(
        listed.body["Resources"][0].get("members").is_none(),
        "{}",
        listed.body
    );
    let removed = c.patch(
        &gp,
        &json!({"schemas": [PATCH], "Operations": [
        {"op": "Remove", "path": "members", "value": [{"value": a}]}]}),
    );
    assert_eq!(
        removed.body["members"],
        json!([{"value": b, "$ref": format!("{}/Users/{b}", server.base)}])
    );
    assert!(c.get(&format!("/Users/{a}")).body.get("groups").is_none());
    // A member that does not exist is refused, and nothing changes.
    let ghost = c.patch(
        &gp,
        &json!({"schemas": [PATCH], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": "nobody"}]}]}),
    );
    assert_eq!(ghost.status, 400);
    assert_eq!(ghost.body["scimType"], "invalidValue");
    // Deleting a user takes them out of their groups.
    assert_eq!(
        c.send("DELETE", &format!("/Users/{b}"), &[], None).status,
        204
    );
    let after = c.get(&gp);
    assert!(
        after
            .body
            .get("members")
            .is_none_or(|m| m.as_array().unwrap().is_empty()),
        "{}",
        after.body
    );
}

/// The independent checker from PyPI (scim2-cli's `scim2 test`): discovery,
/// then create, read, replace, PATCH and delete for each resource type,
/// attribute by attribute.
///
/// One thing it reports is its own mistake, and only that is let through:
/// it first adds the school extension as a whole (filling `classes` and
/// `familyLinks`), then adds one more value to each and expects the list
/// to hold only that one. RFC 7644 §3.5.2.1 says an add to a multi-valued
/// attribute appends, which is what Keyroll's sync relies on; so the
/// answer must hold the old values *and* the new one.
#[test]
fn passes_the_independent_scim_compliance_checker() {
    let Some(scim2) = common::server::scim2_cli() else {
        panic!("scim2-cli is missing: scripts/install-deps installs it");
    };
    let (_dir, server, t) = started();
    let out = std::process::Command::new(scim2)
        .args(["--url", &server.base, "test"])
        .env("SCIM_CLI_HEADERS", format!("Authorization: Bearer {t}"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let results = checker_results(&stdout);
    let passed = results.iter().filter(|(s, _)| s == "SUCCESS").count();
    assert!(
        passed >= 100,
        "the checker ran only {passed} checks:\n{stdout}"
    );
    let failed: Vec<_> = results
        .iter()
        .filter(|(status, _)| status == "ERROR" || status == "CRITICAL")
        .filter(|(_, reason)| !appended_as_rfc_says(reason))
        .collect();
    assert!(
        failed.is_empty(),
        "the checker found faults: {failed:#?}\n{stdout}"
    );
}

/// The checker's output as (status, reason) pairs: a status word at the
/// start of a line, its reason on the indented lines after it.
fn checker_results(out: &str) -> Vec<(String, String)> {
    let mut results: Vec<(String, String)> = Vec::new();
    for line in out.lines() {
        let word = line.split_whitespace().next().unwrap_or("");
        let is_status = !line.starts_with(' ')
            && ["SUCCESS", "ERROR", "CRITICAL", "WARNING", "SKIPPED"].contains(&word);
        if is_status {
            results.push((word.to_owned(), String::new()));
        } else if let Some((_, reason)) = results.last_mut() {
            reason.push_str(line.trim());
            reason.push('\n');
        }
    }
    results
}

/// The checker's one known mistake (see above), recognised only when the
/// value it added is indeed in the answer.
fn appended_as_rfc_says(reason: &str) -> bool {
    let school = "urn:keyroll:params:scim:schemas:extension:school:2.0:User";
    let multi = ["classes", "familyLinks"].iter().any(|a| {
        reason.starts_with(&format!(
            "PATCH modify() returned unexpected value for '{school}:{a}'"
        ))
    });
    let field = |name: &str| {
        reason.lines().find_map(|l| l.strip_prefix(name)).map(|v| {
            v.trim()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned()
        })
    };
    match (field("Patched value:"), field("Returned value:")) {
        (Some(added), Some(answer)) => multi && !added.is_empty() && answer.contains(&added),
        _ => false,
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

const BULK: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";

fn bulk(ops: Value) -> Value {
    json!({"schemas": [BULK], "Operations": ops})
}

/// `/Bulk`: a group that names users made later in the same request, a
/// PATCH by bulkId, and each operation standing or falling alone.
#[test]
fn bulk_requests_resolve_bulk_ids_and_keep_going() {
    let (_dir, server, t) = started();
    let c = Client::new(&server.base, Some(&t));
    let spc = c.get("/ServiceProviderConfig");
    assert_eq!(spc.body["bulk"]["supported"], true);
    assert_eq!(spc.body["bulk"]["maxOperations"], 1000);
    c.post("/Users", &user("taken", "x0"));

    let a = c.post(
        "/Bulk",
        &bulk(json!([
            {"method": "POST", "path": "/Groups", "bulkId": "g",
             "data": {"schemas": [GROUP], "displayName": "7A",
                      "members": [{"value": "bulkId:zoe"}, {"value": "bulkId:sam"}]}},
            {"method": "POST", "path": "/Users", "bulkId": "zoe", "data": user("zoe", "x1")},
            {"method": "POST", "path": "/Users", "bulkId": "sam", "data": user("sam", "x2")},
            {"method": "PATCH", "path": "/Users/bulkId:sam",
             "data": {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": false}]}},
            {"method": "POST", "path": "/Users", "bulkId": "dup", "data": user("TAKEN", "x3")},
            {"method": "POST", "path": "/Groups", "bulkId": "after-dup",
             "data": {"schemas": [GROUP], "displayName": "7B", "members": [{"value": "bulkId:dup"}]}},
            {"method": "DELETE", "path": "/Users/no-such-id"},
            {"method": "POST", "path": "/Groups", "data": {"schemas": [GROUP], "displayName": "7C",
             "members": [{"value": "bulkId:nowhere"}]}},
        ])),
    );
    assert_eq!(a.status, 200, "{}", a.body);
    let ops = a.body["Operations"].as_array().unwrap();
    let status: Vec<&str> = ops.iter().map(|o| o["status"].as_str().unwrap()).collect();
    assert_eq!(
        status,
        ["201", "201", "201", "200", "409", "409", "404", "400"],
        "{}",
        a.body
    );
    assert_eq!(ops[4]["response"]["scimType"], "uniqueness");
    let id_of = |i: usize| {
        ops[i]["location"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_owned()
    };
    let group = c.get(ops[0]["location"].as_str().unwrap());
    let mut members: Vec<&str> = group.body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    members.sort();
    let mut want = [id_of(1), id_of(2)];
    want.sort();
    assert_eq!(members, want);
    let sam = c.get(&format!("/Users/{}", id_of(2)));
    assert_eq!(sam.body["active"], false);
    assert_eq!(sam.etag.as_deref(), ops[3]["version"].as_str());
    // Nothing of what failed was kept.
    let all = c.get("/Users?count=0");
    assert_eq!(all.body["totalResults"], 3);
    assert_eq!(c.get("/Groups").body["totalResults"], 1);

    // failOnErrors: stops after the first failure; what came after is
    // neither done nor answered.
    let a = c.post(
        "/Bulk",
        &json!({"schemas": [BULK], "failOnErrors": 1, "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": user("zoe", "x4")},
            {"method": "POST", "path": "/Users", "bulkId": "b", "data": user("new", "x5")},
        ]}),
    );
    assert_eq!(
        a.body["Operations"].as_array().unwrap().len(),
        1,
        "{}",
        a.body
    );
    assert_eq!(c.get("/Users?count=0").body["totalResults"], 3);

    // A run of new users goes to storage together (one statement on
    // PostgreSQL), and still each stands or falls alone, in order: one
    // taken before the request, one taken earlier in it.
    let a = c.post(
        "/Bulk",
        &bulk(json!([
            {"method": "POST", "path": "/Users", "data": user("ann", "x6")},
            {"method": "POST", "path": "/Users", "data": user("Zoe", "x7")},
            {"method": "POST", "path": "/Users", "data": user("ben", "x8")},
            {"method": "POST", "path": "/Users", "data": user("ANN", "x9")},
            {"method": "POST", "path": "/Users", "data": {"schemas": [USER]}},
            {"method": "POST", "path": "/Users", "data": user("cat", "x10")},
        ])),
    );
    let status: Vec<&str> = a.body["Operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        status,
        ["201", "409", "201", "409", "400", "201"],
        "{}",
        a.body
    );
    assert!(a.body["Operations"][3]["response"]["detail"]
        .as_str()
        .unwrap()
        .contains("ANN"));
    let made = |name: &str| {
        c.get(&format!("/Users?filter=userName%20eq%20%22{name}%22"))
            .body["totalResults"]
            .clone()
    };
    assert_eq!(
        (made("ann"), made("ben"), made("cat")),
        (json!(1), json!(1), json!(1))
    );
    assert_eq!(c.get("/Users?count=0").body["totalResults"], 6);
    // failOnErrors 2 in a run: after the second failure nothing more is
    // made, though it came in the same run.
    let a = c.post(
        "/Bulk",
        &json!({"schemas": [BULK], "failOnErrors": 2, "Operations": [
            {"method": "POST", "path": "/Users", "data": user("dan", "x11")},
            {"method": "POST", "path": "/Users", "data": user("ann", "x12")},
            {"method": "POST", "path": "/Users", "data": user("ben", "x13")},
            {"method": "POST", "path": "/Users", "data": user("eve", "x14")},
        ]}),
    );
    let status: Vec<&str> = a.body["Operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap())
        .collect();
    assert_eq!(status, ["201", "409", "409"], "{}", a.body);
    assert_eq!(made("eve"), json!(0));
    assert_eq!(c.get("/Users?count=0").body["totalResults"], 7);

    // A stale version is refused for that operation only.
    let put = c.post(
        "/Bulk",
        &bulk(json!([
            {"method": "PUT", "path": format!("/Users/{}", id_of(1)), "version": "W/\"99\"",
             "data": user("zoe", "x1")},
            {"method": "POST", "path": "/Groups", "bulkId": "p",
             "data": {"schemas": [GROUP], "displayName": "P", "members": [{"value": "bulkId:q"}]}},
            {"method": "POST", "path": "/Groups", "bulkId": "q",
             "data": {"schemas": [GROUP], "displayName": "Q", "members": [{"value": "bulkId:p"}]}},
        ])),
    );
    let status: Vec<&str> = put.body["Operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap())
        .collect();
    assert_eq!(status, ["412", "409", "409"], "{}", put.body);
    assert!(put.body["Operations"][1]["response"]["detail"]
        .as_str()
        .unwrap()
        .contains("circle"));

    // The limits, as SCIM errors.
    let many: Vec<Value> = (0..1001)
        .map(|i| json!({"method": "DELETE", "path": format!("/Users/{i}")}))
        .collect();
    let a = c.post("/Bulk", &bulk(Value::Array(many)));
    assert_eq!(a.status, 413);
    assert_eq!(a.body["scimType"], "tooMany");
    let a = c.post("/Bulk", &json!({"Operations": []}));
    assert_eq!(a.status, 400);
    assert_eq!(a.body["scimType"], "invalidSyntax");
}
