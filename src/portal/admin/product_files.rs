//! A product's files on the Products page (`templates/admin/products.html`):
//! the list, the multipart upload and removal. The rules (size limit, checksum,
//! description) are `app::product_files`; this file decodes the form and answers.

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use uuid::Uuid;

use super::{form_env, redirect, Admin, ManageForm};
use crate::app::files::{self, FileStore};
use crate::app::product_files::{self, FileDescription, Received};
use crate::app::AppState;
use crate::domain::Environment;
use crate::portal::forms::Form;
use crate::portal::PageError;

/// A product file as the product page lists it.
pub struct FileRow {
    pub id: String,
    pub title: String,
    pub file_name: String,
    pub version: String,
    pub channel: String,
    pub released: String,
    pub size: String,
}

/// The files of a product, newest release first.
pub async fn file_rows(
    files: &FileStore,
    env: Environment,
    product_id: Uuid,
) -> Result<Vec<FileRow>, PageError> {
    Ok(files
        .of_product(env, product_id)
        .await?
        .into_iter()
        .map(|f| FileRow {
            id: f.id.to_string(),
            title: f.title,
            file_name: f.file_name,
            version: f.version,
            channel: f.channel,
            released: f.released.to_string(),
            size: files::human_size(f.size),
        })
        .collect())
}

/// Text fields an upload form may carry, and the size of each.
const MAX_UPLOAD_FIELDS: usize = 16;
const MAX_FIELD_BYTES: usize = 16 * 1024;

fn upload_error(e: impl std::fmt::Display) -> PageError {
    PageError::BadRequest(format!("could not read the upload: {e}"))
}

/// Reads one small text field whole (bounded).
async fn read_field(field: &mut actix_multipart::Field, name: &str) -> Result<String, PageError> {
    let mut buf = Vec::new();
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(upload_error)?;
        if buf.len() + chunk.len() > MAX_FIELD_BYTES {
            return Err(PageError::BadRequest(format!(
                "field “{name}” is larger than {} KiB",
                MAX_FIELD_BYTES / 1024
            )));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&buf).trim().to_owned())
}

/// Reads a multipart upload. Security item 6: the role is checked before any
/// byte is read, the session's CSRF token (a field before the file, as the form
/// sends it) before the file is read, text fields are bounded in number and
/// size, and the file streams into the store's chunks within `portal.max_upload_mb`.
async fn read_upload(
    admin: &Admin,
    state: &AppState,
    mut payload: actix_multipart::Multipart,
) -> Result<(HashMap<String, String>, Option<Received>), PageError> {
    if !admin.user.role.can_manage() {
        return Err(PageError::read_only());
    }
    let limit = state.config.portal.max_upload_mb * 1024 * 1024;
    let mut fields = HashMap::new();
    let mut file: Option<Received> = None;
    while let Some(item) = payload.next().await {
        let mut field = item.map_err(upload_error)?;
        let name = field.name().unwrap_or("").to_owned();
        let file_name = field
            .content_disposition()
            .and_then(|cd| cd.get_filename())
            .map(str::to_owned);
        match file_name {
            Some(f) if name == "file" && file.is_none() => {
                // Nothing of the file is read before the form is known to be ours.
                let form = Form::from_pairs(vec![(
                    "csrf".into(),
                    fields.get("csrf").cloned().unwrap_or_default(),
                )]);
                admin.check_manage(&form)?;
                file = Some(
                    product_files::receive(&state.services.files, &mut field, f, limit).await?,
                );
            }
            Some(_) => return Err(PageError::BadRequest("send one file per upload".into())),
            None => {
                if fields.len() >= MAX_UPLOAD_FIELDS {
                    return Err(PageError::BadRequest("too many form fields".into()));
                }
                let v = read_field(&mut field, &name).await?;
                fields.insert(name, v);
            }
        }
    }
    Ok((fields, file))
}

/// Adds a downloadable file (installer or documentation) to a product.
pub async fn upload(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: actix_multipart::Multipart,
) -> Result<HttpResponse, PageError> {
    let (fields, file) = read_upload(&admin, &state, payload).await?;
    let result = finish_upload(&admin, &state, &req, &path, fields, file.as_ref()).await;
    if let (Err(_), Some(f)) = (&result, &file) {
        f.discard(&state.services.files).await;
    }
    result
}

/// Checks the form's CSRF token and environment (the file's chunks are stored by now),
/// then hands the file and its description to the app.
async fn finish_upload(
    admin: &Admin,
    state: &AppState,
    req: &HttpRequest,
    path: &str,
    fields: HashMap<String, String>,
    file: Option<&Received>,
) -> Result<HttpResponse, PageError> {
    let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
    let form = Form::from_pairs(
        ["csrf", "env"]
            .iter()
            .map(|k| (k.to_string(), get(k)))
            .collect(),
    );
    admin.check_manage(&form)?;
    let env = form_env(&form)?;
    let product_id: Uuid = path
        .parse()
        .map_err(|_| PageError::NotFound("no such product".into()))?;
    let d = FileDescription {
        title: get("title"),
        version: get("version"),
        channel: get("channel"),
        released: get("released"),
    };
    let files = &state.services.files;
    let meta = product_files::add_product_file(
        state.store(),
        files,
        env,
        product_id,
        &d,
        file,
        &admin.who(),
    )
    .await?;
    Ok(redirect(
        req,
        &format!("/admin/products/{product_id}?env={env}"),
        "ok",
        &format!(
            "{} {} uploaded ({}).",
            meta.title,
            meta.version,
            files::human_size(meta.size)
        ),
    ))
}

/// Removes one of a product's files.
pub async fn delete_file(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    ManageForm { env, .. }: ManageForm,
) -> Result<HttpResponse, PageError> {
    let (product, file) = path.into_inner();
    let id: Uuid = file
        .parse()
        .map_err(|_| PageError::NotFound("no such file".into()))?;
    // The product as the product page spells it in the address (a file of
    // another spelling is no file of this page).
    let product_id = product
        .parse::<Uuid>()
        .ok()
        .filter(|p| p.to_string() == product)
        .ok_or_else(|| PageError::NotFound("No such file.".into()))?;
    let meta = product_files::remove_product_file(
        state.store(),
        &state.services.files,
        env,
        product_id,
        id,
        &admin.who(),
    )
    .await?;
    Ok(redirect(
        &req,
        &format!("/admin/products/{product}?env={env}"),
        "ok",
        &format!("{} {} removed.", meta.title, meta.version),
    ))
}
