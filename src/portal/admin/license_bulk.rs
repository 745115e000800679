//! Bulk actions on the License Keys page: the rows ticked (`k:<key>`
//! checkboxes) are exported at once, or suspended, revoked or assigned after
//! one confirmation (`templates/admin/bulk_confirm.html`).

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::{chrome, redirect, render, Admin, Chrome, ManageForm};
use crate::app::bulk::{self, BulkAction};
use crate::app::error::AppError;
use crate::app::AppState;
use crate::app::{customer_invites, listing};
use crate::domain::Environment;
use crate::portal::forms::Form;
use crate::portal::PageError;

#[derive(Template)]
#[template(path = "admin/bulk_confirm.html")]
struct BulkConfirm {
    c: Chrome,
    action: String,
    heading: String,
    consequences: Vec<String>,
    button: String,
    customer_email: String,
    keys: Vec<String>,
}

fn keys_of(form: &Form) -> Vec<String> {
    form.suffixes("k:")
}

fn back(env: Environment) -> String {
    format!("/admin/licenses?env={env}")
}

/// Exports the ticked rows, or asks before changing them.
pub async fn start(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    ManageForm { form, env }: ManageForm,
) -> Result<HttpResponse, PageError> {
    let raw = keys_of(&form);
    let keys = match bulk::selection(&raw) {
        Ok(k) => k,
        Err(AppError::Invalid(e)) => {
            return Ok(redirect(&req, &back(env), "error", e.get("keys")));
        }
        Err(e) => return Err(e.into()),
    };
    let action = form.get("bulk_action");
    let email = form.get("customer_email").to_owned();
    let n = keys.len();
    let (heading, consequences, button) = match action {
        "export" => {
            let file = listing::export_selection(&state.engine, env, &keys).await?;
            return Ok(file.into_response());
        }
        "suspend" => (
            format!("Suspend {n} license(s)?"),
            vec![
                "Their devices stop validating until each is unsuspended.".to_owned(),
                "Licenses that cannot be suspended (not active) are skipped and listed.".into(),
            ],
            "Suspend",
        ),
        "revoke" => (
            format!("Revoke {n} license(s)?"),
            vec![
                "Revoking is final: every device is deactivated and the key stops working."
                    .to_owned(),
                "Licenses already revoked are skipped and listed.".into(),
            ],
            "Revoke",
        ),
        "assign" => {
            customer_invites::check_email(&email, "customer_email").map_err(|e| {
                PageError::BadRequest(format!("Assign needs the customer's email: {e}"))
            })?;
            (
                format!("Assign {n} license(s) to {email}?"),
                vec![
                    "Licenses of another customer move to this one (a transfer).".to_owned(),
                    "An email without an account gets one, and an invitation.".into(),
                    "Revoked licenses are skipped and listed.".into(),
                ],
                "Assign",
            )
        }
        other => {
            return Err(PageError::BadRequest(format!(
                "no bulk action “{other}”: choose suspend, revoke, assign or export"
            )))
        }
    };
    let mut shown = raw.clone();
    shown.truncate(bulk::MAX_SELECTED);
    render(
        &req,
        &BulkConfirm {
            c: chrome(&req, &admin, "Confirm", "licenses", env),
            action: action.to_owned(),
            heading,
            consequences,
            button: button.to_owned(),
            customer_email: email,
            keys: shown,
        },
    )
}

/// Does the confirmed action to each ticked license and says what happened.
pub async fn apply(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    ManageForm { form, env }: ManageForm,
) -> Result<HttpResponse, PageError> {
    let keys = bulk::selection(&keys_of(&form))?;
    let action = action_of(&state, &form).await?;
    let out = bulk::run(&state.engine, env, &keys, action, &admin.who()).await?;
    let mut text = format!("{} license(s) {}.", out.done, action.done_word());
    if !out.skipped.is_empty() {
        let why: Vec<String> = out
            .skipped
            .iter()
            .take(10)
            .map(|(k, e)| format!("{k} ({e})"))
            .collect();
        text.push_str(&format!(
            " {} skipped: {}",
            out.skipped.len(),
            why.join("; ")
        ));
        if out.skipped.len() > 10 {
            text.push_str(" …");
        }
    }
    let kind = if out.skipped.is_empty() { "ok" } else { "warn" };
    Ok(redirect(&req, &back(env), kind, &text))
}

/// The action a bulk form asks for; "assign" finds (or invites) the customer
/// whose email the form carries.
pub(super) async fn action_of(state: &AppState, form: &Form) -> Result<BulkAction, PageError> {
    Ok(match form.get("bulk_action") {
        "suspend" => BulkAction::Suspend,
        "revoke" => BulkAction::Revoke,
        "assign" => {
            let email = form.get("customer_email");
            let id = super::license_fields::customer_for_email(state, email)
                .await?
                .ok_or_else(|| PageError::BadRequest("Assign needs the customer's email".into()))?;
            BulkAction::Assign(id)
        }
        other => {
            return Err(PageError::BadRequest(format!(
                "no bulk action “{other}”: choose suspend, revoke or assign"
            )))
        }
    })
}
