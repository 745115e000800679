//! Several Keywarden nodes on one CQL cluster: the activation limit holds
//! cluster-wide, and changes reach the other node's memory through the change log.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::cql;
use crate::helpers::{activate, Opts, Server};

/// Options that point a server at this test process's CQL keyspaces.
pub fn cql_opts(prefix: &str, node: &str) -> Opts {
    Opts::default()
        .env("KEYWARDEN_STORE__KIND", "scylla")
        .env("KEYWARDEN_STORE__CQL__NODES", &format!("[\"{node}\"]"))
        .env("KEYWARDEN_STORE__CQL__KEYSPACE_PREFIX", prefix)
        .env("KEYWARDEN_STORE__CQL__CHANGES_POLL_MS", "500")
}

pub fn two_nodes() -> (Arc<Server>, Arc<Server>) {
    let prefix = actix_rt::System::new().block_on(cql::prefix());
    let opts = cql_opts(&prefix, &cql::node());
    (
        Arc::new(Server::start_with(opts.clone())),
        Arc::new(Server::start_with(opts)),
    )
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(5) {
        if f() {
            return started.elapsed();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what}: not seen within 5 s");
}

#[test]
fn the_limit_holds_across_two_nodes_twenty_times_in_a_row() {
    let (a, b) = two_nodes();
    for round in 0..20 {
        let key = a.license("production", 5);
        let barrier = Arc::new(Barrier::new(64));
        let handles: Vec<_> = (0..64)
            .map(|i| {
                let node = if i % 2 == 0 { a.clone() } else { b.clone() };
                let (key, barrier) = (key.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    let (st, v) = node.client(
                        "production",
                        "activate",
                        json!({ "key": key, "identifier": format!("r{round}-d{i}") }),
                    );
                    if st != 200 {
                        let logs = node.logs();
                        let tail: Vec<&str> = logs.lines().rev().take(12).collect();
                        panic!("{st} {v}\nserver log, newest first:\n{}", tail.join("\n"));
                    }
                    v["code"].as_str().unwrap().to_owned()
                })
            })
            .collect();
        let codes: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let ok = codes.iter().filter(|c| *c == "VALID").count();
        let full = codes.iter().filter(|c| *c == "LIMIT_REACHED").count();
        assert_eq!((ok, full), (5, 59), "round {round}: {codes:?}");
        assert_eq!(a.get_license("production", &key)["activations_in_use"], 5);
        // B's resident copy catches up through the change log within the bound.
        wait_until("B sees five activations", || {
            b.get_license("production", &key)["activations_in_use"] == 5
        });
    }
}

#[test]
fn a_deactivation_on_one_node_frees_the_slot_on_the_other_at_once() {
    let (a, b) = two_nodes();
    let key = a.license("production", 2);
    assert_eq!(activate(&a, "production", &key, "x")["code"], "VALID");
    assert_eq!(activate(&b, "production", &key, "y")["code"], "VALID");
    assert_eq!(
        activate(&b, "production", &key, "z")["code"],
        "LIMIT_REACHED"
    );
    let (_, v) = a.client(
        "production",
        "deactivate",
        json!({ "key": key, "identifier": "x" }),
    );
    assert_eq!(v["code"], "DEACTIVATED");
    assert_eq!(
        activate(&b, "production", &key, "z")["code"],
        "VALID",
        "no waiting for the change log"
    );
    // And the device activated on A can be deactivated through B.
    let (_, v) = b.client(
        "production",
        "deactivate",
        json!({ "key": key, "identifier": "y" }),
    );
    assert_eq!(v["code"], "DEACTIVATED");
}

