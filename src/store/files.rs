//! Uploaded product files as chunked rows, so a download works on every node and backups carry them (issue 12 item 3).

use async_trait::async_trait;

/// Uploaded product files as chunked rows: the part of [`super::Store`] that holds them.
#[async_trait]
pub trait FileRows: Send + Sync {}
