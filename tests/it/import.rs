//! Issue 15 item 18 (the rest): a CSV import is checked first (a dry run that
//! lists each refused row with its line and why, and makes nothing), then run
//! by a background job once confirmed; one action over every license a filter
//! matches runs as a job too.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{activate, audit_actions, Server};
use crate::kill_switch::{bulk, statuses};
use crate::web::{multipart, unescape, Web};

fn upload(w: &Web, csrf: &str, name: &str, csv: &[u8]) -> crate::helpers::Resp {
    let (ct, body) = multipart(&[("csrf", csrf), ("env", "production")], (name, csv));
    w.post_bytes("/admin/licenses/import", &ct, &body)
}

/// Waits until the Background Jobs page shows `title` done with `progress`.
pub fn wait_done(w: &Web, title: &str, progress: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let html = unescape(&w.get("/admin/jobs?env=production").text());
        let row = html
            .split("<tr data-job")
            .find(|r| r.contains(title))
            .unwrap_or("")
            .to_owned();
        if row.contains(progress) && row.contains("badge done") {
            return row;
        }
        assert!(Instant::now() < deadline, "the job did not finish: {html}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn value_of<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("id=\"{id}\">"))
        .unwrap_or_else(|| panic!("{id}: {html}"));
    let rest = &html[start + id.len() + 6..];
    &rest[..rest.find('<').unwrap()]
}

#[test]
fn a_csv_is_previewed_with_its_bad_rows_then_imported_by_a_job() {
    let s = Server::start();
    let pid = s.product("production", "Importable");
    let taken = s.license("production", 2);
    s.customer("known@example.com");
    let csv = format!(
        "Product,Key,Customer_Email,Activation_Limit,Expires_At\n\
         Importable,MIG-0001,known@example.com,3,2031-01-31\n\
         importable,,new-owner@example.com,unlimited,lifetime\n\
         {pid},,,,\n\
         Nope,,,,\n\
         Importable,MIG-0002,,,31/01/2031\n\
         Importable,MIG-0001,,,\n\
         Importable,{taken},,,\n"
    );
    let w = Web::admin(&s);
    let r = upload(&w, &w.csrf(), "licenses.csv", csv.as_bytes());
    assert_eq!(r.status, 303, "{}", r.text());
    let preview_url = r.header("location").unwrap().to_owned();
    assert!(
        preview_url.starts_with("/admin/licenses/import/"),
        "{preview_url}"
    );
    let preview = unescape(&w.get(&preview_url).text());
    assert_eq!(value_of(&preview, "import-rows"), "7");
    assert_eq!(value_of(&preview, "import-valid"), "3");
    assert_eq!(value_of(&preview, "import-refused"), "4");
    assert_eq!(value_of(&preview, "import-state"), "draft");
    let problems = &preview[preview.find("id=\"import-problems\"").unwrap()..];
    for (line, why) in [
        (5, "product “Nope” is not in production"),
        (6, "expiry “31/01/2031” is not a date"),
        (7, "key MIG-0001 is in the file twice"),
        (8, &format!("key {taken} is taken by a license")),
    ] {
        let row = format!("<tr><td class=\"num\">{line}</td><td>{why}");
        assert!(problems.contains(&row), "line {line}: {problems}");
    }
    assert!(preview.contains("MIG-0001") && preview.contains("new-owner@example.com"));

    // A dry run: nothing made, no account made for the new email.
    let (st, _) = s.admin("GET", "/production/licenses/MIG-0001", None);
    assert_eq!(st, 404);
    assert!(!customer_exists(&s, "new-owner@example.com"));
    assert_eq!(statuses(&s, &pid), HashMap::new());

    // A forged confirmation changes nothing either.
    let confirm = format!("{}/confirm", preview_url.split('?').next().unwrap());
    let forged = w.post(&confirm, &[("csrf", "forged"), ("env", "production")]);
    assert_eq!(forged.status, 403);

    let r = w.submit(&confirm, &[("env", "production")]);
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(r.header("location").unwrap().starts_with("/admin/jobs"));
    wait_done(
        &w,
        "Import 3 licenses from licenses.csv (production)",
        "3 / 3",
    );

    let l = s.get_license("production", "MIG-0001");
    assert_eq!(l["status"], "assigned", "{l}");
    assert_eq!(l["activation_limit"], 3);
    assert!(
        l["expires_at"]
            .as_str()
            .unwrap()
            .starts_with("2031-01-31T23:59:59"),
        "{l}"
    );
    assert!(
        customer_exists(&s, "new-owner@example.com"),
        "the new owner was invited"
    );
    assert_eq!(
        statuses(&s, &pid),
        HashMap::from([("assigned".to_owned(), 2), ("available".to_owned(), 1)])
    );
    let v = activate(&s, "production", "MIG-0001", "imported-box");
    assert_eq!(v["valid"], true, "{v}");
    assert!(audit_actions(&s, "production", "license.imported").len() == 1);

    // Confirmed once only; the preview now says it runs as a job.
    assert_eq!(w.submit(&confirm, &[("env", "production")]).status, 409);
    let after = w.get(&preview_url).text();
    assert!(
        after.contains("Confirmed: the import runs as a background job"),
        "{after}"
    );
}

