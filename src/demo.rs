//! `serve --demo`: fills an empty data folder with products, customers and licenses
//! in every state, so every page and API call has something to show.

use chrono::{DateTime, Duration, Utc};
use rand::rngs::ThreadRng;
use rand::Rng;
use uuid::Uuid;

use crate::app::licenses::{make_licenses, Overrides};
use crate::app::products::{create_product, ProductInput};
use crate::domain::features::{with_defaults, FeatureDef, FeatureKind};
use crate::domain::{
    Activation, ActivationKind, ActivationStatus, Customer, Environment, Identifier, License,
    LicenseStatus,
};
use crate::engine::Engine;
use crate::store::{Store, StoreError};

const FIRST: &[&str] = &[
    "Ada", "Grace", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances", "Alan", "Radia",
    "Edsger", "Hedy",
];
const LAST: &[&str] = &[
    "Lovelace", "Hopper", "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie", "Allen",
    "Turing", "Perlman", "Dijkstra", "Lamarr",
];

/// How many licenses of each state production gets (1,200 in all).
const PRODUCTION_MIX: &[(LicenseStatus, usize)] = &[
    (LicenseStatus::Available, 200),
    (LicenseStatus::Assigned, 200),
    (LicenseStatus::Active, 500),
    (LicenseStatus::Suspended, 60),
    (LicenseStatus::Inactive, 60),
    (LicenseStatus::Expired, 100),
    (LicenseStatus::Revoked, 80),
];

fn store_err(e: crate::app::error::AppError) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// The two demo products: one licensed per device, one per domain.
const PRODUCTS: [(&str, &str); 2] = [
    ("Photon Editor", "Desktop photo editor, per-device licenses"),
    ("Nebula Server", "Self-hosted server, per-domain licenses"),
];

/// Seeds when production has no products yet; returns a one-line summary.
pub async fn seed(engine: &Engine) -> Result<Option<String>, StoreError> {
    let store = engine.store().as_ref();
    if !store
        .list_products(Environment::Production)
        .await?
        .is_empty()
    {
        return Ok(None);
    }
    let now = Utc::now();
    let (customers, demo_login) = customers(store, now).await?;
    let mut seeding = Seeding {
        engine,
        customers,
        now,
        rng: rand::thread_rng(),
        sample_key: String::new(),
    };
    let mut counts = Vec::new();
    for env in Environment::ALL {
        let mut made = 0;
        for (pi, (name, desc)) in PRODUCTS.iter().enumerate() {
            made += seeding.product(env, pi, name, desc).await?;
        }
        counts.push(made);
    }
    Ok(Some(format!(
        "{} production and {} staging licenses over every state, {} customers; try key {}\n  Customer portal sign-in (demo customer): {demo_login}",
        counts[0],
        counts[1],
        seeding.customers.len(),
        seeding.sample_key
    )))
}

/// Thirty customers; the first can sign in to the customer portal with the
/// returned "email / password" (printed in the banner).
async fn customers(
    store: &dyn Store,
    now: DateTime<Utc>,
) -> Result<(Vec<Uuid>, String), StoreError> {
    let mut customers = Vec::new();
    let demo_password = format!("demo-{}", &crate::app::sessions::random_token()[..10]);
    let mut demo_login = String::new();
    for i in 0..30 {
        let (f, l) = (FIRST[i % FIRST.len()], LAST[(i * 7 + 3) % LAST.len()]);
        let mut c = Customer::new(
            format!("{}.{}{}@example.com", f.to_lowercase(), l.to_lowercase(), i),
            format!("{f} {l}"),
            now - Duration::days(200 - i as i64),
        );
        if i == 0 {
            c.password_hash =
                Some(crate::crypto::password::hash(&demo_password).map_err(StoreError::Corrupt)?);
            demo_login = format!("{} / {demo_password}", c.email);
        }
        store.insert_customer(&c).await?;
        customers.push(c.id);
    }
    Ok((customers, demo_login))
}

/// The demo products' feature definitions (a third of their licenses are Pro).
fn demo_features() -> Vec<FeatureDef> {
    let def =
        |key: &str, label: &str, kind, default: serde_json::Value, description: &str| FeatureDef {
            key: key.into(),
            label: label.into(),
            kind,
            default,
            description: description.into(),
        };
    vec![
        def(
            "pro",
            "Pro edition",
            FeatureKind::Boolean,
            false.into(),
            "Unlocks the Pro tools.",
        ),
        def(
            "max_projects",
            "Projects",
            FeatureKind::Number,
            5.into(),
            "Most open projects.",
        ),
        def(
            "support",
            "Support plan",
            FeatureKind::String,
            "standard".into(),
            "",
        ),
    ]
}

/// What every demo license is made from, and the sample key found on the way.
struct Seeding<'a> {
    engine: &'a Engine,
    customers: Vec<Uuid>,
    now: DateTime<Utc>,
    rng: ThreadRng,
    /// An active production key and one of its devices, for the banner.
    sample_key: String,
}

