//! `/v1/notifications` and `/v1/price-alerts`: what happened to a user's account, as the
//! projector writes it from the log (orders filled, refused or expired, limit breaches,
//! price alerts reached), and the one-shot price alerts a user sets.

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tradecraft_store::{NotificationRecord, PriceAlertRecord};
use tradecraft_types::{Price, Timestamp};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{MaybeCaller, account_for};
use crate::extract::{Body, Decimal, Id, Query, SymbolText, field_error};
use crate::reads::{ask, required_user};
use crate::responses::ErrorBody;
use crate::routes::{bounded, now, parse_symbol, query};
use crate::{ApiError, Shared};

/// Notifications an export holds at most.
pub(crate) const EXPORTED: usize = tradecraft_store::EXPORT_LIMIT_MAX;

/// One notification.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Notification {
    pub notification_id: String,
    /// `ORDER_FILLED`, `ORDER_REFUSED`, `ORDER_EXPIRED`, `LIMIT_BREACH` or `PRICE_ALERT`.
    pub kind: String,
    pub title: String,
    pub message: String,
    pub created_at: String,
    pub read_at: Option<String>,
}

/// `GET /v1/notifications`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Notifications {
    pub notifications: Vec<Notification>,
    pub pagination: crate::responses::NextPage,
}

/// How many notifications a request marked read.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Marked {
    pub marked: u64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NotificationParams {
    /// The account; default the caller's.
    #[param(value_type = Option<String>, pattern = "^(0|[1-9][0-9]{0,18})$")]
    user_id: Option<String>,
    /// `true`: only unread ones.
    unread: Option<bool>,
    /// 1 to 1000, default 100.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
    /// The previous page's `nextPageToken` (with the same `unread`).
    #[param(value_type = Option<String>, max_length = 1000)]
    page_token: Option<String>,
}

/// The WebSocket push of a notification: `notification` on `notifications:{userId}`.
pub fn push_of(record: &NotificationRecord) -> crate::ws::Push {
    let payload = serde_json::to_value(notification_of(record)).unwrap_or_default();
    crate::ws::Push::new(format!("notifications:{}", record.user_id), "notification", payload)
}

pub(crate) fn notification_of(record: &NotificationRecord) -> Notification {
    Notification {
        notification_id: record.notification_id.clone(),
        kind: record.kind.clone(),
        title: record.title.clone(),
        message: record.message.clone(),
        created_at: Timestamp::from_millis(record.created_at_ms).to_string(),
        read_at: record.read_at_ms.map(|at| Timestamp::from_millis(at).to_string()),
    }
}

/// The account's notifications, newest first, a page at a time (the read store writes them
/// shortly after the engine acts).
#[utoipa::path(get, path = "/v1/notifications", tag = "notifications", params(NotificationParams),
    responses((status = 200, description = "Notifications, newest first.", body = Notifications), (status = 403, description = "Another user's account.", body = ErrorBody)))]
pub(crate) async fn list(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Query(params): Query<NotificationParams>,
) -> Result<Json<Notifications>, ApiError> {
    let account = required_user(&caller, params.user_id.as_deref())?;
    let limit = bounded(params.limit.as_deref(), 100, tradecraft_store::PAGE_LIMIT_MAX, "limit")?;
    let unread = params.unread.unwrap_or(false);
    crate::routes::short_text("pageToken", params.page_token.as_deref(), 1000)?;
    let (records, next_page_token) = ask(&state, move |store| store.notifications_page(account, unread, limit, params.page_token.as_deref())).await?;
    Ok(Json(Notifications { notifications: records.iter().map(notification_of).collect(), pagination: crate::responses::NextPage { next_page_token } }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AccountParam {
    /// The account; default the caller's.
    #[param(value_type = Option<String>, pattern = "^(0|[1-9][0-9]{0,18})$")]
    user_id: Option<String>,
}

/// Mark one of the account's notifications read.
#[utoipa::path(post, path = "/v1/notifications/{notification_id}/read", tag = "notifications",
    params(("notification_id" = String, Path, max_length = 200, description = "A notification id."), AccountParam),
    responses((status = 200, description = "Marked (0 if it was read already).", body = Marked), (status = 404, description = "No such notification of the account.", body = ErrorBody)))]
pub(crate) async fn read_one(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(notification_id): Path<String>,
    Query(params): Query<AccountParam>,
) -> Result<Json<Marked>, ApiError> {
    let account = required_user(&caller, params.user_id.as_deref())?;
    let at = now().millis();
    let id = notification_id.clone();
    let marked = ask(&state, move |store| store.mark_notifications_read(account, Some(&id), at)).await?;
    marked.map(|marked| Json(Marked { marked })).ok_or_else(|| ApiError::NotFound(format!("notification {notification_id}")))
}

/// Mark all of the account's notifications read.
#[utoipa::path(post, path = "/v1/notifications/read", tag = "notifications", params(AccountParam),
    responses((status = 200, description = "How many were unread.", body = Marked)))]
pub(crate) async fn read_all(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Query(params): Query<AccountParam>,
) -> Result<Json<Marked>, ApiError> {
    let account = required_user(&caller, params.user_id.as_deref())?;
    let at = now().millis();
    let marked = ask(&state, move |store| store.mark_notifications_read(account, None, at)).await?;
    Ok(Json(Marked { marked: marked.unwrap_or(0) }))
}

