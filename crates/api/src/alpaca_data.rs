//! `/v2/stocks/...`: Alpaca's market-data REST API over TradeCraft's own market, so
//! `alpaca-py`'s `StockHistoricalDataClient` (given `url_override`) reads bars, trades,
//! quotes and snapshots. Bars are TradeCraft's candles, trades its prints, quotes the top
//! of its book now (no history of quotes is kept, so `/v2/stocks/quotes` has only the
//! current one). As in Alpaca's data API, prices and sizes are JSON numbers: this is
//! display data, never used for money here.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tradecraft_market::Interval;
use tradecraft_types::{Symbol, Timestamp};
use utoipa::IntoParams;

use crate::extract::Query;
use crate::routes::{now, parse_time, query};
use crate::{ApiError, AppState, Shared};

/// Exchange and tape codes on TradeCraft's prints and quotes.
const EXCHANGE: &str = "T";
const TAPE: &str = "C";
/// Items per page by default, and at most (as Alpaca).
const LIMIT_DEFAULT: usize = 1_000;
const LIMIT_MAX: usize = 10_000;

use crate::alpaca::invalid_parameter as bad;

/// A decimal's text as a JSON number (display data).
pub(crate) fn number(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct DataParams {
    /// Comma-separated symbols.
    #[param(value_type = Option<String>)]
    symbols: Option<String>,
    /// Bars: `1Min`, `5Min`, `15Min`, `1Hour` or `1Day` (TradeCraft's candle intervals).
    #[param(value_type = Option<String>)]
    timeframe: Option<String>,
    /// From this time (RFC 3339), inclusive.
    #[param(value_type = Option<String>)]
    start: Option<String>,
    /// Until this time (RFC 3339), inclusive.
    #[param(value_type = Option<String>)]
    end: Option<String>,
    /// Items per page across the symbols, 1 to 10,000 (default 1,000).
    #[param(value_type = Option<u32>)]
    limit: Option<String>,
    /// `next_page_token` of the previous page.
    #[param(value_type = Option<String>)]
    page_token: Option<String>,
    /// `asc` (default) or `desc`.
    #[param(value_type = Option<String>)]
    sort: Option<String>,
    /// One of Alpaca's feeds (`iex`, `sip`, `delayed_sip`, `otc`, `boats`, `overnight`):
    /// TradeCraft has one market, so each gives the same data.
    #[param(value_type = Option<String>, pattern = "^(iex|sip|delayed_sip|otc|boats|overnight)$")]
    feed: Option<String>,
    /// `raw`, `split`, `dividend`, `spin-off` or `all`, or several comma-separated: nothing
    /// here is split or pays dividends, so each gives the raw data.
    #[param(value_type = Option<String>, pattern = "^(raw|split|dividend|spin-off|all)(,(raw|split|dividend|spin-off|all))*$")]
    adjustment: Option<String>,
    /// `USD`, the one currency prices are in.
    #[param(value_type = Option<String>, pattern = "^USD$")]
    currency: Option<String>,
    /// A date (`YYYY-MM-DD`): symbols here are never renamed, so any date names the same.
    #[param(value_type = Option<String>, format = Date)]
    asof: Option<String>,
}

/// Refuses a data request's options Alpaca does not have, rather than ignoring them:
/// each it has gives the same data here (one feed, one currency, nothing to adjust).
fn check_options(feed: Option<&str>, adjustment: Option<&str>, currency: Option<&str>, asof: Option<&str>) -> Result<(), ApiError> {
    if let Some(feed) = feed.filter(|feed| !matches!(*feed, "iex" | "sip" | "delayed_sip" | "otc" | "boats" | "overnight")) {
        return Err(bad(format!("invalid feed {feed:?}: iex, sip, delayed_sip, otc, boats or overnight")));
    }
    if let Some(adjustment) = adjustment.filter(|text| !text.split(',').all(|part| matches!(part, "raw" | "split" | "dividend" | "spin-off" | "all"))) {
        return Err(bad(format!("invalid adjustment {adjustment:?}: raw, split, dividend, spin-off or all, comma-separated")));
    }
    if let Some(currency) = currency.filter(|currency| *currency != "USD") {
        return Err(bad(format!("invalid currency {currency:?}: prices are in USD only")));
    }
    if let Some(asof) = asof.filter(|asof| crate::alpaca::day(asof).is_none()) {
        return Err(bad(format!("invalid asof {asof:?}: a date, YYYY-MM-DD")));
    }
    Ok(())
}

/// The listed symbols among `text` (comma-separated), in the order given.
async fn symbols(state: &AppState, text: Option<&str>) -> Result<Vec<Symbol>, ApiError> {
    let text = text.filter(|text| !text.trim().is_empty()).ok_or_else(|| bad("symbols is required"))?;
    let mut found = Vec::new();
    for name in text.split(',') {
        let symbol = Symbol::new(&name.trim().to_ascii_uppercase()).map_err(|_| bad(format!("invalid symbol: {name}")))?;
        if !query(state, move |engine| engine.instrument(symbol).is_some()).await? {
            return Err(bad(format!("unknown symbol: {name}")));
        }
        if !found.contains(&symbol) {
            found.push(symbol);
        }
    }
    Ok(found)
}

fn interval(timeframe: Option<&str>) -> Result<Interval, ApiError> {
    let text = match timeframe.unwrap_or("1Min") {
        "1Min" | "1T" => "1m",
        "5Min" | "5T" => "5m",
        "15Min" | "15T" => "15m",
        "1Hour" | "1H" => "1h",
        "1Day" | "1D" => "1d",
        other => return Err(bad(format!("timeframe {other} is not offered: 1Min, 5Min, 15Min, 1Hour or 1Day"))),
    };
    Interval::parse(text).ok_or_else(|| bad("timeframe"))
}

struct Window {
    start: i64,
    end: i64,
    limit: usize,
    descending: bool,
    /// Resume after this item: (symbol, time in ms).
    after: Option<(String, i64)>,
}

fn window(params: &DataParams) -> Result<Window, ApiError> {
    check_options(params.feed.as_deref(), params.adjustment.as_deref(), params.currency.as_deref(), params.asof.as_deref())?;
    let time = |name: &str, text: Option<&str>, default: i64| -> Result<i64, ApiError> {
        Ok(parse_time(name, text).map_err(|_| bad(format!("{name} must be an RFC 3339 time")))?.map_or(default, Timestamp::millis))
    };
    let limit = match params.limit.as_deref() {
        None => LIMIT_DEFAULT,
        Some(text) => text.parse().ok().filter(|limit| (1..=LIMIT_MAX).contains(limit)).ok_or_else(|| bad("limit must be 1 to 10000"))?,
    };
    let descending = match params.sort.as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => return Err(bad("sort must be asc or desc")),
    };
    let after = match params.page_token.as_deref() {
        None | Some("") => None,
        Some(token) => {
            let (symbol, at) = token.split_once(':').ok_or_else(|| bad("page_token is not one this server gave"))?;
            Some((symbol.to_owned(), at.parse().map_err(|_| bad("page_token is not one this server gave"))?))
        }
    };
    let (start, end) = (time("start", params.start.as_deref(), i64::MIN)?, time("end", params.end.as_deref(), i64::MAX)?);
    if end < start {
        return Err(bad("end should not be before start"));
    }
    Ok(Window { start, end, limit, descending, after })
}

