//! Generators (key format, default limit and validity) and their bulk generation,
//! which runs as a background job shown on the Background Jobs page.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use uuid::Uuid;

use super::{chrome, env_of, redirect, render, render_invalid, Admin, Chrome, ManageForm};
use crate::app::error::AppError;
use crate::app::format;
use crate::app::jobs::{GenerationSpec, JobState};
use crate::app::licenses::Overrides;
use crate::app::products::{self, GeneratorInput};
use crate::app::AppState;
use crate::domain::fields::{json_object_text, MAX_FEATURE_FLAGS_BYTES};
use crate::domain::key::KeyFormat;
use crate::domain::{ActivationLimit, Environment, Generator};
use crate::portal::forms::{FieldErrors, Form};
use crate::portal::PageError;

pub use crate::app::licenses::MAX_BULK;

pub struct GeneratorRow {
    pub id: String,
    pub name: String,
    pub product: String,
    pub format: String,
    pub limit: String,
    pub validity: String,
    pub created: String,
}

/// The generator form as typed.
#[derive(Default, Clone)]
pub struct GeneratorFields {
    pub id: String,
    pub product_id: String,
    pub name: String,
    pub kind: String,
    pub prefix: String,
    pub suffix: String,
    pub segments: String,
    pub segment_len: String,
    pub separator: String,
    pub pattern: String,
    pub activation_limit: String,
    pub validity_days: String,
    pub feature_flags: String,
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
}

async fn rows(
    state: &AppState,
    env: Environment,
) -> Result<(Vec<GeneratorRow>, Vec<(String, String)>), PageError> {
    let store = state.store();
    let products = store.list_products(env).await?;
    let mut gens = store.list_generators(env).await?;
    gens.sort_by(|a, b| a.name.cmp(&b.name));
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
    format!("{} (e.g. {example})", f.label())
}

fn fields(g: &Generator) -> GeneratorFields {
    let mut v = GeneratorFields {
        id: g.id.to_string(),
        product_id: g.product_id.to_string(),
        name: g.name.clone(),
        activation_limit: g.activation_limit.get().to_string(),
        validity_days: g.validity_days.map(|d| d.to_string()).unwrap_or_default(),
        feature_flags: if g.feature_flags.is_empty() {
            String::new()
        } else {
            serde_json::to_string(&g.feature_flags).unwrap_or_default()
        },
        ..GeneratorFields::default()
    };
    match &g.format {
        KeyFormat::Uuid { prefix, suffix } => {
            v.kind = "uuid".into();
            v.prefix = prefix.clone();
            v.suffix = suffix.clone();
        }
        KeyFormat::Chunked {
            segments,
            segment_len,
            separator,
            prefix,
            suffix,
            ..
        } => {
            v.kind = "chunked".into();
            v.segments = segments.to_string();
            v.segment_len = segment_len.to_string();
            v.separator = separator.clone();
            v.prefix = prefix.clone();
            v.suffix = suffix.clone();
        }
        KeyFormat::Pattern { pattern, prefix } => {
            v.kind = "pattern".into();
            v.pattern = pattern.clone();
            v.prefix = prefix.clone();
        }
    }
    v
}

fn blank() -> GeneratorFields {
    GeneratorFields {
        kind: "chunked".into(),
        segments: "4".into(),
        segment_len: "5".into(),
        separator: "-".into(),
        activation_limit: "5".into(),
        ..GeneratorFields::default()
    }
}

pub async fn list(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let env = env_of(&req)?;
    let (rows, products) = rows(&state, env).await?;
    render(
        &req,
        &GeneratorsPage {
            c: chrome(&req, &admin, "Generators", "generators", env),
            rows,
            products,
            v: blank(),
            errors: FieldErrors::default(),
            editing: false,
            max_bulk: MAX_BULK,
        },
    )
}

async fn load(state: &AppState, env: Environment, raw: &str) -> Result<Generator, PageError> {
    let id: Uuid = raw
        .parse()
        .map_err(|_| PageError::NotFound("no such generator".into()))?;
    Ok(products::get_generator(state.store(), env, id).await?)
}

