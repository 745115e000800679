//! [`crate::store::FileRows`] on the embedded backend.

use async_trait::async_trait;

use super::EmbeddedStore;
use crate::store::FileRows;

#[async_trait]
impl FileRows for EmbeddedStore {}