/// Pages items of several symbols: every item of the first symbol, then the next, `limit`
/// in all; the token names the last item given.
fn page(symbols: &[Symbol], window: &Window, mut items_of: impl FnMut(Symbol) -> Vec<(i64, Value)>) -> Paged {
    let mut answer = Map::new();
    let mut count = 0;
    let mut skipping = window.after.is_some();
    for symbol in symbols {
        let mut items = items_of(*symbol);
        items.retain(|(at, _)| (window.start..=window.end).contains(at));
        if window.descending {
            items.reverse();
        }
        if let Some((after_symbol, after_at)) = &window.after
            && skipping
        {
            if after_symbol != symbol.as_str() {
                continue;
            }
            skipping = false;
            items.retain(|(at, _)| if window.descending { at < after_at } else { at > after_at });
        }
        let mut taken = Vec::new();
        for (at, item) in items {
            if count == window.limit {
                let last = taken.last().map_or(i64::MIN, |(at, _): &(i64, Value)| *at);
                if !taken.is_empty() {
                    answer.insert(symbol.as_str().to_owned(), Value::Array(taken.into_iter().map(|(_, item)| item).collect()));
                }
                return (answer, Some(format!("{}:{}", symbol.as_str(), last)));
            }
            taken.push((at, item));
            count += 1;
        }
        if !taken.is_empty() {
            answer.insert(symbol.as_str().to_owned(), Value::Array(taken.into_iter().map(|(_, item)| item).collect()));
        }
    }
    (answer, None)
}

