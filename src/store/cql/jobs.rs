//! [`crate::store::JobRows`] on the CQL backend.

use async_trait::async_trait;

use super::CqlStore;
use crate::store::JobRows;

#[async_trait]
impl JobRows for CqlStore {}
