//! Products (`templates/admin/products.html`): list with license counts, create
//! and edit (name, description, status). The product's files on the same page
//! are `product_files.rs`.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::Utc;
use uuid::Uuid;

use super::product_features::{feature_rows_from_form, with_blank_rows, FeatureRow};
use super::product_files::{file_rows, FileRow};
use super::{chrome, redirect, render, render_invalid, Admin, AdminView, Chrome, ManageForm};
use crate::app::error::AppError;
use crate::app::products::{self, create_product, ProductInput};
use crate::app::{files, format, AppState};
use crate::domain::features::FeatureKind;
use crate::domain::{Environment, Product};
use crate::portal::forms::{FieldErrors, Form};
use crate::portal::PageError;

/// One product as the list shows it.
pub struct ProductRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub active: bool,
    pub licenses: usize,
    pub created: String,
    /// The feature labels, comma separated.
    pub features: String,
}

/// The product form as typed.
#[derive(Default)]
pub struct ProductFields {
    pub id: String,
    pub name: String,
    pub description: String,
    pub active: bool,
    /// The feature rows, then a few blank ones to add more.
    pub features: Vec<FeatureRow>,
    pub renew_url: String,
    pub buy_url: String,
}

impl ProductFields {
    /// What the form sent.
    fn from_form(form: &Form) -> ProductFields {
        ProductFields {
            id: form.get("id").into(),
            name: form.get("name").into(),
            description: form.get("description").into(),
            active: form.get("active") == "on",
            features: with_blank_rows(feature_rows_from_form(form)),
            renew_url: form.get("renew_url").into(),
            buy_url: form.get("buy_url").into(),
        }
    }

    /// A stored product's fields (with blank feature rows to add more).
    fn of(p: Product) -> ProductFields {
        let features = with_blank_rows(p.features.iter().map(FeatureRow::of).collect());
        ProductFields {
            id: p.id.to_string(),
            name: p.name,
            description: p.description,
            active: p.active,
            features,
            renew_url: p.renew_url,
            buy_url: p.buy_url,
        }
    }

    /// The form in the app's terms; a feature row that does not read is a
    /// message for the features field.
    fn input(&self) -> Result<ProductInput, String> {
        let features = self
            .features
            .iter()
            .filter(|r| !r.is_blank())
            .map(FeatureRow::def)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ProductInput {
            name: self.name.clone(),
            description: self.description.clone(),
            active: self.active,
            features,
            renew_url: self.renew_url.clone(),
            buy_url: self.buy_url.clone(),
        })
    }
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
    key_id: String,
    keys: Vec<KeyRow>,
    files: Vec<FileRow>,
    channels: Vec<&'static str>,
    today: String,
    kinds: [FeatureKind; 3],
    /// Licenses the kill switch would revoke (on the edit page).
    revocable: u64,
}

impl ProductsPage {
    /// The page with the list and an empty form for a new (active) product.
    async fn build(state: &AppState, c: Chrome, env: Environment) -> Result<Self, PageError> {
        Ok(ProductsPage {
            c,
            rows: rows(state, env).await?,
            v: ProductFields {
                active: true,
                features: with_blank_rows(Vec::new()),
                ..ProductFields::default()
            },
            errors: FieldErrors::default(),
            editing: false,
            public_key: state.signers.get(env).current().public_key_pem(),
            key_id: state.signers.get(env).current().key_id.clone(),
            keys: key_rows(state, env),
            files: Vec::new(),
            channels: files::CHANNELS.to_vec(),
            today: Utc::now().date_naive().to_string(),
            kinds: FeatureKind::ALL,
            revocable: 0,
        })
    }
}

