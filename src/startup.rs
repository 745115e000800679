//! Builds the application once — store, secrets, engine, background tasks, HTTP server —
//! for `main` and for tests (which start the real binary on port 0).

use std::sync::Arc;
use std::time::Duration;

use actix_web::{middleware, web, App, HttpServer};
use parking_lot::RwLock;

use crate::app::directory::AdminDirectory;
use crate::app::services::Services;
use crate::app::state::AppState;
use crate::config::{Settings, StoreKind};
use crate::engine::{changes, sweeper, Engine};
use crate::store::embedded::EmbeddedStore;
use crate::store::{Store, StoreError};

mod bootstrap;
mod commands;

pub use crate::app::tokens::{new_admin_token, ADMIN_TOKEN_SECRET};
use bootstrap::{admin_accounts, admin_token, link_key};
pub use bootstrap::{DEFAULT_ADMIN_EMAIL, MIN_ADMIN_TOKEN_LEN};
pub use commands::{backup, migrate, restore};

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

/// Makes a folder private (0700, files 0600); says so when an existing one was
/// not. The folder and its own files are done before anything serves; its
/// sub-folders (mail, uploads: possibly millions of files) on a thread after.
fn make_private(dir: &std::path::Path, report: bool) -> Result<(), StartError> {
    let cannot = |e: std::io::Error| {
        std::io::Error::other(format!("cannot make {} private: {e}", dir.display()))
    };
    let (changed, subfolders) = crate::private_files::secure_top(dir).map_err(cannot)?;
    let warn = move |folder: &std::path::Path, changed: usize| {
        if changed > 0 && report {
            tracing::warn!(
                folder = %folder.display(),
                changed,
                "the folder was readable by other users: made it 0700 and its files 0600"
            );
        }
    };
    warn(dir, changed);
    let top = dir.to_path_buf();
    std::thread::spawn(move || {
        let mut changed = 0;
        for sub in subfolders {
            match crate::private_files::secure_tree(&sub) {
                Ok(n) => changed += n,
                Err(e) => {
                    tracing::warn!(folder = %sub.display(), error = %e, "cannot make a folder private")
                }
            }
        }
        warn(&top, changed);
    });
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
    crate::app::secrets::spawn_refresh(store.clone(), signers.clone());
    let (token_hash, new_token) = admin_token(store.as_ref()).await?;
    let (admins, first_admin) = admin_accounts(store.as_ref()).await?;
    let engine = Engine::new(store.clone(), &settings).await?;
    let seeded = if demo {
        crate::demo::seed(&engine).await?
    } else {
        None
    };
    spawn_engine_tasks(&engine, &store, &settings);
    crate::app::sessions::spawn_sweeper(store.clone());
    crate::app::idempotency::spawn_sweeper(store.clone());
    let portal = open_portal(&settings, &store, admins).await?;
    portal.follow_admin_changes(engine.clone());
    portal.alerts.start(engine.clone(), portal.outbox.clone());
    portal.webhooks.start(engine.clone(), portal.outbox.clone());
    let traffic = Arc::new(crate::app::traffic::DailyTraffic::default());
    traffic.clone().spawn_flusher(store.clone());
    let state = app_state(
        &settings,
        &engine,
        signers,
        token_hash,
        portal,
        traffic.clone(),
    );
    // Background jobs run on this (background) thread, never on an HTTP worker.
    let owners = crate::app::customer_invites::owners(state.clone());
    state
        .services
        .jobs
        .start(engine.clone(), &settings.jobs, owners);
    crate::app::reminders::spawn(
        state.engine.clone(),
        state.services.outbox.clone(),
        Duration::from_secs(settings.mail.reminder_interval_secs.max(1)),
    );
    let workers = workers(&settings);
    let (server, addr) = http_server(state, &settings, listener, workers)?;
    let base = format!("http://{addr}");
    print_banner(store.backend(), &settings, &base, &first_admin, &new_token);
    if let Some(s) = seeded {
        println!("  Demo data: {s}");
    }
    // Printed last: tests and scripts read the banner above once they see this line.
    println!("KEYWARDEN_LISTENING {base}");
    tracing::info!(%addr, workers, "listening");
    server.await?;
    tracing::info!("shutting down: flushing heartbeats");
    engine.heartbeats().flush_all(store.as_ref()).await;
    traffic.flush(store.as_ref()).await;
    store.close().await;
    Ok(())
}

/// The engine's background work: the heartbeat flusher, the expiry sweeper, the
/// change-log reader (CQL: other nodes write too), the registry's idle and
/// capacity sweep and the limiter pruner.
fn spawn_engine_tasks(engine: &Arc<Engine>, store: &Arc<dyn Store>, settings: &Settings) {
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
    let sweeping = engine.clone();
    let every = Duration::from_secs((settings.engine.registry_idle_secs / 4).clamp(1, 10));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            let e = sweeping.clone();
            // A pass over every resident license: on a blocking thread, not a worker.
            let _ = tokio::task::spawn_blocking(move || e.sweep_registry()).await;
        }
    });
    let engine = engine.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            engine.prune_limiters();
        }
    });
}