fn customer_exists(s: &Server, email: &str) -> bool {
    let (st, list) = s.admin("GET", &format!("/customers?q={email}"), None);
    assert_eq!(st, 200, "{list}");
    list.as_array().unwrap().iter().any(|c| c["email"] == email)
}

#[test]
fn unreadable_files_are_refused_whole_and_a_draft_can_be_discarded() {
    let s = Server::start();
    s.product("production", "Importable");
    let w = Web::admin(&s);
    let csrf = w.csrf();

    let r = upload(&w, &csrf, "odd.csv", b"product,colour\nImportable,red\n");
    assert_eq!(r.status, 400);
    assert!(
        unescape(&r.text()).contains("unknown column(s) “colour”"),
        "{}",
        r.text()
    );
    let r = upload(&w, &csrf, "none.csv", b"key,customer_email\nK-1,a@b.co\n");
    assert_eq!(r.status, 400);
    assert!(unescape(&r.text()).contains("no “product” column"));
    let big = vec![b'x'; 5 * 1024 * 1024];
    let r = upload(&w, &csrf, "big.csv", &big);
    assert_eq!(r.status, 413);
    assert!(r.text().contains("larger than 4 MB"));
    // Refused in staging, the form it comes back with stays in staging.
    let (ct, body) = multipart(&[("csrf", &csrf), ("env", "staging")], ("big.csv", &big));
    let r = w.post_bytes("/admin/licenses/import", &ct, &body);
    assert_eq!(r.status, 413);
    assert!(
        r.text().contains("name=\"env\" value=\"staging\""),
        "{}",
        r.text()
    );
    let r = upload(&w, "forged", "ok.csv", b"product\nImportable\n");
    assert_eq!(r.status, 403);
    assert!(!w
        .get("/admin/jobs?env=production")
        .text()
        .contains("Import 1 licenses"));

    // A draft discarded: nothing made, gone from the jobs list.
    let r = upload(&w, &csrf, "ok.csv", b"product,key\nImportable,DROP-1\n");
    assert_eq!(r.status, 303);
    let url = r
        .header("location")
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let jobs = w.get("/admin/jobs?env=production").text();
    assert!(
        jobs.contains("Review and confirm"),
        "a draft is listed: {jobs}"
    );
    let r = w.submit(&format!("{url}/discard"), &[("env", "production")]);
    assert_eq!(r.status, 303);
    assert!(!w
        .get("/admin/jobs?env=production")
        .text()
        .contains("Import 1 licenses"));
    let (st, _) = s.admin("GET", "/production/licenses/DROP-1", None);
    assert_eq!(st, 404);
    assert_eq!(
        w.submit(&format!("{url}/confirm"), &[("env", "production")])
            .status,
        404
    );
}

