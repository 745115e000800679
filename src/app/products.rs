//! Products and their generators: creating, changing and reading them, one
//! place for both front doors and the demo data.

use chrono::Utc;
use uuid::Uuid;

use super::error::{AppError, FieldErrors};
use crate::domain::features::{check_definitions, check_flags, FeatureDef};
use crate::domain::issuing::{valid_validity_days, MAX_VALIDITY_DAYS};
use crate::domain::key::KeyFormat;
use crate::domain::product::check_name;
use crate::domain::{ActivationLimit, Environment, Generator, Product};
use crate::store::Store;

/// Creates a product with its default chunked-key generator.
pub async fn create_product(
    store: &dyn Store,
    env: Environment,
    input: &ProductInput,
    who: &str,
) -> Result<Product, AppError> {
    let name = check_product(input)?;
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
        description: input.description.trim().to_owned(),
        active: input.active,
        default_generator_id: Some(generator.id),
        created_at: now,
        features: input.features.clone(),
        renew_url: input.renew_url.trim().to_owned(),
        buy_url: input.buy_url.trim().to_owned(),
    };
    store.put_generator(env, &generator).await?;
    let audit = crate::engine::origin::entry(who, "product.created", None, now)
        .detail(product.name.clone());
    store.put_product(env, &product, &audit).await?;
    Ok(product)
}

/// A product as an admin describes it (what the product form sends).
#[derive(Debug, Clone, Default)]
pub struct ProductInput {
    pub name: String,
    pub description: String,
    pub active: bool,
    /// The feature definitions (the whole list: an edit replaces it).
    pub features: Vec<FeatureDef>,
    /// `http(s)://` addresses, or empty.
    pub renew_url: String,
    pub buy_url: String,
}

impl ProductInput {
    /// A stored product's fields, to change some of them.
    pub fn of(p: &Product) -> ProductInput {
        ProductInput {
            name: p.name.clone(),
            description: p.description.clone(),
            active: p.active,
            features: p.features.clone(),
            renew_url: p.renew_url.clone(),
            buy_url: p.buy_url.clone(),
        }
    }
}

/// Longest product description, in characters.
pub const MAX_DESCRIPTION: usize = 2000;

/// The rules of a product's name and description, all messages at once (a
/// form shows each beside its field); the checked name when both hold.
pub fn check_product(input: &ProductInput) -> Result<String, AppError> {
    let mut errors = FieldErrors::default();
    let name = check_name(&input.name, 1)
        .map_err(|e| errors.add("name", format!("Name {e}.")))
        .unwrap_or_default();
    if input.description.chars().count() > MAX_DESCRIPTION {
        errors.add(
            "description",
            format!("Description must be at most {MAX_DESCRIPTION} characters."),
        );
    }
    for (field, url) in [("renew_url", &input.renew_url), ("buy_url", &input.buy_url)] {
        let url = url.trim();
        if !url.is_empty() && !crate::domain::branding::is_web_url(url) {
            errors.add(field, "The address must start with https:// (or http://).");
        }
    }
    if let Err(e) = check_definitions(&input.features) {
        errors.add("features", format!("Features: {e}."));
    }
    errors.into_result()?;
    Ok(name)
}

/// Renames, describes and (de)activates a product, audited with its name and
/// status before and after. Its generators and licenses are not changed.
pub async fn update_product(
    store: &dyn Store,
    env: Environment,
    id: Uuid,
    input: &ProductInput,
    who: &str,
) -> Result<Product, AppError> {
    let name = check_product(input)?;
    let mut p = get(store, env, id).await?;
    let shown = |p: &Product| {
        let status = if p.active { "active" } else { "inactive" };
        let keys: Vec<&str> = p.features.iter().map(|f| f.key.as_str()).collect();
        format!("{} ({status}; features: {})", p.name, keys.join(", "))
    };
    let before = shown(&p);
    p.name = name;
    p.description = input.description.clone();
    p.active = input.active;
    p.features = input.features.clone();
    p.renew_url = input.renew_url.trim().to_owned();
    p.buy_url = input.buy_url.trim().to_owned();
    let audit = crate::engine::origin::entry(who, "product.updated", None, Utc::now())
        .change(before, shown(&p));
    store.put_product(env, &p, &audit).await?;
    Ok(p)
}

/// The environment's products, by name.
pub async fn list(store: &dyn Store, env: Environment) -> Result<Vec<Product>, AppError> {
    let mut all = store.list_products(env).await?;
    all.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(all)
}

/// One product, or NOT_FOUND.
pub async fn get(store: &dyn Store, env: Environment, id: Uuid) -> Result<Product, AppError> {
    store
        .get_product(env, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("No such product in {env}.")))
}

/// One product, or None (pages that show a license name its product when it exists).
pub async fn find(
    store: &dyn Store,
    env: Environment,
    id: Uuid,
) -> Result<Option<Product>, AppError> {
    Ok(store.get_product(env, id).await?)
}

