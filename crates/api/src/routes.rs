//! Routes under `/v1` and `/health`, mirroring the URL paths.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::extract::Query;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tradecraft_engine::{Engine, Event};
use tradecraft_market::Interval;
use tradecraft_sequencer::wire::{PlaceOrder, WireCommand};
use tradecraft_sequencer::{CommandOutcome, Request, RuntimeError, submit_then};
use tradecraft_types::{AccountId, Money, OrderId, Price, Quantity, Symbol, Timestamp};

use crate::auth::{MaybeCaller, account_for, require_admin};
use crate::extract::{Body, field_error, from_object, parse_unsigned};
use crate::metrics::log_fields;
use crate::models::{CreateAccountRequest, PlaceOrderRequest, ReplaceOrderRequest};
use crate::{ApiError, AppState, Shared, alerts, identity, organisations, privacy, reads, risk};

/// Longest wait for the engine to apply a command or answer a query.
const ENGINE_TIMEOUT: Duration = Duration::from_secs(10);
/// Idempotency keys remembered (oldest forgotten first).
const IDEMPOTENCY_KEYS_MAX: usize = 100_000;
/// Most book levels and trades one request returns.
const DEPTH_MAX: usize = 100;
const TRADES_MAX: usize = 1_000;
/// Cash of a new paper account unless the request says otherwise.
const STARTING_CASH: &str = "100000";

pub(crate) fn router() -> Router<Shared> {
    Router::new()
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
        .route("/openapi.json", get(openapi))
        .route("/v1/accounts", post(create_account))
        .route("/v1/orders", post(place_order).get(list_orders))
        .route("/v1/orders/{order_id}", get(get_order).delete(cancel_order).patch(replace_order))
        .route("/v1/portfolio/{user_id}", get(portfolio))
        .route("/v1/portfolio/positions", get(reads::positions))
        .route("/v1/portfolio/performance", get(reads::performance))
        .route("/v1/trades/search", get(reads::search_trades))
        .route("/v1/wallet/transactions", get(reads::wallet))
        .route("/v1/analytics/volume", get(reads::volume))
        .route("/v1/analytics/metrics", get(reads::metrics))
        .route("/v1/leaderboard", get(reads::leaderboard))
        .route("/v1/auth/register", post(identity::register))
        .route("/v1/auth/login", post(identity::login))
        .route("/v1/auth/refresh", post(identity::refresh))
        .route("/v1/auth/logout", post(identity::logout))
        .route("/v1/api-keys", post(identity::create_api_key).get(identity::list_api_keys))
        .route("/v1/api-keys/{key_id}", axum::routing::delete(identity::revoke_api_key))
        .route("/v1/users/{user_id}/role", axum::routing::put(identity::set_role))
        .route("/v1/audit", get(identity::audit_trail))
        .route("/v1/limits/{scope}/{id}", get(risk::get_limits).put(risk::put_limits))
        .route("/v1/users/{user_id}/membership", axum::routing::put(risk::put_membership))
        .route("/v1/organisations", post(organisations::create))
        .route("/v1/organisations/{org_id}", get(organisations::get))
        .route("/v1/organisations/{org_id}/groups", post(organisations::create_group))
        .route("/v1/organisations/{org_id}/members/{user_id}", axum::routing::put(organisations::put_member).delete(organisations::remove_member))
        .route("/v1/me/export", get(privacy::export))
        .route("/v1/me", axum::routing::delete(privacy::delete))
        .route("/v1/alerts", get(alerts::list))
        .route("/v1/alerts/{alert_id}/acknowledge", post(alerts::acknowledge))
        .route("/v1/webhooks", post(alerts::create_webhook).get(alerts::list_webhooks))
        .route("/v1/webhooks/{webhook_id}", axum::routing::delete(alerts::delete_webhook))
        .route("/v1/market/symbols", get(symbols))
        .route("/v1/market/{symbol}/orderbook", get(orderbook))
        .route("/v1/market/{symbol}/ticker", get(ticker))
        .route("/v1/market/{symbol}/trades", get(trades))
        .route("/v1/market/{symbol}/candles", get(candles))
}

