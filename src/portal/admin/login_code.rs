//! The second step of an admin's sign-in when two-factor sign-in is on
//! (`templates/admin/login_code.html`): after the password, a short-lived
//! signed cookie names the admin, and the code (or a recovery code) from this
//! page finishes the sign-in. Wrong codes count against the same limiter as
//! wrong passwords, per client and per account.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{Duration, Utc};

use super::login::{safe_next, start_session, LOGIN_CSRF};
use super::COOKIE_PATH;
use crate::app::error::AppError;
use crate::app::links::LinkKey;
use crate::app::two_factor;
use crate::app::AppState;
use crate::domain::AdminUser;
use crate::portal::forms;
use crate::portal::page::query_param;
use crate::portal::session::{cookie, random_token, removal};
use crate::portal::signin;
use crate::portal::PageError;

/// The cookie that carries the signed "password was right" token.
pub const CODE_COOKIE: &str = "kw_2fa";
/// How long the code page waits after the password.
const CODE_WAIT: Duration = Duration::minutes(5);

#[derive(Template)]
#[template(path = "admin/login_code.html")]
struct CodePage {
    csrf: String,
    next: String,
    error: String,
    brand: crate::portal::brand::Brand,
}

/// Sends an admin whose password was right on to the code page.
pub fn ask_for_code(
    state: &AppState,
    req: &HttpRequest,
    user: &AdminUser,
    next: &str,
) -> HttpResponse {
    let exp = Utc::now() + CODE_WAIT;
    let links = &state.services.links;
    let token = links.second_factor_token(user.id, exp, &user.password_hash);
    let to = format!(
        "/admin/login/code?next={}",
        crate::app::format::url_encode(next)
    );
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .cookie(cookie(req, CODE_COOKIE, COOKIE_PATH, token))
        .finish()
}

fn code_page(
    req: &HttpRequest,
    status: u16,
    next: String,
    error: String,
) -> Result<HttpResponse, PageError> {
    let csrf = random_token();
    let html = CodePage {
        brand: crate::portal::brand::Brand::of(req, "Keywarden"),
        csrf: csrf.clone(),
        next,
        error,
    }
    .render()?;
    let status =
        actix_web::http::StatusCode::from_u16(status).unwrap_or(actix_web::http::StatusCode::OK);
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(cookie(req, LOGIN_CSRF, COOKIE_PATH, csrf))
        .body(html))
}

fn back_to_sign_in() -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/admin/login"))
        .cookie(removal(CODE_COOKIE, COOKIE_PATH))
        .finish()
}

/// The admin the cookie names, when its token is genuine, current, and was
/// made for their current password.
fn pending_admin(state: &AppState, req: &HttpRequest) -> Option<AdminUser> {
    let token = req.cookie(CODE_COOKIE)?.value().to_owned();
    let id = LinkKey::token_customer(&token)?;
    let user = state.services.admins.by_id(id)?;
    let links = &state.services.links;
    let ok = links.check_second_factor_token(&token, &user.password_hash, Utc::now());
    (ok == Ok(user.id)).then_some(user)
}

/// The code form (back to the password when the first step is missing or old).
pub async fn page(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, PageError> {
    if pending_admin(&state, &req).is_none() {
        return Ok(back_to_sign_in());
    }
    let next = safe_next(&query_param(&req, "next"));
    code_page(&req, 200, next, String::new())
}

/// Checks the code and signs in.
pub async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, PageError> {
    let form = forms::read(&req, body).await?;
    signin::check_pre_csrf(&req, &form, LOGIN_CSRF)?;
    let Some(user) = pending_admin(&state, &req) else {
        return Ok(back_to_sign_in());
    };
    let next = safe_next(form.get("next"));
    let ip = signin::client_ip(&state, &req);
    let account = format!("admin:{}", user.email);
    signin::refuse_if_locked(&state, ip, Some(&account))?;
    let accounts = super::admins::accounts(&state);
    match two_factor::verify(&accounts, user.id, form.get("code")).await {
        Ok(mut user) => start_session(&state, &req, &mut user, &next).await,
        Err(AppError::Invalid(e)) => {
            signin::charge_failure(&state, ip, Some(&account))?;
            tracing::info!(%ip, "second-factor code refused");
            let error = e.get("code").to_owned();
            code_page(&req, 401, next, error)
        }
        Err(e) => Err(e.into()),
    }
}
