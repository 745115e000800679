//! Issue 15 item 20: branding (vendor name, logo, accent colour, support
//! contact) in both portals' headers and titles and in every mail; "Renew" or
//! "Buy" links (per product) on expiring and expired licenses.

use serde_json::json;

use crate::browser::{browser, chromedriver, fill, screenshot_dir, shot, wait_url};
use crate::customer_portal::{customer, license, PW};
use crate::helpers::{Server, ADMIN_EMAIL, ADMIN_PASSWORD};
use crate::web::{input_value, mails, Web};

/// A PNG of one pixel.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0x0f, 0x00, 0x00,
    0x01, 0x01, 0x00, 0x05, 0x18, 0xd8, 0x4e, 0x54, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44,
    0xae, 0x42, 0x60, 0x82,
];

/// A multipart body: the CSRF field first, then the logo with its type.
fn logo_body(csrf: &str, content_type: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let b = "----kw-logo-boundary";
    let mut body = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{b}\r\nContent-Disposition: form-data; name=\"logo\"; filename=\"logo\"\r\nContent-Type: {content_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{b}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={b}"), body)
}

fn flash_of(w: &Web, page: &str) -> String {
    let html = w.get(page).text();
    match html.find("id=\"flash\">") {
        Some(i) => html[i + 11..i + 11 + html[i + 11..].find('<').unwrap()].to_owned(),
        None => String::new(),
    }
}

fn save_branding(w: &Web, name: &str, accent: &str) -> u16 {
    w.submit(
        "/admin/branding",
        &[
            ("env", "production"),
            ("brand_name", name),
            ("accent", accent),
            ("support_email", "help@acme.test"),
            ("support_url", "https://acme.test/support"),
        ],
    )
    .status
}

#[test]
fn branding_shows_in_both_portals_and_mails_and_bad_values_change_nothing() {
    let s = Server::start();
    let admin = Web::admin(&s);
    assert!(admin
        .get("/admin")
        .text()
        .contains("· Keywarden admin</title>"));
    // A bad accent is refused with a message; nothing is saved.
    assert_eq!(save_branding(&admin, "Acme Tools", "orange"), 303);
    assert!(flash_of(&admin, "/admin/settings").contains("Accent colour"));
    assert!(!admin.get("/admin").text().contains("Acme Tools"));
    assert_eq!(save_branding(&admin, "Acme Tools", "#AA3300"), 303);
    let page = admin.get("/admin").text();
    assert!(page.contains("· Acme Tools admin</title>"), "{page}");
    assert!(page.contains("--accent: #aa3300"));
    let login = Web::new(&s).get("/admin/login").text();
    assert!(login.contains("Acme Tools admin"));

    // The logo: role and CSRF first, then type and size.
    let csrf = admin.csrf();
    let (ct, body) = logo_body("forged", "image/png", PNG);
    assert_eq!(
        admin.post_bytes("/admin/branding/logo", &ct, &body).status,
        403
    );
    let (ct, body) = logo_body(&csrf, "text/html", b"<script>alert(1)</script>");
    admin.post_bytes("/admin/branding/logo", &ct, &body);
    assert!(flash_of(&admin, "/admin/settings").contains("Logo must be"));
    let big = vec![0u8; 300 * 1024];
    let (ct, body) = logo_body(&csrf, "image/png", &big);
    admin.post_bytes("/admin/branding/logo", &ct, &body);
    assert!(flash_of(&admin, "/admin/settings").contains("200 KB"));
    assert_eq!(Web::new(&s).get("/branding/logo").status, 404);
    let (ct, body) = logo_body(&csrf, "image/png", PNG);
    assert_eq!(
        admin.post_bytes("/admin/branding/logo", &ct, &body).status,
        303
    );
    let logo = Web::new(&s).get("/branding/logo");
    assert_eq!(logo.status, 200);
    assert_eq!(logo.header("content-type"), Some("image/png"));
    assert!(logo
        .header("content-security-policy")
        .unwrap()
        .contains("sandbox"));
    assert!(admin
        .get("/admin")
        .text()
        .contains("src=\"/branding/logo?v="));

    // The customer portal: name, logo, support contact; and the mails.
    customer(&s, "brand-buyer@example.com", "Brandy");
    let public = Web::portal(&s).get("/portal/login").text();
    assert!(public.contains("<title>Acme Tools</title>"), "{public}");
    let c = Web::customer(&s, "brand-buyer@example.com", PW);
    let mine = c.get("/portal/licenses").text();
    assert!(mine.contains("· Acme Tools</title>"));
    assert!(mine.contains("mailto:help@acme.test"));
    assert!(mine.contains("src=\"/branding/logo?v="));
    let r = Web::portal(&s);
    let page = r.get("/portal/forgot").text();
    let csrf = input_value(&page, "csrf").unwrap();
    r.post(
        "/portal/forgot",
        &[("csrf", &csrf), ("email", "brand-buyer@example.com")],
    );
    let all = mails(&s);
    let reset = all
        .iter()
        .find(|m| m["to"] == "brand-buyer@example.com")
        .expect("a reset mail");
    let text = reset["body"].as_str().unwrap();
    assert!(
        text.ends_with("\n-- \nAcme Tools\nSupport: help@acme.test · https://acme.test/support\n"),
        "{text}"
    );
    // The audit log names the change.
    let (_, audit) = s.admin("GET", "/production/audit?action=settings.branding", None);
    assert!(!audit.as_array().unwrap().is_empty());
    // Removing the logo.
    assert_eq!(
        admin
            .submit("/admin/branding/logo/remove", &[("env", "production")])
            .status,
        303
    );
    assert_eq!(Web::new(&s).get("/branding/logo").status, 404);
}