impl Seeding<'_> {
    /// One product in `env` and its licenses in every state (a tenth of them in
    /// staging); returns how many licenses it made.
    async fn product(
        &mut self,
        env: Environment,
        pi: usize,
        name: &str,
        desc: &str,
    ) -> Result<usize, StoreError> {
        let store = self.engine.store().as_ref();
        let input = ProductInput {
            name: name.into(),
            description: desc.into(),
            active: true,
            features: demo_features(),
            renew_url: format!("https://store.example.com/renew/{}", pi + 1),
            buy_url: String::new(),
        };
        let product = create_product(store, env, &input, "demo")
            .await
            .map_err(store_err)?;
        let generator = store
            .get_generator(env, product.default_generator_id.unwrap_or_default())
            .await?
            .ok_or_else(|| StoreError::NotFound("default generator".into()))?;
        let scale = if env == Environment::Production {
            1
        } else {
            10
        };
        let mut made = 0;
        for (status, n) in PRODUCTION_MIX {
            let n = (n / 2 / scale).max(1);
            let mut batch = make_licenses(env, &generator, &Overrides::default(), n, self.now);
            for (i, l) in batch.iter_mut().enumerate() {
                self.shape(l, env, pi, i, *status)?;
                l.feature_flags = with_defaults(&product.features, &Default::default());
                if i % 3 == 0 {
                    l.feature_flags.insert("pro".into(), true.into());
                    l.feature_flags.insert("max_projects".into(), 50.into());
                }
            }
            made += batch.len();
            self.engine
                .create_licenses(env, &batch, "demo")
                .await
                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        }
        Ok(made)
    }

    /// Makes the `i`th license of product `pi` one in `status`: its age, limit,
    /// owner, expiry and devices vary, so lists and filters have something to show.
    fn shape(
        &mut self,
        l: &mut License,
        env: Environment,
        pi: usize,
        i: usize,
        status: LicenseStatus,
    ) -> Result<(), StoreError> {
        let now = self.now;
        let rng = &mut self.rng;
        l.created_at = now - Duration::days(rng.gen_range(0..365)) - Duration::minutes(i as i64);
        l.activation_limit =
            crate::domain::ActivationLimit::new([1, 3, 5, 5, 10, -1][i % 6]).unwrap_or_default();
        if status != LicenseStatus::Available {
            l.customer_id = Some(self.customers[(i + pi * 11) % self.customers.len()]);
        }
        l.expires_at = match i % 5 {
            0 => None,
            1 => Some(now + Duration::days(rng.gen_range(1..8))),
            2 => Some(now + Duration::days(rng.gen_range(8..31))),
            _ => Some(now + Duration::days(rng.gen_range(31..720))),
        };
        if status == LicenseStatus::Expired {
            let expired = now - Duration::days(rng.gen_range(10..200));
            l.expires_at = Some(expired);
            // Bought before it ran out; its devices were last seen before that.
            l.created_at = expired - Duration::days(rng.gen_range(30..365));
        }
        l.status = status;
        self.devices(l, pi, i, status)?;
        l.ever_activated = !l.activations.is_empty() || status == LicenseStatus::Revoked;
        if env == Environment::Production
            && self.sample_key.is_empty()
            && status == LicenseStatus::Active
        {
            self.sample_key = format!("{} (active; device {})", l.key, l.activations[0].identifier);
        }
        Ok(())
    }

    /// One to three devices on licenses that were activated (domains for the
    /// second product, hardware ids for the first), ended on revoked ones.
    fn devices(
        &mut self,
        l: &mut License,
        pi: usize,
        i: usize,
        status: LicenseStatus,
    ) -> Result<(), StoreError> {
        let devices = match status {
            LicenseStatus::Active
            | LicenseStatus::Suspended
            | LicenseStatus::Inactive
            | LicenseStatus::Expired => 1 + i % 3,
            _ => 0,
        };
        let devices = if l.activation_limit.is_unlimited() {
            devices
        } else {
            devices.min(l.activation_limit.get() as usize)
        };
        for d in 0..devices {
            let (kind, ident) = if pi == 1 {
                let ident = format!("app{d}.customer{i}.example.com");
                (ActivationKind::Domain, ident)
            } else {
                let ident = format!("demo-device-{d}-{}", &l.key.as_str()[..5]);
                (ActivationKind::Hwid, ident)
            };
            let until = match (status, l.expires_at) {
                (LicenseStatus::Expired, Some(e)) => e.min(self.now),
                _ => self.now,
            };
            let (activated, seen) = device_times(l.created_at, until, &mut self.rng);
            let mut a = Activation::new(
                Identifier::parse(&ident).map_err(StoreError::Corrupt)?,
                kind,
                activated,
                Some("192.0.2.10".into()),
            );
            a.last_seen = if d == 2 { None } else { Some(seen) };
            l.activations.push(a);
        }
        if status == LicenseStatus::Revoked {
            for a in &mut l.activations {
                a.status = ActivationStatus::Deactivated;
            }
        }
        Ok(())
    }
}

/// When a demo device was activated and last seen: after the license was
/// created, the one not before the other, neither after `until` (now, or the
/// expiry of an expired license).
fn device_times(
    created: DateTime<Utc>,
    until: DateTime<Utc>,
    rng: &mut impl Rng,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let span = (until - created).num_minutes().max(0);
    let activated = created + Duration::minutes(span.min(60) / 2 + rng.gen_range(0..=span / 4));
    let left = (until - activated).num_minutes().max(0);
    let seen = until - Duration::minutes(rng.gen_range(0..=left.min(10_000)));
    (activated, seen)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 15 item 6: no demo device is activated in the future or seen
    /// before it was activated, whatever the license's age (minutes to a year).
    #[test]
    fn demo_devices_are_activated_then_seen_and_never_in_the_future() {
        let now = Utc::now();
        let mut rng = rand::thread_rng();
        for age_min in [0, 1, 30, 59, 61, 600, 2_000, 20_000, 525_600] {
            for _ in 0..200 {
                let created = now - Duration::minutes(age_min);
                let (activated, seen) = device_times(created, now, &mut rng);
                assert!(created <= activated, "age {age_min}");
                assert!(activated <= seen, "age {age_min}");
                assert!(seen <= now, "age {age_min}");
            }
        }
    }
}
