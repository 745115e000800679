//! Issue 14 part 2: the admin portal's API Keys page, over HTTP with a signed-in admin.

use crate::api_keys::with_token;
use crate::helpers::Server;

/// The API Keys page: a full admin makes a key (the token shown once, never
/// listed), it works against the API, and revoking it from the page ends it.
#[test]
fn the_api_keys_page_makes_shows_once_and_revokes() {
    let s = Server::start();
    let w = crate::web::Web::admin(&s);
    let r = w.submit(
        "/admin/api-keys",
        &[
            ("env", "production"),
            ("name", "Web shop"),
            ("environment", "production"),
            ("perm:licenses:read", "on"),
            ("perm:licenses:write", "on"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let html = r.text();
    let start = html.find("id=\"key-value\">").expect("the token is shown") + 15;
    let token: String = html[start..].chars().take_while(|c| *c != '<').collect();
    assert!(token.starts_with("kw_live_"), "{token}");
    assert!(html.contains("licenses:read, licenses:write"), "{html}");
    assert_eq!(
        with_token(&s, &token, "GET", "/production/licenses", None).status,
        200
    );
    assert_eq!(
        with_token(&s, &token, "GET", "/customers", None).status,
        403
    );
    // Listed again: never the token.
    let page = w.get("/admin/api-keys?env=production").text();
    assert!(
        !page.contains(&token) && page.contains(&token[..12]),
        "{page}"
    );
    // A form without permissions is refused with the field named; nothing made.
    let r = w.submit(
        "/admin/api-keys",
        &[("env", "production"), ("name", "Nothing")],
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("at least one permission"));
    assert_eq!(
        s.admin("GET", "/api-keys", None)
            .1
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // A forged form (no CSRF token) changes nothing.
    let id = s.admin("GET", "/api-keys", None).1[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = w.post(
        &format!("/admin/api-keys/{id}/revoke"),
        &[("env", "production")],
    );
    assert!(r.status >= 400, "{}", r.status);
    assert_eq!(s.admin("GET", "/api-keys", None).1[0]["status"], "active");
    let r = w.submit(
        &format!("/admin/api-keys/{id}/revoke"),
        &[("env", "production")],
    );
    assert!(r.status < 400, "{}", r.text());
    assert_eq!(s.admin("GET", "/api-keys", None).1[0]["status"], "revoked");
    assert_eq!(
        with_token(&s, &token, "GET", "/production/licenses", None).status,
        401
    );
    // The audit log names the admin who made and revoked it.
    let audit = s
        .admin("GET", "/production/audit?action=api_key.revoked", None)
        .1
        .to_string();
    assert!(
        audit.contains("api_key.revoked") && audit.contains("Web shop"),
        "{audit}"
    );
}
