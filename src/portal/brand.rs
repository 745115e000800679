//! The branding of a page's header and title (Settings → Branding).

use actix_web::HttpRequest;

/// The vendor's branding as a page shows it: name (or `fallback`), logo
/// URL, accent colour and support contact.
pub struct Brand {
    pub name: String,
    /// `/branding/logo?v=…`, or empty without a logo.
    pub logo: String,
    /// `#rrggbb`, or empty for the default.
    pub accent: String,
    pub support_email: String,
    pub support_url: String,
}

impl Brand {
    /// The branding of the app serving `req`.
    pub fn of(req: &HttpRequest, fallback: &str) -> Brand {
        let b = req
            .app_data::<actix_web::web::Data<crate::app::AppState>>()
            .map(|s| s.services.branding.get())
            .unwrap_or_default();
        Brand {
            name: b.name_or(fallback).to_owned(),
            logo: b
                .logo_version()
                .map(|v| format!("/branding/logo?v={v}"))
                .unwrap_or_default(),
            accent: b.accent.to_lowercase(),
            support_email: b.support_email.clone(),
            support_url: b.support_url.clone(),
        }
    }
}
