//! Issue 15 item 8: the admin dashboard's traffic figures come from counts in
//! the store (a restart keeps them), the 7-day chart shows activations and
//! validations, the top five products are listed, and recent activity reads
//! as sentences.

use serde_json::json;

use crate::helpers::{activate, Opts, Server};
use crate::web::{unescape, Web};

fn card(html: &str, id: &str) -> String {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("{id}: {html}"));
    let from = at + html[at..].find('>').unwrap() + 1;
    html[from..from + html[from..].find('<').unwrap()]
        .trim()
        .to_owned()
}

#[test]
fn traffic_counts_survive_a_restart_and_activity_reads_as_sentences() {
    let mut s = Server::start();
    let key = s.license("production", 5);
    for d in ["dash-1", "dash-2", "dash-3"] {
        activate(&s, "production", &key, d);
    }
    for _ in 0..4 {
        let (_, v) = s.client(
            "production",
            "validate",
            json!({"key": key, "identifier": "dash-1"}),
        );
        assert_eq!(v["valid"], true);
    }
    for _ in 0..2 {
        let (_, v) = s.client(
            "production",
            "validate",
            json!({"key": key, "identifier": "stranger"}),
        );
        assert_eq!(v["valid"], false);
    }
    let (_, v) = s.client(
        "staging",
        "validate",
        json!({"key": "NOPE-NOPE", "identifier": "x"}),
    );
    assert_eq!(v["valid"], false);
    // Settings changed: the feed says what changed.
    let (_, mut settings) = s.admin("GET", "/production/settings", None);
    settings["grace_period_days"] = json!(14);
    let (st, _) = s.admin("PUT", "/production/settings", Some(settings));
    assert_eq!(st, 200);

    // A clean stop writes what was counted; the next start reads it back.
    assert!(s.terminate().success());
    let s = s.restart(Opts::default());
    let w = Web::admin(&s);
    let html = unescape(&w.get("/admin?env=production").text());
    assert_eq!(card(&html, "activations-today"), "3");
    assert_eq!(card(&html, "activations-yesterday"), "yesterday 0");
    assert_eq!(card(&html, "failed-24h"), "2");
    assert!(html.contains("of 6 validations"), "{html}");
    let chart = &html[html.find("id=\"week-chart\"").unwrap()..];
    assert_eq!(chart.matches("class=\"bar bar-act\"").count(), 7);
    assert!(
        chart.contains(": 3 activations</title>") && chart.contains(": 6 validations</title>"),
        "{chart}"
    );
    let feed = &html[html.find("id=\"recent-activity\"").unwrap()..];
    assert!(
        feed.contains("Settings changed: grace period 7 → 14 days"),
        "{feed}"
    );
    assert!(feed.contains("Device activated"), "{feed}");
    assert!(!feed.contains("{\""), "no raw JSON in the feed: {feed}");
    // Staging counted apart.
    let staging = unescape(&w.get("/admin?env=staging").text());
    assert_eq!(card(&staging, "activations-today"), "0");
    assert_eq!(card(&staging, "failed-24h"), "1");
}

#[test]
fn the_dashboard_lists_the_top_five_products() {
    let s = Server::start();
    for (i, name) in ["P-one", "P-two", "P-three", "P-four", "P-five", "P-six"]
        .iter()
        .enumerate()
    {
        let pid = s.product("production", name);
        let (st, v) = s.admin(
            "POST",
            "/production/licenses/bulk",
            Some(json!({"product_id": pid, "count": 10 - i})),
        );
        assert_eq!(st, 201, "{v}");
    }
    let w = Web::admin(&s);
    let html = w.get("/admin?env=production").text();
    let table = &html[html.find("id=\"by-product\"").unwrap()..];
    let table = &table[..table.find("</table>").unwrap()];
    for name in ["P-one", "P-two", "P-three", "P-four", "P-five"] {
        assert!(table.contains(name), "{name}: {table}");
    }
    assert!(!table.contains("P-six"), "only five: {table}");
    assert!(
        table.find("P-one").unwrap() < table.find("P-five").unwrap(),
        "most first"
    );
}
