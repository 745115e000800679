//! Planned jobs: an import, or one action over every license a filter matched.
//! All their work is decided before they run and written as step rows (the
//! store, not a node's memory), so the preview can be shown by any node and
//! whichever node runs a step does exactly what was shown.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::JobStep;
use crate::domain::{License, LicenseKey};

/// Rows (or keys) per step of a planned job: the same size the runner steps by.
pub const PLAN_CHUNK: usize = 500;
/// Refused rows an import keeps to show (the count is always exact).
pub const MAX_PROBLEMS_KEPT: usize = 1_000;

/// What a bulk action does to each license it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

    /// The verb a title uses ("Suspend").
    pub fn verb(self) -> &'static str {
        match self {
            BulkAction::Suspend => "Suspend",
            BulkAction::Revoke => "Revoke",
            BulkAction::Assign(_) => "Assign",
        }
    }
}

/// One checked row of an import: the license it makes and, when the row names
/// one, the owner's email (found, or invited, when the step runs: a preview
/// changes nothing).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportRow {
    /// The row's line in the file (the header is line 1).
    pub line: u32,
    pub license: License,
    #[serde(default)]
    pub owner_email: Option<String>,
}

/// A row the check refused, and why, in words for the person who wrote the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowProblem {
    pub line: u32,
    pub message: String,
}

/// An import's step plans: `PLAN_CHUNK` rows each, the problems (at most
/// [`MAX_PROBLEMS_KEPT`]) on the first. There is always a first step.
pub fn import_steps(
    at: DateTime<Utc>,
    rows: Vec<ImportRow>,
    mut problems: Vec<RowProblem>,
) -> Vec<JobStep> {
    problems.truncate(MAX_PROBLEMS_KEPT);
    let mut steps: Vec<JobStep> = rows
        .chunks(PLAN_CHUNK)
        .map(|c| JobStep {
            at,
            rows: c.to_vec(),
            ..JobStep::default()
        })
        .collect();
    if steps.is_empty() {
        steps.push(JobStep {
            at,
            ..JobStep::default()
        });
    }
    steps[0].problems = problems;
    steps
}

/// A bulk action's step plans: `PLAN_CHUNK` keys each.
pub fn bulk_steps(at: DateTime<Utc>, keys: &[LicenseKey]) -> Vec<JobStep> {
    keys.chunks(PLAN_CHUNK)
        .map(|c| JobStep {
            at,
            keys: c.to_vec(),
            ..JobStep::default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: usize) -> LicenseKey {
        LicenseKey::parse(&format!("K-{i}")).unwrap()
    }

    #[test]
    fn bulk_plans_are_cut_in_chunks_and_keep_every_key_once() {
        let keys: Vec<LicenseKey> = (0..1_201).map(key).collect();
        let steps = bulk_steps(Utc::now(), &keys);
        let sizes: Vec<usize> = steps.iter().map(|s| s.keys.len()).collect();
        assert_eq!(sizes, vec![500, 500, 201]);
        let back: Vec<LicenseKey> = steps.into_iter().flat_map(|s| s.keys).collect();
        assert_eq!(back, keys);
        assert!(bulk_steps(Utc::now(), &[]).is_empty());
    }

    #[test]
    fn an_import_always_has_a_first_step_carrying_its_problems() {
        let problems: Vec<RowProblem> = (0..1_500)
            .map(|i| RowProblem {
                line: i + 2,
                message: "bad".into(),
            })
            .collect();
        let steps = import_steps(Utc::now(), Vec::new(), problems);
        assert_eq!(steps.len(), 1);
        assert_eq!(steps[0].problems.len(), MAX_PROBLEMS_KEPT);
        assert!(steps[0].rows.is_empty());
    }

    #[test]
    fn action_words() {
        let table = [
            (BulkAction::Suspend, "suspended", "Suspend"),
            (BulkAction::Revoke, "revoked", "Revoke"),
            (BulkAction::Assign(Uuid::nil()), "assigned", "Assign"),
        ];
        for (a, done, verb) in table {
            assert_eq!((a.done_word(), a.verb()), (done, verb));
        }
    }
}
