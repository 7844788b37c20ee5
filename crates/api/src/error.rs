//! The one error type of the API: `{"error":{"code","message","details"}}` with the right
//! status. 4xx say what to fix; 5xx say little to the client.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tradecraft_engine::RejectReason;

use crate::responses::{ErrorBody, ErrorObject};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    BadRequest { code: &'static str, message: String, details: Value },
    #[error("{message}")]
    Rejected { status: StatusCode, code: &'static str, message: String },
    #[error("{0} not found")]
    NotFound(String),
    /// No credentials, or credentials that are not valid.
    #[error("{1}")]
    Unauthorized(&'static str, String),
    /// Valid credentials that may not do this.
    #[error("{0}")]
    Forbidden(String),
    #[error("too many requests; retry in {retry_after_s} s")]
    TooManyRequests { retry_after_s: u64 },
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// The engine is replaying the log (starting, or after a failure): nothing it knows
    /// is served until it has caught up.
    #[error("the exchange is recovering: replaying the event log ({applied} of {target} commands)")]
    Recovering { applied: u64, target: u64 },
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// 413 `payload_too_large`, the one answer to a body over the limit, whichever layer
    /// finds it.
    pub(crate) fn body_too_large() -> Self {
        Self::Rejected { status: StatusCode::PAYLOAD_TOO_LARGE, code: "payload_too_large", message: BODY_TOO_LARGE.to_owned() }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest { code, message: message.into(), details: Value::Null }
    }

    /// A query or path parameter that cannot be taken: `invalid_parameter`, naming it in
    /// `details.parameter` as an unknown or malformed parameter is named.
    pub fn bad_parameter(parameter: &str, message: impl Into<String>) -> Self {
        Self::BadRequest { code: "invalid_parameter", message: message.into(), details: json!({"parameter": parameter}) }
    }

    pub fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Rejected { status, .. } => *status,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Unauthorized(..) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) | Self::Recovering { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub(crate) fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { code, .. } | Self::Rejected { code, .. } => code,
            Self::NotFound(_) => "not_found",
            Self::Unauthorized(code, _) => code,
            Self::Forbidden(_) => "forbidden",
            Self::TooManyRequests { .. } => "too_many_requests",
            Self::Unavailable(_) => "unavailable",
            Self::Recovering { .. } => "recovering",
            Self::Internal(_) => "internal",
        }
    }

    fn error_body(&self) -> ErrorBody {
        let (message, details) = match self {
            // The cause of a 5xx stays in the server's log, not in the response.
            Self::Internal(_) => ("internal error".to_owned(), Value::Null),
            Self::BadRequest { details, .. } => (self.to_string(), details.clone()),
            _ => (self.to_string(), Value::Null),
        };
        ErrorBody { error: ErrorObject { code: self.code().to_owned(), message, details } }
    }

    /// The HTTP answer to an engine rejection (seed 000 6.1: 402 funds, 422 shares).
    pub fn from_reject(reason: RejectReason) -> Self {
        let status = match reason {
            RejectReason::InsufficientFunds => StatusCode::PAYMENT_REQUIRED,
            RejectReason::InsufficientShares => StatusCode::UNPROCESSABLE_ENTITY,
            RejectReason::UnknownAccount | RejectReason::UnknownOrder => StatusCode::NOT_FOUND,
            RejectReason::UnknownSymbol
            | RejectReason::InvalidQuantity
            | RejectReason::QuantityOffLot
            | RejectReason::QuantityBelowMinimum
            | RejectReason::InvalidPrice
            | RejectReason::PriceOffTick
            | RejectReason::InvalidInstrument
            | RejectReason::InvalidOrder
            | RejectReason::NotionalTooLarge => StatusCode::BAD_REQUEST,
            RejectReason::DuplicateOrderId
            | RejectReason::DuplicateClientOrderId
            | RejectReason::IdempotencyConflict
            | RejectReason::AccountExists
            | RejectReason::InstrumentExists
            | RejectReason::TransactionConflict => StatusCode::CONFLICT,
            RejectReason::LimitBreached(_) => StatusCode::FORBIDDEN,
            RejectReason::InstrumentHalted
            | RejectReason::PostOnlyWouldCross
            | RejectReason::NoLiquidity
            | RejectReason::NoReferencePrice
            | RejectReason::NotReplaceable
            | RejectReason::MarketClosed => StatusCode::UNPROCESSABLE_ENTITY,
        };
        let message = match reason {
            // One code for every price the engine cannot place an order at: say which.
            RejectReason::InvalidPrice => "rejected: invalid price: prices, trailing stops included, must be above zero, and exits lie on either side of \
                                           the entry's price (a take profit beyond it and beyond the stop loss, a stop loss short of it)"
                .to_owned(),
            // The grid is the symbol's: say where to read it.
            RejectReason::PriceOffTick => {
                "rejected: price off tick: each price of an order must be a multiple of its symbol's tick size (in the symbol's listing)".to_owned()
            }
            RejectReason::QuantityOffLot => {
                "rejected: quantity off lot: the quantity must be a whole number of its symbol's lot size (in the symbol's listing)".to_owned()
            }
            RejectReason::QuantityBelowMinimum => {
                "rejected: quantity below minimum: the quantity must be at least its symbol's minimum quantity (in the symbol's listing)".to_owned()
            }
            // Why, and what the client can do about it.
            RejectReason::InsufficientFunds => {
                "rejected: insufficient funds: the account's cash not already reserved by its open buy orders does not cover this order".to_owned()
            }
            RejectReason::InsufficientShares => "rejected: insufficient shares: the account's shares of the symbol not already reserved by its open sell \
                                                 orders do not cover this order (there is no short selling)"
                .to_owned(),
            RejectReason::InstrumentHalted => "rejected: instrument halted: trading in the symbol is halted; new orders and changes are refused until it \
                                              resumes, while open orders can still be cancelled"
                .to_owned(),
            RejectReason::MarketClosed => "rejected: market closed: the symbol's market is closed and this order cannot wait for it to open (see the \
                                          symbol's session and next open)"
                .to_owned(),
            RejectReason::NoLiquidity => "rejected: no liquidity: there is nothing on the other side of the book to trade this order against".to_owned(),
            RejectReason::NoReferencePrice => {
                "rejected: no reference price: the symbol has neither traded nor been quoted yet, so there is no price to trail from".to_owned()
            }
            RejectReason::PostOnlyWouldCross => {
                "rejected: post only would cross: a post-only order must rest on the book, and at this price it would trade at once".to_owned()
            }
            _ => format!("rejected: {}", reason.code().replace('_', " ")),
        };
        Self::Rejected { status, code: reason.code(), message }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status_code();
        if let Self::Internal(cause) = &self {
            tracing::error!(cause = %cause, "internal error");
        }
        let mut response = (status, Json(self.error_body())).into_response();
        if let Self::TooManyRequests { retry_after_s } = self
            && let Ok(value) = axum::http::HeaderValue::from_str(&retry_after_s.to_string())
        {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, value);
        }
        // Replaying, or the log or the engine cannot be reached for now: ask again shortly.
        if let Self::Recovering { .. } | Self::Unavailable(_) = self {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static("1"));
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(axum::http::header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let status = rejection.status();
        let code = match status {
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
            _ => "invalid_json",
        };
        if status == StatusCode::BAD_REQUEST || status == StatusCode::UNPROCESSABLE_ENTITY {
            return Self::bad_request(code, rejection.body_text());
        }
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            return Self::body_too_large();
        }
        Self::Rejected { status, code, message: rejection.body_text() }
    }
}

