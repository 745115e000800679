//! Issue 12 items 3 and 7: product files live in the store as chunks (any node
//! serves them, backups carry them, the previous release's folder is copied
//! in), and the outbox is a store table whose mails one node sends, retried
//! with backoff.

use std::process::Command;
use std::time::Duration;

use serde_json::json;

use super::cluster::cql_opts;
use super::helpers::{call, Opts, Server, TOKEN};
use super::security::{customer, license_for, PW};
use super::smtp_sink::{decoded, SmtpSink};
use super::web::{input_value, link_in, multipart, unescape, Web};

/// ~1.3 MiB: three 512 KiB chunks, the last one partial.
fn payload() -> Vec<u8> {
    (0..1_363_149u32).map(|i| (i * 31 % 251) as u8).collect()
}

/// The id of the only product of a server's production environment.
fn product_of(s: &Server) -> String {
    let (_, products) = s.admin("GET", "/production/products", None);
    products.as_array().unwrap()[0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Uploads `bytes` to `product` through the admin portal of `s`.
fn upload(s: &Server, product: &str, bytes: &[u8]) {
    let admin = Web::admin(s);
    let csrf = admin.csrf();
    let fields = [
        ("csrf", csrf.as_str()),
        ("env", "production"),
        ("title", "Big App"),
        ("version", "2.0"),
        ("channel", "stable"),
        ("released", "2026-02-01"),
    ];
    let (ct, body) = multipart(&fields, ("big.bin", bytes));
    let r = admin.post_bytes(&format!("/admin/products/{product}/files"), &ct, &body);
    assert_eq!(r.status, 303, "{}", r.text());
}

/// What the customer downloads through the customer portal of `s` (the
/// first file of the Downloads page), and the signed download path.
fn download(s: &Server, email: &str) -> (Vec<u8>, String, Web) {
    let w = Web::customer(s, email, PW);
    // Another node learns of the license through the change log (within seconds).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut page = w.get("/portal/downloads").text();
    while !page.contains("href=\"/portal/downloads/") && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        page = w.get("/portal/downloads").text();
    }
    let href = page
        .split("href=\"/portal/downloads/")
        .nth(1)
        .unwrap_or_else(|| panic!("no download link on {page}"));
    let url = unescape(&format!(
        "/portal/downloads/{}",
        &href[..href.find('"').unwrap()]
    ));
    let r = w.get(&url);
    assert_eq!(r.status, 200, "{url}: {}", r.text());
    (r.body, url, w)
}

fn keywarden(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_keywarden"))
        .args(args)
        .env_remove("KEYWARDEN_ADMIN_TOKEN")
        .env("KEYWARDEN_LOG__LEVEL", "warn")
        .output()
        .expect("keywarden runs")
}

/// Takes a backup of `s` with the CLI and restores it into a fresh folder under
/// `dir` (returned); a copy cut off inside the file chunks is refused.
fn backup_and_restore(s: &Server, dir: &std::path::Path) -> std::path::PathBuf {
    let file = dir.join("kw.kwbackup");
    let f = file.to_str().unwrap();
    let out = keywarden(&["backup", "--url", &s.base, "--token", TOKEN, "--out", f]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 files"));
    let fresh = dir.join("restored");
    let fresh_s = fresh.to_str().unwrap();
    let out = keywarden(&["restore", "--from", f, "--data-dir", fresh_s]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A backup cut off inside the file chunks is refused.
    let whole = std::fs::read(&file).unwrap();
    let cut = dir.join("cut.kwbackup");
    std::fs::write(&cut, &whole[..whole.len() - 1000]).unwrap();
    let other = dir.join("other");
    let out = keywarden(&[
        "restore",
        "--from",
        cut.to_str().unwrap(),
        "--data-dir",
        other.to_str().unwrap(),
    ]);
    assert!(!out.status.success(), "a cut-off backup is refused");

    fresh
}

#[test]
fn a_chunked_file_downloads_byte_identical_with_ranges_and_survives_backup_and_restore() {
    let s = Server::start();
    let cid = customer(&s, "fay@example.com", "Fay");
    license_for(&s, &cid, 1);
    let bytes = payload();
    upload(&s, &product_of(&s), &bytes);
    let (got, url, w) = download(&s, "fay@example.com");
    assert_eq!(got.len(), bytes.len());
    assert!(got == bytes, "byte-identical");
    // A range across the first chunk border.
    let part = call(
        ureq::get(&s.url(&url))
            .set("cookie", &w.cookie_header())
            .set("range", "bytes=524000-525000"),
        None,
    );
    assert_eq!(part.status, 206);
    assert!(part.body == bytes[524_000..=525_000]);
    let bad = call(
        ureq::get(&s.url(&url))
            .set("cookie", &w.cookie_header())
            .set("range", "bytes=9999999-"),
        None,
    );
    assert_eq!(bad.status, 416);

    let dir = tempfile::tempdir().unwrap();
    let fresh = backup_and_restore(&s, dir.path());
    let r = Server::start_in(
        &fresh,
        Opts {
            no_token: true,
            ..Opts::default()
        },
    );
    let (again, _, _) = download(&r, "fay@example.com");
    assert!(again == bytes, "the restored file is byte-identical");
}

#[test]
fn the_previous_releases_files_and_outbox_folders_are_copied_into_the_store_once() {
    let s = Server::start();
    let cid = customer(&s, "lee@example.com", "Lee");
    license_for(&s, &cid, 1);
    let product = product_of(&s);
    let dir = s.dir.clone();
    let s = {
        let mut s = s;
        s.kill();
        s
    };
    // The previous release's layout: <data_dir>/files/<id>/{data,meta.json}, outbox/*.json.
    let id = uuid::Uuid::new_v4();
    let old = dir.join("files").join(id.to_string());
    std::fs::create_dir_all(&old).unwrap();
    let bytes: Vec<u8> = (0..700_000u32).map(|i| (i % 199) as u8).collect();
    std::fs::write(old.join("data"), &bytes).unwrap();
    let meta = json!({"id": id, "env": "production", "product_id": product, "title": "Old Tool",
        "file_name": "old.zip", "version": "1.0", "channel": "stable", "released": "2025-05-01",
        "size": bytes.len(), "uploaded_at": "2025-05-01T10:00:00Z"});
    std::fs::write(old.join("meta.json"), meta.to_string()).unwrap();
    let mail = json!({"id": uuid::Uuid::new_v4(), "at": "2025-05-02T10:00:00Z", "to": "lee@example.com",
        "subject": "Old reminder", "body": "old", "kind": "expiry", "tag": "expiry:old", "delivery": "folder only"});
    std::fs::create_dir_all(dir.join("outbox")).unwrap();
    std::fs::write(
        dir.join("outbox/20250502T100000.000000-x.json"),
        mail.to_string(),
    )
    .unwrap();

    let s = s.restart(Opts::default());
    assert!(
        s.logs().contains("the folder is left as it was"),
        "{}",
        s.logs()
    );
    let (got, _, _) = download(&s, "lee@example.com");
    assert!(got == bytes, "the old file downloads byte-identical");
    let mails = super::web::mails(&s);
    assert!(
        mails.iter().any(|m| m["subject"] == "Old reminder"),
        "{mails:?}"
    );
    assert!(old.join("data").exists(), "the old folder is left in place");
    // Once: a second start copies nothing again (one file, one old mail).
    let s = s.restart(Opts::default());
    let page = Web::customer(&s, "lee@example.com", PW)
        .get("/portal/downloads")
        .text();
    assert_eq!(page.matches("data-file=\"old.zip\"").count(), 1, "{page}");
    let old_mails = super::web::mails(&s)
        .iter()
        .filter(|m| m["subject"] == "Old reminder")
        .count();
    assert_eq!(old_mails, 1);
}

fn three_nodes(extra: &[(&str, &str)]) -> Vec<Server> {
    // Own keyspaces: other tests' nodes must not send this test's mails.
    let prefix = actix_rt::System::new().block_on(crate::cql::fresh_prefix());
    let mut opts = cql_opts(&prefix, &crate::cql::node());
    for (k, v) in extra {
        opts = opts.env(k, v);
    }
    (0..3).map(|_| Server::start_with(opts.clone())).collect()
}

/// Asks node `s` for a reset mail for `email` through the forgotten-password form.
fn forgot(s: &Server, email: &str) {
    let w = Web::portal(s);
    let csrf = input_value(&w.get("/portal/forgot").text(), "csrf").unwrap();
    let r = w.post("/portal/forgot", &[("csrf", &csrf), ("email", email)]);
    assert_eq!(r.status, 200);
}

#[test]
fn cql_a_file_uploaded_on_one_node_downloads_on_the_others_and_a_reset_mail_is_sent_once() {
    let sink = SmtpSink::start(0);
    let nodes = three_nodes(&[("KEYWARDEN_MAIL__SMTP_URL", &sink.url())]);
    let (a, b, c) = (&nodes[0], &nodes[1], &nodes[2]);
    let email = format!("cy-{}@example.com", super::helpers::uuid_like());
    let cid = customer(a, &email, "Cy");
    // Only the reset mail goes to the sink: no key mail on assignment.
    let (_, mut settings) = a.admin("GET", "/production/settings", None);
    settings["mail_key_on_assign"] = json!(false);
    assert_eq!(
        a.admin("PUT", "/production/settings", Some(settings)).0,
        200
    );
    license_for(a, &cid, 1);
    let bytes = payload();
    let (_, products) = a.admin("GET", "/production/products", None);
    let product = products
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Secured Product")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    upload(a, &product, &bytes);
    for (name, node) in [("B", b), ("C", c)] {
        let (got, _, _) = download(node, &email);
        assert!(got == bytes, "byte-identical through node {name}");
    }

    forgot(b, &email);
    let got = sink.wait_for(1, Duration::from_secs(30));
    assert_eq!(got.len(), 1, "the reset mail arrived");
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(sink.messages.lock().unwrap().len(), 1, "sent exactly once");
    let text = decoded(&got[0]);
    let link = link_in(&text, &b.base);
    let path = link.strip_prefix(&b.base).unwrap();
    // The link works on node C.
    let w = Web::portal(c);
    let page = w.get(path);
    assert_eq!(page.status, 200, "{}", page.text());
    let form = page.text();
    let r = w.post(
        "/portal/password",
        &[
            ("csrf", &input_value(&form, "csrf").unwrap()),
            ("token", &unescape(&input_value(&form, "token").unwrap())),
            ("purpose", "reset"),
            ("password", "a-new-password-9"),
            ("confirm", "a-new-password-9"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(Web::portal(c).login(&email, "a-new-password-9").status, 303);
    // Every node's Outbox page shows it sent.
    for node in [a, c] {
        let page = Web::admin(node).get("/admin/outbox").text();
        let row = page
            .split("<tr>")
            .find(|r| r.contains(&email) && r.contains("Reset your license portal password"))
            .unwrap_or_else(|| panic!("no reset row on {page}"));
        assert!(row.contains(">sent<"), "{row}");
    }
}

#[test]
fn cql_a_refused_mail_is_retried_with_backoff_and_sent_once() {
    let sink = SmtpSink::start(2);
    let nodes = three_nodes(&[
        ("KEYWARDEN_MAIL__SMTP_URL", &sink.url()),
        ("KEYWARDEN_MAIL__RETRY_BASE_SECS", "1"),
    ]);
    let email = format!("rey-{}@example.com", super::helpers::uuid_like());
    customer(&nodes[0], &email, "Rey");
    forgot(&nodes[1], &email);
    let got = sink.wait_for(1, Duration::from_secs(60));
    assert_eq!(got.len(), 1, "sent after the refusals");
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(sink.messages.lock().unwrap().len(), 1, "sent once");
    assert_eq!(sink.attempts.load(std::sync::atomic::Ordering::SeqCst), 3);
    let m = super::web::mails(&nodes[2]);
    let reset = m.iter().find(|m| m["to"] == email.as_str()).unwrap();
    assert_eq!(reset["status"], "sent", "{reset}");
    assert_eq!(reset["attempts"], 3, "two refusals, then sent: {reset}");
}
