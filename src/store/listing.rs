//! What both backends list the same way once they have read the rows: the order of
//! products, generators and customers, the licenses due for expiry, and a page of
//! licenses with product and customer names resolved. One copy keeps the two
//! backends answering alike (the conformance tests hold them to it).

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use super::{LicenseQuery, Page};
use crate::domain::{Customer, Generator, License, LicenseKey, Product};

/// Products by name, case-insensitively.
pub(crate) fn products_by_name(mut v: Vec<Product>) -> Vec<Product> {
    v.sort_by_key(|p| p.name.to_lowercase());
    v
}

/// Generators oldest first.
pub(crate) fn generators_by_age(mut v: Vec<Generator>) -> Vec<Generator> {
    v.sort_by_key(|g| g.created_at);
    v
}

/// Customers by email.
pub(crate) fn customers_by_email(mut v: Vec<Customer>) -> Vec<Customer> {
    v.sort_by(|a, b| a.email.cmp(&b.email));
    v
}

/// Keys of the licenses whose expiry plus `grace` is before `now` and whose state
/// can still expire.
pub(crate) fn due_for_expiry(
    licenses: Vec<License>,
    now: DateTime<Utc>,
    grace: Duration,
) -> Vec<LicenseKey> {
    licenses
        .into_iter()
        .filter(|l| l.status.can_expire() && l.is_past_grace(now, grace))
        .map(|l| l.key)
        .collect()
}

/// One page of `licenses` for `query`, names looked up in `products` and `customers`.
pub(crate) fn license_page(
    query: &LicenseQuery,
    licenses: Vec<License>,
    products: Vec<Product>,
    customers: Vec<Customer>,
) -> Page<License> {
    let products: HashMap<_, _> = products.into_iter().map(|p| (p.id, p)).collect();
    let customers: HashMap<_, _> = customers.into_iter().map(|c| (c.id, c)).collect();
    query.apply(licenses, &products, &customers)
}
