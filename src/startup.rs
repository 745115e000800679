//! Builds the application once — store, secrets, engine, background tasks, HTTP server —
//! for `main` and for tests (which start the real binary on port 0).

use std::sync::Arc;
use std::time::Duration;

use actix_web::{middleware, web, App, HttpServer};
use parking_lot::RwLock;
use rand::RngCore;

use crate::app::directory::AdminDirectory;
use crate::app::state::{hash_token, AppState};
use crate::config::{Settings, StoreKind};
use crate::engine::{changes, sweeper, Engine};
use crate::portal::Portal;
use crate::store::embedded::EmbeddedStore;
use crate::store::{Store, StoreError};

pub use crate::app::tokens::{new_admin_token, ADMIN_TOKEN_SECRET};

/// Why the server did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("server stopped with an error: {0}")]
    Io(#[from] std::io::Error),
    /// A bootstrap variable (KEYWARDEN_ADMIN_TOKEN, …) that cannot be used.
    #[error("{0}")]
    Bootstrap(String),
}

/// Opens the configured store (the CQL one refuses an unknown schema version).
pub async fn open_store(settings: &Settings) -> Result<Arc<dyn Store>, StoreError> {
    match settings.store.kind {
        StoreKind::Scylla => Ok(Arc::new(
            crate::store::cql::CqlStore::open(&settings.store.cql).await?,
        )),
        StoreKind::Embedded => Ok(Arc::new(EmbeddedStore::open(
            &settings.store.data_dir,
            settings.store.cache_mb,
        )?)),
    }
}

/// Shortest admin API token accepted from `KEYWARDEN_ADMIN_TOKEN`.
pub const MIN_ADMIN_TOKEN_LEN: usize = 24;

/// A chosen admin token must be long enough not to be guessed (security item 13).
fn check_admin_token(token: &str) -> Result<(), StartError> {
    if token.chars().count() < MIN_ADMIN_TOKEN_LEN {
        return Err(StartError::Bootstrap(format!(
            "KEYWARDEN_ADMIN_TOKEN must be at least {MIN_ADMIN_TOKEN_LEN} characters \
             (it is the owner's key to the whole admin API); unset it to have one made"
        )));
    }
    Ok(())
}

/// Returns the stored token hash; on first start makes a token (or takes
/// `KEYWARDEN_ADMIN_TOKEN`) and returns it so it can be printed once.
async fn admin_token(store: &dyn Store) -> Result<([u8; 32], Option<String>), StartError> {
    if let Ok(fixed) = std::env::var("KEYWARDEN_ADMIN_TOKEN") {
        let fixed = fixed.trim().to_owned();
        if !fixed.is_empty() {
            check_admin_token(&fixed)?;
            let h = hash_token(&fixed);
            store.put_secret(ADMIN_TOKEN_SECRET, &h).await?;
            return Ok((h, None));
        }
    }
    if let Some(existing) = store.get_secret(ADMIN_TOKEN_SECRET).await? {
        let h: [u8; 32] = existing
            .try_into()
            .map_err(|_| StoreError::Corrupt("admin token hash is not 32 bytes".into()))?;
        return Ok((h, None));
    }
    let token = new_admin_token();
    let kept = store
        .put_secret_if_absent(ADMIN_TOKEN_SECRET, &hash_token(&token))
        .await?;
    let h: [u8; 32] = kept
        .try_into()
        .map_err(|_| StoreError::Corrupt("admin token hash is not 32 bytes".into()))?;
    // Another node may have won the race; then our token is not the one kept.
    let shown = (h == hash_token(&token)).then_some(token);
    Ok((h, shown))
}

/// Email of the first admin when `KEYWARDEN_ADMIN_EMAIL` is not set.
pub const DEFAULT_ADMIN_EMAIL: &str = "admin@keywarden.local";

