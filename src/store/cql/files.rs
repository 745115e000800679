//! [`crate::store::FileRows`] on the CQL backend.

use async_trait::async_trait;

use super::CqlStore;
use crate::store::FileRows;

#[async_trait]
impl FileRows for CqlStore {}