/// The message of [`ApiError::body_too_large`].
const BODY_TOO_LARGE: &str = "the request body is larger than 64 KiB";
const _: () = assert!(crate::BODY_BYTES_MAX == 64 * 1_024, "BODY_TOO_LARGE names the limit");

/// Longest framework message carried over into a JSON error.
const PLAIN_MESSAGE_MAX: usize = 1_024;

/// Makes every error answer the API's JSON error, whoever produced it: unknown routes
/// (404), wrong methods (405), oversized bodies (413), and any extractor's plain-text
/// rejection. Answers that are JSON already pass untouched.
pub(crate) async fn json_errors(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = match axum::body::to_bytes(body, PLAIN_MESSAGE_MAX * 4).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).chars().take(PLAIN_MESSAGE_MAX).collect::<String>(),
        Err(_) => String::new(),
    };
    let code = match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::TOO_MANY_REQUESTS => "too_many_requests",
        _ if status.is_server_error() => "internal",
        _ => "bad_request",
    };
    let message = match (status, text.trim()) {
        (_, _) if status.is_server_error() => "internal error".to_owned(),
        (StatusCode::NOT_FOUND, "") => "no such route".to_owned(),
        (StatusCode::METHOD_NOT_ALLOWED, "") => "this route does not take that method".to_owned(),
        (StatusCode::PAYLOAD_TOO_LARGE, _) => BODY_TOO_LARGE.to_owned(),
        (_, "") => status.canonical_reason().unwrap_or("error").to_lowercase(),
        (_, text) => text.to_owned(),
    };
    let body = serde_json::to_vec(&json!({"error": {"code": code, "message": message, "details": Value::Null}})).unwrap_or_default();
    parts.headers.insert(axum::http::header::CONTENT_TYPE, axum::http::HeaderValue::from_static("application/json"));
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(body))
}
