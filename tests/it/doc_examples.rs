//! The examples in docs/API.md run here as written: the Python webhook receiver
//! (verifying with `standardwebhooks`) and the idempotent create with curl.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::Server;
use crate::hook_receiver::{endpoint, loopback};

/// The fenced block that follows `<!-- example: {name} … -->` in docs/API.md.
fn example(name: &str) -> String {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/API.md")).unwrap();
    let marker = format!("<!-- example: {name} ");
    let at = doc
        .find(&marker)
        .unwrap_or_else(|| panic!("docs/API.md has no example {name}"));
    let rest = &doc[at..];
    let start = rest.find("```").unwrap();
    let body = &rest[start..];
    let first_nl = body.find('\n').unwrap() + 1;
    let end = body[first_nl..].find("\n```").unwrap() + first_nl;
    body[first_nl..end].to_owned()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn the_documented_python_receiver_verifies_a_real_delivery() {
    let s = Server::start_with(loopback());
    let port = free_port();
    let (id, secret) = endpoint(
        &s,
        "production",
        &format!("http://127.0.0.1:{port}/hooks"),
        None,
    );
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("receiver.py");
    std::fs::write(&script, example("webhook-receiver")).unwrap();
    let mut child = Command::new("python3")
        .arg(&script)
        .arg(port.to_string())
        .env("WEBHOOK_SECRET", &secret)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "the documented receiver did not listen"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (st, _) = s.admin("POST", &format!("/production/webhooks/{id}/test"), None);
    assert_eq!(st, 202);
    let mut line = String::new();
    let (tx, rx) = std::sync::mpsc::channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        let _ = BufReader::new(out).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(30));
    // The receiver prints before it answers: it stays up until the log says
    // delivered (killed at once, its 204 could be lost and the delivery retried).
    let line = line.expect("the documented receiver printed the event");
    assert!(
        line.starts_with("msg_") && line.contains("webhook.test production"),
        "{line}"
    );
    // It answered 204, so the delivery log says delivered.
    let mut status = Value::Null;
    for _ in 0..100 {
        status = crate::hook_receiver::deliveries(&s, "production", &id)[0]["status"].clone();
        if status == "delivered" {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status, "delivered");
}

#[test]
fn the_documented_idempotent_create_makes_one_license() {
    let s = Server::start();
    let product = s.product("production", "Curl Product");
    let run = || {
        let out = Command::new("bash")
            .args(["-c", &example("idempotent-create")])
            .env("KEYWARDEN_URL", &s.base)
            .env("TOKEN", crate::helpers::TOKEN)
            .env("PRODUCT_ID", &product)
            .output()
            .expect("bash and curl run the example");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let (a, b) = (run(), run());
    assert!(a["key"].is_string(), "{a}");
    assert_eq!(a, b, "the repeat replays the first answer");
    let (_, list) = s.admin("GET", "/production/licenses", None);
    assert_eq!(list["total"], 1, "{list}");
}
