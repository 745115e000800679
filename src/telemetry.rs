//! Logging set-up and the masking that keeps full keys out of every log line.

use tracing_subscriber::{fmt, EnvFilter};

pub use crate::domain::text::{mask_key, truncate_for_message, KEY_VISIBLE_CHARS};

/// Masks the key segment of a request path (`…/licenses/{key}/…`) for access logs.
pub fn mask_path(path: &str) -> String {
    let mut out = Vec::new();
    let mut mask_next = false;
    for seg in path.split('/') {
        if mask_next && !seg.is_empty() && seg != "bulk" && seg != "export" {
            out.push(mask_key(seg));
        } else {
            out.push(seg.to_owned());
        }
        mask_next = seg == "licenses";
    }
    out.join("/")
}

/// Installs the global subscriber: JSON lines or human text, filtered by `RUST_LOG` or `level`.
pub fn init(format: &str, level: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let builder = fmt().with_env_filter(filter).with_target(false);
    let result = if format == "json" {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
    // A second init (tests) keeps the first subscriber.
    let _ = result;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_show_only_their_first_eight_characters() {
        assert_eq!(mask_key("ABCDE-12345-FGHIJ-67890"), "ABCDE-12…");
        assert_eq!(mask_key("SHORT"), "SHORT");
    }

    #[test]
    fn paths_mask_the_key_segment() {
        assert_eq!(
            mask_path("/admin/api/v1/production/licenses/ABCDE-12345-FGHIJ/actions/revoke"),
            "/admin/api/v1/production/licenses/ABCDE-12…/actions/revoke"
        );
        assert_eq!(
            mask_path("/admin/api/v1/production/licenses/bulk"),
            "/admin/api/v1/production/licenses/bulk"
        );
    }
}