/// Loads the admin accounts; on first start creates the first full-access admin
/// from `KEYWARDEN_ADMIN_EMAIL`/`KEYWARDEN_ADMIN_PASSWORD`, or with a random
/// password that is returned to be printed once.
async fn admin_accounts(
    store: &dyn Store,
) -> Result<(AdminDirectory, Option<(String, Option<String>)>), StartError> {
    let dir = AdminDirectory::load(store).await?;
    if !dir.is_empty() {
        return Ok((dir, None));
    }
    let email = std::env::var("KEYWARDEN_ADMIN_EMAIL")
        .ok()
        .filter(|e| !e.trim().is_empty())
        .map(|e| crate::domain::customer::normalize_email(&e))
        .transpose()
        .map_err(|e| std::io::Error::other(format!("KEYWARDEN_ADMIN_EMAIL {e}")))?
        .unwrap_or_else(|| DEFAULT_ADMIN_EMAIL.into());
    let (password, shown) = match std::env::var("KEYWARDEN_ADMIN_PASSWORD") {
        Ok(p) if !p.is_empty() => {
            crate::crypto::password::check_strength(&p)
                .map_err(|e| std::io::Error::other(format!("KEYWARDEN_ADMIN_PASSWORD {e}")))?;
            (p, None)
        }
        _ => {
            let p = crate::portal::session::random_token()[..20].to_owned();
            (p.clone(), Some(p))
        }
    };
    let user = crate::domain::AdminUser {
        id: uuid::Uuid::new_v4(),
        email: email.clone(),
        name: "Administrator".into(),
        password_hash: crate::crypto::password::hash(&password).map_err(std::io::Error::other)?,
        role: crate::domain::Role::Full,
        created_at: chrono::Utc::now(),
        last_sign_in: None,
    };
    match dir.upsert(store, user).await {
        Ok(()) => Ok((dir, Some((email, shown)))),
        // Another node starting at the same moment made the first admin.
        Err(crate::app::directory::DirectoryError::Rule(
            crate::domain::admin::AdminRuleError::EmailTaken,
        )) => {
            dir.reload(store).await?;
            Ok((dir, None))
        }
        Err(e) => {
            Err(std::io::Error::other(format!("could not create the first admin: {e}")).into())
        }
    }
}

/// The portal's HMAC key (download links, password links, license handles),
/// made once and shared by every node through the store.
async fn link_key(store: &dyn Store) -> Result<crate::app::links::LinkKey, StoreError> {
    let mut fresh = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut fresh);
    let kept = store
        .put_secret_if_absent(crate::app::links::LINK_KEY_SECRET, &fresh)
        .await?;
    let bytes: [u8; 32] = kept
        .try_into()
        .map_err(|_| StoreError::Corrupt("portal link key is not 32 bytes".into()))?;
    Ok(crate::app::links::LinkKey::new(bytes))
}

/// Binds the listen address first, so `server.public_url` can be filled from the
/// address actually bound (port 0 in tests) before anything builds a link.
fn bind(settings: &mut Settings, demo: bool) -> Result<std::net::TcpListener, StartError> {
    let listener = std::net::TcpListener::bind(&settings.server.listen).map_err(|source| {
        StartError::Bind {
            addr: settings.server.listen.clone(),
            source,
        }
    })?;
    let addr = listener.local_addr()?;
    if settings.fill_public_url(addr) && !demo {
        tracing::warn!(
            public_url = settings.public_base(),
            "server.public_url is not set: links in mails and pages use the listen address; \
             set server.public_url (KEYWARDEN_SERVER__PUBLIC_URL) to the address people reach"
        );
    }
    Ok(listener)
}

/// Makes a folder private (0700, files 0600); says so when an existing one was not.
fn make_private(dir: &std::path::Path, report: bool) -> Result<(), StartError> {
    let changed = crate::private_files::secure_tree(dir).map_err(|e| {
        std::io::Error::other(format!("cannot make {} private: {e}", dir.display()))
    })?;
    if changed > 0 && report {
        tracing::warn!(
            folder = %dir.display(),
            changed,
            "the folder was readable by other users: made it 0700 and its files 0600"
        );
    }
    Ok(())
}

