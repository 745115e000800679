//! The security review (issue 10), item by item over HTTP against the real
//! binary. Each test failed on the code before its fix. Items with unit tests of
//! their own: 5 (store conformance, migration), 7, 8, 9, 12 (tables in src/).

use std::io::{Read, Write};
use std::time::Duration;

use serde_json::{json, Value};

use super::helpers::{activate, call, Opts, Resp, Server, TOKEN};
use super::web::{input_value, link_in, mails, Web};

pub const PW: &str = "customer-password-1";

/// A customer with a portal password.
pub fn customer(s: &Server, email: &str, name: &str) -> String {
    let (st, c) = s.admin(
        "POST",
        "/customers",
        Some(json!({ "email": email, "name": name, "password": PW })),
    );
    assert_eq!(st, 201, "{c}");
    c["id"].as_str().unwrap().to_owned()
}

/// A license of a new product assigned to `customer_id`.
pub fn license_for(s: &Server, customer_id: &str, limit: i64) -> String {
    let product = s.product("production", "Secured Product");
    let (st, l) = s.admin(
        "POST",
        "/production/licenses",
        Some(json!({"product_id": product, "customer_id": customer_id, "activation_limit": limit})),
    );
    assert_eq!(st, 201, "{l}");
    l["key"].as_str().unwrap().to_owned()
}

/// Posts the forgotten-password form with extra request headers.
fn forgot_with(s: &Server, email: &str, headers: &[(&str, &str)]) -> Resp {
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let page = agent.get(&s.url("/portal/forgot")).call().unwrap();
    let cookies: Vec<String> = page
        .all("set-cookie")
        .iter()
        .map(|c| c.split(';').next().unwrap().to_owned())
        .collect();
    let html = page.into_string().unwrap();
    let csrf = input_value(&html, "csrf").unwrap();
    let mut req = agent
        .post(&s.url("/portal/forgot"))
        .set("cookie", &cookies.join("; "));
    for (k, v) in headers {
        req = req.set(k, v);
    }
    match req.send_form(&[("csrf", &csrf), ("email", email)]) {
        Ok(r) => super::helpers::into_resp(r),
        Err(ureq::Error::Status(_, r)) => super::helpers::into_resp(r),
        Err(e) => panic!("{e}"),
    }
}

const SPOOF: &[(&str, &str)] = &[
    ("x-forwarded-host", "attacker.example"),
    ("x-forwarded-proto", "https"),
    ("forwarded", "host=attacker.example;proto=https"),
];

/// Item 1: links in mail come from `server.public_url`, never from a request header.
#[test]
fn item01_mail_links_come_from_configuration_not_request_headers() {
    let s = Server::start_with(Opts::default().env(
        "KEYWARDEN_SERVER__PUBLIC_URL",
        "https://licenses.example.com",
    ));
    customer(&s, "vic@example.com", "Vic Victim");
    assert_eq!(forgot_with(&s, "vic@example.com", SPOOF).status, 200);
    let m = mails(&s);
    let body = m.last().unwrap()["body"].as_str().unwrap().to_owned();
    assert!(!body.contains("attacker"), "{body}");
    let link = link_in(&body, "https://licenses.example.com/portal/password?");
    assert!(link.contains("token="), "{link}");

    // No public_url: the listen address, whatever the headers say.
    let s = Server::start();
    customer(&s, "vic@example.com", "Vic Victim");
    forgot_with(&s, "vic@example.com", SPOOF);
    let body = mails(&s).last().unwrap()["body"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!body.contains("attacker"), "{body}");
    link_in(&body, &format!("{}/portal/password?", s.base));
    // A spoofed X-Forwarded-Proto does not make the session cookie Secure either.
    let w = Web::portal(&s);
    let agent_resp = w.get("/portal/login");
    assert_eq!(agent_resp.status, 200);
    assert!(w
        .set_cookies
        .lock()
        .unwrap()
        .iter()
        .all(|c| !c.contains("Secure")));
}

/// Item 1: start-up refuses a public URL that is not an absolute http(s) URL, naming the key.
#[test]
fn item01_a_bad_public_url_stops_start_up() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_keywarden"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(tempfile::tempdir().unwrap().path())
        .env("KEYWARDEN_SERVER__PUBLIC_URL", "licenses.example.com")
        .env("KEYWARDEN_ADMIN_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("server.public_url"), "{err}");
}

