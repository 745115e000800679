//! RFC 3339 times in client answers, written without the formatting machinery.
//!
//! chrono serialises a time through `Display`, which serde_json then escapes
//! piece by piece; every client answer carries one, and under `wrk-ab` that was
//! a visible share of an answer's CPU. The text is the same as chrono's
//! (`SecondsFormat::AutoSi` with `Z`): the fraction has 0, 3, 6 or 9 digits.
//! Times chrono would write otherwise (years outside 0–9999, leap seconds) are
//! left to chrono.

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::Serializer;

/// Longest text: `9999-12-31T23:59:59.123456789Z`.
const MAX: usize = 30;

/// Serialises a time as chrono does, faster.
pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    match write(t) {
        Some((buf, len)) => s.serialize_str(std::str::from_utf8(&buf[..len]).unwrap_or_default()),
        None => serde::Serialize::serialize(t, s),
    }
}

/// [`serialize`] for an answer's optional expiry (`None`: no such field, skipped
/// by the caller; `Some(None)`: lifetime, `null`).
pub fn serialize_expiry<S: Serializer>(
    t: &Option<Option<DateTime<Utc>>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match t {
        Some(Some(t)) => serialize(t, s),
        _ => s.serialize_none(),
    }
}

/// The text in a buffer, or `None` when chrono must write it.
fn write(t: &DateTime<Utc>) -> Option<([u8; MAX], usize)> {
    let d = t.naive_utc();
    let (year, nanos) = (d.year(), d.nanosecond());
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        return None;
    }
    let mut buf = [0u8; MAX];
    let mut at = 0;
    let mut put = |n: u32, width: usize, after: Option<u8>| {
        let mut n = n;
        for i in (0..width).rev() {
            buf[at + i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
        at += width;
        if let Some(c) = after {
            buf[at] = c;
            at += 1;
        }
    };
    put(year as u32, 4, Some(b'-'));
    put(d.month(), 2, Some(b'-'));
    put(d.day(), 2, Some(b'T'));
    put(d.hour(), 2, Some(b':'));
    put(d.minute(), 2, Some(b':'));
    let (digits, value) = match nanos {
        0 => (0, 0),
        n if n % 1_000_000 == 0 => (3, n / 1_000_000),
        n if n % 1_000 == 0 => (6, n / 1_000),
        n => (9, n),
    };
    if digits == 0 {
        put(d.second(), 2, Some(b'Z'));
    } else {
        put(d.second(), 2, Some(b'.'));
        put(value, digits, Some(b'Z'));
    }
    Some((buf, at))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn ours(t: &DateTime<Utc>) -> String {
        serialize(t, serde_json::value::Serializer)
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn chronos(t: &DateTime<Utc>) -> String {
        serde_json::to_value(t)
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Every fraction width, the ends of the range and the fallbacks read as chrono writes them.
    #[test]
    fn same_text_as_chrono() {
        let base = Utc.with_ymd_and_hms(2026, 12, 7, 1, 2, 3).unwrap();
        for nanos in [
            0,
            1,
            999,
            1_000,
            120_000,
            5_000_000,
            123_456_789,
            999_999_999,
        ] {
            let t = base + chrono::Duration::nanoseconds(nanos);
            assert_eq!(ours(&t), chronos(&t), "{nanos}");
        }
        for t in [
            Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(-1, 6, 1, 0, 0, 0).unwrap(),
        ] {
            assert_eq!(ours(&t), chronos(&t), "{t:?}");
        }
        assert_eq!(ours(&base), "2026-12-07T01:02:03Z");
    }

    proptest! {
        #[test]
        fn any_time_reads_as_chrono_writes_it(secs in -62_000_000_000i64..260_000_000_000, nanos in 0u32..1_000_000_000) {
            let t = DateTime::from_timestamp(secs, nanos).unwrap();
            prop_assert_eq!(ours(&t), chronos(&t));
        }
    }
}