/// Runs the server until SIGTERM/SIGINT, then flushes heartbeats.
pub async fn run(mut settings: Settings, demo: bool) -> Result<(), StartError> {
    let listener = bind(&mut settings, demo)?;
    make_private(&settings.store.data_dir, true)?;
    let settings = Arc::new(settings);
    let store = open_store(&settings).await?;
    crate::metrics::metrics().init_store(store.backend());
    let signers = Arc::new(crate::app::secrets::load_signers(store.as_ref()).await?);
    let (token_hash, new_token) = admin_token(store.as_ref()).await?;
    let (admins, first_admin) = admin_accounts(store.as_ref()).await?;
    let engine = Engine::new(store.clone(), &settings).await?;
    let seeded = if demo {
        crate::demo::seed(&engine).await?
    } else {
        None
    };
    engine.heartbeats().clone().spawn_flusher(
        store.clone(),
        Duration::from_millis(settings.engine.heartbeat_flush_ms),
    );
    sweeper::spawn(
        engine.clone(),
        Duration::from_secs(settings.engine.expiry_sweep_secs.max(1)),
    );
    if settings.store.kind == StoreKind::Scylla {
        changes::spawn(
            engine.clone(),
            Duration::from_millis(settings.store.cql.changes_poll_ms),
        );
    }

    let outbox = Arc::new(
        crate::app::mail::Outbox::open(&settings)
            .map_err(|e| std::io::Error::other(e.to_string()))?,
    );
    let files = crate::app::files::FileStore::open(&settings.store.data_dir)?;
    files.remove_leftovers();
    let links = link_key(store.as_ref()).await?;
    // Files the store and the portal just created get their private modes too.
    make_private(&settings.store.data_dir, false)?;
    make_private(outbox.dir(), true)?;
    let portal = Arc::new(Portal::new(admins, &settings.limits, outbox, files, links));
    portal.rates.clone().spawn_sampler();
    let attempts = Arc::new(crate::attempts::Attempts::new(&settings.limits));
    attempts.clone().spawn_pruner(Duration::from_secs(60));
    let token_attempts = Arc::new(crate::attempts::Attempts::new(&settings.limits));
    token_attempts.clone().spawn_pruner(Duration::from_secs(60));
    {
        let engine = engine.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                engine.prune_limiters();
            }
        });
    }
    let state = web::Data::new(AppState {
        engine: engine.clone(),
        signers,
        config: settings.clone(),
        admin_token_hash: RwLock::new(token_hash),
        portal: portal.clone(),
        attempts: attempts.clone(),
        token_attempts,
        passwords: crate::crypto::password::PasswordPool::new(
            settings.limits.password_hash_concurrency,
            settings.limits.password_hash_queue,
        ),
    });
    crate::app::reminders::spawn(
        state.clone(),
        Duration::from_secs(settings.mail.reminder_interval_secs.max(1)),
    );
    let workers = match settings.server.workers {
        0 => std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        n => n,
    };
    let https = settings.public_is_https();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            // Browsers that reached us over https keep doing so (security item 14).
            .wrap(middleware::Condition::new(
                https,
                middleware::DefaultHeaders::new().add((
                    "Strict-Transport-Security",
                    "max-age=31536000; includeSubDomains",
                )),
            ))
            .wrap(middleware::from_fn(crate::api::observe))
            // The admin API's /admin/api/v1 scope before the portal's /admin one.
            .configure(crate::api::configure)
            .configure(crate::portal::configure)
    })
    .workers(workers)
    .shutdown_timeout(settings.server.shutdown_timeout_secs)
    .listen(listener)?;
    let addr = server
        .addrs()
        .first()
        .copied()
        .ok_or_else(|| std::io::Error::other("no address bound"))?;
    let base = format!("http://{addr}");
    println!(
        "Keywarden is running ({} store in {})",
        store.backend(),
        settings.store.data_dir.display()
    );
    println!("  Client API:  {base}/v1/production/licenses/validate  (and /v1/staging/…)");
    println!("  Admin portal: {base}/admin");
    match &first_admin {
        Some((email, Some(password))) => {
            println!("  Admin sign-in (first admin, password shown once): {email} / {password}")
        }
        Some((email, None)) => {
            println!("  Admin sign-in: {email} / the password in KEYWARDEN_ADMIN_PASSWORD")
        }
        None => println!("  Admin sign-in: an existing admin account"),
    }
    println!("  Customer portal: {base}/portal");
    println!("  Admin API:   {base}/admin/api/v1/production/licenses");
    println!("  Metrics:     {base}/metrics");
    println!("  Public URL (links in mails): {}", settings.public_base());
    match &new_token {
        Some(t) => println!("  Admin API token (shown once, keep it): {t}"),
        None => println!("  Admin API token: already set (KEYWARDEN_ADMIN_TOKEN or the one printed at first start)"),
    }
    if let Some(s) = seeded {
        println!("  Demo data: {s}");
    }
    // Printed last: tests and scripts read the banner above once they see this line.
    println!("KEYWARDEN_LISTENING {base}");
    tracing::info!(%addr, workers, "listening");
    server.run().await?;
    tracing::info!("shutting down: flushing heartbeats");
    engine.heartbeats().flush(store.as_ref()).await;
    Ok(())
}

