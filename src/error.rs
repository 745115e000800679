//! One table of request errors: each maps to exactly one HTTP answer, here and nowhere else.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::app::error::AppError;
use crate::domain::TransitionError;
use crate::store::StoreError;

/// Everything a request can fail with, besides a verdict (verdicts are 200 answers).
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{detail}")]
    BadRequest {
        detail: String,
        field: Option<&'static str>,
    },
    #[error("missing or wrong admin API token")]
    Unauthorized,
    /// A valid API key without the right to this route (issue 14 part 2).
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    InvalidTransition(#[from] TransitionError),
    #[error("{0}")]
    Conflict(String),
    /// Past an API key's contract for a product (issue 14 part 3).
    #[error("{0}")]
    QuotaExceeded(String),
    /// An `Idempotency-Key` sent again with another request (issue 14 part 3).
    #[error("this Idempotency-Key was used for another request; use a new key")]
    KeyReused,
    #[error("too many requests; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("the license store is unavailable; retry shortly")]
    StoreUnavailable(#[source] StoreError),
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// A 400 that names the field at fault.
    pub fn field(field: &'static str, detail: impl Into<String>) -> Self {
        ApiError::BadRequest {
            detail: detail.into(),
            field: Some(field),
        }
    }

    /// A 400 about the request as a whole.
    pub fn bad(detail: impl Into<String>) -> Self {
        ApiError::BadRequest {
            detail: detail.into(),
            field: None,
        }
    }

    /// The stable machine code clients switch on.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest { .. } => "BAD_REQUEST",
            ApiError::Unauthorized => "UNAUTHORIZED",
            ApiError::Forbidden(_) => "FORBIDDEN",
            ApiError::NotFound(_) => "NOT_FOUND",
            ApiError::InvalidTransition(_) => "INVALID_TRANSITION",
            ApiError::Conflict(_) => "CONFLICT",
            ApiError::KeyReused => "IDEMPOTENCY_KEY_REUSED",
            ApiError::QuotaExceeded(_) => "QUOTA_EXCEEDED",
            ApiError::RateLimited { .. } => "RATE_LIMITED",
            ApiError::StoreUnavailable(_) => "STORE_UNAVAILABLE",
            ApiError::Internal(_) => "INTERNAL",
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        AppError::from(e).into()
    }
}

/// Use-case refusals as HTTP answers: the one table for the JSON door.
impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Invalid(fields) => match fields.first() {
                Some((field, detail)) => ApiError::field(field, detail),
                None => ApiError::bad("invalid input"),
            },
            AppError::NotFound(m) => ApiError::NotFound(m),
            AppError::Conflict(m) => ApiError::Conflict(m),
            AppError::OverQuota(q) => ApiError::QuotaExceeded(q.to_string()),
            AppError::Transition(t) => ApiError::InvalidTransition(t),
            AppError::RateLimited(retry_after_secs) => ApiError::RateLimited { retry_after_secs },
            AppError::Unavailable(s) => ApiError::StoreUnavailable(s),
            AppError::Internal(m) => ApiError::Internal(m),
        }
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::InvalidTransition(_) | ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::KeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::QuotaExceeded(_) => StatusCode::CONFLICT,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::StoreUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(cause) | ApiError::Conflict(cause) = self {
            tracing::warn!(code = self.code(), cause = %cause, "request failed");
        }
        if let ApiError::StoreUnavailable(cause) = self {
            tracing::warn!(cause = %cause, "store unavailable");
        }
        let field = match self {
            ApiError::BadRequest { field, .. } => *field,
            _ => None,
        };
        let mut resp = HttpResponse::build(self.status_code());
        if let ApiError::RateLimited { retry_after_secs } = self {
            resp.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
        }
        if let ApiError::Unauthorized = self {
            resp.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        resp.json(ErrorBody {
            code: self.code(),
            detail: self.to_string(),
            field,
        })
    }
}

/// Engine refusals as HTTP answers, through the app's table.
impl From<crate::engine::EngineError> for ApiError {
    fn from(e: crate::engine::EngineError) -> Self {
        AppError::from(e).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_has_one_status_and_code() {
        let table = [
            (ApiError::bad("x"), 400, "BAD_REQUEST"),
            (ApiError::Unauthorized, 401, "UNAUTHORIZED"),
            (ApiError::NotFound("x".into()), 404, "NOT_FOUND"),
            (ApiError::Conflict("x".into()), 409, "CONFLICT"),
            (
                ApiError::RateLimited {
                    retry_after_secs: 1,
                },
                429,
                "RATE_LIMITED",
            ),
            (
                ApiError::StoreUnavailable(StoreError::Unavailable("down".into())),
                503,
                "STORE_UNAVAILABLE",
            ),
        ];
        for (err, status, code) in table {
            assert_eq!(err.status_code().as_u16(), status);
            assert_eq!(err.code(), code);
        }
    }

    #[test]
    fn rate_limited_answers_carry_retry_after() {
        let resp = ApiError::RateLimited {
            retry_after_secs: 3,
        }
        .error_response();
        assert_eq!(resp.headers().get("retry-after").unwrap(), "3");
    }
}
