//! `/stream`: Alpaca's trading stream, so `alpaca-py`'s `TradingStream` (given
//! `url_override="ws://HOST:PORT/stream"`) receives `trade_updates`. The protocol is JSON
//! text: `{"action": "authenticate", "data": {"key_id", "secret_key"}}` answered on the
//! `authorization` stream, then `{"action": "listen", "data": {"streams": ["trade_updates"]}}`
//! answered on `listening`; then one `trade_updates` message per step of each of the
//! account's orders (`new`, `fill`, `partial_fill`, `replaced`, `canceled`, `expired`), carrying the
//! order as `/v2/orders` shows it at that moment.
//!
//! The updates come from the same pushes as the native socket's `orders:{userId}` topic,
//! so they follow the engine's outcomes in order. Authenticated again, the stream follows
//! its latest key: its account's updates, and none while that key is refused (the market
//! data feed, which refuses a second `auth` as Alpaca's does, keeps its first).

use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use serde_json::{Value, json};
use tradecraft_types::{AccountId, Money, OrderId, Quantity, Symbol};

use crate::Shared;
use crate::alpaca::{order_of, uuid};
use crate::auth::{Caller, SocketCredential};

/// Executions' UUIDs: a trade id under this tag.
const TAG_EXECUTION: u64 = 0x7463_0000_0000_0004;
/// A socket that cannot take one message in this long is closed.
const SEND_TIMEOUT: Duration = Duration::from_secs(2);

/// The trading stream (Alpaca's `wss://paper-api.alpaca.markets/stream`).
#[utoipa::path(get, path = "/stream", tag = "alpaca", security(()),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol; then authenticate and listen as Alpaca's trading stream does."),
        (status = 400, description = "Not a WebSocket upgrade request.", body = crate::responses::ErrorBody),
        (status = 426, description = "The connection cannot be upgraded.", body = crate::responses::ErrorBody),
    ))]
pub(crate) async fn upgrade(socket: WebSocketUpgrade, State(state): State<Shared>) -> Response {
    crate::ws::limited(socket).on_upgrade(move |socket| session(socket, state))
}

async fn send(socket: &mut WebSocket, message: &Value) -> bool {
    matches!(tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Text(message.to_string().into()))).await, Ok(Ok(())))
}

fn authorization(status: &str) -> Value {
    json!({"stream": "authorization", "data": {"action": "authenticate", "status": status}})
}

async fn session(mut socket: WebSocket, state: Shared) {
    // The pushes of the account's orders topic, joined once it listens.
    let mut inbox = state.pushes.inbox();
    let mut joined: Option<String> = None;
    // The key the stream was authorized with, and the account it named: checked again
    // while the stream stays open, so a revoked key (or deleted user) stops its updates.
    let mut authorized: Option<(SocketCredential, Caller)> = None;
    let account = |authorized: &Option<(SocketCredential, Caller)>| authorized.as_ref().and_then(|(_, caller)| caller.user_id);
    let mut listening = false;
    let mut recheck = crate::ws::credential_recheck();
    loop {
        tokio::select! {
            _ = recheck.tick(), if authorized.is_some() => {
                if crate::auth::revoked(&state, &authorized).await {
                    let _ = send(&mut socket, &authorization("unauthorized")).await;
                    crate::ws::close_revoked(&mut socket).await;
                    break;
                }
            }
            incoming = socket.recv() => {
                let text = match incoming {
                    Some(Ok(Message::Text(text))) => text.to_string(),
                    Some(Ok(Message::Binary(bytes))) => String::from_utf8_lossy(&bytes).into_owned(),
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => continue,
                };
                let message: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                let answer = match message["action"].as_str() {
                    Some("authenticate" | "auth") => {
                        let secret = message["data"]["secret_key"].as_str().or_else(|| message["secret"].as_str());
                        let key_id = message["data"]["key_id"].as_str().or_else(|| message["key"].as_str());
                        let caller = crate::auth::stream_caller(&state, key_id, secret).await;
                        authorized = secret.zip(caller).filter(|(_, caller)| caller.user_id.is_some()).map(|(secret, caller)| {
                            (SocketCredential { token: None, api_key: Some(secret.to_owned()) }, caller)
                        });
                        // A stream authenticated again follows its new key: the account it
                        // names (listening on, if it was), or none if the key is refused.
                        follow(&mut inbox, &mut joined, account(&authorized).filter(|_| listening));
                        authorization(if account(&authorized).is_some() { "authorized" } else { "unauthorized" })
                    }
                    Some("listen") if account(&authorized).is_some() => {
                        let streams: Vec<String> = message["data"]["streams"].as_array().map(|streams| {
                            streams.iter().filter_map(Value::as_str).filter(|stream| *stream == "trade_updates").map(str::to_owned).collect()
                        }).unwrap_or_default();
                        listening = !streams.is_empty();
                        follow(&mut inbox, &mut joined, account(&authorized).filter(|_| listening));
                        json!({"stream": "listening", "data": {"streams": streams}})
                    }
                    Some("listen") => authorization("unauthorized"),
                    _ => json!({"stream": "listening", "data": {"error": "unrecognized request"}}),
                };
                if !send(&mut socket, &answer).await {
                    break;
                }
            }
            push = inbox.recv() => {
                let Some(push) = push else { break };
                let Some(user) = account(&authorized).filter(|_| listening) else { continue };
                if push.topic.strip_prefix("orders:") != Some(user.to_string().as_str()) {
                    continue;
                }
                if let Some(update) = trade_update(&state, AccountId(user), &push.payload).await
                    && !send(&mut socket, &json!({"stream": "trade_updates", "data": update})).await
                {
                    break;
                }
            }
        }
    }
}

