//! Ed25519 signing: one key signs per environment at a time (its ring, with
//! the keys a rotation retired, is `keyring.rs`; kept in the store by `app::secrets`).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::hazmat::{raw_sign_byupdate, ExpandedSecretKey};
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256, Sha512};

use std::sync::Arc;

use arc_swap::ArcSwap;

use super::keyring::{EnvKeys, StoredRing};
use crate::domain::Environment;

/// The signing key of one environment and its public identity.
pub struct EnvSigner {
    key: SigningKey,
    /// The secret scalar and nonce prefix, expanded once: a signature per answer
    /// does not hash the key again.
    expanded: ExpandedSecretKey,
    public: VerifyingKey,
    /// First 16 hex digits of SHA-256 over the public key: names the key in headers and files.
    pub key_id: String,
}

impl EnvSigner {
    pub fn new(key: SigningKey) -> Self {
        let digest = Sha256::digest(key.verifying_key().as_bytes());
        EnvSigner {
            key_id: hex::encode(&digest[..8]),
            expanded: ExpandedSecretKey::from(key.as_bytes()),
            public: key.verifying_key(),
            key,
        }
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// The public key as base64 of its 32 raw bytes.
    pub fn public_key_b64(&self) -> String {
        B64.encode(self.key.verifying_key().as_bytes())
    }

    /// The 32 raw bytes of the public key.
    pub fn public_key_bytes(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// The public key as a PEM SubjectPublicKeyInfo, for libraries that want one.
    pub fn public_key_pem(&self) -> String {
        // SPKI prefix for Ed25519 (RFC 8410) followed by the 32-byte key.
        let mut der = vec![
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
        ];
        der.extend_from_slice(self.key.verifying_key().as_bytes());
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            B64.encode(der)
        )
    }

    /// Signs `message` and returns the base64 signature.
    pub fn sign(&self, message: &[u8]) -> String {
        B64.encode(self.key.sign(message).to_bytes())
    }

    /// Signs an answer: the exact body bytes followed by the request's nonce.
    /// Hashes the two parts in place (no copy of the body) with the pre-expanded key.
    pub fn sign_response(&self, body: &[u8], nonce: &str) -> String {
        let signature = raw_sign_byupdate::<Sha512, _>(
            &self.expanded,
            |d| {
                d.update(body);
                d.update(nonce.as_bytes());
                Ok(())
            },
            &self.public,
        );
        match signature {
            Ok(s) => B64.encode(s.to_bytes()),
            // The update above cannot fail; sign the joined bytes the plain way if it did.
            Err(_) => self.sign(&[body, nonce.as_bytes()].concat()),
        }
    }
}

/// Both environments' key rings, swapped whole when a rotation is read (on
/// this node at once, on the others by `app::secrets::refresh`).
pub struct Signers {
    production: ArcSwap<EnvKeys>,
    staging: ArcSwap<EnvKeys>,
}

impl Signers {
    /// The signers of both environments from their stored rings (see
    /// `app::secrets::load_signers`).
    pub fn new(production: &StoredRing, staging: &StoredRing) -> Signers {
        Signers {
            production: ArcSwap::from_pointee(EnvKeys::from_ring(production)),
            staging: ArcSwap::from_pointee(EnvKeys::from_ring(staging)),
        }
    }

    fn slot(&self, env: Environment) -> &ArcSwap<EnvKeys> {
        match env {
            Environment::Production => &self.production,
            Environment::Staging => &self.staging,
        }
    }

    /// The environment's keys as they are now (`.current()` signs).
    pub fn get(&self, env: Environment) -> arc_swap::Guard<Arc<EnvKeys>> {
        self.slot(env).load()
    }

    /// Takes a ring read from the store.
    pub fn replace(&self, env: Environment, ring: &StoredRing) {
        self.slot(env).store(Arc::new(EnvKeys::from_ring(ring)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signature, Verifier};

    #[test]
    fn response_signatures_cover_body_and_nonce() {
        let s = EnvSigner::new(SigningKey::generate(&mut rand::rngs::OsRng));
        let sig = s.sign_response(b"{\"valid\":true}", "n1");
        let raw: [u8; 64] = B64.decode(sig).unwrap().try_into().unwrap();
        let sig = Signature::from_bytes(&raw);
        let vk = s.verifying_key();
        assert!(vk.verify(b"{\"valid\":true}n1", &sig).is_ok());
        assert!(vk.verify(b"{\"valid\":false}n1", &sig).is_err());
        assert!(vk.verify(b"{\"valid\":true}n2", &sig).is_err());
    }

    /// Ed25519 is deterministic: the pre-expanded, streamed signature is the plain one.
    #[test]
    fn pre_expanded_signatures_equal_plain_ones() {
        let s = EnvSigner::new(SigningKey::generate(&mut rand::rngs::OsRng));
        for (body, nonce) in [
            (&b"{}"[..], "x"),
            (b"{\"valid\":true}", "nonce-123"),
            (b"", "n"),
        ] {
            let joined = [body, nonce.as_bytes()].concat();
            assert_eq!(s.sign_response(body, nonce), s.sign(&joined));
        }
    }

    #[test]
    fn pem_wraps_the_raw_key() {
        let s = EnvSigner::new(SigningKey::generate(&mut rand::rngs::OsRng));
        let pem = s.public_key_pem();
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA"));
        assert_eq!(s.key_id.len(), 16);
    }
}
