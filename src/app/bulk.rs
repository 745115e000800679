//! Bulk actions on the licenses an admin selected on the License Keys page:
//! suspend, revoke or assign each through its actor (each audited as if done
//! one by one). A license the action does not fit is skipped with the reason;
//! the others go ahead.

use uuid::Uuid;

use super::error::AppError;
use super::licenses;
use crate::domain::{Action, Environment, LicenseKey};
use crate::engine::Engine;

/// Most licenses one bulk action takes (a page of the table is at most 100).
pub const MAX_SELECTED: usize = 500;

/// What to do to each selected license.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkAction {
    Suspend,
    Revoke,
    /// Assign (or transfer) to this customer.
    Assign(Uuid),
}

impl BulkAction {
    /// The verb a summary uses ("suspended").
    pub fn done_word(self) -> &'static str {
        match self {
            BulkAction::Suspend => "suspended",
            BulkAction::Revoke => "revoked",
            BulkAction::Assign(_) => "assigned",
        }
    }
}

/// What a bulk action did.
#[derive(Debug, Default)]
pub struct BulkOutcome {
    pub done: usize,
    /// (key, why) of each license left as it was.
    pub skipped: Vec<(String, String)>,
}

/// Parses the selection: at least one key, at most [`MAX_SELECTED`], each a
/// well-formed key (a bad one refuses the whole request: nothing is done).
pub fn selection(raw: &[String]) -> Result<Vec<LicenseKey>, AppError> {
    if raw.is_empty() {
        return Err(AppError::field("keys", "Select at least one license."));
    }
    if raw.len() > MAX_SELECTED {
        return Err(AppError::field(
            "keys",
            format!("Select at most {MAX_SELECTED} licenses at once."),
        ));
    }
    raw.iter()
        .map(|k| {
            LicenseKey::parse(k).map_err(|e| AppError::field("keys", format!("license key: {e}")))
        })
        .collect()
}

/// Applies `action` to every key, one after another.
pub async fn run(
    engine: &Engine,
    env: Environment,
    keys: &[LicenseKey],
    action: BulkAction,
    who: &str,
) -> Result<BulkOutcome, AppError> {
    let mut out = BulkOutcome::default();
    for key in keys {
        let r = match action {
            BulkAction::Suspend => licenses::act(engine, env, key, Action::Suspend, who).await,
            BulkAction::Revoke => licenses::act(engine, env, key, Action::Revoke, who).await,
            BulkAction::Assign(c) => licenses::assign(engine, env, key, c, who).await,
        };
        match r {
            Ok(_) => out.done += 1,
            Err(AppError::Unavailable(e)) => return Err(AppError::Unavailable(e)),
            Err(e) => out.skipped.push((key.as_str().to_owned(), e.to_string())),
        }
    }
    Ok(out)
}
