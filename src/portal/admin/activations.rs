//! Activations: every device binding of the environment, newest license first,
//! with identifier search, status filter and deactivation; a page reads a
//! bounded number of licenses and the next goes on from there.

use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::{chrome, render, AdminView, Chrome};
use crate::app::devices::{self, DeviceHit, DeviceState};
use crate::app::format;
use crate::app::AppState;
use crate::portal::PageError;

/// Rows per page.
const PER_PAGE: usize = 50;

pub struct ActivationRow {
    pub identifier: String,
    /// The identifier as a query value (the confirm link).
    pub identifier_q: String,
    /// As shown (invisible characters escaped).
    pub shown: String,
    pub kind: &'static str,
    pub key: String,
    pub key_masked: String,
    pub key_q: String,
    pub product: String,
    pub active: bool,
    pub activated: String,
    pub last_seen: String,
    pub ip: String,
}

impl ActivationRow {
    fn new(h: &DeviceHit, product: String) -> ActivationRow {
        let (a, key) = (&h.activation, h.key.as_str());
        ActivationRow {
            identifier: a.identifier.as_str().into(),
            identifier_q: format::url_encode(a.identifier.as_str()),
            shown: a.identifier.shown(),
            kind: a.kind.as_str(),
            key: key.into(),
            key_masked: format::mask_key(key),
            key_q: format::url_encode(key),
            product,
            active: a.is_active(),
            activated: format::time(a.activated_at),
            last_seen: format::time_or_never(a.last_seen),
            ip: a.ip.clone().unwrap_or_default(),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Params {
    // Read by `env_of`; named here so `deny_unknown_fields` accepts it.
    #[allow(dead_code)]
    env: Option<String>,
    q: Option<String>,
    status: Option<String>,
    /// Where the page starts (licenses with devices, newest first).
    from: Option<usize>,
}

#[derive(Template)]
#[template(path = "admin/activations.html")]
struct ActivationsPage {
    c: Chrome,
    rows: Vec<ActivationRow>,
    /// Licenses with devices, and which of them this page covers (1-based).
    licenses: usize,
    first: usize,
    last: usize,
    q: String,
    status: String,
    next: String,
    first_url: String,
    /// This page as a query value, for the confirm page to come back to.
    return_q: String,
}

pub async fn list(
    AdminView { admin, req, env }: AdminView,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let p = web::Query::<Params>::from_query(req.query_string())
        .map_err(|e| PageError::BadRequest(format!("bad query string: {e}")))?
        .into_inner();
    let status = p.status.clone().unwrap_or_default();
    let filter = DeviceState::parse(&status)
        .ok_or_else(|| PageError::BadRequest("status must be active or deactivated".into()))?;
    let products: std::collections::HashMap<_, _> = crate::app::products::list(state.store(), env)
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect();
    let q = p.q.as_deref().unwrap_or("");
    let from = p.from.unwrap_or(0);
    let found = devices::search(&state.engine, env, q, filter, from, PER_PAGE).await?;
    let rows: Vec<ActivationRow> = found
        .hits
        .iter()
        .map(|h| ActivationRow::new(h, products.get(&h.product_id).cloned().unwrap_or_default()))
        .collect();
    let url = |extra: &[(&str, &str)]| {
        let q = p.q.as_deref().unwrap_or("");
        let mut pairs = vec![("env", env.as_str()), ("q", q), ("status", status.as_str())];
        pairs.extend_from_slice(extra);
        format!("/admin/activations?{}", format::query(&pairs))
    };
    let next = found
        .next
        .map(|n| url(&[("from", &n.to_string())]))
        .unwrap_or_default();
    let last = found.next.unwrap_or(found.licenses);
    let here = match from {
        0 => url(&[]),
        n => url(&[("from", &n.to_string())]),
    };
    let return_q = format::url_encode(&here);
    let first_url = if from > 0 { url(&[]) } else { String::new() };
    render(
        &req,
        &ActivationsPage {
            c: chrome(&req, &admin, "Activations", "activations", env),
            return_q,
            rows,
            licenses: found.licenses,
            first: (from + 1).min(last.max(1)),
            last,
            q: p.q.clone().unwrap_or_default(),
            status: status.clone(),
            next,
            first_url,
        },
    )
}
