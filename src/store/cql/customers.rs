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

#[async_trait::async_trait]
impl crate::store::CustomerRows for CqlStore {
    async fn change_customer_email(
        &self,
        customer: &Customer,
        old_email: &str,
    ) -> Result<(), StoreError> {
        let work = async {
            if self.get_customer_blob(customer.id).await?.is_none() {
                return Err(StoreError::NotFound(format!("no customer {}", customer.id)));
            }
            let r = self
                .execute(
                    &self.global.email_claim,
                    (customer.email.as_str(), customer.id),
                )
                .await?;
            if !applied(r)?
                && self.customer_id_by_email(&customer.email).await? != Some(customer.id)
            {
                return Err(StoreError::email_taken(&customer.email));
            }
            self.write_customer(customer).await?;
            if old_email != customer.email {
                self.exec(&self.global.email_release, (old_email, customer.id))
                    .await?;
            }
            Ok(())
        };
        self.timed("change_customer_email", work).await
    }

    async fn delete_customer(&self, customer: &Customer) -> Result<(), StoreError> {
        let work = async {
            if self.get_customer_blob(customer.id).await?.is_none() {
                return Err(StoreError::NotFound(format!("no customer {}", customer.id)));
            }
            self.exec(&self.global.customer_delete, (customer.id,))
                .await?;
            self.exec(
                &self.global.email_release,
                (customer.email.as_str(), customer.id),
            )
            .await
        };
        self.timed("delete_customer", work).await
    }
}

impl CqlStore {
    /// Whether the customer's record exists (its body, undecoded).
    async fn get_customer_blob(&self, id: Uuid) -> Result<Option<Vec<u8>>, StoreError> {
        let rows = self.rows(&self.global.customer_get, (id,)).await?;
        Ok(rows
            .maybe_first_row::<(Option<Vec<u8>>,)>()
            .map_err(corrupt)?
            .and_then(|r| r.0))
    }
}
