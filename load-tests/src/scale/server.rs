//! The server `scale` restarts at each size: a timed start (spawn until
//! `GET /readyz` answers 200), a graceful stop, the searched first page.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use super::ScaleArgs;
use crate::bench::{self, ChildGuard, ServerCmd};
use crate::http::{Client, Endpoint};

/// How long a stopping server may flush before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(60);
/// Pause between readiness probes.
const PROBE_EVERY: Duration = Duration::from_millis(20);

/// A running server started by `scale`; killed if dropped without [`Server::stop`].
pub struct Server {
    child: ChildGuard,
    /// Its loopback base URL.
    pub ep: Endpoint,
}

/// A server that has just become ready.
pub struct Started {
    /// The server.
    pub server: Server,
    /// Spawn until `GET /readyz` answered 200, seconds.
    pub startup_seconds: f64,
    /// VmRSS right after it became ready, KiB.
    pub rss_start_kib: Option<u64>,
}

/// The searched License Keys first page, called a few times after start.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Listing {
    /// The admin API path called.
    pub path: String,
    /// `total` of the answer (licenses matching the search and filter).
    pub total: Option<u64>,
    /// Rows on the page.
    pub rows: usize,
    /// Each call's time, ms, in order (the first is the first after start).
    pub samples_ms: Vec<f64>,
    /// Median of the samples, ms.
    pub median_ms: f64,
}

impl Server {
    /// Errors if the server has exited.
    pub fn check_alive(&mut self) -> Result<(), String> {
        self.child.check_alive()
    }

    /// VmRSS, KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        bench::vm_rss_kib(self.child.pid())
    }

    /// Sends SIGTERM and waits for the exit (the server flushes and closes its
    /// store, so the next start does not recover a crashed store); kills it
    /// after [`STOP_GRACE`]. Returns the seconds the stop took.
    pub async fn stop(mut self) -> Result<f64, String> {
        let pid = self.child.pid().to_string();
        let started = Instant::now();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .map_err(|e| format!("kill -TERM {pid}: {e}"))?;
        if !sent.success() {
            return Err(format!("kill -TERM {pid} failed ({sent})"));
        }
        // Bounded by STOP_GRACE.
        while started.elapsed() < STOP_GRACE {
            if self.child.check_alive().is_err() {
                let seconds = started.elapsed().as_secs_f64();
                eprintln!("keywarden (pid {pid}) stopped in {seconds:.2} s");
                return Ok(seconds);
            }
            tokio::time::sleep(PROBE_EVERY).await;
        }
        Err(format!(
            "keywarden (pid {pid}) did not stop within {STOP_GRACE:?} of SIGTERM; killed"
        ))
    }
}

/// Starts `keywarden serve` on the (possibly non-empty) data directory and
/// times it until `GET /readyz` answers 200.
pub async fn start(
    args: &ScaleArgs,
    work_dir: &Path,
    token: &str,
    log_name: &str,
) -> Result<Started, String> {
    let cmd = ServerCmd {
        bin: &args.server_bin,
        data_dir: &args.data_dir,
        token,
        lift_unknown_key: true,
        extra_env: &[],
    };
    let spawned = Instant::now();
    let (mut child, addr) = bench::spawn_server(&cmd, &work_dir.join(log_name))?;
    let ep = Endpoint::parse(&format!("http://{addr}"))?;
    let mut client = Client::new(ep.clone(), Duration::from_secs(5));
    let deadline = spawned + args.ready_timeout;
    let mut last = String::from("no answer yet");
    // Bounded by the deadline.
    while Instant::now() < deadline {
        match client.request("GET", "/readyz", &[], b"").await {
            Ok(resp) if resp.status == 200 => {
                let startup_seconds = spawned.elapsed().as_secs_f64();
                let rss_start_kib = bench::vm_rss_kib(child.pid());
                eprintln!("keywarden ready in {startup_seconds:.2} s at {}", ep.url());
                return Ok(Started {
                    server: Server { child, ep },
                    startup_seconds,
                    rss_start_kib,
                });
            }
            Ok(resp) => last = format!("GET /readyz answered {}", resp.status),
            Err(e) => last = format!("GET /readyz: {e}"),
        }
        child.check_alive()?;
        tokio::time::sleep(PROBE_EVERY).await;
    }
    Err(format!(
        "keywarden did not become ready within {:?} (last: {last}); see {}",
        args.ready_timeout,
        work_dir.join(log_name).display()
    ))
}