async fn rows(state: &AppState, env: Environment) -> Result<Vec<ProductRow>, PageError> {
    state.engine.catalog().wait_ready().await;
    let st = state.engine.catalog().stats(env, Utc::now());
    let products = products::list(state.store(), env).await?;
    Ok(products
        .into_iter()
        .map(|p| ProductRow {
            id: p.id.to_string(),
            licenses: st.by_product.get(&p.id).copied().unwrap_or(0),
            features: p
                .features
                .iter()
                .map(|f| f.label.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            name: p.name,
            description: p.description,
            active: p.active,
            created: format::time(p.created_at),
        })
        .collect())
}

/// The Products page.
pub async fn list(
    AdminView { admin, req, env }: AdminView,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let c = chrome(&req, &admin, "Products", "products", env);
    render(&req, &ProductsPage::build(&state, c, env).await?)
}

/// The Products page with one product's form and files.
pub async fn edit_page(
    AdminView { admin, req, env }: AdminView,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let id: Uuid = path
        .parse()
        .map_err(|_| PageError::NotFound("no such product".into()))?;
    let p = products::get(state.store(), env, id).await?;
    let title = format!("Product: {}", p.name);
    let mut page =
        ProductsPage::build(&state, chrome(&req, &admin, title, "products", env), env).await?;
    page.v = ProductFields::of(p);
    page.editing = true;
    page.revocable = crate::app::kill_switch::revocable_count(&state.engine, env, id).await?;
    page.files = file_rows(&state.services.files, env, id).await?;
    render(&req, &page)
}

/// Creates a product (no `id`) or updates one.
pub async fn save(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    ManageForm { form, env }: ManageForm,
) -> Result<HttpResponse, PageError> {
    let v = ProductFields::from_form(&form);
    let checked = v
        .input()
        .map_err(|e| AppError::field("features", format!("Features: {e}.")))
        .and_then(|input| products::check_product(&input).map(|_| input));
    let input = match checked {
        Ok(input) => input,
        Err(AppError::Invalid(errors)) => {
            let c = chrome(&req, &admin, "Products", "products", env);
            let mut page = ProductsPage::build(&state, c, env).await?;
            page.editing = !v.id.is_empty();
            page.v = v;
            page.errors = errors;
            return render_invalid(&page);
        }
        Err(e) => return Err(e.into()),
    };
    let store = state.store();
    let (p, done) = if v.id.is_empty() {
        let p = create_product(store, env, &input, &admin.who()).await?;
        (p, "created with a default generator")
    } else {
        let id: Uuid =
            v.id.parse()
                .map_err(|_| PageError::BadRequest("product id must be a UUID".into()))?;
        let p = products::update_product(store, env, id, &input, &admin.who()).await?;
        (p, "saved")
    };
    Ok(redirect(
        &req,
        &format!("/admin/products?env={env}"),
        "ok",
        &format!("Product {} {done}.", p.name),
    ))
}

/// The kill switch: once the product's name is typed, the product becomes
/// inactive and a job revokes all its licenses (progress on Background Jobs).
pub async fn revoke_all(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    ManageForm { form, env }: ManageForm,
) -> Result<HttpResponse, PageError> {
    let id: Uuid = path
        .parse()
        .map_err(|_| PageError::NotFound("no such product".into()))?;
    let started = crate::app::kill_switch::revoke_all(
        &state.engine,
        &state.services.jobs,
        env,
        id,
        form.get("confirm"),
        &admin.who(),
    )
    .await;
    match started {
        Ok(job) => Ok(redirect(
            &req,
            &format!("/admin/jobs?env={env}"),
            "ok",
            &format!(
                "{}: {} licenses; the product is now inactive.",
                job.title, job.total
            ),
        )),
        Err(AppError::Invalid(errors)) => Ok(redirect(
            &req,
            &format!("/admin/products/{id}?env={env}"),
            "error",
            errors.get("confirm"),
        )),
        Err(e) => Err(e.into()),
    }
}

/// One signing key as the Products page lists it.
pub struct KeyRow {
    pub key_id: String,
    pub current: bool,
    pub created: String,
    pub verify_until: String,
}

fn key_rows(state: &AppState, env: Environment) -> Vec<KeyRow> {
    state
        .signers
        .get(env)
        .published(Utc::now())
        .map(|k| KeyRow {
            key_id: k.signer.key_id.clone(),
            current: k.retired_at.is_none(),
            created: format::time(k.created_at),
            verify_until: k.verify_until().map(format::time).unwrap_or_default(),
        })
        .collect()
}

/// Rotates the environment's signing key (the old one keeps verifying the
/// offline files it signed until they expire).
pub async fn rotate_key(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    ManageForm { env, .. }: ManageForm,
) -> Result<HttpResponse, PageError> {
    let to = format!("/admin/products?env={env}");
    match crate::app::secrets::rotate(state.store(), &state.signers, env, &admin.who()).await {
        Ok(id) => Ok(redirect(
            &req,
            &to,
            "ok",
            &format!("Signing key rotated: {id} signs from now on; the previous key keeps verifying the offline files it signed until they expire."),
        )),
        Err(AppError::Conflict(why)) => Ok(redirect(&req, &to, "error", &why)),
        Err(e) => Err(e.into()),
    }
}

/// The environment's verification key as a file: `.pem` (SubjectPublicKeyInfo)
/// or `.bin` (the 32 raw Ed25519 bytes), for vendors to embed in their software.
pub async fn public_key(
    AdminView { env, .. }: AdminView,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let keys = state.signers.get(env);
    let signer = keys.current();
    let name = format!("keywarden-{env}-{}", signer.key_id);
    let (body, kind, ext) = match path.as_str() {
        "pem" => (
            signer.public_key_pem().into_bytes(),
            "application/x-pem-file",
            "pem",
        ),
        "bin" => (
            signer.public_key_bytes().to_vec(),
            "application/octet-stream",
            "bin",
        ),
        _ => {
            return Err(PageError::NotFound(
                "no such key format (pem or bin)".into(),
            ))
        }
    };
    Ok(HttpResponse::Ok()
        .content_type(kind)
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}.{ext}\""),
        ))
        .body(body))
}
