//! Bodies of Keywarden's client API: request encoding and verdict decoding.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// A client-API operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Op {
    /// `POST /v1/{env}/licenses/validate`.
    Validate,
    /// `POST /v1/{env}/licenses/heartbeat`.
    Heartbeat,
    /// `POST /v1/{env}/licenses/activate`.
    Activate,
    /// `POST /v1/{env}/licenses/deactivate`.
    Deactivate,
}

impl Op {
    /// All operations, in index order.
    pub const ALL: [Op; 4] = [Op::Validate, Op::Heartbeat, Op::Activate, Op::Deactivate];

    /// The last path segment, also used as the operation's name.
    pub fn name(self) -> &'static str {
        match self {
            Op::Validate => "validate",
            Op::Heartbeat => "heartbeat",
            Op::Activate => "activate",
            Op::Deactivate => "deactivate",
        }
    }

    /// Position in [`Op::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The request path for this operation in environment `env`.
    pub fn path(self, env: &str) -> String {
        format!("/v1/{env}/licenses/{}", self.name())
    }
}

/// Wire format of a request body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// `application/json`.
    Json,
    /// `application/msgpack`, a map with named fields.
    MsgPack,
}

impl Encoding {
    /// The `Content-Type` (and `Accept`) value.
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Json => "application/json",
            Encoding::MsgPack => "application/msgpack",
        }
    }
}

/// The body of every client-API request.
#[derive(Debug, Serialize)]
pub struct ClientRequest<'a> {
    /// License key.
    pub key: &'a str,
    /// Machine or domain identifier.
    pub identifier: &'a str,
    /// `hwid` or `domain`; only sent on activation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'a str>,
    /// Asks for a signed answer when present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<&'a str>,
}

/// Encodes `req` into `out` (cleared first).
pub fn encode(req: &ClientRequest<'_>, enc: Encoding, out: &mut Vec<u8>) {
    out.clear();
    // Writing to a Vec cannot fail for these plain structs.
    match enc {
        Encoding::Json => serde_json::to_writer(&mut *out, req).expect("JSON encoding"),
        Encoding::MsgPack => {
            rmp_serde::encode::write_named(out, req).expect("MessagePack encoding")
        }
    }
}

/// The fields of a verdict that the load generator counts.
#[derive(Debug, Deserialize)]
pub struct Verdict<'a> {
    /// Whether the license is valid for the identifier.
    #[serde(default)]
    pub valid: Option<bool>,
    /// Machine-readable verdict such as `VALID` or `LIMIT_REACHED`.
    #[serde(borrow, default)]
    pub code: Option<Cow<'a, str>>,
}

/// Decodes a verdict body as MessagePack or JSON; `None` if it is neither.
pub fn decode_verdict(body: &[u8], msgpack: bool) -> Option<Verdict<'_>> {
    if msgpack {
        rmp_serde::from_slice(body).ok()
    } else {
        serde_json::from_slice(body).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_msgpack_round_trip() {
        let req = ClientRequest {
            key: "K-1",
            identifier: "dev-0",
            kind: None,
            nonce: Some("abc"),
        };
        let mut out = Vec::new();
        encode(&req, Encoding::Json, &mut out);
        assert_eq!(out, br#"{"key":"K-1","identifier":"dev-0","nonce":"abc"}"#);
        encode(&req, Encoding::MsgPack, &mut out);
        let back: serde_json::Value = rmp_serde::from_slice(&out).unwrap();
        assert_eq!(back["identifier"], "dev-0");
        assert!(back.get("kind").is_none());

        let v = decode_verdict(br#"{"valid":true,"code":"VALID","detail":"x"}"#, false).unwrap();
        assert_eq!((v.valid, v.code.as_deref()), (Some(true), Some("VALID")));
        #[derive(Serialize)]
        struct V {
            valid: bool,
            code: &'static str,
            signature: &'static str,
        }
        let packed = rmp_serde::to_vec_named(&V {
            valid: false,
            code: "NOT_FOUND",
            signature: "s",
        })
        .unwrap();
        let v = decode_verdict(&packed, true).unwrap();
        assert_eq!(
            (v.valid, v.code.as_deref()),
            (Some(false), Some("NOT_FOUND"))
        );
        assert!(decode_verdict(b"not json", false).is_none());
    }
}
