//! The validation engine: a registry of per-license actors in front of the store.
//!
//! Handlers call [`Engine`]; it finds (or loads) the license's actor and sends
//! it one message. Writes are answered after the store committed them;
//! heartbeats go through the write-behind [`heartbeats::HeartbeatBuffer`].

pub mod abuse;
pub mod actor;
pub mod catalog;
pub mod changes;
pub mod client_ip;
pub mod customer_book;
pub mod heartbeats;
mod limits;
pub mod origin;
pub mod registry;
pub mod resident;
mod settings_cell;
pub mod sweeper;

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use chrono::Utc;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::Settings;
use crate::domain::{
    Action, AuditEntry, EnvSettings, Environment, Identifier, License, LicenseKey, TransitionError,
};
use crate::store::{Store, StoreError};
use actor::{AdminChange, AdminRequest, ClientChange, Outcome, Reload};
use heartbeats::HeartbeatBuffer;
use registry::Registry;

pub use actor::{ActivationRequest, LicenseEdit};
pub use settings_cell::SettingsCell;

/// Why an engine call failed (verdicts are not failures).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("rate limited")]
    RateLimited { retry_after_secs: u64 },
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error("license not found")]
    NotFound,
    #[error("{field}: {detail}")]
    Invalid { field: &'static str, detail: String },
    #[error("license is busy; retry")]
    Busy,
}

impl From<actix::MailboxError> for EngineError {
    fn from(_: actix::MailboxError) -> Self {
        EngineError::Busy
    }
}

/// A license deleted while a client request waited answers NOT_FOUND, like an unknown key.
fn deleted_meanwhile(e: EngineError) -> Result<Option<Outcome>, EngineError> {
    match e {
        EngineError::NotFound => Ok(None),
        other => Err(other),
    }
}

/// Shared by every worker: the store, the registry and the limiters.
pub struct Engine {
    store: Arc<dyn Store>,
    /// Summaries for admin search, filters, sorts and paging.
    catalog: Arc<catalog::Catalog>,
    registry: Registry,
    heartbeats: Arc<HeartbeatBuffer>,
    settings: Arc<SettingsCell>,
    unknown_key_limiter: DefaultKeyedRateLimiter<IpAddr>,
    /// Bumped when the change log says another node wrote an admin row.
    admin_changes: tokio::sync::watch::Sender<u64>,
    customers: customer_book::CustomerBook,
}

/// A configured rate or burst as a quota needs it: 0 counts as 1, so a limit set
/// to 0 still limits (the engine's limiters and the sign-in attempts share it).
pub fn nz(v: u32) -> NonZeroU32 {
    NonZeroU32::new(v.max(1)).unwrap_or(NonZeroU32::MIN)
}

impl Engine {
    /// The store under the engine, for the app's reads and the writes that
    /// are not a license's (products, customers, accounts, audit, secrets).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The per-node summaries behind search, filters, sorts and paging.
    pub fn catalog(&self) -> &Arc<catalog::Catalog> {
        &self.catalog
    }

    /// Every customer account, for lists, pickers and names.
    pub fn customers(&self) -> &customer_book::CustomerBook {
        &self.customers
    }

    /// Client contacts waiting to be written (flushed by the sweeper and at shutdown).
    pub fn heartbeats(&self) -> &Arc<HeartbeatBuffer> {
        &self.heartbeats
    }

    /// Each environment's current settings (changed only by `update_settings`).
    pub fn settings(&self) -> &SettingsCell {
        &self.settings
    }