pub(crate) fn now() -> Timestamp {
    let millis = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_millis() as i64);
    Timestamp::from_millis(millis)
}

fn engine_error(error: RuntimeError) -> ApiError {
    ApiError::Unavailable(error.to_string())
}

/// Runs `question` on the engine thread and returns its answer.
pub(crate) async fn query<T: Send + 'static>(state: &AppState, question: impl FnOnce(&Engine) -> T + Send + 'static) -> Result<T, ApiError> {
    let (sender, receiver) = oneshot::channel();
    state
        .engine
        .request(Request::Query(Box::new(move |engine| {
            let _ = sender.send(question(engine));
        })))
        .map_err(engine_error)?;
    tokio::time::timeout(ENGINE_TIMEOUT, receiver)
        .await
        .map_err(|_| ApiError::Unavailable("the engine did not answer in time".to_owned()))?
        .map_err(|_| ApiError::Unavailable("the engine stopped".to_owned()))
}

/// Appends a command and waits for the engine's outcome of it.
pub(crate) async fn execute(state: &AppState, command: WireCommand) -> Result<CommandOutcome, ApiError> {
    let sequence = state.sequence.fetch_add(1, Ordering::Relaxed);
    let (appended_sender, appended) = oneshot::channel();
    let done = Box::new(move |result| {
        let _ = appended_sender.send(result);
    });
    submit_then(state.log.as_ref(), &command, &state.producer, sequence, now(), done);
    let offset = appended
        .await
        .map_err(|_| ApiError::Unavailable("the order log stopped".to_owned()))?
        .map_err(|error| ApiError::Unavailable(format!("the order log cannot take the write: {error}")))?;
    let (sender, receiver) = oneshot::channel();
    let reply = Box::new(move |outcome| {
        let _ = sender.send(outcome);
    });
    state.engine.request(Request::Outcome { offset, reply }).map_err(engine_error)?;
    tokio::time::timeout(ENGINE_TIMEOUT, receiver)
        .await
        .map_err(|_| ApiError::Unavailable("the engine did not answer in time".to_owned()))?
        .map_err(|_| ApiError::Unavailable("the engine stopped".to_owned()))?
        .map_err(ApiError::Internal)
}

/// Appends a command given as wire JSON and waits for its outcome; an engine rejection
/// becomes the API's error for it.
pub(crate) async fn run_command(state: &AppState, body: Value) -> Result<CommandOutcome, ApiError> {
    let outcome = execute(state, wire_command(body)?).await?;
    match first_rejection(events(&outcome)?) {
        Some(rejection) => Err(rejection),
        None => Ok(outcome),
    }
}

pub(crate) fn events(outcome: &CommandOutcome) -> Result<&[Event], ApiError> {
    outcome.result.as_deref().map_err(|message| ApiError::bad_request("invalid_command", message.clone()))
}

pub(crate) fn first_rejection(events: &[Event]) -> Option<ApiError> {
    events.iter().find_map(|event| match event {
        Event::OrderRejected { reason, .. } | Event::CommandRejected { reason, .. } => Some(ApiError::from_reject(*reason)),
        _ => None,
    })
}

pub(crate) fn wire_command(body: Value) -> Result<WireCommand, ApiError> {
    let command: WireCommand = serde_json::from_value(body).map_err(|error| ApiError::bad_request("invalid_field", error.to_string()))?;
    checked(command)
}

/// `command` if the engine could read it (400 naming the field otherwise).
fn checked(command: WireCommand) -> Result<WireCommand, ApiError> {
    command.to_command(0).map_err(|error| ApiError::BadRequest {
        code: "invalid_field",
        message: error.to_string(),
        details: json!({"field": error.field}),
    })?;
    Ok(command)
}

async fn openapi() -> Json<Value> {
    Json(crate::openapi::document())
}

async fn live() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