#[test]
fn a_revoke_and_a_delete_on_one_node_reach_the_other_within_five_seconds() {
    let (a, b) = two_nodes();
    let key = a.license("production", 5);
    activate(&a, "production", &key, "dev");
    let validate_on_b = || {
        b.client(
            "production",
            "validate",
            json!({ "key": key, "identifier": "dev" }),
        )
        .1["code"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(validate_on_b(), "VALID", "resident on B now");
    a.admin(
        "POST",
        &format!("/production/licenses/{key}/actions/revoke"),
        None,
    );
    let took = wait_until("revoke on B", || validate_on_b() == "REVOKED");
    eprintln!("revoke reached the other node in {took:?}");

    let key2 = a.license("production", 5);
    activate(&b, "production", &key2, "dev");
    a.admin("DELETE", &format!("/production/licenses/{key2}"), None);
    wait_until("delete on B", || {
        b.client(
            "production",
            "validate",
            json!({ "key": key2, "identifier": "dev" }),
        )
        .1["code"]
            == "NOT_FOUND"
    });
}

#[test]
fn a_key_created_elsewhere_stops_being_not_found_within_five_seconds() {
    let (a, b) = two_nodes();
    // B remembers an unknown key in its negative cache…
    let product = a.product("production", "Late");
    let key = format!("LATE-{}", uuid::Uuid::new_v4().simple());
    let ask = |s: &Server| {
        s.client(
            "production",
            "validate",
            json!({ "key": key, "identifier": "d" }),
        )
        .1["code"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(ask(&b), "NOT_FOUND");
    assert_eq!(ask(&b), "NOT_FOUND");
    // …then another writer creates exactly that key (through the store, as a node would).
    actix_rt::System::new().block_on(async {
        let store = cql::cql_store().await;
        let now = chrono::Utc::now();
        let l = keywarden::domain::License {
            key: keywarden::domain::LicenseKey::parse(&key).unwrap(),
            environment: keywarden::domain::Environment::Production,
            product_id: product.parse().unwrap(),
            generator_id: None,
            customer_id: Some(uuid::Uuid::new_v4()),
            status: keywarden::domain::LicenseStatus::Assigned,
            activation_limit: Default::default(),
            expires_at: None,
            validity_days: None,
            feature_flags: Default::default(),
            metadata: Default::default(),
            ever_activated: false,
            flagged: false,
            abuse_case: None,
            version: 1,
            created_at: now,
            updated_at: now,
            activations: vec![],
            eligibility: Default::default(),
        };
        store
            .insert_licenses(keywarden::domain::Environment::Production, &[l], &[])
            .await
            .unwrap();
    });
    let took = wait_until("create on B", || ask(&b) == "NOT_ACTIVATED");
    eprintln!("create reached the other node in {took:?}");
    assert_eq!(ask(&a), "NOT_ACTIVATED");
}

#[test]
fn the_admin_catalog_of_the_other_node_lists_new_and_changed_licenses() {
    let (a, b) = two_nodes();
    let product = a.product(
        "production",
        &format!("Catalog {}", crate::helpers::uuid_like()),
    );
    let (st, bulk) = a.admin(
        "POST",
        "/production/licenses/bulk",
        Some(json!({ "product_id": product, "count": 3 })),
    );
    assert_eq!(st, 201, "{bulk}");
    let count = |s: &Server, q: &str| {
        s.admin(
            "GET",
            &format!("/production/licenses?product_id={product}{q}"),
            None,
        )
        .1["total"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(count(&a, ""), 3, "the writing node lists them at once");
    wait_until("B lists the new licenses", || count(&b, "") == 3);
    let key = bulk["keys"][0].as_str().unwrap();
    a.admin(
        "POST",
        &format!("/production/licenses/{key}/actions/revoke"),
        None,
    );
    wait_until("B lists the revoked state", || {
        count(&b, "&status=revoked") == 1
    });
}

#[test]
fn an_expiry_reminder_is_mailed_once_by_one_of_two_nodes() {
    // Its own keyspaces: servers of other tests (same process prefix) would
    // otherwise see this license and claim its reminder themselves.
    let prefix = actix_rt::System::new().block_on(cql::fresh_prefix());
    let opts = cql_opts(&prefix, &cql::node()).env("KEYWARDEN_MAIL__REMINDER_INTERVAL_SECS", "1");
    let (a, b) = (Server::start_with(opts.clone()), Server::start_with(opts));
    let (st, c) = a.admin(
        "POST",
        "/customers",
        Some(json!({"email": format!("remind-{}@example.com", super::helpers::uuid_like()), "name": "Rem Inder"})),
    );
    assert_eq!(st, 201, "{c}");
    let product = a.product("production", "Reminded");
    let (st, l) = a.admin(
        "POST",
        "/production/licenses",
        Some(json!({"product_id": product, "customer_id": c["id"], "expires_at": (chrono::Utc::now() + chrono::Duration::days(5)).to_rfc3339()})),
    );
    assert_eq!(st, 201, "{l}");
    // Both nodes look every second; give them several rounds.
    let count = |s: &Server| {
        super::web::mails(s)
            .iter()
            .filter(|m| m["kind"] == "expiry")
            .count()
    };
    // Generous: the whole suite shares the CQL node, and a claim is a conditional write.
    let deadline = Instant::now() + Duration::from_secs(30);
    while count(&a) == 0 {
        assert!(
            Instant::now() < deadline,
            "no reminder from either node within 30 s; logs:\n{}\n{}",
            a.logs(),
            b.logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(4));
    // The outbox is shared (issue 12): both nodes list the one reminder.
    assert_eq!(
        (count(&a), count(&b)),
        (1, 1),
        "exactly one node mailed it: {:?} / {:?}",
        super::web::mails(&a),
        super::web::mails(&b)
    );
}

/// An admin's id and row version as the Admins page of `w` shows them.
fn admin_row(w: &crate::web::Web, email: &str) -> (String, String) {
    let page = w.get("/admin/admins").text();
    let row = page
        .split(&format!("<td>{email}</td>"))
        .nth(1)
        .unwrap_or_else(|| panic!("{email} not listed: {page}"));
    let field = |name: &str| {
        let marker = format!("name=\"{name}\" value=\"");
        let at = row.find(&marker).expect("field") + marker.len();
        row[at..].split('"').next().unwrap_or_default().to_owned()
    };
    (field("id"), field("version"))
}

/// Posts the Admins page's edit form: a rename made on the row version `version`.
fn rename(w: &crate::web::Web, (id, version): &(String, String), name: &str) -> u16 {
    w.submit(
        "/admin/admins",
        &[
            ("env", "production"),
            ("id", id),
            ("version", version),
            ("name", name),
            ("role", "readonly"),
        ],
    )
    .status
}

/// Adds a read-only admin through `w`'s Admins page; returns the email.
fn add_admin(w: &crate::web::Web, who: &str, tag: &str) -> String {
    let email = format!("{who}.{tag}@test.local");
    let r = w.submit(
        "/admin/admins",
        &[
            ("env", "production"),
            ("name", who),
            ("email", &email),
            ("role", "readonly"),
            ("password", "cluster-password-1"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    email
}

/// Issue 12 item 4: admin accounts are rows written on their version. Edits of
/// different admins on two nodes at the same instant both land (20 rounds); an
/// edit made on a page drawn before another node's edit gets a clear conflict
/// message and changes nothing.
#[test]
fn admin_edits_on_two_nodes_both_land_or_one_is_told_of_the_conflict() {
    use crate::web::Web;
    let (a, b) = two_nodes();
    let tag = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let on_a = Web::admin(&a);
    let on_b = Web::admin(&b);
    let zed = add_admin(&on_a, "zed", tag);
    let yan = add_admin(&on_b, "yan", tag);
    // Each node lists the other's new admin within the change-log bound.
    wait_until("B lists zed", || {
        on_b.get("/admin/admins").text().contains(&zed)
    });
    wait_until("A lists yan", || {
        on_a.get("/admin/admins").text().contains(&yan)
    });
    let (on_a, on_b) = (Arc::new(on_a), Arc::new(on_b));
    for round in 0..20 {
        let barrier = Arc::new(Barrier::new(2));
        let edits: Vec<_> = [(on_a.clone(), zed.clone()), (on_b.clone(), yan.clone())]
            .into_iter()
            .map(|(w, email)| {
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    let row = admin_row(&w, &email);
                    barrier.wait();
                    rename(&w, &row, &format!("{} round {round}", &email[..3]))
                })
            })
            .collect();
        for e in edits {
            assert_eq!(e.join().unwrap(), 303, "round {round}: an edit was refused");
        }
    }
    let page = Web::admin(&a).get("/admin/admins").text();
    assert!(page.contains("zed round 19"), "{page}");
    assert!(page.contains("yan round 19"), "{page}");
    // The same admin from a page drawn before the other node's edit: refused.
    let stale = admin_row(&on_b, &zed);
    assert_eq!(rename(&on_a, &admin_row(&on_a, &zed), "Zed from A"), 303);
    let r = on_b.submit(
        "/admin/admins",
        &[
            ("env", "production"),
            ("id", &stale.0),
            ("version", &stale.1),
            ("name", "Zed from B"),
            ("role", "readonly"),
        ],
    );
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(
        r.text()
            .contains("This admin was changed elsewhere; reload the page and try again."),
        "{}",
        r.text()
    );
    // Reloaded, it lands on top of A's edit.
    assert_eq!(rename(&on_b, &admin_row(&on_b, &zed), "Zed from B"), 303);
    let page = Web::admin(&a).get("/admin/admins").text();
    assert!(page.contains("Zed from B"), "{page}");
}

/// Issue 12 item 4: an admin added on one node signs in on the other, and
/// settings saved on one node apply on the other, both within the change-log
/// bound (no restart).
#[test]
fn admins_and_settings_changed_on_one_node_apply_on_the_other() {
    use crate::web::Web;
    let (a, b) = two_nodes();
    let tag = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let on_b = Web::admin(&b);
    let email = add_admin(&Web::admin(&a), "xia", tag);
    wait_until("B lists the new admin", || {
        on_b.get("/admin/admins").text().contains(&email)
    });
    let r = Web::new(&b).login(&email, "cluster-password-1");
    assert_eq!(r.status, 303, "the new admin signs in on B: {}", r.text());
    let (st, mut s) = a.admin("GET", "/staging/settings", None);
    assert_eq!(st, 200, "{s}");
    let days = s["grace_period_days"].as_u64().unwrap() + 3;
    s["grace_period_days"] = json!(days);
    let (st, v) = a.admin("PUT", "/staging/settings", Some(s));
    assert_eq!(st, 200, "{v}");
    wait_until("B applies the new grace period", || {
        let (_, v) = b.admin("GET", "/staging/settings", None);
        v["grace_period_days"].as_u64() == Some(days)
    });
}
