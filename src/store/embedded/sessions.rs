//! [`crate::store::SessionRows`] on the embedded backend.

use async_trait::async_trait;

use super::EmbeddedStore;
use crate::store::SessionRows;

#[async_trait]
impl SessionRows for EmbeddedStore {}
