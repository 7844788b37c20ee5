//! `/v1/orders` and `/v1/portfolio/{user_id}`: placing, reading, replacing and cancelling
//! orders, and an account's cash and holdings as the engine has them.

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

use tradecraft_engine::{Event, Trail};
use tradecraft_sequencer::wire::{PlaceOrder, WireCommand};
use tradecraft_types::{AccountId, Money, OrderId, Price, Quantity, Timestamp};
use utoipa::IntoParams;

use crate::auth::{MaybeCaller, account_for};
use crate::extract::{Body, Query, field_error, parse_unsigned};
use crate::metrics::log_fields;
use crate::models::{PlaceOrderRequest, ReplaceOrderRequest, RestingTimeInForce};
use crate::responses::{ErrorBody, NextPage, Order, OrderAccepted, OrderCancelled, OrderFill, OrderList, Portfolio};
use crate::routes::{bounded, checked, events, execute, first_rejection, now, parse_id, parse_symbol, parse_time, query, wire_command};
use crate::view::OrderRecord;
use crate::{ApiError, AppState, Shared};

/// Longest idempotency key.
const IDEMPOTENCY_KEY_MAX: usize = 255;

fn fingerprint(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3))
}

/// The headers an idempotency key comes in: ours (the seeds'), and the name of the IETF
/// draft (and Stripe's), which clients written for other APIs send.
pub(crate) const IDEMPOTENCY_HEADERS: [&str; 2] = ["X-Idempotency-Key", "Idempotency-Key"];

/// The request's idempotency key, scoped to its caller: `None` without the header; 400
/// for an empty, over-long or non-printable key, or one given twice (under either name).
pub(crate) fn idempotency_key(headers: &HeaderMap, caller: &MaybeCaller) -> Result<Option<(String, String)>, ApiError> {
    let mut values = IDEMPOTENCY_HEADERS.iter().flat_map(|name| headers.get_all(*name).iter().map(move |value| (*name, value)));
    let Some((name, value)) = values.next() else { return Ok(None) };
    // Named as the client spelled it: `Idempotency-Key` or `X-Idempotency-Key`.
    let invalid =
        |message: &str| ApiError::BadRequest { code: "invalid_idempotency_key", message: format!("{name}: {message}"), details: json!({"header": name}) };
    if values.next().is_some() {
        return Err(invalid("give one key, once (as X-Idempotency-Key or Idempotency-Key)"));
    }
    let key = value.to_str().map_err(|_| invalid("printable ASCII only"))?;
    if key.is_empty() || key.len() > IDEMPOTENCY_KEY_MAX || !key.bytes().all(|byte| byte.is_ascii_graphic() || byte == b' ') {
        return Err(invalid(&format!("1 to {IDEMPOTENCY_KEY_MAX} printable ASCII characters")));
    }
    let scope = caller.as_ref().map_or_else(String::new, |caller| caller.user_id.map_or_else(|| "operator".to_owned(), |user| user.to_string()));
    Ok(Some((scope, key.to_owned())))
}

/// Place an order (seed 000 6.1); the answer is the engine's decision on it.
///
/// With `X-Idempotency-Key`, a retry with the same key and the same order gets the first
/// answer again; the same key with another order is 409. Keys belong to the caller.
/// A buy reserves its cash until it fills or ends: a limit buy its limit price times the
/// quantity plus the highest fee; a market buy by quantity the price band's edge times
/// the quantity plus fee; a market buy by cash amount that amount plus fee; a stop buy
/// the stop price's band edge. A sell reserves its shares.
///
/// `orderClass` BRACKET, OTO or OCO adds exits (`takeProfit`, `stopLoss`), placed by the
/// engine as the order fills and answered in `legs`; `timeInForce` OPG or CLS makes a
/// MARKET or LIMIT order wait for the session's open or close (the only orders a closed
/// market takes).
#[utoipa::path(post, path = "/v1/orders", tag = "orders", request_body = PlaceOrderRequest,
    params(("X-Idempotency-Key" = Option<String>, Header, max_length = 255, min_length = 1, pattern = "^[ -~]+$",
        description = "Makes a retry safe: the same key and order get the first answer.")),
    responses(
        (status = 202, description = "Accepted by the engine.", body = OrderAccepted),
        (status = 400, description = "A bad field (named in details.field), price or quantity off the grid, unknown symbol.", body = ErrorBody),
        (status = 402, description = "Insufficient funds.", body = ErrorBody),
        (status = 403, description = "A trading limit refuses it (the code names the limit), or another user's account.", body = ErrorBody),
        (status = 404, description = "Unknown account.", body = ErrorBody),
        (status = 409, description = "Idempotency key reused with another order or request (`idempotency_key_reused`), or a duplicate client order id.", body = ErrorBody),
        (status = 422, description = "Insufficient shares, or the market cannot take it (halted, closed, post-only would cross, no liquidity).", body = ErrorBody),
    ))]
