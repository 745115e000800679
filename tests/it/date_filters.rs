//! Issue 15 item 17: date-range filters on License Keys (expiring between two
//! days, created within N days), over the API and on the page, kept by links.

use chrono::{Duration, Utc};
use serde_json::json;

use crate::helpers::Server;
use crate::web::{unescape, Web};

#[test]
fn licenses_filter_by_expiry_window_and_creation_age() {
    let s = Server::start();
    let pid = s.product("production", "Dated Product");
    let today = Utc::now().date_naive();
    let at = |days: i64| (Utc::now() + Duration::days(days)).to_rfc3339();
    for (days, n) in [(5, 2), (20, 3), (60, 1)] {
        for _ in 0..n {
            let (st, l) = s.admin(
                "POST",
                "/production/licenses",
                Some(json!({"product_id": pid, "expires_at": at(days)})),
            );
            assert_eq!(st, 201, "{l}");
        }
    }
    for _ in 0..4 {
        // Lifetime: never in an expiry window.
        let (st, _) = s.admin(
            "POST",
            "/production/licenses",
            Some(json!({"product_id": pid})),
        );
        assert_eq!(st, 201);
    }
    let total = |q: &str| {
        let (st, v) = s.admin(
            "GET",
            &format!("/production/licenses?product_id={pid}&{q}"),
            None,
        );
        assert_eq!(st, 200, "{q}: {v}");
        v["total"].as_u64().unwrap()
    };
    let d = |days: i64| (today + Duration::days(days)).to_string();
    assert_eq!(total(""), 10);
    assert_eq!(
        total(&format!("expires_from={}&expires_to={}", d(0), d(30))),
        5
    );
    assert_eq!(total(&format!("expires_from={}", d(10))), 4);
    assert_eq!(
        total(&format!("expires_to={}", d(5))),
        2,
        "the last day is inclusive"
    );
    assert_eq!(total(&format!("expires_to={}", d(4))), 0);
    assert_eq!(total("created_within=1"), 10);
    assert_eq!(
        total(&format!("created_within=7&expires_from={}", d(50))),
        1
    );
    for (q, field) in [
        ("expires_from=tomorrow", "expires_from"),
        ("expires_to=2026-13-01", "expires_to"),
        ("created_within=0", "created_within"),
        ("created_within=99999", "created_within"),
    ] {
        let (st, e) = s.admin("GET", &format!("/production/licenses?{q}"), None);
        assert_eq!((st, e["field"].as_str()), (400, Some(field)), "{q}: {e}");
    }

    // The page: the same filters, kept by the sort headers and the export.
    let w = Web::admin(&s);
    let url = format!(
        "/admin/licenses?env=production&product_id={pid}&expires_from={}&expires_to={}&created_within=30",
        d(0),
        d(30)
    );
    let html = unescape(&w.get(&url).text());
    assert!(
        html.contains(&format!("value=\"{}\"", d(0))),
        "the filter is shown"
    );
    assert!(
        html.contains("<option value=\"30\" selected>"),
        "created within is shown"
    );
    let rows = html.matches("<tr data-key=").count();
    assert_eq!(rows, 5, "{html}");
    let export = &html[html.find("/admin/licenses/export?").unwrap()..];
    let export = &export[..export.find('"').unwrap()];
    assert!(
        export.contains("expires_from=") && export.contains("created_within=30"),
        "{export}"
    );
    assert_eq!(
        w.get("/admin/licenses?env=production&created_within=abc")
            .status,
        400
    );
}
