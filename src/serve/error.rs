//! [`ApiError`]: every refusal of the API as `{"error": {code, message, details}}` with an
//! explicit status; and the extractors that turn bad input into it.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use utoipa::ToSchema;
use yijian_engine::store::StoreError;
use yijian_engine::{EngineError, Rejection};

use super::body::DiagnosticBody;

/// A refusal of the API. The body never carries internals: a 5xx's detail travels in the
/// response's extensions to the logging middleware, not to the client.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// 400: malformed JSON, wrong types, missing fields, bad parameters.
    #[error("{message}")]
    BadRequest {
        /// Stable code.
        code: &'static str,
        /// For people.
        message: String,
        /// Structured details.
        details: Value,
    },
    /// 401: no token, or an unknown one.
    #[error("{message}")]
    Unauthorized {
        /// Stable code.
        code: &'static str,
        /// For people.
        message: String,
    },
    /// 403: the token may not do this (role, department, region).
    #[error("{message}")]
    Forbidden {
        /// Stable code.
        code: &'static str,
        /// For people.
        message: String,
    },
    /// 404: unknown bundle, case or task.
    #[error("{message}")]
    NotFound {
        /// Stable code.
        code: &'static str,
        /// For people.
        message: String,
    },
    /// 405: the path exists, the method does not.
    #[error("{message}")]
    MethodNotAllowed {
        /// For people.
        message: String,
    },
    /// 409: a conflict with the current state (stale lease, redeploy, closed case…).
    #[error("{message}")]
    Conflict {
        /// Stable code.
        code: &'static str,
        /// For people.
        message: String,
        /// Structured details.
        details: Value,
    },
    /// 413: the body is larger than the limit.
    #[error("the request body is larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// 422: an invalid definition, submission or output.
    #[error("{message}")]
    Unprocessable {
        /// Stable code.
        code: &'static str,
        /// For people.
        message: String,
        /// Structured details (problems, diagnostics).
        details: Value,
    },
    /// 503 with `Retry-After`: overloaded, timed out, shutting down, store unavailable.
    #[error("{message}")]
    Unavailable {
        /// Stable code.
        code: &'static str,
        /// For people.
        message: String,
        /// Seconds before a retry makes sense.
        retry_after: u32,
    },
    /// 429 with `Retry-After`: too many attempts of one kind (wrong progress-query codes).
    #[error("{message}")]
    TooMany {
        /// For people.
        message: String,
        /// Seconds before another attempt is taken.
        retry_after: u32,
    },
    /// 500: a fault of the service; the detail is logged, not sent.
    #[error("internal error: {detail}")]
    Internal {
        /// What went wrong (logged only).
        detail: String,
    },
}

/// The detail of a 5xx, for the logging middleware.
#[derive(Debug, Clone)]
pub(crate) struct InternalDetail(pub(crate) String);

/// The error body, as documented.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
    /// For `invalid_bundle`: the findings, also at the top level as api.md shows them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnostics: Option<Vec<DiagnosticBody>>,
}

/// `{code, message, details}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable code, e.g. `stale_lease`.
    pub code: String,
    /// For people.
    pub message: String,
    /// Structured details (problems, diagnostics, the current lease…), or null.
    #[schema(value_type = Option<Object>)]
    pub details: Value,
}

