//! An admin's own two-factor sign-in (`templates/admin/two_factor.html`):
//! set it up with an authenticator app, see the recovery codes once, get new
//! ones, turn it off. When Settings require it, an admin without it lands
//! here from every other page.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::admins::accounts;
use super::{chrome, redirect, render, render_invalid, Admin, AdminView, Chrome};
use crate::app::error::AppError;
use crate::app::format;
use crate::app::two_factor::{self, Enrolment};
use crate::app::AppState;
use crate::domain::Environment;
use crate::portal::forms::{self, FieldErrors};
use crate::portal::PageError;

/// The name authenticator apps list the account under.
const ISSUER: &str = "Keywarden";

#[derive(Template)]
#[template(path = "admin/two_factor.html")]
struct TwoFactorPage {
    c: Chrome,
    on: bool,
    since: String,
    left: usize,
    required: bool,
    enrolment: Option<Enrolment>,
    /// Recovery codes just made (shown this once).
    codes: Vec<String>,
    errors: FieldErrors,
}

fn required(state: &AppState) -> bool {
    state
        .engine
        .settings()
        .get(Environment::Production)
        .admin_two_factor_required
}

fn page_for(
    state: &AppState,
    req: &HttpRequest,
    admin: &Admin,
    codes: Vec<String>,
    errors: FieldErrors,
) -> TwoFactorPage {
    let user = state
        .services
        .admins
        .by_id(admin.user.id)
        .unwrap_or_else(|| admin.user.clone());
    let f = user.second_factor.as_ref();
    TwoFactorPage {
        c: chrome(
            req,
            admin,
            "Two-factor sign-in",
            "settings",
            Environment::Production,
        ),
        on: user.two_factor_on(),
        since: f
            .and_then(|f| f.confirmed_at)
            .map(format::time)
            .unwrap_or_default(),
        left: f.map_or(0, |f| f.recovery.len()),
        required: required(state),
        enrolment: two_factor::enrolment(&user, ISSUER),
        codes,
        errors,
    }
}

pub async fn page(
    AdminView { admin, req, .. }: AdminView,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let p = page_for(&state, &req, &admin, Vec::new(), FieldErrors::default());
    render(&req, &p)
}

/// A form of this page: read, CSRF checked (any admin, read-only ones too:
/// it is their own sign-in).
async fn own_form(
    admin: &Admin,
    req: &HttpRequest,
    body: web::Payload,
) -> Result<forms::Form, PageError> {
    let form = forms::read(req, body).await?;
    admin.check(&form)?;
    Ok(form)
}

/// Starts (or restarts) the set-up: a new secret and its QR code.
pub async fn setup(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, PageError> {
    own_form(&admin, &req, body).await?;
    two_factor::begin(&accounts(&state), admin.user.id).await?;
    Ok(redirect(
        &req,
        "/admin/two-factor",
        "ok",
        "Scan the code with your authenticator app, then type the code it shows.",
    ))
}

/// What a code form answers: the page with new recovery codes, or the page
/// with the refusal under the code field.
fn answer(
    state: &AppState,
    req: &HttpRequest,
    admin: &Admin,
    result: Result<Vec<String>, AppError>,
) -> Result<HttpResponse, PageError> {
    match result {
        Ok(codes) => render(
            req,
            &page_for(state, req, admin, codes, FieldErrors::default()),
        ),
        Err(AppError::Invalid(errors)) => {
            render_invalid(&page_for(state, req, admin, Vec::new(), errors))
        }
        Err(e) => Err(e.into()),
    }
}

/// The first code from the app: turns it on and shows the recovery codes.
pub async fn confirm(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, PageError> {
    let form = own_form(&admin, &req, body).await?;
    let r = two_factor::confirm(&accounts(&state), admin.user.id, form.get("code")).await;
    answer(&state, &req, &admin, r)
}

/// New recovery codes behind a current code.
pub async fn recovery(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, PageError> {
    let form = own_form(&admin, &req, body).await?;
    let a = accounts(&state);
    let r = two_factor::new_recovery_codes(&a, admin.user.id, form.get("code")).await;
    answer(&state, &req, &admin, r)
}

/// Turns it off behind a current code (refused while Settings require it).
pub async fn turn_off(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, PageError> {
    let form = own_form(&admin, &req, body).await?;
    let a = accounts(&state);
    match two_factor::turn_off(&a, admin.user.id, form.get("code"), required(&state)).await {
        Ok(()) => Ok(redirect(
            &req,
            "/admin/two-factor",
            "ok",
            "Two-factor sign-in is off.",
        )),
        Err(e) => answer(&state, &req, &admin, Err(e)),
    }
}
