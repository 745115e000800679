//! Abuse cases as admins review them: the licenses whose case waits (from
//! the catalog, then each record read), and a review through the license's
//! actor (confirm, optionally suspending or revoking, or dismiss; audited).

use crate::domain::abuse_case::Decision;
use crate::domain::{AdminChange, Environment, License, LicenseKey};
use crate::engine::{Engine, EngineError};

use super::error::AppError;

/// Most cases one page lists.
pub const SHOWN: usize = 100;

/// How many cases wait for review in `env` (this node's catalog).
pub async fn open_count(engine: &Engine, env: Environment) -> usize {
    engine.catalog().wait_ready().await;
    engine.catalog().open_cases(env).len()
}

/// The licenses whose case waits, newest license first, at most [`SHOWN`],
/// and how many there are in all. A record whose case was reviewed on another
/// node meanwhile is left out.
pub async fn open(engine: &Engine, env: Environment) -> Result<(Vec<License>, usize), AppError> {
    engine.catalog().wait_ready().await;
    let keys = engine.catalog().open_cases(env);
    let total = keys.len();
    let mut out = Vec::new();
    for key in keys.into_iter().take(SHOWN) {
        if let Some(l) = engine.get_current(env, &key).await? {
            if l.has_open_case() {
                out.push(l);
            }
        }
    }
    Ok((out, total))
}

/// Reviews the license's open case. A decision the state machine refuses
/// (suspending a suspended license) changes nothing.
pub async fn review(
    engine: &Engine,
    env: Environment,
    key: &LicenseKey,
    decision: Decision,
    note: &str,
    who: &str,
) -> Result<License, AppError> {
    let change = AdminChange::ReviewCase {
        decision,
        note: note.to_owned(),
        who: who.to_owned(),
    };
    match engine.admin(env, key, change).await {
        Err(EngineError::NotFound) => Err(AppError::NotFound(format!(
            "No license {} in {env}.",
            key.as_str()
        ))),
        r => Ok(r?),
    }
}
