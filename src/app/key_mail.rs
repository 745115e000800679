//! Mails a license's key to its customer: when it is assigned or transferred
//! to them (if the environment's `mail_key_on_assign` setting is on) and when
//! an admin resends it. The outbox keeps the key masked; the mail carries it.
//! Each mail is audited (`license.key_mailed`).

use chrono::Utc;

use crate::app::error::AppError;
use crate::app::mail::Outbox;
use crate::domain::{Environment, License};
use crate::engine::Engine;

/// Why the key is mailed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// Assigned to a customer who had none of it before.
    Assigned,
    /// Moved from another customer.
    Transferred,
    /// An admin asked for it again.
    Resent,
}

/// Mails the key of `license` to its customer; `Ok(None)` when it has none,
/// or when the setting is off for an assignment or transfer.
pub async fn send(
    engine: &Engine,
    outbox: &Outbox,
    public_base: &str,
    env: Environment,
    license: &License,
    why: Why,
    who: &str,
) -> Result<Option<String>, AppError> {
    if why != Why::Resent && !engine.settings().get(env).mail_key_on_assign {
        return Ok(None);
    }
    let Some(customer_id) = license.customer_id else {
        return Ok(None);
    };
    let store = engine.store();
    let Some(customer) = store.get_customer(customer_id).await? else {
        return Ok(None);
    };
    let product = store
        .get_product(env, license.product_id)
        .await?
        .map(|p| p.name)
        .unwrap_or_else(|| "your product".into());
    let key = license.key.as_str();
    let lead = match why {
        Why::Assigned => format!("A license for {product} is yours."),
        Why::Transferred => format!("A license for {product} was transferred to you."),
        Why::Resent => format!("Here is your license key for {product} again."),
    };
    let expiry = license
        .expires_at
        .map_or_else(|| "never".into(), |t| t.format("%Y-%m-%d").to_string());
    let devices = if license.activation_limit.is_unlimited() {
        "unlimited".to_owned()
    } else {
        license.activation_limit.get().to_string()
    };
    let body = format!(
        "Hello {name},\n\n{lead}\n\nLicense key: {key}\nProduct: {product}\nExpires: {expiry}\nDevices: {devices}\n\nEnter the key in the software to activate it. Your licenses, devices and downloads: {base}/portal/licenses\n",
        name = if customer.name.is_empty() { &customer.email } else { &customer.name },
        base = public_base.trim_end_matches('/'),
    );
    let subject = format!("Your license key for {product}");
    outbox
        .send(&customer.email, &subject, &body, "license_key", "", key)
        .await
        .map_err(|e| AppError::Internal(format!("the key mail could not be queued: {e}")))?;
    let entry = crate::engine::origin::entry(who, "license.key_mailed", Some(key), Utc::now())
        .detail(format!("{why:?} to {}", customer.email).to_lowercase());
    store.append_audit(env, &entry).await?;
    Ok(Some(customer.email))
}

/// After a write that may have changed the owner: mails the new owner the key
/// when the setting says so. A mail that cannot be queued is logged; the
/// change itself stands.
pub async fn after_owner_change(
    engine: &Engine,
    outbox: &Outbox,
    public_base: &str,
    env: Environment,
    before: Option<uuid::Uuid>,
    license: &License,
    who: &str,
) {
    let Some(why) = why_for(before, license.customer_id) else {
        return;
    };
    if let Err(e) = send(engine, outbox, public_base, env, license, why, who).await {
        tracing::warn!(error = %e, key = %license.key.masked(), "license key mail not sent");
    }
}

/// What an owner change means for the key mail: (before, after) customer.
pub fn why_for(before: Option<uuid::Uuid>, after: Option<uuid::Uuid>) -> Option<Why> {
    match (before, after) {
        (_, None) => None,
        (None, Some(_)) => Some(Why::Assigned),
        (Some(a), Some(b)) if a != b => Some(Why::Transferred),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_new_owner_gets_the_key() {
        let (a, b) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
        let table = [
            (None, None, None),
            (None, Some(a), Some(Why::Assigned)),
            (Some(a), Some(a), None),
            (Some(a), Some(b), Some(Why::Transferred)),
            (Some(a), None, None),
        ];
        for (before, after, want) in table {
            assert_eq!(why_for(before, after), want, "{before:?} → {after:?}");
        }
    }
}
