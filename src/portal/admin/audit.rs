//! The audit log (`templates/admin/audit.html`): time, level, action,
//! resource, who, details; filters by license, action (or family), who and a
//! date range; paging back through all of it; the filtered set as CSV.

use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::NaiveDate;
use serde::Deserialize;

use super::{chrome, render, AdminView, Chrome};
use crate::app::audit::{cursor_text, export_csv, page, parse_cursor, AuditFilter};
use crate::app::format;
use crate::app::AppState;
use crate::domain::audit::{actor_kind, level, resource};
use crate::portal::PageError;

/// Entries per page.
const PER_PAGE: usize = 100;

pub struct AuditRow {
    pub at: String,
    pub level: &'static str,
    pub who_kind: &'static str,
    pub who: String,
    pub action: String,
    pub resource: String,
    pub key_q: String,
    pub before: String,
    pub after: String,
    pub detail: String,
    /// The client address of the request that made the change (empty: none).
    pub ip: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Params {
    // Read by `env_of`; named here so `deny_unknown_fields` accepts it.
    #[allow(dead_code)]
    env: Option<String>,
    license: Option<String>,
    action: Option<String>,
    actor: Option<String>,
    from: Option<String>,
    to: Option<String>,
    before: Option<String>,
}

impl Params {
    /// The filter, and the page's start; a date or cursor that does not read is a 400.
    fn filter(&self) -> Result<(AuditFilter, Option<crate::store::AuditCursor>), PageError> {
        let date = |name: &str, v: &Option<String>| -> Result<Option<NaiveDate>, PageError> {
            match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                None => Ok(None),
                Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
                    .map(Some)
                    .map_err(|_| {
                        PageError::BadRequest(format!("{name} must be a date (YYYY-MM-DD)"))
                    }),
            }
        };
        let f = AuditFilter {
            license: self.license.clone().unwrap_or_default().trim().to_owned(),
            action: self.action.clone().unwrap_or_default().trim().to_owned(),
            actor: self.actor.clone().unwrap_or_default().trim().to_owned(),
            from: date("from", &self.from)?,
            to: date("to", &self.to)?,
        };
        let before = match self.before.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(
                parse_cursor(s).ok_or_else(|| PageError::BadRequest("bad page position".into()))?,
            ),
        };
        Ok((f, before))
    }
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    c: Chrome,
    rows: Vec<AuditRow>,
    license: String,
    action: String,
    actor: String,
    from: String,
    to: String,
    actions: Vec<&'static str>,
    /// The filters as a query string (without the page position).
    query: String,
    older: String,
    paged: bool,
}

/// Actions and families the filter offers (others can still be typed in the URL).
const ACTIONS: [&str; 30] = [
    "license.",
    "activation.",
    "product.",
    "customer.",
    "admin.",
    "generator.",
    "file.",
    "settings.",
    "api_key.",
    "webhook.",
    "signing_key.",
    "license.created",
    "license.assign",
    "license.suspend",
    "license.unsuspend",
    "license.inactivate",
    "license.reactivate",
    "license.expire",
    "license.renew",
    "license.revoke",
    "license.edited",
    "license.deleted",
    "license.key_mailed",
    "activation.created",
    "activation.deactivated",
    "product.created",
    "product.updated",
    "product.revoke_all",
    "settings.updated",
    "signing_key.rotated",
];

fn params(req: &actix_web::HttpRequest) -> Result<Params, PageError> {
    Ok(web::Query::<Params>::from_query(req.query_string())
        .map_err(|e| PageError::BadRequest(format!("bad query string: {e}")))?
        .into_inner())
}

fn row(e: crate::domain::AuditEntry) -> AuditRow {
    let (who_kind, who) = actor_kind(&e.actor);
    AuditRow {
        at: format::time(e.at),
        level: level(&e.action),
        who_kind,
        who: who.to_owned(),
        resource: resource(&e),
        key_q: e
            .license_key
            .as_deref()
            .map(format::url_encode)
            .unwrap_or_default(),
        action: e.action,
        before: e.before.unwrap_or_default(),
        after: e.after.unwrap_or_default(),
        detail: e.detail,
        ip: e.ip.unwrap_or_default(),
    }
}

pub async fn list(
    AdminView { admin, req, env }: AdminView,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let p = params(&req)?;
    let (f, before) = p.filter()?;
    let (entries, next) = page(state.store(), env, &f, before, PER_PAGE).await?;
    let day = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    let query = [
        ("env", env.to_string()),
        ("license", f.license.clone()),
        ("action", f.action.clone()),
        ("actor", f.actor.clone()),
        ("from", day(f.from)),
        ("to", day(f.to)),
    ]
    .iter()
    .filter(|(k, v)| *k == "env" || !v.is_empty())
    .map(|(k, v)| format!("{k}={}", format::url_encode(v)))
    .collect::<Vec<_>>()
    .join("&");
    render(
        &req,
        &AuditPage {
            c: chrome(&req, &admin, "Audit Log", "audit", env),
            rows: entries.into_iter().map(row).collect(),
            older: next.map(|c| cursor_text(&c)).unwrap_or_default(),
            paged: before.is_some(),
            license: f.license,
            action: f.action,
            actor: f.actor,
            from: day(f.from),
            to: day(f.to),
            actions: ACTIONS.to_vec(),
            query,
        },
    )
}

/// The filtered log as CSV, streamed (every entry, newest first).
pub async fn export(
    AdminView { req, env, .. }: AdminView,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let (f, _) = params(&req)?.filter()?;
    let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
    let stream = export_csv(&state.engine, env, f);
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"audit-{env}-{stamp}.csv\""),
        ))
        .streaming(stream))
}
