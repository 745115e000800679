//! What an admin does to an existing customer account beyond renaming it:
//! change its email (the email index moves with it), disable or enable
//! sign-in, and delete it (its licenses stay, unassigned). One set of rules
//! for the admin API and the admin portal; each change is audited.

use chrono::Utc;
use uuid::Uuid;

use super::customers::{check_name, get, EMAIL_TAKEN};
use super::error::AppError;
use super::sessions::Sessions;
use crate::domain::customer::normalize_email;
use crate::domain::{AdminChange, AuditEntry, Customer, Environment};
use crate::engine::{Engine, EngineError};
use crate::store::{LicenseQuery, StoreError};

/// An admin's edit of a customer: the fields left `None` stay.
#[derive(Debug, Default)]
pub struct CustomerEdit {
    pub name: Option<String>,
    pub email: Option<String>,
    pub disabled: Option<bool>,
}

/// Applies an edit: a bad name or email is refused with nothing changed; a
/// new email another account holds is a `Conflict`. Disabling ends the
/// account's sessions at once (every node: sessions are store rows).
pub async fn edit(
    engine: &Engine,
    sessions: &Sessions,
    id: Uuid,
    e: CustomerEdit,
    who: &str,
) -> Result<Customer, AppError> {
    let store = engine.store().as_ref();
    let before = get(store, id).await?;
    let mut c = before.clone();
    if let Some(name) = &e.name {
        c.name = check_name(name)?;
    }
    if let Some(raw) = &e.email {
        c.email =
            normalize_email(raw).map_err(|m| AppError::field("email", format!("Email {m}.")))?;
    }
    if let Some(d) = e.disabled {
        c.disabled = d;
    }
    if c == before {
        return Ok(c);
    }
    if c.email != before.email {
        match store.change_customer_email(&c, &before.email).await {
            Err(StoreError::Conflict(_)) => return Err(AppError::Conflict(EMAIL_TAKEN.into())),
            r => r?,
        }
    } else {
        store.update_customer(&c).await?;
    }
    engine.customers().changed();
    if c.disabled && !before.disabled {
        sessions.end_all_of(store, c.id, None).await?;
    }
    for entry in audit_entries(&before, &c, who) {
        super::audit::record_global(store, &entry).await?;
    }
    Ok(c)
}

/// One entry per kind of change: `customer.updated` for name and email,
/// `customer.disabled` / `customer.enabled` for sign-in.
fn audit_entries(before: &Customer, after: &Customer, who: &str) -> Vec<AuditEntry> {
    let now = Utc::now();
    let mut out = Vec::new();
    let mut changed = |field: &str, b: &str, a: &str| {
        if b != a {
            out.push(
                crate::engine::origin::entry(who, "customer.updated", None, now)
                    .change(b, a)
                    .detail(format!("{field} of {}", before.email)),
            );
        }
    };
    changed("name", &before.name, &after.name);
    changed("email", &before.email, &after.email);
    if before.disabled != after.disabled {
        let action = if after.disabled {
            "customer.disabled"
        } else {
            "customer.enabled"
        };
        out.push(crate::engine::origin::entry(who, action, None, now).detail(after.email.clone()));
    }
    out
}

/// Licenses unassigned per store read while deleting.
const STEP: u32 = 500;

/// Deletes the account: every license it owns in both environments is
/// unassigned first (through the license's actor, audited; state and devices
/// stay), then its sessions end and the record and email go. Safe to repeat
/// after a failure part way: what was unassigned stays so, the rest follows.
/// Answers how many licenses were unassigned.
pub async fn delete(
    engine: &Engine,
    sessions: &Sessions,
    id: Uuid,
    who: &str,
) -> Result<u64, AppError> {
    let store = engine.store().as_ref();
    let c = get(store, id).await?;
    let mut unassigned = 0;
    for env in Environment::ALL {
        unassigned += disown_all(engine, env, c.id, who).await?;
    }
    sessions.end_all_of(store, c.id, None).await?;
    match store.delete_customer(&c).await {
        Ok(()) | Err(StoreError::NotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    engine.customers().changed();
    let entry = crate::engine::origin::entry(who, "customer.deleted", None, Utc::now())
        .detail(format!("{} ({unassigned} licenses unassigned)", c.email));
    super::audit::record_global(store, &entry).await?;
    Ok(unassigned)
}

/// Unassigns every license `customer` owns in `env`, reading them from the
/// store's owner index (not this node's catalog, which may lag another node).
async fn disown_all(
    engine: &Engine,
    env: Environment,
    customer: Uuid,
    who: &str,
) -> Result<u64, AppError> {
    let q = LicenseQuery {
        customer_id: Some(customer),
        per_page: STEP,
        ..LicenseQuery::default()
    };
    let mut done = 0;
    loop {
        let page = engine.store().list_licenses(env, &q).await?;
        let mut moved = 0;
        for l in page
            .items
            .iter()
            .filter(|l| l.customer_id == Some(customer))
        {
            let change = AdminChange::Disown { who: who.into() };
            match engine.admin(env, &l.key, change).await {
                Ok(_) | Err(EngineError::NotFound) => moved += 1,
                Err(e) => return Err(e.into()),
            }
        }
        done += moved;
        if moved == 0 {
            return Ok(done);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_change_is_one_entry() {
        let before = Customer::new("a@b.co".into(), "Ann".into(), Utc::now());
        let mut after = before.clone();
        assert!(audit_entries(&before, &after, "admin").is_empty());
        after.email = "ann@b.co".into();
        after.disabled = true;
        let got = audit_entries(&before, &after, "admin");
        let actions: Vec<_> = got.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["customer.updated", "customer.disabled"]);
        assert_eq!(got[0].before.as_deref(), Some("a@b.co"));
        assert_eq!(got[0].after.as_deref(), Some("ann@b.co"));
        let back = audit_entries(&after, &before, "admin");
        assert_eq!(back[1].action, "customer.enabled");
    }
}
