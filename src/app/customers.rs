//! Customer accounts as admins manage them: create, rename, look up, list.
//! One set of rules for the admin API and the admin portal.

use chrono::Utc;
use uuid::Uuid;

use super::error::{AppError, FieldErrors};
use crate::crypto::password::{self, PasswordPool};
use crate::domain::customer::normalize_email;
use crate::domain::{AuditEntry, Customer};
use crate::store::{Store, StoreError};

/// What an admin asks for when creating a customer.
#[derive(Debug, Default)]
pub struct NewCustomer {
    pub email: String,
    pub name: String,
    /// Usually none: the customer sets one through the emailed link.
    pub password: Option<String>,
    /// Who asks (for the audit log); empty means `system`.
    pub by: String,
}

/// The refusal for an email that already has an account.
pub const EMAIL_TAKEN: &str = "A customer with this email exists.";

/// A display name: trimmed, at most 255 printable characters, may be empty
/// (the email is shown instead).
pub fn check_name(raw: &str) -> Result<String, AppError> {
    let name = raw.trim();
    if name.chars().count() > 255 || name.chars().any(char::is_control) {
        return Err(AppError::field(
            "name",
            "Name must be at most 255 printable characters.",
        ));
    }
    Ok(name.to_owned())
}

/// Creates a customer; a taken email is a `Conflict` (emails are unique, case-insensitively).
pub async fn create(
    store: &dyn Store,
    passwords: &PasswordPool,
    hooks: &crate::app::webhooks::Webhooks,
    n: NewCustomer,
) -> Result<Customer, AppError> {
    let mut errors = FieldErrors::default();
    let email = normalize_email(&n.email)
        .map_err(|e| errors.add("email", format!("Email {e}.")))
        .unwrap_or_default();
    let name = check_name(&n.name)
        .map_err(|e| errors.merge(invalid(e)))
        .unwrap_or_default();
    if let Some(p) = &n.password {
        if let Err(e) = password::check_strength(p) {
            errors.add("password", format!("Password {e}."));
        }
    }
    errors.into_result()?;
    if store.get_customer_by_email(&email).await?.is_some() {
        return Err(AppError::Conflict(EMAIL_TAKEN.into()));
    }
    let password_hash = match n.password {
        Some(p) => Some(
            passwords
                .hash(&p)
                .await
                .map_err(|_| AppError::RateLimited(1))?
                .map_err(AppError::Internal)?,
        ),
        None => None,
    };
    let customer = Customer {
        password_hash,
        ..Customer::new(email, name, Utc::now())
    };
    match store.insert_customer(&customer).await {
        Err(StoreError::Conflict(_)) => Err(AppError::Conflict(EMAIL_TAKEN.into())),
        Err(e) => Err(e.into()),
        Ok(()) => {
            let by = if n.by.is_empty() {
                "system"
            } else {
                n.by.as_str()
            };
            let entry = AuditEntry::new(by, "customer.created", None, customer.created_at).detail(
                match customer.name.as_str() {
                    "" => customer.email.clone(),
                    name => format!("{name} <{}>", customer.email),
                },
            );
            super::audit::record_global(store, &entry).await?;
            hooks.customer_created(&customer).await;
            Ok(customer)
        }
    }
}

fn invalid(e: AppError) -> FieldErrors {
    match e {
        AppError::Invalid(f) => f,
        other => FieldErrors::one_message("name", other.to_string()),
    }
}

/// Renames a customer (the email is the sign-in identity and stays).
pub async fn rename(
    store: &dyn Store,
    id: Uuid,
    name: &str,
    who: &str,
) -> Result<Customer, AppError> {
    let mut c = get(store, id).await?;
    let before = c.name.clone();
    c.name = check_name(name)?;
    store.update_customer(&c).await?;
    let entry = AuditEntry::new(who, "customer.updated", None, Utc::now())
        .change(before, &c.name)
        .detail(c.email.clone());
    super::audit::record_global(store, &entry).await?;
    Ok(c)
}

/// One customer, or NOT_FOUND.
pub async fn get(store: &dyn Store, id: Uuid) -> Result<Customer, AppError> {
    store
        .get_customer(id)
        .await?
        .ok_or_else(|| AppError::NotFound("No such customer.".into()))
}

/// Every customer, by name.
pub async fn list(store: &dyn Store) -> Result<Vec<Customer>, AppError> {
    let mut all = store.list_customers().await?;
    all.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.email.cmp(&b.email)));
    Ok(all)
}

/// Most customers one search shows.
pub const SEARCH_LIMIT: usize = 500;

/// Customers whose email or name contains `q` (case-insensitive), by name, at most [`SEARCH_LIMIT`].
pub async fn search(store: &dyn Store, q: &str) -> Result<Vec<Customer>, AppError> {
    let needle = q.to_lowercase();
    let mut found = list(store).await?;
    found.retain(|c| {
        needle.is_empty() || c.email.contains(&needle) || c.name.to_lowercase().contains(&needle)
    });
    found.truncate(SEARCH_LIMIT);
    Ok(found)
}
