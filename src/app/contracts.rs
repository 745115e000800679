//! Contracts (issue 14 part 3): a quota of licenses one API key may create
//! for one product. Licenses created with a key that has a contract for their
//! product are taken from it first (atomically, across nodes) and given back
//! if the creation fails.

use chrono::Utc;
use uuid::Uuid;

use super::error::AppError;
use super::licenses::{self, NewLicense};
use crate::domain::api_key::ApiKey;
use crate::domain::contract::Contract;
use crate::domain::{Environment, License};
use crate::engine::Engine;
use crate::store::Store;

/// Largest quota.
pub const MAX_LIMIT: u64 = 100_000_000;

/// What a new contract is asked to be.
pub struct NewContract {
    pub api_key_id: Uuid,
    pub environment: Environment,
    pub product_id: Uuid,
    pub limit: u64,
}

/// Makes a contract after checking the key, the product and the limit.
pub async fn create(store: &dyn Store, n: NewContract, by: &str) -> Result<Contract, AppError> {
    if n.limit == 0 || n.limit > MAX_LIMIT {
        return Err(AppError::field(
            "limit",
            format!("limit must be 1 to {MAX_LIMIT}"),
        ));
    }
    let keys = super::api_keys::list(store).await?;
    let key = keys
        .iter()
        .find(|k| k.id == n.api_key_id && k.revoked_at.is_none())
        .ok_or_else(|| AppError::field("api_key_id", "no such API key (or it was revoked)"))?;
    if key.environment.is_some_and(|e| e != n.environment) {
        return Err(AppError::field(
            "environment",
            "the API key is limited to another environment",
        ));
    }
    if store
        .get_product(n.environment, n.product_id)
        .await?
        .is_none()
    {
        return Err(AppError::field(
            "product_id",
            "no such product in this environment",
        ));
    }
    let existing = store.list_contracts().await?;
    if existing.iter().any(|c| {
        c.api_key_id == n.api_key_id
            && c.product_id == n.product_id
            && c.environment == n.environment
    }) {
        return Err(AppError::Conflict(
            "this API key already has a contract for this product".into(),
        ));
    }
    let now = Utc::now();
    let c = Contract {
        id: Uuid::new_v4(),
        api_key_id: n.api_key_id,
        environment: n.environment,
        product_id: n.product_id,
        limit: n.limit,
        used: 0,
        created_at: now,
        created_by: by.to_owned(),
    };
    store.insert_contract(&c).await?;
    let detail = format!(
        "contract: API key \"{}\" may create {} licenses of product {}",
        key.name, c.limit, c.product_id
    );
    let entry = crate::engine::origin::entry(by, "contract.created", None, now).detail(detail);
    store.append_audit(c.environment, &entry).await?;
    Ok(c)
}

/// Every contract, newest first.
pub async fn list(store: &dyn Store) -> Result<Vec<Contract>, AppError> {
    let mut all = store.list_contracts().await?;
    all.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
    Ok(all)
}

/// Ends a contract (the key may then create without a quota for that product).
pub async fn delete(store: &dyn Store, id: Uuid, by: &str) -> Result<(), AppError> {
    let c = list(store)
        .await?
        .into_iter()
        .find(|c| c.id == id)
        .ok_or_else(|| AppError::NotFound("no such contract".into()))?;
    store.delete_contract(id).await?;
    let entry = crate::engine::origin::entry(by, "contract.deleted", None, Utc::now()).detail(
        format!("contract {id} ended at {} of {} licenses", c.used, c.limit),
    );
    store.append_audit(c.environment, &entry).await?;
    Ok(())
}

/// Creates licenses on behalf of `key`: taken from its contract for the
/// product first when it has one (refused past the quota), given back if the
/// creation fails.
pub async fn create_licenses_as(
    engine: &Engine,
    env: Environment,
    n: &NewLicense,
    count: usize,
    key: &ApiKey,
    who: &str,
) -> Result<Vec<License>, AppError> {
    licenses::check_count(count)?;
    let store = engine.store().as_ref();
    let plan = licenses::check_new(store, env, n, Utc::now()).await?;
    let product = plan.generator.product_id;
    let contract = store
        .list_contracts()
        .await?
        .into_iter()
        .find(|c| c.api_key_id == key.id && c.environment == env && c.product_id == product);
    let Some(contract) = contract else {
        return licenses::create_licenses(
            engine,
            env,
            &plan.generator,
            &plan.overrides,
            count,
            who,
        )
        .await;
    };
    store
        .take_from_contract(contract.id, count as i64)
        .await?
        .map_err(AppError::OverQuota)?;
    let made =
        licenses::create_licenses(engine, env, &plan.generator, &plan.overrides, count, who).await;
    if made.is_err() {
        if let Err(e) = store.take_from_contract(contract.id, -(count as i64)).await {
            tracing::warn!(error = %e, "could not give licenses back to a contract");
        }
    }
    made
}

/// A contract as the API Keys page lists it.
pub struct ContractLine {
    pub contract: Contract,
    pub key_name: String,
    pub product_name: String,
}

/// Every contract with its key's and product's names, for the admin page.
pub async fn overview(store: &dyn Store) -> Result<Vec<ContractLine>, AppError> {
    let keys = super::api_keys::list(store).await?;
    let mut out = Vec::new();
    for c in list(store).await? {
        let key_name = keys
            .iter()
            .find(|k| k.id == c.api_key_id)
            .map_or_else(|| "(deleted key)".to_owned(), |k| k.name.clone());
        let product_name = store
            .get_product(c.environment, c.product_id)
            .await?
            .map_or_else(|| c.product_id.to_string(), |p| p.name);
        out.push(ContractLine {
            contract: c,
            key_name,
            product_name,
        });
    }
    Ok(out)
}