pub(crate) async fn place_order(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    headers: HeaderMap,
    Body(request): Body<PlaceOrderRequest>,
) -> Result<Response, ApiError> {
    // The order is for the caller's own account unless it names one it may act for.
    let user = account_for(&caller, request.user_id.map(|id| id.0))?;
    let key = idempotency_key(&headers, &caller)?;
    let mut order = request.into_wire(user, String::new())?;
    if let Some((scope, key)) = key {
        keyed(&mut order, &scope, &key)?;
    }
    place(&state, order).await.map(|accepted| (StatusCode::ACCEPTED, Json(accepted)).into_response())
}

/// Gives `order` its caller's idempotency key. The key travels in the command: the engine
/// remembers it (24 hours of command time, in its snapshots), so a retry after a crash or
/// on another gateway gets the first answer, and another order with the key is refused.
/// The fingerprint is of the order as understood (10 and "10" are one order), before its
/// timestamp is set.
pub(crate) fn keyed(order: &mut PlaceOrder, scope: &str, key: &str) -> Result<(), ApiError> {
    let understood = serde_json::to_string(&*order).map_err(|error| ApiError::Internal(error.to_string()))?;
    order.fingerprint = Some(fingerprint(&understood).to_string());
    order.idempotency_key = Some(scoped_key(scope, key));
    Ok(())
}

/// A caller's key as the engine keeps it: scoped to the caller (`scope` has no colon).
pub(crate) fn scoped_key(scope: &str, key: &str) -> String {
    format!("{scope}:{key}")
}

pub(crate) async fn place(state: &AppState, mut order: PlaceOrder) -> Result<OrderAccepted, ApiError> {
    order.order_timestamp = now().to_string();
    // The request's log line carries the order's fields.
    let user_id = order.user_id.parse().ok();
    let symbol = order.symbol.clone();
    let client_order_id = order.client_order_id.clone();
    log_fields(|fields| {
        fields.user_id = fields.user_id.or(user_id);
        fields.symbol = Some(symbol);
    });
    if let Some(account) = user_id {
        crate::contests::check_trading_window(state, account).await?;
    }
    if let Some((scope, key)) = order.idempotency_key.as_deref().and_then(|scoped| scoped.split_once(':'))
        && crate::idempotency::held_by_a_request(state, scope, key).await?
    {
        return Err(crate::idempotency::reused());
    }
    let command = checked(WireCommand::PlaceOrder(order))?;
    let outcome = execute(state, command).await?;
    log_fields(|fields| fields.order_id = Some(outcome.offset));
    let events = events(&outcome)?;
    if let Some(rejection) = first_rejection(events) {
        log_fields(|fields| fields.reason = Some(rejection.code()));
        return Err(rejection);
    }
    // A repeat of a keyed order answers what the first one got.
    if let Some((original, rejected)) = events.iter().find_map(|event| match event {
        Event::OrderRepeated { original, rejected, .. } => Some((*original, *rejected)),
        _ => None,
    }) {
        log_fields(|fields| fields.order_id = Some(original.0));
        return match rejected {
            Some(reason) => Err(ApiError::from_reject(reason)),
            None => Ok(OrderAccepted { order_id: original.to_string(), status: "ACCEPTED".to_owned(), client_order_id, legs: legs_of(state, original) }),
        };
    }
    let accepted = events
        .iter()
        .find_map(|event| match event {
            Event::OrderAccepted(order) => Some(order),
            _ => None,
        })
        .ok_or_else(|| ApiError::Internal("an order was neither accepted nor rejected".to_owned()))?;
    Ok(OrderAccepted {
        order_id: accepted.order_id.to_string(),
        status: "ACCEPTED".to_owned(),
        client_order_id: accepted.client_order_id.as_ref().map(|client| client.as_str().to_owned()),
        legs: legs_of(state, accepted.order_id),
    })
}