/// Joins the orders topic of `account` (leaving the one joined before), or none.
fn follow(inbox: &mut crate::ws::Inbox, joined: &mut Option<String>, account: Option<u64>) {
    let topic = account.map(|user| format!("orders:{user}"));
    if *joined == topic {
        return;
    }
    if let Some(topic) = joined.take() {
        inbox.leave(&topic);
    }
    if let Some(topic) = topic {
        inbox.join(&topic);
        *joined = Some(topic);
    }
}

/// The `trade_updates` data for one `order_update` push, or `None` for one it does not
/// report (a fill's end is its last `fill`), with the account's position after a fill.
async fn trade_update(state: &Shared, account: AccountId, payload: &Value) -> Option<Value> {
    let order_id = OrderId(payload["orderId"].as_str()?.parse().ok()?);
    let record = state.view.lock().ok()?.orders.get(&order_id).cloned()?;
    // Taken while its market is closed: Alpaca's `accepted` now, and `new` when it is let in.
    let queued =
        payload["type"].as_str() == Some("accepted") && crate::orders::standing_now(state, [&record]).await.is_ok_and(|standing| standing.queued(&record));
    let mut update = snapshot_update(&record, payload, queued)?;
    if payload["type"].as_str() == Some("fill") {
        let symbol = Symbol::new(payload["symbol"].as_str()?).ok()?;
        let held = crate::routes::query(state, move |engine| {
            engine.account(account).and_then(|view| view.holdings.iter().find(|(held, _)| *held == symbol).map(|(_, balance)| balance.total()))
        })
        .await
        .ok()
        .flatten()
        .unwrap_or(0);
        update["position_qty"] = json!(Quantity::from_raw(held).to_string());
    }
    Some(update)
}

/// The update one step of `record` makes: the order as it stood at that step.
fn snapshot_update(record: &crate::view::OrderRecord, payload: &Value, queued: bool) -> Option<Value> {
    let kind = payload["type"].as_str()?;
    // The view holds the order after its whole command; each update shows it as it stood
    // at that step: nothing filled when new, the fills so far after each fill.
    let mut then = record.clone();
    let trade: Option<u64> = payload["tradeId"].as_str().and_then(|trade| trade.parse().ok());
    let fills_then = match (kind, trade) {
        ("accepted" | "released", _) => 0,
        (_, Some(trade)) => record.fills.iter().position(|fill| fill.trade_id.0 == trade)? + 1,
        _ => record.fills.len(),
    };
    then.fills.truncate(fills_then);
    then.filled = then.fills.iter().fold(Quantity::ZERO, |sum, fill| sum.checked_add(fill.quantity).unwrap_or(sum));
    then.filled_notional = then
        .fills
        .iter()
        .fold(Money::ZERO, |sum, fill| tradecraft_types::notional(fill.price, fill.quantity).and_then(|notional| sum.checked_add(notional)).unwrap_or(sum));
    let complete = record.status == "FILLED" && fills_then == record.fills.len();
    let event = match (kind, payload["status"].as_str()) {
        ("accepted", _) if queued => "accepted",
        ("accepted", _) | ("released", _) => "new",
        ("fill", _) if complete => "fill",
        ("fill", _) => "partial_fill",
        ("done", Some("CANCELLED")) => "canceled",
        ("done", Some("EXPIRED")) => "expired",
        // The order as it stands now: the view holds it after the replace.
        ("replaced", _) => "replaced",
        _ => return None,
    };
    then.status = match event {
        "accepted" | "new" => "ACCEPTED",
        "partial_fill" => "PARTIALLY_FILLED",
        _ => record.status,
    };
    // The order as it stood then: a trailing stop's trail as placed, not where it has moved since.
    let mut order = order_of(&then, &crate::orders::Standing::default());
    if event == "accepted" {
        order.status = event.to_owned();
    }
    let mut update = json!({"event": event, "order": order, "timestamp": payload["timestamp"]});
    if let Some(trade) = trade {
        update["execution_id"] = json!(uuid(TAG_EXECUTION, trade));
        update["price"] = payload["price"].clone();
        update["qty"] = payload["quantity"].clone();
    }
    Some(update)
}

