//! Issue 14 part 2: admin API keys with permissions. Every admin route is
//! walked with a key lacking its permission (403 FORBIDDEN, nothing changed)
//! and with a key holding it; owner-only routes refuse every key.

use serde_json::{json, Value};

use crate::helpers::{call, Resp, Server};

const PERMISSIONS: [&str; 9] = [
    "licenses:read",
    "licenses:write",
    "customers:read",
    "customers:write",
    "products:read",
    "products:write",
    "webhooks:manage",
    "audit:read",
    "settings:manage",
];

pub fn with_token(s: &Server, token: &str, method: &str, path: &str, body: Option<Value>) -> Resp {
    let req = ureq::request(method, &s.url(&format!("/admin/api/v1{path}")))
        .set("authorization", &format!("Bearer {token}"));
    call(req, body)
}

/// Makes a key with `permissions` (owner token); returns (id, token).
fn make_key(s: &Server, name: &str, env: Option<&str>, permissions: &[&str]) -> (String, String) {
    let mut body = json!({ "name": name, "permissions": permissions });
    if let Some(e) = env {
        body["environment"] = json!(e);
    }
    let (st, v) = s.admin("POST", "/api-keys", Some(body));
    assert_eq!(st, 201, "{v}");
    let token = v["token"].as_str().unwrap().to_owned();
    (v["id"].as_str().unwrap().to_owned(), token)
}

/// What a refused call must leave as it was.
fn snapshot(s: &Server, key: &str) -> Value {
    let get = |p: &str| s.admin("GET", p, None).1;
    json!({
        "license": get(&format!("/production/licenses/{key}")),
        "licenses": get("/production/licenses?per_page=100")["total"],
        "products": get("/production/products"),
        "generators": get("/production/generators"),
        "customers": get("/customers"),
        "settings": get("/production/settings"),
        "keys": get("/api-keys").as_array().map(Vec::len),
        // What an admin sets (the sender updates failure times on its own).
        "webhooks": get("/production/webhooks").as_array().map(|l| l.iter().map(|w| {
            json!([w["id"], w["url"], w["description"], w["events"], w["enabled"], w["secret_hint"]])
        }).collect::<Vec<_>>()),
    })
}

