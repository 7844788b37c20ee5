//! Routes answered from the read store (SQLite or PostgreSQL): trade history search,
//! positions and performance, the cash statement, analytics and the leaderboard. The
//! store is fed by the projector, so these see an event shortly after the engine applied
//! it (`tradecraft_projection_lag_records` says how far behind).

use crate::extract::Query;
use axum::Json;
use axum::extract::{Extension, State};
use serde::Deserialize;
use tradecraft_store::{Store, StoreError, SymbolActivity, TradeQuery, TradeRecord, decimal};
use utoipa::IntoParams;

use crate::responses::{
    DailyReturn, ErrorBody, Figures, Leaderboard, LeaderboardEntry, Metrics, Pagination, Performance, Position, Positions, Statement, StatementLine,
    SymbolMetrics, Trade, TradePage, ValuePoint, Volume, VolumeEntry, WindowMetrics,
};
use tradecraft_types::{Money, Timestamp};

use crate::auth::{MaybeCaller, account_for};
use crate::routes::{bounded, now, parse_id, short_text};
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

/// Runs a store query on the blocking pool once the read store holds every event of the
/// commands the engine had taken when the request came (read your writes: an order the
/// API said was filled is in the positions, a refusal's alert is in the alerts), waiting
/// at most [`READ_WAIT`] for the projector.
pub(crate) async fn ask<T: Send + 'static>(state: &AppState, question: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static) -> Result<T, ApiError> {
    let target = state.engine.status().next_command.load(std::sync::atomic::Ordering::Relaxed);
    let local = state.projection_metrics.clone();
    ask_now(state, move |store| {
        let reached = match local {
            Some(metrics) => metrics.progress.wait_for(target, READ_WAIT),
            None => projected_through(store, target),
        };
        if !reached {
            tracing::debug!(target, "the read store is behind the engine: answering from what it has");
        }
        question(store)
    })
    .await
}

/// The longest a read waits for the projector before answering from what the store has.
const READ_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// Waits for a projector in another process (its mark is in the store), polling.
fn projected_through(store: &Store, target: u64) -> bool {
    let deadline = std::time::Instant::now() + READ_WAIT;
    loop {
        match store.applied_through() {
            Ok(applied) if applied >= target => return true,
            Err(_) => return false,
            Ok(_) if std::time::Instant::now() >= deadline => return false,
            Ok(_) => std::thread::sleep(std::time::Duration::from_millis(5)),
        }
    }
}

/// Runs a store query on the blocking pool at once: for what the API writes itself
/// (identities, settings), which the projector does not feed.
pub(crate) async fn ask_now<T: Send + 'static>(
    state: &AppState,
    question: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    let store = store(state)?;
    // What the store writes for a request holding an idempotency key marks the key applied.
    let claim = crate::idempotency::current();
    tokio::task::spawn_blocking(move || tradecraft_store::marking(claim, || question(&store)))
        .await
        .map_err(|error| ApiError::Internal(error.to_string()))?
        .map_err(|error| match error {
            StoreError::Invalid(message) => ApiError::bad_request("invalid_parameter", message),
            StoreError::InvalidParameter(parameter, message) => ApiError::bad_parameter(parameter, message),
            // The database's words name its tables and columns: they stay in the log.
            StoreError::Conflict(message) => {
                tracing::info!(conflict = %message, "a write conflicted with a stored row");
                ApiError::Rejected {
                    status: axum::http::StatusCode::CONFLICT,
                    code: "conflict",
                    message: "this conflicts with something stored meanwhile; read it again and retry".to_owned(),
                }
            }
            StoreError::Quota(message) => ApiError::Rejected { status: axum::http::StatusCode::CONFLICT, code: "too_many", message },
            StoreError::Taken { code, message } => ApiError::Rejected { status: axum::http::StatusCode::CONFLICT, code, message },
            other => {
                tracing::error!(error = %other, "read store query failed");
                ApiError::Internal("the read store failed to answer".to_owned())
            }
        })
}

/// The account a read is about: `userId`, or the caller's own; 403 for another's.
pub(crate) fn required_user(caller: &MaybeCaller, user_id: Option<&str>) -> Result<u64, ApiError> {
    let requested = user_id.map(|text| parse_id("userId", text)).transpose()?;
    account_for(caller, requested)
}

