//! `/v1/market/...`: listed instruments, the book, the ticker, recent trades and candles.
//! Public: no credentials needed.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use tradecraft_market::Interval;
use tradecraft_types::{Price, Symbol, Timestamp};
use utoipa::IntoParams;

use crate::extract::Query;
use crate::responses::{BookLevel, Candle, Candles, ErrorBody, Instrument, MarketTrade, MarketTrades, OrderBook, Symbols, Ticker};
use crate::routes::{bounded, now, parse_symbol, query};
use crate::{ApiError, AppState, Shared};

/// Most book levels and trades one request returns.
const DEPTH_MAX: usize = 100;
const TRADES_MAX: usize = 1_000;

async fn known_symbol(state: &AppState, text: &str) -> Result<Symbol, ApiError> {
    let symbol = parse_symbol(text)?;
    if query(state, move |engine| engine.instrument(symbol).is_some()).await? { Ok(symbol) } else { Err(ApiError::NotFound(format!("symbol {symbol}"))) }
}

/// Listed instruments with their grids and last price.
#[utoipa::path(get, path = "/v1/market/symbols", tag = "market", responses((status = 200, description = "Instruments.", body = Symbols)))]
pub(crate) async fn symbols(State(state): State<Shared>) -> Result<Json<Symbols>, ApiError> {
    let (calendar, now) = (state.calendar.clone(), crate::routes::now());
    let listed = query(&state, move |engine| engine.symbols().filter_map(|symbol| instrument_of(engine, symbol, &calendar, now)).collect::<Vec<_>>()).await?;
    Ok(Json(Symbols { symbols: listed }))
}

fn instrument_of(engine: &tradecraft_engine::Engine, symbol: Symbol, calendar: &tradecraft_market::SessionCalendar, now: Timestamp) -> Option<Instrument> {
    let (spec, halted) = engine.instrument(symbol)?;
    let session = calendar.session(symbol);
    let next = session.next_open_and_close(now);
    Some(Instrument {
        symbol: spec.symbol.as_str().to_owned(),
        tick_size: spec.tick_size.to_string(),
        lot_size: spec.lot_size.to_string(),
        min_quantity: spec.min_quantity.to_string(),
        halted,
        session_open: engine.session_open(symbol).unwrap_or(true),
        session: session.to_string(),
        next_open: next.map(|(open, _)| open.to_string()),
        next_close: next.map(|(_, close)| close.to_string()),
        last_price: engine.last_price(symbol).map(|price: Price| price.to_string()),
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct DepthQuery {
    /// Levels per side, 1 to 100, default 10.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    depth: Option<String>,
}

/// Aggregated depth: price levels, best first.
#[utoipa::path(get, path = "/v1/market/{symbol}/orderbook", tag = "market",
    params(("symbol" = String, Path, pattern = "^[A-Z0-9._-]{1,15}$", description = "An instrument symbol such as MOCKAAPL."), DepthQuery),
    responses(
        (status = 200, description = "Bids and asks, best first.", body = OrderBook),
        (status = 400, description = "Bad symbol or depth.", body = ErrorBody),
        (status = 404, description = "Unknown symbol.", body = ErrorBody),
    ))]
pub(crate) async fn orderbook(State(state): State<Shared>, Path(symbol): Path<String>, Query(params): Query<DepthQuery>) -> Result<Json<OrderBook>, ApiError> {
    let depth = bounded(params.depth.as_deref(), 10, DEPTH_MAX, "depth")?;
    let symbol = parse_symbol(&symbol)?;
    let book = query(&state, move |engine| engine.depth(symbol, depth)).await?.ok_or_else(|| ApiError::NotFound(format!("symbol {symbol}")))?;
    let levels = |levels: &[tradecraft_engine::BookLevel]| {
        levels.iter().map(|level| BookLevel { price: level.price.to_string(), quantity: level.quantity.to_string(), orders: level.orders }).collect()
    };
    Ok(Json(OrderBook { symbol: symbol.as_str().to_owned(), sequence: book.sequence, bids: levels(&book.bids), asks: levels(&book.asks) }))
}

/// Last price, best bid and ask, and the last 24 hours' open, high, low, volume and change.
#[utoipa::path(get, path = "/v1/market/{symbol}/ticker", tag = "market",
    params(("symbol" = String, Path, pattern = "^[A-Z0-9._-]{1,15}$", description = "An instrument symbol such as MOCKAAPL.")),
    responses(
        (status = 200, description = "The ticker.", body = Ticker),
        (status = 400, description = "Not a symbol.", body = ErrorBody),
        (status = 404, description = "Unknown symbol.", body = ErrorBody),
    ))]
