//! `/admin/api/v1/{env}/licenses`: create, bulk-create, list, export, get, edit,
//! assign, state actions, device removal, offline files and delete.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use std::collections::HashMap;

use super::views::{LicenseView, SummaryView};
use super::{env, json_body, AdminToken, API_ACTOR};
use crate::api::client::offline_file;
use crate::app::AppState;
use crate::domain::fields::{json_object, MAX_FEATURE_FLAGS_BYTES, MAX_METADATA_BYTES};
use crate::domain::{
    Action, ActivationLimit, Environment, Generator, Identifier, License, LicenseKey, LicenseStatus,
};
use crate::domain::{Customer, Product};
use crate::engine::actor::AdminChange;
use crate::engine::{Engine, LicenseEdit};
use crate::error::ApiError;
use crate::store::{LicenseQuery, SortField};

/// The fields a new license may override; everything else comes from its generator.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub customer_id: Option<Uuid>,
    pub activation_limit: Option<ActivationLimit>,
    pub expires_at: Option<DateTime<Utc>>,
    pub feature_flags: Option<Map<String, Value>>,
    pub metadata: Map<String, Value>,
}

/// Makes `count` new licenses from a generator (fresh CSPRNG keys, no duplicates in the batch).
pub fn make_licenses(
    env: Environment,
    generator: &Generator,
    o: &Overrides,
    count: usize,
    now: DateTime<Utc>,
) -> Vec<License> {
    let mut rng = rand::rngs::OsRng;
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let raw = generator.format.generate(&mut rng);
        let Ok(key) = LicenseKey::parse(&raw) else {
            continue;
        };
        if !seen.insert(raw) {
            continue;
        }
        let mut l = License {
            key,
            environment: env,
            product_id: generator.product_id,
            generator_id: Some(generator.id),
            customer_id: None,
            status: LicenseStatus::Available,
            activation_limit: o.activation_limit.unwrap_or(generator.activation_limit),
            expires_at: o.expires_at,
            validity_days: generator.validity_days,
            feature_flags: o
                .feature_flags
                .clone()
                .unwrap_or_else(|| generator.feature_flags.clone()),
            metadata: o.metadata.clone(),
            ever_activated: false,
            flagged: false,
            version: 0,
            created_at: now,
            updated_at: now,
            activations: Vec::new(),
            eligibility: Default::default(),
        };
        if let Some(c) = o.customer_id {
            // Assigning a fresh license always succeeds; it also starts the validity.
            let _ = l.apply(Action::Assign, now);
            l.customer_id = Some(c);
        }
        l.version = 1;
        out.push(l);
    }
    out
}

