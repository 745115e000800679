//! Issue 15 items 7 and 19: key mails and assigning a license to an email.

use serde_json::json;

use crate::helpers::Server;
use crate::web::Web;

/// The mails sent to `email`, oldest first.
fn mails_to(s: &Server, email: &str) -> Vec<serde_json::Value> {
    crate::web::mails(s)
        .into_iter()
        .filter(|m| m["to"] == email)
        .collect()
}

/// Items 7 and 19: the key is mailed when a license is assigned or transferred
/// (the outbox keeps it masked; the mail carries it), when an admin resends it,
/// and not when the environment's setting is off.
#[test]
fn item07_item19_the_key_is_mailed_on_assignment_transfer_and_resend() {
    let s = Server::start();
    let product = s.product("production", "Mailed Product");
    let ann = s.customer("ann@example.com");
    let bob = s.customer("bob@example.com");
    let (st, l) = s.admin(
        "POST",
        "/production/licenses",
        Some(json!({"product_id": product})),
    );
    assert_eq!(st, 201, "{l}");
    let key = l["key"].as_str().unwrap().to_owned();
    assert!(mails_to(&s, "ann@example.com").is_empty());
    // Assigned: Ann gets the key.
    let assign = |who: &str| {
        let (st, v) = s.admin(
            "POST",
            &format!("/production/licenses/{key}/assign"),
            Some(json!({"customer_id": who})),
        );
        assert_eq!(st, 200, "{v}");
    };
    assign(&ann);
    let m = mails_to(&s, "ann@example.com");
    assert_eq!(m.len(), 1, "{m:?}");
    assert_eq!(m[0]["kind"], "license_key");
    assert!(m[0]["subject"].as_str().unwrap().contains("Mailed Product"));
    assert!(
        m[0]["body"].as_str().unwrap().contains(&key),
        "the mail carries the key"
    );
    assert!(
        !m[0]["outbox_body"]
            .as_str()
            .unwrap_or_default()
            .contains(&key),
        "the outbox masks it"
    );
    // Assigned again to Ann: nothing new. Transferred to Bob: Bob gets it.
    assign(&ann);
    assert_eq!(mails_to(&s, "ann@example.com").len(), 1);
    assign(&bob);
    let m = mails_to(&s, "bob@example.com");
    assert_eq!(m.len(), 1);
    assert!(m[0]["body"]
        .as_str()
        .unwrap()
        .contains("transferred to you"));
    // Resent from the preview and through the API.
    let w = Web::admin(&s);
    let preview = w
        .get(&format!("/admin/licenses/{key}?env=production"))
        .text();
    assert!(preview.contains("id=\"resend-key\""), "{preview}");
    let r = w.submit(
        &format!("/admin/licenses/{key}/resend-key"),
        &[("env", "production")],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let (st, v) = s.admin(
        "POST",
        &format!("/production/licenses/{key}/resend-key"),
        None,
    );
    assert_eq!(
        (st, v["mailed_to"].as_str()),
        (202, Some("bob@example.com")),
        "{v}"
    );
    let m = mails_to(&s, "bob@example.com");
    assert_eq!(m.len(), 3);
    assert!(m[2]["body"].as_str().unwrap().contains("again"));
    let (_, audit) = s.admin(
        "GET",
        &format!("/production/audit?license={key}&action=license.key_mailed"),
        None,
    );
    assert_eq!(audit.as_array().unwrap().len(), 4, "{audit}");
    // An unassigned license has nobody to mail.
    let (_, free) = s.admin(
        "POST",
        "/production/licenses",
        Some(json!({"product_id": product})),
    );
    let free = free["key"].as_str().unwrap();
    assert_eq!(
        s.admin(
            "POST",
            &format!("/production/licenses/{free}/resend-key"),
            None
        )
        .0,
        409
    );
    // Setting off: an assignment mails nothing.
    let (_, mut settings) = s.admin("GET", "/production/settings", None);
    assert_eq!(settings["mail_key_on_assign"], true);
    settings["mail_key_on_assign"] = json!(false);
    assert_eq!(
        s.admin("PUT", "/production/settings", Some(settings)).0,
        200
    );
    let before = crate::web::mails(&s).len();
    let (st, _) = s.admin(
        "POST",
        "/production/licenses",
        Some(json!({"product_id": product, "customer_id": ann})),
    );
    assert_eq!(st, 201);
    assert_eq!(
        crate::web::mails(&s).len(),
        before,
        "no mail with the setting off"
    );
}

/// Item 7: a license assigned to an email with no account makes the customer
/// and mails an invitation (portal form and API); a bad email changes nothing.
#[test]
fn item07_assigning_to_a_new_email_creates_the_customer_and_invites_them() {
    let s = Server::start();
    let product = s.product("production", "Invite Product");
    let (_, free) = s.admin(
        "POST",
        "/production/licenses",
        Some(json!({"product_id": product})),
    );
    let key = free["key"].as_str().unwrap().to_owned();
    let w = Web::admin(&s);
    let edit = w
        .get(&format!("/admin/licenses/{key}/edit?env=production"))
        .text();
    assert!(edit.contains("name=\"customer_email\""), "{edit}");
    let customers = || {
        s.admin("GET", "/customers", None)
            .1
            .as_array()
            .unwrap()
            .len()
    };
    // A malformed email: refused on its field, nobody made.
    let r = w.submit(
        &format!("/admin/licenses/{key}/edit"),
        &[
            ("env", "production"),
            ("customer_email", "not-an-email"),
            ("activation_limit", "3"),
        ],
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("id=\"error-customer_email\""));
    assert_eq!(customers(), 0);
    // A new email: the account is made, invited, the license assigned and its key mailed.
    let r = w.submit(
        &format!("/admin/licenses/{key}/edit"),
        &[
            ("env", "production"),
            ("customer_email", "New.Buyer@Example.com"),
            ("activation_limit", "3"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(customers(), 1);
    let l = s.get_license("production", &key);
    assert_eq!(l["status"], "assigned");
    let m = mails_to(&s, "new.buyer@example.com");
    let kinds: Vec<&str> = m.iter().map(|m| m["kind"].as_str().unwrap()).collect();
    assert!(
        kinds.contains(&"invite") && kinds.contains(&"license_key"),
        "{kinds:?}"
    );
    // The API: an existing email is reused, a new one invited.
    let (_, other) = s.admin(
        "POST",
        "/production/licenses",
        Some(json!({"product_id": product})),
    );
    let other = other["key"].as_str().unwrap().to_owned();
    let assign = |body: serde_json::Value| {
        s.admin(
            "POST",
            &format!("/production/licenses/{other}/assign"),
            Some(body),
        )
    };
    let (st, v) = assign(json!({"customer_email": "new.buyer@example.com"}));
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["customer_id"], l["customer_id"]);
    assert_eq!(customers(), 1);
    let (st, v) = assign(json!({"customer_email": "second@example.com"}));
    assert_eq!(st, 200, "{v}");
    assert_eq!(customers(), 2);
    assert!(mails_to(&s, "second@example.com")
        .iter()
        .any(|m| m["kind"] == "invite"));
    let (st, v) =
        assign(json!({"customer_email": "x@example.com", "customer_id": l["customer_id"]}));
    assert_eq!(
        (st, v["field"].as_str()),
        (400, Some("customer_email")),
        "{v}"
    );
    let (st, v) = assign(json!({"customer_email": "nope"}));
    assert_eq!(
        (st, v["field"].as_str()),
        (400, Some("customer_email")),
        "{v}"
    );
    assert_eq!(customers(), 2);
}
