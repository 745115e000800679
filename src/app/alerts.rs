//! Activation alerts: a mail to the owner when a new device is activated on one
//! of their licenses, if they want it (security item 5: at most
//! [`ALERTS_PER_HOUR`] per license, the identifier quoted as data).
//!
//! First activations arrive at thousands per second, so an alert is not written
//! on its own: the client handler drops it in a bounded queue and one task
//! writes what is waiting as one batch (`Outbox::send_batch`: two store writes
//! for the whole batch), one mail per owner listing their new devices of the
//! batch (a fleet activated at once is not a mail storm). A batch's first alert
//! waits [`GATHER`] for others, so a batch is a fleet, not one wake-up's worth. An alert is still
//! written after the activation's answer, as before, so a crash in between can
//! lose it but never the activation.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use uuid::Uuid;

use crate::app::format;
use crate::app::mail::{Letter, Outbox};
use crate::domain::{Customer, Environment, Identifier, LicenseKey};
use crate::engine::Engine;

/// Activation alerts allowed per license and hour.
pub const ALERTS_PER_HOUR: u32 = 5;
/// Alerts waiting to be written, at most (more are dropped with a warning).
const QUEUE: usize = 20_000;
/// Alerts written per batch, at most.
const BATCH: usize = 512;

/// One new device to tell its license's owner about.
struct Alert {
    env: Environment,
    key: LicenseKey,
    identifier: Identifier,
}

/// The queue between the client handlers and the task that writes alerts.
pub struct ActivationAlerts {
    budget: AlertBudget,
    tx: mpsc::Sender<Alert>,
    rx: Mutex<Option<mpsc::Receiver<Alert>>>,
}

impl Default for ActivationAlerts {
    fn default() -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        ActivationAlerts {
            budget: AlertBudget::default(),
            tx,
            rx: Mutex::new(Some(rx)),
        }
    }
}

impl ActivationAlerts {
    /// Asks for an alert about `identifier`, newly activated on `key` (never waits).
    pub fn queue(&self, env: Environment, key: LicenseKey, identifier: Identifier) {
        // A script activating many devices must not turn into a mail storm.
        if !self.budget.allow(env, &key) {
            tracing::debug!("activation alert skipped: this license's alert budget is used up");
            return;
        }
        let alert = Alert {
            env,
            key,
            identifier,
        };
        if self.tx.try_send(alert).is_err() {
            tracing::warn!("activation alert dropped: {QUEUE} alerts are already waiting");
        }
    }

    /// Starts the task that writes queued alerts (once; later calls do nothing).
    pub fn start(&self, engine: Arc<Engine>, outbox: Arc<Outbox>) {
        let Some(mut rx) = self.rx.lock().ok().and_then(|mut r| r.take()) else {
            return;
        };
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            while rx.recv_many(&mut batch, BATCH).await > 0 {
                gather(&mut rx, &mut batch).await;
                let letters = compose(&engine, std::mem::take(&mut batch)).await;
                if letters.is_empty() {
                    continue;
                }
                if let Err(e) = outbox.send_batch(letters).await {
                    tracing::warn!(error = %e, "could not write activation alerts");
                }
            }
        });
    }
}

/// How long the first alert of a batch waits for others: a fleet activated at
/// once is a few mails per owner, not one per wake-up of the task (each mail is
/// an outbox row and a mailbox file or an SMTP session).
const GATHER: Duration = Duration::from_millis(250);

/// Adds to `batch` what arrives within [`GATHER`] of now, up to [`BATCH`] alerts
/// (returns early when the queue closes: the server is stopping).
async fn gather(rx: &mut mpsc::Receiver<Alert>, batch: &mut Vec<Alert>) {
    let until = tokio::time::Instant::now() + GATHER;
    while batch.len() < BATCH {
        let room = BATCH - batch.len();
        match tokio::time::timeout_at(until, rx.recv_many(batch, room)).await {
            Ok(n) if n > 0 => {}
            _ => return,
        }
    }
}

