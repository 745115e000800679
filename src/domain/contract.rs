//! Contracts (issue 14 part 3): how many licenses of one product one API key
//! may create (a reseller may issue 500 keys of product X). The count moves
//! only through [`Contract::take`], applied atomically by the store.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Environment;

/// One API key's quota for one product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contract {
    pub id: Uuid,
    pub api_key_id: Uuid,
    pub environment: Environment,
    pub product_id: Uuid,
    /// Licenses the key may create in all.
    pub limit: u64,
    /// Licenses created under it so far.
    pub used: u64,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

/// A request past the quota.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("this API key's contract allows {limit} licenses of this product; {used} are used and {asked} more were asked for")]
pub struct OverQuota {
    pub limit: u64,
    pub used: u64,
    pub asked: u64,
}

impl Contract {
    /// The count after taking `n` licenses (`n` < 0 gives them back, never
    /// below zero), or why not.
    pub fn take(&self, n: i64) -> Result<u64, OverQuota> {
        let next = self.used as i64 + n;
        if n > 0 && next > self.limit as i64 {
            return Err(OverQuota {
                limit: self.limit,
                used: self.used,
                asked: n as u64,
            });
        }
        Ok(next.max(0) as u64)
    }

    /// Licenses still allowed.
    pub fn remaining(&self) -> u64 {
        self.limit.saturating_sub(self.used)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contract(limit: u64, used: u64) -> Contract {
        Contract {
            id: Uuid::nil(),
            api_key_id: Uuid::nil(),
            environment: Environment::Production,
            product_id: Uuid::nil(),
            limit,
            used,
            created_at: Utc::now(),
            created_by: "owner".into(),
        }
    }

    #[test]
    fn taking_and_giving_back() {
        for (limit, used, n, want) in [
            (5, 0, 5, Ok(5)),
            (5, 0, 6, Err((5, 0, 6))),
            (5, 4, 1, Ok(5)),
            (5, 5, 1, Err((5, 5, 1))),
            (5, 5, -2, Ok(3)),
            (5, 1, -3, Ok(0)),
            (0, 0, 1, Err((0, 0, 1))),
            (5, 5, 0, Ok(5)),
        ] {
            let got = contract(limit, used)
                .take(n)
                .map_err(|e| (e.limit, e.used, e.asked));
            assert_eq!(got, want, "{limit} {used} {n}");
        }
        assert_eq!(contract(5, 2).remaining(), 3);
        assert_eq!(contract(5, 7).remaining(), 0);
    }
}
