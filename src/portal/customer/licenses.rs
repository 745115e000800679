//! My Licenses: the customer's licenses with search, status filter and the
//! details page (masked key with copy, entitlements, Validation Status).

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::Utc;

use super::{chrome, my_license, my_licenses, render, Me, Mine, PChrome};
use crate::app::format;
use crate::app::AppState;
use crate::domain::diagnosis::diagnose;
use crate::domain::LicenseStatus;
use crate::portal::page::query_param;
use crate::portal::PageError;

/// One row of My Licenses (also the dashboard's newest licenses).
pub struct LicenseRow {
    pub handle: String,
    pub masked: String,
    pub product: String,
    pub env: &'static str,
    pub status: &'static str,
    pub activations: String,
    pub percent: u32,
    pub expires: String,
    pub expiry_class: &'static str,
    pub added: String,
}

pub fn row(m: &Mine, tz: chrono_tz::Tz) -> LicenseRow {
    let l = &m.license;
    let now = Utc::now();
    let (expires, expiry_class) = match l.expires_at {
        None => ("Never".to_owned(), "lifetime"),
        Some(t) => (format::date_in(t, tz), format::expiry(Some(t), now).1),
    };
    let in_use = l.active_count() as u32;
    let limit = l.activation_limit.get();
    LicenseRow {
        handle: m.handle.clone(),
        masked: format::mask_key(l.key.as_str()),
        product: m.product_name.clone(),
        env: m.env.as_str(),
        status: l.status.as_str(),
        activations: format::activations(in_use, limit),
        percent: if limit > 0 {
            (in_use * 100 / limit as u32).min(100)
        } else {
            0
        },
        expires,
        expiry_class,
        added: format::date_in(l.created_at, tz),
    }
}

#[derive(Template)]
#[template(path = "customer/licenses.html")]
struct ListPage {
    c: PChrome,
    rows: Vec<LicenseRow>,
    q: String,
    status: String,
    statuses: Vec<&'static str>,
    total: usize,
}

pub async fn list(
    me: Me,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let q = query_param(&req, "q").trim().to_owned();
    let status = query_param(&req, "status").trim().to_owned();
    let wanted = match status.as_str() {
        "" => None,
        s => Some(s.parse::<LicenseStatus>().map_err(PageError::BadRequest)?),
    };
    let all = my_licenses(&state, &me).await?;
    let total = all.len();
    let needle = q.to_lowercase();
    let rows = all
        .iter()
        .filter(|m| wanted.is_none_or(|s| m.license.status == s))
        .filter(|m| {
            needle.is_empty()
                || m.license.key.as_str().to_lowercase().contains(&needle)
                || m.product_name.to_lowercase().contains(&needle)
        })
        .map(|m| row(m, me.tz))
        .collect();
    render(
        &req,
        &ListPage {
            c: chrome(&req, &me, "My Licenses", "licenses"),
            rows,
            q,
            status,
            statuses: vec![
                "active",
                "assigned",
                "suspended",
                "inactive",
                "expired",
                "revoked",
            ],
            total,
        },
    )
}

#[derive(Template)]
#[template(path = "customer/license.html")]
struct DetailPage {
    c: PChrome,
    r: LicenseRow,
    key: String,
    reveal: bool,
    env_label: &'static str,
    api_url: String,
    eligibility: String,
    features: Vec<(String, String)>,
    devices_code: String,
    devices_detail: String,
    devices_valid: bool,
    new_code: String,
    new_detail: String,
    new_valid: bool,
    advice: Vec<String>,
    limit: String,
}

pub async fn detail(
    me: Me,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let m = my_license(&state, &me, &path).await?;
    let l = &m.license;
    let now = Utc::now();
    let d = diagnose(l, now, state.engine.settings().grace(m.env));
    let mut advice = Vec::new();
    use crate::domain::VerdictCode as V;
    for code in [
        d.activated_devices.as_ref().map(|v| v.code),
        Some(d.new_device.code),
    ]
    .into_iter()
    .flatten()
    {
        let tip = match code {
            V::LimitReached => "Every device slot is taken: deactivate an old device on the Activations page, then activate the new one from your software.",
            V::Expired => "The license has expired: renew it with your vendor to use the software again.",
            V::InGracePeriod => "The license has expired and works only during the grace period: renew it soon.",
            V::Suspended => "The license is suspended by the vendor (for example after unusual activity or a payment issue): contact them.",
            V::Inactive => "The vendor paused this license: contact them to have it reactivated.",
            V::Revoked => "The license was revoked permanently and cannot be used again: contact your vendor for a replacement.",
            V::NotAssigned => "The license is not assigned yet.",
            _ => continue,
        };
        if !advice.iter().any(|a: &String| a == tip) {
            advice.push(tip.to_owned());
        }
    }
    let env = m.env;
    advice.push(format!(
        "This is a {env} license: your software must call the {env} API (/v1/{env}/…). A {env} key used against the other environment answers NOT_FOUND."
    ));
    let base = state.config.public_base().to_owned();
    let page = DetailPage {
        c: chrome(&req, &me, "License details", "licenses"),
        r: row(&m, me.tz),
        key: l.key.as_str().to_owned(),
        reveal: req.query_string().contains("reveal=1"),
        env_label: match m.env {
            crate::domain::Environment::Production => "Production",
            crate::domain::Environment::Staging => "Staging",
        },
        api_url: format!("{base}/v1/{}/licenses/validate", m.env),
        eligibility: l.eligibility.describe(),
        features: l
            .feature_flags
            .iter()
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect(),
        devices_code: d
            .activated_devices
            .as_ref()
            .map(|v| v.code.as_str().to_owned())
            .unwrap_or_default(),
        devices_detail: d
            .activated_devices
            .as_ref()
            .map(|v| v.detail.clone())
            .unwrap_or_default(),
        devices_valid: d.activated_devices.as_ref().is_some_and(|v| v.valid),
        new_code: d.new_device.code.as_str().to_owned(),
        new_detail: d.new_device.detail.clone(),
        new_valid: d.new_device.valid,
        advice,
        limit: if l.activation_limit.is_unlimited() {
            "Unlimited".into()
        } else {
            l.activation_limit.get().to_string()
        },
    };
    render(&req, &page)
}
