//! License Preview (`templates/admin/license_preview.html`): one license's
//! details, activation history and integration samples, and the downloads the
//! page offers (the device's offline file, a code sample). The state actions it
//! links to are in `license_actions.rs`; the password gate in `reauth.rs`.

use crate::domain::features::labelled;
use actix_web::http::header;
use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::Utc;

use super::license_edit::key_of;
use super::reauth::{reauth_gate, require_recent};
use super::{chrome, render, AdminView, Chrome};
use crate::app::error::AppError;
use crate::app::format;
use crate::app::license_preview::{self, LicensePreview};
use crate::app::licenses;
use crate::app::offline::offline_file;
use crate::app::AppState;
use crate::domain::diagnosis::SamplePlan;
use crate::domain::verdict::Op;
use crate::domain::{
    admin_actions_for, Environment, Identifier, License, LicenseKey, LicenseStatus,
};
use crate::portal::page::query_param;
use crate::portal::samples::{self, Sample};
use crate::portal::PageError;

/// One activation row of the history.
pub struct DeviceRow {
    pub identifier: String,
    /// The identifier as a query value (the confirm link).
    pub identifier_q: String,
    /// As shown (invisible characters escaped).
    pub shown: String,
    pub kind: &'static str,
    pub active: bool,
    pub activated: String,
    pub deactivated: String,
    pub last_seen: String,
    pub ip: String,
}

/// A license's devices as the preview and a customer's page list them, newest first.
pub fn device_rows(l: &License) -> Vec<DeviceRow> {
    let mut rows: Vec<DeviceRow> = l
        .activations
        .iter()
        .map(|a| DeviceRow {
            identifier: a.identifier.as_str().into(),
            identifier_q: format::url_encode(a.identifier.as_str()),
            shown: a.identifier.shown(),
            kind: a.kind.as_str(),
            active: a.is_active(),
            activated: format::time(a.activated_at),
            deactivated: a.deactivated_at.map(format::time).unwrap_or_default(),
            last_seen: format::time_or_never(a.last_seen),
            ip: a.ip.clone().unwrap_or_default(),
        })
        .collect();
    rows.reverse();
    rows
}

/// A missing license, in words that help find it.
fn missing(e: AppError, env: Environment, key: &LicenseKey) -> PageError {
    match e {
        AppError::NotFound(_) => PageError::NotFound(format!(
            "No license {} in {env}. Check the environment switcher (production vs staging), the spelling, or the audit log for a deletion.",
            key.as_str()
        )),
        other => other.into(),
    }
}

/// The license named in the URL (the confirmation pages start from it too).
pub async fn load(state: &AppState, env: Environment, raw: &str) -> Result<License, PageError> {
    let key = key_of(raw)?;
    licenses::get(&state.engine, env, &key)
        .await
        .map_err(|e| missing(e, env, &key))
}

#[derive(Template)]
#[template(path = "admin/license_preview.html")]
struct PreviewPage {
    c: Chrome,
    key: String,
    key_q: String,
    product_name: String,
    product_id: String,
    customer: String,
    customer_id: String,
    status: &'static str,
    limit: String,
    activations: String,
    expires: String,
    expiry_class: &'static str,
    created: String,
    updated: String,
    validity: String,
    flags: String,
    /// The flags by their labels (the product's feature definitions).
    features: Vec<(String, String)>,
    metadata: String,
    devices: Vec<DeviceRow>,
    active_ids: Vec<String>,
    samples: Vec<Sample>,
    actions: Vec<(&'static str, &'static str)>,
    can_edit: bool,
    /// What the samples do (validate which device, or activate a new one).
    sample_what: String,
    /// What they print now: code, then detail.
    sample_code: &'static str,
    sample_detail: String,
    sample_valid: bool,
}

