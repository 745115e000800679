//! How the portals show values: dates, expiry warnings, activation counts, masked keys.

use chrono::{DateTime, Utc};

/// Minutes-precision UTC time, the portal's standard.
pub fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

pub fn date(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

/// "Never" for a missing time.
pub fn time_or_never(t: Option<DateTime<Utc>>) -> String {
    t.map(time).unwrap_or_else(|| "Never".into())
}

/// The expiry column: its text and its warning class (`past` red, `soon` amber).
pub fn expiry(expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> (String, &'static str) {
    match expires_at {
        None => ("Lifetime".into(), "lifetime"),
        Some(t) if t <= now => (date(t), "past"),
        Some(t) if t <= now + chrono::Duration::days(7) => (date(t), "soon"),
        Some(t) => (date(t), "later"),
    }
}

/// A span of seconds as people say it: "15 minutes", "1 hour", "90 seconds",
/// "2 days" (the largest unit that divides it).
pub fn span(secs: u64) -> String {
    let (n, unit) = match secs {
        s if s >= 86_400 && s % 86_400 == 0 => (s / 86_400, "day"),
        s if s >= 3_600 && s % 3_600 == 0 => (s / 3_600, "hour"),
        s if s >= 60 && s % 60 == 0 => (s / 60, "minute"),
        s => (s, "second"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// "2 / 5", or "2 / ∞" for unlimited.
pub fn activations(in_use: u32, limit: i32) -> String {
    if limit < 0 {
        format!("{in_use} / ∞")
    } else {
        format!("{in_use} / {limit}")
    }
}

pub use crate::domain::text::mask_key;

/// Percent-encodes a query value.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `a=1&b=2` from pairs, skipping empty values (so bookmarks stay short).
pub fn query(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", url_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    #[test]
    fn spans_read_as_people_say_them() {
        for (secs, text) in [
            (900, "15 minutes"),
            (60, "1 minute"),
            (3_600, "1 hour"),
            (5_400, "90 minutes"),
            (90, "90 seconds"),
            (1, "1 second"),
            (172_800, "2 days"),
        ] {
            assert_eq!(super::span(secs), text);
        }
    }

    use super::*;
    use chrono::TimeZone;

    #[test]
    fn expiry_classes() {
        let now = Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).unwrap();
        let d = chrono::Duration::days;
        let cases = [
            (None, "Lifetime", "lifetime"),
            (Some(now - d(1)), "2026-11-23", "past"),
            (Some(now), "2026-11-24", "past"),
            (Some(now + d(3)), "2026-11-27", "soon"),
            (Some(now + d(7)), "2026-12-01", "soon"),
            (Some(now + d(8)), "2026-12-02", "later"),
        ];
        for (at, text, class) in cases {
            assert_eq!(expiry(at, now), (text.to_string(), class), "{at:?}");
        }
    }

    #[test]
    fn small_formats() {
        assert_eq!(activations(2, 5), "2 / 5");
        assert_eq!(activations(0, -1), "0 / ∞");
        assert_eq!(mask_key("ABCDEFGH-IJKL"), "ABCDEFGH…");
        assert_eq!(mask_key("ABC"), "ABC");
        assert_eq!(url_encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
        assert_eq!(
            query(&[("q", "x y"), ("status", ""), ("page", "2")]),
            "q=x%20y&page=2"
        );
        assert_eq!(time_or_never(None), "Never");
    }
}

/// Minutes-precision time in the viewer's zone ("2026-11-24 13:00 CET").
pub fn time_in(t: DateTime<Utc>, tz: chrono_tz::Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string()
}

/// The date in the viewer's zone.
pub fn date_in(t: DateTime<Utc>, tz: chrono_tz::Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d").to_string()
}

/// A zone name from a profile, UTC when unknown.
pub fn zone(name: &str) -> chrono_tz::Tz {
    name.parse().unwrap_or(chrono_tz::UTC)
}

#[cfg(test)]
mod zone_tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_follow_the_viewers_zone() {
        let t = Utc.with_ymd_and_hms(2026, 11, 24, 23, 30, 0).unwrap();
        assert_eq!(time_in(t, zone("UTC")), "2026-11-24 23:30 UTC");
        assert_eq!(time_in(t, zone("Europe/Berlin")), "2026-11-25 00:30 CET");
        assert_eq!(date_in(t, zone("America/New_York")), "2026-11-24");
        assert_eq!(zone("Mars/Olympus"), chrono_tz::UTC);
    }
}
