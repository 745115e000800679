//! Offline files: one place for the client API, the admin API and the portal.

use chrono::Utc;

use super::error::AppError;
use crate::crypto::{offline, Signers};
use crate::domain::verdict::{self, Decision, Op, Verdict};
use crate::domain::{Environment, Identifier, LicenseKey};
use crate::engine::Engine;

/// Issues an offline file for a device that is activated and valid right now.
/// `caller`: the client's address for client requests (unknown keys are charged to it).
pub async fn offline_file(
    engine: &Engine,
    signers: &Signers,
    env: Environment,
    key: &LicenseKey,
    identifier: &Identifier,
    caller: Option<std::net::IpAddr>,
) -> Result<(Verdict, Option<offline::OfflineFile>), AppError> {
    let license = match caller {
        Some(_) => engine.get_for(env, key, caller).await?,
        // An admin (portal or API): the license as the store holds it now, so a
        // device just activated through another node is there (read-your-writes).
        None => engine.get_current(env, key).await?,
    };
    let Some(license) = license else {
        return Ok((Verdict::not_found(), None));
    };
    let settings = engine.settings().get(env);
    let now = Utc::now();
    let v = match verdict::decide(&license, Op::Validate, identifier, now, settings.grace()) {
        Decision::Answer(v) => v,
        _ => Verdict::not_found(),
    };
    if !v.valid {
        return Ok((v, None));
    }
    let file = offline::issue(
        signers.get(env).current(),
        &license,
        identifier,
        settings.grace_period_days,
        now,
    );
    Ok((v, Some(file)))
}
