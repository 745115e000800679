//! The License Keys page: search, filters, sort, paging, export, and the create
//! and edit forms. Listing runs on the engine's catalog; writes go through the
//! license's actor, like the admin API.

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use uuid::Uuid;

use super::{chrome, env_of, redirect, render, render_invalid, Admin, Chrome, ManageForm};
use crate::app::format;
use crate::app::licenses::{create_licenses, Overrides};
use crate::app::listing::{names, ListParams};
use crate::app::AppState;
use crate::domain::admin_actions_for;
use crate::domain::fields::{json_object_text, MAX_FEATURE_FLAGS_BYTES, MAX_METADATA_BYTES};
use crate::domain::{
    ActivationLimit, Customer, Environment, Generator, LicenseKey, LicenseStatus, Product,
};
use crate::engine::actor::AdminChange;
use crate::engine::catalog::LicenseSummary;
use crate::engine::LicenseEdit;
use crate::portal::forms::{FieldErrors, Form};
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

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    // Read by `env_of`; named here so `deny_unknown_fields` accepts it.
    #[allow(dead_code)]
    env: Option<String>,
    q: Option<String>,
    product_id: Option<String>,
    status: Option<String>,
    sort: Option<String>,
    order: Option<String>,
    page: Option<u32>,
    format: Option<String>,
}

impl ListQuery {
    fn params(&self) -> ListParams {
        ListParams {
            q: self.q.clone(),
            product_id: self.product_id.clone(),
            status: self.status.clone(),
            sort: self.sort.clone(),
            order: self.order.clone(),
            page: self.page,
            per_page: Some(PER_PAGE),
            ..ListParams::default()
        }
    }
}

fn list_query(req: &HttpRequest) -> Result<ListQuery, PageError> {
    web::Query::<ListQuery>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|e| PageError::BadRequest(format!("bad query string: {e}")))
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
    sort: String,
    order: String,
    products: Vec<(String, String)>,
    statuses: Vec<&'static str>,
    sorts: Vec<(&'static str, &'static str)>,
    pages: Vec<PageLink>,
    export_csv: String,
    export_json: String,
    suggestions: Vec<String>,
}

pub async fn list(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let env = env_of(&req)?;
    let lq = list_query(&req)?;
    let q = lq.params().to_query()?;
    let (products, customers) = names(&state, env).await?;
    let page = state
        .engine
        .catalog()
        .query_off_thread(env, q.clone(), products.clone(), customers.clone())
        .await?;
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
    let base = |extra: &[(&str, &str)]| {
        let mut pairs = vec![
            ("env", env.as_str()),
            ("q", lq.q.as_deref().unwrap_or("")),
            ("product_id", lq.product_id.as_deref().unwrap_or("")),
            ("status", lq.status.as_deref().unwrap_or("")),
            ("sort", lq.sort.as_deref().unwrap_or("")),
            ("order", lq.order.as_deref().unwrap_or("")),
        ];
        pairs.extend_from_slice(extra);
        format::query(&pairs)
    };
    let pages_total = (page.total as u32).div_ceil(PER_PAGE).max(1);
    let pages = pager(q.page, pages_total, |n| {
        format!("/admin/licenses?{}", base(&[("page", &n.to_string())]))
    });
    let first = ((q.page - 1) * PER_PAGE) as usize + 1;
    let mut product_list: Vec<(String, String)> = products
        .values()
        .map(|p| (p.id.to_string(), p.name.clone()))
        .collect();
    product_list.sort_by(|a, b| a.1.cmp(&b.1));
    let mut suggestions: Vec<String> = product_list.iter().map(|p| p.1.clone()).collect();
    suggestions.extend(customers.values().take(200).map(|c| c.email.clone()));
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
            sort,
            order,
            products: product_list,
            statuses: LicenseStatus::ALL.iter().map(|s| s.as_str()).collect(),
            sorts: SORTS.to_vec(),
            pages,
            export_csv: format!("/admin/licenses/export?{}", base(&[("format", "csv")])),
            export_json: format!("/admin/licenses/export?{}", base(&[("format", "json")])),
            suggestions,
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
    crate::app::listing::export_listing(&state, env, &params)
        .await
        .map_err(PageError::from)
}

/// Values of the create/edit form as typed, so a refused form keeps them.
#[derive(Default, Clone)]
pub struct LicenseFields {
    pub product_id: String,
    pub generator_id: String,
    pub customer_id: String,
    pub activation_limit: String,
    pub expires: String,
    pub feature_flags: String,
    pub metadata: String,
    /// Version eligibility (edit form): releases up to a version, or up to a date.
    pub max_version: String,
    pub releases_until: String,
}

