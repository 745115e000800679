//! Bad input gets a 4xx with `code: BAD_REQUEST`, never a 500.

use serde_json::json;

use crate::helpers::{send_bytes, Server};

#[test]
fn malformed_and_incomplete_requests_get_bad_request() {
    let s = Server::start();
    let key = s.license("production", 5);
    let url = s.url("/v1/production/licenses/activate");
    let oversized = json!({ "key": key, "identifier": "x".repeat(70 * 1024) }).to_string();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("application/json", b"{not json".to_vec(), "malformed JSON"),
        ("application/json", b"".to_vec(), "empty"),
        ("application/json", b"[1,2,3]".to_vec(), "malformed JSON"),
        (
            "application/msgpack",
            vec![0xc1, 0xff, 0x00],
            "malformed MessagePack",
        ),
        (
            "application/msgpack",
            vec![0x81, 0xa3, b'k'],
            "malformed MessagePack",
        ),
        (
            "application/json",
            json!({ "identifier": "d" }).to_string().into_bytes(),
            "key is required",
        ),
        (
            "application/json",
            json!({ "key": key }).to_string().into_bytes(),
            "identifier is required",
        ),
        (
            "application/json",
            json!({ "key": "bad key!", "identifier": "d" })
                .to_string()
                .into_bytes(),
            "invalid character",
        ),
        (
            "application/json",
            json!({ "key": "K".repeat(200), "identifier": "d" })
                .to_string()
                .into_bytes(),
            "longer than",
        ),
        (
            "application/json",
            json!({ "key": key, "identifier": "" })
                .to_string()
                .into_bytes(),
            "identifier must not be empty",
        ),
        (
            "application/json",
            json!({ "key": key, "identifier": "d", "kind": "toaster" })
                .to_string()
                .into_bytes(),
            "kind must be",
        ),
        (
            "application/json",
            json!({ "key": 12, "identifier": "d" })
                .to_string()
                .into_bytes(),
            "malformed JSON",
        ),
        ("application/json", oversized.into_bytes(), "larger than"),
        ("text/plain", b"hello".to_vec(), "unsupported Content-Type"),
    ];
    for (ctype, body, expect) in cases {
        let r = send_bytes(&url, ctype, None, &body);
        assert_eq!(r.status, 400, "{expect}: {}", r.text());
        let v = r.json();
        assert_eq!(v["code"], "BAD_REQUEST");
        assert!(
            v["detail"].as_str().unwrap().contains(expect),
            "want '{expect}' in {v}"
        );
    }
    let r = send_bytes(
        &s.url("/v1/dev/licenses/validate"),
        "application/json",
        None,
        json!({ "key": key, "identifier": "d" })
            .to_string()
            .as_bytes(),
    );
    assert_eq!(r.status, 400);
    assert!(r.json()["detail"]
        .as_str()
        .unwrap()
        .contains("unknown environment"));
    // Nothing of the above changed the license.
    assert_eq!(s.get_license("production", &key)["activations_in_use"], 0);
}

#[test]
fn random_bodies_never_cause_a_server_error() {
    use rand::{Rng, SeedableRng};
    let s = Server::start();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for op in ["activate", "validate", "heartbeat", "deactivate", "offline"] {
        let url = s.url(&format!("/v1/production/licenses/{op}"));
        for i in 0..40 {
            let len = rng.gen_range(0..300);
            let body: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
            let ctype = if i % 2 == 0 {
                "application/json"
            } else {
                "application/msgpack"
            };
            let r = send_bytes(&url, ctype, None, &body);
            assert!(r.status < 500, "{op} {ctype}: {}", r.status);
        }
    }
    let r = crate::helpers::call(ureq::get(&s.url("/healthz")), None);
    assert_eq!(r.status, 200, "the server is still up");
}

#[test]
fn unknown_routes_answer_json_not_found() {
    let s = Server::start();
    let r = crate::helpers::call(ureq::get(&s.url("/v1/production/nothing")), None);
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["code"], "NOT_FOUND");
}
