//! The owner's profile (name, timezone, notification choices) and the account
//! behind a portal session.

use crate::app::error::{AppError, FieldErrors};
use crate::app::sessions::{Session, Sessions};
use crate::domain::theme::Theme;
use crate::domain::Customer;
use crate::store::Store;

/// The customer a session belongs to; a session whose account is gone (or
/// disabled by an admin) ends here, so the next request signs in again.
pub async fn signed_in(
    store: &dyn Store,
    sessions: &Sessions,
    session: &Session,
) -> Result<Option<Customer>, AppError> {
    let found = store
        .get_customer(session.subject)
        .await?
        .filter(|c| !c.disabled);
    if found.is_none() {
        sessions.end(store, &session.id).await?;
    }
    Ok(found)
}

/// What the profile form sets.
pub struct ProfileChanges<'a> {
    pub name: &'a str,
    pub timezone: &'a str,
    pub notify_expiry: bool,
    pub notify_activations: bool,
    /// `system`, `light` or `dark`; empty keeps the current one.
    pub theme: &'a str,
}

impl ProfileChanges<'_> {
    /// A name of 1 to 255 printable characters, and a known IANA timezone.
    fn check(&self) -> Result<(), AppError> {
        let mut errors = FieldErrors::default();
        let name = self.name;
        if name.is_empty() || name.chars().count() > 255 || name.chars().any(char::is_control) {
            errors.add("name", "Name must be 1 to 255 characters.");
        }
        if self.timezone.parse::<chrono_tz::Tz>().is_err() {
            errors.add("timezone", "Choose a timezone from the list.");
        }
        if !self.theme.is_empty() && Theme::parse(self.theme).is_none() {
            errors.add("theme", "Choose system, light or dark.");
        }
        errors.into_result()
    }
}

/// Saves the profile and answers the account as saved; nothing changes when a
/// field breaks its rule (`AppError::Invalid` names each).
pub async fn save_profile(
    store: &dyn Store,
    customer: &Customer,
    changes: ProfileChanges<'_>,
) -> Result<Customer, AppError> {
    changes.check()?;
    let mut c = customer.clone();
    c.name = changes.name.to_owned();
    c.timezone = changes.timezone.to_owned();
    c.notify_expiry = changes.notify_expiry;
    c.notify_activations = changes.notify_activations;
    if let Some(t) = Theme::parse(changes.theme) {
        c.theme = t;
    }
    store.update_customer(&c).await?;
    Ok(c)
}