fn one_of(name: &str, value: Option<String>, allowed: &[&str]) -> Result<Option<String>, ApiError> {
    match value {
        Some(value) if !allowed.contains(&value.as_str()) => Err(ApiError::bad_parameter(name, format!("{name} must be one of {}", allowed.join(", ")))),
        other => Ok(other),
    }
}

/// A `startDate`/`endDate`: ISO 8601, or a date alone (its first millisecond for a
/// start, its last for an end).
fn date(name: &str, text: Option<&str>, end: bool) -> Result<Option<i64>, ApiError> {
    let Some(text) = text else { return Ok(None) };
    let millis = Timestamp::parse(text).map_err(|_| ApiError::bad_parameter(name, format!("{name} must be an ISO 8601 date or time, not {text:?}")))?.millis();
    Ok(Some(if end && text.len() == 10 { millis + DAY_MS - 1 } else { millis }))
}

fn window(text: Option<&str>) -> Result<(&'static str, i64), ApiError> {
    let text = text.unwrap_or("24h");
    WINDOWS.iter().copied().find(|(name, _)| *name == text).ok_or_else(|| ApiError::bad_parameter("timeWindow", "timeWindow must be one of 1h, 24h, 7d"))
}

fn period_start(text: Option<&str>, now_ms: i64) -> Result<(String, i64), ApiError> {
    let text = text.unwrap_or("30d");
    if text == "all" {
        return Ok((text.to_owned(), i64::MIN / 2));
    }
    let (name, span) =
        PERIODS.iter().find(|(name, _)| *name == text).ok_or_else(|| ApiError::bad_parameter("period", "period must be one of 1d, 7d, 30d, 90d, 1y, all"))?;
    Ok(((*name).to_owned(), now_ms - span))
}

fn symbol_filter(text: Option<String>) -> Result<Option<String>, ApiError> {
    text.map(|text| crate::routes::parse_symbol(&text).map(|symbol| symbol.to_string())).transpose()
}

fn pagination(next: Option<String>, total: u64) -> Pagination {
    Pagination { next_page_token: next, total_count: total }
}

/// A statistic as shown: finite, and rounded to 12 decimal places, so the binary
/// arithmetic's last bits do not show (-0.00015, not -0.00014999999999998348).
pub(crate) fn ratio(value: Option<f64>) -> Option<f64> {
    const SCALE: f64 = 1e12;
    value.filter(|value| value.is_finite()).map(|value| (value * SCALE).round() / SCALE + 0.0)
}