/// Devices listed in one alert mail; more are counted, not listed.
const LISTED: usize = 20;

/// The mails for a batch of alerts: one per owner who wants them (each owner
/// read once per batch), listing every new device of theirs in the batch. A
/// fleet rolled out at once is one mail per batch to its owner, not a storm.
async fn compose(engine: &Engine, alerts: Vec<Alert>) -> Vec<Letter> {
    let store = engine.store().as_ref();
    let mut owners: HashMap<Uuid, Option<Customer>> = HashMap::new();
    // Owner → their new devices; `order`: owners as they first appear.
    let mut devices: HashMap<Uuid, Vec<Device>> = HashMap::new();
    let mut order: Vec<Uuid> = Vec::new();
    for a in alerts {
        let Ok(Some(l)) = engine.get(a.env, &a.key).await else {
            continue;
        };
        let Some(cid) = l.customer_id else {
            continue;
        };
        let owner = match owners.entry(cid) {
            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(store.get_customer(cid).await.ok().flatten())
            }
        };
        let Some(c) = owner else {
            continue;
        };
        let mandatory = engine.settings().get(a.env).security_alerts_mandatory;
        if !c.notify_activations && !mandatory {
            continue;
        }
        let line = Device {
            // Quoted data, invisible characters escaped: never free text in the mail.
            identifier: format!("{:?}", a.identifier.shown()),
            key: format::mask_key(a.key.as_str()),
            usage: format::activations(l.active_count() as u32, l.activation_limit.get()),
        };
        let theirs = devices.entry(cid).or_default();
        if theirs.is_empty() {
            order.push(cid);
        }
        theirs.push(line);
    }
    order
        .into_iter()
        .filter_map(|cid| {
            let c = owners.get(&cid)?.as_ref()?;
            Some(letter(c, devices.get(&cid)?))
        })
        .collect()
}

/// A new device as an alert mail names it.
struct Device {
    identifier: String,
    key: String,
    usage: String,
}

/// One owner's alert mail for `devices` (at least one).
fn letter(c: &Customer, devices: &[Device]) -> Letter {
    let advice = |it: &str| {
        format!("If that was not you, deactivate {it} in the customer portal (Activations) and contact your vendor.\n")
    };
    let (subject, body) = match devices {
        [one] => (
            "A new device was activated on your license".to_owned(),
            format!(
                "Hello {},\n\na new device, {}, was activated on your license {} ({} in use).\n{}",
                c.name,
                one.identifier,
                one.key,
                one.usage,
                advice("it")
            ),
        ),
        many => {
            let mut list: String = many
                .iter()
                .take(LISTED)
                .map(|d| format!("- {} on {} ({} in use)\n", d.identifier, d.key, d.usage))
                .collect();
            if many.len() > LISTED {
                list.push_str(&format!("- and {} more\n", many.len() - LISTED));
            }
            (
                format!("{} new devices were activated on your licenses", many.len()),
                format!(
                    "Hello {},\n\nthese new devices were activated:\n{list}{}",
                    c.name,
                    advice("them")
                ),
            )
        }
    };
    Letter {
        to: c.email.clone(),
        subject,
        body,
        kind: "activation",
    }
}

/// How many activation alerts each license may still send this hour (bounded;
/// a license not seen for an hour is forgotten).
pub struct AlertBudget {
    used: moka::sync::Cache<(Environment, String), (Instant, u32)>,
}

impl Default for AlertBudget {
    fn default() -> Self {
        AlertBudget {
            used: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(Duration::from_secs(3600))
                .build(),
        }
    }
}

