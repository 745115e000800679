//! The admin portal's Webhooks pages over HTTP with a signed-in admin and a real
//! receiver: add an endpoint (secret shown once), send a test event, read the
//! delivery log, retry, edit, rotate, disable and delete; forged forms change nothing.

use crate::helpers::Server;
use crate::hook_receiver::{deliveries, loopback, Receiver};
use crate::web::Web;

fn shown(html: &str, id: &str) -> String {
    let at = html
        .find(&format!("id=\"{id}\">"))
        .unwrap_or_else(|| panic!("#{id} on the page"))
        + id.len()
        + 6;
    html[at..].chars().take_while(|c| *c != '<').collect()
}

#[test]
fn the_webhooks_pages_manage_an_endpoint_and_show_its_deliveries() {
    let rx = Receiver::start();
    let s = Server::start_with(loopback());
    let w = Web::admin(&s);
    assert!(w
        .get("/admin/licenses?env=production")
        .text()
        .contains("href=\"/admin/webhooks?env=production\""));
    // Invalid: the field is named and nothing is made.
    let r = w.submit(
        "/admin/webhooks",
        &[("env", "production"), ("url", "ftp://nope")],
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("use https://"), "{}", r.text());
    assert_eq!(
        s.admin("GET", "/production/webhooks", None).1,
        serde_json::json!([])
    );
    // Made: the secret is shown once.
    let url = rx.url("/portal-hook");
    let r = w.submit(
        "/admin/webhooks",
        &[
            ("env", "production"),
            ("url", &url),
            ("description", "CRM sync"),
            ("event:webhook.test", "on"),
            ("event:product.created", "on"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let secret = shown(&r.text(), "secret-value");
    assert!(secret.starts_with("whsec_"), "{secret}");
    rx.trust(&[&secret]);
    let list = s.admin("GET", "/production/webhooks", None).1;
    let id = list[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(list[0]["description"], "CRM sync");
    assert_eq!(
        list[0]["events"],
        serde_json::json!(["product.created", "webhook.test"])
    );
    let page = w.get("/admin/webhooks?env=production").text();
    assert!(page.contains(&url) && !page.contains(&secret), "{page}");
    // Send a test event from the endpoint's page; the log shows it delivered.
    let r = w.submit(
        &format!("/admin/webhooks/{id}/test"),
        &[("env", "production")],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let rows = rx.wait("the test event", 30, |r| !r.is_empty());
    assert_eq!(
        (&rows[0]["type"], &rows[0]["verified"]),
        (&"webhook.test".into(), &true.into())
    );
    let mut detail = String::new();
    for _ in 0..100 {
        detail = w
            .get(&format!("/admin/webhooks/{id}?env=production"))
            .text();
        if detail.contains("badge delivered") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        detail.contains("badge delivered") && detail.contains(">200<"),
        "{detail}"
    );
    // Retry from the log: the receiver gets the same message again.
    let delivery = deliveries(&s, "production", &id)[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = w.submit(
        &format!("/admin/webhooks/{id}/deliveries/{delivery}/retry"),
        &[("env", "production")],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let rows = rx.wait("the retried delivery", 30, |r| r.len() == 2);
    assert_eq!(rows[1]["id"], rows[0]["id"]);
    // Edit: description and events, saved.
    let r = w.submit(
        &format!("/admin/webhooks/{id}"),
        &[
            ("env", "production"),
            ("url", &url),
            ("description", "Support desk"),
            ("enabled", "on"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let e = s
        .admin("GET", &format!("/production/webhooks/{id}"), None)
        .1;
    assert_eq!(
        (e["description"].as_str(), e["events"].clone()),
        (Some("Support desk"), serde_json::json!([]))
    );
    // Rotate: a new secret shown once, the old one still signing.
    let r = w.submit(
        &format!("/admin/webhooks/{id}/rotate"),
        &[("env", "production")],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let new = shown(&r.text(), "secret-value");
    assert!(new.starts_with("whsec_") && new != secret);
    assert_eq!(
        s.admin("GET", &format!("/production/webhooks/{id}"), None)
            .1["signing_secrets"],
        2
    );
    // A forged form (no CSRF token) changes nothing.
    let r = w.post(
        &format!("/admin/webhooks/{id}/toggle"),
        &[("env", "production"), ("enabled", "false")],
    );
    assert!(r.status >= 400, "{}", r.status);
    assert_eq!(
        s.admin("GET", &format!("/production/webhooks/{id}"), None)
            .1["enabled"],
        true
    );
    let r = w.submit(
        &format!("/admin/webhooks/{id}/toggle"),
        &[("env", "production"), ("enabled", "false")],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(
        s.admin("GET", &format!("/production/webhooks/{id}"), None)
            .1["enabled"],
        false
    );
    assert!(w
        .get(&format!("/admin/webhooks/{id}?env=production"))
        .text()
        .contains("disabled by an admin"));
    // The wrong environment does not find it; delete does.
    assert_eq!(
        w.get(&format!("/admin/webhooks/{id}?env=staging")).status,
        404
    );
    let r = w.submit(
        &format!("/admin/webhooks/{id}/delete"),
        &[("env", "production")],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(
        s.admin("GET", &format!("/production/webhooks/{id}"), None)
            .0,
        404
    );
    // The audit log names the admin.
    let audit = s
        .admin("GET", "/production/audit?action=webhook.deleted", None)
        .1
        .to_string();
    assert!(audit.contains(crate::helpers::ADMIN_EMAIL), "{audit}");
}
