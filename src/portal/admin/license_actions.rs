//! Confirm (`templates/admin/confirm.html`): the confirmation dialog of a
//! license's state changes and delete, carrying them out, and freeing a device.
//! Every change is a message to the license's actor, through `app::licenses`.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::license_edit::key_of;
use super::license_preview::load;
use super::{chrome, redirect, render, Admin, AdminView, Chrome, ManageForm};
use crate::app::error::AppError;
use crate::app::{format, licenses, AppState};
use crate::domain::{admin_actions_for, Action, Identifier, License, LicenseStatus};
use crate::portal::page::query_param;
use crate::portal::PageError;

/// What one confirmed action does, in plain words. `{n}` in a line is the
/// license's number of active devices.
struct Consequences {
    /// The heading's verb: "Suspend license KEY?".
    verb: &'static str,
    lines: &'static [&'static str],
    /// Shown first when the license was ever activated.
    if_ever_activated: Option<&'static str>,
    button: &'static str,
    button_class: &'static str,
}

const SUSPEND: Consequences = Consequences {
    verb: "Suspend",
    lines: &[
        "Status changes from active to suspended.",
        "Every validation and activation answers SUSPENDED at once.",
        "The {n} activated device(s) stay recorded and work again after Unsuspend.",
    ],
    if_ever_activated: None,
    button: "Suspend license",
    button_class: "danger",
};

const UNSUSPEND: Consequences = Consequences {
    verb: "Unsuspend",
    lines: &[
        "Status changes from suspended back to active.",
        "Its devices validate again at once; new activations work within the limit.",
    ],
    if_ever_activated: None,
    button: "Unsuspend license",
    button_class: "primary",
};

const INACTIVATE: Consequences = Consequences {
    verb: "Inactivate",
    lines: &[
        "Status changes from active to inactive (a temporary pause).",
        "All activation attempts fail immediately; the customer gets “License Inactive”.",
        "Existing activations remain recorded but blocked.",
        "Can be reversed with Reactivate.",
    ],
    if_ever_activated: None,
    button: "Inactivate license",
    button_class: "danger",
};

const REACTIVATE: Consequences = Consequences {
    verb: "Reactivate",
    lines: &[
        "Status changes from inactive back to active.",
        "Activation attempts succeed again (within limits); the event is logged in the audit trail.",
    ],
    if_ever_activated: None,
    button: "Reactivate license",
    button_class: "primary",
};

const REVOKE: Consequences = Consequences {
    verb: "Revoke",
    lines: &[
        "Revocation is permanent: it cannot be undone.",
        "All {n} active activation(s) are deactivated immediately.",
        "Every validation answers “License Revoked” from now on.",
        "If you need reversibility, use Inactivate instead.",
    ],
    if_ever_activated: None,
    button: "Revoke permanently",
    button_class: "danger",
};

const DELETE: Consequences = Consequences {
    verb: "Delete",
    lines: &[
        "The license is permanently deleted and cannot be recovered.",
        "All its activation history is removed.",
        "An audit trail entry is kept for compliance.",
    ],
    if_ever_activated: Some(
        "⚠ This license was activated before. Deleting it erases that history: Revoke is recommended instead.",
    ),
    button: "Delete permanently",
    button_class: "danger",
};

/// The dialog of each action (anything else is a delete).
const CONSEQUENCES: [(&str, &Consequences); 6] = [
    ("suspend", &SUSPEND),
    ("unsuspend", &UNSUSPEND),
    ("inactivate", &INACTIVATE),
    ("reactivate", &REACTIVATE),
    ("revoke", &REVOKE),
    ("delete", &DELETE),
];

/// What a confirmed action will do, in plain words: heading, lines, button and its class.
fn consequences(action: &str, l: &License) -> (String, Vec<String>, String, &'static str) {
    let t = CONSEQUENCES
        .iter()
        .find(|(a, _)| *a == action)
        .map_or(&DELETE, |(_, t)| *t);
    let n = l.active_count().to_string();
    let warning = t.if_ever_activated.filter(|_| l.ever_activated);
    let lines = warning
        .into_iter()
        .chain(t.lines.iter().copied())
        .map(|s| s.replace("{n}", &n))
        .collect();
    (
        format!("{} license {}?", t.verb, l.key.as_str()),
        lines,
        t.button.into(),
        t.button_class,
    )
}