async fn ready(State(state): State<Shared>) -> Response {
    let status = state.engine.status();
    let failure = status.failure.lock().ok().and_then(|failure| failure.clone());
    let log = match state.log.end_offset(tradecraft_sequencer::TRADE_ORDERS, 0) {
        Ok(end) => json!({"status": "up", "commands": end}),
        Err(error) => json!({"status": "down", "error": error.to_string()}),
    };
    let engine = match &failure {
        None => json!({"status": "up", "nextCommand": status.next_command.load(Ordering::Relaxed)}),
        Some(error) => json!({"status": "recovering", "error": error}),
    };
    let mut dependencies = json!({"log": log, "engine": engine});
    let mut healthy = failure.is_none() && dependencies["log"]["status"] == "up";
    if state.store.is_some() {
        // The read store answers a trivial query, and says how far behind the log it is.
        let answered = reads::ask(&state, |store| store.backend().query("SELECT 1", &[])).await;
        let lag: u64 = state.projection_metrics.as_ref().map_or(0, |metrics| metrics.lag().iter().map(|lag| lag.end.saturating_sub(lag.applied)).sum());
        dependencies["readStore"] = match answered {
            Ok(_) => json!({"status": "up", "dialect": state.store.as_ref().map(|store| store.dialect().name()), "lagRecords": lag}),
            Err(error) => {
                healthy = false;
                json!({"status": "down", "error": error.to_string()})
            }
        };
    }
    let code = if healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(json!({"status": if healthy { "ready" } else { "degraded" }, "dependencies": dependencies}))).into_response()
}

/// `POST /v1/accounts`: an operator creating an account directly (users register).
async fn create_account(State(state): State<Shared>, Extension(caller): Extension<MaybeCaller>, Body(body): Body<Value>) -> Result<Response, ApiError> {
    require_admin(&caller)?;
    let request: CreateAccountRequest = from_object(body)?;
    let cash = request.cash.map_or_else(|| STARTING_CASH.to_owned(), |cash| cash.0);
    let amount = Money::parse(&cash).map_err(|error| field_error("cash", error))?;
    if amount.raw() < 0 || amount.raw() % 1_000_000 != 0 {
        return Err(field_error("cash", "a non-negative amount in cents"));
    }
    let account = open_account(&state, request.user_id.map(|id| id.to_string()), &cash, amount).await?;
    Ok((StatusCode::CREATED, Json(json!({"userId": account.to_string(), "cashBalance": amount.to_string()}))).into_response())
}

/// Creates an engine account (id assigned by the log unless given) and deposits `cash`.
pub(crate) async fn open_account(state: &AppState, user_id: Option<String>, cash: &str, amount: Money) -> Result<AccountId, ApiError> {
    let outcome = run_command(state, json!({"command": "createAccount", "userId": user_id})).await?;
    let account = events(&outcome)?
        .iter()
        .find_map(|event| match event {
            Event::AccountCreated { account, .. } => Some(*account),
            _ => None,
        })
        .ok_or_else(|| ApiError::Internal("account creation produced no account".to_owned()))?;
    if amount.is_positive() {
        // The create command's offset is unique: it makes the deposit's transaction id.
        run_command(
            state,
            json!({
                "command": "deposit", "userId": account.to_string(),
                "transactionId": (outcome.offset | (1 << 62)).to_string(), "amount": cash,
            }),
        )
        .await?;
    }
    Ok(account)
}

/// Responses remembered by idempotency key (scoped to the caller), with a fingerprint of
/// the request.
#[derive(Debug, Default)]
pub struct IdempotencyStore {
    entries: BTreeMap<(String, String), (u64, StatusCode, Value)>,
    order: VecDeque<(String, String)>,
}

/// Longest idempotency key.
const IDEMPOTENCY_KEY_MAX: usize = 255;

fn fingerprint(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3))
}

