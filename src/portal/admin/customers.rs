//! Customers: list, create, and a customer's page (edit, their licenses, their devices).

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::Utc;
use uuid::Uuid;

use super::license_actions::{device_rows, DeviceRow};
use super::licenses::{row, Row};
use super::{chrome, env_of, redirect, render, render_invalid, Admin, Chrome, ManageForm};
use crate::app::format;
use crate::app::listing::names;
use crate::app::AppState;
use crate::domain::customer::normalize_email;
use crate::domain::product::check_name;
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
    let st = state.engine.catalog().stats(env, Utc::now());
    let mut list = state.engine.store().list_customers().await?;
    let needle = q.to_lowercase();
    list.retain(|c| {
        needle.is_empty() || c.email.contains(&needle) || c.name.to_lowercase().contains(&needle)
    });
    list.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(list
        .into_iter()
        .take(500)
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
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let env = env_of(&req)?;
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
    let mut errors = FieldErrors::default();
    let name = check_name(form.get("name"), 1).unwrap_or_else(|e| {
        errors.add("name", format!("Name {e}."));
        String::new()
    });
    let email = normalize_email(form.get("email")).unwrap_or_else(|e| {
        errors.add("email", format!("Email {e}."));
        String::new()
    });
    let store = state.engine.store().as_ref();
    if errors.is_empty() && store.get_customer_by_email(&email).await?.is_some() {
        errors.add("email", "A customer with this email exists.");
    }
    if errors.is_empty() {
        let c = Customer::new(email, name, Utc::now());
        match store.insert_customer(&c).await {
            Ok(()) => {
                return Ok(redirect(
                    &req,
                    &format!("/admin/customers/{}?env={env}", c.id),
                    "ok",
                    &format!("Customer {} <{}> created.", c.name, c.email),
                ))
            }
            Err(crate::store::StoreError::Conflict(_)) => {
                errors.add("email", "A customer with this email exists.")
            }
            Err(e) => return Err(e.into()),
        }
    }
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
    state
        .engine
        .store()
        .get_customer(id)
        .await?
        .ok_or_else(|| PageError::NotFound("No such customer.".into()))
}

async fn customer_page(
    state: &AppState,
    req: &HttpRequest,
    admin: &Admin,
    env: Environment,
    cust: Customer,
    errors: FieldErrors,
) -> Result<CustomerPage, PageError> {
    let (products, customers) = names(state, env).await?;
    let q = LicenseQuery {
        customer_id: Some(cust.id),
        per_page: 500,
        ..LicenseQuery::default()
    };
    let page = state.engine.catalog().query(env, &q, &products, &customers);
    let now = Utc::now();
    let rows = page
        .items
        .iter()
        .map(|l| row(l, env, &products, &customers, now))
        .collect();
    let mut devices = Vec::new();
    for s in page.items.iter().filter(|s| s.ever_activated) {
        if let Some(l) = state.engine.get(env, &s.key).await? {
            let store = state.engine.store().as_ref();
            let l = crate::store::with_history(store, env, l, crate::store::HISTORY_SHOWN).await?;
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
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let env = env_of(&req)?;
    if let Some(gate) =
        super::license_actions::reauth_gate(&state, &admin, &req, env, "the customer's page")
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
    let mut cust = load(&state, &path).await?;
    match check_name(form.get("name"), 1) {
        Ok(n) => {
            cust.name = n;
            state.engine.store().update_customer(&cust).await?;
            Ok(redirect(
                &req,
                &format!("/admin/customers/{}?env={env}", cust.id),
                "ok",
                "Customer saved.",
            ))
        }
        Err(e) => {
            let mut errors = FieldErrors::default();
            errors.add("name", format!("Name {e}."));
            let page = customer_page(&state, &req, &admin, env, cust, errors).await?;
            render_invalid(&page)
        }
    }
}
