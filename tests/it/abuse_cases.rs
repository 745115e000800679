//! Issue 15 item 16: abuse cases. A flagged license opens a case with a
//! severity and the refused devices; admins confirm (suspending or revoking
//! in the same step) or dismiss it with a note; the dashboard counts open cases.

use serde_json::{json, Value};

use crate::browser::{browser, chromedriver, fill, screenshot_dir, shot, wait_url};
use crate::helpers::{activate, Server};
use crate::web::Web;

/// Threshold 3: four refused devices open a low case; four more make it high.
fn rule(s: &Server) {
    let (st, v) = s.admin(
        "PUT",
        "/production/settings",
        Some(json!({ "grace_period_days": 7, "abuse": { "enabled": true, "threshold": 3, "window_secs": 3600, "auto_suspend": false } })),
    );
    assert_eq!(st, 200, "{v}");
}

/// A one-seat license with `intruders` distinct devices refused.
fn flagged_license(s: &Server, intruders: usize) -> String {
    let key = s.license("production", 1);
    activate(s, "production", &key, "owner");
    for i in 0..intruders {
        let v = activate(s, "production", &key, &format!("intruder-{i}"));
        assert_eq!(v["code"], "LIMIT_REACHED");
    }
    key
}

fn case_of(s: &Server, key: &str) -> Value {
    for _ in 0..60 {
        let l = s.get_license("production", key);
        if !l["abuse_case"].is_null() {
            return l["abuse_case"].clone();
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("no case on {key}: {}", s.get_license("production", key));
}

fn review(w: &Web, key: &str, decision: &str, note: &str) -> crate::helpers::Resp {
    w.submit(
        &format!("/admin/abuse/{key}/review"),
        &[
            ("env", "production"),
            ("decision", decision),
            ("note", note),
        ],
    )
}

#[test]
fn cases_open_with_severity_and_devices_and_reviews_act_once() {
    let s = Server::start();
    rule(&s);
    let low = flagged_license(&s, 4);
    let high = flagged_license(&s, 8);
    let c = case_of(&s, &low);
    assert_eq!(
        (c["status"].as_str(), c["severity"].as_str()),
        (Some("open"), Some("low"))
    );
    assert_eq!(c["distinct"], 4);
    let devices: Vec<&str> = c["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["identifier"].as_str().unwrap())
        .collect();
    assert_eq!(
        devices,
        ["intruder-0", "intruder-1", "intruder-2", "intruder-3"]
    );
    // Eight refused with a threshold of 3 is over twice it: the case grew to high.
    let mut grown = case_of(&s, &high);
    for _ in 0..60 {
        if grown["severity"] == "high" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        grown = case_of(&s, &high);
    }
    assert_eq!(
        (grown["severity"].as_str(), grown["distinct"].as_u64()),
        (Some("high"), Some(8))
    );

    let admin = Web::admin(&s);
    let dash = admin.get("/admin").text();
    let count = &dash[dash.find("id=\"open-cases\"").unwrap()..];
    assert!(count.contains(">2</a>"), "{}", &count[..120]);
    let page = admin.get("/admin/abuse").text();
    assert!(page.contains(&format!("id=\"case-{low}\"")));
    assert!(page.contains("data-severity=\"high\""));
    assert!(page.contains("intruder-2"));

    // Bad decisions and forged forms change nothing.
    assert_eq!(review(&admin, &low, "delete", "").status, 400);
    let forged = admin.post(
        &format!("/admin/abuse/{low}/review"),
        &[
            ("csrf", "forged"),
            ("env", "production"),
            ("decision", "dismiss"),
        ],
    );
    assert_eq!(forged.status, 403);
    assert_eq!(case_of(&s, &low)["status"], "open");

    // Dismiss: the flag goes, the license stays active.
    let r = review(&admin, &low, "dismiss", "a test lab reinstalling");
    assert_eq!(r.status, 303, "{}", r.text());
    let l = s.get_license("production", &low);
    assert_eq!(
        (l["flagged"].as_bool(), l["status"].as_str()),
        (Some(false), Some("active"))
    );
    assert_eq!(l["abuse_case"]["status"], "dismissed");
    assert_eq!(l["abuse_case"]["note"], "a test lab reinstalling");
    // A reviewed case cannot be reviewed again.
    assert_eq!(review(&admin, &low, "confirm_revoke", "").status, 400);
    assert_eq!(s.get_license("production", &low)["status"], "active");

    // Confirm and suspend in one step: clients are refused from now on.
    let r = review(&admin, &high, "confirm_suspend", "key posted on a forum");
    assert_eq!(r.status, 303, "{}", r.text());
    let l = s.get_license("production", &high);
    assert_eq!(
        (l["status"].as_str(), l["abuse_case"]["status"].as_str()),
        (Some("suspended"), Some("confirmed"))
    );
    let (_, v) = s.client(
        "production",
        "validate",
        json!({"key": high, "identifier": "owner"}),
    );
    assert_eq!(v["valid"], false, "{v}");
    let dash = admin.get("/admin").text();
    let count = &dash[dash.find("id=\"open-cases\"").unwrap()..];
    assert!(count.contains(">0</a>"));
    assert!(admin
        .get("/admin/abuse")
        .text()
        .contains("No abuse case waits"));
    let actions = crate::helpers::audit_actions(&s, "production", "abuse_case.");
    assert!(
        actions.iter().any(|x| x == "abuse_case.dismissed"),
        "{actions:?}"
    );
    assert!(
        actions.iter().any(|x| x == "abuse_case.confirmed_suspend"),
        "{actions:?}"
    );
    // The case survives a restart (it is on the license's record).
    let s = s.restart(Default::default());
    let l = s.get_license("production", &high);
    assert_eq!(l["abuse_case"]["note"], "key posted on a forum");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_abuse_cases_page_in_a_real_browser() {
    let s = Server::start();
    rule(&s);
    let key = flagged_license(&s, 5);
    case_of(&s, &key);
    let driver = chromedriver();
    let downloads = tempfile::tempdir().unwrap();
    let c = browser(&driver, downloads.path()).await;
    let shots = screenshot_dir("admin-abuse");
    let base = s.base.clone();
    crate::browser::sign_in_admin(&c, &base, "/admin/abuse").await;
    shot(&c, &shots, "00-open-case").await;
    fill(&c, &format!("#note-{key}"), "confirmed with the customer").await;
    crate::browser::click(&c, "button[value=confirm_revoke]").await;
    wait_url(&c, "/admin/abuse").await;
    let flash = crate::browser::text_of(&c, "#flash").await;
    assert!(
        flash.contains("confirmed") && flash.contains("revoked"),
        "{flash}"
    );
    shot(&c, &shots, "01-reviewed").await;
    c.close().await.unwrap();
    assert_eq!(s.get_license("production", &key)["status"], "revoked");
}

#[test]
fn the_admin_api_lists_and_reviews_cases() {
    let s = Server::start();
    rule(&s);
    let key = flagged_license(&s, 4);
    case_of(&s, &key);
    let r = s.admin_raw("GET", "/production/abuse-cases", None);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-total-count"), Some("1"));
    let list = r.json();
    assert_eq!(list[0]["key"], json!(key));
    assert_eq!(list[0]["abuse_case"]["severity"], "low");
    let path = format!("/production/licenses/{key}/abuse-case/review");
    let (st, e) = s.admin("POST", &path, Some(json!({"decision": "ban"})));
    assert_eq!(st, 400, "{e}");
    let (st, e) = s.admin(
        "POST",
        &path,
        Some(json!({"decision": "dismiss", "extra": 1})),
    );
    assert_eq!(st, 400, "{e}");
    let (st, l) = s.admin(
        "POST",
        &path,
        Some(json!({"decision": "confirm_revoke", "note": "resold"})),
    );
    assert_eq!(st, 200, "{l}");
    assert_eq!(l["status"], "revoked");
    assert_eq!(l["abuse_case"]["status"], "confirmed");
    let (st, _) = s.admin("POST", &path, Some(json!({"decision": "dismiss"})));
    assert_eq!(st, 400, "reviewed once");
    let (_, list) = s.admin("GET", "/production/abuse-cases", None);
    assert_eq!(list, json!([]));
    let (st, _) = s.admin(
        "POST",
        "/production/licenses/NOPE-NOPE-NOPE/abuse-case/review",
        Some(json!({"decision": "dismiss"})),
    );
    assert_eq!(st, 404);
}
