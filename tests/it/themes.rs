//! Issue 15 item 13: light/dark themes in both portals (saved per person,
//! applied only on Save), and the security-alerts toggle that an admin can
//! make mandatory.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::customer_portal::{customer, license, PW};
use crate::helpers::{activate, Server};
use crate::web::{mails, Web};

fn theme_of(html: &str) -> String {
    let at = html.find("data-theme=\"").expect("a data-theme") + 12;
    html[at..at + html[at..].find('"').unwrap()].to_owned()
}

fn alerts_to(s: &Server, email: &str) -> usize {
    mails(s)
        .iter()
        .filter(|m| {
            m["to"] == email && m["subject"] == "A new device was activated on your license"
        })
        .count()
}

fn wait_alerts(s: &Server, email: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while alerts_to(s, email) < n {
        assert!(
            Instant::now() < deadline,
            "{n} alerts to {email} never came"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn each_person_keeps_a_theme_applied_only_on_save() {
    let s = Server::start();
    customer(&s, "themed@example.com", "Themed");
    let c = Web::customer(&s, "themed@example.com", PW);
    assert_eq!(theme_of(&c.get("/portal").text()), "system");
    let form = |theme: &'static str| {
        vec![
            ("name", "Themed"),
            ("timezone", "UTC"),
            ("notify_expiry", "on"),
            ("notify_activations", "on"),
            ("theme", theme),
        ]
    };
    let bad = c.submit("/portal/profile", &form("purple"));
    assert_eq!(bad.status, 400);
    assert_eq!(
        theme_of(&c.get("/portal/licenses").text()),
        "system",
        "a refused form changes nothing"
    );
    let ok = c.submit("/portal/profile", &form("dark"));
    assert_eq!(ok.status, 303, "{}", ok.text());
    for page in ["/portal", "/portal/licenses", "/portal/profile"] {
        assert_eq!(theme_of(&c.get(page).text()), "dark", "{page}");
    }
    // Admins choose their own, whatever their role; a forged form changes nothing.
    let a = Web::admin(&s);
    assert_eq!(theme_of(&a.get("/admin").text()), "system");
    let forged = a.post(
        "/admin/appearance?env=production",
        &[("theme", "dark"), ("csrf", "x")],
    );
    assert_eq!(forged.status, 403);
    assert_eq!(theme_of(&a.get("/admin").text()), "system");
    let r = a.submit("/admin/appearance?env=production", &[("theme", "light")]);
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(theme_of(&a.get("/admin/licenses").text()), "light");
    assert_eq!(
        a.submit("/admin/appearance", &[("theme", "neon")]).status,
        400
    );
    // The stylesheet has the dark palette for both the choice and the system's.
    let css = a.get("/static/portal.css").text();
    assert!(
        css.contains(":root[data-theme=\"dark\"]") && css.contains("prefers-color-scheme: dark")
    );
}

#[test]
fn security_alerts_follow_the_toggle_unless_an_admin_makes_them_mandatory() {
    let s = Server::start();
    let pid = s.product("production", "Alerted");
    let cid = customer(&s, "quiet@example.com", "Quiet");
    let key = license(&s, "production", &pid, &cid, json!({"activation_limit": 5}));
    let c = Web::customer(&s, "quiet@example.com", PW);
    let r = c.submit(
        "/portal/profile",
        &[
            ("name", "Quiet"),
            ("timezone", "UTC"),
            ("notify_expiry", "on"),
            ("theme", "system"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(!c
        .get("/portal/profile")
        .text()
        .contains("id=\"alerts-mandatory\""));
    activate(&s, "production", &key, "first-box");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        alerts_to(&s, "quiet@example.com"),
        0,
        "turned off: no alert"
    );
    // The admin makes them mandatory: the next activation alerts anyway.
    let (_, mut settings) = s.admin("GET", "/production/settings", None);
    settings["security_alerts_mandatory"] = json!(true);
    let (st, v) = s.admin("PUT", "/production/settings", Some(settings));
    assert_eq!(st, 200, "{v}");
    activate(&s, "production", &key, "second-box");
    wait_alerts(&s, "quiet@example.com", 1);
    assert!(c
        .get("/portal/profile")
        .text()
        .contains("id=\"alerts-mandatory\""));
}
