//! Abuse Cases (`templates/admin/abuse.html`): the licenses the abuse rule
//! flagged or suspended, each with its severity and the refused devices, and
//! a review form (confirm, confirm and suspend or revoke, dismiss; a note).

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::{chrome, redirect, render, Admin, AdminView, Chrome, ManageForm};
use crate::app::abuse_cases;
use crate::app::format;
use crate::app::AppState;
use crate::domain::abuse_case::Decision;
use crate::domain::{LicenseKey, LicenseStatus};
use crate::portal::PageError;

/// One case as the page lists it.
pub struct CaseRow {
    pub key: String,
    pub key_q: String,
    pub status: &'static str,
    pub severity: &'static str,
    pub outcome: String,
    pub opened: String,
    pub distinct: usize,
    /// "device (time)", newest last.
    pub events: Vec<String>,
    /// The decisions the license's state allows, as (value, label).
    pub decisions: Vec<(&'static str, &'static str)>,
}

#[derive(Template)]
#[template(path = "admin/abuse.html")]
struct AbusePage {
    c: Chrome,
    rows: Vec<CaseRow>,
    total: usize,
}

/// The decisions offered for a license in `status` (suspending needs an
/// active one; revoking any but a revoked one).
fn decisions(status: LicenseStatus) -> Vec<(&'static str, &'static str)> {
    let mut d = vec![("confirm", "Confirm")];
    if status == LicenseStatus::Active {
        d.push(("confirm_suspend", "Confirm and suspend"));
    }
    if status != LicenseStatus::Revoked {
        d.push(("confirm_revoke", "Confirm and revoke"));
    }
    d.push(("dismiss", "Dismiss"));
    d
}

pub async fn page(
    AdminView { admin, req, env }: AdminView,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let (licenses, total) = abuse_cases::open(&state.engine, env).await?;
    let rows = licenses
        .iter()
        .filter_map(|l| {
            let case = l.abuse_case.as_ref()?;
            Some(CaseRow {
                key: l.key.as_str().into(),
                key_q: format::url_encode(l.key.as_str()),
                status: l.status.as_str(),
                severity: case.severity.as_str(),
                outcome: case.outcome.clone(),
                opened: format::time(case.opened_at),
                distinct: case.distinct,
                events: case
                    .events
                    .iter()
                    .map(|e| format!("{} ({})", e.identifier, format::time(e.at)))
                    .collect(),
                decisions: decisions(l.status),
            })
        })
        .collect();
    render(
        &req,
        &AbusePage {
            c: chrome(&req, &admin, "Abuse Cases", "abuse", env),
            rows,
            total,
        },
    )
}

/// Records a review of the case of the license in the path.
pub async fn review(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    ManageForm { form, env }: ManageForm,
) -> Result<HttpResponse, PageError> {
    let key =
        LicenseKey::parse(&path).map_err(|e| PageError::BadRequest(format!("license key: {e}")))?;
    let decision = Decision::parse(form.get("decision")).ok_or_else(|| {
        PageError::BadRequest(
            "decision must be confirm, confirm_suspend, confirm_revoke or dismiss".into(),
        )
    })?;
    let l = abuse_cases::review(
        &state.engine,
        env,
        &key,
        decision,
        form.get("note"),
        &admin.who(),
    )
    .await?;
    let done = match decision {
        Decision::Dismiss => "dismissed",
        Decision::Confirm(_) => "confirmed",
    };
    let text = format!(
        "Case of {} {done}; the license is {}.",
        l.key.as_str(),
        l.status
    );
    Ok(redirect(
        &req,
        &format!("/admin/abuse?env={env}"),
        "ok",
        &text,
    ))
}