/// A candle as Alpaca's bar: `{t, o, h, l, c, v, n, vw}`.
pub(crate) fn bar_json(candle: &tradecraft_market::Candle) -> Value {
    json!({
        "t": Timestamp::from_millis(candle.start_ms).to_string(),
        "o": number(&candle.open.to_string()), "h": number(&candle.high.to_string()),
        "l": number(&candle.low.to_string()), "c": number(&candle.close.to_string()),
        "v": number(&candle.volume.to_string()), "n": candle.trades,
        "vw": candle.vwap().map_or(Value::Null, |vwap| number(&vwap.to_string())),
    })
}

fn trade_json(trade: &crate::view::TradeRecord) -> Value {
    json!({
        "t": trade.timestamp.to_string(), "x": EXCHANGE, "p": number(&trade.price.to_string()), "s": number(&trade.quantity.to_string()),
        "c": ["@"], "i": trade.trade_id.0, "z": TAPE,
    })
}

/// Bars of several symbols (Alpaca's `GET /v2/stocks/bars`).
#[utoipa::path(get, path = "/v2/stocks/bars", tag = "alpaca", params(DataParams),
    responses((status = 200, description = "`{\"bars\": {SYMBOL: [bar]}, \"next_page_token\"}`; a bar is `{t, o, h, l, c, v, n}`.", body = Object)))]
pub(crate) async fn bars(State(state): State<Shared>, Query(params): Query<DataParams>) -> Result<Json<Value>, ApiError> {
    let symbols = symbols(&state, params.symbols.as_deref()).await?;
    let (bars, next) = bars_of(&state, &symbols, &params)?;
    Ok(Json(json!({"bars": bars, "next_page_token": next})))
}

/// One page of items per symbol, and the next page's token (`None` on the last).
type Paged = (Map<String, Value>, Option<String>);

fn bars_of(state: &AppState, symbols: &[Symbol], params: &DataParams) -> Result<Paged, ApiError> {
    let interval = interval(params.timeframe.as_deref())?;
    let window = window(params)?;
    let view = state.view.lock().map_err(|_| ApiError::Internal("view lock".to_owned()))?;
    Ok(page(symbols, &window, |symbol| {
        view.candles.candles(symbol, interval, window.start, window.end, usize::MAX).iter().map(|candle| (candle.start_ms, bar_json(candle))).collect()
    }))
}

/// Trades of several symbols (Alpaca's `GET /v2/stocks/trades`), from the recent prints
/// kept.
#[utoipa::path(get, path = "/v2/stocks/trades", tag = "alpaca", params(DataParams),
    responses((status = 200, description = "`{\"trades\": {SYMBOL: [trade]}, \"next_page_token\"}`; a trade is `{t, x, p, s, c, i, z}`.", body = Object)))]
pub(crate) async fn trades(State(state): State<Shared>, Query(params): Query<DataParams>) -> Result<Json<Value>, ApiError> {
    let symbols = symbols(&state, params.symbols.as_deref()).await?;
    let (trades, next) = trades_of(&state, &symbols, &params)?;
    Ok(Json(json!({"trades": trades, "next_page_token": next})))
}

