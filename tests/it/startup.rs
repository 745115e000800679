//! Start-up: token bootstrap, config errors, format versions.

use std::process::Command;

use crate::helpers::{call, Opts, Server};

#[test]
fn the_first_start_prints_an_admin_token_once_and_it_keeps_working() {
    let opts = Opts {
        no_token: true,
        ..Opts::default()
    };
    let s = Server::start_with(opts.clone());
    let out = s.stdout.lock().unwrap().join("\n");
    let token = out
        .lines()
        .find_map(|l| l.split("Admin API token (shown once, keep it): ").nth(1))
        .expect("token printed at first start")
        .trim()
        .to_owned();
    let ok = |s: &Server, t: &str| {
        call(
            ureq::get(&s.url("/admin/api/v1/production/products"))
                .set("authorization", &format!("Bearer {t}")),
            None,
        )
        .status
    };
    assert_eq!(ok(&s, &token), 200);
    let s = s.restart(opts);
    let out = s.stdout.lock().unwrap().join("\n");
    assert!(!out.contains(&token), "the token is printed only once");
    assert_eq!(
        ok(&s, &token),
        200,
        "the token survives a restart (kept hashed)"
    );
    assert_eq!(ok(&s, "kw_wrong"), 401);
}

#[test]
fn an_invalid_config_stops_start_up_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_keywarden"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("KEYWARDEN_ENGINE__HEARTBEAT_FLUSH_MS", "often")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("heartbeat_flush_ms"), "{err}");

    let out = Command::new(env!("CARGO_BIN_EXE_keywarden"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("KEYWARDEN_SERVER__LISTN", "x")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("listn"));
}

#[test]
fn a_data_folder_of_an_unknown_format_version_is_refused() {
    let mut s = Server::start();
    let dir = s.dir.clone();
    s.kill();
    {
        let db = redb::Database::create(dir.join("global.redb")).unwrap();
        let t: redb::TableDefinition<&str, u64> = redb::TableDefinition::new("meta");
        let txn = db.begin_write().unwrap();
        txn.open_table(t)
            .unwrap()
            .insert("format_version", 99)
            .unwrap();
        txn.commit().unwrap();
    }
    let out = Command::new(env!("CARGO_BIN_EXE_keywarden"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("format version 99"), "{err}");
}

#[test]
fn demo_mode_fills_a_new_data_folder_in_every_state() {
    let s = Server::start_with(Opts {
        demo: true,
        ..Opts::default()
    });
    let out = s.stdout.lock().unwrap().join("\n");
    assert!(out.contains("Demo data: 1200 production"), "{out}");
    for env in ["production", "staging"] {
        for status in [
            "available",
            "assigned",
            "active",
            "suspended",
            "inactive",
            "expired",
            "revoked",
        ] {
            let (_, v) = s.admin(
                "GET",
                &format!("/{env}/licenses?status={status}&per_page=1"),
                None,
            );
            assert!(v["total"].as_u64().unwrap() > 0, "{env} {status}");
        }
    }
    let (_, v) = s.admin("GET", "/production/licenses?per_page=1", None);
    assert!(v["total"].as_u64().unwrap() >= 1000);
    let (_, c) = s.admin("GET", "/customers", None);
    assert!(c.as_array().unwrap().len() >= 10);
}