/// A contingent order's legs, named by role.
fn legs_of(state: &AppState, order_id: OrderId) -> Vec<crate::responses::OrderLeg> {
    let Ok(view) = state.view.lock() else { return Vec::new() };
    let Some(record) = view.orders.get(&order_id) else { return Vec::new() };
    record
        .legs
        .iter()
        .map(|&leg| {
            let role = match tradecraft_sequencer::wire::leg_parent(leg) {
                Some((_, tradecraft_sequencer::wire::LegRole::TakeProfit)) => "TAKE_PROFIT",
                _ => "STOP_LOSS",
            };
            crate::responses::OrderLeg { order_id: leg.to_string(), role: role.to_owned() }
        })
        .collect()
}

/// What the engine says of open orders now that no event tells: where waiting trailing
/// stops stand (the trigger price and the watermark it trails, moved by each trade with
/// nothing published until the stop triggers) and, when asked, which orders wait for their
/// market's open. Read from the engine when an order is shown.
#[derive(Debug, Default)]
pub(crate) struct Standing {
    trailing: BTreeMap<OrderId, (Price, Price)>,
    queued: std::collections::BTreeSet<OrderId>,
}

impl Standing {
    /// The order's stop price: as placed, or a waiting trailing stop's trigger now.
    pub(crate) fn stop_price(&self, record: &OrderRecord) -> Option<Price> {
        record.stop_price.or_else(|| self.trailing.get(&record.order_id).map(|&(stop, _)| stop))
    }

    pub(crate) fn watermark(&self, record: &OrderRecord) -> Option<Price> {
        self.trailing.get(&record.order_id).map(|&(_, watermark)| watermark)
    }

    /// Taken while its market was closed and not in the market yet.
    pub(crate) fn queued(&self, record: &OrderRecord) -> bool {
        self.queued.contains(&record.order_id)
    }
}

/// The trail of `record` as placed: (amount, percent).
pub(crate) fn trail_parts(trail: Option<Trail>) -> (Option<String>, Option<String>) {
    trail.map(tradecraft_sequencer::outputs::trail_texts).unwrap_or_default()
}

/// [`Standing`] for those of `records` that are open: waiting trailing stops, and which of
/// the orders that last (GTC, DAY) wait for their market's open.
pub(crate) async fn standing_now<'a>(state: &AppState, records: impl IntoIterator<Item = &'a OrderRecord>) -> Result<Standing, ApiError> {
    let asked: Vec<OrderId> = records
        .into_iter()
        .filter(|record| record.status == "ACCEPTED" && (record.trail.is_some() || matches!(record.time_in_force, "GTC" | "DAY")))
        .map(|record| record.order_id)
        .collect();
    if asked.is_empty() {
        return Ok(Standing::default());
    }
    query(state, move |engine| {
        let mut standing = Standing::default();
        for order in asked.into_iter().filter_map(|order_id| engine.order(order_id)) {
            if let (Some(stop), Some(watermark)) = (order.stop_price, order.watermark) {
                standing.trailing.insert(order.order_id, (stop, watermark));
            }
            if order.queued {
                standing.queued.insert(order.order_id);
            }
        }
        standing
    })
    .await
}