fn figures(performance: &tradecraft_store::Performance) -> Figures {
    Figures {
        start_value: performance.start_value.to_string(),
        end_value: performance.end_value.to_string(),
        net_deposits: performance.net_flows.to_string(),
        total_return: ratio(Some(performance.total_return)),
        volatility: ratio(performance.volatility),
        sharpe: ratio(performance.sharpe),
        sortino: ratio(performance.sortino),
        max_drawdown: ratio(Some(performance.max_drawdown)),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TradeSearchParams {
    /// The account; default the caller's own.
    #[param(value_type = Option<String>, pattern = "^(0|[1-9][0-9]{0,18})$")]
    user_id: Option<String>,
    #[param(value_type = Option<String>, pattern = "^[A-Z0-9._-]{1,15}$")]
    symbol: Option<String>,
    #[param(value_type = Option<String>, pattern = "^(BUY|SELL)$")]
    side: Option<String>,
    #[param(value_type = Option<String>, pattern = "^(EXECUTED|FAILED_INSUFFICIENT_FUNDS|FAILED_INSUFFICIENT_SHARES|FAILED_OTHER)$")]
    status: Option<String>,
    /// ISO 8601 date or time, inclusive.
    #[param(value_type = Option<String>, pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2}))?$")]
    start_date: Option<String>,
    /// ISO 8601 date (the whole day) or time, inclusive.
    #[param(value_type = Option<String>, pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2}))?$")]
    end_date: Option<String>,
    /// Words that must all appear in `failureReason` (full text).
    #[param(value_type = Option<String>, max_length = 200)]
    q: Option<String>,
    /// 1 to 1000, default 100.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
    /// `pagination.nextPageToken` of the previous page.
    #[param(value_type = Option<String>, max_length = 200)]
    page_token: Option<String>,
}

pub(crate) fn trade_of(trade: &TradeRecord) -> Trade {
    Trade {
        event_id: trade.event_id.clone(),
        order_id: trade.order_id.to_string(),
        user_id: trade.user_id.to_string(),
        symbol: trade.symbol.clone(),
        quantity: trade.quantity.to_string(),
        side: trade.side.clone(),
        status: trade.status.clone(),
        execution_price: trade.execution_price.map(|price| price.to_string()),
        execution_timestamp: Timestamp::from_millis(trade.executed_at_ms).to_string(),
        failure_reason: trade.failure_reason.clone(),
        trade_id: trade.trade_id.map(|id| id.to_string()),
        fee: trade.fee.to_string(),
        liquidity: trade.liquidity.clone(),
    }
}

/// Trade history (seed 000 6.3): one account's executions and failed orders, newest first.
#[utoipa::path(get, path = "/v1/trades/search", tag = "portfolio", params(TradeSearchParams), responses(
    (status = 200, description = "A page of trades and how many match.", body = TradePage),
    (status = 400, description = "A bad date, parameter or page token.", body = ErrorBody),
))]
pub(crate) async fn search_trades(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Query(params): Query<TradeSearchParams>,
) -> Result<Json<TradePage>, ApiError> {
    let start_ms = date("startDate", params.start_date.as_deref(), false)?;
    let end_ms = date("endDate", params.end_date.as_deref(), true)?;
    if let (Some(start), Some(end)) = (start_ms, end_ms)
        && start > end
    {
        return Err(ApiError::bad_parameter("startDate", "startDate is after endDate"));
    }
    if let Some(text) = &params.q {
        crate::extract::check_text(text, 200).map_err(|message| ApiError::bad_parameter("q", format!("q: {message}")))?;
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
        page_token: short_text("pageToken", params.page_token.as_deref(), 200)?.map(str::to_owned),
        oldest_first: false,
    };
    let page = ask(&state, move |store| store.search_trades(&query)).await?;
    Ok(Json(TradePage { trades: page.trades.iter().map(trade_of).collect(), pagination: pagination(page.next_page_token, page.total_count) }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserParams {
    /// The account; default the caller's own.
    #[param(value_type = Option<String>, pattern = "^(0|[1-9][0-9]{0,18})$")]
    user_id: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PerformanceParams {
    /// The account; default the caller's own.
    #[param(value_type = Option<String>, pattern = "^(0|[1-9][0-9]{0,18})$")]
    user_id: Option<String>,
    /// `1d`, `7d`, `30d` (default), `90d`, `1y` or `all`.
    #[param(value_type = Option<String>, pattern = "^(1d|7d|30d|90d|1y|all)$")]
    period: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StatementParams {
    /// The account; default the caller's own.
    #[param(value_type = Option<String>, pattern = "^(0|[1-9][0-9]{0,18})$")]
    user_id: Option<String>,
    /// 1 to 1000, default 100.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
    /// `pagination.nextPageToken` of the previous page.
    #[param(value_type = Option<String>, max_length = 200)]
    page_token: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LeaderboardParams {
    /// `1d`, `7d`, `30d` (default), `90d`, `1y` or `all`.
    #[param(value_type = Option<String>, pattern = "^(1d|7d|30d|90d|1y|all)$")]
    period: Option<String>,
    /// 1 to 1000, default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
    /// `pagination.nextPageToken` of the previous page.
    #[param(value_type = Option<String>, max_length = 200)]
    page_token: Option<String>,
}

pub(crate) fn position_of(position: &tradecraft_store::PositionRecord) -> Position {
    let money = |value: Option<Money>| value.map(|value| value.to_string());
    Position {
        symbol: position.symbol.clone(),
        quantity: position.quantity.to_string(),
        average_cost: position.average_cost.map(|price| price.to_string()),
        cost_basis: position.cost.to_string(),
        last_price: position.last_price.map(|price| price.to_string()),
        market_value: money(position.market_value),
        unrealized_pnl: money(position.unrealized_pnl),
        realized_pnl: position.realized_pnl.to_string(),
        fees: position.fees.to_string(),
        updated_at: Timestamp::from_millis(position.updated_at_ms).to_string(),
    }
}

/// Positions with FIFO cost basis, realised and unrealised P&L at the latest price (the market's feed between trades).
#[utoipa::path(get, path = "/v1/portfolio/positions", tag = "portfolio", params(UserParams), responses(
    (status = 200, description = "Cash, value and positions.", body = Positions),
    (status = 400, description = "A bad userId.", body = ErrorBody),
    (status = 404, description = "Unknown user.", body = ErrorBody),
))]
pub(crate) async fn positions(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Query(params): Query<UserParams>,
) -> Result<Json<Positions>, ApiError> {
    let user = required_user(&caller, params.user_id.as_deref())?;
    let (account, positions) = ask(&state, move |store| Ok((store.account(user)?, store.positions(user)?))).await?;
    let account = account.ok_or_else(|| ApiError::NotFound(format!("user {user}")))?;
    let held: i128 = positions.iter().filter_map(|position| position.market_value).map(|value| i128::from(value.raw())).sum();
    Ok(Json(Positions {
        user_id: user.to_string(),
        cash_balance: account.cash.to_string(),
        market_value: decimal(held, 8),
        total_value: decimal(held + i128::from(account.cash.raw()), 8),
        positions: positions.iter().map(position_of).collect(),
    }))
}

/// Time-weighted return, daily returns, volatility, Sharpe, Sortino and maximum drawdown
/// (365-day annualisation, zero risk-free rate).
#[utoipa::path(get, path = "/v1/portfolio/performance", tag = "portfolio", params(PerformanceParams), responses(
    (status = 200, description = "Performance over the period.", body = Performance),
    (status = 400, description = "A bad userId or period.", body = ErrorBody),
    (status = 404, description = "Unknown user.", body = ErrorBody),
))]
pub(crate) async fn performance(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Query(params): Query<PerformanceParams>,
) -> Result<Json<Performance>, ApiError> {
    let user = required_user(&caller, params.user_id.as_deref())?;
    let now_ms = now().millis();
    let (period, since) = period_start(params.period.as_deref(), now_ms)?;
    let (result, funded) = funded_performance(&state, user, since, now_ms).await?.ok_or_else(|| ApiError::NotFound(format!("user {user}")))?;
    Ok(Json(Performance {
        user_id: user.to_string(),
        period,
        figures: figures(&result),
        daily_returns: result.daily_returns.iter().map(|day| DailyReturn { date: day.date.clone(), value: ratio(Some(day.value)) }).collect(),
        value_history: funded
            .into_iter()
            .map(|(at, value, _)| ValuePoint { timestamp: Timestamp::from_millis(at).to_string(), value: value.to_string() })
            .collect(),
    }))
}

