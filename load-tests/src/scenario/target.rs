//! The server a scenario measures: one it starts (and stops) itself, or one
//! already running (`--target`, e.g. HAProxy in front of a cluster).

use std::path::PathBuf;

use super::{Name, ScenarioSpec, PORTAL_ADMIN, PORTAL_PASSWORD};
use crate::bench::{self, ChildGuard};
use crate::http::Endpoint;

/// Where the scenario's server comes from.
#[derive(Clone, Debug)]
pub enum Server {
    /// Start `keywarden serve` (embedded store) on a free loopback port with
    /// a random admin token and the scenario's limits; stop it at the end.
    Start {
        /// The `keywarden` binary.
        bin: PathBuf,
        /// The server's data directory (must be empty or absent).
        data_dir: PathBuf,
    },
    /// A server (or load balancer) that is already running; the scenario
    /// seeds it through the admin API and leaves it running.
    External {
        /// Base URL (loopback).
        endpoint: Endpoint,
        /// Admin API bearer token.
        token: String,
        /// portal-browsing: the admin to sign in as.
        admin: Option<Admin>,
    },
}

/// An admin portal sign-in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Admin {
    pub email: String,
    pub password: String,
}

/// The server being measured, with what the scenario needs to talk to it.
pub(super) struct Running {
    /// The child process when this run started the server.
    child: Option<ChildGuard>,
    pub ep: Endpoint,
    pub token: String,
    pub admin: Admin,
}

impl Running {
    /// Errors if a started server has exited (an external one is not watched).
    pub fn check_alive(&mut self) -> Result<(), String> {
        match &mut self.child {
            Some(child) => child.check_alive(),
            None => Ok(()),
        }
    }

    /// VmRSS of a started server, KiB (`None` for an external one).
    pub fn rss_kib(&self) -> Option<u64> {
        self.child.as_ref().and_then(|c| bench::vm_rss_kib(c.pid()))
    }

    pub fn external(&self) -> bool {
        self.child.is_none()
    }
}

/// Starts the server `spec` asks for, or checks that `--target` answers.
pub(super) async fn connect(spec: &ScenarioSpec) -> Result<Running, String> {
    match &spec.server {
        Server::Start { bin, data_dir } => start(spec, bin, data_dir).await,
        Server::External {
            endpoint,
            token,
            admin,
        } => {
            tokio::net::TcpStream::connect(endpoint.addr)
                .await
                .map_err(|e| format!("--target {}: cannot connect: {e}", endpoint.url()))?;
            eprintln!("using the running server at {}", endpoint.url());
            Ok(Running {
                child: None,
                ep: endpoint.clone(),
                token: token.clone(),
                admin: admin.clone().unwrap_or(Admin {
                    email: String::new(),
                    password: String::new(),
                }),
            })
        }
    }
}

/// Starts `keywarden serve` with the limits and environment the scenario needs.
async fn start(
    spec: &ScenarioSpec,
    bin: &std::path::Path,
    data_dir: &std::path::Path,
) -> Result<Running, String> {
    let name = spec.name.as_str();
    let token = bench::random_token();
    let guessing = spec.name == Name::KeyGuessing;
    let trusted = [("KEYWARDEN_SERVER__TRUSTED_PROXIES", r#"["127.0.0.1"]"#)];
    let portal_env = [
        ("KEYWARDEN_ADMIN_EMAIL", PORTAL_ADMIN),
        ("KEYWARDEN_ADMIN_PASSWORD", PORTAL_PASSWORD),
        ("KEYWARDEN_LIMITS__LOGIN_PER_MINUTE", "100000"),
        ("KEYWARDEN_LIMITS__LOGIN_BURST", "100000"),
    ];
    let (child, ep) = bench::start_server_with(
        bin,
        data_dir,
        &spec.work_dir,
        &token,
        &format!("server-{name}.log"),
        !guessing,
        match spec.name {
            Name::KeyGuessing => &trusted[..],
            Name::PortalBrowsing => &portal_env[..],
            _ => &[],
        },
    )
    .await?;
    Ok(Running {
        child: Some(child),
        ep,
        token,
        admin: Admin {
            email: PORTAL_ADMIN.into(),
            password: PORTAL_PASSWORD.into(),
        },
    })
}
