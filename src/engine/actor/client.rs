//! Client changes at the license's actor: activate and deactivate committed
//! before they are answered, and the abuse rule that repeated refusals for the
//! limit set off. (Validate and heartbeat are answered from the resident view.)

use actix::prelude::*;
use chrono::{DateTime, Utc};

use super::commit::commit_client_change;
use super::messages::{AbuseTriggered, ActivationRequest, ClientChange, Outcome};
use super::LicenseActor;
use crate::domain::abuse::{abuse_due, abuse_fired};
use crate::domain::verdict::{self, Op};
use crate::domain::{Activation, AuditEntry, License, Verdict, VerdictCode};
use crate::engine::EngineError;
use crate::metrics::metrics;
use crate::store::LicenseWrite;

/// Builds the answer once a change is committed.
pub(super) type AnswerFn = fn(&License, DateTime<Utc>, chrono::Duration) -> Verdict;

/// A client change decided and applied to a copy of the license, ready to commit.
pub(super) struct Applied {
    /// The license as it will be once committed.
    pub next: License,
    /// The activation added or ended (written as its own row).
    pub touched: Activation,
    pub audit: AuditEntry,
    pub answer: AnswerFn,
}

/// A new device's activation applied to a copy of `license`.
pub(super) fn added(
    license: &License,
    req: &ActivationRequest,
    now: DateTime<Utc>,
) -> Result<Applied, EngineError> {
    let mut next = license.clone();
    let a = Activation::new(req.identifier.clone(), req.kind, now, req.ip.clone());
    next.add_device(a.clone(), now)?;
    let usage = verdict::usage(&next, next.active_count());
    let audit = AuditEntry::new("client", "activation.created", Some(next.key.as_str()), now)
        .change(license.status, next.status)
        .detail(format!("{} ({usage})", req.identifier))
        .from_ip(req.ip.as_ref());
    Ok(Applied {
        next,
        touched: a,
        audit,
        answer: verdict::activated,
    })
}

/// A device's deactivation applied to a copy of `license`.
pub(super) fn removed(
    license: &License,
    req: &ActivationRequest,
    now: DateTime<Utc>,
) -> Result<Applied, EngineError> {
    let mut next = license.clone();
    let touched = next
        .deactivate_device(&req.identifier, now)
        .cloned()
        .ok_or(EngineError::NotFound)?;
    // The record keeps active devices only; the store writes `touched` as history.
    next.retire_deactivated();
    let audit = AuditEntry::new(
        "client",
        "activation.deactivated",
        Some(next.key.as_str()),
        now,
    )
    .detail(req.identifier.to_string())
    .from_ip(req.ip.as_ref());
    Ok(Applied {
        next,
        touched,
        audit,
        answer: |l, _, _| verdict::deactivated(l),
    })
}

impl Handler<ClientChange> for LicenseActor {
    type Result = AtomicResponse<Self, Result<Outcome, EngineError>>;

    fn handle(&mut self, msg: ClientChange, _: &mut Self::Context) -> Self::Result {
        if let Err(e) = self.gone().and_then(|_| self.rate_limit()) {
            return AtomicResponse::new(Box::pin(fut::ready(Err(e))));
        }
        let grace = self.shared.settings.grace(self.env);
        let op = msg.0.op;
        let identifier = msg.0.identifier.clone();
        let fut = commit_client_change(
            self.shared.store.clone(),
            self.env,
            self.license(),
            msg.0,
            grace,
        );
        AtomicResponse::new(Box::pin(fut.into_actor(self).map(
            move |result, act, ctx| {
                let (license, verdict) = result?;
                act.replace(license);
                if op == Op::Activate && verdict.code == VerdictCode::LimitReached {
                    let rule = act.shared.settings.get(act.env).abuse;
                    let window = act.abuse.get_or_insert_with(Box::default);
                    if let Some(events) = window.refused_events(identifier, Utc::now(), &rule) {
                        if abuse_due(&act.resident.view().license, &events) {
                            ctx.notify(AbuseTriggered { events });
                        }
                    }
                }
                Ok(act.outcome(verdict))
            },
        )))
    }
}

impl Handler<AbuseTriggered> for LicenseActor {
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, msg: AbuseTriggered, _: &mut Self::Context) -> Self::Result {
        let rule = self.shared.settings.get(self.env).abuse;
        let (next, audit, outcome) = abuse_fired(&self.license(), &rule, msg.events, Utc::now());
        let store = self.shared.store.clone();
        let env = self.env;
        let expected = self.version();
        let fut = async move {
            let write = LicenseWrite {
                license: &next,
                expected_version: expected,
                touched: &[],
                audit: &audit,
            };
            store.update_license(env, write).await.map(|_| next)
        };
        AtomicResponse::new(Box::pin(fut.into_actor(self).map(
            move |res, act, _| match res {
                Ok(next) => {
                    metrics().abuse_events.with_label_values(&[outcome]).inc();
                    tracing::warn!(key = %next.key.masked(), outcome, "abuse rule fired");
                    act.replace(next);
                    act.abuse = None;
                }
                Err(e) => tracing::warn!(error = %e, "could not record an abuse flag"),
            },
        )))
    }
}
