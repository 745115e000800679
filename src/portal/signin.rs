//! What both portals' sign-in forms share: the double-submit CSRF check of a
//! form shown before any session exists, and the failed-attempt limiter per
//! client IP (governor), which also guards password-reset requests.

use std::net::IpAddr;
use std::time::Instant;

use actix_web::HttpRequest;

use super::forms::Form;
use super::PageError;
use crate::api::state::AppState;

/// The form's `csrf` field must equal the pre-session cookie `name`.
pub fn check_pre_csrf(req: &HttpRequest, form: &Form, name: &str) -> Result<(), PageError> {
    let expected = req.cookie(name).map(|c| c.value().to_owned());
    if expected
        .as_deref()
        .is_none_or(|e| e.is_empty() || e != form.raw("csrf"))
    {
        return Err(PageError::csrf());
    }
    Ok(())
}

/// The client address the limiter counts against.
pub fn client_ip(state: &AppState, req: &HttpRequest) -> IpAddr {
    crate::api::client::peer_ip(state, req).unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

/// Refuses while `ip` is locked out after too many failures.
pub fn refuse_if_locked(state: &AppState, ip: IpAddr) -> Result<(), PageError> {
    if let Some(until) = state.portal.login_locked.get(&ip) {
        let now = Instant::now();
        if until > now {
            return Err(PageError::RateLimited((until - now).as_secs().max(1)));
        }
    }
    Ok(())
}

/// Charges one failure to `ip`; `Err` (and a lock-out) once it used up its attempts.
pub fn charge_failure(state: &AppState, ip: IpAddr) -> Result<(), PageError> {
    let portal = &state.portal;
    if let Err(not_until) = portal.login_limiter.check_key(&ip) {
        let wait = not_until.wait_time_from(governor::clock::Clock::now(
            &governor::clock::DefaultClock::default(),
        ));
        portal.login_locked.insert(ip, Instant::now() + wait);
        crate::metrics::metrics()
            .rate_limited
            .with_label_values(&["login"])
            .inc();
        tracing::warn!(%ip, "sign-in locked after repeated failures");
        return Err(PageError::RateLimited(wait.as_secs().max(1)));
    }
    Ok(())
}