/// The request's idempotency key, scoped to its caller: `None` without the header; 400
/// for an empty, over-long or non-printable key.
fn idempotency_key(headers: &HeaderMap, caller: &MaybeCaller) -> Result<Option<(String, String)>, ApiError> {
    let mut values = headers.get_all("x-idempotency-key").iter();
    let Some(value) = values.next() else { return Ok(None) };
    let invalid = |message: &str| ApiError::BadRequest {
        code: "invalid_idempotency_key",
        message: format!("X-Idempotency-Key: {message}"),
        details: json!({"header": "X-Idempotency-Key"}),
    };
    if values.next().is_some() {
        return Err(invalid("give it once"));
    }
    let key = value.to_str().map_err(|_| invalid("printable ASCII only"))?;
    if key.is_empty() || key.len() > IDEMPOTENCY_KEY_MAX || !key.bytes().all(|byte| byte.is_ascii_graphic() || byte == b' ') {
        return Err(invalid(&format!("1 to {IDEMPOTENCY_KEY_MAX} printable ASCII characters")));
    }
    let scope = caller.as_ref().map_or_else(String::new, |caller| caller.user_id.map_or_else(|| "operator".to_owned(), |user| user.to_string()));
    Ok(Some((scope, key.to_owned())))
}

async fn place_order(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    headers: HeaderMap,
    Body(request): Body<PlaceOrderRequest>,
) -> Result<Response, ApiError> {
    // The order is for the caller's own account unless it names one it may act for.
    let user = account_for(&caller, request.user_id.map(|id| id.0))?;
    let key = idempotency_key(&headers, &caller)?;
    let order = request.into_wire(user, String::new())?;
    // The fingerprint is of the order as understood (so 10 and "10" are one request),
    // before its timestamp is set.
    let print = if key.is_some() { fingerprint(&serde_json::to_string(&order).map_err(|error| ApiError::Internal(error.to_string()))?) } else { 0 };
    if let Some(key) = &key {
        let store = state.idempotency.lock().map_err(|_| ApiError::Internal("idempotency lock".to_owned()))?;
        if let Some((stored_print, status, response)) = store.entries.get(key) {
            return if *stored_print == print { Ok((*status, Json(response.clone())).into_response()) } else { Err(ApiError::IdempotencyConflict) };
        }
    }
    let result = place(&state, order).await;
    // The first final answer is what a retry with the same key gets; 5xx may be retried.
    if let Some(key) = key {
        let remembered = match &result {
            Ok(response) => Some((StatusCode::ACCEPTED, response.clone())),
            Err(error) if !error.status_code().is_server_error() => Some((error.status_code(), error_body(error))),
            Err(_) => None,
        };
        if let Some((status, response)) = remembered {
            let mut store = state.idempotency.lock().map_err(|_| ApiError::Internal("idempotency lock".to_owned()))?;
            store.entries.insert(key.clone(), (print, status, response));
            store.order.push_back(key);
            while store.order.len() > IDEMPOTENCY_KEYS_MAX {
                if let Some(oldest) = store.order.pop_front() {
                    store.entries.remove(&oldest);
                }
            }
        }
    }
    result.map(|response| (StatusCode::ACCEPTED, Json(response)).into_response())
}

fn error_body(error: &ApiError) -> Value {
    json!({"error": {"code": error.code(), "message": error.to_string(), "details": error.details()}})
}

async fn place(state: &AppState, mut order: PlaceOrder) -> Result<Value, ApiError> {
    order.order_timestamp = now().to_string();
    // The request's log line carries the order's fields.
    let user_id = order.user_id.parse().ok();
    let symbol = order.symbol.clone();
    log_fields(|fields| {
        fields.user_id = fields.user_id.or(user_id);
        fields.symbol = Some(symbol);
    });
    let command = checked(WireCommand::PlaceOrder(order))?;
    let outcome = execute(state, command).await?;
    log_fields(|fields| fields.order_id = Some(outcome.offset));
    let events = events(&outcome)?;
    if let Some(rejection) = first_rejection(events) {
        log_fields(|fields| fields.reason = Some(rejection.code()));
        return Err(rejection);
    }
    let accepted = events
        .iter()
        .find_map(|event| match event {
            Event::OrderAccepted(order) => Some(*order),
            _ => None,
        })
        .ok_or_else(|| ApiError::Internal("an order was neither accepted nor rejected".to_owned()))?;
    let mut response = json!({"orderId": accepted.order_id.to_string(), "status": "ACCEPTED"});
    if let Some(client) = accepted.client_order_id {
        response["clientOrderId"] = json!(client.as_str());
    }
    Ok(response)
}

