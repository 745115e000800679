//! Global search (`templates/admin/search.html`): a page that works without
//! script, and the same hits as JSON for the Ctrl/Cmd+K palette.

use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::{chrome, render, AdminView, Chrome};
use crate::app::global_search::{search, Hit, Hits, MIN_CHARS};
use crate::app::AppState;
use crate::portal::PageError;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Params {
    // Read by `env_of`; named here so `deny_unknown_fields` accepts it.
    #[allow(dead_code)]
    env: Option<String>,
    q: Option<String>,
}

fn params(req: &actix_web::HttpRequest) -> Result<String, PageError> {
    let p = web::Query::<Params>::from_query(req.query_string())
        .map_err(|e| PageError::BadRequest(format!("bad query string: {e}")))?;
    Ok(p.q.clone().unwrap_or_default().chars().take(200).collect())
}

#[derive(Template)]
#[template(path = "admin/search.html")]
struct SearchPage {
    c: Chrome,
    q: String,
    groups: Vec<Group>,
    min_chars: usize,
}

/// The hits of one kind, under its heading.
struct Group {
    label: &'static str,
    mono: bool,
    hits: Vec<Hit>,
}

fn groups(h: Hits) -> Vec<Group> {
    [
        ("License keys", true, h.licenses),
        ("Customers", false, h.customers),
        ("Products", false, h.products),
    ]
    .into_iter()
    .filter(|(_, _, hits)| !hits.is_empty())
    .map(|(label, mono, hits)| Group { label, mono, hits })
    .collect()
}

/// The search page.
pub async fn page(
    AdminView { admin, req, env }: AdminView,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let q = params(&req)?;
    let hits = search(&state.engine, env, &q).await?;
    render(
        &req,
        &SearchPage {
            c: chrome(&req, &admin, "Search", "search", env),
            q,
            groups: groups(hits),
            min_chars: MIN_CHARS,
        },
    )
}

/// The same hits as JSON (the palette's live results).
pub async fn json(
    AdminView { req, env, .. }: AdminView,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let q = params(&req)?;
    let hits = search(&state.engine, env, &q).await?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(hits))
}
