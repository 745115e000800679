//! The password of the owner's account: signing in with it, changing it (the
//! current one required; other sessions end), the forgotten-password mail, and
//! the single-use links that set one (an admin's invitation, or a reset).

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::app::error::{AppError, FieldErrors};
use crate::app::links::{LinkError, LinkKey, Purpose};
use crate::app::mail::Outbox;
use crate::app::sessions::{Session, Sessions};
use crate::crypto::password::{self, PasswordPool};
use crate::domain::customer::normalize_email;
use crate::domain::Customer;
use crate::store::Store;

/// How long an invitation link stays valid.
pub const INVITE_VALID: Duration = Duration::days(7);
/// How long a password-reset link stays valid.
pub const RESET_VALID: Duration = Duration::hours(1);

/// What setting a password touches: where customers are kept, the pool argon2
/// runs on, and the customers' sessions (a new password ends them).
#[derive(Clone, Copy)]
pub struct Passwords<'a> {
    pub store: &'a dyn Store,
    pub pool: &'a PasswordPool,
    pub sessions: &'a Sessions,
}

/// A new password as typed twice.
pub struct NewPassword<'a> {
    pub password: &'a str,
    pub confirm: &'a str,
}

impl NewPassword<'_> {
    /// Strong enough, and typed the same twice; `label` names the password in
    /// the messages ("Password", "New password").
    fn check(&self, label: &str, errors: &mut FieldErrors) {
        if let Err(e) = password::check_strength(self.password) {
            errors.add("new", format!("{label} {e}."));
        } else if self.password != self.confirm {
            let plural = label.to_lowercase();
            errors.add("confirm", format!("The two {plural}s differ."));
        }
    }
}

/// Stores the new password's hash (computed on the pool) and ends the
/// account's sessions but `keep`.
async fn store_password(
    p: Passwords<'_>,
    customer: &Customer,
    new: &str,
    keep: Option<&str>,
) -> Result<(), AppError> {
    let hash = p
        .pool
        .hash(new)
        .await
        .map_err(|_| AppError::RateLimited(1))?
        .map_err(AppError::Internal)?;
    let mut c = customer.clone();
    c.password_hash = Some(hash);
    p.store.update_customer(&c).await?;
    p.sessions.end_all_of(p.store, c.id, keep).await?;
    Ok(())
}

/// Changes a signed-in customer's password. `current_ok` says whether the
/// current password was right (the front door checks it, counting failures per
/// client and account). Every other session ends; `keep`, the one asking, stays.
pub async fn change_password(
    p: Passwords<'_>,
    customer: &Customer,
    keep: &str,
    current_ok: bool,
    new: NewPassword<'_>,
) -> Result<(), AppError> {
    let mut errors = FieldErrors::default();
    if !current_ok {
        errors.add("current", "The current password is wrong.");
    }
    new.check("New password", &mut errors);
    errors.into_result()?;
    store_password(p, customer, new.password, Some(keep)).await
}

/// Sets the password of the customer a link belongs to ([`link_owner`]); that
/// uses the link up, and every session of the account ends.
pub async fn reset_password(
    p: Passwords<'_>,
    customer: &Customer,
    new: NewPassword<'_>,
) -> Result<(), AppError> {
    let mut errors = FieldErrors::default();
    new.check("Password", &mut errors);
    errors.into_result()?;
    store_password(p, customer, new.password, None).await
}

/// The account with this email, when the address is well-formed and known.
pub async fn customer_by_email(
    store: &dyn Store,
    email: &str,
) -> Result<Option<Customer>, AppError> {
    match normalize_email(email) {
        Ok(e) => Ok(store.get_customer_by_email(&e).await?),
        Err(_) => Ok(None),
    }
}

/// Starts a session for a customer whose password was checked, and records the
/// time (a failed write of the time is only logged: signing in still works).
pub async fn sign_in(
    store: &dyn Store,
    sessions: &Sessions,
    mut customer: Customer,
    now: DateTime<Utc>,
) -> Result<Arc<Session>, AppError> {
    let session = sessions.start(store, customer.id).await?;
    customer.last_sign_in = Some(now);
    if let Err(e) = store.update_customer(&customer).await {
        tracing::warn!(error = %e, "could not record the sign-in time");
    }
    Ok(session)
}

/// What a password-link mail needs: the key that signs the link, the outbox,
/// and the server's public address the link starts with.
pub struct LinkMailer<'a> {
    pub links: &'a LinkKey,
    pub outbox: &'a Outbox,
    pub base: &'a str,
}

/// Mails `customer` a single-use link to set their password, valid from `now`
/// for [`INVITE_VALID`] or [`RESET_VALID`].
pub async fn send_password_link(
    mailer: &LinkMailer<'_>,
    customer: &Customer,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let (valid, kind) = match purpose {
        Purpose::Invite => (INVITE_VALID, "invite"),
        Purpose::Reset => (RESET_VALID, "reset"),
    };
    let token = mailer.links.account_token(
        customer.id,
        purpose,
        now + valid,
        customer.password_hash.as_deref(),
    );
    let link = format!(
        "{}/portal/password?purpose={kind}&token={}",
        mailer.base,
        crate::app::format::url_encode(&token)
    );
    let (subject, body) = password_mail(purpose, &customer.name, &link);
    mailer
        .outbox
        .send(&customer.email, subject, &body, kind, "", &token)
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(())
}

/// Subject and text of the mail carrying a password link.
fn password_mail(purpose: Purpose, name: &str, link: &str) -> (&'static str, String) {
    match purpose {
        Purpose::Invite => (
            "You are invited to your license portal",
            format!(
                "Hello {name},\n\nyou can now see your licenses, devices and downloads in the customer portal.\nChoose your password here (the link works once, for 7 days):\n\n{link}\n"
            ),
        ),
        Purpose::Reset => (
            "Reset your license portal password",
            format!(
                "Hello {name},\n\nsomeone (hopefully you) asked to reset your password.\nChoose a new one here (the link works once, for 1 hour):\n\n{link}\n\nIf it was not you, ignore this mail; your password stays as it is.\n"
            ),
        ),
    }
}

/// Mails a reset link when `email` belongs to an account, and nothing
/// otherwise: the caller answers the same either way.
pub async fn forgot_password(
    store: &dyn Store,
    mailer: &LinkMailer<'_>,
    email: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    if let Some(c) = customer_by_email(store, email).await? {
        send_password_link(mailer, &c, Purpose::Reset, now).await?;
    }
    Ok(())
}

/// Why a password link was not honoured.
#[derive(Debug, thiserror::Error)]
pub enum LinkRefused {
    /// Forged, used up (the password changed since) or expired.
    #[error("{0}")]
    Link(LinkError),
    #[error(transparent)]
    Failed(#[from] AppError),
}

/// The customer a password link belongs to, when the link is genuine, for
/// `purpose`, unused and unexpired at `now`.
pub async fn link_owner(
    store: &dyn Store,
    links: &LinkKey,
    token: &str,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> Result<Customer, LinkRefused> {
    let forged = LinkRefused::Link(LinkError::Forged);
    let Some(id) = LinkKey::token_customer(token) else {
        return Err(forged);
    };
    let Some(c) = store.get_customer(id).await.map_err(AppError::from)? else {
        return Err(forged);
    };
    links
        .check_account_token(token, purpose, c.password_hash.as_deref(), now)
        .map_err(LinkRefused::Link)?;
    Ok(c)
}
