//! The License Keys page: search, filters, sort, paging, export, and the create
//! and edit forms. Listing runs on the engine's catalog; writes go through the
//! license's actor, like the admin API.

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::license_query::{list_query, ListQuery};
use super::{chrome, env_of, render, Admin, AdminView, Chrome};
use crate::app::format;
use crate::app::listing;
use crate::app::AppState;
use crate::domain::admin_actions_for;
use crate::domain::{Customer, Environment, LicenseStatus, Product};
use crate::engine::catalog::LicenseSummary;
use crate::portal::PageError;

/// Rows per page.
pub const PER_PAGE: u32 = 25;

/// One row of the licenses table (also used on the customer and dashboard pages).
pub struct Row {
    pub key: String,
    pub key_q: String,
    pub product_name: String,
    pub product_id: String,
    /// First 8 characters of the product id (the full one is in the tooltip).
    pub product_short: String,
    pub product_env: &'static str,
    pub product_active: bool,
    pub customer_name: String,
    pub customer_email: String,
    pub status: &'static str,
    pub activations: String,
    pub limit: String,
    pub expires: String,
    pub expiry_class: &'static str,
    pub created: String,
    /// (action, label) pairs offered in the menu.
    pub actions: Vec<(&'static str, &'static str)>,
    pub can_edit: bool,
}

/// Builds a row from a summary.
pub fn row(
    l: &LicenseSummary,
    env: Environment,
    products: &HashMap<Uuid, Product>,
    customers: &HashMap<Uuid, Customer>,
    now: DateTime<Utc>,
) -> Row {
    let product = products.get(&l.product_id);
    let customer = l.customer_id.and_then(|c| customers.get(&c));
    let (expires, expiry_class) = format::expiry(l.expires_at, now);
    Row {
        key: l.key.as_str().to_owned(),
        key_q: format::url_encode(l.key.as_str()),
        product_name: product
            .map(|p| p.name.clone())
            .unwrap_or_else(|| "(deleted product)".into()),
        product_id: l.product_id.to_string(),
        product_short: l.product_id.to_string()[..8].to_owned(),
        product_env: env.as_str(),
        product_active: product.is_some_and(|p| p.active),
        customer_name: customer.map(|c| c.name.clone()).unwrap_or_default(),
        customer_email: customer.map(|c| c.email.clone()).unwrap_or_default(),
        status: l.status.as_str(),
        activations: format::activations(l.activations_in_use, l.activation_limit),
        limit: if l.activation_limit < 0 {
            "Unlimited".into()
        } else {
            l.activation_limit.to_string()
        },
        expires,
        expiry_class,
        created: format::time(l.created_at),
        actions: admin_actions_for(l.status),
        can_edit: l.status != LicenseStatus::Revoked,
    }
}

/// The seven sort fields of the sort modal.
pub const SORTS: [(&str, &str); 7] = [
    ("key", "License Key"),
    ("product", "Product"),
    ("customer", "Customer"),
    ("status", "Status"),
    ("activations", "Activations"),
    ("expires", "Expires"),
    ("created", "Created"),
];

/// A column header that sorts the table: clicked again, it reverses the order.
pub struct SortHeader {
    pub label: &'static str,
    pub url: String,
    /// ▲ or ▼ on the column the table is sorted by.
    pub arrow: &'static str,
    /// `aria-sort` of the column.
    pub aria: &'static str,
}

/// The headers of the License Keys table for the listing `lq`, sorted by `sort` in `order`.
fn sort_headers(lq: &ListQuery, env: Environment, sort: &str, order: &str) -> Vec<SortHeader> {
    SORTS
        .iter()
        .map(|(field, label)| {
            let current = *field == sort;
            let next = match (current, order) {
                (true, "asc") => "desc",
                (true, _) => "asc",
                // Newest first when a date column is chosen.
                (false, _) if matches!(*field, "created" | "expires") => "desc",
                (false, _) => "asc",
            };
            let mut l = lq.clone();
            l.sort = Some((*field).to_owned());
            l.order = Some(next.to_owned());
            l.page = None;
            SortHeader {
                label,
                url: format!("/admin/licenses?{}", l.url_query(env, &[])),
                arrow: match (current, order) {
                    (true, "asc") => "▲",
                    (true, _) => "▼",
                    _ => "",
                },
                aria: match (current, order) {
                    (true, "asc") => "ascending",
                    (true, _) => "descending",
                    _ => "none",
                },
            }
        })
        .collect()
}

/// A page link: number (0 = gap) and URL.
pub struct PageLink {
    pub n: u32,
    pub url: String,
    pub current: bool,
}

/// Page numbers around `page`: first, last, and two either side, with gaps.
pub fn pager(page: u32, pages: u32, url: impl Fn(u32) -> String) -> Vec<PageLink> {
    let mut out = Vec::new();
    let mut last = 0;
    for n in 1..=pages {
        if n == 1 || n == pages || n.abs_diff(page) <= 2 {
            if last != 0 && n > last + 1 {
                out.push(PageLink {
                    n: 0,
                    url: String::new(),
                    current: false,
                });
            }
            out.push(PageLink {
                n,
                url: url(n),
                current: n == page,
            });
            last = n;
        }
    }
    out
}

