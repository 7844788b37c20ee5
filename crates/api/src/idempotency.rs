//! `X-Idempotency-Key` on every creating request (POST and PATCH) but the order routes,
//! whose keys the engine keeps with the orders (see `orders::keyed`).
//!
//! The first request with a key claims it in the read store; each store transaction the
//! request commits marks the key applied in the same transaction (so a write and its mark
//! are one). Each engine command of it names the key in its envelope, and the engine
//! remembers the key with the command's effect (`Engine::key_use`), so a retry asks the
//! engine as well as the store. The answer is stored when the request ends. A retry with the same key and
//! the same request gets that answer again (`Idempotent-Replayed: true`), on any gateway
//! and after a restart. Another request with the key is 409 `idempotency_key_reused`; a
//! retry while the first still runs is 409 `idempotency_key_in_use` (retry shortly); a
//! retry after the first request wrote but before it stored its answer (it is finishing,
//! or its server stopped) is 409 `idempotency_key_applied`, never a second write. A
//! request that wrote nothing (a refusal) gives the key back, so its retry runs anew.
//! Keys are one namespace per caller, whoever keeps them: a key an order spent refuses
//! another request here, and an order asks [`held_by_a_request`] before it is placed.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tradecraft_engine::KeyUse;
use tradecraft_store::{Claimed, KeyClaim, KeyTimes};

use crate::auth::{MaybeCaller, now_ms, random_token};
use crate::reads::ask_now;
use crate::{ApiError, Shared};

/// How long a key is remembered from its first use.
const KEY_LIFETIME: Duration = Duration::from_secs(24 * 3_600);
/// An unanswered claim older than this belongs to a request that stopped: far longer
/// than any request runs (the engine answers within 5 s or the request fails).
const CLAIM_STALE: Duration = Duration::from_secs(60);
/// Largest answer kept for a retry (creating routes answer a few hundred bytes).
const ANSWER_BYTES_MAX: usize = 256 * 1_024;

tokio::task_local! {
    static CLAIM: KeyClaim;
}

/// The key held by the request running on this task, if any: store calls made for it
/// mark the key applied.
pub(crate) fn current() -> Option<KeyClaim> {
    CLAIM.try_with(Clone::clone).ok()
}

/// Put in an answer's extensions by a route whose answer must not be given twice (it
/// holds a secret): a retry gets this message, as 409 `idempotency_key_applied`.
#[derive(Clone, Debug)]
pub(crate) struct Unrepeatable(pub String);

/// Whether `method path` takes a key here: creating requests, but not the order routes
/// (the engine keeps their keys) nor sign-in (its answers hold tokens; it has no caller).
pub(crate) fn covered(method: &str, path: &str) -> bool {
    (method.eq_ignore_ascii_case("post") || method.eq_ignore_ascii_case("patch"))
        && !matches!(path, "/v1/orders" | "/v2/orders")
        && !path.starts_with("/v1/auth/")
}

/// Whether the API has the operation `method route` (`route` as the router matched it).
fn documented(method: &Method, route: &str) -> bool {
    static OPERATIONS: std::sync::OnceLock<std::collections::HashSet<(String, String)>> = std::sync::OnceLock::new();
    let operations = OPERATIONS.get_or_init(|| crate::openapi::operations().into_iter().collect());
    operations.contains(&(method.as_str().to_ascii_lowercase(), route.to_owned()))
}

/// A hash of the request as understood: method, path, query and body. A JSON body is
/// read back first, so the same object with its keys in another order is the same request
/// (serde_json's maps are sorted: the workspace does not turn on `preserve_order`).
fn fingerprint(method: &Method, uri: &axum::http::Uri, body: &[u8]) -> String {
    let body = serde_json::from_slice::<Value>(body).map_or_else(|_| String::from_utf8_lossy(body).into_owned(), |value| value.to_string());
    let target = uri.path_and_query().map_or_else(|| uri.path(), |whole| whole.as_str());
    crate::auth::hash_secret(&format!("{method}\n{target}\n{body}"))
}

