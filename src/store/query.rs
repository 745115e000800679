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
    /// Expiring at or after this time (lifetime licenses never match a window).
    pub expires_after: Option<DateTime<Utc>>,
    /// Expiring strictly before this time.
    pub expires_before: Option<DateTime<Utc>>,
    /// Created at or after this time.
    pub created_after: Option<DateTime<Utc>>,
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
            expires_after: None,
            expires_before: None,
            created_after: None,
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
pub(crate) fn contains_folded(hay: &str, needle: &str) -> bool {
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
        let names = Names::new(products, customers);
        let needle = self
            .search
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_lowercase);
        let rows: Vec<T> = rows
            .into_iter()
            .filter(|l| self.keeps(l, &names, needle.as_deref()))
            .collect();
        self.page_of(rows, |a, b| {
            if self.descending {
                self.compare(b, a, &names)
            } else {
                self.compare(a, b, &names)
            }
        })
    }

    /// Whether a license's dates fall in the query's windows (one rule for
    /// the backends' listing and the catalog).
    pub fn in_windows(&self, expires: Option<DateTime<Utc>>, created: DateTime<Utc>) -> bool {
        let expiry = match (self.expires_after, self.expires_before) {
            (None, None) => true,
            (after, before) => expires
                .is_some_and(|t| after.is_none_or(|a| t >= a) && before.is_none_or(|b| t < b)),
        };
        expiry && self.created_after.is_none_or(|a| created >= a)
    }

    /// Whether a row passes the filters and the search `needle` (lower-case).
    fn keeps<T: Listed>(&self, l: &T, names: &Names, needle: Option<&str>) -> bool {
        self.in_windows(l.expires_at(), l.created_at())
            && self.product_id.is_none_or(|p| l.product_id() == p)
            && self.status.is_none_or(|s| l.status() == s)
            && self.customer_id.is_none_or(|c| l.customer_id() == Some(c))
            && needle.is_none_or(|n| {
                contains_folded(l.key(), n)
                    || names.product(l).contains(n)
                    || names
                        .customer(l)
                        .is_some_and(|(name, email)| email.contains(n) || name.contains(n))
            })
    }

    /// The ascending order of the sort column, the key breaking ties.
    fn compare<T: Listed>(&self, a: &T, b: &T, names: &Names) -> Ordering {
        let primary = match self.sort {
            SortField::Key => a.key().cmp(b.key()),
            SortField::Product => names.product(a).cmp(names.product(b)),
            SortField::Customer => {
                let name = |l: &T| names.customer(l).map(|(n, _)| n.as_str());
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
    }

    /// The requested page of the filtered `rows` in `ordered` order, sorting only
    /// the rows up to the page's end.
    fn page_of<T>(&self, mut rows: Vec<T>, ordered: impl Fn(&T, &T) -> Ordering) -> Page<T> {
        let total = rows.len() as u64;
        let per_page = self.per_page.clamp(1, MAX_PER_PAGE);
        let page = self.page.max(1);
        let start = (page as usize - 1).saturating_mul(per_page as usize);
        let end = start.saturating_add(per_page as usize).min(rows.len());
        if start >= rows.len() {
            rows.clear();
        } else {
            if end < rows.len() {
                rows.select_nth_unstable_by(end, &ordered);
                rows.truncate(end);
            }
            rows.sort_by(&ordered);
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

/// Lower-cased product names and customer (name, email) pairs, looked up per row.
struct Names {
    products: HashMap<Uuid, String>,
    customers: HashMap<Uuid, (String, String)>,
    empty: String,
}

impl Names {
    fn new(products: &HashMap<Uuid, Product>, customers: &HashMap<Uuid, Customer>) -> Self {
        Names {
            products: products
                .iter()
                .map(|(id, p)| (*id, p.name.to_lowercase()))
                .collect(),
            customers: customers
                .iter()
                .map(|(id, c)| (*id, (c.name.to_lowercase(), c.email.to_lowercase())))
                .collect(),
            empty: String::new(),
        }
    }

    /// The row's product name, empty when the product is unknown.
    fn product<T: Listed>(&self, l: &T) -> &String {
        self.products.get(&l.product_id()).unwrap_or(&self.empty)
    }

    /// The row's customer (name, email), if it has a known one.
    fn customer<T: Listed>(&self, l: &T) -> Option<&(String, String)> {
        l.customer_id().and_then(|c| self.customers.get(&c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn date_windows_keep_what_falls_inside_and_lifetime_only_without_an_expiry_window() {
        let now = Utc::now();
        let h = |n: i64| now + Duration::hours(n);
        let q = LicenseQuery {
            expires_after: Some(h(0)),
            expires_before: Some(h(10)),
            created_after: Some(h(-5)),
            ..LicenseQuery::default()
        };
        let table = [
            (Some(h(0)), h(0), true),
            (Some(h(9)), h(-5), true),
            (Some(h(10)), h(0), false),
            (Some(h(-1)), h(0), false),
            (None, h(0), false),
            (Some(h(5)), h(-6), false),
        ];
        for (expires, created, want) in table {
            assert_eq!(
                q.in_windows(expires, created),
                want,
                "{expires:?} {created}"
            );
        }
        assert!(LicenseQuery::default().in_windows(None, h(-1000)));
        let created_only = LicenseQuery {
            created_after: Some(h(-5)),
            ..LicenseQuery::default()
        };
        assert!(created_only.in_windows(None, h(-1)));
    }
}
