//! Background jobs as rows with a lease, so one node runs a job and another takes it over when that node dies (issue 12 item 2).

use async_trait::async_trait;

/// Background jobs as rows with a lease: the part of [`super::Store`] that holds them.
#[async_trait]
pub trait JobRows: Send + Sync {}
