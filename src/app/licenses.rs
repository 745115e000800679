//! Licenses: create, change, assign, act on, free a device, delete, read with
//! history. One function per operation for both front doors (and the jobs), so
//! each rule and each audit entry (written by the engine with the change)
//! happens in one place.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::error::{AppError, FieldErrors};
use crate::domain::features::{check_flags, with_defaults};
use crate::domain::{
    Action, ActivationLimit, Environment, Generator, Identifier, License, LicenseKey, Product,
};
use crate::engine::actor::AdminChange;
use crate::engine::{Engine, EngineError, LicenseEdit};
use crate::store::{Store, StoreError};

pub use crate::domain::issuing::Overrides;

/// Most keys one bulk request makes.
pub const MAX_BULK: usize = 10_000;

/// A request for new licenses, decoded by a front door (JSON or form).
#[derive(Debug, Default, Clone)]
pub struct NewLicense {
    pub product_id: Option<Uuid>,
    /// None: the product's default generator.
    pub generator_id: Option<Uuid>,
    pub customer_id: Option<Uuid>,
    pub activation_limit: Option<ActivationLimit>,
    pub expires_at: Option<DateTime<Utc>>,
    pub feature_flags: Option<Map<String, Value>>,
    pub metadata: Map<String, Value>,
}

/// A checked request: the generator to use and what overrides it.
#[derive(Debug, Clone)]
pub struct Plan {
    pub generator: Generator,
    pub overrides: Overrides,
}

/// Checks every rule of a create request; `Invalid` names each field at fault.
pub async fn check_new(
    store: &dyn Store,
    env: Environment,
    n: &NewLicense,
    now: DateTime<Utc>,
) -> Result<Plan, AppError> {
    let mut errors = FieldErrors::default();
    let product = check_product(store, env, n.product_id, &mut errors).await?;
    let generator_id = n
        .generator_id
        .or(product.as_ref().and_then(|p| p.default_generator_id));
    let generator =
        check_generator(store, env, generator_id, product.as_ref(), &mut errors).await?;
    if let Some(c) = n.customer_id {
        if store.get_customer(c).await?.is_none() {
            errors.add("customer_id", "Customer must exist.");
        }
    }
    if n.expires_at.is_some_and(|t| t <= now) {
        errors.add(
            "expires_at",
            "Expiry date must be in the future (or empty for lifetime).",
        );
    }
    let mut feature_flags = None;
    if let (Some(p), Some(g)) = (&product, &generator) {
        let given = n.feature_flags.as_ref().unwrap_or(&g.feature_flags);
        match check_flags(&p.features, given) {
            Ok(()) => feature_flags = Some(with_defaults(&p.features, given)),
            Err(e) => errors.add("feature_flags", format!("Feature flags: {e}.")),
        }
    }
    errors.into_result()?;
    let generator =
        generator.ok_or_else(|| AppError::field("generator_id", "Generator is required."))?;
    Ok(Plan {
        generator,
        overrides: Overrides {
            customer_id: n.customer_id,
            activation_limit: n.activation_limit,
            expires_at: n.expires_at,
            feature_flags,
            metadata: n.metadata.clone(),
        },
    })
}

async fn check_product(
    store: &dyn Store,
    env: Environment,
    id: Option<Uuid>,
    errors: &mut FieldErrors,
) -> Result<Option<Product>, StoreError> {
    let Some(id) = id else {
        errors.add("product_id", "Product is required.");
        return Ok(None);
    };
    match store.get_product(env, id).await? {
        None => errors.add("product_id", "Product must exist in this environment."),
        Some(p) if !p.active => errors.add(
            "product_id",
            "Product must be active: an inactive product gets no new licenses.",
        ),
        Some(p) => return Ok(Some(p)),
    }
    Ok(None)
}

async fn check_generator(
    store: &dyn Store,
    env: Environment,
    id: Option<Uuid>,
    product: Option<&Product>,
    errors: &mut FieldErrors,
) -> Result<Option<Generator>, StoreError> {
    let Some(id) = id else {
        errors.add("generator_id", "Generator is required.");
        return Ok(None);
    };
    match store.get_generator(env, id).await? {
        Some(g) if product.is_none_or(|p| p.id == g.product_id) => return Ok(Some(g)),
        Some(_) => errors.add(
            "generator_id",
            "Generator must belong to the chosen product.",
        ),
        None => errors.add("generator_id", "Generator must exist in this environment."),
    }
    Ok(None)
}

/// A bulk count is 1 to [`MAX_BULK`].
pub fn check_count(count: usize) -> Result<(), AppError> {
    if (1..=MAX_BULK).contains(&count) {
        Ok(())
    } else {
        Err(AppError::field(
            "count",
            format!("Count must be 1 to {MAX_BULK}."),
        ))
    }
}

/// Checks a request and makes `count` licenses from it.
pub async fn create(
    engine: &Engine,
    env: Environment,
    n: &NewLicense,
    count: usize,
    who: &str,
) -> Result<Vec<License>, AppError> {
    check_count(count)?;
    let plan = check_new(engine.store().as_ref(), env, n, Utc::now()).await?;
    create_licenses(engine, env, &plan.generator, &plan.overrides, count, who).await
}

