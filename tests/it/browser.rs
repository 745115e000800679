//! End-to-end in a real browser: Debian's headless Chromium driven through
//! chromedriver (WebDriver), clicking through the admin portal as a person
//! would. Screenshots of the main pages go to `$SCREENSHOTS_DIR`
//! (scripts/test sets it to build/screenshots; default target/screenshots).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use super::helpers::{activate, Server, ADMIN_EMAIL, ADMIN_PASSWORD};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// chromedriver on a free port; killed when dropped.
pub struct Driver {
    child: Child,
    pub url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts chromedriver, or fails with what to install.
pub fn chromedriver() -> Driver {
    for bin in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            Path::new(bin).exists(),
            "{bin} is missing: the browser tests need Debian's chromium and chromium-driver (scripts/test installs them)"
        );
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while ureq::get(&format!("{url}/status")).call().is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    Driver { child, url }
}

/// A headless Chromium session that saves downloads into `downloads`.
pub async fn browser(driver: &Driver, downloads: &Path) -> Client {
    let caps = json!({
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,900", "--lang=en-US"],
            "prefs": {
                "download.default_directory": downloads.to_str().unwrap(),
                "download.prompt_for_download": false,
                "download.directory_upgrade": true,
                "safebrowsing.enabled": true
            }
        }
    });
    let serde_json::Value::Object(caps) = caps else {
        unreachable!()
    };
    ClientBuilder::rustls()
        .expect("tls")
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("connect to chromedriver")
}