/// The portal's mail outbox, file store and link key, with private modes on
/// what they (and the store) created, and its rate sampler running.
async fn open_portal(
    settings: &Settings,
    store: &Arc<dyn Store>,
    admins: AdminDirectory,
) -> Result<Arc<Services>, StartError> {
    let branding = Arc::new(crate::app::branding::BrandingCell::load(store.as_ref()).await?);
    branding.spawn_refresh(store.clone());
    let outbox = Arc::new(
        crate::app::mail::Outbox::open(settings, store.clone())
            .map_err(|e| std::io::Error::other(e.to_string()))?
            .with_branding(branding.clone()),
    );
    let files = crate::app::files::FileStore::new(store.clone(), &settings.store.data_dir);
    files_and_mail_tasks(settings, store, &outbox, &files).await;
    let links = link_key(store.as_ref()).await?;
    // Files the store and the portal just created get their private modes too.
    make_private(&settings.store.data_dir, false)?;
    make_private(outbox.dir(), true)?;
    let portal = Arc::new(Services::new(
        admins,
        &settings.limits,
        outbox,
        files,
        links,
        crate::app::webhooks::Webhooks::new(store.clone(), &settings.webhooks),
        branding,
    ));
    portal.rates.clone().spawn_sampler();
    Ok(portal)
}

/// Issue 12 item 3: the previous release's files and outbox folders copied
/// into the store (once; a failure is retried at the next start), the sweep
/// of cut-off uploads and the outbox sender loop.
async fn files_and_mail_tasks(
    settings: &Settings,
    store: &Arc<dyn Store>,
    outbox: &Arc<crate::app::mail::Outbox>,
    files: &crate::app::files::FileStore,
) {
    use crate::app::legacy_copy;
    if let Err(e) = legacy_copy::copy_files(files).await {
        tracing::warn!(error = %e, "could not copy the previous release's files into the store; retried at the next start");
    }
    if let Err(e) = legacy_copy::copy_outbox(outbox).await {
        tracing::warn!(error = %e, "could not copy the previous release's outbox into the store; retried at the next start");
    }
    Arc::new(crate::app::files::FileStore::new(
        store.clone(),
        &settings.store.data_dir,
    ))
    .spawn_sweeper();
    outbox.clone().spawn_sender();
}

/// What every request handler shares, with the sign-in limiters' pruners running.
fn app_state(
    settings: &Arc<Settings>,
    engine: &Arc<Engine>,
    signers: Arc<crate::crypto::Signers>,
    token_hash: [u8; 32],
    portal: Arc<Services>,
    traffic: Arc<crate::app::traffic::DailyTraffic>,
) -> web::Data<AppState> {
    let attempts = Arc::new(crate::attempts::Attempts::new(&settings.limits));
    attempts.clone().spawn_pruner(Duration::from_secs(60));
    let token_attempts = Arc::new(crate::attempts::Attempts::new(&settings.limits));
    token_attempts.clone().spawn_pruner(Duration::from_secs(60));
    web::Data::new(AppState {
        engine: engine.clone(),
        signers,
        config: settings.clone(),
        admin_token_hash: RwLock::new(token_hash),
        services: portal,
        attempts,
        token_attempts,
        traffic,
        passwords: crate::crypto::password::PasswordPool::new(
            settings.limits.password_hash_concurrency,
            settings.limits.password_hash_queue,
        ),
    })
}

/// HTTP worker threads: `server.workers`, or one per core when 0.
fn workers(settings: &Settings) -> usize {
    match settings.server.workers {
        0 => std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        n => n,
    }
}

/// Both front doors on one listener (the client and admin APIs, then the
/// portals), and the address it is bound to.
fn http_server(
    state: web::Data<AppState>,
    settings: &Settings,
    listener: std::net::TcpListener,
    workers: usize,
) -> Result<(actix_web::dev::Server, std::net::SocketAddr), StartError> {
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
    // Not serving yet: the returned server starts when awaited.
    Ok((server.run(), addr))
}

/// What a person starting the server needs: where each door is, how to sign in
/// (a first admin's password and a new API token are shown this once only).
fn print_banner(
    backend: &str,
    settings: &Settings,
    base: &str,
    first_admin: &Option<(String, Option<String>)>,
    new_token: &Option<String>,
) {
    println!(
        "Keywarden is running ({backend} store in {})",
        settings.store.data_dir.display()
    );
    println!("  Client API:  {base}/v1/production/licenses/validate  (and /v1/staging/…)");
    println!("  Admin portal: {base}/admin");
    match first_admin {
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
    println!("  API reference: {base}/admin/api/docs (OpenAPI: {base}/admin/api/v1/openapi.json)");
    println!("  Metrics:     {base}/metrics");
    println!("  Public URL (links in mails): {}", settings.public_base());
    match new_token {
        Some(t) => println!("  Admin API token (shown once, keep it): {t}"),
        None => println!("  Admin API token: already set (KEYWARDEN_ADMIN_TOKEN or the one printed at first start)"),
    }
}