/// Makes licenses from a checked plan, retrying with fresh keys in the
/// (astronomically rare) case of a key collision.
pub async fn create_licenses(
    engine: &Engine,
    env: Environment,
    generator: &Generator,
    o: &Overrides,
    count: usize,
    who: &str,
) -> Result<Vec<License>, AppError> {
    let mut last = None;
    for _ in 0..3 {
        let batch = make_licenses(env, generator, o, count, Utc::now());
        match engine.create_licenses(env, &batch, who).await {
            Ok(()) => return Ok(batch),
            Err(EngineError::Store(StoreError::Conflict(m))) => last = Some(m),
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::Conflict(last.unwrap_or_default()))
}

/// [`crate::domain::issuing::make_licenses`] with fresh keys from the OS.
pub fn make_licenses(
    env: Environment,
    generator: &Generator,
    o: &Overrides,
    count: usize,
    now: DateTime<Utc>,
) -> Vec<License> {
    crate::domain::issuing::make_licenses(env, generator, o, count, now, &mut rand::rngs::OsRng)
}

/// Who a license should belong to after an edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// Not part of the edit.
    Keep,
    /// This customer (assigns, or reassigns).
    Set(Uuid),
    /// Nobody: refused when the license is assigned (assignment is not undone).
    Clear,
}

/// Checks the owner part of an edit against the license as it is now.
pub async fn check_owner(store: &dyn Store, l: &License, owner: Owner) -> Result<(), AppError> {
    match owner {
        Owner::Keep => Ok(()),
        Owner::Clear if l.customer_id.is_some() => Err(AppError::field(
            "customer_id",
            "An assigned license cannot be unassigned; assign it to another customer or revoke it.",
        )),
        Owner::Clear => Ok(()),
        Owner::Set(c) => match store.get_customer(c).await? {
            Some(_) => Ok(()),
            None => Err(AppError::field("customer_id", "Customer must exist.")),
        },
    }
}

/// The license, or NOT_FOUND.
pub async fn get(engine: &Engine, env: Environment, key: &LicenseKey) -> Result<License, AppError> {
    engine
        .get_current(env, key)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("No license {} in {env}.", key.as_str())))
}

/// The license with its active devices and the newest history rows.
pub async fn get_with_history(
    engine: &Engine,
    env: Environment,
    key: &LicenseKey,
) -> Result<License, AppError> {
    let l = get(engine, env, key).await?;
    Ok(
        crate::store::with_history(engine.store().as_ref(), env, l, crate::store::HISTORY_SHOWN)
            .await?,
    )
}

/// A page of a license's past (deactivated) activations, newest first.
pub async fn history(
    engine: &Engine,
    env: Environment,
    key: &LicenseKey,
    page: u32,
    per_page: u32,
) -> Result<Vec<crate::domain::Activation>, AppError> {
    get(engine, env, key).await?;
    Ok(engine
        .store()
        .activation_history(env, key, page, per_page)
        .await?)
}

/// Changes a license's owner (see [`Owner`]) and its editable fields together.
pub async fn update(
    engine: &Engine,
    env: Environment,
    key: &LicenseKey,
    owner: Owner,
    edit: LicenseEdit,
    who: &str,
) -> Result<License, AppError> {
    let l = get(engine, env, key).await?;
    check_owner(engine.store().as_ref(), &l, owner).await?;
    if let Some(flags) = &edit.feature_flags {
        check_product_flags(engine.store().as_ref(), env, l.product_id, flags).await?;
    }
    if let Owner::Set(c) = owner {
        if Some(c) != l.customer_id {
            assign(engine, env, key, c, who).await?;
        }
    }
    let change = AdminChange::Edit {
        edit,
        who: who.into(),
    };
    Ok(engine.admin(env, key, change).await?)
}

/// A license's flags against its product's feature definitions.
pub async fn check_product_flags(
    store: &dyn Store,
    env: Environment,
    product_id: Uuid,
    flags: &Map<String, Value>,
) -> Result<(), AppError> {
    let defs = match store.get_product(env, product_id).await? {
        Some(p) => p.features,
        None => Vec::new(),
    };
    check_flags(&defs, flags)
        .map_err(|e| AppError::field("feature_flags", format!("Feature flags: {e}.")))
}

/// Assigns a license to an existing customer.
pub async fn assign(
    engine: &Engine,
    env: Environment,
    key: &LicenseKey,
    customer_id: Uuid,
    who: &str,
) -> Result<License, AppError> {
    if engine.store().get_customer(customer_id).await?.is_none() {
        return Err(AppError::field("customer_id", "Customer must exist."));
    }
    let change = AdminChange::Assign {
        customer_id,
        who: who.into(),
    };
    Ok(engine.admin(env, key, change).await?)
}

/// A state action (suspend, unsuspend, inactivate, reactivate, revoke…).
pub async fn act(
    engine: &Engine,
    env: Environment,
    key: &LicenseKey,
    action: Action,
    who: &str,
) -> Result<License, AppError> {
    Ok(engine.act(env, key, action, who).await?)
}

/// Frees a device's seat.
pub async fn deactivate(
    engine: &Engine,
    env: Environment,
    key: &LicenseKey,
    identifier: Identifier,
    who: &str,
) -> Result<License, AppError> {
    let change = AdminChange::Deactivate {
        identifier,
        who: who.into(),
    };
    Ok(engine.admin(env, key, change).await?)
}

/// Deletes a license for good.
pub async fn delete(
    engine: &Engine,
    env: Environment,
    key: &LicenseKey,
    who: &str,
) -> Result<(), AppError> {
    engine
        .admin(env, key, AdminChange::Delete { who: who.into() })
        .await?;
    Ok(())
}
