//! Forgot password: a single-use link by email, good for an hour. The
//! page answers the same whether or not the account exists or has an
//! email address.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use keyroll_scim::credentials::{self, PasswordRules, Rule};
use serde::Deserialize;

use super::account::blocking;
use super::mail::Smtp;
use super::view::{self, ClientAddr, Page};
use super::{cookies, settings};
use crate::storage::AccountKey;
use crate::Server;

#[derive(Template)]
#[template(path = "forgot.html")]
struct Forgot<'a> {
    page: &'a Page,
    sent: bool,
    errors: Vec<String>,
}

pub async fn forgot_page(State(server): State<Server>, headers: HeaderMap) -> Response {
    blocking(move || {
        let page = Page::new(&server, &headers);
        page.render(
            StatusCode::OK,
            &Forgot {
                page: &page,
                sent: false,
                errors: Vec::new(),
            },
        )
    })
    .await
}

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
}

pub async fn forgot(
    State(server): State<Server>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<ForgotForm>,
) -> Response {
    blocking(move || {
        let page = match Page::attempt(&server, &headers, &form.csrf, addr) {
            Ok(page) => page,
            Err(refused) => return *refused,
        };
        if let Err(e) = start(&server, form.username.trim()) {
            eprintln!("keyroll-server: a password reset was not started: {e}");
        }
        page.render(
            StatusCode::OK,
            &Forgot {
                page: &page,
                sent: true,
                errors: Vec::new(),
            },
        )
    })
    .await
}

/// Makes a reset link for an active account with an email address and
/// sends it in the background.
fn start(server: &Server, user_name: &str) -> Result<(), String> {
    let Some(a) = server
        .storage
        .account(AccountKey::UserName(user_name))
        .map_err(|e| e.to_string())?
    else {
        return Ok(());
    };
    let Some(to) = view::email(&a.doc).filter(|_| view::active(&a.doc)) else {
        return Ok(());
    };
    let Some(smtp) = Smtp::from_settings(server.storage.as_ref()) else {
        return Err("no SMTP server is set (keyroll-server settings set smtp_host …)".into());
    };
    let token = cookies::random_token();
    let expires = crate::storage::stamp(time::OffsetDateTime::now_utc() + time::Duration::hours(1));
    server
        .storage
        .start_reset(&credentials::hash_token(&token), &a.id, &expires)
        .map_err(|e| e.to_string())?;
    let link = format!("{}/reset?token={token}", server.public_url);
    let school = settings::school_name(server.storage.as_ref()).unwrap_or_default();
    let name = view::display_name(&a.doc);
    std::thread::spawn(move || {
        if let Err(e) = smtp.send_reset(&school, &to, &name, &link) {
            eprintln!("keyroll-server: the password-reset email was not sent: {e}");
        }
    });
    Ok(())
}

#[derive(Template)]
#[template(path = "reset.html")]
struct Reset<'a> {
    page: &'a Page,
    token: &'a str,
    errors: Vec<String>,
    rules: PasswordRules,
    checks: Vec<Rule>,
    user_name: String,
}

#[derive(Deserialize, Default)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

fn reset_form(server: &Server, page: &Page, token: &str, errors: Vec<String>) -> Response {
    let rules = settings::rules(server.storage.as_ref()).unwrap_or_default();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    page.render(
        status,
        &Reset {
            page,
            token,
            errors,
            checks: view::checks(&rules, ""),
            rules,
            user_name: String::new(),
        },
    )
}

pub async fn reset_page(
    State(server): State<Server>,
    headers: HeaderMap,
    Query(q): Query<TokenQuery>,
) -> Response {
    blocking(move || {
        let page = Page::new(&server, &headers);
        reset_form(&server, &page, &q.token, Vec::new())
    })
    .await
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

pub async fn reset(
    State(server): State<Server>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<ResetForm>,
) -> Response {
    blocking(move || {
        let page = match Page::attempt(&server, &headers, &form.csrf, addr) {
            Ok(page) => page,
            Err(refused) => return *refused,
        };
        let rules = settings::rules(server.storage.as_ref()).unwrap_or_default();
        let problems = view::password_problems(&rules, &form.password, &form.confirm, "");
        if !problems.is_empty() {
            return reset_form(&server, &page, &form.token, problems);
        }
        let Some(hash) = view::hash(&form.password) else {
            return page.failed();
        };
        match server
            .storage
            .finish_reset(&credentials::hash_token(&form.token), &hash)
        {
            Ok(Some(_)) => view::see_other("/sign-in?done=reset", None),
            Ok(None) => page.message(
                StatusCode::NOT_FOUND,
                "This link does not work",
                "It has been used already, or its hour is over. Ask for a new one.",
                ("/forgot", "Send me a new link"),
            ),
            Err(_) => page.failed(),
        }
    })
    .await
}
