//! Reading a multipart form with one file (the logo, a CSV import): the role
//! and the CSRF field (sent before the file) are checked before a byte of the
//! file is read, and at most `cap` bytes of it are read; small fields are
//! capped too, and so is their number.

use std::collections::HashMap;

use futures_util::StreamExt;

use super::Admin;
use crate::portal::forms::Form;
use crate::portal::PageError;

/// Fields a form with one file may send (csrf, env, the file…), with room to spare.
const MAX_FIELDS: usize = 8;
/// Longest small field.
const MAX_FIELD_BYTES: usize = 512;

/// The file of an upload.
pub struct UploadedFile {
    pub filename: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// What a form with one file sent.
pub struct Upload {
    /// The small fields (csrf, env…).
    pub fields: HashMap<String, String>,
    /// None when the field was missing or empty.
    pub file: Option<UploadedFile>,
}

/// Why an upload was not read.
pub enum UploadError {
    /// The file is larger than the cap (nothing past it was read); the small
    /// fields read before it (csrf, env…).
    TooBig(HashMap<String, String>),
    Refused(PageError),
}

impl From<PageError> for UploadError {
    fn from(e: PageError) -> Self {
        UploadError::Refused(e)
    }
}

/// Reads the form; `file_field` names the file, which must come after `csrf`.
pub async fn read(
    admin: &Admin,
    mut payload: actix_multipart::Multipart,
    file_field: &str,
    cap: usize,
) -> Result<Upload, UploadError> {
    if !admin.user.role.can_manage() {
        return Err(PageError::read_only().into());
    }
    let bad = |m: String| UploadError::Refused(PageError::BadRequest(m));
    let mut fields = HashMap::new();
    let mut file = None;
    let mut count = 0;
    while let Some(item) = payload.next().await {
        count += 1;
        if count > MAX_FIELDS {
            return Err(bad("too many form fields".into()));
        }
        let mut field = item.map_err(|e| bad(format!("could not read the upload: {e}")))?;
        let name = field.name().unwrap_or("").to_owned();
        let is_file = name == file_field;
        if is_file {
            let csrf = fields.get("csrf").cloned().unwrap_or_default();
            admin.check_manage(&Form::from_pairs(vec![("csrf".into(), csrf)]))?;
        }
        let limit = if is_file { cap } else { MAX_FIELD_BYTES };
        let mut buf = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|e| bad(format!("could not read the upload: {e}")))?;
            if buf.len() + chunk.len() > limit {
                return Err(if is_file {
                    UploadError::TooBig(fields)
                } else {
                    bad(format!("the field {name} is too long"))
                });
            }
            buf.extend_from_slice(&chunk);
        }
        if is_file {
            let content_type = field
                .content_type()
                .map(|m| m.essence_str().to_owned())
                .unwrap_or_default();
            let filename = field
                .content_disposition()
                .and_then(|d| d.get_filename())
                .unwrap_or("")
                .to_owned();
            file = (!buf.is_empty()).then_some(UploadedFile {
                filename,
                content_type,
                bytes: buf,
            });
        } else {
            let text = String::from_utf8_lossy(&buf).trim().to_owned();
            fields.insert(name, text);
        }
    }
    // A form without its file must still carry a valid token.
    let csrf = fields.get("csrf").cloned().unwrap_or_default();
    admin.check_manage(&Form::from_pairs(vec![("csrf".into(), csrf)]))?;
    Ok(Upload { fields, file })
}
