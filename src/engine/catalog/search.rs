//! Search, filters, sort and paging on a shelf's columns, answering exactly as
//! [`LicenseQuery::apply`] does on full rows: names are turned into ranks once
//! per query (per product and per customer, not per row), so each kept row
//! becomes one fixed-width sort entry whose last field is the key's rank.

use std::cmp::Ordering;
use std::collections::HashMap;

use uuid::Uuid;

use super::arena::{Interner, NONE};
use super::shelf::{status_code, Shelf};
use super::LicenseSummary;
use crate::domain::{Customer, LicenseStatus, Product};
use crate::store::contains_folded;
use crate::store::{LicenseQuery, Page, SortField, MAX_PER_PAGE};

/// A kept row as the sort sees it: the column's value, then the key's rank.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    hi: u64,
    lo: u32,
    rank: u32,
}

/// What a query needs per interned product and customer, computed once.
struct Prepared {
    product: Option<u32>,
    customer: Option<u32>,
    status: Option<u8>,
    needle: Option<String>,
    /// Per interned product / customer: matches the search.
    product_hit: Vec<bool>,
    customer_hit: Vec<bool>,
    /// Per interned product / customer: place of its lower-cased name.
    product_rank: Vec<u32>,
    customer_rank: Vec<u32>,
    /// Whether a date window is set (else rows skip the date check).
    windows: bool,
    /// The date windows (the query's own rule decides).
    q: LicenseQuery,
}

/// Ranks of `names` (equal names share a rank; `None`, "no name", is always 0).
fn ranks(names: &[Option<String>]) -> Vec<u32> {
    let none = None;
    let mut sorted: Vec<&Option<String>> = names.iter().chain([&none]).collect();
    sorted.sort();
    sorted.dedup();
    names
        .iter()
        .map(|n| sorted.binary_search(&n).unwrap_or(0) as u32)
        .collect()
}

/// Lower-cased product names per interned product ("" when unknown, as the listing does).
fn product_names(ix: &Interner, products: &HashMap<Uuid, Product>) -> Vec<Option<String>> {
    let name = |id: &Uuid| products.get(id).map(|p| p.name.to_lowercase());
    ix.ids()
        .iter()
        .map(|id| Some(name(id).unwrap_or_default()))
        .collect()
}

