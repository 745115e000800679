//! The `portal-browsing` scenario's portal side: customers with passwords and
//! licenses, signed-in sessions, and a closed loop of page views per session.

use std::collections::BTreeMap;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::http::{Client, Endpoint};
use crate::scenario::Admin;
use crate::stats::Stats;
use crate::timeline::Timeline;

/// Customers created, each with this many of the seeded licenses.
const CUSTOMERS: usize = 20;
const LICENSES_PER_CUSTOMER: usize = 10;
/// Admin sessions browsing at once.
const ADMIN_SESSIONS: usize = 4;

/// Signed-in sessions as `Cookie` header values.
pub struct Sessions {
    pub admins: Vec<String>,
    pub customers: Vec<String>,
}

/// What the browsing loop measured.
pub struct Pages {
    pub stats: Stats,
    pub timeline: Timeline,
    pub by_page: BTreeMap<String, u64>,
}

pub(crate) async fn api(
    client: &mut Client,
    token: &str,
    method: &str,
    path: &str,
    body: &Value,
) -> Result<Value, String> {
    let auth = format!("Bearer {token}");
    let bytes = body.to_string();
    let resp = client
        .request(
            method,
            path,
            &[
                ("Authorization", auth.as_str()),
                ("Content-Type", "application/json"),
            ],
            bytes.as_bytes(),
        )
        .await
        .map_err(|e| format!("{method} {path}: {e}"))?;
    if !(200..300).contains(&resp.status) {
        let text = String::from_utf8_lossy(&resp.body[..resp.body.len().min(300)]);
        return Err(format!("{method} {path}: HTTP {}: {text}", resp.status));
    }
    Ok(serde_json::from_slice(resp.body).unwrap_or(Value::Null))
}

