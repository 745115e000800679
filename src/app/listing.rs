//! Listing licenses for both front doors: the checked query of a listing, the
//! product and customer names it searches and sorts by, and the export.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::HttpResponse;
use chrono::Utc;
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::error::AppError;
use crate::app::views::SummaryView;
use crate::domain::{Customer, Environment, LicenseStatus, Product};
use crate::engine::catalog::{LicenseSummary, Progress};
use crate::engine::Engine;
use crate::store::{LicenseQuery, Page, SortField};

/// Query string of listings and exports.
#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    pub q: Option<String>,
    pub product_id: Option<String>,
    pub status: Option<String>,
    pub customer_id: Option<String>,
    pub sort: Option<String>,
    pub order: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
    pub format: Option<String>,
    /// First day of an expiry window (`YYYY-MM-DD`, UTC), inclusive.
    pub expires_from: Option<String>,
    /// Last day of an expiry window, inclusive.
    pub expires_to: Option<String>,
    /// Created within this many days (1–3650).
    pub created_within: Option<u32>,
}

impl ListParams {
    /// Turns loose query parameters into a checked query (empty values mean "any").
    pub fn to_query(&self) -> Result<LicenseQuery, AppError> {
        let nonempty = |o: &Option<String>| {
            o.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let uuid = |field: &'static str, o: &Option<String>| {
            nonempty(o)
                .map(|s| {
                    s.parse::<Uuid>()
                        .map_err(|_| AppError::field(field, format!("{field} must be a UUID")))
                })
                .transpose()
        };
        let status = nonempty(&self.status)
            .map(|s| {
                s.parse::<LicenseStatus>()
                    .map_err(|e| AppError::field("status", e))
            })
            .transpose()?;
        let sort = match nonempty(&self.sort) {
            None => SortField::Created,
            Some(s) => serde_json::from_value(Value::String(s.clone()))
                .map_err(|_| AppError::field("sort", format!("unknown sort field '{s}': use key, product, customer, status, activations, expires or created")))?,
        };
        let descending = match nonempty(&self.order).as_deref() {
            None => sort == SortField::Created,
            Some("asc") => false,
            Some("desc") => true,
            Some(_) => return Err(AppError::field("order", "order must be asc or desc")),
        };
        let day = |field: &'static str, o: &Option<String>, next: bool| {
            nonempty(o)
                .map(|s| {
                    chrono::NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                        .ok()
                        .and_then(|d| if next { d.succ_opt() } else { Some(d) })
                        .and_then(|d| d.and_hms_opt(0, 0, 0))
                        .map(|t| t.and_utc())
                        .ok_or_else(|| {
                            AppError::field(field, format!("{field} must be a date (YYYY-MM-DD)"))
                        })
                })
                .transpose()
        };
        let created_after = match self.created_within {
            None => None,
            Some(d @ 1..=3650) => Some(Utc::now() - chrono::Duration::days(i64::from(d))),
            Some(_) => {
                return Err(AppError::field(
                    "created_within",
                    "created_within must be 1 to 3650 days",
                ))
            }
        };
        Ok(LicenseQuery {
            expires_after: day("expires_from", &self.expires_from, false)?,
            expires_before: day("expires_to", &self.expires_to, true)?,
            created_after,
            search: nonempty(&self.q),
            product_id: uuid("product_id", &self.product_id)?,
            status,
            customer_id: uuid("customer_id", &self.customer_id)?,
            sort,
            descending,
            page: self.page.unwrap_or(1).max(1),
            per_page: self.per_page.unwrap_or(25).clamp(1, 500),
        })
    }
}

/// Records by id, shared with the catalog query on the blocking pool.
pub type Names<T> = std::sync::Arc<HashMap<Uuid, T>>;

/// Products and customers by id, for name search and sort (API and portal).
pub async fn names(
    engine: &Engine,
    env: Environment,
) -> Result<(Names<Product>, Names<Customer>), AppError> {
    let store = engine.store().as_ref();
    let products = store.list_products(env).await?;
    let customers = engine.customers().snapshot(store).await?;
    Ok((
        std::sync::Arc::new(products.into_iter().map(|p| (p.id, p)).collect()),
        customers.by_id.clone(),
    ))
}

/// One page of the listing with the names its rows show.
pub struct Listing {
    pub page: Page<LicenseSummary>,
    pub products: Names<Product>,
    pub customers: Names<Customer>,
    /// Set while the catalog is still loading after a start: the page holds
    /// only the licenses loaded so far ("indexing, N %").
    pub indexing: Option<Progress>,
}

/// One complete page of the filtered, sorted listing (the admin API: waits
/// for the catalog's load after a start).
pub async fn page(engine: &Engine, env: Environment, q: LicenseQuery) -> Result<Listing, AppError> {
    engine.catalog().wait_ready().await;
    page_now(engine, env, q).await
}

