//! Settings → Branding: the vendor's name, accent colour and support contact
//! (a form), and the logo (a small multipart upload, or removal). Both
//! portals' headers and titles and every mail use them; `/branding/logo`
//! serves the logo to the pages, signed in or not.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use super::upload::{self, UploadError};
use super::{redirect, Admin, ManageForm};
use crate::app::error::AppError;
use crate::app::AppState;
use crate::domain::branding::{Branding, Logo, LOGO_TYPES, MAX_LOGO_BYTES};
use crate::portal::PageError;

fn back(req: &HttpRequest, kind: &str, text: &str) -> HttpResponse {
    redirect(req, "/admin/settings?env=production#branding", kind, text)
}

/// A refusal shown as the page's message (the Settings page is a redirect away).
fn refused(req: &HttpRequest, e: AppError) -> Result<HttpResponse, PageError> {
    match e {
        AppError::Invalid(errors) => {
            let text = errors.messages().into_iter().collect::<Vec<_>>().join(" ");
            Ok(back(req, "error", &format!("Branding not saved: {text}")))
        }
        other => Err(other.into()),
    }
}

/// Saves the name, accent colour and support contact.
pub async fn save(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    ManageForm { form, .. }: ManageForm,
) -> Result<HttpResponse, PageError> {
    let texts = Branding {
        name: form.get("brand_name").into(),
        accent: form.get("accent").into(),
        support_email: form.get("support_email").into(),
        support_url: form.get("support_url").into(),
        logo: None,
    };
    let cell = &state.services.branding;
    match cell.save_texts(state.store(), texts, &admin.who()).await {
        Ok(_) => Ok(back(&req, "ok", "Branding saved.")),
        Err(e) => refused(&req, e),
    }
}

/// Removes the logo.
pub async fn remove_logo(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    _: ManageForm,
) -> Result<HttpResponse, PageError> {
    let cell = &state.services.branding;
    cell.save_logo(state.store(), None, &admin.who()).await?;
    Ok(back(&req, "ok", "Logo removed."))
}

/// Uploads the logo: the role and the CSRF field (sent before the file) are
/// checked before a byte of the file is read, and at most 200 KB are read.
pub async fn upload_logo(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: actix_multipart::Multipart,
) -> Result<HttpResponse, PageError> {
    let file = match upload::read(&admin, payload, "logo", MAX_LOGO_BYTES).await {
        Ok(u) => u.file,
        Err(UploadError::TooBig(_)) => {
            return Ok(back(
                &req,
                "error",
                "Branding not saved: Logo must be at most 200 KB.",
            ))
        }
        Err(UploadError::Refused(e)) => return Err(e),
    };
    let Some(file) = file else {
        return Ok(back(
            &req,
            "error",
            "Branding not saved: choose a logo file.",
        ));
    };
    let logo = Logo {
        content_type: file.content_type,
        bytes: file.bytes,
    };
    let cell = &state.services.branding;
    match cell
        .save_logo(state.store(), Some(logo), &admin.who())
        .await
    {
        Ok(_) => Ok(back(&req, "ok", "Logo saved.")),
        Err(e) => refused(&req, e),
    }
}

/// The logo (404 without one). Its URL carries a version, so it may be kept long;
/// an SVG cannot run script (sandboxed, and pages show it in an `<img>`).
pub async fn logo(state: web::Data<AppState>) -> HttpResponse {
    let b = state.services.branding.get();
    match &b.logo {
        Some(l) if LOGO_TYPES.contains(&l.content_type.as_str()) => HttpResponse::Ok()
            .content_type(l.content_type.clone())
            .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
            .insert_header((
                "Content-Security-Policy",
                "default-src 'none'; style-src 'unsafe-inline'; sandbox",
            ))
            .body(l.bytes.clone()),
        _ => HttpResponse::NotFound().finish(),
    }
}
