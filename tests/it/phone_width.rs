//! Issue 15 item 23: at phone width (390 px) no page of either portal scrolls
//! sideways as a whole; wide tables scroll inside their own box. Checked in a
//! real browser page by page, with a screenshot of each.

use serde_json::json;

use crate::browser::{browser, chromedriver, click, fill, screenshot_dir, shot, wait_url};
use crate::customer_portal::{customer, handle_of, license, PW};
use crate::helpers::{activate, Server, ADMIN_EMAIL, ADMIN_PASSWORD};
use crate::web::Web;

/// How far the page is wider than the window (0 when it fits).
async fn overflow(c: &fantoccini::Client) -> i64 {
    let v = c
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
            vec![],
        )
        .await
        .unwrap();
    v.as_i64().unwrap_or(9999)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_page_scrolls_sideways_at_phone_width() {
    let s = Server::start();
    let pid = s.product("production", "A Product With A Rather Long Name For Phones");
    let cid = customer(
        &s,
        "phone-user-with-a-long-address@example.com",
        "Phone User",
    );
    let key = license(&s, "production", &pid, &cid, json!({"activation_limit": 3}));
    activate(
        &s,
        "production",
        &key,
        "a-device-identifier-that-is-long-enough-to-wrap",
    );
    let handle = handle_of(
        &Web::customer(&s, "phone-user-with-a-long-address@example.com", PW),
        &key,
    );
    // A draft import, for its preview page.
    let w = Web::admin(&s);
    let csv = "product,key,customer_email\nA Product With A Rather Long Name For Phones,PHONE-IMPORT-WITH-A-LONG-KEY-0001,someone-with-a-long-address@example.com\nMissing,,\n";
    let (ct, body) = crate::web::multipart(
        &[("csrf", &w.csrf()), ("env", "production")],
        ("phone.csv", csv.as_bytes()),
    );
    let r = w.post_bytes("/admin/licenses/import", &ct, &body);
    assert_eq!(r.status, 303, "{}", r.text());
    let preview = r.header("location").unwrap().to_owned();
    let driver = chromedriver();
    let downloads = tempfile::tempdir().unwrap();
    let c = browser(&driver, downloads.path()).await;
    c.set_window_size(390, 844).await.unwrap();
    let shots = screenshot_dir("phone");
    let base = s.base.clone();

    c.goto(&format!("{base}/admin")).await.unwrap();
    wait_url(&c, "/admin/login").await;
    fill(&c, "#email", ADMIN_EMAIL).await;
    fill(&c, "#password", ADMIN_PASSWORD).await;
    click(&c, "#sign-in").await;
    wait_url(&c, "/admin").await;
    let admin_pages = [
        "/admin".to_owned(),
        "/admin/licenses".into(),
        format!("/admin/licenses/{key}"),
        "/admin/products".into(),
        format!("/admin/products/{pid}"),
        "/admin/generators".into(),
        "/admin/customers".into(),
        format!("/admin/customers/{cid}"),
        "/admin/activations".into(),
        "/admin/audit".into(),
        "/admin/jobs".into(),
        "/admin/settings".into(),
        "/admin/admins".into(),
        "/admin/api-keys".into(),
        "/admin/webhooks".into(),
        "/admin/outbox".into(),
        "/admin/abuse".into(),
        "/admin/two-factor".into(),
        "/admin/licenses/import".into(),
        preview,
        "/admin/licenses/bulk/all?env=production&q=PHONE".into(),
    ];
    let mut wide = Vec::new();
    for (i, p) in admin_pages.iter().enumerate() {
        c.goto(&format!("{base}{p}")).await.unwrap();
        let o = overflow(&c).await;
        shot(&c, &shots, &format!("admin-{i:02}")).await;
        if o > 0 {
            wide.push(format!("{p}: {o} px too wide"));
        }
    }
    c.goto(&format!("{base}/portal/login")).await.unwrap();
    fill(&c, "#email", "phone-user-with-a-long-address@example.com").await;
    fill(&c, "#password", PW).await;
    click(&c, "#sign-in").await;
    wait_url(&c, "/portal").await;
    let customer_pages = [
        "/portal".to_owned(),
        "/portal/licenses".into(),
        format!("/portal/licenses/{handle}"),
        "/portal/activations".into(),
        "/portal/downloads".into(),
        "/portal/profile".into(),
    ];
    for (i, p) in customer_pages.iter().enumerate() {
        c.goto(&format!("{base}{p}")).await.unwrap();
        let o = overflow(&c).await;
        shot(&c, &shots, &format!("customer-{i:02}")).await;
        if o > 0 {
            wide.push(format!("{p}: {o} px too wide"));
        }
    }
    c.close().await.unwrap();
    assert!(wide.is_empty(), "pages wider than a phone: {wide:#?}");
}