    /// Builds the engine; per-environment settings come from the store, else from config.
    pub async fn new(store: Arc<dyn Store>, config: &Settings) -> Result<Arc<Engine>, StoreError> {
        let defaults = EnvSettings {
            grace_period_days: config.licensing.grace_period_days,
            abuse: config.abuse.clone(),
            reauth_preview: false,
            mail_key_on_assign: true,
            security_alerts_mandatory: false,
            admin_two_factor_required: false,
        };
        let mut per_env = Vec::new();
        for env in Environment::ALL {
            per_env.push(
                store
                    .get_settings(env)
                    .await?
                    .unwrap_or_else(|| defaults.clone()),
            );
        }
        let settings = Arc::new(SettingsCell::new(per_env[0].clone(), per_env[1].clone()));
        let heartbeats = Arc::new(HeartbeatBuffer::new(std::time::Duration::from_secs(
            config.engine.last_seen_precision_secs,
        )));
        let license_quota = Quota::per_second(nz(config.limits.license_per_second))
            .allow_burst(nz(config.limits.license_burst));
        // Loaded in the background: the client API serves before the listing is indexed.
        let catalog = Arc::new(catalog::Catalog::loading());
        catalog::load::spawn(catalog.clone(), store.clone());
        let registry = Registry::new(
            store.clone(),
            catalog.clone(),
            &config.engine,
            license_quota,
            heartbeats.clone(),
            settings.clone(),
        );
        let ip_quota = Quota::per_minute(nz(config.limits.unknown_key_per_minute))
            .allow_burst(nz(config.limits.unknown_key_burst));
        Ok(Arc::new(Engine {
            store,
            catalog,
            registry,
            heartbeats,
            settings,
            unknown_key_limiter: RateLimiter::keyed(ip_quota),
            admin_changes: tokio::sync::watch::Sender::new(0),
            customers: Default::default(),
        }))
    }

    /// The resident license for a key; `None` for an unknown key.
    ///
    /// `caller` is the client's IP for client API requests: the registry charges
    /// it for keys it cannot answer from memory or the catalog (see
    /// [`Registry::lookup`]). Admin and portal reads pass `None`.
    async fn resident(
        &self,
        env: Environment,
        key: &LicenseKey,
        caller: Option<IpAddr>,
    ) -> Result<Option<Arc<resident::Resident>>, EngineError> {
        let charge = caller.map(|ip| move || self.charge_unknown_key(ip));
        let charge = charge
            .as_ref()
            .map(|c| c as &(dyn Fn() -> Result<(), EngineError> + Send + Sync));
        self.registry.lookup(env, key, charge).await
    }

