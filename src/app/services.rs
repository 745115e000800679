//! The services the handlers of both front doors share (held by `AppState`).

use std::sync::Arc;

use super::{alerts, api_keys, directory, files, jobs, links, rates, webhooks};

/// The services shared by every worker of both front doors: sessions, mail,
/// files, link keys, admin accounts, jobs, rates and alert budgets.
pub struct Services {
    pub admin_sessions: crate::app::sessions::Sessions,
    pub customer_sessions: crate::app::sessions::Sessions,
    pub outbox: Arc<crate::app::mail::Outbox>,
    pub files: files::FileStore,
    pub links: links::LinkKey,
    pub admins: directory::AdminDirectory,
    pub jobs: jobs::Jobs,
    pub rates: Arc<rates::RateHistory>,
    /// API keys used lately (their last use is written once a minute).
    pub key_uses: api_keys::UseLog,
    /// Activation alerts: the queue, and what each license has left this hour.
    pub alerts: alerts::ActivationAlerts,
    /// Webhook endpoints, their feed and sender.
    pub webhooks: Arc<webhooks::Webhooks>,
    /// The vendor's name, logo, colour and support contact.
    pub branding: Arc<super::branding::BrandingCell>,
}

impl Services {
    pub fn new(
        admins: directory::AdminDirectory,
        limits: &crate::config::LimitSettings,
        outbox: Arc<crate::app::mail::Outbox>,
        files: files::FileStore,
        links: links::LinkKey,
        webhooks: Arc<webhooks::Webhooks>,
        branding: Arc<super::branding::BrandingCell>,
    ) -> Services {
        Services {
            admin_sessions: crate::app::sessions::Sessions::new(
                crate::store::Portal::Admin,
                crate::app::sessions::IDLE,
                limits.sessions_per_account,
            ),
            customer_sessions: crate::app::sessions::Sessions::new(
                crate::store::Portal::Customer,
                crate::app::sessions::IDLE,
                limits.sessions_per_account,
            ),
            outbox,
            files,
            links,
            admins,
            jobs: jobs::Jobs::default(),
            rates: Arc::new(rates::RateHistory::default()),
            alerts: alerts::ActivationAlerts::default(),
            key_uses: api_keys::UseLog::default(),
            webhooks,
            branding,
        }
    }
}

impl Services {
    /// Keeps this node's admin directory in step with the admin rows other nodes
    /// write: the engine's change-log reader wakes it (within the poll interval).
    pub fn follow_admin_changes(self: &Arc<Self>, engine: Arc<crate::engine::Engine>) {
        let services = self.clone();
        let mut changes = engine.admin_changes();
        tokio::spawn(async move {
            while changes.changed().await.is_ok() {
                match services.admins.reload(engine.store().as_ref()).await {
                    Ok(()) => tracing::info!("admin accounts changed on another node; reloaded"),
                    Err(e) => tracing::warn!(error = %e, "could not reload admin accounts"),
                }
            }
        });
    }
}
