//! Background jobs live in the store: a bulk generation survives its node being
//! killed (SIGKILL) mid-way, on the same data folder after a restart and on
//! another node of a CQL cluster, and finishes with exactly the keys asked for,
//! none made twice. The Background Jobs page shows the same job on every node.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::cluster::cql_opts;
use crate::cql;
use crate::helpers::{Opts, Server};
use crate::web::Web;

/// The job as the Background Jobs page shows it (the page lists one job here).
#[derive(Debug)]
struct Row {
    state: String,
    done: u32,
    total: u32,
    attempts: u32,
    /// The node cell says the job runs on the node that served the page.
    here: bool,
}

fn between<'a>(html: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = html.find(start)? + start.len();
    let len = html[from..].find(end)?;
    Some(&html[from..from + len])
}

fn row(w: &Web) -> Option<Row> {
    let page = w.get("/admin/jobs");
    assert_eq!(page.status, 200);
    let html = page.text();
    let tr = between(&html, "<tr data-job=", "</tr>")?;
    let progress = between(tr, "class=\"progress-text\">", " (")?;
    let (done, total) = progress.split_once(" / ")?;
    let cells: Vec<&str> = tr.split("<td class=\"num\">").collect();
    let attempts = cells.get(1)?.split('<').next()?;
    Some(Row {
        state: between(tr, "<span class=\"badge ", "\"")?.to_owned(),
        done: done.trim().parse().ok()?,
        total: total.trim().parse().ok()?,
        attempts: attempts.trim().parse().ok()?,
        here: between(tr, "job-node\">", "</td>")?.contains("(this node)"),
    })
}

