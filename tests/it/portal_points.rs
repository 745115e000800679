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

/// The mails sent to `email`, oldest first.
fn mails_to(s: &Server, email: &str) -> Vec<serde_json::Value> {
    crate::web::mails(s)
        .into_iter()
        .filter(|m| m["to"] == email)
        .collect()
}

/// Items 7 and 19: the key is mailed when a license is assigned or transferred
/// (the outbox keeps it masked; the mail carries it), when an admin resends it,
/// and not when the environment's setting is off.
#[test]
fn item07_item19_the_key_is_mailed_on_assignment_transfer_and_resend() {
    let s = Server::start();
    let product = s.product("production", "Mailed Product");
    let ann = s.customer("ann@example.com");
    let bob = s.customer("bob@example.com");
    let (st, l) = s.admin(
        "POST",
        "/production/licenses",
        Some(json!({"product_id": product})),
    );
    assert_eq!(st, 201, "{l}");
    let key = l["key"].as_str().unwrap().to_owned();
    assert!(mails_to(&s, "ann@example.com").is_empty());
    // Assigned: Ann gets the key.
    let assign = |who: &str| {
        let (st, v) = s.admin(
            "POST",
            &format!("/production/licenses/{key}/assign"),
            Some(json!({"customer_id": who})),
        );
        assert_eq!(st, 200, "{v}");
    };
    assign(&ann);
    let m = mails_to(&s, "ann@example.com");
    assert_eq!(m.len(), 1, "{m:?}");
    assert_eq!(m[0]["kind"], "license_key");
    assert!(m[0]["subject"].as_str().unwrap().contains("Mailed Product"));
    assert!(
        m[0]["body"].as_str().unwrap().contains(&key),
        "the mail carries the key"
    );
    assert!(
        !m[0]["outbox_body"]
            .as_str()
            .unwrap_or_default()
            .contains(&key),
        "the outbox masks it"
    );
    // Assigned again to Ann: nothing new. Transferred to Bob: Bob gets it.
    assign(&ann);
    assert_eq!(mails_to(&s, "ann@example.com").len(), 1);
    assign(&bob);
    let m = mails_to(&s, "bob@example.com");
    assert_eq!(m.len(), 1);
    assert!(m[0]["body"]
        .as_str()
        .unwrap()
        .contains("transferred to you"));
    // Resent from the preview and through the API.
    let w = Web::admin(&s);
    let preview = w
        .get(&format!("/admin/licenses/{key}?env=production"))
        .text();
    assert!(preview.contains("id=\"resend-key\""), "{preview}");
    let r = w.submit(
        &format!("/admin/licenses/{key}/resend-key"),
        &[("env", "production")],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let (st, v) = s.admin(
        "POST",
        &format!("/production/licenses/{key}/resend-key"),
        None,
    );
    assert_eq!(
        (st, v["mailed_to"].as_str()),
        (202, Some("bob@example.com")),
        "{v}"
    );
    let m = mails_to(&s, "bob@example.com");
    assert_eq!(m.len(), 3);
    assert!(m[2]["body"].as_str().unwrap().contains("again"));
    let (_, audit) = s.admin(
        "GET",
        &format!("/production/audit?license={key}&action=license.key_mailed"),
        None,
    );
    assert_eq!(audit.as_array().unwrap().len(), 4, "{audit}");
    // An unassigned license has nobody to mail.
    let (_, free) = s.admin(
        "POST",
        "/production/licenses",
        Some(json!({"product_id": product})),
    );
    let free = free["key"].as_str().unwrap();
    assert_eq!(
        s.admin(
            "POST",
            &format!("/production/licenses/{free}/resend-key"),
            None
        )
        .0,
        409
    );
    // Setting off: an assignment mails nothing.
    let (_, mut settings) = s.admin("GET", "/production/settings", None);
    assert_eq!(settings["mail_key_on_assign"], true);
    settings["mail_key_on_assign"] = json!(false);
    assert_eq!(
        s.admin("PUT", "/production/settings", Some(settings)).0,
        200
    );
    let before = crate::web::mails(&s).len();
    let (st, _) = s.admin(
        "POST",
        "/production/licenses",
        Some(json!({"product_id": product, "customer_id": ann})),
    );
    assert_eq!(st, 201);
    assert_eq!(
        crate::web::mails(&s).len(),
        before,
        "no mail with the setting off"
    );
}

/// Item 7: a license assigned to an email with no account makes the customer
/// and mails an invitation (portal form and API); a bad email changes nothing.
#[test]
fn item07_assigning_to_a_new_email_creates_the_customer_and_invites_them() {
    let s = Server::start();
    let product = s.product("production", "Invite Product");
    let (_, free) = s.admin(
        "POST",
        "/production/licenses",
        Some(json!({"product_id": product})),
    );
    let key = free["key"].as_str().unwrap().to_owned();
    let w = Web::admin(&s);
    let edit = w
        .get(&format!("/admin/licenses/{key}/edit?env=production"))
        .text();
    assert!(edit.contains("name=\"customer_email\""), "{edit}");
    let customers = || {
        s.admin("GET", "/customers", None)
            .1
            .as_array()
            .unwrap()
            .len()
    };
    // A malformed email: refused on its field, nobody made.
    let r = w.submit(
        &format!("/admin/licenses/{key}/edit"),
        &[
            ("env", "production"),
            ("customer_email", "not-an-email"),
            ("activation_limit", "3"),
        ],
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("id=\"error-customer_email\""));
    assert_eq!(customers(), 0);
    // A new email: the account is made, invited, the license assigned and its key mailed.
    let r = w.submit(
        &format!("/admin/licenses/{key}/edit"),
        &[
            ("env", "production"),
            ("customer_email", "New.Buyer@Example.com"),
            ("activation_limit", "3"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(customers(), 1);
    let l = s.get_license("production", &key);
    assert_eq!(l["status"], "assigned");
    let m = mails_to(&s, "new.buyer@example.com");
    let kinds: Vec<&str> = m.iter().map(|m| m["kind"].as_str().unwrap()).collect();
    assert!(
        kinds.contains(&"invite") && kinds.contains(&"license_key"),
        "{kinds:?}"
    );
    // The API: an existing email is reused, a new one invited.
    let (_, other) = s.admin(
        "POST",
        "/production/licenses",
        Some(json!({"product_id": product})),
    );
    let other = other["key"].as_str().unwrap().to_owned();
    let assign = |body: serde_json::Value| {
        s.admin(
            "POST",
            &format!("/production/licenses/{other}/assign"),
            Some(body),
        )
    };
    let (st, v) = assign(json!({"customer_email": "new.buyer@example.com"}));
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["customer_id"], l["customer_id"]);
    assert_eq!(customers(), 1);
    let (st, v) = assign(json!({"customer_email": "second@example.com"}));
    assert_eq!(st, 200, "{v}");
    assert_eq!(customers(), 2);
    assert!(mails_to(&s, "second@example.com")
        .iter()
        .any(|m| m["kind"] == "invite"));
    let (st, v) =
        assign(json!({"customer_email": "x@example.com", "customer_id": l["customer_id"]}));
    assert_eq!(
        (st, v["field"].as_str()),
        (400, Some("customer_email")),
        "{v}"
    );
    let (st, v) = assign(json!({"customer_email": "nope"}));
    assert_eq!(
        (st, v["field"].as_str()),
        (400, Some("customer_email")),
        "{v}"
    );
    assert_eq!(customers(), 2);
}

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
