//! One license: the preview (details, activation history, offline file, code
//! samples), the confirmation dialogs of state changes and delete, and device
//! deactivation. Every change is a message to the license's actor.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::Utc;

use super::license_edit::key_of;
use super::{chrome, env_of, form_env, redirect, render, Admin, Chrome, ManageForm};
use crate::app::format;
use crate::app::offline::offline_file;
use crate::app::AppState;
use crate::domain::{admin_actions_for, Action, Environment, Identifier, License, LicenseStatus};
use crate::engine::actor::AdminChange;
use crate::portal::forms;
use crate::portal::page::query_param;
use crate::portal::samples::{self, Sample};
use crate::portal::PageError;

/// One activation row of the history.
pub struct DeviceRow {
    pub identifier: String,
    /// As shown (invisible characters escaped).
    pub shown: String,
    pub kind: &'static str,
    pub active: bool,
    pub activated: String,
    pub deactivated: String,
    pub last_seen: String,
    pub ip: String,
}

pub fn device_rows(l: &License) -> Vec<DeviceRow> {
    let mut rows: Vec<DeviceRow> = l
        .activations
        .iter()
        .map(|a| DeviceRow {
            identifier: a.identifier.as_str().into(),
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

async fn load(state: &AppState, env: Environment, raw: &str) -> Result<License, PageError> {
    let key = key_of(raw)?;
    state.engine.get(env, &key).await?.ok_or_else(|| {
        PageError::NotFound(format!(
            "No license {} in {env}. Check the environment switcher (production vs staging), the spelling, or the audit log for a deletion.",
            key.as_str()
        ))
    })
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
    metadata: String,
    devices: Vec<DeviceRow>,
    active_ids: Vec<String>,
    samples: Vec<Sample>,
    actions: Vec<(&'static str, &'static str)>,
    can_edit: bool,
    sample_device: &'static str,
}

#[derive(Template)]
#[template(path = "admin/reauth.html")]
struct ReauthPage {
    c: Chrome,
    /// Where to go once the password is right.
    next: String,
    /// What that page is, for the button.
    what: String,
    error: String,
}

/// Security item 11: every admin page that shows a full key or license metadata
/// (preview, edit, a customer's page, offline files, code samples) asks for the
/// password again when the environment's setting says so. `Some` is the gate page.
pub fn reauth_gate(
    state: &AppState,
    admin: &Admin,
    req: &HttpRequest,
    env: Environment,
    what: &str,
) -> Option<Result<HttpResponse, PageError>> {
    if !state.engine.settings().get(env).reauth_preview || admin.session.recently_reauthenticated()
    {
        return None;
    }
    let next = match req.query_string() {
        "" => req.path().to_owned(),
        q => format!("{}?{q}", req.path()),
    };
    Some(render(
        req,
        &ReauthPage {
            c: chrome(req, admin, "Confirm it is you", "licenses", env),
            next: crate::portal::page::safe_next(&next, "/admin"),
            what: what.to_owned(),
            error: String::new(),
        },
    ))
}

pub async fn preview(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let env = env_of(&req)?;
    let key = key_of(&path)?;
    if let Some(gate) = reauth_gate(
        &state,
        &admin,
        &req,
        env,
        &format!("preview of {}", format::mask_key(key.as_str())),
    ) {
        return gate;
    }
    let l = load(&state, env, &path).await?;
    let store = state.store();
    let product = store.get_product(env, l.product_id).await?;
    let customer = match l.customer_id {
        Some(c) => store.get_customer(c).await?,
        None => None,
    };
    let (expires, expiry_class) = format::expiry(l.expires_at, Utc::now());
    let json = |m: &serde_json::Map<String, serde_json::Value>| {
        serde_json::to_string_pretty(m).unwrap_or_default()
    };
    let page = PreviewPage {
        c: chrome(&req, &admin, "License Preview", "licenses", env),
        key: l.key.as_str().into(),
        key_q: format::url_encode(l.key.as_str()),
        product_name: product.map(|p| p.name).unwrap_or_default(),
        product_id: l.product_id.to_string(),
        customer: customer
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
        metadata: json(&l.metadata),
        devices: device_rows(
            &crate::store::with_history(store, env, l.clone(), crate::store::HISTORY_SHOWN).await?,
        ),
        active_ids: l
            .active_activations()
            .map(|a| a.identifier.as_str().to_owned())
            .collect(),
        samples: samples::for_license(state.config.public_base(), env, l.key.as_str()),
        actions: admin_actions_for(l.status),
        can_edit: l.status != LicenseStatus::Revoked,
        sample_device: samples::SAMPLE_DEVICE,
    };
    render(&req, &page)
}

/// Re-entering the password on a license's gate (the older form's address).
pub async fn reauth_license(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Payload,
) -> Result<HttpResponse, PageError> {
    let form = forms::read(&req, body).await?;
    let key = key_of(&path)?;
    let env = form_env(&form)?;
    let to = format!(
        "/admin/licenses/{}?env={env}",
        format::url_encode(key.as_str())
    );
    reauth_then(admin, state, req, form, to).await
}

/// Re-entering the password unlocks the gated pages for a few minutes.
pub async fn reauth(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, PageError> {
    let form = forms::read(&req, body).await?;
    let to = crate::portal::page::safe_next(form.get("next"), "/admin");
    reauth_then(admin, state, req, form, to).await
}

async fn reauth_then(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    form: forms::Form,
    to: String,
) -> Result<HttpResponse, PageError> {
    admin.check(&form)?;
    let env = form_env(&form)?;
    let ok = crate::portal::signin::check_password(
        &state,
        &req,
        &format!("admin:{}", admin.user.email),
        form.raw("password"),
        Some(&admin.user.password_hash),
    )
    .await?;
    if ok {
        admin.session.mark_reauthenticated();
        return Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, to))
            .finish());
    }
    let page = ReauthPage {
        c: chrome(&req, &admin, "Confirm it is you", "licenses", env),
        next: to,
        what: "the page".into(),
        error: "Wrong password.".into(),
    };
    super::render_invalid(&page)
}

/// The signed offline validation file, as a download.
pub async fn offline(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let env = env_of(&req)?;
    if state.engine.settings().get(env).reauth_preview && !admin.session.recently_reauthenticated()
    {
        return Err(PageError::Forbidden(
            "Re-enter your password on the license preview first.".into(),
        ));
    }
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

/// One code sample as a file.
pub async fn sample(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let env = env_of(&req)?;
    if state.engine.settings().get(env).reauth_preview && !admin.session.recently_reauthenticated()
    {
        return Err(PageError::Forbidden(
            "Re-enter your password on the license preview first.".into(),
        ));
    }
    let (raw, lang) = path.into_inner();
    let key = key_of(&raw)?;
    let s = samples::for_license(state.config.public_base(), env, key.as_str())
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

/// What a confirmed action will do, in plain words.
fn consequences(action: &str, l: &License) -> (String, Vec<String>, String, &'static str) {
    let k = l.key.as_str();
    let n = l.active_count();
    match action {
        "suspend" => (
            format!("Suspend license {k}?"),
            vec![
                "Status changes from active to suspended.".into(),
                "Every validation and activation answers SUSPENDED at once.".into(),
                format!("The {n} activated device(s) stay recorded and work again after Unsuspend."),
            ],
            "Suspend license".into(),
            "danger",
        ),
        "unsuspend" => (
            format!("Unsuspend license {k}?"),
            vec![
                "Status changes from suspended back to active.".into(),
                "Its devices validate again at once; new activations work within the limit.".into(),
            ],
            "Unsuspend license".into(),
            "primary",
        ),
        "inactivate" => (
            format!("Inactivate license {k}?"),
            vec![
                "Status changes from active to inactive (a temporary pause).".into(),
                "All activation attempts fail immediately; the customer gets “License Inactive”.".into(),
                "Existing activations remain recorded but blocked.".into(),
                "Can be reversed with Reactivate.".into(),
            ],
            "Inactivate license".into(),
            "danger",
        ),
        "reactivate" => (
            format!("Reactivate license {k}?"),
            vec![
                "Status changes from inactive back to active.".into(),
                "Activation attempts succeed again (within limits); the event is logged in the audit trail.".into(),
            ],
            "Reactivate license".into(),
            "primary",
        ),
        "revoke" => (
            format!("Revoke license {k}?"),
            vec![
                "Revocation is permanent: it cannot be undone.".into(),
                format!("All {n} active activation(s) are deactivated immediately."),
                "Every validation answers “License Revoked” from now on.".into(),
                "If you need reversibility, use Inactivate instead.".into(),
            ],
            "Revoke permanently".into(),
            "danger",
        ),
        _ => {
            let mut v = vec![
                "The license is permanently deleted and cannot be recovered.".into(),
                "All its activation history is removed.".into(),
                "An audit trail entry is kept for compliance.".into(),
            ];
            if l.ever_activated {
                v.insert(
                    0,
                    "⚠ This license was activated before. Deleting it erases that history: Revoke is recommended instead.".into(),
                );
            }
            (
                format!("Delete license {k}?"),
                v,
                "Delete permanently".into(),
                "danger",
            )
        }
    }
}

#[derive(Template)]
#[template(path = "admin/confirm.html")]
struct ConfirmPage {
    c: Chrome,
    heading: String,
    consequences: Vec<String>,
    button: String,
    button_class: &'static str,
    action_url: String,
    cancel_url: String,
    action: String,
    warn: bool,
}

/// Whether `action` may be taken on a license in `status` (delete always may).
fn offered(action: &str, status: LicenseStatus) -> bool {
    action == "delete" || admin_actions_for(status).iter().any(|(a, _)| *a == action)
}

fn not_offered(action: &str, status: LicenseStatus) -> PageError {
    PageError::Conflict(format!(
        "“{action}” is not possible for a license that is {status}: the state machine does not allow it."
    ))
}

pub async fn confirm(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let env = env_of(&req)?;
    let (raw, action) = path.into_inner();
    if action != "delete" && Action::parse_admin(&action).is_none() {
        return Err(PageError::NotFound(format!("no action “{action}”")));
    }
    let l = load(&state, env, &raw).await?;
    if !offered(&action, l.status) {
        return Err(not_offered(&action, l.status));
    }
    let (heading, consequences, button, button_class) = consequences(&action, &l);
    let key_q = format::url_encode(l.key.as_str());
    render(
        &req,
        &ConfirmPage {
            c: chrome(&req, &admin, "Confirm", "licenses", env),
            heading,
            warn: action == "delete" && l.ever_activated,
            consequences,
            button,
            button_class,
            action_url: format!("/admin/licenses/{key_q}/do/{action}"),
            cancel_url: format!("/admin/licenses/{key_q}?env={env}"),
            action,
        },
    )
}

pub async fn perform(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    ManageForm { env, .. }: ManageForm,
) -> Result<HttpResponse, PageError> {
    let (raw, action) = path.into_inner();
    let key = key_of(&raw)?;
    let who = admin.who();
    if action == "delete" {
        state
            .engine
            .admin(env, &key, AdminChange::Delete { who })
            .await?;
        return Ok(redirect(
            &req,
            &format!("/admin/licenses?env={env}"),
            "ok",
            &format!("License {} deleted.", key.as_str()),
        ));
    }
    let a = Action::parse_admin(&action)
        .ok_or_else(|| PageError::NotFound(format!("no action “{action}”")))?;
    // The actor refuses illegal transitions too; this gives the page's wording.
    let l = state
        .engine
        .act(env, &key, a, &who)
        .await
        .map_err(|e| match e {
            crate::engine::EngineError::Transition(t) => PageError::Conflict(format!(
                "“{action}” is not possible: {t}. Nothing was changed."
            )),
            other => other.into(),
        })?;
    Ok(redirect(
        &req,
        &format!(
            "/admin/licenses/{}?env={env}",
            format::url_encode(key.as_str())
        ),
        "ok",
        &format!("License {} is now {}.", key.as_str(), l.status),
    ))
}

/// Frees a device's slot (from the preview, the Activations page or a customer's page).
pub async fn deactivate(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    ManageForm { form, env }: ManageForm,
) -> Result<HttpResponse, PageError> {
    let key = key_of(&path)?;
    let identifier = Identifier::existing(form.get("identifier"))
        .map_err(|e| PageError::BadRequest(format!("device identifier: {e}")))?;
    let l = state
        .engine
        .admin(
            env,
            &key,
            AdminChange::Deactivate {
                identifier: identifier.clone(),
                who: admin.who(),
            },
        )
        .await?;
    let back = form.get("return");
    let to = if back.starts_with("/admin") && !back.starts_with("//") {
        back.to_owned()
    } else {
        format!(
            "/admin/licenses/{}?env={env}",
            format::url_encode(key.as_str())
        )
    };
    Ok(redirect(
        &req,
        &to,
        "ok",
        &format!(
            "Device {} deactivated on {}: its slot is free ({} in use).",
            identifier.as_str(),
            key.as_str(),
            format::activations(l.active_count() as u32, l.activation_limit.get())
        ),
    ))
}