fn trades_of(state: &AppState, symbols: &[Symbol], params: &DataParams) -> Result<Paged, ApiError> {
    let window = window(params)?;
    let view = state.view.lock().map_err(|_| ApiError::Internal("view lock".to_owned()))?;
    Ok(page(symbols, &window, |symbol| {
        view.trades.get(&symbol).map(|trades| trades.iter().map(|trade| (trade.timestamp.millis(), trade_json(trade))).collect()).unwrap_or_default()
    }))
}

async fn quote_of(state: &AppState, symbol: Symbol) -> Result<Value, ApiError> {
    let (bid, ask) =
        query(state, move |engine| engine.depth(symbol, 1)).await?.map_or((None, None), |book| (book.bids.first().copied(), book.asks.first().copied()));
    let side = |level: Option<tradecraft_engine::BookLevel>| {
        level.map_or((json!(0), json!(0)), |level| (number(&level.price.to_string()), number(&level.quantity.to_string())))
    };
    let ((bid_price, bid_size), (ask_price, ask_size)) = (side(bid), side(ask));
    Ok(json!({"t": now().to_string(), "ax": EXCHANGE, "ap": ask_price, "as": ask_size, "bx": EXCHANGE, "bp": bid_price, "bs": bid_size, "c": ["R"], "z": TAPE}))
}

/// Quotes of several symbols (Alpaca's `GET /v2/stocks/quotes`): TradeCraft keeps no
/// history of quotes, so each symbol has its current quote when the window reaches now.
#[utoipa::path(get, path = "/v2/stocks/quotes", tag = "alpaca", params(DataParams),
    responses((status = 200, description = "`{\"quotes\": {SYMBOL: [quote]}, \"next_page_token\": null}`; a quote is `{t, ax, ap, as, bx, bp, bs, c, z}`.", body = Object)))]
pub(crate) async fn quotes(State(state): State<Shared>, Query(params): Query<DataParams>) -> Result<Json<Value>, ApiError> {
    let symbols = symbols(&state, params.symbols.as_deref()).await?;
    let (quotes, next) = quotes_of(&state, &symbols, &params).await?;
    Ok(Json(json!({"quotes": quotes, "next_page_token": next})))
}

async fn quotes_of(state: &AppState, symbols: &[Symbol], params: &DataParams) -> Result<Paged, ApiError> {
    let window = window(params)?;
    let at = now().millis();
    let mut quotes = Map::new();
    if (window.start..=window.end).contains(&at) && window.after.is_none() {
        for symbol in symbols.iter().copied().take(window.limit) {
            quotes.insert(symbol.as_str().to_owned(), json!([quote_of(state, symbol).await?]));
        }
    }
    Ok((quotes, None))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct LatestParams {
    /// Comma-separated symbols.
    #[param(value_type = String)]
    symbols: Option<String>,
    /// As on the history routes: any of Alpaca's feeds gives the same data.
    #[param(value_type = Option<String>, pattern = "^(iex|sip|delayed_sip|otc|boats|overnight)$")]
    feed: Option<String>,
    /// `USD`, the one currency prices are in.
    #[param(value_type = Option<String>, pattern = "^USD$")]
    currency: Option<String>,
}

impl LatestParams {
    /// The listed symbols asked for, once the options are ones Alpaca has.
    async fn symbols(&self, state: &AppState) -> Result<Vec<Symbol>, ApiError> {
        check_options(self.feed.as_deref(), None, self.currency.as_deref(), None)?;
        symbols(state, self.symbols.as_deref()).await
    }
}

/// The latest trade of each symbol that has traded.
#[utoipa::path(get, path = "/v2/stocks/trades/latest", tag = "alpaca", params(LatestParams),
    responses((status = 200, description = "`{\"trades\": {SYMBOL: trade}}`.", body = Object)))]
pub(crate) async fn latest_trades(State(state): State<Shared>, Query(params): Query<LatestParams>) -> Result<Json<Value>, ApiError> {
    let symbols = params.symbols(&state).await?;
    Ok(Json(json!({"trades": latest_trades_of(&state, &symbols)?})))
}

