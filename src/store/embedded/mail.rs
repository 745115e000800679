//! [`crate::store::MailRows`] on the embedded backend.

use async_trait::async_trait;

use super::EmbeddedStore;
use crate::store::MailRows;

#[async_trait]
impl MailRows for EmbeddedStore {}
