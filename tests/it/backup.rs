//! `keywarden backup` works while the server runs (through its API), and
//! `keywarden restore` into a fresh folder serves the same licenses and secrets.

use std::process::Command;

use serde_json::json;

use crate::helpers::{activate, call, Opts, Server, TOKEN};

fn keywarden(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_keywarden"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("KEYWARDEN_ADMIN_TOKEN")
        .env("KEYWARDEN_LOG__LEVEL", "warn")
        .output()
        .expect("keywarden runs")
}

#[test]
fn a_backup_taken_while_serving_restores_into_a_fresh_folder() {
    let s = Server::start();
    let key = s.license("production", 3);
    activate(&s, "production", &key, "kept-device");
    let staging = s.license("staging", 1);
    let (st, _) = s.admin(
        "PUT",
        "/production/settings",
        Some(json!({ "grace_period_days": 11, "abuse": { "enabled": true, "threshold": 7, "window_secs": 600, "auto_suspend": false } })),
    );
    assert_eq!(st, 200);
    let public_key =
        call(ureq::get(&s.url("/v1/production/public-key")), None).json()["public_key"].clone();

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kw.kwbackup");
    let out = keywarden(&[
        "backup",
        "--url",
        &s.base,
        "--token",
        TOKEN,
        "--out",
        file.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 licenses"));

    let fresh = dir.path().join("restored");
    let out = keywarden(&[
        "restore",
        "--from",
        file.to_str().unwrap(),
        "--data-dir",
        fresh.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = keywarden(&[
        "restore",
        "--from",
        file.to_str().unwrap(),
        "--data-dir",
        fresh.to_str().unwrap(),
    ]);
    assert!(
        !again.status.success(),
        "restoring over existing data is refused"
    );
    assert!(String::from_utf8_lossy(&again.stderr).contains("empty store"));

    // The restored server knows the old admin token (its hash is a secret in the backup).
    let r = Server::start_in(
        &fresh,
        Opts {
            no_token: true,
            ..Opts::default()
        },
    );
    let (_, v) = r.client(
        "production",
        "validate",
        json!({ "key": key, "identifier": "kept-device" }),
    );
    assert_eq!(v["code"], "VALID");
    assert_eq!(v["activations"], 1);
    let (_, v) = r.client(
        "staging",
        "activate",
        json!({ "key": staging, "identifier": "d" }),
    );
    assert_eq!(v["code"], "VALID");
    assert_eq!(
        call(ureq::get(&r.url("/v1/production/public-key")), None).json()["public_key"],
        public_key,
        "same signing key"
    );
    let (st, settings) = r.admin("GET", "/production/settings", None);
    assert_eq!(
        (st, settings["grace_period_days"].as_u64()),
        (200, Some(11))
    );
    let (_, audit) = r.admin("GET", &format!("/production/audit?license={key}"), None);
    assert!(audit
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"] == "activation.created"));
}

#[test]
fn a_backup_needs_the_admin_token() {
    let s = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.kwbackup");
    let out = keywarden(&[
        "backup",
        "--url",
        &s.base,
        "--token",
        "wrong",
        "--out",
        file.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(!file.exists());
}
