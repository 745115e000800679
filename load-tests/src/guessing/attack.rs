//! The guessers of `password-guessing`: each reads its form as a browser would
//! (the CSRF pair), then posts wrong passwords back to back until the window ends.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::http::{Client, Endpoint};
use crate::portal::form_encode;
use crate::report::PhaseResult;
use crate::stats::Stats;
use crate::timeline::Timeline;

/// A valid new password for the password-change guesses (never applied: `current` is wrong).
const NEW_PASSWORD: &str = "guessed-new-password-1";

/// `value="..."` of the first `<input name="NAME" value="...">` in `html`.
pub fn input_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

/// The pre-session CSRF pair of a public form: the `Set-Cookie` pair
/// (`name=value`, whatever the name) carrying the form's `csrf` value, and that value.
pub fn pre_csrf(set_cookies: &[String], html: &str) -> Option<(String, String)> {
    let csrf = input_value(html, "csrf").filter(|v| !v.is_empty())?;
    let cookie = set_cookies
        .iter()
        .find(|c| c.split_once('=').is_some_and(|(_, v)| v == csrf))?;
    Some((cookie.clone(), csrf))
}

/// Where a guess goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// `POST /portal/login` with a wrong `password`.
    Login,
    /// `POST /portal/profile/password` of a signed-in customer with a wrong `current`.
    Profile,
}

impl Target {
    /// Even attackers sign in, odd ones change the password.
    pub fn of(attacker: usize) -> Target {
        if attacker.is_multiple_of(2) {
            Target::Login
        } else {
            Target::Profile
        }
    }

    pub fn path(self) -> &'static str {
        match self {
            Target::Login => "/portal/login",
            Target::Profile => "/portal/profile/password",
        }
    }

    /// The answer to a wrong password that was checked.
    pub fn checked(self) -> u16 {
        match self {
            Target::Login => 401,
            Target::Profile => 400,
        }
    }
}

/// The account under attack.
pub struct Victim {
    pub email: String,
    /// `kw_portal=…` of a session signed in before the storm.
    pub session: String,
}

/// What one attacker saw.
pub struct Tally {
    pub stats: Stats,
    pub timeline: Timeline,
    /// Statuses of every answer, warm-up included.
    all: BTreeMap<String, u64>,
    /// Form pages that could not be read (GET failed or had no CSRF pair).
    form_errors: u64,
}

impl Tally {
    fn new(duration: Duration) -> Self {
        Tally {
            stats: Stats::new(),
            timeline: Timeline::new(duration),
            all: BTreeMap::new(),
            form_errors: 0,
        }
    }
}

/// The form's `(Cookie header, csrf field)`, read as a browser would.
async fn read_form(client: &mut Client, t: Target, v: &Victim) -> Result<(String, String), String> {
    let (page, cookie) = match t {
        Target::Login => ("/portal/login", ""),
        Target::Profile => ("/portal/profile", v.session.as_str()),
    };
    let with_cookie = [("Cookie", cookie)];
    let headers = if cookie.is_empty() {
        &[][..]
    } else {
        &with_cookie[..]
    };
    let r = client
        .request("GET", page, headers, b"")
        .await
        .map_err(|e| format!("GET {page}: {e}"))?;
    let status = r.status;
    let html = String::from_utf8_lossy(r.body).into_owned();
    if status != 200 {
        return Err(format!("GET {page}: HTTP {status}"));
    }
    match t {
        Target::Login => pre_csrf(&client.set_cookies, &html),
        Target::Profile => input_value(&html, "csrf").map(|c| (cookie.to_owned(), c)),
    }
    .ok_or_else(|| format!("GET {page}: no CSRF field (and cookie)"))
}

