//! Issue 15 item 11: the audit log names time, level, action, resource and
//! who; it has entries for customers, admins, products, generators, files,
//! settings and keys as well as licenses; it pages back through all of it,
//! filters by date range, actor and action, and exports CSV.

use std::collections::HashSet;

use serde_json::json;

use crate::helpers::Server;
use crate::web::{multipart, unescape, Web};

/// The `data-` free rows of the audit table: each row's cells, tags stripped.
fn rows(html: &str) -> Vec<Vec<String>> {
    let Some(start) = html.find("<table class=\"grid\" id=\"audit\">") else {
        return Vec::new();
    };
    let body = &html[start..html[start..].find("</table>").unwrap() + start];
    body.split("<tr>")
        .skip(2)
        .map(|tr| {
            tr.split("<td")
                .skip(1)
                .map(|td| {
                    let inner = &td[td.find('>').unwrap() + 1..];
                    let mut text = String::new();
                    let mut tag = false;
                    for ch in inner.chars() {
                        match ch {
                            '<' => tag = true,
                            '>' => tag = false,
                            c if !tag => text.push(c),
                            _ => {}
                        }
                    }
                    unescape(text.trim())
                })
                .collect()
        })
        .filter(|r: &Vec<String>| r.len() == 7)
        .collect()
}

fn older_link(html: &str) -> Option<String> {
    let at = html.find("id=\"audit-older\" href=\"")? + "id=\"audit-older\" href=\"".len();
    Some(unescape(&html[at..at + html[at..].find('"')?]))
}