impl ApiError {
    /// 400 with a code.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::BadRequest {
            code,
            message: message.into(),
            details: Value::Null,
        }
    }

    /// 401 with a code.
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::Unauthorized {
            code,
            message: message.into(),
        }
    }

    /// 403 with a code.
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::Forbidden {
            code,
            message: message.into(),
        }
    }

    /// 404 with a code.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::NotFound {
            code,
            message: message.into(),
        }
    }

    /// 503 `overloaded` with `Retry-After: 1`.
    pub fn overloaded(message: impl Into<String>) -> ApiError {
        ApiError::Unavailable {
            code: "overloaded",
            message: message.into(),
            retry_after: 1,
        }
    }

    /// 500; `detail` is logged, never sent.
    pub fn internal(detail: impl Into<String>) -> ApiError {
        ApiError::Internal {
            detail: detail.into(),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::TooMany { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest { code, .. }
            | ApiError::Unauthorized { code, .. }
            | ApiError::Forbidden { code, .. }
            | ApiError::NotFound { code, .. }
            | ApiError::Conflict { code, .. }
            | ApiError::Unprocessable { code, .. }
            | ApiError::Unavailable { code, .. } => code,
            ApiError::TooLarge { .. } => "too_large",
            ApiError::TooMany { .. } => "too_many_attempts",
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::Internal { .. } => "internal",
        }
    }

    /// `{code, message, details}` as the body shows them.
    pub fn detail(&self) -> ErrorDetail {
        self.body().error
    }

    fn body(&self) -> ErrorBody {
        let (message, details) = match self {
            ApiError::BadRequest { details, .. }
            | ApiError::Conflict { details, .. }
            | ApiError::Unprocessable { details, .. } => (self.to_string(), details.clone()),
            ApiError::TooLarge { limit } => (self.to_string(), json!({"limit": limit})),
            ApiError::Internal { .. } => {
                ("internal error; it has been logged".to_owned(), Value::Null)
            }
            _ => (self.to_string(), Value::Null),
        };
        let diagnostics = match self {
            ApiError::Unprocessable {
                code: "invalid_bundle",
                details,
                ..
            } => details
                .get("diagnostics")
                .and_then(|d| serde_json::from_value(d.clone()).ok()),
            _ => None,
        };
        ErrorBody {
            error: ErrorDetail {
                code: self.code().to_owned(),
                message,
                details,
            },
            diagnostics,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status(), axum::Json(self.body())).into_response();
        match &self {
            ApiError::Unavailable { retry_after, .. } | ApiError::TooMany { retry_after, .. } => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
            ApiError::Unauthorized { .. } => {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            ApiError::Internal { detail } => {
                response
                    .extensions_mut()
                    .insert(InternalDetail(detail.clone()));
            }
            _ => {}
        }
        response
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> ApiError {
        match e {
            EngineError::Rejected(r) => r.into(),
            EngineError::Store(s) => s.into(),
            EngineError::UnknownCase { .. } => ApiError::not_found("unknown_case", e.to_string()),
            EngineError::UnknownBundle { .. } => {
                ApiError::not_found("unknown_bundle", e.to_string())
            }
            EngineError::UnknownTask { .. } => ApiError::not_found("unknown_task", e.to_string()),
            EngineError::InvalidBundle { ref diagnostics } => ApiError::Unprocessable {
                code: "invalid_bundle",
                message: e.to_string(),
                details: json!({
                    "diagnostics": diagnostics.iter().map(DiagnosticBody::from).collect::<Vec<_>>()
                }),
            },
            EngineError::ShuttingDown => ApiError::Unavailable {
                code: "shutting_down",
                message: e.to_string(),
                retry_after: 5,
            },
            other => ApiError::internal(other.to_string()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::Conflict { .. } => ApiError::Conflict {
                code: "conflict",
                message: "the case was changed concurrently; read it again and retry".to_owned(),
                details: Value::Null,
            },
            StoreError::BundleExists { .. } => ApiError::Conflict {
                code: "bundle_exists",
                message: e.to_string(),
                details: Value::Null,
            },
            StoreError::Unavailable { .. } => ApiError::Unavailable {
                code: "store_unavailable",
                message: "the store is unavailable; retry later".to_owned(),
                retry_after: 1,
            },
            other => ApiError::internal(other.to_string()),
        }
    }
}

impl From<Rejection> for ApiError {
    fn from(r: Rejection) -> ApiError {
        let message = r.to_string();
        let details = serde_json::to_value(&r).unwrap_or(Value::Null);
        let conflict = |code| ApiError::Conflict {
            code,
            message: message.clone(),
            details: details.clone(),
        };
        let invalid = |code| ApiError::Unprocessable {
            code,
            message: message.clone(),
            details: details.clone(),
        };
        match &r {
            Rejection::InvalidSubmission { .. } => invalid("invalid_submission"),
            Rejection::NotOffered { .. } => invalid("not_offered"),
            Rejection::InvalidOutput { .. } => invalid("invalid_output"),
            Rejection::InvalidSupply { .. } => invalid("invalid_supply"),
            Rejection::InstanceRequired { .. } => invalid("instance_required"),
            Rejection::ReasonRequired => invalid("reason_required"),
            Rejection::NothingMissing => invalid("nothing_missing"),
            Rejection::NotProactive => invalid("not_proactive"),
            Rejection::InvalidGrade { .. } => invalid("invalid_grade"),
            Rejection::UnknownDepartment { .. } => invalid("unknown_department"),
            Rejection::NoCase => ApiError::not_found("unknown_case", message),
            Rejection::UnknownTask { .. } => ApiError::not_found("unknown_task", message),
            Rejection::WrongDepartment { .. } => ApiError::forbidden("wrong_department", message),
            Rejection::StaleLease { .. } => conflict("stale_lease"),
            Rejection::Leased { .. } => conflict("leased"),
            Rejection::CaseClosed => conflict("case_closed"),
            Rejection::AlreadySubmitted => conflict("already_submitted"),
            Rejection::TaskNotOpen { .. } => conflict("task_not_open"),
            Rejection::WrongStep { .. } => conflict("wrong_step"),
            Rejection::NothingToSupply => conflict("nothing_to_supply"),
            Rejection::NotProposed => conflict("not_proposed"),
            Rejection::NotConfirmed => conflict("not_confirmed"),
            Rejection::NotClosed => conflict("not_closed"),
            Rejection::MaterialDeferred { .. } => conflict("material_deferred"),
            Rejection::NotUpstream { .. } => invalid("not_upstream"),
            Rejection::SendBackNotAllowed { .. } => conflict("send_back_not_allowed"),
            Rejection::SendBackLimit { .. } => conflict("send_back_limit"),
            Rejection::DependantBusy { .. } => conflict("dependant_busy"),
            Rejection::ItemNotApplicable { .. } => invalid("item_not_applicable"),
            Rejection::ItemTooLate { .. } => conflict("item_too_late"),
            Rejection::SameRegion { .. } => invalid("same_region"),
            Rejection::OutsideRegion { .. } => ApiError::forbidden("outside_region", message),
            Rejection::NotMigratable { .. } => conflict("not_migratable"),
            Rejection::InvalidMapping { .. } => invalid("invalid_mapping"),
            Rejection::VersionChanged { .. } => conflict("version_changed"),
            _ => conflict("rejected"),
        }
    }
}

/// A JSON body, whatever its `Content-Type`, with bad input refused as a 400 `ApiError`
/// (and an oversized body as 413).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = body_bytes(req, state).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Like [`ApiJson`], but an empty body means `T::default()`.
#[derive(Debug, Clone, Copy, Default)]
pub struct OptionalJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = body_bytes(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        parse_json(&bytes).map(OptionalJson)
    }
}

/// A text body (bundle YAML), with an oversized body refused as 413 and bytes that are not
/// UTF-8 as 400.
#[derive(Debug, Clone, Default)]
pub struct TextBody(pub String);

impl<S: Send + Sync> FromRequest<S> for TextBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = body_bytes(req, state).await?;
        String::from_utf8(bytes.to_vec())
            .map(TextBody)
            .map_err(|e| ApiError::BadRequest {
                code: "not_utf8",
                message: "the body is not UTF-8 text".to_owned(),
                details: json!({"offset": e.utf8_error().valid_up_to()}),
            })
    }
}

