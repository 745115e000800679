//! Issue 14 part 1 in a real browser: an admin adds a webhook endpoint, copies
//! the secret shown once, sends a test event that a real receiver verifies with
//! `standardwebhooks`, reads the delivery log and disables the endpoint.

use crate::browser::{
    browser, chromedriver, click, el, fill, screenshot_dir, shot, text_of, wait_url,
};
use crate::helpers::{Server, ADMIN_EMAIL, ADMIN_PASSWORD};
use crate::hook_receiver::{loopback, Receiver};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_adds_tests_and_disables_a_webhook_in_a_real_browser() {
    let rx = Receiver::start();
    let s = Server::start_with(loopback());
    let driver = chromedriver();
    let downloads = tempfile::tempdir().unwrap();
    let c = browser(&driver, downloads.path()).await;
    let shots = screenshot_dir("admin-webhooks");
    let base = s.base.clone();
    c.goto(&format!("{base}/admin/webhooks")).await.unwrap();
    wait_url(&c, "/admin/login").await;
    fill(&c, "#email", ADMIN_EMAIL).await;
    fill(&c, "#password", ADMIN_PASSWORD).await;
    click(&c, "#sign-in").await;
    wait_url(&c, "/admin/webhooks").await;
    assert!(text_of(&c, "#webhooks")
        .await
        .contains("No webhook endpoints"));
    shot(&c, &shots, "00-empty").await;
    fill(&c, "#hook-url", &rx.url("/browser")).await;
    fill(&c, "#hook-description", "CRM sync").await;
    click(&c, "#webhook-create").await;
    let secret = text_of(&c, "#secret-value").await;
    assert!(secret.starts_with("whsec_"), "{secret}");
    rx.trust(&[&secret]);
    shot(&c, &shots, "01-secret-shown-once").await;
    let row = text_of(&c, "#webhooks tbody tr").await;
    assert!(
        row.contains("CRM sync") && row.contains("All events") && row.contains("enabled"),
        "{row}"
    );
    click(&c, "#webhooks tbody tr a").await;
    wait_url(&c, "/admin/webhooks/").await;
    click(&c, "#hook-test").await;
    let got = rx.wait("the test event from the page", 30, |r| !r.is_empty());
    assert_eq!(got[0]["verified"], true, "{}", got[0]);
    // The log fills in when the page is loaded again.
    let url = c.current_url().await.unwrap();
    let mut log = String::new();
    for _ in 0..50 {
        c.goto(url.as_str()).await.unwrap();
        log = text_of(&c, "#deliveries").await;
        if log.contains("delivered") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(
        log.contains("webhook.test") && log.contains("delivered") && log.contains("200"),
        "{log}"
    );
    shot(&c, &shots, "02-delivery-log").await;
    click(&c, "#hook-toggle").await;
    el(&c, "#hook-state.disabled").await;
    shot(&c, &shots, "03-disabled").await;
    c.close().await.unwrap();
}
