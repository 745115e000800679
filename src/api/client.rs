//! The client API: activate, validate, heartbeat, deactivate, offline files and
//! the public key. Thin: decode, one engine call, encode (and sign when asked).

use crate::app::offline::offline_file;
use std::borrow::Cow;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::codec::{self, Format};
use crate::app::AppState;
use crate::crypto::offline;
use crate::domain::verdict::Op;
use crate::domain::{
    ActivationKind, Environment, Identifier, LicenseKey, LicenseStatus, Verdict, VerdictCode,
};
use crate::engine::actor::Outcome;
use crate::engine::ActivationRequest;
use crate::error::ApiError;
use crate::metrics::metrics;

/// Header carrying the base64 Ed25519 signature over body bytes + nonce.
pub const SIGNATURE_HEADER: &str = "x-keywarden-signature";
/// Header naming the key that signed.
pub const KEY_ID_HEADER: &str = "x-keywarden-key-id";
const MAX_NONCE: usize = 256;

/// A client request body (same shape for every operation). Fields borrow from
/// the body when they can: the hot path copies each string once, when it is checked.
#[derive(Debug, Deserialize)]
pub struct ClientRequest<'a> {
    #[serde(borrow)]
    pub key: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub identifier: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub nonce: Option<Cow<'a, str>>,
}

/// A client answer; license facts are absent when the key is unknown.
#[derive(Debug, Serialize)]
struct ClientAnswer<'a> {
    valid: bool,
    code: VerdictCode,
    detail: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<LicenseStatus>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "super::timestamp::serialize_expiry"
    )]
    expires_at: Option<Option<DateTime<Utc>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    activation_limit: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    activations: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    feature_flags: Option<&'a Map<String, Value>>,
    #[serde(serialize_with = "super::timestamp::serialize")]
    timestamp: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
}

/// A decoded, checked client request.
struct Parsed {
    env: Environment,
    key: LicenseKey,
    identifier: Identifier,
    kind: ActivationKind,
    nonce: Option<String>,
    format_in: Format,
    format_out: Format,
}

async fn parse(
    state: &AppState,
    req: &HttpRequest,
    env: Environment,
    payload: web::Payload,
) -> Result<Parsed, ApiError> {
    let format_in = codec::request_format(req)?;
    let limit = state.config.server.body_limit_bytes;
    codec::check_length(req, limit)?;
    let body = codec::read_body(payload, limit).await?;
    let r: ClientRequest = codec::decode_borrowed(format_in, &body)?;
    let key = r
        .key
        .ok_or_else(|| ApiError::field("key", "key is required"))?;
    let key = LicenseKey::parse(&key).map_err(|e| ApiError::field("key", e))?;
    let identifier = r
        .identifier
        .ok_or_else(|| ApiError::field("identifier", "identifier is required"))?;
    let identifier =
        Identifier::parse(&identifier).map_err(|e| ApiError::field("identifier", e))?;
    let kind = match r.kind.as_deref() {
        None | Some("hwid") => ActivationKind::Hwid,
        Some("domain") => ActivationKind::Domain,
        Some(_) => {
            return Err(ApiError::field(
                "kind",
                "kind must be \"hwid\" or \"domain\"",
            ))
        }
    };
    if let Some(n) = &r.nonce {
        if n.is_empty() || n.len() > MAX_NONCE {
            return Err(ApiError::field(
                "nonce",
                format!("nonce must be 1 to {MAX_NONCE} bytes"),
            ));
        }
    }
    Ok(Parsed {
        env,
        key,
        identifier,
        kind,
        nonce: r.nonce.map(Cow::into_owned),
        format_in,
        format_out: codec::response_format(req, format_in),
    })
}

/// Encodes an answer and signs it when the request carried a nonce.
fn respond<T: Serialize>(
    state: &AppState,
    p: &Parsed,
    value: &T,
) -> Result<HttpResponse, ApiError> {
    let body = codec::encode(p.format_out, value)?;
    let mut resp = HttpResponse::Ok();
    resp.content_type(p.format_out.content_type());
    if let Some(nonce) = &p.nonce {
        let keys = state.signers.get(p.env);
        let signer = keys.current();
        resp.insert_header((SIGNATURE_HEADER, signer.sign_response(&body, nonce)));
        resp.insert_header((KEY_ID_HEADER, signer.key_id.as_str()));
        metrics().signed_responses.inc();
    }
    let _ = p.format_in;
    Ok(resp.body(body))
}

/// One client operation: decode, one engine call, encode (and sign when asked).
pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    env: Environment,
    payload: web::Payload,
    op: Op,
) -> Result<HttpResponse, ApiError> {
    let p = parse(&state, &req, env, payload).await?;
    // Unknown keys are charged to this address (RATE_LIMITED once it guesses too often).
    let ip = state.client_ip(&req);
    let outcome = ask_engine(&state, &p, op, ip).await?;
    let now = Utc::now();
    let unknown;
    let answer = match &outcome {
        Some(o) => ClientAnswer::known(o, &p, now),
        None => {
            unknown = Verdict::not_found();
            ClientAnswer::unknown(&unknown, &p, now)
        }
    };
    metrics().count_verdict(p.env.as_str(), op.as_str(), answer.code.as_str());
    let new_device = outcome
        .as_ref()
        .is_some_and(|o| crate::domain::verdict::is_new_activation(&o.verdict));
    match op {
        Op::Validate | Op::Heartbeat => state.traffic.validation(p.env, answer.valid),
        Op::Activate if new_device => state.traffic.activation(p.env),
        _ => {}
    }
    if op == Op::Activate && new_device {
        // Off the answer's path: the owner's alert mail, if they want it.
        state
            .services
            .alerts
            .queue(p.env, p.key.clone(), p.identifier.clone());
    }
    if op == Op::Activate && outcome.is_some() && !answer.valid {
        // `activation.failed` to the webhooks that want it (a cache check when none does).
        state.services.webhooks.activation_failed(
            p.env,
            p.key.as_str(),
            p.identifier.as_str(),
            answer.code.as_str(),
        );
    }
    respond(&state, &p, &answer)
}

