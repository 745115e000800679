//! Issue 15 item 14: global search. Ctrl/Cmd+K in any admin page focuses the
//! search box; hits (licenses, customers, products) show as one types and
//! the keyboard opens one. Without script the same search is a page.

use std::time::{Duration, Instant};

use fantoccini::Locator;
use serde_json::json;

use crate::browser::{browser, chromedriver, el, fill, screenshot_dir, shot, wait_url};
use crate::helpers::{Server, ADMIN_EMAIL, ADMIN_PASSWORD};
use crate::web::{unescape, Web};

/// A product, a customer and one license of theirs, all named "nebula".
fn seed(s: &Server) -> String {
    let pid = s.product("production", "Nebula Suite");
    let cid = s.customer("nebula-buyer@example.com");
    let (st, l) = s.admin(
        "POST",
        "/production/licenses",
        Some(json!({"product_id": pid, "customer_id": cid})),
    );
    assert_eq!(st, 201, "{l}");
    s.product("production", "Other Thing");
    l["key"].as_str().unwrap().to_owned()
}

#[test]
fn the_search_page_and_its_json_find_licenses_customers_and_products() {
    let s = Server::start();
    let key = seed(&s);
    let w = Web::admin(&s);
    let html = unescape(&w.get("/admin/search?env=production&q=NEBULA").text());
    let results = &html[html.find("id=\"search-results\"").expect("results")..];
    assert!(
        results.contains(&key),
        "the license by its product: {results}"
    );
    assert!(results.contains("nebula-buyer@example.com"));
    assert!(results.contains("Nebula Suite"));
    assert!(!results.contains("Other Thing"));
    let r = w.get("/admin/search.json?env=production&q=nebula-buyer");
    assert_eq!(r.status, 200);
    let v: serde_json::Value = serde_json::from_str(&r.text()).unwrap();
    assert_eq!(v["customers"][0]["detail"], "nebula-buyer@example.com");
    assert_eq!(v["licenses"][0]["title"], key.as_str());
    assert_eq!(v["products"].as_array().unwrap().len(), 0);
    // Staging holds none of it; one character searches nothing.
    let v: serde_json::Value =
        serde_json::from_str(&w.get("/admin/search.json?env=staging&q=nebula").text()).unwrap();
    assert!(v["licenses"].as_array().unwrap().is_empty(), "{v}");
    assert!(v["products"].as_array().unwrap().is_empty(), "{v}");
    let one = w.get("/admin/search?env=production&q=n").text();
    assert!(one.contains("Type at least 2 characters"));
    // Signed out: no search.
    let anon = crate::helpers::call(ureq::get(&s.url("/admin/search.json?q=nebula")), None);
    assert!(
        !anon.text().contains("nebula-buyer"),
        "signed out: {}",
        anon.text()
    );
    assert!(anon.text().contains("Sign in") || anon.status == 303 || anon.status == 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_k_searches_from_any_page_in_a_real_browser() {
    let s = Server::start();
    let key = seed(&s);
    let driver = chromedriver();
    let downloads = tempfile::tempdir().unwrap();
    let c = browser(&driver, downloads.path()).await;
    let shots = screenshot_dir("admin-search");
    let base = s.base.clone();
    c.goto(&format!("{base}/admin/settings")).await.unwrap();
    wait_url(&c, "/admin/login").await;
    fill(&c, "#email", ADMIN_EMAIL).await;
    fill(&c, "#password", ADMIN_PASSWORD).await;
    crate::browser::click(&c, "#sign-in").await;
    wait_url(&c, "/admin/settings").await;
    // Ctrl+K (the WebDriver Control key, then the null key to release it).
    c.find(Locator::Css("body"))
        .await
        .unwrap()
        .send_keys("\u{E009}k\u{E000}")
        .await
        .unwrap();
    let focused = c
        .execute("return document.activeElement.id", vec![])
        .await
        .unwrap();
    assert_eq!(
        focused,
        json!("global-search-input"),
        "Ctrl+K focuses the search"
    );
    el(&c, "#global-search-input")
        .await
        .send_keys("nebula")
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let hits = loop {
        let t = el(&c, "#global-search-hits").await.text().await.unwrap();
        if t.contains("Nebula Suite") && t.contains("nebula-buyer@example.com") && t.contains(&key)
        {
            break t;
        }
        assert!(Instant::now() < deadline, "live hits never showed: {t}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(!hits.contains("Other Thing"), "{hits}");
    shot(&c, &shots, "00-ctrl-k-hits").await;
    // Arrow down to the first hit (the license) and open it with Enter.
    el(&c, "#global-search-input")
        .await
        .send_keys("\u{E015}\u{E007}")
        .await
        .unwrap();
    wait_url(&c, &format!("/admin/licenses/{key}")).await;
    shot(&c, &shots, "01-opened-license").await;
    // Item 13: the dark theme, chosen on Settings, applies on Save.
    c.goto(&format!("{base}/admin/settings")).await.unwrap();
    crate::browser::choose(&c, "#theme", "dark").await;
    let bg = "return getComputedStyle(document.body).backgroundColor";
    assert_eq!(
        c.execute(bg, vec![]).await.unwrap(),
        json!("rgb(244, 245, 247)"),
        "not before Save"
    );
    crate::browser::click(&c, "#appearance-save").await;
    wait_url(&c, "/admin/settings").await;
    c.goto(&format!("{base}/admin")).await.unwrap();
    assert_eq!(
        c.execute(bg, vec![]).await.unwrap(),
        json!("rgb(11, 18, 32)")
    );
    shot(&c, &shots, "02-dashboard-dark").await;
    c.goto(&format!("{base}/admin/licenses")).await.unwrap();
    shot(&c, &shots, "03-license-keys-dark").await;
    c.close().await.unwrap();
}
