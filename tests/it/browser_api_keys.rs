//! Issue 14 part 2 in a real browser: an admin makes an API key on the API
//! Keys page, copies the token shown once, and revokes the key.

use crate::api_keys::with_token;
use crate::browser::{
    browser, chromedriver, click, el, fill, screenshot_dir, shot, text_of, wait_url,
};
use crate::helpers::{Server, ADMIN_EMAIL, ADMIN_PASSWORD};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_makes_and_revokes_an_api_key_in_a_real_browser() {
    let s = Server::start();
    let driver = chromedriver();
    let downloads = tempfile::tempdir().unwrap();
    let c = browser(&driver, downloads.path()).await;
    let shots = screenshot_dir("admin-api-keys");
    let base = s.base.clone();
    c.goto(&format!("{base}/admin/api-keys")).await.unwrap();
    wait_url(&c, "/admin/login").await;
    fill(&c, "#email", ADMIN_EMAIL).await;
    fill(&c, "#password", ADMIN_PASSWORD).await;
    click(&c, "#sign-in").await;
    wait_url(&c, "/admin/api-keys").await;
    assert!(text_of(&c, "#api-keys").await.contains("No API keys yet"));
    shot(&c, &shots, "00-empty").await;
    fill(&c, "#key-name", "Web shop").await;
    click(&c, "input[name='perm:licenses:read']").await;
    click(&c, "input[name='perm:licenses:write']").await;
    click(&c, "#key-create").await;
    let token = text_of(&c, "#key-value").await;
    assert!(token.starts_with("kw_live_"), "{token}");
    shot(&c, &shots, "01-token-shown-once").await;
    let row = text_of(&c, "#api-keys tbody tr").await;
    assert!(
        row.contains("Web shop") && row.contains("licenses:read, licenses:write"),
        "{row}"
    );
    assert!(row.contains("active"), "{row}");
    let r = with_token(&s, &token, "GET", "/production/licenses", None);
    assert_eq!(r.status, 200, "{}", r.text());
    let r = with_token(&s, &token, "GET", "/customers", None);
    assert_eq!(r.status, 403, "{}", r.text());
    // The token is not on the page any more once it is reloaded.
    c.goto(&format!("{base}/admin/api-keys?env=production"))
        .await
        .unwrap();
    let html = c.source().await.unwrap();
    assert!(!html.contains(&token), "the token is shown again");
    click(&c, "#api-keys tbody tr button").await;
    wait_url(&c, "/admin/api-keys").await;
    el(&c, ".badge.revoked").await;
    shot(&c, &shots, "02-revoked").await;
    let r = with_token(&s, &token, "GET", "/production/licenses", None);
    assert_eq!(r.status, 401, "{}", r.text());
    c.close().await.unwrap();
}
