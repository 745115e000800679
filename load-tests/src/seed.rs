//! Seeding through the admin API, and touching every key once through the
//! client API (activation after seeding, validation for residency).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::time::Instant;

use crate::api::{self, ClientRequest, Encoding, Op};
use crate::http::{Client, Endpoint};
use crate::report::PhaseResult;
use crate::run::SEEDED_IDENTIFIER;
use crate::stats::Stats;

/// Most licenses one bulk call may create.
pub const BULK_MAX: usize = 10_000;
/// Timeout of one admin call (bulk creation can be slow).
const ADMIN_TIMEOUT: Duration = Duration::from_secs(300);
/// Attempts per admin call and per touched key.
const ATTEMPTS: usize = 8;

/// How to seed.
#[derive(Clone, Debug)]
pub struct SeedSpec {
    /// Licenses to create.
    pub licenses: usize,
    /// Activation limit of each license.
    pub activation_limit: u32,
    /// Environment in the request paths.
    pub env: String,
    /// Concurrent connections when touching keys.
    pub concurrency: usize,
}

/// Creates a customer, a product and `spec.licenses` licenses; returns the keys.
pub async fn create_licenses(
    endpoint: &Endpoint,
    token: &str,
    spec: &SeedSpec,
) -> Result<Vec<String>, String> {
    let mut client = Client::new(endpoint.clone(), ADMIN_TIMEOUT);
    let tag = format!("{:08x}", rand::random::<u32>());
    let customer = admin_post(
        &mut client,
        token,
        "/admin/api/v1/customers",
        &json!({"email": format!("load-{tag}@example.test"), "name": format!("Load test {tag}")}),
    )
    .await?;
    let customer_id = id_of(&customer, "customer")?;
    let product = admin_post(
        &mut client,
        token,
        &format!("/admin/api/v1/{}/products", spec.env),
        &json!({"name": format!("Load test {tag}")}),
    )
    .await?;
    let product_id = id_of(&product, "product")?;
    let bulk_path = format!("/admin/api/v1/{}/licenses/bulk", spec.env);
    let mut keys = Vec::with_capacity(spec.licenses);
    let started = Instant::now();
    // Bounded: each call adds up to BULK_MAX keys and must add at least one.
    while keys.len() < spec.licenses {
        let count = (spec.licenses - keys.len()).min(BULK_MAX);
        let body = json!({
            "product_id": product_id,
            "count": count,
            "customer_id": customer_id,
            "activation_limit": spec.activation_limit,
        });
        let answer = admin_post(&mut client, token, &bulk_path, &body).await?;
        let batch = keys_of(&answer)?;
        if batch.is_empty() {
            return Err("bulk creation returned no keys".into());
        }
        keys.extend(batch);
        eprintln!(
            "seed: {} / {} licenses created ({:.1} s)",
            keys.len(),
            spec.licenses,
            started.elapsed().as_secs_f64()
        );
    }
    keys.truncate(spec.licenses);
    Ok(keys)
}

/// Sends `op` once for every key with identifier `dev-0`, `concurrency`
/// connections at a time, retrying rate-limited or failed calls a few times.
pub async fn touch_all(
    endpoint: &Endpoint,
    keys: Arc<Vec<String>>,
    op: Op,
    spec: &SeedSpec,
) -> PhaseResult {
    let next = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let ticker = {
        let (finished, done, total) = (finished.clone(), done.clone(), keys.len());
        tokio::spawn(async move {
            // Bounded by `done`, set once the workers have finished.
            while !done.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_secs(5)).await;
                let n = finished.load(Ordering::Relaxed);
                eprintln!("{}: {n} / {total} keys", op.name());
            }
        })
    };
    let path = Arc::new(op.path(&spec.env));
    let tasks: Vec<_> = (0..spec.concurrency.max(1))
        .map(|_| {
            let (endpoint, keys, path) = (endpoint.clone(), keys.clone(), path.clone());
            let counters = (next.clone(), finished.clone());
            tokio::spawn(async move { touch_worker(endpoint, keys, counters, op, &path).await })
        })
        .collect();
    let mut total = Stats::new();
    for task in tasks {
        match task.await {
            Ok(stats) => total.merge(&stats),
            Err(e) => total.error(format!("task failed: {e}")),
        }
    }
    done.store(true, Ordering::Relaxed);
    ticker.abort();
    PhaseResult::from_stats(
        op.name(),
        &endpoint.url(),
        None,
        spec.concurrency,
        started.elapsed().as_secs_f64(),
        &total,
    )
}

