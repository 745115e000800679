//! Previewing a license (the admin portal's license page): the license with
//! what the page shows beside it, read in one place so the handler only renders.

use super::error::AppError;
use crate::domain::{Customer, Environment, License, LicenseKey, Product};
use crate::engine::Engine;

/// One license and what its preview shows beside it.
pub struct LicensePreview {
    /// The license as its actor holds it (active devices only).
    pub license: License,
    /// The same license with its newest past activations added, for the device
    /// table ([`crate::store::HISTORY_SHOWN`] of them at most).
    pub with_history: License,
    /// None when the product is gone (the page shows no name).
    pub product: Option<Product>,
    /// None when unassigned (or the account is gone).
    pub customer: Option<Customer>,
}

/// Reads a license and its product, owner and device history; NOT_FOUND
/// without the license.
pub async fn read(
    engine: &Engine,
    env: Environment,
    key: &LicenseKey,
) -> Result<LicensePreview, AppError> {
    let license = super::licenses::get(engine, env, key).await?;
    let store = engine.store().as_ref();
    let product = super::products::find(store, env, license.product_id).await?;
    let customer = match license.customer_id {
        Some(c) => store.get_customer(c).await?,
        None => None,
    };
    let with_history =
        crate::store::with_history(store, env, license.clone(), crate::store::HISTORY_SHOWN)
            .await?;
    Ok(LicensePreview {
        license,
        with_history,
        product,
        customer,
    })
}
