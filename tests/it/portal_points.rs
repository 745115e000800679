//! Issue 15, points the product pages describe: each test names its item.

use serde_json::json;

use crate::customer_portal::{customer, handle_of, license, PW};
use crate::helpers::{activate, Server};
use crate::web::Web;

/// Item 1: "Manage this license's devices" shows that license's devices only,
/// and another customer's license is not found.
#[test]
fn item01_manage_devices_shows_that_license_only() {
    let s = Server::start();
    let product = s.product("production", "Devices Product");
    let me = customer(&s, "dev-owner@example.com", "Owner");
    let other = customer(&s, "dev-other@example.com", "Other");
    let mine = license(
        &s,
        "production",
        &product,
        &me,
        json!({"activation_limit": 3}),
    );
    let second = license(
        &s,
        "production",
        &product,
        &me,
        json!({"activation_limit": 3}),
    );
    let theirs = license(&s, "production", &product, &other, json!({}));
    activate(&s, "production", &mine, "laptop-of-mine");
    activate(&s, "production", &second, "desktop-of-second");
    activate(&s, "production", &theirs, "their-box");
    let w = Web::customer(&s, "dev-owner@example.com", PW);
    let handle = handle_of(&w, &mine);
    let detail = w.get(&format!("/portal/licenses/{handle}")).text();
    let link = format!("/portal/activations?license={handle}");
    assert!(detail.contains(&format!("href=\"{link}\"")), "{detail}");
    let page = w.get(&link);
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(html.contains("laptop-of-mine"), "{html}");
    assert!(
        !html.contains("desktop-of-second"),
        "another license's device is listed"
    );
    assert!(html.contains("id=\"license-filter\""));
    // The filter keeps the license while searching.
    let searched = w.get(&format!("{link}&q=laptop")).text();
    assert!(searched.contains("laptop-of-mine") && !searched.contains("desktop-of-second"));
    // Every device without the filter; someone else's handle is not found.
    let all = w.get("/portal/activations").text();
    assert!(all.contains("laptop-of-mine") && all.contains("desktop-of-second"));
    let w2 = Web::customer(&s, "dev-other@example.com", PW);
    let their_handle = handle_of(&w2, &theirs);
    assert_eq!(
        w.get(&format!("/portal/activations?license={their_handle}"))
            .status,
        404
    );
}

/// Item 3: a full one-seat license needs no attention; revoked and flagged ones
/// do; with many licenses the dashboard lists a few and links to the rest.
#[test]
fn item03_account_health_names_real_problems_and_stays_short() {
    let s = Server::start();
    let product = s.product("production", "Health Product");
    let me = customer(&s, "health@example.com", "Health");
    let mut keys = Vec::new();
    for i in 0..30 {
        let key = license(
            &s,
            "production",
            &product,
            &me,
            json!({"activation_limit": 1}),
        );
        activate(&s, "production", &key, &format!("only-device-{i}"));
        keys.push(key);
    }
    let w = Web::customer(&s, "health@example.com", PW);
    let dash = w.get("/portal").text();
    assert!(
        dash.contains("all your licenses are in good standing"),
        "30 full one-seat licenses are normal: {dash}"
    );
    for key in &keys[..8] {
        let (st, v) = s.admin(
            "POST",
            &format!("/production/licenses/{key}/actions/revoke"),
            None,
        );
        assert_eq!(st, 200, "{v}");
    }
    let dash = w.get("/portal").text();
    assert!(dash.contains("8 thing(s) need your attention"), "{dash}");
    assert_eq!(dash.matches("was revoked.").count(), 5, "five shown");
    assert!(dash.contains("id=\"health-more\">And 3 more"), "{dash}");
    assert!(dash.contains("id=\"usage-more\">And 17 more"), "{dash}");
    let rows = dash
        .split("id=\"usage\"")
        .nth(1)
        .unwrap()
        .split("</table>")
        .next()
        .unwrap();
    assert_eq!(rows.matches("<tr>").count(), 5, "{rows}");
}

