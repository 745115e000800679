//! Unforgeable, expiring values for the customer portal, all keyed by one
//! secret kept in the store (so every node shares it and a backup carries it):
//! opaque license handles for URLs, signed download links, and single-use
//! invitation and password-reset tokens.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use chrono::{DateTime, TimeZone, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

use crate::domain::Environment;

type HmacSha256 = Hmac<Sha256>;

/// Name of the secret holding the key.
pub const LINK_KEY_SECRET: &str = "portal.link_key";

/// What an account token lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Set the first password (an admin's invitation).
    Invite,
    /// Replace a forgotten password.
    Reset,
}

impl Purpose {
    fn byte(self) -> u8 {
        match self {
            Purpose::Invite => 1,
            Purpose::Reset => 2,
        }
    }
}

/// The kind byte of a second-factor token (after the purposes' 1 and 2).
const SECOND_FACTOR: u8 = 3;

/// The HMAC key and what is derived from it.
#[derive(Clone)]
pub struct LinkKey([u8; 32]);

impl LinkKey {
    pub fn new(bytes: [u8; 32]) -> LinkKey {
        LinkKey(bytes)
    }

    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut m = HmacSha256::new_from_slice(&self.0).expect("any key length");
        for p in parts {
            m.update(&(p.len() as u32).to_be_bytes());
            m.update(p);
        }
        m.finalize().into_bytes().into()
    }

    /// An opaque id for a license in portal URLs (keys never appear in them).
    pub fn license_handle(&self, env: Environment, key: &str) -> String {
        B64.encode(&self.mac(&[b"license", env.as_str().as_bytes(), key.as_bytes()])[..16])
    }

    /// The signature of a download link: path, customer and expiry.
    pub fn download_sig(&self, path: &str, customer: Uuid, exp: i64) -> String {
        hex::encode(self.mac(&[
            b"download",
            path.as_bytes(),
            customer.as_bytes(),
            &exp.to_be_bytes(),
        ]))
    }

    /// Checks a download link; `Err` says why it is refused.
    pub fn check_download(
        &self,
        path: &str,
        customer: Uuid,
        exp: i64,
        sig: &str,
        now: DateTime<Utc>,
    ) -> Result<(), LinkError> {
        let want = self.download_sig(path, customer, exp);
        if !crate::crypto::ct_eq(want.as_bytes(), sig.as_bytes()) {
            return Err(LinkError::Forged);
        }
        if now.timestamp() > exp {
            return Err(LinkError::Expired);
        }
        Ok(())
    }

    /// A token for `customer`, valid until `exp` and only while the password hash
    /// is still `password_hash` (so setting a password uses it up).
    pub fn account_token(
        &self,
        customer: Uuid,
        purpose: Purpose,
        exp: DateTime<Utc>,
        password_hash: Option<&str>,
    ) -> String {
        self.token(customer, purpose.byte(), exp, password_hash)
    }

    /// A token for an admin whose password was right, on the way to their
    /// second factor: valid until `exp` and while the password stays the same.
    pub fn second_factor_token(
        &self,
        admin: Uuid,
        exp: DateTime<Utc>,
        password_hash: &str,
    ) -> String {
        self.token(admin, SECOND_FACTOR, exp, Some(password_hash))
    }

    /// Checks a [`LinkKey::second_factor_token`] against the admin's password hash.
    pub fn check_second_factor_token(
        &self,
        token: &str,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Uuid, LinkError> {
        self.check_token(token, SECOND_FACTOR, Some(password_hash), now)
    }

    fn token(&self, subject: Uuid, kind: u8, exp: DateTime<Utc>, bound: Option<&str>) -> String {
        let mut head = Vec::with_capacity(25);
        head.extend_from_slice(subject.as_bytes());
        head.extend_from_slice(&exp.timestamp().to_be_bytes());
        head.push(kind);
        let mac = self.mac(&[b"account", &head, bound.unwrap_or("").as_bytes()]);
        format!("{}.{}", B64.encode(&head), B64.encode(mac))
    }

    /// The customer a token names, before its signature is checked.
    pub fn token_customer(token: &str) -> Option<Uuid> {
        let (head, _) = token.split_once('.')?;
        let head = B64.decode(head).ok()?;
        (head.len() == 25).then(|| Uuid::from_slice(&head[..16]).ok())?
    }

    /// Checks a token against the customer's current password hash.
    pub fn check_account_token(
        &self,
        token: &str,
        purpose: Purpose,
        password_hash: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Uuid, LinkError> {
        self.check_token(token, purpose.byte(), password_hash, now)
    }

    fn check_token(
        &self,
        token: &str,
        kind: u8,
        password_hash: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Uuid, LinkError> {
        let (head_b64, mac_b64) = token.split_once('.').ok_or(LinkError::Forged)?;
        let head = B64.decode(head_b64).map_err(|_| LinkError::Forged)?;
        let mac = B64.decode(mac_b64).map_err(|_| LinkError::Forged)?;
        if head.len() != 25 || head[24] != kind {
            return Err(LinkError::Forged);
        }
        let want = self.mac(&[b"account", &head, password_hash.unwrap_or("").as_bytes()]);
        if !crate::crypto::ct_eq(&want, &mac) {
            // Either forged, or already used (the password changed since).
            return Err(LinkError::Used);
        }
        let exp = i64::from_be_bytes(head[16..24].try_into().map_err(|_| LinkError::Forged)?);
        let exp = Utc
            .timestamp_opt(exp, 0)
            .single()
            .ok_or(LinkError::Forged)?;
        if now > exp {
            return Err(LinkError::Expired);
        }
        Uuid::from_slice(&head[..16]).map_err(|_| LinkError::Forged)
    }
}

/// Why a link or token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("the link is not valid (it was changed or is incomplete)")]
    Forged,
    #[error("the link has expired")]
    Expired,
    #[error("the link was already used or is no longer valid")]
    Used,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn key() -> LinkKey {
        LinkKey::new([7; 32])
    }

    #[test]
    fn handles_are_stable_opaque_and_per_environment() {
        let k = key();
        let a = k.license_handle(Environment::Production, "AAAA-BBBB");
        assert_eq!(a, k.license_handle(Environment::Production, "AAAA-BBBB"));
        assert_ne!(a, k.license_handle(Environment::Staging, "AAAA-BBBB"));
        assert_ne!(
            a,
            LinkKey::new([8; 32]).license_handle(Environment::Production, "AAAA-BBBB")
        );
        assert!(!a.contains("AAAA"));
        assert_eq!(a.len(), 22);
    }

    #[test]
    fn download_links_refuse_tampering_and_expiry() {
        let k = key();
        let now = Utc::now();
        let c = Uuid::new_v4();
        let exp = now.timestamp() + 900;
        let sig = k.download_sig("/portal/downloads/f1", c, exp);
        assert_eq!(
            k.check_download("/portal/downloads/f1", c, exp, &sig, now),
            Ok(())
        );
        for (path, cust, e) in [
            ("/portal/downloads/f2", c, exp),
            ("/portal/downloads/f1", Uuid::new_v4(), exp),
            ("/portal/downloads/f1", c, exp + 1),
        ] {
            assert_eq!(
                k.check_download(path, cust, e, &sig, now),
                Err(LinkError::Forged)
            );
        }
        assert_eq!(
            k.check_download(
                "/portal/downloads/f1",
                c,
                exp,
                &sig,
                now + Duration::seconds(901)
            ),
            Err(LinkError::Expired)
        );
    }

    #[test]
    fn account_tokens_are_single_use_and_expire() {
        let k = key();
        let now = Utc::now();
        let c = Uuid::new_v4();
        let t = k.account_token(c, Purpose::Invite, now + Duration::days(7), None);
        assert_eq!(LinkKey::token_customer(&t), Some(c));
        assert_eq!(k.check_account_token(&t, Purpose::Invite, None, now), Ok(c));
        assert_eq!(
            k.check_account_token(&t, Purpose::Reset, None, now),
            Err(LinkError::Forged),
            "an invitation is not a reset"
        );
        assert_eq!(
            k.check_account_token(&t, Purpose::Invite, Some("$argon2id$new"), now),
            Err(LinkError::Used),
            "setting a password uses it up"
        );
        assert_eq!(
            k.check_account_token(&t, Purpose::Invite, None, now + Duration::days(8)),
            Err(LinkError::Expired)
        );
        let mut forged = t.clone();
        forged.push('x');
        assert!(k
            .check_account_token(&forged, Purpose::Invite, None, now)
            .is_err());
        assert!(k
            .check_account_token("garbage", Purpose::Invite, None, now)
            .is_err());
    }
}
