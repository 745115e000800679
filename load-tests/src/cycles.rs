//! The `history-cycles` measurement (security review item 5: "activation
//! history grows without bound inside the license record"): one license is
//! activated and deactivated N times, one device at a time, and the latency of
//! the first 100 cycles is compared with the last 100. With history kept out of
//! the record, a change costs the same after 2,000 cycles as after one.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::json;

use crate::bench;
use crate::http::Client;
use crate::portal;

/// Options of `history-cycles`.
#[derive(Args, Clone, Debug)]
pub struct CycleArgs {
    /// The keywarden server binary.
    #[arg(long)]
    pub server_bin: PathBuf,
    /// The server's data directory (must be empty or absent).
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Directory for the server log (default: a temp directory).
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// Activate/deactivate cycles on the one license.
    #[arg(long, default_value_t = 2000)]
    pub cycles: usize,
    /// Cycles compared at each end.
    #[arg(long, default_value_t = 100)]
    pub window: usize,
}

/// Median and 90th percentile of a sample, in milliseconds.
pub fn median_p90(sample: &[Duration]) -> (f64, f64) {
    let mut v: Vec<f64> = sample.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return (0.0, 0.0);
    }
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.9))
}

async fn client_call(
    client: &mut Client,
    op: &str,
    key: &str,
    identifier: &str,
) -> Result<Duration, String> {
    let body = json!({"key": key, "identifier": identifier}).to_string();
    let started = Instant::now();
    let resp = client
        .request(
            "POST",
            &format!("/v1/production/licenses/{op}"),
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        )
        .await
        .map_err(|e| format!("{op}: {e}"))?;
    let took = started.elapsed();
    let text = String::from_utf8_lossy(resp.body);
    let want = if op == "activate" {
        "\"VALID\""
    } else {
        "\"DEACTIVATED\""
    };
    if resp.status != 200 || !text.contains(want) {
        return Err(format!("{op} {identifier}: HTTP {}: {text}", resp.status));
    }
    Ok(took)
}

/// Runs the cycles and prints the comparison.
pub async fn run(a: &CycleArgs, work_dir: PathBuf) -> Result<String, String> {
    std::fs::create_dir_all(&work_dir).map_err(|e| format!("{}: {e}", work_dir.display()))?;
    let token = bench::random_token();
    let (_server, ep) = bench::start_server_with(
        &a.server_bin,
        &a.data_dir,
        &work_dir,
        &token,
        "server-history-cycles.log",
        false,
        &[],
    )
    .await?;
    let mut admin = Client::new(ep.clone(), Duration::from_secs(10));
    let product = portal::api(
        &mut admin,
        &token,
        "POST",
        "/admin/api/v1/production/products",
        &json!({"name": "Cycles"}),
    )
    .await?;
    let customer = portal::api(
        &mut admin,
        &token,
        "POST",
        "/admin/api/v1/customers",
        &json!({"email": "cycles@example.com"}),
    )
    .await?;
    let license = portal::api(
        &mut admin,
        &token,
        "POST",
        "/admin/api/v1/production/licenses",
        &json!({"product_id": product["id"], "customer_id": customer["id"], "activation_limit": 5}),
    )
    .await?;
    let key = license["key"]
        .as_str()
        .ok_or("no key in the answer")?
        .to_owned();
    let mut client = Client::new(ep, Duration::from_secs(10));
    let (mut act, mut deact) = (Vec::new(), Vec::new());
    for i in 0..a.cycles {
        let id = format!("device-{i}");
        act.push(client_call(&mut client, "activate", &key, &id).await?);
        deact.push(client_call(&mut client, "deactivate", &key, &id).await?);
    }
    let w = a.window.min(a.cycles);
    let row = |name: &str, v: &[Duration]| {
        let (f50, f90) = median_p90(&v[..w]);
        let (l50, l90) = median_p90(&v[v.len() - w..]);
        format!(
            "| {name} | {f50:.2} / {f90:.2} ms | {l50:.2} / {l90:.2} ms | {:.2}× |\n",
            l50 / f50.max(1e-9)
        )
    };
    let mut out = format!(
        "{} activate/deactivate cycles on one license; median / p90 of the first and the last {w}\n\n",
        a.cycles
    );
    out.push_str("| call | first | last | last/first median |\n|---|---:|---:|---:|\n");
    out.push_str(&row("activate", &act));
    out.push_str(&row("deactivate", &deact));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_p90_of_a_sample() {
        let v: Vec<Duration> = (1..=10).map(Duration::from_millis).collect();
        let (m, p) = median_p90(&v);
        assert!((m - 6.0).abs() < 1e-9 || (m - 5.0).abs() < 1e-9, "{m}");
        assert!((p - 9.0).abs() < 1e-9, "{p}");
        assert_eq!(median_p90(&[]), (0.0, 0.0));
    }
}
