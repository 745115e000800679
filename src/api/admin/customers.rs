//! `/admin/api/v1/customers`: global customer accounts.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::views::CustomerView;
use super::{AdminToken, Body};
use crate::app::customer_admin::{self, CustomerEdit};
use crate::app::customers::CustomerFilter;
use crate::app::customers::{self, NewCustomer};
use crate::app::AppState;
use crate::domain::customer::CustomerStatus;
use crate::error::ApiError;

/// The JSON body a request sends (unknown fields refused).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCustomerBody {
    email: Option<String>,
    name: Option<String>,
    password: Option<String>,
}

#[utoipa::path(
    post,
    path = "/admin/api/v1/customers",
    tag = "customers",
    operation_id = "create_customer",
    summary = "Create a customer account (mails nothing; invite from the portal).",
    request_body = NewCustomerBody,
    responses((status = 201, description = "the customer", body = crate::app::views::CustomerView)),
    security(("bearer" = []))
)]
pub async fn create(
    t: AdminToken,
    state: web::Data<AppState>,
    Body(n): Body<NewCustomerBody>,
) -> Result<HttpResponse, ApiError> {
    let n = NewCustomer {
        email: n
            .email
            .ok_or_else(|| ApiError::field("email", "email is required"))?,
        name: n.name.unwrap_or_default(),
        password: n.password,
        by: t.actor(),
    };
    let customer =
        customers::create(&state.engine, &state.passwords, &state.services.webhooks, n).await?;
    Ok(HttpResponse::Created().json(CustomerView::from(&customer)))
}

/// `?q=&status=&page=&per_page=`: without `page` every match is listed.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Part of the name or email, any case.
    q: Option<String>,
    /// `active`, `invited` or `disabled`.
    status: Option<String>,
    /// 1-based; with it, at most `per_page` (default 50, at most 1000) are listed.
    page: Option<usize>,
    per_page: Option<usize>,
}

#[utoipa::path(
    get,
    path = "/admin/api/v1/customers",
    tag = "customers",
    operation_id = "list_customers",
    summary = "Customers by name, filtered and paged; `X-Total-Count` says how many match.",
    params(ListQuery),
    responses((status = 200, description = "the customers", body = Vec<crate::app::views::CustomerView>)),
    security(("bearer" = []))
)]
pub async fn list(
    _: AdminToken,
    state: web::Data<AppState>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(CustomerStatus::parse(s).ok_or_else(|| {
            ApiError::field("status", "status must be active, invited or disabled")
        })?),
    };
    let f = CustomerFilter {
        q: q.q.clone().unwrap_or_default(),
        status,
    };
    let (page, per_page) = match q.page {
        Some(p) => (p.max(1), q.per_page.unwrap_or(50).clamp(1, 1000)),
        None => (1, usize::MAX),
    };
    let found = customers::page(&state.engine, &f, page, per_page).await?;
    let views: Vec<CustomerView> = found.items.iter().map(CustomerView::from).collect();
    Ok(HttpResponse::Ok()
        .insert_header(("X-Total-Count", found.total.to_string()))
        .json(views))
}

/// What a PATCH changes (absent fields stay; unknown fields refused).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerPatch {
    name: Option<String>,
    email: Option<String>,
    /// `true` stops sign-in (sessions end), `false` allows it again.
    disabled: Option<bool>,
}

#[utoipa::path(
    patch,
    path = "/admin/api/v1/customers/{id}",
    tag = "customers",
    operation_id = "update_customer",
    summary = "Rename a customer, change their email, or disable / enable sign-in.",
    params(("id" = uuid::Uuid, Path, description = "customer id")),
    request_body = CustomerPatch,
    responses((status = 200, description = "the customer", body = crate::app::views::CustomerView)),
    security(("bearer" = []))
)]
pub async fn update(
    t: AdminToken,
    state: web::Data<AppState>,
    id: web::Path<String>,
    Body(p): Body<CustomerPatch>,
) -> Result<HttpResponse, ApiError> {
    let id = super::uuid("id", &id)?;
    let e = CustomerEdit {
        name: p.name,
        email: p.email,
        disabled: p.disabled,
    };
    let sessions = &state.services.customer_sessions;
    let c = customer_admin::edit(&state.engine, sessions, id, e, &t.actor()).await?;
    Ok(HttpResponse::Ok().json(CustomerView::from(&c)))
}

#[utoipa::path(
    delete,
    path = "/admin/api/v1/customers/{id}",
    tag = "customers",
    operation_id = "delete_customer",
    summary = "Delete a customer; their licenses stay, unassigned.",
    params(("id" = uuid::Uuid, Path, description = "customer id")),
    responses((status = 200, description = "how many licenses were unassigned", body = serde_json::Value)),
    security(("bearer" = []))
)]
pub async fn delete(
    t: AdminToken,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = super::uuid("id", &id)?;
    let sessions = &state.services.customer_sessions;
    let n = customer_admin::delete(&state.engine, sessions, id, &t.actor()).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "deleted": id, "licenses_unassigned": n })))
}

#[utoipa::path(
    get,
    path = "/admin/api/v1/customers/{id}",
    tag = "customers",
    operation_id = "get_customer",
    summary = "One customer.",
    params(("id" = uuid::Uuid, Path, description = "customer id")),
    responses((status = 200, description = "the customer", body = crate::app::views::CustomerView)),
    security(("bearer" = []))
)]
pub async fn get(
    _: AdminToken,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = super::uuid("id", &id)?;
    let c = customers::get(state.store(), id).await?;
    Ok(HttpResponse::Ok().json(CustomerView::from(&c)))
}