pub(crate) fn order_of(record: &OrderRecord, standing: &Standing) -> Order {
    let (trail_amount, trail_percent) = trail_parts(record.trail);
    Order {
        order_id: record.order_id.to_string(),
        user_id: record.account.to_string(),
        symbol: record.symbol.as_str().to_owned(),
        side: record.side.as_str().to_owned(),
        order_type: record.order_type.to_owned(),
        time_in_force: record.time_in_force.to_owned(),
        client_order_id: record.client_order_id.clone(),
        limit_price: record.limit_price.map(|price| price.to_string()),
        stop_price: standing.stop_price(record).map(|price| price.to_string()),
        trail_amount,
        trail_percent,
        watermark: standing.watermark(record).map(|price| price.to_string()),
        post_only: record.post_only,
        self_trade_prevention: record.self_trade_prevention.map(str::to_owned),
        quantity: record.budget.is_none().then(|| record.quantity.to_string()),
        notional: record.budget.map(|budget| budget.to_string()),
        status: record.status.to_owned(),
        reason: record.reason.map(str::to_owned),
        queued: standing.queued(record),
        order_class: record.order_class.map(str::to_owned),
        parent_order_id: record.parent.map(|parent| parent.to_string()),
        legs: record.legs.iter().map(ToString::to_string).collect(),
        filled_quantity: record.filled.to_string(),
        average_price: record.average_price().map(|price| price.to_string()),
        fills: record
            .fills
            .iter()
            .map(|fill| OrderFill {
                trade_id: fill.trade_id.to_string(),
                price: fill.price.to_string(),
                quantity: fill.quantity.to_string(),
                fee: fill.fee.to_string(),
                liquidity: fill.liquidity.to_owned(),
                timestamp: fill.timestamp.to_string(),
            })
            .collect(),
        created_at: record.created.to_string(),
        updated_at: record.updated.to_string(),
        priority_kept: None,
    }
}

/// One order: status, filled quantity, average price and fills. Another user's order
/// answers 404, as an unknown one does.
#[utoipa::path(get, path = "/v1/orders/{order_id}", tag = "orders",
    params(("order_id" = String, Path, pattern = "^(0|[1-9][0-9]{0,18})$", description = "An order id.")),
    responses(
        (status = 200, description = "The order.", body = Order),
        (status = 400, description = "Not an order id.", body = ErrorBody),
        (status = 404, description = "No such order of yours.", body = ErrorBody),
    ))]
pub(crate) async fn get_order(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(order_id): Path<String>,
) -> Result<Json<Order>, ApiError> {
    let order_id = OrderId(parse_id("orderId", &order_id)?);
    log_fields(|fields| fields.order_id = Some(order_id.0));
    let record = own_order(&state, &caller, order_id).await?;
    Ok(Json(order_of(&record, &standing_now(&state, [&record]).await?)))
}

/// The order as it stands now (the view's, or the read store's if the view forgot it).
async fn recorded(state: &AppState, order_id: OrderId) -> Result<OrderRecord, ApiError> {
    crate::history::order(state, order_id).await?.ok_or_else(|| ApiError::NotFound(format!("order {order_id}")))
}

