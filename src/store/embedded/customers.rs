//! Customers of the embedded store, in the global file: the record by id plus an
//! email index that makes a taken email a conflict and sign-in a point read.

use redb::{Database, ReadableTable, WriteTransaction};

use super::tables::{encode, get_one, unavailable, CUSTOMERS, CUSTOMERS_BY_EMAIL};
use crate::domain::Customer;
use crate::store::StoreError;

/// Claims the email and writes the record, or refuses a taken email.
pub(super) fn insert(txn: &WriteTransaction, c: &Customer) -> Result<(), StoreError> {
    let bytes = encode(c)?;
    let id = c.id.to_string();
    let mut by_email = txn.open_table(CUSTOMERS_BY_EMAIL).map_err(unavailable)?;
    if by_email
        .get(c.email.as_str())
        .map_err(unavailable)?
        .is_some()
    {
        return Err(StoreError::email_taken(&c.email));
    }
    by_email
        .insert(c.email.as_str(), id.as_str())
        .map_err(unavailable)?;
    let mut t = txn.open_table(CUSTOMERS).map_err(unavailable)?;
    t.insert(id.as_str(), bytes.as_slice())
        .map_err(unavailable)?;
    Ok(())
}

/// Replaces an existing customer's record (the email index stays as it is).
pub(super) fn update(txn: &WriteTransaction, c: &Customer) -> Result<(), StoreError> {
    let bytes = encode(c)?;
    let id = c.id.to_string();
    let mut t = txn.open_table(CUSTOMERS).map_err(unavailable)?;
    if t.get(id.as_str()).map_err(unavailable)?.is_none() {
        return Err(StoreError::NotFound(format!("no customer {id}")));
    }
    t.insert(id.as_str(), bytes.as_slice())
        .map_err(unavailable)?;
    Ok(())
}

/// The customer whose email this is, through the index.
pub(super) fn by_email(db: &Database, email: &str) -> Result<Option<Customer>, StoreError> {
    let id = {
        let txn = db.begin_read().map_err(unavailable)?;
        let t = txn.open_table(CUSTOMERS_BY_EMAIL).map_err(unavailable)?;
        let v = t.get(email).map_err(unavailable)?;
        v.map(|g| g.value().to_owned())
    };
    match id {
        Some(id) => get_one(db, CUSTOMERS, &id),
        None => Ok(None),
    }
}

/// Writes the record under its new email and moves the index, in one transaction.
pub(super) fn change_email(
    txn: &WriteTransaction,
    c: &Customer,
    old_email: &str,
) -> Result<(), StoreError> {
    let id = c.id.to_string();
    let mut by_email = txn.open_table(CUSTOMERS_BY_EMAIL).map_err(unavailable)?;
    let holder = by_email
        .get(c.email.as_str())
        .map_err(unavailable)?
        .map(|g| g.value().to_owned());
    if holder.is_some_and(|h| h != id) {
        return Err(StoreError::email_taken(&c.email));
    }
    update(txn, c)?;
    let held_old = by_email
        .get(old_email)
        .map_err(unavailable)?
        .is_some_and(|g| g.value() == id);
    if held_old && old_email != c.email {
        by_email.remove(old_email).map_err(unavailable)?;
    }
    by_email
        .insert(c.email.as_str(), id.as_str())
        .map_err(unavailable)?;
    Ok(())
}

/// Removes the record and, when it still points at this customer, the email.
pub(super) fn delete(txn: &WriteTransaction, c: &Customer) -> Result<(), StoreError> {
    let id = c.id.to_string();
    let mut by_email = txn.open_table(CUSTOMERS_BY_EMAIL).map_err(unavailable)?;
    let ours = by_email
        .get(c.email.as_str())
        .map_err(unavailable)?
        .is_some_and(|g| g.value() == id);
    if ours {
        by_email.remove(c.email.as_str()).map_err(unavailable)?;
    }
    let mut t = txn.open_table(CUSTOMERS).map_err(unavailable)?;
    if t.remove(id.as_str()).map_err(unavailable)?.is_none() {
        return Err(StoreError::NotFound(format!("no customer {id}")));
    }
    Ok(())
}

#[async_trait::async_trait]
impl crate::store::CustomerRows for super::EmbeddedStore {
    async fn change_customer_email(
        &self,
        customer: &Customer,
        old_email: &str,
    ) -> Result<(), StoreError> {
        let (c, old) = (customer.clone(), old_email.to_owned());
        self.write("change_customer_email", self.global_writer(), move |txn| {
            change_email(txn, &c, &old)
        })
        .await
    }

    async fn delete_customer(&self, customer: &Customer) -> Result<(), StoreError> {
        let c = customer.clone();
        self.write("delete_customer", self.global_writer(), move |txn| {
            delete(txn, &c)
        })
        .await
    }
}
