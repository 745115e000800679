//! Issue 15 item 9: a product's feature definitions type-check license flags,
//! fill defaults, and give the flags their labels in both portals.

use serde_json::{json, Value};

use crate::customer_portal::{customer, handle_of, PW};
use crate::helpers::Server;
use crate::web::{unescape, Web};

fn defs() -> Value {
    json!([
        {"key": "pro", "label": "Pro edition", "type": "boolean", "default": false},
        {"key": "seats", "label": "Seats", "type": "number", "default": 3, "description": "Named users"},
        {"key": "tier", "label": "Support tier", "type": "string", "default": "basic"}
    ])
}

fn product_with_features(s: &Server) -> String {
    let (st, p) = s.admin(
        "POST",
        "/production/products",
        Some(json!({"name": "Typed Product", "features": defs()})),
    );
    assert_eq!(st, 201, "{p}");
    assert_eq!(p["features"][1]["type"], "number");
    p["id"].as_str().unwrap().to_owned()
}

#[test]
fn definitions_are_checked_and_flags_follow_them_over_the_api() {
    let s = Server::start();
    // Bad definitions: nothing is created.
    for bad in [
        json!([{"key": "Pro Edition", "label": "Pro", "type": "boolean", "default": true}]),
        json!([{"key": "pro", "label": "Pro", "type": "boolean", "default": "yes"}]),
        json!([{"key": "pro", "label": "Pro", "type": "boolean", "default": true},
               {"key": "pro", "label": "Again", "type": "boolean", "default": true}]),
        json!([{"key": "pro", "label": "Pro", "type": "colour", "default": "red"}]),
    ] {
        let (st, e) = s.admin(
            "POST",
            "/production/products",
            Some(json!({"name": "Bad Defs", "features": bad})),
        );
        assert_eq!(st, 400, "{bad}: {e}");
    }
    let (_, all) = s.admin("GET", "/production/products", None);
    assert!(all
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["name"] != "Bad Defs"));

    let product = product_with_features(&s);
    // No flags given: the defaults.
    let (st, l) = s.admin(
        "POST",
        "/production/licenses",
        Some(json!({"product_id": product})),
    );
    assert_eq!(st, 201, "{l}");
    assert_eq!(
        l["feature_flags"],
        json!({"pro": false, "seats": 3, "tier": "basic"})
    );
    let key = l["key"].as_str().unwrap().to_owned();
    // Some given: the rest from the defaults.
    let (st, l2) = s.admin(
        "POST",
        "/production/licenses",
        Some(json!({"product_id": product, "feature_flags": {"pro": true}})),
    );
    assert_eq!(st, 201, "{l2}");
    assert_eq!(
        l2["feature_flags"],
        json!({"pro": true, "seats": 3, "tier": "basic"})
    );
    // Wrong types and unknown keys are refused on create and on edit.
    for flags in [
        json!({"pro": "true"}),
        json!({"seats": "10"}),
        json!({"tier": 2}),
        json!({"prro": true}),
    ] {
        let (st, e) = s.admin(
            "POST",
            "/production/licenses",
            Some(json!({"product_id": product, "feature_flags": flags})),
        );
        assert_eq!(st, 400, "{flags}: {e}");
        assert_eq!(e["field"], "feature_flags", "{e}");
        let (st, e) = s.admin(
            "PATCH",
            &format!("/production/licenses/{key}"),
            Some(json!({"feature_flags": flags})),
        );
        assert_eq!(st, 400, "{flags}: {e}");
    }
    assert_eq!(
        s.get_license("production", &key)["feature_flags"],
        json!({"pro": false, "seats": 3, "tier": "basic"}),
        "a refused edit changed nothing"
    );
    let (st, l) = s.admin(
        "PATCH",
        &format!("/production/licenses/{key}"),
        Some(json!({"feature_flags": {"pro": true, "seats": 25}})),
    );
    assert_eq!(st, 200, "{l}");
    assert_eq!(l["feature_flags"], json!({"pro": true, "seats": 25}));
    // A generator's flags follow the same definitions.
    let (st, e) = s.admin(
        "POST",
        "/production/generators",
        Some(json!({"product_id": product, "name": "Bad flags", "feature_flags": {"seats": true}})),
    );
    assert_eq!(
        (st, e["field"].as_str()),
        (400, Some("feature_flags")),
        "{e}"
    );
    // PATCH of the product replaces the definitions; a product without any takes free-form flags.
    let (st, p) = s.admin(
        "PATCH",
        &format!("/production/products/{product}"),
        Some(json!({"features": []})),
    );
    assert_eq!(st, 200, "{p}");
    assert_eq!(p["name"], "Typed Product");
    let (st, _) = s.admin(
        "PATCH",
        &format!("/production/licenses/{key}"),
        Some(json!({"feature_flags": {"anything": [1, 2]}})),
    );
    assert_eq!(st, 200);
    let (st, _) = s.admin(
        "PATCH",
        "/production/products/not-a-uuid",
        Some(json!({"features": []})),
    );
    assert_eq!(st, 400);
}