/// Item 2: invented methods and paths do not grow `/metrics`; known series exist at 0.
#[test]
fn item02_metric_labels_are_a_closed_set() {
    let s = Server::start();
    let before = call(ureq::get(&s.url("/metrics")), None).text();
    assert!(
        before.contains(r#"keywarden_store_errors_total{backend="embedded",op="get_license"} 0"#),
        "store error series exist before the first failure"
    );
    assert!(before
        .contains(r#"keywarden_verdicts_total{code="NOT_FOUND",env="staging",op="offline"} 0"#));
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let mut rng = 0x2545f4914f6cdd1du64;
    for i in 0..5000u32 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let method = format!("M{i:05}{:X}", rng % 0xFFFF);
        let path = format!("/{:x}/{}", rng, i % 7);
        let _ = agent.request(&method, &s.url(&path)).call();
    }
    let after = call(ureq::get(&s.url("/metrics")), None).text();
    assert!(
        after.len() < before.len() + 8 * 1024,
        "/metrics grew from {} to {} bytes",
        before.len(),
        after.len()
    );
    assert!(after.contains(r#"method="other""#));
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool is needed (scripts/test installs Debian's prometheus)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(after.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Item 3: the Outbox page shows no usable token; only the recipient's copy has it.
#[test]
fn item03_the_outbox_page_shows_no_usable_token() {
    let s = Server::start();
    let id = s.customer("ivy@example.com");
    let admin = Web::admin(&s);
    let r = admin.submit(
        &format!("/admin/customers/{id}/invite"),
        &[("env", "production")],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let r = admin.submit(
        "/admin/admins",
        &[
            ("env", "production"),
            ("name", "Rita Reader"),
            ("email", "rita@test.local"),
            ("role", "readonly"),
            ("password", "reader-password"),
        ],
    );
    assert_eq!(r.status, 303);
    let ro = Web::new(&s);
    assert_eq!(ro.login("rita@test.local", "reader-password").status, 303);
    let page = ro.get("/admin/outbox").text();
    let m = mails(&s);
    let link = link_in(m[0]["body"].as_str().unwrap(), &s.base);
    let token = link.split("token=").nth(1).unwrap();
    assert!(token.len() > 20);
    assert!(!page.contains(token), "the outbox page shows a live token");
    assert!(!page.contains(&token[8..24]), "not even part of it");
    assert!(page.contains("[masked]"), "{page}");
    assert!(!m[0]["outbox_body"].as_str().unwrap().contains(token));
    // The recipient's link works.
    let path = link.strip_prefix(&s.base).unwrap();
    assert_eq!(Web::portal(&s).get(path).status, 200);
}

/// Item 4: wrong current passwords are limited per account, and sign-in guesses
/// from many addresses lock the account too.
#[test]
fn item04_password_checks_are_limited_per_ip_and_account() {
    let s = Server::start_with(
        Opts::default().env("KEYWARDEN_SERVER__TRUSTED_PROXIES", "[\"127.0.0.1\"]"),
    );
    customer(&s, "pat@example.com", "Pat");
    let w = Web::customer(&s, "pat@example.com", PW);
    let csrf = w.csrf();
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    (0..8)
                        .map(|_| {
                            w.post(
                                "/portal/profile/password",
                                &[
                                    ("csrf", &csrf),
                                    ("current", "wrong-guess-1"),
                                    ("new", "new-password-1"),
                                    ("confirm", "new-password-1"),
                                ],
                            )
                            .status
                        })
                        .collect::<Vec<u16>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let limited = statuses.iter().filter(|s| **s == 429).count();
    let checked = statuses.iter().filter(|s| **s == 400).count();
    assert!(
        statuses.iter().all(|s| matches!(s, 400 | 429)),
        "{statuses:?}"
    );
    assert!(
        limited >= 40,
        "64 guesses, only {limited} refused: {statuses:?}"
    );
    assert!(checked <= 15, "{checked} guesses were checked");

    // One guess each from 40 addresses (a trusted proxy forwards them): the account locks.
    let mut locked = 0;
    for i in 0..40 {
        let ip = format!("198.51.100.{i}");
        let agent = ureq::AgentBuilder::new().redirects(0).build();
        let page = agent.get(&s.url("/portal/login")).call().unwrap();
        let cookies: Vec<String> = page
            .all("set-cookie")
            .iter()
            .map(|c| c.split(';').next().unwrap().to_owned())
            .collect();
        let csrf = input_value(&page.into_string().unwrap(), "csrf").unwrap();
        let r = agent
            .post(&s.url("/portal/login"))
            .set("cookie", &cookies.join("; "))
            .set("x-forwarded-for", &ip)
            .send_form(&[
                ("csrf", &csrf),
                ("email", "PAT@example.com"),
                ("password", "nope-nope"),
                ("next", "/portal"),
            ]);
        if let Err(ureq::Error::Status(429, _)) = r {
            locked += 1;
        }
    }
    assert!(
        locked >= 20,
        "only {locked} of 40 distributed guesses refused"
    );
    // The right password waits too while the account is locked.
    assert_eq!(Web::portal(&s).login("pat@example.com", PW).status, 429);
    // The client API kept answering meanwhile.
    let cid = customer(&s, "other@example.com", "Other");
    let key = license_for(&s, &cid, 3);
    assert_eq!(activate(&s, "production", &key, "box-1")["code"], "VALID");
}

/// Item 5: history leaves the record, is paged, and activation alerts are limited
/// per license and quote the identifier as data.
#[test]
fn item05_history_is_paged_and_alerts_are_limited() {
    let s = Server::start();
    let cid = customer(&s, "al@example.com", "Al Alert");
    let key = license_for(&s, &cid, 50);
    for i in 0..30 {
        assert_eq!(
            activate(&s, "production", &key, &format!("cycle-{i}"))["code"],
            "VALID"
        );
        let (_, v) = s.client(
            "production",
            "deactivate",
            json!({"key": key, "identifier": format!("cycle-{i}")}),
        );
        assert_eq!(v["code"], "DEACTIVATED");
    }
    let (st, page) = s.admin(
        "GET",
        &format!("/production/licenses/{key}/activations?page=2&per_page=10"),
        None,
    );
    assert_eq!(st, 200, "{page}");
    let names: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["identifier"].as_str().unwrap())
        .collect();
    assert_eq!(names.first(), Some(&"cycle-19"), "newest first: {names:?}");
    assert_eq!(names.len(), 10);
    let l = s.get_license("production", &key);
    assert_eq!(l["activations"].as_array().unwrap().len(), 30);
    assert_eq!(l["activations_in_use"], 0);
    // Alerts of one batch share a mail (written a moment after the first of
    // the batch): count the devices they name, until the cap, then once more.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while activation_alerts(&s, "\"cycle-").1 < 5 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(600));
    let (alerts, told) = activation_alerts(&s, "\"cycle-");
    assert_eq!(
        told, 5,
        "alerts per license and hour are capped: {alerts:?}"
    );
    let body = alerts[0]["body"].as_str().unwrap();
    assert!(
        body.contains("\"cycle-0\""),
        "the identifier is quoted: {body}"
    );
}

/// Item 5: a fleet of one owner's licenses activated at once is told to the
/// owner in mails that each list many devices (a mail per batch, not per
/// device), and no device is left out: each is listed or counted.
#[test]
fn item05_a_fleet_activated_at_once_is_a_few_mails_naming_every_device() {
    let s = Server::start();
    let cid = customer(&s, "fleet@example.com", "Fleet Owner");
    let keys: Vec<String> = (0..40).map(|_| license_for(&s, &cid, 2)).collect();
    std::thread::scope(|scope| {
        for chunk in keys.chunks(10) {
            let s = &s;
            scope.spawn(move || {
                for (i, key) in chunk.iter().enumerate() {
                    assert_eq!(
                        activate(s, "production", key, &format!("node-{i}"))["code"],
                        "VALID"
                    );
                }
            });
        }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let (alerts, told) = activation_alerts(&s, "\"node-");
        if told == keys.len() {
            assert!(alerts.iter().all(|m| m["to"] == "fleet@example.com"));
            assert!(alerts.len() <= keys.len());
            break;
        }
        assert!(told < keys.len(), "a device told twice: {alerts:?}");
        assert!(
            std::time::Instant::now() < deadline,
            "{told} told: {alerts:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The activation alerts sent so far, and how many new devices they tell of
/// (listed, their identifiers starting with `listed`, or counted).
fn activation_alerts(s: &Server, listed: &str) -> (Vec<Value>, usize) {
    let alerts: Vec<Value> = mails(s)
        .into_iter()
        .filter(|m| m["kind"] == "activation")
        .collect();
    let told = alerts
        .iter()
        .map(|m| {
            let body = m["body"].as_str().unwrap();
            let more: usize = body
                .lines()
                .filter_map(|l| {
                    l.strip_prefix("- and ")?
                        .strip_suffix(" more")?
                        .parse::<usize>()
                        .ok()
                })
                .sum();
            body.matches(listed).count() + more
        })
        .sum();
    (alerts, told)
}

/// Items 12 and 13: invisible characters in identifiers, and the admin token.
#[test]
fn item12_identifiers_with_bidi_overrides_are_refused() {
    let s = Server::start();
    let key = s.license("production", 3);
    let (st, v) = s.client(
        "production",
        "activate",
        json!({"key": key, "identifier": "invoice\u{202E}fdp.exe"}),
    );
    assert_eq!(st, 400, "{v}");
    assert_eq!(v["code"], "BAD_REQUEST");
    assert_eq!(v["field"], "identifier");
    assert_eq!(s.get_license("production", &key)["activations_in_use"], 0);
}

#[test]
fn item13_short_admin_tokens_are_refused_and_wrong_ones_limited() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_keywarden"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(tempfile::tempdir().unwrap().path())
        .env("KEYWARDEN_ADMIN_TOKEN", "short-token")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("KEYWARDEN_ADMIN_TOKEN") && err.contains("24"),
        "{err}"
    );

    let s = Server::start();
    let mut statuses = Vec::new();
    for i in 0..20 {
        let r = call(
            ureq::get(&s.url("/admin/api/v1/production/licenses")).set(
                "authorization",
                &format!("Bearer wrong-token-{i:02}-xxxxxxxxxxxxxxx"),
            ),
            None,
        );
        statuses.push(r.status);
    }
    assert!(
        statuses.contains(&401) && statuses.contains(&429),
        "{statuses:?}"
    );
    // While the address is locked, even the right token waits.
    assert_eq!(s.admin_raw("GET", "/production/licenses", None).status, 429);
}

/// Item 14: HSTS when the public URL is https; the error page's link works under the CSP.
#[test]
fn item14_hsts_and_a_real_back_link() {
    let s = Server::start_with(Opts::default().env(
        "KEYWARDEN_SERVER__PUBLIC_URL",
        "https://licenses.example.com",
    ));
    let r = call(ureq::get(&s.url("/portal/login")), None);
    assert!(r
        .header("strict-transport-security")
        .is_some_and(|v| v.contains("max-age")));
    let admin = Web::admin(&s);
    assert!(admin
        .set_cookies
        .lock()
        .unwrap()
        .iter()
        .any(|c| c.starts_with("kw_admin=") && c.contains("Secure")));
    let err = admin.get("/admin/customers/not-a-customer?env=production");
    assert_eq!(err.status, 404);
    let html = err.text();
    assert!(!html.contains("javascript:"), "{html}");
    assert!(html.contains("id=\"go-back\" href=\"/\""), "{html}");
    let home = call(
        ureq::AgentBuilder::new()
            .redirects(0)
            .build()
            .get(&s.url("/")),
        None,
    );
    assert_eq!(home.status, 303);
    // Plain http: no HSTS.
    let plain = Server::start();
    let r = call(ureq::get(&plain.url("/portal/login")), None);
    assert!(r.header("strict-transport-security").is_none());
}

/// Sends headers and the first bytes of a large body, then waits for an answer
/// without sending the rest: an answer proves the server decided before reading it.
pub fn early_answer(s: &Server, path: &str, headers: &[(&str, String)], first: &[u8]) -> String {
    let addr = s.base.trim_start_matches("http://");
    let mut tcp = std::net::TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut head = format!("POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 200000000\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    tcp.write_all(head.as_bytes()).unwrap();
    tcp.write_all(first).unwrap();
    let mut buf = [0u8; 4096];
    let n = tcp.read(&mut buf).unwrap_or(0);
    String::from_utf8_lossy(&buf[..n])
        .lines()
        .next()
        .unwrap_or("")
        .to_owned()
}
