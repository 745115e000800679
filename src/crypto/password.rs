//! Password hashing with argon2id (PHC strings), for customers and admins.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;

/// Shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 8;

/// Checks the length rule; the message is shown next to the field.
pub fn check_strength(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_LEN {
        return Err(format!("must be at least {MIN_PASSWORD_LEN} characters"));
    }
    if n > 1024 {
        return Err("must be at most 1024 characters".into());
    }
    Ok(())
}

/// Hashes with a fresh salt.
pub fn hash(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `password` matches a stored PHC string (false for a malformed one).
pub fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// The password pool is full: the caller answers 429 and nothing waits longer.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("too many password checks at once; try again in a moment")]
pub struct Busy;

/// Runs argon2 off the request threads, at most `concurrency` at once, with at
/// most `queue` more waiting (security item 4: hashing on an actix worker made
/// every other request on it wait, and unbounded it was a denial of service).
pub struct PasswordPool {
    running: std::sync::Arc<tokio::sync::Semaphore>,
    admitted: std::sync::Arc<tokio::sync::Semaphore>,
}

impl PasswordPool {
    /// `concurrency` 0 means half the cores, at least one: argon2 is built to use
    /// a core fully, and the other half keeps answering license checks.
    pub fn new(concurrency: usize, queue: usize) -> PasswordPool {
        let concurrency = match concurrency {
            0 => std::thread::available_parallelism()
                .map_or(1, |n| n.get() / 2)
                .max(1),
            n => n,
        };
        PasswordPool {
            running: std::sync::Arc::new(tokio::sync::Semaphore::new(concurrency)),
            admitted: std::sync::Arc::new(tokio::sync::Semaphore::new(concurrency + queue)),
        }
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Busy> {
        let ticket = self
            .admitted
            .clone()
            .try_acquire_owned()
            .map_err(|_| Busy)?;
        let permit = self
            .running
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Busy)?;
        // The permits go with the work, so a caller that gave up (a closed
        // connection) does not let more hashes run than allowed.
        tokio::task::spawn_blocking(move || {
            let out = work();
            drop((permit, ticket));
            out
        })
        .await
        .map_err(|_| Busy)
    }

    /// [`verify`] on the pool.
    pub async fn verify(&self, password: &str, phc: &str) -> Result<bool, Busy> {
        let (p, h) = (password.to_owned(), phc.to_owned());
        self.run(move || verify(&p, &h)).await
    }

    /// [`hash`] on the pool.
    pub async fn hash(&self, password: &str) -> Result<Result<String, String>, Busy> {
        let p = password.to_owned();
        self.run(move || hash(&p)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_wrong_passwords_do_not() {
        let h = hash("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse", &h));
        assert!(!verify("wrong horse", &h));
        assert!(!verify("x", "not a hash"));
    }

    /// Security item 4: at most `concurrency` hashes run, the queue is bounded,
    /// and past it a check is refused at once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_pool_bounds_concurrent_hashing() {
        let pool = std::sync::Arc::new(PasswordPool::new(1, 2));
        let h = hash("correct horse").unwrap();
        let mut tasks = Vec::new();
        for _ in 0..12 {
            let (pool, h) = (pool.clone(), h.clone());
            tasks.push(tokio::spawn(async move { pool.verify("wrong", &h).await }));
        }
        let mut busy = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(ok) => assert!(!ok),
                Err(Busy) => busy += 1,
            }
        }
        assert!(
            busy >= 9 - 3,
            "most of 12 simultaneous checks were refused ({busy})"
        );
        assert!(pool.verify("correct horse", &h).await.unwrap());
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(check_strength("1234567").is_err());
        assert!(check_strength("12345678").is_ok());
    }
}