#[derive(Template)]
#[template(path = "admin/licenses.html")]
struct ListPage {
    c: Chrome,
    rows: Vec<Row>,
    total: usize,
    first: usize,
    last: usize,
    q: String,
    product_id: String,
    status: String,
    expires_from: String,
    expires_to: String,
    created_within: String,
    sort: String,
    order: String,
    products: Vec<(String, String)>,
    statuses: Vec<&'static str>,
    sorts: Vec<(&'static str, &'static str)>,
    headers: Vec<SortHeader>,
    pages: Vec<PageLink>,
    /// The previous and next pages (empty at the ends).
    prev: String,
    next: String,
    export_csv: String,
    export_json: String,
    /// The same filters, for an action over every match.
    all_matching: String,
    suggestions: Vec<String>,
    /// "indexing, N %" while the catalog loads after a start (rows so far are shown).
    indexing: Option<String>,
}

/// The product filter's choices (id, name) by name, and the search box's suggestions.
fn filter_choices(
    products: &HashMap<Uuid, Product>,
    customers: &HashMap<Uuid, Customer>,
) -> (Vec<(String, String)>, Vec<String>) {
    let mut product_list: Vec<(String, String)> = products
        .values()
        .map(|p| (p.id.to_string(), p.name.clone()))
        .collect();
    product_list.sort_by(|a, b| a.1.cmp(&b.1));
    let mut suggestions: Vec<String> = product_list.iter().map(|p| p.1.clone()).collect();
    suggestions.extend(customers.values().take(200).map(|c| c.email.clone()));
    (product_list, suggestions)
}

pub async fn list(
    AdminView { admin, req, env }: AdminView,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let lq = list_query(&req)?;
    let q = lq.params().to_query()?;
    let listing::Listing {
        page,
        products,
        customers,
        indexing,
    } = listing::page_now(&state.engine, env, q.clone()).await?;
    let now = Utc::now();
    let rows: Vec<Row> = page
        .items
        .iter()
        .map(|l| row(l, env, &products, &customers, now))
        .collect();
    let s = |o: &Option<String>| o.clone().unwrap_or_default();
    let sort = lq
        .sort
        .clone()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "created".into());
    let order = if q.descending { "desc" } else { "asc" }.to_owned();
    let base = |extra: &[(&str, &str)]| lq.url_query(env, extra);
    let pages_total = (page.total as u32).div_ceil(PER_PAGE).max(1);
    let pages = pager(q.page, pages_total, |n| {
        format!("/admin/licenses?{}", base(&[("page", &n.to_string())]))
    });
    let page_url = |n: u32| format!("/admin/licenses?{}", base(&[("page", &n.to_string())]));
    let prev = if q.page > 1 {
        page_url(q.page - 1)
    } else {
        String::new()
    };
    let next = if q.page < pages_total {
        page_url(q.page + 1)
    } else {
        String::new()
    };
    let headers = sort_headers(&lq, env, &sort, &order);
    let first = ((q.page - 1) * PER_PAGE) as usize + 1;
    let (product_list, suggestions) = filter_choices(&products, &customers);
    let c = chrome(&req, &admin, "License Keys", "licenses", env);
    render(
        &req,
        &ListPage {
            c,
            total: page.total as usize,
            first: first.min(page.total as usize),
            last: (first + rows.len()).saturating_sub(1),
            rows,
            q: s(&lq.q),
            product_id: s(&lq.product_id),
            status: s(&lq.status),
            expires_from: s(&lq.expires_from),
            expires_to: s(&lq.expires_to),
            created_within: s(&lq.created_within),
            sort,
            order,
            products: product_list,
            statuses: LicenseStatus::ALL.iter().map(|s| s.as_str()).collect(),
            sorts: SORTS.to_vec(),
            headers,
            pages,
            prev,
            next,
            export_csv: format!("/admin/licenses/export?{}", base(&[("format", "csv")])),
            export_json: format!("/admin/licenses/export?{}", base(&[("format", "json")])),
            all_matching: format!("/admin/licenses/bulk/all?{}", base(&[])),
            suggestions,
            indexing: indexing.map(|p| match p.total {
                Some(_) => format!("indexing, {} %", p.percent()),
                None => format!("indexing, {} licenses so far", p.loaded),
            }),
        },
    )
}

/// Export: the same filters, every page, as CSV or JSON (the admin API's writer).
pub async fn export(
    _admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let env = env_of(&req)?;
    let lq = list_query(&req)?;
    let mut params = lq.params();
    params.format = lq.format.clone();
    params.page = None;
    Ok(listing::export(&state.engine, env, &params)
        .await?
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pager_shows_ends_and_neighbours() {
        let p = |page, pages| -> Vec<u32> {
            pager(page, pages, |n| n.to_string())
                .iter()
                .map(|l| l.n)
                .collect()
        };
        assert_eq!(p(1, 1), vec![1]);
        assert_eq!(p(1, 3), vec![1, 2, 3]);
        assert_eq!(p(10, 20), vec![1, 0, 8, 9, 10, 11, 12, 0, 20]);
        assert_eq!(p(1, 20), vec![1, 2, 3, 0, 20]);
    }
}
