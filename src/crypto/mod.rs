//! Signatures clients can check: signed answers and offline license files.

pub mod offline;
pub mod signing;

pub use signing::{EnvSigner, Signers};
pub mod password;