fn latest_trades_of(state: &AppState, symbols: &[Symbol]) -> Result<Map<String, Value>, ApiError> {
    let view = state.view.lock().map_err(|_| ApiError::Internal("view lock".to_owned()))?;
    Ok(symbols
        .iter()
        .filter_map(|symbol| view.trades.get(symbol).and_then(|trades| trades.back()).map(|trade| (symbol.as_str().to_owned(), trade_json(trade))))
        .collect())
}

/// The current quote (top of the book) of each symbol.
#[utoipa::path(get, path = "/v2/stocks/quotes/latest", tag = "alpaca", params(LatestParams),
    responses((status = 200, description = "`{\"quotes\": {SYMBOL: quote}}`.", body = Object)))]
pub(crate) async fn latest_quotes(State(state): State<Shared>, Query(params): Query<LatestParams>) -> Result<Json<Value>, ApiError> {
    let symbols = params.symbols(&state).await?;
    Ok(Json(json!({"quotes": latest_quotes_of(&state, &symbols).await?})))
}

async fn latest_quotes_of(state: &AppState, symbols: &[Symbol]) -> Result<Map<String, Value>, ApiError> {
    let mut quotes = Map::new();
    for &symbol in symbols {
        quotes.insert(symbol.as_str().to_owned(), quote_of(state, symbol).await?);
    }
    Ok(quotes)
}

/// The symbol's current candle of `interval` in the view.
pub(crate) fn latest_candle(state: &AppState, symbol: Symbol, interval: Interval) -> Result<Option<tradecraft_market::Candle>, ApiError> {
    let view = state.view.lock().map_err(|_| ApiError::Internal("view lock".to_owned()))?;
    Ok(view.candles.candles(symbol, interval, i64::MIN, i64::MAX, 1).last().copied())
}

/// The latest minute bar of each symbol that has traded.
#[utoipa::path(get, path = "/v2/stocks/bars/latest", tag = "alpaca", params(LatestParams),
    responses((status = 200, description = "`{\"bars\": {SYMBOL: bar}}`.", body = Object)))]
pub(crate) async fn latest_bars(State(state): State<Shared>, Query(params): Query<LatestParams>) -> Result<Json<Value>, ApiError> {
    let symbols = params.symbols(&state).await?;
    Ok(Json(json!({"bars": latest_bars_of(&state, &symbols)?})))
}

fn latest_bars_of(state: &AppState, symbols: &[Symbol]) -> Result<Map<String, Value>, ApiError> {
    let minute = Interval::parse("1m").ok_or_else(|| ApiError::Internal("interval".to_owned()))?;
    let mut bars = Map::new();
    for &symbol in symbols {
        if let Some(candle) = latest_candle(state, symbol, minute)? {
            bars.insert(symbol.as_str().to_owned(), bar_json(&candle));
        }
    }
    Ok(bars)
}

/// Each symbol's latest trade, current quote, latest minute and daily bars.
#[utoipa::path(get, path = "/v2/stocks/snapshots", tag = "alpaca", params(LatestParams),
    responses((status = 200, description = "`{SYMBOL: {latestTrade, latestQuote, minuteBar, dailyBar, prevDailyBar}}`.", body = Object)))]
pub(crate) async fn snapshots(State(state): State<Shared>, Query(params): Query<LatestParams>) -> Result<Json<Value>, ApiError> {
    let mut answer = Map::new();
    for symbol in params.symbols(&state).await? {
        answer.insert(symbol.as_str().to_owned(), snapshot(&state, symbol).await?);
    }
    Ok(Json(Value::Object(answer)))
}

/// The options of `GET /v2/stocks/{symbol}/snapshot`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SnapshotParams {
    /// As on the history routes: any of Alpaca's feeds gives the same data.
    #[param(value_type = Option<String>, pattern = "^(iex|sip|delayed_sip|otc|boats|overnight)$")]
    feed: Option<String>,
    /// `USD`, the one currency prices are in.
    #[param(value_type = Option<String>, pattern = "^USD$")]
    currency: Option<String>,
}

