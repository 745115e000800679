//! Listing licenses: filters, sort and paging shared by both backends.

use std::cmp::Ordering;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::{Customer, License, LicenseStatus, Product};

/// The seven sortable columns of the License Keys page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SortField {
    Key,
    Product,
    Customer,
    Status,
    Activations,
    Expires,
    #[default]
    Created,
}

/// Search, filters, sort and page of a license listing.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LicenseQuery {
    /// Partial key, customer email, customer name or product name (case-insensitive).
    pub search: Option<String>,
    pub product_id: Option<Uuid>,
    pub status: Option<LicenseStatus>,
    pub customer_id: Option<Uuid>,
    pub sort: SortField,
    pub descending: bool,
    /// 1-based.
    pub page: u32,
    pub per_page: u32,
}

impl Default for LicenseQuery {
    fn default() -> Self {
        LicenseQuery {
            search: None,
            product_id: None,
            status: None,
            customer_id: None,
            sort: SortField::Created,
            descending: true,
            page: 1,
            per_page: 25,
        }
    }
}

/// One page of results and how many there are in all.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

impl LicenseQuery {
    /// Applies the query to licenses in memory; products and customers resolve names.
    pub fn apply(
        &self,
        licenses: Vec<License>,
        products: &HashMap<Uuid, Product>,
        customers: &HashMap<Uuid, Customer>,
    ) -> Page<License> {
        let needle = self
            .search
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_lowercase);
        let product_name = |l: &License| {
            products
                .get(&l.product_id)
                .map(|p| p.name.to_lowercase())
                .unwrap_or_default()
        };
        let customer = |l: &License| l.customer_id.and_then(|c| customers.get(&c));
        let mut rows: Vec<License> = licenses
            .into_iter()
            .filter(|l| self.product_id.is_none_or(|p| l.product_id == p))
            .filter(|l| self.status.is_none_or(|s| l.status == s))
            .filter(|l| self.customer_id.is_none_or(|c| l.customer_id == Some(c)))
            .filter(|l| match &needle {
                None => true,
                Some(n) => {
                    l.key.as_str().to_lowercase().contains(n)
                        || product_name(l).contains(n)
                        || customer(l).is_some_and(|c| {
                            c.email.contains(n) || c.name.to_lowercase().contains(n)
                        })
                }
            })
            .collect();
        let cmp = |a: &License, b: &License| -> Ordering {
            let primary = match self.sort {
                SortField::Key => a.key.cmp(&b.key),
                SortField::Product => product_name(a).cmp(&product_name(b)),
                SortField::Customer => {
                    let name = |l: &License| customer(l).map(|c| c.name.to_lowercase());
                    name(a).cmp(&name(b))
                }
                SortField::Status => a.status.cmp(&b.status),
                SortField::Activations => {
                    // Unlimited sorts above every number.
                    let n = |l: &License| match l.activation_limit.get() {
                        -1 => i32::MAX,
                        v => v,
                    };
                    n(a).cmp(&n(b))
                }
                // Lifetime (no expiry) sorts after every date.
                SortField::Expires => match (a.expires_at, b.expires_at) {
                    (Some(x), Some(y)) => x.cmp(&y),
                    (Some(_), None) => Ordering::Less,
                    (None, Some(_)) => Ordering::Greater,
                    (None, None) => Ordering::Equal,
                },
                SortField::Created => a.created_at.cmp(&b.created_at),
            };
            primary.then_with(|| a.key.cmp(&b.key))
        };
        rows.sort_by(|a, b| {
            if self.descending {
                cmp(b, a)
            } else {
                cmp(a, b)
            }
        });
        let total = rows.len() as u64;
        let per_page = self.per_page.clamp(1, 1000);
        let page = self.page.max(1);
        let start = (page as usize - 1).saturating_mul(per_page as usize);
        let items = rows
            .into_iter()
            .skip(start)
            .take(per_page as usize)
            .collect();
        Page {
            items,
            total,
            page,
            per_page,
        }
    }
}
