//! Signed answers and offline files verify with Python's `cryptography`, and tampering fails.

use std::io::Write;
use std::process::{Command, Stdio};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Value};

use crate::helpers::{activate, send_bytes, Server};

/// Asks Python's `cryptography` whether `signature` is valid for `message`.
pub fn python_verifies(pem: &str, message: &[u8], signature_b64: &str) -> bool {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/verify_ed25519.py");
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 must be installed (the README's test command installs it)");
    let input =
        json!({ "pem": pem, "message_b64": B64.encode(message), "signature_b64": signature_b64 });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(
        stdout == "ok" || stdout == "bad",
        "python verifier failed (is the `cryptography` package installed?): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout == "ok"
}

fn public_pem(s: &Server, env: &str) -> (String, String) {
    let r = crate::helpers::call(ureq::get(&s.url(&format!("/v1/{env}/public-key"))), None);
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["algorithm"], "Ed25519");
    (
        v["pem"].as_str().unwrap().to_owned(),
        v["key_id"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn answers_to_requests_with_a_nonce_are_signed_over_body_and_nonce() {
    let s = Server::start();
    let key = s.license("production", 5);
    activate(&s, "production", &key, "dev");
    let (pem, key_id) = public_pem(&s, "production");
    for (ctype, body) in [
        (
            "application/json",
            json!({ "key": key, "identifier": "dev", "nonce": "n-123" })
                .to_string()
                .into_bytes(),
        ),
        (
            "application/msgpack",
            rmp_serde::to_vec_named(&json!({ "key": key, "identifier": "dev", "nonce": "n-123" }))
                .unwrap(),
        ),
    ] {
        let r = send_bytes(
            &s.url("/v1/production/licenses/validate"),
            ctype,
            None,
            &body,
        );
        assert_eq!(r.status, 200);
        let sig = r
            .header("x-keywarden-signature")
            .expect("signature header")
            .to_owned();
        assert_eq!(r.header("x-keywarden-key-id"), Some(key_id.as_str()));
        let mut msg = r.body.clone();
        msg.extend_from_slice(b"n-123");
        assert!(
            python_verifies(&pem, &msg, &sig),
            "{ctype}: genuine answer verifies"
        );

        let mut wrong_nonce = r.body.clone();
        wrong_nonce.extend_from_slice(b"n-124");
        assert!(
            !python_verifies(&pem, &wrong_nonce, &sig),
            "{ctype}: another nonce fails"
        );

        let mut forged = r.body.clone();
        let pos = forged.iter().position(|b| *b == b'V').unwrap();
        forged[pos] = b'W';
        forged.extend_from_slice(b"n-123");
        assert!(
            !python_verifies(&pem, &forged, &sig),
            "{ctype}: a changed body fails"
        );
    }
    // No nonce: no signature.
    let (_, _) = s.client(
        "production",
        "validate",
        json!({ "key": key, "identifier": "dev" }),
    );
    let r = send_bytes(
        &s.url("/v1/production/licenses/validate"),
        "application/json",
        None,
        json!({ "key": key, "identifier": "dev" })
            .to_string()
            .as_bytes(),
    );
    assert!(r.header("x-keywarden-signature").is_none());
}

#[test]
fn offline_files_verify_elsewhere_expire_in_a_day_and_stay_in_their_environment() {
    let s = Server::start();
    let key = s.license("production", 5);
    activate(&s, "production", &key, "airgap-1");
    let (_, v) = s.client(
        "production",
        "offline",
        json!({ "key": key, "identifier": "airgap-1" }),
    );
    assert_eq!(v["code"], "VALID", "{v}");
    let file = &v["file"];
    assert_eq!(file["algorithm"], "Ed25519");
    let payload = B64.decode(file["payload"].as_str().unwrap()).unwrap();
    let sig = file["signature"].as_str().unwrap();
    let (prod_pem, prod_id) = public_pem(&s, "production");
    assert_eq!(file["key_id"], prod_id.as_str());
    assert!(
        python_verifies(&prod_pem, &payload, sig),
        "genuine file verifies"
    );

    let p: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(p["identifier"], "airgap-1");
    assert_eq!(p["key"], key.as_str());
    assert_eq!(p["environment"], "production");
    let issued = chrono::DateTime::parse_from_rfc3339(p["issued_at"].as_str().unwrap()).unwrap();
    let until = chrono::DateTime::parse_from_rfc3339(p["valid_until"].as_str().unwrap()).unwrap();
    assert_eq!(until - issued, chrono::Duration::hours(24));

    let tampered = String::from_utf8(payload.clone())
        .unwrap()
        .replace("airgap-1", "airgap-2");
    assert!(
        !python_verifies(&prod_pem, tampered.as_bytes(), sig),
        "a tampered file fails"
    );

    // A staging file never verifies with the production key.
    let skey = s.license("staging", 5);
    activate(&s, "staging", &skey, "airgap-1");
    let (_, sv) = s.client(
        "staging",
        "offline",
        json!({ "key": skey, "identifier": "airgap-1" }),
    );
    let spayload = B64.decode(sv["file"]["payload"].as_str().unwrap()).unwrap();
    let ssig = sv["file"]["signature"].as_str().unwrap();
    let (staging_pem, _) = public_pem(&s, "staging");
    assert!(python_verifies(&staging_pem, &spayload, ssig));
    assert!(
        !python_verifies(&prod_pem, &spayload, ssig),
        "staging file with production key fails"
    );

    // Not activated: no file.
    let (_, v) = s.client(
        "production",
        "offline",
        json!({ "key": key, "identifier": "stranger" }),
    );
    assert_eq!(v["code"], "NOT_ACTIVATED");
    assert!(v.get("file").is_none());

    // The admin API serves the same file as a download.
    let r = s.admin_raw(
        "GET",
        &format!("/production/licenses/{key}/offline?identifier=airgap-1"),
        None,
    );
    assert_eq!(r.status, 200);
    assert!(r
        .header("content-disposition")
        .unwrap()
        .contains("attachment"));
    let f = r.json();
    let payload = B64.decode(f["payload"].as_str().unwrap()).unwrap();
    assert!(python_verifies(
        &prod_pem,
        &payload,
        f["signature"].as_str().unwrap()
    ));
}
