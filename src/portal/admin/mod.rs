//! The admin portal under `/admin/`: server-rendered pages over the same engine
//! and actors as the admin API. Every page needs a session; every form post
//! checks the session's CSRF token first and, for writes, the admin's role.

pub mod activations;
pub mod admins;
pub mod api_keys;
pub mod audit;
pub mod customers;
pub mod dashboard;
pub mod generator_fields;
pub mod generators;
pub mod jobs;
pub mod license_actions;
pub mod license_edit;
pub mod license_fields;
pub mod license_mail;
pub mod license_new;
pub mod license_preview;
pub mod licenses;
pub mod login;
pub mod outbox;
pub mod product_features;
pub mod product_files;
pub mod products;
pub mod reauth;
pub mod search;
pub mod settings;
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

/// Mounts `/admin/…`: the dashboard, then each page family's routes. Order
/// matters only where paths overlap (`/licenses/new` before `/licenses/{key}`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin")
            .wrap(super::security_headers())
            .route("", web::get().to(dashboard::page))
            .route("/", web::get().to(dashboard::page))
            .configure(auth_routes)
            .configure(license_routes)
            .configure(product_routes)
            .configure(customer_routes)
            .configure(generator_routes)
            .configure(record_routes)
            .configure(account_routes),
    );
}

/// Signing in and out, and confirming it is you (the password gate).
fn auth_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/login", web::get().to(login::login_page))
        .route("/login", web::post().to(login::login))
        .route("/logout", web::post().to(login::logout))
        .route("/reauth", web::post().to(reauth::reauth))
        .route(
            "/licenses/{key}/reauth",
            web::post().to(reauth::reauth_license),
        );
}

/// Licenses: list and export, create, preview and its downloads, edit, the
/// confirmed actions and freeing a device.
fn license_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/licenses", web::get().to(licenses::list))
        .route("/licenses/export", web::get().to(licenses::export))
        .route("/licenses/new", web::get().to(license_new::new_page))
        .route("/licenses/new", web::post().to(license_new::create))
        .route("/licenses/{key}", web::get().to(license_preview::preview))
        .route(
            "/licenses/{key}/offline",
            web::get().to(license_preview::offline),
        )
        .route(
            "/licenses/{key}/samples/{lang}",
            web::get().to(license_preview::sample),
        )
        .route(
            "/licenses/{key}/edit",
            web::get().to(license_edit::edit_page),
        )
        .route("/licenses/{key}/edit", web::post().to(license_edit::edit))
        .route(
            "/licenses/{key}/confirm/{action}",
            web::get().to(license_actions::confirm),
        )
        .route(
            "/licenses/{key}/do/{action}",
            web::post().to(license_actions::perform),
        )
        .route(
            "/licenses/{key}/resend-key",
            web::post().to(license_mail::resend_key),
        )
        .route(
            "/licenses/{key}/confirm-deactivate",
            web::get().to(license_actions::confirm_deactivate),
        )
        .route(
            "/licenses/{key}/deactivate",
            web::post().to(license_actions::deactivate),
        );
}

/// Products and their files.
fn product_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/products", web::get().to(products::list))
        .route("/public-key.{format}", web::get().to(products::public_key))
        .route("/signing-keys/rotate", web::post().to(products::rotate_key))
        .route("/products", web::post().to(products::save))
        .route("/products/{id}", web::get().to(products::edit_page))
        .route(
            "/products/{id}/revoke-all",
            web::post().to(products::revoke_all),
        )
        .route(
            "/products/{id}/files",
            web::post().to(product_files::upload),
        )
        .route(
            "/products/{id}/files/{file}/delete",
            web::post().to(product_files::delete_file),
        );
}

/// Customers, their invitations and the outbox the mails wait in.
fn customer_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/customers", web::get().to(customers::list))
        .route("/customers", web::post().to(customers::create))
        .route("/customers/{id}", web::get().to(customers::detail))
        .route("/customers/{id}", web::post().to(customers::edit))
        .route("/customers/{id}/invite", web::post().to(outbox::invite))
        .route("/outbox", web::get().to(outbox::list));
}

/// Generators, their bulk jobs and the Background Jobs page.
fn generator_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/generators", web::get().to(generators::list))
        .route("/generators", web::post().to(generators::save))
        .route("/generators/{id}", web::get().to(generators::edit_page))
        .route("/generators/{id}/bulk", web::post().to(generators::bulk))
        .route("/jobs", web::get().to(jobs::jobs))
        .route("/jobs/{id}/retry", web::post().to(jobs::retry))
        .route("/jobs/{id}/delete", web::post().to(jobs::delete_job));
}

/// What happened: activations and the audit log.
fn record_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/activations", web::get().to(activations::list))
        .route("/search", web::get().to(search::page))
        .route("/search.json", web::get().to(search::json))
        .route("/audit", web::get().to(audit::list))
        .route("/audit/export", web::get().to(audit::export));
}

/// Settings, admin accounts and the API token.
fn account_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/settings", web::get().to(settings::page))
        .route("/settings", web::post().to(settings::save))
        .route("/appearance", web::post().to(admins::appearance))
        .route("/admins", web::get().to(admins::list))
        .route("/admins", web::post().to(admins::save))
        .route("/admins/{id}/delete", web::post().to(admins::delete))
        .route("/token/rotate", web::post().to(admins::rotate_token))
        .route("/api-keys", web::get().to(api_keys::list))
        .route("/api-keys", web::post().to(api_keys::create))
        .route("/api-keys/{id}/revoke", web::post().to(api_keys::revoke))
        .configure(webhook_routes);
}

/// Webhook endpoints of an environment, each with its delivery log.
fn webhook_routes(cfg: &mut web::ServiceConfig) {
    use webhook_detail as d;
    cfg.route("/webhooks", web::get().to(webhooks::list))
        .route("/webhooks", web::post().to(webhooks::create))
        .route("/webhooks/{id}", web::get().to(d::detail))
        .route("/webhooks/{id}", web::post().to(d::edit))
        .route("/webhooks/{id}/toggle", web::post().to(d::toggle))
        .route("/webhooks/{id}/rotate", web::post().to(d::rotate))
        .route("/webhooks/{id}/test", web::post().to(d::test))
        .route("/webhooks/{id}/delete", web::post().to(d::delete))
        .route(
            "/webhooks/{id}/deliveries/{delivery}/retry",
            web::post().to(d::retry),
        );
}