/// `keywarden migrate`: applies schema.cql to the configured CQL cluster.
pub async fn migrate(settings: &Settings) -> Result<usize, StartError> {
    let cfg = &settings.store.cql;
    let session = crate::store::cql::connect(cfg).await?;
    Ok(crate::store::cql::migrate(&session, &cfg.keyspace_prefix, &cfg.replication).await?)
}

/// `keywarden backup`: asks a running server for a backup and writes it to `out`.
pub fn backup(url: &str, token: &str, out: &std::path::Path) -> Result<(), StartError> {
    let endpoint = format!("{}/admin/api/v1/backup", url.trim_end_matches('/'));
    let resp = ureq::get(&endpoint)
        .set("authorization", &format!("Bearer {token}"))
        .call()
        .map_err(|e| std::io::Error::other(format!("backup request to {endpoint} failed: {e}")))?;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut resp.into_reader(), &mut bytes)?;
    // Check it decodes before calling it a backup.
    let b: crate::backup::Backup = rmp_serde::from_slice(&bytes)
        .map_err(|e| std::io::Error::other(format!("the server's answer is not a backup: {e}")))?;
    let tmp = out.with_extension("partial");
    // A backup holds every secret: readable by its owner only.
    crate::private_files::write(&tmp, &bytes)?;
    std::fs::rename(&tmp, out)?;
    let licenses: usize = b.environments.iter().map(|e| e.licenses.len()).sum();
    println!(
        "backup written to {}: {} bytes, {licenses} licenses, {} customers, {} secrets",
        out.display(),
        bytes.len(),
        b.customers.len(),
        b.secrets.len()
    );
    Ok(())
}

/// `keywarden restore`: writes a backup file into the configured (empty) store.
pub async fn restore(settings: &Settings, from: &std::path::Path) -> Result<(), StartError> {
    let bytes = std::fs::read(from)?;
    let b: crate::backup::Backup = rmp_serde::from_slice(&bytes).map_err(|e| {
        StoreError::Corrupt(format!("{} is not a Keywarden backup: {e}", from.display()))
    })?;
    let store = open_store(settings).await?;
    crate::backup::restore(store.as_ref(), &b).await?;
    let licenses: usize = b.environments.iter().map(|e| e.licenses.len()).sum();
    println!(
        "restored {licenses} licenses and {} customers from {}",
        b.customers.len(),
        from.display()
    );
    Ok(())
}
