//! [`crate::store::JobRows`] on the embedded backend.

use async_trait::async_trait;

use super::EmbeddedStore;
use crate::store::JobRows;

#[async_trait]
impl JobRows for EmbeddedStore {}