/// Creates licenses, retrying with fresh keys in the (astronomically rare) case of a collision.
pub async fn create_licenses(
    engine: &Engine,
    env: Environment,
    generator: &Generator,
    o: &Overrides,
    count: usize,
    who: &str,
) -> Result<Vec<License>, ApiError> {
    let mut last = None;
    for _ in 0..3 {
        let batch = make_licenses(env, generator, o, count, Utc::now());
        match engine.create_licenses(env, &batch, who).await {
            Ok(()) => return Ok(batch),
            Err(crate::engine::EngineError::Store(crate::store::StoreError::Conflict(m))) => {
                last = Some(m)
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Conflict(last.unwrap_or_default()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewLicense {
    product_id: Option<Uuid>,
    generator_id: Option<Uuid>,
    customer_id: Option<Uuid>,
    activation_limit: Option<i64>,
    expires_at: Option<String>,
    feature_flags: Option<Value>,
    metadata: Option<Value>,
    count: Option<usize>,
}

fn parse_time(field: &'static str, s: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| ApiError::field(field, format!("{field} must be an RFC 3339 time: {e}")))
}

fn flags(v: Option<&Value>) -> Result<Map<String, Value>, ApiError> {
    json_object("feature_flags", v, MAX_FEATURE_FLAGS_BYTES)
        .map_err(|e| ApiError::field(e.field, e.to_string()))
}

fn meta(v: Option<&Value>) -> Result<Map<String, Value>, ApiError> {
    json_object("metadata", v, MAX_METADATA_BYTES)
        .map_err(|e| ApiError::field(e.field, e.to_string()))
}

/// Resolves product, generator and customer of a create request and checks every field.
async fn prepare(
    state: &AppState,
    env: Environment,
    n: &NewLicense,
) -> Result<(Generator, Overrides), ApiError> {
    let store = state.engine.store.as_ref();
    let product_id = n
        .product_id
        .ok_or_else(|| ApiError::field("product_id", "product_id is required"))?;
    let product = store
        .get_product(env, product_id)
        .await?
        .ok_or_else(|| ApiError::field("product_id", "no such product in this environment"))?;
    if !product.active {
        return Err(ApiError::field(
            "product_id",
            "product is inactive and gets no new licenses",
        ));
    }
    let generator_id = n
        .generator_id
        .or(product.default_generator_id)
        .ok_or_else(|| {
            ApiError::field(
                "generator_id",
                "generator_id is required (the product has no default)",
            )
        })?;
    let generator = store
        .get_generator(env, generator_id)
        .await?
        .filter(|g| g.product_id == product_id)
        .ok_or_else(|| ApiError::field("generator_id", "no such generator for this product"))?;
    if let Some(c) = n.customer_id {
        store
            .get_customer(c)
            .await?
            .ok_or_else(|| ApiError::field("customer_id", "no such customer"))?;
    }
    let activation_limit = n
        .activation_limit
        .map(ActivationLimit::new)
        .transpose()
        .map_err(|e| ApiError::field("activation_limit", format!("activation_limit {e}")))?;
    let expires_at = n
        .expires_at
        .as_deref()
        .map(|s| parse_time("expires_at", s))
        .transpose()?;
    let feature_flags = n
        .feature_flags
        .as_ref()
        .map(|v| flags(Some(v)))
        .transpose()?;
    Ok((
        generator,
        Overrides {
            customer_id: n.customer_id,
            activation_limit,
            expires_at,
            feature_flags,
            metadata: meta(n.metadata.as_ref())?,
        },
    ))
}

pub async fn create(
    _: AdminToken,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let env = env(&path)?;
    let n: NewLicense = json_body(&state, &req, body).await?;
    if n.count.is_some() {
        return Err(ApiError::field(
            "count",
            "use POST …/licenses/bulk to create several",
        ));
    }
    let (generator, o) = prepare(&state, env, &n).await?;
    let made = create_licenses(&state.engine, env, &generator, &o, 1, API_ACTOR).await?;
    Ok(HttpResponse::Created().json(LicenseView::new(&made[0], true)))
}

/// Most keys one bulk call makes.
pub const MAX_BULK: usize = 10_000;

pub async fn bulk(
    _: AdminToken,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let env = env(&path)?;
    let n: NewLicense = json_body(&state, &req, body).await?;
    let count = n
        .count
        .ok_or_else(|| ApiError::field("count", "count is required"))?;
    if !(1..=MAX_BULK).contains(&count) {
        return Err(ApiError::field(
            "count",
            format!("count must be 1 to {MAX_BULK}"),
        ));
    }
    let (generator, o) = prepare(&state, env, &n).await?;
    let made = create_licenses(&state.engine, env, &generator, &o, count, API_ACTOR).await?;
    let keys: Vec<&str> = made.iter().map(|l| l.key.as_str()).collect();
    Ok(HttpResponse::Created().json(serde_json::json!({ "count": keys.len(), "keys": keys })))
}

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

fn query_params(req: &HttpRequest) -> Result<ListParams, ApiError> {
    web::Query::<ListParams>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|e| ApiError::bad(format!("bad query string: {e}")))
}

pub async fn list(
    _: AdminToken,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let env = env(&path)?;
    let q = query_params(&req)?.to_query()?;
    let (products, customers) = names(&state, env).await?;
    let page = state
        .engine
        .catalog
        .query_off_thread(env, q, products, customers)
        .await?;
    let items: Vec<SummaryView> = page.items.iter().map(SummaryView::from).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "items": items, "total": page.total, "page": page.page, "per_page": page.per_page,
    })))
}

