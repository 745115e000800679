//! Issue 14 part 3: `Idempotency-Key` on the admin API's POSTs. The first
//! answer is kept in the store and replayed for the same request (also on
//! another node and after a restart), the same key with another body is 422,
//! and a repeat that arrives while the first runs waits for its answer.

use std::sync::{Arc, Barrier};

use serde_json::{json, Value};

use crate::helpers::{call, Opts, Resp, Server, TOKEN};

fn post(s: &Server, path: &str, key: Option<&str>, body: Value) -> Resp {
    let mut req = ureq::post(&s.url(&format!("/admin/api/v1{path}")))
        .set("authorization", &format!("Bearer {TOKEN}"));
    if let Some(k) = key {
        req = req.set("idempotency-key", k);
    }
    call(req, Some(body))
}

fn total(s: &Server) -> u64 {
    let (st, v) = s.admin("GET", "/production/licenses?per_page=1", None);
    assert_eq!(st, 200, "{v}");
    v["total"].as_u64().unwrap()
}

#[test]
fn a_repeat_gets_the_first_answer_and_another_body_is_refused() {
    let s = Server::start();
    let product = s.product("production", "Idem Product");
    let before = total(&s);
    let body = json!({"product_id": product, "activation_limit": 2});
    let first = post(&s, "/production/licenses", Some("order-1001"), body.clone());
    assert_eq!(first.status, 201, "{}", first.text());
    assert_eq!(first.header("idempotent-replayed"), None);
    let again = post(&s, "/production/licenses", Some("order-1001"), body.clone());
    assert_eq!(again.status, 201, "{}", again.text());
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(
        again.json(),
        first.json(),
        "the same license, not a new one"
    );
    assert_eq!(total(&s), before + 1);
    // The same key with another body: 422, nothing made.
    let other = post(
        &s,
        "/production/licenses",
        Some("order-1001"),
        json!({"product_id": product, "activation_limit": 3}),
    );
    assert_eq!(other.status, 422, "{}", other.text());
    assert_eq!(other.json()["code"], "IDEMPOTENCY_KEY_REUSED");
    assert_eq!(total(&s), before + 1);
    // Without a key, or with a new one, each POST runs.
    assert_eq!(
        post(&s, "/production/licenses", None, body.clone()).status,
        201
    );
    assert_eq!(
        post(&s, "/production/licenses", Some("order-1002"), body.clone()).status,
        201
    );
    assert_eq!(total(&s), before + 3);
    // A refusal is an answer too: replayed, not run again.
    let bad = post(
        &s,
        "/production/licenses",
        Some("bad-1"),
        json!({"product_id": "nope"}),
    );
    assert_eq!(bad.status, 400, "{}", bad.text());
    let bad_again = post(
        &s,
        "/production/licenses",
        Some("bad-1"),
        json!({"product_id": "nope"}),
    );
    assert_eq!(
        (bad_again.status, bad_again.header("idempotent-replayed")),
        (400, Some("true"))
    );
    // A malformed key is refused before anything runs.
    let long = "k".repeat(256);
    let r = post(&s, "/production/licenses", Some(&long), body.clone());
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(total(&s), before + 3);
    // A wrong token is refused by the route, and its answer is not kept.
    let r = call(
        ureq::post(&s.url("/admin/api/v1/production/licenses"))
            .set(
                "authorization",
                "Bearer kw_wrong_token_0123456789abcdef0123",
            )
            .set("idempotency-key", "order-2000"),
        Some(body.clone()),
    );
    assert_eq!(r.status, 401);
    assert_eq!(
        post(&s, "/production/licenses", Some("order-2000"), body.clone()).status,
        201
    );
    // Keys are per caller: an API key's "order-1001" is its own.
    let (st, k) = s.admin(
        "POST",
        "/api-keys",
        Some(json!({"name": "shop", "permissions": ["licenses:write"]})),
    );
    assert_eq!(st, 201, "{k}");
    let r = call(
        ureq::post(&s.url("/admin/api/v1/production/licenses"))
            .set(
                "authorization",
                &format!("Bearer {}", k["token"].as_str().unwrap()),
            )
            .set("idempotency-key", "order-1001"),
        Some(body.clone()),
    );
    assert_eq!(
        (r.status, r.header("idempotent-replayed")),
        (201, None),
        "{}",
        r.text()
    );
    assert_ne!(r.json()["key"], first.json()["key"]);
    // Kept in the store: replayed after a restart.
    let s = s.restart(Opts::default());
    let again = post(&s, "/production/licenses", Some("order-1001"), body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json(), first.json());
}

