//! Settings per environment: grace period, abuse detection, re-authentication for previews.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::{chrome, redirect, render, render_invalid, Admin, AdminView, Chrome, ManageForm};
use crate::app::AppState;
use crate::config::AbuseSettings;
use crate::domain::EnvSettings;
use crate::portal::forms::FieldErrors;
use crate::portal::PageError;

/// The form as typed.
pub struct SettingsFields {
    pub grace_period_days: String,
    pub abuse_enabled: bool,
    pub threshold: String,
    pub window_minutes: String,
    pub auto_suspend: bool,
    pub reauth_preview: bool,
    pub mail_key_on_assign: bool,
    pub security_alerts_mandatory: bool,
    pub admin_two_factor_required: bool,
}

#[derive(Template)]
#[template(path = "admin/settings.html")]
struct SettingsPage {
    c: Chrome,
    v: SettingsFields,
    errors: FieldErrors,
    /// Settings → Branding as stored (global).
    b: std::sync::Arc<crate::domain::branding::Branding>,
}

fn fields(s: &EnvSettings) -> SettingsFields {
    SettingsFields {
        grace_period_days: s.grace_period_days.to_string(),
        abuse_enabled: s.abuse.enabled,
        threshold: s.abuse.threshold.to_string(),
        window_minutes: (s.abuse.window_secs / 60).to_string(),
        auto_suspend: s.abuse.auto_suspend,
        reauth_preview: s.reauth_preview,
        mail_key_on_assign: s.mail_key_on_assign,
        security_alerts_mandatory: s.security_alerts_mandatory,
        admin_two_factor_required: s.admin_two_factor_required,
    }
}

pub async fn page(
    AdminView { admin, req, env }: AdminView,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    render(
        &req,
        &SettingsPage {
            c: chrome(&req, &admin, "Settings", "settings", env),
            b: state.services.branding.get(),
            v: fields(&state.engine.settings().get(env)),
            errors: FieldErrors::default(),
        },
    )
}

pub async fn save(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    ManageForm { form, env }: ManageForm,
) -> Result<HttpResponse, PageError> {
    let v = SettingsFields {
        grace_period_days: form.get("grace_period_days").into(),
        abuse_enabled: form.get("abuse_enabled") == "on",
        threshold: form.get("threshold").into(),
        window_minutes: form.get("window_minutes").into(),
        auto_suspend: form.get("auto_suspend") == "on",
        reauth_preview: form.get("reauth_preview") == "on",
        mail_key_on_assign: form.get("mail_key_on_assign") == "on",
        security_alerts_mandatory: form.get("security_alerts_mandatory") == "on",
        admin_two_factor_required: form.get("admin_two_factor_required") == "on",
    };
    let mut errors = FieldErrors::default();
    let mut number = |field: &'static str, raw: &str, msg: &str| {
        raw.parse::<u64>().unwrap_or_else(|_| {
            errors.add(field, msg.to_owned());
            0
        })
    };
    let grace = number(
        "grace_period_days",
        &v.grace_period_days,
        "Grace period must be 0–365 days.",
    );
    let threshold = number("threshold", &v.threshold, "Threshold must be 1–100 events.");
    let window = number(
        "window_minutes",
        &v.window_minutes,
        "Window must be 1–10080 minutes (one week).",
    );
    let s = EnvSettings {
        grace_period_days: u32::try_from(grace).unwrap_or(u32::MAX),
        abuse: AbuseSettings {
            enabled: v.abuse_enabled,
            threshold: u32::try_from(threshold).unwrap_or(u32::MAX),
            window_secs: window.saturating_mul(60),
            auto_suspend: v.auto_suspend,
        },
        reauth_preview: v.reauth_preview,
        mail_key_on_assign: v.mail_key_on_assign,
        security_alerts_mandatory: v.security_alerts_mandatory,
        admin_two_factor_required: v.admin_two_factor_required,
    };
    for (field, msg) in s.problems() {
        errors.add(form_field(field), msg);
    }
    if !errors.is_empty() {
        return render_invalid(&SettingsPage {
            c: chrome(&req, &admin, "Settings", "settings", env),
            b: state.services.branding.get(),
            v,
            errors,
        });
    }
    crate::app::settings::update(&state.engine, env, s, &admin.who()).await?;
    Ok(redirect(
        &req,
        &format!("/admin/settings?env={env}"),
        "ok",
        &format!("Settings for {env} saved; they apply at once."),
    ))
}

/// The form's name for a settings field.
fn form_field(field: &'static str) -> &'static str {
    match field {
        "abuse.threshold" => "threshold",
        "abuse.window_secs" => "window_minutes",
        other => other,
    }
}
