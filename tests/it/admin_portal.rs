//! The admin portal over HTTP against the real binary: sign-in, sessions, CSRF,
//! roles, the License Keys page (search, filters, sort, paging, export), forms,
//! actions and their refusals, jobs, settings, admins and the code samples.

use serde_json::json;

use super::helpers::{activate, Opts, Server, ADMIN_EMAIL, ADMIN_PASSWORD, TOKEN};
use super::web::{input_value, unescape, Web};

fn status_of(s: &Server, key: &str) -> String {
    s.get_license("production", key)["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Creates a customer with a given name through the admin API.
fn named_customer(s: &Server, email: &str, name: &str) -> String {
    let (st, c) = s.admin(
        "POST",
        "/customers",
        Some(json!({ "email": email, "name": name })),
    );
    assert_eq!(st, 201, "{c}");
    c["id"].as_str().unwrap().to_owned()
}

fn new_license(
    s: &Server,
    product: &str,
    customer: Option<&str>,
    extra: serde_json::Value,
) -> String {
    let mut body = json!({ "product_id": product });
    if let Some(c) = customer {
        body["customer_id"] = json!(c);
    }
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (st, l) = s.admin("POST", "/production/licenses", Some(body));
    assert_eq!(st, 201, "{l}");
    l["key"].as_str().unwrap().to_owned()
}

#[test]
fn sign_in_session_cookie_and_sign_out() {
    let s = Server::start();
    let w = Web::new(&s);
    // No session: every page sends the browser to sign in, remembering where it was.
    let r = w.get("/admin/licenses?status=active");
    assert_eq!(r.status, 303);
    assert_eq!(
        r.header("location"),
        Some("/admin/login?next=%2Fadmin%2Flicenses%3Fstatus%3Dactive")
    );
    // Wrong password: the form again, with a message and the email kept.
    let r = w.login(ADMIN_EMAIL, "not-the-password");
    assert_eq!(r.status, 401);
    assert!(r.text().contains("Wrong email or password"));
    assert!(r.text().contains(ADMIN_EMAIL));
    let r = w.login("nobody@test.local", ADMIN_PASSWORD);
    assert_eq!(r.status, 401);
    // Right password: a session cookie that scripts cannot read and other sites cannot send.
    let r = w.login(ADMIN_EMAIL, ADMIN_PASSWORD);
    assert_eq!(r.status, 303);
    let set = w.set_cookies.lock().unwrap().clone();
    let session = set
        .iter()
        .find(|c| c.starts_with("kw_admin="))
        .expect("session cookie");
    assert!(session.contains("HttpOnly"), "{session}");
    assert!(session.contains("SameSite=Strict"), "{session}");
    assert!(session.contains("Path=/admin"), "{session}");
    assert!(!session.contains("Secure"), "plain HTTP here: {session}");
    let page = w.get("/admin/licenses");
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert!(page
        .header("content-security-policy")
        .is_some_and(|c| c.contains("frame-ancestors 'none'")));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    for page in [
        "/admin",
        "/admin/licenses",
        "/admin/products",
        "/admin/customers",
        "/admin/generators",
        "/admin/jobs",
        "/admin/activations",
        "/admin/audit",
        "/admin/settings",
        "/admin/admins",
        "/admin/licenses/new",
        "/admin?env=staging",
    ] {
        let r = w.get(page);
        assert_eq!(r.status, 200, "{page}: {}", r.text());
        assert!(r.text().contains("Sign out"), "{page}");
    }
    // Sign out ends the session server-side: the same cookie no longer works.
    let old = w.cookies.lock().unwrap().get("kw_admin").cloned().unwrap();
    let r = w.submit("/admin/logout", &[]);
    assert_eq!(r.status, 303);
    let replay = Web::new(&s);
    replay
        .cookies
        .lock()
        .unwrap()
        .insert("kw_admin".into(), old);
    assert_eq!(replay.get("/admin").status, 303);
    // A forged or unknown cookie is no session either.
    let forged = Web::new(&s);
    forged
        .cookies
        .lock()
        .unwrap()
        .insert("kw_admin".into(), "forged".into());
    assert_eq!(forged.get("/admin").status, 303);
}

#[test]
fn failed_sign_ins_are_limited_per_ip() {
    let s = Server::start_with(
        Opts::default()
            .env("KEYWARDEN_LIMITS__LOGIN_PER_MINUTE", "1")
            .env("KEYWARDEN_LIMITS__LOGIN_BURST", "3"),
    );
    let w = Web::new(&s);
    let mut codes = Vec::new();
    for _ in 0..5 {
        codes.push(w.login(ADMIN_EMAIL, "wrong-password").status);
    }
    assert_eq!(&codes[..3], &[401, 401, 401], "{codes:?}");
    assert_eq!(codes[3], 429, "{codes:?}");
    // Locked out: even the right password waits, so guessing gains nothing.
    let r = w.login(ADMIN_EMAIL, ADMIN_PASSWORD);
    assert_eq!(r.status, 429);
    assert!(r.header("retry-after").is_some());
    let metrics = ureq::get(&s.url("/metrics"))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(
        metrics.contains("keywarden_rate_limited_total{scope=\"login\"}"),
        "login refusals are counted"
    );
}

#[test]
fn forms_without_the_csrf_token_change_nothing() {
    let s = Server::start();
    let key = s.license("production", 3);
    let w = Web::admin(&s);
    for form in [
        vec![("env", "production")],
        vec![("env", "production"), ("csrf", "")],
        vec![("env", "production"), ("csrf", "not-the-token")],
    ] {
        let r = w.post(&format!("/admin/licenses/{key}/do/revoke"), &form);
        assert_eq!(r.status, 403, "{}", r.text());
        assert!(r.text().contains("CSRF"));
        assert_eq!(status_of(&s, &key), "assigned");
    }
    // Another session's token is not this session's.
    let other = Web::admin(&s);
    let foreign = other.csrf();
    let r = w.post(
        &format!("/admin/licenses/{key}/do/revoke"),
        &[("env", "production"), ("csrf", &foreign)],
    );
    assert_eq!(r.status, 403);
    assert_eq!(status_of(&s, &key), "assigned");
    // The sign-in form has its own token.
    let fresh = Web::new(&s);
    let r = fresh.post(
        "/admin/login",
        &[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)],
    );
    assert_eq!(r.status, 403);
    // Sign-out needs it too.
    assert_eq!(w.post("/admin/logout", &[]).status, 403);
    assert_eq!(w.get("/admin").status, 200, "still signed in");
    // With the token, the same post works.
    let r = w.submit(
        &format!("/admin/licenses/{key}/do/revoke"),
        &[("env", "production")],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(status_of(&s, &key), "revoked");
}

#[test]
fn a_read_only_admin_sees_everything_and_changes_nothing() {
    let s = Server::start();
    let key = s.license("production", 3);
    let full = Web::admin(&s);
    let r = full.submit(
        "/admin/admins",
        &[
            ("env", "production"),
            ("name", "Rita Reader"),
            ("email", "rita@test.local"),
            ("role", "readonly"),
            ("password", "reader-password"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let ro = Web::new(&s);
    assert_eq!(ro.login("rita@test.local", "reader-password").status, 303);
    let page = ro.get("/admin/licenses");
    assert_eq!(page.status, 200);
    assert!(page.text().contains(&key));
    assert!(page.text().contains("read-only"));
    assert!(
        !page.text().contains("/confirm/revoke"),
        "writes are not offered"
    );
    let preview = ro.get(&format!("/admin/licenses/{key}"));
    assert_eq!(preview.status, 200);
    // Every write is refused on the server, whatever the page showed.
    let product = s.product("production", "RO Product");
    let writes: Vec<(String, Vec<(&str, String)>)> = vec![
        (format!("/admin/licenses/{key}/do/revoke"), vec![]),
        (format!("/admin/licenses/{key}/do/delete"), vec![]),
        (
            format!("/admin/licenses/{key}/edit"),
            vec![("activation_limit", "9".into())],
        ),
        (
            "/admin/licenses/new".into(),
            vec![("product_id", product.clone())],
        ),
        ("/admin/products".into(), vec![("name", "Nope".into())]),
        (
            "/admin/customers".into(),
            vec![("name", "N"), ("email", "n@x.io")]
                .into_iter()
                .map(|(k, v)| (k, v.to_string()))
                .collect(),
        ),
        (
            "/admin/settings".into(),
            vec![("grace_period_days", "9".into())],
        ),
        ("/admin/token/rotate".into(), vec![]),
        (
            "/admin/admins".into(),
            vec![
                ("name", "X".into()),
                ("email", "x@x.io".into()),
                ("role", "full".into()),
                ("password", "password-123".into()),
            ],
        ),
    ];
    for (path, fields) in writes {
        let mut f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        f.push(("env", "production"));
        let r = ro.submit(&path, &f);
        assert_eq!(r.status, 403, "{path}: {}", r.text());
        assert!(r.text().contains("read-only"), "{path}");
    }
    assert_eq!(status_of(&s, &key), "assigned");
    let l = s.get_license("production", &key);
    assert_eq!(l["activation_limit"], 3);
    let (_, products) = s.admin("GET", "/production/products", None);
    assert!(!products.to_string().contains("Nope"));
    // The API token still works: it was not rotated.
    let (st, _) = s.admin("GET", "/production/products", None);
    assert_eq!(st, 200);
}

#[test]
fn license_keys_search_filters_sort_paging_and_export() {
    let s = Server::start();
    let pro = s.product("production", "Pro Plan");
    let basic = s.product("production", "Basic Tier");
    let john = named_customer(&s, "john@example.com", "John Smith");
    let ann = named_customer(&s, "ann@other.org", "Ann Jones");
    let jane = named_customer(&s, "jane@example.com", "Jane Roe");
    let k_john = new_license(
        &s,
        &pro,
        Some(&john),
        json!({"expires_at": "2031-01-01T00:00:00Z"}),
    );
    let k_ann = new_license(
        &s,
        &basic,
        Some(&ann),
        json!({"expires_at": "2029-01-01T00:00:00Z"}),
    );
    let k_jane = new_license(&s, &basic, Some(&jane), json!({}));
    let k_free = new_license(&s, &pro, None, json!({}));
    activate(&s, "production", &k_john, "dev-1");
    // A paused license must be findable under "inactive".
    let k_paused = new_license(&s, &basic, Some(&ann), json!({}));
    activate(&s, "production", &k_paused, "dev-2");
    let (st, _) = s.admin(
        "POST",
        &format!("/production/licenses/{k_paused}/actions/inactivate"),
        None,
    );
    assert_eq!(st, 200);
    let w = Web::admin(&s);
    let keys_in = |path: &str| -> Vec<String> {
        let r = w.get(path);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        let html = r.text();
        let mut out = Vec::new();
        for part in html.split("<tr data-key=\"").skip(1) {
            out.push(part[..part.find('"').unwrap()].to_owned());
        }
        out
    };
    // The spec's search examples.
    let partial = &k_john[6..14];
    assert_eq!(
        keys_in(&format!("/admin/licenses?q={partial}")),
        vec![k_john.clone()]
    );
    assert_eq!(
        keys_in("/admin/licenses?q=john%40example.com"),
        vec![k_john.clone()]
    );
    let mut pro_plan = keys_in("/admin/licenses?q=Pro+Plan");
    pro_plan.sort();
    let mut want = vec![k_john.clone(), k_free.clone()];
    want.sort();
    assert_eq!(pro_plan, want);
    let mut domain = keys_in("/admin/licenses?q=example.com");
    domain.sort();
    let mut want = vec![k_john.clone(), k_jane.clone()];
    want.sort();
    assert_eq!(domain, want);
    assert_eq!(
        keys_in("/admin/licenses?q=Ann+Jones").len(),
        2,
        "customer name"
    );
    // Filters combine with each other and with search.
    assert_eq!(
        keys_in(&format!("/admin/licenses?status=active&product_id={pro}")),
        vec![k_john.clone()]
    );
    assert_eq!(
        keys_in(&format!(
            "/admin/licenses?status=available&product_id={pro}"
        )),
        vec![k_free.clone()]
    );
    assert_eq!(
        keys_in("/admin/licenses?status=inactive"),
        vec![k_paused.clone()]
    );
    assert!(keys_in(&format!("/admin/licenses?status=active&product_id={basic}")).is_empty());
    assert_eq!(
        keys_in(&format!("/admin/licenses?q=example.com&product_id={basic}")),
        vec![k_jane.clone()]
    );
    // Sort by expiry, both ways; lifetime licenses come last ascending.
    let asc = keys_in("/admin/licenses?sort=expires&order=asc");
    assert_eq!(&asc[..2], &[k_ann.clone(), k_john.clone()]);
    let desc = keys_in("/admin/licenses?sort=expires&order=desc");
    assert_eq!(
        desc.iter().position(|k| *k == k_john),
        desc.iter().position(|k| *k == k_ann).map(|p| p - 1)
    );
    for field in [
        "key",
        "product",
        "customer",
        "status",
        "activations",
        "expires",
        "created",
    ] {
        for order in ["asc", "desc"] {
            assert_eq!(
                keys_in(&format!("/admin/licenses?sort={field}&order={order}")).len(),
                5,
                "{field} {order}"
            );
        }
    }
    let by_key = keys_in("/admin/licenses?sort=key&order=asc");
    let mut sorted = by_key.clone();
    sorted.sort();
    assert_eq!(by_key, sorted);
    // Bad parameters are a clear 400, not an empty page.
    assert_eq!(w.get("/admin/licenses?status=bogus").status, 400);
    assert_eq!(w.get("/admin/licenses?sort=colour").status, 400);
    assert_eq!(w.get("/admin/licenses?env=moon").status, 400);
    // Paging: 30 more licenses make two pages of 25, with page links.
    let (st, _) = s.admin(
        "POST",
        "/production/licenses/bulk",
        Some(json!({"product_id": basic, "count": 30})),
    );
    assert_eq!(st, 201);
    assert_eq!(keys_in("/admin/licenses").len(), 25);
    assert_eq!(keys_in("/admin/licenses?page=2").len(), 10);
    let first = w.get("/admin/licenses").text();
    assert!(first.contains("Showing 1–25 of 35"), "{first}");
    assert!(first.contains("page=2"));
    // Export downloads the filtered list.
    let csv = w.get(&format!(
        "/admin/licenses/export?format=csv&status=active&product_id={pro}"
    ));
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-disposition").unwrap().contains(".csv"));
    let body = csv.text();
    assert_eq!(body.lines().count(), 2, "{body}");
    assert!(body.contains(&k_john) && body.contains("john@example.com"));
    let js = w.get("/admin/licenses/export?format=json&q=example.com");
    let v: serde_json::Value = serde_json::from_slice(&js.body).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
    // Staging is another world.
    assert!(keys_in("/admin/licenses?env=staging").is_empty());
}

#[test]
fn create_form_checks_each_field_and_keeps_what_was_typed() {
    let s = Server::start();
    let product = s.product("production", "Form Product");
    let (_, p) = s.admin("GET", &format!("/production/products/{product}"), None);
    let generator = p["default_generator_id"].as_str().unwrap().to_owned();
    let w = Web::admin(&s);
    let r = w.submit(
        "/admin/licenses/new",
        &[
            ("env", "production"),
            ("product_id", &product),
            ("generator_id", &generator),
            ("activation_limit", "0"),
            ("expires", "2001-01-01"),
            ("feature_flags", "{not json"),
            ("metadata", "[1,2]"),
        ],
    );
    assert_eq!(r.status, 400);
    let html = r.text();
    assert!(html.contains("id=\"error-activation_limit\""), "{html}");
    assert!(html.contains("-1 (unlimited) or 1–10000"));
    assert!(html.contains("id=\"error-expires\""));
    assert!(html.contains("in the future"));
    assert!(html.contains("id=\"error-feature_flags\""));
    assert!(html.contains("id=\"error-metadata\""));
    assert!(html.contains("{not json"), "typed text is kept");
    assert!(html.contains("value=\"2001-01-01\""));
    let big = format!("{{\"x\": \"{}\"}}", "a".repeat(11_000));
    let r = w.submit(
        "/admin/licenses/new",
        &[
            ("env", "production"),
            ("product_id", &product),
            ("generator_id", &generator),
            ("metadata", &big),
        ],
    );
    assert_eq!(r.status, 400);
    assert!(r.text().contains("id=\"error-metadata\""));
    // Required fields.
    let r = w.submit("/admin/licenses/new", &[("env", "production")]);
    assert_eq!(r.status, 400);
    assert!(r.text().contains("Product is required"));
    assert!(r.text().contains("Generator is required"));
    let (_, list) = s.admin("GET", "/production/licenses", None);
    assert_eq!(list["total"], 0, "nothing was created");
    // A valid form creates the license and shows its preview.
    let r = w.submit(
        "/admin/licenses/new",
        &[
            ("env", "production"),
            ("product_id", &product),
            ("generator_id", &generator),
            ("activation_limit", "-1"),
            ("expires", "2035-06-30"),
            ("feature_flags", "{\"pro\": true}"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let to = r.header("location").unwrap().to_owned();
    let preview = w.get(&to);
    assert_eq!(preview.status, 200);
    assert!(preview.text().contains("created"));
    let (_, list) = s.admin("GET", "/production/licenses", None);
    let item = &list["items"][0];
    assert_eq!(item["activation_limit"], -1);
    assert_eq!(item["status"], "available");
    assert!(item["expires_at"]
        .as_str()
        .unwrap()
        .starts_with("2035-06-30"));
    // An inactive product gets no new licenses.
    let (st, _) = s.admin(
        "POST",
        "/production/products",
        Some(json!({"name": "Old", "active": false})),
    );
    assert_eq!(st, 201);
}

#[test]
fn actions_follow_the_state_machine_and_refuse_the_rest() {
    let s = Server::start();
    let product = s.product("production", "Actions");
    let free = new_license(&s, &product, None, json!({}));
    let w = Web::admin(&s);
    // Available: nothing but delete is offered, and suspend is refused server-side.
    let preview = w.get(&format!("/admin/licenses/{free}")).text();
    assert!(!preview.contains("/confirm/suspend"));
    assert!(preview.contains("/confirm/delete"));
    let r = w.get(&format!("/admin/licenses/{free}/confirm/suspend"));
    assert_eq!(r.status, 409);
    let r = w.submit(
        &format!("/admin/licenses/{free}/do/suspend"),
        &[("env", "production")],
    );
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(r.text().contains("Nothing was changed"));
    assert_eq!(status_of(&s, &free), "available");
    // Active: suspend → unsuspend → inactivate → reactivate → revoke, each confirmed first.
    let key = s.license("production", 2);
    activate(&s, "production", &key, "box-1");
    for (action, words, after, verdict) in [
        ("suspend", "SUSPENDED", "suspended", "SUSPENDED"),
        ("unsuspend", "back to active", "active", "VALID"),
        ("inactivate", "License Inactive", "inactive", "INACTIVE"),
        ("reactivate", "back to active", "active", "VALID"),
        ("revoke", "cannot be undone", "revoked", "REVOKED"),
    ] {
        let confirm = w.get(&format!("/admin/licenses/{key}/confirm/{action}"));
        assert_eq!(confirm.status, 200, "{action}");
        assert!(
            confirm.text().contains(words),
            "{action}: {}",
            confirm.text()
        );
        let r = w.submit(
            &format!("/admin/licenses/{key}/do/{action}"),
            &[("env", "production")],
        );
        assert_eq!(r.status, 303, "{action}: {}", r.text());
        assert_eq!(status_of(&s, &key), after);
        // The actor already answers with the new state.
        let (_, v) = s.client(
            "production",
            "validate",
            json!({"key": key, "identifier": "box-1"}),
        );
        assert_eq!(v["code"], verdict, "{action}");
    }
    // Revoked: no edit, no state action; delete warns because it was activated.
    let preview = w.get(&format!("/admin/licenses/{key}")).text();
    assert!(!preview.contains("/confirm/reactivate") && !preview.contains("/edit?"));
    assert_eq!(w.get(&format!("/admin/licenses/{key}/edit")).status, 409);
    let r = w.submit(
        &format!("/admin/licenses/{key}/do/reactivate"),
        &[("env", "production")],
    );
    assert_eq!(r.status, 409);
    let confirm = w
        .get(&format!("/admin/licenses/{key}/confirm/delete"))
        .text();
    assert!(confirm.contains("id=\"delete-warning\""));
    assert!(confirm.contains("Revoke"));
    assert!(!w
        .get(&format!("/admin/licenses/{free}/confirm/delete"))
        .text()
        .contains("delete-warning"));
    let r = w.submit(
        &format!("/admin/licenses/{key}/do/delete"),
        &[("env", "production")],
    );
    assert_eq!(r.status, 303);
    let (st, _) = s.admin("GET", &format!("/production/licenses/{key}"), None);
    assert_eq!(st, 404);
    let audit = w.get(&format!("/admin/audit?license={key}")).text();
    for a in ["license.suspend", "license.revoke", "license.deleted"] {
        assert!(audit.contains(a), "{a}");
    }
    assert!(audit.contains("<span class=\"muted\">admin</span> admin@test.local"));
    // Unknown action and unknown key.
    assert_eq!(
        w.get(&format!("/admin/licenses/{free}/confirm/explode"))
            .status,
        404
    );
    assert_eq!(w.get("/admin/licenses/NO-SUCH-KEY-123").status, 404);
}

#[test]
fn edit_assigns_and_changes_limits_at_once() {
    let s = Server::start();
    let product = s.product("production", "Editable");
    let free = new_license(&s, &product, None, json!({}));
    let cust = named_customer(&s, "edit@example.com", "Ed Itor");
    let w = Web::admin(&s);
    let form = w.get(&format!("/admin/licenses/{free}/edit")).text();
    assert!(form.contains("(immutable)") && form.contains("cannot change"));
    let r = w.submit(
        &format!("/admin/licenses/{free}/edit"),
        &[
            ("env", "production"),
            ("customer_id", &cust),
            ("activation_limit", "1"),
            ("feature_flags", "{\"seats\": 3}"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let l = s.get_license("production", &free);
    assert_eq!(l["status"], "assigned");
    assert_eq!(l["customer_id"], cust);
    assert_eq!(l["activation_limit"], 1);
    assert_eq!(l["feature_flags"]["seats"], 3);
    activate(&s, "production", &free, "one");
    let (_, v) = s.client(
        "production",
        "activate",
        json!({"key": free, "identifier": "two"}),
    );
    assert_eq!(v["code"], "LIMIT_REACHED");
    let r = w.submit(
        &format!("/admin/licenses/{free}/edit"),
        &[
            ("env", "production"),
            ("customer_id", &cust),
            ("activation_limit", "2"),
        ],
    );
    assert_eq!(r.status, 303);
    let (_, v) = s.client(
        "production",
        "activate",
        json!({"key": free, "identifier": "two"}),
    );
    assert_eq!(v["code"], "VALID", "the new limit applies to the next call");
    // Immutable fields are refused.
    let r = w.submit(
        &format!("/admin/licenses/{free}/edit"),
        &[
            ("env", "production"),
            ("product_id", &product),
            ("activation_limit", "2"),
        ],
    );
    assert_eq!(r.status, 400);
    let r = w.submit(
        &format!("/admin/licenses/{free}/edit"),
        &[
            ("env", "production"),
            ("customer_id", &cust),
            ("activation_limit", "abc"),
        ],
    );
    assert_eq!(r.status, 400);
    assert!(r.text().contains("value=\"abc\""));
    // Deactivate a device from the preview.
    let r = w.submit(
        &format!("/admin/licenses/{free}/deactivate"),
        &[("env", "production"), ("identifier", "one")],
    );
    assert_eq!(r.status, 303);
    let (_, v) = s.client(
        "production",
        "validate",
        json!({"key": free, "identifier": "one"}),
    );
    assert_eq!(v["code"], "NOT_ACTIVATED");
    let acts = w.get("/admin/activations?status=deactivated").text();
    assert!(acts.contains(">one<"), "{acts}");
    let acts = w.get("/admin/activations?q=two").text();
    assert!(acts.contains(">two<") && !acts.contains(">one<"));
}

/// Runs `program args…` and returns (success, stdout+stderr); a missing program fails loudly.
fn run(program: &str, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("{program} is needed for this test (scripts/test installs it): {e}")
        });
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The text of the element with `id` on a page.
fn text_by_id(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\">");
    let start = html.find(&marker).unwrap_or_else(|| panic!("#{id}")) + marker.len();
    unescape(&html[start..start + html[start..].find('<').unwrap()])
}

/// The samples validate a device that is activated on the license, print what
/// the preview says they will (issue 15 item 2), and run in four languages.
#[test]
fn code_samples_run_in_curl_php_node_and_python() {
    let s = Server::start();
    let key = s.license("production", 3);
    activate(&s, "production", &key, "laptop-7");
    let w = Web::admin(&s);
    let preview = w.get(&format!("/admin/licenses/{key}")).text();
    assert!(
        text_by_id(&preview, "sample-what").contains("device laptop-7"),
        "{preview}"
    );
    assert_eq!(text_by_id(&preview, "sample-expected-code"), "VALID");
    let detail = text_by_id(&preview, "sample-expected-detail");
    let dir = tempfile::tempdir().unwrap();
    for (lang, program, file) in [
        ("curl", "sh", "validate.sh"),
        ("php", "php", "validate.php"),
        ("javascript", "node", "validate.mjs"),
        ("python", "python3", "validate.py"),
    ] {
        // The page shows the same code the download link gives.
        let r = w.get(&format!("/admin/licenses/{key}/samples/{lang}"));
        assert_eq!(r.status, 200, "{lang}");
        assert!(
            r.header("content-disposition").unwrap().contains(file),
            "{lang}"
        );
        let code = r.text();
        let marker = format!("id=\"sample-code-{lang}\">");
        let start = preview.find(&marker).unwrap() + marker.len();
        let shown = unescape(&preview[start..start + preview[start..].find("</pre>").unwrap()]);
        assert_eq!(shown, code, "{lang}");
        assert!(code.contains("laptop-7"), "{lang}");
        let path = dir.path().join(file);
        std::fs::write(&path, &code).unwrap();
        let (ok, out) = run(program, &[path.to_str().unwrap()]);
        if lang == "curl" {
            let v: serde_json::Value =
                serde_json::from_str(out.trim()).unwrap_or_else(|_| panic!("curl printed {out}"));
            assert_eq!(
                (&v["code"], v["detail"].as_str()),
                (&json!("VALID"), Some(detail.as_str())),
                "{out}"
            );
        } else {
            assert!(ok, "{lang} failed: {out}");
            assert_eq!(
                out.trim(),
                format!("VALID: {detail}"),
                "{lang}: the answer the preview announced"
            );
        }
    }
    // No device activated: the samples activate one, then validate it when run again.
    let (_, v) = s.client(
        "production",
        "deactivate",
        json!({"key": key, "identifier": "laptop-7"}),
    );
    assert_eq!(v["code"], "DEACTIVATED");
    let preview = w.get(&format!("/admin/licenses/{key}")).text();
    assert!(text_by_id(&preview, "sample-what").contains("activates device workstation-01"));
    assert_eq!(text_by_id(&preview, "sample-expected-code"), "VALID");
    let announced = text_by_id(&preview, "sample-expected-detail");
    let r = w.get(&format!("/admin/licenses/{key}/samples/python"));
    assert!(r
        .header("content-disposition")
        .unwrap()
        .contains("activate.py"));
    let path = dir.path().join("activate.py");
    std::fs::write(&path, r.text()).unwrap();
    let (ok, out) = run("python3", &[path.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert_eq!(out.trim(), format!("VALID: {announced}"));
    let (ok, again) = run("python3", &[path.to_str().unwrap()]);
    assert!(ok && again.starts_with("VALID: "), "{again}");
    assert_eq!(s.get_license("production", &key)["activations_in_use"], 1);
    // Now the preview's samples validate the device they activated.
    let preview = w.get(&format!("/admin/licenses/{key}")).text();
    assert!(text_by_id(&preview, "sample-what")
        .contains("validates this license for device workstation-01"));
}

#[test]
fn preview_offline_file_and_reauthentication() {
    let s = Server::start();
    let key = s.license("production", 3);
    activate(&s, "production", &key, "air-gapped-1");
    let w = Web::admin(&s);
    let r = w.get(&format!(
        "/admin/licenses/{key}/offline?identifier=air-gapped-1"
    ));
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r
        .header("content-disposition")
        .unwrap()
        .contains("offline.json"));
    let file: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    use base64::Engine as _;
    let payload = base64::engine::general_purpose::STANDARD
        .decode(file["payload"].as_str().unwrap())
        .unwrap();
    let payload: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(payload["key"], key, "{payload}");
    assert_eq!(payload["identifier"], "air-gapped-1");
    assert!(file["signature"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(
        w.get(&format!("/admin/licenses/{key}/offline?identifier=other"))
            .status,
        409
    );
    // Turn on re-authentication: the preview asks for the password first.
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
    let gate = w.get(&format!("/admin/licenses/{key}"));
    assert_eq!(gate.status, 200);
    assert!(gate.text().contains("reauth-form") && !gate.text().contains("sample-code-php"));
    assert_eq!(
        w.get(&format!(
            "/admin/licenses/{key}/offline?identifier=air-gapped-1"
        ))
        .status,
        403
    );
    let r = w.submit(
        &format!("/admin/licenses/{key}/reauth"),
        &[("env", "production"), ("password", "wrong")],
    );
    assert_eq!(r.status, 400);
    let r = w.submit(
        &format!("/admin/licenses/{key}/reauth"),
        &[("env", "production"), ("password", ADMIN_PASSWORD)],
    );
    assert_eq!(r.status, 303);
    let page = w.get(&format!("/admin/licenses/{key}")).text();
    assert!(page.contains("sample-code-php") && page.contains("air-gapped-1"));
    // Settings validation.
    let r = w.submit(
        "/admin/settings",
        &[
            ("env", "production"),
            ("grace_period_days", "900"),
            ("threshold", "0"),
            ("window_minutes", "60"),
        ],
    );
    assert_eq!(r.status, 400);
    assert!(r.text().contains("0–365") && r.text().contains("id=\"error-threshold\""));
    let (_, st) = s.admin("GET", "/production/settings", None);
    assert_eq!(
        st["grace_period_days"], 7,
        "the refused form changed nothing"
    );
}

#[test]
fn products_customers_generators_and_bulk_jobs() {
    let s = Server::start();
    let w = Web::admin(&s);
    let r = w.submit(
        "/admin/products",
        &[
            ("env", "production"),
            ("name", "Portal Product"),
            ("description", "Made in the portal"),
            ("active", "on"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let (_, products) = s.admin("GET", "/production/products", None);
    let p = products
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Portal Product")
        .unwrap()
        .clone();
    let pid = p["id"].as_str().unwrap().to_owned();
    assert_eq!(
        w.submit("/admin/products", &[("env", "production"), ("name", "")])
            .status,
        400
    );
    // Generators: a UUID one with its own defaults, then a bulk job.
    let r = w.submit(
        "/admin/generators",
        &[
            ("env", "production"),
            ("product_id", &pid),
            ("name", "UUID keys"),
            ("kind", "uuid"),
            ("prefix", "KW-"),
            ("activation_limit", "3"),
            ("validity_days", "30"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let gen_page = r.header("location").unwrap().to_owned();
    let gid = gen_page
        .trim_start_matches("/admin/generators/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let r = w.submit(
        "/admin/generators",
        &[
            ("env", "production"),
            ("product_id", &pid),
            ("name", "Bad"),
            ("kind", "pattern"),
            ("pattern", "##"),
            ("activation_limit", "3"),
        ],
    );
    assert_eq!(r.status, 400);
    assert!(r.text().contains("id=\"error-format\""));
    assert_eq!(
        w.submit(
            &format!("/admin/generators/{gid}/bulk"),
            &[("env", "production"), ("count", "10001")]
        )
        .status,
        400
    );
    let r = w.submit(
        &format!("/admin/generators/{gid}/bulk"),
        &[("env", "production"), ("count", "1200")],
    );
    assert_eq!(r.status, 303);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let jobs = w.get("/admin/jobs").text();
        if jobs.contains("badge done") {
            assert!(jobs.contains("1200 / 1200 (100%)"), "{jobs}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "job did not finish: {jobs}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let (_, list) = s.admin(
        "GET",
        &format!("/production/licenses?product_id={pid}&per_page=5"),
        None,
    );
    assert_eq!(list["total"], 1200);
    assert!(list["items"][0]["key"].as_str().unwrap().starts_with("KW-"));
    assert_eq!(list["items"][0]["activation_limit"], 3);
    // Customers: create, refuse a duplicate, rename, see their licenses.
    let r = w.submit(
        "/admin/customers",
        &[
            ("env", "production"),
            ("name", "Cora Customer"),
            ("email", "Cora@Example.com"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let cpage = r.header("location").unwrap().to_owned();
    let r = w.submit(
        "/admin/customers",
        &[
            ("env", "production"),
            ("name", "Again"),
            ("email", "cora@example.com"),
        ],
    );
    assert_eq!(r.status, 400);
    assert!(r.text().contains("exists"));
    let cid = cpage
        .trim_start_matches("/admin/customers/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let r = w.submit(
        &format!("/admin/customers/{cid}"),
        &[("env", "production"), ("name", "Cora Renamed")],
    );
    assert_eq!(r.status, 303);
    let (_, c) = s.admin("GET", &format!("/customers/{cid}"), None);
    assert_eq!(c["name"], "Cora Renamed");
    let key = list["items"][0]["key"].as_str().unwrap().to_owned();
    let (st, _) = s.admin(
        "POST",
        &format!("/production/licenses/{key}/assign"),
        Some(json!({"customer_id": cid})),
    );
    assert_eq!(st, 200);
    activate(&s, "production", &key, "cora-laptop");
    let page = w.get(&cpage).text();
    assert!(page.contains(&key) && page.contains("cora-laptop"));
    // Dashboard counts and the validations chart read the live metrics.
    for _ in 0..5 {
        s.client(
            "production",
            "validate",
            json!({"key": key, "identifier": "cora-laptop"}),
        );
    }
    let dash = w.get("/admin").text();
    assert!(dash.contains("id=\"count-total\">1200<"), "{dash}");
    assert!(dash.contains("id=\"state-active\">1<"));
    assert!(dash.contains("id=\"state-available\">1199<"));
    let now: u64 = dash
        .split("id=\"validations-now\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(now >= 5, "validations this minute: {now}");
    assert!(dash.contains("rect class=\"bar\""));
}

#[test]
fn admins_page_manages_accounts_and_rotates_the_api_token() {
    let s = Server::start();
    let w = Web::admin(&s);
    let r = w.submit(
        "/admin/admins",
        &[
            ("env", "production"),
            ("name", "Fay Full"),
            ("email", "fay@test.local"),
            ("role", "full"),
            ("password", "short"),
        ],
    );
    assert_eq!(r.status, 400);
    assert!(r.text().contains("at least 8"));
    let r = w.submit(
        "/admin/admins",
        &[
            ("env", "production"),
            ("name", "Fay Full"),
            ("email", "fay@test.local"),
            ("role", "full"),
            ("password", "fay-password"),
        ],
    );
    assert_eq!(r.status, 303);
    let fay = Web::new(&s);
    assert_eq!(fay.login("fay@test.local", "fay-password").status, 303);
    let page = w.get("/admin/admins").text();
    let id_marker = "name=\"id\" value=\"";
    let ids: Vec<&str> = page.split(id_marker).skip(1).map(|p| &p[..36]).collect();
    assert_eq!(ids.len(), 2);
    // Rows are sorted by email: admin@ first, fay@ second.
    let fay_id = ids[1];
    let fay_row = page.split(&format!("value=\"{fay_id}\"")).next().unwrap();
    assert!(fay_row[fay_row.rfind("<tr>").unwrap()..].contains("fay@test.local"));
    // Demoting Fay ends her sessions.
    let r = w.submit(
        "/admin/admins",
        &[
            ("env", "production"),
            ("id", fay_id),
            ("name", "Fay Full"),
            ("role", "readonly"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(
        fay.get("/admin").status,
        303,
        "signed out by the role change"
    );
    // Rotating the API token shows the new one once; the old one stops working.
    let r = w.submit("/admin/token/rotate", &[("env", "production")]);
    assert_eq!(r.status, 200);
    let html = r.text();
    let token = html
        .split("id=\"token-value\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    assert!(token.starts_with("kw_"), "{token}");
    let old = ureq::get(&s.url("/admin/api/v1/production/products"))
        .set("authorization", &format!("Bearer {TOKEN}"))
        .call();
    assert!(matches!(old, Err(ureq::Error::Status(401, _))));
    let new = ureq::get(&s.url("/admin/api/v1/production/products"))
        .set("authorization", &format!("Bearer {token}"))
        .call();
    assert_eq!(new.unwrap().status(), 200);
    assert!(
        !w.get("/admin/admins").text().contains(&token),
        "shown once"
    );
    // The last full admin cannot demote or remove themself into a locked-out system.
    let me = input_value(&w.get("/admin/admins").text(), "id").unwrap();
    let r = w.submit(
        "/admin/admins",
        &[
            ("env", "production"),
            ("id", &me),
            ("name", "Administrator"),
            ("role", "readonly"),
        ],
    );
    assert_eq!(r.status, 409, "{}", r.text());
}

#[test]
fn first_start_prints_a_one_time_admin_password() {
    let s = Server::start_with(Opts::default().env("KEYWARDEN_ADMIN_PASSWORD", ""));
    let out = s.stdout.lock().unwrap().join("\n");
    let line = out
        .lines()
        .find(|l| l.contains("Admin sign-in (first admin, password shown once)"))
        .unwrap_or_else(|| panic!("{out}"));
    let password = line.rsplit(" / ").next().unwrap().trim().to_owned();
    let w = Web::new(&s);
    assert_eq!(w.login(ADMIN_EMAIL, &password).status, 303);
    let dir = s.dir.clone();
    let s = s.restart(Opts::default().env("KEYWARDEN_ADMIN_PASSWORD", ""));
    let out = s.stdout.lock().unwrap().join("\n");
    assert!(!out.contains(&password), "shown once only");
    assert!(out.contains("Admin sign-in: an existing admin account"));
    assert_eq!(
        Web::new(&s).login(ADMIN_EMAIL, &password).status,
        303,
        "kept across restarts in {dir:?}"
    );
}

/// Issue 12 item 4: the edit form carries the admin's version, so a change made
/// on a page drawn before someone else's change is refused with a clear message
/// instead of silently undoing it.
#[test]
fn an_admin_edit_from_a_stale_page_is_a_conflict() {
    let s = Server::start();
    let w = Web::admin(&s);
    let r = w.submit(
        "/admin/admins",
        &[
            ("env", "production"),
            ("name", "Gus"),
            ("email", "gus@test.local"),
            ("role", "readonly"),
            ("password", "gus-password-1"),
        ],
    );
    assert_eq!(r.status, 303);
    let row = |page: &str| -> (String, String) {
        let row = page
            .split("<td>gus@test.local</td>")
            .nth(1)
            .unwrap()
            .to_owned();
        let id = input_value(&row, "id").unwrap();
        let version = input_value(&row, "version").unwrap();
        (id, version)
    };
    let (id, seen) = row(&w.get("/admin/admins").text());
    let edit = |name: &str, version: &str| {
        w.submit(
            "/admin/admins",
            &[
                ("env", "production"),
                ("id", &id),
                ("version", version),
                ("name", name),
                ("role", "readonly"),
            ],
        )
    };
    // Another tab saves first; the page drawn before it is stale.
    assert_eq!(edit("Gus One", &seen).status, 303);
    let r = edit("Gus Two", &seen);
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(r
        .text()
        .contains("This admin was changed elsewhere; reload the page and try again."));
    let page = w.get("/admin/admins").text();
    assert!(page.contains("Gus One") && !page.contains("Gus Two"));
    // From the reloaded page it lands.
    let (_, now) = row(&page);
    assert_ne!(now, seen);
    assert_eq!(edit("Gus Two", &now).status, 303);
    assert!(w.get("/admin/admins").text().contains("Gus Two"));
    // Removing from the page drawn before that edit is refused the same way.
    let remove = |version: &str| {
        w.submit(
            &format!("/admin/admins/{id}/delete"),
            &[("env", "production"), ("version", version)],
        )
    };
    let r = remove(&now);
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(r.text().contains("changed elsewhere"));
    let (_, latest) = row(&w.get("/admin/admins").text());
    assert_eq!(remove(&latest).status, 303);
    assert!(!w
        .get("/admin/admins")
        .text()
        .contains("<td>gus@test.local</td>"));
}
