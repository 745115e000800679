//! The admin portal under `/admin/`: server-rendered pages over the same engine
//! and actors as the admin API. Every page needs a session; every form post
//! checks the session's CSRF token first and, for writes, the admin's role.

pub mod abuse;
pub mod activations;
pub mod admins;
pub mod api_keys;
pub mod audit;
pub mod branding;
pub mod customer_delete;
pub mod customer_page;
pub mod customers;
pub mod dashboard;
pub mod generator_fields;
pub mod generators;
pub mod jobs;
pub mod license_actions;
pub mod license_bulk;
pub mod license_bulk_all;
pub mod license_edit;
pub mod license_fields;
pub mod license_import;
pub mod license_mail;
pub mod license_new;
pub mod license_preview;
mod license_query;
pub mod licenses;
pub mod login;
pub mod login_code;
pub mod outbox;
pub mod product_features;
pub mod product_files;
pub mod products;
pub mod reauth;
mod routes;
pub mod search;
pub mod settings;
pub mod two_factor;
mod upload;
pub mod webhook_detail;
pub mod webhooks;

use std::sync::Arc;

use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use askama::Template;
use futures_util::future::LocalBoxFuture;

use super::forms::Form;
use super::session::Session;
use super::PageError;
use crate::app::AppState;
use crate::domain::{AdminUser, Environment};

/// Session cookie of the admin portal, and the path it is limited to.
pub const COOKIE: &str = "kw_admin";
pub const COOKIE_PATH: &str = "/admin";

/// A signed-in admin (the extractor every page takes).
pub struct Admin {
    pub user: AdminUser,
    pub session: Arc<Session>,
}

impl FromRequest for Admin {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { signed_in_admin(&req).await })
    }
}

/// The admin of the request's session cookie. A cache miss reads the store: an
/// outage is the page's 503 (the `?`), not a sign-out.
async fn signed_in_admin(req: &HttpRequest) -> Result<Admin, PageError> {
    let sign_in = || PageError::sign_in(req, "/admin/login");
    let (Some(state), Some(id)) = (req.app_data::<web::Data<AppState>>(), req.cookie(COOKIE))
    else {
        return Err(sign_in());
    };
    let sessions = &state.services.admin_sessions;
    let session = sessions
        .get(state.store(), id.value())
        .await?
        .ok_or_else(sign_in)?;
    let user = state
        .services
        .admins
        .by_id(session.subject)
        .ok_or_else(sign_in)?;
    let path = req.path();
    let exempt = path.starts_with("/admin/two-factor") || path == "/admin/logout";
    let required = state
        .engine
        .settings()
        .get(Environment::Production)
        .admin_two_factor_required;
    if required && !user.two_factor_on() && !exempt {
        // Settings require a second factor: set it up before anything else.
        return Err(PageError::sign_in(req, "/admin/two-factor"));
    }
    Ok(Admin { user, session })
}

/// What every admin page view starts from: the signed-in admin (checked
/// first), the request, and the environment it asks for (`?env=`).
pub struct AdminView {
    pub admin: Admin,
    pub req: HttpRequest,
    pub env: Environment,
}

impl FromRequest for AdminView {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let admin = Admin::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let admin = admin.await?;
            let env = env_of(&req)?;
            Ok(AdminView { admin, req, env })
        })
    }
}

impl Admin {
    /// Any form post: the session's CSRF token must be in it.
    pub fn check(&self, form: &Form) -> Result<(), PageError> {
        crate::portal::session::check_form(&self.session, form)
    }

    /// A form post that changes something: CSRF, then the License Management permission.
    pub fn check_manage(&self, form: &Form) -> Result<(), PageError> {
        self.check(form)?;
        if self.user.role.can_manage() {
            Ok(())
        } else {
            Err(PageError::read_only())
        }
    }

    /// How audit entries name this admin.
    pub fn who(&self) -> String {
        format!("admin:{}", self.user.email)
    }
}

