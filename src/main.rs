//! `keywarden serve`: thin — parse arguments, load config, start.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use keywarden::config::Settings;

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
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut settings = match Settings::load(cli.config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("keywarden: {e}");
            return ExitCode::from(2);
        }
    };
    let Command::Serve {
        listen,
        data_dir,
        demo,
    } = cli.command;
    if let Some(l) = listen {
        settings.server.listen = l;
    }
    if let Some(d) = data_dir {
        settings.store.data_dir = d;
    }
    keywarden::telemetry::init(&settings.log.format, &settings.log.level);
    let result = actix_web::rt::System::new().block_on(keywarden::startup::run(settings, demo));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("keywarden: {e}");
            ExitCode::FAILURE
        }
    }
}