async fn touch_worker(
    endpoint: Endpoint,
    keys: Arc<Vec<String>>,
    (next, finished): (Arc<AtomicUsize>, Arc<AtomicUsize>),
    op: Op,
    path: &str,
) -> Stats {
    let mut client = Client::new(endpoint, Duration::from_secs(30));
    let mut stats = Stats::new();
    let mut body = Vec::new();
    let headers = [
        ("Content-Type", "application/json"),
        ("Accept", "application/json"),
    ];
    // Bounded: every iteration claims a fresh index until the keys run out.
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(key) = keys.get(i) else { break };
        let req = ClientRequest {
            key,
            identifier: SEEDED_IDENTIFIER,
            kind: (op == Op::Activate).then_some("hwid"),
            nonce: None,
        };
        api::encode(&req, Encoding::Json, &mut body);
        for attempt in 1..=ATTEMPTS {
            let sent = Instant::now();
            let last = attempt == ATTEMPTS;
            match client.request("POST", path, &headers, &body).await {
                Ok(resp) if resp.status == 429 && !last => {}
                Ok(resp) => {
                    let code = api::decode_verdict(resp.body, resp.msgpack).and_then(|v| v.code);
                    let us = sent.elapsed().as_micros() as u64;
                    stats.record(us, resp.status, code.as_deref());
                    stats.sent(op, false, false);
                    break;
                }
                Err(e) if last => {
                    stats.error(e);
                    break;
                }
                Err(_) => {}
            }
            tokio::time::sleep(Duration::from_millis(50 << attempt.min(6))).await;
        }
        finished.fetch_add(1, Ordering::Relaxed);
    }
    stats
}

/// POSTs JSON to an admin path; returns the JSON answer of a 2xx response.
async fn admin_post(
    client: &mut Client,
    token: &str,
    path: &str,
    body: &Value,
) -> Result<Value, String> {
    let auth = format!("Bearer {token}");
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
        ("Accept", "application/json"),
    ];
    let body = serde_json::to_vec(body).map_err(|e| e.to_string())?;
    let mut last_error = String::new();
    for attempt in 1..=ATTEMPTS {
        match client.request("POST", path, &headers, &body).await {
            Ok(resp) if (200..300).contains(&resp.status) => {
                return serde_json::from_slice(resp.body)
                    .map_err(|e| format!("POST {path}: answer is not JSON: {e}"));
            }
            Ok(resp) if resp.status == 429 || resp.status >= 500 => {
                last_error = format!("POST {path}: HTTP {}", resp.status);
            }
            Ok(resp) => {
                let text = String::from_utf8_lossy(&resp.body[..resp.body.len().min(500)]);
                return Err(format!("POST {path}: HTTP {}: {text}", resp.status));
            }
            Err(e) => last_error = format!("POST {path}: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(200 * attempt as u64)).await;
    }
    Err(last_error)
}

fn id_of(answer: &Value, what: &str) -> Result<Value, String> {
    match answer.get("id") {
        Some(id) if !id.is_null() => Ok(id.clone()),
        _ => Err(format!("{what} answer has no id: {answer}")),
    }
}

/// Keys of a bulk answer: `{"keys": ["..."]}` (or objects with a `key` field).
fn keys_of(answer: &Value) -> Result<Vec<String>, String> {
    let list = answer
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| "bulk answer has no keys array".to_string())?;
    list.iter()
        .map(|k| match k {
            Value::String(s) => Ok(s.clone()),
            Value::Object(o) => o
                .get("key")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| format!("bulk key without a key field: {k}")),
            _ => Err(format!("unexpected bulk key {k}")),
        })
        .collect()
}

/// Writes keys one per line.
pub fn write_keys(path: &std::path::Path, keys: &[String]) -> Result<(), String> {
    let mut text = keys.join("\n");
    text.push('\n');
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Reads keys, one per line, skipping blank lines.
pub fn read_keys(path: &std::path::Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let keys: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    if keys.is_empty() {
        return Err(format!("{}: no keys", path.display()));
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulk_answer_shapes() {
        let keys = keys_of(&json!({"keys": ["A", "B"]})).unwrap();
        assert_eq!(keys, ["A", "B"]);
        let keys = keys_of(&json!({"keys": [{"key": "C", "id": 1}]})).unwrap();
        assert_eq!(keys, ["C"]);
        assert!(keys_of(&json!({"licenses": []})).is_err());
        assert!(id_of(&json!({"id": "u-1"}), "customer").is_ok());
        assert!(id_of(&json!({"name": "x"}), "customer").is_err());
    }
}
