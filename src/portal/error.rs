//! One table of page errors: each maps to one HTTP answer and a readable page.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use crate::app::error::AppError;
use crate::engine::EngineError;
use crate::error::ApiError;
use crate::store::StoreError;

/// Why a portal page could not be served.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// No (or an expired) session: go to the sign-in page and come back.
    #[error("sign in first")]
    SignIn { login: &'static str, next: String },
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// Was valid once (an expired link).
    #[error("{0}")]
    Gone(String),
    #[error("too many attempts; wait {0} s and try again")]
    RateLimited(u64),
    #[error("the license store is unavailable; try again shortly")]
    Unavailable,
    #[error("something went wrong on our side; the error was logged")]
    Internal(String),
}

impl PageError {
    /// The refusal every write of a read-only admin gets.
    pub fn read_only() -> PageError {
        PageError::Forbidden(
            "Your account is read-only: changing licenses needs the License Management permission."
                .into(),
        )
    }

    /// No session: go to `login`, then back to this page.
    pub fn sign_in(req: &actix_web::HttpRequest, login: &'static str) -> PageError {
        PageError::SignIn {
            login,
            next: match req.query_string() {
                "" => req.path().to_owned(),
                q => format!("{}?{q}", req.path()),
            },
        }
    }

    /// A form without the session's CSRF token.
    pub fn csrf() -> PageError {
        PageError::Forbidden(
            "This form was not sent from a current page of your session (CSRF token missing or wrong). Nothing was changed; reload the page and try again."
                .into(),
        )
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    detail: String,
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::SignIn { .. } => StatusCode::SEE_OTHER,
            PageError::Forbidden(_) => StatusCode::FORBIDDEN,
            PageError::BadRequest(_) => StatusCode::BAD_REQUEST,
            PageError::NotFound(_) => StatusCode::NOT_FOUND,
            PageError::Conflict(_) => StatusCode::CONFLICT,
            PageError::Gone(_) => StatusCode::GONE,
            PageError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            PageError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            PageError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let PageError::SignIn { login, next } = self {
            let to = format!("{login}?next={}", crate::app::format::url_encode(next));
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, to))
                .finish();
        }
        if let PageError::Internal(detail) = self {
            tracing::error!(%detail, "portal page failed");
        }
        let status = self.status_code();
        let title = match self {
            PageError::Forbidden(_) => "Not allowed",
            PageError::BadRequest(_) => "That request could not be used",
            PageError::NotFound(_) => "Not found",
            PageError::Conflict(_) => "Not possible right now",
            PageError::Gone(_) => "Expired",
            PageError::RateLimited(_) => "Slow down",
            PageError::Unavailable => "Store unavailable",
            _ => "Error",
        };
        let body = ErrorPage {
            status: status.as_u16(),
            title,
            detail: self.to_string(),
        }
        .render()
        .unwrap_or_else(|_| self.to_string());
        let mut resp = HttpResponse::build(status);
        resp.content_type("text/html; charset=utf-8");
        if let PageError::RateLimited(secs) = self {
            resp.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        resp.body(body)
    }
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::BadRequest { detail, .. } => PageError::BadRequest(detail),
            ApiError::Unauthorized => PageError::Forbidden(e.to_string()),
            ApiError::Forbidden(m) => PageError::Forbidden(m),
            ApiError::NotFound(m) => PageError::NotFound(m),
            ApiError::InvalidTransition(t) => PageError::Conflict(t.to_string()),
            ApiError::Conflict(m) => PageError::Conflict(m),
            ApiError::KeyReused => PageError::Conflict(e.to_string()),
            ApiError::QuotaExceeded(m) => PageError::Conflict(m),
            ApiError::RateLimited { retry_after_secs } => PageError::RateLimited(retry_after_secs),
            ApiError::StoreUnavailable(_) => PageError::Unavailable,
            ApiError::Internal(m) => PageError::Internal(m),
        }
    }
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        AppError::from(e).into()
    }
}

impl From<EngineError> for PageError {
    fn from(e: EngineError) -> Self {
        AppError::from(e).into()
    }
}

/// Use-case refusals as pages (forms catch `Invalid` first to show each field's message).
impl From<AppError> for PageError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Invalid(_) => PageError::BadRequest(e.to_string()),
            AppError::NotFound(m) => PageError::NotFound(m),
            AppError::Conflict(m) => PageError::Conflict(m),
            AppError::OverQuota(q) => PageError::Conflict(q.to_string()),
            AppError::Transition(t) => PageError::Conflict(t.to_string()),
            AppError::RateLimited(secs) => PageError::RateLimited(secs),
            AppError::Unavailable(_) => PageError::Unavailable,
            AppError::Internal(m) => PageError::Internal(m),
        }
    }
}

impl From<askama::Error> for PageError {
    fn from(e: askama::Error) -> Self {
        PageError::Internal(format!("template: {e}"))
    }
}
