//! `/v2`: the Alpaca-compatible trading API, so a bot written against Alpaca's paper API
//! (the official `alpaca-py` SDK given only `url_override`) trades on TradeCraft's real
//! book. Every route here answers from the same engine, view and read store as `/v1`; only
//! the shapes differ: Alpaca's field names, lower-case enums, decimals as strings, UUID
//! ids and errors as `{"code": N, "message": "..."}` (see `docs/alpaca.md`).
//!
//! Ids: TradeCraft ids are integers; Alpaca's are UUIDs. An order's UUID is its id in the
//! low 64 bits under a fixed tag in the high 64 (`7463...`), so it is stable and reads back
//! to the order; an account's the same with another tag; an asset's carries a 64-bit
//! FNV-1a hash of its symbol (found again by looking it up among the listed symbols).

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tradecraft_types::{AccountId, Money, OrderId, Price, Quantity, Symbol, Timestamp};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{MaybeCaller, own_account};
use crate::extract::{Body, ClientOrderIdText, Decimal, Query};
use crate::history::{WithLegs, with_legs};
use crate::models::{AnyCaseSymbolText, PlaceOrderRequest, WordText};
use crate::orders::{Standing, standing_now};
use crate::routes::{bounded, events, execute, first_rejection, now, parse_time, query, wire_command};
use crate::view::OrderRecord;
use crate::view::is_open;
use crate::{ApiError, AppState, Shared};

pub(crate) const TAG_ACCOUNT: u64 = 0x7463_0000_0000_0001;
const TAG_ORDER: u64 = 0x7463_0000_0000_0002;
const TAG_ASSET: u64 = 0x7463_0000_0000_0003;

/// The UUID text of `id` under `tag`.
pub(crate) fn uuid(tag: u64, id: u64) -> String {
    let hex = format!("{tag:016x}{id:016x}");
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

/// The id a UUID of `tag` carries; `None` for any other text.
pub(crate) fn id_of(tag: u64, text: &str) -> Option<u64> {
    let hex: String = text.chars().filter(|character| *character != '-').collect();
    if hex.len() != 32 || text.len() != 36 || !hex.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return None;
    }
    let high = u64::from_str_radix(&hex[..16], 16).ok()?;
    (high == tag).then(|| u64::from_str_radix(&hex[16..], 16).ok()).flatten()
}

pub(crate) fn order_uuid(order: OrderId) -> String {
    uuid(TAG_ORDER, order.0)
}

/// Whether `text` is an order UUID of this server, in any letter case.
pub(crate) fn is_order_uuid(text: &str) -> bool {
    id_of(TAG_ORDER, text).is_some()
}

fn symbol_hash(symbol: &str) -> u64 {
    symbol.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3))
}

fn asset_uuid(symbol: &str) -> String {
    uuid(TAG_ASSET, symbol_hash(symbol))
}

/// Alpaca's error body.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct AlpacaError {
    /// Alpaca's 8-digit code: the status, then 10000 (40310000: refused; 42210000: unprocessable).
    pub code: u64,
    pub message: String,
}

/// The status `/v2` answers for a TradeCraft status: Alpaca refuses an order without the
/// buying power with 403 and a repeated `client_order_id` with 422.
pub(crate) fn alpaca_status(status: StatusCode) -> StatusCode {
    match status {
        StatusCode::PAYMENT_REQUIRED => StatusCode::FORBIDDEN,
        StatusCode::CONFLICT => StatusCode::UNPROCESSABLE_ENTITY,
        other => other,
    }
}

/// Whether `path` is Alpaca's (`/v2`, and the screener's `/v1beta1`): its errors, statuses
/// and lenient bodies are Alpaca's.
pub(crate) fn is_alpaca_path(path: &str) -> bool {
    path.starts_with("/v2/") || path == "/v2" || path.starts_with("/v1beta1/")
}

/// The middleware of `/v2`: every error, from a handler or a layer around it (auth, rate
/// limits, body checks), in Alpaca's shape and statuses.
pub(crate) async fn alpaca_errors(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let alpaca = is_alpaca_path(request.uri().path());
    let response = next.run(request).await;
    if !alpaca || response.status().as_u16() < 400 {
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024).await.unwrap_or_default();
    let native: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let status = alpaca_status(parts.status);
    let message = native["error"]["message"].as_str().map_or_else(|| parts.status.canonical_reason().unwrap_or("error").to_owned(), str::to_owned);
    let code = match native["error"]["code"].as_str() {
        Some("insufficient_funds") => 40_310_000,
        _ => u64::from(status.as_u16()) * 100_000 + 10_000,
    };
    let mut answer = (status, Json(AlpacaError { code, message })).into_response();
    for (name, value) in &parts.headers {
        if name != axum::http::header::CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            answer.headers_mut().insert(name.clone(), value.clone());
        }
    }
    answer
}

// ---- account -------------------------------------------------------------------------

/// `GET /v2/account` (Alpaca's `TradeAccount`).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Account {
    pub id: String,
    pub account_number: String,
    /// Always `ACTIVE`.
    pub status: String,
    pub crypto_status: String,
    pub currency: String,
    /// Cash not reserved by open orders: what a new buy may spend (no margin here).
    pub buying_power: String,
    pub regt_buying_power: String,
    pub daytrading_buying_power: String,
    pub non_marginable_buying_power: String,
    pub cash: String,
    pub accrued_fees: String,
    pub portfolio_value: String,
    pub pattern_day_trader: bool,
    pub trading_blocked: bool,
    pub transfers_blocked: bool,
    pub account_blocked: bool,
    pub created_at: String,
    pub trade_suspended_by_user: bool,
    pub multiplier: String,
    pub shorting_enabled: bool,
    pub equity: String,
    pub last_equity: String,
    pub long_market_value: String,
    pub short_market_value: String,
    pub initial_margin: String,
    pub maintenance_margin: String,
    pub last_maintenance_margin: String,
    pub sma: String,
    pub daytrade_count: u32,
}

/// The caller's account: cash and buying power from the engine, positions valued at their
/// latest prices (the market's feed, or a later trade) from the read store.
#[utoipa::path(get, path = "/v2/account", tag = "alpaca",
    responses((status = 200, description = "The account.", body = Account), (status = 404, description = "No account.", body = AlpacaError)))]
pub(crate) async fn account(State(state): State<Shared>, Extension(caller): Extension<MaybeCaller>) -> Result<Json<Account>, ApiError> {
    let user = own_account(&caller)?;
    let engine_view = query(&state, move |engine| engine.account(AccountId(user))).await?.ok_or_else(|| ApiError::NotFound(format!("account {user}")))?;
    let positions = crate::reads::ask(&state, move |store| store.positions(user)).await.unwrap_or_default();
    let long: i128 = positions.iter().filter_map(|position| position.market_value).map(|value| i128::from(value.raw())).sum();
    let cash = Money::from_raw(engine_view.cash.total());
    let equity = i128::from(cash.raw()) + long;
    let money = |raw: i128| tradecraft_store::decimal(raw, 8);
    let available = Money::from_raw(engine_view.cash.available).to_string();
    let created = crate::reads::ask(&state, move |store| store.user_by_id(user)).await.ok().flatten().map(|record| record.created_at_ms);
    // Alpaca's `last_equity`, the mark `equity` is compared with for the day's change: the
    // value when the (UTC) day began and what was deposited since, so a deposit is not a
    // gain and a day's trading is (it equalled `equity`, a change of 0 at any price).
    let now_ms = now().millis();
    let day_start = utc_day_start(now_ms);
    let day = crate::reads::ask(&state, move |store| store.performance(user, day_start, now_ms)).await.ok().flatten();
    let last_equity = day.map_or(equity, |day| i128::from(day.start_value.raw()) + i128::from(day.net_flows.raw()));
    Ok(Json(Account {
        id: uuid(TAG_ACCOUNT, user),
        account_number: format!("TC{user}"),
        status: "ACTIVE".to_owned(),
        crypto_status: "INACTIVE".to_owned(),
        currency: "USD".to_owned(),
        buying_power: available.clone(),
        regt_buying_power: available.clone(),
        daytrading_buying_power: "0".to_owned(),
        non_marginable_buying_power: available,
        cash: cash.to_string(),
        accrued_fees: "0".to_owned(),
        portfolio_value: money(equity),
        pattern_day_trader: false,
        trading_blocked: false,
        transfers_blocked: true,
        account_blocked: false,
        created_at: Timestamp::from_millis(created.unwrap_or(0)).to_string(),
        trade_suspended_by_user: false,
        multiplier: "1".to_owned(),
        shorting_enabled: false,
        equity: money(equity),
        last_equity: money(last_equity),
        long_market_value: money(long),
        short_market_value: "0".to_owned(),
        initial_margin: "0".to_owned(),
        maintenance_margin: "0".to_owned(),
        last_maintenance_margin: "0".to_owned(),
        sma: "0".to_owned(),
        daytrade_count: 0,
    }))
}