#[test]
fn the_product_form_edits_definitions_and_both_portals_show_labels() {
    let s = Server::start();
    let w = Web::admin(&s);
    let mut form = vec![
        ("env", "production"),
        ("id", ""),
        ("name", "Form Features"),
        ("description", ""),
        ("active", "on"),
        ("f0_key", "max_projects"),
        ("f0_label", "Projects"),
        ("f0_type", "number"),
        ("f0_default", "ten"),
        ("f0_description", ""),
        ("f1_key", ""),
        ("f1_label", ""),
        ("f1_type", "boolean"),
        ("f1_default", ""),
        ("f1_description", ""),
    ];
    // A default that is not a number: the form comes back with the message, nothing saved.
    let r = w.submit("/admin/products", &form);
    assert_eq!(r.status, 400, "{}", r.text());
    let html = unescape(&r.text());
    assert!(html.contains("is not a number"), "{html}");
    assert!(
        html.contains("value=\"max_projects\""),
        "the row is kept: {html}"
    );
    let (_, all) = s.admin("GET", "/production/products", None);
    assert!(all
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["name"] != "Form Features"));
    form[8] = ("f0_default", "10");
    let r = w.submit("/admin/products", &form);
    assert_eq!(r.status, 303, "{}", r.text());
    let (_, all) = s.admin("GET", "/production/products", None);
    let p = all
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Form Features")
        .unwrap()
        .clone();
    assert_eq!(
        p["features"],
        json!([{"key": "max_projects", "label": "Projects", "type": "number", "default": 10, "description": ""}])
    );
    let id = p["id"].as_str().unwrap();
    let page = w
        .get(&format!("/admin/products/{id}?env=production"))
        .text();
    assert!(
        page.contains("name=\"f0_key\" value=\"max_projects\""),
        "{page}"
    );
    assert!(
        page.contains("name=\"f1_key\" value=\"\""),
        "a blank row to add one: {page}"
    );
    assert!(w
        .get("/admin/products?env=production")
        .text()
        .contains("Features: Projects"));

    // A license of it shows "Projects" in the admin preview and in the customer portal.
    let me = customer(&s, "labels@example.com", "Labels");
    let (st, l) = s.admin(
        "POST",
        "/production/licenses",
        Some(json!({"product_id": id, "customer_id": me, "feature_flags": {"max_projects": 42}})),
    );
    assert_eq!(st, 201, "{l}");
    let key = l["key"].as_str().unwrap();
    let preview = w
        .get(&format!("/admin/licenses/{key}?env=production"))
        .text();
    let table = &preview[preview
        .find("id=\"license-features\"")
        .expect("labelled flags")..];
    assert!(
        table.contains("<td>Projects</td><td class=\"mono\">42</td>"),
        "{preview}"
    );
    let c = Web::customer(&s, "labels@example.com", PW);
    let handle = handle_of(&c, key);
    let detail = c.get(&format!("/portal/licenses/{handle}")).text();
    assert!(
        detail.contains("<td>Projects</td><td class=\"mono\">42</td>"),
        "{detail}"
    );

    // Removing the row (key and label cleared) removes the definition.
    let r = w.submit(
        "/admin/products",
        &[
            ("env", "production"),
            ("id", id),
            ("name", "Form Features"),
            ("description", ""),
            ("active", "on"),
            ("f0_key", ""),
            ("f0_label", ""),
            ("f0_type", "number"),
            ("f0_default", "10"),
            ("f0_description", ""),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let (_, p) = s.admin("GET", &format!("/production/products/{id}"), None);
    assert_eq!(p["features"], json!([]));
}
