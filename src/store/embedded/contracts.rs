//! [`crate::store::ContractRows`] on the embedded backend: one table in the
//! global file (id → record); usage moves in one write transaction.

use async_trait::async_trait;
use redb::{ReadableTable, TableDefinition};
use uuid::Uuid;

use super::files::open_read;
use super::tables::{decode, decoded, encode, unavailable, Records};
use super::EmbeddedStore;
use crate::domain::contract::{Contract, OverQuota};
use crate::store::{ContractRows, StoreError};

const CONTRACTS: Records = TableDefinition::new("contracts");

#[async_trait]
impl ContractRows for EmbeddedStore {
    async fn insert_contract(&self, c: &Contract) -> Result<(), StoreError> {
        let (key, bytes) = (c.id.to_string(), encode(c)?);
        self.write("insert_contract", self.global_writer(), move |txn| {
            let mut t = txn.open_table(CONTRACTS).map_err(unavailable)?;
            t.insert(key.as_str(), bytes.as_slice())
                .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn list_contracts(&self) -> Result<Vec<Contract>, StoreError> {
        self.run("list_contracts", self.global_db(), |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let Some(t) = open_read(&txn, CONTRACTS)? else {
                return Ok(Vec::new());
            };
            let mut out = Vec::new();
            for row in t.iter().map_err(unavailable)? {
                out.push(decode(row.map_err(unavailable)?.1.value())?);
            }
            Ok(out)
        })
        .await
    }

    async fn delete_contract(&self, id: Uuid) -> Result<bool, StoreError> {
        let key = id.to_string();
        self.write("delete_contract", self.global_writer(), move |txn| {
            let mut t = txn.open_table(CONTRACTS).map_err(unavailable)?;
            let existed = t.remove(key.as_str()).map_err(unavailable)?.is_some();
            Ok(existed)
        })
        .await
    }

    async fn take_from_contract(
        &self,
        id: Uuid,
        n: i64,
    ) -> Result<Result<Contract, OverQuota>, StoreError> {
        let key = id.to_string();
        self.write("take_from_contract", self.global_writer(), move |txn| {
            let mut t = txn.open_table(CONTRACTS).map_err(unavailable)?;
            let Some(mut c): Option<Contract> = decoded(&t, &key)? else {
                return Err(StoreError::NotFound("no such contract".into()));
            };
            match c.take(n) {
                Err(e) => Ok(Err(e)),
                Ok(used) => {
                    c.used = used;
                    t.insert(key.as_str(), encode(&c)?.as_slice())
                        .map_err(unavailable)?;
                    Ok(Ok(c))
                }
            }
        })
        .await
    }
}
