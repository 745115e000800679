//! Deleting a customer: a confirmation that says what happens to their
//! licenses (they stay, unassigned), then the delete itself.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use uuid::Uuid;

use super::license_actions::ConfirmPage;
use super::{chrome, redirect, render, Admin, AdminView, ManageForm};
use crate::app::customer_admin;
use crate::app::customers;
use crate::app::AppState;
use crate::domain::Environment;
use crate::portal::PageError;

fn id_of(raw: &str) -> Result<Uuid, PageError> {
    raw.parse()
        .map_err(|_| PageError::NotFound("no such customer".into()))
}

/// The confirmation, with how many licenses each environment will see unassigned.
pub async fn confirm(
    AdminView { admin, req, env }: AdminView,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let c = customers::get(state.store(), id_of(&path)?).await?;
    state.engine.catalog().wait_ready().await;
    let mut owned = Vec::new();
    for e in Environment::ALL {
        let st = state
            .engine
            .catalog()
            .stats_off_thread(e, Utc::now())
            .await?;
        owned.push(format!(
            "{} license(s) in {e}",
            st.by_customer.get(&c.id).copied().unwrap_or(0)
        ));
    }
    let consequences = vec![
        format!(
            "Their {} stay as they are (state, devices, expiry) and show as unassigned.",
            owned.join(" and ")
        ),
        format!(
            "{} is signed out everywhere and can no longer sign in.",
            c.email
        ),
        "The email becomes free: a later assignment to it creates a new account.".into(),
        "This cannot be undone; the audit log keeps the record.".into(),
    ];
    let base = format!("/admin/customers/{}", c.id);
    render(
        &req,
        &ConfirmPage {
            c: chrome(&req, &admin, "Confirm", "customers", env),
            heading: format!("Delete customer {} <{}>?", c.label(), c.email),
            consequences,
            button: "Delete customer".into(),
            button_class: "danger",
            action_url: format!("{base}/delete"),
            cancel_url: format!("{base}?env={env}"),
            action: "delete".into(),
            warn: false,
            hidden: Vec::new(),
        },
    )
}

/// Deletes the customer (their licenses unassigned first) and returns to the list.
pub async fn delete(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    ManageForm { env, .. }: ManageForm,
) -> Result<HttpResponse, PageError> {
    let id = id_of(&path)?;
    let c = customers::get(state.store(), id).await?;
    let sessions = &state.services.customer_sessions;
    let n = customer_admin::delete(&state.engine, sessions, id, &admin.who()).await?;
    let text = format!(
        "Customer {} deleted; {n} license(s) are now unassigned.",
        c.email
    );
    Ok(redirect(
        &req,
        &format!("/admin/customers?env={env}"),
        "ok",
        &text,
    ))
}
