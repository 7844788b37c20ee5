//! `/stream`: Alpaca's trading stream, so `alpaca-py`'s `TradingStream` (given
//! `url_override="ws://HOST:PORT/stream"`) receives `trade_updates`. The protocol is JSON
//! text: `{"action": "authenticate", "data": {"key_id", "secret_key"}}` answered on the
//! `authorization` stream, then `{"action": "listen", "data": {"streams": ["trade_updates"]}}`
//! answered on `listening`; then one `trade_updates` message per step of each of the
//! account's orders (`new`, `fill`, `partial_fill`, `canceled`, `expired`), carrying the
//! order as `/v2/orders` shows it at that moment.
//!
//! The updates come from the same pushes as the native socket's `orders:{userId}` topic,
//! so they follow the engine's outcomes in order.

use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::sync::broadcast;
use tradecraft_types::{AccountId, Money, OrderId, Quantity, Symbol};

use crate::Shared;
use crate::alpaca::{order_of, uuid};

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
    socket.on_upgrade(move |socket| session(socket, state))
}

async fn send(socket: &mut WebSocket, message: &Value) -> bool {
    matches!(tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Text(message.to_string().into()))).await, Ok(Ok(())))
}

fn authorization(status: &str) -> Value {
    json!({"stream": "authorization", "data": {"action": "authenticate", "status": status}})
}

async fn session(mut socket: WebSocket, state: Shared) {
    let mut pushes = state.pushes.subscribe();
    let mut account: Option<u64> = None;
    let mut listening = false;
    loop {
        tokio::select! {
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
                        let caller = match secret {
                            Some(secret) => crate::auth::resolve(&state, None, Some(secret)).await.ok().flatten(),
                            None => None,
                        };
                        account = caller.and_then(|caller| caller.user_id);
                        authorization(if account.is_some() { "authorized" } else { "unauthorized" })
                    }
                    Some("listen") if account.is_some() => {
                        let streams: Vec<String> = message["data"]["streams"].as_array().map(|streams| {
                            streams.iter().filter_map(Value::as_str).filter(|stream| *stream == "trade_updates").map(str::to_owned).collect()
                        }).unwrap_or_default();
                        listening = !streams.is_empty();
                        json!({"stream": "listening", "data": {"streams": streams}})
                    }
                    Some("listen") => authorization("unauthorized"),
                    _ => json!({"stream": "listening", "data": {"error": "unrecognized request"}}),
                };
                if !send(&mut socket, &answer).await {
                    break;
                }
            }
            push = pushes.recv() => match push {
                Ok(push) => {
                    let Some(user) = account.filter(|_| listening) else { continue };
                    if push.topic.strip_prefix("orders:") != Some(user.to_string().as_str()) {
                        continue;
                    }
                    if let Some(update) = trade_update(&state, AccountId(user), &push.payload).await
                        && !send(&mut socket, &json!({"stream": "trade_updates", "data": update})).await
                    {
                        break;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => break,
            },
        }
    }
}

/// The `trade_updates` data for one `order_update` push, or `None` for one it does not
/// report (a fill's end is its last `fill`).
async fn trade_update(state: &Shared, account: AccountId, payload: &Value) -> Option<Value> {
    let order_id = OrderId(payload["orderId"].as_str()?.parse().ok()?);
    let record = state.view.lock().ok()?.orders.get(&order_id).cloned()?;
    let kind = payload["type"].as_str()?;
    // The view holds the order after its whole command; each update shows it as it stood
    // at that step: nothing filled when new, the fills so far after each fill.
    let mut then = record.clone();
    let trade: Option<u64> = payload["tradeId"].as_str().and_then(|trade| trade.parse().ok());
    let fills_then = match (kind, trade) {
        ("accepted", _) => 0,
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
        ("accepted", _) => "new",
        ("fill", _) if complete => "fill",
        ("fill", _) => "partial_fill",
        ("done", Some("CANCELLED")) => "canceled",
        ("done", Some("EXPIRED")) => "expired",
        _ => return None,
    };
    then.status = match event {
        "new" => "ACCEPTED",
        "partial_fill" => "PARTIALLY_FILLED",
        _ => record.status,
    };
    let order = order_of(&then);
    let mut update = json!({"event": event, "order": order, "timestamp": payload["timestamp"]});
    if let Some(trade) = trade {
        let symbol = Symbol::new(payload["symbol"].as_str()?).ok()?;
        let held = crate::routes::query(state, move |engine| {
            engine.account(account).and_then(|view| view.holdings.iter().find(|(held, _)| *held == symbol).map(|(_, balance)| balance.total()))
        })
        .await
        .ok()
        .flatten()
        .unwrap_or(0);
        update["execution_id"] = json!(uuid(TAG_EXECUTION, trade));
        update["price"] = payload["price"].clone();
        update["qty"] = payload["quantity"].clone();
        update["position_qty"] = json!(Quantity::from_raw(held).to_string());
    }
    Some(update)
}
