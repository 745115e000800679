//! Setting a password without being signed in: the forgotten-password form
//! (forgot.html) and the single-use links that set a password (password.html),
//! from an admin's invitation or a reset.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{Duration, Utc};

use super::{public, public_form, COOKIE_PATH, PRE_CSRF};
use crate::app::links::{LinkError, LinkKey, Purpose};
use crate::app::AppState;
use crate::crypto::password;
use crate::domain::customer::normalize_email;
use crate::domain::Customer;
use crate::portal::page::query_param;
use crate::portal::session::{random_token, removal};
use crate::portal::signin::{self, charge_failure, client_ip, refuse_if_locked as locked};
use crate::portal::PageError;

/// How long links stay valid.
pub const INVITE_VALID: Duration = Duration::days(7);
pub const RESET_VALID: Duration = Duration::hours(1);

#[derive(Template)]
#[template(path = "customer/forgot.html")]
struct ForgotPage {
    csrf: String,
    sent: bool,
}

#[derive(Template)]
#[template(path = "customer/password.html")]
struct PasswordPage {
    csrf: String,
    token: String,
    purpose: String,
    email: String,
    error: String,
}

pub async fn forgot_page(req: HttpRequest) -> Result<HttpResponse, PageError> {
    let csrf = random_token();
    let html = ForgotPage {
        csrf: csrf.clone(),
        sent: false,
    }
    .render()?;
    Ok(public(&req, 200, html, &csrf))
}

/// Writes the mail with a password link for `customer`.
pub async fn send_password_link(
    state: &AppState,
    customer: &Customer,
    purpose: Purpose,
) -> Result<(), PageError> {
    let (valid, kind) = match purpose {
        Purpose::Invite => (INVITE_VALID, "invite"),
        Purpose::Reset => (RESET_VALID, "reset"),
    };
    let token = state.portal.links.account_token(
        customer.id,
        purpose,
        Utc::now() + valid,
        customer.password_hash.as_deref(),
    );
    let link = format!(
        "{}/portal/password?purpose={kind}&token={}",
        state.config.public_base(),
        crate::app::format::url_encode(&token)
    );
    let (subject, body) = match purpose {
        Purpose::Invite => (
            "You are invited to your license portal".to_owned(),
            format!(
                "Hello {},\n\nyou can now see your licenses, devices and downloads in the customer portal.\nChoose your password here (the link works once, for 7 days):\n\n{link}\n",
                customer.name
            ),
        ),
        Purpose::Reset => (
            "Reset your license portal password".to_owned(),
            format!(
                "Hello {},\n\nsomeone (hopefully you) asked to reset your password.\nChoose a new one here (the link works once, for 1 hour):\n\n{link}\n\nIf it was not you, ignore this mail; your password stays as it is.\n",
                customer.name
            ),
        ),
    };
    state
        .portal
        .outbox
        .send(&customer.email, &subject, &body, kind, "", &token)
        .await
        .map_err(|e| PageError::Internal(e.to_string()))?;
    Ok(())
}

pub async fn forgot(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, PageError> {
    let form = public_form(&req, body).await?;
    let ip = client_ip(&state, &req);
    locked(&state, ip, None)?;
    // Every request costs a token, so the form cannot be used to flood a mailbox.
    charge_failure(&state, ip, None)?;
    if let Ok(email) = normalize_email(form.get("email")) {
        if let Some(c) = state.engine.store().get_customer_by_email(&email).await? {
            send_password_link(&state, &c, Purpose::Reset).await?;
        }
    }
    // The same answer whether or not the account exists.
    let csrf = random_token();
    let html = ForgotPage {
        csrf: csrf.clone(),
        sent: true,
    }
    .render()?;
    Ok(public(&req, 200, html, &csrf))
}

fn purpose_of(s: &str) -> Result<Purpose, PageError> {
    match s {
        "invite" => Ok(Purpose::Invite),
        "reset" => Ok(Purpose::Reset),
        _ => Err(PageError::BadRequest("unknown link purpose".into())),
    }
}

fn link_refused(e: LinkError) -> PageError {
    PageError::Forbidden(format!(
        "This password link cannot be used: {e}. Ask for a new one on the “Forgot password” page."
    ))
}

/// Resolves and checks a token; the customer it belongs to.
async fn token_owner(
    state: &AppState,
    token: &str,
    purpose: Purpose,
) -> Result<Customer, PageError> {
    let id = LinkKey::token_customer(token).ok_or_else(|| link_refused(LinkError::Forged))?;
    let c = state
        .engine
        .store()
        .get_customer(id)
        .await?
        .ok_or_else(|| link_refused(LinkError::Forged))?;
    state
        .portal
        .links
        .check_account_token(token, purpose, c.password_hash.as_deref(), Utc::now())
        .map_err(link_refused)?;
    Ok(c)
}

pub async fn password_page(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let token = query_param(&req, "token");
    let purpose_s = query_param(&req, "purpose");
    let c = token_owner(&state, &token, purpose_of(&purpose_s)?).await?;
    let csrf = random_token();
    let html = PasswordPage {
        csrf: csrf.clone(),
        token,
        purpose: purpose_s,
        email: c.email,
        error: String::new(),
    }
    .render()?;
    Ok(public(&req, 200, html, &csrf))
}

pub async fn set_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, PageError> {
    let form = public_form(&req, body).await?;
    let token = form.get("token").to_owned();
    let purpose_s = form.get("purpose").to_owned();
    let mut c = token_owner(&state, &token, purpose_of(&purpose_s)?).await?;
    let new = form.raw("password");
    let error = if let Err(e) = password::check_strength(new) {
        format!("Password {e}.")
    } else if new != form.raw("confirm") {
        "The two passwords differ.".to_owned()
    } else {
        String::new()
    };
    if !error.is_empty() {
        let csrf = random_token();
        let html = PasswordPage {
            csrf: csrf.clone(),
            token,
            purpose: purpose_s,
            email: c.email,
            error,
        }
        .render()?;
        return Ok(public(&req, 400, html, &csrf));
    }
    c.password_hash = Some(signin::hash_password(&state, new).await?);
    state.engine.store().update_customer(&c).await?;
    // A new password ends every session of the account.
    state.portal.customer_sessions.end_all_of(c.id, None);
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/portal/login?done=password"))
        .cookie(removal(PRE_CSRF, COOKIE_PATH))
        .finish())
}
