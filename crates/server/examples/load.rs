//! The client side of bench/server.sh: loads a running keyroll-server and
//! measures it. Each mode prints one line of `key=value` results.
//!
//!   load bulk URL TOKEN USERS            users made by /Bulk, 1,000 a request
//!   load posts URL TOKEN USERS           the same users, one POST each (reference)
//!   load lookup URL TOKEN USERS SAMPLES  GET /Users?filter=userName eq "…" latency
//!   load by-id URL TOKEN SAMPLES         GET /Users/{id} latency (reference)
//!   load sign-in SITE USERS SECONDS THREADS   sign-ins a second
//!   load argon2 SECONDS THREADS          argon2id verifications a second (the bound)

use std::time::{Duration, Instant};

use serde_json::{json, Value};

const PASSWORD: &str = "blue kettle morning";

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into()
}

fn user(i: usize) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:keyroll:params:scim:schemas:extension:school:2.0:User"],
        "userName": format!("student{i:06}@demo.example"),
        "externalId": format!("kr-{i}"),
        "name": {"givenName": format!("Given{i}"), "familyName": format!("Family{}", i % 977)},
        "displayName": format!("Given{i} Family{}", i % 977),
        "active": true,
        "emails": [{"value": format!("student{i:06}@demo.example"), "type": "work", "primary": true}],
        "urn:keyroll:params:scim:schemas:extension:school:2.0:User": {
            "role": "student", "sisId": format!("S{i:07}"), "sisSource": "OneRoster",
            "school": "Demo School", "year": format!("{}", 1 + i % 12),
            "homeGroup": format!("{}{}", 1 + i % 12, ["A", "B", "C", "D"][i % 4]),
            "classes": [format!("MATH{}", i % 40), format!("ENG{}", i % 40)],
            "family": format!("F{}", i / 2),
        },
    })
}

fn post(a: &ureq::Agent, url: &str, token: &str, body: &Value) -> (u16, Value) {
    let mut r = a
        .post(url)
        .header("Authorization", &format!("Bearer {token}"))
        .content_type("application/scim+json")
        .send(body.to_string())
        .expect("the server answers");
    let status = r.status().as_u16();
    let v = r.body_mut().read_json().unwrap_or(Value::Null);
    (status, v)
}

fn get(a: &ureq::Agent, url: &str, token: &str) -> u16 {
    let mut r = a
        .get(url)
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .expect("the server answers");
    let _ = r.body_mut().read_to_string();
    r.status().as_u16()
}

fn bulk(url: &str, token: &str, users: usize) {
    let a = agent();
    let started = Instant::now();
    let mut made = 0;
    for chunk in (0..users).collect::<Vec<_>>().chunks(1000) {
        let ops: Vec<Value> = chunk
            .iter()
            .map(|i| json!({"method": "POST", "path": "/Users", "bulkId": format!("u{i}"), "data": user(*i)}))
            .collect();
        let (status, v) = post(
            &a,
            &format!("{url}/Bulk"),
            token,
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ops}),
        );
        assert_eq!(status, 200, "{v}");
        made += v["Operations"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["status"] == "201")
            .count();
    }
    let s = started.elapsed().as_secs_f64();
    assert_eq!(made, users, "every user made");
    println!(
        "mode=bulk users={users} seconds={s:.2} per_second={:.0}",
        users as f64 / s
    );
}

fn posts(url: &str, token: &str, users: usize) {
    let a = agent();
    let started = Instant::now();
    for i in 0..users {
        let (status, v) = post(&a, &format!("{url}/Users"), token, &user(10_000_000 + i));
        assert_eq!(status, 201, "{v}");
    }
    let s = started.elapsed().as_secs_f64();
    println!(
        "mode=posts users={users} seconds={s:.2} per_second={:.0}",
        users as f64 / s
    );
}

fn percentiles(mut ms: Vec<f64>, mode: &str) {
    ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let at = |p: f64| ms[((ms.len() as f64 * p) as usize).min(ms.len() - 1)];
    println!(
        "mode={mode} samples={} p50_ms={:.2} p99_ms={:.2} max_ms={:.2}",
        ms.len(),
        at(0.50),
        at(0.99),
        ms[ms.len() - 1]
    );
}

/// A deterministic spread of user numbers below `users`.
fn pick(k: usize, users: usize) -> usize {
    (k.wrapping_mul(2_654_435_761) ^ (k >> 3)) % users
}

