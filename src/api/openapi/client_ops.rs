//! The client API's operations for the OpenAPI document. The routes are
//! static paths per environment mounted in `api::client_routes` (one handler
//! serves four operations), so each operation is described on a function of
//! its own here; `tests/it/openapi.rs` checks the document lists every route.

#![allow(dead_code)]

use super::schemas::{ClientAnswerDoc, ClientRequestDoc, OfflineAnswerDoc, PublicKeyDoc};
use crate::domain::Environment;

#[utoipa::path(
    post,
    path = "/v1/{env}/licenses/activate",
    tag = "client",
    operation_id = "activate",
    summary = "Bind a device to a license (or confirm it is bound). Verdicts, refusals included, are 200.",
    params(("env" = Environment, Path, description = "production or staging")),
    request_body(content((ClientRequestDoc = "application/json"), (ClientRequestDoc = "application/msgpack"))),
    responses((status = 200, description = "the verdict (signed when a nonce was sent)", content((ClientAnswerDoc = "application/json"), (ClientAnswerDoc = "application/msgpack"))))
)]
fn activate() {}

#[utoipa::path(
    post,
    path = "/v1/{env}/licenses/validate",
    tag = "client",
    operation_id = "validate",
    summary = "Check a device's license.",
    params(("env" = Environment, Path, description = "production or staging")),
    request_body(content((ClientRequestDoc = "application/json"), (ClientRequestDoc = "application/msgpack"))),
    responses((status = 200, description = "the verdict", content((ClientAnswerDoc = "application/json"), (ClientAnswerDoc = "application/msgpack"))))
)]
fn validate() {}

#[utoipa::path(
    post,
    path = "/v1/{env}/licenses/heartbeat",
    tag = "client",
    operation_id = "heartbeat",
    summary = "A device says it is alive (moves its last-seen time); answers like validate.",
    params(("env" = Environment, Path, description = "production or staging")),
    request_body(content((ClientRequestDoc = "application/json"), (ClientRequestDoc = "application/msgpack"))),
    responses((status = 200, description = "the verdict", content((ClientAnswerDoc = "application/json"), (ClientAnswerDoc = "application/msgpack"))))
)]
fn heartbeat() {}

#[utoipa::path(
    post,
    path = "/v1/{env}/licenses/deactivate",
    tag = "client",
    operation_id = "deactivate",
    summary = "Free the device's slot.",
    params(("env" = Environment, Path, description = "production or staging")),
    request_body(content((ClientRequestDoc = "application/json"), (ClientRequestDoc = "application/msgpack"))),
    responses((status = 200, description = "the verdict (DEACTIVATED when done)", content((ClientAnswerDoc = "application/json"), (ClientAnswerDoc = "application/msgpack"))))
)]
fn deactivate() {}

#[utoipa::path(
    post,
    path = "/v1/{env}/licenses/offline",
    tag = "client",
    operation_id = "offline",
    summary = "A signed offline license file for an activated device.",
    params(("env" = Environment, Path, description = "production or staging")),
    request_body(content((ClientRequestDoc = "application/json"), (ClientRequestDoc = "application/msgpack"))),
    responses((status = 200, description = "the verdict and, when the device may use the license, the file", content((OfflineAnswerDoc = "application/json"), (OfflineAnswerDoc = "application/msgpack"))))
)]
fn offline() {}

#[utoipa::path(
    get,
    path = "/v1/{env}/public-key",
    tag = "client",
    operation_id = "public_key",
    summary = "The environment's Ed25519 key that signs answers, for clients to pin.",
    params(("env" = Environment, Path, description = "production or staging")),
    responses((status = 200, description = "the key", body = PublicKeyDoc))
)]
fn public_key() {}
