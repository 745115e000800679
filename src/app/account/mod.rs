//! A license owner's own account, as the customer portal offers it: their
//! licenses in both environments and the one they ask for, its validation
//! status, the dashboard's overview, their devices (and freeing one), the files
//! they may download, the profile, and passwords (change, forgotten, the
//! single-use links). Every license is looked up from the owner's own list,
//! never from an id in the request alone.

mod devices;
mod downloads;
mod listing;
mod password;
mod profile;

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::app::error::AppError;
use crate::app::links::LinkKey;
use crate::domain::diagnosis::{diagnose, Diagnosis};
use crate::domain::health::{self, Attention, Totals};
use crate::domain::{AuditEntry, Customer, Environment, License, LicenseStatus};
use crate::engine::Engine;
use crate::store::AuditQuery;

pub use devices::{
    deactivate_device, device_to_confirm, devices, devices_of, devices_page, Deactivated,
    DevicesPage, LicenseDevices, LICENSES_PER_PAGE,
};
pub use downloads::{downloads, entitled_file, Downloads};
pub use listing::{OwnedPage, OwnedSummary, PER_PAGE};
pub use password::{
    change_password, customer_by_email, forgot_password, link_owner, reset_password,
    send_password_link, sign_in, LinkMailer, LinkRefused, NewPassword, Passwords, INVITE_VALID,
    RESET_VALID,
};
pub use profile::{save_profile, signed_in, ProfileChanges};

/// Whose account a use-case acts on, and what reaches it: the engine (store,
/// catalog, settings) and the key that makes the licenses' URL handles.
#[derive(Clone, Copy)]
pub struct Owner<'a> {
    pub engine: &'a Engine,
    pub links: &'a LinkKey,
    pub customer: &'a Customer,
}

impl Owner<'_> {
    /// How audit entries name this customer.
    pub fn who(&self) -> String {
        who(self.customer)
    }
}

/// How audit entries and the password limiter name a customer.
pub fn who(customer: &Customer) -> String {
    format!("customer:{}", customer.email)
}

/// One of the owner's licenses, with what the pages show next to it.
#[derive(Debug, Clone)]
pub struct OwnedLicense {
    pub env: Environment,
    pub license: License,
    pub product_name: String,
    /// The product's feature definitions, read where a page shows the flags
    /// (the license details); empty in lists.
    pub features: Vec<crate::domain::features::FeatureDef>,
    /// Opaque id of the license in portal URLs (keys never appear in them).
    pub handle: String,
    /// "Renew" or "Buy", when the license expires soon or expired.
    pub offer: Option<crate::domain::product::Offer>,
}

/// The owner's licenses in both environments, newest first. Read from the
/// catalog's customer index and the store by key; nothing else is reachable.
pub async fn licenses(owner: Owner<'_>) -> Result<Vec<OwnedLicense>, AppError> {
    let store = owner.engine.store().as_ref();
    let me = owner.customer.id;
    let mut out = Vec::new();
    // Right after a start the catalog may still be loading: a customer's list
    // must be complete, so it waits for the load (seconds at most).
    owner.engine.catalog().wait_ready().await;
    for env in Environment::ALL {
        let keys = owner.engine.catalog().keys_of_customer(env, me);
        if keys.is_empty() {
            continue;
        }
        let products: HashMap<_, _> = store
            .list_products(env)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        for key in keys {
            let Some(l) = store.get_license(env, &key).await? else {
                continue;
            };
            // The catalog may lag a reassignment by a moment; the record decides.
            if l.customer_id != Some(me) {
                continue;
            }
            let product = products.get(&l.product_id);
            out.push(OwnedLicense {
                features: Vec::new(),
                env,
                handle: owner.links.license_handle(env, l.key.as_str()),
                product_name: product.map(|p| p.name.clone()).unwrap_or_default(),
                offer: product.and_then(|p| p.offer_for(l.status, l.expires_at, Utc::now())),
                license: l,
            });
        }
    }
    out.sort_by_key(|m| std::cmp::Reverse(m.license.created_at));
    Ok(out)
}

/// The license behind a handle, only among the owner's own (one store read).
pub async fn license(owner: Owner<'_>, handle: &str) -> Result<OwnedLicense, AppError> {
    listing::by_handle(owner, handle).await
}

/// One page of My Licenses (see `listing.rs`).
pub async fn licenses_page(
    owner: Owner<'_>,
    status: Option<LicenseStatus>,
    q: &str,
    page: usize,
) -> Result<OwnedPage, AppError> {
    listing::page(owner, status, q, page).await
}

/// One of the owner's licenses and what the software would hear about it at
/// `now` (the same verdicts the client API gives, with the environment's grace).
pub async fn license_status(
    owner: Owner<'_>,
    handle: &str,
    now: DateTime<Utc>,
) -> Result<(OwnedLicense, Diagnosis), AppError> {
    let m = license(owner, handle).await?;
    let d = diagnose(&m.license, now, owner.engine.settings().grace(m.env));
    Ok((m, d))
}

/// What the owner's dashboard shows: every license, the totals, what needs
/// attention (indices into `licenses`) and the recent activity.
pub struct Overview {
    pub licenses: Vec<OwnedLicense>,
    pub totals: Totals,
    pub attention: Vec<(usize, Attention)>,
    /// Newest first, with the index of the license each entry is about.
    pub activity: Vec<(usize, AuditEntry)>,
}

/// Audit entries read per license for the activity list, and how many
/// licenses (the newest) and entries it shows.
const ACTIVITY_PER_LICENSE: usize = 5;
const ACTIVITY_LICENSES: usize = 10;
const ACTIVITY_SHOWN: usize = 10;

/// Gathers the dashboard at `now`: the licenses, then the health rules over them.
pub async fn overview(owner: Owner<'_>, now: DateTime<Utc>) -> Result<Overview, AppError> {
    let licenses = licenses(owner).await?;
    let activity = recent_activity(owner, &licenses).await?;
    let refs: Vec<&License> = licenses.iter().map(|m| &m.license).collect();
    Ok(Overview {
        totals: health::totals(&refs, now),
        attention: health::attention(&refs, now),
        activity,
        licenses,
    })
}

/// The newest audit entries on the newest licenses, newest first.
async fn recent_activity(
    owner: Owner<'_>,
    licenses: &[OwnedLicense],
) -> Result<Vec<(usize, AuditEntry)>, AppError> {
    let store = owner.engine.store().as_ref();
    let mut activity = Vec::new();
    for (i, m) in licenses.iter().enumerate().take(ACTIVITY_LICENSES) {
        let q = AuditQuery {
            license_key: Some(m.license.key.as_str().to_owned()),
            limit: ACTIVITY_PER_LICENSE,
            ..AuditQuery::default()
        };
        activity.extend(
            store
                .list_audit(m.env, &q)
                .await?
                .into_iter()
                .map(|e| (i, e)),
        );
    }
    activity.sort_by_key(|(_, e)| std::cmp::Reverse(e.at));
    activity.truncate(ACTIVITY_SHOWN);
    Ok(activity)
}
