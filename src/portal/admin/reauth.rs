//! Confirm it is you (`templates/admin/reauth.html`): security item 11's gate in
//! front of every admin page that shows a full key or license metadata, and the
//! password post that opens those pages for a few minutes.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::license_edit::key_of;
use super::{chrome, form_env, render, Admin, Chrome};
use crate::app::{format, settings, AppState};
use crate::domain::Environment;
use crate::portal::forms;
use crate::portal::PageError;

#[derive(Template)]
#[template(path = "admin/reauth.html")]
struct ReauthPage {
    c: Chrome,
    /// Where to go once the password is right.
    next: String,
    /// What that page is, for the button.
    what: String,
    error: String,
}

/// Whether the environment asks for the password again and this session has
/// not given it recently (on any node: the time is in the session's row).
async fn needed(state: &AppState, admin: &Admin, env: Environment) -> Result<bool, PageError> {
    if !settings::get(&state.engine, env).reauth_preview {
        return Ok(false);
    }
    let sessions = &state.services.admin_sessions;
    let recent = sessions
        .recently_reauthenticated(state.store(), &admin.session)
        .await?;
    Ok(!recent)
}

/// Security item 11: every admin page that shows a full key or license metadata
/// (preview, edit, a customer's page, offline files, code samples) asks for the
/// password again when the environment's setting says so. `Some` is the gate page.
pub async fn reauth_gate(
    state: &AppState,
    admin: &Admin,
    req: &HttpRequest,
    env: Environment,
    what: &str,
) -> Option<Result<HttpResponse, PageError>> {
    match needed(state, admin, env).await {
        Ok(false) => return None,
        Ok(true) => {}
        Err(e) => return Some(Err(e)),
    }
    let next = match req.query_string() {
        "" => req.path().to_owned(),
        q => format!("{}?{q}", req.path()),
    };
    Some(render(
        req,
        &ReauthPage {
            c: chrome(req, admin, "Confirm it is you", "licenses", env),
            next: crate::portal::page::safe_next(&next, "/admin"),
            what: what.to_owned(),
            error: String::new(),
        },
    ))
}

/// The gate for downloads (offline file, code sample), which cannot show the
/// gate page: they are refused until the password was given on the preview.
pub async fn require_recent(
    state: &AppState,
    admin: &Admin,
    env: Environment,
) -> Result<(), PageError> {
    if needed(state, admin, env).await? {
        return Err(PageError::Forbidden(
            "Re-enter your password on the license preview first.".into(),
        ));
    }
    Ok(())
}

/// Re-entering the password on a license's gate (the older form's address).
pub async fn reauth_license(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Payload,
) -> Result<HttpResponse, PageError> {
    let form = forms::read(&req, body).await?;
    let key = key_of(&path)?;
    let env = form_env(&form)?;
    let to = format!(
        "/admin/licenses/{}?env={env}",
        format::url_encode(key.as_str())
    );
    reauth_then(admin, state, req, form, to).await
}

/// Re-entering the password unlocks the gated pages for a few minutes.
pub async fn reauth(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, PageError> {
    let form = forms::read(&req, body).await?;
    let to = crate::portal::page::safe_next(form.get("next"), "/admin");
    reauth_then(admin, state, req, form, to).await
}

async fn reauth_then(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    form: forms::Form,
    to: String,
) -> Result<HttpResponse, PageError> {
    admin.check(&form)?;
    let env = form_env(&form)?;
    let ok = crate::portal::signin::check_password(
        &state,
        &req,
        &format!("admin:{}", admin.user.email),
        form.raw("password"),
        Some(&admin.user.password_hash),
    )
    .await?;
    if ok {
        let sessions = &state.services.admin_sessions;
        sessions
            .mark_reauthenticated(state.store(), &admin.session)
            .await?;
        return Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, to))
            .finish());
    }
    let page = ReauthPage {
        c: chrome(&req, &admin, "Confirm it is you", "licenses", env),
        next: to,
        what: "the page".into(),
        error: "Wrong password.".into(),
    };
    super::render_invalid(&page)
}
