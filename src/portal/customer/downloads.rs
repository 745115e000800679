//! Downloads (downloads.html): the product files the customer's usable
//! licenses entitle them to (honouring each license's version eligibility),
//! each behind a signed link that expires after `portal.download_link_secs`.

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{Duration, Utc};
use uuid::Uuid;

use super::{chrome, render, Me, PChrome};
use crate::app::account;
use crate::app::files::{human_size, FileMeta};
use crate::app::links::LinkError;
use crate::app::AppState;
use crate::portal::PageError;

/// One file as the Downloads page lists it.
pub struct FileRow {
    pub title: String,
    pub file_name: String,
    pub version: String,
    pub channel: String,
    pub released: String,
    pub size: String,
    pub url: String,
    /// Hex SHA-256, for the customer to check the download ("" when unknown).
    pub sha256: String,
}

/// The files of one product in one environment.
pub struct ProductFiles {
    pub product: String,
    pub env: &'static str,
    pub files: Vec<FileRow>,
}

#[derive(Template)]
#[template(path = "customer/downloads.html")]
struct DownloadsPage {
    c: PChrome,
    groups: Vec<ProductFiles>,
    blocked: usize,
    link_valid: String,
}

fn file_path(id: Uuid) -> String {
    format!("/portal/downloads/{id}")
}

/// The entitled files grouped by product, each with a link signed for this
/// customer until `exp`.
pub async fn list(
    me: Me,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let d = account::downloads(me.owner(&state), &state.services.files).await?;
    let secs = state.config.portal.download_link_secs;
    let exp = (Utc::now() + Duration::seconds(secs.clamp(1, 86_400) as i64)).timestamp();
    let mut groups: BTreeMap<(String, &'static str), Vec<FileRow>> = BTreeMap::new();
    for (f, product) in d.files {
        let path = file_path(f.id);
        let sig = state
            .services
            .links
            .download_sig(&path, me.customer.id, exp);
        let url = format!("{path}?exp={exp}&sig={sig}");
        groups
            .entry((product, f.env.as_str()))
            .or_default()
            .push(file_row(f, url));
    }
    let page = DownloadsPage {
        c: chrome(&req, &me, "Downloads", "downloads"),
        link_valid: crate::app::format::span(secs),
        blocked: d.blocked,
        groups: groups
            .into_iter()
            .map(|((product, env), files)| ProductFiles {
                product,
                env,
                files,
            })
            .collect(),
    };
    render(&req, &page)
}

fn file_row(f: FileMeta, url: String) -> FileRow {
    FileRow {
        url,
        title: f.title,
        file_name: f.file_name,
        version: f.version,
        channel: f.channel,
        released: f.released.to_string(),
        size: human_size(f.size),
        sha256: f.sha256,
    }
}

#[derive(serde::Deserialize)]
struct LinkParams {
    exp: Option<i64>,
    sig: Option<String>,
}

/// Serves a file when the link is signed for this customer, unexpired, and the
/// customer is still entitled to it.
pub async fn download(
    me: Me,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let id = check_link(&state, &me, &req, &path)?;
    let meta = account::entitled_file(me.owner(&state), &state.services.files, id).await?;
    let resp = send_file(&req, &state, &meta)?;
    tracing::info!(file = %id, customer = %me.customer.id, "download");
    Ok(resp)
}

/// The file a download link names, when the link is complete, signed for this
/// customer and unexpired.
fn check_link(state: &AppState, me: &Me, req: &HttpRequest, path: &str) -> Result<Uuid, PageError> {
    let incomplete = || PageError::Forbidden("This download link is incomplete.".into());
    let p = web::Query::<LinkParams>::from_query(req.query_string()).map_err(|_| incomplete())?;
    let (Some(exp), Some(sig)) = (p.exp, p.sig.as_deref()) else {
        return Err(incomplete());
    };
    let id: Uuid = path
        .parse()
        .map_err(|_| PageError::NotFound("No such file.".into()))?;
    let now = Utc::now();
    match state
        .services
        .links
        .check_download(&file_path(id), me.customer.id, exp, sig, now)
    {
        Ok(()) => Ok(id),
        Err(LinkError::Expired) => Err(PageError::Gone(format!(
            "This download link has expired (links work for {}). Go back to Downloads and click the file again.",
            crate::app::format::span(state.config.portal.download_link_secs)
        ))),
        Err(_) => Err(PageError::Forbidden(
            "This download link is not valid for your account.".into(),
        )),
    }
}

/// The file as an attachment, streamed from the store chunk by chunk with a
/// single Range request answered (resumable downloads), never read whole into
/// memory (security item 6), uncached, with its checksum when known.
fn send_file(
    req: &HttpRequest,
    state: &AppState,
    meta: &FileMeta,
) -> Result<HttpResponse, PageError> {
    let range = req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok());
    let size = meta.size;
    let mut resp = match crate::domain::file::byte_range(range, size) {
        Err(()) => {
            return Ok(HttpResponse::RangeNotSatisfiable()
                .insert_header((header::CONTENT_RANGE, format!("bytes */{size}")))
                .finish())
        }
        Ok(None) => HttpResponse::Ok(),
        Ok(Some((start, end))) => {
            let mut r = HttpResponse::PartialContent();
            r.insert_header((header::CONTENT_RANGE, format!("bytes {start}-{end}/{size}")));
            r
        }
    };
    let (start, end) = crate::domain::file::byte_range(range, size)
        .ok()
        .flatten()
        .unwrap_or((0, size.saturating_sub(1)));
    let len = if size == 0 { 0 } else { end - start + 1 };
    let name = meta.file_name.replace(['"', '\\', '\r', '\n'], "_");
    resp.content_type(actix_web::mime::APPLICATION_OCTET_STREAM)
        .insert_header(header::ContentDisposition {
            disposition: header::DispositionType::Attachment,
            parameters: vec![header::DispositionParam::Filename(name)],
        })
        .insert_header((header::ACCEPT_RANGES, "bytes"))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    if !meta.sha256.is_empty() {
        resp.insert_header(("x-checksum-sha256", format!("sha-256={}", meta.sha256)));
    }
    let body = state.services.files.bytes(meta, start, end);
    Ok(resp.no_chunking(len).streaming(body))
}
