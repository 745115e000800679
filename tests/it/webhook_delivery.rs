//! Webhook delivery is durable and at-least-once: retries on failure with a
//! (shortened) schedule, a manual retry, auto-disable with a mail to the admins,
//! events made while the receiver and the server were down arrive afterwards, and
//! two nodes on one CQL node send each event once.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::Server;
use crate::hook_receiver::{deliveries, endpoint, loopback, of_type, Receiver};

/// Waits (up to 30 s) for the endpoint's newest delivery to satisfy `done`.
fn wait_delivery(s: &Server, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..300 {
        if let Some(d) = deliveries(s, "production", id).into_iter().next() {
            if done(&d) {
                return d;
            }
            last = d;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the delivery did not get there: {last}");
}

#[test]
fn a_receiver_answering_500_gets_retries_then_a_manual_retry_delivers() {
    let rx = Receiver::start();
    rx.answer(500);
    let s = Server::start_with(loopback().env("KEYWARDEN_WEBHOOKS__RETRY_SCHEDULE_SECS", "[1,1]"));
    let (id, secret) = endpoint(&s, "production", &rx.url("/flaky"), None);
    rx.trust(&[&secret]);
    let (st, _) = s.admin("POST", &format!("/production/webhooks/{id}/test"), None);
    assert_eq!(st, 202);
    // The first attempt and the two retries of the schedule, then failed.
    let d = wait_delivery(&s, &id, |d| d["status"] == "failed");
    assert_eq!(d["attempt_count"], 3, "{d}");
    assert!(d["next_attempt_at"].is_null(), "{d}");
    for a in d["attempts"].as_array().unwrap() {
        assert_eq!(a["status_code"], 500, "{a}");
        assert_eq!(a["response"], "receiver says no", "{a}");
    }
    let rows = rx.rows();
    assert_eq!(rows.len(), 3, "{rows:?}");
    // Every retry is the same message: the receiver can deduplicate on webhook-id.
    assert!(rows
        .iter()
        .all(|r| r["id"] == rows[0]["id"] && r["verified"] == true));
    assert_eq!(rows[0]["id"], d["message_id"]);
    // Fixed receiver, manual retry.
    rx.answer(200);
    let delivery = d["id"].as_str().unwrap();
    let retry = format!("/production/webhooks/{id}/deliveries/{delivery}/retry");
    let (st, v) = s.admin("POST", &retry, None);
    assert_eq!(st, 202, "{v}");
    let d = wait_delivery(&s, &id, |d| d["status"] == "delivered");
    assert_eq!(d["attempt_count"], 4, "{d}");
    let rows = rx.wait("the retried delivery", 30, |r| r.len() == 4);
    assert_eq!(rows[3]["answered"], 200);
    assert_eq!(rows[3]["id"], rows[0]["id"]);
    let unknown = format!(
        "/production/webhooks/{id}/deliveries/{}/retry",
        uuid::Uuid::new_v4()
    );
    assert_eq!(s.admin("POST", &unknown, None).0, 404);
}

#[test]
fn redirects_are_not_followed() {
    let rx = Receiver::start();
    rx.answer(302);
    let s = Server::start_with(loopback().env("KEYWARDEN_WEBHOOKS__RETRY_SCHEDULE_SECS", "[]"));
    let (id, secret) = endpoint(&s, "production", &rx.url("/moved"), None);
    rx.trust(&[&secret]);
    s.admin("POST", &format!("/production/webhooks/{id}/test"), None);
    let d = wait_delivery(&s, &id, |d| d["status"] == "failed");
    assert_eq!(d["attempts"][0]["status_code"], 302, "{d}");
    std::thread::sleep(Duration::from_secs(1));
    let rows = rx.rows();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["path"], "/moved");
}

#[test]
fn an_endpoint_that_keeps_failing_is_disabled_and_the_admins_are_mailed() {
    let rx = Receiver::start();
    rx.answer(503);
    let s = Server::start_with(
        loopback()
            .env("KEYWARDEN_WEBHOOKS__RETRY_SCHEDULE_SECS", "[]")
            .env("KEYWARDEN_WEBHOOKS__DISABLE_AFTER_HOURS", "0"),
    );
    let (id, secret) = endpoint(&s, "production", &rx.url("/down"), None);
    rx.trust(&[&secret]);
    s.admin("POST", &format!("/production/webhooks/{id}/test"), None);
    let mut ep = Value::Null;
    for _ in 0..300 {
        ep = s
            .admin("GET", &format!("/production/webhooks/{id}"), None)
            .1;
        if ep["enabled"] == false {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(ep["enabled"], false, "{ep}");
    assert!(
        ep["disabled_reason"].as_str().unwrap().contains("failed"),
        "{ep}"
    );
    let mails = crate::web::mails(&s);
    let mail = mails
        .iter()
        .find(|m| m["to"] == crate::helpers::ADMIN_EMAIL && m["kind"] == "webhook")
        .unwrap_or_else(|| panic!("no mail to the admin: {mails:?}"));
    assert!(mail.to_string().contains("/down"), "{mail}");
    // Enabled again by an admin: deliveries go out again.
    rx.answer(200);
    let (st, v) = s.admin(
        "PATCH",
        &format!("/production/webhooks/{id}"),
        Some(json!({"enabled": true})),
    );
    assert_eq!(st, 200, "{v}");
    assert!(v["failing_since"].is_null(), "{v}");
    s.product("production", "After Repair");
    rx.wait("an event after re-enabling", 30, |r| {
        r.iter()
            .any(|r| r["type"] == "product.created" && r["answered"] == 200)
    });
}

#[test]
fn events_made_while_the_receiver_and_the_server_were_down_arrive_after_the_restart() {
    let mut rx = Receiver::start();
    let opts = loopback().env(
        "KEYWARDEN_WEBHOOKS__RETRY_SCHEDULE_SECS",
        "[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]",
    );
    let s = Server::start_with(opts.clone());
    let (id, secret) = endpoint(&s, "production", &rx.url("/restart"), None);
    rx.trust(&[&secret]);
    s.product("production", "Before");
    rx.wait("the first event", 30, |r| !r.is_empty());
    rx.stop();
    // Made while the receiver is down, and delivery attempts failing.
    let failing = s.license("production", 2);
    wait_delivery(&s, &id, |d| {
        d["attempts"]
            .as_array()
            .is_some_and(|a| a.iter().any(|a| a["status_code"].is_null()))
    });
    // Made just before the server dies: not yet read from the audit log.
    let unread = s.license("production", 2);
    let s = s.restart(opts);
    rx.restart();
    let rows = rx.wait("events of both licenses", 60, |rows| {
        [&failing, &unread].iter().all(|k| {
            of_type(rows, "license.created")
                .iter()
                .any(|r| r["data"]["license"]["key"] == k.as_str())
        })
    });
    assert!(rows.iter().all(|r| r["verified"] == true));
    drop(s);
}

#[test]
fn cql_two_nodes_deliver_each_event_once() {
    let rx = Receiver::start();
    let prefix = actix_rt::System::new().block_on(crate::cql::fresh_prefix());
    let opts = crate::cluster::cql_opts(&prefix, &crate::cql::node())
        .env("KEYWARDEN_WEBHOOKS__ALLOW_HTTP", "true")
        .env("KEYWARDEN_WEBHOOKS__ALLOW_PRIVATE_TARGETS", "true");
    let a = Server::start_with(opts.clone());
    let b = Server::start_with(opts);
    let (_, secret) = endpoint(
        &a,
        "production",
        &rx.url("/cluster"),
        Some(&["license.created"]),
    );
    rx.trust(&[&secret]);
    // B learns of the endpoint from the store (its feed refreshes each second).
    std::thread::sleep(Duration::from_secs(2));
    let product_a = a.product("production", "Cluster A");
    let product_b = b.product("production", "Cluster B");
    let mut keys = Vec::new();
    for i in 0..20 {
        let (node, product) = if i % 2 == 0 {
            (&a, &product_a)
        } else {
            (&b, &product_b)
        };
        let (st, l) = node.admin(
            "POST",
            "/production/licenses",
            Some(json!({"product_id": product})),
        );
        assert_eq!(st, 201, "{l}");
        keys.push(l["key"].as_str().unwrap().to_owned());
    }
    rx.wait("all 20 license.created events", 60, |rows| {
        keys.iter().all(|k| {
            rows.iter()
                .any(|r| r["data"]["license"]["key"] == k.as_str())
        })
    });
    // Both nodes run the feed and the sender; give a duplicate time to show.
    std::thread::sleep(Duration::from_secs(8));
    let rows = rx.rows();
    let mut per_message: HashMap<String, usize> = HashMap::new();
    for r in &rows {
        assert_eq!(r["verified"], true, "{r}");
        *per_message
            .entry(r["id"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    assert_eq!(rows.len(), 20, "one delivery per event: {per_message:?}");
    assert!(per_message.values().all(|n| *n == 1), "{per_message:?}");
}
