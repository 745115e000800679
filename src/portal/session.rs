//! The portals' session cookies (HttpOnly, SameSite=Strict, scoped to the
//! portal's path) and the CSRF check of a form; the sessions themselves are
//! kept by `app::sessions`.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::HttpRequest;

pub use crate::app::sessions::{random_token, Session, Sessions, IDLE, REAUTH_FOR};

/// A form post of `session`: its CSRF token must be in it.
pub fn check_form(session: &Session, form: &super::forms::Form) -> Result<(), super::PageError> {
    if session.csrf_matches(form.raw("csrf")) {
        Ok(())
    } else {
        Err(super::PageError::csrf())
    }
}

/// The session cookie for a portal: HttpOnly, SameSite=Strict, scoped to the
/// portal's path, Secure when `server.public_url` is https (configuration, not
/// a request header, decides).
pub fn cookie<'c>(req: &HttpRequest, name: &'c str, path: &'c str, value: String) -> Cookie<'c> {
    let mut c = Cookie::build(name, value)
        .path(path)
        .http_only(true)
        .same_site(SameSite::Strict)
        .finish();
    let https = req
        .app_data::<actix_web::web::Data<crate::app::AppState>>()
        .is_some_and(|s| s.config.public_is_https());
    if https {
        c.set_secure(true);
    }
    c
}

/// A cookie that deletes the named one.
pub fn removal<'c>(name: &'c str, path: &'c str) -> Cookie<'c> {
    let mut c = Cookie::build(name, "").path(path).http_only(true).finish();
    c.make_removal();
    c
}