/// An account's performance over the period, and the values to chart ([`funded_history`]);
/// `None` for an unknown account.
pub(crate) async fn funded_performance(
    state: &AppState,
    user: u64,
    since_ms: i64,
    now_ms: i64,
) -> Result<Option<(tradecraft_store::Performance, Vec<(i64, Money, Money)>)>, ApiError> {
    let (performance, opening) = ask(state, move |store| Ok((store.performance(user, since_ms, now_ms)?, store.opening_deposit(user)?))).await?;
    Ok(performance.map(|performance| {
        let funded = funded_history(&performance.history, &performance.history_flows, opening);
        (performance, funded)
    }))
}

/// The values to chart (time, value, net deposits since the first), from when the account
/// first held anything: an account opens empty and is funded at once, so the empty moment
/// is left out (every chart rose from 0) and the series starts with the opening deposit,
/// when that is in the period.
pub(crate) fn funded_history(history: &[(i64, Money)], flows: &[Money], opening: Option<(i64, Money)>) -> Vec<(i64, Money, Money)> {
    let empty = history.iter().take_while(|(_, value)| value.raw() == 0).count();
    let mut points = Vec::new();
    if let (Some((first_empty, _)), Some((funded_at, funded))) = (history.first().filter(|_| empty > 0), opening)
        && funded_at >= *first_empty
        && history.get(empty).is_none_or(|(next, _)| funded_at <= *next)
    {
        let before = flows.get(empty - 1).copied().unwrap_or(Money::ZERO);
        points.push((funded_at, funded, before.checked_add(funded).unwrap_or(before)));
    }
    points.extend(history.iter().zip(flows).skip(empty).map(|((at, value), flows)| (*at, *value, *flows)));
    points
}

