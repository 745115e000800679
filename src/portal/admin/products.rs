//! Products: list with license counts, create and edit (name, description, status).

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::Utc;
use uuid::Uuid;

use super::{
    chrome, env_of, form_env, redirect, render, render_invalid, Admin, Chrome, ManageForm,
};
use crate::app::format;
use crate::app::products::create_product;
use crate::app::AppState;
use crate::domain::product::check_name;
use crate::domain::{AuditEntry, Environment};
use crate::portal::forms::FieldErrors;
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

fn file_rows(state: &AppState, env: Environment, product: &str) -> Vec<FileRow> {
    let Ok(pid) = product.parse::<Uuid>() else {
        return Vec::new();
    };
    state
        .portal
        .files
        .of_product(env, pid)
        .into_iter()
        .map(|f| FileRow {
            id: f.id.to_string(),
            title: f.title,
            file_name: f.file_name,
            version: f.version,
            channel: f.channel,
            released: f.released.to_string(),
            size: crate::app::files::human_size(f.size),
        })
        .collect()
}

pub struct ProductRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub active: bool,
    pub licenses: usize,
    pub created: String,
}

/// The product form as typed.
#[derive(Default)]
pub struct ProductFields {
    pub id: String,
    pub name: String,
    pub description: String,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "admin/products.html")]
struct ProductsPage {
    c: Chrome,
    rows: Vec<ProductRow>,
    v: ProductFields,
    errors: FieldErrors,
    editing: bool,
    public_key: String,
    files: Vec<FileRow>,
    channels: Vec<&'static str>,
    today: String,
}

async fn rows(state: &AppState, env: Environment) -> Result<Vec<ProductRow>, PageError> {
    let st = state.engine.catalog().stats(env, Utc::now());
    let mut products = state.engine.store().list_products(env).await?;
    products.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(products
        .into_iter()
        .map(|p| ProductRow {
            id: p.id.to_string(),
            licenses: st.by_product.get(&p.id).copied().unwrap_or(0),
            name: p.name,
            description: p.description,
            active: p.active,
            created: format::time(p.created_at),
        })
        .collect())
}

fn public_key(state: &AppState, env: Environment) -> String {
    state.signers.get(env).public_key_pem()
}

pub async fn list(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let env = env_of(&req)?;
    render(
        &req,
        &ProductsPage {
            c: chrome(&req, &admin, "Products", "products", env),
            rows: rows(&state, env).await?,
            v: ProductFields {
                active: true,
                ..ProductFields::default()
            },
            errors: FieldErrors::default(),
            editing: false,
            public_key: public_key(&state, env),
            files: Vec::new(),
            channels: crate::app::files::CHANNELS.to_vec(),
            today: Utc::now().date_naive().to_string(),
        },
    )
}

pub async fn edit_page(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let env = env_of(&req)?;
    let id: Uuid = path
        .parse()
        .map_err(|_| PageError::NotFound("no such product".into()))?;
    let p = state
        .engine
        .store()
        .get_product(env, id)
        .await?
        .ok_or_else(|| PageError::NotFound(format!("No such product in {env}.")))?;
    render(
        &req,
        &ProductsPage {
            c: chrome(
                &req,
                &admin,
                format!("Product: {}", p.name),
                "products",
                env,
            ),
            rows: rows(&state, env).await?,
            v: ProductFields {
                id: p.id.to_string(),
                name: p.name,
                description: p.description,
                active: p.active,
            },
            errors: FieldErrors::default(),
            editing: true,
            public_key: public_key(&state, env),
            files: file_rows(&state, env, &id.to_string()),
            channels: crate::app::files::CHANNELS.to_vec(),
            today: Utc::now().date_naive().to_string(),
        },
    )
}

