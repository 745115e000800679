//! Activations (activations.html, confirm.html): every device binding across
//! the customer's licenses, with identifier search, status filter and remote
//! deactivation behind a prompt. No way to create an activation here: that
//! happens in the software.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::{chrome, redirect, render, Me, PChrome};
use crate::app::account::{self, OwnedLicense};
use crate::app::format;
use crate::app::AppState;
use crate::domain::device::DeviceState;
use crate::domain::{Activation, ActivationKind};
use crate::portal::page::query_param;
use crate::portal::PageError;

/// One device as the Activations page lists it.
pub struct DeviceRow {
    pub identifier: String,
    /// As shown (invisible characters escaped).
    pub shown: String,
    pub domain: bool,
    pub handle: String,
    pub masked: String,
    pub product: String,
    pub env: &'static str,
    /// active, deactivated, or suspended (the license blocks it): the filter's
    /// value and the badge's colour.
    pub status: &'static str,
    /// What the badge says: "license expired" rather than "suspended".
    pub label: String,
    /// Whether the owner may deactivate it (the button is offered).
    pub can_deactivate: bool,
    pub activated: String,
    pub last_seen: String,
    pub confirm_url: String,
}

#[derive(Template)]
#[template(path = "customer/activations.html")]
struct ListPage {
    c: PChrome,
    rows: Vec<DeviceRow>,
    q: String,
    status: String,
    /// The one license shown (its handle), from "Manage this license's devices".
    license: String,
    /// That license as the heading names it (product and masked key).
    license_label: String,
    page: usize,
    pages: usize,
    prev: String,
    next: String,
}

/// Every device on the customer's licenses, filtered by state and identifier.
pub async fn list(
    me: Me,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let q = query_param(&req, "q");
    let status = query_param(&req, "status");
    let wanted = match status.as_str() {
        "" => None,
        s => Some(s.parse::<DeviceState>().map_err(|_| {
            PageError::BadRequest("status must be active, deactivated or suspended".into())
        })?),
    };
    let license = query_param(&req, "license");
    let asked: usize = query_param(&req, "page").parse().unwrap_or(1);
    let mut license_label = String::new();
    let (found, page, pages) = if license.is_empty() {
        let p = account::devices_page(me.owner(&state), wanted, &q, asked).await?;
        (p.found, p.page, p.pages)
    } else {
        // Only the customer's own license: another handle is not found.
        let one = account::devices_of(me.owner(&state), &license, wanted, &q).await?;
        (vec![one], 1, 1)
    };
    if let Some(l) = found.first().filter(|_| !license.is_empty()) {
        license_label = format!(
            "{} {}",
            l.owned.product_name,
            format::mask_key(l.owned.license.key.as_str())
        );
    }
    let rows = found
        .iter()
        .flat_map(|l| {
            l.devices
                .iter()
                .map(|(a, st)| device_row(&l.owned, a, *st, me.tz))
        })
        .collect();
    let link = |n: usize| {
        let n = n.to_string();
        format!(
            "/portal/activations?{}",
            format::query(&[("q", &q), ("status", &status), ("page", &n)])
        )
    };
    let view = ListPage {
        c: chrome(&req, &me, "Activations", "activations"),
        rows,
        prev: if page > 1 {
            link(page - 1)
        } else {
            String::new()
        },
        next: if page < pages {
            link(page + 1)
        } else {
            String::new()
        },
        page,
        pages,
        q,
        status,
        license,
        license_label,
    };
    render(&req, &view)
}

fn device_row(m: &OwnedLicense, a: &Activation, st: DeviceState, tz: chrono_tz::Tz) -> DeviceRow {
    let query = [
        ("license", m.handle.as_str()),
        ("identifier", a.identifier.as_str()),
    ];
    DeviceRow {
        identifier: a.identifier.as_str().into(),
        shown: a.identifier.shown(),
        domain: a.kind == ActivationKind::Domain,
        handle: m.handle.clone(),
        masked: format::mask_key(m.license.key.as_str()),
        product: m.product_name.clone(),
        env: m.env.as_str(),
        status: st.as_str(),
        label: st.label(m.license.status),
        can_deactivate: st.can_deactivate(),
        activated: format::time_in(a.activated_at, tz),
        last_seen: a
            .last_seen
            .map(|t| format::time_in(t, tz))
            .unwrap_or_else(|| "Never".into()),
        confirm_url: format!("/portal/activations/confirm?{}", format::query(&query)),
    }
}

#[derive(Template)]
#[template(path = "customer/confirm.html")]
struct ConfirmPage {
    c: PChrome,
    identifier: String,
    /// The identifier as shown (invisible characters escaped).
    shown: String,
    handle: String,
    masked: String,
    product: String,
    in_use: String,
}

/// The prompt before a device is deactivated.
pub async fn confirm(
    me: Me,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let handle = query_param(&req, "license");
    let identifier = query_param(&req, "identifier");
    let (m, parsed) = account::device_to_confirm(me.owner(&state), &handle, &identifier).await?;
    let l = &m.license;
    let page = ConfirmPage {
        c: chrome(&req, &me, "Deactivate a device", "activations"),
        in_use: format::activations(l.active_count() as u32, l.activation_limit.get()),
        shown: parsed.shown(),
        identifier,
        masked: format::mask_key(l.key.as_str()),
        handle: m.handle,
        product: m.product_name,
    };
    render(&req, &page)
}

/// Frees the device's slot through the license's actor: the next activation
/// on that license already sees the free slot.
pub async fn deactivate(
    me: Me,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, PageError> {
    let form = me.read_form(&req, body).await?;
    let (handle, identifier) = (form.get("license"), form.get("identifier"));
    let done = account::deactivate_device(me.owner(&state), handle, identifier).await?;
    let l = &done.license;
    let text = format!(
        "{} was deactivated. Its slot is free now ({} devices in use on {} · {}): activate the new device from your software.",
        done.identifier.as_str(),
        format::activations(l.active_count() as u32, l.activation_limit.get()),
        done.owned.product_name,
        format::mask_key(l.key.as_str())
    );
    Ok(redirect(&req, "/portal/activations", "ok", &text))
}