/// Digits of an event id: 13 of time, 20 of order id, 5 of step.
const EVENT_ID_DIGITS: usize = 38;

/// An event's id: its time, order and step, in digits that sort as the events happened
/// (step 0 is `new`, step k the k-th fill, 99999 the order's end).
fn event_id(at_ms: i64, order: OrderId, step: usize) -> String {
    format!("{at_ms:013}{:020}{step:05}", order.0)
}

const STEP_DONE: usize = 99_999;

/// The events an order has had so far, each as `(id, update)`.
fn history_of(record: &crate::view::OrderRecord) -> Vec<(String, Value)> {
    let mut events = Vec::new();
    let at = |timestamp: tradecraft_types::Timestamp| timestamp.to_string();
    let step = |kind: &str, fill: Option<&crate::view::Fill>, status: Option<&str>, index: usize, timestamp: tradecraft_types::Timestamp| {
        let mut payload = json!({"orderId": record.order_id.to_string(), "type": kind, "symbol": record.symbol.as_str(), "timestamp": at(timestamp)});
        if let Some(fill) = fill {
            payload["tradeId"] = json!(fill.trade_id.to_string());
            payload["price"] = json!(fill.price.to_string());
            payload["quantity"] = json!(fill.quantity.to_string());
        }
        if let Some(status) = status {
            payload["status"] = json!(status);
        }
        (event_id(timestamp.millis(), record.order_id, index), payload)
    };
    events.push(step("accepted", None, None, 0, record.created));
    for (index, fill) in record.fills.iter().enumerate() {
        events.push(step("fill", Some(fill), None, index + 1, fill.timestamp));
    }
    if matches!(record.status, "CANCELLED" | "EXPIRED") {
        events.push(step("done", None, Some(record.status), STEP_DONE, record.updated));
    }
    events.into_iter().filter_map(|(id, payload)| snapshot_update(record, &payload, false).map(|update| (id, update))).collect()
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct EventParams {
    /// Events from this time on (RFC 3339).
    #[param(value_type = Option<String>)]
    since: Option<String>,
    /// Events until this time; the stream ends after them.
    #[param(value_type = Option<String>)]
    until: Option<String>,
    /// Events after this event id (replay from where a client left off).
    #[param(value_type = Option<String>)]
    since_id: Option<String>,
    /// Events up to this event id; the stream ends after them.
    #[param(value_type = Option<String>)]
    until_id: Option<String>,
}

/// The account's trade events as Server-Sent Events (Alpaca's `GET /v2/events/trades`), by
/// Alpaca's rules: with `since` (or `since_id`) every event from there on, oldest first
/// (of every order the account has had, those the API keeps in memory and older ones from
/// the read store), then each new one as it happens, unless `until` (or `until_id`) ends
/// the stream; without either, only what happens from now on. `until` needs `since`,
/// `until_id` needs `since_id`, and `since` and `since_id` do not go together. Each
/// `data:` line is a JSON trade update with its `event_id` (also the SSE `id`).
#[utoipa::path(get, path = "/v2/events/trades", tag = "alpaca", params(EventParams),
    responses(
        (status = 200, description = "`text/event-stream` of trade updates.", content_type = "text/event-stream", body = String),
        (status = 422, description = "A bad parameter, or parameters that do not go together.", body = crate::alpaca::AlpacaError),
    ))]
