//! `/admin/api/v1/customers`: global customer accounts.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use uuid::Uuid;

use super::views::CustomerView;
use super::{AdminToken, Body};
use crate::app::customers::{self, NewCustomer};
use crate::app::AppState;
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
        customers::create(state.store(), &state.passwords, &state.services.webhooks, n).await?;
    Ok(HttpResponse::Created().json(CustomerView::from(&customer)))
}

#[utoipa::path(
    get,
    path = "/admin/api/v1/customers",
    tag = "customers",
    operation_id = "list_customers",
    summary = "Every customer, oldest first.",
    responses((status = 200, description = "the customers", body = Vec<crate::app::views::CustomerView>)),
    security(("bearer" = []))
)]
pub async fn list(_: AdminToken, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let all = customers::list(state.store()).await?;
    let views: Vec<CustomerView> = all.iter().map(CustomerView::from).collect();
    Ok(HttpResponse::Ok().json(views))
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
    let id: Uuid = id
        .parse()
        .map_err(|_| ApiError::field("id", "id must be a UUID"))?;
    let c = customers::get(state.store(), id).await?;
    Ok(HttpResponse::Ok().json(CustomerView::from(&c)))
}
