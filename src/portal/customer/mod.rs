//! The customer self-service portal under `/portal/`: a license owner's
//! licenses (both environments, labelled), devices, downloads and profile.
//! Its own cookie (`kw_portal`, Path=/portal) and sessions, separate from the
//! admin portal; every page shows only what belongs to the signed-in customer,
//! looked up from their own license list (never from an id in the request).
//! What the pages do is `app::account`'s; a handler decodes the request, calls
//! it and renders the template its file is named after.

pub mod activations;
pub mod dashboard;
pub mod downloads;
pub mod licenses;
pub mod login;
pub mod password;
pub mod profile;

use std::sync::Arc;

use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use askama::Template;
use futures_util::future::LocalBoxFuture;

use super::forms::{self, Form};
use super::session::{cookie, random_token, Session};
use super::signin;
use super::PageError;
use crate::app::account::{self, Owner, Passwords};
use crate::app::AppState;
use crate::domain::Customer;

/// Session cookie of the customer portal.
pub const COOKIE: &str = "kw_portal";
/// The path every cookie of the customer portal is scoped to.
pub const COOKIE_PATH: &str = "/portal";

/// Pre-session CSRF cookie of the public forms (double submit).
const PRE_CSRF: &str = "kw_pre";

/// A page shown before sign-in (`public.html`), rendered with a fresh
/// pre-session CSRF token that also goes out in a cookie: its form sends the
/// token back ([`public_form`]).
fn public_page<T: Template>(
    req: &HttpRequest,
    status: StatusCode,
    page: impl FnOnce(String) -> T,
) -> Result<HttpResponse, PageError> {
    let csrf = random_token();
    let html = page(csrf.clone()).render()?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(cookie(req, PRE_CSRF, COOKIE_PATH, csrf))
        .body(html))
}

/// A public form (no session yet): read, and its pre-session CSRF token checked.
async fn public_form(req: &HttpRequest, body: web::Payload) -> Result<Form, PageError> {
    let form = forms::read(req, body).await?;
    signin::check_pre_csrf(req, &form, PRE_CSRF)?;
    Ok(form)
}

/// The signed-in customer (the extractor every page takes).
pub struct Me {
    pub customer: Customer,
    pub session: Arc<Session>,
    pub tz: chrono_tz::Tz,
}

impl FromRequest for Me {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, Result<Me, PageError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<AppState>>()
                .cloned()
                .ok_or_else(|| PageError::Internal("no app state".into()))?;
            let sessions = &state.services.customer_sessions;
            let store = state.store();
            let Some(cookie) = req.cookie(COOKIE) else {
                return Err(PageError::sign_in(&req, "/portal/login"));
            };
            // A store outage is the page's 503 (the `?`), not a sign-out.
            let Some(session) = sessions.get(store, cookie.value()).await? else {
                return Err(PageError::sign_in(&req, "/portal/login"));
            };
            let Some(customer) = account::signed_in(store, sessions, &session).await? else {
                return Err(PageError::sign_in(&req, "/portal/login"));
            };
            Ok(Me {
                tz: crate::app::format::zone(&customer.timezone),
                customer,
                session,
            })
        })
    }
}

impl Me {
    /// A form post of this session: read, and its CSRF token checked before
    /// anything else looks at it.
    pub async fn read_form(
        &self,
        req: &HttpRequest,
        body: web::Payload,
    ) -> Result<Form, PageError> {
        let form = forms::read(req, body).await?;
        crate::portal::session::check_form(&self.session, &form)?;
        Ok(form)
    }

    /// This customer's account, as the app's use-cases take it.
    pub fn owner<'a>(&'a self, state: &'a AppState) -> Owner<'a> {
        Owner {
            engine: &state.engine,
            links: &state.services.links,
            customer: &self.customer,
        }
    }
}

/// What the password use-cases touch, taken from the app state.
fn passwords(state: &AppState) -> Passwords<'_> {
    Passwords {
        store: state.store(),
        pool: &state.passwords,
        sessions: &state.services.customer_sessions,
    }
}

/// The frame of every customer page (`base.html`).
pub struct PChrome {
    pub title: String,
    pub nav: &'static str,
    pub name: String,
    pub email: String,
    pub csrf: String,
    pub tz: String,
    /// `system`, `light` or `dark`: the page's `data-theme`.
    pub theme: &'static str,
    pub flash_kind: String,
    pub flash_text: String,
    pub brand: super::brand::Brand,
}

/// The frame for `me`'s page titled `title`, with `nav` marked current and
/// the one-time message of this request.
pub fn chrome(req: &HttpRequest, me: &Me, title: impl Into<String>, nav: &'static str) -> PChrome {
    let (flash_kind, flash_text) = super::page::flash(req);
    PChrome {
        title: title.into(),
        nav,
        name: me.customer.name.clone(),
        email: me.customer.email.clone(),
        csrf: me.session.csrf.clone(),
        tz: me.customer.timezone.clone(),
        theme: me.customer.theme.as_str(),
        flash_kind,
        flash_text,
        brand: super::brand::Brand::of(req, "License portal"),
    }
}

/// Renders a page of the customer portal (uncached; a shown message cleared).
pub fn render(req: &HttpRequest, page: &impl Template) -> Result<HttpResponse, PageError> {
    super::page::render(req, page, COOKIE_PATH)
}

pub use super::page::render_invalid;

/// 303 to `to` with a message the next customer page shows once.
pub fn redirect(req: &HttpRequest, to: &str, kind: &str, text: &str) -> HttpResponse {
    super::page::redirect(req, to, kind, text, COOKIE_PATH)
}

/// Mounts `/portal/…`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/portal")
            .wrap(super::security_headers())
            .route("", web::get().to(dashboard::page))
            .route("/", web::get().to(dashboard::page))
            .route("/login", web::get().to(login::login_page))
            .route("/login", web::post().to(login::login))
            .route("/logout", web::post().to(login::logout))
            .route("/forgot", web::get().to(password::forgot_page))
            .route("/forgot", web::post().to(password::forgot))
            .route("/password", web::get().to(password::password_page))
            .route("/password", web::post().to(password::set_password))
            .route("/licenses", web::get().to(licenses::list))
            .route("/licenses/{handle}", web::get().to(licenses::detail))
            .route("/activations", web::get().to(activations::list))
            .route("/activations/confirm", web::get().to(activations::confirm))
            .route(
                "/activations/deactivate",
                web::post().to(activations::deactivate),
            )
            .route("/downloads", web::get().to(downloads::list))
            .route("/downloads/{id}", web::get().to(downloads::download))
            .route("/profile", web::get().to(profile::page))
            .route("/profile", web::post().to(profile::save))
            .route(
                "/profile/password",
                web::post().to(profile::change_password),
            ),
    );
}