/// `POST /v1/price-alerts`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PriceAlertRequest {
    /// The account to notify; default the caller's.
    pub user_id: Option<Id>,
    pub symbol: SymbolText,
    pub direction: AlertDirection,
    /// On the symbol's tick grid, as every trade price is.
    pub price: Decimal,
}

/// `ABOVE` (a trade, or the market's price feed, at or above the price) or `BELOW` (at or below).
#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub(crate) enum AlertDirection {
    Above,
    Below,
}

/// A price alert.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PriceAlert {
    pub alert_id: String,
    pub symbol: String,
    pub direction: String,
    pub price: String,
    pub created_at: String,
    /// When a trade reached it (it then notifies once and stays triggered).
    pub triggered_at: Option<String>,
}

/// `GET /v1/price-alerts`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PriceAlerts {
    pub price_alerts: Vec<PriceAlert>,
}

pub(crate) fn price_alert_of(record: &PriceAlertRecord) -> PriceAlert {
    PriceAlert {
        alert_id: record.alert_id.clone(),
        symbol: record.symbol.clone(),
        direction: record.direction.clone(),
        price: Price::from_raw(record.price).to_string(),
        created_at: Timestamp::from_millis(record.created_at_ms).to_string(),
        triggered_at: record.triggered_at_ms.map(|at| Timestamp::from_millis(at).to_string()),
    }
}

/// Set a one-shot price alert: the first trade in the symbol at or beyond the price
/// notifies the account (`PRICE_ALERT`).
#[utoipa::path(post, path = "/v1/price-alerts", tag = "notifications", request_body = PriceAlertRequest,
    responses(
        (status = 201, description = "The alert.", body = PriceAlert),
        (status = 400, description = "A bad field or an unknown symbol.", body = ErrorBody),
        (status = 403, description = "Another user's account.", body = ErrorBody),
        (status = 409, description = "`too_many`: the account keeps 200 alerts waiting already; `price_alert_exists`: one waiting for the same symbol, direction and price.", body = ErrorBody),
    ))]
pub(crate) async fn create(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Body(request): Body<PriceAlertRequest>,
) -> Result<Response, ApiError> {
    let account = account_for(&caller, request.user_id.map(|id| id.0))?;
    let symbol = parse_symbol(request.symbol.as_str())?;
    let Some(tick) = query(&state, move |engine| engine.instrument(symbol).map(|(spec, _)| spec.tick_size)).await? else {
        return Err(ApiError::bad_request("unknown_symbol", format!("{symbol} is not listed")));
    };
    let direction = match request.direction {
        AlertDirection::Above => "ABOVE",
        AlertDirection::Below => "BELOW",
    }
    .to_owned();
    let price = Price::parse(&request.price.0).map_err(|error| field_error("price", error))?;
    if !price.is_positive() {
        return Err(field_error("price", "must be greater than 0"));
    }
    // Trades print on the tick grid: an alert between two ticks is one a trade cannot print at.
    if tick.is_positive() && price.raw() % tick.raw() != 0 {
        return Err(field_error("price", format!("not on {symbol}'s tick grid ({tick})")));
    }
    let record = PriceAlertRecord {
        alert_id: crate::auth::ordered_token(8),
        user_id: account,
        symbol: symbol.as_str().to_owned(),
        direction,
        price: price.raw(),
        created_at_ms: now().millis(),
        triggered_at_ms: None,
    };
    let stored = record.clone();
    let owner = crate::auth::owner_of(account).unwrap_or(account);
    ask(&state, move |store| store.insert_price_alert(owner, &stored)).await?;
    Ok((StatusCode::CREATED, Json(price_alert_of(&record))).into_response())
}

/// The account's price alerts, newest first.
#[utoipa::path(get, path = "/v1/price-alerts", tag = "notifications", params(AccountParam),
    responses((status = 200, description = "Price alerts.", body = PriceAlerts)))]
pub(crate) async fn list_price_alerts(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Query(params): Query<AccountParam>,
) -> Result<Json<PriceAlerts>, ApiError> {
    let account = required_user(&caller, params.user_id.as_deref())?;
    let records = ask(&state, move |store| store.price_alerts(account)).await?;
    Ok(Json(PriceAlerts { price_alerts: records.iter().map(price_alert_of).collect() }))
}

/// Delete one of the account's price alerts.
#[utoipa::path(delete, path = "/v1/price-alerts/{alert_id}", tag = "notifications",
    params(("alert_id" = String, Path, max_length = 64, description = "A price alert id."), AccountParam),
    responses((status = 204, description = "Deleted."), (status = 404, description = "No such alert of the account.", body = ErrorBody)))]
pub(crate) async fn delete_price_alert(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(alert_id): Path<String>,
    Query(params): Query<AccountParam>,
) -> Result<StatusCode, ApiError> {
    let account = required_user(&caller, params.user_id.as_deref())?;
    let at = now().millis();
    let id = alert_id.clone();
    if ask(&state, move |store| store.delete_price_alert(account, &id, at)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("price alert {alert_id}")))
    }
}
