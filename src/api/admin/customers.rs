//! `/admin/api/v1/customers`: global customer accounts.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use serde::Deserialize;
use uuid::Uuid;

use super::views::CustomerView;
use super::{json_body, AdminToken};
use crate::app::AppState;
use crate::crypto::password;
use crate::domain::customer::normalize_email;
use crate::domain::Customer;
use crate::error::ApiError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewCustomer {
    email: Option<String>,
    name: Option<String>,
    password: Option<String>,
}

pub async fn create(
    _: AdminToken,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let n: NewCustomer = json_body(&state, &req, body).await?;
    let email = n
        .email
        .ok_or_else(|| ApiError::field("email", "email is required"))?;
    let email =
        normalize_email(&email).map_err(|e| ApiError::field("email", format!("email {e}")))?;
    let name = n.name.unwrap_or_default().trim().to_owned();
    if name.chars().count() > 255 || name.chars().any(char::is_control) {
        return Err(ApiError::field(
            "name",
            "name must be at most 255 printable characters",
        ));
    }
    let password_hash = match n.password {
        Some(p) => {
            password::check_strength(&p)
                .map_err(|e| ApiError::field("password", format!("password {e}")))?;
            Some(
                state
                    .passwords
                    .hash(&p)
                    .await
                    .map_err(|_| ApiError::RateLimited {
                        retry_after_secs: 1,
                    })?
                    .map_err(ApiError::Internal)?,
            )
        }
        None => None,
    };
    let customer = Customer {
        password_hash,
        ..Customer::new(email, name, Utc::now())
    };
    state.engine.store().insert_customer(&customer).await?;
    Ok(HttpResponse::Created().json(CustomerView::from(&customer)))
}

pub async fn list(_: AdminToken, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let all = state.engine.store().list_customers().await?;
    let views: Vec<CustomerView> = all.iter().map(CustomerView::from).collect();
    Ok(HttpResponse::Ok().json(views))
}

pub async fn get(
    _: AdminToken,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id: Uuid = id
        .parse()
        .map_err(|_| ApiError::field("id", "id must be a UUID"))?;
    let c = state
        .engine
        .store()
        .get_customer(id)
        .await?
        .ok_or_else(|| ApiError::NotFound("customer not found".into()))?;
    Ok(HttpResponse::Ok().json(CustomerView::from(&c)))
}
