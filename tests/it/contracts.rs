//! Issue 14 part 3: contracts. An API key's quota for one product is counted
//! atomically (also across two nodes on one CQL store), refused past it with
//! QUOTA_EXCEEDED, and shown with its usage on the API Keys page.

use std::sync::{Arc, Barrier};

use serde_json::{json, Value};

use crate::api_keys::with_token;
use crate::helpers::Server;

fn key_for(s: &Server) -> (String, String) {
    let (st, k) = s.admin(
        "POST",
        "/api-keys",
        Some(json!({"name": "Reseller", "permissions": ["licenses:write", "licenses:read"]})),
    );
    assert_eq!(st, 201, "{k}");
    (
        k["id"].as_str().unwrap().to_owned(),
        k["token"].as_str().unwrap().to_owned(),
    )
}

fn count_of(s: &Server, product: &str) -> usize {
    let (_, v) = s.admin("GET", "/production/licenses?per_page=200", None);
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["product_id"] == product)
        .count()
}

fn contract(s: &Server, key_id: &str, product: &str, limit: u64) -> Value {
    let (st, c) = s.admin(
        "POST",
        "/contracts",
        Some(json!({"api_key_id": key_id, "product_id": product, "limit": limit})),
    );
    assert_eq!(st, 201, "{c}");
    c
}

#[test]
fn a_key_creates_up_to_its_quota_and_is_refused_past_it() {
    let s = Server::start();
    let (key_id, token) = key_for(&s);
    let p = s.product("production", "Resold Product");
    let q = s.product("production", "Other Product");
    let c = contract(&s, &key_id, &p, 5);
    assert_eq!(
        (c["used"].as_u64(), c["remaining"].as_u64()),
        (Some(0), Some(5))
    );
    let one = json!({"product_id": p});
    for _ in 0..3 {
        let r = with_token(
            &s,
            &token,
            "POST",
            "/production/licenses",
            Some(one.clone()),
        );
        assert_eq!(r.status, 201, "{}", r.text());
    }
    // A bulk past what is left is refused whole.
    let r = with_token(
        &s,
        &token,
        "POST",
        "/production/licenses/bulk",
        Some(json!({"product_id": p, "count": 3})),
    );
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(r.json()["code"], "QUOTA_EXCEEDED");
    assert!(
        r.json()["detail"]
            .as_str()
            .unwrap()
            .contains("allows 5 licenses"),
        "{}",
        r.text()
    );
    assert_eq!(count_of(&s, &p), 3);
    let r = with_token(
        &s,
        &token,
        "POST",
        "/production/licenses/bulk",
        Some(json!({"product_id": p, "count": 2})),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let r = with_token(
        &s,
        &token,
        "POST",
        "/production/licenses",
        Some(one.clone()),
    );
    assert_eq!(
        (r.status, r.json()["code"].as_str()),
        (409, Some("QUOTA_EXCEEDED"))
    );
    assert_eq!(count_of(&s, &p), 5);
    // A refused creation (bad body) gives nothing away and takes nothing.
    let (_, list) = s.admin("GET", "/contracts", None);
    assert_eq!(
        (list[0]["used"].as_u64(), list[0]["remaining"].as_u64()),
        (Some(5), Some(0))
    );
    // Another product has no contract: no quota. The owner token has none either.
    let r = with_token(
        &s,
        &token,
        "POST",
        "/production/licenses",
        Some(json!({"product_id": q})),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        s.admin("POST", "/production/licenses", Some(one.clone())).0,
        201
    );
    // Usage on the API Keys page.
    let w = crate::web::Web::admin(&s);
    let page = w.get("/admin/api-keys?env=production").text();
    assert!(
        page.contains("Resold Product") && page.contains("5 of 5"),
        "{page}"
    );
    // Contracts are the owner's: a key cannot make or see them; bad ones are refused.
    let r = with_token(
        &s,
        &token,
        "POST",
        "/contracts",
        Some(json!({"api_key_id": key_id, "product_id": q, "limit": 9})),
    );
    assert_eq!(r.status, 403);
    assert_eq!(
        with_token(&s, &token, "GET", "/contracts", None).status,
        403
    );
    for (body, field) in [
        (
            json!({"api_key_id": key_id, "product_id": q, "limit": 0}),
            "limit",
        ),
        (
            json!({"api_key_id": uuid::Uuid::new_v4(), "product_id": q, "limit": 5}),
            "api_key_id",
        ),
        (
            json!({"api_key_id": key_id, "product_id": uuid::Uuid::new_v4(), "limit": 5}),
            "product_id",
        ),
    ] {
        let (st, v) = s.admin("POST", "/contracts", Some(body));
        assert_eq!((st, v["field"].as_str()), (400, Some(field)), "{v}");
    }
    let (st, _) = s.admin(
        "POST",
        "/contracts",
        Some(json!({"api_key_id": key_id, "product_id": p, "limit": 9})),
    );
    assert_eq!(st, 409, "one contract per key and product");
    // Ending the contract lifts the quota.
    let id = list[0]["id"].as_str().unwrap();
    assert_eq!(s.admin("DELETE", &format!("/contracts/{id}"), None).0, 204);
    let r = with_token(&s, &token, "POST", "/production/licenses", Some(one));
    assert_eq!(r.status, 201, "{}", r.text());
}

/// 24 creations at once against a quota of 10, on one node or split over two
/// nodes of one CQL store: exactly 10 are made.
fn race(nodes: &[Arc<Server>]) {
    let s = &nodes[0];
    let (key_id, token) = key_for(s);
    let p = s.product("production", "Raced Product");
    contract(s, &key_id, &p, 10);
    let barrier = Arc::new(Barrier::new(24));
    let threads: Vec<_> = (0..24)
        .map(|i| {
            let (node, b, token, p) = (
                nodes[i % nodes.len()].clone(),
                barrier.clone(),
                token.clone(),
                p.clone(),
            );
            std::thread::spawn(move || {
                b.wait();
                with_token(
                    &node,
                    &token,
                    "POST",
                    "/production/licenses",
                    Some(json!({"product_id": p})),
                )
                .status
            })
        })
        .collect();
    let statuses: Vec<u16> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        10,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 409),
        "{statuses:?}"
    );
    let (_, list) = s.admin("GET", "/contracts", None);
    assert_eq!(list[0]["used"], 10);
    // Licenses made on the other node reach this node's listing through the
    // change log (within a second or two).
    let started = std::time::Instant::now();
    while count_of(s, &p) < 10 && started.elapsed().as_secs() < 10 {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(count_of(s, &p), 10);
}

#[test]
fn a_quota_holds_under_concurrent_creations() {
    race(&[Arc::new(Server::start())]);
}

#[test]
fn cql_a_quota_holds_across_two_nodes() {
    let (a, b) = crate::cluster::two_nodes();
    race(&[a, b]);
}