pub async fn edit_page(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let env = env_of(&req)?;
    let g = load(&state, env, &path).await?;
    let (rows, products) = rows(&state, env).await?;
    render(
        &req,
        &GeneratorsPage {
            c: chrome(
                &req,
                &admin,
                format!("Generator: {}", g.name),
                "generators",
                env,
            ),
            rows,
            products,
            v: fields(&g),
            errors: FieldErrors::default(),
            editing: true,
            max_bulk: MAX_BULK,
        },
    )
}

fn from_form(f: &Form) -> GeneratorFields {
    let g = |n: &str| f.get(n).to_owned();
    GeneratorFields {
        id: g("id"),
        product_id: g("product_id"),
        name: g("name"),
        kind: g("kind"),
        prefix: g("prefix"),
        suffix: g("suffix"),
        segments: g("segments"),
        segment_len: g("segment_len"),
        separator: f.raw("separator").to_owned(),
        pattern: g("pattern"),
        activation_limit: g("activation_limit"),
        validity_days: g("validity_days"),
        feature_flags: g("feature_flags"),
    }
}

fn parse_format(v: &GeneratorFields, errors: &mut FieldErrors) -> Option<KeyFormat> {
    let f = match v.kind.as_str() {
        "uuid" => KeyFormat::Uuid {
            prefix: v.prefix.clone(),
            suffix: v.suffix.clone(),
        },
        "chunked" => {
            let (Ok(segments), Ok(segment_len)) =
                (v.segments.parse::<u8>(), v.segment_len.parse::<u8>())
            else {
                errors.add(
                    "format",
                    "Segments and segment length must be whole numbers (1–255).",
                );
                return None;
            };
            KeyFormat::Chunked {
                segments,
                segment_len,
                separator: v.separator.clone(),
                prefix: v.prefix.clone(),
                suffix: v.suffix.clone(),
                charset: crate::domain::key::CHUNK_CHARSET.into(),
            }
        }
        "pattern" => KeyFormat::Pattern {
            pattern: v.pattern.clone(),
            prefix: v.prefix.clone(),
        },
        _ => {
            errors.add("format", "Choose UUID, chunked or custom pattern.");
            return None;
        }
    };
    match f.validate() {
        Ok(()) => Some(f),
        Err(e) => {
            errors.add("format", format!("Format: {e}."));
            None
        }
    }
}

/// Decodes the form: the format (a new generator's only), limit, validity and flags.
fn decode(v: &GeneratorFields, editing: bool, errors: &mut FieldErrors) -> GeneratorInput {
    let format = if editing {
        None
    } else {
        parse_format(v, errors)
    };
    let limit = v
        .activation_limit
        .parse::<i64>()
        .ok()
        .and_then(|n| ActivationLimit::new(n).ok())
        .unwrap_or_else(|| {
            errors.add(
                "activation_limit",
                "Activation limit must be -1 (unlimited) or 1–10000.",
            );
            ActivationLimit::default()
        });
    let validity_days = match v.validity_days.as_str() {
        "" => None,
        d => Some(d.parse::<u32>().unwrap_or(0)),
    };
    let feature_flags =
        json_object_text("feature_flags", &v.feature_flags, MAX_FEATURE_FLAGS_BYTES)
            .unwrap_or_else(|e| {
                errors.add("feature_flags", format!("Feature flags {}.", e.message));
                Default::default()
            });
    GeneratorInput {
        id: v.id.parse().ok(),
        product_id: v.product_id.parse().ok(),
        name: v.name.clone(),
        format,
        activation_limit: limit,
        validity_days,
        feature_flags,
    }
}