/// The confirmation dialog every admin page that asks first renders.
#[derive(Template)]
#[template(path = "admin/confirm.html")]
pub(super) struct ConfirmPage {
    pub c: Chrome,
    pub heading: String,
    pub consequences: Vec<String>,
    pub button: String,
    pub button_class: &'static str,
    pub action_url: String,
    pub cancel_url: String,
    pub action: String,
    pub warn: bool,
    /// Extra fields the confirming form posts (the device and where to return).
    pub hidden: Vec<(&'static str, String)>,
}

/// Whether `action` may be taken on a license in `status` (delete always may).
fn offered(action: &str, status: LicenseStatus) -> bool {
    action == "delete" || admin_actions_for(status).iter().any(|(a, _)| *a == action)
}

fn not_offered(action: &str, status: LicenseStatus) -> PageError {
    PageError::Conflict(format!(
        "“{action}” is not possible for a license that is {status}: the state machine does not allow it."
    ))
}

/// The confirmation dialog of a state action or delete (only those the license's state allows).
pub async fn confirm(
    AdminView { admin, req, env }: AdminView,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let (raw, action) = path.into_inner();
    if action != "delete" && Action::parse_admin(&action).is_none() {
        return Err(PageError::NotFound(format!("no action “{action}”")));
    }
    let l = load(&state, env, &raw).await?;
    if !offered(&action, l.status) {
        return Err(not_offered(&action, l.status));
    }
    let (heading, consequences, button, button_class) = consequences(&action, &l);
    let key_q = format::url_encode(l.key.as_str());
    render(
        &req,
        &ConfirmPage {
            c: chrome(&req, &admin, "Confirm", "licenses", env),
            heading,
            warn: action == "delete" && l.ever_activated,
            consequences,
            button,
            button_class,
            action_url: format!("/admin/licenses/{key_q}/do/{action}"),
            cancel_url: format!("/admin/licenses/{key_q}?env={env}"),
            action,
            hidden: Vec::new(),
        },
    )
}

/// The page that asks before a device is deactivated (issue 15 item 22).
pub async fn confirm_deactivate(
    AdminView { admin, req, env }: AdminView,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let l = load(&state, env, &path).await?;
    let raw = query_param(&req, "identifier");
    let identifier = Identifier::existing(&raw)
        .map_err(|e| PageError::BadRequest(format!("device identifier: {e}")))?;
    if l.find_active(&identifier).is_none() {
        return Err(PageError::Conflict(format!(
            "Device {} is not active on this license.",
            identifier.as_str()
        )));
    }
    let key_q = format::url_encode(l.key.as_str());
    let back = query_param(&req, "return");
    let cancel_url = if back.starts_with("/admin") && !back.starts_with("//") {
        back.clone()
    } else {
        format!("/admin/licenses/{key_q}?env={env}")
    };
    let shown = identifier.shown();
    render(
        &req,
        &ConfirmPage {
            c: chrome(&req, &admin, "Confirm", "licenses", env),
            heading: format!("Deactivate device {shown}?"),
            warn: false,
            consequences: vec![
                format!(
                    "Its slot on {} is freed at once ({} in use now).",
                    format::mask_key(l.key.as_str()),
                    format::activations(l.active_count() as u32, l.activation_limit.get())
                ),
                "The software on that device is told NOT_ACTIVATED at its next check and stops working there.".into(),
                "To use it again, activate it from the software (a slot must be free).".into(),
            ],
            button: "Deactivate device".into(),
            button_class: "danger",
            action_url: format!("/admin/licenses/{key_q}/deactivate"),
            cancel_url,
            action: "deactivate".into(),
            hidden: vec![("identifier", identifier.as_str().to_owned()), ("return", back)],
        },
    )
}

/// Carries out a confirmed action or delete.
pub async fn perform(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    ManageForm { env, .. }: ManageForm,
) -> Result<HttpResponse, PageError> {
    let (raw, action) = path.into_inner();
    let key = key_of(&raw)?;
    let who = admin.who();
    if action == "delete" {
        licenses::delete(&state.engine, env, &key, &who).await?;
        return Ok(redirect(
            &req,
            &format!("/admin/licenses?env={env}"),
            "ok",
            &format!("License {} deleted.", key.as_str()),
        ));
    }
    let a = Action::parse_admin(&action)
        .ok_or_else(|| PageError::NotFound(format!("no action “{action}”")))?;
    // The actor refuses illegal transitions too; this gives the page's wording.
    let l = licenses::act(&state.engine, env, &key, a, &who)
        .await
        .map_err(|e| match e {
            AppError::Transition(t) => PageError::Conflict(format!(
                "“{action}” is not possible: {t}. Nothing was changed."
            )),
            other => other.into(),
        })?;
    Ok(redirect(
        &req,
        &format!(
            "/admin/licenses/{}?env={env}",
            format::url_encode(key.as_str())
        ),
        "ok",
        &format!("License {} is now {}.", key.as_str(), l.status),
    ))
}

/// Frees a device's slot (from the preview, the Activations page or a customer's page).
pub async fn deactivate(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    ManageForm { form, env }: ManageForm,
) -> Result<HttpResponse, PageError> {
    let key = key_of(&path)?;
    let identifier = Identifier::existing(form.get("identifier"))
        .map_err(|e| PageError::BadRequest(format!("device identifier: {e}")))?;
    let l =
        licenses::deactivate(&state.engine, env, &key, identifier.clone(), &admin.who()).await?;
    let back = form.get("return");
    let to = if back.starts_with("/admin") && !back.starts_with("//") {
        back.to_owned()
    } else {
        format!(
            "/admin/licenses/{}?env={env}",
            format::url_encode(key.as_str())
        )
    };
    Ok(redirect(
        &req,
        &to,
        "ok",
        &format!(
            "Device {} deactivated on {}: its slot is free ({} in use).",
            identifier.as_str(),
            key.as_str(),
            format::activations(l.active_count() as u32, l.activation_limit.get())
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::license::fixtures;

    /// The domain's test license, active, with `devices` devices and no owner.
    fn license(ever_activated: bool, devices: usize) -> License {
        let ids: Vec<String> = (0..devices).map(|i| format!("dev-{i}")).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let mut l = fixtures::license(LicenseStatus::Active, 5, &ids);
        l.customer_id = None;
        l.ever_activated = ever_activated;
        l
    }

    #[test]
    fn every_action_has_its_dialog_and_anything_else_is_a_delete() {
        let l = license(false, 0);
        let table = [
            ("suspend", "Suspend license", "danger"),
            ("unsuspend", "Unsuspend license", "primary"),
            ("inactivate", "Inactivate license", "danger"),
            ("reactivate", "Reactivate license", "primary"),
            ("revoke", "Revoke permanently", "danger"),
            ("delete", "Delete permanently", "danger"),
            ("anything", "Delete permanently", "danger"),
        ];
        for (action, button, class) in table {
            let (_, _, b, c) = consequences(action, &l);
            assert_eq!((b.as_str(), c), (button, class), "{action}");
        }
    }

    #[test]
    fn lines_name_the_devices_and_a_used_license_warns_before_delete() {
        let used = license(true, 2);
        let (heading, lines, _, _) = consequences("revoke", &used);
        assert_eq!(heading, "Revoke license TEST-KEY-0001?");
        assert_eq!(
            lines[1],
            "All 2 active activation(s) are deactivated immediately."
        );
        let (heading, lines, _, _) = consequences("delete", &used);
        assert_eq!(heading, "Delete license TEST-KEY-0001?");
        assert_eq!(lines.len(), 4);
        assert!(lines[0].starts_with("⚠ This license was activated before."));
        let (_, lines, _, _) = consequences("delete", &license(false, 0));
        assert_eq!(
            lines[0],
            "The license is permanently deleted and cannot be recovered."
        );
    }
}