/// Item 22: an admin's Deactivate opens a confirmation naming the device and
/// what happens; only the confirming form (with its CSRF token) deactivates.
#[test]
fn item22_deactivating_a_device_asks_first() {
    let s = Server::start();
    let key = s.license("production", 3);
    activate(&s, "production", &key, "build-box");
    let w = Web::admin(&s);
    for page in [
        format!("/admin/licenses/{key}?env=production"),
        "/admin/activations?env=production".to_string(),
    ] {
        let html = w.get(&page).text();
        let link = format!(
            "/admin/licenses/{key}/confirm-deactivate?env=production&amp;identifier=build-box"
        );
        assert!(html.contains(&link), "{page}: {html}");
        assert!(
            !html.contains(&format!("action=\"/admin/licenses/{key}/deactivate\"")),
            "{page}: a one-click form is left"
        );
    }
    let back = "%2Fadmin%2Factivations%3Fenv%3Dproduction";
    let confirm = w.get(&format!(
        "/admin/licenses/{key}/confirm-deactivate?env=production&identifier=build-box&return={back}"
    ));
    assert_eq!(confirm.status, 200);
    let html = confirm.text();
    assert!(
        html.contains("Deactivate device build-box?") && html.contains("NOT_ACTIVATED"),
        "{html}"
    );
    assert!(
        html.contains("href=\"/admin/activations?env=production\" id=\"confirm-cancel\""),
        "{html}"
    );
    // Still active until confirmed.
    assert_eq!(s.get_license("production", &key)["activations_in_use"], 1);
    let csrf = crate::web::input_value(&html, "csrf").unwrap();
    let r = w.post(
        &format!("/admin/licenses/{key}/deactivate"),
        &[
            ("csrf", &csrf),
            ("env", "production"),
            ("identifier", "build-box"),
            ("return", "/admin/activations?env=production"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(
        r.header("location"),
        Some("/admin/activations?env=production")
    );
    assert_eq!(s.get_license("production", &key)["activations_in_use"], 0);
    // A device that is not active is not offered.
    let again = w.get(&format!(
        "/admin/licenses/{key}/confirm-deactivate?env=production&identifier=build-box"
    ));
    assert_eq!(again.status, 409);
}

/// Item 12: a chunked generator's character set is chosen on the form (a
/// preset or custom), checked for strength, and its keys use only it; the
/// Background Jobs page counts queued jobs beside running and failed ones.
#[test]
fn item12_generator_character_sets_and_the_queued_count() {
    let s = Server::start();
    let product = s.product("production", "Charset Product");
    let w = Web::admin(&s);
    let form =
        |name: &'static str, preset: &'static str, custom: &'static str, segments: &'static str| {
            vec![
                ("env", "production"),
                ("product_id", product.as_str()),
                ("name", name),
                ("kind", "chunked"),
                ("segments", segments),
                ("segment_len", "4"),
                ("separator", "-"),
                ("charset_preset", preset),
                ("charset_custom", custom),
                ("activation_limit", "2"),
            ]
        };
    // Too short for hex (3×4 = 12 hex digits = 48 bits), a repeated custom character.
    let r = w.submit("/admin/generators", &form("Hex short", "hex", "", "3"));
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.text().contains("at least 15 random characters"),
        "{}",
        r.text()
    );
    let r = w.submit(
        "/admin/generators",
        &form("Custom twice", "custom", "ABCA", "8"),
    );
    assert_eq!(r.status, 400);
    assert!(r.text().contains("names a character twice"), "{}", r.text());
    // Hex 4×4 and a custom set: saved, shown again on the edit form, keys use only them.
    for (name, preset, custom, chars) in [
        ("Hex keys", "hex", "", "0123456789ABCDEF"),
        (
            "Custom keys",
            "custom",
            "ACEFHJKMNPRTWXY3479",
            "ACEFHJKMNPRTWXY3479",
        ),
    ] {
        let r = w.submit("/admin/generators", &form(name, preset, custom, "4"));
        assert_eq!(r.status, 303, "{}", r.text());
        let gen_page = r.header("location").unwrap().to_owned();
        let gid = gen_page
            .trim_start_matches("/admin/generators/")
            .split('?')
            .next()
            .unwrap()
            .to_owned();
        let list = w.get("/admin/generators?env=production").text();
        let shown = if preset == "hex" {
            "Hexadecimal (0–9, A–F)".to_string()
        } else {
            format!("custom: {custom}")
        };
        assert!(list.contains(&shown), "{list}");
        for _ in 0..5 {
            let (st, l) = s.admin(
                "POST",
                "/production/licenses",
                Some(json!({"product_id": product, "generator_id": gid})),
            );
            assert_eq!(st, 201, "{l}");
            let key = l["key"].as_str().unwrap().replace('-', "");
            assert_eq!(key.len(), 16, "{key}");
            assert!(
                key.chars().all(|c| chars.contains(c)),
                "{key} outside {chars}"
            );
        }
    }
    let jobs = w.get("/admin/jobs?env=production").text();
    assert!(jobs.contains("id=\"jobs-queued\">0<"), "{jobs}");
}

/// Item 17: License Keys rows are one line (details on hover), a click on a
/// column header sorts by it (again: the other way), and Previous/Next sit
/// beside the page numbers.
#[test]
fn item17_license_keys_one_line_rows_sortable_headers_and_previous_next() {
    let s = Server::start();
    let product = s.product("production", "Table Product");
    let (st, v) = s.admin(
        "POST",
        "/production/licenses/bulk",
        Some(json!({"product_id": product, "count": 60})),
    );
    assert_eq!(st, 201, "{v}");
    let w = Web::admin(&s);
    let html = w.get("/admin/licenses?env=production").text();
    assert!(
        !html.contains("class=\"sub muted\""),
        "no stacked product cell"
    );
    assert!(
        html.contains("title=\"Table Product · production · product "),
        "{html}"
    );
    // Sorted by Created, newest first: its header says so and links to oldest first.
    assert!(html.contains("aria-sort=\"descending\""), "{html}");
    let key_header = html
        .split("title=\"Sort by License Key\"")
        .next()
        .unwrap()
        .rsplit("href=\"")
        .next()
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&")
        .replace("&#38;", "&");
    assert!(
        key_header.contains("sort=key") && key_header.contains("order=asc"),
        "{key_header}"
    );
    let by_key = w.get(&key_header).text();
    let keys: Vec<&str> = by_key
        .split("<tr data-key=\"")
        .skip(1)
        .map(|r| r.split('"').next().unwrap())
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "ascending by key");
    assert!(
        by_key.contains("order=desc") && by_key.contains("▲"),
        "a second click reverses"
    );
    // Previous/Next beside the numbers.
    assert!(html.contains("id=\"page-next\"") && !html.contains("id=\"page-prev\""));
    let next = html
        .split("id=\"page-next\"")
        .next()
        .unwrap()
        .rsplit("href=\"")
        .next()
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&")
        .replace("&#38;", "&");
    let second = w.get(&next).text();
    assert!(second.contains("id=\"page-prev\""), "{second}");
}

/// Item 9 (public key): the Products page offers the environment's
/// verification key as PEM and as its 32 raw bytes, the same key the client
/// API publishes; only signed-in admins download it here.
#[test]
fn item09_the_verification_key_downloads_as_pem_and_raw() {
    use base64::Engine as _;
    let s = Server::start();
    let w = Web::admin(&s);
    let page = w.get("/admin/products?env=staging").text();
    assert!(page.contains("id=\"public-key-pem\"") && page.contains("id=\"public-key-raw\""));
    for env in ["production", "staging"] {
        let published =
            crate::helpers::call(ureq::get(&s.url(&format!("/v1/{env}/public-key"))), None).json();
        let pem = w.get(&format!("/admin/public-key.pem?env={env}"));
        assert_eq!(pem.status, 200);
        assert!(pem.header("content-disposition").unwrap().contains(".pem"));
        assert_eq!(pem.text(), published["pem"].as_str().unwrap());
        let raw = w.get(&format!("/admin/public-key.bin?env={env}"));
        assert_eq!(raw.status, 200);
        let want = base64::engine::general_purpose::STANDARD
            .decode(published["public_key"].as_str().unwrap())
            .unwrap();
        assert_eq!(raw.body, want);
        assert_eq!(raw.body.len(), 32);
    }
    assert_eq!(w.get("/admin/public-key.der?env=production").status, 404);
    assert_eq!(
        Web::portal(&s).get("/admin/public-key.pem").status,
        303,
        "sign in first"
    );
}
