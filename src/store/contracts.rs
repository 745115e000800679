//! Contracts (issue 14 part 3) in the store, with their usage counted
//! atomically across nodes (CQL: compare-and-set on `used`; embedded: one
//! write transaction).

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreError;
use crate::domain::contract::{Contract, OverQuota};

/// The contracts: the part of [`super::Store`] that holds them.
#[async_trait]
pub trait ContractRows: Send + Sync {
    /// Stores a new contract.
    async fn insert_contract(&self, c: &Contract) -> Result<(), StoreError>;
    /// Every contract, with its usage.
    async fn list_contracts(&self) -> Result<Vec<Contract>, StoreError>;
    /// Removes a contract; whether it existed.
    async fn delete_contract(&self, id: Uuid) -> Result<bool, StoreError>;
    /// Moves the usage by `n` (negative: gives back) unless that passes the
    /// limit: the contract after, or the refusal (nothing changed); `NotFound`
    /// if the contract is gone.
    async fn take_from_contract(
        &self,
        id: Uuid,
        n: i64,
    ) -> Result<Result<Contract, OverQuota>, StoreError>;
}
