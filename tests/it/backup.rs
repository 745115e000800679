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

/// Issue 12 item 4: a backup carries the admin rows and a restore writes them
/// back as rows; a backup taken before rows (the accounts in the `portal.admins`
/// secret) restores them as rows too.
#[actix_rt::test]
async fn a_backup_keeps_the_admin_rows_and_an_old_one_its_admin_list() {
    use keywarden::domain::{AdminUser, Role};
    use keywarden::store::embedded::EmbeddedStore;
    use keywarden::store::Store;

    let admin = |email: &str| AdminUser {
        id: uuid::Uuid::new_v4(),
        email: email.into(),
        name: email.into(),
        password_hash: "phc".into(),
        role: Role::Full,
        created_at: chrono::Utc::now(),
        last_sign_in: None,
        version: 0,
        theme: Default::default(),
        second_factor: None,
    };
    let emails = |mut v: Vec<AdminUser>| {
        v.sort_by(|a, b| a.email.cmp(&b.email));
        v.into_iter().map(|a| a.email).collect::<Vec<_>>()
    };
    let dir = tempfile::tempdir().unwrap();
    let old = EmbeddedStore::open(&dir.path().join("old"), 16).unwrap();
    let a = old.put_admin(&admin("a@x.io"), None).await.unwrap();
    let mut renamed = a.clone();
    renamed.name = "Renamed".into();
    old.put_admin(&renamed, Some(1)).await.unwrap();
    old.put_admin(&admin("b@x.io"), None).await.unwrap();
    let b = keywarden::backup::take(&old).await.unwrap();
    assert_eq!(b.admins.len(), 2);
    // Through its file format (MessagePack with names), as `keywarden restore` reads it.
    let bytes = rmp_serde::to_vec_named(&b).unwrap();
    let b: keywarden::backup::Backup = rmp_serde::from_slice(&bytes).unwrap();

    let fresh = EmbeddedStore::open(&dir.path().join("fresh"), 16).unwrap();
    // A first admin made by an earlier start of the fresh folder is replaced.
    fresh.put_admin(&admin("first@x.io"), None).await.unwrap();
    keywarden::backup::restore(&fresh, &b).await.unwrap();
    let rows = fresh.list_admins().await.unwrap();
    assert_eq!(emails(rows.clone()), ["a@x.io", "b@x.io"]);
    assert!(rows.iter().any(|r| r.id == a.id && r.name == "Renamed"));

    // A backup from before rows: no `admins`, the list in the secret.
    let mut legacy = b;
    legacy.admins.clear();
    legacy.secrets.push((
        keywarden::app::directory::ADMINS_SECRET.into(),
        rmp_serde::to_vec_named(&vec![admin("c@x.io"), admin("d@x.io")]).unwrap(),
    ));
    let older = EmbeddedStore::open(&dir.path().join("older"), 16).unwrap();
    keywarden::backup::restore(&older, &legacy).await.unwrap();
    assert_eq!(
        emails(older.list_admins().await.unwrap()),
        ["c@x.io", "d@x.io"]
    );
}