/// The environment's generators, by name.
pub async fn list_generators(
    store: &dyn Store,
    env: Environment,
) -> Result<Vec<Generator>, AppError> {
    let mut all = store.list_generators(env).await?;
    all.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(all)
}

/// One generator, or NOT_FOUND.
pub async fn get_generator(
    store: &dyn Store,
    env: Environment,
    id: Uuid,
) -> Result<Generator, AppError> {
    store
        .get_generator(env, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("No such generator in {env}.")))
}

/// A generator as an admin describes it; `id` set means an edit (the format
/// type and product of an existing generator stay what they are).
#[derive(Debug, Clone)]
pub struct GeneratorInput {
    pub id: Option<Uuid>,
    pub product_id: Option<Uuid>,
    pub name: String,
    /// None on create: the default chunked format.
    pub format: Option<KeyFormat>,
    pub activation_limit: ActivationLimit,
    pub validity_days: Option<u32>,
    pub feature_flags: serde_json::Map<String, serde_json::Value>,
    /// Who asks (for the audit log).
    pub who: String,
}

/// Creates or edits a generator: name 3–100 characters and unique within the
/// product, an active product for a new one, a valid format, validity 1–36,500
/// days or lifetime. Keys already made are not changed.
pub async fn save_generator(
    store: &dyn Store,
    env: Environment,
    input: GeneratorInput,
) -> Result<Generator, AppError> {
    let existing = match input.id {
        Some(id) => Some(get_generator(store, env, id).await?),
        None => None,
    };
    check_generator(store, env, &input).await?;
    let g = Generator {
        id: input.id.unwrap_or_else(Uuid::new_v4),
        environment: env,
        product_id: existing
            .as_ref()
            .map(|g| g.product_id)
            .or(input.product_id)
            .unwrap_or_default(),
        name: input.name.trim().to_owned(),
        format: match &existing {
            Some(g) => g.format.clone(),
            None => input.format.unwrap_or_default(),
        },
        activation_limit: input.activation_limit,
        validity_days: input.validity_days,
        feature_flags: input.feature_flags,
        created_at: existing
            .as_ref()
            .map(|g| g.created_at)
            .unwrap_or_else(Utc::now),
    };
    store.put_generator(env, &g).await?;
    let action = if existing.is_some() {
        "generator.updated"
    } else {
        "generator.created"
    };
    let audit = crate::engine::origin::entry(input.who.as_str(), action, None, Utc::now())
        .detail(format!("{} ({})", g.name, g.id));
    store.append_audit(env, &audit).await?;
    Ok(g)
}

/// Every rule of [`save_generator`], without saving (a form shows all messages at once).
pub async fn check_generator(
    store: &dyn Store,
    env: Environment,
    input: &GeneratorInput,
) -> Result<(), AppError> {
    let existing = match input.id {
        Some(id) => Some(get_generator(store, env, id).await?),
        None => None,
    };
    let mut errors = FieldErrors::default();
    let name = check_name(&input.name, 3)
        .map_err(|e| errors.add("name", format!("Name {e}.")))
        .unwrap_or_default();
    let product_id = existing.as_ref().map(|g| g.product_id).or(input.product_id);
    let product =
        check_generator_product(store, env, product_id, existing.is_some(), &mut errors).await?;
    if let Some(p) = &product {
        if let Err(e) = check_flags(&p.features, &input.feature_flags) {
            errors.add("feature_flags", format!("Feature flags: {e}."));
        }
    }
    if !errors.has("name") && name_taken(store, env, product_id, &name, input.id).await? {
        errors.add("name", "A generator with this name exists for the product.");
    }
    if existing.is_none() {
        if let Err(e) = input.format.clone().unwrap_or_default().validate() {
            errors.add("format", format!("Format: {e}."));
        }
    }
    if !valid_validity_days(input.validity_days) {
        errors.add(
            "validity_days",
            format!("Validity must be 1–{MAX_VALIDITY_DAYS} days, or empty for lifetime."),
        );
    }
    errors.into_result()
}

async fn check_generator_product(
    store: &dyn Store,
    env: Environment,
    product_id: Option<Uuid>,
    editing: bool,
    errors: &mut FieldErrors,
) -> Result<Option<Product>, AppError> {
    let Some(id) = product_id else {
        errors.add("product_id", "Product is required.");
        return Ok(None);
    };
    match store.get_product(env, id).await? {
        Some(p) if p.active || editing => return Ok(Some(p)),
        Some(_) => errors.add("product_id", "Product must be active."),
        None => errors.add("product_id", "Product must exist in this environment."),
    }
    Ok(None)
}

async fn name_taken(
    store: &dyn Store,
    env: Environment,
    product_id: Option<Uuid>,
    name: &str,
    except: Option<Uuid>,
) -> Result<bool, AppError> {
    Ok(store.list_generators(env).await?.iter().any(|g| {
        Some(g.product_id) == product_id
            && g.name.eq_ignore_ascii_case(name)
            && Some(g.id) != except
    }))
}
