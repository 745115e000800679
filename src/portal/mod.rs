//! The server-rendered portals (askama templates): the admin portal under
//! `/admin/` and what it shares with later portals — sessions, CSRF-checked
//! forms, page errors and the stylesheet.

pub mod admin;
pub mod customer;
pub mod directory;
pub mod error;
pub mod files;
pub mod format;
pub mod forms;
pub mod jobs;
pub mod links;
pub mod page;
pub mod rates;
pub mod reminders;
pub mod samples;
pub mod session;
pub mod signin;

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use actix_web::{web, HttpResponse};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

pub use error::PageError;

/// Portal state shared by every worker.
pub struct Portal {
    pub admin_sessions: session::Sessions,
    pub customer_sessions: session::Sessions,
    pub outbox: Arc<crate::mail::Outbox>,
    pub files: files::FileStore,
    pub links: links::LinkKey,
    pub admins: directory::AdminDirectory,
    /// Failed sign-ins per client IP.
    pub login_limiter: DefaultKeyedRateLimiter<IpAddr>,
    /// IPs that used up their failed sign-ins, until when.
    pub login_locked: moka::sync::Cache<IpAddr, std::time::Instant>,
    pub jobs: jobs::Jobs,
    pub rates: Arc<rates::RateHistory>,
    /// Activation alerts left per license this hour.
    pub alert_budget: reminders::AlertBudget,
}

impl Portal {
    pub fn new(
        admins: directory::AdminDirectory,
        limits: &crate::config::LimitSettings,
        outbox: Arc<crate::mail::Outbox>,
        files: files::FileStore,
        links: links::LinkKey,
    ) -> Portal {
        let nz = |v: u32| NonZeroU32::new(v.max(1)).unwrap_or(NonZeroU32::MIN);
        Portal {
            admin_sessions: session::Sessions::new(session::IDLE),
            customer_sessions: session::Sessions::new(session::IDLE),
            outbox,
            files,
            links,
            admins,
            login_limiter: RateLimiter::keyed(
                Quota::per_minute(nz(limits.login_per_minute)).allow_burst(nz(limits.login_burst)),
            ),
            login_locked: moka::sync::Cache::builder()
                .time_to_live(std::time::Duration::from_secs(3600))
                .max_capacity(100_000)
                .build(),
            jobs: jobs::Jobs::default(),
            rates: Arc::new(rates::RateHistory::default()),
            alert_budget: reminders::AlertBudget::default(),
        }
    }
}

const CSS: &str = include_str!("../../static/portal.css");
const JS: &str = include_str!("../../static/portal.js");

async fn css() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("cache-control", "public, max-age=300"))
        .body(CSS)
}

async fn js() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header(("cache-control", "public, max-age=300"))
        .body(JS)
}

/// Headers every portal answer carries: no framing (clickjacking), no
/// sniffing, no referrer leaving the site (reset links carry tokens), and a
/// content policy that allows only this origin's script and forms.
pub fn security_headers() -> actix_web::middleware::DefaultHeaders {
    actix_web::middleware::DefaultHeaders::new()
        .add(("X-Frame-Options", "DENY"))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "same-origin"))
        .add((
            "Content-Security-Policy",
            "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
             frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ))
}

/// Mounts the portals and their static files.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/static/portal.css", web::get().to(css))
        .route("/static/portal.js", web::get().to(js))
        .configure(admin::configure)
        .configure(customer::configure);
}
