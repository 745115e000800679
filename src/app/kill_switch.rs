//! The product kill switch: every license of a product revoked by a
//! background job (progress on the Background Jobs page), behind a typed
//! confirmation. The product is made inactive first, so no new license of it
//! appears while the job runs.

use chrono::Utc;
use uuid::Uuid;

use super::error::AppError;
use super::jobs::revoke::{revocable, revocable_query};
use super::jobs::Jobs;
use super::products::{self, ProductInput};
use crate::domain::job::Job;
use crate::domain::Environment;
use crate::engine::Engine;

/// How many of the product's licenses can still be revoked, by this node's
/// catalog (counted on the blocking pool: a scan of every license).
pub async fn revocable_count(
    engine: &Engine,
    env: Environment,
    product_id: Uuid,
) -> Result<u64, AppError> {
    engine.catalog().wait_ready().await;
    let catalog = engine.catalog().clone();
    let count = move || {
        let (products, customers) = Default::default();
        revocable()
            .into_iter()
            .map(|status| {
                let q = revocable_query(product_id, status, 1);
                catalog.query(env, &q, &products, &customers).total
            })
            .sum::<u64>()
    };
    actix_web::web::block(count).await.map_err(|e| {
        AppError::Unavailable(crate::store::StoreError::Unavailable(format!(
            "counting licenses: {e}"
        )))
    })
}

/// Starts the kill switch of `product_id` once `confirm` is the product's
/// name exactly: the product becomes inactive, the act is audited, and a job
/// revokes its licenses (nothing of any other product).
pub async fn revoke_all(
    engine: &Engine,
    jobs: &Jobs,
    env: Environment,
    product_id: Uuid,
    confirm: &str,
    who: &str,
) -> Result<Job, AppError> {
    let store = engine.store().as_ref();
    let p = products::get(store, env, product_id).await?;
    if confirm.trim() != p.name {
        return Err(AppError::field(
            "confirm",
            format!("Type the product's name, {}, to confirm.", p.name),
        ));
    }
    if p.active {
        let input = ProductInput {
            active: false,
            ..ProductInput::of(&p)
        };
        products::update_product(store, env, product_id, &input, who).await?;
    }
    let total = revocable_count(engine, env, product_id).await?;
    let total = u32::try_from(total).unwrap_or(u32::MAX);
    let audit = crate::engine::origin::entry(who, "product.revoke_all", None, Utc::now()).detail(
        format!("kill switch: {total} licenses of {} to revoke", p.name),
    );
    store.append_audit(env, &audit).await?;
    let title = format!("Revoke every license of {} ({env})", p.name);
    jobs.start_revoke(store, env, product_id, title, total, who.to_owned())
        .await
}