#[test]
fn one_action_over_every_match_runs_as_a_job() {
    let s = Server::start();
    let a = s.product("production", "Matched");
    let b = s.product("production", "Untouched");
    let customer = s.customer("owner@example.com");
    let a_keys = bulk(&s, &a, 30, json!({"customer_id": customer}));
    bulk(&s, &b, 4, json!({"customer_id": customer}));
    let (st, _) = s.admin(
        "POST",
        &format!("/production/licenses/{}/actions/revoke", a_keys[0]),
        None,
    );
    assert_eq!(st, 200);
    for k in &a_keys[1..] {
        activate(&s, "production", k, "box");
    }
    let b_before = statuses(&s, &b);
    let w = Web::admin(&s);

    let list = unescape(
        &w.get(&format!("/admin/licenses?env=production&product_id={a}"))
            .text(),
    );
    assert!(list.contains("All 30 matching…"), "{list}");
    let page = unescape(
        &w.get(&format!(
            "/admin/licenses/bulk/all?env=production&product_id={a}&sort=key"
        ))
        .text(),
    );
    assert!(
        page.contains("Act on all 30 licenses matching product Matched?"),
        "{page}"
    );

    let form = |action: &str| {
        vec![
            ("env".to_owned(), "production".to_owned()),
            ("product_id".to_owned(), a.clone()),
            ("bulk_action".to_owned(), action.to_owned()),
        ]
    };
    let send = |f: Vec<(String, String)>| {
        let p: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        w.submit("/admin/licenses/bulk/all", &p)
    };
    assert_eq!(send(form("explode")).status, 400);
    let forged = w.post(
        "/admin/licenses/bulk/all",
        &[
            ("csrf", "x"),
            ("env", "production"),
            ("product_id", &a),
            ("bulk_action", "suspend"),
        ],
    );
    assert_eq!(forged.status, 403);
    assert_eq!(statuses(&s, &a).get("active"), Some(&29));

    let r = send(form("suspend"));
    assert_eq!(r.status, 303, "{}", r.text());
    let row = wait_done(
        &w,
        "Suspend 30 licenses matching product Matched (production)",
        "30 / 30",
    );
    assert!(row.contains("1 skipped"), "the revoked one: {row}");
    assert_eq!(
        statuses(&s, &a),
        HashMap::from([("suspended".to_owned(), 29), ("revoked".to_owned(), 1)])
    );
    assert_eq!(statuses(&s, &b), b_before, "another product is untouched");
    assert_eq!(audit_actions(&s, "production", "license.bulk").len(), 1);
    assert_eq!(audit_actions(&s, "production", "license.suspend").len(), 29);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn importing_in_a_real_browser() {
    use crate::browser::{click, el, shot, sign_in_admin, text_of, wait_url};
    let s = Server::start();
    s.product("production", "Importable");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("from-old-system.csv");
    std::fs::write(
        &file,
        "product,key,customer_email,activation_limit,expires_at\n\
         Importable,OLD-0001,buyer@example.com,2,2030-06-30\n\
         Importable,,,unlimited,\n\
         Missing,,,,\n",
    )
    .unwrap();
    let driver = crate::browser::chromedriver();
    let c = crate::browser::browser(&driver, dir.path()).await;
    let shots = crate::browser::screenshot_dir("admin-import");
    let base = s.base.clone();
    sign_in_admin(&c, &base, "/admin/licenses").await;
    click(&c, "#import-licenses").await;
    wait_url(&c, "/admin/licenses/import").await;
    shot(&c, &shots, "00-upload").await;
    el(&c, "#import-file")
        .await
        .send_keys(file.to_str().unwrap())
        .await
        .unwrap();
    click(&c, "#import-check").await;
    wait_url(&c, "/admin/licenses/import/").await;
    assert_eq!(text_of(&c, "#import-valid").await, "2");
    assert_eq!(text_of(&c, "#import-refused").await, "1");
    assert!(text_of(&c, "#import-problems")
        .await
        .contains("product “Missing” is not in production"));
    shot(&c, &shots, "01-preview").await;
    let preview = c.current_url().await.unwrap().to_string();
    // The same preview, dark.
    c.goto(&format!("{base}/admin/settings")).await.unwrap();
    crate::browser::choose(&c, "#theme", "dark").await;
    click(&c, "#appearance-save").await;
    wait_url(&c, "/admin/settings").await;
    c.goto(&preview).await.unwrap();
    shot(&c, &shots, "02-preview-dark").await;
    click(&c, "#import-confirm").await;
    wait_url(&c, "/admin/jobs").await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !text_of(&c, "#jobs").await.contains("2 / 2") {
        assert!(Instant::now() < deadline, "the import did not finish");
        tokio::time::sleep(Duration::from_millis(200)).await;
        c.refresh().await.unwrap();
    }
    shot(&c, &shots, "03-done-dark").await;
    // Every match of a search, in one step from License Keys.
    c.goto(&format!("{base}/admin/licenses?q=OLD-0001"))
        .await
        .unwrap();
    click(&c, "#bulk-all").await;
    wait_url(&c, "/admin/licenses/bulk/all").await;
    assert!(text_of(&c, "#confirm-heading")
        .await
        .contains("Act on all 1 licenses matching search “OLD-0001”"));
    shot(&c, &shots, "04-every-match-dark").await;
    crate::browser::choose(&c, "#bulk-all-action", "revoke").await;
    click(&c, "#bulk-all-confirm").await;
    wait_url(&c, "/admin/jobs").await;
    c.close().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while s.get_license("production", "OLD-0001")["status"] != "revoked" {
        assert!(Instant::now() < deadline, "the job did not revoke it");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn an_import_checked_on_one_node_is_confirmed_and_run_on_another_over_cql() {
    let (a, b) = crate::cluster::two_nodes();
    a.product("production", "Shared Product");
    let csv = "product,key,customer_email\n\
               Shared Product,CQL-IMPORT-1,cql-owner@example.com\n\
               Shared Product,,\n\
               Other,,\n";
    let wa = Web::admin(&a);
    let r = upload(&wa, &wa.csrf(), "cluster.csv", csv.as_bytes());
    assert_eq!(r.status, 303, "{}", r.text());
    let url = r.header("location").unwrap().to_owned();
    // The plan is the store's: the other node shows the same preview.
    let wb = Web::admin(&b);
    let preview = unescape(&wb.get(&url).text());
    assert_eq!(value_of(&preview, "import-valid"), "2");
    assert_eq!(value_of(&preview, "import-refused"), "1");
    assert!(preview.contains("CQL-IMPORT-1"), "{preview}");
    let confirm = format!("{}/confirm", url.split('?').next().unwrap());
    let r = wb.submit(&confirm, &[("env", "production")]);
    assert_eq!(r.status, 303, "{}", r.text());
    wait_done(
        &wb,
        "Import 2 licenses from cluster.csv (production)",
        "2 / 2",
    );
    // Made once, visible through the first node.
    let l = a.get_license("production", "CQL-IMPORT-1");
    assert_eq!(l["status"], "assigned", "{l}");
    assert!(customer_exists(&a, "cql-owner@example.com"));
    assert_eq!(wa.submit(&confirm, &[("env", "production")]).status, 409);
}
