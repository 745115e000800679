//! What both portals' credential forms share: the double-submit CSRF check of a
//! form shown before any session exists, and every password check — sign-in,
//! re-authentication, password change — run on the bounded password pool and
//! counted against the client IP and the account (src/attempts.rs).

use std::net::IpAddr;

use actix_web::HttpRequest;

use super::forms::Form;
use super::PageError;
use crate::app::AppState;

/// A fixed argon2 hash checked when the account is unknown, so timing does not
/// tell whether it exists.
pub const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3hEAdFVU2QTSlhCbTJQ7Y8zsWYYVx2Jk7nVHPRyiVsk";

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
    state.client_ip(req).unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

/// Refuses while `ip` (or the account) is locked out after too many failures.
pub fn refuse_if_locked(
    state: &AppState,
    ip: IpAddr,
    account: Option<&str>,
) -> Result<(), PageError> {
    state
        .attempts
        .refuse_if_locked(ip, account)
        .map_err(|l| PageError::RateLimited(l.0))
}

/// Charges one failure to `ip` and the account; `Err` once either used up its attempts.
pub fn charge_failure(
    state: &AppState,
    ip: IpAddr,
    account: Option<&str>,
) -> Result<(), PageError> {
    state
        .attempts
        .charge_failure(ip, account)
        .map_err(|l| PageError::RateLimited(l.0))
}

/// Checks `password` for `account` (its stored hash, or none when unknown): refused
/// while the IP or account is locked, run on the password pool, and a wrong
/// password is charged to both. `Ok(false)` is a wrong password.
pub async fn check_password(
    state: &AppState,
    req: &HttpRequest,
    account: &str,
    password: &str,
    phc: Option<&str>,
) -> Result<bool, PageError> {
    let ip = client_ip(state, req);
    refuse_if_locked(state, ip, Some(account))?;
    let ok = state
        .passwords
        .verify(password, phc.unwrap_or(DUMMY_HASH))
        .await
        .map_err(|_| PageError::RateLimited(1))?
        && phc.is_some();
    if !ok {
        charge_failure(state, ip, Some(account))?;
        tracing::info!(%ip, "password check failed");
    }
    Ok(ok)
}

/// Hashes a new password on the password pool.
pub async fn hash_password(state: &AppState, password: &str) -> Result<String, PageError> {
    state
        .passwords
        .hash(password)
        .await
        .map_err(|_| PageError::RateLimited(1))?
        .map_err(PageError::Internal)
}
