//! Signatures clients can check: signed answers and offline license files.

pub mod keyring;
pub mod offline;
pub mod signing;
pub mod totp;

pub use signing::{EnvSigner, Signers};
pub mod password;

/// Compares secrets (tokens, MACs) in time that does not depend on where they differ.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
