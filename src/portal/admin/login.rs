//! Sign-in and sign-out of the admin portal, with a failed-login limiter per client IP.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::Utc;

use super::{Admin, COOKIE, COOKIE_PATH};
use crate::app::AppState;
use crate::portal::forms::{self, Form};
use crate::portal::session::{cookie, random_token, removal};
use crate::portal::signin;
use crate::portal::PageError;

/// Pre-session CSRF cookie of the sign-in form (double submit).
pub(super) const LOGIN_CSRF: &str = "kw_login";

#[derive(Template)]
#[template(path = "admin/login.html")]
struct LoginPage {
    csrf: String,
    next: String,
    email: String,
    error: String,
    brand: crate::portal::brand::Brand,
}

pub(super) fn safe_next(next: &str) -> String {
    crate::portal::page::safe_next(next, "/admin")
}

fn login_form(req: &HttpRequest, status: u16, page: LoginPage) -> Result<HttpResponse, PageError> {
    let token = page.csrf.clone();
    let html = page.render()?;
    let mut resp = HttpResponse::build(
        actix_web::http::StatusCode::from_u16(status).unwrap_or(actix_web::http::StatusCode::OK),
    );
    Ok(resp
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(cookie(req, LOGIN_CSRF, COOKIE_PATH, token))
        .body(html))
}

pub async fn login_page(req: HttpRequest) -> Result<HttpResponse, PageError> {
    let next: Vec<(String, String)> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let next = next
        .into_iter()
        .find(|(k, _)| k == "next")
        .map(|(_, v)| v)
        .unwrap_or_default();
    login_form(
        &req,
        200,
        LoginPage {
            brand: crate::portal::brand::Brand::of(&req, "Keywarden"),
            csrf: random_token(),
            next: safe_next(&next),
            email: String::new(),
            error: String::new(),
        },
    )
}

pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, PageError> {
    let form: Form = forms::read(&req, body).await?;
    signin::check_pre_csrf(&req, &form, LOGIN_CSRF)?;
    let portal = &state.services;
    let email = form.get("email").to_lowercase();
    let next = safe_next(form.get("next"));
    // Another node may have added or changed admins: read the list again.
    if let Err(e) = portal.admins.reload(state.store()).await {
        tracing::warn!(error = %e, "could not re-read the admin list");
    }
    let user = portal.admins.by_email(&email);
    let phc = user.as_ref().map(|u| u.password_hash.clone());
    let ok = signin::check_password(
        &state,
        &req,
        &format!("admin:{email}"),
        form.raw("password"),
        phc.as_deref(),
    )
    .await?;
    let Some(mut user) = user.filter(|_| ok) else {
        return login_form(
            &req,
            401,
            LoginPage {
                brand: crate::portal::brand::Brand::of(&req, "Keywarden"),
                csrf: random_token(),
                next,
                email,
                error: "Wrong email or password.".into(),
            },
        );
    };
    if user.two_factor_on() {
        return Ok(super::login_code::ask_for_code(&state, &req, &user, &next));
    }
    start_session(&state, &req, &mut user, &next).await
}

/// Starts the admin's session (the password, and the code when asked for,
/// were right) and goes on to `next`.
pub(super) async fn start_session(
    state: &AppState,
    req: &HttpRequest,
    user: &mut crate::domain::AdminUser,
    next: &str,
) -> Result<HttpResponse, PageError> {
    let portal = &state.services;
    let store = state.store();
    let session = portal.admin_sessions.start(store, user.id).await?;
    user.last_sign_in = Some(Utc::now());
    if let Err(e) = portal.admins.upsert(store, user.clone()).await {
        tracing::warn!(error = %e, "could not record the sign-in time");
    }
    tracing::info!(admin = %user.email, "admin signed in");
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, next))
        .cookie(cookie(req, COOKIE, COOKIE_PATH, session.id.clone()))
        .cookie(removal(LOGIN_CSRF, COOKIE_PATH))
        .cookie(removal(super::login_code::CODE_COOKIE, COOKIE_PATH))
        .finish())
}

/// Ends the session: the cookie is removed and the session id forgotten server-side.
pub async fn logout(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, PageError> {
    let form = forms::read(&req, body).await?;
    admin.check(&form)?;
    let sessions = &state.services.admin_sessions;
    sessions.end(state.store(), &admin.session.id).await?;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/admin/login"))
        .cookie(removal(COOKIE, COOKIE_PATH))
        .finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_admin_paths_are_followed() {
        assert_eq!(safe_next("/admin/licenses?q=a"), "/admin/licenses?q=a");
        assert_eq!(safe_next("https://evil.example/admin"), "/admin");
        assert_eq!(safe_next("//evil.example"), "/admin");
        assert_eq!(safe_next("/portal"), "/admin");
        assert_eq!(safe_next(""), "/admin");
    }
}
