//! `ApiError`: every error the API answers with, each with a stable code and HTTP status.
//! Internal details are logged, never sent to the client.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use firebreak_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("authentication required: send `Authorization: Bearer <token>`")]
    Unauthenticated,
    #[error("the token is not valid (unknown, expired or revoked)")]
    BadToken,
    #[error("this needs the `{needed}` role; your token has `{held}`")]
    Forbidden { needed: &'static str, held: &'static str },
    #[error("{0}")]
    ForbiddenBecause(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error("the request body is larger than the limit of {limit} bytes")]
    TooLarge { limit: usize },
    #[error("{0}")]
    Unavailable(String),
    #[error(
        "the store is {backlog} events behind the events already accepted (the limit is {limit}): send these again shortly"
    )]
    Backlogged { backlog: u64, limit: u64 },
    #[error("internal error")]
    Internal(String),
}

/// The error body: `{"error": {"code": "…", "message": "…"}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, for programs: `unauthenticated`, `invalid_token`, `forbidden`, `not_found`,
    /// `conflict`, `invalid_request`, `payload_too_large`, `unavailable`, `internal`.
    pub code: &'static str,
    /// For people.
    pub message: String,
}

impl ApiError {
    pub fn code(&self) -> (&'static str, StatusCode) {
        match self {
            ApiError::Unauthenticated => ("unauthenticated", StatusCode::UNAUTHORIZED),
            ApiError::BadToken => ("invalid_token", StatusCode::UNAUTHORIZED),
            ApiError::Forbidden { .. } | ApiError::ForbiddenBecause(_) => {
                ("forbidden", StatusCode::FORBIDDEN)
            }
            ApiError::NotFound(_) => ("not_found", StatusCode::NOT_FOUND),
            ApiError::Conflict(_) => ("conflict", StatusCode::CONFLICT),
            ApiError::Invalid(_) => ("invalid_request", StatusCode::BAD_REQUEST),
            ApiError::TooLarge { .. } => ("payload_too_large", StatusCode::PAYLOAD_TOO_LARGE),
            ApiError::Unavailable(_) | ApiError::Backlogged { .. } => {
                ("unavailable", StatusCode::SERVICE_UNAVAILABLE)
            }
            ApiError::Internal(_) => ("internal", StatusCode::INTERNAL_SERVER_ERROR),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match error {
            StoreError::NotFound(what) => ApiError::NotFound(what),
            StoreError::Conflict(reason) => ApiError::Conflict(reason),
            StoreError::Invalid(reason) => ApiError::Invalid(reason),
            StoreError::Other(detail) => ApiError::Internal(detail),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (code, status) = self.code();
        if let ApiError::Internal(detail) = &self {
            tracing::error!(error = %detail, "A request failed inside the server.");
        }
        let body = ErrorBody { error: ErrorDetail { code, message: self.to_string() } };
        let mut response = (status, Json(body)).into_response();
        if let ApiError::Backlogged { .. } = self {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static("1"));
            response.extensions_mut().insert(crate::RefusedForBacklog);
        }
        response
    }
}

/// A JSON body extractor whose rejections use our error format.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonBody<T>(pub T);

impl<T, S> axum::extract::FromRequest<S> for JsonBody<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(JsonBody(value)),
            Err(rejection) => {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    return Err(ApiError::Invalid("the request body is too large".into()));
                }
                Err(ApiError::Invalid(rejection.body_text()))
            }
        }
    }
}