pub(crate) fn parse_id(field: &str, text: &str) -> Result<u64, ApiError> {
    parse_unsigned(text).ok_or_else(|| ApiError::BadRequest {
        code: "invalid_id",
        message: format!("{field} {text:?} is not an id (a decimal integer without sign or leading zeros)"),
        details: json!({"field": field}),
    })
}

fn order_json(record: &crate::view::OrderRecord) -> Value {
    json!({
        "orderId": record.order_id.to_string(),
        "userId": record.account.to_string(),
        "symbol": record.symbol.as_str(),
        "side": record.side.as_str(),
        "quantity": record.quantity.to_string(),
        "status": record.status,
        "reason": record.reason,
        "filledQuantity": record.filled.to_string(),
        "averagePrice": record.average_price().map(|price| price.to_string()),
        "fills": record.fills.iter().map(|fill| json!({
            "tradeId": fill.trade_id.to_string(), "price": fill.price.to_string(), "quantity": fill.quantity.to_string(),
            "fee": fill.fee.to_string(), "liquidity": fill.liquidity, "timestamp": fill.timestamp.to_string(),
        })).collect::<Vec<_>>(),
        "createdAt": record.created.to_string(),
        "updatedAt": record.updated.to_string(),
    })
}

async fn get_order(State(state): State<Shared>, Extension(caller): Extension<MaybeCaller>, Path(order_id): Path<String>) -> Result<Json<Value>, ApiError> {
    let order_id = OrderId(parse_id("orderId", &order_id)?);
    log_fields(|fields| fields.order_id = Some(order_id.0));
    order_owner(&state, &caller, order_id)?;
    let view = state.view.lock().map_err(|_| ApiError::Internal("view lock".to_owned()))?;
    let record = view.orders.get(&order_id).ok_or_else(|| ApiError::NotFound(format!("order {order_id}")))?;
    Ok(Json(order_json(record)))
}

/// The account an order belongs to, if the caller may act for it. Someone else's order
/// answers 404 exactly as an unknown id does, so ids reveal nothing.
fn order_owner(state: &AppState, caller: &MaybeCaller, order_id: OrderId) -> Result<AccountId, ApiError> {
    let not_found = || ApiError::NotFound(format!("order {order_id}"));
    let owner = {
        let view = state.view.lock().map_err(|_| ApiError::Internal("view lock".to_owned()))?;
        view.orders.get(&order_id).map(|record| record.account).ok_or_else(not_found)?
    };
    let caller = crate::auth::require(caller)?;
    if caller.acts_for(owner.0) { Ok(owner) } else { Err(not_found()) }
}

/// An order the engine no longer has open cannot be changed: that is a conflict, not 404.
fn not_open_is_conflict(rejection: ApiError, order_id: OrderId) -> ApiError {
    match rejection {
        ApiError::Rejected { code: "unknown_order", .. } => {
            ApiError::Rejected { status: StatusCode::CONFLICT, code: "order_not_open", message: format!("order {order_id} is not open") }
        }
        other => other,
    }
}

async fn cancel_order(State(state): State<Shared>, Extension(caller): Extension<MaybeCaller>, Path(order_id): Path<String>) -> Result<Response, ApiError> {
    let order_id = OrderId(parse_id("orderId", &order_id)?);
    log_fields(|fields| fields.order_id = Some(order_id.0));
    let owner = order_owner(&state, &caller, order_id)?;
    let command = wire_command(json!({"command": "cancelOrder", "orderId": order_id.to_string(), "userId": owner.to_string()}))?;
    let outcome = execute(&state, command).await?;
    let events = events(&outcome)?;
    if let Some(rejection) = first_rejection(events) {
        return Err(not_open_is_conflict(rejection, order_id));
    }
    Ok((StatusCode::OK, Json(json!({"orderId": order_id.to_string(), "status": "CANCELLED"}))).into_response())
}

