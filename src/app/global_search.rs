//! The admin portal's global search (Ctrl/Cmd+K): licenses, customers and
//! products matching what was typed, a few of each.

use serde::Serialize;

use super::error::AppError;
use super::listing;
use crate::domain::Environment;
use crate::engine::Engine;
use crate::store::LicenseQuery;

/// Most hits of each kind.
pub const PER_KIND: usize = 6;
/// Shortest search (fewer characters match nearly everything).
pub const MIN_CHARS: usize = 2;

/// One hit: what to show and where it leads.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    pub title: String,
    pub detail: String,
    pub url: String,
}

/// The hits of one search, by kind.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Hits {
    pub licenses: Vec<Hit>,
    pub customers: Vec<Hit>,
    pub products: Vec<Hit>,
}

impl Hits {
    pub fn is_empty(&self) -> bool {
        self.licenses.is_empty() && self.customers.is_empty() && self.products.is_empty()
    }
}

/// Licenses (by key, customer or product, from the catalog), customers (by
/// email or name) and products (by name) of `env` matching `q`.
pub async fn search(engine: &Engine, env: Environment, q: &str) -> Result<Hits, AppError> {
    let q = q.trim();
    if q.chars().count() < MIN_CHARS {
        return Ok(Hits::default());
    }
    let needle = q.to_lowercase();
    let query = LicenseQuery {
        search: Some(q.to_owned()),
        per_page: PER_KIND as u32,
        ..LicenseQuery::default()
    };
    let listing::Listing {
        page,
        products,
        customers,
        ..
    } = listing::page_now(engine, env, query).await?;
    let licenses = page
        .items
        .iter()
        .map(|l| {
            let product = products.get(&l.product_id).map(|p| p.name.as_str());
            let customer = l.customer_id.and_then(|c| customers.get(&c));
            Hit {
                title: l.key.as_str().to_owned(),
                detail: format!(
                    "{} · {} · {}",
                    product.unwrap_or("—"),
                    customer.map_or("not assigned", |c| c.email.as_str()),
                    l.status
                ),
                url: format!("/admin/licenses/{}?env={env}", l.key.as_str()),
            }
        })
        .collect();
    let mut found: Vec<_> = customers
        .values()
        .filter(|c| c.email.contains(&needle) || c.name.to_lowercase().contains(&needle))
        .collect();
    found.sort_by(|a, b| a.email.cmp(&b.email));
    let customers = found
        .into_iter()
        .take(PER_KIND)
        .map(|c| Hit {
            title: if c.name.is_empty() {
                c.email.clone()
            } else {
                c.name.clone()
            },
            detail: c.email.clone(),
            url: format!("/admin/customers/{}?env={env}", c.id),
        })
        .collect();
    let mut prods: Vec<_> = products
        .values()
        .filter(|p| p.name.to_lowercase().contains(&needle))
        .collect();
    prods.sort_by(|a, b| a.name.cmp(&b.name));
    let products = prods
        .into_iter()
        .take(PER_KIND)
        .map(|p| Hit {
            title: p.name.clone(),
            detail: if p.active {
                "active product"
            } else {
                "inactive product"
            }
            .into(),
            url: format!("/admin/products/{}?env={env}", p.id),
        })
        .collect();
    Ok(Hits {
        licenses,
        customers,
        products,
    })
}
