//! Creating products: one place for both front doors and the demo data.

use chrono::Utc;
use uuid::Uuid;

use crate::domain::key::KeyFormat;
use crate::domain::product::check_name;
use crate::domain::{ActivationLimit, AuditEntry, Environment, Generator, Product};
use crate::error::ApiError;
use crate::store::Store;

/// Creates a product with its default chunked-key generator.
pub async fn create_product(
    store: &dyn Store,
    env: Environment,
    name: &str,
    description: &str,
    active: bool,
    who: &str,
) -> Result<Product, ApiError> {
    let name = check_name(name, 1).map_err(|e| ApiError::field("name", format!("name {e}")))?;
    let now = Utc::now();
    let id = Uuid::new_v4();
    let generator = Generator {
        id: Uuid::new_v4(),
        environment: env,
        product_id: id,
        name: "Default".into(),
        format: KeyFormat::default(),
        activation_limit: ActivationLimit::default(),
        validity_days: None,
        feature_flags: Default::default(),
        created_at: now,
    };
    let product = Product {
        id,
        environment: env,
        name,
        description: description.trim().chars().take(2000).collect(),
        active,
        default_generator_id: Some(generator.id),
        created_at: now,
    };
    store.put_generator(env, &generator).await?;
    let audit = AuditEntry::new(who, "product.created", None, now).detail(product.name.clone());
    store.put_product(env, &product, &audit).await?;
    Ok(product)
}
