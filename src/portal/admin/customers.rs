//! Customers: the paged, searchable list with status and last sign-in, the
//! create form, and the picker's JSON (customer_page.rs is one customer).

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::Utc;

use super::licenses::{pager, PageLink};
use super::{chrome, redirect, render, render_invalid, Admin, AdminView, Chrome, ManageForm};
use crate::app::customers::CustomerFilter;
use crate::app::customers::{self, NewCustomer};
use crate::app::error::AppError;
use crate::app::format;
use crate::app::AppState;
use crate::domain::customer::CustomerStatus;
use crate::domain::Environment;
use crate::portal::forms::FieldErrors;
use crate::portal::page::query_param;
use crate::portal::PageError;

pub struct CustomerRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub status: &'static str,
    pub licenses: usize,
    pub last_sign_in: String,
    pub joined: String,
}

/// Rows per page of the Customers page.
const PER_PAGE: usize = 50;

#[derive(Template)]
#[template(path = "admin/customers.html")]
struct CustomersPage {
    c: Chrome,
    rows: Vec<CustomerRow>,
    q: String,
    status: String,
    statuses: [&'static str; 3],
    total: usize,
    first: usize,
    pages: Vec<PageLink>,
    prev: String,
    next: String,
    name: String,
    email: String,
    errors: FieldErrors,
}

/// What the list shows: search, status and page from the query string.
struct ListParams {
    q: String,
    status: String,
    page: usize,
}

impl ListParams {
    fn of(req: &HttpRequest) -> ListParams {
        ListParams {
            q: query_param(req, "q").chars().take(200).collect(),
            status: query_param(req, "status"),
            page: query_param(req, "page").parse().unwrap_or(1).max(1),
        }
    }

    fn url(&self, env: Environment, page: usize) -> String {
        let mut url = format!("/admin/customers?env={env}");
        for (k, v) in [("q", &self.q), ("status", &self.status)] {
            if !v.is_empty() {
                url.push_str(&format!("&{k}={}", format::url_encode(v)));
            }
        }
        if page > 1 {
            url.push_str(&format!("&page={page}"));
        }
        url
    }
}

async fn list_page(
    state: &AppState,
    req: &HttpRequest,
    admin: &Admin,
    env: Environment,
    p: ListParams,
    form: (String, String, FieldErrors),
) -> Result<CustomersPage, PageError> {
    let status = match p.status.as_str() {
        "" => None,
        s => Some(
            CustomerStatus::parse(s)
                .ok_or_else(|| PageError::BadRequest(format!("no status “{s}”")))?,
        ),
    };
    let f = CustomerFilter {
        q: p.q.clone(),
        status,
    };
    let found = customers::page(&state.engine, &f, p.page, PER_PAGE).await?;
    state.engine.catalog().wait_ready().await;
    let st = state
        .engine
        .catalog()
        .stats_off_thread(env, Utc::now())
        .await?;
    let rows = found
        .items
        .into_iter()
        .map(|c| CustomerRow {
            id: c.id.to_string(),
            licenses: st.by_customer.get(&c.id).copied().unwrap_or(0),
            status: c.status().as_str(),
            last_sign_in: c.last_sign_in.map(format::time).unwrap_or_default(),
            joined: format::date(c.created_at),
            name: c.name,
            email: c.email,
        })
        .collect();
    let page_count = found.total.div_ceil(PER_PAGE).max(1);
    let page = p.page.min(page_count);
    let link = |n: usize| if n == 0 { String::new() } else { p.url(env, n) };
    Ok(CustomersPage {
        c: chrome(req, admin, "Customers", "customers", env),
        rows,
        total: found.total,
        first: (page - 1) * PER_PAGE + 1,
        pages: pager(page as u32, page_count as u32, |n| p.url(env, n as usize)),
        prev: link(page.saturating_sub(1)),
        next: link(if page < page_count { page + 1 } else { 0 }),
        statuses: CustomerStatus::ALL.map(CustomerStatus::as_str),
        q: p.q,
        status: p.status,
        name: form.0,
        email: form.1,
        errors: form.2,
    })
}

pub async fn list(
    AdminView { admin, req, env }: AdminView,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let p = ListParams::of(&req);
    let blank = (String::new(), String::new(), FieldErrors::default());
    render(&req, &list_page(&state, &req, &admin, env, p, blank).await?)
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
        match customers::create(&state.engine, &state.passwords, &state.services.webhooks, n).await
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
    let p = ListParams::of(&req);
    let kept = (form.get("name").into(), form.get("email").into(), errors);
    render_invalid(&list_page(&state, &req, &admin, env, p, kept).await?)
}

/// One picker choice.
#[derive(serde::Serialize)]
struct Choice {
    id: String,
    label: String,
    email: String,
}

/// `/admin/customers/pick.json?q=`: at most ten customers for a picker
/// (exact email first), searched in the node's customer book.
pub async fn pick(
    AdminView { req, .. }: AdminView,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let q: String = query_param(&req, "q").chars().take(200).collect();
    let found = customers::pick(&state.engine, &q).await?;
    let choices: Vec<Choice> = found
        .into_iter()
        .map(|c| Choice {
            id: c.id.to_string(),
            label: format!("{} <{}>", c.label(), c.email),
            email: c.email,
        })
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(choices))
}
