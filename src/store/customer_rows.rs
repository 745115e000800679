//! The part of [`super::Store`] that changes a customer's email or removes the
//! account: both keep the email index (unique emails, sign-in by email) right.

use async_trait::async_trait;

use super::StoreError;
use crate::domain::Customer;

/// Customer writes beyond insert and update.
#[async_trait]
pub trait CustomerRows: Send + Sync {
    /// Writes `customer` (whose email is new) and moves the email index from
    /// `old_email` to the new one; a new email another account holds is a
    /// `Conflict` and changes nothing; an unknown customer is `NotFound`.
    async fn change_customer_email(
        &self,
        customer: &Customer,
        old_email: &str,
    ) -> Result<(), StoreError>;
    /// Removes the account and its email (the email can sign up again).
    /// Licenses are the caller's: unassign them first.
    async fn delete_customer(&self, customer: &Customer) -> Result<(), StoreError>;
}
