//! Issue 15 item 21: admin two-factor sign-in (TOTP, RFC 6238) with recovery
//! codes, optional per admin and required when Settings say so.

use std::process::Command;

use keywarden::crypto::totp::code_at;

use crate::browser::{browser, chromedriver, click, fill, screenshot_dir, shot, text_of, wait_url};
use crate::helpers::{Server, ADMIN_EMAIL, ADMIN_PASSWORD};
use crate::web::{input_value, unescape, Web};

fn now() -> u64 {
    chrono::Utc::now().timestamp() as u64
}

/// Base32 (RFC 4648, no padding) as authenticator apps read the key.
fn base32_decode(s: &str) -> Vec<u8> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits = 0u64;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.trim_end_matches('=').bytes() {
        let v = A.iter().position(|&x| x == c).expect("base32 digit") as u64;
        bits = (bits << 5) | v;
        n += 5;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}

/// The current code as another implementation computes it (Python's stdlib:
/// hmac + struct, RFC 6238), from the key exactly as the page shows it.
fn python_code(key: &str, at: u64) -> String {
    let script = r#"
import base64, hmac, hashlib, struct, sys
key = base64.b32decode(sys.argv[1] + "=" * (-len(sys.argv[1]) % 8))
mac = hmac.new(key, struct.pack(">Q", int(sys.argv[2]) // 30), hashlib.sha1).digest()
o = mac[-1] & 15
print("%06d" % ((struct.unpack(">I", mac[o:o + 4])[0] & 0x7fffffff) % 1000000))
"#;
    let out = Command::new("python3")
        .args(["-c", script, key, &at.to_string()])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let i = html
        .find(start)
        .unwrap_or_else(|| panic!("{start} in {html}"))
        + start.len();
    &html[i..i + html[i..].find(end).unwrap()]
}

/// Posts a form with the CSRF token of the two-factor page (the one page an
/// admin required to set it up can open).
fn post(w: &Web, path: &str, form: &[(&str, &str)]) -> crate::helpers::Resp {
    let csrf = input_value(&w.get("/admin/two-factor").text(), "csrf").expect("csrf");
    let mut f = form.to_vec();
    f.push(("csrf", &csrf));
    w.post(path, &f)
}

/// Sets up two-factor sign-in for the signed-in admin `w`; answers the key
/// and the recovery codes.
fn enrol(w: &Web) -> (String, Vec<String>) {
    let r = post(w, "/admin/two-factor/setup", &[]);
    assert_eq!(r.status, 303, "{}", r.text());
    let page = w.get("/admin/two-factor").text();
    assert!(page.contains("<svg"), "a QR code: {page}");
    let key = between(&page, "id=\"two-factor-secret\">", "<").to_owned();
    let wrong = post(w, "/admin/two-factor/confirm", &[("code", "000000")]);
    assert_eq!(wrong.status, 400);
    assert!(wrong.text().contains("id=\"error-code\""));
    let code = python_code(&key, now());
    assert_eq!(code, code_at(&base32_decode(&key), now()).unwrap());
    let ok = post(w, "/admin/two-factor/confirm", &[("code", &code)]);
    assert_eq!(ok.status, 200, "{}", ok.text());
    let html = ok.text();
    let list = between(&html, "<ul class=\"codes mono\">", "</ul>");
    let codes: Vec<String> = list
        .split("<li>")
        .skip(1)
        .map(|c| unescape(&c[..c.find("</li>").unwrap()]))
        .collect();
    assert_eq!(codes.len(), 10);
    (key, codes)
}

/// Password, then the code page; answers the code page's response.
fn sign_in_with(s: &Server, email: &str, password: &str, code: &str) -> (Web, u16) {
    let w = Web::new(s);
    let r = w.login(email, password);
    assert_eq!(r.status, 303, "{}", r.text());
    let to = r.header("location").unwrap().to_owned();
    assert!(to.starts_with("/admin/login/code"), "{to}");
    assert_eq!(
        w.get("/admin/licenses").status,
        303,
        "no session before the code"
    );
    let page = w.get(&to);
    assert_eq!(page.status, 200);
    let csrf = input_value(&page.text(), "csrf").unwrap();
    let r = w.post(
        "/admin/login/code",
        &[("csrf", &csrf), ("code", code), ("next", "/admin")],
    );
    let status = r.status;
    (w, status)
}

#[test]
fn codes_sign_in_once_recovery_codes_once_and_settings_can_require_it() {
    let s = Server::start();
    let w = Web::admin(&s);
    assert!(w
        .get("/admin/two-factor")
        .text()
        .contains("id=\"two-factor-setup\""));
    let (key, recovery) = enrol(&w);
    let secret = base32_decode(&key);
    assert!(w.get("/admin/admins").text().contains("badge active\">on"));

    // The code used to turn it on cannot sign in again; the next one can.
    let used = code_at(&secret, now()).unwrap();
    let (_, st) = sign_in_with(&s, ADMIN_EMAIL, ADMIN_PASSWORD, &used);
    assert_eq!(st, 401, "a code works once");
    let next = code_at(&secret, now() + 30).unwrap();
    let (signed, st) = sign_in_with(&s, ADMIN_EMAIL, ADMIN_PASSWORD, &next);
    assert_eq!(st, 303);
    assert_eq!(signed.get("/admin/licenses").status, 200);
    // A recovery code works once, typed in capitals or without the dash.
    let typed = recovery[0].to_uppercase().replace('-', "");
    let (_, st) = sign_in_with(&s, ADMIN_EMAIL, ADMIN_PASSWORD, &typed);
    assert_eq!(st, 303);
    let (_, st) = sign_in_with(&s, ADMIN_EMAIL, ADMIN_PASSWORD, &recovery[0]);
    assert_eq!(st, 401);
    assert!(w
        .get("/admin/two-factor")
        .text()
        .contains("9 recovery codes left"));
    // A wrong password never reaches the code page; a forged token goes back.
    assert_eq!(
        Web::new(&s).login(ADMIN_EMAIL, "wrong-password-9").status,
        401
    );
    let forged = Web::new(&s);
    let page = forged.get("/admin/login");
    let csrf = input_value(&page.text(), "csrf").unwrap();
    let r = forged.post("/admin/login/code", &[("csrf", &csrf), ("code", &next)]);
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/admin/login"));

    // A second admin; Settings then require two-factor sign-in for everyone.
    let r = w.submit(
        "/admin/admins",
        &[
            ("name", "Second"),
            ("email", "second@test.local"),
            ("role", "full"),
            ("password", "second-password-1"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let second = Web::new(&s);
    assert_eq!(
        second
            .login("second@test.local", "second-password-1")
            .status,
        303
    );
    let settings = w.get("/admin/settings?env=production").text();
    let mut form: Vec<(String, String)> = ["grace_period_days", "threshold", "window_minutes"]
        .iter()
        .map(|f| (f.to_string(), input_value(&settings, f).unwrap()))
        .collect();
    form.push(("admin_two_factor_required".into(), "on".into()));
    form.push(("env".into(), "production".into()));
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = w.submit("/admin/settings", &pairs);
    assert_eq!(r.status, 303, "{}", r.text());
    // The second admin is sent to set it up from every page, writes included.
    let r = second.get("/admin/licenses");
    assert_eq!(r.status, 303);
    assert!(
        r.header("location")
            .unwrap()
            .starts_with("/admin/two-factor"),
        "{:?}",
        r.header("location")
    );
    let write = post(
        &second,
        "/admin/customers",
        &[("email", "x@example.com"), ("env", "production")],
    );
    assert_eq!(write.status, 303);
    assert!(write
        .header("location")
        .unwrap()
        .starts_with("/admin/two-factor"));
    assert!(second
        .get("/admin/two-factor")
        .text()
        .contains("id=\"two-factor-required\""));
    let (second_key, _) = enrol(&second);
    assert!(!second_key.is_empty());
    assert_eq!(second.get("/admin/licenses").status, 200);
    // While required, turning it off is refused.
    let code = code_at(&secret, now() + 30).unwrap();
    assert_eq!(
        w.submit("/admin/two-factor/off", &[("code", &code)]).status,
        409
    );

    // The first admin resets the second's (a lost phone): their sessions end.
    // The only reset button on the first admin's page is the second's.
    let page = w.get("/admin/admins").text();
    let reset = page.find("/two-factor/reset").expect("a reset button");
    let start = page[..reset].rfind("/admin/admins/").unwrap() + 14;
    let second_id = page[start..reset].to_owned();
    let r = w.submit(
        &format!("/admin/admins/{second_id}/two-factor/reset"),
        &[("env", "production")],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(second.get("/admin/two-factor").status, 303, "signed out");
    let actions = crate::helpers::audit_actions(&s, "production", "admin.");
    for a in [
        "admin.two_factor_enabled",
        "admin.recovery_code_used",
        "admin.two_factor_reset",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a}: {actions:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_enrols_and_signs_in_with_a_code_in_a_real_browser() {
    let s = Server::start();
    let driver = chromedriver();
    let downloads = tempfile::tempdir().unwrap();
    let c = browser(&driver, downloads.path()).await;
    let shots = screenshot_dir("admin-two-factor");
    let base = s.base.clone();
    crate::browser::sign_in_admin(&c, &base, "/admin/two-factor").await;
    shot(&c, &shots, "00-off").await;
    click(&c, "#two-factor-setup").await;
    wait_url(&c, "/admin/two-factor").await;
    let key = text_of(&c, "#two-factor-secret").await;
    shot(&c, &shots, "01-scan").await;
    fill(&c, "#code", &python_code(&key, now())).await;
    click(&c, "#two-factor-confirm-submit").await;
    assert!(text_of(&c, "#recovery-codes")
        .await
        .contains("shown only now"));
    shot(&c, &shots, "02-recovery-codes").await;
    // Sign out, sign in again: the code page after the password.
    c.goto(&format!("{base}/admin/settings")).await.unwrap();
    click(&c, "#sign-out").await;
    wait_url(&c, "/admin/login").await;
    fill(&c, "#email", ADMIN_EMAIL).await;
    fill(&c, "#password", ADMIN_PASSWORD).await;
    click(&c, "#sign-in").await;
    wait_url(&c, "/admin/login/code").await;
    shot(&c, &shots, "03-code-page").await;
    fill(&c, "#code", &python_code(&key, now() + 30)).await;
    click(&c, "#code-submit").await;
    wait_url(&c, "/admin").await;
    c.goto(&format!("{base}/admin/two-factor")).await.unwrap();
    assert!(text_of(&c, "#two-factor-status")
        .await
        .contains("10 recovery codes left"));
    // Dark theme of the same page.
    c.goto(&format!("{base}/admin/settings")).await.unwrap();
    crate::browser::choose(&c, "#theme", "dark").await;
    click(&c, "#appearance-save").await;
    wait_url(&c, "/admin/settings").await;
    c.goto(&format!("{base}/admin/two-factor")).await.unwrap();
    shot(&c, &shots, "04-on-dark").await;
    c.close().await.unwrap();
}
