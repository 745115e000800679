//! What scenarios read back from the server: `/metrics` counters and
//! licenses through the admin API.

use std::time::Duration;

use serde_json::Value;

use super::STORE_READS;
use crate::http::{Client, Endpoint};

/// Sum of the `name{...}` samples of a Prometheus text whose labels include all of `labels`.
pub fn metric_value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut found = None;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        let (label_text, value) = match rest.strip_prefix('{') {
            Some(r) => match r.split_once('}') {
                Some((l, v)) => (l, v),
                None => continue,
            },
            None if rest.starts_with(' ') => ("", rest),
            None => continue,
        };
        let all = labels.iter().all(|(k, v)| {
            label_text
                .split(',')
                .any(|kv| kv.trim() == format!("{k}=\"{v}\""))
        });
        if !all {
            continue;
        }
        if let Some(v) = value
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<f64>().ok())
        {
            *found.get_or_insert(0.0) += v;
        }
    }
    found
}

pub(super) async fn store_reads(ep: &Endpoint) -> Result<f64, String> {
    let mut client = Client::new(ep.clone(), Duration::from_secs(10));
    let resp = client
        .request("GET", "/metrics", &[], b"")
        .await
        .map_err(|e| format!("GET /metrics: {e}"))?;
    if resp.status != 200 {
        return Err(format!("GET /metrics: HTTP {}", resp.status));
    }
    let text = String::from_utf8_lossy(resp.body);
    // A counter not yet touched may be absent: that is zero reads.
    Ok(metric_value(
        &text,
        STORE_READS,
        &[("backend", "embedded"), ("op", "get_license")],
    )
    .unwrap_or(0.0))
}

/// Reads `activations_in_use` and `activation_limit` of each key through the admin API.
pub(super) async fn read_activations(
    ep: &Endpoint,
    token: &str,
    env: &str,
    keys: &[String],
) -> Result<Vec<(String, u64, Option<u64>)>, String> {
    let mut client = Client::new(ep.clone(), Duration::from_secs(30));
    let auth = format!("Bearer {token}");
    let headers = [
        ("Authorization", auth.as_str()),
        ("Accept", "application/json"),
    ];
    let mut out = Vec::with_capacity(keys.len());
    for key in keys {
        let path = format!("/admin/api/v1/{env}/licenses/{key}");
        let resp = client
            .request("GET", &path, &headers, b"")
            .await
            .map_err(|e| format!("GET {path}: {e}"))?;
        if resp.status != 200 {
            let text = String::from_utf8_lossy(&resp.body[..resp.body.len().min(300)]);
            return Err(format!("GET {path}: HTTP {}: {text}", resp.status));
        }
        let v: Value = serde_json::from_slice(resp.body)
            .map_err(|e| format!("GET {path}: answer is not JSON: {e}"))?;
        let field = |name: &str| {
            v.get(name)
                .or_else(|| v.get("license").and_then(|l| l.get(name)))
                .cloned()
        };
        let in_use = field("activations_in_use")
            .and_then(|x| x.as_u64())
            .ok_or_else(|| format!("GET {path}: no activations_in_use in {v}"))?;
        let limit = field("activation_limit").and_then(|x| x.as_u64());
        out.push((key.clone(), in_use, limit));
    }
    Ok(out)
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_labelled_counter() {
        let text = "# TYPE x counter\n\
            keywarden_store_operation_duration_seconds_count{backend=\"embedded\",op=\"get_license\"} 42\n\
            keywarden_store_operation_duration_seconds_count{backend=\"embedded\",op=\"put_license\"} 7\n\
            keywarden_store_operation_duration_seconds_sum{backend=\"embedded\",op=\"get_license\"} 0.5\n";
        let labels = [("op", "get_license"), ("backend", "embedded")];
        assert_eq!(metric_value(text, STORE_READS, &labels), Some(42.0));
        assert_eq!(metric_value(text, STORE_READS, &[("op", "nope")]), None);
        assert_eq!(metric_value("up 1\n", "up", &[]), Some(1.0));
    }
}
