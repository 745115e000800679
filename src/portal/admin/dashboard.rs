//! The dashboard: counts by state and product, licenses expiring soon, recent
//! activity and validations per minute from the server's own metrics.

use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::Utc;

use super::{chrome, render, AdminView, Chrome};
use crate::app::traffic::{self, TrafficSummary};
use crate::app::{audit, format, products, AppState};
use crate::domain::audit_text::sentence;
use crate::domain::{AuditEntry, LicenseStatus, Product};
use crate::engine::catalog::Stats;
use crate::portal::PageError;

/// Audit entries the recent-activity list shows.
const RECENT_EVENTS: usize = 10;
/// Products the "top products" list shows.
const TOP_PRODUCTS: usize = 5;

/// One bar of the chart.
pub struct Bar {
    pub x: u32,
    pub y: u32,
    pub h: u32,
    pub label: String,
}

/// A recent audit event.
pub struct Event {
    pub at: String,
    pub action: String,
    pub key: String,
    pub key_q: String,
    pub actor: String,
    /// What happened, as a sentence.
    pub sentence: String,
}

/// One day of the 7-day chart: activations and validations side by side,
/// each scaled to its own week's peak.
pub struct DayBars {
    pub label: String,
    pub x: u32,
    pub act: u64,
    pub act_h: u32,
    pub val: u64,
    pub val_h: u32,
}

/// The week's bars, oldest first.
fn week(t: &TrafficSummary) -> Vec<DayBars> {
    let peak_a = t
        .days
        .iter()
        .map(|d| d.1.activations)
        .max()
        .unwrap_or(0)
        .max(1);
    let peak_v = t
        .days
        .iter()
        .map(|d| d.1.validations)
        .max()
        .unwrap_or(0)
        .max(1);
    let h = |v: u64, peak: u64| ((v as f64 / peak as f64) * 110.0).round() as u32;
    t.days
        .iter()
        .enumerate()
        .map(|(i, (day, c))| DayBars {
            label: day.format("%a %d").to_string(),
            x: i as u32 * 84 + 10,
            act: c.activations,
            act_h: h(c.activations, peak_a),
            val: c.validations,
            val_h: h(c.validations, peak_v),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
struct DashboardPage {
    c: Chrome,
    total: usize,
    active: usize,
    in_use: u64,
    products_on: usize,
    products_off: usize,
    expiring: [usize; 3],
    by_status: Vec<(&'static str, usize)>,
    by_product: Vec<(String, String, usize)>,
    events: Vec<Event>,
    bars: Vec<Bar>,
    per_minute_now: u64,
    peak: u64,
    traffic: TrafficSummary,
    week: Vec<DayBars>,
    /// Abuse cases waiting for review.
    open_cases: usize,
}

/// Chart geometry: 30 bars in a 600×140 box.
fn bars(values: &[u64]) -> (Vec<Bar>, u64) {
    let peak = values.iter().copied().max().unwrap_or(0).max(1);
    let n = values.len().max(1) as u32;
    let w = 600 / n;
    let bars = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let h = ((*v as f64 / peak as f64) * 120.0).round() as u32;
            Bar {
                x: i as u32 * w + 1,
                y: 130 - h,
                h,
                label: format!("{} min ago: {v} validations", values.len() - 1 - i),
            }
        })
        .collect();
    (bars, peak)
}

impl Event {
    /// An audit entry as the recent-activity list shows it.
    fn new(e: AuditEntry) -> Event {
        Event {
            sentence: sentence(&e),
            at: format::time(e.at),
            action: e.action,
            key_q: e
                .license_key
                .as_deref()
                .map(format::url_encode)
                .unwrap_or_default(),
            key: e.license_key.unwrap_or_default(),
            actor: e.actor,
        }
    }
}

/// Licenses per product as (id, name, count), most first, then by name.
fn by_product(products: &[Product], st: &Stats) -> Vec<(String, String, usize)> {
    let mut rows: Vec<(String, String, usize)> = products
        .iter()
        .map(|p| {
            (
                p.id.to_string(),
                p.name.clone(),
                st.by_product.get(&p.id).copied().unwrap_or(0),
            )
        })
        .collect();
    rows.sort_by(|a, b| b.2.cmp(&a.2).then(a.1.cmp(&b.1)));
    rows.truncate(TOP_PRODUCTS);
    rows
}

impl DashboardPage {
    /// The page from the counts, the products, the newest audit entries and
    /// validations per minute (oldest first).
    fn new(
        c: Chrome,
        st: Stats,
        products: &[Product],
        events: Vec<Event>,
        per_minute: &[u64],
        traffic: TrafficSummary,
    ) -> DashboardPage {
        let (bars, peak) = bars(per_minute);
        let count = |s: &LicenseStatus| st.by_status.get(s).copied().unwrap_or(0);
        DashboardPage {
            c,
            total: st.total,
            active: count(&LicenseStatus::Active),
            in_use: st.activations_in_use,
            products_on: products.iter().filter(|p| p.active).count(),
            products_off: products.iter().filter(|p| !p.active).count(),
            expiring: st.expiring,
            by_status: LicenseStatus::ALL
                .iter()
                .map(|s| (s.as_str(), count(s)))
                .collect(),
            by_product: by_product(products, &st),
            events,
            per_minute_now: per_minute.last().copied().unwrap_or(0),
            bars,
            peak,
            week: week(&traffic),
            traffic,
            open_cases: 0,
        }
    }
}

/// The dashboard of an environment.
pub async fn page(
    AdminView { admin, req, env }: AdminView,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let now = Utc::now();
    state.engine.catalog().wait_ready().await;
    let st = state.engine.catalog().stats_off_thread(env, now).await?;
    let store = state.store();
    let products = products::list(store, env).await?;
    let events = audit::list(store, env, "", "", RECENT_EVENTS)
        .await?
        .into_iter()
        .map(Event::new)
        .collect();
    let per_minute = state.services.rates.per_minute(env, 30, now);
    let traffic = traffic::summary(store, env).await?;
    let c = chrome(&req, &admin, "Dashboard", "dashboard", env);
    let mut page = DashboardPage::new(c, st, &products, events, &per_minute, traffic);
    page.open_cases = crate::app::abuse_cases::open_count(&state.engine, env).await;
    render(&req, &page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_peak() {
        let (b, peak) = bars(&[0, 5, 10]);
        assert_eq!(peak, 10);
        assert_eq!(b[2].h, 120);
        assert_eq!(b[1].h, 60);
        assert_eq!(b[0].h, 0);
        assert!(b[0].label.starts_with("2 min ago"));
        let (_, peak) = bars(&[0, 0]);
        assert_eq!(peak, 1);
    }
}