/// A form posted to change something: read within the size limit, its CSRF
/// token and the admin's License Management permission checked, in that order,
/// before the handler runs; `env` is the form's environment.
pub struct ManageForm {
    pub form: Form,
    pub env: Environment,
}

impl FromRequest for ManageForm {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let admin = Admin::from_request(req, payload);
        let body = web::Payload::from_request(req, payload).into_inner();
        let req = req.clone();
        Box::pin(async move {
            let admin = admin.await?;
            let body = body.map_err(|e| PageError::BadRequest(e.to_string()))?;
            let form = super::forms::read(&req, body).await?;
            admin.check_manage(&form)?;
            let env = form_env(&form)?;
            Ok(ManageForm { form, env })
        })
    }
}

/// What every page's frame shows: navigation, environment switcher, who is signed in.
pub struct Chrome {
    pub title: String,
    pub nav: &'static str,
    pub env: &'static str,
    pub prod_url: String,
    pub staging_url: String,
    pub user_name: String,
    pub user_email: String,
    pub role: &'static str,
    pub can_manage: bool,
    pub csrf: String,
    /// `system`, `light` or `dark`: the page's `data-theme`.
    pub theme: &'static str,
    pub flash_kind: String,
    pub flash_text: String,
    pub brand: crate::portal::brand::Brand,
}

impl Chrome {
    /// The environment query pair for links (`env=staging`).
    pub fn env_q(&self) -> String {
        format!("env={}", self.env)
    }
}

/// Builds the frame of a page.
pub fn chrome(
    req: &HttpRequest,
    admin: &Admin,
    title: impl Into<String>,
    nav: &'static str,
    env: Environment,
) -> Chrome {
    let switch = |to: Environment| {
        let mut pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
        pairs.retain(|(k, _)| k != "env" && k != "page");
        pairs.push(("env".into(), to.as_str().into()));
        format!(
            "{}?{}",
            req.path(),
            serde_urlencoded::to_string(&pairs).unwrap_or_default()
        )
    };
    let (flash_kind, flash_text) = crate::portal::page::flash(req);
    Chrome {
        title: title.into(),
        nav,
        env: env.as_str(),
        prod_url: switch(Environment::Production),
        staging_url: switch(Environment::Staging),
        user_name: admin.user.name.clone(),
        user_email: admin.user.email.clone(),
        role: admin.user.role.as_str(),
        can_manage: admin.user.role.can_manage(),
        csrf: admin.session.csrf.clone(),
        theme: admin.user.theme.as_str(),
        flash_kind,
        flash_text,
        brand: crate::portal::brand::Brand::of(req, "Keywarden"),
    }
}

/// Renders a page (and clears a shown flash message).
pub fn render(req: &HttpRequest, page: &impl Template) -> Result<HttpResponse, PageError> {
    crate::portal::page::render(req, page, COOKIE_PATH)
}

pub use crate::portal::page::render_invalid;

/// 303 to `to`, with a message the next page shows once.
pub fn redirect(req: &HttpRequest, to: &str, kind: &str, text: &str) -> HttpResponse {
    crate::portal::page::redirect(req, to, kind, text, COOKIE_PATH)
}

/// The `env` query parameter (production when absent).
pub fn env_of(req: &HttpRequest) -> Result<Environment, PageError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string())
        .map_err(|e| PageError::BadRequest(format!("bad query string: {e}")))?;
    match pairs.iter().find(|(k, _)| k == "env") {
        None => Ok(Environment::Production),
        Some((_, v)) if v.is_empty() => Ok(Environment::Production),
        Some((_, v)) => v.parse().map_err(|e: String| PageError::BadRequest(e)),
    }
}

/// The environment a form names in its hidden `env` field.
pub fn form_env(form: &Form) -> Result<Environment, PageError> {
    match form.get("env") {
        "" => Ok(Environment::Production),
        v => v.parse().map_err(|e: String| PageError::BadRequest(e)),
    }
}

pub use routes::configure;
