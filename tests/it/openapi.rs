//! Issue 14 part 4: the OpenAPI 3.1 document covers every route of the client
//! and admin APIs, is readable at /admin/api/docs, and `schemathesis` (PyPI)
//! runs every operation of it against a live server: no 5xx, and every answer
//! conforms to the document (status codes, content types, headers, schemas).

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::{json, Value};

use crate::helpers::{call, Server, TOKEN};

fn document(s: &Server) -> Value {
    let r = call(ureq::get(&s.url("/admin/api/v1/openapi.json")), None);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    r.json()
}

fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in ["get", "post", "put", "patch", "delete"] {
            if item.get(m).is_some() {
                out.insert((m.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

#[test]
fn the_document_describes_every_route_with_its_errors() {
    let s = Server::start();
    let doc = document(&s);
    assert_eq!(doc["openapi"], "3.1.0");
    let mut expected: BTreeSet<(String, String)> = keywarden::api::admin::access::ROUTES
        .iter()
        .map(|(m, p, _)| (m.to_string(), format!("/admin/api/v1{p}")))
        .collect();
    for op in ["activate", "validate", "heartbeat", "deactivate", "offline"] {
        expected.insert(("POST".into(), format!("/v1/{{env}}/licenses/{op}")));
    }
    expected.insert(("GET".into(), "/v1/{env}/public-key".into()));
    assert_eq!(operations(&doc), expected);
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in [
        "LicenseView",
        "EndpointView",
        "DeliveryView",
        "Error",
        "ClientAnswerDoc",
    ] {
        assert!(schemas.contains_key(name), "{name}");
    }
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let codes = op["responses"].as_object().unwrap();
            assert!(codes.contains_key("400"), "{method} {path}");
            assert!(codes.keys().any(|c| c.starts_with('2')), "{method} {path}");
            assert!(op["operationId"].is_string(), "{method} {path}");
            if path.starts_with("/admin/") {
                assert!(
                    codes.contains_key("401") && codes.contains_key("403"),
                    "{method} {path}"
                );
                assert_eq!(op["security"], json!([{"bearer": []}]), "{method} {path}");
                let idem = op["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|p| p["name"] == "Idempotency-Key");
                assert_eq!(idem, method == "post", "{method} {path}");
            }
        }
    }
    // The reference page renders every operation from the same document.
    let page = call(ureq::get(&s.url("/admin/api/docs")), None);
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(!html.contains("<script"), "no script on the page");
    for (_, item) in doc["paths"].as_object().unwrap() {
        for (_, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap();
            assert!(html.contains(&format!("id=\"{id}\"")), "{id} on the page");
        }
    }
    assert!(html.contains("id=\"schema-LicenseView\""));
}

/// Objects for schemathesis to find: ids and keys that exist, so operations
/// get past 404 as well as being fuzzed.
fn seed(s: &Server) -> Value {
    let product = s.product("production", "Schemathesis Product");
    let customer = s.customer("st@example.com");
    let mut keys = Vec::new();
    for i in 0..4 {
        let key = s.license("production", 3);
        crate::helpers::activate(s, "production", &key, &format!("device-{i}"));
        keys.push(key);
    }
    let (_, hook) = s.admin(
        "POST",
        "/production/webhooks",
        Some(json!({"url": "https://hooks.invalid/st"})),
    );
    let (_, key) = s.admin(
        "POST",
        "/api-keys",
        Some(json!({"name": "st", "permissions": ["licenses:read"]})),
    );
    json!({
        "keys": keys,
        "ids": [product, customer, hook["id"], key["id"]],
        "products": [product],
        "customers": [customer],
    })
}

#[test]
fn schemathesis_finds_no_server_error_and_no_answer_off_the_document() {
    let s = Server::start();
    let seeded = seed(&s);
    let dir = tempfile::tempdir().unwrap();
    let strings = |v: &Value| -> String {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| format!("\"{}\"", x.as_str().unwrap()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let config = format!(
        r#"
[dictionaries]
envs = {{ values = ["production", "staging"] }}
keys = {{ values = [{keys}] }}
ids = {{ values = [{ids}] }}
identifiers = {{ values = ["device-0", "device-1", "device-new"] }}
products = {{ values = [{products}] }}
customers = {{ values = [{customers}] }}

[parameters]
"path.env" = {{ dictionary = "envs", probability = 0.9 }}
"path.key" = {{ dictionary = "keys", probability = 0.6 }}
"path.id" = {{ dictionary = "ids", probability = 0.6 }}
"query.identifier" = {{ dictionary = "identifiers", probability = 0.5 }}
"body.key" = {{ dictionary = "keys", probability = 0.6 }}
"body.identifier" = {{ dictionary = "identifiers", probability = 0.6 }}
"body.product_id" = {{ dictionary = "products", probability = 0.6 }}
"body.customer_id" = {{ dictionary = "customers", probability = 0.6 }}
"#,
        keys = strings(&seeded["keys"]),
        ids = strings(&seeded["ids"]),
        products = strings(&seeded["products"]),
        customers = strings(&seeded["customers"]),
    );
    let config_file = dir.path().join("schemathesis.toml");
    std::fs::write(&config_file, config).unwrap();
    let out = Command::new("python3")
        .args(["-m", "schemathesis.cli", "--config-file"])
        .arg(&config_file)
        .args([
            "run",
            &s.url("/admin/api/v1/openapi.json"),
            "--url",
            &s.base,
            "-H",
            &format!("Authorization: Bearer {TOKEN}"),
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance",
            // Rotating the owner token would end the run's own access; its
            // answer is checked in tests/it/admin_api.rs.
            "--exclude-operation-id",
            "rotate_token",
            "--max-examples",
            "40",
            "--seed",
            "1",
            "--no-color",
        ])
        .current_dir(dir.path())
        .output()
        .expect("python3 runs schemathesis (scripts/test installs it: pip install schemathesis)");
    let report = String::from_utf8_lossy(&out.stdout).to_string();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("No module named"),
        "schemathesis is missing (scripts/test installs it): {err}"
    );
    assert!(
        out.status.success(),
        "schemathesis found failures:\n{report}\n{err}"
    );
    let total = operations(&document(&s)).len();
    assert!(
        report.contains(&format!("Selected: {}/{total}", total - 1))
            && report.contains(&format!("Tested: {}", total - 1)),
        "every operation but the token rotation is tested:\n{report}"
    );
    eprintln!("{report}");
    // The server stayed healthy and logged no panic.
    assert_eq!(call(ureq::get(&s.url("/healthz")), None).status, 200);
    assert!(!s.logs().contains("panicked"), "{}", s.logs());
}
