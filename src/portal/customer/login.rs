//! Signing in to and out of the customer portal (login.html).

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::Utc;

use super::{public_form, public_page, Me, COOKIE, COOKIE_PATH, PRE_CSRF};
use crate::app::account;
use crate::app::AppState;
use crate::portal::page::query_param;
use crate::portal::session::{cookie, removal};
use crate::portal::signin;
use crate::portal::PageError;

#[derive(Template)]
#[template(path = "customer/login.html")]
struct LoginPage {
    csrf: String,
    next: String,
    email: String,
    error: String,
    notice: String,
    brand: crate::portal::brand::Brand,
}

fn safe_next(next: &str) -> String {
    crate::portal::page::safe_next(next, "/portal")
}

/// The sign-in form; `next` is where a successful sign-in goes.
pub async fn login_page(req: HttpRequest) -> Result<HttpResponse, PageError> {
    let notice = match query_param(&req, "done").as_str() {
        "password" => "Your password is set. Sign in with it.".to_owned(),
        _ => String::new(),
    };
    let next = safe_next(&query_param(&req, "next"));
    public_page(&req, StatusCode::OK, |csrf| LoginPage {
        brand: crate::portal::brand::Brand::of(&req, "License portal"),
        csrf,
        next,
        email: String::new(),
        error: String::new(),
        notice,
    })
}

/// Checks the password (limited per client and account, the same answer for an
/// unknown email) and starts a session.
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, PageError> {
    let form = public_form(&req, body).await?;
    let email = form.get("email").to_lowercase();
    let next = safe_next(form.get("next"));
    let store = state.store();
    let found = account::customer_by_email(store, &email).await?;
    let ok = signin::check_password(
        &state,
        &req,
        &format!("customer:{email}"),
        form.raw("password"),
        found.as_ref().and_then(|c| c.password_hash.as_deref()),
    )
    .await?;
    let Some(customer) = found.filter(|_| ok) else {
        return public_page(&req, StatusCode::UNAUTHORIZED, |csrf| LoginPage {
            brand: crate::portal::brand::Brand::of(&req, "License portal"),
            csrf,
            next,
            email,
            error: "Wrong email or password.".into(),
            notice: String::new(),
        });
    };
    if customer.disabled {
        return public_page(&req, StatusCode::FORBIDDEN, |csrf| LoginPage {
            brand: crate::portal::brand::Brand::of(&req, "License portal"),
            csrf,
            next,
            email,
            error: "This account is disabled. Contact the vendor's support to have it enabled."
                .into(),
            notice: String::new(),
        });
    }
    let sessions = &state.services.customer_sessions;
    let session = account::sign_in(store, sessions, customer, Utc::now()).await?;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, next))
        .cookie(cookie(&req, COOKIE, COOKIE_PATH, session.id.clone()))
        .cookie(removal(PRE_CSRF, COOKIE_PATH))
        .finish())
}

/// Ends this session only (other devices stay signed in).
pub async fn logout(
    me: Me,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, PageError> {
    me.read_form(&req, body).await?;
    let sessions = &state.services.customer_sessions;
    sessions.end(state.store(), &me.session.id).await?;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/portal/login"))
        .cookie(removal(COOKIE, COOKIE_PATH))
        .finish())
}
