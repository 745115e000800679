//! Downloads: the product files the customer's assigned or active licenses
//! entitle them to (honouring each license's version eligibility), each behind
//! a signed link that expires after 15 minutes.

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{Duration, Utc};
use uuid::Uuid;

use super::{chrome, my_licenses, render, Me, Mine, PChrome};
use crate::app::files::{human_size, FileMeta};
use crate::app::links::LinkError;
use crate::app::AppState;
use crate::domain::LicenseStatus;
use crate::portal::PageError;

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

/// Files the customer may download now, with the product they belong to.
fn entitled(state: &AppState, mine: &[Mine]) -> Vec<(FileMeta, String)> {
    let usable: Vec<&Mine> = mine
        .iter()
        .filter(|m| {
            matches!(
                m.license.status,
                LicenseStatus::Active | LicenseStatus::Assigned
            )
        })
        .collect();
    state
        .portal
        .files
        .all()
        .into_iter()
        .filter_map(|f| {
            usable
                .iter()
                .find(|m| {
                    m.env == f.env
                        && m.license.product_id == f.product_id
                        && m.license.eligibility.allows(&f.version, f.released)
                })
                .map(|m| (f.clone(), m.product_name.clone()))
        })
        .collect()
}

fn mime_octet() -> actix_web::mime::Mime {
    actix_web::mime::APPLICATION_OCTET_STREAM
}

fn file_path(id: Uuid) -> String {
    format!("/portal/downloads/{id}")
}

pub async fn list(
    me: Me,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let mine = my_licenses(&state, &me).await?;
    let valid = Duration::seconds(state.config.portal.download_link_secs.clamp(1, 86_400) as i64);
    let exp = (Utc::now() + valid).timestamp();
    let mut groups: BTreeMap<(String, &'static str), Vec<FileRow>> = BTreeMap::new();
    for (f, product) in entitled(&state, &mine) {
        let path = file_path(f.id);
        let sig = state.portal.links.download_sig(&path, me.customer.id, exp);
        groups
            .entry((product, f.env.as_str()))
            .or_default()
            .push(FileRow {
                url: format!("{path}?exp={exp}&sig={sig}"),
                title: f.title,
                file_name: f.file_name,
                version: f.version,
                channel: f.channel,
                released: f.released.to_string(),
                size: human_size(f.size),
                sha256: f.sha256,
            });
    }
    render(
        &req,
        &DownloadsPage {
            c: chrome(&req, &me, "Downloads", "downloads"),
            link_valid: match state.config.portal.download_link_secs {
                s if s % 60 == 0 => format!("{} minutes", s / 60),
                s => format!("{s} seconds"),
            },
            blocked: mine
                .iter()
                .filter(|m| {
                    !matches!(
                        m.license.status,
                        LicenseStatus::Active | LicenseStatus::Assigned
                    )
                })
                .count(),
            groups: groups
                .into_iter()
                .map(|((product, env), files)| ProductFiles {
                    product,
                    env,
                    files,
                })
                .collect(),
        },
    )
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
    let p = web::Query::<LinkParams>::from_query(req.query_string())
        .map_err(|_| PageError::Forbidden("This download link is incomplete.".into()))?;
    let (Some(exp), Some(sig)) = (p.exp, p.sig.as_deref()) else {
        return Err(PageError::Forbidden(
            "This download link is incomplete.".into(),
        ));
    };
    let id: Uuid = path
        .parse()
        .map_err(|_| PageError::NotFound("No such file.".into()))?;
    match state
        .portal
        .links
        .check_download(&file_path(id), me.customer.id, exp, sig, Utc::now())
    {
        Ok(()) => {}
        Err(LinkError::Expired) => {
            return Err(PageError::Gone(
                "This download link has expired (links work for 15 minutes). Go back to Downloads and click the file again.".into(),
            ))
        }
        Err(_) => {
            return Err(PageError::Forbidden(
                "This download link is not valid for your account.".into(),
            ))
        }
    }
    let mine = my_licenses(&state, &me).await?;
    let allowed = entitled(&state, &mine).into_iter().any(|(f, _)| f.id == id);
    let (meta, data) = state
        .portal
        .files
        .get(id)
        .filter(|_| allowed)
        .ok_or_else(|| PageError::NotFound("No such file among your downloads.".into()))?;
    // Streamed from disk in chunks, with Range requests answered (resumable
    // downloads); never read whole into memory (security item 6).
    let file = actix_files::NamedFile::open_async(&data)
        .await
        .map_err(|e| PageError::Internal(format!("file {id}: {e}")))?
        .set_content_type(mime_octet())
        .set_content_disposition(header::ContentDisposition {
            disposition: header::DispositionType::Attachment,
            parameters: vec![header::DispositionParam::Filename(
                meta.file_name.replace(['"', '\\', '\r', '\n'], "_"),
            )],
        })
        .use_last_modified(true);
    tracing::info!(file = %id, customer = %me.customer.id, "download");
    let mut resp = file.into_response(&req);
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    if !meta.sha256.is_empty() {
        if let Ok(v) = header::HeaderValue::from_str(&format!("sha-256={}", meta.sha256)) {
            resp.headers_mut()
                .insert(header::HeaderName::from_static("x-checksum-sha256"), v);
        }
    }
    Ok(resp)
}
