//! Issue 15 item 15: signing-key rotation. A new key signs; the old one stays
//! published with its id and keeps verifying the offline files it signed
//! (checked with Python's `cryptography`) until they expire.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Value};

use crate::helpers::{activate, send_bytes, Opts, Server};
use crate::signatures::python_verifies;
use crate::web::Web;

fn keys(s: &Server, env: &str) -> Value {
    let r = crate::helpers::call(ureq::get(&s.url(&format!("/v1/{env}/public-key"))), None);
    assert_eq!(r.status, 200);
    r.json()
}

fn pem_of(listing: &Value, key_id: &str) -> String {
    listing["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["key_id"] == key_id)
        .unwrap_or_else(|| panic!("{key_id} is published: {listing}"))["pem"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn offline(s: &Server, key: &str) -> (Vec<u8>, String, String) {
    let (_, v) = s.client(
        "production",
        "offline",
        json!({ "key": key, "identifier": "airgap" }),
    );
    let f = &v["file"];
    (
        B64.decode(f["payload"].as_str().unwrap()).unwrap(),
        f["signature"].as_str().unwrap().to_owned(),
        f["key_id"].as_str().unwrap().to_owned(),
    )
}

fn signed_validate(s: &Server, key: &str) -> (Vec<u8>, String, String) {
    let r = send_bytes(
        &s.url("/v1/production/licenses/validate"),
        "application/json",
        None,
        json!({ "key": key, "identifier": "airgap", "nonce": "rot-1" })
            .to_string()
            .as_bytes(),
    );
    assert_eq!(r.status, 200);
    let mut msg = r.body.clone();
    msg.extend_from_slice(b"rot-1");
    (
        msg,
        r.header("x-keywarden-signature").unwrap().to_owned(),
        r.header("x-keywarden-key-id").unwrap().to_owned(),
    )
}

#[test]
fn a_rotated_key_signs_while_the_old_one_keeps_verifying_its_files() {
    let s = Server::start();
    let key = s.license("production", 5);
    activate(&s, "production", &key, "airgap");
    let before = keys(&s, "production");
    let old_id = before["key_id"].as_str().unwrap().to_owned();
    assert_eq!(before["keys"].as_array().unwrap().len(), 1);
    assert_eq!(before["keys"][0]["status"], "current");
    let staging_id = keys(&s, "staging")["key_id"].clone();
    let (old_file, old_sig, file_key) = offline(&s, &key);
    assert_eq!(file_key, old_id);

    let (st, r) = s.admin("POST", "/production/signing-keys/rotate", None);
    assert_eq!(st, 200, "{r}");
    let new_id = r["key_id"].as_str().unwrap().to_owned();
    assert_ne!(new_id, old_id);

    let after = keys(&s, "production");
    assert_eq!(
        after["key_id"],
        new_id.as_str(),
        "the top level is the current key"
    );
    let listed: Vec<(&str, &str)> = after["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (k["key_id"].as_str().unwrap(), k["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        listed,
        vec![(new_id.as_str(), "current"), (old_id.as_str(), "retired")]
    );
    let retired = &after["keys"][1];
    let until =
        chrono::DateTime::parse_from_rfc3339(retired["verify_until"].as_str().unwrap()).unwrap();
    let at = chrono::DateTime::parse_from_rfc3339(retired["retired_at"].as_str().unwrap()).unwrap();
    assert_eq!(
        until - at,
        chrono::Duration::hours(25),
        "a day of offline validity plus an hour"
    );
    assert_eq!(
        keys(&s, "staging")["key_id"],
        staging_id,
        "staging keeps its key"
    );

    // The file signed before the rotation verifies with the old key, not the new one.
    let old_pem = pem_of(&after, &old_id);
    let new_pem = pem_of(&after, &new_id);
    assert!(python_verifies(&old_pem, &old_file, &old_sig));
    assert!(!python_verifies(&new_pem, &old_file, &old_sig));
    // New files and signed answers carry and use the new key.
    let (file, sig, id) = offline(&s, &key);
    assert_eq!(id, new_id);
    assert!(python_verifies(&new_pem, &file, &sig));
    let (msg, sig, id) = signed_validate(&s, &key);
    assert_eq!(id, new_id);
    assert!(python_verifies(&new_pem, &msg, &sig));
    assert!(!python_verifies(&old_pem, &msg, &sig));

    // Audited.
    let (_, audit) = s.admin("GET", "/production/audit?action=signing_key.rotated", None);
    let entries = audit.as_array().unwrap();
    assert_eq!(entries.len(), 1, "{audit}");
    assert_eq!(entries[0]["before"], old_id.as_str());
    assert_eq!(entries[0]["after"], new_id.as_str());

    // A restart keeps the ring.
    let s = s.restart(Opts::default());
    let again = keys(&s, "production");
    assert_eq!(again["key_id"], new_id.as_str());
    assert_eq!(again["keys"].as_array().unwrap().len(), 2);

    // The Products page lists both and rotates on a form; a forged form changes nothing.
    let w = Web::admin(&s);
    let page = w.get("/admin/products?env=production").text();
    let table = &page[page.find("id=\"signing-keys\"").unwrap()..];
    assert!(
        table.contains(&new_id) && table.contains(&old_id),
        "{table}"
    );
    let forged = w.post(
        "/admin/signing-keys/rotate",
        &[("env", "production"), ("csrf", "forged")],
    );
    assert_eq!(forged.status, 403, "{}", forged.text());
    assert_eq!(keys(&s, "production")["key_id"], new_id.as_str());
    let r = w.submit("/admin/signing-keys/rotate", &[("env", "production")]);
    assert_eq!(r.status, 303, "{}", r.text());
    let third = keys(&s, "production");
    assert_eq!(third["keys"].as_array().unwrap().len(), 3);
    assert!(python_verifies(
        &pem_of(&third, &old_id),
        &old_file,
        &old_sig
    ));

    // The ring stays small: after five retired keys in their window, a rotation waits.
    let mut refused = None;
    for _ in 0..5 {
        let (st, r) = s.admin("POST", "/production/signing-keys/rotate", None);
        if st != 200 {
            refused = Some((st, r));
            break;
        }
    }
    let (st, r) = refused.expect("a sixth retired key is refused");
    assert_eq!(st, 409, "{r}");
    assert_eq!(keys(&s, "production")["keys"].as_array().unwrap().len(), 6);
}