/// The order, if the caller may act for its account. Someone else's order answers 404
/// exactly as an unknown id does, so ids reveal nothing.
async fn own_order(state: &AppState, caller: &MaybeCaller, order_id: OrderId) -> Result<OrderRecord, ApiError> {
    let record = recorded(state, order_id).await?;
    let caller = crate::auth::require(caller)?;
    if caller.acts_for(record.account.0) { Ok(record) } else { Err(ApiError::NotFound(format!("order {order_id}"))) }
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

/// A refused replace, saying what can be replaced when the engine's reason alone does not.
/// (`shown_id` is the order's id as the caller gave it: `/v2` takes a UUID.)
pub(crate) fn replace_refused(rejection: ApiError, record: &OrderRecord, shown_id: &str) -> ApiError {
    match rejection {
        ApiError::Rejected { status, code: code @ "not_replaceable", .. } => ApiError::Rejected {
            status,
            code,
            message: format!(
                "order {} cannot be replaced: only a resting LIMIT order's quantity and limit price (an OPG or CLS one's too, keeping its time in force), a waiting STOP or STOP_LIMIT order's quantity, stop price and limit price, or a waiting TRAILING_STOP order's quantity and trail, can be, with any of them its time in force (GTC or DAY) and client order id (this is a {} {} order; an exit leg keeps its order's quantity, time in force and client order id); cancel it and place another",
                shown_id, record.time_in_force, record.order_type
            ),
        },
        // The type fits (checked before), so the stop has triggered and rests as a limit.
        ApiError::Rejected { status, code: code @ "invalid_order", .. } => ApiError::Rejected {
            status,
            code,
            message: format!(
                "order {shown_id} has been triggered and rests as a limit order: its stop price no longer applies; only its quantity and limit price can change"
            ),
        },
        ApiError::Rejected { status, code: code @ "invalid_quantity", .. } => ApiError::Rejected {
            status,
            code,
            message: format!("quantity: the new total must be more than the {} already filled, on the lot grid", record.filled),
        },
        other => other,
    }
}

/// The fields of a replace as one API spells them.
pub(crate) struct ReplaceFields {
    pub quantity: &'static str,
    pub limit: &'static str,
    pub stop: &'static str,
    /// The trail's field, and how to name the trail in a message.
    pub trail: (&'static str, &'static str),
}

pub(crate) const V1_REPLACE: ReplaceFields =
    ReplaceFields { quantity: "quantity", limit: "limitPrice", stop: "stopPrice", trail: ("trailAmount", "trailAmount or trailPercent") };

/// What a replace asks to change: (limit price, stop price, trail).
pub(crate) type Asked = (bool, bool, bool);

/// Refuses, before the engine is asked, a replace naming a price or trail `record`'s type
/// does not have, saying what that type can change.
pub(crate) fn replace_fits(record: &OrderRecord, (limit, stop, trail): Asked, fields: &ReplaceFields) -> Result<(), ApiError> {
    let kind = record.order_type;
    let (has_limit, has_stop, has_trail) = (matches!(kind, "LIMIT" | "STOP_LIMIT"), matches!(kind, "STOP" | "STOP_LIMIT"), kind == "TRAILING_STOP");
    let can = match kind {
        "LIMIT" => format!("its {} and {} can change", fields.quantity, fields.limit),
        "STOP" => format!("its {} and {} can change", fields.quantity, fields.stop),
        "STOP_LIMIT" => format!("its {}, {} and {} can change", fields.quantity, fields.stop, fields.limit),
        "TRAILING_STOP" => format!("its {} and its trail ({}) can change; the trail sets its trigger", fields.quantity, fields.trail.1),
        _ => "it cannot be replaced".to_owned(),
    };
    let refused = |field: &str, lacks: &str| Err(field_error(field, format!("a {kind} order has no {lacks}; {can}")));
    if limit && !has_limit {
        return refused(fields.limit, "limit price");
    }
    if stop && !has_stop {
        return refused(fields.stop, "stop price of its own");
    }
    if trail && !has_trail {
        return refused(fields.trail.0, "trail");
    }
    Ok(())
}

/// Cancel an open order.
#[utoipa::path(delete, path = "/v1/orders/{order_id}", tag = "orders",
    params(("order_id" = String, Path, pattern = "^(0|[1-9][0-9]{0,18})$", description = "An order id.")),
    responses(
        (status = 200, description = "Cancelled.", body = OrderCancelled),
        (status = 400, description = "Not an order id.", body = ErrorBody),
        (status = 404, description = "No such order of yours.", body = ErrorBody),
        (status = 409, description = "The order is no longer open.", body = ErrorBody),
    ))]
pub(crate) async fn cancel_order(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(order_id): Path<String>,
) -> Result<Json<OrderCancelled>, ApiError> {
    let order_id = OrderId(parse_id("orderId", &order_id)?);
    log_fields(|fields| fields.order_id = Some(order_id.0));
    let owner = own_order(&state, &caller, order_id).await?.account;
    let command = wire_command(json!({"command": "cancelOrder", "orderId": order_id.to_string(), "userId": owner.to_string()}))?;
    let outcome = execute(&state, command).await?;
    let events = events(&outcome)?;
    if let Some(rejection) = first_rejection(events) {
        return Err(not_open_is_conflict(rejection, order_id));
    }
    Ok(Json(OrderCancelled { order_id: order_id.to_string(), status: "CANCELLED".to_owned() }))
}