/// `PATCH /v1/orders/{id}` with `quantity` (new total) and/or `limitPrice`.
async fn replace_order(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(order_id): Path<String>,
    Body(body): Body<Value>,
) -> Result<Json<Value>, ApiError> {
    let order_id = OrderId(parse_id("orderId", &order_id)?);
    log_fields(|fields| fields.order_id = Some(order_id.0));
    let request = ReplaceOrderRequest::from_body(body)?;
    let owner = order_owner(&state, &caller, order_id)?;
    let command = wire_command(json!({
        "command": "replaceOrder", "orderId": order_id.to_string(), "userId": owner.to_string(),
        "quantity": request.quantity, "limitPrice": request.limit_price,
    }))?;
    let outcome = execute(&state, command).await?;
    let events = events(&outcome)?;
    if let Some(rejection) = first_rejection(events) {
        return Err(not_open_is_conflict(rejection, order_id));
    }
    let view = state.view.lock().map_err(|_| ApiError::Internal("view lock".to_owned()))?;
    let record = view.orders.get(&order_id).ok_or_else(|| ApiError::NotFound(format!("order {order_id}")))?;
    let priority_kept = events.iter().any(|event| matches!(event, Event::OrderReplaced { priority_kept: true, .. }));
    let mut response = order_json(record);
    response["priorityKept"] = json!(priority_kept);
    Ok(Json(response))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrderListQuery {
    user_id: Option<String>,
    status: Option<String>,
    symbol: Option<String>,
    start_date: Option<String>,
    end_date: Option<String>,
    limit: Option<String>,
    page_token: Option<String>,
}

/// `GET /v1/orders?userId=&status=&symbol=&startDate=&endDate=&limit=&pageToken=`,
/// newest first; `pageToken` is the last order id of the previous page.
async fn list_orders(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Query(params): Query<OrderListQuery>,
) -> Result<Json<Value>, ApiError> {
    let requested = params.user_id.as_deref().map(|text| parse_id("userId", text)).transpose()?;
    // Admins may list everyone's orders; anyone else lists their own.
    let user = match (&caller, requested) {
        (Some(caller), None) if caller.is_admin() => None,
        _ => Some(AccountId(account_for(&caller, requested)?)),
    };
    let statuses = ["ACCEPTED", "PARTIALLY_FILLED", "FILLED", "CANCELLED", "EXPIRED", "OPEN"];
    if let Some(status) = &params.status
        && !statuses.contains(&status.as_str())
    {
        return Err(ApiError::bad_request("invalid_parameter", format!("status must be one of {statuses:?}")));
    }
    let symbol = params.symbol.as_deref().map(parse_symbol).transpose()?;
    let time = |text: Option<&str>| -> Result<Option<Timestamp>, ApiError> {
        text.map(|text| Timestamp::parse(text).map_err(|error| ApiError::bad_request("invalid_parameter", error.to_string()))).transpose()
    };
    let (start, end) = (time(params.start_date.as_deref())?, time(params.end_date.as_deref())?);
    let limit = bounded(params.limit.as_deref(), 100, 1_000, "limit")?;
    let before = params.page_token.as_deref().map(|text| parse_id("pageToken", text).map(OrderId)).transpose()?;
    let view = state.view.lock().map_err(|_| ApiError::Internal("view lock".to_owned()))?;
    let matches = |record: &&crate::view::OrderRecord| {
        user.is_none_or(|user| record.account == user)
            && symbol.is_none_or(|symbol| record.symbol == symbol)
            && params
                .status
                .as_deref()
                .is_none_or(|status| status == record.status || (status == "OPEN" && matches!(record.status, "ACCEPTED" | "PARTIALLY_FILLED")))
            && start.is_none_or(|start| record.created >= start)
            && end.is_none_or(|end| record.created <= end)
    };
    let upper = before.map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded);
    let page: Vec<&crate::view::OrderRecord> =
        view.orders.range((std::ops::Bound::Unbounded, upper)).rev().map(|(_, record)| record).filter(matches).take(limit + 1).collect();
    let next = (page.len() > limit).then(|| page[limit - 1].order_id.to_string());
    Ok(Json(json!({
        "orders": page.iter().take(limit).map(|record| order_json(record)).collect::<Vec<_>>(),
        "pagination": {"nextPageToken": next},
    })))
}

