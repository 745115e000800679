//! Portal sessions are rows in the store (issue 12 item 1): a session outlives
//! the process that created it, any node serves it, and ending it on one node
//! ends it on the others within the documented bound (`app::sessions::CACHE_FOR`,
//! 5 s). Real binary, real embedded store, real CQL node; no fakes.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::cluster::cql_opts;
use crate::cql;
use crate::helpers::{Opts, Server};
use crate::web::{input_value, Web};

const PW: &str = "session-password-1";

/// The bound within which an ended session stops working on every node
/// (`CACHE_FOR` in src/app/sessions.rs, docs/OPERATIONS.md).
const BOUND: Duration = Duration::from_secs(5);
/// Slack on top of the bound for a loaded test machine.
const MARGIN: Duration = Duration::from_secs(10);

/// The same browser (its cookies) talking to another node.
fn same_browser(w: &Web, s: &Server) -> Web {
    let mut other = Web::new(s);
    other.prefix = w.prefix;
    *other.cookies.lock().unwrap() = w.cookies.lock().unwrap().clone();
    other
}

/// A customer with a portal password, through the admin API.
fn customer(s: &Server, email: &str) {
    let (st, c) = s.admin(
        "POST",
        "/customers",
        Some(json!({ "email": email, "name": "Session Tester", "password": PW })),
    );
    assert_eq!(st, 201, "{c}");
}

/// The CSRF token of a page `w` loads (a form as the browser holds it).
fn form_token(w: &Web, page: &str) -> String {
    let r = w.get(page);
    assert_eq!(r.status, 200, "{page}: {}", r.text());
    input_value(&r.text(), "csrf").expect("the page has a form")
}

/// Polls until `w` is sent to sign in on `path`; fails after the bound and a margin.
fn refused_within_bound(w: &Web, path: &str, what: &str) -> Duration {
    let started = Instant::now();
    loop {
        let st = w.get(path).status;
        if st == 303 {
            return started.elapsed();
        }
        assert_eq!(
            st, 200,
            "{what}: signed in or sent to sign in, nothing else"
        );
        assert!(
            started.elapsed() < BOUND + MARGIN,
            "{what}: still signed in after {:?}",
            started.elapsed()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn sessions_survive_a_restart_and_sign_out_ends_them_for_good() {
    let s = Server::start();
    customer(&s, "restart@example.com");
    let admin = Web::admin(&s);
    let me = Web::customer(&s, "restart@example.com", PW);
    assert_eq!(admin.get("/admin/licenses").status, 200);
    // Forms loaded before the restart.
    let admin_csrf = form_token(&admin, "/admin/settings");
    let my_csrf = form_token(&me, "/portal/profile");
    let s = s.restart(Opts::default());
    let (admin, me) = (same_browser(&admin, &s), same_browser(&me, &s));
    let page = admin.get("/admin/licenses");
    assert_eq!(page.status, 200, "still signed in after the restart");
    assert!(page.text().contains("Sign out"));
    assert_eq!(me.get("/portal/licenses").status, 200);
    let old_admin = admin.cookies.lock().unwrap()["kw_admin"].clone();
    let old_me = me.cookies.lock().unwrap()["kw_portal"].clone();
    // The forms' CSRF tokens are the stored ones: both sign-outs go through.
    let r = admin.post("/admin/logout", &[("csrf", &admin_csrf)]);
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.header("location"), Some("/admin/login"));
    let r = me.post("/portal/logout", &[("csrf", &my_csrf)]);
    assert_eq!(r.status, 303, "{}", r.text());
    // The old cookies are refused, now and after another restart.
    let s = s.restart(Opts::default());
    for (name, value, page) in [
        ("kw_admin", &old_admin, "/admin"),
        ("kw_portal", &old_me, "/portal"),
    ] {
        let replay = Web::new(&s);
        replay
            .cookies
            .lock()
            .unwrap()
            .insert(name.into(), value.clone());
        assert_eq!(replay.get(page).status, 303, "{name} after sign-out");
    }
}

#[test]
fn sessions_and_forms_move_between_nodes_and_outlive_a_killed_node() {
    let prefix = actix_rt::System::new().block_on(cql::fresh_prefix());
    let opts = cql_opts(&prefix, &cql::node());
    let (mut a, b) = (Server::start_with(opts.clone()), Server::start_with(opts));
    let on_a = Web::admin(&a);
    let on_b = same_browser(&on_a, &b);
    let page = on_b.get("/admin/products");
    assert_eq!(page.status, 200, "signed in on A, served by B");
    assert!(page.text().contains("Sign out"));
    // A form loaded on A posts on B with its CSRF token.
    let csrf = form_token(&on_a, "/admin/products");
    let r = on_b.post(
        "/admin/products",
        &[
            ("csrf", &csrf),
            ("name", "Made On B"),
            ("env", "production"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(on_a.get("/admin/products").text().contains("Made On B"));
    // A forged token is still refused on B.
    let r = on_b.post(
        "/admin/products",
        &[("csrf", "forged"), ("name", "Nope"), ("env", "production")],
    );
    assert_eq!(r.status, 403);
    // Node A dies mid-session (SIGKILL): B still serves the session, and a form
    // loaded on A before the kill posts on B after it.
    let csrf = form_token(&on_a, "/admin/products");
    a.kill();
    let page = on_b.get("/admin/licenses");
    assert_eq!(page.status, 200, "B serves the session A created");
    let r = on_b.post(
        "/admin/products",
        &[
            ("csrf", &csrf),
            ("name", "After The Kill"),
            ("env", "production"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(on_b
        .get("/admin/products")
        .text()
        .contains("After The Kill"));
}

#[test]
fn sign_out_and_a_password_change_reach_the_other_node_within_the_bound() {
    let prefix = actix_rt::System::new().block_on(cql::fresh_prefix());
    let opts = cql_opts(&prefix, &cql::node());
    let (a, b) = (Server::start_with(opts.clone()), Server::start_with(opts));
    // Sign-out on B ends the session on A (which has it cached) within the bound.
    let on_a = Web::admin(&a);
    let on_b = same_browser(&on_a, &b);
    assert_eq!(on_a.get("/admin").status, 200);
    assert_eq!(on_b.get("/admin").status, 200);
    let r = on_b.submit("/admin/logout", &[]);
    assert_eq!(r.status, 303);
    let replay_b = same_browser(&on_a, &b);
    assert_eq!(replay_b.get("/admin").status, 303, "at once on B");
    let took = refused_within_bound(&on_a, "/admin", "sign-out on B, seen on A");
    eprintln!("sign-out on B reached A after {took:?}");
    // A password change on A ends the account's other sessions on B; the
    // session that changed it stays.
    customer(&a, "moving@example.com");
    let mine_a = Web::customer(&a, "moving@example.com", PW);
    let other_b = Web::customer(&b, "moving@example.com", PW);
    assert_eq!(other_b.get("/portal").status, 200, "cached on B");
    let r = mine_a.submit(
        "/portal/profile/password",
        &[
            ("current", PW),
            ("new", "session-password-2"),
            ("confirm", "session-password-2"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let took = refused_within_bound(&other_b, "/portal", "password change on A, seen on B");
    eprintln!("password change on A reached B after {took:?}");
    assert_eq!(
        mine_a.get("/portal").status,
        200,
        "the changing session stays"
    );
    let mine_on_b = same_browser(&mine_a, &b);
    assert_eq!(mine_on_b.get("/portal").status, 200, "on every node");
    assert_eq!(Web::portal(&b).login("moving@example.com", PW).status, 401);
}
