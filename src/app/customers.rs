//! Customer accounts as admins manage them: create, rename, look up, list.
//! One set of rules for the admin API and the admin portal.

use chrono::Utc;
use uuid::Uuid;

use super::error::{AppError, FieldErrors};
use crate::crypto::password::{self, PasswordPool};
use crate::domain::customer::normalize_email;
use crate::domain::Customer;
pub use crate::engine::customer_book::CustomerFilter;
use crate::engine::Engine;
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
    engine: &Engine,
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
    let store = engine.store().as_ref();
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
            engine.customers().changed();
            let by = if n.by.is_empty() {
                "system"
            } else {
                n.by.as_str()
            };
            let entry =
                crate::engine::origin::entry(by, "customer.created", None, customer.created_at)
                    .detail(match customer.name.as_str() {
                        "" => customer.email.clone(),
                        name => format!("{name} <{}>", customer.email),
                    });
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
    engine: &Engine,
    id: Uuid,
    name: &str,
    who: &str,
) -> Result<Customer, AppError> {
    let store = engine.store().as_ref();
    let mut c = get(store, id).await?;
    let before = c.name.clone();
    c.name = check_name(name)?;
    store.update_customer(&c).await?;
    engine.customers().changed();
    let entry = crate::engine::origin::entry(who, "customer.updated", None, Utc::now())
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

/// Every customer, by name (the admin API's whole list).
pub async fn list(engine: &Engine) -> Result<Vec<Customer>, AppError> {
    let book = engine.customers().snapshot(engine.store().as_ref()).await?;
    Ok(book.matching(&CustomerFilter::default(), 0, usize::MAX).0)
}

/// Most customers one search shows.
pub const SEARCH_LIMIT: usize = 500;

/// Customers whose email or name contains `q` (case-insensitive), by name, at most [`SEARCH_LIMIT`].
pub async fn search(engine: &Engine, q: &str) -> Result<Vec<Customer>, AppError> {
    let f = CustomerFilter {
        q: q.into(),
        status: None,
    };
    let book = engine.customers().snapshot(engine.store().as_ref()).await?;
    Ok(book.matching(&f, 0, SEARCH_LIMIT).0)
}

/// Customers a page shows, and how many match.
pub struct CustomerPage {
    pub items: Vec<Customer>,
    pub total: usize,
}

/// One page (1-based, `per_page` rows) of the customers `f` keeps, by name.
pub async fn page(
    engine: &Engine,
    f: &CustomerFilter,
    page: usize,
    per_page: usize,
) -> Result<CustomerPage, AppError> {
    let book = engine.customers().snapshot(engine.store().as_ref()).await?;
    let skip = page.saturating_sub(1).saturating_mul(per_page);
    let (items, total) = book.matching(f, skip, per_page);
    Ok(CustomerPage { items, total })
}

/// Most customers a picker offers at once.
pub const PICK_LIMIT: usize = 10;

/// The customers a picker offers for what was typed (name or email).
pub async fn pick(engine: &Engine, q: &str) -> Result<Vec<Customer>, AppError> {
    let book = engine.customers().snapshot(engine.store().as_ref()).await?;
    Ok(book.pick(q, PICK_LIMIT))
}
