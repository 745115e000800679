//! Products: list with license counts, create and edit (name, description, status).

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::Utc;
use uuid::Uuid;

use super::{chrome, env_of, form_env, redirect, render, render_invalid, Admin, Chrome};
use crate::api::admin::products::create_product;
use crate::api::state::AppState;
use crate::domain::product::check_name;
use crate::domain::{AuditEntry, Environment};
use crate::portal::format;
use crate::portal::forms::{self, FieldErrors};
use crate::portal::PageError;

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
}

async fn rows(state: &AppState, env: Environment) -> Result<Vec<ProductRow>, PageError> {
    let st = state.engine.catalog.stats(env, Utc::now());
    let mut products = state.engine.store.list_products(env).await?;
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
        .store
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
        },
    )
}

/// Creates a product (no `id`) or updates one.
pub async fn save(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, PageError> {
    let form = forms::read(&req, body).await?;
    admin.check_manage(&form)?;
    let env = form_env(&form)?;
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
        });
    }
    let store = state.engine.store.as_ref();
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