/// Polls the page until `f` holds; the deadline only bounds a hung test.
fn wait_for(w: &Web, what: &str, f: impl Fn(&Row) -> bool) -> Row {
    let deadline = Instant::now() + Duration::from_secs(150);
    loop {
        if let Some(r) = row(w).filter(|r| f(r)) {
            return r;
        }
        assert!(Instant::now() < deadline, "{what}: not seen; {:?}", row(w));
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A product and a UUID-key generator made through `w`'s portal; (product, generator).
fn generator(s: &Server, w: &Web) -> (String, String) {
    let pid = s.product("production", "Bulk Product");
    let r = w.submit(
        "/admin/generators",
        &[
            ("env", "production"),
            ("product_id", &pid),
            ("name", "Bulk keys"),
            ("kind", "uuid"),
            ("prefix", "JOB-"),
            ("activation_limit", "2"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let gid = r.header("location").unwrap()["/admin/generators/".len()..]
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    (pid, gid)
}

fn start_bulk(w: &Web, gid: &str, count: u32) {
    let r = w.submit(
        &format!("/admin/generators/{gid}/bulk"),
        &[("env", "production"), ("count", &count.to_string())],
    );
    assert_eq!(r.status, 303, "{}", r.text());
}

/// Every key of the product through the admin API listing (by key, so pages do
/// not shift between requests), and how many rows the pages held in all.
fn listing(s: &Server, pid: &str) -> (HashSet<String>, usize) {
    let mut keys = HashSet::new();
    let mut listed = 0;
    for page in 1.. {
        let (st, v) = s.admin(
            "GET",
            &format!("/production/licenses?product_id={pid}&sort=key&per_page=500&page={page}"),
            None,
        );
        assert_eq!(st, 200, "{v}");
        let items = v["items"].as_array().unwrap();
        listed += items.len();
        keys.extend(items.iter().map(|l| l["key"].as_str().unwrap().to_owned()));
        if items.len() < 500 {
            break;
        }
    }
    (keys, listed)
}

/// Every key of the product through the admin API listing, checked to be distinct.
fn keys_of(s: &Server, pid: &str) -> HashSet<String> {
    let (keys, listed) = listing(s, pid);
    assert_eq!(listed, keys.len(), "a key listed twice");
    keys
}

fn short_lease(opts: Opts) -> Opts {
    opts.env("KEYWARDEN_JOBS__LEASE_SECS", "3")
        .env("KEYWARDEN_JOBS__POLL_SECS", "1")
}

#[test]
fn a_job_survives_a_sigkill_and_finishes_after_the_restart() {
    const N: u32 = 10_000;
    let s = Server::start_with(short_lease(Opts::default()));
    let w = Web::admin(&s);
    let (pid, gid) = generator(&s, &w);
    start_bulk(&w, &gid, N);
    let at_kill = wait_for(&w, "30 %", |r| r.done >= N * 3 / 10);
    assert_eq!(at_kill.total, N);
    let s = s.restart(short_lease(Opts::default()));
    eprintln!("killed at {at_kill:?}");
    let w = Web::admin(&s);
    let done = wait_for(&w, "done after the restart", |r| r.state == "done");
    assert_eq!((done.done, done.total), (N, N));
    assert!(
        at_kill.state == "running" && at_kill.done < N,
        "killed mid-way: {at_kill:?}"
    );
    assert!(done.attempts >= 2, "taken over after the restart: {done:?}");
    let keys = keys_of(&s, &pid);
    assert_eq!(keys.len(), N as usize, "exactly N keys, none twice");
    assert!(keys.iter().all(|k| k.starts_with("JOB-")));
}

#[test]
fn a_finished_job_can_be_removed_but_not_retried_and_a_bad_id_is_refused() {
    let s = Server::start();
    let w = Web::admin(&s);
    let (pid, gid) = generator(&s, &w);
    start_bulk(&w, &gid, 700);
    wait_for(&w, "done", |r| r.state == "done" && r.done == 700);
    assert_eq!(keys_of(&s, &pid).len(), 700);
    let html = w.get("/admin/jobs").text();
    let id = between(&html, "<tr data-job=\"", "\"").unwrap().to_owned();
    let retry = w.submit(&format!("/admin/jobs/{id}/retry"), &[("env", "production")]);
    assert_eq!(retry.status, 409, "{}", retry.text());
    let bad = w.submit("/admin/jobs/not-a-job/delete", &[("env", "production")]);
    assert_eq!(bad.status, 404);
    let r = w.submit(
        &format!("/admin/jobs/{id}/delete"),
        &[("env", "production")],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(row(&w).is_none(), "removed from the list");
    assert_eq!(keys_of(&s, &pid).len(), 700, "its keys stay");
}

/// The acceptance test of issue 12 item 2: three nodes on one CQL keyspace, a
/// 10,000-key job started on A, A killed at ~30 %, the job finishes elsewhere.
#[test]
fn a_job_whose_node_dies_is_finished_by_another_node_with_exactly_its_keys() {
    const N: u32 = 10_000;
    let prefix = actix_rt::System::new().block_on(cql::fresh_prefix());
    let opts = short_lease(cql_opts(&prefix, &cql::node()));
    let mut a = Server::start_with(opts.clone());
    let b = Server::start_with(opts.clone());
    let c = Server::start_with(opts);
    let wa = Web::admin(&a);
    let (pid, gid) = generator(&a, &wa);
    start_bulk(&wa, &gid, N);
    let at_kill = wait_for(&wa, "30 % on A", |r| r.done >= N * 3 / 10);
    a.kill();
    assert!(
        at_kill.state == "running" && at_kill.here && at_kill.done < N,
        "A ran the job when it was killed: {at_kill:?}"
    );
    let killed = Instant::now();
    let (wb, wc) = (Web::admin(&b), Web::admin(&c));
    let done = wait_for(&wb, "done on B", |r| r.state == "done");
    eprintln!(
        "killed A at {at_kill:?}; done on another node {:?} later",
        killed.elapsed()
    );
    for s in [&b, &c] {
        let logs = s.logs();
        let resumed = logs
            .lines()
            .filter(|l| l.contains("resumed a planned job step"));
        resumed.for_each(|l| eprintln!("{}: {l}", s.base));
    }
    assert_eq!((done.done, done.total), (N, N));
    assert!(done.attempts >= 2, "another node took it over: {done:?}");
    let on_c = wait_for(&wc, "done on C", |r| r.state == "done");
    assert_eq!((on_c.done, on_c.total), (N, N));

    // Exactly N licenses of the job's generator in the store, every key once.
    let keys = actix_rt::System::new().block_on(store_keys(&prefix, &pid, &gid));
    assert_eq!(keys.len(), N as usize);
    // And each remaining node's listing catches up to the same keys.
    for s in [&b, &c] {
        let deadline = Instant::now() + Duration::from_secs(30);
        // (Pages read while the node's catalog still changes may overlap.)
        while listing(s, &pid) != (keys.clone(), keys.len()) {
            assert!(Instant::now() < deadline, "listing on {} differs", s.base);
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

/// The keys of product `pid` read straight from the store, each made by
/// generator `gid`, checked to be distinct.
async fn store_keys(prefix: &str, pid: &str, gid: &str) -> HashSet<String> {
    use keywarden::domain::Environment;
    use keywarden::store::cql::CqlStore;
    use keywarden::store::LicenseQuery;
    let store = CqlStore::open(&cql::settings(prefix)).await.unwrap();
    let store: &dyn keywarden::store::Store = &store;
    let q = LicenseQuery {
        product_id: Some(pid.parse().unwrap()),
        page: 1,
        per_page: keywarden::store::MAX_PER_PAGE,
        ..LicenseQuery::default()
    };
    let page = store
        .list_licenses(Environment::Production, &q)
        .await
        .unwrap();
    let gid: uuid::Uuid = gid.parse().unwrap();
    assert!(page.items.iter().all(|l| l.generator_id == Some(gid)));
    let keys: HashSet<String> = page.items.iter().map(|l| l.key.as_str().into()).collect();
    assert_eq!(keys.len(), page.items.len(), "a key stored twice");
    keys
}

fn keywarden(args: &[&str]) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_keywarden"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("KEYWARDEN_ADMIN_TOKEN")
        .env("KEYWARDEN_LOG__LEVEL", "warn")
        .output()
        .expect("keywarden runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?}: {err}");
}

#[test]
fn a_backup_carries_the_jobs_and_a_restore_shows_them() {
    let s = Server::start();
    let w = Web::admin(&s);
    let (_, gid) = generator(&s, &w);
    start_bulk(&w, &gid, 600);
    wait_for(&w, "done", |r| r.state == "done");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kw.kwbackup");
    let file = file.to_str().unwrap();
    keywarden(&[
        "backup",
        "--url",
        &s.base,
        "--token",
        crate::helpers::TOKEN,
        "--out",
        file,
    ]);
    let fresh = dir.path().join("restored");
    keywarden(&[
        "restore",
        "--from",
        file,
        "--data-dir",
        fresh.to_str().unwrap(),
    ]);
    let r = Server::start_in(&fresh, Opts::default());
    let restored = row(&Web::admin(&r)).expect("the job is listed after the restore");
    assert_eq!(
        (restored.state.as_str(), restored.done, restored.total),
        ("done", 600, 600)
    );
}
