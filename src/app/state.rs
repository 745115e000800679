//! What every handler shares.

use std::sync::Arc;

use parking_lot::RwLock;
use sha2::{Digest, Sha256};

use crate::config::Settings;
use crate::crypto::Signers;
use crate::engine::Engine;

/// Application state behind `web::Data`.
pub struct AppState {
    pub engine: Arc<Engine>,
    pub signers: Arc<Signers>,
    pub config: Arc<Settings>,
    /// SHA-256 of the admin API token (the token is high-entropy, so a fast hash suffices).
    pub admin_token_hash: RwLock<[u8; 32]>,
    /// Sessions, admin accounts and jobs of the portals.
    pub services: Arc<crate::app::services::Services>,
    /// Failed password checks per IP and account (both portals).
    pub attempts: Arc<crate::attempts::Attempts>,
    /// Failed admin API bearer checks per IP, counted apart from the portals so a
    /// customer guessing passwords from the vendor's own network cannot lock out
    /// the vendor's automation.
    pub token_attempts: Arc<crate::attempts::Attempts>,
    /// Where argon2 runs: off the request threads, bounded.
    pub passwords: crate::crypto::password::PasswordPool,
    /// Client traffic per day, for the dashboard (flushed to the store).
    pub traffic: Arc<crate::app::traffic::DailyTraffic>,
}

impl AppState {
    /// The client address of a request: the socket peer, or what a trusted
    /// proxy says (`server.trusted_proxies`, read in engine/client_ip.rs only).
    pub fn client_ip(&self, req: &actix_web::HttpRequest) -> Option<std::net::IpAddr> {
        crate::engine::client_ip::of_request(
            req.peer_addr().map(|a| a.ip()),
            req.headers(),
            &self.config.server.trusted_proxies,
        )
    }

    /// The store, for the app functions a handler calls (handlers never call it themselves).
    pub fn store(&self) -> &dyn crate::store::Store {
        self.engine.store().as_ref()
    }

    /// Constant-time comparison of a presented token against the stored hash.
    pub fn admin_token_matches(&self, presented: &str) -> bool {
        let h: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let stored = *self.admin_token_hash.read();
        crate::crypto::ct_eq(&h, &stored)
    }
}

/// The hash kept for a token.
pub fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}