/// The middleware: claims the key, runs the request holding it, keeps its answer.
pub(crate) async fn guard(State(state): State<Shared>, request: Request, next: Next) -> Response {
    // Most requests carry no key: they pass at once. A route's method it does not have is
    // 405 whatever the headers (axum runs route layers for those too).
    let route = request.extensions().get::<axum::extract::MatchedPath>().map_or("", axum::extract::MatchedPath::as_str);
    let keyed = crate::orders::IDEMPOTENCY_HEADERS.iter().any(|name| request.headers().contains_key(*name));
    if !keyed || !covered(request.method().as_str(), route) || !documented(request.method(), route) || state.store.is_none() {
        return next.run(request).await;
    }
    let caller = request.extensions().get::<MaybeCaller>().cloned().flatten();
    let key = match crate::orders::idempotency_key(request.headers(), &caller) {
        Ok(Some((scope, key))) if caller.is_some() => KeyClaim { scope, key, claim: random_token(12) },
        Ok(_) => return next.run(request).await,
        Err(error) => return error.into_response(),
    };
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, crate::BODY_BYTES_MAX).await else {
        return ApiError::body_too_large().into_response();
    };
    // Keys are one namespace: one an order spent (the engine keeps those) is not a new
    // request's either. One a command of this request spent says it took effect.
    let digest = tradecraft_sequencer::wire::key_digest(&crate::orders::scoped_key(&key.scope, &key.key));
    let spent = match crate::routes::query(&state, move |engine| engine.key_use(digest)).await {
        Ok(KeyUse::Order) => return reused().into_response(),
        Ok(use_) => use_ == KeyUse::Request,
        Err(error) => return error.into_response(),
    };
    let fingerprint = fingerprint(&parts.method, &parts.uri, &body);
    let now = now_ms();
    let times = KeyTimes { now_ms: now, stale_before_ms: now - CLAIM_STALE.as_millis() as i64, expired_before_ms: now - KEY_LIFETIME.as_millis() as i64 };
    let claim = key.clone();
    let claimed = match ask_now(&state, move |store| store.claim_key(&claim, &fingerprint, times)).await {
        Ok(claimed) => claimed,
        Err(error) => return error.into_response(),
    };
    let refused = match claimed {
        // The claim was free or stale, but a command the request sent took effect (its
        // server stopped before the store heard of it): the key is marked applied, and
        // that is the answer, now and to every retry.
        Claimed::Ours if spent => {
            let answer = applied().into_response();
            let claim = key.clone();
            if let Err(error) = ask_now(&state, move |store| tradecraft_store::marking(Some(claim), || store.mark_key_applied())).await {
                return error.into_response();
            }
            return keep(&state, key, answer).await;
        }
        Claimed::Ours => None,
        Claimed::Answered { status, body } => return replay(status, body),
        // Still running, or stopped after a command of it took effect: then it is applied.
        Claimed::InProgress if spent => Some(("idempotency_key_applied", APPLIED)),
        Claimed::InProgress => Some(("idempotency_key_in_use", "a request with this idempotency key is still running; retry shortly")),
        Claimed::AppliedUnanswered => Some(("idempotency_key_applied", APPLIED)),
        Claimed::Reused => return reused().into_response(),
    };
    if let Some((code, message)) = refused {
        let mut response = ApiError::Rejected { status: StatusCode::CONFLICT, code, message: message.to_owned() }.into_response();
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return response;
    }
    let response = CLAIM.scope(key.clone(), next.run(Request::from_parts(parts, Body::from(body)))).await;
    crate::routes::crash_if_faulted(&key.key);
    keep(&state, key, response).await
}

/// Why a retry is 409 `idempotency_key_applied`.
const APPLIED: &str = "the first request with this idempotency key took effect and is not applied again; its answer is not stored (it is \
                       finishing, or its server stopped before answering)";

/// 409 `idempotency_key_applied`: the first request with the key took effect and did not
/// store its answer.
fn applied() -> ApiError {
    ApiError::Rejected { status: StatusCode::CONFLICT, code: "idempotency_key_applied", message: APPLIED.to_owned() }
}

/// 409 `idempotency_key_reused`: the caller used the key for another request.
pub(crate) fn reused() -> ApiError {
    ApiError::Rejected { status: StatusCode::CONFLICT, code: "idempotency_key_reused", message: "this idempotency key was used for another request".to_owned() }
}

/// Whether a request other than an order holds or spent the caller's `key` (an order with
/// it is then refused, as a request with an order's key is).
pub(crate) async fn held_by_a_request(state: &crate::AppState, scope: &str, key: &str) -> Result<bool, ApiError> {
    if state.store.is_none() {
        return Ok(false);
    }
    let (scope, key) = (scope.to_owned(), key.to_owned());
    let expired_before = now_ms() - KEY_LIFETIME.as_millis() as i64;
    ask_now(state, move |store| store.key_held(&scope, &key, expired_before)).await
}

/// Stores the answer (or gives the key back when nothing was written) and returns it.
async fn keep(state: &Shared, key: KeyClaim, response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(body) = axum::body::to_bytes(body, ANSWER_BYTES_MAX).await else {
        return ApiError::Internal("an answer too large to keep for a retry".to_owned()).into_response();
    };
    let status = parts.status;
    let stored = match parts.extensions.remove::<Unrepeatable>() {
        Some(Unrepeatable(message)) => {
            let body = json!({"error": {"code": "idempotency_key_applied", "message": message, "details": null}}).to_string();
            (StatusCode::CONFLICT, body)
        }
        None => (status, String::from_utf8_lossy(&body).into_owned()),
    };
    let answered = ask_now(state, move |store| {
        // A refusal or a failure usually wrote nothing: the key is free again (and the
        // answer goes nowhere). If it did write, the answer is what a retry must get.
        if !status.is_success() {
            store.release_key(&key)?;
        }
        store.answer_key(&key, stored.0.as_u16(), &stored.1)
    })
    .await;
    if let Err(error) = answered {
        tracing::error!(error = %error, "storing an idempotent answer failed");
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}

/// The first request's answer, again.
fn replay(status: u16, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let mut response = (status, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_body_is_the_same_request_in_any_key_order() {
        let uri: axum::http::Uri = "/v1/webhooks?x=1".parse().unwrap_or_default();
        let print = |body: &str| fingerprint(&Method::POST, &uri, body.as_bytes());
        assert_eq!(print(r#"{"b": [1, {"d": 2, "c": 3}], "a": "x"}"#), print(r#"{"a":"x","b":[1,{"c":3,"d":2}]}"#));
        assert_ne!(print(r#"{"a": "x"}"#), print(r#"{"a": "y"}"#));
        assert_ne!(print("not json"), print("not json!"));
        assert_ne!(fingerprint(&Method::PATCH, &uri, b"{}"), print("{}"));
    }
}