#[test]
fn entries_for_every_entity_name_who_and_level() {
    let s = Server::start();
    let w = Web::admin(&s);
    // Customers: created over the API and the portal, renamed in the portal.
    let (st, _) = s.admin(
        "POST",
        "/customers",
        Some(json!({"email": "api-made@example.com"})),
    );
    assert_eq!(st, 201);
    let r = w.submit(
        "/admin/customers",
        &[
            ("env", "production"),
            ("email", "portal-made@example.com"),
            ("name", "Pat"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let cid = r.header("location").unwrap()["/admin/customers/".len()..]
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let r = w.submit(
        &format!("/admin/customers/{cid}"),
        &[("env", "production"), ("name", "Patricia")],
    );
    assert!(r.status == 303, "{}", r.text());
    // An admin added, then removed.
    let r = w.submit(
        "/admin/admins",
        &[
            ("env", "production"),
            ("name", "Audit Auditor"),
            ("email", "auditor@test.local"),
            ("role", "readonly"),
            ("password", "auditor-password-1"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    // A product, a generator, a file uploaded and removed.
    let pid = s.product("production", "Audited Product");
    let r = w.submit(
        "/admin/generators",
        &[
            ("env", "production"),
            ("product_id", &pid),
            ("name", "Audited gen"),
            ("kind", "uuid"),
            ("activation_limit", "2"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let csrf = w.csrf();
    let (ct, body) = multipart(
        &[
            ("csrf", &csrf),
            ("env", "production"),
            ("version", "1.0"),
            ("channel", "stable"),
            ("released", "2026-01-01"),
        ],
        ("audited.bin", b"bytes"),
    );
    let r = w.post_bytes(&format!("/admin/products/{pid}/files"), &ct, &body);
    assert_eq!(r.status, 303, "{}", r.text());
    let (_, files) = s.admin("GET", &format!("/production/products/{pid}"), None);
    let _ = files;
    let page = w
        .get(&format!("/admin/products/{pid}?env=production"))
        .text();
    let del = page
        .find("/files/")
        .map(|i| &page[i + 7..i + 7 + 36])
        .unwrap()
        .to_owned();
    let r = w.submit(
        &format!("/admin/products/{pid}/files/{del}/delete"),
        &[("env", "production")],
    );
    assert_eq!(r.status, 303, "{}", r.text());

    let html = w.get("/admin/audit?env=production").text();
    let all = rows(&html);
    let find = |action: &str| -> Vec<String> {
        all.iter()
            .find(|r| r[2] == action)
            .unwrap_or_else(|| panic!("{action} is in the log: {all:?}"))
            .clone()
    };
    let created = find("customer.created");
    assert_eq!(created[1], "info");
    assert!(
        created[4].contains("admin") && created[4].contains("admin@"),
        "{created:?}"
    );
    let api_made = all
        .iter()
        .find(|r| r[2] == "customer.created" && r[6].contains("api-made@example.com"))
        .expect("the API's customer");
    assert!(api_made[4].starts_with("API key"), "{api_made:?}");
    let renamed = find("customer.updated");
    assert!(renamed[6].contains("Pat → Patricia"), "{renamed:?}");
    assert!(find("admin.created")[6].contains("auditor@test.local"));
    assert!(find("generator.created")[6].contains("Audited gen"));
    assert!(find("file.uploaded")[6].contains("audited.bin"));
    let removed = find("file.removed");
    assert_eq!(removed[1], "warning");
    assert_eq!(removed[3], "file");
    assert!(find("product.created")[6].contains("Audited Product"));
    // Global entities are in both environments' logs.
    let staging = rows(&w.get("/admin/audit?env=staging&action=customer.").text());
    assert_eq!(staging.len(), 3, "{staging:?}");
    // The family filter keeps exactly that family.
    let family = rows(&w.get("/admin/audit?env=production&action=customer.").text());
    assert_eq!(family.len(), 3, "{family:?}");
    assert!(family.iter().all(|r| r[2].starts_with("customer.")));
    // Who: a part of an email, any case.
    let by_api = rows(&w.get("/admin/audit?env=production&actor=API%20Key").text());
    assert!(
        !by_api.is_empty() && by_api.iter().all(|r| r[4].starts_with("API key")),
        "{by_api:?}"
    );
}

#[test]
fn the_log_pages_through_everything_filters_by_date_and_exports_csv() {
    let s = Server::start();
    let w = Web::admin(&s);
    let pid = s.product("production", "Paged Product");
    let (st, v) = s.admin(
        "POST",
        "/production/licenses/bulk",
        Some(json!({"product_id": pid, "count": 230})),
    );
    assert_eq!(st, 201, "{v}");
    // Page after page, with no entry twice and none missing.
    let mut seen = Vec::new();
    let mut url = "/admin/audit?env=production&action=license.created".to_owned();
    let mut pages = 0;
    loop {
        let html = w.get(&url).text();
        let r = rows(&html);
        assert!(r.len() <= 100);
        seen.extend(r.into_iter().map(|r| r[3].clone()));
        pages += 1;
        match older_link(&html) {
            Some(next) => {
                assert!(next.contains("action=license.created"), "{next}");
                url = next;
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 230);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 230);

    // Date ranges are whole UTC days.
    let today = chrono::Utc::now().date_naive();
    let yesterday = today.pred_opt().unwrap();
    let tomorrow = today.succ_opt().unwrap();
    let count = |q: &str| {
        rows(
            &w.get(&format!(
                "/admin/audit?env=production&action=license.created&{q}"
            ))
            .text(),
        )
        .len()
    };
    assert_eq!(count(&format!("from={today}&to={today}")), 100);
    assert_eq!(count(&format!("from={tomorrow}")), 0);
    assert_eq!(count(&format!("to={yesterday}")), 0);
    assert_eq!(
        w.get("/admin/audit?env=production&from=31-12-2026").status,
        400
    );
    assert_eq!(w.get("/admin/audit?env=production&before=junk").status, 400);

    // The API pages the same way, with X-Next-Before.
    let r = s.admin_raw(
        "GET",
        "/production/audit?action=license.created&limit=200",
        None,
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json().as_array().unwrap().len(), 200);
    let next = r.header("x-next-before").expect("a next page").to_owned();
    let r = s.admin_raw(
        "GET",
        &format!("/production/audit?action=license.created&limit=200&before={next}"),
        None,
    );
    assert_eq!(r.json().as_array().unwrap().len(), 30);
    assert!(r.header("x-next-before").is_none());
    let (st, e) = s.admin("GET", "/production/audit?from=yesterday", None);
    assert_eq!((st, e["field"].as_str()), (400, Some("from")));

    // CSV: every entry the filters keep, with a header.
    let html = w
        .get("/admin/audit?env=production&action=license.created")
        .text();
    let export = unescape(&html[html.find("id=\"audit-export\" href=\"").unwrap() + 24..]);
    let export = &export[..export.find('"').unwrap()];
    assert!(export.contains("action=license.created"), "{export}");
    let r = w.get(export);
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/csv"));
    assert!(r
        .header("content-disposition")
        .unwrap()
        .contains("audit-production-"));
    let text = r.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "time,level,action,resource,who_kind,who,ip,before,after,details,id"
    );
    assert_eq!(lines.len(), 231, "header and 230 entries");
    assert!(lines[1..].iter().all(|l| l.contains(",license.created,")));
}

/// The one `action` entry of `key`, from the admin API.
fn entry_of(s: &Server, key: &str, action: &str) -> serde_json::Value {
    let (st, list) = s.admin(
        "GET",
        &format!("/production/audit?license={key}&action={action}"),
        None,
    );
    assert_eq!(st, 200, "{list}");
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    list[0].clone()
}

fn revoke_via_api(s: &Server, key: &str, forwarded_for: &str) {
    let url = s.url(&format!(
        "/admin/api/v1/production/licenses/{key}/actions/revoke"
    ));
    let r = ureq::post(&url)
        .set(
            "authorization",
            &format!("Bearer {}", crate::helpers::TOKEN),
        )
        .set("x-forwarded-for", forwarded_for)
        .call()
        .expect("revoked");
    assert_eq!(r.status(), 200);
}

#[test]
fn entries_record_the_client_address_and_believe_forwarded_for_only_from_a_trusted_proxy() {
    // No trusted proxy: a forged X-Forwarded-For is ignored; the peer is recorded.
    let s = Server::start();
    let key = s.license("production", 2);
    revoke_via_api(&s, &key, "198.51.100.7");
    assert_eq!(entry_of(&s, &key, "license.revoke")["ip"], "127.0.0.1");

    // The portal's changes, and the Audit Log's IP column.
    let other = s.license("production", 2);
    let w = Web::admin(&s);
    let r = w.submit(
        &format!("/admin/licenses/{other}/do/revoke"),
        &[("env", "production")],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(entry_of(&s, &other, "license.revoke")["ip"], "127.0.0.1");
    let page = w
        .get(&format!("/admin/audit?env=production&license={other}"))
        .text();
    assert!(page.contains("<th>IP</th>"), "{page}");
    assert!(
        page.contains("<td class=\"mono nowrap\">127.0.0.1</td>"),
        "{page}"
    );

    // Behind a trusted proxy, the address it forwards.
    let t = Server::start_with(
        crate::helpers::Opts::default().env("KEYWARDEN_SERVER__TRUSTED_PROXIES", "[\"127.0.0.1\"]"),
    );
    let key = t.license("production", 2);
    revoke_via_api(&t, &key, "198.51.100.7");
    assert_eq!(entry_of(&t, &key, "license.revoke")["ip"], "198.51.100.7");
    // Without the header, the proxy's own address.
    assert_eq!(entry_of(&t, &key, "license.created")["ip"], "127.0.0.1");
}

#[test]
fn a_device_activation_is_logged_with_the_device_address() {
    let s = Server::start();
    let key = s.license("production", 2);
    crate::helpers::activate(&s, "production", &key, "box-1");
    assert_eq!(entry_of(&s, &key, "activation.created")["ip"], "127.0.0.1");
}