/// Replace an open order: a resting limit order's total quantity and/or limit price; a
/// waiting stop or stop-limit order's quantity, stop price and/or limit price; or a
/// waiting trailing stop's quantity and/or trail (its trigger recomputed from the price it
/// has trailed); and any of them may take a new client order id and a time in force of
/// `GTC` or `DAY`. Reducing the quantity at the same prices, or changing only the client
/// order id and time in force, keeps the order's place in the queue; anything else moves
/// it to the back. A buy's reservation follows the new prices
/// and quantity; a stop moved to a trigger the last trade has already reached triggers at
/// once.
#[utoipa::path(patch, path = "/v1/orders/{order_id}", tag = "orders", request_body = ReplaceOrderRequest,
    params(("order_id" = String, Path, pattern = "^(0|[1-9][0-9]{0,18})$", description = "An order id.")),
    responses(
        (status = 200, description = "The order after the change.", body = Order),
        (status = 400, description = "A bad field, or one a replace cannot change.", body = ErrorBody),
        (status = 402, description = "Insufficient funds for the change.", body = ErrorBody),
        (status = 403, description = "A trading limit refuses the change.", body = ErrorBody),
        (status = 404, description = "No such order of yours.", body = ErrorBody),
        (status = 409, description = "The order is no longer open.", body = ErrorBody),
        (status = 422, description = "The order's type or market cannot take the change.", body = ErrorBody),
    ))]
pub(crate) async fn replace_order(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(order_id): Path<String>,
    Body(body): Body<Value>,
) -> Result<Json<Order>, ApiError> {
    let order_id = OrderId(parse_id("orderId", &order_id)?);
    log_fields(|fields| fields.order_id = Some(order_id.0));
    let placed = own_order(&state, &caller, order_id).await?;
    let owner = placed.account;
    let request = ReplaceOrderRequest::from_body(body)?;
    let trail = request.trail_amount.is_some() || request.trail_percent.is_some();
    replace_fits(&placed, (request.limit_price.is_some(), request.stop_price.is_some(), trail), &V1_REPLACE)?;
    crate::contests::check_trading_window(&state, owner.0).await?;
    let command = wire_command(json!({
        "command": "replaceOrder", "orderId": order_id.to_string(), "userId": owner.to_string(),
        "quantity": request.quantity, "limitPrice": request.limit_price, "stopPrice": request.stop_price,
        "trailAmount": request.trail_amount, "trailPercent": request.trail_percent,
        "clientOrderId": request.client_order_id.as_ref().map(|id| id.as_str()),
        "timeInForce": request.time_in_force.map(RestingTimeInForce::as_str),
    }))?;
    let outcome = execute(&state, command).await?;
    let events = events(&outcome)?;
    if let Some(rejection) = first_rejection(events) {
        return Err(replace_refused(not_open_is_conflict(rejection, order_id), &recorded(&state, order_id).await?, &order_id.to_string()));
    }
    let record = recorded(&state, order_id).await?;
    let mut order = order_of(&record, &standing_now(&state, [&record]).await?);
    order.priority_kept = Some(events.iter().any(|event| matches!(event, Event::OrderReplaced { priority_kept: true, .. })));
    Ok(Json(order))
}

/// `status` values of the order list.
const ORDER_STATUSES: [&str; 7] = ["ACCEPTED", "PARTIALLY_FILLED", "FILLED", "CANCELLED", "EXPIRED", "HELD", "OPEN"];

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrderListQuery {
    /// Only this user's orders; default the caller's own (admins: everyone's).
    #[param(value_type = Option<String>, pattern = "^(0|[1-9][0-9]{0,18})$")]
    user_id: Option<String>,
    /// `OPEN` is `ACCEPTED`, `PARTIALLY_FILLED` or `HELD` (an exit leg waiting for its order).
    #[param(value_type = Option<String>, pattern = "^(ACCEPTED|PARTIALLY_FILLED|FILLED|CANCELLED|EXPIRED|HELD|OPEN)$")]
    status: Option<String>,
    #[param(value_type = Option<String>, pattern = "^[A-Z0-9._-]{1,15}$")]
    symbol: Option<String>,
    /// Only orders with this client order id (it names one open order at a time, but may
    /// have named others that ended).
    #[param(value_type = Option<String>, pattern = "^[!-~]{1,128}$")]
    client_order_id: Option<String>,
    /// Created at or after (ISO 8601).
    #[param(value_type = Option<String>, pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2}))?$")]
    start_date: Option<String>,
    /// Created at or before (ISO 8601).
    #[param(value_type = Option<String>, pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2}))?$")]
    end_date: Option<String>,
    /// 1 to 1000, default 100.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
    /// `pagination.nextPageToken` of the previous page.
    #[param(value_type = Option<String>, pattern = "^(0|[1-9][0-9]{0,18})$")]
    page_token: Option<String>,
}