/// Creates a product (no `id`) or updates one.
pub async fn save(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    ManageForm { form, env }: ManageForm,
) -> Result<HttpResponse, PageError> {
    let v = ProductFields {
        id: form.get("id").into(),
        name: form.get("name").into(),
        description: form.get("description").into(),
        active: form.get("active") == "on",
    };
    let mut errors = FieldErrors::default();
    let name = match check_name(&v.name, 1) {
        Ok(n) => n,
        Err(e) => {
            errors.add("name", format!("Name {e}."));
            String::new()
        }
    };
    if v.description.chars().count() > 2000 {
        errors.add(
            "description",
            "Description must be at most 2000 characters.",
        );
    }
    if !errors.is_empty() {
        let editing = !v.id.is_empty();
        return render_invalid(&ProductsPage {
            c: chrome(&req, &admin, "Products", "products", env),
            rows: rows(&state, env).await?,
            v,
            errors,
            editing,
            public_key: public_key(&state, env),
            files: Vec::new(),
            channels: crate::app::files::CHANNELS.to_vec(),
            today: Utc::now().date_naive().to_string(),
        });
    }
    let store = state.store();
    if v.id.is_empty() {
        let p = create_product(store, env, &name, &v.description, v.active, &admin.who()).await?;
        return Ok(redirect(
            &req,
            &format!("/admin/products?env={env}"),
            "ok",
            &format!("Product {} created with a default generator.", p.name),
        ));
    }
    let id: Uuid =
        v.id.parse()
            .map_err(|_| PageError::BadRequest("product id must be a UUID".into()))?;
    let mut p = store
        .get_product(env, id)
        .await?
        .ok_or_else(|| PageError::NotFound(format!("No such product in {env}.")))?;
    let before = format!(
        "{} ({})",
        p.name,
        if p.active { "active" } else { "inactive" }
    );
    p.name = name;
    p.description = v.description.clone();
    p.active = v.active;
    let after = format!(
        "{} ({})",
        p.name,
        if p.active { "active" } else { "inactive" }
    );
    let audit =
        AuditEntry::new(admin.who(), "product.updated", None, Utc::now()).change(before, after);
    store.put_product(env, &p, &audit).await?;
    Ok(redirect(
        &req,
        &format!("/admin/products?env={env}"),
        "ok",
        &format!("Product {} saved.", p.name),
    ))
}

/// Text fields an upload form may carry, and the size of each.
const MAX_UPLOAD_FIELDS: usize = 16;
const MAX_FIELD_BYTES: usize = 16 * 1024;

/// A file streamed to a temporary file: its name, size and SHA-256.
struct Streamed {
    file_name: String,
    temp: std::path::PathBuf,
    size: u64,
    sha256: String,
}

fn upload_error(e: impl std::fmt::Display) -> PageError {
    PageError::BadRequest(format!("could not read the upload: {e}"))
}

/// Reads one small text field whole (bounded).
async fn read_field(field: &mut actix_multipart::Field, name: &str) -> Result<String, PageError> {
    use futures_util::StreamExt;
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

/// Streams the file part to a temporary file, hashing it on the way, within
/// `limit` bytes. The temporary file is removed on any failure.
async fn stream_file(
    state: &AppState,
    field: &mut actix_multipart::Field,
    file_name: String,
    limit: u64,
) -> Result<Streamed, PageError> {
    use futures_util::StreamExt;
    use sha2::Digest;
    use tokio::io::AsyncWriteExt;
    let temp = state.portal.files.temp_path();
    let result: Result<Streamed, PageError> = async {
        let std_file = crate::private_files::create_file(&temp)
            .map_err(|e| PageError::Internal(format!("upload temp file: {e}")))?;
        let mut out = tokio::fs::File::from_std(std_file);
        let mut hasher = sha2::Sha256::new();
        let mut size = 0u64;
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(upload_error)?;
            size += chunk.len() as u64;
            if size > limit {
                return Err(PageError::BadRequest(format!(
                    "the file is larger than the upload limit of {} MiB (portal.max_upload_mb)",
                    limit / (1024 * 1024)
                )));
            }
            hasher.update(&chunk);
            out.write_all(&chunk)
                .await
                .map_err(|e| PageError::Internal(format!("upload temp file: {e}")))?;
        }
        out.sync_all()
            .await
            .map_err(|e| PageError::Internal(format!("upload temp file: {e}")))?;
        Ok(Streamed {
            file_name,
            temp: temp.clone(),
            size,
            sha256: hex::encode(hasher.finalize()),
        })
    }
    .await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(&temp).await;
    }
    result
}

