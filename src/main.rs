//! `keywarden serve`: thin — parse arguments, load config, start.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use keywarden::config::{Settings, StoreKind};
use keywarden::startup::StartError;

/// jemalloc keeps a million resident license actors markedly smaller than glibc's
/// per-thread arenas do (measured in BENCHMARKS.md).
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(name = "keywarden", version, about = "A license-key server")]
struct Cli {
    /// Configuration file (default: config/default.toml, or KEYWARDEN_CONFIG).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        /// Address to listen on (overrides server.listen).
        #[arg(long)]
        listen: Option<String>,
        /// Data folder of the embedded store (overrides store.data_dir).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Fill a new data folder with demo products, customers and licenses.
        #[arg(long)]
        demo: bool,
        /// Store backend: embedded (default) or scylla (overrides store.kind).
        #[arg(long)]
        store: Option<String>,
        /// CQL contact points HOST:PORT[,HOST:PORT…] (overrides store.cql.nodes).
        #[arg(long, value_delimiter = ',')]
        cql_nodes: Option<Vec<String>>,
    },
    /// Download a backup from a running server (secrets included).
    Backup {
        /// The server's base URL, e.g. http://127.0.0.1:8080.
        #[arg(long)]
        url: String,
        /// Admin API token (default: KEYWARDEN_ADMIN_TOKEN).
        #[arg(long, env = "KEYWARDEN_ADMIN_TOKEN", hide_env_values = true)]
        token: String,
        /// File to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Restore a backup into an empty store (a new --data-dir, or an empty CQL keyspace prefix).
    Restore {
        /// Backup file written by `keywarden backup`.
        #[arg(long)]
        from: PathBuf,
        /// Data folder of the embedded store to restore into (overrides store.data_dir).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Apply schema.cql to a CQL cluster (idempotent).
    Migrate {
        /// CQL contact points HOST:PORT[,HOST:PORT…] (overrides store.cql.nodes).
        #[arg(long, value_delimiter = ',')]
        cql_nodes: Option<Vec<String>>,
    },
}

/// Why a command failed: a command line or configuration that cannot be used
/// exits with 2, anything else with 1.
enum Failure {
    Usage(String),
    Start(StartError),
}

impl From<StartError> for Failure {
    fn from(e: StartError) -> Self {
        Failure::Start(e)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = Settings::load(cli.config)
        .map_err(|e| Failure::Usage(e.to_string()))
        .and_then(|settings| run(cli.command, settings));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(e)) => {
            eprintln!("keywarden: {e}");
            ExitCode::from(2)
        }
        Err(Failure::Start(e)) => {
            eprintln!("keywarden: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one command with the loaded settings and its own overrides.
fn run(command: Command, mut settings: Settings) -> Result<(), Failure> {
    match command {
        Command::Serve {
            listen,
            data_dir,
            demo,
            store,
            cql_nodes,
        } => {
            if let Some(l) = listen {
                settings.server.listen = l;
            }
            if let Some(d) = data_dir {
                settings.store.data_dir = d;
            }
            if let Some(nodes) = cql_nodes {
                settings.store.cql.nodes = nodes;
            }
            if let Some(kind) = store {
                settings.store.kind = store_kind(&kind)?;
            }
            keywarden::telemetry::init(&settings.log.format, &settings.log.level);
            actix_web::rt::System::new().block_on(keywarden::startup::run(settings, demo))?;
        }
        Command::Backup { url, token, out } => keywarden::startup::backup(&url, &token, &out)?,
        Command::Restore { from, data_dir } => {
            if let Some(d) = data_dir {
                settings.store.data_dir = d;
            }
            actix_web::rt::System::new().block_on(keywarden::startup::restore(&settings, &from))?;
        }
        Command::Migrate { cql_nodes } => {
            if let Some(nodes) = cql_nodes {
                settings.store.cql.nodes = nodes;
            }
            keywarden::telemetry::init(&settings.log.format, &settings.log.level);
            let n =
                actix_web::rt::System::new().block_on(keywarden::startup::migrate(&settings))?;
            println!(
                "schema applied: {n} statements, keyspaces {}_global, {0}_production, {0}_staging",
                settings.store.cql.keyspace_prefix
            );
        }
    }
    Ok(())
}

/// `--store`: the two backends by name (`cql` is another name for scylla).
fn store_kind(name: &str) -> Result<StoreKind, Failure> {
    match name {
        "embedded" => Ok(StoreKind::Embedded),
        "scylla" | "cql" => Ok(StoreKind::Scylla),
        other => Err(Failure::Usage(format!(
            "--store must be embedded or scylla, not {other}"
        ))),
    }
}
