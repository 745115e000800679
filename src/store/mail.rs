//! The outbox as rows, with delivery claimed once across nodes (issue 12 item 3).

use async_trait::async_trait;

/// The outbox as rows: the part of [`super::Store`] that holds them.
#[async_trait]
pub trait MailRows: Send + Sync {}
