//! Issue 15 item 18 (the selection part): ticked rows of License Keys are
//! exported, or suspended, revoked or assigned after one confirmation; a
//! license the action does not fit is skipped with its reason.

use serde_json::json;

use crate::helpers::{activate, Server};
use crate::web::{mails, Web};

fn ticked(keys: &[&String]) -> Vec<(String, String)> {
    keys.iter()
        .map(|k| (format!("k:{k}"), "1".to_owned()))
        .collect()
}

fn post(w: &Web, path: &str, action: &str, email: &str, keys: &[&String]) -> crate::helpers::Resp {
    let mut form = ticked(keys);
    form.push(("env".into(), "production".into()));
    form.push(("bulk_action".into(), action.into()));
    form.push(("customer_email".into(), email.into()));
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    w.submit(path, &pairs)
}

#[test]
fn ticked_rows_are_exported_suspended_revoked_and_assigned() {
    let s = Server::start();
    let keys: Vec<String> = (0..5).map(|_| s.license("production", 2)).collect();
    for k in &keys {
        activate(&s, "production", k, "box");
    }
    let w = Web::admin(&s);
    let page = w.get("/admin/licenses").text();
    assert!(page.contains(&format!("name=\"k:{}\"", keys[0])));

    // Export: exactly the ticked rows.
    let csv = post(
        &w,
        "/admin/licenses/bulk",
        "export",
        "",
        &[&keys[0], &keys[2]],
    );
    assert_eq!(csv.status, 200);
    let body = csv.text();
    assert_eq!(body.lines().count(), 3, "{body}");
    assert!(body.contains(&keys[0]) && body.contains(&keys[2]) && !body.contains(&keys[1]));

    // Nothing ticked, a bad key or a forged form: nothing happens.
    let none = post(&w, "/admin/licenses/bulk", "suspend", "", &[]);
    assert_eq!(none.status, 303);
    let bad = "not a key".to_owned();
    assert_eq!(
        post(&w, "/admin/licenses/bulk/apply", "suspend", "", &[&bad]).status,
        400
    );
    let forged = w.post(
        "/admin/licenses/bulk/apply",
        &[
            ("csrf", "forged"),
            ("env", "production"),
            ("bulk_action", "revoke"),
            (&format!("k:{}", keys[0]), "1"),
        ],
    );
    assert_eq!(forged.status, 403);
    assert_eq!(s.get_license("production", &keys[0])["status"], "active");

    // Revoke one first, then suspend three including it: two done, one skipped.
    let r = post(&w, "/admin/licenses/bulk/apply", "revoke", "", &[&keys[1]]);
    assert_eq!(r.status, 303);
    let confirm = post(
        &w,
        "/admin/licenses/bulk",
        "suspend",
        "",
        &[&keys[0], &keys[1], &keys[2]],
    );
    assert_eq!(confirm.status, 200);
    assert!(confirm.text().contains("Suspend 3 license(s)?"));
    let r = post(
        &w,
        "/admin/licenses/bulk/apply",
        "suspend",
        "",
        &[&keys[0], &keys[1], &keys[2]],
    );
    assert_eq!(r.status, 303);
    let flash = w.get("/admin/licenses").text();
    assert!(
        flash.contains("2 license(s) suspended. 1 skipped:"),
        "{flash}"
    );
    let statuses: Vec<String> = keys
        .iter()
        .map(|k| {
            s.get_license("production", k)["status"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        statuses,
        ["suspended", "revoked", "suspended", "active", "active"]
    );

    // Assign two to a new email: the account is made and invited, both assigned.
    let r = post(
        &w,
        "/admin/licenses/bulk/apply",
        "assign",
        "bulk-owner@example.com",
        &[&keys[3], &keys[4]],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let (_, customers) = s.admin("GET", "/customers?q=bulk-owner", None);
    let id = customers[0]["id"].as_str().unwrap().to_owned();
    for k in &keys[3..] {
        assert_eq!(s.get_license("production", k)["customer_id"], json!(id));
    }
    assert!(mails(&s)
        .iter()
        .any(|m| m["to"] == "bulk-owner@example.com"));
    let (_, audit) = s.admin("GET", "/production/audit?action=license.suspend", None);
    assert_eq!(audit.as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bulk_bar_in_a_real_browser() {
    let s = Server::start();
    let keys: Vec<String> = (0..4).map(|_| s.license("production", 2)).collect();
    for k in &keys {
        activate(&s, "production", k, "box");
    }
    let driver = crate::browser::chromedriver();
    let downloads = tempfile::tempdir().unwrap();
    let c = crate::browser::browser(&driver, downloads.path()).await;
    let shots = crate::browser::screenshot_dir("admin-bulk");
    let base = s.base.clone();
    crate::browser::sign_in_admin(&c, &base, "/admin/licenses").await;
    // The header box ticks the whole page.
    crate::browser::click(&c, "#select-page").await;
    let ticked = c
        .execute(
            "return document.querySelectorAll('input[form=\"bulk-form\"]:checked').length",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(ticked, json!(4));
    crate::browser::shot(&c, &shots, "00-selected").await;
    crate::browser::choose(&c, "#bulk-action", "suspend").await;
    crate::browser::click(&c, "#bulk-apply").await;
    crate::browser::wait_url(&c, "/admin/licenses/bulk").await;
    assert!(crate::browser::text_of(&c, "#confirm-heading")
        .await
        .contains("Suspend 4 license(s)?"));
    crate::browser::shot(&c, &shots, "01-confirm").await;
    crate::browser::click(&c, "#confirm-bulk").await;
    crate::browser::wait_url(&c, "/admin/licenses?").await;
    assert!(crate::browser::text_of(&c, "#flash")
        .await
        .contains("4 license(s) suspended."));
    crate::browser::shot(&c, &shots, "02-done").await;
    c.close().await.unwrap();
    for k in &keys {
        assert_eq!(s.get_license("production", k)["status"], "suspended");
    }
}