/// The cash statement: deposits, withdrawals, buys, sells and fees, newest first, each
/// with the balance after it.
#[utoipa::path(get, path = "/v1/wallet/transactions", tag = "portfolio", params(StatementParams), responses(
    (status = 200, description = "A page of the statement.", body = Statement),
    (status = 400, description = "A bad userId or paging.", body = ErrorBody),
))]
pub(crate) async fn wallet(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Query(params): Query<StatementParams>,
) -> Result<Json<Statement>, ApiError> {
    let user = required_user(&caller, params.user_id.as_deref())?;
    let limit = bounded(params.limit.as_deref(), 100, tradecraft_store::PAGE_LIMIT_MAX, "limit")?;
    let token = short_text("pageToken", params.page_token.as_deref(), 200)?.map(str::to_owned);
    let page = ask(&state, move |store| store.wallet_transactions(user, limit, token.as_deref())).await?;
    Ok(Json(Statement {
        user_id: user.to_string(),
        transactions: page.transactions.iter().map(statement_line).collect(),
        pagination: pagination(page.next_page_token, page.total_count),
    }))
}

pub(crate) fn statement_line(line: &tradecraft_store::WalletRecord) -> StatementLine {
    StatementLine {
        id: line.id.to_string(),
        kind: line.kind.clone(),
        amount: line.amount.to_string(),
        balance_after: line.balance_after.to_string(),
        reference: line.reference.clone(),
        symbol: line.symbol.clone(),
        timestamp: Timestamp::from_millis(line.created_at_ms).to_string(),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AnalyticsParams {
    /// Only this symbol.
    #[param(value_type = Option<String>, pattern = "^[A-Z0-9._-]{1,15}$")]
    symbol: Option<String>,
    /// `1h`, `24h` or `7d`.
    #[param(value_type = Option<String>, pattern = "^(1h|24h|7d)$")]
    time_window: Option<String>,
}

/// Traded volume per symbol over a window (seed 000 6.4; default 24h).
#[utoipa::path(get, path = "/v1/analytics/volume", tag = "analytics", params(AnalyticsParams), responses(
    (status = 200, description = "Volume per symbol.", body = Volume),
    (status = 400, description = "A bad timeWindow or symbol.", body = ErrorBody),
))]
pub(crate) async fn volume(State(state): State<Shared>, Query(params): Query<AnalyticsParams>) -> Result<Json<Volume>, ApiError> {
    let (name, span) = window(params.time_window.as_deref())?;
    let symbol = symbol_filter(params.symbol)?;
    let since = now().millis() - span;
    let filter = symbol.clone();
    let mut activity = ask(&state, move |store| store.activity(filter.as_deref(), since)).await?;
    if let (Some(symbol), true) = (symbol, activity.is_empty()) {
        activity.push(SymbolActivity { symbol, trade_count: 0, volume: 0, notional: 0 });
    }
    let data =
        activity.iter().map(|entry| VolumeEntry { symbol: entry.symbol.clone(), volume: decimal(entry.volume, 4), time_window: name.to_owned() }).collect();
    Ok(Json(Volume { data }))
}

/// Trade count, volume, notional and VWAP per symbol, for one window or all three.
#[utoipa::path(get, path = "/v1/analytics/metrics", tag = "analytics", params(AnalyticsParams), responses(
    (status = 200, description = "Metrics per window.", body = Metrics),
    (status = 400, description = "A bad timeWindow or symbol.", body = ErrorBody),
))]
pub(crate) async fn metrics(State(state): State<Shared>, Query(params): Query<AnalyticsParams>) -> Result<Json<Metrics>, ApiError> {
    let windows: Vec<(&str, i64)> = match params.time_window.as_deref() {
        Some(text) => vec![window(Some(text))?],
        None => WINDOWS.to_vec(),
    };
    let symbol = symbol_filter(params.symbol)?;
    let now_ms = now().millis();
    let spans: Vec<i64> = windows.iter().map(|(_, span)| *span).collect();
    let results = ask(&state, move |store| spans.iter().map(|span| store.activity(symbol.as_deref(), now_ms - span)).collect::<Result<Vec<_>, _>>()).await?;
    let windows = windows
        .iter()
        .zip(&results)
        .map(|((name, _), activity)| WindowMetrics {
            time_window: (*name).to_owned(),
            trade_count: activity.iter().map(|entry| entry.trade_count).sum::<u64>(),
            notional: decimal(activity.iter().map(|entry| entry.notional).sum(), 8),
            symbols: activity
                .iter()
                .map(|entry| SymbolMetrics {
                    symbol: entry.symbol.clone(),
                    trade_count: entry.trade_count,
                    volume: decimal(entry.volume, 4),
                    notional: decimal(entry.notional, 8),
                    vwap: entry.vwap().map(|price| price.to_string()),
                })
                .collect(),
        })
        .collect();
    Ok(Json(Metrics { windows }))
}