/// Creates a generator (no `id`) or edits one (type, product and environment stay).
pub async fn save(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    ManageForm { form, env }: ManageForm,
) -> Result<HttpResponse, PageError> {
    let mut v = from_form(&form);
    let existing = if v.id.is_empty() {
        None
    } else {
        Some(load(&state, env, &v.id).await?)
    };
    if let Some(g) = &existing {
        // Immutable: format type, product, environment.
        let keep = fields(g);
        v.product_id = keep.product_id;
        v.kind = keep.kind;
    }
    let mut errors = FieldErrors::default();
    let input = decode(&v, existing.is_some(), &mut errors);
    let store = state.store();
    let saved = if errors.is_empty() {
        products::save_generator(store, env, input).await
    } else {
        // Show the app's messages too (the name, the product) beside the form's.
        let check = GeneratorInput {
            format: Some(KeyFormat::default()),
            ..input
        };
        match products::check_generator(store, env, &check).await {
            Err(e) => Err(e),
            Ok(()) => Err(AppError::Invalid(FieldErrors::default())),
        }
    };
    let g = match saved {
        Ok(g) => g,
        Err(AppError::Invalid(e)) => {
            errors.merge(e);
            let (rows, products) = rows(&state, env).await?;
            return render_invalid(&GeneratorsPage {
                c: chrome(&req, &admin, "Generators", "generators", env),
                rows,
                products,
                editing: existing.is_some(),
                v,
                errors,
                max_bulk: MAX_BULK,
            });
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
    let product = state
        .engine
        .store()
        .get_product(env, g.product_id)
        .await?
        .filter(|p| p.active)
        .ok_or_else(|| {
            PageError::Conflict(
                "The generator's product is inactive: it gets no new licenses.".into(),
            )
        })?;
    let job = state.portal.jobs.start_generation(
        state.engine.clone(),
        GenerationSpec {
            env,
            title: format!(
                "Generate {count} keys with {} for {} ({env})",
                g.name, product.name
            ),
            generator: g,
            overrides: Overrides::default(),
            count,
            who: admin.who(),
        },
    );
    Ok(redirect(
        &req,
        &format!("/admin/jobs?env={env}"),
        "ok",
        &format!("Job started: {}.", job.title),
    ))
}

pub struct JobRow {
    pub id: String,
    pub title: String,
    pub state: &'static str,
    pub error: String,
    pub done: usize,
    pub total: usize,
    pub percent: usize,
    pub attempts: usize,
    pub who: String,
    pub created: String,
    pub finished: String,
}

#[derive(Template)]
#[template(path = "admin/jobs.html")]
struct JobsPage {
    c: Chrome,
    rows: Vec<JobRow>,
    running: usize,
    failed: usize,
}

pub async fn jobs(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let env = env_of(&req)?;
    let rows: Vec<JobRow> = state
        .portal
        .jobs
        .all()
        .iter()
        .map(|j| {
            let st = j.state.read().clone();
            JobRow {
                id: j.id.to_string(),
                title: j.title.clone(),
                state: match st {
                    JobState::Running => "running",
                    JobState::Done => "done",
                    JobState::Failed(_) => "failed",
                },
                error: match st {
                    JobState::Failed(e) => e,
                    _ => String::new(),
                },
                done: j.done.load(std::sync::atomic::Ordering::Relaxed),
                total: j.total,
                percent: j.percent(),
                attempts: j.attempts.load(std::sync::atomic::Ordering::Relaxed),
                who: j.who.clone(),
                created: format::time(j.created_at),
                finished: j.finished_at.read().map(format::time).unwrap_or_default(),
            }
        })
        .collect();
    render(
        &req,
        &JobsPage {
            c: chrome(&req, &admin, "Background Jobs", "jobs", env),
            running: rows.iter().filter(|r| r.state == "running").count(),
            failed: rows.iter().filter(|r| r.state == "failed").count(),
            rows,
        },
    )
}

fn job_id(raw: &str) -> Result<Uuid, PageError> {
    raw.parse()
        .map_err(|_| PageError::NotFound("no such job".into()))
}

pub async fn retry(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    ManageForm { env, .. }: ManageForm,
) -> Result<HttpResponse, PageError> {
    state
        .portal
        .jobs
        .retry(state.engine.clone(), job_id(&path)?)
        .ok_or_else(|| PageError::Conflict("Only a failed job can be retried.".into()))?;
    Ok(redirect(
        &req,
        &format!("/admin/jobs?env={env}"),
        "ok",
        "Job restarted.",
    ))
}

pub async fn delete_job(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    ManageForm { env, .. }: ManageForm,
) -> Result<HttpResponse, PageError> {
    if !state.portal.jobs.remove(job_id(&path)?) {
        return Err(PageError::Conflict(
            "A running job cannot be removed.".into(),
        ));
    }
    Ok(redirect(
        &req,
        &format!("/admin/jobs?env={env}"),
        "ok",
        "Job removed from the list (its keys stay).",
    ))
}
