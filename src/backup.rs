//! Logical backups: every record of both environments and the global keyspace,
//! secrets included, taken through the running server's store (so the embedded
//! store's file lock is no obstacle) and restored into an empty store.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{
    AdminUser, AuditEntry, Customer, EnvSettings, Environment, Generator, License, Product,
};
use crate::store::{all_licenses, AuditQuery, Store, StoreError};

// Issue 12 item 3: product files (streamed as chunk frames after the document) and the outbox.
pub mod files_mail;

/// Names this format; restore refuses anything else.
pub const BACKUP_FORMAT: &str = "keywarden-backup-v1";

/// One environment's records.
#[derive(Debug, Serialize, Deserialize)]
pub struct EnvDump {
    pub environment: Environment,
    pub products: Vec<Product>,
    pub generators: Vec<Generator>,
    pub licenses: Vec<License>,
    pub settings: Option<EnvSettings>,
    /// Oldest first.
    pub audit: Vec<AuditEntry>,
}

/// A whole backup (MessagePack on the wire and on disk).
#[derive(Debug, Serialize, Deserialize)]
pub struct Backup {
    pub format: String,
    pub created_at: DateTime<Utc>,
    pub secrets: Vec<(String, Vec<u8>)>,
    /// Admin accounts (rows); backups taken before rows have none here and
    /// carry the accounts in the `portal.admins` secret instead.
    #[serde(default)]
    pub admins: Vec<AdminUser>,
    pub customers: Vec<Customer>,
    pub environments: Vec<EnvDump>,
    // --- issue 12 item 3: product files and the outbox (see `backup/files_mail.rs`) ---
    /// Product file descriptions; their bytes follow the document as chunk frames.
    #[serde(default)]
    pub files: Vec<crate::domain::FileMeta>,
    /// The outbox records (masked bodies), newest first.
    #[serde(default)]
    pub outbox: Vec<crate::domain::MailRecord>,
    /// Unsent mails' pending copies (with the recipient's body, like the secrets above).
    #[serde(default)]
    pub outbox_pending: Vec<crate::domain::MailRecord>,
    // --- end of issue 12 item 3 ---
    /// Background jobs (backups taken before jobs were rows have none).
    #[serde(default)]
    pub jobs: Vec<JobDump>,
}

/// Reads everything. Each environment's licenses are read page by page; a write
/// racing the backup is either in it or not, never half in it.
pub async fn take(store: &dyn Store) -> Result<Backup, StoreError> {
    let mut environments = Vec::new();
    for env in Environment::ALL {
        let mut licenses = all_licenses(store, env).await?;
        // Each license carries its history in the dump (as the format always had
        // it); restoring splits it into history rows again.
        for l in licenses.iter_mut().filter(|l| l.ever_activated) {
            l.activations
                .extend(full_history(store, env, &l.key).await?);
        }
        let mut audit = store
            .list_audit(
                env,
                &AuditQuery {
                    limit: usize::MAX,
                    ..AuditQuery::default()
                },
            )
            .await?;
        audit.reverse();
        environments.push(EnvDump {
            environment: env,
            products: store.list_products(env).await?,
            generators: store.list_generators(env).await?,
            licenses,
            settings: store.get_settings(env).await?,
            audit,
        });
    }
    let mut b = Backup {
        format: BACKUP_FORMAT.into(),
        created_at: Utc::now(),
        secrets: store.list_secrets().await?,
        admins: store.list_admins().await?,
        customers: store.list_customers().await?,
        environments,
        files: Vec::new(),
        outbox: Vec::new(),
        outbox_pending: Vec::new(),
        jobs: take_jobs(store).await?,
    };
    // --- issue 12 item 3: files and outbox ---
    files_mail::take(store, &mut b).await?;
    // --- end of issue 12 item 3 ---
    Ok(b)
}

/// Every history row of one license.
async fn full_history(
    store: &dyn Store,
    env: Environment,
    key: &crate::domain::LicenseKey,
) -> Result<Vec<crate::domain::Activation>, StoreError> {
    const PER_PAGE: u32 = 1000;
    let mut out = Vec::new();
    for page in 1.. {
        let rows = store.activation_history(env, key, page, PER_PAGE).await?;
        let done = (rows.len() as u32) < PER_PAGE;
        out.extend(rows);
        if done {
            break;
        }
    }
    Ok(out)
}

/// Writes a backup into a store that holds no customers and no products yet.
pub async fn restore(store: &dyn Store, b: &Backup) -> Result<(), StoreError> {
    if b.format != BACKUP_FORMAT {
        return Err(StoreError::Corrupt(format!(
            "not a Keywarden backup (format '{}', expected '{BACKUP_FORMAT}')",
            b.format
        )));
    }
    let empty = store.list_customers().await?.is_empty()
        && futures_util::future::try_join_all(Environment::ALL.map(|e| store.list_products(e)))
            .await?
            .iter()
            .all(Vec::is_empty);
    if !empty {
        return Err(StoreError::Conflict(
            "restore needs an empty store (a fresh data folder or keyspace prefix)".into(),
        ));
    }
    for (name, value) in &b.secrets {
        store.put_secret(name, value).await?;
    }
    let admins = crate::app::directory::admins_of_backup(&b.admins, &b.secrets)?;
    if !admins.is_empty() {
        crate::app::directory::replace_rows(store, &admins).await?;
    }
    for c in &b.customers {
        store.insert_customer(c).await?;
    }
    for dump in &b.environments {
        let env = dump.environment;
        for g in &dump.generators {
            store.put_generator(env, g).await?;
        }
        for p in &dump.products {
            let note = AuditEntry::new("restore", "product.restored", None, Utc::now())
                .detail(p.name.clone());
            store.put_product(env, p, &note).await?;
        }
        for chunk in dump.licenses.chunks(10_000) {
            store.insert_licenses(env, chunk, &[]).await?;
        }
        if let Some(s) = &dump.settings {
            store.put_settings(env, s).await?;
        }
        for e in &dump.audit {
            store.append_audit(env, e).await?;
        }
    }
    // --- issue 12 item 3: the outbox (file bytes follow the document: `files_mail::restore_files`) ---
    files_mail::restore_outbox(store, b).await?;
    // --- end of issue 12 item 3 ---
    restore_jobs(store, &b.jobs).await?;
    Ok(())
}

// --- background jobs (issue 12 item 2) ---

/// Most jobs a backup carries (the app keeps about 200).
const JOBS_IN_BACKUP: usize = 1000;

/// One job row and the plan of the step it is at, if planned: what a node that
/// takes the restored job over needs to finish it without making a key twice.
#[derive(Debug, Serialize, Deserialize)]
pub struct JobDump {
    pub job: crate::domain::job::Job,
    pub pending: Option<crate::domain::job::JobStep>,
}

async fn take_jobs(store: &dyn Store) -> Result<Vec<JobDump>, StoreError> {
    let mut out = Vec::new();
    for job in store.list_jobs(JOBS_IN_BACKUP).await? {
        let pending = store.get_job_step(job.id, job.step).await?;
        out.push(JobDump { job, pending });
    }
    Ok(out)
}

async fn restore_jobs(store: &dyn Store, jobs: &[JobDump]) -> Result<(), StoreError> {
    for d in jobs {
        store.insert_job(&d.job).await?;
        if let Some(p) = &d.pending {
            store.plan_job_step(d.job.id, d.job.step, p).await?;
        }
    }
    Ok(())
}
