//! The customer portal over HTTP against the real binary: invitations and
//! password links, My Licenses and its diagnostics, remote deactivation, signed
//! downloads, profile and notifications, and isolation between customers.

use serde_json::{json, Value};

use super::helpers::{activate, Opts, Server};
use super::web::{input_value, link_in, mails, multipart, Web};

pub const PW: &str = "customer-password-1";

/// A customer with a portal password (the admin API takes one for automation).
pub fn customer(s: &Server, email: &str, name: &str) -> String {
    let (st, c) = s.admin(
        "POST",
        "/customers",
        Some(json!({ "email": email, "name": name, "password": PW })),
    );
    assert_eq!(st, 201, "{c}");
    c["id"].as_str().unwrap().to_owned()
}

fn product(s: &Server, env: &str, name: &str) -> String {
    s.product(env, name)
}

pub fn license(s: &Server, env: &str, product: &str, customer: &str, extra: Value) -> String {
    let mut body = json!({ "product_id": product, "customer_id": customer });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (st, l) = s.admin("POST", &format!("/{env}/licenses"), Some(body));
    assert_eq!(st, 201, "{l}");
    l["key"].as_str().unwrap().to_owned()
}

/// Handles of the licenses listed on a My Licenses page.
fn handles(html: &str) -> Vec<String> {
    html.split("data-handle=\"")
        .skip(1)
        .map(|p| p[..p.find('"').unwrap()].to_owned())
        .collect()
}

/// The handle of `key` as the customer's list shows it (via the masked key).
pub fn handle_of(w: &Web, key: &str) -> String {
    let page = w.get(&format!("/portal/licenses?q={key}")).text();
    let h = handles(&page);
    assert_eq!(h.len(), 1, "{key}: {page}");
    h[0].clone()
}