impl PreviewPage {
    /// The page for what the app read; `samples` call this license.
    fn new(c: Chrome, p: LicensePreview, samples: Vec<Sample>, plan: &SamplePlan) -> PreviewPage {
        let l = &p.license;
        let (expires, expiry_class) = format::expiry(l.expires_at, Utc::now());
        let json = |m: &serde_json::Map<String, serde_json::Value>| {
            serde_json::to_string_pretty(m).unwrap_or_default()
        };
        PreviewPage {
            c,
            key: l.key.as_str().into(),
            key_q: format::url_encode(l.key.as_str()),
            product_name: p
                .product
                .as_ref()
                .map(|p| p.name.clone())
                .unwrap_or_default(),
            product_id: l.product_id.to_string(),
            customer: p
                .customer
                .as_ref()
                .map(|c| format!("{} <{}>", c.name, c.email))
                .unwrap_or_else(|| "— not assigned —".into()),
            customer_id: l.customer_id.map(|c| c.to_string()).unwrap_or_default(),
            status: l.status.as_str(),
            limit: if l.activation_limit.is_unlimited() {
                "Unlimited (-1)".into()
            } else {
                l.activation_limit.get().to_string()
            },
            activations: format::activations(l.active_count() as u32, l.activation_limit.get()),
            expires,
            expiry_class,
            created: format::time(l.created_at),
            updated: format::time(l.updated_at),
            validity: l
                .validity_days
                .map(|d| format!("{d} days from assignment"))
                .unwrap_or_else(|| "Lifetime".into()),
            flags: json(&l.feature_flags),
            features: labelled(
                p.product.as_ref().map_or(&[][..], |p| &p.features[..]),
                &l.feature_flags,
            ),
            metadata: json(&l.metadata),
            devices: device_rows(&p.with_history),
            active_ids: l
                .active_activations()
                .map(|a| a.identifier.as_str().to_owned())
                .collect(),
            samples,
            actions: admin_actions_for(l.status),
            can_edit: l.status != LicenseStatus::Revoked,
            sample_what: if plan.op == Op::Activate {
                format!(
                    "No device is activated yet: each activates device {} (run again, it validates) and prints the verdict.",
                    plan.device
                )
            } else {
                format!(
                    "Each validates this license for device {}, activated on it, and prints the verdict.",
                    plan.device
                )
            },
            sample_code: plan.expected.code.as_str(),
            sample_detail: plan.expected.detail.to_string(),
            sample_valid: plan.expected.valid,
        }
    }
}

/// The License Preview page (behind the password gate when the setting asks).
pub async fn preview(
    AdminView { admin, req, env }: AdminView,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let key = key_of(&path)?;
    let what = format!("preview of {}", format::mask_key(key.as_str()));
    if let Some(gate) = reauth_gate(&state, &admin, &req, env, &what).await {
        return gate;
    }
    let p = license_preview::read(&state.engine, env, &key)
        .await
        .map_err(|e| missing(e, env, &key))?;
    let plan = sample_plan(&p.license, &state, env);
    let samples = samples::for_license(
        state.config.public_base(),
        env,
        p.license.key.as_str(),
        &plan,
    );
    let c = chrome(&req, &admin, "License Preview", "licenses", env);
    render(&req, &PreviewPage::new(c, p, samples, &plan))
}

/// The signed offline validation file, as a download.
pub async fn offline(
    AdminView { admin, req, env }: AdminView,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    require_recent(&state, &admin, env).await?;
    let key = key_of(&path)?;
    let raw = query_param(&req, "identifier");
    let identifier = Identifier::existing(&raw)
        .map_err(|e| PageError::BadRequest(format!("device identifier: {e}")))?;
    let (v, file) =
        offline_file(&state.engine, &state.signers, env, &key, &identifier, None).await?;
    match file {
        Some(f) => Ok(HttpResponse::Ok()
            .content_type("application/json")
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}-offline.json\"", key.as_str()),
            ))
            .json(f)),
        None => Err(PageError::Conflict(format!(
            "No offline file for this device: {} ({})",
            v.detail,
            v.code.as_str()
        ))),
    }
}

/// What the samples of `license` do and will print now.
fn sample_plan(
    license: &crate::domain::License,
    state: &AppState,
    env: crate::domain::Environment,
) -> SamplePlan {
    crate::domain::diagnosis::sample_plan(
        license,
        Utc::now(),
        state.engine.settings().grace(env),
        samples::SAMPLE_DEVICE,
    )
}

/// One code sample as a file.
pub async fn sample(
    AdminView { admin, req: _, env }: AdminView,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    require_recent(&state, &admin, env).await?;
    let (raw, lang) = path.into_inner();
    let key = key_of(&raw)?;
    let p = license_preview::read(&state.engine, env, &key)
        .await
        .map_err(|e| missing(e, env, &key))?;
    let plan = sample_plan(&p.license, &state, env);
    let s = samples::for_license(state.config.public_base(), env, key.as_str(), &plan)
        .into_iter()
        .find(|s| s.lang == lang)
        .ok_or_else(|| PageError::NotFound(format!("no {lang} sample")))?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}\"", s.file_name),
        ))
        .body(s.code))
}