#[test]
fn every_admin_route_needs_its_permission_and_nothing_changes_without_it() {
    // One attempt per webhook delivery, so a retry finds it failed, not being sent.
    let s = Server::start_with(
        crate::helpers::Opts::default().env("KEYWARDEN_WEBHOOKS__RETRY_SCHEDULE_SECS", "[]"),
    );
    let (hook, _) =
        crate::hook_receiver::endpoint(&s, "production", "https://hooks.invalid/k", None);
    assert_eq!(
        s.admin("POST", &format!("/production/webhooks/{hook}/test"), None)
            .0,
        202
    );
    let mut delivery = String::new();
    for _ in 0..300 {
        let log = crate::hook_receiver::deliveries(&s, "production", &hook);
        if let Some(d) = log.iter().find(|d| d["status"] == "failed") {
            delivery = d["id"].as_str().unwrap().to_owned();
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        !delivery.is_empty(),
        "the test delivery to hooks.invalid did not fail"
    );
    let product = s.product("production", "Keys Product");
    let customer = s.customer("keys@example.com");
    let key = s.license("production", 3);
    let other = s.license("production", 3);
    let activated = s.license("production", 3);
    crate::helpers::activate(&s, "production", &activated, "box-1");
    let suspendable = s.license("production", 3);
    crate::helpers::activate(&s, "production", &suspendable, "box-2");
    let lacking: Vec<(String, String)> = PERMISSIONS
        .iter()
        .map(|p| {
            let rest: Vec<&str> = PERMISSIONS.iter().copied().filter(|q| q != p).collect();
            make_key(&s, &format!("all but {p}"), None, &rest)
        })
        .collect();
    let having: Vec<(String, String)> = PERMISSIONS
        .iter()
        .map(|p| make_key(&s, &format!("only {p}"), None, &[p]))
        .collect();
    let settings = s.admin("GET", "/production/settings", None).1;
    // (method, path, body, permission); the deleting one last.
    let routes: Vec<(&str, String, Option<Value>, &str)> = vec![
        ("GET", "/customers".into(), None, "customers:read"),
        (
            "POST",
            "/customers".into(),
            Some(json!({"email": "new@example.com", "name": "N"})),
            "customers:write",
        ),
        (
            "GET",
            format!("/customers/{customer}"),
            None,
            "customers:read",
        ),
        ("GET", "/outbox".into(), None, "audit:read"),
        ("GET", "/production/products".into(), None, "products:read"),
        (
            "POST",
            "/production/products".into(),
            Some(json!({"name": "P2"})),
            "products:write",
        ),
        (
            "GET",
            format!("/production/products/{product}"),
            None,
            "products:read",
        ),
        (
            "GET",
            "/production/generators".into(),
            None,
            "products:read",
        ),
        (
            "POST",
            "/production/generators".into(),
            Some(json!({"name": "Gen by key", "product_id": product})),
            "products:write",
        ),
        ("GET", "/production/licenses".into(), None, "licenses:read"),
        (
            "POST",
            "/production/licenses".into(),
            Some(json!({"product_id": product})),
            "licenses:write",
        ),
        (
            "POST",
            "/production/licenses/bulk".into(),
            Some(json!({"product_id": product, "count": 2})),
            "licenses:write",
        ),
        (
            "GET",
            "/production/licenses/export".into(),
            None,
            "licenses:read",
        ),
        (
            "GET",
            format!("/production/licenses/{key}"),
            None,
            "licenses:read",
        ),
        (
            "PATCH",
            format!("/production/licenses/{key}"),
            Some(json!({"metadata": {"note": "by key"}})),
            "licenses:write",
        ),
        (
            "GET",
            format!("/production/licenses/{key}/activations"),
            None,
            "licenses:read",
        ),
        (
            "POST",
            format!("/production/licenses/{other}/assign"),
            Some(json!({"customer_id": customer})),
            "licenses:write",
        ),
        (
            "POST",
            format!("/production/licenses/{suspendable}/actions/suspend"),
            None,
            "licenses:write",
        ),
        (
            "GET",
            format!("/production/licenses/{activated}/offline?identifier=box-1"),
            None,
            "licenses:read",
        ),
        (
            "POST",
            format!("/production/licenses/{activated}/deactivate"),
            Some(json!({"identifier": "box-1"})),
            "licenses:write",
        ),
        ("GET", "/production/audit".into(), None, "audit:read"),
        (
            "GET",
            "/production/webhooks".into(),
            None,
            "webhooks:manage",
        ),
        (
            "POST",
            "/production/webhooks".into(),
            Some(json!({"url": "https://hooks.invalid/second"})),
            "webhooks:manage",
        ),
        (
            "GET",
            format!("/production/webhooks/{hook}"),
            None,
            "webhooks:manage",
        ),
        (
            "PATCH",
            format!("/production/webhooks/{hook}"),
            Some(json!({"description": "by key"})),
            "webhooks:manage",
        ),
        (
            "GET",
            format!("/production/webhooks/{hook}/deliveries"),
            None,
            "webhooks:manage",
        ),
        (
            "POST",
            format!("/production/webhooks/{hook}/deliveries/{delivery}/retry"),
            None,
            "webhooks:manage",
        ),
        (
            "POST",
            format!("/production/webhooks/{hook}/test"),
            None,
            "webhooks:manage",
        ),
        (
            "POST",
            format!("/production/webhooks/{hook}/rotate-secret"),
            None,
            "webhooks:manage",
        ),
        (
            "GET",
            "/production/settings".into(),
            None,
            "settings:manage",
        ),
        (
            "PUT",
            "/production/settings".into(),
            Some(settings.clone()),
            "settings:manage",
        ),
        (
            "DELETE",
            format!("/production/webhooks/{hook}"),
            None,
            "webhooks:manage",
        ),
        (
            "DELETE",
            format!("/production/licenses/{other}"),
            None,
            "licenses:write",
        ),
    ];
    for (method, path, body, perm) in &routes {
        let i = PERMISSIONS.iter().position(|p| p == perm).unwrap();
        let before = snapshot(&s, &key);
        let r = with_token(&s, &lacking[i].1, method, path, body.clone());
        assert_eq!(
            r.status,
            403,
            "{method} {path} without {perm}: {}",
            r.text()
        );
        assert_eq!(r.json()["code"], "FORBIDDEN", "{method} {path}");
        assert!(
            r.json()["detail"].as_str().unwrap().contains(perm),
            "{}",
            r.text()
        );
        assert_eq!(
            snapshot(&s, &key),
            before,
            "{method} {path} changed something without {perm}"
        );
        let r = with_token(&s, &having[i].1, method, path, body.clone());
        assert!(
            r.status < 300,
            "{method} {path} with {perm}: {} {}",
            r.status,
            r.text()
        );
    }
    // The write made with a key names it in the audit log.
    let (_, audit) = s.admin("GET", "/production/audit", None);
    let actors: Vec<&str> = audit
        .as_array()
        .or_else(|| audit["items"].as_array())
        .unwrap()
        .iter()
        .filter_map(|e| e["actor"].as_str())
        .collect();
    assert!(
        actors
            .iter()
            .any(|a| a.starts_with("api-key:only licenses:write (kw_live_")),
        "{actors:?}"
    );
    // Owner-only routes refuse a key that holds every permission.
    let (_, all) = make_key(&s, "everything", None, &PERMISSIONS);
    for (method, path, body) in [
        ("GET", "/api-keys", None),
        (
            "POST",
            "/api-keys",
            Some(json!({"name": "x", "permissions": ["licenses:read"]})),
        ),
        ("DELETE", &*format!("/api-keys/{}", having[0].0), None),
        ("GET", "/backup", None),
        ("GET", "/contracts", None),
        (
            "POST",
            "/contracts",
            Some(json!({"api_key_id": having[0].0, "product_id": product, "limit": 5})),
        ),
        ("POST", "/token/rotate", None),
    ] {
        let keys_before = s
            .admin("GET", "/api-keys", None)
            .1
            .as_array()
            .unwrap()
            .len();
        let r = with_token(&s, &all, method, path, body);
        assert_eq!(r.status, 403, "{method} {path}: {}", r.text());
        assert_eq!(
            s.admin("GET", "/api-keys", None)
                .1
                .as_array()
                .unwrap()
                .len(),
            keys_before
        );
    }
    assert_eq!(
        with_token(&s, &all, "GET", "/production/licenses", None).status,
        200
    );
}

#[test]
fn keys_are_shown_once_bound_to_an_environment_revocable_and_record_their_use() {
    let s = Server::start();
    let key = s.license("staging", 2);
    let (id, token) = make_key(&s, "staging reader", Some("staging"), &["licenses:read"]);
    assert!(token.starts_with("kw_test_") && token.len() > 40, "{token}");
    let listed = s.admin("GET", "/api-keys", None).1;
    let text = listed.to_string();
    assert!(
        !text.contains(&token) && !text.contains(&token[12..]),
        "the token is listed: {text}"
    );
    assert_eq!(listed[0]["prefix"], json!(&token[..12]));
    assert_eq!(listed[0]["status"], "active");
    assert_eq!(listed[0]["environment"], "staging");
    // Its environment only.
    let r = with_token(&s, &token, "GET", &format!("/staging/licenses/{key}"), None);
    assert_eq!(r.status, 200, "{}", r.text());
    let r = with_token(&s, &token, "GET", "/production/licenses", None);
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(r.json()["code"], "FORBIDDEN");
    // Last use, written off the request's path.
    let mut used = Value::Null;
    for _ in 0..60 {
        used = s.admin("GET", "/api-keys", None).1[0].clone();
        if used["last_used_at"].is_string() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(used["last_used_at"].is_string(), "{used}");
    assert_eq!(used["last_used_ip"], "127.0.0.1");
    // Bad bodies change nothing.
    for (body, field) in [
        (
            json!({"name": "x", "permissions": ["licenses:delete"]}),
            "permissions",
        ),
        (json!({"name": "x", "permissions": []}), "permissions"),
        (
            json!({"name": "", "permissions": ["licenses:read"]}),
            "name",
        ),
        (
            json!({"name": "x", "permissions": ["licenses:read"], "environment": "dev"}),
            "environment",
        ),
        (
            json!({"name": "x", "permissions": ["licenses:read"], "expires_at": "2001-01-01T00:00:00Z"}),
            "expires_at",
        ),
        (
            json!({"name": "x", "permissions": ["licenses:read"], "expires_at": "soon"}),
            "expires_at",
        ),
    ] {
        let (st, v) = s.admin("POST", "/api-keys", Some(body));
        assert_eq!(st, 400, "{v}");
        assert_eq!(v["field"], field, "{v}");
    }
    assert_eq!(
        s.admin("GET", "/api-keys", None)
            .1
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Revoked: 401 at once, listed as revoked; revoking again is harmless.
    let (st, v) = s.admin("DELETE", &format!("/api-keys/{id}"), None);
    assert_eq!((st, v["status"].as_str()), (200, Some("revoked")), "{v}");
    let r = with_token(&s, &token, "GET", &format!("/staging/licenses/{key}"), None);
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(s.admin("DELETE", &format!("/api-keys/{id}"), None).0, 200);
    let (st, _) = s.admin(
        "DELETE",
        &format!("/api-keys/{}", uuid::Uuid::new_v4()),
        None,
    );
    assert_eq!(st, 404);
    // A made-up key of the right shape is a plain 401.
    let fake = format!("kw_live_{}", "ab".repeat(24));
    assert_eq!(with_token(&s, &fake, "GET", "/customers", None).status, 401);
}

/// A key made on one node works on the other at once, and its revocation too
/// (keys live in the shared store, not in a node's memory).
#[test]
fn cql_a_key_made_on_one_node_works_and_is_revoked_on_the_other() {
    let (a, b) = crate::cluster::two_nodes();
    let (id, token) = make_key(&a, "crm", None, &["customers:read"]);
    assert_eq!(
        with_token(&b, &token, "GET", "/customers", None).status,
        200
    );
    assert_eq!(
        with_token(&b, &token, "GET", "/production/licenses", None).status,
        403
    );
    assert_eq!(a.admin("DELETE", &format!("/api-keys/{id}"), None).0, 200);
    assert_eq!(
        with_token(&b, &token, "GET", "/customers", None).status,
        401
    );
}
