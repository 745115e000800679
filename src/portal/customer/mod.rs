//! The customer self-service portal under `/portal/`: a license owner's
//! licenses (both environments, labelled), devices, downloads and profile.
//! Its own cookie (`kw_portal`, Path=/portal) and sessions, separate from the
//! admin portal; every page shows only what belongs to the signed-in customer,
//! looked up from their own license list (never from an id in the request).

pub mod activations;
pub mod dashboard;
pub mod downloads;
pub mod licenses;
pub mod login;
pub mod password;
pub mod profile;

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use askama::Template;
use futures_util::future::LocalBoxFuture;

use super::forms::{self, Form};
use super::session::{cookie, Session};
use super::signin;
use super::PageError;
use crate::app::AppState;
use crate::domain::{Customer, Environment, License};

/// Session cookie of the customer portal, and its path.
pub const COOKIE: &str = "kw_portal";
pub const COOKIE_PATH: &str = "/portal";

/// Pre-session CSRF cookie of the public forms (double submit).
const PRE_CSRF: &str = "kw_pre";

/// A public page with a fresh pre-session CSRF token in a cookie.
fn public(req: &HttpRequest, status: u16, html: String, token: &str) -> HttpResponse {
    HttpResponse::build(
        actix_web::http::StatusCode::from_u16(status).unwrap_or(actix_web::http::StatusCode::OK),
    )
    .content_type("text/html; charset=utf-8")
    .insert_header((header::CACHE_CONTROL, "no-store"))
    .cookie(cookie(req, PRE_CSRF, COOKIE_PATH, token.to_owned()))
    .body(html)
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
            let Some(session) = req
                .cookie(COOKIE)
                .and_then(|c| state.portal.customer_sessions.get(c.value()))
            else {
                return Err(PageError::sign_in(&req, "/portal/login"));
            };
            let Some(customer) = state.engine.store().get_customer(session.subject).await? else {
                state.portal.customer_sessions.end(&session.id);
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
    /// Every form post: the session's CSRF token must be in it.
    pub fn check(&self, form: &Form) -> Result<(), PageError> {
        crate::portal::session::check_form(&self.session, form)
    }

    /// How audit entries name this customer.
    pub fn who(&self) -> String {
        format!("customer:{}", self.customer.email)
    }
}

/// The frame of every customer page.
pub struct PChrome {
    pub title: String,
    pub nav: &'static str,
    pub name: String,
    pub email: String,
    pub csrf: String,
    pub tz: String,
    pub flash_kind: String,
    pub flash_text: String,
}

pub fn chrome(req: &HttpRequest, me: &Me, title: impl Into<String>, nav: &'static str) -> PChrome {
    let (flash_kind, flash_text) = super::page::flash(req);
    PChrome {
        title: title.into(),
        nav,
        name: me.customer.name.clone(),
        email: me.customer.email.clone(),
        csrf: me.session.csrf.clone(),
        tz: me.customer.timezone.clone(),
        flash_kind,
        flash_text,
    }
}

pub fn render(req: &HttpRequest, page: &impl Template) -> Result<HttpResponse, PageError> {
    super::page::render(req, page, COOKIE_PATH)
}

pub use super::page::render_invalid;

pub fn redirect(req: &HttpRequest, to: &str, kind: &str, text: &str) -> HttpResponse {
    super::page::redirect(req, to, kind, text, COOKIE_PATH)
}

/// One of the customer's licenses, with what the pages show next to it.
pub struct Mine {
    pub env: Environment,
    pub license: License,
    pub product_name: String,
    pub handle: String,
}

/// The customer's licenses in both environments, newest first. Read from the
/// catalog's customer index and the store by key; nothing else is reachable.
pub async fn my_licenses(state: &AppState, me: &Me) -> Result<Vec<Mine>, PageError> {
    let store = state.engine.store().as_ref();
    let mut out = Vec::new();
    for env in Environment::ALL {
        let keys = state.engine.catalog().keys_of_customer(env, me.customer.id);
        if keys.is_empty() {
            continue;
        }
        let products: std::collections::HashMap<_, _> = store
            .list_products(env)
            .await?
            .into_iter()
            .map(|p| (p.id, p.name))
            .collect();
        for key in keys {
            let Some(l) = store.get_license(env, &key).await? else {
                continue;
            };
            // The catalog may lag a reassignment by a moment; the record decides.
            if l.customer_id != Some(me.customer.id) {
                continue;
            }
            out.push(Mine {
                env,
                handle: state.portal.links.license_handle(env, l.key.as_str()),
                product_name: products.get(&l.product_id).cloned().unwrap_or_default(),
                license: l,
            });
        }
    }
    out.sort_by_key(|m| std::cmp::Reverse(m.license.created_at));
    Ok(out)
}

/// The license behind a handle, only among the customer's own.
pub async fn my_license(state: &AppState, me: &Me, handle: &str) -> Result<Mine, PageError> {
    my_licenses(state, me)
        .await?
        .into_iter()
        .find(|m| m.handle == handle)
        .ok_or_else(|| PageError::NotFound("No such license in your account.".into()))
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
