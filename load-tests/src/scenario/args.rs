//! Command-line options of `scenario NAME`, and which server they choose.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::{Admin, Name, ScenarioSpec, Server};
use crate::duration;
use crate::http::Endpoint;

/// Options of `scenario`.
#[derive(Args, Clone, Debug)]
pub struct ScenarioArgs {
    /// Which scenario.
    #[arg(value_enum)]
    pub name: Name,
    /// The keywarden server binary to start (with --data-dir; not with --target).
    #[arg(long, conflicts_with = "target")]
    pub server_bin: Option<PathBuf>,
    /// The started server's data directory (must be empty or absent).
    #[arg(long, conflicts_with = "target")]
    pub data_dir: Option<PathBuf>,
    /// Measure this already running server or load balancer instead of
    /// starting one (loopback base URL, e.g. http://127.0.0.1:8090).
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
    /// With --target: the admin API bearer token.
    #[arg(long, env = "KEYWARDEN_ADMIN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// With --target (portal-browsing): the admin to sign in to the admin portal as.
    #[arg(long, env = "KEYWARDEN_ADMIN_EMAIL")]
    pub admin_email: Option<String>,
    /// With --target (portal-browsing): that admin's password.
    #[arg(long, env = "KEYWARDEN_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
    /// Where NAME.json and NAME.svg go.
    #[arg(long, default_value = ".")]
    pub out_dir: PathBuf,
    /// Directory for the server log (default: a temp directory).
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// Measured window (e.g. 20s).
    #[arg(long, default_value = "20s", value_parser = duration::parse)]
    pub duration: Duration,
    /// Unmeasured warm-up before the window.
    #[arg(long, default_value = "1s", value_parser = duration::parse)]
    pub warmup: Duration,
    /// Open loop at this total rate (requests/s); closed loop when absent,
    /// except heartbeat-storm, which defaults to 5000.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Licenses to create (default: 20000 heartbeat-storm, 200 activation-churn, 0 key-guessing).
    #[arg(long)]
    pub licenses: Option<usize>,
    /// Activation limit of each license (default: 3 for activation-churn, else 5).
    #[arg(long)]
    pub activation_limit: Option<u32>,
    /// Per-request timeout.
    #[arg(long, default_value = "10s", value_parser = duration::parse)]
    pub timeout: Duration,
    /// Client runtime threads.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Environment in the request paths.
    #[arg(long, default_value = "production")]
    pub env: String,
    /// portal-browsing: pause of each signed-in session between page views (0s: back to back).
    #[arg(long, default_value = "1s", value_parser = duration::parse)]
    pub think: Duration,
}

/// `Some` unless absent or blank.
fn given(v: &Option<String>) -> Option<String> {
    v.as_ref().filter(|s| !s.trim().is_empty()).cloned()
}

impl ScenarioArgs {
    /// The server to start or the running one to measure; a clear error when
    /// the options do not say which, or lack what the choice needs.
    pub fn server(&self) -> Result<Server, String> {
        let Some(url) = &self.target else {
            return match (&self.server_bin, &self.data_dir) {
                (Some(bin), Some(dir)) => Ok(Server::Start {
                    bin: bin.clone(),
                    data_dir: dir.clone(),
                }),
                _ => Err("give --server-bin and --data-dir to start a server, \
                     or --target URL to measure one that is already running"
                    .into()),
            };
        };
        if self.name == Name::KeyGuessing {
            return Err(
                "key-guessing cannot use --target: it needs a server it started \
                 (default unknown-key limits, 127.0.0.1 as trusted proxy, the embedded \
                 store's /metrics counters of one process)"
                    .into(),
            );
        }
        let endpoint = Endpoint::parse(url).map_err(|e| format!("--target {e}"))?;
        let token = given(&self.token).ok_or(
            "--target needs the admin API token to seed the server: --token TOKEN or \
             KEYWARDEN_ADMIN_TOKEN (scripts/cluster prints it at first start, see \
             build/cluster/first-start.txt)",
        )?;
        let admin = if self.name == Name::PortalBrowsing {
            match (given(&self.admin_email), given(&self.admin_password)) {
                (Some(email), Some(password)) => Some(Admin { email, password }),
                _ => {
                    return Err(
                        "portal-browsing --target needs an existing admin to sign in \
                         as: --admin-email and --admin-password (or KEYWARDEN_ADMIN_EMAIL / \
                         KEYWARDEN_ADMIN_PASSWORD); admins cannot be created through the admin \
                         API, and scripts/cluster's first admin is printed at its start"
                            .into(),
                    )
                }
            }
        } else {
            None
        };
        Ok(Server::External {
            endpoint,
            token,
            admin,
        })
    }

