//! The admin REST API contract.

use serde_json::{json, Value};

use crate::helpers::{call, Server, TOKEN};

#[test]
fn the_contract_calls_answer_as_documented() {
    let s = Server::start();
    let (st, c) = s.admin(
        "POST",
        "/customers",
        Some(json!({ "email": "Ann@Example.com", "name": "Ann", "password": "s3cret-pass" })),
    );
    assert_eq!(st, 201);
    assert_eq!(c["email"], "ann@example.com");
    assert_eq!(c["has_password"], true);
    assert!(c.get("password_hash").is_none());
    let (st, p) = s.admin(
        "POST",
        "/production/products",
        Some(json!({ "name": "Pro" })),
    );
    assert_eq!(st, 201);
    assert!(
        p["default_generator_id"].is_string(),
        "each product gets a default generator"
    );
    let (st, l) = s.admin(
        "POST",
        "/production/licenses",
        Some(json!({
            "product_id": p["id"], "customer_id": c["id"], "activation_limit": 3,
            "expires_at": "2030-01-01T00:00:00Z", "feature_flags": {"pro": true}, "metadata": {"order": 42}
        })),
    );
    assert_eq!(st, 201, "{l}");
    assert_eq!(l["status"], "assigned");
    let key = l["key"].as_str().unwrap();
    let parts: Vec<&str> = key.split('-').collect();
    assert_eq!(parts.len(), 4, "default generator is chunked: {key}");
    let l = s.get_license("production", key);
    assert_eq!(l["status"], "assigned");
    assert_eq!(l["activations"], json!([]));
    assert_eq!(l["feature_flags"]["pro"], true);
    let (st, _) = s.admin("DELETE", &format!("/production/licenses/{key}"), None);
    assert_eq!(st, 204);
    let (st, v) = s.admin("GET", &format!("/production/licenses/{key}"), None);
    assert_eq!((st, v["code"].as_str()), (404, Some("NOT_FOUND")));
    let (_, v) = s.client(
        "production",
        "validate",
        json!({ "key": key, "identifier": "d" }),
    );
    assert_eq!(
        v["code"], "NOT_FOUND",
        "a deleted key stops validating at once"
    );
}

#[test]
fn a_wrong_or_missing_token_is_refused_and_changes_nothing() {
    let s = Server::start();
    for auth in [None, Some("Bearer wrong"), Some("Basic abc"), Some(TOKEN)] {
        let mut req = ureq::post(&s.url("/admin/api/v1/production/products"));
        if let Some(a) = auth {
            req = req.set("authorization", a);
        }
        let r = call(req, Some(json!({ "name": "Sneaky" })));
        assert_eq!(r.status, 401, "{auth:?}");
        assert_eq!(r.json()["code"], "UNAUTHORIZED");
    }
    let (_, products) = s.admin("GET", "/production/products", None);
    assert_eq!(products, json!([]));
}

#[test]
fn invalid_fields_are_named_in_the_error() {
    let s = Server::start();
    let p = s.product("production", "P");
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({ "product_id": p, "feature_flags": [1, 2] }),
            "feature_flags",
        ),
        (
            json!({ "product_id": p, "feature_flags": "{not json" }),
            "feature_flags",
        ),
        (
            json!({ "product_id": p, "metadata": { "blob": "x".repeat(11 * 1024) } }),
            "metadata",
        ),
        (
            json!({ "product_id": p, "activation_limit": 0 }),
            "activation_limit",
        ),
        (
            json!({ "product_id": p, "activation_limit": 10001 }),
            "activation_limit",
        ),
        (
            json!({ "product_id": p, "expires_at": "next tuesday" }),
            "expires_at",
        ),
        (
            json!({ "product_id": "00000000-0000-0000-0000-000000000000" }),
            "product_id",
        ),
        (
            json!({ "product_id": p, "customer_id": "00000000-0000-0000-0000-000000000000" }),
            "customer_id",
        ),
        (json!({}), "product_id"),
    ];
    for (body, field) in cases {
        let (st, v) = s.admin("POST", "/production/licenses", Some(body.clone()));
        assert_eq!(st, 400, "{body}");
        assert_eq!(v["code"], "BAD_REQUEST");
        assert_eq!(v["field"], field, "{body} → {v}");
    }
    // Large metadata needs a larger body limit than the default 64 KB? No: 11 KB fits; nothing was created.
    let (_, list) = s.admin("GET", "/production/licenses", None);
    assert_eq!(list["total"], 0);
}