/// Two identical bulk creations sent at once with one key: one runs, the
/// other waits for it and gets its answer (never a second batch).
#[test]
fn a_repeat_that_arrives_while_the_first_runs_waits_for_its_answer() {
    let s = Arc::new(Server::start());
    let product = s.product("production", "Idem Bulk");
    let before = total(&s);
    let body = json!({"product_id": product, "count": 3000});
    let barrier = Arc::new(Barrier::new(2));
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let (s, b, body) = (s.clone(), barrier.clone(), body.clone());
            std::thread::spawn(move || {
                b.wait();
                post(&s, "/production/licenses/bulk", Some("bulk-7"), body)
            })
        })
        .collect();
    let answers: Vec<Resp> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    for a in &answers {
        assert!(
            a.status == 201 || a.status == 409,
            "{} {}",
            a.status,
            a.text()
        );
    }
    let replayed = answers
        .iter()
        .filter(|a| a.header("idempotent-replayed") == Some("true"))
        .count();
    let ran = answers
        .iter()
        .filter(|a| a.status == 201 && a.header("idempotent-replayed").is_none())
        .count();
    assert_eq!(ran, 1, "exactly one ran");
    assert!(replayed == 1 || answers.iter().any(|a| a.status == 409));
    if replayed == 1 {
        assert_eq!(answers[0].json(), answers[1].json());
    }
    assert_eq!(total(&s), before + 3000, "one batch, not two");
}

/// On two nodes sharing a CQL store: a repeat on the other node is replayed,
/// another body refused, and two sent at once to both nodes run once.
#[test]
fn cql_idempotency_holds_across_two_nodes() {
    let (a, b) = crate::cluster::two_nodes();
    let product = a.product("production", "Idem Cluster");
    let body = json!({"product_id": product});
    let first = post(&a, "/production/licenses", Some("x-1"), body.clone());
    assert_eq!(first.status, 201, "{}", first.text());
    let again = post(&b, "/production/licenses", Some("x-1"), body.clone());
    assert_eq!(
        again.header("idempotent-replayed"),
        Some("true"),
        "{}",
        again.text()
    );
    assert_eq!(again.json(), first.json());
    let other = post(
        &b,
        "/production/licenses",
        Some("x-1"),
        json!({"product_id": product, "activation_limit": 9}),
    );
    assert_eq!(other.status, 422, "{}", other.text());
    for round in 0..5 {
        let key = format!("race-{round}");
        let barrier = Arc::new(Barrier::new(2));
        let threads: Vec<_> = [a.clone(), b.clone()]
            .into_iter()
            .map(|s| {
                let (bar, body, key) = (barrier.clone(), body.clone(), key.clone());
                std::thread::spawn(move || {
                    bar.wait();
                    post(&s, "/production/licenses", Some(&key), body)
                })
            })
            .collect();
        let answers: Vec<Resp> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let ran: Vec<&Resp> = answers
            .iter()
            .filter(|r| r.status == 201 && r.header("idempotent-replayed").is_none())
            .collect();
        assert_eq!(
            ran.len(),
            1,
            "round {round}: {:?}",
            answers.iter().map(|r| r.status).collect::<Vec<_>>()
        );
        for r in &answers {
            assert!(r.status == 201 || r.status == 409, "{}", r.text());
            if r.status == 201 {
                assert_eq!(r.json()["key"], ran[0].json()["key"], "round {round}");
            }
        }
    }
}