// ---- orders --------------------------------------------------------------------------

/// An order as Alpaca shows it (`AlpacaOrder` in the document: `Order` is `/v1`'s).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AlpacaOrder)]
pub(crate) struct Order {
    pub id: String,
    pub client_order_id: String,
    pub created_at: String,
    pub updated_at: String,
    pub submitted_at: String,
    pub filled_at: Option<String>,
    pub expired_at: Option<String>,
    pub canceled_at: Option<String>,
    pub failed_at: Option<String>,
    pub replaced_at: Option<String>,
    pub replaced_by: Option<String>,
    pub replaces: Option<String>,
    pub asset_id: String,
    pub symbol: String,
    pub asset_class: String,
    pub notional: Option<String>,
    pub qty: Option<String>,
    pub filled_qty: String,
    pub filled_avg_price: Option<String>,
    pub order_class: String,
    pub order_type: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub side: String,
    /// `buy_to_open` for a buy, `sell_to_close` for a sell (cash accounts hold no shorts).
    pub position_intent: String,
    pub time_in_force: String,
    pub limit_price: Option<String>,
    pub stop_price: Option<String>,
    /// `accepted` (taken while its market is closed, waiting for the open), `new`,
    /// `partially_filled`, `filled`, `canceled`, `expired` or `held` (an exit leg waiting
    /// for its entry).
    pub status: String,
    pub extended_hours: bool,
    #[schema(value_type = Option<Vec<Object>>)]
    pub legs: Option<Vec<Value>>,
    pub trail_percent: Option<String>,
    pub trail_price: Option<String>,
    pub hwm: Option<String>,
}

/// Alpaca's word for a TradeCraft order status.
pub(crate) fn status_word(status: &str) -> &'static str {
    match status {
        "PARTIALLY_FILLED" => "partially_filled",
        "FILLED" => "filled",
        "CANCELLED" => "canceled",
        "EXPIRED" => "expired",
        "HELD" => "held",
        _ => "new",
    }
}

/// The client order id Alpaca shows for an order: the client's own, or (as Alpaca makes one
/// up for an order placed without) the order's UUID. Orders are looked up by it as well.
fn client_order_id_of(record: &OrderRecord) -> String {
    record.client_order_id.clone().unwrap_or_else(|| order_uuid(record.order_id))
}

pub(crate) fn order_of(record: &OrderRecord, standing: &Standing) -> Order {
    let (trail_price, trail_percent) = crate::orders::trail_parts(record.trail);
    let updated = record.updated.to_string();
    let done = |status: &str| (record.status == status).then(|| updated.clone());
    Order {
        client_order_id: client_order_id_of(record),
        id: order_uuid(record.order_id),
        created_at: record.created.to_string(),
        updated_at: updated.clone(),
        submitted_at: record.created.to_string(),
        filled_at: done("FILLED"),
        expired_at: done("EXPIRED"),
        canceled_at: done("CANCELLED"),
        failed_at: None,
        replaced_at: None,
        replaced_by: None,
        replaces: None,
        asset_id: asset_uuid(record.symbol.as_str()),
        symbol: record.symbol.as_str().to_owned(),
        asset_class: "us_equity".to_owned(),
        notional: record.budget.map(|budget| budget.to_string()),
        qty: record.budget.is_none().then(|| record.quantity.to_string()),
        filled_qty: record.filled.to_string(),
        filled_avg_price: record.average_price().map(|price| price.to_string()),
        order_class: record
            .order_class
            .map_or("simple", |class| match class {
                "BRACKET" => "bracket",
                "OTO" => "oto",
                _ => "oco",
            })
            .to_owned(),
        order_type: record.order_type.to_ascii_lowercase(),
        kind: record.order_type.to_ascii_lowercase(),
        side: record.side.as_str().to_ascii_lowercase(),
        position_intent: if record.side.as_str() == "BUY" { "buy_to_open" } else { "sell_to_close" }.to_owned(),
        time_in_force: record.time_in_force.to_ascii_lowercase(),
        limit_price: record.limit_price.map(|price| price.to_string()),
        stop_price: standing.stop_price(record).map(|price| price.to_string()),
        // Alpaca's `accepted`: taken, not yet sent to the market (it is closed).
        status: if standing.queued(record) { "accepted" } else { status_word(record.status) }.to_owned(),
        extended_hours: false,
        legs: None,
        trail_percent,
        trail_price,
        hwm: standing.watermark(record).map(|price| price.to_string()),
    }
}

/// `POST /v2/orders`: Alpaca's order request. Numbers may be JSON numbers or strings.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct OrderRequest {
    #[schema(value_type = String, pattern = "^[A-Za-z0-9._-]{1,15}$", max_length = 15)]
    pub symbol: AnyCaseSymbolText,
    /// Shares; or give `notional`.
    pub qty: Option<Decimal>,
    /// Cash to spend (market buys).
    pub notional: Option<Decimal>,
    /// `buy` or `sell`; or give `position_intent`.
    #[schema(value_type = Option<String>, pattern = "^(buy|sell)$")]
    pub side: Option<WordText>,
    /// `buy_to_open` (a buy) or `sell_to_close` (a sell), the side given by its strategy;
    /// `sell_to_open` and `buy_to_close` open and close short positions, which cash accounts
    /// do not have. With `side`, the two must agree.
    #[schema(value_type = Option<String>, pattern = "^(buy_to_open|buy_to_close|sell_to_open|sell_to_close)$")]
    pub position_intent: Option<WordText>,
    /// `market`, `limit`, `stop`, `stop_limit` or `trailing_stop`.
    #[serde(rename = "type")]
    #[schema(value_type = String, pattern = "^(market|limit|stop|stop_limit|trailing_stop)$")]
    pub kind: WordText,
    /// `day`, `gtc`, `ioc`, `fok`, `opg` (at the open) or `cls` (at the close).
    #[schema(value_type = String, pattern = "^(day|gtc|ioc|fok|opg|cls)$")]
    pub time_in_force: WordText,
    pub limit_price: Option<Decimal>,
    pub stop_price: Option<Decimal>,
    pub trail_price: Option<Decimal>,
    pub trail_percent: Option<Decimal>,
    pub client_order_id: Option<ClientOrderIdText>,
    /// Only on a `day` `limit` order, as Alpaca takes it; such an order trades in the regular
    /// session (around the clock by default), as any other does.
    #[serde(default)]
    pub extended_hours: Option<bool>,
    /// `simple` (or empty), `bracket`, `oco` or `oto`.
    #[schema(value_type = Option<String>, pattern = "^(simple|bracket|oco|oto|)$")]
    pub order_class: Option<WordText>,
    /// Bracket and OTO: the take-profit exit; OCO: its `limit_price` is the order's own.
    pub take_profit: Option<TakeProfitRequest>,
    /// Bracket, OCO and OTO: the stop-loss exit.
    pub stop_loss: Option<StopLossRequest>,
}

/// Alpaca's `take_profit`.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct TakeProfitRequest {
    pub limit_price: Decimal,
}

/// Alpaca's `stop_loss`: a stop, or a stop limit with `limit_price`.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct StopLossRequest {
    pub stop_price: Decimal,
    pub limit_price: Option<Decimal>,
}

/// A bad parameter value: Alpaca answers 422.
pub(crate) fn invalid_parameter(message: impl Into<String>) -> ApiError {
    ApiError::Rejected { status: StatusCode::UNPROCESSABLE_ENTITY, code: "invalid_parameter", message: message.into() }
}

