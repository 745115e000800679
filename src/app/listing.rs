//! Listing licenses for both front doors: the checked query of a listing, the
//! product and customer names it searches and sorts by, and the export.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::HttpResponse;
use chrono::Utc;
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use crate::app::views::SummaryView;
use crate::app::AppState;
use crate::domain::{Customer, Environment, LicenseStatus, Product};
use crate::error::ApiError;
use crate::store::{LicenseQuery, SortField};

/// Query string of listings and exports.
#[derive(Deserialize, Default)]
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
}

impl ListParams {
    /// Turns loose query parameters into a checked query (empty values mean "any").
    pub fn to_query(&self) -> Result<LicenseQuery, ApiError> {
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
                        .map_err(|_| ApiError::field(field, format!("{field} must be a UUID")))
                })
                .transpose()
        };
        let status = nonempty(&self.status)
            .map(|s| {
                s.parse::<LicenseStatus>()
                    .map_err(|e| ApiError::field("status", e))
            })
            .transpose()?;
        let sort = match nonempty(&self.sort) {
            None => SortField::Created,
            Some(s) => serde_json::from_value(Value::String(s.clone()))
                .map_err(|_| ApiError::field("sort", format!("unknown sort field '{s}': use key, product, customer, status, activations, expires or created")))?,
        };
        let descending = match nonempty(&self.order).as_deref() {
            None => sort == SortField::Created,
            Some("asc") => false,
            Some("desc") => true,
            Some(_) => return Err(ApiError::field("order", "order must be asc or desc")),
        };
        Ok(LicenseQuery {
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
    state: &AppState,
    env: Environment,
) -> Result<(Names<Product>, Names<Customer>), ApiError> {
    let store = state.engine.store().as_ref();
    let products = store
        .list_products(env)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let customers = store
        .list_customers()
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    Ok((
        std::sync::Arc::new(products),
        std::sync::Arc::new(customers),
    ))
}

/// The export both the admin API and the portal's Export button answer with.
pub async fn export_listing(
    state: &AppState,
    env: Environment,
    params: &ListParams,
) -> Result<HttpResponse, ApiError> {
    let mut q = params.to_query()?;
    q.page = 1;
    q.per_page = crate::store::MAX_PER_PAGE;
    let (products, customers) = names(state, env).await?;
    let mut all = Vec::new();
    loop {
        let page = state
            .engine
            .catalog()
            .query_off_thread(env, q.clone(), products.clone(), customers.clone())
            .await?;
        let done = (page.items.len() as u32) < q.per_page;
        all.extend(page.items);
        if done {
            break;
        }
        q.page += 1;
    }
    let stamp = Utc::now().format("%Y%m%d-%H%M%S");
    match params.format.as_deref().unwrap_or("csv") {
        "json" => {
            let items: Vec<SummaryView> = all.iter().map(SummaryView::from).collect();
            Ok(HttpResponse::Ok()
                .insert_header((
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"licenses-{env}-{stamp}.json\""),
                ))
                .json(items))
        }
        "csv" => {
            let mut w = crate::csv_out::CsvOut::new();
            let header_row = [
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
            w.row(header_row)
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            for l in &all {
                let (email, name) = l
                    .customer_id
                    .and_then(|c| customers.get(&c))
                    .map(|c| (c.email.clone(), c.name.clone()))
                    .unwrap_or_default();
                w.row([
                    l.key.as_str().to_owned(),
                    products
                        .get(&l.product_id)
                        .map(|p| p.name.clone())
                        .unwrap_or_default(),
                    email,
                    name,
                    l.status.to_string(),
                    l.activation_limit.to_string(),
                    l.activations_in_use.to_string(),
                    l.expires_at
                        .map(|t| t.to_rfc3339())
                        .unwrap_or_else(|| "lifetime".into()),
                    l.created_at.to_rfc3339(),
                ])
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            }
            let bytes = w.finish().map_err(|e| ApiError::Internal(e.to_string()))?;
            Ok(HttpResponse::Ok()
                .content_type("text/csv; charset=utf-8")
                .insert_header((
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"licenses-{env}-{stamp}.csv\""),
                ))
                .body(bytes))
        }
        _ => Err(ApiError::field("format", "format must be csv or json")),
    }
}
