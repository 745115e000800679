//! Activations: every device binding across the customer's licenses, with
//! identifier search, status filter and remote deactivation behind a prompt.
//! No way to create an activation here: that happens in the software.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::{chrome, my_license, my_licenses, redirect, render, Me, PChrome};
use crate::app::format;
use crate::app::AppState;
use crate::domain::{Identifier, LicenseStatus};
use crate::engine::actor::AdminChange;
use crate::portal::forms;
use crate::portal::page::query_param;
use crate::portal::PageError;

pub struct DeviceRow {
    pub identifier: String,
    /// As shown (invisible characters escaped).
    pub shown: String,
    pub domain: bool,
    pub handle: String,
    pub masked: String,
    pub product: String,
    pub env: &'static str,
    /// active, deactivated, or suspended (the license blocks it).
    pub status: &'static str,
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
}

pub async fn list(
    me: Me,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let q = query_param(&req, "q").trim().to_lowercase();
    let status = query_param(&req, "status");
    if !matches!(status.as_str(), "" | "active" | "deactivated" | "suspended") {
        return Err(PageError::BadRequest(
            "status must be active, deactivated or suspended".into(),
        ));
    }
    let mut rows = Vec::new();
    for m in my_licenses(&state, &me).await? {
        let blocked = !matches!(
            m.license.status,
            LicenseStatus::Active | LicenseStatus::Assigned
        );
        let license = if status == "active" || status == "suspended" {
            m.license.clone()
        } else {
            crate::store::with_history(
                state.engine.store().as_ref(),
                m.env,
                m.license.clone(),
                crate::store::HISTORY_SHOWN,
            )
            .await?
        };
        for a in license.activations.iter().rev() {
            let st = if !a.is_active() {
                "deactivated"
            } else if blocked {
                "suspended"
            } else {
                "active"
            };
            if (!status.is_empty() && st != status)
                || (!q.is_empty() && !a.identifier.as_str().to_lowercase().contains(&q))
            {
                continue;
            }
            rows.push(DeviceRow {
                identifier: a.identifier.as_str().into(),
                shown: a.identifier.shown(),
                domain: a.kind.as_str() == "domain",
                handle: m.handle.clone(),
                masked: format::mask_key(m.license.key.as_str()),
                product: m.product_name.clone(),
                env: m.env.as_str(),
                status: st,
                activated: format::time_in(a.activated_at, me.tz),
                last_seen: a
                    .last_seen
                    .map(|t| format::time_in(t, me.tz))
                    .unwrap_or_else(|| "Never".into()),
                confirm_url: format!(
                    "/portal/activations/confirm?{}",
                    format::query(&[
                        ("license", &m.handle),
                        ("identifier", a.identifier.as_str())
                    ])
                ),
            });
        }
    }
    render(
        &req,
        &ListPage {
            c: chrome(&req, &me, "Activations", "activations"),
            rows,
            q: query_param(&req, "q"),
            status,
        },
    )
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

pub async fn confirm(
    me: Me,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let m = my_license(&state, &me, &query_param(&req, "license")).await?;
    let identifier = query_param(&req, "identifier");
    let parsed = Identifier::existing(&identifier).map_err(PageError::BadRequest)?;
    if m.license.find_active(&parsed).is_none() {
        return Err(PageError::Conflict(
            "This device is not active on the license (already deactivated?).".into(),
        ));
    }
    render(
        &req,
        &ConfirmPage {
            c: chrome(&req, &me, "Deactivate a device", "activations"),
            in_use: format::activations(
                m.license.active_count() as u32,
                m.license.activation_limit.get(),
            ),
            shown: parsed.shown(),
            identifier,
            handle: m.handle,
            masked: format::mask_key(m.license.key.as_str()),
            product: m.product_name,
        },
    )
}

/// Frees the device's slot through the license's actor: the next activation
/// on that license already sees the free slot.
pub async fn deactivate(
    me: Me,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, PageError> {
    let form = forms::read(&req, body).await?;
    me.check(&form)?;
    let m = my_license(&state, &me, form.get("license")).await?;
    if !matches!(
        m.license.status,
        LicenseStatus::Active | LicenseStatus::Assigned
    ) {
        return Err(PageError::Conflict(format!(
            "The license is {}: its devices cannot be changed here. Contact your vendor.",
            m.license.status
        )));
    }
    let identifier = Identifier::existing(form.get("identifier"))
        .map_err(|e| PageError::BadRequest(format!("device identifier: {e}")))?;
    if m.license.find_active(&identifier).is_none() {
        return Err(PageError::Conflict(
            "This device is not active on the license (already deactivated?).".into(),
        ));
    }
    let l = state
        .engine
        .admin(
            m.env,
            &m.license.key,
            AdminChange::Deactivate {
                identifier: identifier.clone(),
                who: me.who(),
            },
        )
        .await?;
    Ok(redirect(
        &req,
        "/portal/activations",
        "ok",
        &format!(
            "{} was deactivated. Its slot is free now ({} devices in use on {} · {}): activate the new device from your software.",
            identifier.as_str(),
            format::activations(l.active_count() as u32, l.activation_limit.get()),
            m.product_name,
            format::mask_key(l.key.as_str())
        ),
    ))
}