/// List orders, newest first, each contingent order followed by its exit legs (the most
/// recent 200,000 orders of users are kept here; the trade search has the whole history).
#[utoipa::path(get, path = "/v1/orders", tag = "orders", params(OrderListQuery),
    responses(
        (status = 200, description = "A page of orders.", body = OrderList),
        (status = 400, description = "A bad parameter.", body = ErrorBody),
    ))]
pub(crate) async fn list_orders(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Query(params): Query<OrderListQuery>,
) -> Result<Json<OrderList>, ApiError> {
    let requested = params.user_id.as_deref().map(|text| parse_id("userId", text)).transpose()?;
    // Admins may list everyone's orders; anyone else lists their own.
    let user = match (&caller, requested) {
        (Some(caller), None) if caller.is_admin() => None,
        _ => Some(AccountId(account_for(&caller, requested)?)),
    };
    if let Some(status) = &params.status
        && !ORDER_STATUSES.contains(&status.as_str())
    {
        return Err(ApiError::bad_parameter("status", format!("status must be one of {}", ORDER_STATUSES.join(", "))));
    }
    let symbol = params.symbol.as_deref().map(parse_symbol).transpose()?;
    if let Some(client) = params.client_order_id.as_deref()
        && let Err(error) = tradecraft_types::ClientOrderId::new(client)
    {
        return Err(ApiError::bad_parameter("clientOrderId", format!("clientOrderId: {error}")));
    }
    let (start, end) = (parse_time("startDate", params.start_date.as_deref())?, parse_time("endDate", params.end_date.as_deref())?);
    if let (Some(start), Some(end)) = (start, end)
        && start > end
    {
        return Err(ApiError::bad_parameter("startDate", "startDate is after endDate"));
    }
    let limit = bounded(params.limit.as_deref(), 100, 1_000, "limit")?;
    let before = params
        .page_token
        .as_deref()
        .map(|text| {
            parse_unsigned(text).map(OrderId).ok_or_else(|| ApiError::bad_parameter("pageToken", format!("pageToken {text:?} is not one this server issued")))
        })
        .transpose()?;
    let matches = |record: &&OrderRecord| {
        user.is_none_or(|user| record.account == user)
            && symbol.is_none_or(|symbol| record.symbol == symbol)
            && params.client_order_id.as_deref().is_none_or(|client| record.client_order_id.as_deref() == Some(client))
            && params
                .status
                .as_deref()
                .is_none_or(|status| status == record.status || (status == "OPEN" && matches!(record.status, "ACCEPTED" | "PARTIALLY_FILLED" | "HELD")))
            && start.is_none_or(|start| record.created >= start)
            && end.is_none_or(|end| record.created <= end)
    };
    let after = before.map(list_position);
    let (mut page, forgotten): (Vec<OrderRecord>, Option<u64>) = {
        let view = crate::history::view(&state)?;
        let mut page: Vec<&OrderRecord> =
            view.orders.values().filter(|record| after.is_none_or(|after| list_position(record.order_id) > after) && matches(record)).collect();
        page.sort_unstable_by_key(|record| list_position(record.order_id));
        (page.into_iter().take(limit + 1).cloned().collect(), view.forgotten())
    };
    // Finished orders the view forgot come from the store, when the page reaches them.
    let open_only = params.status.as_deref().is_some_and(|status| matches!(status, "OPEN" | "ACCEPTED" | "PARTIALLY_FILLED" | "HELD"));
    let reaches = |forgotten: u64| page.len() <= limit || page.last().is_some_and(|last| crate::view::position_of(last.order_id) <= forgotten);
    if let Some(forgotten) = forgotten
        && !open_only
        && reaches(forgotten)
    {
        let query = tradecraft_store::OrderQuery {
            user_id: user.map(|user| user.0),
            symbols: symbol.iter().map(|symbol| symbol.as_str().to_owned()).collect(),
            statuses: params.status.iter().cloned().collect(),
            client_order_id: params.client_order_id.clone(),
            created_from_ms: start.map(Timestamp::millis),
            created_until_ms: end.map(Timestamp::millis),
            position_at_most: before.map(crate::view::position_of),
            // The cursor's own position may hold orders before it in the list.
            limit: limit + 4,
            ..tradecraft_store::OrderQuery::default()
        };
        let stored = crate::history::forgotten_page(&state, query).await?;
        page.extend(
            stored.into_iter().map(|(record, _)| record).filter(|record| after.is_none_or(|after| list_position(record.order_id) > after) && matches(&record)),
        );
        page.sort_unstable_by_key(|record| list_position(record.order_id));
        page.truncate(limit + 1);
    }
    let next = (page.len() > limit).then(|| page[limit - 1].order_id.to_string());
    let standing = standing_now(&state, &page).await?;
    Ok(Json(OrderList { orders: page.iter().take(limit).map(|record| order_of(record, &standing)).collect(), pagination: NextPage { next_page_token: next } }))
}

