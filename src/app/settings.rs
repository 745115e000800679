//! Per-environment settings (grace period, abuse rule, re-authentication): read
//! and changed the same way from both front doors. The engine keeps the live
//! copy, checks the domain's bounds and audits the change with before/after.

use super::error::AppError;
use crate::domain::{EnvSettings, Environment};
use crate::engine::Engine;

/// The environment's current settings.
pub fn get(engine: &Engine, env: Environment) -> EnvSettings {
    engine.settings().get(env)
}

/// Checks and stores new settings; they apply to the next request.
pub async fn update(
    engine: &Engine,
    env: Environment,
    s: EnvSettings,
    who: &str,
) -> Result<(), AppError> {
    Ok(engine.update_settings(env, s, who).await?)
}