    /// Sends one message to the license's actor (started on first use); `None`
    /// for an unknown key.
    ///
    /// An actor that stopped meanwhile (evicted, or its license deleted) is looked up
    /// again once, so a request in flight never fails for it.
    async fn ask<M>(
        &self,
        env: Environment,
        key: &LicenseKey,
        msg: M,
        caller: Option<IpAddr>,
    ) -> Result<Option<M::Result>, EngineError>
    where
        M: actix::Message + Send + Clone + 'static,
        M::Result: Send,
        actor::LicenseActor: actix::Handler<M>,
    {
        for _ in 0..2 {
            let Some(resident) = self.resident(env, key, caller).await? else {
                return Ok(None);
            };
            match resident.actor().send(msg.clone()).await {
                Ok(r) => return Ok(Some(r)),
                Err(actix::MailboxError::Closed) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(EngineError::Busy)
    }

    /// Validate or heartbeat: answered from the license's view in memory, without
    /// a message to its actor (see [`resident`] for why that is safe).
    pub async fn check(
        &self,
        env: Environment,
        key: &LicenseKey,
        identifier: &Identifier,
        heartbeat: bool,
        caller: Option<IpAddr>,
    ) -> Result<Option<Outcome>, EngineError> {
        match self.resident(env, key, caller).await? {
            None => Ok(None),
            Some(r) => r
                .check(identifier, heartbeat)
                .map(Some)
                .or_else(deleted_meanwhile),
        }
    }

    /// Activate or deactivate: answered after the store committed.
    pub async fn change(
        &self,
        env: Environment,
        key: LicenseKey,
        request: ActivationRequest,
        caller: Option<IpAddr>,
    ) -> Result<Option<Outcome>, EngineError> {
        self.ask(env, &key, ClientChange(request), caller)
            .await?
            .transpose()
            .or_else(deleted_meanwhile)
    }

    /// The license as its actor holds it (None when unknown).
    pub async fn get(
        &self,
        env: Environment,
        key: &LicenseKey,
    ) -> Result<Option<License>, EngineError> {
        self.get_for(env, key, None).await
    }

    /// The license as the store holds it now, for the portals and the admin API:
    /// on a store several nodes share, the resident actor reloads first (one
    /// store read), so a page drawn right after a change made through another
    /// node shows it (read-your-writes behind a round-robin load balancer).
    pub async fn get_current(
        &self,
        env: Environment,
        key: &LicenseKey,
    ) -> Result<Option<License>, EngineError> {
        if self.store.shared_by_nodes() {
            if let Some(actor) = self.registry.refresh(env, key.clone()).await {
                // Waits for the reload, so the copy below is the committed one.
                let _ = actor.send(Reload).await;
            }
        }
        self.get(env, key).await
    }

    /// [`Engine::get`] on behalf of a client (charged like a validation).
    pub async fn get_for(
        &self,
        env: Environment,
        key: &LicenseKey,
        caller: Option<IpAddr>,
    ) -> Result<Option<License>, EngineError> {
        Ok(self
            .resident(env, key, caller)
            .await?
            .filter(|r| !r.is_gone())
            .map(|r| r.view().merged()))
    }

    /// Admin change through the license's actor, so the next validation already sees it.
    pub async fn admin(
        &self,
        env: Environment,
        key: &LicenseKey,
        change: AdminChange,
    ) -> Result<License, EngineError> {
        let deleting = matches!(change, AdminChange::Delete { .. });
        let result = self
            .ask(
                env,
                key,
                AdminRequest {
                    change,
                    ip: origin::current(),
                },
                None,
            )
            .await?
            .ok_or(EngineError::NotFound)??;
        if deleting {
            self.registry.forget(env, key.clone()).await;
            self.catalog.remove(env, key);
        }
        Ok(result)
    }

    /// A state action by name (suspend, revoke, expire…).
    pub async fn act(
        &self,
        env: Environment,
        key: &LicenseKey,
        action: Action,
        who: &str,
    ) -> Result<License, EngineError> {
        self.admin(
            env,
            key,
            AdminChange::Action {
                action,
                who: who.to_owned(),
            },
        )
        .await
    }

    /// Inserts new licenses (all or nothing) and clears them from the negative cache.
    pub async fn create_licenses(
        &self,
        env: Environment,
        licenses: &[License],
        who: &str,
    ) -> Result<(), EngineError> {
        let now = Utc::now();
        let audit: Vec<AuditEntry> = licenses
            .iter()
            .map(|l| {
                crate::engine::origin::entry(who, "license.created", Some(l.key.as_str()), now)
                    .change("", l.status)
            })
            .collect();
        self.store.insert_licenses(env, licenses, &audit).await?;
        for l in licenses {
            self.registry.forget_negative(env, &l.key);
            self.catalog.upsert(l);
        }
        Ok(())
    }

    /// Another node changed a license: refresh the resident actor (in order), or
    /// just this node's catalog entry when the license is not resident here.
    pub async fn refresh(&self, env: Environment, key: LicenseKey) {
        if let Some(actor) = self.registry.refresh(env, key.clone()).await {
            // The actor reloads in order and updates the catalog.
            actor.do_send(Reload);
            return;
        }
        match self.store.get_license(env, &key).await {
            Ok(Some(l)) => self.catalog.upsert(&l),
            Ok(None) => self.catalog.remove(env, &key),
            Err(e) => tracing::warn!(error = %e, "could not refresh a changed license"),
        }
    }

    /// Saves new per-environment settings and applies them at once.
    pub async fn update_settings(
        &self,
        env: Environment,
        s: EnvSettings,
        who: &str,
    ) -> Result<(), EngineError> {
        s.check()
            .map_err(|(field, detail)| EngineError::Invalid { field, detail })?;
        let before = self.settings.get(env);
        self.store.put_settings(env, &s).await?;
        let entry = crate::engine::origin::entry(who, "settings.updated", None, Utc::now()).change(
            serde_json::to_string(&before).unwrap_or_default(),
            serde_json::to_string(&s).unwrap_or_default(),
        );
        self.store.append_audit(env, &entry).await?;
        self.settings.set(env, s);
        Ok(())
    }
}