pub(crate) async fn events(
    State(state): State<Shared>,
    axum::extract::Extension(caller): axum::extract::Extension<crate::auth::MaybeCaller>,
    credential: Option<axum::extract::Extension<SocketCredential>>,
    crate::extract::Query(params): crate::extract::Query<EventParams>,
) -> Result<Response, crate::ApiError> {
    use axum::response::IntoResponse;
    use axum::response::sse::{Event, KeepAlive, Sse};
    let user = AccountId(crate::auth::own_account(&caller)?);
    let bad = crate::alpaca::invalid_parameter;
    let time = |text: Option<&str>| text.map(|text| tradecraft_types::Timestamp::parse(text).map(|at| at.millis())).transpose();
    let since = time(params.since.as_deref()).map_err(|_| bad("since must be an RFC 3339 time"))?;
    let until = time(params.until.as_deref()).map_err(|_| bad("until must be an RFC 3339 time"))?;
    // An id is compared as text: one that is not this stream's would select by accident.
    for (name, id) in [("since_id", &params.since_id), ("until_id", &params.until_id)] {
        if id.as_deref().is_some_and(|id| id.len() != EVENT_ID_DIGITS || !id.bytes().all(|byte| byte.is_ascii_digit())) {
            return Err(crate::alpaca::invalid_parameter(format!("{name} must be an event_id of this stream ({EVENT_ID_DIGITS} digits)")));
        }
    }
    for (given, needs, name, needed) in
        [(params.until.is_some(), params.since.is_some(), "until", "since"), (params.until_id.is_some(), params.since_id.is_some(), "until_id", "since_id")]
    {
        if given && !needs {
            return Err(crate::alpaca::invalid_parameter(format!("{name} needs {needed}")));
        }
    }
    if params.since.is_some() && params.since_id.is_some() {
        return Err(bad("since and since_id cannot be used together"));
    }
    // Live pushes from now on; the history up to now after them in time.
    let mut inbox = state.pushes.inbox();
    inbox.join(&format!("orders:{user}"));
    // The time the replay starts at: `since`, or the time in `since_id`'s first digits.
    let from = since.or_else(|| params.since_id.as_deref().and_then(|id| id[..13].parse().ok()));
    let mut history = match from {
        Some(from) => replayed_history(&state, user, from, until).await?,
        None => Vec::new(),
    };
    history.sort_by(|a, b| a.0.cmp(&b.0));
    let bounded = until.is_some() || params.until_id.is_some();
    let within = move |id: &str| {
        let at: i64 = id.get(..13).and_then(|digits| digits.parse().ok()).unwrap_or(0);
        params.since_id.as_deref().is_none_or(|since_id| id > since_id)
            && params.until_id.as_deref().is_none_or(|until_id| id <= until_id)
            && since.is_none_or(|since| at >= since)
            && until.is_none_or(|until| at <= until)
    };
    let replay: Vec<(String, Value)> = history.into_iter().filter(|(id, _)| within(id)).collect();
    // The credential is checked again while the stream stays open: a revoked key (or a
    // deleted user) ends it.
    let holder = credential.map(|axum::extract::Extension(credential)| credential).zip(caller.clone());
    let stream = async_stream_events(state, user, replay, bounded, within, Live { inbox, holder });
    let sse = Sse::new(futures_util::StreamExt::map(stream, |(id, update): (String, Value)| {
        let mut update = update;
        update["event_id"] = json!(id);
        Ok::<Event, std::convert::Infallible>(Event::default().id(id).data(update.to_string()))
    }))
    .keep_alive(KeepAlive::default());
    Ok(sse.into_response())
}

/// Pages of older orders read from the store at a time.
const HISTORY_PAGE: usize = 500;

/// The events of every order of `user` that changed at `from` or later (and was placed by
/// `until`): those the view keeps, and the older ones it has forgotten from the read store
/// (an order's last change is its `updated_at` there).
async fn replayed_history(state: &Shared, user: AccountId, from: i64, until: Option<i64>) -> Result<Vec<(String, Value)>, crate::ApiError> {
    let (mut history, forgotten) = {
        let view = crate::history::view(state)?;
        let kept = view.orders.values().filter(|record| record.account == user).flat_map(history_of).collect::<Vec<_>>();
        (kept, view.forgotten())
    };
    let Some(forgotten) = forgotten else { return Ok(history) };
    let mut query = tradecraft_store::OrderQuery {
        user_id: Some(user.0),
        updated_from_ms: Some(from),
        created_until_ms: until,
        position_at_most: Some(forgotten),
        limit: HISTORY_PAGE,
        ..Default::default()
    };
    // A page may end between an order and its exit legs (one position): the next starts at
    // that position again, passing over what was read.
    let mut read = std::collections::HashSet::new();
    loop {
        let asked = query.clone();
        let (rows, records) = crate::reads::ask(state, move |store| {
            let rows = store.order_page(&asked)?;
            let fills = store.order_fills(&rows.iter().map(|row| row.order_id).collect::<Vec<_>>())?;
            let records = crate::view::stored_records(&rows, &fills);
            Ok((rows.len(), records))
        })
        .await?;
        let view = crate::history::view(state)?;
        // An order the view holds again (or still) is in the history from there.
        let fresh = records.iter().filter(|record| read.insert(record.order_id));
        history.extend(fresh.filter(|record| !view.orders.contains_key(&record.order_id)).flat_map(history_of));
        let oldest = records.iter().map(|record| crate::view::position_of(record.order_id)).min();
        match next_page(query.position_at_most, rows, oldest) {
            Some(at_most) => query.position_at_most = Some(at_most),
            None => return Ok(history),
        }
    }
}

