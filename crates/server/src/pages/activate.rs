//! Activation: the letter's link or QR code (`/activate?code=…`) or a
//! typed code, then a password of the person's own. A code works once and
//! not after its expiry; a code that does not work gets the same words
//! whether it never existed, was used or has expired.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use keyroll_scim::credentials::{self, PasswordRules, Rule};
use serde::Deserialize;

use super::account::blocking;
use super::settings;
use super::view::{self, ClientAddr, Page};
use crate::storage::{Account, AccountKey};
use crate::Server;

const NOT_VALID: &str = "This code is not valid, or it has already been used or has expired. \
    Check it against your letter; if it still does not work, ask the school office for a new one.";

#[derive(Template)]
#[template(path = "activate_code.html")]
struct CodeForm<'a> {
    page: &'a Page,
    errors: Vec<String>,
}

#[derive(Template)]
#[template(path = "activate_password.html")]
struct PasswordForm<'a> {
    page: &'a Page,
    code: &'a str,
    display_name: String,
    user_name: String,
    errors: Vec<String>,
    rules: PasswordRules,
    checks: Vec<Rule>,
}

#[derive(Deserialize, Default)]
pub struct CodeQuery {
    #[serde(default)]
    code: String,
}

/// The account a code activates, if it still can.
fn usable(server: &Server, code: &str) -> Option<Account> {
    let hash = credentials::hash_code(code);
    let a = server
        .storage
        .account(AccountKey::Activation(&hash))
        .ok()??;
    let now = crate::storage::now();
    match &a.activation_expires {
        Some(at) if *at <= now => None,
        _ => Some(a),
    }
}

fn password_form(
    server: &Server,
    page: &Page,
    code: &str,
    a: &Account,
    errors: Vec<String>,
) -> Response {
    let rules = settings::rules(server.storage.as_ref()).unwrap_or_default();
    let user_name = view::user_name(&a.doc);
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    page.render(
        status,
        &PasswordForm {
            page,
            code,
            display_name: view::display_name(&a.doc),
            checks: view::checks(&rules, &user_name),
            user_name,
            errors,
            rules,
        },
    )
}

fn code_form(page: &Page, errors: Vec<String>) -> Response {
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    page.render(status, &CodeForm { page, errors })
}

pub async fn page(
    State(server): State<Server>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    Query(q): Query<CodeQuery>,
) -> Response {
    blocking(move || {
        let page = Page::new(&server, &headers);
        let code = credentials::normalise_code(&q.code);
        if code.is_empty() {
            return code_form(&page, Vec::new());
        }
        // Trying codes is guessing: it counts like a sign-in.
        if !server.limiter.allow(addr) {
            return page.too_many();
        }
        match usable(&server, &code) {
            Some(a) => password_form(&server, &page, &code, &a, Vec::new()),
            None => code_form(&page, vec![NOT_VALID.into()]),
        }
    })
    .await
}

#[derive(Deserialize)]
pub struct ActivateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

pub async fn activate(
    State(server): State<Server>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<ActivateForm>,
) -> Response {
    blocking(move || {
        let page = match Page::attempt(&server, &headers, &form.csrf, addr) {
            Ok(page) => page,
            Err(refused) => return *refused,
        };
        let code = credentials::normalise_code(&form.code);
        let Some(a) = usable(&server, &code) else {
            return code_form(&page, vec![NOT_VALID.into()]);
        };
        let rules = settings::rules(server.storage.as_ref()).unwrap_or_default();
        let problems = view::password_problems(
            &rules,
            &form.password,
            &form.confirm,
            &view::user_name(&a.doc),
        );
        if !problems.is_empty() {
            return password_form(&server, &page, &code, &a, problems);
        }
        let Some(hash) = view::hash(&form.password) else {
            return page.failed();
        };
        match server
            .storage
            .activate(&credentials::hash_code(&code), &hash)
        {
            Ok(Some(id)) => match view::start_session(&server, &id) {
                Ok(cookie) => view::see_other("/account?done=activated", Some(cookie)),
                Err(_) => page.failed(),
            },
            // Used (or expired) between the form and now.
            Ok(None) => code_form(&page, vec![NOT_VALID.into()]),
            Err(_) => page.failed(),
        }
    })
    .await
}
