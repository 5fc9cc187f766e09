//! Signing in and out, the signed-in page, and changing a password (forced
//! at the first sign-in with a handed-out password).
//!
//! A wrong password and an unknown username get the same words and take
//! the same time. Five wrong passwords in a row lock the account; a locked
//! account says so only to someone who typed its right password.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use keyroll_scim::credentials::{PasswordRules, Rule};
use serde::Deserialize;

use super::view::{self, ClientAddr, Page};
use super::{cookies, settings, LOCK_AFTER};
use crate::storage::{Account, AccountKey};
use crate::Server;

/// Runs a page's work off the async workers (argon2 takes tens of
/// milliseconds on purpose; SQLite blocks).
pub async fn blocking(f: impl FnOnce() -> Response + Send + 'static) -> Response {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| {
        eprintln!("keyroll-server: a page panicked: {e}");
        StatusCode::INTERNAL_SERVER_ERROR.into_response()
    })
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignIn<'a> {
    page: &'a Page,
    notice: Option<&'a str>,
    errors: Vec<String>,
    user_name: &'a str,
}

#[derive(Deserialize, Default)]
pub struct Notice {
    #[serde(default)]
    done: String,
}

fn notice(q: &Notice) -> Option<&'static str> {
    match q.done.as_str() {
        "reset" => Some("Your new password is saved: sign in with it."),
        "signed-out" => Some("You are signed out."),
        _ => None,
    }
}

pub async fn home(State(server): State<Server>, headers: HeaderMap) -> Response {
    blocking(move || match view::signed_in(&server, &headers) {
        Some(_) => view::see_other("/account", None),
        None => view::see_other("/sign-in", None),
    })
    .await
}

