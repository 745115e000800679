//! Which product releases a license entitles its owner to download.

use std::cmp::Ordering;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// All releases, or those up to a version, or those released up to a date.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Eligibility {
    #[default]
    All,
    UpToVersion {
        version: String,
    },
    ReleasedUntil {
        date: NaiveDate,
    },
}

/// Compares dotted versions numerically where both parts are numbers ("1.10" > "1.9").
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let parts = |s: &str| -> Vec<String> {
        s.trim()
            .trim_start_matches(['v', 'V'])
            .split(['.', '-', '+'])
            .map(str::to_owned)
            .collect()
    };
    let (pa, pb) = (parts(a), parts(b));
    for i in 0..pa.len().max(pb.len()) {
        let x = pa.get(i).map(String::as_str).unwrap_or("0");
        let y = pb.get(i).map(String::as_str).unwrap_or("0");
        let o = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(m), Ok(n)) => m.cmp(&n),
            _ => x.cmp(y),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

impl Eligibility {
    /// Whether a release of `version`, published on `released`, is covered.
    pub fn allows(&self, version: &str, released: NaiveDate) -> bool {
        match self {
            Eligibility::All => true,
            Eligibility::UpToVersion { version: max } => {
                compare_versions(version, max) != Ordering::Greater
            }
            Eligibility::ReleasedUntil { date } => released <= *date,
        }
    }

    /// Plain words for the license details page.
    pub fn describe(&self) -> String {
        match self {
            Eligibility::All => "All versions".into(),
            Eligibility::UpToVersion { version } => format!("Releases up to version {version}"),
            Eligibility::ReleasedUntil { date } => format!("Releases published up to {date}"),
        }
    }

    /// Reads the admin form's two fields (one may be set).
    pub fn from_form(max_version: &str, until: &str) -> Result<Eligibility, String> {
        match (max_version.trim(), until.trim()) {
            ("", "") => Ok(Eligibility::All),
            (v, "") if v.len() <= 40 && !v.chars().any(char::is_whitespace) => {
                Ok(Eligibility::UpToVersion { version: v.into() })
            }
            (_, "") => Err("must be a version like 2.4 (at most 40 characters)".into()),
            ("", d) => NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map(|date| Eligibility::ReleasedUntil { date })
                .map_err(|_| "must be a date (YYYY-MM-DD)".into()),
            _ => Err("set either a version or a date, not both".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn versions_compare_numerically() {
        use Ordering::*;
        for (a, b, o) in [
            ("1.10", "1.9", Greater),
            ("1.9", "1.10", Less),
            ("2.0", "2", Equal),
            ("v2.1", "2.1.0", Equal),
            ("3.0.1", "3.0", Greater),
            ("1.0-beta", "1.0-alpha", Greater),
        ] {
            assert_eq!(compare_versions(a, b), o, "{a} vs {b}");
        }
    }

    #[test]
    fn eligibility_table() {
        let upto = Eligibility::UpToVersion {
            version: "2.4".into(),
        };
        let until = Eligibility::ReleasedUntil {
            date: d("2026-06-30"),
        };
        for (e, version, released, ok) in [
            (&Eligibility::All, "9.9", "2030-01-01", true),
            (&upto, "2.4", "2030-01-01", true),
            (&upto, "2.3.9", "2030-01-01", true),
            (&upto, "2.5", "2020-01-01", false),
            (&upto, "10.0", "2020-01-01", false),
            (&until, "9.0", "2026-06-30", true),
            (&until, "1.0", "2026-07-01", false),
        ] {
            assert_eq!(
                e.allows(version, d(released)),
                ok,
                "{e:?} {version} {released}"
            );
        }
    }

    #[test]
    fn form_fields() {
        assert_eq!(Eligibility::from_form("", ""), Ok(Eligibility::All));
        assert_eq!(
            Eligibility::from_form(" 2.4 ", ""),
            Ok(Eligibility::UpToVersion {
                version: "2.4".into()
            })
        );
        assert!(Eligibility::from_form("2 4", "").is_err());
        assert!(Eligibility::from_form("", "June").is_err());
        assert!(Eligibility::from_form("2.4", "2026-01-01").is_err());
        assert_eq!(
            Eligibility::from_form("", "2026-01-01").unwrap().describe(),
            "Releases published up to 2026-01-01"
        );
    }
}
