//! Time-based one-time codes (RFC 6238: SHA-1, 6 digits, 30 s, one step of
//! clock drift either way) for the admins' two-factor sign-in, the recovery
//! codes that stand in for a lost phone, and the enrolment QR code.

use rand::Rng;
use sha2::{Digest, Sha256};
use totp_rs::{Builder, Secret};

/// Bytes of a new shared secret (160 bits, as RFC 4226 recommends).
pub const SECRET_BYTES: usize = 20;
/// How many recovery codes an enrolment hands out.
pub const RECOVERY_CODES: usize = 10;
/// Seconds per code.
pub const STEP_SECS: u64 = 30;

/// A fresh random secret.
pub fn new_secret() -> Vec<u8> {
    let mut b = vec![0u8; SECRET_BYTES];
    rand::thread_rng().fill(&mut b[..]);
    b
}

/// The secret as authenticator apps take it when typed (base32, no padding).
pub fn secret_text(secret: &[u8]) -> String {
    Secret::from(secret.to_vec()).to_base32()
}

/// The step a time falls in.
pub fn step_of(unix_secs: u64) -> u64 {
    unix_secs / STEP_SECS
}

/// The step `code` is right for at `unix_secs` (the current one or one either
/// side), if any. Non-digits (spaces, dashes) in what was typed are ignored.
pub fn matching_step(secret: &[u8], code: &str, unix_secs: u64) -> Option<u64> {
    let digits: String = code.chars().filter(char::is_ascii_digit).collect();
    if digits.len() != 6 {
        return None;
    }
    let totp = Builder::new().with_secret(secret.to_vec()).build().ok()?;
    totp.check(&digits, unix_secs)
}

/// The code of a step (tests and the enrolment check use it).
pub fn code_at(secret: &[u8], unix_secs: u64) -> Option<String> {
    let totp = Builder::new().with_secret(secret.to_vec()).build().ok()?;
    Some(totp.generate(unix_secs).to_string())
}

/// New recovery codes as shown once (`xxxxx-xxxxx`, lower-case base32).
pub fn new_recovery_codes() -> Vec<String> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut s: String = (0..10)
                .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
                .collect();
            s.insert(5, '-');
            s
        })
        .collect()
}

/// What is stored of a recovery code: SHA-256 of it without dashes or spaces,
/// lower-cased (the codes carry 50 random bits; a fast hash suffices).
pub fn recovery_hash(code: &str) -> String {
    let norm: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    hex::encode(Sha256::digest(norm.as_bytes()))
}

/// The `otpauth://` URI an authenticator app reads from the QR code.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits=6&period={STEP_SECS}",
        enc(issuer),
        enc(account),
        secret_text(secret),
        enc(issuer)
    )
}

/// The URI as an SVG QR code (inline in the page; no script, no image request).
pub fn qr_svg(uri: &str) -> Option<String> {
    let code = qrcode::QrCode::new(uri.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color>()
            .min_dimensions(200, 200)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 (the last six digits of its eight).
    #[test]
    fn codes_follow_the_rfc_vectors() {
        let secret = b"12345678901234567890";
        for (t, want) in [
            (59u64, "287082"),
            (1111111109, "081804"),
            (1234567890, "005924"),
            (2000000000, "279037"),
        ] {
            assert_eq!(code_at(secret, t).unwrap(), want, "{t}");
            assert_eq!(matching_step(secret, want, t), Some(step_of(t)));
        }
    }

    #[test]
    fn one_step_of_drift_is_allowed_and_no_more() {
        let s = new_secret();
        let now = 1_700_000_000;
        let code = code_at(&s, now).unwrap();
        assert_eq!(matching_step(&s, &code, now + 30), Some(step_of(now)));
        assert_eq!(matching_step(&s, &code, now - 30), Some(step_of(now)));
        assert_eq!(matching_step(&s, &code, now + 90), None);
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert_eq!(matching_step(&s, &spaced, now), Some(step_of(now)));
        for bad in ["", "12345", "1234567", "abcdef"] {
            assert_eq!(matching_step(&s, bad, now), None, "{bad}");
        }
    }

    #[test]
    fn recovery_codes_are_distinct_and_hash_the_same_however_typed() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let mut set = codes.clone();
        set.sort();
        set.dedup();
        assert_eq!(set.len(), RECOVERY_CODES);
        let c = &codes[0];
        assert_eq!(c.len(), 11);
        assert_eq!(
            recovery_hash(c),
            recovery_hash(&c.to_uppercase().replace('-', " "))
        );
        assert_ne!(recovery_hash(c), recovery_hash(&codes[1]));
    }

    #[test]
    fn the_uri_and_qr_code_carry_the_secret() {
        let s = new_secret();
        let uri = otpauth_uri("Keywarden Ltd", "ann@example.com", &s);
        assert!(uri.starts_with("otpauth://totp/Keywarden%20Ltd:ann%40example.com?secret="));
        assert!(uri.contains(&secret_text(&s)));
        let svg = qr_svg(&uri).unwrap();
        assert!(svg.contains("<svg") && svg.contains("</svg>"));
    }
}