/// Users ranked by time-weighted return over the period, with Sharpe and maximum drawdown:
/// default accounts and accounts opened by the operator; not the house, practice or
/// contest accounts (a contest ranks its own), nor an account never funded. Anyone may read
/// it; a private profile's entry is ranked without its user id or name, except for its own
/// user and for admins (nothing of a private profile is shown to others).
#[utoipa::path(get, path = "/v1/leaderboard", tag = "analytics", params(LeaderboardParams), responses(
    (status = 200, description = "A page of the ranking.", body = Leaderboard),
    (status = 400, description = "A bad period or paging.", body = ErrorBody),
))]
pub(crate) async fn leaderboard(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Query(params): Query<LeaderboardParams>,
) -> Result<Json<Leaderboard>, ApiError> {
    let now_ms = now().millis();
    let (period, since) = period_start(params.period.as_deref(), now_ms)?;
    let limit = bounded(params.limit.as_deref(), 50, tradecraft_store::PAGE_LIMIT_MAX, "limit")?;
    let token = short_text("pageToken", params.page_token.as_deref(), 200)?.map(str::to_owned);
    let page = ask(&state, move |store| store.leaderboard(since, now_ms, limit, token.as_deref())).await?;
    let viewer = caller.as_ref().and_then(|caller| caller.user_id);
    let names = crate::social::names_seen_by(&state, viewer, page.entries.iter().map(|entry| entry.user_id).collect()).await?;
    // Only public profiles are named to others; the caller always finds themselves.
    let shown = |user: u64| names.contains_key(&user) || caller.as_ref().is_some_and(|caller| caller.is_admin() || caller.user_id == Some(user));
    let entries = page
        .entries
        .iter()
        .map(|entry| LeaderboardEntry {
            rank: entry.rank,
            user_id: shown(entry.user_id).then(|| entry.user_id.to_string()),
            display_name: names.get(&entry.user_id).cloned(),
            figures: figures(&entry.performance),
        })
        .collect();
    Ok(Json(Leaderboard { period, entries, pagination: pagination(page.next_page_token, page.total_count) }))
}

#[cfg(test)]
mod tests {
    use tradecraft_types::Money;

    use super::{funded_history, ratio};

    #[test]
    fn statistics_are_shown_without_the_arithmetics_last_bits() {
        assert_eq!(ratio(Some(-0.000_149_999_999_999_983_48)), Some(-0.00015));
        assert_eq!(ratio(Some(0.1 + 0.2)), Some(0.3));
        assert_eq!(ratio(Some(-1e-15)).map(|value| value.to_string()), Some("0".to_owned()), "no negative zero");
        assert_eq!(ratio(Some(f64::NAN)), None);
        assert_eq!(ratio(Some(1.234_567_890_123)), Some(1.234_567_890_123));
    }

    /// An account opened empty at 1,000 and funded at 1,001, then valued at 5,000: the
    /// chart starts with the opening deposit; a period starting later is left as it is.
    #[test]
    fn history_starts_with_the_opening_deposit_not_the_empty_account() {
        let units = Money::from_units;
        let history = [(1_000, Money::ZERO), (5_000, units(99_998))];
        let flows = [Money::ZERO, units(100_000)];
        assert_eq!(
            funded_history(&history, &flows, Some((1_001, units(100_000)))),
            [(1_001, units(100_000), units(100_000)), (5_000, units(99_998), units(100_000))]
        );
        assert_eq!(funded_history(&history, &flows, None), [(5_000, units(99_998), units(100_000))], "never funded by a deposit: the empty moment still goes");
        let later = [(3_000, units(100_001)), (5_000, units(99_998))];
        let flat = [Money::ZERO, Money::ZERO];
        assert_eq!(funded_history(&later, &flat, Some((1_001, units(100_000)))), [(3_000, units(100_001), Money::ZERO), (5_000, units(99_998), Money::ZERO)]);
    }
}
