//! Signing in and out of the customer portal (login.html).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::Utc;

use super::{public, public_form, Me, COOKIE, COOKIE_PATH, PRE_CSRF};
use crate::app::AppState;
use crate::domain::customer::normalize_email;
use crate::portal::forms;
use crate::portal::page::query_param;
use crate::portal::session::{cookie, random_token, removal};
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
}

fn safe_next(next: &str) -> String {
    crate::portal::page::safe_next(next, "/portal")
}

fn login_html(
    next: String,
    email: String,
    error: String,
    notice: String,
) -> Result<(String, String), PageError> {
    let csrf = random_token();
    let html = LoginPage {
        csrf: csrf.clone(),
        next,
        email,
        error,
        notice,
    }
    .render()?;
    Ok((html, csrf))
}

pub async fn login_page(req: HttpRequest) -> Result<HttpResponse, PageError> {
    let notice = match query_param(&req, "done").as_str() {
        "password" => "Your password is set. Sign in with it.".to_owned(),
        _ => String::new(),
    };
    let (html, csrf) = login_html(
        safe_next(&query_param(&req, "next")),
        String::new(),
        String::new(),
        notice,
    )?;
    Ok(public(&req, 200, html, &csrf))
}

pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, PageError> {
    let form = public_form(&req, body).await?;
    let email = form.get("email").to_lowercase();
    let next = safe_next(form.get("next"));
    let store = state.engine.store().as_ref();
    let found = match normalize_email(&email) {
        Ok(e) => store.get_customer_by_email(&e).await?,
        Err(_) => None,
    };
    let ok = signin::check_password(
        &state,
        &req,
        &format!("customer:{email}"),
        form.raw("password"),
        found.as_ref().and_then(|c| c.password_hash.as_deref()),
    )
    .await?;
    let Some(mut customer) = found.filter(|_| ok) else {
        let (html, csrf) = login_html(
            next,
            email,
            "Wrong email or password.".into(),
            String::new(),
        )?;
        return Ok(public(&req, 401, html, &csrf));
    };
    let session = state.portal.customer_sessions.start(customer.id);
    customer.last_sign_in = Some(Utc::now());
    if let Err(e) = store.update_customer(&customer).await {
        tracing::warn!(error = %e, "could not record the sign-in time");
    }
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, next))
        .cookie(cookie(&req, COOKIE, COOKIE_PATH, session.id.clone()))
        .cookie(removal(PRE_CSRF, COOKIE_PATH))
        .finish())
}

pub async fn logout(
    me: Me,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, PageError> {
    let form = forms::read(&req, body).await?;
    me.check(&form)?;
    state.portal.customer_sessions.end(&me.session.id);
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/portal/login"))
        .cookie(removal(COOKIE, COOKIE_PATH))
        .finish())
}
