//! Issue 12 items 5 and 6: three Keywarden nodes on one CQL node behind a real
//! HAProxy (Debian's, with the repository's config/haproxy.cfg), round-robin
//! and without stickiness, so consecutive requests of one person land on
//! different nodes.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::cluster::cql_opts;
use crate::helpers::{Opts, Server};
use crate::web::{input_value, Web};

/// HAProxy in front of three nodes. `lb` answers like a server (its `dir` is
/// the mailbox folder all nodes share, standing in for recipients' mailboxes).
pub struct Cluster {
    pub lb: Server,
    pub nodes: Vec<Server>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn haproxy() -> &'static str {
    let found = Command::new("haproxy")
        .arg("-v")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "HAProxy is needed for the load-balancer tests: scripts/test installs Debian's haproxy (apt-get install haproxy)"
    );
    "haproxy"
}

impl Cluster {
    /// A fresh keyspace prefix, three nodes on it, HAProxy in front.
    pub fn start() -> Cluster {
        Cluster::start_with(Opts::default())
    }

    /// Like [`Cluster::start`] with extra settings for every node.
    pub fn start_with(extra: Opts) -> Cluster {
        let bin = haproxy();
        let prefix = actix_rt::System::new().block_on(crate::cql::fresh_prefix());
        let tmp = tempfile::tempdir().expect("temp dir");
        // The nodes learn the LB's address before it exists: pick its port first.
        let mut lb_port = free_port();
        let mut opts = cql_opts(&prefix, &crate::cql::node())
            .env("KEYWARDEN_SERVER__TRUSTED_PROXIES", "[\"127.0.0.1\"]")
            .env(
                "KEYWARDEN_MAIL__OUTBOX_DIR",
                tmp.path().join("outbox").to_str().unwrap(),
            );
        opts.env.extend(extra.env);
        let node_opts = |port: u16| {
            opts.clone().env(
                "KEYWARDEN_SERVER__PUBLIC_URL",
                &format!("http://127.0.0.1:{port}"),
            )
        };
        // The first node alone first: it creates the first admin and the keys.
        let mut nodes = vec![Server::start_with(node_opts(lb_port))];
        nodes.push(Server::start_with(node_opts(lb_port)));
        nodes.push(Server::start_with(node_opts(lb_port)));
        // A port picked free may be taken meanwhile by another test's process:
        // HAProxy then exits at once, and is started again on other ports.
        let mut child = None;
        for _ in 0..5 {
            let mut c = spawn_haproxy(bin, lb_port, &nodes, tmp.path());
            if wait_ready(&mut c, lb_port) {
                child = Some(c);
                break;
            }
            let _ = c.kill();
            let _ = c.wait();
            lb_port = free_port();
            // Links in mails name the LB: restart the nodes on its new address.
            nodes = nodes
                .into_iter()
                .map(|n| n.restart(node_opts(lb_port)))
                .collect();
        }
        let log = std::fs::read_to_string(tmp.path().join("haproxy.log")).unwrap_or_default();
        let child = child.unwrap_or_else(|| panic!("HAProxy did not start: {log}"));
        let lb = Server::wrap(child, format!("http://127.0.0.1:{lb_port}"), tmp);
        Cluster { lb, nodes }
    }

    /// The node HAProxy calls `name` (node1…).
    pub fn node_mut(&mut self, name: &str) -> &mut Server {
        let i: usize = name
            .trim_start_matches("node")
            .parse()
            .unwrap_or_else(|_| panic!("not a node name: {name}"));
        &mut self.nodes[i - 1]
    }
}