#[test]
fn invitations_and_password_links_are_single_use() {
    let s = Server::start();
    let (st, c) = s.admin(
        "POST",
        "/customers",
        Some(json!({"email": "ivy@example.com", "name": "Ivy Invite"})),
    );
    assert_eq!(st, 201);
    let id = c["id"].as_str().unwrap();
    // No password yet: nobody can sign in as Ivy.
    assert_eq!(Web::portal(&s).login("ivy@example.com", "").status, 401);
    let admin = Web::admin(&s);
    let r = admin.submit(
        &format!("/admin/customers/{id}/invite"),
        &[("env", "production")],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let m = mails(&s);
    assert_eq!(m.len(), 1);
    assert_eq!(m[0]["to"], "ivy@example.com");
    assert_eq!(m[0]["kind"], "invite");
    let outbox = admin.get("/admin/outbox").text();
    assert!(
        outbox.contains("ivy@example.com") && outbox.contains("invited"),
        "the admin portal lists the outbox"
    );
    let link = link_in(m[0]["body"].as_str().unwrap(), &s.base);
    let path = link.trim_start_matches(&s.base).to_owned();
    let w = Web::portal(&s);
    let page = w.get(&path);
    assert_eq!(page.status, 200, "{}", page.text());
    assert!(page.text().contains("ivy@example.com"));
    let csrf = input_value(&page.text(), "csrf").unwrap();
    let token = super::web::unescape(&input_value(&page.text(), "token").unwrap());
    // Too short, then different, then right.
    let r = w.post(
        "/portal/password",
        &[
            ("csrf", &csrf),
            ("token", &token),
            ("purpose", "invite"),
            ("password", "short"),
            ("confirm", "short"),
        ],
    );
    assert_eq!(r.status, 400);
    let csrf = input_value(&r.text(), "csrf").unwrap();
    let r = w.post(
        "/portal/password",
        &[
            ("csrf", &csrf),
            ("token", &token),
            ("purpose", "invite"),
            ("password", "ivy-password-1"),
            ("confirm", "ivy-password-1"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(
        Web::portal(&s)
            .login("ivy@example.com", "ivy-password-1")
            .status,
        303
    );
    // The same link again: used up.
    let again = Web::portal(&s).get(&path);
    assert_eq!(again.status, 403);
    assert!(again.text().contains("already used"));
    // A tampered token is refused.
    let tampered = path.replace("token=", "token=A");
    assert_eq!(Web::portal(&s).get(&tampered).status, 403);
    // Forgotten password: the same answer for a known and an unknown email; a mail only for the known one.
    for email in ["ivy@example.com", "nobody@example.com"] {
        let w = Web::portal(&s);
        let form = w.get("/portal/forgot");
        let csrf = input_value(&form.text(), "csrf").unwrap();
        let r = w.post("/portal/forgot", &[("csrf", &csrf), ("email", email)]);
        assert_eq!(r.status, 200);
        assert!(r.text().contains("If an account exists"));
    }
    let m = mails(&s);
    assert_eq!(m.len(), 2, "one reset mail, none for the unknown address");
    assert_eq!(m[1]["kind"], "reset");
    let path = link_in(m[1]["body"].as_str().unwrap(), &s.base)
        .trim_start_matches(&s.base)
        .to_owned();
    let signed_in = Web::customer(&s, "ivy@example.com", "ivy-password-1");
    let w = Web::portal(&s);
    let page = w.get(&path);
    let csrf = input_value(&page.text(), "csrf").unwrap();
    let token = super::web::unescape(&input_value(&page.text(), "token").unwrap());
    let r = w.post(
        "/portal/password",
        &[
            ("csrf", &csrf),
            ("token", &token),
            ("purpose", "reset"),
            ("password", "ivy-password-2"),
            ("confirm", "ivy-password-2"),
        ],
    );
    assert_eq!(r.status, 303);
    assert_eq!(
        Web::portal(&s)
            .login("ivy@example.com", "ivy-password-1")
            .status,
        401
    );
    assert_eq!(
        Web::portal(&s)
            .login("ivy@example.com", "ivy-password-2")
            .status,
        303
    );
    assert_eq!(
        signed_in.get("/portal").status,
        303,
        "a reset ends the old sessions"
    );
    // An invitation link is not a reset link.
    let r = Web::portal(&s).get(&path.replace("purpose=reset", "purpose=invite"));
    assert_eq!(r.status, 403);
}

#[test]
fn my_licenses_lists_both_environments_searches_and_explains() {
    let s = Server::start();
    let cid = customer(&s, "mia@example.com", "Mia Mine");
    let pro = product(&s, "production", "Pro Plan");
    let lab = product(&s, "staging", "Lab Edition");
    let full = license(
        &s,
        "production",
        &pro,
        &cid,
        json!({"activation_limit": 1, "feature_flags": {"export": true}}),
    );
    let _soon = license(
        &s,
        "production",
        &pro,
        &cid,
        json!({"expires_at": (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339()}),
    );
    let staged = license(&s, "staging", &lab, &cid, json!({}));
    let paused = license(&s, "production", &pro, &cid, json!({}));
    activate(&s, "production", &full, "laptop-1");
    activate(&s, "production", &paused, "desk-1");
    let (st, _) = s.admin(
        "POST",
        &format!("/production/licenses/{paused}/actions/suspend"),
        None,
    );
    assert_eq!(st, 200);
    let w = Web::customer(&s, "mia@example.com", PW);
    let all = w.get("/portal/licenses").text();
    assert_eq!(handles(&all).len(), 4);
    assert!(
        all.contains("staging") && all.contains("production"),
        "each labelled with its environment"
    );
    assert!(!all.contains(&full), "keys are masked in the list");
    assert!(all.contains(&full[..8]));
    assert!(all.contains("1 / 1"), "activation progress");
    assert!(all.contains("expiry soon") && all.contains("within 7 days"));
    // Search: partial key, product name; status filter.
    assert_eq!(
        handles(
            &w.get(&format!("/portal/licenses?q={}", &staged[7..13]))
                .text()
        )
        .len(),
        1
    );
    assert_eq!(
        handles(&w.get("/portal/licenses?q=lab+edition").text()).len(),
        1
    );
    assert_eq!(
        handles(&w.get("/portal/licenses?status=suspended").text()).len(),
        1
    );
    assert_eq!(
        handles(&w.get("/portal/licenses?q=pro&status=active").text()).len(),
        1
    );
    assert_eq!(w.get("/portal/licenses?status=bogus").status, 400);
    // Details: masked key with a copy button holding the full key; entitlements; diagnostics.
    let h = handle_of(&w, &full);
    assert!(
        !h.contains(&full[..5]),
        "URLs carry opaque handles, not keys"
    );
    let d = w.get(&format!("/portal/licenses/{h}")).text();
    assert!(d.contains(&format!("<span id=\"full-key\" hidden>{full}</span>")));
    assert!(d.contains("data-copy=\"#full-key\""));
    assert!(d.contains("Production") && d.contains("All versions"));
    assert!(d.contains(">export<"));
    assert!(d.contains("id=\"devices-code\">VALID<"));
    assert!(d.contains("id=\"new-device-code\">LIMIT_REACHED<"), "{d}");
    assert!(
        d.contains("Activation limit reached (1 of 1"),
        "the client API's own detail"
    );
    assert!(d.contains("Activations page"));
    let d = w
        .get(&format!("/portal/licenses/{}", handle_of(&w, &paused)))
        .text();
    assert!(d.contains("id=\"devices-code\">SUSPENDED<"));
    assert!(d.contains("License is suspended; contact the vendor"));
    // Dashboard: totals, health, expiring soon, newest.
    let dash = w.get("/portal").text();
    assert!(dash.contains("id=\"total-licenses\">4<"), "{dash}");
    assert!(dash.contains("id=\"active-licenses\">3<"));
    assert!(dash.contains("id=\"expiring-30\">1<"));
    assert!(dash.contains("is suspended") && dash.contains("expires within 7 days"));
    assert!(
        !dash.contains("every device slot in use"),
        "a full one-seat license is normal, not a problem (issue 15 item 3)"
    );
    assert!(dash.contains("id=\"expiring-soon\""));
    assert!(
        dash.contains("Device activated: laptop-1"),
        "recent activity"
    );
}

#[test]
fn deactivation_frees_the_slot_at_once() {
    let s = Server::start();
    let cid = customer(&s, "dan@example.com", "Dan Device");
    let p = product(&s, "production", "Desk App");
    let key = license(&s, "production", &p, &cid, json!({"activation_limit": 1}));
    activate(&s, "production", &key, "old-pc");
    let (_, v) = s.client(
        "production",
        "activate",
        json!({"key": key, "identifier": "new-pc"}),
    );
    assert_eq!(v["code"], "LIMIT_REACHED");
    let w = Web::customer(&s, "dan@example.com", PW);
    let page = w.get("/portal/activations").text();
    assert!(
        page.contains("old-pc") && page.contains("Never"),
        "no heartbeat yet"
    );
    assert!(page.contains("</svg> Hardware"), "a device-type icon");
    let confirm_url = super::web::unescape(
        page.split("href=\"/portal/activations/confirm?")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap(),
    );
    let confirm = w.get(&format!("/portal/activations/confirm?{confirm_url}"));
    assert_eq!(confirm.status, 200);
    assert!(confirm.text().contains("Deactivate old-pc?"));
    let handle = input_value(&confirm.text(), "license").unwrap();
    // Without the CSRF token nothing happens.
    let r = w.post(
        "/portal/activations/deactivate",
        &[("license", &handle), ("identifier", "old-pc")],
    );
    assert_eq!(r.status, 403);
    let r = w.submit(
        "/portal/activations/deactivate",
        &[("license", &handle), ("identifier", "old-pc")],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let after = w.get("/portal/activations").text();
    assert!(
        after.contains("old-pc was deactivated. Its slot is free now"),
        "{after}"
    );
    let (_, v) = s.client(
        "production",
        "activate",
        json!({"key": key, "identifier": "new-pc"}),
    );
    assert_eq!(v["code"], "VALID", "the freed slot is usable at once");
    // Filters; deactivated rows offer no button.
    let act = w.get("/portal/activations?status=active").text();
    assert!(act.contains("new-pc") && !act.contains(">old-pc<"));
    let gone = w.get("/portal/activations?status=deactivated&q=old").text();
    assert!(gone.contains(">old-pc<") && !gone.contains("/portal/activations/confirm?"));
    // Deactivating an already deactivated device is refused.
    let r = w.submit(
        "/portal/activations/deactivate",
        &[("license", &handle), ("identifier", "old-pc")],
    );
    assert_eq!(r.status, 409);
    // The audit names the customer.
    let (_, audit) = s.admin("GET", &format!("/production/audit?license={key}"), None);
    assert!(
        audit.to_string().contains("customer:dan@example.com"),
        "{audit}"
    );
}

#[test]
fn downloads_are_entitled_signed_and_expire() {
    let s = Server::start_with(Opts::default().env("KEYWARDEN_PORTAL__DOWNLOAD_LINK_SECS", "2"));
    let cid = customer(&s, "dora@example.com", "Dora Download");
    let p = product(&s, "production", "Downloadable");
    let other = product(&s, "production", "Not Mine");
    let key = license(&s, "production", &p, &cid, json!({}));
    let admin = Web::admin(&s);
    let upload = |product: &str, version: &str, released: &str, name: &str, bytes: &[u8]| {
        let csrf = admin.csrf();
        let (ct, body) = multipart(
            &[
                ("csrf", &csrf),
                ("env", "production"),
                ("title", name),
                ("version", version),
                ("channel", "stable"),
                ("released", released),
            ],
            (name, bytes),
        );
        let r = admin.post_bytes(&format!("/admin/products/{product}/files"), &ct, &body);
        assert_eq!(r.status, 303, "{}", r.text());
    };
    upload(&p, "1.0", "2026-01-10", "app-1.0.bin", b"version one");
    upload(&p, "2.0", "2026-09-01", "app-2.0.bin", b"version two");
    upload(&other, "1.0", "2026-01-10", "other.bin", b"not yours");
    // Without the token the upload is refused.
    let (ct, body) = multipart(
        &[
            ("env", "production"),
            ("version", "9"),
            ("channel", "stable"),
            ("released", "2026-01-01"),
        ],
        ("x.bin", b"x"),
    );
    assert_eq!(
        admin
            .post_bytes(&format!("/admin/products/{p}/files"), &ct, &body)
            .status,
        403
    );
    let w = Web::customer(&s, "dora@example.com", PW);
    let page = w.get("/portal/downloads").text();
    assert!(page.contains("app-1.0.bin") && page.contains("app-2.0.bin"));
    assert!(!page.contains("other.bin"), "only entitled products");
    let url_of = |page: &str, name: &str| -> String {
        let row = page.split(&format!("data-file=\"{name}\"")).next().unwrap();
        super::web::unescape(
            row[row.rfind("href=\"").unwrap() + 6..]
                .split('"')
                .next()
                .unwrap(),
        )
    };
    let url = url_of(&page, "app-2.0.bin");
    let r = w.get(&url);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"version two");
    assert!(r
        .header("content-disposition")
        .unwrap()
        .contains("app-2.0.bin"));
    // Tampered links are refused.
    let last = url.chars().last().unwrap();
    let flipped = format!(
        "{}{}",
        &url[..url.len() - 1],
        if last == '0' { '1' } else { '0' }
    );
    assert_eq!(w.get(&flipped).status, 403);
    let exp: i64 = url
        .split("exp=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        w.get(&url.replace(&format!("exp={exp}"), &format!("exp={}", exp + 3600)))
            .status,
        403
    );
    // Another customer cannot use Dora's link.
    customer(&s, "eve@example.com", "Eve Else");
    let eve = Web::customer(&s, "eve@example.com", PW);
    assert_eq!(eve.get(&url).status, 403);
    // Expired links are refused with a way back.
    std::thread::sleep(std::time::Duration::from_millis(3100));
    let r = w.get(&url);
    assert_eq!(r.status, 410);
    assert!(r.text().contains("click the file again"));
    // It says how long links work as configured (2 s here), not a fixed time.
    assert!(
        r.text().contains("links work for 2 seconds"),
        "{}",
        r.text()
    );
    // Version eligibility: up to 1.x only.
    let (st, _) = s.admin(
        "PATCH",
        &format!("/production/licenses/{key}"),
        Some(json!({"eligibility": {"kind": "up_to_version", "version": "1.9"}})),
    );
    assert_eq!(st, 200);
    let page = w.get("/portal/downloads").text();
    assert!(
        page.contains("app-1.0.bin") && !page.contains("app-2.0.bin"),
        "{page}"
    );
    let d = w
        .get(&format!("/portal/licenses/{}", handle_of(&w, &key)))
        .text();
    assert!(d.contains("Releases up to version 1.9"));
    // A fresh link to 2.0 made before the change no longer works either.
    let (st, _) = s.admin(
        "PATCH",
        &format!("/production/licenses/{key}"),
        Some(json!({"eligibility": {"kind": "all"}})),
    );
    assert_eq!(st, 200);
    let fresh = url_of(&w.get("/portal/downloads").text(), "app-2.0.bin");
    let (st, _) = s.admin(
        "PATCH",
        &format!("/production/licenses/{key}"),
        Some(json!({"eligibility": {"kind": "released_until", "date": "2026-06-30"}})),
    );
    assert_eq!(st, 200);
    assert_eq!(w.get(&fresh).status, 404);
    // Suspended licenses entitle to nothing.
    activate(&s, "production", &key, "pc");
    let (st, _) = s.admin(
        "POST",
        &format!("/production/licenses/{key}/actions/suspend"),
        None,
    );
    assert_eq!(st, 200);
    let page = w.get("/portal/downloads").text();
    assert!(page.contains("id=\"no-downloads\"") && page.contains("1 of your licenses"));
    // Its device is labelled by what blocks it (issue 15 item 5).
    let devices = w.get("/portal/activations?status=suspended").text();
    assert!(devices.contains(">license suspended</span>"), "{devices}");
}

#[test]
fn customers_never_reach_each_others_data_or_the_admin_portal() {
    let s = Server::start();
    let a = customer(&s, "alice@example.com", "Alice A");
    let b = customer(&s, "bob@example.com", "Bob B");
    let p = product(&s, "production", "Shared Product");
    let ka = license(&s, "production", &p, &a, json!({}));
    let kb = license(&s, "production", &p, &b, json!({}));
    activate(&s, "production", &ka, "alice-pc");
    activate(&s, "production", &kb, "bob-pc");
    let alice = Web::customer(&s, "alice@example.com", PW);
    let bob = Web::customer(&s, "bob@example.com", PW);
    let ha = handle_of(&alice, &ka);
    // Bob sees only his own.
    let list = bob.get("/portal/licenses").text();
    assert!(!list.contains(&ka[..8]) && list.contains(&kb[..8]));
    assert!(!bob.get("/portal/activations").text().contains("alice-pc"));
    assert!(!bob.get("/portal").text().contains(&ka[..8]));
    assert_eq!(
        bob.get(&format!("/portal/licenses?q={ka}"))
            .text()
            .matches("data-handle")
            .count(),
        0
    );
    // Alice's handle, in every route and form field, is not Bob's.
    assert_eq!(bob.get(&format!("/portal/licenses/{ha}")).status, 404);
    assert_eq!(
        bob.get(&format!(
            "/portal/activations/confirm?license={ha}&identifier=alice-pc"
        ))
        .status,
        404
    );
    let r = bob.submit(
        "/portal/activations/deactivate",
        &[("license", &ha), ("identifier", "alice-pc")],
    );
    assert_eq!(r.status, 404);
    // Keys or ids in place of handles do not work either.
    for probe in [ka.as_str(), a.as_str()] {
        assert_eq!(bob.get(&format!("/portal/licenses/{probe}")).status, 404);
        assert_eq!(
            bob.submit(
                "/portal/activations/deactivate",
                &[("license", probe), ("identifier", "alice-pc")]
            )
            .status,
            404
        );
    }
    let (_, v) = s.client(
        "production",
        "validate",
        json!({"key": ka, "identifier": "alice-pc"}),
    );
    assert_eq!(v["code"], "VALID", "Alice's device is untouched");
    // A customer session is no admin session.
    let cookie = bob
        .cookies
        .lock()
        .unwrap()
        .get("kw_portal")
        .cloned()
        .unwrap();
    let sneaky = Web::new(&s);
    sneaky
        .cookies
        .lock()
        .unwrap()
        .insert("kw_admin".into(), cookie);
    for path in [
        "/admin",
        "/admin/licenses",
        "/admin/customers",
        "/admin/outbox",
    ] {
        assert_eq!(sneaky.get(path).status, 303, "{path}");
    }
    assert_eq!(bob.get("/admin").status, 303);
    let session = bob
        .set_cookies
        .lock()
        .unwrap()
        .iter()
        .find(|c| c.starts_with("kw_portal="))
        .cloned()
        .unwrap();
    assert!(
        session.contains("Path=/portal")
            && session.contains("HttpOnly")
            && session.contains("SameSite=Strict")
    );
    // And an admin session is no customer session.
    let admin = Web::admin(&s);
    let cookie = admin
        .cookies
        .lock()
        .unwrap()
        .get("kw_admin")
        .cloned()
        .unwrap();
    let other = Web::portal(&s);
    other
        .cookies
        .lock()
        .unwrap()
        .insert("kw_portal".into(), cookie);
    assert_eq!(other.get("/portal").status, 303);
    // Keys never appear in full in any log line.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let logs = s.logs();
    for k in [&ka, &kb] {
        assert!(!logs.contains(k.as_str()), "a full key in the logs");
    }
}

#[test]
fn profile_timezone_password_and_notification_preferences() {
    let s = Server::start_with(Opts::default().env("KEYWARDEN_MAIL__REMINDER_INTERVAL_SECS", "1"));
    let cid = customer(&s, "tara@example.com", "Tara Zone");
    let quiet = customer(&s, "quinn@example.com", "Quinn Quiet");
    let p = product(&s, "production", "Notified");
    let w = Web::customer(&s, "tara@example.com", PW);
    let other_session = Web::customer(&s, "tara@example.com", PW);
    let page = w.get("/portal/profile").text();
    assert!(page.contains("UTC") && page.contains("readonly"));
    let r = w.submit(
        "/portal/profile",
        &[
            ("name", "Tara Zoned"),
            ("timezone", "Europe/Berlin"),
            ("notify_expiry", "on"),
            ("notify_activations", "on"),
        ],
    );
    assert_eq!(r.status, 303);
    let r = w.submit(
        "/portal/profile",
        &[("name", ""), ("timezone", "Mars/Base")],
    );
    assert_eq!(r.status, 400);
    let page = w.get("/portal/profile").text();
    assert!(
        page.contains("Tara Zoned") && page.contains(" CET"),
        "dates in the chosen zone"
    );
    // The quiet customer turns every notification off.
    let q = Web::customer(&s, "quinn@example.com", PW);
    let r = q.submit(
        "/portal/profile",
        &[("name", "Quinn Quiet"), ("timezone", "UTC")],
    );
    assert_eq!(r.status, 303);
    // Activation alerts go only to those who want them.
    let kt = license(
        &s,
        "production",
        &p,
        &cid,
        json!({"expires_at": (chrono::Utc::now() + chrono::Duration::days(5)).to_rfc3339()}),
    );
    let kq = license(
        &s,
        "production",
        &p,
        &quiet,
        json!({"expires_at": (chrono::Utc::now() + chrono::Duration::days(5)).to_rfc3339()}),
    );
    activate(&s, "production", &kt, "tara-pc");
    activate(&s, "production", &kt, "tara-pc"); // idempotent: no second alert
    activate(&s, "production", &kq, "quinn-pc");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let (alerts, reminders) = loop {
        let m = mails(&s);
        let alerts: Vec<Value> = m
            .iter()
            .filter(|m| m["kind"] == "activation")
            .cloned()
            .collect();
        let reminders: Vec<Value> = m
            .iter()
            .filter(|m| m["kind"] == "expiry")
            .cloned()
            .collect();
        if !alerts.is_empty() && !reminders.is_empty() {
            break (alerts, reminders);
        }
        assert!(std::time::Instant::now() < deadline, "mails: {m:?}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let m = mails(&s);
    assert_eq!(
        m.iter().filter(|m| m["kind"] == "activation").count(),
        1,
        "{m:?}"
    );
    assert_eq!(alerts[0]["to"], "tara@example.com");
    assert!(alerts[0]["body"].as_str().unwrap().contains("tara-pc"));
    assert_eq!(
        m.iter().filter(|m| m["kind"] == "expiry").count(),
        1,
        "once, and not to Quinn: {m:?}"
    );
    assert_eq!(reminders[0]["to"], "tara@example.com");
    assert!(reminders[0]["subject"].as_str().unwrap().contains("7 days"));
    assert!(
        reminders[0]["body"].as_str().unwrap().contains("CET"),
        "in her timezone"
    );
    assert!(
        !reminders[0]["body"].as_str().unwrap().contains(&kt),
        "masked key"
    );
    // Password change: the current one is required; other sessions end.
    let r = w.submit(
        "/portal/profile/password",
        &[
            ("current", "wrong"),
            ("new", "tara-password-2"),
            ("confirm", "tara-password-2"),
        ],
    );
    assert_eq!(r.status, 400);
    assert!(r.text().contains("id=\"error-current\""));
    let r = w.submit(
        "/portal/profile/password",
        &[
            ("current", PW),
            ("new", "tara-password-2"),
            ("confirm", "tara-password-3"),
        ],
    );
    assert_eq!(r.status, 400);
    let r = w.submit(
        "/portal/profile/password",
        &[
            ("current", PW),
            ("new", "tara-password-2"),
            ("confirm", "tara-password-2"),
        ],
    );
    assert_eq!(r.status, 303);
    assert_eq!(w.get("/portal").status, 200, "this session stays");
    assert_eq!(
        other_session.get("/portal").status,
        303,
        "the other one ended"
    );
    assert_eq!(Web::portal(&s).login("tara@example.com", PW).status, 401);
    assert_eq!(
        Web::portal(&s)
            .login("tara@example.com", "tara-password-2")
            .status,
        303
    );
    // Sign-out ends the session.
    let r = w.submit("/portal/logout", &[]);
    assert_eq!(r.status, 303);
    assert_eq!(w.get("/portal").status, 303);
}

/// A real SMTP server (Python's standard `smtpd`) that appends every message to a file.
struct SmtpSink {
    child: std::process::Child,
    port: u16,
    file: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn smtp_sink() -> SmtpSink {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("received.txt");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let script = r#"
import asyncore, smtpd, sys, warnings
warnings.simplefilter("ignore")
class Sink(smtpd.SMTPServer):
    def process_message(self, peer, mailfrom, rcpttos, data, **kw):
        with open(sys.argv[2], "a") as f:
            f.write("TO: " + ",".join(rcpttos) + "\n")
            f.write(data.decode() if isinstance(data, bytes) else data)
            f.write("\n--END--\n")
Sink(("127.0.0.1", int(sys.argv[1])), None, decode_data=False)
print("ready", flush=True)
asyncore.loop()
"#;
    let mut child = std::process::Command::new("python3")
        .args(["-c", script, &port.to_string(), file.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("python3 runs the SMTP sink");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(
        line.trim(),
        "ready",
        "the SMTP sink did not start (Python 3.11's smtpd)"
    );
    SmtpSink {
        child,
        port,
        file,
        _dir: dir,
    }
}

#[test]
fn mail_is_delivered_over_smtp_when_configured() {
    let sink = smtp_sink();
    let s = Server::start_with(Opts::default().env(
        "KEYWARDEN_MAIL__SMTP_URL",
        &format!("smtp://127.0.0.1:{}", sink.port),
    ));
    customer(&s, "sam@example.com", "Sam Smtp");
    let w = Web::portal(&s);
    let form = w.get("/portal/forgot");
    let csrf = input_value(&form.text(), "csrf").unwrap();
    assert_eq!(
        w.post(
            "/portal/forgot",
            &[("csrf", &csrf), ("email", "sam@example.com")]
        )
        .status,
        200
    );
    let m = mails(&s);
    assert_eq!(m.len(), 1);
    assert_eq!(m[0]["delivery"], "sent", "{:?}", m[0]);
    let got = std::fs::read_to_string(&sink.file).unwrap();
    assert!(got.contains("TO: sam@example.com"), "{got}");
    assert!(
        got.contains("Subject: Reset your license portal password"),
        "{got}"
    );
    assert!(got.contains("/portal/password?purpose"), "{got}"); // quoted-printable body
}