#[test]
fn owners_see_renew_or_buy_on_expiring_and_expired_licenses() {
    let s = Server::start();
    let (st, e) = s.admin(
        "POST",
        "/production/products",
        Some(json!({"name": "Bad Link", "renew_url": "javascript:alert(1)"})),
    );
    assert_eq!(st, 400, "{e}");
    let (_, renewable) = s.admin(
        "POST",
        "/production/products",
        Some(json!({"name": "Renewable", "renew_url": "https://store.acme.test/renew"})),
    );
    let (_, buyable) = s.admin(
        "POST",
        "/production/products",
        Some(json!({"name": "Buyable", "buy_url": "https://store.acme.test/buy"})),
    );
    let id = customer(&s, "renewer@example.com", "Ren");
    let in_days = |d: i64| (chrono::Utc::now() + chrono::Duration::days(d)).to_rfc3339();
    let p1 = renewable["id"].as_str().unwrap();
    let p2 = buyable["id"].as_str().unwrap();
    let soon = license(
        &s,
        "production",
        p1,
        &id,
        json!({"expires_at": in_days(10)}),
    );
    license(
        &s,
        "production",
        p1,
        &id,
        json!({"expires_at": in_days(90)}),
    );
    license(&s, "production", p2, &id, json!({"expires_at": in_days(5)}));
    let c = Web::customer(&s, "renewer@example.com", PW);
    let html = c.get("/portal/licenses").text();
    assert_eq!(html.matches("data-offer=\"Renew\"").count(), 1, "{html}");
    assert_eq!(html.matches("data-offer=\"Buy\"").count(), 1);
    assert!(html.contains("href=\"https://store.acme.test/renew\""));
    assert!(html.contains("href=\"https://store.acme.test/buy\""));
    let handle = crate::customer_portal::handle_of(&c, &soon);
    let detail = c.get(&format!("/portal/licenses/{handle}")).text();
    assert!(detail.contains("id=\"license-offer\""), "{detail}");
    // The dashboard lists what expires within 7 days: the Buy one.
    assert!(c.get("/portal").text().contains("data-offer=\"Buy\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_branded_portals_in_a_real_browser() {
    let s = Server::start();
    let admin = Web::admin(&s);
    assert_eq!(save_branding(&admin, "Acme Tools", "#aa3300"), 303);
    let csrf = admin.csrf();
    let (ct, body) = logo_body(&csrf, "image/png", PNG);
    admin.post_bytes("/admin/branding/logo", &ct, &body);
    customer(&s, "shots@example.com", "Shots");
    let driver = chromedriver();
    let downloads = tempfile::tempdir().unwrap();
    let c = browser(&driver, downloads.path()).await;
    let shots = screenshot_dir("branding");
    let base = s.base.clone();
    c.goto(&format!("{base}/admin/settings")).await.unwrap();
    wait_url(&c, "/admin/login").await;
    shot(&c, &shots, "00-admin-login").await;
    fill(&c, "#email", ADMIN_EMAIL).await;
    fill(&c, "#password", ADMIN_PASSWORD).await;
    crate::browser::click(&c, "#sign-in").await;
    wait_url(&c, "/admin/settings").await;
    let accent = c
        .execute(
            "return getComputedStyle(document.documentElement).getPropertyValue('--accent').trim()",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(accent, json!("#aa3300"));
    let logo_ok = c
        .execute(
            "const i = document.querySelector('#brand img'); return !!i && i.complete && i.naturalWidth === 1",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(logo_ok, json!(true), "the logo loads");
    shot(&c, &shots, "01-admin-settings").await;
    c.goto(&format!("{base}/portal/login")).await.unwrap();
    fill(&c, "#email", "shots@example.com").await;
    fill(&c, "#password", PW).await;
    crate::browser::click(&c, "button[type=submit]").await;
    wait_url(&c, "/portal").await;
    shot(&c, &shots, "02-customer-dashboard").await;
    c.close().await.unwrap();
}