impl OrderRequest {
    /// The native order request this is.
    fn native(self) -> Result<PlaceOrderRequest, ApiError> {
        let field = |name: &str, message: &str| crate::extract::field_error(name, message);
        let class = match self.order_class.as_ref().map_or("", |class| class.as_str()) {
            "" | "simple" => "SIMPLE",
            "bracket" => "BRACKET",
            "oco" => "OCO",
            "oto" => "OTO",
            _ => return Err(field("order_class", "must be simple, bracket, oco or oto")),
        };
        // OCO: Alpaca names the limit exit's price in take_profit.
        let mut limit_price = self.limit_price.as_ref().map(Decimal::as_str);
        let mut take_profit = self.take_profit.as_ref().map(|leg| json!({"limitPrice": leg.limit_price.as_str()}));
        if class == "OCO"
            && let Some(leg) = &self.take_profit
        {
            if limit_price.is_some_and(|price| price != leg.limit_price.as_str()) {
                return Err(field("take_profit.limit_price", "an OCO order's take profit is its limit_price"));
            }
            limit_price = Some(leg.limit_price.as_str());
            take_profit = None;
        }
        let stop_loss =
            self.stop_loss.as_ref().map(|leg| json!({"stopPrice": leg.stop_price.as_str(), "limitPrice": leg.limit_price.as_ref().map(Decimal::as_str)}));
        let order_type = match self.kind.as_str() {
            kind @ ("market" | "limit" | "stop" | "stop_limit" | "trailing_stop") => kind.to_ascii_uppercase(),
            _ => return Err(field("type", "must be market, limit, stop, stop_limit or trailing_stop")),
        };
        let time_in_force = match self.time_in_force.as_str() {
            tif @ ("day" | "gtc" | "ioc" | "fok" | "opg" | "cls") => tif.to_ascii_uppercase(),
            _ => return Err(field("time_in_force", "must be day, gtc, ioc, fok, opg or cls")),
        };
        if self.extended_hours == Some(true) && (order_type != "LIMIT" || time_in_force != "DAY") {
            return Err(field("extended_hours", "extended hours orders must be day limit orders"));
        }
        let intended = match self.position_intent.as_ref().map(|intent| intent.as_str()) {
            None => None,
            Some("buy_to_open") => Some("BUY"),
            Some("sell_to_close") => Some("SELL"),
            Some("sell_to_open" | "buy_to_close") => {
                return Err(field("position_intent", "sell_to_open and buy_to_close open and close short positions, which cash accounts do not have"));
            }
            Some(_) => return Err(field("position_intent", "must be buy_to_open, buy_to_close, sell_to_open or sell_to_close")),
        };
        let side = match (self.side.as_ref().map(|side| side.as_str()), intended) {
            (Some("buy"), None | Some("BUY")) => "BUY",
            (Some("sell"), None | Some("SELL")) => "SELL",
            (Some("buy" | "sell"), Some(_)) => return Err(field("position_intent", "does not agree with side")),
            (Some(_), _) => return Err(field("side", "must be buy or sell")),
            (None, Some(side)) => side,
            (None, None) => return Err(field("side", "give side or position_intent")),
        };
        let body = json!({
            "symbol": self.symbol.as_str().to_ascii_uppercase(),
            "side": side,
            "type": order_type,
            "timeInForce": time_in_force,
            "quantity": self.qty.as_ref().map(Decimal::as_str),
            "notional": self.notional.as_ref().map(Decimal::as_str),
            "limitPrice": limit_price,
            "stopPrice": self.stop_price.as_ref().map(Decimal::as_str),
            "orderClass": class,
            "takeProfit": take_profit,
            "stopLoss": stop_loss,
            "trailAmount": self.trail_price.as_ref().map(Decimal::as_str),
            "trailPercent": self.trail_percent.as_ref().map(Decimal::as_str),
            "clientOrderId": self.client_order_id.as_ref().map(|id| id.as_str()),
        });
        crate::extract::from_object(body)
    }
}

/// `order_of` with a contingent order's legs nested, as Alpaca shows a parent order
/// (exit legs are limits and stops: none trails).
fn order_with_legs((record, legs): &WithLegs, standing: &Standing) -> Order {
    let mut order = order_of(record, standing);
    if !legs.is_empty() {
        order.legs = Some(legs.iter().map(|leg| serde_json::to_value(order_of(leg, &Standing::default())).unwrap_or(Value::Null)).collect());
    }
    order
}

/// The order as it stands now, legs nested.
async fn shown(state: &AppState, order_id: OrderId) -> Result<Order, ApiError> {
    let found = crate::history::order_with_legs(state, order_id).await?.ok_or_else(|| ApiError::NotFound(format!("order {}", order_uuid(order_id))))?;
    Ok(order_with_legs(&found, &standing_now(state, [&found.0]).await?))
}

/// The account's open orders, oldest first.
fn open_orders(state: &AppState, account: AccountId) -> Result<Vec<OrderRecord>, ApiError> {
    let view = state.view.lock().map_err(|_| ApiError::Internal("view lock".to_owned()))?;
    Ok(view.orders.values().filter(|record| record.account == account && is_open(record)).cloned().collect())
}

/// Places `request` for `user` and answers the order as the engine left it (a refused
/// field is 422, as Alpaca answers).
async fn place_and_show(state: &AppState, user: u64, request: PlaceOrderRequest) -> Result<Order, ApiError> {
    show_placed(state, request.into_wire(user, String::new()).map_err(unprocessable)?).await
}

async fn show_placed(state: &AppState, order: tradecraft_sequencer::wire::PlaceOrder) -> Result<Order, ApiError> {
    let accepted = crate::orders::place(state, order).await.map_err(unprocessable)?;
    let order_id = OrderId(accepted.order_id.parse().map_err(|_| ApiError::Internal("order id".to_owned()))?);
    shown(state, order_id).await
}

async fn record(state: &AppState, order_id: OrderId) -> Result<OrderRecord, ApiError> {
    crate::history::order(state, order_id).await?.ok_or_else(|| ApiError::NotFound(format!("order {}", order_uuid(order_id))))
}

/// The caller's order with this UUID, or with the id `/v1` gives it: one order, one name
/// on both surfaces (another user's answers 404, as an unknown one does).
async fn own_order(state: &AppState, caller: &MaybeCaller, text: &str) -> Result<OrderRecord, ApiError> {
    let user = own_account(caller)?;
    let not_found = || ApiError::NotFound(format!("order {text}"));
    let order_id = id_of(TAG_ORDER, text).or_else(|| crate::extract::parse_unsigned(text)).map(OrderId).ok_or_else(not_found)?;
    let record = record(state, order_id).await.map_err(|_| not_found())?;
    if record.account == AccountId(user) { Ok(record) } else { Err(not_found()) }
}

/// Place an order (Alpaca's `POST /v2/orders`); the answer is the order as the engine left
/// it: `filled` already for a market order that met the book.
///
/// A retry is safe: a `client_order_id` names one order of the account (for 24 hours of
/// exchange time, as an idempotency key), so the same request again answers the order it
/// placed, and another order with that id is 422; `X-Idempotency-Key` works as on
/// `POST /v1/orders` (and then names the order instead of the `client_order_id`).
#[utoipa::path(post, path = "/v2/orders", tag = "alpaca", request_body = OrderRequest,
    params(("X-Idempotency-Key" = Option<String>, Header, max_length = 255, min_length = 1, pattern = "^[ -~]+$",
        description = "Makes a retry safe: the same key and order get the first answer.")),
    responses(
        (status = 200, description = "The order.", body = Order),
        (status = 403, description = "Insufficient buying power, or a trading limit refuses it.", body = AlpacaError),
        (status = 404, description = "Unknown account.", body = AlpacaError),
        (status = 422, description = "The order cannot be taken: a bad field, insufficient shares, a repeated client_order_id, an X-Idempotency-Key used for another order or request (`idempotency_key_reused`), exits on the wrong side of each other, a closed market.", body = AlpacaError),
    ))]
pub(crate) async fn place_order(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    headers: axum::http::HeaderMap,
    Body(request): Body<OrderRequest>,
) -> Result<Json<Order>, ApiError> {
    let user = own_account(&caller)?;
    let header_key = crate::orders::idempotency_key(&headers, &caller)?;
    let mut order = request.native().map_err(unprocessable)?.into_wire(user, String::new()).map_err(unprocessable)?;
    // Alpaca's own idempotency is the client order id. A tab cannot be in a header key,
    // so an id never collides with one.
    let by_client_order_id = header_key.is_none() && order.client_order_id.is_some();
    let key = header_key.or_else(|| order.client_order_id.as_ref().map(|id| (user.to_string(), format!("client_order_id\t{id}"))));
    if let Some((scope, key)) = key {
        crate::orders::keyed(&mut order, &scope, &key)?;
    }
    match show_placed(&state, order).await {
        Err(ApiError::Rejected { code: "idempotency_key_reused", .. }) if by_client_order_id => Err(ApiError::Rejected {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "duplicate_client_order_id",
            message: "client_order_id must be unique".to_owned(),
        }),
        answer => answer.map(Json),
    }
}

