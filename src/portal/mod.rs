//! The server-rendered portals (askama templates): the admin portal under
//! `/admin/` and what it shares with later portals — sessions, CSRF-checked
//! forms, page errors and the stylesheet.

pub mod admin;
pub mod brand;
pub mod customer;
pub mod error;
pub mod forms;
pub mod page;
pub mod samples;
pub mod session;
pub mod signin;

use actix_web::{web, HttpResponse};

pub use error::PageError;

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
        .route("/branding/logo", web::get().to(admin::branding::logo))
        .configure(admin::configure)
        .configure(customer::configure);
}
