//! "Assign to an email": the customer with that email, or a new account made
//! for it and mailed an invitation to set a password (issue 15 item 7). Used
//! wherever an admin gives a license to someone by email.

use chrono::Utc;

use super::account::{send_password_link, LinkMailer};
use super::customers::{self, NewCustomer};
use super::error::AppError;
use super::links::Purpose;
use crate::crypto::password::PasswordPool;
use crate::domain::customer::normalize_email;
use crate::domain::Customer;

/// Checks an email typed for an assignment (pure; nothing is made), naming `field`.
pub fn check_email(raw: &str, field: &'static str) -> Result<String, AppError> {
    normalize_email(raw).map_err(|e| AppError::field(field, format!("Email {e}.")))
}

/// The customer with `email`, or a new one made now and mailed an invitation;
/// the flag says whether it was made.
pub async fn find_or_invite(
    engine: &crate::engine::Engine,
    passwords: &PasswordPool,
    hooks: &super::webhooks::Webhooks,
    mailer: &LinkMailer<'_>,
    email: &str,
) -> Result<(Customer, bool), AppError> {
    let store = engine.store().as_ref();
    if let Some(c) = store.get_customer_by_email(email).await? {
        return Ok((c, false));
    }
    let n = NewCustomer {
        email: email.to_owned(),
        name: String::new(),
        password: None,
        by: "system (invited when a license was assigned)".into(),
    };
    let c = match customers::create(engine, passwords, hooks, n).await {
        Ok(c) => c,
        // Made by someone else meanwhile: theirs it is.
        Err(AppError::Conflict(_)) => {
            return store
                .get_customer_by_email(email)
                .await?
                .map(|c| (c, false))
                .ok_or_else(|| AppError::Conflict(customers::EMAIL_TAKEN.into()));
        }
        Err(e) => return Err(e),
    };
    send_password_link(mailer, &c, Purpose::Invite, Utc::now()).await?;
    Ok((c, true))
}

/// The customer a typed email names, made and mailed an invitation when new
/// (called once the rest of a form is valid); None when no email was typed.
pub async fn owner_for_email(
    state: &super::AppState,
    customer_email: &str,
) -> Result<Option<uuid::Uuid>, AppError> {
    if customer_email.is_empty() {
        return Ok(None);
    }
    let email = check_email(customer_email, "customer_email")?;
    let mailer = LinkMailer {
        links: &state.services.links,
        outbox: &state.services.outbox,
        base: state.config.public_base(),
    };
    let hooks = &state.services.webhooks;
    let (c, _) = find_or_invite(&state.engine, &state.passwords, hooks, &mailer, &email).await?;
    Ok(Some(c.id))
}

/// [`owner_for_email`] for the job runner (an import's rows name owners).
pub fn owners(state: actix_web::web::Data<super::AppState>) -> super::jobs::planned::Owners {
    std::sync::Arc::new(move |email: String| {
        let state = state.clone();
        Box::pin(async move {
            owner_for_email(&state, &email)
                .await?
                .ok_or_else(|| AppError::field("customer_email", "no email"))
        })
    })
}
