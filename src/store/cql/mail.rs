//! [`crate::store::MailRows`] on the CQL backend.

use async_trait::async_trait;

use super::CqlStore;
use crate::store::MailRows;

#[async_trait]
impl MailRows for CqlStore {}