/// The admin API path of the searched, filtered, sorted first page.
pub fn listing_path(env: &str, search: &str) -> String {
    let q: String = search
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!(
        "/admin/api/v1/{env}/licenses?q={q}&status=active&sort=expires&order=asc&page=1&per_page=25"
    )
}

/// Calls the searched first page `args.listing_calls` times, one after another.
pub async fn listing(args: &ScaleArgs, ep: &Endpoint, token: &str) -> Result<Listing, String> {
    let path = listing_path(&args.env, &args.search);
    let auth = format!("Bearer {token}");
    let headers = [
        ("Authorization", auth.as_str()),
        ("Accept", "application/json"),
    ];
    let mut client = Client::new(ep.clone(), Duration::from_secs(120));
    let mut samples_ms = Vec::with_capacity(args.listing_calls);
    let (mut total, mut rows) = (None, 0);
    for _ in 0..args.listing_calls {
        let sent = Instant::now();
        let resp = client
            .request("GET", &path, &headers, b"")
            .await
            .map_err(|e| format!("GET {path}: {e}"))?;
        samples_ms.push(sent.elapsed().as_secs_f64() * 1000.0);
        if resp.status != 200 {
            let text = String::from_utf8_lossy(&resp.body[..resp.body.len().min(300)]);
            return Err(format!("GET {path}: HTTP {}: {text}", resp.status));
        }
        let page: serde_json::Value = serde_json::from_slice(resp.body)
            .map_err(|e| format!("GET {path}: answer is not JSON: {e}"))?;
        total = page.get("total").and_then(serde_json::Value::as_u64);
        rows = page
            .get("items")
            .and_then(serde_json::Value::as_array)
            .map_or(0, Vec::len);
    }
    let median_ms = median(&samples_ms);
    Ok(Listing {
        path,
        total,
        rows,
        samples_ms,
        median_ms,
    })
}

/// Median of `values` (mean of the middle two for an even count; 0 when empty).
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

/// Files under a folder and the room they take.
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq)]
pub struct DiskUsage {
    /// Regular files.
    pub files: u64,
    /// Sum of their lengths, bytes.
    pub apparent_bytes: u64,
    /// Blocks allocated to them (what the disk holds; redb files are sparse), bytes.
    pub allocated_bytes: u64,
}

/// What the regular files under `dir` take (symlinks not followed).
pub fn disk_usage(dir: &Path) -> DiskUsage {
    use std::os::unix::fs::MetadataExt;
    let mut u = DiskUsage::default();
    let mut stack = vec![dir.to_path_buf()];
    // Bounded by the directory tree.
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(entry.path()),
                Ok(t) if t.is_file() => {
                    if let Ok(m) = entry.metadata() {
                        u.files += 1;
                        u.apparent_bytes += m.len();
                        u.allocated_bytes += m.blocks() * 512;
                    }
                }
                _ => {}
            }
        }
    }
    u
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[]), 0.0);
        assert_eq!(median(&[3.0]), 3.0);
        assert_eq!(median(&[5.0, 1.0, 3.0]), 3.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[9.0, 1.0, 2.0, 100.0, 3.0]), 3.0);
    }

    #[test]
    fn listing_path_has_search_filter_and_sort() {
        let p = listing_path("production", "A B");
        assert_eq!(
            p,
            "/admin/api/v1/production/licenses?q=A%20B&status=active&sort=expires&order=asc&page=1&per_page=25"
        );
    }

    #[test]
    fn disk_usage_counts_nested_files() {
        let dir = std::env::temp_dir().join(format!("kw-scale-test-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("a"), [0u8; 100]).unwrap();
        std::fs::write(dir.join("sub/b"), [0u8; 23]).unwrap();
        let u = disk_usage(&dir);
        assert_eq!((u.files, u.apparent_bytes), (2, 123));
        assert!(u.allocated_bytes >= 123 || u.allocated_bytes == 0);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(disk_usage(&dir), DiskUsage::default());
    }
}