impl LicenseFields {
    fn from_form(f: &Form) -> LicenseFields {
        LicenseFields {
            product_id: f.get("product_id").into(),
            generator_id: f.get("generator_id").into(),
            customer_id: f.get("customer_id").into(),
            activation_limit: f.get("activation_limit").into(),
            expires: f.get("expires").into(),
            feature_flags: f.get("feature_flags").into(),
            metadata: f.get("metadata").into(),
            max_version: f.get("max_version").into(),
            releases_until: f.get("releases_until").into(),
        }
    }
}

/// The checked optional fields of the create and edit forms.
struct Checked {
    customer: Option<Uuid>,
    limit: Option<ActivationLimit>,
    expires: Option<DateTime<Utc>>,
    flags: Option<serde_json::Map<String, serde_json::Value>>,
    metadata: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Applies the spec's validation rules to the optional fields; errors go next to each field.
async fn check_optional(
    state: &AppState,
    v: &LicenseFields,
    errors: &mut FieldErrors,
    now: DateTime<Utc>,
) -> Result<Checked, PageError> {
    let mut out = Checked {
        customer: None,
        limit: None,
        expires: None,
        flags: None,
        metadata: None,
    };
    if !v.customer_id.is_empty() {
        match v.customer_id.parse::<Uuid>() {
            Ok(id) if state.engine.store().get_customer(id).await?.is_some() => {
                out.customer = Some(id)
            }
            _ => errors.add("customer_id", "Customer must exist."),
        }
    }
    if !v.activation_limit.is_empty() {
        match v.activation_limit.parse::<i64>() {
            Ok(n) => match ActivationLimit::new(n) {
                Ok(l) => out.limit = Some(l),
                Err(_) => errors.add(
                    "activation_limit",
                    "Activation limit must be -1 (unlimited) or 1–10000.",
                ),
            },
            Err(_) => errors.add(
                "activation_limit",
                "Activation limit must be an integer: -1 (unlimited) or 1–10000.",
            ),
        }
    }
    if !v.expires.is_empty() {
        match NaiveDate::parse_from_str(&v.expires, "%Y-%m-%d") {
            Ok(d) => {
                let at = d
                    .and_hms_opt(23, 59, 59)
                    .map(|t| t.and_utc())
                    .unwrap_or(now);
                if at <= now {
                    errors.add(
                        "expires",
                        "Expiry date must be in the future (or empty for lifetime).",
                    );
                } else {
                    out.expires = Some(at);
                }
            }
            Err(_) => errors.add("expires", "Expiry date must be a date (YYYY-MM-DD)."),
        }
    }
    if !v.feature_flags.is_empty() {
        match json_object_text("feature_flags", &v.feature_flags, MAX_FEATURE_FLAGS_BYTES) {
            Ok(m) => out.flags = Some(m),
            Err(e) => errors.add("feature_flags", format!("Feature flags {}.", e.message)),
        }
    }
    match json_object_text("metadata", &v.metadata, MAX_METADATA_BYTES) {
        Ok(m) => out.metadata = Some(m),
        Err(e) => errors.add("metadata", format!("Metadata {}.", e.message)),
    }
    Ok(out)
}

#[derive(Template)]
#[template(path = "admin/license_new.html")]
struct NewPage {
    c: Chrome,
    v: LicenseFields,
    errors: FieldErrors,
    products: Vec<(String, String, bool)>,
    generators: Vec<(String, String, String)>,
    customers: Vec<(String, String)>,
}

async fn new_page_data(
    state: &AppState,
    env: Environment,
) -> Result<
    (
        Vec<(String, String, bool)>,
        Vec<(String, String, String)>,
        Vec<(String, String)>,
    ),
    PageError,
> {
    let store = state.engine.store().as_ref();
    let mut products = store.list_products(env).await?;
    products.sort_by(|a, b| a.name.cmp(&b.name));
    let names: HashMap<Uuid, String> = products.iter().map(|p| (p.id, p.name.clone())).collect();
    let mut generators: Vec<Generator> = store.list_generators(env).await?;
    generators.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((
        products
            .iter()
            .map(|p| (p.id.to_string(), p.name.clone(), p.active))
            .collect(),
        generators
            .iter()
            .map(|g| {
                (
                    g.id.to_string(),
                    format!(
                        "{} — {} ({})",
                        names.get(&g.product_id).cloned().unwrap_or_default(),
                        g.name,
                        g.format.label()
                    ),
                    g.product_id.to_string(),
                )
            })
            .collect(),
        customer_options(state).await?,
    ))
}

pub async fn new_page(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let env = env_of(&req)?;
    let (products, generators, customers) = new_page_data(&state, env).await?;
    render(
        &req,
        &NewPage {
            c: chrome(&req, &admin, "Create License", "licenses", env),
            v: LicenseFields::default(),
            errors: FieldErrors::default(),
            products,
            generators,
            customers,
        },
    )
}

pub async fn create(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    ManageForm { form, env }: ManageForm,
) -> Result<HttpResponse, PageError> {
    let v = LicenseFields::from_form(&form);
    let now = Utc::now();
    let mut errors = FieldErrors::default();
    let store = state.engine.store().as_ref();
    let mut product = None;
    match v.product_id.parse::<Uuid>() {
        Err(_) if v.product_id.is_empty() => errors.add("product_id", "Product is required."),
        Err(_) => errors.add("product_id", "Product must exist."),
        Ok(id) => match store.get_product(env, id).await? {
            None => errors.add("product_id", "Product must exist in this environment."),
            Some(p) if !p.active => errors.add(
                "product_id",
                "Product must be active: an inactive product gets no new licenses.",
            ),
            Some(p) => product = Some(p),
        },
    }
    let mut generator = None;
    match v.generator_id.parse::<Uuid>() {
        Err(_) if v.generator_id.is_empty() => errors.add("generator_id", "Generator is required."),
        Err(_) => errors.add("generator_id", "Generator must exist."),
        Ok(id) => match store.get_generator(env, id).await? {
            Some(g) if product.as_ref().is_none_or(|p| p.id == g.product_id) => generator = Some(g),
            Some(_) => errors.add(
                "generator_id",
                "Generator must belong to the chosen product.",
            ),
            None => errors.add("generator_id", "Generator must exist in this environment."),
        },
    }
    let checked = check_optional(&state, &v, &mut errors, now).await?;
    let (Some(generator), true) = (generator, errors.is_empty()) else {
        let (products, generators, customers) = new_page_data(&state, env).await?;
        return render_invalid(&NewPage {
            c: chrome(&req, &admin, "Create License", "licenses", env),
            v,
            errors,
            products,
            generators,
            customers,
        });
    };
    let o = Overrides {
        customer_id: checked.customer,
        activation_limit: checked.limit,
        expires_at: checked.expires,
        feature_flags: checked.flags,
        metadata: checked.metadata.unwrap_or_default(),
    };
    let made = create_licenses(&state.engine, env, &generator, &o, 1, &admin.who()).await?;
    let key = made[0].key.as_str();
    Ok(redirect(
        &req,
        &format!("/admin/licenses/{}?env={env}", format::url_encode(key)),
        "ok",
        &format!("License {key} created ({}).", made[0].status),
    ))
}

#[derive(Template)]
#[template(path = "admin/license_edit.html")]
struct EditPage {
    c: Chrome,
    key: String,
    key_q: String,
    product_name: String,
    status: &'static str,
    v: LicenseFields,
    errors: FieldErrors,
    customers: Vec<(String, String)>,
}

pub fn key_of(raw: &str) -> Result<LicenseKey, PageError> {
    LicenseKey::parse(raw).map_err(|e| PageError::BadRequest(format!("license key: {e}")))
}

fn edit_fields(l: &crate::domain::License) -> LicenseFields {
    let json = |m: &serde_json::Map<String, serde_json::Value>| {
        if m.is_empty() {
            String::new()
        } else {
            serde_json::to_string_pretty(m).unwrap_or_default()
        }
    };
    LicenseFields {
        product_id: l.product_id.to_string(),
        generator_id: l.generator_id.map(|g| g.to_string()).unwrap_or_default(),
        customer_id: l.customer_id.map(|c| c.to_string()).unwrap_or_default(),
        activation_limit: l.activation_limit.get().to_string(),
        expires: l.expires_at.map(format::date).unwrap_or_default(),
        feature_flags: json(&l.feature_flags),
        metadata: json(&l.metadata),
        max_version: match &l.eligibility {
            crate::domain::Eligibility::UpToVersion { version } => version.clone(),
            _ => String::new(),
        },
        releases_until: match &l.eligibility {
            crate::domain::Eligibility::ReleasedUntil { date } => date.to_string(),
            _ => String::new(),
        },
    }
}

async fn customer_options(state: &AppState) -> Result<Vec<(String, String)>, PageError> {
    let mut customers = state.engine.store().list_customers().await?;
    customers.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(customers
        .iter()
        .map(|c| (c.id.to_string(), format!("{} <{}>", c.name, c.email)))
        .collect())
}

async fn product_name(state: &AppState, env: Environment, id: Uuid) -> Result<String, PageError> {
    Ok(state
        .engine
        .store()
        .get_product(env, id)
        .await?
        .map(|p| p.name)
        .unwrap_or_default())
}

pub async fn edit_page(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let env = env_of(&req)?;
    let key = key_of(&path)?;
    if let Some(gate) = super::license_actions::reauth_gate(
        &state,
        &admin,
        &req,
        env,
        &format!("editing {}", format::mask_key(key.as_str())),
    ) {
        return gate;
    }
    let l = state
        .engine
        .get(env, &key)
        .await?
        .ok_or_else(|| PageError::NotFound(format!("No license {} in {env}.", key.as_str())))?;
    if l.status == LicenseStatus::Revoked {
        return Err(PageError::Conflict(
            "Revoked licenses cannot be edited (revocation is final).".into(),
        ));
    }
    render(
        &req,
        &EditPage {
            c: chrome(&req, &admin, "Edit License", "licenses", env),
            key: key.as_str().into(),
            key_q: format::url_encode(key.as_str()),
            product_name: product_name(&state, env, l.product_id).await?,
            status: l.status.as_str(),
            v: edit_fields(&l),
            errors: FieldErrors::default(),
            customers: customer_options(&state).await?,
        },
    )
}

pub async fn edit(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    ManageForm { form, env }: ManageForm,
) -> Result<HttpResponse, PageError> {
    let key = key_of(&path)?;
    for immutable in ["key", "product_id", "environment"] {
        if form.has(immutable) {
            return Err(PageError::BadRequest(format!(
                "{immutable} cannot be changed after a license is made"
            )));
        }
    }
    let l = state
        .engine
        .get(env, &key)
        .await?
        .ok_or_else(|| PageError::NotFound(format!("No license {} in {env}.", key.as_str())))?;
    let mut v = LicenseFields::from_form(&form);
    v.product_id = l.product_id.to_string();
    let mut errors = FieldErrors::default();
    if v.activation_limit.is_empty() {
        errors.add(
            "activation_limit",
            "Activation limit is required: -1 (unlimited) or 1–10000.",
        );
    }
    let checked = check_optional(&state, &v, &mut errors, Utc::now()).await?;
    let eligibility = crate::domain::Eligibility::from_form(&v.max_version, &v.releases_until)
        .map_err(|e| errors.add("eligibility", format!("Version eligibility {e}.")))
        .ok();
    if l.customer_id.is_some() && checked.customer.is_none() && errors.get("customer_id").is_empty()
    {
        errors.add(
            "customer_id",
            "An assigned license cannot be unassigned; assign it to another customer or revoke it.",
        );
    }
    if !errors.is_empty() {
        return render_invalid(&EditPage {
            c: chrome(&req, &admin, "Edit License", "licenses", env),
            key: key.as_str().into(),
            key_q: format::url_encode(key.as_str()),
            product_name: product_name(&state, env, l.product_id).await?,
            status: l.status.as_str(),
            v,
            errors,
            customers: customer_options(&state).await?,
        });
    }
    let who = admin.who();
    if let Some(c) = checked.customer.filter(|c| Some(*c) != l.customer_id) {
        state
            .engine
            .admin(
                env,
                &key,
                AdminChange::Assign {
                    customer_id: c,
                    who: who.clone(),
                },
            )
            .await?;
    }
    let edit = LicenseEdit {
        activation_limit: checked.limit,
        expires_at: Some(checked.expires),
        feature_flags: Some(checked.flags.unwrap_or_default()),
        metadata: checked.metadata,
        eligibility,
    };
    let after = state
        .engine
        .admin(env, &key, AdminChange::Edit { edit, who })
        .await?;
    Ok(redirect(
        &req,
        &format!(
            "/admin/licenses/{}?env={env}",
            format::url_encode(key.as_str())
        ),
        "ok",
        &format!(
            "License {} saved; status {}. Changes apply to the next validation.",
            key.as_str(),
            after.status
        ),
    ))
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
