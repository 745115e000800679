//! Issue 15 item 15: the product kill switch. Behind the product's name typed
//! to confirm, a background job revokes every license of that product (and
//! nothing of any other), with progress on the Background Jobs page.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::{activate, Server};
use crate::web::{unescape, Web};

/// Status counts of a product's licenses, through the admin API.
pub fn statuses(s: &Server, pid: &str) -> HashMap<String, u64> {
    let mut out = HashMap::new();
    for st in [
        "available",
        "assigned",
        "active",
        "suspended",
        "inactive",
        "expired",
        "revoked",
    ] {
        let (code, v) = s.admin(
            "GET",
            &format!("/production/licenses?product_id={pid}&status={st}&per_page=1"),
            None,
        );
        assert_eq!(code, 200, "{v}");
        let n = v["total"].as_u64().unwrap();
        if n > 0 {
            out.insert(st.to_owned(), n);
        }
    }
    out
}

pub fn bulk(s: &Server, pid: &str, count: u32, extra: Value) -> Vec<String> {
    let mut body = json!({"product_id": pid, "count": count});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (st, v) = s.admin("POST", "/production/licenses/bulk", Some(body));
    assert_eq!(st, 201, "{v}");
    v["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect()
}

/// A product with licenses in several states, and its status counts.
fn seeded(s: &Server, name: &str, customer: &str, n: u32) -> (String, Vec<String>) {
    let pid = s.product("production", name);
    let mut keys = bulk(s, &pid, n, json!({}));
    keys.extend(bulk(s, &pid, 5, json!({"customer_id": customer})));
    let k = keys.len();
    activate(s, "production", &keys[k - 1], "box-1");
    activate(s, "production", &keys[k - 2], "box-2");
    activate(s, "production", &keys[k - 3], "box-3");
    let (st, _) = s.admin(
        "POST",
        &format!("/production/licenses/{}/actions/suspend", keys[k - 3]),
        None,
    );
    assert_eq!(st, 200);
    let (st, _) = s.admin(
        "POST",
        &format!("/production/licenses/{}/actions/revoke", keys[k - 4]),
        None,
    );
    assert_eq!(st, 200);
    (pid, keys)
}

#[test]
fn the_kill_switch_revokes_every_license_of_the_product_and_nothing_else() {
    let s = Server::start();
    let customer = s.customer("kill@example.com");
    let (doomed, doomed_keys) = seeded(&s, "Doomed Product", &customer, 1200);
    let (kept, kept_keys) = seeded(&s, "Kept Product", &customer, 40);
    let kept_before = statuses(&s, &kept);
    let doomed_before = statuses(&s, &doomed);
    assert!(doomed_before.len() >= 4, "{doomed_before:?}");

    // A wrong or missing confirmation changes nothing, over the API and the page.
    for body in [json!({"confirm": "doomed product"}), json!({})] {
        let (st, e) = s.admin(
            "POST",
            &format!("/production/products/{doomed}/revoke-all"),
            Some(body),
        );
        assert_eq!((st, e["field"].as_str()), (400, Some("confirm")), "{e}");
    }
    let w = Web::admin(&s);
    let page = w
        .get(&format!("/admin/products/{doomed}?env=production"))
        .text();
    assert!(page.contains("id=\"kill-form\""), "{page}");
    assert!(page.contains("(1204 can still be revoked)"), "{page}");
    let r = w.submit(
        &format!("/admin/products/{doomed}/revoke-all"),
        &[("env", "production"), ("confirm", "Doomed")],
    );
    assert_eq!(r.status, 303);
    let back = unescape(&w.get(r.header("location").unwrap()).text());
    assert!(
        back.contains("Type the product&#39;s name") || back.contains("Type the product's name"),
        "{back}"
    );
    let forged = w.post(
        &format!("/admin/products/{doomed}/revoke-all"),
        &[
            ("env", "production"),
            ("confirm", "Doomed Product"),
            ("csrf", "x"),
        ],
    );
    assert_eq!(forged.status, 403);
    assert_eq!(statuses(&s, &doomed), doomed_before, "nothing changed yet");
    let (_, p) = s.admin("GET", &format!("/production/products/{doomed}"), None);
    assert_eq!(p["active"], true);

    // The name typed exactly: a job, then every license of the product revoked.
    let r = w.submit(
        &format!("/admin/products/{doomed}/revoke-all"),
        &[("env", "production"), ("confirm", "Doomed Product")],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(r.header("location").unwrap().starts_with("/admin/jobs"));
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let html = w.get("/admin/jobs?env=production").text();
        if html.contains("Revoke every license of Doomed Product")
            && html.contains("1204 / 1204")
            && html.contains("badge done")
        {
            break;
        }
        assert!(Instant::now() < deadline, "the job did not finish: {html}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let after = statuses(&s, &doomed);
    assert_eq!(
        after,
        HashMap::from([("revoked".to_owned(), doomed_keys.len() as u64)])
    );
    assert_eq!(
        statuses(&s, &kept),
        kept_before,
        "another product is untouched"
    );
    for k in &kept_keys[kept_keys.len() - 2..] {
        let (_, v) = s.client("production", "validate", json!({"key": k, "identifier": if k == kept_keys.last().unwrap() { "box-1" } else { "box-2" }}));
        assert_eq!(v["valid"], true, "{v}");
    }
    let last = doomed_keys.last().unwrap();
    let (_, v) = s.client(
        "production",
        "validate",
        json!({"key": last, "identifier": "box-1"}),
    );
    assert_eq!(v["code"], "REVOKED", "{v}");
    // The product is inactive: no new license of it.
    let (_, p) = s.admin("GET", &format!("/production/products/{doomed}"), None);
    assert_eq!(p["active"], false);
    let (st, _) = s.admin(
        "POST",
        "/production/licenses",
        Some(json!({"product_id": doomed})),
    );
    assert_eq!(st, 400);
    // Audited: the switch and each revocation.
    let (_, a) = s.admin("GET", "/production/audit?action=product.revoke_all", None);
    assert_eq!(a.as_array().unwrap().len(), 1, "{a}");
    let (_, a) = s.admin(
        "GET",
        &format!("/production/audit?license={last}&action=license.revoke"),
        None,
    );
    assert_eq!(a.as_array().unwrap().len(), 1, "{a}");

    // Over the API: 202 with the job; with nothing left to revoke it finishes at 0.
    let (st, v) = s.admin(
        "POST",
        &format!("/production/products/{doomed}/revoke-all"),
        Some(json!({"confirm": "Doomed Product"})),
    );
    assert_eq!(st, 202, "{v}");
    assert_eq!(v["total"], 0);
    assert!(v["job_id"].as_str().is_some());
}
