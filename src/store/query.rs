//! Listing licenses: filters, sort and paging shared by both backends.

use std::cmp::Ordering;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use chrono::{DateTime, Utc};

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

/// What a listing needs from a row: the full license, or its catalog summary.
pub trait Listed {
    fn key(&self) -> &str;
    fn product_id(&self) -> Uuid;
    fn customer_id(&self) -> Option<Uuid>;
    fn status(&self) -> LicenseStatus;
    fn activation_limit(&self) -> i32;
    fn expires_at(&self) -> Option<DateTime<Utc>>;
    fn created_at(&self) -> DateTime<Utc>;
}

impl Listed for License {
    fn key(&self) -> &str {
        self.key.as_str()
    }
    fn product_id(&self) -> Uuid {
        self.product_id
    }
    fn customer_id(&self) -> Option<Uuid> {
        self.customer_id
    }
    fn status(&self) -> LicenseStatus {
        self.status
    }
    fn activation_limit(&self) -> i32 {
        self.activation_limit.get()
    }
    fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.expires_at
    }
    fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
}

/// Case-insensitive substring test without allocating (ASCII folding; `needle` is lower-case).
fn contains_folded(hay: &str, needle: &str) -> bool {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

/// Most rows one page may hold (exports page through with this size).
pub const MAX_PER_PAGE: u32 = 100_000;

impl LicenseQuery {
    /// Applies the query in memory; products and customers resolve names.
    ///
    /// Cost: one pass to filter, a partial selection for the rows before the page's
    /// end, and a sort of only those rows — a first page of 100,000 rows stays fast.
    pub fn apply<T: Listed>(
        &self,
        rows: Vec<T>,
        products: &HashMap<Uuid, Product>,
        customers: &HashMap<Uuid, Customer>,
    ) -> Page<T> {
        let needle = self
            .search
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_lowercase);
        let product_lc: HashMap<Uuid, String> = products
            .iter()
            .map(|(id, p)| (*id, p.name.to_lowercase()))
            .collect();
        let customer_lc: HashMap<Uuid, (String, String)> = customers
            .iter()
            .map(|(id, c)| (*id, (c.name.to_lowercase(), c.email.to_lowercase())))
            .collect();
        let empty = String::new();
        let product_name = |l: &T| product_lc.get(&l.product_id()).unwrap_or(&empty);
        let customer = |l: &T| l.customer_id().and_then(|c| customer_lc.get(&c));
        let mut rows: Vec<T> = rows
            .into_iter()
            .filter(|l| self.product_id.is_none_or(|p| l.product_id() == p))
            .filter(|l| self.status.is_none_or(|s| l.status() == s))
            .filter(|l| self.customer_id.is_none_or(|c| l.customer_id() == Some(c)))
            .filter(|l| match &needle {
                None => true,
                Some(n) => {
                    contains_folded(l.key(), n)
                        || product_name(l).contains(n.as_str())
                        || customer(l).is_some_and(|(name, email)| {
                            email.contains(n.as_str()) || name.contains(n.as_str())
                        })
                }
            })
            .collect();
        let cmp = |a: &T, b: &T| -> Ordering {
            let primary = match self.sort {
                SortField::Key => a.key().cmp(b.key()),
                SortField::Product => product_name(a).cmp(product_name(b)),
                SortField::Customer => {
                    let name = |l: &T| customer(l).map(|(n, _)| n.as_str());
                    name(a).cmp(&name(b))
                }
                SortField::Status => a.status().cmp(&b.status()),
                SortField::Activations => {
                    // Unlimited sorts above every number.
                    let n = |l: &T| match l.activation_limit() {
                        -1 => i32::MAX,
                        v => v,
                    };
                    n(a).cmp(&n(b))
                }
                // Lifetime (no expiry) sorts after every date.
                SortField::Expires => match (a.expires_at(), b.expires_at()) {
                    (Some(x), Some(y)) => x.cmp(&y),
                    (Some(_), None) => Ordering::Less,
                    (None, Some(_)) => Ordering::Greater,
                    (None, None) => Ordering::Equal,
                },
                SortField::Created => a.created_at().cmp(&b.created_at()),
            };
            primary.then_with(|| a.key().cmp(b.key()))
        };
        let ordered = |a: &T, b: &T| {
            if self.descending {
                cmp(b, a)
            } else {
                cmp(a, b)
            }
        };
        let total = rows.len() as u64;
        let per_page = self.per_page.clamp(1, MAX_PER_PAGE);
        let page = self.page.max(1);
        let start = (page as usize - 1).saturating_mul(per_page as usize);
        let end = start.saturating_add(per_page as usize).min(rows.len());
        if start >= rows.len() {
            rows.clear();
        } else {
            if end < rows.len() {
                rows.select_nth_unstable_by(end, ordered);
                rows.truncate(end);
            }
            rows.sort_by(ordered);
            rows.drain(..start);
        }
        Page {
            items: rows,
            total,
            page,
            per_page,
        }
    }
}
