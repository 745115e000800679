//! One customer (`templates/admin/customer.html`): their account (status,
//! last sign-in, name and email, sign-in on or off, delete) and their
//! licenses and those licenses' devices, a page at a time.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::Utc;
use uuid::Uuid;

use super::license_preview::{device_rows, DeviceRow};
use super::licenses::{pager, row, PageLink, Row};
use super::{chrome, redirect, render, render_invalid, Admin, AdminView, Chrome, ManageForm};
use crate::app::customer_admin::{self, CustomerEdit};
use crate::app::customers;
use crate::app::error::AppError;
use crate::app::format;
use crate::app::listing::names;
use crate::app::AppState;
use crate::domain::{Customer, Environment};
use crate::portal::forms::FieldErrors;
use crate::portal::page::query_param;
use crate::portal::PageError;
use crate::store::LicenseQuery;

/// Licenses (with their devices) per page of the customer's page.
const PER_PAGE: u32 = 25;

/// One device on the customer's page, with the license it belongs to.
pub struct CustomerDevice {
    pub key: String,
    pub key_q: String,
    pub d: DeviceRow,
}

#[derive(Template)]
#[template(path = "admin/customer.html")]
struct CustomerPage {
    c: Chrome,
    id: String,
    name: String,
    email: String,
    status: &'static str,
    disabled: bool,
    last_sign_in: String,
    joined: String,
    has_password: bool,
    total: u64,
    rows: Vec<Row>,
    devices: Vec<CustomerDevice>,
    pages: Vec<PageLink>,
    prev: String,
    next: String,
    errors: FieldErrors,
    return_to: String,
}

async fn load(state: &AppState, raw: &str) -> Result<Customer, PageError> {
    let id: Uuid = raw
        .parse()
        .map_err(|_| PageError::NotFound("no such customer".into()))?;
    Ok(customers::get(state.store(), id).await?)
}

/// The page for `cust`; `shown` keeps what a refused form typed.
async fn customer_page(
    state: &AppState,
    req: &HttpRequest,
    admin: &Admin,
    env: Environment,
    cust: Customer,
    shown: Option<(String, String)>,
    errors: FieldErrors,
) -> Result<CustomerPage, PageError> {
    let (products, customers) = names(&state.engine, env).await?;
    let q = LicenseQuery {
        customer_id: Some(cust.id),
        page: query_param(req, "page").parse().unwrap_or(1).max(1),
        per_page: PER_PAGE,
        ..LicenseQuery::default()
    };
    state.engine.catalog().wait_ready().await;
    let catalog = state.engine.catalog();
    let page = catalog
        .query_off_thread(env, q.clone(), products.clone(), customers.clone())
        .await?;
    let now = Utc::now();
    let rows = page
        .items
        .iter()
        .map(|l| row(l, env, &products, &customers, now))
        .collect();
    let mut devices = Vec::new();
    for s in page.items.iter().filter(|s| s.ever_activated) {
        let found = match crate::app::licenses::get_with_history(&state.engine, env, &s.key).await {
            Err(AppError::NotFound(_)) => None,
            r => Some(r?),
        };
        if let Some(l) = found {
            for d in device_rows(&l) {
                devices.push(CustomerDevice {
                    key: l.key.as_str().into(),
                    key_q: format::url_encode(l.key.as_str()),
                    d,
                });
            }
        }
    }
    let base = format!("/admin/customers/{}?env={env}", cust.id);
    let count = page.total.div_ceil(u64::from(PER_PAGE)).max(1) as u32;
    let at = q.page.min(count);
    let url = |n: u32| match n {
        0 => String::new(),
        1 => base.clone(),
        n => format!("{base}&page={n}"),
    };
    let (name, email) = shown.unwrap_or_else(|| (cust.name.clone(), cust.email.clone()));
    Ok(CustomerPage {
        c: chrome(
            req,
            admin,
            format!("Customer: {}", cust.label()),
            "customers",
            env,
        ),
        id: cust.id.to_string(),
        status: cust.status().as_str(),
        disabled: cust.disabled,
        last_sign_in: cust.last_sign_in.map(format::time).unwrap_or_default(),
        joined: format::time(cust.created_at),
        has_password: cust.password_hash.is_some(),
        name,
        email,
        total: page.total,
        rows,
        devices,
        pages: pager(at, count, url),
        prev: url(at.saturating_sub(1)),
        next: url(if at < count { at + 1 } else { 0 }),
        return_to: base.clone(),
        errors,
    })
}

pub async fn detail(
    AdminView { admin, req, env }: AdminView,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    if let Some(gate) =
        super::reauth::reauth_gate(&state, &admin, &req, env, "the customer's page").await
    {
        return gate;
    }
    let cust = load(&state, &path).await?;
    let page = customer_page(
        &state,
        &req,
        &admin,
        env,
        cust,
        None,
        FieldErrors::default(),
    )
    .await?;
    render(&req, &page)
}

/// Saves the name and email (a new email moves the sign-in identity).
pub async fn edit(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    ManageForm { form, env }: ManageForm,
) -> Result<HttpResponse, PageError> {
    let cust = load(&state, &path).await?;
    let e = CustomerEdit {
        name: Some(form.get("name").into()),
        email: Some(form.get("email").into()).filter(|e: &String| !e.trim().is_empty()),
        disabled: None,
    };
    let sessions = &state.services.customer_sessions;
    let errors = match customer_admin::edit(&state.engine, sessions, cust.id, e, &admin.who()).await
    {
        Ok(c) => {
            let to = format!("/admin/customers/{}?env={env}", c.id);
            return Ok(redirect(&req, &to, "ok", "Customer saved."));
        }
        Err(AppError::Invalid(errors)) => errors,
        Err(AppError::Conflict(m)) => FieldErrors::one_message("email", m),
        Err(e) => return Err(e.into()),
    };
    let shown = Some((form.get("name").into(), form.get("email").into()));
    let page = customer_page(&state, &req, &admin, env, cust, shown, errors).await?;
    render_invalid(&page)
}

/// Turns sign-in off (`disabled=1`: the customer's sessions end) or on again.
pub async fn access(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    ManageForm { form, env }: ManageForm,
) -> Result<HttpResponse, PageError> {
    let cust = load(&state, &path).await?;
    let disabled = match form.get("disabled") {
        "1" => true,
        "0" => false,
        _ => return Err(PageError::BadRequest("disabled must be 1 or 0".into())),
    };
    let e = CustomerEdit {
        disabled: Some(disabled),
        ..CustomerEdit::default()
    };
    let sessions = &state.services.customer_sessions;
    let c = customer_admin::edit(&state.engine, sessions, cust.id, e, &admin.who()).await?;
    let text = if disabled {
        format!("{} can no longer sign in; their sessions ended.", c.email)
    } else {
        format!("{} can sign in again.", c.email)
    };
    let to = format!("/admin/customers/{}?env={env}", c.id);
    Ok(redirect(&req, &to, "ok", &text))
}
