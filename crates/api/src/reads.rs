//! Routes answered from the read store (SQLite or PostgreSQL): trade history search,
//! positions and performance, the cash statement, analytics and the leaderboard. The
//! store is fed by the projector, so these see an event shortly after the engine applied
//! it (`tradecraft_projection_lag_records` says how far behind).

use crate::extract::Query;
use axum::Json;
use axum::extract::{Extension, State};
use serde::Deserialize;
use serde_json::{Value, json};
use tradecraft_store::{Performance, Store, StoreError, SymbolActivity, TradeQuery, TradeRecord, decimal};
use tradecraft_types::{Money, Symbol, Timestamp};

use crate::auth::{MaybeCaller, account_for};
use crate::routes::{bounded, now, parse_id};
use crate::{ApiError, AppState, Shared};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// `timeWindow` values of the analytics routes (seed 000 section 6.4).
const WINDOWS: [(&str, i64); 3] = [("1h", HOUR_MS), ("24h", DAY_MS), ("7d", 7 * DAY_MS)];
/// `period` values of performance and the leaderboard; `all` is everything stored.
const PERIODS: [(&str, i64); 5] = [("1d", DAY_MS), ("7d", 7 * DAY_MS), ("30d", 30 * DAY_MS), ("90d", 90 * DAY_MS), ("1y", 365 * DAY_MS)];
const TRADE_STATUSES: [&str; 4] = ["EXECUTED", "FAILED_INSUFFICIENT_FUNDS", "FAILED_INSUFFICIENT_SHARES", "FAILED_OTHER"];

fn store(state: &AppState) -> Result<Store, ApiError> {
    state.store.clone().ok_or_else(|| ApiError::Unavailable("no read store is configured".to_owned()))
}

/// Runs a store query on the blocking pool.
pub(crate) async fn ask<T: Send + 'static>(state: &AppState, question: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static) -> Result<T, ApiError> {
    let store = store(state)?;
    tokio::task::spawn_blocking(move || question(&store)).await.map_err(|error| ApiError::Internal(error.to_string()))?.map_err(|error| match error {
        StoreError::Invalid(message) => ApiError::bad_request("invalid_parameter", message),
        StoreError::Conflict(message) => {
            ApiError::Rejected { status: axum::http::StatusCode::CONFLICT, code: "conflict", message: format!("already exists: {message}") }
        }
        other => {
            tracing::error!(error = %other, "read store query failed");
            ApiError::Internal("the read store failed to answer".to_owned())
        }
    })
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_parameter", message)
}

/// The account a read is about: `userId`, or the caller's own; 403 for another's.
fn required_user(caller: &MaybeCaller, user_id: Option<&str>) -> Result<u64, ApiError> {
    let requested = user_id.map(|text| parse_id("userId", text)).transpose()?;
    account_for(caller, requested)
}

fn one_of(name: &str, value: Option<String>, allowed: &[&str]) -> Result<Option<String>, ApiError> {
    match value {
        Some(value) if !allowed.contains(&value.as_str()) => Err(invalid(format!("{name} must be one of {}", allowed.join(", ")))),
        other => Ok(other),
    }
}

/// A `startDate`/`endDate`: ISO 8601, or a date alone (its first millisecond for a
/// start, its last for an end).
fn date(name: &str, text: Option<&str>, end: bool) -> Result<Option<i64>, ApiError> {
    let Some(text) = text else { return Ok(None) };
    let millis = Timestamp::parse(text).map_err(|_| invalid(format!("{name} must be an ISO 8601 date or time, not {text:?}")))?.millis();
    Ok(Some(if end && text.len() == 10 { millis + DAY_MS - 1 } else { millis }))
}

fn window(text: Option<&str>) -> Result<(&'static str, i64), ApiError> {
    let text = text.unwrap_or("24h");
    WINDOWS.iter().copied().find(|(name, _)| *name == text).ok_or_else(|| invalid("timeWindow must be one of 1h, 24h, 7d"))
}

