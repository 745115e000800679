//! The customer's dashboard (dashboard.html): account health, totals by state,
//! device use against limits, licenses expiring soon and recent activity.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{DateTime, Utc};

use super::licenses::{row, LicenseRow};
use super::{chrome, render, Me, PChrome};
use crate::app::account::{self, Overview, OwnedLicense};
use crate::app::format;
use crate::app::AppState;
use crate::domain::health::{expires_within, Attention, SOON};
use crate::portal::PageError;

/// One line of Recent activity.
pub struct Activity {
    pub at: String,
    pub what: String,
    pub license: String,
}

#[derive(Template)]
#[template(path = "customer/dashboard.html")]
struct DashboardPage {
    c: PChrome,
    total: usize,
    active: usize,
    in_use: usize,
    capacity: String,
    expiring_30: usize,
    health: Vec<String>,
    /// Items of Account health beyond those shown.
    health_more: usize,
    soon_more: usize,
    usage_more: usize,
    by_state: Vec<(&'static str, usize)>,
    soon: Vec<LicenseRow>,
    newest: Vec<LicenseRow>,
    usage: Vec<LicenseRow>,
    activity: Vec<Activity>,
}

/// The dashboard: the overview gathered at one instant, then shown.
pub async fn page(
    me: Me,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let now = Utc::now();
    let o = account::overview(me.owner(&state), now).await?;
    render(&req, &dashboard(&req, &me, &o, now))
}

/// Rows each list of the dashboard shows; the rest is a link away, so the page
/// stays short for a customer with thousands of licenses.
const SHOWN: usize = 5;

fn dashboard(req: &HttpRequest, me: &Me, o: &Overview, now: DateTime<Utc>) -> DashboardPage {
    let mine = &o.licenses;
    let t = &o.totals;
    let soon: Vec<&OwnedLicense> = mine
        .iter()
        .filter(|m| expires_within(&m.license, now, SOON))
        .collect();
    // The fullest usable licenses first: the ones close to their limit.
    let mut usage: Vec<&OwnedLicense> = mine
        .iter()
        .filter(|m| m.license.status.is_usable())
        .collect();
    usage.sort_by_key(|m| std::cmp::Reverse(use_ratio(m)));
    DashboardPage {
        c: chrome(req, me, "Dashboard", "dashboard"),
        total: t.total,
        active: t.active,
        in_use: t.in_use,
        capacity: t
            .capacity
            .map_or_else(|| "unlimited".into(), |n| n.to_string()),
        expiring_30: t.expiring,
        health: o
            .attention
            .iter()
            .take(SHOWN)
            .map(|(i, what)| health_line(&mine[*i], *what))
            .collect(),
        health_more: o.attention.len().saturating_sub(SHOWN),
        by_state: t.by_state.iter().map(|(s, n)| (s.as_str(), *n)).collect(),
        soon: soon.iter().take(SHOWN).map(|m| row(m, me.tz)).collect(),
        soon_more: soon.len().saturating_sub(SHOWN),
        newest: mine.iter().take(SHOWN).map(|m| row(m, me.tz)).collect(),
        usage: usage.iter().take(SHOWN).map(|m| row(m, me.tz)).collect(),
        usage_more: usage.len().saturating_sub(SHOWN),
        activity: o
            .activity
            .iter()
            .map(|(i, e)| Activity {
                at: format::time_in(e.at, me.tz),
                what: describe(&e.action, &e.detail),
                license: format!("{} · {}", mine[*i].product_name, masked(&mine[*i])),
            })
            .collect(),
    }
}

/// Slots in use per thousand (unlimited licenses count as empty).
fn use_ratio(m: &OwnedLicense) -> u64 {
    let l = &m.license;
    if l.activation_limit.is_unlimited() {
        return 0;
    }
    let limit = l.activation_limit.get().max(1) as u64;
    l.active_count() as u64 * 1000 / limit
}

fn masked(m: &OwnedLicense) -> String {
    format::mask_key(m.license.key.as_str())
}

/// One item of Account health, naming the license by product and masked key.
fn health_line(m: &OwnedLicense, what: Attention) -> String {
    let name = format!("{} ({})", m.product_name, masked(m));
    match what {
        Attention::Suspended => format!("{name} is suspended."),
        Attention::Paused => format!("{name} is paused by your vendor."),
        Attention::Expired => format!("{name} has expired."),
        Attention::Revoked => format!("{name} was revoked."),
        Attention::InGrace => format!("{name} has expired (grace period)."),
        Attention::Flagged => format!(
            "{name} was flagged: many devices were refused. Check that the key has not been shared."
        ),
        Attention::ExpiresSoon => format!("{name} expires within 7 days."),
    }
}

/// An audit entry as the customer reads it.
fn describe(action: &str, detail: &str) -> String {
    match action {
        "activation.created" => format!("Device activated: {detail}"),
        "activation.deactivated" => format!("Device deactivated: {detail}"),
        "license.assign" => "License assigned to you".into(),
        "license.edited" => "License changed by your vendor".into(),
        "license.suspend" => "License suspended".into(),
        "license.unsuspend" => "License unsuspended".into(),
        "license.inactivate" => "License paused".into(),
        "license.reactivate" => "License reactivated".into(),
        "license.revoke" => "License revoked".into(),
        "license.expire" => "License expired".into(),
        "license.renew" => "License renewed".into(),
        other => other.replace('.', " "),
    }
}