/// Where an order stands in a list, newest first: by its order's id (ids grow with time),
/// an exit leg right after its order, take profit before stop loss. Not by the id alone,
/// whose top bits say a leg's role: every leg would come before every other order.
pub(crate) fn list_position(order_id: OrderId) -> (std::cmp::Reverse<u64>, u8) {
    match tradecraft_sequencer::wire::leg_parent(order_id) {
        Some((parent, tradecraft_sequencer::wire::LegRole::TakeProfit)) => (std::cmp::Reverse(parent.0), 1),
        Some((parent, tradecraft_sequencer::wire::LegRole::StopLoss)) => (std::cmp::Reverse(parent.0), 2),
        None => (std::cmp::Reverse(order_id.0), 0),
    }
}

/// Cash and holdings as the engine has them now (seed 000 6.2), with what open orders
/// reserve.
#[utoipa::path(get, path = "/v1/portfolio/{user_id}", tag = "portfolio",
    params(("user_id" = String, Path, pattern = "^(0|[1-9][0-9]{0,18})$", description = "A user id.")),
    responses(
        (status = 200, description = "The portfolio.", body = Portfolio),
        (status = 400, description = "Not a user id.", body = ErrorBody),
        (status = 404, description = "Unknown user.", body = ErrorBody),
    ))]
pub(crate) async fn portfolio(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(user_id): Path<String>,
) -> Result<Json<Portfolio>, ApiError> {
    let account = AccountId(account_for(&caller, Some(parse_id("userId", &user_id)?))?);
    let (view, now_nanos) = query(&state, move |engine| (engine.account(account), engine.now_nanos())).await?;
    let view = view.ok_or_else(|| ApiError::NotFound(format!("user {account}")))?;
    let holdings = view
        .holdings
        .iter()
        .filter(|(_, balance)| balance.total() > 0)
        .map(|(symbol, balance)| (symbol.to_string(), Quantity::from_raw(balance.total()).to_string()))
        .collect();
    let reserved = view
        .holdings
        .iter()
        .filter(|(_, balance)| balance.reserved > 0)
        .map(|(symbol, balance)| (symbol.to_string(), Quantity::from_raw(balance.reserved).to_string()))
        .collect();
    Ok(Json(Portfolio {
        user_id: account.to_string(),
        cash_balance: Money::from_raw(view.cash.total()).to_string(),
        available_cash: Money::from_raw(view.cash.available).to_string(),
        reserved_cash: Money::from_raw(view.cash.reserved).to_string(),
        holdings,
        reserved_holdings: reserved,
        open_orders: u64::from(view.open_orders),
        last_updated_timestamp: Timestamp::from_millis((now_nanos / 1_000_000) as i64).to_string(),
    }))
}