impl SnapshotParams {
    /// The listed symbol a one-symbol route names (in any case), once the options are
    /// ones Alpaca has.
    async fn symbol(&self, state: &AppState, text: &str) -> Result<Symbol, ApiError> {
        check_options(self.feed.as_deref(), None, self.currency.as_deref(), None)?;
        one_symbol(state, text).await
    }
}

/// One symbol's snapshot (Alpaca's `GET /v2/stocks/{symbol}/snapshot`).
#[utoipa::path(get, path = "/v2/stocks/{symbol}/snapshot", tag = "alpaca",
    params(("symbol" = String, Path, description = "A listed symbol."), SnapshotParams),
    responses((status = 200, description = "`{symbol, latestTrade, latestQuote, minuteBar, dailyBar, prevDailyBar}`.", body = Object)))]
pub(crate) async fn snapshot_one(
    State(state): State<Shared>,
    Path(symbol): Path<String>,
    Query(params): Query<SnapshotParams>,
) -> Result<Json<Value>, ApiError> {
    let symbol = params.symbol(&state, &symbol).await?;
    let mut snapshot = snapshot(&state, symbol).await?;
    snapshot["symbol"] = json!(symbol.as_str());
    Ok(Json(snapshot))
}

async fn snapshot(state: &AppState, symbol: Symbol) -> Result<Value, ApiError> {
    let quote = quote_of(state, symbol).await?;
    let (minute, day) = (Interval::parse("1m"), Interval::parse("1d"));
    let (minute, day) = (minute.ok_or_else(|| ApiError::Internal("interval".to_owned()))?, day.ok_or_else(|| ApiError::Internal("interval".to_owned()))?);
    let (trade, minute_bar, daily, previous) = {
        let view = state.view.lock().map_err(|_| ApiError::Internal("view lock".to_owned()))?;
        let trade = view.trades.get(&symbol).and_then(|trades| trades.back()).map(trade_json);
        let minute_bar = view.candles.candles(symbol, minute, i64::MIN, i64::MAX, 1).last().map(bar_json);
        let days = view.candles.candles(symbol, day, i64::MIN, i64::MAX, 2);
        let daily = days.last().map(bar_json);
        let previous = (days.len() == 2).then(|| bar_json(&days[0]));
        (trade, minute_bar, daily, previous)
    };
    Ok(json!({"latestTrade": trade, "latestQuote": quote, "minuteBar": minute_bar, "dailyBar": daily, "prevDailyBar": previous}))
}

/// The listed symbol a single-symbol route names (as `symbols` would, in any case).
async fn one_symbol(state: &AppState, text: &str) -> Result<Symbol, ApiError> {
    symbols(state, Some(text)).await?.first().copied().ok_or_else(|| bad("symbol is required"))
}

/// A one-symbol history answer: `{KEY: [items], symbol, next_page_token}`.
fn one_history(key: &str, symbol: Symbol, (mut items, next): Paged) -> Json<Value> {
    Json(json!({key: items.remove(symbol.as_str()).unwrap_or_else(|| json!([])), "symbol": symbol.as_str(), "next_page_token": next}))
}

/// A one-symbol latest answer: `{symbol, ITEM}` (`null` when the symbol has none yet).
fn one_latest(item: &str, symbol: Symbol, mut items: Map<String, Value>) -> Json<Value> {
    Json(json!({"symbol": symbol.as_str(), item: items.remove(symbol.as_str()).unwrap_or(Value::Null)}))
}

/// One symbol's bars (Alpaca's `GET /v2/stocks/{symbol}/bars`, which older SDKs call).
#[utoipa::path(get, path = "/v2/stocks/{symbol}/bars", tag = "alpaca",
    params(("symbol" = String, Path, description = "A listed symbol."), DataParams),
    responses((status = 200, description = "`{\"bars\": [bar], \"symbol\", \"next_page_token\"}`.", body = Object)))]
pub(crate) async fn bars_one(State(state): State<Shared>, Path(symbol): Path<String>, Query(params): Query<DataParams>) -> Result<Json<Value>, ApiError> {
    let symbol = one_symbol(&state, &symbol).await?;
    Ok(one_history("bars", symbol, bars_of(&state, &[symbol], &params)?))
}