#[test]
fn only_editable_fields_can_be_edited() {
    let s = Server::start();
    let key = s.license("production", 5);
    let (st, v) = s.admin(
        "PATCH",
        &format!("/production/licenses/{key}"),
        Some(
            json!({ "activation_limit": 7, "metadata": {"note": "upgraded"}, "expires_at": null }),
        ),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["activation_limit"], 7);
    assert_eq!(v["metadata"]["note"], "upgraded");
    assert_eq!(v["expires_at"], Value::Null);
    for field in ["key", "product_id", "environment"] {
        let (st, v) = s.admin(
            "PATCH",
            &format!("/production/licenses/{key}"),
            Some(json!({ field: "x" })),
        );
        assert_eq!(st, 400);
        assert_eq!(v["field"], field);
    }
    let (st, _) = s.admin(
        "PATCH",
        &format!("/production/licenses/{key}"),
        Some(json!({ "status": "active" })),
    );
    assert_eq!(st, 400, "unknown fields are refused");
}

#[test]
fn generators_make_uuid_chunked_and_pattern_keys_in_bulk() {
    let s = Server::start();
    let p = s.product("production", "Bulk");
    let formats = [
        (json!({"type": "uuid", "prefix": "U-"}), "U-"),
        (
            json!({"type": "chunked", "segments": 5, "segment_len": 4, "separator": "-"}),
            "",
        ),
        (
            json!({"type": "pattern", "pattern": "####-@@@@-****-****", "prefix": "ACME-"}),
            "ACME-",
        ),
    ];
    for (i, (format, prefix)) in formats.iter().enumerate() {
        let (st, g) = s.admin("POST", "/production/generators", Some(json!({ "product_id": p, "name": format!("Gen {i}"), "format": format, "activation_limit": 2, "validity_days": 30 })));
        assert_eq!(st, 201, "{g}");
        let (st, b) = s.admin(
            "POST",
            "/production/licenses/bulk",
            Some(json!({ "product_id": p, "generator_id": g["id"], "count": 50 })),
        );
        assert_eq!(st, 201, "{b}");
        let keys: Vec<&str> = b["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap())
            .collect();
        assert_eq!(keys.len(), 50);
        let unique: std::collections::HashSet<_> = keys.iter().collect();
        assert_eq!(unique.len(), 50);
        assert!(keys.iter().all(|k| k.starts_with(prefix)), "{keys:?}");
        let l = s.get_license("production", keys[0]);
        assert_eq!(l["status"], "available");
        assert_eq!(l["activation_limit"], 2);
        assert_eq!(
            l["expires_at"],
            Value::Null,
            "validity starts at assignment"
        );
    }
    let (st, v) = s.admin(
        "POST",
        "/production/licenses/bulk",
        Some(json!({ "product_id": p, "count": 10001 })),
    );
    assert_eq!((st, v["field"].as_str()), (400, Some("count")));
    let (st, v) = s.admin("POST", "/production/generators", Some(json!({ "product_id": p, "name": "Short", "format": {"type": "pattern", "pattern": "###"} })));
    assert_eq!((st, v["field"].as_str()), (400, Some("format")));
}

#[test]
fn listing_searches_filters_sorts_pages_and_exports() {
    let s = Server::start();
    let p1 = s.product("production", "Photon Editor");
    let p2 = s.product("production", "Nebula Server");
    let (_, c) = s.admin(
        "POST",
        "/customers",
        Some(json!({ "email": "grace@navy.example", "name": "Grace Hopper" })),
    );
    let (_, b1) = s.admin(
        "POST",
        "/production/licenses/bulk",
        Some(json!({ "product_id": p1, "count": 30, "customer_id": c["id"] })),
    );
    let (_, _b2) = s.admin(
        "POST",
        "/production/licenses/bulk",
        Some(json!({ "product_id": p2, "count": 20 })),
    );
    let first = b1["keys"][0].as_str().unwrap().to_owned();

    let list = |q: &str| -> Value {
        let (st, v) = s.admin("GET", &format!("/production/licenses?{q}"), None);
        assert_eq!(st, 200, "{q}: {v}");
        v
    };
    assert_eq!(list("")["total"], 50);
    assert_eq!(
        list(&format!("q={}", &first[..7]))["items"][0]["key"],
        first.as_str()
    );
    assert_eq!(
        list("q=navy.example")["total"],
        30,
        "search by customer email"
    );
    assert_eq!(
        list("q=grace%20hop")["total"],
        30,
        "search by customer name"
    );
    assert_eq!(list("q=nebula")["total"], 20, "search by product name");
    assert_eq!(
        list(&format!("product_id={p2}&status=available"))["total"],
        20
    );
    assert_eq!(
        list(&format!("product_id={p1}&status=available"))["total"],
        0
    );
    assert_eq!(list("status=assigned&q=photon")["total"], 30);
    let page2 = list("per_page=20&page=2&sort=key&order=asc");
    assert_eq!(page2["items"].as_array().unwrap().len(), 20);
    let all_sorted = list("per_page=100&sort=key&order=asc");
    let keys: Vec<&str> = all_sorted["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["key"].as_str().unwrap())
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    assert_eq!(page2["items"][0]["key"], keys[20]);
    let desc = list("per_page=100&sort=key&order=desc");
    assert_eq!(desc["items"][0]["key"], *keys.last().unwrap());
    for sort in [
        "product",
        "customer",
        "status",
        "activations",
        "expires",
        "created",
    ] {
        for order in ["asc", "desc"] {
            assert_eq!(list(&format!("sort={sort}&order={order}"))["total"], 50);
        }
    }
    let (st, v) = s.admin("GET", "/production/licenses?sort=colour", None);
    assert_eq!((st, v["field"].as_str()), (400, Some("sort")));
    let (st, v) = s.admin("GET", "/production/licenses?status=sleepy", None);
    assert_eq!((st, v["field"].as_str()), (400, Some("status")));

    let r = s.admin_raw(
        "GET",
        "/production/licenses/export?format=csv&q=nebula",
        None,
    );
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/csv"));
    let text = r.text();
    let mut lines = text.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("key,product,customer_email"));
    assert_eq!(lines.count(), 20);
    let r = s.admin_raw(
        "GET",
        "/production/licenses/export?format=json&status=assigned",
        None,
    );
    assert_eq!(r.json().as_array().unwrap().len(), 30);
}

#[test]
fn customers_are_global_and_emails_unique() {
    let s = Server::start();
    let (st, _) = s.admin(
        "POST",
        "/customers",
        Some(json!({ "email": "dup@example.com", "name": "A" })),
    );
    assert_eq!(st, 201);
    let (st, v) = s.admin(
        "POST",
        "/customers",
        Some(json!({ "email": "DUP@example.com", "name": "B" })),
    );
    assert_eq!((st, v["code"].as_str()), (409, Some("CONFLICT")));
    let (st, v) = s.admin(
        "POST",
        "/customers",
        Some(json!({ "email": "not-an-email", "name": "B" })),
    );
    assert_eq!((st, v["field"].as_str()), (400, Some("email")));
    let (st, v) = s.admin(
        "POST",
        "/customers",
        Some(json!({ "email": "p@example.com", "password": "short" })),
    );
    assert_eq!((st, v["field"].as_str()), (400, Some("password")));
    let (_, list) = s.admin("GET", "/customers", None);
    assert_eq!(list.as_array().unwrap().len(), 1);
}

#[test]
fn every_change_writes_an_audit_entry() {
    let s = Server::start();
    let key = s.license("production", 5);
    crate::helpers::activate(&s, "production", &key, "d");
    s.admin(
        "POST",
        &format!("/production/licenses/{key}/actions/suspend"),
        None,
    );
    s.admin(
        "POST",
        &format!("/production/licenses/{key}/actions/unsuspend"),
        None,
    );
    s.client(
        "production",
        "deactivate",
        json!({ "key": key, "identifier": "d" }),
    );
    let (_, audit) = s.admin("GET", &format!("/production/audit?license={key}"), None);
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "activation.deactivated",
            "license.unsuspend",
            "license.suspend",
            "activation.created",
            "license.key_mailed",
            "license.created"
        ]
    );
    let suspend = &audit[2];
    assert_eq!(
        (suspend["before"].as_str(), suspend["after"].as_str()),
        (Some("active"), Some("suspended"))
    );
    assert_eq!(suspend["actor"], "admin-api");
}
