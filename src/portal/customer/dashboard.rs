//! The customer's dashboard: account health, totals by state, device use against
//! limits, licenses expiring soon and recent activity.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{Duration, Utc};

use super::licenses::{row, LicenseRow};
use super::{chrome, my_licenses, render, Me, PChrome};
use crate::app::format;
use crate::app::AppState;
use crate::domain::LicenseStatus;
use crate::portal::PageError;
use crate::store::AuditQuery;

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
    by_state: Vec<(&'static str, usize)>,
    soon: Vec<LicenseRow>,
    newest: Vec<LicenseRow>,
    usage: Vec<LicenseRow>,
    activity: Vec<Activity>,
}

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

pub async fn page(
    me: Me,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let mine = my_licenses(&state, &me).await?;
    let now = Utc::now();
    let usable = |s: LicenseStatus| matches!(s, LicenseStatus::Active | LicenseStatus::Assigned);
    let in_use: usize = mine.iter().map(|m| m.license.active_count()).sum();
    let unlimited = mine
        .iter()
        .any(|m| usable(m.license.status) && m.license.activation_limit.is_unlimited());
    let capacity: i64 = mine
        .iter()
        .filter(|m| usable(m.license.status))
        .map(|m| i64::from(m.license.activation_limit.get().max(0)))
        .sum();
    let expiring = |days: i64| {
        mine.iter()
            .filter(|m| m.license.status.can_expire())
            .filter(|m| {
                m.license
                    .expires_at
                    .is_some_and(|t| t > now && t <= now + Duration::days(days))
            })
            .collect::<Vec<_>>()
    };
    let mut health = Vec::new();
    for m in &mine {
        let l = &m.license;
        let name = format!("{} ({})", m.product_name, format::mask_key(l.key.as_str()));
        match l.status {
            LicenseStatus::Suspended => health.push(format!("{name} is suspended.")),
            LicenseStatus::Inactive => health.push(format!("{name} is paused by your vendor.")),
            LicenseStatus::Expired => health.push(format!("{name} has expired.")),
            _ if l.expires_at.is_some_and(|t| t <= now) && l.status.can_expire() => {
                health.push(format!("{name} has expired (grace period)."))
            }
            _ if usable(l.status) && !l.activation_limit.has_room(l.active_count()) => {
                health.push(format!("{name} has every device slot in use."))
            }
            _ => {}
        }
    }
    for m in expiring(7) {
        health.push(format!(
            "{} ({}) expires within 7 days.",
            m.product_name,
            format::mask_key(m.license.key.as_str())
        ));
    }
    let mut activity = Vec::new();
    for m in mine.iter().take(10) {
        let entries = state
            .engine
            .store()
            .list_audit(
                m.env,
                &AuditQuery {
                    license_key: Some(m.license.key.as_str().to_owned()),
                    limit: 5,
                    ..AuditQuery::default()
                },
            )
            .await?;
        for e in entries {
            activity.push((
                e.at,
                Activity {
                    at: format::time_in(e.at, me.tz),
                    what: describe(&e.action, &e.detail),
                    license: format!(
                        "{} · {}",
                        m.product_name,
                        format::mask_key(m.license.key.as_str())
                    ),
                },
            ));
        }
    }
    activity.sort_by_key(|a| std::cmp::Reverse(a.0));
    let page = DashboardPage {
        c: chrome(&req, &me, "Dashboard", "dashboard"),
        total: mine.len(),
        active: mine
            .iter()
            .filter(|m| usable(m.license.status) && m.license.expires_at.is_none_or(|t| t > now))
            .count(),
        in_use,
        capacity: if unlimited {
            "unlimited".into()
        } else {
            capacity.to_string()
        },
        expiring_30: expiring(30).len(),
        health,
        by_state: [
            LicenseStatus::Active,
            LicenseStatus::Assigned,
            LicenseStatus::Suspended,
            LicenseStatus::Inactive,
            LicenseStatus::Expired,
            LicenseStatus::Revoked,
        ]
        .iter()
        .map(|s| {
            (
                s.as_str(),
                mine.iter().filter(|m| m.license.status == *s).count(),
            )
        })
        .filter(|(_, n)| *n > 0)
        .collect(),
        soon: expiring(7).into_iter().map(|m| row(m, me.tz)).collect(),
        newest: mine.iter().take(5).map(|m| row(m, me.tz)).collect(),
        usage: mine
            .iter()
            .filter(|m| usable(m.license.status))
            .map(|m| row(m, me.tz))
            .collect(),
        activity: activity.into_iter().take(10).map(|(_, a)| a).collect(),
    };
    render(&req, &page)
}
