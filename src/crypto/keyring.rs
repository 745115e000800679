//! Each environment's signing keys over time: one current key signs, keys
//! retired by a rotation keep verifying until the last offline file they
//! signed has expired, then they are dropped (the ring does not grow with
//! history). The ring is one record in the store, shared by every node.

use chrono::{DateTime, Duration, Utc};
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};

use super::offline::OFFLINE_VALIDITY_HOURS;
use super::EnvSigner;

/// Clock tolerance added to a retired key's verification window.
pub const TOLERANCE_HOURS: i64 = 1;
/// Most retired keys in a window: a further rotation waits (the ring stays small).
pub const MAX_RETIRED: usize = 5;

/// One key as stored: its secret and when it started and stopped signing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredKey {
    pub secret: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
}

/// The stored ring: the current key first, then retired ones, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredRing {
    pub keys: Vec<StoredKey>,
}

/// Until when a key retired at `retired_at` is published for verification:
/// the longest an offline file it signed stays valid, plus a tolerance.
pub fn verify_until(retired_at: DateTime<Utc>) -> DateTime<Utc> {
    retired_at + Duration::hours(OFFLINE_VALIDITY_HOURS + TOLERANCE_HOURS)
}

impl StoredRing {
    /// A ring of one key (the first start, or a key kept from before rotation existed).
    pub fn single(secret: Vec<u8>, now: DateTime<Utc>) -> StoredRing {
        StoredRing {
            keys: vec![StoredKey {
                secret,
                created_at: now,
                retired_at: None,
            }],
        }
    }

    /// The ring after a rotation at `now`: `fresh` is current, the old current
    /// key is retired, and retired keys past their window are dropped. Refused
    /// when [`MAX_RETIRED`] keys would still be in their window.
    pub fn rotated(&self, fresh: Vec<u8>, now: DateTime<Utc>) -> Result<StoredRing, String> {
        let mut keys = vec![StoredKey {
            secret: fresh,
            created_at: now,
            retired_at: None,
        }];
        for k in &self.keys {
            let retired_at = k.retired_at.unwrap_or(now);
            if verify_until(retired_at) > now {
                keys.push(StoredKey {
                    retired_at: Some(retired_at),
                    ..k.clone()
                });
            }
        }
        if keys.len() > MAX_RETIRED + 1 {
            return Err(format!(
                "{MAX_RETIRED} keys retired in the last {} hours still verify offline files; rotate again once the oldest expires",
                OFFLINE_VALIDITY_HOURS + TOLERANCE_HOURS
            ));
        }
        Ok(StoredRing { keys })
    }

    pub fn encode(&self) -> Vec<u8> {
        rmp_serde::to_vec_named(self).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Result<StoredRing, String> {
        let ring: StoredRing = rmp_serde::from_slice(bytes).map_err(|e| e.to_string())?;
        if ring.keys.is_empty() || ring.keys.iter().any(|k| k.secret.len() != 32) {
            return Err("a signing key ring needs keys of 32 bytes".into());
        }
        Ok(ring)
    }
}

/// A key of the ring, ready to sign or to be published.
pub struct RingKey {
    pub signer: EnvSigner,
    pub created_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
}

impl RingKey {
    /// Until when clients should accept it (None: the current key).
    pub fn verify_until(&self) -> Option<DateTime<Utc>> {
        self.retired_at.map(verify_until)
    }
}

/// An environment's keys in memory: `keys[0]` signs.
pub struct EnvKeys {
    keys: Vec<RingKey>,
}

impl EnvKeys {
    /// The ring's keys (a decoded ring is never empty).
    pub fn from_ring(ring: &StoredRing) -> EnvKeys {
        let keys = ring
            .keys
            .iter()
            .filter_map(|k| {
                let arr: [u8; 32] = k.secret.as_slice().try_into().ok()?;
                Some(RingKey {
                    signer: EnvSigner::new(SigningKey::from_bytes(&arr)),
                    created_at: k.created_at,
                    retired_at: k.retired_at,
                })
            })
            .collect();
        EnvKeys { keys }
    }

    /// The ids of every key held, current first (what changed on a rotation).
    pub fn ids(&self) -> Vec<String> {
        self.keys.iter().map(|k| k.signer.key_id.clone()).collect()
    }

    /// The key that signs answers and files now.
    pub fn current(&self) -> &EnvSigner {
        &self.keys[0].signer
    }

    /// Every key clients may meet at `now`: the current one, then retired ones
    /// whose window is open.
    pub fn published(&self, now: DateTime<Utc>) -> impl Iterator<Item = &RingKey> {
        self.keys
            .iter()
            .filter(move |k| k.verify_until().is_none_or(|t| t > now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(b: u8) -> Vec<u8> {
        vec![b; 32]
    }

    #[test]
    fn a_rotation_retires_the_current_key_and_drops_expired_ones() {
        let t0 = Utc::now();
        let ring = StoredRing::single(secret(1), t0);
        let t1 = t0 + Duration::hours(1);
        let r1 = ring.rotated(secret(2), t1).unwrap();
        assert_eq!(r1.keys.len(), 2);
        assert_eq!(r1.keys[0].secret, secret(2));
        assert_eq!(r1.keys[1].retired_at, Some(t1));
        // A second rotation within the window keeps both older keys.
        let t2 = t1 + Duration::hours(2);
        let r2 = r1.rotated(secret(3), t2).unwrap();
        assert_eq!(r2.keys.len(), 3);
        assert_eq!(r2.keys[1].retired_at, Some(t2));
        assert_eq!(r2.keys[2].retired_at, Some(t1), "a retirement time is kept");
        // After the window of key 1 (24 h + 1 h), it is gone; key 2's is still open.
        let t3 = verify_until(t1) + Duration::seconds(1);
        let r3 = r2.rotated(secret(4), t3).unwrap();
        let kept: Vec<u8> = r3.keys.iter().map(|k| k.secret[0]).collect();
        assert_eq!(kept, vec![4, 3, 2]);
        // At most MAX_RETIRED keys in their window: the next rotation is refused.
        let mut r = r3;
        for i in 0..(MAX_RETIRED - 2) {
            r = r.rotated(secret(10 + i as u8), t3).unwrap();
        }
        assert_eq!(r.keys.len(), MAX_RETIRED + 1);
        assert!(r.rotated(secret(99), t3).is_err());
    }

    #[test]
    fn published_keys_are_the_current_and_open_windows_and_encoding_round_trips() {
        let t0 = Utc::now();
        let ring = StoredRing::single(secret(1), t0)
            .rotated(secret(2), t0)
            .unwrap();
        let back = StoredRing::decode(&ring.encode()).unwrap();
        assert_eq!(back, ring);
        let keys = EnvKeys::from_ring(&back);
        assert_eq!(keys.published(t0).count(), 2);
        assert_eq!(
            keys.published(verify_until(t0) + Duration::seconds(1))
                .count(),
            1
        );
        assert_ne!(keys.current().key_id, keys.keys[1].signer.key_id);
        assert!(StoredRing::decode(b"junk").is_err());
        let bad = StoredRing { keys: vec![] }.encode();
        assert!(StoredRing::decode(&bad).is_err());
    }
}