/// Alpaca answers a refused field with 422, not 400, and names fields and values as its
/// own requests spell them (`qty`, `limit_price`, `market`), not as `/v1` does.
fn unprocessable(error: ApiError) -> ApiError {
    match error {
        ApiError::BadRequest { code, message, .. } | ApiError::Rejected { status: StatusCode::BAD_REQUEST, code, message } => {
            ApiError::Rejected { status: StatusCode::UNPROCESSABLE_ENTITY, code, message: in_alpaca_words(&message) }
        }
        ApiError::Rejected { status, code, message } => ApiError::Rejected { status, code, message: in_alpaca_words(&message) },
        other => other,
    }
}

/// A `/v1` field or value name as Alpaca's order request spells it.
fn alpaca_word(word: &str) -> Option<&'static str> {
    Some(match word {
        "quantity" => "qty",
        "limitPrice" => "limit_price",
        "stopPrice" => "stop_price",
        "trailAmount" => "trail_price",
        "trailPercent" => "trail_percent",
        "timeInForce" => "time_in_force",
        "clientOrderId" => "client_order_id",
        "orderClass" => "order_class",
        "takeProfit" => "take_profit",
        "stopLoss" => "stop_loss",
        "postOnly" => "post_only",
        "MARKET" => "market",
        "LIMIT" => "limit",
        "STOP" => "stop",
        "STOP_LIMIT" => "stop_limit",
        "TRAILING_STOP" => "trailing_stop",
        "BUY" => "buy",
        "SELL" => "sell",
        "SIMPLE" => "simple",
        "BRACKET" => "bracket",
        "OCO" => "oco",
        "OTO" => "oto",
        "GTC" => "gtc",
        "DAY" => "day",
        "IOC" => "ioc",
        "FOK" => "fok",
        "OPG" => "opg",
        "CLS" => "cls",
        _ => return None,
    })
}

/// `message` with every `/v1` name in it (whole words only) replaced by Alpaca's.
fn in_alpaca_words(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        out.push_str(alpaca_word(word).unwrap_or(word));
        word.clear();
    };
    for character in message.chars() {
        if character.is_ascii_alphanumeric() || character == '_' {
            word.push(character);
        } else {
            flush(&mut word, &mut out);
            out.push(character);
        }
    }
    flush(&mut word, &mut out);
    out
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct OrderListParams {
    /// `open` (default), `closed` or `all`.
    #[param(value_type = Option<String>, pattern = "^(open|closed|all)$")]
    status: Option<String>,
    /// 1 to 500, default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
    limit: Option<String>,
    /// Created after this time (ISO 8601).
    #[param(value_type = Option<String>)]
    after: Option<String>,
    /// Created until this time (ISO 8601).
    #[param(value_type = Option<String>)]
    until: Option<String>,
    /// `desc` (default, newest first) or `asc`.
    #[param(value_type = Option<String>, pattern = "^(asc|desc)$")]
    direction: Option<String>,
    /// `true`: contingent orders' legs nested in their order, not listed on their own.
    #[param(value_type = Option<bool>)]
    nested: Option<String>,
    /// `buy` or `sell`.
    #[param(value_type = Option<String>, pattern = "^(buy|sell)$")]
    side: Option<String>,
    /// Comma-separated symbols.
    #[param(value_type = Option<String>)]
    symbols: Option<String>,
}

/// The caller's orders (Alpaca's `GET /v2/orders`).
#[utoipa::path(get, path = "/v2/orders", tag = "alpaca", params(OrderListParams),
    responses((status = 200, description = "Orders.", body = Vec<Order>), (status = 422, description = "A bad parameter.", body = AlpacaError)))]
pub(crate) async fn list_orders(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Query(params): Query<OrderListParams>,
) -> Result<Json<Vec<Order>>, ApiError> {
    let user = AccountId(own_account(&caller)?);
    let bad = invalid_parameter;
    let status = params.status.as_deref().unwrap_or("open");
    if !matches!(status, "open" | "closed" | "all") {
        return Err(bad("status must be open, closed or all"));
    }
    if params.nested.as_deref().is_some_and(|nested| !matches!(nested, "true" | "false" | "True" | "False")) {
        return Err(bad("nested must be true or false"));
    }
    let ascending = match params.direction.as_deref() {
        None | Some("desc") => false,
        Some("asc") => true,
        Some(_) => return Err(bad("direction must be asc or desc")),
    };
    let side = match params.side.as_deref() {
        None => None,
        Some("buy") => Some(tradecraft_types::Side::Buy),
        Some("sell") => Some(tradecraft_types::Side::Sell),
        Some(_) => return Err(bad("side must be buy or sell")),
    };
    let symbols: Option<Vec<String>> = params.symbols.as_deref().map(|list| list.split(',').map(|symbol| symbol.trim().to_ascii_uppercase()).collect());
    let limit = bounded(params.limit.as_deref(), 50, 500, "limit").map_err(unprocessable)?;
    let (after, until) =
        (parse_time("after", params.after.as_deref()).map_err(unprocessable)?, parse_time("until", params.until.as_deref()).map_err(unprocessable)?);
    let nested = params.nested.as_deref().is_some_and(|nested| nested.eq_ignore_ascii_case("true"));
    // In time order (as `/v1` lists them), not by id: a leg's id carries its role in its
    // top bits. Oldest or newest first; an order's legs after it either way.
    let listed = |order_id: OrderId| {
        let (std::cmp::Reverse(order), leg) = crate::orders::list_position(order_id);
        (if ascending { order } else { u64::MAX - order }, leg)
    };
    let (mut page, forgotten): (Vec<WithLegs>, Option<u64>) = {
        let view = crate::history::view(&state)?;
        let status_matches = |record: &OrderRecord| match status {
            "open" => is_open(record),
            "closed" => !is_open(record),
            _ => true,
        };
        let wanted = |record: &&OrderRecord| {
            record.account == user
            && !(nested && record.parent.is_some())
            // Nested, an order with its legs counts as open while any of them is.
            && (status_matches(record) || (nested && record.legs.iter().filter_map(|leg| view.orders.get(leg)).any(status_matches)))
            && side.is_none_or(|side| record.side == side)
            && symbols.as_ref().is_none_or(|symbols| symbols.iter().any(|symbol| symbol == record.symbol.as_str()))
            && after.is_none_or(|after| record.created > after)
            && until.is_none_or(|until| record.created <= until)
        };
        let mut records: Vec<&OrderRecord> = view.orders.values().filter(wanted).collect();
        records.sort_unstable_by_key(|record| listed(record.order_id));
        let page = records.into_iter().take(limit).map(|record| if nested { with_legs(&view, record) } else { (record.clone(), Vec::new()) }).collect();
        (page, view.forgotten())
    };
    // Finished orders the view forgot come from the store (oldest first, they lead; newest
    // first, when the page reaches them). An open order is always in the view.
    let position = |found: &WithLegs| crate::view::position_of(found.0.order_id);
    if let Some(forgotten) = forgotten
        && status != "open"
        && (ascending || page.len() < limit || page.last().is_some_and(|last| position(last) <= forgotten))
    {
        let query = tradecraft_store::OrderQuery {
            user_id: Some(user.0),
            symbols: symbols.clone().unwrap_or_default(),
            side: side.map(|side| side.as_str().to_owned()),
            statuses: if status == "closed" { ["FILLED", "CANCELLED", "EXPIRED"].map(str::to_owned).to_vec() } else { Vec::new() },
            created_after_ms: after.map(tradecraft_types::Timestamp::millis),
            created_until_ms: until.map(tradecraft_types::Timestamp::millis),
            no_legs: nested,
            oldest_first: ascending,
            limit,
            ..tradecraft_store::OrderQuery::default()
        };
        let stored = crate::history::forgotten_page(&state, query).await?;
        page.extend(stored.into_iter().map(|(record, legs)| (record, if nested { legs } else { Vec::new() })));
        page.sort_unstable_by_key(|(record, _)| listed(record.order_id));
        page.truncate(limit);
    }
    let standing = standing_now(&state, page.iter().map(|(record, _)| record)).await?;
    Ok(Json(page.iter().map(|found| order_with_legs(found, &standing)).collect()))
}

