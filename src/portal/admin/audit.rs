//! The audit log: every state change, who, when, before and after; filter by
//! license and by action.

use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::{chrome, render, AdminView, Chrome};
use crate::app::format;
use crate::app::AppState;
use crate::portal::PageError;

/// Newest entries shown.
const LIMIT: usize = 500;

pub struct AuditRow {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub key: String,
    pub key_q: String,
    pub before: String,
    pub after: String,
    pub detail: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Params {
    // Read by `env_of`; named here so `deny_unknown_fields` accepts it.
    #[allow(dead_code)]
    env: Option<String>,
    license: Option<String>,
    action: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    c: Chrome,
    rows: Vec<AuditRow>,
    license: String,
    action: String,
    actions: Vec<&'static str>,
}

/// Actions the filter offers (others can still be typed in the URL).
const ACTIONS: [&str; 17] = [
    "license.created",
    "license.assign",
    "license.activate",
    "license.suspend",
    "license.unsuspend",
    "license.inactivate",
    "license.reactivate",
    "license.expire",
    "license.renew",
    "license.revoke",
    "license.edited",
    "license.deleted",
    "activation.created",
    "activation.deactivated",
    "product.created",
    "product.updated",
    "settings.updated",
];

pub async fn list(
    AdminView { admin, req, env }: AdminView,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let p = web::Query::<Params>::from_query(req.query_string())
        .map_err(|e| PageError::BadRequest(format!("bad query string: {e}")))?
        .into_inner();
    let license = p.license.unwrap_or_default().trim().to_owned();
    let action = p.action.unwrap_or_default().trim().to_owned();
    let entries = crate::app::audit::list(state.store(), env, &license, &action, LIMIT).await?;
    let rows = entries
        .into_iter()
        .map(|e| AuditRow {
            at: format::time(e.at),
            actor: e.actor,
            action: e.action,
            key_q: e
                .license_key
                .as_deref()
                .map(format::url_encode)
                .unwrap_or_default(),
            key: e.license_key.unwrap_or_default(),
            before: e.before.unwrap_or_default(),
            after: e.after.unwrap_or_default(),
            detail: e.detail,
        })
        .collect();
    render(
        &req,
        &AuditPage {
            c: chrome(&req, &admin, "Audit Log", "audit", env),
            rows,
            license,
            action,
            actions: ACTIONS.to_vec(),
        },
    )
}