/// One symbol's trades (Alpaca's `GET /v2/stocks/{symbol}/trades`).
#[utoipa::path(get, path = "/v2/stocks/{symbol}/trades", tag = "alpaca",
    params(("symbol" = String, Path, description = "A listed symbol."), DataParams),
    responses((status = 200, description = "`{\"trades\": [trade], \"symbol\", \"next_page_token\"}`.", body = Object)))]
pub(crate) async fn trades_one(State(state): State<Shared>, Path(symbol): Path<String>, Query(params): Query<DataParams>) -> Result<Json<Value>, ApiError> {
    let symbol = one_symbol(&state, &symbol).await?;
    Ok(one_history("trades", symbol, trades_of(&state, &[symbol], &params)?))
}

/// One symbol's quotes (Alpaca's `GET /v2/stocks/{symbol}/quotes`): its current quote
/// when the window reaches now.
#[utoipa::path(get, path = "/v2/stocks/{symbol}/quotes", tag = "alpaca",
    params(("symbol" = String, Path, description = "A listed symbol."), DataParams),
    responses((status = 200, description = "`{\"quotes\": [quote], \"symbol\", \"next_page_token\": null}`.", body = Object)))]
pub(crate) async fn quotes_one(State(state): State<Shared>, Path(symbol): Path<String>, Query(params): Query<DataParams>) -> Result<Json<Value>, ApiError> {
    let symbol = one_symbol(&state, &symbol).await?;
    Ok(one_history("quotes", symbol, quotes_of(&state, &[symbol], &params).await?))
}

/// One symbol's latest trade (Alpaca's `GET /v2/stocks/{symbol}/trades/latest`).
#[utoipa::path(get, path = "/v2/stocks/{symbol}/trades/latest", tag = "alpaca",
    params(("symbol" = String, Path, description = "A listed symbol."), SnapshotParams),
    responses((status = 200, description = "`{\"symbol\", \"trade\"}` (`null` before its first trade).", body = Object)))]
pub(crate) async fn latest_trade_one(
    State(state): State<Shared>,
    Path(symbol): Path<String>,
    Query(params): Query<SnapshotParams>,
) -> Result<Json<Value>, ApiError> {
    let symbol = params.symbol(&state, &symbol).await?;
    Ok(one_latest("trade", symbol, latest_trades_of(&state, &[symbol])?))
}

/// One symbol's current quote (Alpaca's `GET /v2/stocks/{symbol}/quotes/latest`).
#[utoipa::path(get, path = "/v2/stocks/{symbol}/quotes/latest", tag = "alpaca",
    params(("symbol" = String, Path, description = "A listed symbol."), SnapshotParams),
    responses((status = 200, description = "`{\"symbol\", \"quote\"}`.", body = Object)))]
pub(crate) async fn latest_quote_one(
    State(state): State<Shared>,
    Path(symbol): Path<String>,
    Query(params): Query<SnapshotParams>,
) -> Result<Json<Value>, ApiError> {
    let symbol = params.symbol(&state, &symbol).await?;
    Ok(one_latest("quote", symbol, latest_quotes_of(&state, &[symbol]).await?))
}

/// One symbol's latest minute bar (Alpaca's `GET /v2/stocks/{symbol}/bars/latest`).
#[utoipa::path(get, path = "/v2/stocks/{symbol}/bars/latest", tag = "alpaca",
    params(("symbol" = String, Path, description = "A listed symbol."), SnapshotParams),
    responses((status = 200, description = "`{\"symbol\", \"bar\"}` (`null` before its first trade).", body = Object)))]
pub(crate) async fn latest_bar_one(
    State(state): State<Shared>,
    Path(symbol): Path<String>,
    Query(params): Query<SnapshotParams>,
) -> Result<Json<Value>, ApiError> {
    let symbol = params.symbol(&state, &symbol).await?;
    Ok(one_latest("bar", symbol, latest_bars_of(&state, &[symbol])?))
}
