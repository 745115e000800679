//! My Licenses (licenses.html): the customer's licenses with search and status
//! filter, and the details page (license.html: masked key with copy,
//! entitlements, Validation Status).

use crate::domain::features::labelled;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::Utc;

use super::{chrome, render, Me, PChrome};
use crate::app::account::{self, OwnedLicense};
use crate::app::format;
use crate::app::AppState;
use crate::domain::diagnosis::Diagnosis;
use crate::domain::health::OWNED_STATES;
use crate::domain::{Environment, LicenseStatus, Verdict, VerdictCode};
use crate::portal::page::query_param;
use crate::portal::PageError;

/// One row of My Licenses (also the dashboard's tables).
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
    /// "Renew" or "Buy" with its link, or empty labels.
    pub offer_label: &'static str,
    pub offer_url: String,
}

/// A row of My Licenses from the catalog's summary.
fn summary_row(m: &account::OwnedSummary, tz: chrono_tz::Tz) -> LicenseRow {
    row_of(&m.handle, &m.product_name, m.env, &m.summary, tz).with_offer(m.offer.as_ref())
}

impl LicenseRow {
    fn with_offer(mut self, o: Option<&crate::domain::product::Offer>) -> LicenseRow {
        if let Some(o) = o {
            self.offer_label = o.label;
            self.offer_url = o.url.clone();
        }
        self
    }
}

/// How a license is shown in a row, dates in the customer's zone.
pub fn row(m: &OwnedLicense, tz: chrono_tz::Tz) -> LicenseRow {
    let summary = crate::engine::catalog::LicenseSummary::from(&m.license);
    row_of(&m.handle, &m.product_name, m.env, &summary, tz).with_offer(m.offer.as_ref())
}

fn row_of(
    handle: &str,
    product: &str,
    env: Environment,
    l: &crate::engine::catalog::LicenseSummary,
    tz: chrono_tz::Tz,
) -> LicenseRow {
    let (expires, expiry_class) = match l.expires_at {
        None => ("Never".to_owned(), "lifetime"),
        Some(t) => (
            format::date_in(t, tz),
            format::expiry(Some(t), Utc::now()).1,
        ),
    };
    let (in_use, limit) = (l.activations_in_use, l.activation_limit);
    LicenseRow {
        handle: handle.to_owned(),
        masked: format::mask_key(l.key.as_str()),
        product: product.to_owned(),
        env: env.as_str(),
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
        offer_label: "",
        offer_url: String::new(),
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
    matched: usize,
    page: usize,
    pages: usize,
    /// Links to the previous and next pages (empty at the ends).
    prev: String,
    next: String,
}

/// My Licenses, searched by key or product and filtered by status.
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
    let asked: usize = query_param(&req, "page").parse().unwrap_or(1);
    let p = account::licenses_page(me.owner(&state), wanted, &q, asked).await?;
    let link = |n: usize| {
        let n = n.to_string();
        format!(
            "/portal/licenses?{}",
            format::query(&[("q", &q), ("status", &status), ("page", &n)])
        )
    };
    let page = ListPage {
        c: chrome(&req, &me, "My Licenses", "licenses"),
        rows: p.rows.iter().map(|m| summary_row(m, me.tz)).collect(),
        prev: if p.page > 1 {
            link(p.page - 1)
        } else {
            String::new()
        },
        next: if p.page < p.pages {
            link(p.page + 1)
        } else {
            String::new()
        },
        q,
        status,
        statuses: OWNED_STATES.iter().map(|s| s.as_str()).collect(),
        total: p.total,
        matched: p.matched,
        page: p.page,
        pages: p.pages,
    };
    render(&req, &page)
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

/// One license's details and what the software hears about it now.
pub async fn detail(
    me: Me,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let (m, d) = account::license_status(me.owner(&state), &path, Utc::now()).await?;
    let api_url = format!(
        "{}/v1/{}/licenses/validate",
        state.config.public_base(),
        m.env
    );
    let page = detail_page(&req, &me, &m, &d, api_url);
    render(&req, &page)
}

fn detail_page(
    req: &HttpRequest,
    me: &Me,
    m: &OwnedLicense,
    d: &Diagnosis,
    api_url: String,
) -> DetailPage {
    let l = &m.license;
    let devices = d.activated_devices.as_ref();
    DetailPage {
        c: chrome(req, me, "License details", "licenses"),
        r: row(m, me.tz),
        key: l.key.as_str().to_owned(),
        reveal: req.query_string().contains("reveal=1"),
        env_label: match m.env {
            Environment::Production => "Production",
            Environment::Staging => "Staging",
        },
        api_url,
        eligibility: l.eligibility.describe(),
        features: labelled(&m.features, &l.feature_flags),
        devices_code: devices
            .map(|v| v.code.as_str().to_owned())
            .unwrap_or_default(),
        devices_detail: devices.map(|v| v.detail.to_string()).unwrap_or_default(),
        devices_valid: devices.is_some_and(|v| v.valid),
        new_code: d.new_device.code.as_str().to_owned(),
        new_detail: d.new_device.detail.to_string(),
        new_valid: d.new_device.valid,
        advice: advice(d, m.env),
        limit: if l.activation_limit.is_unlimited() {
            "Unlimited".into()
        } else {
            l.activation_limit.get().to_string()
        },
    }
}

/// "Why a license may not work": a tip per verdict the devices would hear
/// (each once), then which API the license's environment answers on.
fn advice(d: &Diagnosis, env: Environment) -> Vec<String> {
    let verdicts = d.activated_devices.iter().chain([&d.new_device]);
    let mut out: Vec<String> = Vec::new();
    for tip in verdicts.filter_map(|v: &Verdict| tip(v.code)) {
        if !out.iter().any(|a| a == tip) {
            out.push(tip.to_owned());
        }
    }
    out.push(format!(
        "This is a {env} license: your software must call the {env} API (/v1/{env}/…). A {env} key used against the other environment answers NOT_FOUND."
    ));
    out
}

fn tip(code: VerdictCode) -> Option<&'static str> {
    use VerdictCode as V;
    Some(match code {
        V::LimitReached => "Every device slot is taken: deactivate an old device on the Activations page, then activate the new one from your software.",
        V::Expired => "The license has expired: renew it with your vendor to use the software again.",
        V::InGracePeriod => "The license has expired and works only during the grace period: renew it soon.",
        V::Suspended => "The license is suspended by the vendor (for example after unusual activity or a payment issue): contact them.",
        V::Inactive => "The vendor paused this license: contact them to have it reactivated.",
        V::Revoked => "The license was revoked permanently and cannot be used again: contact your vendor for a replacement.",
        V::NotAssigned => "The license is not assigned yet.",
        _ => return None,
    })
}
