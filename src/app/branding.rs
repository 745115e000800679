//! The branding every page and mail uses, held per node behind an `ArcSwap`
//! (a page reads it without a store call). Saved as one store record; other
//! nodes take a change within [`REFRESH_SECS`].

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use chrono::Utc;

use super::error::AppError;
use crate::domain::branding::{Branding, Logo};
use crate::store::{Store, StoreError};

/// The store record (a secret row: global, shared by every node).
pub const BRANDING_SECRET: &str = "portal.branding";
/// How often a node reads the record again.
pub const REFRESH_SECS: u64 = 15;

/// This node's copy of the branding.
pub struct BrandingCell(ArcSwap<Branding>);

fn decode(bytes: &[u8]) -> Result<Branding, StoreError> {
    rmp_serde::from_slice(bytes).map_err(|e| StoreError::Corrupt(format!("branding: {e}")))
}

async fn read(store: &dyn Store) -> Result<Branding, StoreError> {
    match store.get_secret(BRANDING_SECRET).await? {
        Some(bytes) => decode(&bytes),
        None => Ok(Branding::default()),
    }
}

impl BrandingCell {
    /// The branding as stored (none yet: the defaults).
    pub async fn load(store: &dyn Store) -> Result<BrandingCell, StoreError> {
        Ok(BrandingCell(ArcSwap::from_pointee(read(store).await?)))
    }

    /// The current branding.
    pub fn get(&self) -> Arc<Branding> {
        self.0.load_full()
    }

    /// Takes changes other nodes saved, every [`REFRESH_SECS`].
    pub fn spawn_refresh(self: &Arc<Self>, store: Arc<dyn Store>) {
        let me = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(REFRESH_SECS));
            tick.tick().await;
            loop {
                tick.tick().await;
                match read(store.as_ref()).await {
                    Ok(b) if *me.get() != b => me.0.store(Arc::new(b)),
                    Ok(_) => {}
                    Err(e) => tracing::debug!(error = %e, "could not read the branding"),
                }
            }
        });
    }

    /// Saves the texts (name, accent, support contact); the logo stays.
    /// A field outside the rules is refused and nothing changes.
    pub async fn save_texts(
        &self,
        store: &dyn Store,
        texts: Branding,
        who: &str,
    ) -> Result<Arc<Branding>, AppError> {
        let current = read(store).await?;
        let next = Branding {
            logo: current.logo.clone(),
            ..texts
        };
        self.write(store, current, next, who, "settings.branding")
            .await
    }

    /// Sets (`Some`) or removes (`None`) the logo.
    pub async fn save_logo(
        &self,
        store: &dyn Store,
        logo: Option<Logo>,
        who: &str,
    ) -> Result<Arc<Branding>, AppError> {
        let current = read(store).await?;
        let next = Branding {
            logo,
            ..current.clone()
        };
        self.write(store, current, next, who, "settings.branding_logo")
            .await
    }

    async fn write(
        &self,
        store: &dyn Store,
        before: Branding,
        next: Branding,
        who: &str,
        action: &str,
    ) -> Result<Arc<Branding>, AppError> {
        let mut errors = super::error::FieldErrors::default();
        for (field, msg) in next.problems() {
            errors.add(field, msg);
        }
        errors.into_result()?;
        let bytes = rmp_serde::to_vec_named(&next)
            .map_err(|e| AppError::Internal(format!("branding: {e}")))?;
        store.put_secret(BRANDING_SECRET, &bytes).await?;
        let shown = |b: &Branding| {
            format!(
                "{} · {} · {} · {} · logo {}",
                b.name,
                b.accent,
                b.support_email,
                b.support_url,
                if b.logo.is_some() { "set" } else { "none" }
            )
        };
        let entry = crate::engine::origin::entry(who, action, None, Utc::now())
            .change(shown(&before), shown(&next));
        super::audit::record_global(store, &entry).await?;
        let next = Arc::new(next);
        self.0.store(next.clone());
        Ok(next)
    }
}