    /// The scenario's options; `work_dir` is used unless `--work-dir` was given.
    pub fn spec(&self, work_dir: PathBuf) -> Result<ScenarioSpec, String> {
        Ok(ScenarioSpec {
            name: self.name,
            server: self.server()?,
            work_dir: self.work_dir.clone().unwrap_or(work_dir),
            out_dir: self.out_dir.clone(),
            duration: self.duration,
            warmup: self.warmup,
            rate: self.rate,
            connections: self.connections,
            licenses: self.licenses,
            activation_limit: self.activation_limit,
            timeout: self.timeout,
            env: self.env.clone(),
            think: self.think,
        })
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: ScenarioArgs,
    }

    /// Parses `scenario` options; the env-backed credentials are cleared so
    /// that the caller's environment cannot leak in.
    fn parse(argv: &[&str]) -> Result<ScenarioArgs, String> {
        let mut argv_full = vec!["scenario"];
        argv_full.extend_from_slice(argv);
        let mut a = Cli::try_parse_from(argv_full)
            .map_err(|e| e.to_string())?
            .args;
        let explicit = |flag: &str| argv.contains(&flag);
        if !explicit("--token") {
            a.token = None;
        }
        if !explicit("--admin-email") {
            a.admin_email = None;
        }
        if !explicit("--admin-password") {
            a.admin_password = None;
        }
        Ok(a)
    }

    const TARGET: [&str; 3] = ["portal-browsing", "--target", "http://127.0.0.1:8090"];
    const ADMIN: [&str; 4] = [
        "--admin-email",
        "admin@keywarden.local",
        "--admin-password",
        "pw",
    ];

    #[test]
    fn starts_a_server_without_target() {
        let a = parse(&["portal-browsing", "--server-bin", "kw", "--data-dir", "/d"]).unwrap();
        match a.server().unwrap() {
            Server::Start { bin, data_dir } => {
                assert_eq!(bin, PathBuf::from("kw"));
                assert_eq!(data_dir, PathBuf::from("/d"));
            }
            other => panic!("expected Start, got {other:?}"),
        }
        let err = parse(&["portal-browsing", "--data-dir", "/d"])
            .unwrap()
            .server()
            .unwrap_err();
        assert!(
            err.contains("--server-bin") && err.contains("--target"),
            "{err}"
        );
    }

    #[test]
    fn target_with_token_and_admin_is_external() {
        let argv: Vec<&str> = [&TARGET[..], &["--token", "t0k"], &ADMIN[..]].concat();
        match parse(&argv).unwrap().server().unwrap() {
            Server::External {
                endpoint,
                token,
                admin,
            } => {
                assert_eq!(endpoint.url(), "http://127.0.0.1:8090");
                assert_eq!(token, "t0k");
                let admin = admin.unwrap();
                assert_eq!(admin.email, "admin@keywarden.local");
                assert_eq!(admin.password, "pw");
            }
            other => panic!("expected External, got {other:?}"),
        }
        // Other scenarios need no admin sign-in.
        let storm = ["heartbeat-storm", "--target", "http://127.0.0.1:8091"];
        let argv: Vec<&str> = [&storm[..], &["--token", "t"]].concat();
        assert!(matches!(
            parse(&argv).unwrap().server().unwrap(),
            Server::External { admin: None, .. }
        ));
    }

    #[test]
    fn target_without_token_or_admin_is_refused() {
        let argv: Vec<&str> = [&TARGET[..], &ADMIN[..]].concat();
        let err = parse(&argv).unwrap().server().unwrap_err();
        assert!(
            err.contains("--token") && err.contains("KEYWARDEN_ADMIN_TOKEN"),
            "{err}"
        );
        let argv: Vec<&str> = [&TARGET[..], &["--token", "t"]].concat();
        let err = parse(&argv).unwrap().server().unwrap_err();
        assert!(err.contains("--admin-email"), "{err}");
    }

    #[test]
    fn target_excludes_starting_a_server() {
        let argv: Vec<&str> = [&TARGET[..], &["--server-bin", "kw"]].concat();
        let err = parse(&argv).err().unwrap();
        assert!(
            err.contains("--server-bin") && err.contains("--target"),
            "{err}"
        );
        let argv = [
            "key-guessing",
            "--target",
            "http://127.0.0.1:8090",
            "--token",
            "t",
        ];
        let err = parse(&argv).unwrap().server().unwrap_err();
        assert!(err.contains("key-guessing cannot use --target"), "{err}");
        let argv = [
            "heartbeat-storm",
            "--target",
            "http://10.0.0.1:8090",
            "--token",
            "t",
        ];
        let err = parse(&argv).unwrap().server().unwrap_err();
        assert!(err.contains("loopback"), "{err}");
    }
}
