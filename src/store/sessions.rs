//! Portal sessions as rows with an expiry, so any node serves any signed-in request (issue 12 item 1).

use async_trait::async_trait;

/// Portal sessions as rows with an expiry: the part of [`super::Store`] that holds them.
#[async_trait]
pub trait SessionRows: Send + Sync {}