/// One of the caller's orders by its id.
#[utoipa::path(get, path = "/v2/orders/{order_id}", tag = "alpaca",
    params(("order_id" = String, Path, description = "The order's UUID, or its TradeCraft id (as `/v1` gives it).")),
    responses((status = 200, description = "The order.", body = Order), (status = 404, description = "No such order of yours.", body = AlpacaError)))]
pub(crate) async fn get_order(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(order_id): Path<String>,
) -> Result<Json<Order>, ApiError> {
    let record = own_order(&state, &caller, &order_id).await?;
    shown(&state, record.order_id).await.map(Json)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ClientOrderIdParams {
    /// The client order id given when placing it.
    #[param(value_type = String)]
    client_order_id: String,
}

/// One of the caller's orders by its client order id.
#[utoipa::path(get, path = "/v2/orders:by_client_order_id", tag = "alpaca", params(ClientOrderIdParams),
    responses((status = 200, description = "The order.", body = Order), (status = 404, description = "No such order of yours.", body = AlpacaError)))]
pub(crate) async fn order_by_client_id(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Query(params): Query<ClientOrderIdParams>,
) -> Result<Json<Order>, ApiError> {
    let user = AccountId(own_account(&caller)?);
    let wanted = params.client_order_id.as_str();
    // The UUID shown as the client order id of an order placed without one (exactly as shown).
    let shown_for = id_of(TAG_ORDER, wanted).map(OrderId).filter(|&order| order_uuid(order) == wanted);
    let (found, forgotten) = {
        let view = crate::history::view(&state)?;
        let named = |record: &&OrderRecord| match &record.client_order_id {
            Some(own) => own == wanted,
            None => Some(record.order_id) == shown_for,
        };
        (view.orders.values().rev().filter(|record| record.account == user).find(named).cloned(), view.forgotten())
    };
    // A finished order the view forgot is in the store.
    let found = match (found, forgotten) {
        (None, Some(_)) => {
            let query = tradecraft_store::OrderQuery {
                user_id: Some(user.0),
                client_order_id: Some(wanted.to_owned()),
                limit: 1,
                ..tradecraft_store::OrderQuery::default()
            };
            let named = crate::history::forgotten_page(&state, query).await?.into_iter().next().map(|(record, _)| record);
            match (named, shown_for) {
                (None, Some(order_id)) => {
                    crate::history::order(&state, order_id).await?.filter(|record| record.account == user && record.client_order_id.is_none())
                }
                (named, _) => named,
            }
        }
        (found, _) => found,
    };
    let record = found.ok_or_else(|| ApiError::NotFound(format!("order with client_order_id {}", params.client_order_id)))?;
    Ok(Json(order_of(&record, &standing_now(&state, [&record]).await?)))
}

async fn cancel(state: &AppState, record: &OrderRecord) -> Result<(), ApiError> {
    let command = wire_command(json!({"command": "cancelOrder", "orderId": record.order_id.to_string(), "userId": record.account.to_string()}))?;
    let outcome = execute(state, command).await?;
    match first_rejection(events(&outcome)?) {
        Some(ApiError::Rejected { code: "unknown_order", .. }) => Err(ApiError::Rejected {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "order_not_open",
            message: format!("order {} is not open", order_uuid(record.order_id)),
        }),
        Some(rejection) => Err(rejection),
        None => Ok(()),
    }
}

/// Cancel one of the caller's open orders: 204.
#[utoipa::path(delete, path = "/v2/orders/{order_id}", tag = "alpaca",
    params(("order_id" = String, Path, description = "The order's UUID, or its TradeCraft id (as `/v1` gives it).")),
    responses(
        (status = 204, description = "Cancelled."),
        (status = 404, description = "No such order of yours.", body = AlpacaError),
        (status = 422, description = "The order is no longer open.", body = AlpacaError),
    ))]
pub(crate) async fn cancel_order(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(order_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let record = own_order(&state, &caller, &order_id).await?;
    cancel(&state, &record).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One order's answer in `DELETE /v2/orders`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CancelStatus {
    pub id: String,
    pub status: u16,
    #[schema(value_type = Object)]
    pub body: Value,
}

/// Cancel every open order of the caller: 207 with each order's own status.
#[utoipa::path(delete, path = "/v2/orders", tag = "alpaca",
    responses((status = 207, description = "What happened to each open order.", body = Vec<CancelStatus>)))]
pub(crate) async fn cancel_all(State(state): State<Shared>, Extension(caller): Extension<MaybeCaller>) -> Result<Response, ApiError> {
    let user = AccountId(own_account(&caller)?);
    let open = open_orders(&state, user)?;
    let mut answers = Vec::with_capacity(open.len());
    for order in &open {
        // Cancelling an order ends its legs, and one exit the other: what ended already
        // is answered as it stands.
        let now = record(&state, order.order_id).await?;
        if !is_open(&now) {
            // Ended: nothing of it trails any more.
            answers.push(CancelStatus {
                id: order_uuid(order.order_id),
                status: 200,
                body: serde_json::to_value(order_of(&now, &Standing::default())).unwrap_or(Value::Null),
            });
            continue;
        }
        let (status, body) = match cancel(&state, order).await {
            // Cancelled: nothing of it trails any more.
            Ok(()) => (200, serde_json::to_value(order_of(&record(&state, order.order_id).await?, &Standing::default())).unwrap_or(Value::Null)),
            Err(error) => (alpaca_status(error.status_code()).as_u16(), json!({"message": error.to_string()})),
        };
        answers.push(CancelStatus { id: order_uuid(order.order_id), status, body });
    }
    Ok((StatusCode::MULTI_STATUS, Json(answers)).into_response())
}

/// `PATCH /v2/orders/{order_id}`: a new quantity, limit price, stop price and/or trail,
/// and/or a new time in force and client order id.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct ReplaceRequest {
    pub qty: Option<Decimal>,
    /// A `limit` or `stop_limit` order's.
    pub limit_price: Option<Decimal>,
    /// A `stop` or `stop_limit` order's, while it waits for its trigger.
    pub stop_price: Option<Decimal>,
    /// A `trailing_stop` order's new trail, in its kind: a price amount for one placed
    /// with `trail_price`, a percent for one placed with `trail_percent`.
    pub trail: Option<Decimal>,
    /// `day` or `gtc` from now on.
    #[schema(value_type = Option<String>, pattern = "^(day|gtc)$")]
    pub time_in_force: Option<WordText>,
    /// A new client order id, unique among your open orders.
    pub client_order_id: Option<ClientOrderIdText>,
}

/// A replace's fields as Alpaca spells them.
const ALPACA_REPLACE: crate::orders::ReplaceFields =
    crate::orders::ReplaceFields { quantity: "qty", limit: "limit_price", stop: "stop_price", trail: ("trail", "trail") };

/// Replace one of the caller's open orders: a resting limit order's quantity and/or limit
/// price, a waiting stop or stop-limit order's quantity, stop price and/or limit price, or
/// a waiting trailing stop's quantity and/or trail, and with any of them its time in force
/// (`day` or `gtc`) and client order id, change in place (the order keeps its id; Alpaca
/// would make a new one). A new client order id another open order holds is 422.
#[utoipa::path(patch, path = "/v2/orders/{order_id}", tag = "alpaca", request_body = ReplaceRequest,
    params(("order_id" = String, Path, description = "The order's UUID, or its TradeCraft id (as `/v1` gives it).")),
    responses(
        (status = 200, description = "The order after the change.", body = Order),
        (status = 403, description = "Insufficient buying power for the change, or a limit refuses it.", body = AlpacaError),
        (status = 404, description = "No such order of yours.", body = AlpacaError),
        (status = 422, description = "The order is no longer open, or the change cannot be made.", body = AlpacaError),
    ))]