/// Records by id, shared with the catalog query on the blocking pool.
pub type Names<T> = std::sync::Arc<HashMap<Uuid, T>>;

/// Products and customers by id, for name search and sort (API and portal).
pub async fn names(
    state: &AppState,
    env: Environment,
) -> Result<(Names<Product>, Names<Customer>), ApiError> {
    let store = state.engine.store.as_ref();
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

/// Writes the filtered list (every page) as CSV or JSON.
pub async fn export(
    _: AdminToken,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let env = env(&path)?;
    let params = query_params(&req)?;
    export_listing(&state, env, &params).await
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
            .catalog
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

fn key_of(raw: &str) -> Result<LicenseKey, ApiError> {
    LicenseKey::parse(raw).map_err(|e| ApiError::field("key", e))
}

/// Page of `GET …/licenses/{key}/activations`.
#[derive(Debug, Deserialize)]
pub struct HistoryParams {
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

/// A license's past (deactivated) activations, newest first, a page at a time.
pub async fn activation_history(
    _: AdminToken,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    params: web::Query<HistoryParams>,
) -> Result<HttpResponse, ApiError> {
    let (e, k) = path.into_inner();
    let (env, key) = (env(&e)?, key_of(&k)?);
    let page = params.page.unwrap_or(1).max(1);
    let per_page = params.per_page.unwrap_or(100).clamp(1, 500);
    state
        .engine
        .get(env, &key)
        .await?
        .ok_or_else(|| ApiError::NotFound("license not found".into()))?;
    let items = state
        .engine
        .store
        .activation_history(env, &key, page, per_page)
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "items": items, "page": page, "per_page": per_page,
    })))
}