/// HAProxy with the repository's config in front of `nodes`, logging to `dir`.
fn spawn_haproxy(bin: &str, lb_port: u16, nodes: &[Server], dir: &std::path::Path) -> Child {
    let addr = |s: &Server| s.base.trim_start_matches("http://").to_owned();
    let log = std::fs::File::create(dir.join("haproxy.log")).expect("haproxy log");
    Command::new(bin)
        .args(["-db", "-f"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/config/haproxy.cfg"))
        .env("KW_LB_BIND", format!("127.0.0.1:{lb_port}"))
        .env("KW_LB_STATS", format!("127.0.0.1:{}", free_port()))
        .env("KW_NODE1", addr(&nodes[0]))
        .env("KW_NODE2", addr(&nodes[1]))
        .env("KW_NODE3", addr(&nodes[2]))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start haproxy")
}

/// Whether HAProxy answers `/readyz` (through a node) within 20 s; false at
/// once when it exited (its port was taken).
fn wait_ready(child: &mut Child, port: u16) -> bool {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        if child.try_wait().ok().flatten().is_some() {
            return false;
        }
        if ureq::get(&format!("http://127.0.0.1:{port}/readyz"))
            .call()
            .is_ok()
        {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// Which node answered a request through HAProxy.
fn served_by(r: &crate::helpers::Resp) -> String {
    r.header("x-served-by")
        .expect("HAProxy names the node that answered")
        .to_owned()
}

/// Round-robin without stickiness: one person's requests land on every node,
/// and the session holds on each.
#[test]
fn one_signed_in_person_is_served_by_every_node() {
    let c = Cluster::start();
    let w = Web::admin(&c.lb);
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..9 {
        let r = w.get("/admin/licenses");
        assert_eq!(r.status, 200, "still signed in: {}", r.text());
        seen.insert(served_by(&r));
    }
    assert_eq!(seen.len(), 3, "every node answered: {seen:?}");
}

/// A session outlives the node that created it (SIGKILL): the next page loads
/// through another node still signed in, and a form drawn before the kill
/// posts after it.
#[test]
fn a_session_survives_the_node_that_created_it_being_killed() {
    let mut c = Cluster::start();
    let w = Web::new(&c.lb);
    let r = w.login(crate::helpers::ADMIN_EMAIL, crate::helpers::ADMIN_PASSWORD);
    assert_eq!(r.status, 303, "{}", r.text());
    let creator = served_by(&r);
    let form = w.get("/admin/customers");
    assert_eq!(form.status, 200);
    let csrf = input_value(&form.text(), "csrf").expect("a form with a csrf field");
    c.node_mut(&creator).kill();
    for _ in 0..4 {
        let r = w.get("/admin/licenses");
        assert_eq!(
            r.status,
            200,
            "signed in after {creator} died: {}",
            r.text()
        );
        assert_ne!(served_by(&r), creator);
    }
    let email = format!("after-kill-{}@example.com", &uuid_short());
    let r = w.post(
        "/admin/customers",
        &[
            ("csrf", &csrf),
            ("env", "production"),
            ("name", "After Kill"),
            ("email", &email),
        ],
    );
    assert!(
        r.status == 303 || r.status == 200,
        "the form drawn before the kill posts: {} {}",
        r.status,
        r.text()
    );
    let list = w.get("/admin/customers").text();
    assert!(list.contains(&email), "the customer was created: {list}");
}

/// Sign-out through one node ends the session on every node within the
/// documented bound (each node's session cache lives a few seconds).
#[test]
fn sign_out_on_one_node_ends_the_session_on_all_nodes() {
    let c = Cluster::start();
    let w = Web::admin(&c.lb);
    let cookie = w.cookie_header();
    for n in &c.nodes {
        let r = crate::helpers::into_resp(
            ureq::get(&n.url("/admin/licenses"))
                .set("cookie", &cookie)
                .call()
                .unwrap_or_else(|e| match e {
                    ureq::Error::Status(_, r) => r,
                    e => panic!("{e}"),
                }),
        );
        assert_eq!(r.status, 200, "signed in on {}", n.base);
    }
    let csrf = w.csrf();
    let r = w.post("/admin/logout", &[("csrf", &csrf)]);
    assert_eq!(r.status, 303, "{}", r.text());
    let started = Instant::now();
    for n in &c.nodes {
        loop {
            let r = ureq::builder()
                .redirects(0)
                .build()
                .get(&n.url("/admin/licenses"))
                .set("cookie", &cookie)
                .call();
            let status = match r {
                Ok(r) => r.status(),
                Err(ureq::Error::Status(s, _)) => s,
                Err(e) => panic!("{e}"),
            };
            if status != 200 {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "{} still serves the signed-out session",
                n.base
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

fn uuid_short() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_owned()
}

/// The admin's browser flow of the browser tests, unchanged, through HAProxy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_browser_flow_passes_through_the_load_balancer() {
    let c = tokio::task::spawn_blocking(Cluster::start).await.unwrap();
    crate::browser::admin_lifecycle(&c.lb, "admin-cluster").await;
}

/// The customer's browser flow of the browser tests, unchanged, through HAProxy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_customer_browser_flow_passes_through_the_load_balancer() {
    let c = tokio::task::spawn_blocking(Cluster::start).await.unwrap();
    crate::browser::customer_flow(&c.lb, "customer-cluster").await;
}
