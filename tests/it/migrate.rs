//! `keywarden migrate` is idempotent, and `serve` refuses keyspaces it does not know.

use std::process::Command;

use crate::cql;

fn keywarden(args: &[&str], prefix: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_keywarden"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("KEYWARDEN_STORE__CQL__KEYSPACE_PREFIX", prefix)
        .env("KEYWARDEN_STORE__CQL__CONNECT_TIMEOUT_MS", "3000")
        .env("KEYWARDEN_LOG__LEVEL", "warn")
        .output()
        .expect("keywarden runs")
}

fn serve_once(prefix: &str) -> String {
    let out = keywarden(
        &[
            "serve",
            "--store",
            "scylla",
            "--cql-nodes",
            &cql::node(),
            "--listen",
            "127.0.0.1:0",
        ],
        prefix,
    );
    assert!(!out.status.success(), "serve must refuse this keyspace");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn migrate_runs_twice_and_serve_refuses_unknown_schemas() {
    let prefix = format!("kwm{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let err = serve_once(&prefix);
    assert!(err.contains("run `keywarden migrate` first"), "{err}");

    for _ in 0..2 {
        let out = keywarden(&["migrate", "--cql-nodes", &cql::node()], &prefix);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("schema applied"));
    }

    actix_rt::System::new().block_on(async {
        let session = keywarden::store::cql::connect(&cql::settings(&prefix))
            .await
            .unwrap();
        session
            .query_unpaged(
                format!(
                    "UPDATE {prefix}_global.schema_version SET version = 99 WHERE id = 'schema'"
                ),
                (),
            )
            .await
            .unwrap();
    });
    let err = serve_once(&prefix);
    assert!(err.contains("schema version 99"), "{err}");
}

#[test]
fn an_unreachable_cql_node_stops_start_up_with_a_clear_message() {
    let out = keywarden(
        &[
            "serve",
            "--store",
            "scylla",
            "--cql-nodes",
            "127.0.0.1:1",
            "--listen",
            "127.0.0.1:0",
        ],
        "kwnone",
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot connect to the CQL nodes 127.0.0.1:1"),
        "{err}"
    );
}

#[test]
fn a_missing_tls_ca_file_is_named_at_start_up() {
    let out = Command::new(env!("CARGO_BIN_EXE_keywarden"))
        .args([
            "serve",
            "--store",
            "scylla",
            "--cql-nodes",
            &cql::node(),
            "--listen",
            "127.0.0.1:0",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("KEYWARDEN_STORE__CQL__TLS", "true")
        .env("KEYWARDEN_STORE__CQL__TLS_CA_FILE", "/nonexistent/ca.pem")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("store.cql.tls_ca_file: no such file /nonexistent/ca.pem"),
        "{err}"
    );
}

/// A keyspace written by the previous release (schema 3: no session, file,
/// outbox or job-step tables, `jobs` without `version`) is refused by `serve`
/// until `migrate` brings it to schema 4; then a node serves the portals on it
/// (sessions, the jobs page, a bulk job, the outbox) and its licenses are kept.
#[test]
fn a_schema_three_keyspace_migrates_to_four_and_keeps_its_data() {
    use crate::web::Web;
    let prefix = actix_rt::System::new().block_on(cql::fresh_prefix());
    let first = crate::helpers::Server::start_with(crate::cluster::cql_opts(&prefix, &cql::node()));
    let kept = first.license("production", 3);
    drop(first);
    actix_rt::System::new().block_on(async {
        let session = keywarden::store::cql::connect(&cql::settings(&prefix))
            .await
            .unwrap();
        let g = format!("{prefix}_global");
        let mut stmts: Vec<String> = [
            "sessions",
            "sessions_by_subject",
            "files",
            "file_chunks",
            "file_uploads",
            "outbox",
            "outbox_months",
            "outbox_pending",
            "outbox_tags",
            "job_steps",
            "jobs",
        ]
        .iter()
        .map(|t| format!("DROP TABLE {g}.{t}"))
        .collect();
        stmts.push(format!(
            "CREATE TABLE {g}.jobs (id uuid PRIMARY KEY, body blob)"
        ));
        stmts.push(format!(
            "UPDATE {g}.schema_version SET version = 3 WHERE id = 'schema'"
        ));
        // Schema changes can time out on a busy node (they wait for schema
        // agreement); each is idempotent enough to try again.
        for s in stmts {
            let mut tries = 0;
            while let Err(e) = session.query_unpaged(s.as_str(), ()).await {
                tries += 1;
                let msg = e.to_string();
                // A retried statement whose first try did land: the table is gone (or there).
                let gone = msg.contains("nconfigured table")
                    || msg.contains("doesn't exist")
                    || msg.contains("already exist");
                assert!(gone || tries < 5, "{s}: {e}");
                if gone {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            }
        }
    });
    let err = serve_once(&prefix);
    assert!(err.contains("schema version 3"), "{err}");
    let out = keywarden(&["migrate", "--cql-nodes", &cql::node()], &prefix);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = crate::helpers::Server::start_with(crate::cluster::cql_opts(&prefix, &cql::node()));
    assert_eq!(s.get_license("production", &kept)["key"], kept.as_str());
    let w = Web::admin(&s);
    let pid = s.product("production", "After Upgrade");
    let (_, p) = s.admin("GET", &format!("/production/products/{pid}"), None);
    let gid = p["default_generator_id"].as_str().unwrap().to_owned();
    let r = w.submit(
        &format!("/admin/generators/{gid}/bulk"),
        &[("env", "production"), ("count", "20")],
    );
    assert_eq!(r.status, 303, "a bulk job starts: {}", r.text());
    let started = std::time::Instant::now();
    while !w.get("/admin/jobs").text().contains("badge done") {
        assert!(started.elapsed().as_secs() < 60, "the job finished");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(w.get("/admin/outbox").status, 200);
}

/// A keyspace of an earlier release (schema 4: no idempotency, contracts,
/// webhook or traffic-count tables) is refused by `serve` until `migrate` adds
/// the tables; its licenses are kept, and `Idempotency-Key`, webhook endpoints
/// and the dashboard's traffic counts work on it.
#[test]
fn a_schema_four_keyspace_migrates_to_seven_and_keeps_its_data() {
    let prefix = actix_rt::System::new().block_on(cql::fresh_prefix());
    let first = crate::helpers::Server::start_with(crate::cluster::cql_opts(&prefix, &cql::node()));
    let kept = first.license("production", 3);
    let product = first.product("production", "Schema Five");
    drop(first);
    actix_rt::System::new().block_on(async {
        let session = keywarden::store::cql::connect(&cql::settings(&prefix))
            .await
            .unwrap();
        let g = format!("{prefix}_global");
        for s in [
            format!("DROP TABLE {g}.idempotency"),
            format!("DROP TABLE {g}.contracts"),
            format!("DROP TABLE {g}.webhooks"),
            format!("DROP TABLE {g}.webhook_pending"),
            format!("DROP TABLE {g}.webhook_log"),
            format!("DROP TABLE {g}.webhook_cursors"),
            format!("DROP TABLE {g}.traffic_counts"),
            format!("UPDATE {g}.schema_version SET version = 4 WHERE id = 'schema'"),
        ] {
            let mut tries = 0;
            while let Err(e) = session.query_unpaged(s.as_str(), ()).await {
                tries += 1;
                let msg = e.to_string();
                let gone = msg.contains("nconfigured table") || msg.contains("doesn't exist");
                assert!(gone || tries < 5, "{s}: {e}");
                if gone {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            }
        }
    });
    let err = serve_once(&prefix);
    assert!(err.contains("schema version 4"), "{err}");
    let out = keywarden(&["migrate", "--cql-nodes", &cql::node()], &prefix);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = crate::helpers::Server::start_with(crate::cluster::cql_opts(&prefix, &cql::node()));
    assert_eq!(s.get_license("production", &kept)["key"], kept.as_str());
    let post = || {
        crate::helpers::call(
            ureq::post(&s.url("/admin/api/v1/production/licenses"))
                .set(
                    "authorization",
                    &format!("Bearer {}", crate::helpers::TOKEN),
                )
                .set("idempotency-key", "after-upgrade"),
            Some(serde_json::json!({"product_id": product})),
        )
    };
    let (a, b) = (post(), post());
    assert_eq!((a.status, b.status), (201, 201), "{}", b.text());
    assert_eq!(b.header("idempotent-replayed"), Some("true"));
    assert_eq!(a.json(), b.json());
    let hook = crate::helpers::call(
        ureq::post(&s.url("/admin/api/v1/production/webhooks")).set(
            "authorization",
            &format!("Bearer {}", crate::helpers::TOKEN),
        ),
        Some(serde_json::json!({"url": "https://hooks.example.com/keywarden"})),
    );
    assert_eq!(hook.status, 201, "{}", hook.text());
    let (status, list) = s.admin("GET", "/production/webhooks", None);
    assert_eq!(status, 200, "{list}");
    // The dashboard reads the traffic counts table the migration made.
    let w = crate::web::Web::admin(&s);
    let dash = w.get("/admin?env=production");
    assert_eq!(dash.status, 200, "{}", dash.text());
    assert!(dash.text().contains("id=\"activations-today\""));
}
