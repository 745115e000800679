//! JSON and MessagePack in both directions, with one body-size limit and
//! errors that name the problem instead of a 500.

use actix_web::http::header;
use actix_web::{web, HttpRequest};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// A wire format of the client API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    MsgPack,
}

impl Format {
    /// The `Content-Type` of an answer in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::MsgPack => "application/msgpack",
        }
    }

    fn from_mime(value: &str) -> Option<Format> {
        // Compared without lower-casing into a new string: this runs on every client request.
        let essence = value.split(';').next().unwrap_or("").trim();
        let is = |name: &str| essence.eq_ignore_ascii_case(name);
        if is("application/json") {
            Some(Format::Json)
        } else if is("application/msgpack")
            || is("application/x-msgpack")
            || is("application/vnd.msgpack")
        {
            Some(Format::MsgPack)
        } else {
            None
        }
    }
}

/// The request body's format from `Content-Type` (JSON when absent).
pub fn request_format(req: &HttpRequest) -> Result<Format, ApiError> {
    match req.headers().get(header::CONTENT_TYPE) {
        None => Ok(Format::Json),
        Some(v) => {
            let v = v.to_str().unwrap_or("");
            Format::from_mime(v).ok_or_else(|| {
                ApiError::bad(format!(
                    "unsupported Content-Type '{}': use application/json or application/msgpack",
                    crate::telemetry::truncate_for_message(v)
                ))
            })
        }
    }
}

/// The answer's format: the first supported type in `Accept`, else the request's.
pub fn response_format(req: &HttpRequest, request: Format) -> Format {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .and_then(|accept| accept.split(',').find_map(Format::from_mime))
        .unwrap_or(request)
}

/// Reads the whole body, refusing more than `limit` bytes.
///
/// A body that arrives in one chunk (every small client request) is kept as
/// that chunk, without a copy.
pub async fn read_body(mut payload: web::Payload, limit: usize) -> Result<Bytes, ApiError> {
    let too_big = || ApiError::bad(format!("request body is larger than {limit} bytes"));
    let read = |chunk: Option<Result<Bytes, actix_web::error::PayloadError>>| {
        chunk.transpose().map_err(|e| match e {
            actix_web::error::PayloadError::Overflow => too_big(),
            other => ApiError::bad(format!("could not read the request body: {other}")),
        })
    };
    let Some(first) = read(payload.next().await)? else {
        return Ok(Bytes::new());
    };
    if first.len() > limit {
        return Err(too_big());
    }
    let Some(second) = read(payload.next().await)? else {
        return Ok(first);
    };
    let mut body = BytesMut::from(&first[..]);
    let mut next = Some(second);
    while let Some(chunk) = next {
        if body.len() + chunk.len() > limit {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
        next = read(payload.next().await)?;
    }
    Ok(body.freeze())
}

/// Checks `Content-Length` before reading, so an oversized body is refused early.
pub fn check_length(req: &HttpRequest, limit: usize) -> Result<(), ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    match declared {
        Some(n) if n > limit => Err(ApiError::bad(format!(
            "request body is larger than {limit} bytes"
        ))),
        _ => Ok(()),
    }
}

/// Decodes a body; the error says what was wrong with it.
pub fn decode<T: DeserializeOwned>(format: Format, body: &[u8]) -> Result<T, ApiError> {
    decode_borrowed(format, body)
}

/// [`decode`] for types that borrow strings from the body (no copy per field).
pub fn decode_borrowed<'a, T: Deserialize<'a>>(
    format: Format,
    body: &'a [u8],
) -> Result<T, ApiError> {
    if body.is_empty() {
        return Err(ApiError::bad("request body is empty"));
    }
    match format {
        Format::Json => serde_json::from_slice(body)
            .map_err(|e| ApiError::bad(format!("malformed JSON body: {e}"))),
        Format::MsgPack => rmp_serde::from_slice(body)
            .map_err(|e| ApiError::bad(format!("malformed MessagePack body: {e}"))),
    }
}

/// Encodes an answer (MessagePack as maps with field names, so any client can read it).
pub fn encode<T: Serialize>(format: Format, value: &T) -> Result<Vec<u8>, ApiError> {
    match format {
        Format::Json => {
            // Sized for a client answer, so encoding it never grows the buffer.
            let mut out = Vec::with_capacity(384);
            serde_json::to_writer(&mut out, value)
                .map(|()| out)
                .map_err(|e| ApiError::Internal(e.to_string()))
        }
        Format::MsgPack => {
            rmp_serde::to_vec_named(value).map_err(|e| ApiError::Internal(e.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Probe {
        key: String,
        identifier: Option<String>,
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic_either_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode::<Probe>(Format::Json, &bytes);
            let _ = decode::<Probe>(Format::MsgPack, &bytes);
            let _ = decode_borrowed::<crate::api::client::ClientRequest>(Format::Json, &bytes);
            let _ = decode_borrowed::<crate::api::client::ClientRequest>(Format::MsgPack, &bytes);
        }

        #[test]
        fn truncated_valid_msgpack_is_an_error_not_a_panic(cut in 0usize..40) {
            let full = rmp_serde::to_vec_named(&serde_json::json!({"key": "ABCDE-12345", "identifier": "dev-1"})).unwrap();
            let part = &full[..cut.min(full.len())];
            if cut < full.len() {
                prop_assert!(decode::<Probe>(Format::MsgPack, part).is_err());
            }
        }
    }

    #[test]
    fn both_formats_round_trip() {
        let v = serde_json::json!({"key": "K-1", "identifier": "d"});
        for f in [Format::Json, Format::MsgPack] {
            let bytes = encode(f, &v).unwrap();
            let p: Probe = decode(f, &bytes).unwrap();
            assert_eq!(p.key, "K-1");
        }
    }

    #[test]
    fn mime_types_are_recognised() {
        assert_eq!(
            Format::from_mime("application/json; charset=utf-8"),
            Some(Format::Json)
        );
        assert_eq!(
            Format::from_mime("application/x-msgpack"),
            Some(Format::MsgPack)
        );
        assert_eq!(Format::from_mime("text/plain"), None);
    }
}