/// Where screenshots go.
pub fn screenshot_dir(portal: &str) -> PathBuf {
    let base = std::env::var("SCREENSHOTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots"));
    let dir = base.join(portal);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub async fn shot(c: &Client, dir: &Path, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

pub async fn wait_url(c: &Client, part: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let u = c.current_url().await.unwrap().to_string();
        if u.contains(part) {
            return u;
        }
        assert!(Instant::now() < deadline, "URL never contained {part}: {u}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Finds an element, waiting up to 10 s for the page to show it.
pub async fn el(c: &Client, css: &str) -> fantoccini::elements::Element {
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
}

pub async fn text_of(c: &Client, css: &str) -> String {
    el(c, css).await.text().await.unwrap()
}

pub async fn click(c: &Client, css: &str) {
    el(c, css)
        .await
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

pub async fn fill(c: &Client, css: &str, text: &str) {
    let el = el(c, css).await;
    el.clear().await.unwrap();
    el.send_keys(text).await.unwrap();
}

pub async fn choose(c: &Client, css: &str, value: &str) {
    el(c, css)
        .await
        .select_by_value(value)
        .await
        .unwrap_or_else(|e| panic!("select {value} in {css}: {e}"));
}

/// Keys in the licenses table, in order.
async fn table_keys(c: &Client) -> Vec<String> {
    let mut out = Vec::new();
    for row in c
        .find_all(Locator::Css("#licenses tbody tr[data-key]"))
        .await
        .unwrap()
    {
        out.push(row.attr("data-key").await.unwrap().unwrap());
    }
    out
}

async fn wait_file(dir: &Path, suffix: &str) -> PathBuf {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(p) = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.to_string_lossy().ends_with(suffix))
        {
            return p;
        }
        assert!(Instant::now() < deadline, "no {suffix} download in {dir:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn api_license(s: &Server, body: serde_json::Value) -> String {
    let (st, l) = s.admin("POST", "/production/licenses", Some(body));
    assert_eq!(st, 201, "{l}");
    l["key"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_runs_the_license_lifecycle_in_a_real_browser() {
    admin_lifecycle(&Server::start(), "admin").await;
}

/// The admin's browser flow against `s` (one node, or HAProxy in front of
/// several); screenshots go to the `shots` folder.
pub async fn admin_lifecycle(s: &Server, shots: &str) {
    let pro = s.product("production", "Pro Plan");
    let basic = s.product("production", "Basic Tier");
    let (_, p) = s.admin("GET", &format!("/production/products/{pro}"), None);
    let pro_gen = p["default_generator_id"].as_str().unwrap().to_owned();
    let (st, cust) = s.admin(
        "POST",
        "/customers",
        Some(json!({"email": "john@example.com", "name": "John Smith"})),
    );
    assert_eq!(st, 201);
    let john = cust["id"].as_str().unwrap().to_owned();
    let soon = api_license(
        s,
        json!({"product_id": pro, "customer_id": john, "expires_at": (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339()}),
    );
    let later = api_license(
        s,
        json!({"product_id": pro, "customer_id": john, "expires_at": "2032-01-01T00:00:00Z"}),
    );
    let other = api_license(s, json!({"product_id": basic, "customer_id": john}));
    for k in [&soon, &later, &other] {
        activate(s, "production", k, "seed-device");
    }
    let (st, _) = s.admin(
        "POST",
        "/production/licenses/bulk",
        Some(json!({"product_id": basic, "count": 40})),
    );
    assert_eq!(st, 201);

    let driver = chromedriver();
    let downloads = tempfile::tempdir().unwrap();
    let c = browser(&driver, downloads.path()).await;
    let shots = screenshot_dir(shots);
    let base = s.base.clone();

    // Sign in.
    c.goto(&format!("{base}/admin/licenses")).await.unwrap();
    wait_url(&c, "/admin/login").await;
    shot(&c, &shots, "00-sign-in").await;
    fill(&c, "#email", ADMIN_EMAIL).await;
    fill(&c, "#password", ADMIN_PASSWORD).await;
    click(&c, "#sign-in").await;
    wait_url(&c, "/admin/licenses").await;
    shot(&c, &shots, "02-license-keys").await;
    assert!(text_of(&c, "#result-count").await.contains("of 43"));

    // Search by a partial key, from the keyboard shortcut.
    let partial = &later[6..14];
    c.find(Locator::Css("body"))
        .await
        .unwrap()
        .send_keys("/")
        .await
        .unwrap();
    let focused = c
        .execute("return document.activeElement.id", vec![])
        .await
        .unwrap();
    assert_eq!(focused, json!("search"), "/ focuses the search bar");
    c.find(Locator::Css("#search"))
        .await
        .unwrap()
        .send_keys(&format!("{partial}\u{E007}"))
        .await
        .unwrap();
    wait_url(&c, &format!("q={partial}")).await;
    assert_eq!(table_keys(&c).await, vec![later.clone()]);

    // Filter Active + a product.
    c.goto(&format!("{base}/admin/licenses")).await.unwrap();
    choose(&c, "#filter-status", "active").await;
    choose(&c, "#filter-product", &pro).await;
    click(&c, "#apply-filters").await;
    wait_url(&c, "status=active").await;
    let mut got = table_keys(&c).await;
    got.sort();
    let mut want = vec![soon.clone(), later.clone()];
    want.sort();
    assert_eq!(got, want);
    shot(&c, &shots, "03-filtered-active-pro").await;

    // Sort by Expires ascending from the sort modal.
    click(&c, "#sort-button").await;
    choose(&c, "#sort-field", "expires").await;
    click(&c, "#order-asc").await;
    shot(&c, &shots, "04-sort-modal").await;
    click(&c, "#apply-sort").await;
    let url = wait_url(&c, "sort=expires").await;
    assert!(
        url.contains("order=asc") && url.contains("status=active"),
        "{url}"
    );
    assert_eq!(table_keys(&c).await, vec![soon.clone(), later.clone()]);
    let soon_class = c
        .find(Locator::Css(&format!("tr[data-key='{soon}'] .expiry")))
        .await
        .unwrap()
        .attr("class")
        .await
        .unwrap()
        .unwrap();
    assert!(
        soon_class.contains("soon"),
        "amber for within 7 days: {soon_class}"
    );
    // The bookmark reproduces the view in a fresh page load.
    c.goto(&url).await.unwrap();
    assert_eq!(table_keys(&c).await, vec![soon.clone(), later.clone()]);

    // Create a license: a broken field first, then a good form.
    c.goto(&format!("{base}/admin/licenses")).await.unwrap();
    click(&c, "#create-license").await;
    wait_url(&c, "/admin/licenses/new").await;
    choose(&c, "#product_id", &pro).await;
    choose(&c, "#generator_id", &pro_gen).await;
    fill(&c, "#activation_limit", "0").await;
    click(&c, "#create-submit").await;
    let err = text_of(&c, "#error-activation_limit").await;
    assert!(err.contains("1–10000"), "{err}");
    shot(&c, &shots, "05-create-license-error").await;
    fill(&c, "#activation_limit", "2").await;
    click(&c, "#create-submit").await;
    wait_url(&c, "/admin/licenses/").await;
    let key = text_of(&c, "#license-key").await;
    assert_eq!(text_of(&c, "#license-status").await, "available");

    // Assign it to a customer through Edit.
    click(&c, "#action-edit").await;
    wait_url(&c, "/edit").await;
    // The picker: type part of the email, take the choice it offers.
    fill(&c, "#customer_find", "john@").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !text_of(&c, "#customer_found")
        .await
        .contains("john@example.com")
    {
        assert!(Instant::now() < deadline, "the picker offered nothing");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    click(&c, "#customer_found button.picker-choice").await;
    choose(&c, "#customer_id", &john).await;
    click(&c, "#save-license").await;
    wait_url(&c, &format!("/admin/licenses/{key}?")).await;
    assert_eq!(text_of(&c, "#license-status").await, "assigned");
    assert!(text_of(&c, "#license-customer")
        .await
        .contains("john@example.com"));

    // Preview with a device: download the offline file.
    activate(s, "production", &key, "workstation-01");
    c.refresh().await.unwrap();
    assert_eq!(text_of(&c, "#license-status").await, "active");
    shot(&c, &shots, "06-license-preview").await;
    click(&c, "#offline-download").await;
    let file = wait_file(downloads.path(), "-offline.json").await;
    let offline: serde_json::Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    assert!(offline["signature"].as_str().is_some());

    // Suspend and unsuspend, each confirmed in its dialog.
    for (action, after) in [("suspend", "suspended"), ("unsuspend", "active")] {
        click(&c, &format!("#action-{action}")).await;
        wait_url(&c, &format!("/confirm/{action}")).await;
        if action == "suspend" {
            shot(&c, &shots, "07-confirm-suspend").await;
        }
        click(&c, &format!("#confirm-{action}")).await;
        wait_url(&c, &format!("/admin/licenses/{key}?")).await;
        assert_eq!(text_of(&c, "#license-status").await, after);
    }
    // Revoke, after reading what it will do.
    click(&c, "#action-revoke").await;
    wait_url(&c, "/confirm/revoke").await;
    assert!(text_of(&c, "#confirm-dialog")
        .await
        .contains("cannot be undone"));
    shot(&c, &shots, "08-confirm-revoke").await;
    click(&c, "#confirm-revoke").await;
    wait_url(&c, &format!("/admin/licenses/{key}?")).await;
    assert_eq!(text_of(&c, "#license-status").await, "revoked");
    // One node answers at once; behind a load balancer another node may answer,
    // which sees the revocation through the change log (about a second).
    let started = std::time::Instant::now();
    loop {
        let (_, v) = s.client(
            "production",
            "validate",
            json!({"key": key, "identifier": "workstation-01"}),
        );
        if v["code"] == "REVOKED" {
            break;
        }
        assert!(
            started.elapsed().as_secs() < 5,
            "still {v} 5 s after revoking"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // An illegal transition is not offered, and refused when forced through the URL.
    assert!(c.find(Locator::Css("#action-unsuspend")).await.is_err());
    assert!(c.find(Locator::Css("#action-reactivate")).await.is_err());
    c.goto(&format!("{base}/admin/licenses/{key}/confirm/reactivate"))
        .await
        .unwrap();
    assert!(text_of(&c, "#error-detail").await.contains("not possible"));
    shot(&c, &shots, "09-illegal-transition").await;

    // Delete: the dialog warns that it was activated and recommends Revoke.
    c.goto(&format!("{base}/admin/licenses/{key}"))
        .await
        .unwrap();
    click(&c, "#action-delete").await;
    wait_url(&c, "/confirm/delete").await;
    assert!(text_of(&c, "#delete-warning").await.contains("Revoke"));
    click(&c, "#confirm-delete").await;
    wait_url(&c, "/admin/licenses?").await;
    assert!(text_of(&c, "#flash").await.contains("deleted"));
    let (st, _) = s.admin("GET", &format!("/production/licenses/{key}"), None);
    assert_eq!(st, 404);

    // Export the filtered list as CSV.
    c.goto(&format!(
        "{base}/admin/licenses?status=active&product_id={pro}"
    ))
    .await
    .unwrap();
    click(&c, "#export-button").await;
    click(&c, "#export-csv").await;
    let csv = std::fs::read_to_string(wait_file(downloads.path(), ".csv").await).unwrap();
    assert!(csv.starts_with("key,product,"), "{csv}");
    assert_eq!(csv.lines().count(), 3, "{csv}");

    // CSRF: a form posted without the token (as another site would) changes nothing.
    c.goto(&format!("{base}/admin/licenses")).await.unwrap();
    c.execute(
        "const f = document.createElement('form'); f.method = 'post';\
         f.action = '/admin/licenses/' + arguments[0] + '/do/revoke';\
         const e = document.createElement('input'); e.name = 'env'; e.value = 'production'; f.appendChild(e);\
         document.body.appendChild(f); f.submit();",
        vec![json!(other)],
    )
    .await
    .unwrap();
    wait_url(&c, "/do/revoke").await;
    assert!(text_of(&c, "#error-detail").await.contains("CSRF"));
    assert_eq!(s.get_license("production", &other)["status"], "active");

    // The pages around it, for people to look at.
    for (path, name) in [
        ("/admin", "01-dashboard"),
        ("/admin/products", "10-products"),
        ("/admin/customers", "11-customers"),
        (&format!("/admin/customers/{john}") as &str, "12-customer"),
        ("/admin/generators", "13-generators"),
        ("/admin/jobs", "14-jobs"),
        ("/admin/activations", "15-activations"),
        ("/admin/audit", "16-audit"),
        ("/admin/settings", "17-settings"),
        ("/admin/admins", "18-admins"),
    ] {
        c.goto(&format!("{base}{path}")).await.unwrap();
        assert!(c.find(Locator::Css(".topbar h1")).await.is_ok(), "{path}");
        shot(&c, &shots, name).await;
    }
    // Phone width.
    c.set_window_size(390, 844).await.unwrap();
    c.goto(&format!("{base}/admin/licenses")).await.unwrap();
    shot(&c, &shots, "19-license-keys-phone").await;
    c.set_window_size(1280, 900).await.unwrap();

    // Sign out.
    click(&c, "#sign-out").await;
    wait_url(&c, "/admin/login").await;
    c.goto(&format!("{base}/admin/licenses")).await.unwrap();
    wait_url(&c, "/admin/login").await;
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_looks_after_licenses_and_devices_in_a_real_browser() {
    customer_flow(&Server::start(), "customer").await;
}

/// The customer's browser flow against `s` (one node, or HAProxy in front of
/// several); screenshots go to the `shots` folder.
pub async fn customer_flow(s: &Server, shots: &str) {
    let (st, c) = s.admin(
        "POST",
        "/customers",
        Some(json!({"email": "cora@example.com", "name": "Cora Customer", "password": "cora-password-1"})),
    );
    assert_eq!(st, 201);
    let cid = c["id"].as_str().unwrap().to_owned();
    let app = s.product("production", "Desk App");
    let lab = s.product("staging", "Lab Tools");
    let desk = api_license(
        s,
        json!({"product_id": app, "customer_id": cid, "activation_limit": 2, "feature_flags": {"export": true}}),
    );
    let soon = api_license(
        s,
        json!({"product_id": app, "customer_id": cid, "expires_at": (chrono::Utc::now() + chrono::Duration::days(4)).to_rfc3339()}),
    );
    let (st, l) = s.admin(
        "POST",
        "/staging/licenses",
        Some(json!({"product_id": lab, "customer_id": cid})),
    );
    assert_eq!(st, 201, "{l}");
    activate(s, "production", &desk, "old-laptop");
    activate(s, "production", &desk, "office-pc");
    let (_, v) = s.client(
        "production",
        "activate",
        json!({"key": desk, "identifier": "new-laptop"}),
    );
    assert_eq!(v["code"], "LIMIT_REACHED");

    let driver = chromedriver();
    let downloads = tempfile::tempdir().unwrap();
    let c = browser(&driver, downloads.path()).await;
    let shots = screenshot_dir(shots);
    let base = s.base.clone();

    // The admin uploads an installer for the product, in the browser.
    c.goto(&format!("{base}/admin/login")).await.unwrap();
    fill(&c, "#email", super::helpers::ADMIN_EMAIL).await;
    fill(&c, "#password", ADMIN_PASSWORD).await;
    click(&c, "#sign-in").await;
    wait_url(&c, "/admin").await;
    c.goto(&format!("{base}/admin/products/{app}"))
        .await
        .unwrap();
    let installer = downloads.path().join("desk-app-2.1.bin");
    std::fs::write(&installer, b"desk app installer bytes").unwrap();
    fill(&c, "#file-title", "Desk App installer").await;
    fill(&c, "#file-version", "2.1").await;
    el(&c, "#file-file")
        .await
        .send_keys(installer.to_str().unwrap())
        .await
        .unwrap();
    click(&c, "#upload-submit").await;
    assert!(text_of(&c, "#flash").await.contains("uploaded"));
    std::fs::remove_file(&installer).unwrap();
    click(&c, "#sign-out").await;
    wait_url(&c, "/admin/login").await;

    // Sign in to the customer portal.
    c.goto(&format!("{base}/portal/licenses")).await.unwrap();
    wait_url(&c, "/portal/login").await;
    shot(&c, &shots, "00-sign-in").await;
    fill(&c, "#email", "cora@example.com").await;
    fill(&c, "#password", "cora-password-1").await;
    click(&c, "#sign-in").await;
    wait_url(&c, "/portal/licenses").await;
    c.goto(&format!("{base}/portal")).await.unwrap();
    assert_eq!(text_of(&c, "#total-licenses").await, "3");
    assert!(text_of(&c, "#health")
        .await
        .contains("expires within 7 days"));
    shot(&c, &shots, "01-dashboard").await;

    // My Licenses: search and filter.
    click(&c, "#nav-licenses").await;
    wait_url(&c, "/portal/licenses").await;
    shot(&c, &shots, "02-my-licenses").await;
    let rows = c
        .find_all(Locator::Css("#my-licenses tr[data-handle]"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    fill(&c, "#search", "lab tools").await;
    click(&c, "#apply-filters").await;
    wait_url(&c, "q=lab").await;
    assert_eq!(
        c.find_all(Locator::Css("#my-licenses tr[data-handle]"))
            .await
            .unwrap()
            .len(),
        1
    );
    c.goto(&format!("{base}/portal/licenses")).await.unwrap();
    choose(&c, "#filter-status", "active").await;
    click(&c, "#apply-filters").await;
    wait_url(&c, "status=active").await;
    let active = c
        .find_all(Locator::Css("#my-licenses tr[data-handle]"))
        .await
        .unwrap();
    assert_eq!(active.len(), 1);
    assert!(active[0].text().await.unwrap().contains(&desk[..8]));
    let _ = &soon;

    // View Details: the key is masked until copied; the diagnosis explains the full license.
    click(&c, "#my-licenses a.btn").await;
    wait_url(&c, "/portal/licenses/").await;
    let masked = text_of(&c, "#masked-key").await;
    assert!(
        masked.ends_with('…') && !masked.contains(&desk[9..]),
        "{masked}"
    );
    assert_eq!(text_of(&c, "#new-device-code").await, "LIMIT_REACHED");
    shot(&c, &shots, "03-license-details").await;
    click(&c, "#copy-key").await;
    let copied = el(&c, "#copy-key").await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while copied.text().await.unwrap() != "Copied" {
        assert!(Instant::now() < deadline, "the copy button never confirmed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let n = copied.attr("data-copied").await.unwrap().unwrap();
    assert_eq!(n, desk.len().to_string(), "the whole key was copied");

    // Activations: deactivate the old laptop after the prompt; the new one activates.
    click(&c, "#nav-activations").await;
    wait_url(&c, "/portal/activations").await;
    shot(&c, &shots, "04-activations").await;
    click(&c, "tr[data-identifier='old-laptop'] a.btn").await;
    wait_url(&c, "/portal/activations/confirm").await;
    assert!(text_of(&c, "#confirm-dialog")
        .await
        .contains("Deactivate old-laptop?"));
    shot(&c, &shots, "05-confirm-deactivation").await;
    click(&c, "#confirm-deactivate").await;
    wait_url(&c, "/portal/activations").await;
    assert!(text_of(&c, "#flash").await.contains("Its slot is free now"));
    let (_, v) = s.client(
        "production",
        "activate",
        json!({"key": desk, "identifier": "new-laptop"}),
    );
    assert_eq!(v["code"], "VALID", "the freed slot is used at once");

    // Downloads through a signed link.
    click(&c, "#nav-downloads").await;
    wait_url(&c, "/portal/downloads").await;
    shot(&c, &shots, "06-downloads").await;
    let link = el(&c, "a[data-file='desk-app-2.1.bin']").await;
    let href = link.attr("href").await.unwrap().unwrap();
    assert!(href.contains("sig=") && href.contains("exp="), "{href}");
    link.click().await.unwrap();
    let got = wait_file(downloads.path(), "desk-app-2.1.bin").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(std::fs::read(got).unwrap(), b"desk app installer bytes");

    // Profile: a password change.
    click(&c, "#nav-profile").await;
    wait_url(&c, "/portal/profile").await;
    shot(&c, &shots, "07-profile").await;
    fill(&c, "#current", "cora-password-1").await;
    fill(&c, "#new", "cora-password-2").await;
    fill(&c, "#confirm", "cora-password-2").await;
    click(&c, "#password-save").await;
    assert!(text_of(&c, "#flash").await.contains("Password changed"));

    // Sign out; the new password is the one that works.
    click(&c, "#sign-out").await;
    wait_url(&c, "/portal/login").await;
    fill(&c, "#email", "cora@example.com").await;
    fill(&c, "#password", "cora-password-1").await;
    click(&c, "#sign-in").await;
    assert!(text_of(&c, "#login-error").await.contains("Wrong"));
    fill(&c, "#email", "cora@example.com").await;
    fill(&c, "#password", "cora-password-2").await;
    click(&c, "#sign-in").await;
    wait_url(&c, "/portal").await;
    c.set_window_size(390, 844).await.unwrap();
    c.goto(&format!("{base}/portal/licenses")).await.unwrap();
    shot(&c, &shots, "08-my-licenses-phone").await;
    c.set_window_size(1280, 900).await.unwrap();

    // Forgotten password, from the sign-in page to the link in the mail.
    click(&c, "#sign-out").await;
    wait_url(&c, "/portal/login").await;
    click(&c, "#forgot-link").await;
    wait_url(&c, "/portal/forgot").await;
    fill(&c, "#email", "cora@example.com").await;
    shot(&c, &shots, "09-forgot-password").await;
    click(&c, "#forgot-submit").await;
    assert!(text_of(&c, "#forgot-sent")
        .await
        .contains("If an account exists"));
    let mail = super::web::mails(s)
        .into_iter()
        .find(|m| m["kind"] == "reset")
        .expect("a reset mail in the outbox");
    let link = super::web::link_in(mail["body"].as_str().unwrap(), &base);
    c.goto(&link).await.unwrap();
    assert_eq!(text_of(&c, "#password-email").await, "cora@example.com");
    fill(&c, "#new-password", "cora-password-3").await;
    fill(&c, "#confirm-password", "cora-password-3").await;
    shot(&c, &shots, "10-set-password").await;
    click(&c, "#password-submit").await;
    wait_url(&c, "done=password").await;
    assert!(text_of(&c, "#login-notice")
        .await
        .contains("password is set"));
    fill(&c, "#email", "cora@example.com").await;
    fill(&c, "#password", "cora-password-3").await;
    click(&c, "#sign-in").await;
    wait_url(&c, "/portal").await;
    assert_eq!(text_of(&c, "#total-licenses").await, "3");
    c.close().await.unwrap();
}

/// Opens `path` (an admin page), signs in as the test server's admin on the
/// page it is sent to, and waits to be back on `path`.
pub async fn sign_in_admin(c: &Client, base: &str, path: &str) {
    c.goto(&format!("{base}{path}")).await.unwrap();
    wait_url(c, "/admin/login").await;
    fill(c, "#email", ADMIN_EMAIL).await;
    fill(c, "#password", ADMIN_PASSWORD).await;
    click(c, "#sign-in").await;
    wait_url(c, path).await;
}
