//! Setting a password without being signed in: the forgotten-password form
//! (forgot.html) and the single-use links that set a password (password.html),
//! from an admin's invitation or a reset.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::Utc;

use super::{passwords, public_form, public_page, COOKIE_PATH, PRE_CSRF};
use crate::app::account::{self, LinkMailer, LinkRefused, NewPassword};
use crate::app::error::AppError;
use crate::app::links::Purpose;
use crate::app::AppState;
use crate::domain::Customer;
use crate::portal::page::query_param;
use crate::portal::session::removal;
use crate::portal::signin::{charge_failure, client_ip, refuse_if_locked as locked};
use crate::portal::PageError;

#[derive(Template)]
#[template(path = "customer/forgot.html")]
struct ForgotPage {
    csrf: String,
    sent: bool,
    brand: crate::portal::brand::Brand,
}

#[derive(Template)]
#[template(path = "customer/password.html")]
struct PasswordPage {
    csrf: String,
    token: String,
    purpose: String,
    email: String,
    error: String,
    brand: crate::portal::brand::Brand,
}

/// What a password-link mail needs, from the app state.
fn mailer(state: &AppState) -> LinkMailer<'_> {
    LinkMailer {
        links: &state.services.links,
        outbox: &state.services.outbox,
        base: state.config.public_base(),
    }
}

/// Mails `customer` a single-use link to set their password (the admin
/// portal's invitation uses it too).
pub async fn send_password_link(
    state: &AppState,
    customer: &Customer,
    purpose: Purpose,
) -> Result<(), PageError> {
    Ok(account::send_password_link(&mailer(state), customer, purpose, Utc::now()).await?)
}

/// The forgotten-password form.
pub async fn forgot_page(req: HttpRequest) -> Result<HttpResponse, PageError> {
    public_page(&req, StatusCode::OK, |csrf| ForgotPage {
        brand: crate::portal::brand::Brand::of(&req, "License portal"),
        csrf,
        sent: false,
    })
}

/// Mails a reset link to a known address; every request costs the client a
/// sign-in attempt, so the form cannot flood a mailbox.
pub async fn forgot(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, PageError> {
    let form = public_form(&req, body).await?;
    let ip = client_ip(&state, &req);
    locked(&state, ip, None)?;
    charge_failure(&state, ip, None)?;
    let store = state.store();
    account::forgot_password(store, &mailer(&state), form.get("email"), Utc::now()).await?;
    // The same answer whether or not the account exists.
    public_page(&req, StatusCode::OK, |csrf| ForgotPage {
        brand: crate::portal::brand::Brand::of(&req, "License portal"),
        csrf,
        sent: true,
    })
}

fn purpose_of(s: &str) -> Result<Purpose, PageError> {
    match s {
        "invite" => Ok(Purpose::Invite),
        "reset" => Ok(Purpose::Reset),
        _ => Err(PageError::BadRequest("unknown link purpose".into())),
    }
}

/// The customer a link belongs to, or the page that says why it cannot be used.
async fn link_owner(state: &AppState, token: &str, purpose: &str) -> Result<Customer, PageError> {
    let store = state.store();
    let links = &state.services.links;
    account::link_owner(store, links, token, purpose_of(purpose)?, Utc::now())
        .await
        .map_err(|e| match e {
            LinkRefused::Link(e) => PageError::Forbidden(format!(
                "This password link cannot be used: {e}. Ask for a new one on the “Forgot password” page."
            )),
            LinkRefused::Failed(e) => e.into(),
        })
}

/// The form a password link opens.
pub async fn password_page(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let token = query_param(&req, "token");
    let purpose = query_param(&req, "purpose");
    let c = link_owner(&state, &token, &purpose).await?;
    public_page(&req, StatusCode::OK, |csrf| PasswordPage {
        brand: crate::portal::brand::Brand::of(&req, "License portal"),
        csrf,
        token,
        purpose,
        email: c.email,
        error: String::new(),
    })
}

/// Sets the password a link allows; every session of the account ends.
pub async fn set_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, PageError> {
    let form = public_form(&req, body).await?;
    let token = form.get("token").to_owned();
    let purpose = form.get("purpose").to_owned();
    let c = link_owner(&state, &token, &purpose).await?;
    let new = NewPassword {
        password: form.raw("password"),
        confirm: form.raw("confirm"),
    };
    match account::reset_password(passwords(&state), &c, new).await {
        Ok(()) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/portal/login?done=password"))
            .cookie(removal(PRE_CSRF, COOKIE_PATH))
            .finish()),
        Err(AppError::Invalid(errors)) => {
            let error = errors
                .first()
                .map(|(_, m)| m.to_owned())
                .unwrap_or_default();
            public_page(&req, StatusCode::BAD_REQUEST, |csrf| PasswordPage {
                brand: crate::portal::brand::Brand::of(&req, "License portal"),
                csrf,
                token,
                purpose,
                email: c.email,
                error,
            })
        }
        Err(e) => Err(e.into()),
    }
}