fn period_start(text: Option<&str>, now_ms: i64) -> Result<(String, i64), ApiError> {
    let text = text.unwrap_or("30d");
    if text == "all" {
        return Ok((text.to_owned(), i64::MIN / 2));
    }
    let (name, span) = PERIODS.iter().find(|(name, _)| *name == text).ok_or_else(|| invalid("period must be one of 1d, 7d, 30d, 90d, 1y, all"))?;
    Ok(((*name).to_owned(), now_ms - span))
}

fn symbol_filter(text: Option<String>) -> Result<Option<String>, ApiError> {
    text.map(|text| Symbol::new(&text).map(|symbol| symbol.to_string()).map_err(|error| ApiError::bad_request("invalid_symbol", error.to_string()))).transpose()
}

fn pagination(next: Option<String>, total: u64) -> Value {
    json!({"nextPageToken": next, "totalCount": total})
}

fn ratio(value: Option<f64>) -> Value {
    value.filter(|value| value.is_finite()).map_or(Value::Null, |value| json!(value))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TradeSearchParams {
    user_id: Option<String>,
    symbol: Option<String>,
    side: Option<String>,
    status: Option<String>,
    start_date: Option<String>,
    end_date: Option<String>,
    /// Words to find in `failureReason`.
    q: Option<String>,
    limit: Option<String>,
    page_token: Option<String>,
}

fn trade_json(trade: &TradeRecord) -> Value {
    json!({
        "eventId": trade.event_id,
        "orderId": trade.order_id.to_string(),
        "userId": trade.user_id.to_string(),
        "symbol": trade.symbol,
        "quantity": trade.quantity.to_string(),
        "side": trade.side,
        "status": trade.status,
        "executionPrice": trade.execution_price.map(|price| price.to_string()),
        "executionTimestamp": Timestamp::from_millis(trade.executed_at_ms).to_string(),
        "failureReason": trade.failure_reason,
        "tradeId": trade.trade_id.map(|id| id.to_string()),
        "fee": trade.fee.to_string(),
        "liquidity": trade.liquidity,
    })
}

/// `GET /v1/trades/search` (seed 000 section 6.3): one account's executions and failed
/// orders, newest first.
pub(crate) async fn search_trades(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Query(params): Query<TradeSearchParams>,
) -> Result<Json<Value>, ApiError> {
    let start_ms = date("startDate", params.start_date.as_deref(), false)?;
    let end_ms = date("endDate", params.end_date.as_deref(), true)?;
    if let (Some(start), Some(end)) = (start_ms, end_ms)
        && start > end
    {
        return Err(invalid("startDate is after endDate"));
    }
    let query = TradeQuery {
        user_id: required_user(&caller, params.user_id.as_deref())?,
        symbol: symbol_filter(params.symbol)?,
        side: one_of("side", params.side, &["BUY", "SELL"])?,
        status: one_of("status", params.status, &TRADE_STATUSES)?,
        start_ms,
        end_ms,
        text: params.q.filter(|text| !text.trim().is_empty()),
        limit: bounded(params.limit.as_deref(), 100, tradecraft_store::PAGE_LIMIT_MAX, "limit")?,
        page_token: params.page_token,
    };
    let page = ask(&state, move |store| store.search_trades(&query)).await?;
    Ok(Json(json!({
        "trades": page.trades.iter().map(trade_json).collect::<Vec<_>>(),
        "pagination": pagination(page.next_page_token, page.total_count),
    })))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserParams {
    user_id: Option<String>,
    period: Option<String>,
    limit: Option<String>,
    page_token: Option<String>,
}

/// `GET /v1/portfolio/positions?userId=`: FIFO positions at the last trade price.
pub(crate) async fn positions(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Query(params): Query<UserParams>,
) -> Result<Json<Value>, ApiError> {
    let user = required_user(&caller, params.user_id.as_deref())?;
    let (account, positions) = ask(&state, move |store| Ok((store.account(user)?, store.positions(user)?))).await?;
    let account = account.ok_or_else(|| ApiError::NotFound(format!("user {user}")))?;
    let held: i128 = positions.iter().filter_map(|position| position.market_value).map(|value| i128::from(value.raw())).sum();
    let money = |value: Option<Money>| value.map(|value| value.to_string());
    Ok(Json(json!({
        "userId": user.to_string(),
        "cashBalance": account.cash.to_string(),
        "marketValue": decimal(held, 8),
        "totalValue": decimal(held + i128::from(account.cash.raw()), 8),
        "positions": positions.iter().map(|position| json!({
            "symbol": position.symbol,
            "quantity": position.quantity.to_string(),
            "averageCost": position.average_cost.map(|price| price.to_string()),
            "costBasis": position.cost.to_string(),
            "lastPrice": position.last_price.map(|price| price.to_string()),
            "marketValue": money(position.market_value),
            "unrealizedPnl": money(position.unrealized_pnl),
            "realizedPnl": position.realized_pnl.to_string(),
            "fees": position.fees.to_string(),
            "updatedAt": Timestamp::from_millis(position.updated_at_ms).to_string(),
        })).collect::<Vec<_>>(),
    })))
}

fn performance_json(performance: &Performance) -> Value {
    json!({
        "startValue": performance.start_value.to_string(),
        "endValue": performance.end_value.to_string(),
        "netDeposits": performance.net_flows.to_string(),
        "totalReturn": ratio(Some(performance.total_return)),
        "volatility": ratio(performance.volatility),
        "sharpe": ratio(performance.sharpe),
        "sortino": ratio(performance.sortino),
        "maxDrawdown": ratio(Some(performance.max_drawdown)),
    })
}

/// `GET /v1/portfolio/performance?userId=&period=`: time-weighted return, daily returns
/// and risk over the period.
pub(crate) async fn performance(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Query(params): Query<UserParams>,
) -> Result<Json<Value>, ApiError> {
    let user = required_user(&caller, params.user_id.as_deref())?;
    let now_ms = now().millis();
    let (period, since) = period_start(params.period.as_deref(), now_ms)?;
    let result = ask(&state, move |store| store.performance(user, since, now_ms)).await?.ok_or_else(|| ApiError::NotFound(format!("user {user}")))?;
    let mut body = performance_json(&result);
    if let Some(fields) = body.as_object_mut() {
        fields.insert("userId".to_owned(), json!(user.to_string()));
        fields.insert("period".to_owned(), json!(period));
        let daily: Vec<Value> = result.daily_returns.iter().map(|day| json!({"date": day.date, "return": ratio(Some(day.value))})).collect();
        fields.insert("dailyReturns".to_owned(), json!(daily));
        let history: Vec<Value> =
            result.history.iter().map(|(at, value)| json!({"timestamp": Timestamp::from_millis(*at).to_string(), "value": value.to_string()})).collect();
        fields.insert("valueHistory".to_owned(), json!(history));
    }
    Ok(Json(body))
}

/// `GET /v1/wallet/transactions?userId=&limit=&pageToken=`: the cash statement, newest
/// first, each line with the balance after it.
pub(crate) async fn wallet(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Query(params): Query<UserParams>,
) -> Result<Json<Value>, ApiError> {
    let user = required_user(&caller, params.user_id.as_deref())?;
    let limit = bounded(params.limit.as_deref(), 100, tradecraft_store::PAGE_LIMIT_MAX, "limit")?;
    let token = params.page_token;
    let page = ask(&state, move |store| store.wallet_transactions(user, limit, token.as_deref())).await?;
    Ok(Json(json!({
        "userId": user.to_string(),
        "transactions": page.transactions.iter().map(|line| json!({
            "id": line.id.to_string(),
            "type": line.kind,
            "amount": line.amount.to_string(),
            "balanceAfter": line.balance_after.to_string(),
            "reference": line.reference,
            "symbol": line.symbol,
            "timestamp": Timestamp::from_millis(line.created_at_ms).to_string(),
        })).collect::<Vec<_>>(),
        "pagination": pagination(page.next_page_token, page.total_count),
    })))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AnalyticsParams {
    symbol: Option<String>,
    time_window: Option<String>,
}

/// `GET /v1/analytics/volume?symbol=&timeWindow=1h|24h|7d` (seed 000 section 6.4).
pub(crate) async fn volume(State(state): State<Shared>, Query(params): Query<AnalyticsParams>) -> Result<Json<Value>, ApiError> {
    let (name, span) = window(params.time_window.as_deref())?;
    let symbol = symbol_filter(params.symbol)?;
    let since = now().millis() - span;
    let filter = symbol.clone();
    let mut activity = ask(&state, move |store| store.activity(filter.as_deref(), since)).await?;
    if let (Some(symbol), true) = (symbol, activity.is_empty()) {
        activity.push(SymbolActivity { symbol, trade_count: 0, volume: 0, notional: 0 });
    }
    let data: Vec<Value> = activity.iter().map(|entry| json!({"symbol": entry.symbol, "volume": decimal(entry.volume, 4), "timeWindow": name})).collect();
    Ok(Json(json!({"data": data})))
}

/// `GET /v1/analytics/metrics?symbol=&timeWindow=`: trade count, volume, notional and
/// VWAP per symbol, for one window or all three.
pub(crate) async fn metrics(State(state): State<Shared>, Query(params): Query<AnalyticsParams>) -> Result<Json<Value>, ApiError> {
    let windows: Vec<(&str, i64)> = match params.time_window.as_deref() {
        Some(text) => vec![window(Some(text))?],
        None => WINDOWS.to_vec(),
    };
    let symbol = symbol_filter(params.symbol)?;
    let now_ms = now().millis();
    let spans: Vec<i64> = windows.iter().map(|(_, span)| *span).collect();
    let results = ask(&state, move |store| spans.iter().map(|span| store.activity(symbol.as_deref(), now_ms - span)).collect::<Result<Vec<_>, _>>()).await?;
    let body: Vec<Value> = windows
        .iter()
        .zip(&results)
        .map(|((name, _), activity)| {
            json!({
                "timeWindow": name,
                "tradeCount": activity.iter().map(|entry| entry.trade_count).sum::<u64>(),
                "notional": decimal(activity.iter().map(|entry| entry.notional).sum(), 8),
                "symbols": activity.iter().map(|entry| json!({
                    "symbol": entry.symbol,
                    "tradeCount": entry.trade_count,
                    "volume": decimal(entry.volume, 4),
                    "notional": decimal(entry.notional, 8),
                    "vwap": entry.vwap().map(|price| price.to_string()),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(Json(json!({"windows": body})))
}

/// `GET /v1/leaderboard?period=&limit=&pageToken=`: accounts ranked by time-weighted
/// return over the period, with Sharpe and drawdown.
pub(crate) async fn leaderboard(State(state): State<Shared>, Query(params): Query<UserParams>) -> Result<Json<Value>, ApiError> {
    let now_ms = now().millis();
    let (period, since) = period_start(params.period.as_deref(), now_ms)?;
    let limit = bounded(params.limit.as_deref(), 50, tradecraft_store::PAGE_LIMIT_MAX, "limit")?;
    let token = params.page_token;
    let page = ask(&state, move |store| store.leaderboard(since, now_ms, limit, token.as_deref())).await?;
    let entries: Vec<Value> = page
        .entries
        .iter()
        .map(|entry| {
            let mut row = performance_json(&entry.performance);
            if let Some(fields) = row.as_object_mut() {
                fields.insert("rank".to_owned(), json!(entry.rank));
                fields.insert("userId".to_owned(), json!(entry.user_id.to_string()));
            }
            row
        })
        .collect();
    Ok(Json(json!({"period": period, "entries": entries, "pagination": pagination(page.next_page_token, page.total_count)})))
}
