//! Issue 15 item 10: customers as an admin manages them. Status and last
//! sign-in, disabling sign-in, an email change that keeps the email index
//! right, delete with the licenses kept (unassigned), paging and search of
//! the Customers page, and the picker that replaces a dropdown of everyone.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::browser::{browser, chromedriver, el, fill, screenshot_dir, shot, wait_url};
use crate::customer_portal::{customer, license, PW};
use crate::helpers::{activate, Server};
use crate::web::{unescape, Web};

fn customer_json(s: &Server, id: &str) -> Value {
    let (st, c) = s.admin("GET", &format!("/customers/{id}"), None);
    assert_eq!(st, 200, "{c}");
    c
}

/// Emails in the Customers table of a page, in order.
fn listed_emails(html: &str) -> Vec<String> {
    let table = &html[html.find("id=\"customers\"").expect("the table")..];
    let table = &table[..table.find("</table>").unwrap()];
    table
        .split("<tr><td><a href=\"/admin/customers/")
        .skip(1)
        .map(|row| {
            let cells: Vec<&str> = row.split("<td>").collect();
            unescape(&cells[1][..cells[1].find("</td>").unwrap()])
        })
        .collect()
}

#[test]
fn status_sign_in_email_change_and_delete() {
    let s = Server::start();
    let product = s.product("production", "Kept Product");
    let staging_product = s.product("staging", "Kept Staging");
    let id = customer(&s, "dora@example.com", "Dora Delete");
    let c = customer_json(&s, &id);
    assert_eq!(c["status"], "active");
    assert_eq!(c["last_sign_in"], Value::Null);
    let (_, invited) = s.admin(
        "POST",
        "/customers",
        Some(json!({"email": "ivan@example.com", "name": "Ivan Invited"})),
    );
    assert_eq!(invited["status"], "invited");

    // Signing in sets the last sign-in time; the admin page shows it.
    let portal = Web::customer(&s, "dora@example.com", PW);
    assert_ne!(customer_json(&s, &id)["last_sign_in"], Value::Null);
    let admin = Web::admin(&s);
    let page = admin.get(&format!("/admin/customers/{id}")).text();
    assert!(page.contains("id=\"customer-status\""), "{page}");
    assert!(!page.contains("id=\"customer-last-sign-in\"><span class=\"muted\">never"));

    // Disabling ends the session at once and refuses the next sign-in.
    let r = admin.submit(
        &format!("/admin/customers/{id}/access"),
        &[("disabled", "1")],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(customer_json(&s, &id)["status"], "disabled");
    assert_eq!(portal.get("/portal/licenses").status, 303, "session ended");
    let again = Web::portal(&s).login("dora@example.com", PW);
    assert_eq!(again.status, 403);
    assert!(again.text().contains("disabled"), "{}", again.text());
    let bad = admin.submit(
        &format!("/admin/customers/{id}/access"),
        &[("disabled", "x")],
    );
    assert_eq!(bad.status, 400);
    admin.submit(
        &format!("/admin/customers/{id}/access"),
        &[("disabled", "0")],
    );
    assert_eq!(customer_json(&s, &id)["status"], "active");

    // Email change: the old email no longer signs in, the new one does; a taken
    // or malformed email is refused and changes nothing.
    for (email, status) in [("ivan@example.com", 400), ("not-an-email", 400)] {
        let r = admin.submit(
            &format!("/admin/customers/{id}"),
            &[("name", "Dora Delete"), ("email", email)],
        );
        assert_eq!(r.status, status, "{email}: {}", r.text());
        assert_eq!(customer_json(&s, &id)["email"], "dora@example.com");
    }
    let r = admin.submit(
        &format!("/admin/customers/{id}"),
        &[("name", "Dora Moved"), ("email", "Dora.New@Example.com")],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let c = customer_json(&s, &id);
    assert_eq!(
        (c["email"].as_str(), c["name"].as_str()),
        (Some("dora.new@example.com"), Some("Dora Moved"))
    );
    assert_eq!(Web::portal(&s).login("dora@example.com", PW).status, 401);
    Web::customer(&s, "dora.new@example.com", PW);
    // The old email is free again.
    let (st, _) = s.admin(
        "POST",
        "/customers",
        Some(json!({"email": "dora@example.com", "name": "New Dora"})),
    );
    assert_eq!(st, 201);
    // The API edits too, and refuses a taken email with a 409.
    let (st, e) = s.admin(
        "PATCH",
        &format!("/customers/{id}"),
        Some(json!({"email": "ivan@example.com"})),
    );
    assert_eq!(st, 409, "{e}");
    let (st, e) = s.admin(
        "PATCH",
        &format!("/customers/{id}"),
        Some(json!({"colour": 1})),
    );
    assert_eq!(st, 400, "{e}");

    // Delete: the licenses stay (state and devices), unassigned, in both environments.
    let active = license(&s, "production", &product, &id, json!({}));
    activate(&s, "production", &active, "dora-laptop");
    let idle = license(&s, "production", &product, &id, json!({}));
    let staged = license(&s, "staging", &staging_product, &id, json!({}));
    let confirm = admin.get(&format!("/admin/customers/{id}/delete")).text();
    assert!(
        confirm.contains("2 license(s) in production and 1 license(s) in staging"),
        "{confirm}"
    );
    let forged = admin.post(
        &format!("/admin/customers/{id}/delete"),
        &[("csrf", "forged")],
    );
    assert_eq!(forged.status, 403);
    assert_eq!(s.admin("GET", &format!("/customers/{id}"), None).0, 200);
    let r = admin.submit(&format!("/admin/customers/{id}/delete"), &[]);
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(s.admin("GET", &format!("/customers/{id}"), None).0, 404);
    for (env, key, status) in [
        ("production", &active, "active"),
        ("production", &idle, "assigned"),
        ("staging", &staged, "assigned"),
    ] {
        let (st, l) = s.admin("GET", &format!("/{env}/licenses/{key}"), None);
        assert_eq!(st, 200, "{l}");
        assert_eq!(l["customer_id"], Value::Null, "{env} {key}");
        assert_eq!(l["status"], status, "{env} {key}");
    }
    let (st, v) = s.client(
        "production",
        "validate",
        json!({"key": active, "identifier": "dora-laptop"}),
    );
    assert_eq!((st, v["valid"].as_bool()), (200, Some(true)), "{v}");
    admin.get("/admin"); // takes the flash that names the deleted account
    let detail = admin.get(&format!("/admin/licenses/{active}")).text();
    assert!(!detail.contains("dora.new@example.com"), "{detail}");
    assert_eq!(
        Web::portal(&s).login("dora.new@example.com", PW).status,
        401
    );
    let actions = crate::helpers::audit_actions(&s, "production", "customer.");
    for a in [
        "customer.deleted",
        "customer.disabled",
        "customer.enabled",
        "customer.updated",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a}: {actions:?}");
    }
    let (_, unassigned) = s.admin("GET", "/staging/audit?action=license.unassigned", None);
    assert_eq!(unassigned.as_array().unwrap().len(), 1, "{unassigned}");
}

#[test]
fn the_customers_page_pages_filters_and_the_picker_stays_small() {
    let s = Server::start();
    for i in 0..120 {
        let (st, c) = s.admin(
            "POST",
            "/customers",
            Some(
                json!({"email": format!("bulk{i:03}@example.com"), "name": format!("Bulk {i:03}")}),
            ),
        );
        assert_eq!(st, 201, "{c}");
    }
    customer(&s, "zed@example.com", "Zed Active");
    let admin = Web::admin(&s);
    let first = admin.get("/admin/customers").text();
    let emails = listed_emails(&first);
    assert_eq!(emails.len(), 50);
    assert_eq!(emails[0], "bulk000@example.com");
    assert!(first.contains("1–50 of 121 customers"), "{first}");
    assert!(first.contains("id=\"page-next\""));
    let third = admin.get("/admin/customers?page=3").text();
    let emails3 = listed_emails(&third);
    assert_eq!(emails3.len(), 21);
    assert_eq!(emails3.last().unwrap(), "zed@example.com");
    assert!(third.contains("id=\"page-prev\""));
    // Search and status filter, bookmarkable.
    let found = admin.get("/admin/customers?q=BULK11").text();
    assert_eq!(listed_emails(&found).len(), 10, "bulk110..bulk119");
    let active = admin.get("/admin/customers?status=active").text();
    assert_eq!(listed_emails(&active), ["zed@example.com"]);
    let invited = admin.get("/admin/customers?status=invited&q=bulk00").text();
    assert_eq!(listed_emails(&invited).len(), 10);
    assert_eq!(admin.get("/admin/customers?status=gone").status, 400);
    // The API pages the same way.
    let (st, page) = s.admin("GET", "/customers?page=2&per_page=100", None);
    assert_eq!(st, 200);
    assert_eq!(page.as_array().unwrap().len(), 21);
    let (_, all) = s.admin("GET", "/customers", None);
    assert_eq!(all.as_array().unwrap().len(), 121);

    // The license forms hold only the chosen customer, not a list of everyone.
    let new = admin.get("/admin/licenses/new").text();
    assert!(!new.contains("bulk042@example.com"));
    assert!(new.contains("id=\"customer_find\""));
    let pick = admin.get("/admin/customers/pick.json?q=bulk04");
    assert_eq!(pick.status, 200);
    let choices: Value = serde_json::from_str(&pick.text()).unwrap();
    assert_eq!(choices.as_array().unwrap().len(), 10);
    let exact: Value = serde_json::from_str(
        &admin
            .get("/admin/customers/pick.json?q=bulk042@example.com")
            .text(),
    )
    .unwrap();
    assert_eq!(exact[0]["email"], "bulk042@example.com");
    let anon = Web::new(&s).get("/admin/customers/pick.json?q=bulk");
    assert_ne!(anon.status, 200, "the picker needs a session");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_picker_assigns_a_customer_in_a_real_browser() {
    let s = Server::start();
    let product = s.product("production", "Picker Product");
    for i in 0..30 {
        s.admin(
            "POST",
            "/customers",
            Some(json!({"email": format!("pick{i:02}@example.com"), "name": format!("Picky {i:02}")})),
        );
    }
    let (_, l) = s.admin(
        "POST",
        "/production/licenses",
        Some(json!({"product_id": product})),
    );
    let key = l["key"].as_str().unwrap().to_owned();
    let driver = chromedriver();
    let downloads = tempfile::tempdir().unwrap();
    let c = browser(&driver, downloads.path()).await;
    let shots = screenshot_dir("admin-customers");
    let base = s.base.clone();
    crate::browser::sign_in_admin(&c, &base, "/admin/customers").await;
    shot(&c, &shots, "00-customers-light").await;
    c.goto(&format!("{base}/admin/licenses/{key}/edit"))
        .await
        .unwrap();
    fill(&c, "#customer_find", "pick17").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let t = el(&c, "#customer_found").await.text().await.unwrap();
        if t.contains("pick17@example.com") {
            break;
        }
        assert!(Instant::now() < deadline, "no choices: {t}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    shot(&c, &shots, "01-picker").await;
    crate::browser::click(&c, "#customer_found button.picker-choice").await;
    let chosen = c
        .execute(
            "return document.getElementById('customer_id').selectedOptions[0].text",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        chosen.as_str().unwrap().contains("pick17@example.com"),
        "{chosen}"
    );
    crate::browser::click(&c, "#save-license").await;
    // The edit form's own URL holds this too: wait for the saved page's.
    wait_url(&c, &format!("/admin/licenses/{key}?env=")).await;
    let (_, l) = s.admin("GET", &format!("/production/licenses/{key}"), None);
    let (_, owner) = s.admin(
        "GET",
        &format!(
            "/customers/{}",
            l["customer_id"].as_str().expect("assigned")
        ),
        None,
    );
    assert_eq!(owner["email"], "pick17@example.com");
    // The dark Customers page.
    c.goto(&format!("{base}/admin/settings")).await.unwrap();
    crate::browser::choose(&c, "#theme", "dark").await;
    crate::browser::click(&c, "#appearance-save").await;
    wait_url(&c, "/admin/settings").await;
    c.goto(&format!("{base}/admin/customers?q=pick1"))
        .await
        .unwrap();
    shot(&c, &shots, "02-customers-dark").await;
    c.close().await.unwrap();
}

/// Item 24: the admin customer page pages that customer's licenses, and the
/// Activations page reaches every binding a page at a time.
#[test]
fn the_customer_page_and_activations_page_reach_everything_a_page_at_a_time() {
    let s = Server::start();
    let product = s.product("production", "Paged Product");
    let id = customer(&s, "many@example.com", "Many Licenses");
    let mut keys = Vec::new();
    for _ in 0..30 {
        let key = license(&s, "production", &product, &id, json!({}));
        activate(&s, "production", &key, "box-1");
        keys.push(key);
    }
    for _ in 0..30 {
        let key = s.license("production", 1);
        activate(&s, "production", &key, "other-box");
    }
    let admin = Web::admin(&s);
    let rows = |html: &str| {
        html.matches("<td class=\"mono\"><a href=\"/admin/licenses/")
            .count()
    };
    let first = admin.get(&format!("/admin/customers/{id}")).text();
    assert!(
        first.contains("id=\"customer-license-total\">(30)"),
        "{first}"
    );
    assert_eq!(rows(&first), 25);
    assert!(first.contains("id=\"page-next\""));
    let second = admin.get(&format!("/admin/customers/{id}?page=2")).text();
    assert_eq!(rows(&second), 5);
    // Activations: 60 licenses with a device each, 50 bindings a page.
    let count = |html: &str| {
        let t = &html[html.find("id=\"activations\"").unwrap()..];
        t[..t.find("</table>").unwrap()].matches("<tr>").count() - 1
    };
    let page = admin.get("/admin/activations").text();
    assert_eq!(count(&page), 50);
    assert!(page.contains("licenses 1–50 of the 60"), "{page}");
    let next = &page[page
        .find("id=\"page-next\"")
        .map(|i| page[..i].rfind("href=\"").unwrap() + 6)
        .unwrap()..];
    let next = crate::web::unescape(&next[..next.find('"').unwrap()]);
    let older = admin.get(&next).text();
    assert_eq!(count(&older), 10);
    assert!(!older.contains("id=\"page-next\""));
    assert!(older.contains("id=\"page-first\""));
    let mut seen: Vec<String> = keys.clone();
    seen.sort();
    let found = admin.get("/admin/activations?q=box-1").text();
    assert_eq!(count(&found), 30, "a search pages the same way");
}
