//! Customers on CQL (global keyspace): the email is claimed first with a
//! lightweight transaction, so a taken email is a conflict on every node.

use uuid::Uuid;

use super::rows::{applied, encode};
use super::{corrupt, CqlStore};
use crate::domain::Customer;
use crate::store::StoreError;

impl CqlStore {
    /// Claims the email, then writes the record.
    pub(super) async fn add_customer(&self, customer: &Customer) -> Result<(), StoreError> {
        let r = self
            .execute(
                &self.global.email_claim,
                (customer.email.as_str(), customer.id),
            )
            .await?;
        if !applied(r)? {
            return Err(StoreError::email_taken(&customer.email));
        }
        self.write_customer(customer).await
    }

    /// Writes the customer's record (the email index is not touched).
    pub(super) async fn write_customer(&self, customer: &Customer) -> Result<(), StoreError> {
        self.exec(
            &self.global.customer_insert,
            (customer.id, encode(customer)?),
        )
        .await?;
        Ok(())
    }

    /// The id the email index holds for `email`.
    pub(super) async fn customer_id_by_email(
        &self,
        email: &str,
    ) -> Result<Option<Uuid>, StoreError> {
        let rows = self.rows(&self.global.email_get, (email,)).await?;
        Ok(rows
            .maybe_first_row::<(Option<Uuid>,)>()
            .map_err(corrupt)?
            .and_then(|r| r.0))
    }
}