async fn portfolio(State(state): State<Shared>, Extension(caller): Extension<MaybeCaller>, Path(user_id): Path<String>) -> Result<Json<Value>, ApiError> {
    let account = AccountId(account_for(&caller, Some(parse_id("userId", &user_id)?))?);
    let (view, now_nanos) = query(&state, move |engine| (engine.account(account), engine.now_nanos())).await?;
    let view = view.ok_or_else(|| ApiError::NotFound(format!("user {account}")))?;
    let holdings: serde_json::Map<String, Value> = view
        .holdings
        .iter()
        .filter(|(_, balance)| balance.total() > 0)
        .map(|(symbol, balance)| (symbol.to_string(), json!(Quantity::from_raw(balance.total()).to_string())))
        .collect();
    let reserved: serde_json::Map<String, Value> = view
        .holdings
        .iter()
        .filter(|(_, balance)| balance.reserved > 0)
        .map(|(symbol, balance)| (symbol.to_string(), json!(Quantity::from_raw(balance.reserved).to_string())))
        .collect();
    Ok(Json(json!({
        "userId": account.to_string(),
        "cashBalance": Money::from_raw(view.cash.total()).to_string(),
        "availableCash": Money::from_raw(view.cash.available).to_string(),
        "reservedCash": Money::from_raw(view.cash.reserved).to_string(),
        "holdings": holdings,
        "reservedHoldings": reserved,
        "openOrders": view.open_orders,
        "lastUpdatedTimestamp": Timestamp::from_millis((now_nanos / 1_000_000) as i64).to_string(),
    })))
}

fn parse_symbol(text: &str) -> Result<Symbol, ApiError> {
    Symbol::new(text).map_err(|error| ApiError::bad_request("invalid_symbol", error.to_string()))
}

async fn known_symbol(state: &AppState, text: &str) -> Result<Symbol, ApiError> {
    let symbol = parse_symbol(text)?;
    if query(state, move |engine| engine.instrument(symbol).is_some()).await? { Ok(symbol) } else { Err(ApiError::NotFound(format!("symbol {symbol}"))) }
}

async fn symbols(State(state): State<Shared>) -> Result<Json<Value>, ApiError> {
    let listed = query(&state, |engine| {
        engine.symbols().filter_map(|symbol| engine.instrument(symbol).map(|(spec, halted)| (spec, halted, engine.last_price(symbol)))).collect::<Vec<_>>()
    })
    .await?;
    Ok(Json(json!({"symbols": listed.iter().map(|(spec, halted, last)| json!({
        "symbol": spec.symbol.as_str(), "tickSize": spec.tick_size.to_string(), "lotSize": spec.lot_size.to_string(),
        "minQuantity": spec.min_quantity.to_string(), "halted": halted, "lastPrice": last.map(|price| price.to_string()),
    })).collect::<Vec<_>>()})))
}

#[derive(Debug, Deserialize)]
struct DepthQuery {
    depth: Option<String>,
}

pub(crate) fn bounded(text: Option<&str>, default: usize, max: usize, name: &str) -> Result<usize, ApiError> {
    match text {
        None => Ok(default),
        Some(text) => match parse_unsigned(text).and_then(|value| usize::try_from(value).ok()) {
            Some(value) if (1..=max).contains(&value) => Ok(value),
            _ => Err(ApiError::bad_request("invalid_parameter", format!("{name} must be 1 to {max}"))),
        },
    }
}

async fn orderbook(State(state): State<Shared>, Path(symbol): Path<String>, Query(params): Query<DepthQuery>) -> Result<Json<Value>, ApiError> {
    let depth = bounded(params.depth.as_deref(), 10, DEPTH_MAX, "depth")?;
    let symbol = parse_symbol(&symbol)?;
    let book = query(&state, move |engine| engine.depth(symbol, depth)).await?.ok_or_else(|| ApiError::NotFound(format!("symbol {symbol}")))?;
    let levels = |levels: &[tradecraft_engine::BookLevel]| {
        levels.iter().map(|level| json!({"price": level.price.to_string(), "quantity": level.quantity.to_string(), "orders": level.orders})).collect::<Vec<_>>()
    };
    Ok(Json(json!({"symbol": symbol.as_str(), "sequence": book.sequence, "bids": levels(&book.bids), "asks": levels(&book.asks)})))
}

