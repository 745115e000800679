//! The outbox (every mail the portals wrote) and customer invitations.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use uuid::Uuid;

use super::{chrome, redirect, render, AdminView, Chrome, ManageForm};
use crate::app::format;
use crate::app::links::Purpose;
use crate::app::AppState;
use crate::portal::customer::password::send_password_link;
use crate::portal::PageError;

/// One mail as the Outbox page lists it (body masked; delivery status in words).
pub struct MailRow {
    pub at: String,
    pub to: String,
    pub subject: String,
    pub kind: String,
    pub body: String,
    pub delivery: String,
}

#[derive(Template)]
#[template(path = "admin/outbox.html")]
struct OutboxPage {
    c: Chrome,
    rows: Vec<MailRow>,
}

pub async fn list(
    AdminView { admin, req, env }: AdminView,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let now = chrono::Utc::now();
    let rows = state
        .services
        .outbox
        .list(200)
        .await?
        .into_iter()
        .map(|m| MailRow {
            at: format::time(m.at),
            delivery: m.shown(now),
            to: m.to,
            subject: m.subject,
            kind: m.kind,
            body: m.body,
        })
        .collect();
    render(
        &req,
        &OutboxPage {
            c: chrome(&req, &admin, "Outbox", "outbox", env),
            rows,
        },
    )
}

/// Mails the customer a single-use link to set their portal password.
pub async fn invite(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    ManageForm { env, .. }: ManageForm,
) -> Result<HttpResponse, PageError> {
    let id: Uuid = path
        .parse()
        .map_err(|_| PageError::NotFound("no such customer".into()))?;
    let c = crate::app::customers::get(state.store(), id).await?;
    let purpose = if c.password_hash.is_some() {
        Purpose::Reset
    } else {
        Purpose::Invite
    };
    send_password_link(&state, &c, purpose).await?;
    Ok(redirect(
        &req,
        &format!("/admin/customers/{id}?env={env}"),
        "ok",
        &format!(
            "{} mailed to {} (see the Outbox).",
            if purpose == Purpose::Invite {
                "Invitation"
            } else {
                "Password reset link"
            },
            c.email
        ),
    ))
}
