//! [`crate::store::ContractRows`] on CQL (global keyspace, one partition):
//! usage moves by compare-and-set on the `used` column (a lightweight
//! transaction), so the quota holds across nodes.

use async_trait::async_trait;
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;
use uuid::Uuid;

use super::files::prep;
use super::rows::{applied, decode, encode};
use super::{corrupt, CqlStore};
use crate::domain::contract::{Contract, OverQuota};
use crate::store::{ContractRows, StoreError};

/// Compare-and-set attempts before a contended contract answers 503.
const TRIES: usize = 64;

pub(super) struct ContractStatements {
    insert: PreparedStatement,
    all: PreparedStatement,
    one: PreparedStatement,
    delete: PreparedStatement,
    set_used: PreparedStatement,
}

impl ContractStatements {
    pub(super) async fn prepare(s: &Session, prefix: &str) -> Result<Self, StoreError> {
        let t = format!("{prefix}_global.contracts");
        Ok(ContractStatements {
            insert: prep(
                s,
                format!(
                    "INSERT INTO {t} (bucket, id, body, used) VALUES (0, ?, ?, 0) IF NOT EXISTS"
                ),
            )
            .await?,
            all: prep(s, format!("SELECT body, used FROM {t} WHERE bucket = 0")).await?,
            one: prep(
                s,
                format!("SELECT body, used FROM {t} WHERE bucket = 0 AND id = ?"),
            )
            .await?,
            delete: prep(
                s,
                format!("DELETE FROM {t} WHERE bucket = 0 AND id = ? IF EXISTS"),
            )
            .await?,
            set_used: prep(
                s,
                format!("UPDATE {t} SET used = ? WHERE bucket = 0 AND id = ? IF used = ?"),
            )
            .await?,
        })
    }
}

fn contract_of((body, used): (Option<Vec<u8>>, Option<i64>)) -> Result<Contract, StoreError> {
    let mut c: Contract = decode(&body.unwrap_or_default())?;
    c.used = used.unwrap_or(0).max(0) as u64;
    Ok(c)
}

impl CqlStore {
    async fn read_contract(&self, id: Uuid) -> Result<Option<Contract>, StoreError> {
        let rows = self.rows(&self.contracts.one, (id,)).await?;
        let first = rows
            .maybe_first_row::<(Option<Vec<u8>>, Option<i64>)>()
            .map_err(corrupt)?;
        first.map(contract_of).transpose()
    }
}

#[async_trait]
impl ContractRows for CqlStore {
    async fn insert_contract(&self, c: &Contract) -> Result<(), StoreError> {
        self.timed("insert_contract", async {
            let body = encode(c)?;
            self.execute(&self.contracts.insert, (c.id, body.as_slice()))
                .await?;
            Ok(())
        })
        .await
    }

    async fn list_contracts(&self) -> Result<Vec<Contract>, StoreError> {
        self.timed("list_contracts", async {
            let rows = self.rows(&self.contracts.all, ()).await?;
            let mut out = Vec::new();
            for r in rows
                .rows::<(Option<Vec<u8>>, Option<i64>)>()
                .map_err(corrupt)?
            {
                out.push(contract_of(r.map_err(corrupt)?)?);
            }
            Ok(out)
        })
        .await
    }

    async fn delete_contract(&self, id: Uuid) -> Result<bool, StoreError> {
        self.timed("delete_contract", async {
            applied(self.execute(&self.contracts.delete, (id,)).await?)
        })
        .await
    }

    async fn take_from_contract(
        &self,
        id: Uuid,
        n: i64,
    ) -> Result<Result<Contract, OverQuota>, StoreError> {
        self.timed("take_from_contract", async {
            // Bounded: each failed compare-and-set means another node moved it.
            for _ in 0..TRIES {
                let Some(mut c) = self.read_contract(id).await? else {
                    return Err(StoreError::NotFound("no such contract".into()));
                };
                let used = match c.take(n) {
                    Err(e) => return Ok(Err(e)),
                    Ok(u) => u,
                };
                let values = (used as i64, id, c.used as i64);
                if applied(self.execute(&self.contracts.set_used, values).await?)? {
                    c.used = used;
                    return Ok(Ok(c));
                }
            }
            Err(StoreError::Unavailable(
                "the contract is being changed by many requests at once; retry".into(),
            ))
        })
        .await
    }
}