pub(crate) async fn ticker(State(state): State<Shared>, Path(symbol): Path<String>) -> Result<Json<Ticker>, ApiError> {
    let symbol = known_symbol(&state, &symbol).await?;
    let top = query(&state, move |engine| engine.best_bid_offer(symbol)).await?.unwrap_or((None, None));
    let latest = crate::reads::ask(&state, |store| store.latest_prices()).await?.remove(symbol.as_str());
    let view = state.view.lock().map_err(|_| ApiError::Internal("view lock".to_owned()))?;
    let ticker = view.candles.ticker(symbol, now().millis(), top.0.map(|level| level.price), top.1.map(|level| level.price));
    let price = |price: Option<Price>| price.map(|price| price.to_string());
    Ok(Json(Ticker {
        symbol: symbol.as_str().to_owned(),
        price: price(latest),
        last: price(ticker.last),
        bid: price(ticker.bid),
        ask: price(ticker.ask),
        open_24h: price(ticker.open_24h),
        high_24h: price(ticker.high_24h),
        low_24h: price(ticker.low_24h),
        volume_24h: ticker.volume_24h.to_string(),
        change_24h: price(ticker.change_24h),
        change_percent_24h: ticker.change_percent_24h,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct TradesQuery {
    /// 1 to 1000, default 100.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
}

/// Recent trades, newest first.
#[utoipa::path(get, path = "/v1/market/{symbol}/trades", tag = "market",
    params(("symbol" = String, Path, pattern = "^[A-Z0-9._-]{1,15}$", description = "An instrument symbol such as MOCKAAPL."), TradesQuery),
    responses(
        (status = 200, description = "Trades, newest first.", body = MarketTrades),
        (status = 400, description = "Bad symbol or limit.", body = ErrorBody),
        (status = 404, description = "Unknown symbol.", body = ErrorBody),
    ))]
pub(crate) async fn trades(State(state): State<Shared>, Path(symbol): Path<String>, Query(params): Query<TradesQuery>) -> Result<Json<MarketTrades>, ApiError> {
    let limit = bounded(params.limit.as_deref(), 100, TRADES_MAX, "limit")?;
    let symbol = known_symbol(&state, &symbol).await?;
    let view = state.view.lock().map_err(|_| ApiError::Internal("view lock".to_owned()))?;
    let recent = view
        .trades
        .get(&symbol)
        .map(|trades| {
            trades
                .iter()
                .rev()
                .take(limit)
                .map(|trade| MarketTrade {
                    trade_id: trade.trade_id.to_string(),
                    price: trade.price.to_string(),
                    quantity: trade.quantity.to_string(),
                    taker_side: trade.taker_side.as_str().to_owned(),
                    timestamp: trade.timestamp.to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Json(MarketTrades { symbol: symbol.as_str().to_owned(), trades: recent }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct CandleQuery {
    /// `1m` (default), `5m`, `15m`, `1h` or `1d`.
    #[param(value_type = Option<String>, pattern = "^(1m|5m|15m|1h|1d)$")]
    interval: Option<String>,
    /// Candles starting at or after (ISO 8601).
    #[param(value_type = Option<String>, pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2}))?$")]
    start: Option<String>,
    /// Candles starting at or before (ISO 8601).
    #[param(value_type = Option<String>, pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2}))?$")]
    end: Option<String>,
    /// 1 to 1500, default 500 (the most recent).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1500)]
    limit: Option<String>,
}

/// OHLCV candles from the trades, oldest first.
#[utoipa::path(get, path = "/v1/market/{symbol}/candles", tag = "market",
    params(("symbol" = String, Path, pattern = "^[A-Z0-9._-]{1,15}$", description = "An instrument symbol such as MOCKAAPL."), CandleQuery),
    responses(
        (status = 200, description = "Candles, oldest first.", body = Candles),
        (status = 400, description = "Bad interval, date or limit.", body = ErrorBody),
        (status = 404, description = "Unknown symbol.", body = ErrorBody),
    ))]
pub(crate) async fn candles(State(state): State<Shared>, Path(symbol): Path<String>, Query(params): Query<CandleQuery>) -> Result<Json<Candles>, ApiError> {
    let interval_text = params.interval.as_deref().unwrap_or("1m");
    let interval = Interval::parse(interval_text).ok_or_else(|| ApiError::bad_parameter("interval", "interval must be one of 1m, 5m, 15m, 1h, 1d"))?;
    let time = |name: &str, text: Option<&str>, default: i64| -> Result<i64, ApiError> {
        Ok(crate::routes::parse_time(name, text)?.map_or(default, Timestamp::millis))
    };
    let start = time("start", params.start.as_deref(), i64::MIN)?;
    let end = time("end", params.end.as_deref(), i64::MAX)?;
    if start > end {
        return Err(ApiError::bad_parameter("start", "start is after end"));
    }
    let limit = bounded(params.limit.as_deref(), 500, 1_500, "limit")?;
    let symbol = known_symbol(&state, &symbol).await?;
    let view = state.view.lock().map_err(|_| ApiError::Internal("view lock".to_owned()))?;
    let candles = view
        .candles
        .candles(symbol, interval, start, end, limit)
        .iter()
        .map(|candle| Candle {
            start: Timestamp::from_millis(candle.start_ms).to_string(),
            open: candle.open.to_string(),
            high: candle.high.to_string(),
            low: candle.low.to_string(),
            close: candle.close.to_string(),
            volume: candle.volume.to_string(),
            trades: candle.trades,
        })
        .collect();
    Ok(Json(Candles { symbol: symbol.as_str().to_owned(), interval: interval.as_str().to_owned(), candles }))
}

/// Halt or resume trading in one instrument, or close or open its market (admins).
///
/// While halted, new orders in it are refused (422 `instrument_halted`); resting orders
/// stay on the book. `close` ends the session as the calendar's close does: at-the-close
/// (CLS) orders trade, DAY orders expire, and until `open` only OPG and CLS orders are
/// taken (others get 422 `market_closed`). `open` opens it and trades at-the-open (OPG)
/// orders. The market role's calendar moves sessions by itself; this is the operator's
/// hand on it. Audited; halts are pushed to the Alpaca market-data stream's `statuses`.
#[utoipa::path(post, path = "/v1/instruments/{symbol}/{action}", tag = "market",
    params(
        ("symbol" = String, Path, pattern = "^[A-Z0-9._-]{1,15}$", description = "An instrument symbol such as MOCKAAPL."),
        ("action" = String, Path, pattern = "^(halt|resume|open|close)$", description = "`halt`, `resume`, `open` or `close`."),
    ),
    responses(
        (status = 200, description = "The instrument as it is now.", body = Instrument),
        (status = 400, description = "A bad symbol or action.", body = ErrorBody),
        (status = 404, description = "Unknown symbol.", body = ErrorBody),
        (status = 422, description = "Already halted, or not halted.", body = ErrorBody),
    ))]
pub(crate) async fn halt_or_resume(
    State(state): State<Shared>,
    axum::extract::Extension(caller): axum::extract::Extension<crate::auth::MaybeCaller>,
    Path((symbol, action)): Path<(String, String)>,
) -> Result<Json<Instrument>, ApiError> {
    crate::auth::require_admin(&caller)?;
    let commands: &[&str] = match action.as_str() {
        "halt" => &["haltInstrument"],
        "resume" => &["resumeInstrument"],
        "open" => &["openSession"],
        "close" => &["endOfSession", "closeSession"],
        _ => return Err(ApiError::bad_parameter("action", "action must be halt, resume, open or close")),
    };
    let symbol = known_symbol(&state, &symbol).await?;
    for command in commands {
        crate::routes::run_command(&state, serde_json::json!({"command": command, "symbol": symbol.as_str()})).await?;
    }
    crate::identity::audit(&state, &caller, &format!("instrument.{action}"), format!("instrument:{symbol}"), serde_json::Value::Null).await;
    let (calendar, now) = (state.calendar.clone(), crate::routes::now());
    query(&state, move |engine| instrument_of(engine, symbol, &calendar, now)).await?.map(Json).ok_or_else(|| ApiError::NotFound(format!("symbol {symbol}")))
}