/// Reads a multipart upload. Security item 6: the role is checked before any
/// byte is read, the session's CSRF token (a field before the file, as the form
/// sends it) before the file is read, text fields are bounded in number and
/// size, and the file streams to disk within `portal.max_upload_mb`.
async fn read_upload(
    admin: &Admin,
    state: &AppState,
    mut payload: actix_multipart::Multipart,
) -> Result<(std::collections::HashMap<String, String>, Option<Streamed>), PageError> {
    use futures_util::StreamExt;
    if !admin.user.role.can_manage() {
        return Err(PageError::read_only());
    }
    let limit = state.config.portal.max_upload_mb * 1024 * 1024;
    let mut fields = std::collections::HashMap::new();
    let mut file: Option<Streamed> = None;
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
                let form = crate::portal::forms::Form::from_pairs(vec![(
                    "csrf".into(),
                    fields.get("csrf").cloned().unwrap_or_default(),
                )]);
                admin.check_manage(&form)?;
                file = Some(stream_file(state, &mut field, f, limit).await?);
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
        let _ = tokio::fs::remove_file(&f.temp).await;
    }
    result
}

async fn finish_upload(
    admin: &Admin,
    state: &AppState,
    req: &HttpRequest,
    path: &str,
    fields: std::collections::HashMap<String, String>,
    file: Option<&Streamed>,
) -> Result<HttpResponse, PageError> {
    let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
    let form = crate::portal::forms::Form::from_pairs(
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
    state
        .engine
        .store()
        .get_product(env, product_id)
        .await?
        .ok_or_else(|| PageError::NotFound(format!("No such product in {env}.")))?;
    let file = file
        .filter(|f| !f.file_name.trim().is_empty() && f.size > 0)
        .ok_or_else(|| PageError::BadRequest("Choose a non-empty file to upload.".into()))?;
    let file_name = file.file_name.clone();
    let version = get("version");
    if version.is_empty() || version.len() > 40 || version.chars().any(char::is_whitespace) {
        return Err(PageError::BadRequest(
            "Version is required (like 2.4.1, no spaces).".into(),
        ));
    }
    let channel = get("channel");
    if !crate::app::files::CHANNELS.contains(&channel.as_str()) {
        return Err(PageError::BadRequest(
            "Channel must be stable, beta or hotfix.".into(),
        ));
    }
    let released = chrono::NaiveDate::parse_from_str(&get("released"), "%Y-%m-%d")
        .map_err(|_| PageError::BadRequest("Release date must be a date (YYYY-MM-DD).".into()))?;
    let base_name: String = std::path::Path::new(&file_name)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    let title = match get("title") {
        t if t.is_empty() => base_name.clone(),
        t => t.chars().take(200).collect(),
    };
    let meta = crate::app::files::FileMeta {
        id: Uuid::new_v4(),
        env,
        product_id,
        title,
        file_name: base_name,
        version,
        channel,
        released,
        size: file.size,
        uploaded_at: Utc::now(),
        sha256: file.sha256.clone(),
    };
    state
        .portal
        .files
        .commit(&meta, &file.temp)
        .await
        .map_err(PageError::Internal)?;
    Ok(redirect(
        req,
        &format!("/admin/products/{product_id}?env={env}"),
        "ok",
        &format!(
            "{} {} uploaded ({}).",
            meta.title,
            meta.version,
            crate::app::files::human_size(meta.size)
        ),
    ))
}

pub async fn delete_file(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    ManageForm { env, .. }: ManageForm,
) -> Result<HttpResponse, PageError> {
    let (product, file) = path.into_inner();
    let id: Uuid = file
        .parse()
        .map_err(|_| PageError::NotFound("no such file".into()))?;
    let (meta, _) = state
        .portal
        .files
        .get(id)
        .filter(|(m, _)| m.product_id.to_string() == product && m.env == env)
        .ok_or_else(|| PageError::NotFound("No such file.".into()))?;
    state
        .portal
        .files
        .remove(id)
        .await
        .map_err(PageError::Internal)?;
    Ok(redirect(
        &req,
        &format!("/admin/products/{product}?env={env}"),
        "ok",
        &format!("{} {} removed.", meta.title, meta.version),
    ))
}