impl AlertBudget {
    /// Takes one alert from the license's hourly budget; false when none is left.
    pub fn allow(&self, env: Environment, key: &LicenseKey) -> bool {
        let now = Instant::now();
        let k = (env, key.as_str().to_owned());
        let mut allowed = false;
        self.used.entry(k).and_upsert_with(|old| {
            let (start, n) = match old.map(|e| e.into_value()) {
                Some((start, n)) if now.duration_since(start) < Duration::from_secs(3600) => {
                    (start, n)
                }
                _ => (now, 0),
            };
            allowed = n < ALERTS_PER_HOUR;
            (start, n.saturating_add(1).min(ALERTS_PER_HOUR))
        });
        allowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(n: usize) -> Device {
        Device {
            identifier: format!("\"pc-{n}\""),
            key: "ABCDEFGH…".into(),
            usage: "1 / 5".into(),
        }
    }

    /// One new device reads as before; a batch of them is one mail to the owner.
    #[test]
    fn an_owner_gets_one_mail_per_batch_of_new_devices() {
        let c = Customer::new("o@example.com".into(), "Owner".into(), chrono::Utc::now());
        let one = letter(&c, &[device(1)]);
        assert_eq!(one.subject, "A new device was activated on your license");
        assert!(
            one.body.contains(
                "a new device, \"pc-1\", was activated on your license ABCDEFGH… (1 / 5 in use)."
            ),
            "{}",
            one.body
        );
        let many: Vec<Device> = (0..25).map(device).collect();
        let m = letter(&c, &many);
        assert_eq!(m.subject, "25 new devices were activated on your licenses");
        assert_eq!(m.body.matches("\n- \"pc-").count(), LISTED);
        assert!(m.body.contains("- \"pc-19\" on ABCDEFGH… (1 / 5 in use)\n"));
        assert!(!m.body.contains("pc-20"), "{}", m.body);
        assert!(m.body.contains("- and 5 more\n"), "{}", m.body);
        assert!(m.body.contains("deactivate them in the customer portal"));
        assert!(one.body.contains("deactivate it in the customer portal"));
        assert_eq!((m.to.as_str(), m.kind), ("o@example.com", "activation"));
    }

    fn alert(n: usize) -> Alert {
        Alert {
            env: Environment::Production,
            key: LicenseKey::parse("ABCDE-12345").unwrap(),
            identifier: Identifier::parse(&format!("pc-{n}")).unwrap(),
        }
    }

    /// Alerts sent while the first waits join its batch; a full batch or a
    /// closed queue ends the wait.
    #[tokio::test]
    async fn a_batch_gathers_the_alerts_that_follow_its_first() {
        let (tx, mut rx) = mpsc::channel(QUEUE);
        tx.send(alert(0)).await.unwrap();
        let mut batch = Vec::new();
        rx.recv_many(&mut batch, BATCH).await;
        let later = tx.clone();
        tokio::spawn(async move {
            for n in 1..=3 {
                tokio::task::yield_now().await;
                later.send(alert(n)).await.unwrap();
            }
        });
        gather(&mut rx, &mut batch).await;
        let names: Vec<String> = batch.iter().map(|a| a.identifier.to_string()).collect();
        assert_eq!(names, ["pc-0", "pc-1", "pc-2", "pc-3"]);

        for n in 0..BATCH + 7 {
            tx.send(alert(n)).await.unwrap();
        }
        let mut full = Vec::new();
        rx.recv_many(&mut full, 1).await;
        gather(&mut rx, &mut full).await;
        assert_eq!(full.len(), BATCH, "a batch stops at {BATCH}");
        drop(tx);
        let mut rest = Vec::new();
        rx.recv_many(&mut rest, BATCH).await;
        gather(&mut rx, &mut rest).await;
        assert_eq!(rest.len(), 7, "a closed queue hands over what is left");
    }

    /// Security item 5: alerts are limited per license.
    #[test]
    fn activation_alerts_have_a_budget_per_license() {
        let b = AlertBudget::default();
        let k = LicenseKey::parse("ABCDE-12345").unwrap();
        let other = LicenseKey::parse("FGHIJ-67890").unwrap();
        let sent = (0..20)
            .filter(|_| b.allow(Environment::Production, &k))
            .count();
        assert_eq!(sent, ALERTS_PER_HOUR as usize);
        assert!(b.allow(Environment::Production, &other));
        assert!(b.allow(Environment::Staging, &k));
    }
}
