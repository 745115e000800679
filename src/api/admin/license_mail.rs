//! Key mails of the admin API: the key mailed to a license's new owner after
//! a create or an assignment (when the environment's setting says so), and
//! `POST …/licenses/{key}/resend-key`.

use actix_web::{web, HttpResponse};
use uuid::Uuid;

use super::{AdminToken, LicenseAt};
use crate::app::licenses;
use crate::app::AppState;
use crate::error::ApiError;

/// The customer with `email`, made and mailed an invitation when there is none.
pub(super) async fn customer_for(state: &AppState, email: &str) -> Result<Uuid, ApiError> {
    let mailer = crate::app::account::LinkMailer {
        links: &state.services.links,
        outbox: &state.services.outbox,
        base: state.config.public_base(),
    };
    let (c, _) = crate::app::customer_invites::find_or_invite(
        &state.engine,
        &state.passwords,
        &state.services.webhooks,
        &mailer,
        email,
    )
    .await?;
    Ok(c.id)
}

/// Mails the key to a license's new owner (when the environment's setting says so).
pub(super) async fn mail_new_owner(
    state: &AppState,
    env: crate::domain::Environment,
    before: Option<Uuid>,
    l: &crate::domain::License,
    who: &str,
) {
    let outbox = &state.services.outbox;
    let base = state.config.public_base();
    crate::app::key_mail::after_owner_change(&state.engine, outbox, base, env, before, l, who)
        .await;
}

#[utoipa::path(
    post,
    path = "/admin/api/v1/{env}/licenses/{key}/resend-key",
    tag = "licenses",
    operation_id = "resend_license_key",
    summary = "Mail the key to the license's customer again (409 when it has none).",
    params(("env" = crate::domain::Environment, Path, description = "production or staging"), ("key" = String, Path, description = "the license key")),
    responses((status = 202, description = "the mail is queued", body = crate::api::openapi::schemas::KeyMailed)),
    security(("bearer" = []))
)]
pub async fn resend_key(
    t: AdminToken,
    state: web::Data<AppState>,
    LicenseAt { env, key }: LicenseAt,
) -> Result<HttpResponse, ApiError> {
    let l = licenses::get(&state.engine, env, &key).await?;
    let to = crate::app::key_mail::send(
        &state.engine,
        &state.services.outbox,
        state.config.public_base(),
        env,
        &l,
        crate::app::key_mail::Why::Resent,
        &t.actor(),
    )
    .await?
    .ok_or_else(|| ApiError::Conflict("the license has no customer to mail".into()))?;
    Ok(HttpResponse::Accepted().json(serde_json::json!({ "mailed_to": to })))
}