pub(crate) async fn replace_order(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(order_id): Path<String>,
    Body(request): Body<ReplaceRequest>,
) -> Result<Json<Order>, ApiError> {
    let order = own_order(&state, &caller, &order_id).await?;
    let time_in_force = match request.time_in_force.as_ref().map(|tif| tif.as_str()) {
        None => None,
        Some("day") => Some("DAY"),
        Some("gtc") => Some("GTC"),
        Some(_) => return Err(unprocessable(crate::extract::field_error("time_in_force", "a replaced order rests day or gtc"))),
    };
    // The order's own client order id, or time in force, asks for no change.
    let time_in_force = time_in_force.filter(|tif| *tif != order.time_in_force);
    let client_order_id = request.client_order_id.as_ref().map(|id| id.as_str()).filter(|id| Some(*id) != order.client_order_id.as_deref());
    let reshapes = request.qty.is_some() || request.limit_price.is_some() || request.stop_price.is_some() || request.trail.is_some();
    if !reshapes && time_in_force.is_none() && client_order_id.is_none() {
        return Err(unprocessable(crate::extract::field_error("qty", "give qty, limit_price, stop_price, trail, time_in_force and/or a new client_order_id")));
    }
    let asked = (request.limit_price.is_some(), request.stop_price.is_some(), request.trail.is_some());
    crate::orders::replace_fits(&order, asked, &ALPACA_REPLACE).map_err(unprocessable)?;
    let fields = [("qty", &request.qty), ("limit_price", &request.limit_price), ("stop_price", &request.stop_price), ("trail", &request.trail)];
    for (field, value) in fields {
        if value.as_ref().is_some_and(|value| value.is_negative() || value.is_zero()) {
            return Err(unprocessable(crate::extract::field_error(field, "must be greater than 0")));
        }
    }
    let command = wire_command(json!({
        "command": "replaceOrder", "orderId": order.order_id.to_string(), "userId": order.account.to_string(),
        "quantity": request.qty.as_ref().map(Decimal::as_str), "limitPrice": request.limit_price.as_ref().map(Decimal::as_str),
        "stopPrice": request.stop_price.as_ref().map(Decimal::as_str),
        // Alpaca's one `trail` is in the kind the order was placed with.
        (if matches!(order.trail, Some(tradecraft_engine::Trail::Percent { .. })) { "trailPercent" } else { "trailAmount" }): request.trail.as_ref().map(Decimal::as_str),
        "clientOrderId": client_order_id, "timeInForce": time_in_force,
    }))
    .map_err(unprocessable)?;
    let outcome = execute(&state, command).await?;
    match first_rejection(events(&outcome)?) {
        Some(ApiError::Rejected { code: "unknown_order", .. }) => {
            return Err(ApiError::Rejected {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code: "order_not_open",
                message: format!("order {order_id} is not open"),
            });
        }
        Some(rejection) => return Err(unprocessable(crate::orders::replace_refused(rejection, &order, &order_uuid(order.order_id)))),
        None => {}
    }
    let replaced = record(&state, order.order_id).await?;
    Ok(Json(order_of(&replaced, &standing_now(&state, [&replaced]).await?)))
}

// ---- positions -----------------------------------------------------------------------

/// A position as Alpaca shows it (long only: TradeCraft has no short selling);
/// `AlpacaPosition` in the document (`Position` is `/v1`'s).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AlpacaPosition)]
pub(crate) struct Position {
    pub asset_id: String,
    pub symbol: String,
    pub exchange: String,
    pub asset_class: String,
    pub asset_marginable: bool,
    pub avg_entry_price: String,
    pub qty: String,
    pub qty_available: String,
    pub side: String,
    pub market_value: String,
    pub cost_basis: String,
    pub unrealized_pl: String,
    pub unrealized_plpc: String,
    pub unrealized_intraday_pl: String,
    pub unrealized_intraday_plpc: String,
    pub current_price: String,
    pub lastday_price: String,
    pub change_today: String,
}

/// `part` of `whole` as a fraction with 8 decimals (0 of nothing).
fn fraction(part: i128, whole: i128) -> String {
    if whole == 0 { "0".to_owned() } else { tradecraft_store::decimal(part * 100_000_000 / whole, 8) }
}

async fn positions_of(state: &AppState, user: u64) -> Result<Vec<Position>, ApiError> {
    let day_start = utc_day_start(now().millis());
    let (rows, closes, lots) =
        crate::reads::ask(state, move |store| Ok((store.positions(user)?, store.previous_closes(day_start)?, store.open_lots(user)?))).await?;
    let holdings = query(state, move |engine| engine.account(AccountId(user))).await?.map(|view| view.holdings).unwrap_or_default();
    Ok(rows
        .iter()
        .filter(|row| row.quantity.is_positive())
        .map(|row| {
            let cost = i128::from(row.cost.raw());
            let value = row.market_value.map_or(cost, |value| i128::from(value.raw()));
            let unrealized = value - cost;
            // The day so far: against the symbol's close of the last day it had a price (or
            // its first price today), lots bought today against what they cost.
            let current = row.last_price.map_or(0, |price| i128::from(price.raw()));
            let lastday = closes.get(&row.symbol).map_or(current, |close| i128::from(close.raw()));
            let day_basis: i128 = lots
                .iter()
                .filter(|(symbol, ..)| *symbol == row.symbol)
                .map(|(_, quantity, price, opened_at)| i128::from(quantity.raw()) * if *opened_at >= day_start { i128::from(price.raw()) } else { lastday })
                .sum();
            let day_basis = if day_basis == 0 { cost } else { day_basis };
            let available = Symbol::new(&row.symbol)
                .ok()
                .and_then(|symbol| holdings.iter().find(|(held, _)| *held == symbol).map(|(_, balance)| Quantity::from_raw(balance.available).to_string()))
                .unwrap_or_else(|| row.quantity.to_string());
            let price = row.last_price.map_or_else(|| "0".to_owned(), |price| price.to_string());
            Position {
                asset_id: asset_uuid(&row.symbol),
                symbol: row.symbol.clone(),
                exchange: "NASDAQ".to_owned(),
                asset_class: "us_equity".to_owned(),
                asset_marginable: false,
                avg_entry_price: row.average_cost.map_or_else(|| "0".to_owned(), |price: Price| price.to_string()),
                qty: row.quantity.to_string(),
                qty_available: available,
                side: "long".to_owned(),
                market_value: tradecraft_store::decimal(value, 8),
                cost_basis: row.cost.to_string(),
                unrealized_pl: tradecraft_store::decimal(unrealized, 8),
                unrealized_plpc: fraction(unrealized, cost),
                unrealized_intraday_pl: tradecraft_store::decimal(value - day_basis, 8),
                unrealized_intraday_plpc: fraction(value - day_basis, day_basis),
                current_price: price,
                lastday_price: tradecraft_store::decimal(lastday, 4),
                change_today: fraction(current - lastday, lastday),
            }
        })
        .collect())
}

/// The caller's open positions.
#[utoipa::path(get, path = "/v2/positions", tag = "alpaca", responses((status = 200, description = "Positions.", body = Vec<Position>)))]
pub(crate) async fn positions(State(state): State<Shared>, Extension(caller): Extension<MaybeCaller>) -> Result<Json<Vec<Position>>, ApiError> {
    Ok(Json(positions_of(&state, own_account(&caller)?).await?))
}

/// One open position, by symbol or asset id.
#[utoipa::path(get, path = "/v2/positions/{symbol_or_asset_id}", tag = "alpaca",
    params(("symbol_or_asset_id" = String, Path, description = "A symbol, or an asset's UUID.")),
    responses((status = 200, description = "The position.", body = Position), (status = 404, description = "No position in it.", body = AlpacaError)))]
pub(crate) async fn position(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(symbol): Path<String>,
) -> Result<Json<Position>, ApiError> {
    let symbol = symbol_named(&state, &symbol).await?;
    positions_of(&state, own_account(&caller)?)
        .await?
        .into_iter()
        .find(|position| position.symbol == symbol)
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("position in {symbol}")))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ClosePositionParams {
    /// Shares to sell; all when neither this nor `percentage` is given.
    #[param(value_type = Option<String>)]
    qty: Option<String>,
    /// Percent of the position to sell (0 to 100).
    #[param(value_type = Option<String>)]
    percentage: Option<String>,
}

/// A quantity in a query string, in the API's one decimal grammar (`1e1` is 10, as in a
/// body), then on the quantity grid.
fn query_quantity(text: &str) -> Option<Quantity> {
    crate::extract::canonical_decimal(text).ok().and_then(|canonical| Quantity::parse(&canonical).ok())
}

/// Closes (part of) a position with a market sell; the answer is that order.
#[utoipa::path(delete, path = "/v2/positions/{symbol_or_asset_id}", tag = "alpaca",
    params(("symbol_or_asset_id" = String, Path, description = "A symbol, or an asset's UUID."), ClosePositionParams),
    responses(
        (status = 200, description = "The closing order.", body = Order),
        (status = 404, description = "No position in it.", body = AlpacaError),
        (status = 422, description = "A bad qty or percentage, or the shares are held by open orders.", body = AlpacaError),
    ))]
