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

/// Issue 12 item 4: a data folder written before admin rows (every admin in the
/// `portal.admins` secret) starts with the same admins, now as rows, and no
/// first admin is added beside them.
#[test]
fn a_legacy_admin_list_becomes_admin_rows_at_start() {
    use keywarden::store::Store;

    #[derive(serde::Serialize)]
    struct LegacyAdmin {
        id: uuid::Uuid,
        email: String,
        name: String,
        password_hash: String,
        role: keywarden::domain::Role,
        created_at: chrono::DateTime<chrono::Utc>,
        last_sign_in: Option<chrono::DateTime<chrono::Utc>>,
    }
    let dir = tempfile::tempdir().unwrap();
    let legacy = vec![
        LegacyAdmin {
            id: uuid::Uuid::new_v4(),
            email: "old.full@test.local".into(),
            name: "Old Full".into(),
            password_hash: keywarden::crypto::password::hash("old-full-password-1").unwrap(),
            role: keywarden::domain::Role::Full,
            created_at: chrono::Utc::now(),
            last_sign_in: None,
        },
        LegacyAdmin {
            id: uuid::Uuid::new_v4(),
            email: "old.reader@test.local".into(),
            name: "Old Reader".into(),
            password_hash: keywarden::crypto::password::hash("old-reader-password-1").unwrap(),
            role: keywarden::domain::Role::ReadOnly,
            created_at: chrono::Utc::now(),
            last_sign_in: None,
        },
    ];
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    {
        let store = keywarden::store::embedded::EmbeddedStore::open(dir.path(), 16).unwrap();
        rt.block_on(store.put_secret(
            keywarden::app::directory::ADMINS_SECRET,
            &rmp_serde::to_vec_named(&legacy).unwrap(),
        ))
        .unwrap();
    }

    let s = Server::start_in(dir.path(), Opts::default());
    let w = crate::web::Web::new(&s);
    assert_eq!(
        w.login(crate::helpers::ADMIN_EMAIL, crate::helpers::ADMIN_PASSWORD)
            .status,
        401,
        "no first admin is made beside the old ones"
    );
    assert_eq!(
        w.login("old.reader@test.local", "old-reader-password-1")
            .status,
        303
    );
    let page = w.get("/admin/admins").text();
    assert!(page.contains("old.full@test.local"), "{page}");
    assert!(page.contains("old.reader@test.local"), "{page}");
    drop(s);

    let store = keywarden::store::embedded::EmbeddedStore::open(dir.path(), 16).unwrap();
    let rows = rt.block_on(store.list_admins()).unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    let reader = rows
        .iter()
        .find(|a| a.email == "old.reader@test.local")
        .unwrap();
    assert_eq!(reader.id, legacy[1].id);
    assert!(
        reader.last_sign_in.is_some(),
        "the sign-in was recorded on the row"
    );
    assert_eq!(reader.version, 2);
}

/// Issue 13 item 4: `/readyz` and the client API answer while the catalog is
/// still loading (held by the test hook), the License Keys page says
/// "indexing" meanwhile, and once loaded it lists every license, with the
/// changes made during the load kept.
#[test]
fn the_client_api_is_ready_before_the_catalog_is_loaded() {
    use crate::web::Web;
    use serde_json::json;
    let s = Server::start();
    let p = s.product("production", "Indexed Product");
    let (st, b) = s.admin(
        "POST",
        "/production/licenses/bulk",
        Some(json!({ "product_id": p, "count": 3000 })),
    );
    assert!(st < 300, "{b}");
    let keys: Vec<String> = (b["keys"].as_array().unwrap().iter())
        .map(|k| k.as_str().unwrap().to_owned())
        .collect();
    let hold = s.dir.with_file_name("release-catalog");
    let s = s.restart(Opts::default().env("KW_TEST_HOLD_CATALOG", hold.to_str().unwrap()));
    assert_eq!(call(ureq::get(&s.url("/readyz")), None).status, 200);
    let (st, v) = s.client(
        "production",
        "validate",
        json!({ "key": keys[0], "identifier": "dev-1" }),
    );
    assert_eq!(st, 200, "{v}");
    assert_ne!(
        v["code"], "NOT_FOUND",
        "a real key answers before the catalog is loaded"
    );
    let web = Web::admin(&s);
    let page = web.get("/admin/licenses?env=production").text();
    assert!(page.contains("indexing"), "{page}");
    // Changes while the catalog is held: a revoke, a delete and a new license.
    let (st, _) = s.admin(
        "POST",
        &format!("/production/licenses/{}/actions/revoke", keys[1]),
        None,
    );
    assert_eq!(st, 200);
    let (st, _) = s.admin("DELETE", &format!("/production/licenses/{}", keys[2]), None);
    assert!(st < 300);
    let (st, _) = s.admin(
        "POST",
        "/production/licenses",
        Some(json!({ "product_id": p })),
    );
    assert_eq!(st, 201);
    std::fs::write(&hold, b"go").unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while web
        .get("/admin/licenses?env=production")
        .text()
        .contains("indexing")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the catalog never finished loading"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let page = web.get("/admin/licenses?env=production").text();
    assert!(
        page.contains("of 3000 licenses"),
        "all but the deleted one, plus the new one"
    );
    let list = |q: &str| s.admin("GET", &format!("/production/licenses?{q}"), None).1;
    assert_eq!(list("")["total"], 3000);
    assert_eq!(
        list(&format!("q={}", keys[1]))["items"][0]["status"],
        "revoked"
    );
    assert_eq!(list(&format!("q={}", keys[2]))["total"], 0);
}
