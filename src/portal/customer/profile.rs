//! Profile & Settings (profile.html): display name, timezone, notification
//! preferences, and the password change (current password required; other
//! sessions end).

use crate::domain::theme::Theme;
use crate::domain::Environment;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::{chrome, passwords, redirect, render, render_invalid, Me, PChrome};
use crate::app::account::{self, NewPassword, ProfileChanges};
use crate::app::error::AppError;
use crate::app::format;
use crate::app::AppState;
use crate::portal::forms::FieldErrors;
use crate::portal::signin;
use crate::portal::PageError;

#[derive(Template)]
#[template(path = "customer/profile.html")]
struct ProfilePage {
    c: PChrome,
    name: String,
    email: String,
    created: String,
    last_sign_in: String,
    timezone: String,
    zones: Vec<&'static str>,
    notify_expiry: bool,
    notify_activations: bool,
    /// The vendor sends security alerts to everyone (the toggle cannot stop them).
    alerts_mandatory: bool,
    theme: &'static str,
    themes: [Theme; 3],
    errors: FieldErrors,
}

/// Whether either environment makes security alerts mandatory.
fn alerts_mandatory(state: &AppState) -> bool {
    Environment::ALL
        .iter()
        .any(|e| state.engine.settings().get(*e).security_alerts_mandatory)
}

fn zones() -> Vec<&'static str> {
    chrono_tz::TZ_VARIANTS.iter().map(|z| z.name()).collect()
}

fn page_for(
    req: &HttpRequest,
    me: &Me,
    errors: FieldErrors,
    alerts_mandatory: bool,
) -> ProfilePage {
    let c = &me.customer;
    ProfilePage {
        c: chrome(req, me, "Profile & Settings", "profile"),
        name: c.name.clone(),
        email: c.email.clone(),
        created: format::time_in(c.created_at, me.tz),
        last_sign_in: c
            .last_sign_in
            .map(|t| format::time_in(t, me.tz))
            .unwrap_or_else(|| "Never".into()),
        timezone: c.timezone.clone(),
        zones: zones(),
        notify_expiry: c.notify_expiry,
        notify_activations: c.notify_activations,
        alerts_mandatory,
        theme: c.theme.as_str(),
        themes: Theme::ALL,
        errors,
    }
}

/// Back to the profile with `done` shown, or the form again with each field's message.
fn answer<T>(
    req: &HttpRequest,
    me: &Me,
    state: &AppState,
    result: Result<T, AppError>,
    done: &str,
) -> Result<HttpResponse, PageError> {
    match result {
        Ok(_) => Ok(redirect(req, "/portal/profile", "ok", done)),
        Err(AppError::Invalid(errors)) => {
            render_invalid(&page_for(req, me, errors, alerts_mandatory(state)))
        }
        Err(e) => Err(e.into()),
    }
}

/// The profile and the password form.
pub async fn page(
    me: Me,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let mandatory = alerts_mandatory(&state);
    render(
        &req,
        &page_for(&req, &me, FieldErrors::default(), mandatory),
    )
}

/// Name, timezone and notifications; nothing applies until Save.
pub async fn save(
    me: Me,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, PageError> {
    let form = me.read_form(&req, body).await?;
    let changes = ProfileChanges {
        name: form.get("name"),
        timezone: form.get("timezone"),
        notify_expiry: form.get("notify_expiry") == "on",
        notify_activations: form.get("notify_activations") == "on",
        theme: form.get("theme"),
    };
    let store = state.store();
    let saved = account::save_profile(store, &me.customer, changes).await;
    answer(&req, &me, &state, saved, "Settings saved.")
}

/// A new password, with the current one (checked and counted like a sign-in).
pub async fn change_password(
    me: Me,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, PageError> {
    let form = me.read_form(&req, body).await?;
    let current_ok = signin::check_password(
        &state,
        &req,
        &account::who(&me.customer),
        form.raw("current"),
        me.customer.password_hash.as_deref(),
    )
    .await?;
    let new = NewPassword {
        password: form.raw("new"),
        confirm: form.raw("confirm"),
    };
    let p = passwords(&state);
    let changed = account::change_password(p, &me.customer, &me.session.id, current_ok, new).await;
    answer(
        &req,
        &me,
        &state,
        changed,
        "Password changed. Your other sessions were signed out.",
    )
}
