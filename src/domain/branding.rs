//! The vendor's branding: the name, logo, accent colour and support contact
//! both portals and every mail show. Pure rules; kept in one store record.

use serde::{Deserialize, Serialize};

/// Largest logo accepted (bytes).
pub const MAX_LOGO_BYTES: usize = 200 * 1024;

/// Logo formats accepted, by content type (an SVG is only ever shown in an
/// `<img>`, where it cannot run script, and served with a sandboxing policy).
pub const LOGO_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/webp", "image/svg+xml"];

/// An uploaded logo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Logo {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// What Settings → Branding holds. Empty fields fall back to the product's own names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Branding {
    /// The vendor's name ("Acme Software").
    #[serde(default)]
    pub name: String,
    /// `#rrggbb`, or empty for the default blue.
    #[serde(default)]
    pub accent: String,
    #[serde(default)]
    pub support_email: String,
    #[serde(default)]
    pub support_url: String,
    #[serde(default)]
    pub logo: Option<Logo>,
}

/// Whether `s` is an `http(s)://` address without spaces or quotes (used in links).
pub fn is_web_url(s: &str) -> bool {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    rest.is_some_and(|r| {
        !r.is_empty()
            && s.len() <= 500
            && !s.chars().any(|c| {
                c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '<' | '>' | '`')
            })
    })
}

impl Branding {
    /// Every field outside the rules, as (field, message).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if self.name.chars().count() > 80 || self.name.chars().any(char::is_control) {
            out.push((
                "name",
                "Name must be at most 80 printable characters.".into(),
            ));
        }
        let hex = self.accent.strip_prefix('#').unwrap_or("-");
        let colour = hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit());
        if !(self.accent.is_empty() || colour) {
            out.push(("accent", "Accent colour must look like #2f5bd3.".into()));
        }
        if !self.support_email.is_empty()
            && super::customer::normalize_email(&self.support_email).is_err()
        {
            out.push((
                "support_email",
                "Support email must be a valid email address.".into(),
            ));
        }
        if !self.support_url.is_empty() && !is_web_url(&self.support_url) {
            out.push((
                "support_url",
                "Support page must be an http(s):// address.".into(),
            ));
        }
        if let Some(l) = &self.logo {
            if !LOGO_TYPES.contains(&l.content_type.as_str()) {
                out.push((
                    "logo",
                    "Logo must be a PNG, JPEG, WebP or SVG image.".into(),
                ));
            }
            if l.bytes.is_empty() || l.bytes.len() > MAX_LOGO_BYTES {
                out.push(("logo", "Logo must be at most 200 KB.".into()));
            }
        }
        out
    }

    /// The name shown, or `fallback` when none is set.
    pub fn name_or<'a>(&'a self, fallback: &'a str) -> &'a str {
        if self.name.trim().is_empty() {
            fallback
        } else {
            self.name.trim()
        }
    }

    /// The mail footer: the vendor and how to reach support (empty when neither is set).
    pub fn mail_footer(&self) -> String {
        let contact: Vec<&str> = [self.support_email.as_str(), self.support_url.as_str()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect();
        match (self.name.trim(), contact.is_empty()) {
            ("", true) => String::new(),
            (name, true) => format!("\n-- \n{name}\n"),
            ("", false) => format!("\n-- \nSupport: {}\n", contact.join(" · ")),
            (name, false) => format!("\n-- \n{name}\nSupport: {}\n", contact.join(" · ")),
        }
    }

    /// A short fingerprint of the logo, for cache-busting its URL.
    pub fn logo_version(&self) -> Option<String> {
        let l = self.logo.as_ref()?;
        let sum = l.bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
        });
        Some(format!("{sum:016x}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_field_is_checked() {
        let ok = Branding {
            name: "Acme".into(),
            accent: "#12abEF".into(),
            support_email: "help@acme.test".into(),
            support_url: "https://acme.test/help".into(),
            logo: Some(Logo {
                content_type: "image/png".into(),
                bytes: vec![1, 2, 3],
            }),
        };
        assert!(ok.problems().is_empty());
        assert!(Branding::default().problems().is_empty());
        type Change = fn(&mut Branding);
        let table: [(Change, &str); 7] = [
            (|b| b.name = "x".repeat(81), "name"),
            (|b| b.accent = "red".into(), "accent"),
            (|b| b.accent = "#12345".into(), "accent"),
            (|b| b.support_email = "nope".into(), "support_email"),
            (
                |b| b.support_url = "javascript:alert(1)".into(),
                "support_url",
            ),
            (
                |b| b.logo.as_mut().unwrap().content_type = "text/html".into(),
                "logo",
            ),
            (
                |b| b.logo.as_mut().unwrap().bytes = vec![0; MAX_LOGO_BYTES + 1],
                "logo",
            ),
        ];
        for (change, field) in table {
            let mut b = ok.clone();
            change(&mut b);
            let got: Vec<_> = b.problems().into_iter().map(|(f, _)| f).collect();
            assert_eq!(got, [field]);
        }
    }

    #[test]
    fn urls_footer_and_name_fall_back() {
        for (url, ok) in [
            ("https://a.test/x?y=1", true),
            ("http://a.test", true),
            ("https://", false),
            ("ftp://a.test", false),
            ("https://a.test/\"onmouseover", false),
            ("https://a b", false),
        ] {
            assert_eq!(is_web_url(url), ok, "{url}");
        }
        let mut b = Branding::default();
        assert_eq!(b.mail_footer(), "");
        assert_eq!(b.name_or("Keywarden"), "Keywarden");
        b.name = "Acme".into();
        assert_eq!(b.mail_footer(), "\n-- \nAcme\n");
        b.support_email = "help@acme.test".into();
        assert_eq!(b.mail_footer(), "\n-- \nAcme\nSupport: help@acme.test\n");
        assert_eq!(b.logo_version(), None);
    }
}