pub(crate) async fn close_position(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(symbol): Path<String>,
    Query(params): Query<ClosePositionParams>,
) -> Result<Json<Order>, ApiError> {
    let user = own_account(&caller)?;
    let symbol = symbol_named(&state, &symbol).await?;
    let position = positions_of(&state, user).await?.into_iter().find(|position| position.symbol == symbol);
    let position = position.ok_or_else(|| ApiError::NotFound(format!("position in {symbol}")))?;
    let held = Quantity::parse(&position.qty).map_err(|_| ApiError::Internal("position quantity".to_owned()))?;
    let bad = invalid_parameter;
    let quantity = match (params.qty.as_deref(), params.percentage.as_deref()) {
        (Some(_), Some(_)) => return Err(bad("give qty or percentage, not both")),
        (Some(text), None) => query_quantity(text).ok_or_else(|| bad("qty must be a decimal"))?,
        (None, Some(text)) => {
            let percent = query_quantity(text).ok_or_else(|| bad("percentage must be a decimal"))?;
            if !percent.is_positive() || percent.raw() > Quantity::parse("100").map_or(0, |hundred| hundred.raw()) {
                return Err(bad("percentage must be above 0 and at most 100"));
            }
            let share = Quantity::from_raw((i128::from(held.raw()) * i128::from(percent.raw()) / (100 * 10_000)) as i64);
            // Down to whole lots, as Alpaca rounds a percentage down to what can be sold.
            let listed = Symbol::new(&symbol).ok();
            let lot = query(&state, move |engine| listed.and_then(|symbol| engine.instrument(symbol)).map(|(spec, _)| spec.lot_size)).await?;
            let lot = lot.filter(|lot| lot.is_positive()).ok_or_else(|| ApiError::NotFound(format!("asset {symbol}")))?;
            let lots = Quantity::from_raw(share.raw() / lot.raw() * lot.raw());
            if !lots.is_positive() {
                return Err(invalid_parameter(format!("{percent} % of the position is less than one lot ({lot})")));
            }
            lots
        }
        (None, None) => held,
    };
    if !quantity.is_positive() || quantity.raw() > held.raw() {
        return Err(bad("the quantity to close must be above 0 and at most the position"));
    }
    close(&state, user, &symbol, quantity).await.map(Json)
}

async fn close(state: &AppState, user: u64, symbol: &str, quantity: Quantity) -> Result<Order, ApiError> {
    let request = crate::extract::from_object(json!({"symbol": symbol, "side": "SELL", "type": "MARKET", "quantity": quantity.to_string()}))?;
    place_and_show(state, user, request).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct CloseAllParams {
    /// Cancel the open orders first (`true` or `false`, default false).
    #[param(value_type = Option<bool>)]
    cancel_orders: Option<String>,
}

/// Closes every position with market sells: 207 with each position's closing order.
#[utoipa::path(delete, path = "/v2/positions", tag = "alpaca", params(CloseAllParams),
    responses((status = 207, description = "Each position's closing order or why it could not be closed.", body = Vec<CancelStatus>)))]
pub(crate) async fn close_all(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Query(params): Query<CloseAllParams>,
) -> Result<Response, ApiError> {
    let user = own_account(&caller)?;
    // Python clients send booleans as `True` and `False`.
    let cancel_orders = match params.cancel_orders.as_deref() {
        None | Some("false" | "False") => false,
        Some("true" | "True") => true,
        Some(_) => return Err(invalid_parameter("cancel_orders must be true or false")),
    };
    if cancel_orders {
        for order in &open_orders(&state, AccountId(user))? {
            // An order that finished meanwhile needs no cancelling.
            let _ = cancel(&state, order).await;
        }
    }
    let mut answers = Vec::new();
    for position in positions_of(&state, user).await? {
        let available = Quantity::parse(&position.qty_available).unwrap_or(Quantity::from_raw(0));
        let answer = if available.is_positive() {
            match close(&state, user, &position.symbol, available).await {
                Ok(order) => CancelStatus { id: position.asset_id.clone(), status: 200, body: serde_json::to_value(order).unwrap_or(Value::Null) },
                Err(error) => CancelStatus {
                    id: position.asset_id.clone(),
                    status: alpaca_status(error.status_code()).as_u16(),
                    body: json!({"message": error.to_string(), "symbol": position.symbol}),
                },
            }
        } else {
            CancelStatus {
                id: position.asset_id.clone(),
                status: 403,
                body: json!({"message": "the shares are held by open orders", "symbol": position.symbol}),
            }
        };
        answers.push(answer);
    }
    Ok((StatusCode::MULTI_STATUS, Json(answers)).into_response())
}

// ---- assets, clock, calendar ---------------------------------------------------------

/// A listed instrument as an Alpaca asset.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct Asset {
    pub id: String,
    #[serde(rename = "class")]
    pub asset_class: String,
    pub exchange: String,
    pub symbol: String,
    pub name: String,
    pub status: String,
    pub tradable: bool,
    pub marginable: bool,
    pub shortable: bool,
    pub easy_to_borrow: bool,
    pub fractionable: bool,
    pub min_order_size: String,
    pub min_trade_increment: String,
    pub price_increment: String,
    pub attributes: Vec<String>,
}

pub(crate) async fn assets_listed(state: &AppState) -> Result<Vec<Asset>, ApiError> {
    let listed = query(state, |engine| {
        engine
            .symbols()
            .filter_map(|symbol| engine.instrument(symbol))
            .map(|(spec, halted)| {
                (spec.symbol.as_str().to_owned(), spec.tick_size.to_string(), spec.lot_size.to_string(), spec.min_quantity.to_string(), halted)
            })
            .collect::<Vec<_>>()
    })
    .await?;
    Ok(listed
        .into_iter()
        .map(|(symbol, tick, lot, minimum, halted)| Asset {
            id: asset_uuid(&symbol),
            asset_class: "us_equity".to_owned(),
            exchange: "NASDAQ".to_owned(),
            name: format!("{symbol} (TradeCraft mock instrument)"),
            status: "active".to_owned(),
            tradable: !halted,
            marginable: false,
            shortable: false,
            easy_to_borrow: false,
            fractionable: lot != "1",
            min_order_size: minimum,
            min_trade_increment: lot,
            price_increment: tick,
            attributes: Vec::new(),
            symbol,
        })
        .collect())
}

/// The symbol a path names: a listed symbol, or an asset's UUID.
async fn symbol_named(state: &AppState, text: &str) -> Result<String, ApiError> {
    let wanted = text.to_ascii_uppercase();
    let hash = id_of(TAG_ASSET, text);
    assets_listed(state)
        .await?
        .into_iter()
        .find(|asset| asset.symbol == wanted || hash == Some(symbol_hash(&asset.symbol)))
        .map(|asset| asset.symbol)
        .ok_or_else(|| ApiError::NotFound(format!("asset {text}")))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AssetParams {
    /// `active` (every listed instrument is) or `inactive` (none is).
    #[param(value_type = Option<String>, pattern = "^(active|inactive)$")]
    status: Option<String>,
    /// One of Alpaca's classes; every listed instrument is `us_equity`.
    #[param(value_type = Option<String>, pattern = "^(us_equity|us_option|crypto|crypto_perp)$")]
    asset_class: Option<String>,
    /// One of Alpaca's exchanges; the listed instruments are on `NASDAQ`.
    #[param(value_type = Option<String>, pattern = "^(AMEX|ARCA|ASCX|BATS|NYSE|NASDAQ|NYSEARCA|FTXU|CBSE|GNSS|ERSX|OTC|CRYPTO)$")]
    exchange: Option<String>,
    /// Comma-separated attributes of Alpaca's; no listed instrument has any.
    #[param(value_type = Option<String>)]
    attributes: Option<String>,
}

/// The asset attributes Alpaca names.
const ASSET_ATTRIBUTES: [&str; 8] =
    ["ptp_no_exception", "ptp_with_exception", "ipo", "has_options", "options_late_close", "fractional_eh_enabled", "overnight_tradable", "overnight_halted"];

impl AssetParams {
    /// Refuses a filter value Alpaca does not have, rather than answering it with nothing.
    fn check(&self) -> Result<(), ApiError> {
        let refused = |name: &str, value: &str, allowed: &str| Err(invalid_parameter(format!("{name} {value:?} is not one of {allowed}")));
        if let Some(status) = self.status.as_deref().filter(|status| !matches!(*status, "active" | "inactive")) {
            return refused("status", status, "active, inactive");
        }
        if let Some(class) = self.asset_class.as_deref().filter(|class| !matches!(*class, "us_equity" | "us_option" | "crypto" | "crypto_perp")) {
            return refused("asset_class", class, "us_equity, us_option, crypto, crypto_perp");
        }
        const EXCHANGES: [&str; 13] = ["AMEX", "ARCA", "ASCX", "BATS", "NYSE", "NASDAQ", "NYSEARCA", "FTXU", "CBSE", "GNSS", "ERSX", "OTC", "CRYPTO"];
        if let Some(exchange) = self.exchange.as_deref().filter(|exchange| !EXCHANGES.contains(exchange)) {
            return refused("exchange", exchange, &EXCHANGES.join(", "));
        }
        let attributes = self.attributes.as_deref().unwrap_or_default();
        if let Some(unknown) = attributes.split(',').filter(|name| !name.is_empty()).find(|name| !ASSET_ATTRIBUTES.contains(name)) {
            return refused("attribute", unknown, &ASSET_ATTRIBUTES.join(", "));
        }
        Ok(())
    }
}

/// The listed instruments as assets.
#[utoipa::path(get, path = "/v2/assets", tag = "alpaca", params(AssetParams),
    responses((status = 200, description = "Assets.", body = Vec<Asset>), (status = 422, description = "A filter value Alpaca does not have.", body = AlpacaError)))]