async fn ticker(State(state): State<Shared>, Path(symbol): Path<String>) -> Result<Json<Value>, ApiError> {
    let symbol = known_symbol(&state, &symbol).await?;
    let top = query(&state, move |engine| engine.best_bid_offer(symbol)).await?.unwrap_or((None, None));
    let view = state.view.lock().map_err(|_| ApiError::Internal("view lock".to_owned()))?;
    let ticker = view.candles.ticker(symbol, now().millis(), top.0.map(|level| level.price), top.1.map(|level| level.price));
    let price = |price: Option<Price>| price.map(|price| price.to_string());
    Ok(Json(json!({
        "symbol": symbol.as_str(), "last": price(ticker.last), "bid": price(ticker.bid), "ask": price(ticker.ask),
        "open24h": price(ticker.open_24h), "high24h": price(ticker.high_24h), "low24h": price(ticker.low_24h),
        "volume24h": ticker.volume_24h.to_string(), "change24h": price(ticker.change_24h),
        "changePercent24h": ticker.change_percent_24h,
    })))
}

#[derive(Debug, Deserialize)]
struct LimitQuery {
    limit: Option<String>,
}

async fn trades(State(state): State<Shared>, Path(symbol): Path<String>, Query(params): Query<LimitQuery>) -> Result<Json<Value>, ApiError> {
    let limit = bounded(params.limit.as_deref(), 100, TRADES_MAX, "limit")?;
    let symbol = known_symbol(&state, &symbol).await?;
    let view = state.view.lock().map_err(|_| ApiError::Internal("view lock".to_owned()))?;
    let recent: Vec<Value> = view
        .trades
        .get(&symbol)
        .map(|trades| {
            trades
                .iter()
                .rev()
                .take(limit)
                .map(|trade| {
                    json!({
                        "tradeId": trade.trade_id.to_string(), "price": trade.price.to_string(),
                        "quantity": trade.quantity.to_string(), "takerSide": trade.taker_side.as_str(),
                        "timestamp": trade.timestamp.to_string(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Json(json!({"symbol": symbol.as_str(), "trades": recent})))
}

#[derive(Debug, Deserialize)]
struct CandleQuery {
    interval: Option<String>,
    start: Option<String>,
    end: Option<String>,
    limit: Option<String>,
}

async fn candles(State(state): State<Shared>, Path(symbol): Path<String>, Query(params): Query<CandleQuery>) -> Result<Json<Value>, ApiError> {
    let interval_text = params.interval.as_deref().unwrap_or("1m");
    let interval = Interval::parse(interval_text).ok_or_else(|| ApiError::bad_request("invalid_parameter", "interval must be one of 1m, 5m, 15m, 1h, 1d"))?;
    let time = |text: Option<&str>, default: i64| -> Result<i64, ApiError> {
        text.map_or(Ok(default), |text| {
            Timestamp::parse(text).map(Timestamp::millis).map_err(|error| ApiError::bad_request("invalid_parameter", error.to_string()))
        })
    };
    let start = time(params.start.as_deref(), i64::MIN)?;
    let end = time(params.end.as_deref(), i64::MAX)?;
    if start > end {
        return Err(ApiError::bad_request("invalid_parameter", "start is after end"));
    }
    let limit = bounded(params.limit.as_deref(), 500, 1_500, "limit")?;
    let symbol = known_symbol(&state, &symbol).await?;
    let view = state.view.lock().map_err(|_| ApiError::Internal("view lock".to_owned()))?;
    let candles: Vec<Value> = view
        .candles
        .candles(symbol, interval, start, end, limit)
        .iter()
        .map(|candle| {
            json!({
                "start": Timestamp::from_millis(candle.start_ms).to_string(), "open": candle.open.to_string(),
                "high": candle.high.to_string(), "low": candle.low.to_string(), "close": candle.close.to_string(),
                "volume": candle.volume.to_string(), "trades": candle.trades,
            })
        })
        .collect();
    Ok(Json(json!({"symbol": symbol.as_str(), "interval": interval.as_str(), "candles": candles})))
}
