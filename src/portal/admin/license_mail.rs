//! "Resend key" on the License Preview: the key mailed to the license's
//! customer again (audited as `license.key_mailed`).

use actix_web::{web, HttpRequest, HttpResponse};

use super::{redirect, Admin, ManageForm};
use crate::app::format;
use crate::app::AppState;
use crate::portal::PageError;

/// Mails the key to the license's customer again ("Resend key").
pub async fn resend_key(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    ManageForm { env, .. }: ManageForm,
) -> Result<HttpResponse, PageError> {
    let key = super::license_edit::key_of(&path)?;
    let l = crate::app::licenses::get(&state.engine, env, &key).await?;
    let to = crate::app::key_mail::send(
        &state.engine,
        &state.services.outbox,
        state.config.public_base(),
        env,
        &l,
        crate::app::key_mail::Why::Resent,
        &admin.who(),
    )
    .await?
    .ok_or_else(|| PageError::Conflict("This license has no customer to mail.".into()))?;
    Ok(redirect(
        &req,
        &format!(
            "/admin/licenses/{}?env={env}",
            format::url_encode(l.key.as_str())
        ),
        "ok",
        &format!("The key was mailed to {to} again."),
    ))
}