pub(crate) async fn assets(State(state): State<Shared>, Query(params): Query<AssetParams>) -> Result<Json<Vec<Asset>>, ApiError> {
    params.check()?;
    let all = assets_listed(&state).await?;
    let keep = |asset: &Asset| {
        params.status.as_deref().is_none_or(|status| status == asset.status)
            && params.asset_class.as_deref().is_none_or(|class| class == asset.asset_class)
            && params.exchange.as_deref().is_none_or(|exchange| exchange == asset.exchange)
            && params.attributes.as_deref().is_none_or(str::is_empty)
    };
    Ok(Json(all.into_iter().filter(keep).collect()))
}

/// One asset by symbol or id.
#[utoipa::path(get, path = "/v2/assets/{symbol_or_asset_id}", tag = "alpaca",
    params(("symbol_or_asset_id" = String, Path, description = "A symbol, or an asset's UUID.")),
    responses((status = 200, description = "The asset.", body = Asset), (status = 404, description = "Not listed.", body = AlpacaError)))]
pub(crate) async fn asset(State(state): State<Shared>, Path(symbol): Path<String>) -> Result<Json<Asset>, ApiError> {
    let symbol = symbol_named(&state, &symbol).await?;
    assets_listed(&state).await?.into_iter().find(|asset| asset.symbol == symbol).map(Json).ok_or_else(|| ApiError::NotFound(format!("asset {symbol}")))
}

/// `GET /v2/clock`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Clock {
    pub timestamp: String,
    pub is_open: bool,
    pub next_open: String,
    pub next_close: String,
}

const DAY_MS: i64 = 86_400_000;

/// The first Unix ms of the UTC day holding `ms`.
pub(crate) fn utc_day_start(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS) * DAY_MS
}

/// The market clock, from the universe's session (`24/7` by default: always open, the
/// next close the end of the UTC day, when DAY orders expire, and the next open the
/// same instant; with e.g. `mon-fri 14:30-21:00` or `nyse` the clock of those hours).
#[utoipa::path(get, path = "/v2/clock", tag = "alpaca", responses((status = 200, description = "The clock.", body = Clock)))]
pub(crate) async fn clock(State(state): State<Shared>) -> Json<Clock> {
    let now = now();
    let (next_open, next_close) = state.calendar.default.next_open_and_close(now).unwrap_or((now, now));
    Json(Clock {
        timestamp: now.to_string(),
        is_open: state.calendar.default.session_at(now).is_some(),
        next_open: next_open.to_string(),
        next_close: next_close.to_string(),
    })
}

/// One trading day of `GET /v2/calendar`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CalendarDay {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// `HH:MM` the market opens (`00:00` around the clock), on the session's clock: UTC,
    /// or New York time on the `nyse` calendar.
    pub open: String,
    /// `HH:MM` it closes (`23:59` around the clock; `13:00` on an `nyse` early close).
    pub close: String,
    /// `HHMM`: the same as `open` (no extended hours are traded).
    pub session_open: String,
    /// `HHMM`: the same as `close`.
    pub session_close: String,
    /// `YYYY-MM-DD` the day's trades settle: the same day, or the next trading day (T+1)
    /// on the `nyse` calendar.
    pub settlement_date: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct CalendarParams {
    /// First day (`YYYY-MM-DD`); today when absent.
    #[param(value_type = Option<String>, pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    start: Option<String>,
    /// Last day (`YYYY-MM-DD`); 30 days after `start` when absent; at most 366 days.
    #[param(value_type = Option<String>, pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    end: Option<String>,
}

/// The start (UTC) of the day `text` names, as `YYYY-MM-DD`.
pub(crate) fn day(text: &str) -> Option<Timestamp> {
    (text.len() == 10).then(|| Timestamp::parse(&format!("{text}T00:00:00Z")).ok()).flatten()
}

/// Trading days and hours from the market's session (`24/7` by default: every day, all day;
/// `nyse`: the exchange's weekdays, holidays and early closes, in New York time).
#[utoipa::path(get, path = "/v2/calendar", tag = "alpaca", params(CalendarParams),
    responses((status = 200, description = "Days.", body = Vec<CalendarDay>), (status = 422, description = "A bad date.", body = AlpacaError)))]
pub(crate) async fn calendar(State(state): State<Shared>, Query(params): Query<CalendarParams>) -> Result<Json<Vec<CalendarDay>>, ApiError> {
    let day = |name: &str, text: Option<&str>| -> Result<Option<i64>, ApiError> {
        text.map(|text| day(text).map(|at| at.millis().div_euclid(DAY_MS)).ok_or_else(|| invalid_parameter(format!("{name} must be YYYY-MM-DD")))).transpose()
    };
    let start = day("start", params.start.as_deref())?.unwrap_or_else(|| now().millis().div_euclid(DAY_MS));
    let end = day("end", params.end.as_deref())?.unwrap_or(start + 30);
    if end < start || end - start > 366 {
        return Err(invalid_parameter("end must be on or after start, at most 366 days on"));
    }
    Ok(Json(
        (start..=end)
            .filter_map(|index| {
                let (open, close) = state.calendar.default.hours_on(index)?;
                let date = |day: i64| Timestamp::from_millis(day * DAY_MS).to_string()[..10].to_owned();
                // Around the clock the day closes at midnight: shown as 23:59, its last minute.
                let close = if close - open == DAY_MS { close - 60_000 } else { close };
                // On the session's own clock (New York's for `nyse`, as Alpaca shows it).
                let offset = i64::from(state.calendar.default.utc_offset_minutes(index)) * 60_000;
                let time = |at: i64| Timestamp::from_millis(at + offset).to_string()[11..16].to_owned();
                Some(CalendarDay {
                    open: time(open),
                    close: time(close),
                    session_open: time(open).replace(':', ""),
                    session_close: time(close).replace(':', ""),
                    settlement_date: date(state.calendar.default.settlement_day(index)),
                    date: date(index),
                })
            })
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_uuids_that_read_back() {
        let text = uuid(TAG_ORDER, 42);
        assert_eq!(text, "74630000-0000-0002-0000-00000000002a");
        assert_eq!(id_of(TAG_ORDER, &text), Some(42));
        assert_eq!(id_of(TAG_ACCOUNT, &text), None, "another kind's tag");
        assert_eq!(id_of(TAG_ORDER, &uuid(TAG_ORDER, u64::MAX)), Some(u64::MAX));
        for bad in ["", "42", "74630000-0000-0002-0000-00000000002", "74630000000000020000000000000002a0", "z4630000-0000-0002-0000-00000000002a"] {
            assert_eq!(id_of(TAG_ORDER, bad), None, "{bad}");
        }
    }

    #[test]
    fn statuses_are_alpacas() {
        assert_eq!(alpaca_status(StatusCode::PAYMENT_REQUIRED), StatusCode::FORBIDDEN);
        assert_eq!(alpaca_status(StatusCode::CONFLICT), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(alpaca_status(StatusCode::NOT_FOUND), StatusCode::NOT_FOUND);
        for (native, alpaca) in
            [("ACCEPTED", "new"), ("PARTIALLY_FILLED", "partially_filled"), ("FILLED", "filled"), ("CANCELLED", "canceled"), ("EXPIRED", "expired")]
        {
            assert_eq!(status_word(native), alpaca);
        }
    }
}