pub async fn sign_in_page(
    State(server): State<Server>,
    headers: HeaderMap,
    Query(q): Query<Notice>,
) -> Response {
    blocking(move || {
        let page = Page::new(&server, &headers);
        page.render(
            StatusCode::OK,
            &SignIn {
                page: &page,
                notice: notice(&q),
                errors: Vec::new(),
                user_name: "",
            },
        )
    })
    .await
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

pub async fn sign_in(
    State(server): State<Server>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    blocking(move || {
        let page = match Page::attempt(&server, &headers, &form.csrf, addr) {
            Ok(page) => page,
            Err(refused) => return *refused,
        };
        let refuse = |why: &str| {
            page.render(
                StatusCode::UNAUTHORIZED,
                &SignIn {
                    page: &page,
                    notice: None,
                    errors: vec![why.to_owned()],
                    user_name: form.username.trim(),
                },
            )
        };
        // The same words for a wrong password, an unknown username and a
        // locked account (even with its right password), so that guessing
        // on after a lock teaches nothing.
        let wrong =
            "The username or password is not right. After five wrong tries in a row an account is \
                     locked to keep it safe: if that has happened, choose a new password with \
                     \u{201c}Forgot your password?\u{201d}, or ask the school office to unlock it.";
        let account = match server
            .storage
            .account(AccountKey::UserName(form.username.trim()))
        {
            Ok(a) => a,
            Err(_) => return page.failed(),
        };
        let hash = account.as_ref().and_then(|a| a.password_hash.as_deref());
        if !view::verify(&form.password, hash) {
            if let Some(a) = &account {
                if server.storage.failed_sign_in(&a.id, LOCK_AFTER).is_err() {
                    return page.failed();
                }
            }
            return refuse(wrong);
        }
        let a = account.expect("a verified password has an account");
        if a.locked.is_some() {
            return refuse(wrong);
        }
        if !view::active(&a.doc) {
            return refuse(
                "This account is not in use. Ask the school office if you think it should be.",
            );
        }
        let session = view::NewSession::new();
        match server
            .storage
            .signed_in(&a.id, &session.hash, &session.expires)
        {
            Ok(true) if a.must_change => {
                view::see_other("/change-password", Some(session.cookie(&server)))
            }
            Ok(true) => view::see_other("/account", Some(session.cookie(&server))),
            // Locked between the check and now, by guesses running alongside.
            Ok(false) => refuse(wrong),
            Err(_) => page.failed(),
        }
    })
    .await
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn sign_out(
    State(server): State<Server>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    blocking(move || {
        let page = Page::new(&server, &headers);
        if !page.csrf_ok(&form.csrf) {
            return page.refused_form();
        }
        if let Some(t) = cookies::get(&server, &headers, cookies::SESSION) {
            let _ = server
                .storage
                .end_session(&keyroll_scim::credentials::hash_token(&t));
        }
        let gone = cookies::set(&server, cookies::SESSION, "", None, "Lax");
        view::see_other("/sign-in?done=signed-out", Some(gone))
    })
    .await
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage<'a> {
    page: &'a Page,
    notice: Option<&'a str>,
    display_name: String,
    user_name: String,
    children: Vec<(String, String)>,
}

#[derive(Deserialize, Default)]
pub struct Changed {
    #[serde(default)]
    done: String,
}

pub async fn account(
    State(server): State<Server>,
    headers: HeaderMap,
    Query(q): Query<Changed>,
) -> Response {
    blocking(move || {
        let Some(a) = view::signed_in(&server, &headers) else {
            return view::see_other("/sign-in", None);
        };
        if a.must_change {
            return view::see_other("/change-password", None);
        }
        let page = Page::new(&server, &headers);
        let notice = match q.done.as_str() {
            "changed" => Some("Your new password is saved."),
            "activated" => Some("Your account is ready. Keep your password safe."),
            _ => None,
        };
        page.render(
            StatusCode::OK,
            &AccountPage {
                page: &page,
                notice,
                display_name: view::display_name(&a.doc),
                user_name: view::user_name(&a.doc),
                children: view::children(&server, &a.doc),
            },
        )
    })
    .await
}

#[derive(Template)]
#[template(path = "change_password.html")]
struct Change<'a> {
    page: &'a Page,
    forced: bool,
    errors: Vec<String>,
    rules: PasswordRules,
    checks: Vec<Rule>,
    user_name: String,
}

fn change_form(server: &Server, page: &Page, a: &Account, errors: Vec<String>) -> Response {
    let rules = settings::rules(server.storage.as_ref()).unwrap_or_default();
    let user_name = view::user_name(&a.doc);
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    page.render(
        status,
        &Change {
            page,
            forced: a.must_change,
            errors,
            checks: view::checks(&rules, &user_name),
            rules,
            user_name,
        },
    )
}

pub async fn change_page(State(server): State<Server>, headers: HeaderMap) -> Response {
    blocking(move || {
        let Some(a) = view::signed_in(&server, &headers) else {
            return view::see_other("/sign-in", None);
        };
        let page = Page::new(&server, &headers);
        change_form(&server, &page, &a, Vec::new())
    })
    .await
}

#[derive(Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

pub async fn change(
    State(server): State<Server>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<ChangeForm>,
) -> Response {
    blocking(move || {
        let Some(a) = view::signed_in(&server, &headers) else {
            return view::see_other("/sign-in", None);
        };
        let page = match Page::attempt(&server, &headers, &form.csrf, addr) {
            Ok(page) => page,
            Err(refused) => return *refused,
        };
        // A handed-out password was typed a moment ago to sign in; a
        // chosen one must be typed again to change it.
        if !a.must_change && !view::verify(&form.current, a.password_hash.as_deref()) {
            return change_form(
                &server,
                &page,
                &a,
                vec!["Your password now is not right.".into()],
            );
        }
        let rules = settings::rules(server.storage.as_ref()).unwrap_or_default();
        let problems = view::password_problems(
            &rules,
            &form.password,
            &form.confirm,
            &view::user_name(&a.doc),
        );
        if !problems.is_empty() {
            return change_form(&server, &page, &a, problems);
        }
        // Every session ends with the old password; this browser gets a new one.
        match view::hash(&form.password).map(|h| server.storage.set_password(&a.id, &h)) {
            Some(Ok(())) => match view::start_session(&server, &a.id) {
                Ok(cookie) => view::see_other("/account?done=changed", Some(cookie)),
                Err(_) => page.failed(),
            },
            _ => page.failed(),
        }
    })
    .await
}
