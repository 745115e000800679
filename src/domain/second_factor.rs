//! An admin's second factor: a TOTP secret shared with an authenticator app,
//! and one-use recovery codes. Pure rules; the codes are computed in
//! `crypto::totp`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What an admin row keeps of their second factor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecondFactor {
    /// The shared secret, raw.
    pub secret: Vec<u8>,
    /// Set once the first code from the app matched; until then sign-in
    /// does not ask for codes (enrolment pending).
    pub confirmed_at: Option<DateTime<Utc>>,
    /// SHA-256 of each unused recovery code.
    pub recovery: Vec<String>,
    /// The newest step a code was accepted for: each code signs in once.
    pub last_step: u64,
}

impl SecondFactor {
    /// An enrolment waiting for its first code.
    pub fn pending(secret: Vec<u8>) -> SecondFactor {
        SecondFactor {
            secret,
            confirmed_at: None,
            recovery: Vec::new(),
            last_step: 0,
        }
    }

    /// Whether sign-in asks for a code.
    pub fn is_on(&self) -> bool {
        self.confirmed_at.is_some()
    }

    /// Takes a code matched for `step`: only a step newer than the last one
    /// used, so a code seen over a shoulder cannot be replayed.
    pub fn accept_step(&mut self, step: u64) -> bool {
        if step <= self.last_step {
            return false;
        }
        self.last_step = step;
        true
    }

    /// Uses up the recovery code with this hash, if it is one still unused.
    pub fn use_recovery(&mut self, hash: &str) -> bool {
        let before = self.recovery.len();
        self.recovery.retain(|h| h != hash);
        self.recovery.len() < before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_is_accepted_once_and_never_an_older_one() {
        let mut f = SecondFactor::pending(vec![1; 20]);
        assert!(!f.is_on());
        let table = [
            (100, true),
            (100, false),
            (99, false),
            (101, true),
            (0, false),
        ];
        for (step, ok) in table {
            assert_eq!(f.accept_step(step), ok, "{step}");
        }
        assert_eq!(f.last_step, 101);
    }

    #[test]
    fn a_recovery_code_works_once() {
        let mut f = SecondFactor::pending(vec![1; 20]);
        f.recovery = vec!["a".into(), "b".into()];
        assert!(f.use_recovery("a"));
        assert!(!f.use_recovery("a"));
        assert!(!f.use_recovery("c"));
        assert_eq!(f.recovery, ["b"]);
    }
}
