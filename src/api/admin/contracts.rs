//! `/admin/api/v1/contracts`: how many licenses of one product an API key may
//! create, with the usage (owner token only, see `access`).

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{AdminToken, Body};
use crate::app::contracts::{self, NewContract};
use crate::app::AppState;
use crate::domain::contract::Contract;
use crate::domain::Environment;
use crate::error::ApiError;

/// The JSON body of a new contract (unknown fields refused).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewContractBody {
    api_key_id: Option<Uuid>,
    product_id: Option<Uuid>,
    environment: Option<String>,
    limit: Option<u64>,
}

/// A contract as the API shows it.
#[derive(Serialize)]
pub struct ContractView<'a> {
    #[serde(flatten)]
    contract: &'a Contract,
    remaining: u64,
}

fn view(c: &Contract) -> ContractView<'_> {
    ContractView {
        contract: c,
        remaining: c.remaining(),
    }
}

#[utoipa::path(
    post,
    path = "/admin/api/v1/contracts",
    tag = "api-keys",
    operation_id = "create_contract",
    summary = "Limit the licenses one API key may create for one product.",
    request_body = NewContractBody,
    responses((status = 201, description = "the contract", body = crate::api::openapi::schemas::ContractDoc)),
    security(("bearer" = []))
)]
pub async fn create(
    t: AdminToken,
    state: web::Data<AppState>,
    Body(b): Body<NewContractBody>,
) -> Result<HttpResponse, ApiError> {
    let environment = match b.environment.as_deref() {
        None => Environment::Production,
        Some(e) => e.parse().map_err(|_| {
            ApiError::field("environment", "environment must be production or staging")
        })?,
    };
    let n = NewContract {
        api_key_id: b
            .api_key_id
            .ok_or_else(|| ApiError::field("api_key_id", "api_key_id is required"))?,
        product_id: b
            .product_id
            .ok_or_else(|| ApiError::field("product_id", "product_id is required"))?,
        environment,
        limit: b
            .limit
            .ok_or_else(|| ApiError::field("limit", "limit is required"))?,
    };
    let c = contracts::create(state.store(), n, &t.actor()).await?;
    Ok(HttpResponse::Created().json(view(&c)))
}

#[utoipa::path(
    get,
    path = "/admin/api/v1/contracts",
    tag = "api-keys",
    operation_id = "list_contracts",
    summary = "Every contract with its usage.",
    responses((status = 200, description = "the contracts", body = Vec<crate::api::openapi::schemas::ContractDoc>)),
    security(("bearer" = []))
)]
pub async fn list(_: AdminToken, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let all = contracts::list(state.store()).await?;
    let views: Vec<ContractView> = all.iter().map(view).collect();
    Ok(HttpResponse::Ok().json(views))
}

#[utoipa::path(
    delete,
    path = "/admin/api/v1/contracts/{id}",
    tag = "api-keys",
    operation_id = "delete_contract",
    summary = "Remove a contract.",
    params(("id" = uuid::Uuid, Path, description = "contract id")),
    responses((status = 204, description = "deleted")),
    security(("bearer" = []))
)]
pub async fn delete(
    t: AdminToken,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id: Uuid = id
        .parse()
        .map_err(|_| ApiError::field("id", "id must be a UUID"))?;
    contracts::delete(state.store(), id, &t.actor()).await?;
    Ok(HttpResponse::NoContent().finish())
}
