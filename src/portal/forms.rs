//! Form posts: read with a size limit, decoded, and checked for the session's
//! CSRF token before anything else looks at them.

use std::collections::HashMap;

use actix_web::{web, HttpRequest};
use futures_util::StreamExt;

use super::PageError;

/// Largest form body accepted (metadata may be 10 KB; a little room around it).
pub const MAX_FORM_BYTES: usize = 64 * 1024;
/// Most fields a form may carry (the largest form, bulk actions, has far fewer).
pub const MAX_FORM_FIELDS: usize = 256;

/// A decoded `application/x-www-form-urlencoded` body.
#[derive(Debug, Default, Clone)]
pub struct Form(HashMap<String, String>);

impl Form {
    /// The field's value, trimmed; empty when absent.
    pub fn get(&self, name: &str) -> &str {
        self.0.get(name).map(|s| s.trim()).unwrap_or("")
    }

    /// The field's value exactly as sent (passwords).
    pub fn raw(&self, name: &str) -> &str {
        self.0.get(name).map(String::as_str).unwrap_or("")
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// The rest of each field name that starts with `prefix` (checkbox lists
    /// like `k:<key>`), sorted.
    pub fn suffixes(&self, prefix: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .0
            .keys()
            .filter_map(|k| k.strip_prefix(prefix).map(str::to_owned))
            .collect();
        v.sort();
        v
    }

    pub fn from_pairs(pairs: Vec<(String, String)>) -> Form {
        Form(pairs.into_iter().collect())
    }
}

/// Reads a form body; anything else, or too much of it, is a clear 400.
pub async fn read(req: &HttpRequest, mut payload: web::Payload) -> Result<Form, PageError> {
    let ct = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("application/x-www-form-urlencoded") {
        return Err(PageError::BadRequest(
            "forms must be sent as application/x-www-form-urlencoded".into(),
        ));
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| PageError::BadRequest(format!("could not read the form: {e}")))?;
        if body.len() + chunk.len() > MAX_FORM_BYTES {
            return Err(PageError::BadRequest(format!(
                "the form is larger than {} KiB",
                MAX_FORM_BYTES / 1024
            )));
        }
        body.extend_from_slice(&chunk);
    }
    let pairs = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
        .map_err(|e| PageError::BadRequest(format!("the form could not be decoded: {e}")))?;
    if pairs.len() > MAX_FORM_FIELDS {
        return Err(PageError::BadRequest(format!(
            "the form has more than {MAX_FORM_FIELDS} fields"
        )));
    }
    Ok(Form::from_pairs(pairs))
}

/// Field-level validation messages (the app's type: the use-cases fill it).
pub use crate::app::error::FieldErrors;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_trimmed_and_missing_ones_empty() {
        let f = Form::from_pairs(vec![("a".into(), "  x ".into())]);
        assert_eq!(f.get("a"), "x");
        assert_eq!(f.raw("a"), "  x ");
        assert_eq!(f.get("b"), "");
        assert!(f.has("a") && !f.has("b"));
    }
}