/// The raw body, with the size limit applied.
pub(crate) async fn body_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    let limit = req
        .extensions()
        .get::<BodyLimit>()
        .map_or(usize::MAX, |l| l.0);
    Bytes::from_request(req, state).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge { limit }
        } else {
            ApiError::bad_request("unreadable_body", "the request body could not be read")
        }
    })
}

/// The configured body limit, put in the request's extensions for error messages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyLimit(pub(crate) usize);

fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        use serde_json::error::Category;
        let details = json!({"line": e.line(), "column": e.column()});
        match e.classify() {
            Category::Data => ApiError::BadRequest {
                code: "invalid_body",
                message: format!("the body does not fit the request: {e}"),
                details,
            },
            Category::Eof if bytes.iter().all(u8::is_ascii_whitespace) => ApiError::BadRequest {
                code: "malformed_json",
                message: "the body is empty; send a JSON object".to_owned(),
                details,
            },
            _ => ApiError::BadRequest {
                code: "malformed_json",
                message: format!("the body is not valid JSON: {e}"),
                details,
            },
        }
    })
}

/// Path parameters, with a bad one refused as a 400 `ApiError`.
#[derive(Debug, Clone)]
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|e| ApiError::bad_request("invalid_path", e.body_text()))
    }
}

/// Query parameters, with a bad one refused as a 400 `ApiError`.
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_errors_are_classified() {
        let e = parse_json::<Vec<u32>>(b"[1,").unwrap_err();
        assert_eq!(e.code(), "malformed_json");
        let e = parse_json::<Vec<u32>>(b"[\"x\"]").unwrap_err();
        assert_eq!(e.code(), "invalid_body");
        let e = parse_json::<Vec<u32>>(b"").unwrap_err();
        assert_eq!(e.code(), "malformed_json");
    }

    #[test]
    fn internals_stay_out_of_the_body() {
        let e = ApiError::internal("disk on fire at /var/lib/x");
        let body = serde_json::to_string(&e.body()).expect("serialises");
        assert!(!body.contains("disk"), "{body}");
    }
}