/// One attacker: wrong passwords to `t`, back to back, over `(t0, warmup, duration)`;
/// only guesses sent and answered inside the window are measured.
pub async fn attack(
    ep: Endpoint,
    timeout: Duration,
    t: Target,
    id: usize,
    victim: Arc<Victim>,
    window: (Instant, Duration, Duration),
) -> Tally {
    let (t0, warmup, duration) = window;
    let (start, end) = (t0 + warmup, t0 + warmup + duration);
    let mut client = Client::new(ep, timeout);
    let mut tally = Tally::new(duration);
    let mut form = None;
    let mut n = 0u64;
    tokio::time::sleep_until(t0).await;
    while Instant::now() < end {
        let Some((cookie, csrf)) = &form else {
            match read_form(&mut client, t, &victim).await {
                Ok(f) => form = Some(f),
                Err(_) => {
                    tally.form_errors += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
            continue;
        };
        n += 1;
        let guess = format!("wrong-{id}-{n}");
        let body = match t {
            Target::Login => form_encode(&[
                ("csrf", csrf),
                ("email", &victim.email),
                ("password", &guess),
                ("next", "/portal"),
            ]),
            Target::Profile => form_encode(&[
                ("csrf", csrf),
                ("current", &guess),
                ("new", NEW_PASSWORD),
                ("confirm", NEW_PASSWORD),
            ]),
        };
        let headers = [
            ("Cookie", cookie.as_str()),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ];
        let sent = Instant::now();
        let answer = client
            .request("POST", t.path(), &headers, body.as_bytes())
            .await
            .map(|r| r.status)
            .map_err(|e| e.to_string());
        let done = Instant::now();
        if let Ok(status) = answer {
            *tally.all.entry(status.to_string()).or_default() += 1;
        }
        if sent >= start && done <= end {
            match &answer {
                Ok(status) => {
                    let us = (done - sent).as_micros() as u64;
                    tally.stats.record(us, *status, None);
                    tally.timeline.record(sent - start, us);
                }
                Err(e) => tally.stats.error(e),
            }
        }
        match answer {
            // Refused as CSRF: read the form again (the login pair stays valid after a 401).
            Ok(403) => form = None,
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            Ok(_) => {}
        }
    }
    tally
}

/// Guesses of one target (or all) over the window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Answered in the window.
    pub sent: u64,
    /// Answered as a checked wrong password (401 sign-in, 400 password change).
    pub checked: u64,
    /// Answered 429 (failure limiter or password pool full).
    pub refused: u64,
    /// Anything else (403 CSRF, 303 accepted, 5xx, …).
    pub other: u64,
}

impl Counts {
    pub fn add(self, o: Counts) -> Counts {
        Counts {
            sent: self.sent + o.sent,
            checked: self.checked + o.checked,
            refused: self.refused + o.refused,
            other: self.other + o.other,
        }
    }

    /// A row of the summary table.
    pub fn row(&self, out: &mut String, label: &str, secs: f64) {
        let Counts {
            sent,
            checked,
            refused,
            other,
        } = self;
        let per_s = *checked as f64 / secs.max(1e-9);
        let _ = writeln!(
            out,
            "| {label} | {sent} | {checked} | {refused} | {other} | {per_s:.1} |"
        );
    }
}

/// Figures of target `t` over a window of `secs` seconds: JSON details and counts.
pub fn figures(t: Target, tallies: &[(Target, Tally)], secs: f64) -> (Value, Counts) {
    let mut stats = Stats::new();
    let mut all: BTreeMap<String, u64> = BTreeMap::new();
    let (mut attackers, mut form_errors) = (0, 0);
    for (_, tally) in tallies.iter().filter(|(k, _)| *k == t) {
        attackers += 1;
        form_errors += tally.form_errors;
        stats.merge(&tally.stats);
        for (k, n) in &tally.all {
            *all.entry(k.clone()).or_default() += n;
        }
    }
    let r = PhaseResult::from_stats(t.path(), "", None, attackers, secs, &stats);
    let count = |s: &str| r.statuses.get(s).copied().unwrap_or(0);
    let checked = count(&t.checked().to_string());
    let refused = count("429");
    let counts = Counts {
        sent: r.requests,
        checked,
        refused,
        other: r.requests - checked - refused,
    };
    let v = json!({
        "attackers": attackers,
        "checked_status": t.checked(),
        "counts": counts,
        "checked_per_second": checked as f64 / secs.max(1e-9),
        "form_read_errors": form_errors,
        "statuses_incl_warmup": all,
        "result": r,
    });
    (v, counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_input_values() {
        let html = r#"<form><input type="hidden" name="csrf" value="abc_-1"><input name="next" value="/portal"></form>"#;
        assert_eq!(input_value(html, "csrf").as_deref(), Some("abc_-1"));
        assert_eq!(input_value(html, "next").as_deref(), Some("/portal"));
        assert_eq!(input_value(html, "email"), None);
        assert_eq!(input_value(r#"name="csrf" value="open"#, "csrf"), None);
    }

    #[test]
    fn pre_csrf_pairs_the_field_with_its_cookie() {
        let html = r#"<input type="hidden" name="csrf" value="T0k3n">"#;
        let cookies = vec!["kw_other=zzz".to_string(), "kw_pre=T0k3n".to_string()];
        assert_eq!(
            pre_csrf(&cookies, html),
            Some(("kw_pre=T0k3n".to_string(), "T0k3n".to_string()))
        );
        // No cookie carrying the field's value, or an empty field: no pair.
        assert_eq!(pre_csrf(&cookies[..1], html), None);
        let empty = r#"<input name="csrf" value="">"#;
        assert_eq!(pre_csrf(&["kw_pre=".to_string()], empty), None);
    }

    #[test]
    fn each_target_counts_its_own_checked_status() {
        let mut tally = Tally::new(Duration::from_secs(1));
        for status in [401, 401, 400, 429, 403] {
            tally.stats.record(100, status, None);
        }
        let tallies = [(Target::of(0), tally)];
        let (v, c) = figures(Target::Login, &tallies, 2.0);
        let want = Counts {
            sent: 5,
            checked: 2,
            refused: 1,
            other: 2,
        };
        assert_eq!(c, want);
        assert_eq!(v["checked_per_second"], 1.0);
        assert_eq!(figures(Target::Profile, &tallies, 2.0).1, Counts::default());
        assert_eq!(Target::of(1), Target::Profile);
        assert_eq!(c.add(c).checked, 4);
    }
}