pub(crate) fn form_encode(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Signs in through the portal's form; returns the session cookie.
pub async fn sign_in(
    ep: &Endpoint,
    prefix: &str,
    email: &str,
    password: &str,
) -> Result<String, String> {
    let mut client = Client::new(ep.clone(), Duration::from_secs(30));
    let login = format!("{prefix}/login");
    let resp = client
        .request("GET", &login, &[], b"")
        .await
        .map_err(|e| format!("GET {login}: {e}"))?;
    let html = String::from_utf8_lossy(resp.body).into_owned();
    let marker = "name=\"csrf\" value=\"";
    let start = html
        .find(marker)
        .ok_or_else(|| format!("GET {login}: no CSRF field"))?
        + marker.len();
    let csrf = html[start..start + html[start..].find('"').unwrap_or(0)].to_owned();
    let pre = client.set_cookies.join("; ");
    let body = form_encode(&[
        ("csrf", &csrf),
        ("email", email),
        ("password", password),
        ("next", prefix),
    ]);
    let resp = client
        .request(
            "POST",
            &login,
            &[
                ("Cookie", pre.as_str()),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            body.as_bytes(),
        )
        .await
        .map_err(|e| format!("POST {login}: {e}"))?;
    if resp.status != 303 {
        return Err(format!(
            "POST {login} as {email}: HTTP {}{}",
            resp.status,
            refusal_hint(resp.status)
        ));
    }
    let name = if prefix == "/admin" {
        "kw_admin="
    } else {
        "kw_portal="
    };
    client
        .set_cookies
        .iter()
        .find(|c| c.starts_with(name))
        .cloned()
        .ok_or_else(|| format!("POST {login}: no session cookie"))
}

/// Why a sign-in form answered `status` instead of 303, for the error message.
pub fn refusal_hint(status: u16) -> &'static str {
    match status {
        401 => ": wrong email or password (with --target: check --admin-email/--admin-password)",
        403 => ": the form's CSRF check failed (pre-session cookie not accepted)",
        429 => {
            ": sign-in refused by the failure limiter (this address or account is locked \
             after failed sign-ins: limits.login_per_minute/login_burst, \
             limits.account_failures_per_hour/burst) or the password-hash queue is full; \
             wait for the lock-out to pass, or set KEYWARDEN_LIMITS__LOGIN_PER_MINUTE and \
             KEYWARDEN_LIMITS__LOGIN_BURST (e.g. 100000) on every node"
        }
        _ => "",
    }
}

/// Creates the customers, gives each some of `keys`, and signs everyone in
/// (the admin sessions as `admin`).
pub async fn prepare(
    ep: &Endpoint,
    token: &str,
    env: &str,
    keys: &[String],
    admin: &Admin,
) -> Result<Sessions, String> {
    let mut client = Client::new(ep.clone(), Duration::from_secs(30));
    let tag = format!("{:06x}", rand::random::<u32>() & 0xff_ffff);
    let mut customers = Vec::new();
    for i in 0..CUSTOMERS {
        let email = format!("browse-{i}-{tag}@example.com");
        let c = api(
            &mut client,
            token,
            "POST",
            "/admin/api/v1/customers",
            &json!({"email": email, "name": format!("Browsing Customer {i}"), "password": super::scenario::PORTAL_PASSWORD}),
        )
        .await?;
        let id = c["id"].as_str().ok_or("customer without id")?.to_owned();
        for key in keys
            .iter()
            .skip(i * LICENSES_PER_CUSTOMER)
            .take(LICENSES_PER_CUSTOMER)
        {
            api(
                &mut client,
                token,
                "POST",
                &format!("/admin/api/v1/{env}/licenses/{key}/assign"),
                &json!({"customer_id": id}),
            )
            .await?;
        }
        customers.push(email);
    }
    let mut sessions = Sessions {
        admins: Vec::new(),
        customers: Vec::new(),
    };
    for _ in 0..ADMIN_SESSIONS {
        sessions
            .admins
            .push(sign_in(ep, "/admin", &admin.email, &admin.password).await?);
    }
    for email in &customers {
        sessions
            .customers
            .push(sign_in(ep, "/portal", email, super::scenario::PORTAL_PASSWORD).await?);
    }
    Ok(sessions)
}

/// A page an admin opens: (label, path).
fn admin_page(rng: &mut StdRng, pages: u32) -> (&'static str, String) {
    let letters = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789".as_bytes();
    match rng.gen_range(0..6) {
        0 => (
            "admin licenses page N",
            format!("/admin/licenses?page={}", rng.gen_range(1..=pages)),
        ),
        1 => {
            let q: String = (0..2)
                .map(|_| letters[rng.gen_range(0..letters.len())] as char)
                .collect();
            ("admin search", format!("/admin/licenses?q={q}"))
        }
        2 => (
            "admin filter+sort",
            "/admin/licenses?status=active&sort=expires&order=asc".into(),
        ),
        3 => (
            "admin sort customer",
            "/admin/licenses?sort=customer&order=desc".into(),
        ),
        4 => ("admin dashboard", "/admin".into()),
        _ => ("admin customers", "/admin/customers".into()),
    }
}

/// A page a customer opens.
fn customer_page(rng: &mut StdRng) -> (&'static str, String) {
    match rng.gen_range(0..5) {
        0 => ("portal dashboard", "/portal".into()),
        1 => ("portal licenses", "/portal/licenses".into()),
        2 => ("portal search", "/portal/licenses?q=a&status=active".into()),
        3 => ("portal activations", "/portal/activations".into()),
        _ => ("portal downloads", "/portal/downloads".into()),
    }
}

/// Every session views pages one after another (closed loop, `think` apart) over the window
/// `(t0, warmup, duration)`; only views sent and answered inside it count.
pub async fn browse(
    ep: &Endpoint,
    timeout: Duration,
    think: Duration,
    sessions: &Sessions,
    window: (Instant, Duration, Duration),
) -> Result<Pages, String> {
    let (t0, warmup, duration) = window;
    let (start, end) = (t0 + warmup, t0 + warmup + duration);
    let roles = sessions
        .admins
        .iter()
        .map(|c| (true, c.clone()))
        .chain(sessions.customers.iter().map(|c| (false, c.clone())));
    let tasks: Vec<_> = roles
        .map(|(admin, cookie)| {
            let ep = ep.clone();
            tokio::spawn(async move {
                let mut client = Client::new(ep, timeout);
                let mut rng = StdRng::from_entropy();
                let mut stats = Stats::new();
                let mut tl = Timeline::new(duration);
                let mut by_page: BTreeMap<String, u64> = BTreeMap::new();
                tokio::time::sleep_until(t0).await;
                while Instant::now() < end {
                    let (label, path) = if admin {
                        admin_page(&mut rng, 800)
                    } else {
                        customer_page(&mut rng)
                    };
                    let sent = Instant::now();
                    let r = client
                        .request("GET", &path, &[("Cookie", cookie.as_str())], b"")
                        .await
                        .map(|r| r.status);
                    let done = Instant::now();
                    if sent >= start && done <= end {
                        match r {
                            Ok(status) => {
                                let us = (done - sent).as_micros() as u64;
                                stats.record(us, status, None);
                                tl.record(sent - start, us);
                                *by_page.entry(label.to_string()).or_default() += 1;
                            }
                            Err(e) => stats.error(e),
                        }
                    }
                    if !think.is_zero() {
                        // A person reads the page before the next click (±50 %).
                        let jitter = rng.gen_range(0.5..1.5);
                        tokio::time::sleep(think.mul_f64(jitter)).await;
                    }
                }
                (stats, tl, by_page)
            })
        })
        .collect();
    let mut out = Pages {
        stats: Stats::new(),
        timeline: Timeline::new(duration),
        by_page: BTreeMap::new(),
    };
    for t in tasks {
        let (s, tl, by) = t.await.map_err(|e| format!("browsing task failed: {e}"))?;
        out.stats.merge(&s);
        out.timeline.merge(&tl);
        for (k, n) in by {
            *out.by_page.entry(k).or_default() += n;
        }
    }
    Ok(out)
}