/// One page of what the catalog holds now (searched and sorted off the request
/// thread); while it loads, `indexing` says how far it is (the License Keys page).
pub async fn page_now(
    engine: &Engine,
    env: Environment,
    q: LicenseQuery,
) -> Result<Listing, AppError> {
    let indexing = engine.catalog().progress(env);
    let (products, customers) = names(engine, env).await?;
    let page = engine
        .catalog()
        .query_off_thread(env, q, products.clone(), customers.clone())
        .await?;
    Ok(Listing {
        page,
        products,
        customers,
        indexing,
    })
}

/// A file to download: what both front doors send for an export.
pub struct Export {
    pub filename: String,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl Export {
    /// The file as an attachment (the same answer from the API and the portal).
    pub fn into_response(self) -> HttpResponse {
        HttpResponse::Ok()
            .content_type(self.content_type)
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", self.filename),
            ))
            .body(self.body)
    }
}

/// The filtered list (every page) as CSV or JSON.
pub async fn export(
    engine: &Engine,
    env: Environment,
    params: &ListParams,
) -> Result<Export, AppError> {
    let format = params.format.as_deref().unwrap_or("csv");
    if !matches!(format, "csv" | "json") {
        return Err(AppError::field("format", "format must be csv or json"));
    }
    let (all, products, customers) =
        every_match(engine, env, params.to_query()?, usize::MAX).await?;
    let stamp = Utc::now().format("%Y%m%d-%H%M%S");
    let filename = format!("licenses-{env}-{stamp}.{format}");
    if format == "json" {
        let items: Vec<SummaryView> = all.iter().map(SummaryView::from).collect();
        let body = serde_json::to_vec(&items).map_err(|e| AppError::Internal(e.to_string()))?;
        return Ok(Export {
            filename,
            content_type: "application/json",
            body,
        });
    }
    Ok(Export {
        filename,
        content_type: "text/csv; charset=utf-8",
        body: csv(&all, &products, &customers).map_err(|e| AppError::Internal(e.to_string()))?,
    })
}

/// Every summary `q` matches (its filters and order; paging is its own), at
/// most `limit`, read a catalog page at a time off the worker threads; with
/// the names the summaries refer to.
pub async fn every_match(
    engine: &Engine,
    env: Environment,
    mut q: LicenseQuery,
    limit: usize,
) -> Result<(Vec<LicenseSummary>, Names<Product>, Names<Customer>), AppError> {
    engine.catalog().wait_ready().await;
    q.page = 1;
    q.per_page = crate::store::MAX_PER_PAGE;
    let (products, customers) = names(engine, env).await?;
    let mut all = Vec::new();
    loop {
        let page = engine
            .catalog()
            .query_off_thread(env, q.clone(), products.clone(), customers.clone())
            .await?;
        let done = (page.items.len() as u32) < q.per_page;
        all.extend(page.items);
        if done || all.len() >= limit {
            break;
        }
        q.page += 1;
    }
    all.truncate(limit);
    Ok((all, products, customers))
}

/// The chosen licenses as CSV (the License Keys page's "Export selected").
pub async fn export_selection(
    engine: &Engine,
    env: Environment,
    keys: &[crate::domain::LicenseKey],
) -> Result<Export, AppError> {
    engine.catalog().wait_ready().await;
    let (products, customers) = names(engine, env).await?;
    let chosen = engine.catalog().summaries_of(env, keys);
    let stamp = Utc::now().format("%Y%m%d-%H%M%S");
    Ok(Export {
        filename: format!("licenses-{env}-selected-{stamp}.csv"),
        content_type: "text/csv; charset=utf-8",
        body: csv(&chosen, &products, &customers).map_err(|e| AppError::Internal(e.to_string()))?,
    })
}

const CSV_HEADER: [&str; 9] = [
    "key",
    "product",
    "customer_email",
    "customer_name",
    "status",
    "activation_limit",
    "activations_in_use",
    "expires_at",
    "created_at",
];

fn csv(
    all: &[LicenseSummary],
    products: &HashMap<Uuid, Product>,
    customers: &HashMap<Uuid, Customer>,
) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let mut w = crate::csv_out::CsvOut::new();
    w.row(CSV_HEADER)?;
    for l in all {
        let (email, name) = l
            .customer_id
            .and_then(|c| customers.get(&c))
            .map(|c| (c.email.clone(), c.name.clone()))
            .unwrap_or_default();
        let product = products.get(&l.product_id).map(|p| p.name.clone());
        w.row([
            l.key.as_str().to_owned(),
            product.unwrap_or_default(),
            email,
            name,
            l.status.to_string(),
            l.activation_limit.to_string(),
            l.activations_in_use.to_string(),
            l.expires_at
                .map(|t| t.to_rfc3339())
                .unwrap_or_else(|| "lifetime".into()),
            l.created_at.to_rfc3339(),
        ])?;
    }
    Ok(w.finish()?)
}
