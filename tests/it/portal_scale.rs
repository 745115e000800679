//! Issue 15 item 24: a customer with thousands of licenses gets small pages.

use serde_json::json;

use crate::customer_portal::{customer, PW};
use crate::helpers::{activate, Server};
use crate::web::Web;

/// Item 24: My Licenses pages a customer's licenses on the server (search and
/// status filter before paging, bookmarkable links), so a customer with
/// thousands gets a small page; a license's details open from any page.
#[test]
fn item24_my_licenses_is_paged_for_a_customer_with_thousands() {
    let s = Server::start();
    let product = s.product("production", "Many Product");
    let me = customer(&s, "many@example.com", "Many");
    for _ in 0..5 {
        let (st, v) = s.admin(
            "POST",
            "/production/licenses/bulk",
            Some(json!({"product_id": product, "customer_id": me, "count": 1000})),
        );
        assert_eq!(st, 201, "{v}");
    }
    let w = Web::customer(&s, "many@example.com", PW);
    let started = std::time::Instant::now();
    let first = w.get("/portal/licenses");
    let took = started.elapsed();
    assert_eq!(first.status, 200);
    let html = first.text();
    assert!(
        html.contains("5000 of your 5000 licenses · page 1 of 100"),
        "{html}"
    );
    assert_eq!(html.matches("data-handle=\"").count(), 50);
    assert!(html.len() < 100_000, "{} bytes", html.len());
    eprintln!(
        "My Licenses with 5,000 licenses: {} bytes in {took:?}",
        html.len()
    );
    // The next page, and a bookmarkable last page.
    assert!(
        html.contains("href=\"/portal/licenses?page=2\" id=\"page-next\""),
        "{html}"
    );
    let last = w.get("/portal/licenses?page=100").text();
    assert_eq!(last.matches("data-handle=\"").count(), 50);
    assert!(last.contains("id=\"page-prev\"") && !last.contains("id=\"page-next\""));
    // Beyond the end: the last page. A filter applies before paging.
    assert!(w
        .get("/portal/licenses?page=999")
        .text()
        .contains("page 100 of 100"));
    let suspended: Vec<String> = {
        let (_, list) = s.admin("GET", "/production/licenses?per_page=3", None);
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["key"].as_str().unwrap().to_owned())
            .collect()
    };
    for key in &suspended {
        activate(&s, "production", key, "pc");
        let (st, _) = s.admin(
            "POST",
            &format!("/production/licenses/{key}/actions/suspend"),
            None,
        );
        assert_eq!(st, 200);
    }
    let only = w.get("/portal/licenses?status=suspended").text();
    assert!(only.contains("3 of your 5000 licenses"), "{only}");
    assert_eq!(only.matches("data-handle=\"").count(), 3);
    // A license from page 100 opens.
    let handle = last
        .split("data-handle=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let detail = w.get(&format!("/portal/licenses/{handle}"));
    assert_eq!(detail.status, 200);
    assert_eq!(w.get("/portal/licenses/not-a-handle").status, 404);
}

/// Item 24 (Activations): the owner's devices come a page of licenses at a
/// time (read from the store for that page only), with Previous/Next.
#[test]
fn item24_activations_are_paged() {
    let s = Server::start();
    let product = s.product("production", "Devices Many");
    let me = customer(&s, "devices-many@example.com", "Dev");
    let (st, v) = s.admin(
        "POST",
        "/production/licenses/bulk",
        Some(json!({"product_id": product, "customer_id": me, "count": 60})),
    );
    assert_eq!(st, 201, "{v}");
    for (i, key) in v["keys"].as_array().unwrap().iter().enumerate() {
        activate(
            &s,
            "production",
            key.as_str().unwrap(),
            &format!("box-{i:02}"),
        );
    }
    let w = Web::customer(&s, "devices-many@example.com", PW);
    let first = w.get("/portal/activations").text();
    assert_eq!(
        first.matches("data-identifier=\"box-").count(),
        25,
        "{first}"
    );
    assert!(first.contains("Page 1 of 3") && first.contains("id=\"page-next\""));
    let last = w.get("/portal/activations?page=3").text();
    assert_eq!(last.matches("data-identifier=\"box-").count(), 10);
    assert!(last.contains("id=\"page-prev\"") && !last.contains("id=\"page-next\""));
    // A search still finds any device, wherever it is.
    let found = w.get("/portal/activations?q=box-07").text();
    assert_eq!(
        found.matches("data-identifier=\"box-07\"").count(),
        1,
        "{found}"
    );
    // Every device appears exactly once across the pages.
    let mut seen = std::collections::HashSet::new();
    for p in 1..=3 {
        let html = w.get(&format!("/portal/activations?page={p}")).text();
        for id in html.split("data-identifier=\"").skip(1) {
            assert!(
                seen.insert(id.split('"').next().unwrap().to_owned()),
                "twice: {id}"
            );
        }
    }
    assert_eq!(seen.len(), 60);
}