impl Prepared {
    /// `None` when a filter names an id the shelf never saw (nothing matches).
    fn new(
        s: &Shelf,
        q: &LicenseQuery,
        products: &HashMap<Uuid, Product>,
        customers: &HashMap<Uuid, Customer>,
    ) -> Option<Prepared> {
        let product = match q.product_id {
            Some(p) => Some(s.products.find(p)?),
            None => None,
        };
        let customer = match q.customer_id {
            Some(c) => Some(s.customers.find(c)?),
            None => None,
        };
        let needle = q
            .search
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_lowercase);
        let pnames = product_names(&s.products, products);
        let cfull: Vec<Option<(String, String)>> = (s.customers.ids().iter())
            .map(|id| customers.get(id))
            .map(|c| c.map(|c| (c.name.to_lowercase(), c.email.to_lowercase())))
            .collect();
        let n = needle.as_deref().unwrap_or_default();
        let product_hit = pnames
            .iter()
            .map(|p| p.as_deref().is_some_and(|p| p.contains(n)))
            .collect();
        let customer_hit = (cfull.iter())
            .map(|c| {
                c.as_ref()
                    .is_some_and(|(name, email)| email.contains(n) || name.contains(n))
            })
            .collect();
        let cnames: Vec<Option<String>> = cfull.into_iter().map(|c| c.map(|c| c.0)).collect();
        Some(Prepared {
            product,
            customer,
            status: q.status.map(status_code),
            needle,
            product_hit,
            customer_hit,
            product_rank: ranks(&pnames),
            customer_rank: ranks(&cnames),
            windows: q.expires_after.is_some()
                || q.expires_before.is_some()
                || q.created_after.is_some(),
            q: LicenseQuery {
                search: None,
                ..q.clone()
            },
        })
    }

    /// Whether a live row passes the filters and the search.
    fn keeps(&self, s: &Shelf, row: u32) -> bool {
        let r = row as usize;
        let c = s.customer[r];
        (!self.windows || self.q.in_windows(s.expires_at(row), s.created_at(row)))
            && self.product.is_none_or(|p| s.product[r] == p)
            && self.status.is_none_or(|st| s.status[r] == st)
            && self.customer.is_none_or(|want| c == want)
            && self.needle.as_deref().is_none_or(|n| {
                contains_folded(s.keys.get(row), n)
                    || self.product_hit[s.product[r] as usize]
                    || (c != NONE && self.customer_hit[c as usize])
            })
    }

    /// The sort entry of a row for `field`.
    fn entry(&self, s: &Shelf, row: u32, field: SortField, status_rank: &[u32; 7]) -> Entry {
        let r = row as usize;
        let flip = |secs: i64| (secs as u64) ^ (1 << 63);
        let (hi, lo) = match field {
            SortField::Key => (0, 0),
            SortField::Product => (u64::from(self.product_rank[s.product[r] as usize]), 0),
            SortField::Customer => match s.customer[r] {
                NONE => (0, 0),
                c => (u64::from(self.customer_rank[c as usize]), 0),
            },
            SortField::Status => (u64::from(status_rank[s.status[r] as usize]), 0),
            SortField::Activations => {
                // Unlimited (-1) sorts above every number, as in the listing.
                let v = if s.limit[r] == -1 {
                    i32::MAX
                } else {
                    s.limit[r]
                };
                ((i64::from(v) + (1 << 31)) as u64, 0)
            }
            SortField::Expires => match s.expires_at(row) {
                Some(_) => (flip(s.expires[r]), s.expires_ns[r]),
                None => (u64::MAX, u32::MAX),
            },
            SortField::Created => (flip(s.created[r]), s.created_ns[r]),
        };
        Entry {
            hi,
            lo,
            rank: s.order.rank(row),
        }
    }
}

/// Ranks of the status bytes in the states' own order.
fn status_ranks() -> [u32; 7] {
    let mut out = [0; 7];
    for (i, s) in LicenseStatus::ALL.iter().enumerate() {
        out[i] = LicenseStatus::ALL.iter().filter(|o| *o < s).count() as u32;
    }
    out
}

/// One page of the shelf (settled: key ranks current) for `q`, with the total.
pub(super) fn query(
    s: &Shelf,
    q: &LicenseQuery,
    products: &HashMap<Uuid, Product>,
    customers: &HashMap<Uuid, Customer>,
) -> Page<LicenseSummary> {
    let per_page = q.per_page.clamp(1, MAX_PER_PAGE);
    let page = q.page.max(1);
    let empty = |total| Page {
        items: Vec::new(),
        total,
        page,
        per_page,
    };
    let Some(p) = Prepared::new(s, q, products, customers) else {
        return empty(0);
    };
    let st = status_ranks();
    let mut rows: Vec<Entry> = (0..s.rows())
        .filter(|r| s.is_live(*r) && p.keeps(s, *r))
        .map(|r| p.entry(s, r, q.sort, &st))
        .collect();
    let total = rows.len() as u64;
    let start = (page as usize - 1).saturating_mul(per_page as usize);
    let end = start.saturating_add(per_page as usize).min(rows.len());
    if start >= rows.len() {
        return empty(total);
    }
    let ordered = |a: &Entry, b: &Entry| -> Ordering {
        if q.descending {
            b.cmp(a)
        } else {
            a.cmp(b)
        }
    };
    if end < rows.len() {
        rows.select_nth_unstable_by(end, ordered);
        rows.truncate(end);
    }
    rows.sort_unstable_by(ordered);
    let sorted = s.order.rows();
    let items = rows[start..]
        .iter()
        .filter_map(|e| s.summary(sorted[e.rank as usize]))
        .collect();
    Page {
        items,
        total,
        page,
        per_page,
    }
}