pub async fn get(
    _: AdminToken,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (e, k) = path.into_inner();
    let (env, key) = (env(&e)?, key_of(&k)?);
    let l = state
        .engine
        .get(env, &key)
        .await?
        .ok_or_else(|| ApiError::NotFound("license not found".into()))?;
    // Active devices and the newest history rows (the record holds only active ones).
    let l = crate::store::with_history(
        state.engine.store.as_ref(),
        env,
        l,
        crate::store::HISTORY_SHOWN,
    )
    .await?;
    Ok(HttpResponse::Ok().json(LicenseView::new(&l, true)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EditBody {
    activation_limit: Option<i64>,
    #[serde(default, deserialize_with = "present")]
    expires_at: Option<Option<String>>,
    feature_flags: Option<Value>,
    metadata: Option<Value>,
    /// `{"kind": "all"}`, `{"kind": "up_to_version", "version": "2.4"}` or
    /// `{"kind": "released_until", "date": "2026-06-30"}`.
    eligibility: Option<crate::domain::Eligibility>,
    // Immutable fields are named so the error can say so.
    key: Option<Value>,
    product_id: Option<Value>,
    environment: Option<Value>,
}

/// Distinguishes an absent field from an explicit `null` (null = lifetime).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

pub async fn edit(
    _: AdminToken,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (e, k) = path.into_inner();
    let (env, key) = (env(&e)?, key_of(&k)?);
    let b: EditBody = json_body(&state, &req, body).await?;
    for (field, v) in [
        ("key", &b.key),
        ("product_id", &b.product_id),
        ("environment", &b.environment),
    ] {
        if v.is_some() {
            return Err(ApiError::field(field, format!("{field} cannot be changed")));
        }
    }
    let edit = LicenseEdit {
        activation_limit: b
            .activation_limit
            .map(ActivationLimit::new)
            .transpose()
            .map_err(|e| ApiError::field("activation_limit", format!("activation_limit {e}")))?,
        expires_at: b
            .expires_at
            .map(|o| o.map(|s| parse_time("expires_at", &s)).transpose())
            .transpose()?,
        feature_flags: b
            .feature_flags
            .as_ref()
            .map(|v| flags(Some(v)))
            .transpose()?,
        metadata: b.metadata.as_ref().map(|v| meta(Some(v))).transpose()?,
        eligibility: b.eligibility,
    };
    let l = state
        .engine
        .admin(
            env,
            &key,
            AdminChange::Edit {
                edit,
                who: API_ACTOR.into(),
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(LicenseView::new(&l, true)))
}

pub async fn delete(
    _: AdminToken,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (e, k) = path.into_inner();
    let (env, key) = (env(&e)?, key_of(&k)?);
    state
        .engine
        .admin(
            env,
            &key,
            AdminChange::Delete {
                who: API_ACTOR.into(),
            },
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignBody {
    customer_id: Option<Uuid>,
}

pub async fn assign(
    _: AdminToken,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (e, k) = path.into_inner();
    let (env, key) = (env(&e)?, key_of(&k)?);
    let b: AssignBody = json_body(&state, &req, body).await?;
    let customer_id = b
        .customer_id
        .ok_or_else(|| ApiError::field("customer_id", "customer_id is required"))?;
    state
        .engine
        .store
        .get_customer(customer_id)
        .await?
        .ok_or_else(|| ApiError::field("customer_id", "no such customer"))?;
    let l = state
        .engine
        .admin(
            env,
            &key,
            AdminChange::Assign {
                customer_id,
                who: API_ACTOR.into(),
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(LicenseView::new(&l, true)))
}

pub async fn action(
    _: AdminToken,
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (e, k, a) = path.into_inner();
    let (env, key) = (env(&e)?, key_of(&k)?);
    let action = Action::parse_admin(&a).ok_or_else(|| {
        ApiError::field(
            "action",
            format!(
                "unknown action '{}': use suspend, unsuspend, inactivate, reactivate or revoke",
                crate::telemetry::truncate_for_message(&a)
            ),
        )
    })?;
    let l = state.engine.act(env, &key, action, API_ACTOR).await?;
    Ok(HttpResponse::Ok().json(LicenseView::new(&l, true)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeviceBody {
    identifier: Option<String>,
}

pub async fn deactivate(
    _: AdminToken,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (e, k) = path.into_inner();
    let (env, key) = (env(&e)?, key_of(&k)?);
    let b: DeviceBody = json_body(&state, &req, body).await?;
    let identifier = b
        .identifier
        .ok_or_else(|| ApiError::field("identifier", "identifier is required"))?;
    let identifier =
        Identifier::existing(&identifier).map_err(|e| ApiError::field("identifier", e))?;
    let l = state
        .engine
        .admin(
            env,
            &key,
            AdminChange::Deactivate {
                identifier,
                who: API_ACTOR.into(),
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(LicenseView::new(&l, true)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OfflineParams {
    identifier: Option<String>,
}

/// The signed offline file as a download, for air-gapped customers.
pub async fn offline(
    _: AdminToken,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (e, k) = path.into_inner();
    let (env, key) = (env(&e)?, key_of(&k)?);
    let p = web::Query::<OfflineParams>::from_query(req.query_string())
        .map_err(|e| ApiError::bad(format!("bad query string: {e}")))?;
    let identifier = p
        .identifier
        .clone()
        .ok_or_else(|| ApiError::field("identifier", "identifier is required"))?;
    let identifier =
        Identifier::existing(&identifier).map_err(|e| ApiError::field("identifier", e))?;
    let (v, file) = offline_file(&state, env, &key, &identifier, None).await?;
    match file {
        Some(f) => Ok(HttpResponse::Ok()
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}-offline.json\"", key.as_str()),
            ))
            .json(f)),
        None if v.code == crate::domain::VerdictCode::NotFound => {
            Err(ApiError::NotFound("license not found".into()))
        }
        None => Err(ApiError::Conflict(format!(
            "no offline file: {} ({})",
            v.detail,
            v.code.as_str()
        ))),
    }
}
