//! Profile & Settings: display name, timezone, notification preferences, and
//! the password change (current password required; other sessions end).

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::{chrome, redirect, render, render_invalid, Me, PChrome};
use crate::app::format;
use crate::app::AppState;
use crate::crypto::password;
use crate::portal::forms::{self, FieldErrors};
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
    errors: FieldErrors,
}

fn zones() -> Vec<&'static str> {
    chrono_tz::TZ_VARIANTS.iter().map(|z| z.name()).collect()
}

fn page_for(req: &HttpRequest, me: &Me, errors: FieldErrors) -> ProfilePage {
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
        errors,
    }
}

pub async fn page(me: Me, req: HttpRequest) -> Result<HttpResponse, PageError> {
    render(&req, &page_for(&req, &me, FieldErrors::default()))
}

/// Name, timezone and notifications; nothing applies until Save.
pub async fn save(
    mut me: Me,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, PageError> {
    let form = forms::read(&req, body).await?;
    me.check(&form)?;
    let mut errors = FieldErrors::default();
    let name = form.get("name");
    if name.is_empty() || name.chars().count() > 255 || name.chars().any(char::is_control) {
        errors.add("name", "Name must be 1 to 255 characters.");
    }
    let tz = form.get("timezone");
    if tz.parse::<chrono_tz::Tz>().is_err() {
        errors.add("timezone", "Choose a timezone from the list.");
    }
    if !errors.is_empty() {
        return render_invalid(&page_for(&req, &me, errors));
    }
    me.customer.name = name.to_owned();
    me.customer.timezone = tz.to_owned();
    me.customer.notify_expiry = form.get("notify_expiry") == "on";
    me.customer.notify_activations = form.get("notify_activations") == "on";
    state.engine.store().update_customer(&me.customer).await?;
    Ok(redirect(&req, "/portal/profile", "ok", "Settings saved."))
}

pub async fn change_password(
    mut me: Me,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, PageError> {
    let form = forms::read(&req, body).await?;
    me.check(&form)?;
    let mut errors = FieldErrors::default();
    let current_ok = crate::portal::signin::check_password(
        &state,
        &req,
        &format!("customer:{}", me.customer.email),
        form.raw("current"),
        me.customer.password_hash.as_deref(),
    )
    .await?;
    if !current_ok {
        errors.add("current", "The current password is wrong.");
    }
    let new = form.raw("new");
    if let Err(e) = password::check_strength(new) {
        errors.add("new", format!("New password {e}."));
    } else if new != form.raw("confirm") {
        errors.add("confirm", "The two new passwords differ.");
    }
    if !errors.is_empty() {
        return render_invalid(&page_for(&req, &me, errors));
    }
    me.customer.password_hash = Some(crate::portal::signin::hash_password(&state, new).await?);
    state.engine.store().update_customer(&me.customer).await?;
    state
        .portal
        .customer_sessions
        .end_all_of(me.customer.id, Some(&me.session.id));
    Ok(redirect(
        &req,
        "/portal/profile",
        "ok",
        "Password changed. Your other sessions were signed out.",
    ))
}
