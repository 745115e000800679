//! Audit entries as sentences people read ("Settings changed: grace period
//! 7 → 14 days"), for the dashboard's recent activity. Pure.

use serde_json::Value;

use super::AuditEntry;

/// A JSON value as a short text (strings without quotes).
fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "none".into(),
        other => other.to_string(),
    }
}

/// A settings or field name as words, with its unit moved after the value.
fn label(key: &str) -> (String, &'static str) {
    for (suffix, unit) in [
        ("_days", " days"),
        ("_hours", " h"),
        ("_minutes", " min"),
        ("_secs", " s"),
    ] {
        if let Some(stem) = key.strip_suffix(suffix) {
            return (stem.replace('_', " "), unit);
        }
    }
    (key.replace('_', " "), "")
}

/// What changed between two JSON objects, field by field ("grace period 7 →
/// 14 days, abuse threshold 5 → 8"); None when either is not an object.
pub fn json_changes(before: &str, after: &str) -> Option<String> {
    let (Ok(Value::Object(b)), Ok(Value::Object(a))) = (
        serde_json::from_str::<Value>(before),
        serde_json::from_str::<Value>(after),
    ) else {
        return None;
    };
    let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
    keys.sort();
    keys.dedup();
    let changes: Vec<String> = keys
        .into_iter()
        .filter(|k| b.get(*k) != a.get(*k))
        .map(|k| {
            let (name, unit) = label(k);
            let old = b.get(k).map_or("none".into(), shown);
            let new = a.get(k).map_or("none".into(), shown);
            format!("{name} {old} → {new}{unit}")
        })
        .collect();
    Some(if changes.is_empty() {
        "nothing".into()
    } else {
        changes.join(", ")
    })
}

/// The past tense of the actions, by name.
const VERBS: [(&str, &str); 30] = [
    ("license.created", "License created"),
    ("license.assign", "License assigned"),
    ("license.suspend", "License suspended"),
    ("license.unsuspend", "License unsuspended"),
    ("license.inactivate", "License set inactive"),
    ("license.reactivate", "License reactivated"),
    ("license.expire", "License expired"),
    ("license.renew", "License renewed"),
    ("license.revoke", "License revoked"),
    ("license.edited", "License changed"),
    ("license.deleted", "License deleted"),
    ("license.key_mailed", "License key mailed"),
    ("license.auto_suspended", "License suspended for abuse"),
    ("license.abuse_flagged", "License flagged for abuse"),
    ("activation.created", "Device activated"),
    ("activation.deactivated", "Device deactivated"),
    ("product.created", "Product created"),
    ("product.updated", "Product changed"),
    ("product.revoke_all", "Kill switch pulled"),
    ("customer.created", "Customer created"),
    ("customer.updated", "Customer renamed"),
    ("admin.created", "Admin added"),
    ("admin.updated", "Admin changed"),
    ("admin.password_changed", "Admin password changed"),
    ("admin.removed", "Admin removed"),
    ("generator.created", "Generator created"),
    ("generator.updated", "Generator changed"),
    ("file.uploaded", "File uploaded"),
    ("file.removed", "File removed"),
    ("signing_key.rotated", "Signing key rotated"),
];

/// The entry as one sentence.
pub fn sentence(e: &AuditEntry) -> String {
    let head = match e.action.as_str() {
        "settings.updated" => "Settings changed".to_owned(),
        a => VERBS
            .iter()
            .find(|(k, _)| *k == a)
            .map_or_else(|| a.replace(['.', '_'], " "), |(_, v)| (*v).to_owned()),
    };
    let change = match (e.before.as_deref(), e.after.as_deref()) {
        (Some(b), Some(a)) => json_changes(b, a).or_else(|| match (b, a) {
            // A state move is already in the verb; an owner or a key id is not.
            _ if e.action.starts_with("license.") && e.action != "license.assign" => None,
            ("", a) => Some(a.to_owned()),
            (b, a) => Some(format!("{b} → {a}")),
        }),
        _ => None,
    };
    match (change, e.detail.is_empty()) {
        (Some(c), _) => format!("{head}: {c}"),
        (None, false) => format!("{head}: {}", e.detail),
        (None, true) => head,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn entry(action: &str, before: Option<&str>, after: Option<&str>, detail: &str) -> AuditEntry {
        let mut e = AuditEntry::new("admin:a@b.c", action, Some("K-1"), Utc::now()).detail(detail);
        e.before = before.map(str::to_owned);
        e.after = after.map(str::to_owned);
        e
    }

    #[test]
    fn entries_read_as_sentences() {
        let table = [
            (
                entry(
                    "settings.updated",
                    Some(r#"{"grace_period_days":7,"abuse_threshold":5,"auto_suspend":false}"#),
                    Some(r#"{"grace_period_days":14,"abuse_threshold":5,"auto_suspend":true}"#),
                    "",
                ),
                "Settings changed: auto suspend false → true, grace period 7 → 14 days",
            ),
            (
                entry("license.suspend", Some("active"), Some("suspended"), ""),
                "License suspended",
            ),
            (entry("license.created", None, None, ""), "License created"),
            (
                entry(
                    "license.edited",
                    Some(r#"{"activation_limit":3}"#),
                    Some(r#"{"activation_limit":5}"#),
                    "",
                ),
                "License changed: activation limit 3 → 5",
            ),
            (
                entry("product.created", None, None, "Photon"),
                "Product created: Photon",
            ),
            (
                entry("customer.updated", Some("Pat"), Some("Patricia"), "p@x.io"),
                "Customer renamed: Pat → Patricia",
            ),
            (
                entry("signing_key.rotated", Some("aa"), Some("bb"), "x"),
                "Signing key rotated: aa → bb",
            ),
            (
                entry("webhook.delivery_retried", None, None, ""),
                "webhook delivery retried",
            ),
            (
                entry("settings.updated", Some("{}"), Some("{}"), ""),
                "Settings changed: nothing",
            ),
        ];
        for (e, want) in table {
            assert_eq!(sentence(&e), want, "{}", e.action);
        }
    }
}
