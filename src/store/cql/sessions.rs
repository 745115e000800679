//! [`crate::store::SessionRows`] on the CQL backend.

use async_trait::async_trait;

use super::CqlStore;
use crate::store::SessionRows;

#[async_trait]
impl SessionRows for CqlStore {}