fn lookup(url: &str, token: &str, users: usize, samples: usize) {
    let a = agent();
    let mut ms = Vec::with_capacity(samples);
    for k in 0..samples {
        let name = format!("student{:06}@demo.example", pick(k, users));
        let filter = format!("userName eq \"{name}\"")
            .replace(' ', "%20")
            .replace('"', "%22")
            .replace('@', "%40");
        let t = Instant::now();
        assert_eq!(get(&a, &format!("{url}/Users?filter={filter}"), token), 200);
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    percentiles(ms, "lookup");
}

fn by_id(url: &str, token: &str, samples: usize) {
    let a = agent();
    let mut r = a
        .get(format!("{url}/Users?count=1000&attributes=id"))
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .unwrap();
    let list: Value = r.body_mut().read_json().unwrap();
    let ids: Vec<String> = list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect();
    let mut ms = Vec::with_capacity(samples);
    for k in 0..samples {
        let t = Instant::now();
        assert_eq!(
            get(&a, &format!("{url}/Users/{}", ids[k % ids.len()]), token),
            200
        );
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    percentiles(ms, "by-id");
}

fn sign_in(site: &str, users: usize, seconds: u64, threads: usize) {
    let stop = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let done: usize = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let a = agent();
                    let mut r = a.get(format!("{site}/sign-in")).call().unwrap();
                    let cookie = r
                        .headers()
                        .get("set-cookie")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.split(';').next())
                        .unwrap()
                        .to_owned();
                    let html = r.body_mut().read_to_string().unwrap();
                    let at = html.find("name=\"csrf\" value=\"").unwrap() + 19;
                    let csrf = html[at..at + 64].to_owned();
                    let mut n = 0;
                    while Instant::now() < stop {
                        let who = format!("signin{:04}", (t * 7919 + n) % users);
                        let r = a
                            .post(format!("{site}/sign-in"))
                            .header("Cookie", &cookie)
                            .content_type("application/x-www-form-urlencoded")
                            .send(format!(
                                "csrf={csrf}&username={who}&password=blue+kettle+morning"
                            ))
                            .unwrap();
                        assert_eq!(r.status().as_u16(), 303, "{who} signs in");
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    let s = started.elapsed().as_secs_f64();
    println!(
        "mode=sign-in sign_ins={done} seconds={s:.2} per_second={:.1}",
        done as f64 / s
    );
}

/// The argon2 bound: argon2id checks of one hash on every core with nothing
/// else, each thread keeping its working memory between checks (the fastest
/// the argon2 crate goes, and what the server does).
fn argon2_bound(seconds: u64, threads: usize) {
    use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
    use argon2::{Algorithm, Argon2, Block, Params, Version};
    let hash = Argon2::default()
        .hash_password(PASSWORD.as_bytes(), &SaltString::generate(&mut OsRng))
        .unwrap()
        .to_string();
    let stop = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let done: usize = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let hash = hash.clone();
                s.spawn(move || {
                    let parsed = PasswordHash::new(&hash).unwrap();
                    let params = Params::try_from(&parsed).unwrap();
                    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
                    let mut salt = [0u8; 64];
                    let salt = parsed.salt.unwrap().decode_b64(&mut salt).unwrap();
                    let expected = parsed.hash.unwrap();
                    let mut memory = vec![Block::default(); params.block_count()];
                    let mut out = vec![0u8; expected.len()];
                    let mut n = 0;
                    while Instant::now() < stop {
                        argon2
                            .hash_password_into_with_memory(
                                PASSWORD.as_bytes(),
                                salt,
                                &mut out,
                                &mut memory[..],
                            )
                            .unwrap();
                        assert_eq!(out, expected.as_bytes());
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    let s = started.elapsed().as_secs_f64();
    println!(
        "mode=argon2 verifications={done} seconds={s:.2} per_second={:.1}",
        done as f64 / s
    );
}

/// Users for the sign-in benchmark, each with the same argon2id hash (made
/// once here, as Keyroll would send it).
fn sign_in_users(url: &str, token: &str, users: usize) {
    use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
    let hash = argon2::Argon2::default()
        .hash_password(PASSWORD.as_bytes(), &SaltString::generate(&mut OsRng))
        .unwrap()
        .to_string();
    let a = agent();
    let ops: Vec<Value> = (0..users)
        .map(|i| {
            json!({"method": "POST", "path": "/Users", "bulkId": format!("s{i}"), "data": {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                            "urn:keyroll:params:scim:schemas:extension:credentials:2.0:User"],
                "userName": format!("signin{i:04}"),
                "urn:keyroll:params:scim:schemas:extension:credentials:2.0:User": {"passwordHash": hash},
            }})
        })
        .collect();
    let (status, v) = post(
        &a,
        &format!("{url}/Bulk"),
        token,
        &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ops}),
    );
    assert_eq!(status, 200, "{v}");
    println!("mode=sign-in-users users={users}");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n = |i: usize| args[i].parse::<usize>().expect("a number");
    match args.first().map(String::as_str) {
        Some("bulk") => bulk(&args[1], &args[2], n(3)),
        Some("posts") => posts(&args[1], &args[2], n(3)),
        Some("lookup") => lookup(&args[1], &args[2], n(3), n(4)),
        Some("by-id") => by_id(&args[1], &args[2], n(3)),
        Some("sign-in-users") => sign_in_users(&args[1], &args[2], n(3)),
        Some("sign-in") => sign_in(&args[1], n(2), n(3) as u64, n(4)),
        Some("argon2") => argon2_bound(n(1) as u64, n(2)),
        _ => {
            eprintln!("usage: see the top of crates/server/examples/load.rs");
            std::process::exit(2);
        }
    }
}
