//! Generators (`templates/admin/generators.html`): key format, default limit and
//! validity, and starting a bulk generation, which runs as a background job
//! shown on the Background Jobs page (`jobs.rs`). The form is `generator_fields.rs`.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use uuid::Uuid;

use super::generator_fields::GeneratorFields;
use super::{chrome, redirect, render, render_invalid, Admin, AdminView, Chrome, ManageForm};
use crate::app::error::AppError;
use crate::app::format;
use crate::app::products::{self, GeneratorInput};
use crate::app::AppState;
use crate::domain::key::KeyFormat;
use crate::domain::{Environment, Generator};
use crate::portal::forms::FieldErrors;
use crate::portal::PageError;
use crate::store::Store;

/// Most keys one bulk job makes (the page shows the bound).
pub use crate::app::licenses::MAX_BULK;

/// One generator as the list shows it.
pub struct GeneratorRow {
    pub id: String,
    pub name: String,
    pub product: String,
    pub format: String,
    pub limit: String,
    pub validity: String,
    pub created: String,
}

#[derive(Template)]
#[template(path = "admin/generators.html")]
struct GeneratorsPage {
    c: Chrome,
    rows: Vec<GeneratorRow>,
    products: Vec<(String, String)>,
    v: GeneratorFields,
    errors: FieldErrors,
    editing: bool,
    max_bulk: usize,
    /// The character sets a chunked format may use: (name, label, characters).
    charsets: &'static [(&'static str, &'static str, &'static str)],
}

async fn rows(
    state: &AppState,
    env: Environment,
) -> Result<(Vec<GeneratorRow>, Vec<(String, String)>), PageError> {
    let store = state.store();
    let products = products::list(store, env).await?;
    let gens = products::list_generators(store, env).await?;
    let name_of = |id: Uuid| {
        products
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.name.clone())
            .unwrap_or_default()
    };
    let rows = gens
        .iter()
        .map(|g| GeneratorRow {
            id: g.id.to_string(),
            name: g.name.clone(),
            product: name_of(g.product_id),
            format: describe(&g.format),
            limit: if g.activation_limit.is_unlimited() {
                "Unlimited".into()
            } else {
                g.activation_limit.get().to_string()
            },
            validity: g
                .validity_days
                .map(|d| format!("{d} days"))
                .unwrap_or_else(|| "Lifetime".into()),
            created: format::date(g.created_at),
        })
        .collect();
    let mut opts: Vec<(String, String)> = products
        .iter()
        .filter(|p| p.active)
        .map(|p| (p.id.to_string(), p.name.clone()))
        .collect();
    opts.sort_by(|a, b| a.1.cmp(&b.1));
    Ok((rows, opts))
}

/// "Chunked 4×5, e.g. ABCDE-…".
fn describe(f: &KeyFormat) -> String {
    let example = f.generate(&mut rand::rngs::OsRng);
    match f {
        KeyFormat::Chunked { charset, .. } => {
            let set = crate::domain::key::CHARSETS
                .iter()
                .find(|(_, _, chars)| chars == charset)
                .map_or_else(
                    || format!("custom: {charset}"),
                    |(_, label, _)| (*label).to_owned(),
                );
            format!("{} (e.g. {example}; {set})", f.label())
        }
        _ => format!("{} (e.g. {example})", f.label()),
    }
}

impl GeneratorsPage {
    /// The page around the form `v`: the environment's generators and products.
    async fn build(
        state: &AppState,
        env: Environment,
        c: Chrome,
        v: GeneratorFields,
        errors: FieldErrors,
        editing: bool,
    ) -> Result<GeneratorsPage, PageError> {
        let (rows, products) = rows(state, env).await?;
        Ok(GeneratorsPage {
            c,
            rows,
            products,
            v,
            errors,
            editing,
            max_bulk: MAX_BULK,
            charsets: &crate::domain::key::CHARSETS,
        })
    }
}

/// The Generators page with an empty form for a new generator.
pub async fn list(
    AdminView { admin, req, env }: AdminView,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let c = chrome(&req, &admin, "Generators", "generators", env);
    let page = GeneratorsPage::build(
        &state,
        env,
        c,
        GeneratorFields::blank(),
        FieldErrors::default(),
        false,
    )
    .await?;
    render(&req, &page)
}

async fn load(state: &AppState, env: Environment, raw: &str) -> Result<Generator, PageError> {
    let id: Uuid = raw
        .parse()
        .map_err(|_| PageError::NotFound("no such generator".into()))?;
    Ok(products::get_generator(state.store(), env, id).await?)
}

/// The Generators page with one generator's form.
pub async fn edit_page(
    AdminView { admin, req, env }: AdminView,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let g = load(&state, env, &path).await?;
    let title = format!("Generator: {}", g.name);
    let c = chrome(&req, &admin, title, "generators", env);
    let page = GeneratorsPage::build(
        &state,
        env,
        c,
        GeneratorFields::of(&g),
        FieldErrors::default(),
        true,
    )
    .await?;
    render(&req, &page)
}

/// Creates a generator (no `id`) or edits one (type, product and environment stay).
pub async fn save(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    ManageForm { form, env }: ManageForm,
) -> Result<HttpResponse, PageError> {
    let mut v = GeneratorFields::from_form(&form);
    let existing = if v.id.is_empty() {
        None
    } else {
        Some(load(&state, env, &v.id).await?)
    };
    if let Some(g) = &existing {
        // Immutable: format type, product, environment.
        let keep = GeneratorFields::of(g);
        v.product_id = keep.product_id;
        v.kind = keep.kind;
    }
    let mut errors = FieldErrors::default();
    let input = GeneratorInput {
        who: admin.who(),
        ..v.decode(existing.is_some(), &mut errors)
    };
    let g = match submit(state.store(), env, input, errors.is_empty()).await {
        Ok(g) => g,
        Err(AppError::Invalid(e)) => {
            errors.merge(e);
            let c = chrome(&req, &admin, "Generators", "generators", env);
            let editing = existing.is_some();
            return render_invalid(
                &GeneratorsPage::build(&state, env, c, v, errors, editing).await?,
            );
        }
        Err(e) => return Err(e.into()),
    };
    Ok(redirect(
        &req,
        &format!("/admin/generators/{}?env={env}", g.id),
        "ok",
        &format!(
            "Generator {} saved. Keys already made are not changed.",
            g.name
        ),
    ))
}

/// Saves a decoded form; when the form already has errors, only checks it, so
/// the app's messages (the name, the product) show beside the form's.
async fn submit(
    store: &dyn Store,
    env: Environment,
    input: GeneratorInput,
    form_ok: bool,
) -> Result<Generator, AppError> {
    if form_ok {
        return products::save_generator(store, env, input).await;
    }
    let check = GeneratorInput {
        format: Some(KeyFormat::default()),
        ..input
    };
    products::check_generator(store, env, &check).await?;
    Err(AppError::Invalid(FieldErrors::default()))
}

/// Starts a bulk generation job and shows the jobs list.
pub async fn bulk(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    ManageForm { form, env }: ManageForm,
) -> Result<HttpResponse, PageError> {
    let g = load(&state, env, &path).await?;
    let count = form
        .get("count")
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=MAX_BULK).contains(n))
        .ok_or_else(|| PageError::BadRequest(format!("Number of keys must be 1 to {MAX_BULK}.")))?;
    let job = state
        .services
        .jobs
        .start_bulk(state.store(), env, g, count, admin.who())
        .await?;
    Ok(redirect(
        &req,
        &format!("/admin/jobs?env={env}"),
        "ok",
        &format!("Job started: {}.", job.title),
    ))
}
