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

/// Sends one chunked request over a raw socket, a pause between pieces so the
/// server reads them apart; what came back (however the connection ended).
fn send_chunked(s: &Server, path: &str, pieces: &[&[u8]]) -> String {
    use std::io::{Read, Write};
    let addr = s.base.trim_start_matches("http://");
    let mut c = std::net::TcpStream::connect(addr).expect("connect");
    c.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    let _ = c.write_all(head.as_bytes());
    for p in pieces {
        let _ = c.write_all(format!("{:x}\r\n", p.len()).as_bytes());
        let _ = c.write_all(p);
        let _ = c.write_all(b"\r\n");
        let _ = c.flush();
        std::thread::sleep(std::time::Duration::from_millis(60));
    }
    let _ = c.write_all(b"0\r\n\r\n");
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = c.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A body that arrives in several pieces is read whole (the one-chunk fast path
/// is not the only path), and without a `Content-Length` the limit is counted
/// while reading: a chunked body past it is refused and changes nothing.
#[test]
fn a_body_in_several_chunks_is_read_whole_and_the_limit_still_holds() {
    let s = Server::start();
    let key = s.license("production", 2);
    let body = json!({ "key": key, "identifier": "chunk-dev" }).to_string();
    let (a, rest) = body.as_bytes().split_at(body.len() / 3);
    let (b, c) = rest.split_at(rest.len() / 2);
    let answer = send_chunked(&s, "/v1/production/licenses/activate", &[a, b, c]);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(r#""code":"VALID""#), "{answer}");
    assert_eq!(s.get_license("production", &key)["activations_in_use"], 1);

    // 65,536 bytes is the default limit: a first piece under it, a second over.
    let other = s.license("production", 2);
    let start = format!(r#"{{"key":"{other}","identifier":"big","pad":""#);
    let pad = " ".repeat(60_000);
    let answer = send_chunked(
        &s,
        "/v1/production/licenses/activate",
        &[start.as_bytes(), pad.as_bytes(), pad.as_bytes()],
    );
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("larger than 65536 bytes"), "{answer}");
    assert_eq!(s.get_license("production", &other)["activations_in_use"], 0);
}
