//! What a license actor is sent, and what it answers: the engine's vocabulary
//! with the actor, kept apart from how each message is handled.

use std::sync::Arc;

use actix::prelude::*;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::domain::verdict::Op;
use crate::domain::{ActivationKind, Identifier, License, LicenseStatus, Verdict};
use crate::engine::EngineError;

/// The admin's change is the domain's (see [`crate::domain::edit`]); re-exported
/// here so callers keep importing it from the engine.
pub use crate::domain::{AdminChange, LicenseEdit};

/// A verdict plus the license facts a client answer carries.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub verdict: Verdict,
    pub status: LicenseStatus,
    pub expires_at: Option<DateTime<Utc>>,
    pub activation_limit: i32,
    pub activations: usize,
    pub features: Arc<Map<String, Value>>,
}

/// What a client asked to change.
#[derive(Debug, Clone)]
pub struct ActivationRequest {
    pub op: Op,
    pub identifier: Identifier,
    pub kind: ActivationKind,
    pub ip: Option<String>,
}

/// Activate or deactivate from the client API.
#[derive(Message, Clone)]
#[rtype(result = "Result<Outcome, EngineError>")]
pub struct ClientChange(pub ActivationRequest);

/// A change made by an admin (or the system) through the license's actor,
/// with the address of the request that asked for it (for the audit entry).
#[derive(Message, Clone)]
#[rtype(result = "Result<License, EngineError>")]
pub struct AdminRequest {
    pub change: AdminChange,
    pub ip: Option<std::net::IpAddr>,
}

/// Sent by the change-log reader: another node changed this license. Queued behind
/// the messages already waiting, so none of them is dropped.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Reload;

/// Sent by the registry when the license leaves memory.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Stop;

/// Self-message: the abuse rule fired for this license.
#[derive(Message)]
#[rtype(result = "()")]
pub(super) struct AbuseTriggered {
    /// The distinct devices refused within the window.
    pub events: Vec<crate::domain::abuse_case::AbuseEvent>,
}