/// The one engine call behind a client operation; `None` for an unknown key.
async fn ask_engine(
    state: &AppState,
    p: &Parsed,
    op: Op,
    ip: Option<std::net::IpAddr>,
) -> Result<Option<Outcome>, ApiError> {
    let engine = &state.engine;
    let outcome = match op {
        Op::Validate | Op::Heartbeat => {
            let heartbeat = op == Op::Heartbeat;
            engine
                .check(p.env, &p.key, &p.identifier, heartbeat, ip)
                .await?
        }
        Op::Activate | Op::Deactivate => {
            let request = ActivationRequest {
                op,
                identifier: p.identifier.clone(),
                kind: p.kind,
                ip: ip.map(|ip| ip.to_string()),
            };
            engine.change(p.env, p.key.clone(), request, ip).await?
        }
    };
    Ok(outcome)
}

impl<'a> ClientAnswer<'a> {
    /// The answer for a license the engine holds: the verdict and its facts.
    fn known(o: &'a Outcome, p: &'a Parsed, now: DateTime<Utc>) -> Self {
        ClientAnswer {
            valid: o.verdict.valid,
            code: o.verdict.code,
            detail: &o.verdict.detail,
            status: Some(o.status),
            expires_at: Some(o.expires_at),
            activation_limit: Some(o.activation_limit),
            activations: Some(o.activations),
            feature_flags: Some(&o.features),
            timestamp: now,
            nonce: p.nonce.as_deref(),
        }
    }

    /// The answer for an unknown key: the verdict only, no license facts.
    fn unknown(v: &'a Verdict, p: &'a Parsed, now: DateTime<Utc>) -> Self {
        ClientAnswer {
            valid: v.valid,
            code: v.code,
            detail: &v.detail,
            status: None,
            expires_at: None,
            activation_limit: None,
            activations: None,
            feature_flags: None,
            timestamp: now,
            nonce: p.nonce.as_deref(),
        }
    }
}

/// The offline answer: the verdict, plus the signed file when the device may use the license.
#[derive(Serialize)]
struct OfflineAnswer<'a> {
    valid: bool,
    code: VerdictCode,
    detail: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<offline::OfflineFile>,
}

/// A signed offline license file for one device (for clients that cannot reach us).
pub async fn offline(
    state: web::Data<AppState>,
    req: HttpRequest,
    env: Environment,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let p = parse(&state, &req, env, payload).await?;
    let ip = state.client_ip(&req);
    let (v, file) = offline_file(
        &state.engine,
        &state.signers,
        p.env,
        &p.key,
        &p.identifier,
        ip,
    )
    .await?;
    metrics().count_verdict(p.env.as_str(), "offline", v.code.as_str());
    respond(
        &state,
        &p,
        &OfflineAnswer {
            valid: v.valid,
            code: v.code,
            detail: &v.detail,
            file,
        },
    )
}

#[derive(Serialize)]
struct PublicKey<'a> {
    environment: Environment,
    algorithm: &'static str,
    key_id: &'a str,
    /// Base64 of the 32 raw key bytes.
    public_key: String,
    pem: String,
    keys: Vec<PublishedKey<'a>>,
}

#[derive(Serialize)]
struct PublishedKey<'a> {
    key_id: &'a str,
    public_key: String,
    pem: String,
    status: &'static str,
    created_at: chrono::DateTime<chrono::Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retired_at: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    verify_until: Option<chrono::DateTime<chrono::Utc>>,
}

/// The environment's public keys, for clients to pin: the current one at the
/// top level (as before rotation existed) and every key still valid in `keys`.
/// Short-lived in caches: a client meeting an unknown key id fetches it again.
pub async fn public_key(
    state: web::Data<AppState>,
    env: Environment,
) -> Result<HttpResponse, ApiError> {
    let ring = state.signers.get(env);
    let s = ring.current();
    let keys = ring
        .published(chrono::Utc::now())
        .map(|k| PublishedKey {
            key_id: &k.signer.key_id,
            public_key: k.signer.public_key_b64(),
            pem: k.signer.public_key_pem(),
            status: if k.retired_at.is_some() {
                "retired"
            } else {
                "current"
            },
            created_at: k.created_at,
            retired_at: k.retired_at,
            verify_until: k.verify_until(),
        })
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=60"))
        .json(PublicKey {
            environment: env,
            algorithm: "Ed25519",
            key_id: &s.key_id,
            public_key: s.public_key_b64(),
            pem: s.public_key_pem(),
            keys,
        }))
}

/// `/v1/{env}/…` for anything but the two environments (and unknown operations).
pub async fn unknown_env(path: web::Path<(String, String)>) -> Result<HttpResponse, ApiError> {
    let (env, _) = path.into_inner();
    env.parse::<Environment>().map_err(ApiError::bad)?;
    Err(ApiError::NotFound("no such route".into()))
}
