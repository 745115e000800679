//! Customers: list, create, and a customer's page (edit, their licenses, their devices).

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::Utc;
use uuid::Uuid;

use super::license_preview::{device_rows, DeviceRow};
use super::licenses::{row, Row};
use super::{chrome, redirect, render, render_invalid, Admin, AdminView, Chrome, ManageForm};
use crate::app::customers::{self, NewCustomer};
use crate::app::error::AppError;
use crate::app::format;
use crate::app::listing::names;
use crate::app::AppState;
use crate::domain::{Customer, Environment};
use crate::portal::forms::FieldErrors;
use crate::portal::page::query_param;
use crate::portal::PageError;
use crate::store::LicenseQuery;

pub struct CustomerRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub licenses: usize,
    pub joined: String,
}

#[derive(Template)]
#[template(path = "admin/customers.html")]
struct CustomersPage {
    c: Chrome,
    rows: Vec<CustomerRow>,
    q: String,
    name: String,
    email: String,
    errors: FieldErrors,
}

async fn customer_rows(
    state: &AppState,
    env: Environment,
    q: &str,
) -> Result<Vec<CustomerRow>, PageError> {
    state.engine.catalog().wait_ready().await;
    let st = state.engine.catalog().stats(env, Utc::now());
    let list = customers::search(state.store(), q).await?;
    Ok(list
        .into_iter()
        .map(|c| CustomerRow {
            id: c.id.to_string(),
            licenses: st.by_customer.get(&c.id).copied().unwrap_or(0),
            name: c.name,
            email: c.email,
            joined: format::date(c.created_at),
        })
        .collect())
}

pub async fn list(
    AdminView { admin, req, env }: AdminView,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let q = query_param(&req, "q");
    render(
        &req,
        &CustomersPage {
            c: chrome(&req, &admin, "Customers", "customers", env),
            rows: customer_rows(&state, env, &q).await?,
            q,
            name: String::new(),
            email: String::new(),
            errors: FieldErrors::default(),
        },
    )
}

pub async fn create(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    ManageForm { form, env }: ManageForm,
) -> Result<HttpResponse, PageError> {
    let n = NewCustomer {
        email: form.get("email").into(),
        name: form.get("name").into(),
        password: None,
        by: admin.who(),
    };
    let errors =
        match customers::create(state.store(), &state.passwords, &state.services.webhooks, n).await
        {
            Ok(c) => {
                return Ok(redirect(
                    &req,
                    &format!("/admin/customers/{}?env={env}", c.id),
                    "ok",
                    &format!("Customer {} <{}> created.", c.name, c.email),
                ))
            }
            Err(AppError::Invalid(errors)) => errors,
            Err(AppError::Conflict(m)) => FieldErrors::one_message("email", m),
            Err(e) => return Err(e.into()),
        };
    render_invalid(&CustomersPage {
        c: chrome(&req, &admin, "Customers", "customers", env),
        rows: customer_rows(&state, env, "").await?,
        q: String::new(),
        name: form.get("name").into(),
        email: form.get("email").into(),
        errors,
    })
}

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
    joined: String,
    has_password: bool,
    rows: Vec<Row>,
    devices: Vec<CustomerDevice>,
    errors: FieldErrors,
    return_to: String,
}

async fn load(state: &AppState, raw: &str) -> Result<Customer, PageError> {
    let id: Uuid = raw
        .parse()
        .map_err(|_| PageError::NotFound("no such customer".into()))?;
    Ok(customers::get(state.store(), id).await?)
}

async fn customer_page(
    state: &AppState,
    req: &HttpRequest,
    admin: &Admin,
    env: Environment,
    cust: Customer,
    errors: FieldErrors,
) -> Result<CustomerPage, PageError> {
    let (products, customers) = names(state.store(), env).await?;
    let q = LicenseQuery {
        customer_id: Some(cust.id),
        per_page: 500,
        ..LicenseQuery::default()
    };
    state.engine.catalog().wait_ready().await;
    let page = state.engine.catalog().query(env, &q, &products, &customers);
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
    Ok(CustomerPage {
        c: chrome(
            req,
            admin,
            format!("Customer: {}", cust.name),
            "customers",
            env,
        ),
        id: cust.id.to_string(),
        return_to: format!("/admin/customers/{}?env={env}", cust.id),
        name: cust.name,
        email: cust.email,
        joined: format::time(cust.created_at),
        has_password: cust.password_hash.is_some(),
        rows,
        devices,
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
    let page = customer_page(&state, &req, &admin, env, cust, FieldErrors::default()).await?;
    render(&req, &page)
}

/// Renames a customer (the email is the sign-in identity and stays).
pub async fn edit(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    ManageForm { form, env }: ManageForm,
) -> Result<HttpResponse, PageError> {
    let cust = load(&state, &path).await?;
    match customers::rename(state.store(), cust.id, form.get("name"), &admin.who()).await {
        Ok(cust) => Ok(redirect(
            &req,
            &format!("/admin/customers/{}?env={env}", cust.id),
            "ok",
            "Customer saved.",
        )),
        Err(AppError::Invalid(errors)) => {
            let page = customer_page(&state, &req, &admin, env, cust, errors).await?;
            render_invalid(&page)
        }
        Err(e) => Err(e.into()),
    }
}
