//! Settings per environment: grace period, abuse detection, re-authentication for previews.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::{chrome, env_of, redirect, render, render_invalid, Admin, Chrome, ManageForm};
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
}

#[derive(Template)]
#[template(path = "admin/settings.html")]
struct SettingsPage {
    c: Chrome,
    v: SettingsFields,
    errors: FieldErrors,
}

fn fields(s: &EnvSettings) -> SettingsFields {
    SettingsFields {
        grace_period_days: s.grace_period_days.to_string(),
        abuse_enabled: s.abuse.enabled,
        threshold: s.abuse.threshold.to_string(),
        window_minutes: (s.abuse.window_secs / 60).to_string(),
        auto_suspend: s.abuse.auto_suspend,
        reauth_preview: s.reauth_preview,
    }
}

pub async fn page(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let env = env_of(&req)?;
    render(
        &req,
        &SettingsPage {
            c: chrome(&req, &admin, "Settings", "settings", env),
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
    };
    let mut errors = FieldErrors::default();
    let grace = v
        .grace_period_days
        .parse::<u32>()
        .ok()
        .filter(|d| *d <= 365);
    if grace.is_none() {
        errors.add("grace_period_days", "Grace period must be 0–365 days.");
    }
    let threshold = v
        .threshold
        .parse::<u32>()
        .ok()
        .filter(|t| (1..=100).contains(t));
    if threshold.is_none() {
        errors.add("threshold", "Threshold must be 1–100 events.");
    }
    let window = v
        .window_minutes
        .parse::<u64>()
        .ok()
        .filter(|m| (1..=7 * 24 * 60).contains(m));
    if window.is_none() {
        errors.add(
            "window_minutes",
            "Window must be 1–10080 minutes (one week).",
        );
    }
    let (Some(grace), Some(threshold), Some(window)) = (grace, threshold, window) else {
        return render_invalid(&SettingsPage {
            c: chrome(&req, &admin, "Settings", "settings", env),
            v,
            errors,
        });
    };
    let s = EnvSettings {
        grace_period_days: grace,
        abuse: AbuseSettings {
            enabled: v.abuse_enabled,
            threshold,
            window_secs: window * 60,
            auto_suspend: v.auto_suspend,
        },
        reauth_preview: v.reauth_preview,
    };
    state.engine.update_settings(env, s, &admin.who()).await?;
    Ok(redirect(
        &req,
        &format!("/admin/settings?env={env}"),
        "ok",
        &format!("Settings for {env} saved; they apply at once."),
    ))
}
