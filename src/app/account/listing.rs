//! My Licenses for owners of many licenses: rows come from the catalog's
//! summaries (memory, no store read), are searched, filtered, sorted and paged
//! there, and only the page's licenses are read from the store to confirm they
//! are still the owner's. A license behind a handle is found the same way:
//! handles of the owner's keys, then one read.

use std::collections::HashMap;

use super::{OwnedLicense, Owner};
use crate::app::error::AppError;
use crate::domain::{Environment, LicenseStatus};
use crate::engine::catalog::LicenseSummary;

/// One row of My Licenses.
#[derive(Debug, Clone)]
pub struct OwnedSummary {
    pub env: Environment,
    pub summary: LicenseSummary,
    pub product_name: String,
    pub handle: String,
    /// "Renew" or "Buy", when the license expires soon or expired.
    pub offer: Option<crate::domain::product::Offer>,
}

/// One page of the owner's licenses.
pub struct OwnedPage {
    pub rows: Vec<OwnedSummary>,
    /// Licenses matching the search and filter.
    pub matched: usize,
    /// Licenses the owner has in all.
    pub total: usize,
    pub page: usize,
    pub pages: usize,
}

/// Rows per page of My Licenses.
pub const PER_PAGE: usize = 50;

/// The owner's licenses matching `status` and `q` (key or product name,
/// case-insensitive), newest first, page `page` (1-based, clamped).
pub async fn page(
    owner: Owner<'_>,
    status: Option<LicenseStatus>,
    q: &str,
    page: usize,
) -> Result<OwnedPage, AppError> {
    let catalog = owner.engine.catalog();
    catalog.wait_ready().await;
    let store = owner.engine.store();
    let me = owner.customer.id;
    let needle = q.trim().to_lowercase();
    let mut all = Vec::new();
    let mut total = 0;
    for env in Environment::ALL {
        let summaries = catalog.summaries_of_customer(env, me);
        if summaries.is_empty() {
            continue;
        }
        total += summaries.len();
        let products: HashMap<_, _> = store
            .list_products(env)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        for s in summaries {
            let product = products.get(&s.product_id);
            let product_name = product.map(|p| p.name.clone()).unwrap_or_default();
            let offer =
                product.and_then(|p| p.offer_for(s.status, s.expires_at, chrono::Utc::now()));
            let keep = status.is_none_or(|st| s.status == st)
                && (needle.is_empty()
                    || s.key.as_str().to_lowercase().contains(&needle)
                    || product_name.to_lowercase().contains(&needle));
            if keep {
                all.push((env, s, product_name, offer));
            }
        }
    }
    all.sort_by(|a, b| {
        b.1.created_at
            .cmp(&a.1.created_at)
            .then(a.1.key.as_str().cmp(b.1.key.as_str()))
    });
    let matched = all.len();
    let pages = matched.div_ceil(PER_PAGE).max(1);
    let page = page.clamp(1, pages);
    let mut rows = Vec::new();
    for (env, s, product_name, offer) in all.into_iter().skip((page - 1) * PER_PAGE).take(PER_PAGE)
    {
        // The catalog may lag a reassignment made on another node: the record decides.
        match store.get_license(env, &s.key).await? {
            Some(l) if l.customer_id == Some(me) => rows.push(OwnedSummary {
                env,
                handle: owner.links.license_handle(env, s.key.as_str()),
                summary: crate::engine::catalog::LicenseSummary::from(&l),
                product_name,
                offer,
            }),
            _ => {}
        }
    }
    Ok(OwnedPage {
        rows,
        matched,
        total,
        page,
        pages,
    })
}

/// The owner's license behind `handle`: the handles of their keys are made in
/// memory, and only the matching license is read.
pub async fn by_handle(owner: Owner<'_>, handle: &str) -> Result<OwnedLicense, AppError> {
    let catalog = owner.engine.catalog();
    catalog.wait_ready().await;
    let store = owner.engine.store();
    let me = owner.customer.id;
    let missing = || AppError::NotFound("No such license in your account.".into());
    for env in Environment::ALL {
        let Some(key) = catalog
            .keys_of_customer(env, me)
            .into_iter()
            .find(|k| owner.links.license_handle(env, k.as_str()) == handle)
        else {
            continue;
        };
        let l = store.get_license(env, &key).await?.ok_or_else(missing)?;
        if l.customer_id != Some(me) {
            return Err(missing());
        }
        let product = store.get_product(env, l.product_id).await?;
        let offer = product
            .as_ref()
            .and_then(|p| p.offer_for(l.status, l.expires_at, chrono::Utc::now()));
        let (product_name, features) = product.map(|p| (p.name, p.features)).unwrap_or_default();
        return Ok(OwnedLicense {
            env,
            handle: handle.to_owned(),
            product_name,
            features,
            offer,
            license: l,
        });
    }
    Err(missing())
}
