//! `keywarden-load resident`: how much memory a server holding many licenses
//! needs, and how fast a license that is not resident yet (a cache miss) is
//! answered compared with one that is (a hit), in the same run and client.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;
use tokio::time::Instant;

use crate::api::Op;
use crate::bench::{metrics_rss_bytes, random_token, start_server, vm_rss_kib, ChildGuard};
use crate::report::{self, PhaseResult};
use crate::seed::{self, SeedSpec};

/// Options of `resident`.
#[derive(Clone, Debug)]
pub struct ResidentSpec {
    /// The `keywarden` binary.
    pub server_bin: PathBuf,
    /// The server's data directory (must be empty or absent).
    pub data_dir: PathBuf,
    /// Where logs go.
    pub work_dir: PathBuf,
    /// How to seed (its `licenses` is the count measured).
    pub seed: SeedSpec,
    /// Activate each key too (slower: a write per key).
    pub activate: bool,
}

/// Resident memory of a server holding many licenses.
#[derive(Clone, Debug, Serialize)]
pub struct ResidentReport {
    /// Licenses created and validated once each.
    pub licenses: usize,
    /// Whether each key was activated too.
    pub activated: bool,
    /// VmRSS once the server accepted connections, KiB.
    pub rss_start_kib: u64,
    /// VmRSS after creating the licenses, KiB.
    pub rss_after_seed_kib: u64,
    /// VmRSS after validating every key once, KiB.
    pub rss_after_validate_kib: u64,
    /// `process_resident_memory_bytes` from /metrics at the end, if exported.
    pub metrics_rss_bytes: Option<u64>,
    /// (end − start) / licenses, bytes.
    pub bytes_per_license: f64,
    /// Seconds spent creating the licenses.
    pub seed_seconds: f64,
    /// The validation pass: every license a cache miss (loaded from the store).
    pub validate: PhaseResult,
    /// A second pass over the same keys: every license resident (cache hits),
    /// with the same client and connections, so its latency is the floor the
    /// miss pass is compared with.
    pub validate_hits: PhaseResult,
}

/// Seeds `spec.seed.licenses` licenses into a fresh server, validates each
/// once and reports how much memory the server then holds.
pub async fn resident(spec: &ResidentSpec) -> Result<ResidentReport, String> {
    std::fs::create_dir_all(&spec.work_dir)
        .map_err(|e| format!("{}: {e}", spec.work_dir.display()))?;
    let token = random_token();
    let (mut server, ep) = start_server(
        &spec.server_bin,
        &spec.data_dir,
        &spec.work_dir,
        &token,
        "server-resident.log",
    )
    .await?;
    let rss = |server: &ChildGuard| vm_rss_kib(server.pid()).unwrap_or(0);
    let rss_start_kib = rss(&server);
    let started = Instant::now();
    let keys = Arc::new(seed::create_licenses(&ep, &token, &spec.seed).await?);
    if spec.activate {
        let a = seed::touch_all(&ep, keys.clone(), Op::Activate, &spec.seed).await;
        eprintln!(
            "activation: {:.0} req/s, codes {}",
            a.rps,
            report::join(&a.codes)
        );
    }
    let seed_seconds = started.elapsed().as_secs_f64();
    let rss_after_seed_kib = rss(&server);
    let validate = seed::touch_all(&ep, keys.clone(), Op::Validate, &spec.seed).await;
    server.check_alive()?;
    let rss_after_validate_kib = rss(&server);
    let validate_hits = seed::touch_all(&ep, keys.clone(), Op::Validate, &spec.seed).await;
    server.check_alive()?;
    let metrics_rss_bytes = metrics_rss_bytes(&ep).await;
    let licenses = keys.len();
    let grown = rss_after_validate_kib.saturating_sub(rss_start_kib) as f64 * 1024.0;
    let report = ResidentReport {
        licenses,
        activated: spec.activate,
        rss_start_kib,
        rss_after_seed_kib,
        rss_after_validate_kib,
        metrics_rss_bytes,
        bytes_per_license: grown / licenses.max(1) as f64,
        seed_seconds,
        validate,
        validate_hits,
    };
    eprintln!(
        "resident: {licenses} licenses, VmRSS {} MiB -> {} MiB -> {} MiB ({:.0} B/license), validate codes {}",
        rss_start_kib / 1024,
        rss_after_seed_kib / 1024,
        rss_after_validate_kib / 1024,
        report.bytes_per_license,
        report::join(&report.validate.codes)
    );
    let (m, h) = (&report.validate, &report.validate_hits);
    eprintln!(
        "misses: {:.0}/s p50 {:.2} ms p99 {:.2} ms; hits: {:.0}/s p50 {:.2} ms p99 {:.2} ms",
        m.rps,
        ms(m.p50_us),
        ms(m.p99_us),
        h.rps,
        ms(h.p50_us),
        ms(h.p99_us)
    );
    Ok(report)
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}