/// Where the next page of older orders starts (positions at most this), after a page of
/// `rows` whose oldest position is `oldest` read from positions at most `at_most`: none
/// after a page that was not full. A full page may have ended inside a position (an order
/// and its exit legs), so the next one starts there again, unless this one did already.
fn next_page(at_most: Option<u64>, rows: usize, oldest: Option<u64>) -> Option<u64> {
    let oldest = oldest.filter(|_| rows == HISTORY_PAGE)?;
    if at_most != Some(oldest) { Some(oldest) } else { oldest.checked_sub(1) }
}

/// Where the live events come from: the account's orders topic, while the credential that
/// opened the stream (none for the operator's key) still names its caller.
struct Live {
    inbox: crate::ws::Inbox,
    holder: Option<(SocketCredential, Caller)>,
}

/// The replayed events, then (unless `bounded`) each live one for `user` that `within` keeps.
fn async_stream_events(
    state: Shared,
    user: AccountId,
    replay: Vec<(String, Value)>,
    bounded: bool,
    within: impl Fn(&str) -> bool + Send + 'static,
    live: Live,
) -> futures_util::stream::BoxStream<'static, (String, Value)> {
    use futures_util::StreamExt;
    let replayed = futures_util::stream::iter(replay);
    if bounded {
        return replayed.boxed();
    }
    let recheck = crate::ws::credential_recheck();
    let live = futures_util::stream::unfold((live, state, recheck), move |(mut live, state, mut recheck)| async move {
        loop {
            tokio::select! {
                _ = recheck.tick(), if live.holder.is_some() => {
                    if crate::auth::revoked(&state, &live.holder).await {
                        return None;
                    }
                }
                push = live.inbox.recv() => {
                    let push = push?;
                    if let Some((id, update)) = live_update(&state, user, &push.payload).await {
                        return Some(((id, update), (live, state, recheck)));
                    }
                }
            }
        }
    });
    replayed.chain(live.filter(move |(id, _)| std::future::ready(within(id)))).boxed()
}

/// A live push's event with its id.
async fn live_update(state: &Shared, account: AccountId, payload: &Value) -> Option<(String, Value)> {
    let update = trade_update(state, account, payload).await?;
    let order = OrderId(payload["orderId"].as_str()?.parse().ok()?);
    let at = payload["timestamp"].as_str().and_then(|text| tradecraft_types::Timestamp::parse(text).ok()).map_or(0, tradecraft_types::Timestamp::millis);
    let record = state.view.lock().ok()?.orders.get(&order).cloned()?;
    let step = match payload["type"].as_str()? {
        "accepted" => 0,
        "fill" => {
            let trade: u64 = payload["tradeId"].as_str()?.parse().ok()?;
            record.fills.iter().position(|fill| fill.trade_id.0 == trade)? + 1
        }
        _ => STEP_DONE,
    };
    Some((event_id(at, order, step), update))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_of_older_orders_go_back_without_skipping_or_repeating_forever() {
        assert_eq!(next_page(Some(1_000), HISTORY_PAGE - 1, Some(600)), None, "a page that was not full is the last");
        assert_eq!(next_page(Some(1_000), HISTORY_PAGE, None), None);
        assert_eq!(next_page(Some(1_000), HISTORY_PAGE, Some(600)), Some(600), "its oldest position again: its legs may be on the next page");
        assert_eq!(next_page(Some(600), HISTORY_PAGE, Some(600)), Some(599), "a page that began and ended there moves on");
        assert_eq!(next_page(Some(0), HISTORY_PAGE, Some(0)), None);
    }
}
