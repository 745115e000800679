//! How user input and keys appear in messages and logs: short and masked.
//! One copy, used by the domain's own errors, the logs and the pages.

/// How many characters of a key logs, metrics and pages may show.
pub const KEY_VISIBLE_CHARS: usize = 8;

/// `ABCDE-12…` style: the first 8 characters and an ellipsis.
pub fn mask_key(key: &str) -> String {
    let visible: String = key.chars().take(KEY_VISIBLE_CHARS).collect();
    if key.chars().count() > KEY_VISIBLE_CHARS {
        format!("{visible}…")
    } else {
        visible
    }
}

/// Keeps user input quoted in an error message short.
pub fn truncate_for_message(s: &str) -> String {
    const MAX: usize = 40;
    if s.chars().count() > MAX {
        format!("{}…", s.chars().take(MAX).collect::<String>())
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_masked_and_input_is_shortened() {
        assert_eq!(mask_key("ABCDE-12345-FGHIJ"), "ABCDE-12…");
        assert_eq!(mask_key("SHORT"), "SHORT");
        assert_eq!(truncate_for_message(&"x".repeat(50)).chars().count(), 41);
    }
}
