//! `/v1/marketdata`: a WebSocket speaking the Phoenix Channels protocol, so the official
//! Phoenix JavaScript client works unchanged (it connects to `.../websocket?vsn=2.0.0`).
//!
//! Frames are `[join_ref, ref, topic, event, payload]` (vsn 2.0.0) or objects with those
//! fields (vsn 1.0.0). Topics: `prices:{SYM}` (`price_update`, seed 000 6.5), `book:{SYM}`
//! (`book_update`), `trades:{SYM}` (`trade`), `orders:{userId}` (`order_update`).
//! A push reaches the sessions that joined its topic, each through a queue of its own
//! ([`Pushes`]), so a session wakes only for what it asked for (every browser would
//! otherwise wake for every house quote and every other user's order); a client that falls
//! behind by more than its queue's capacity skips what it missed and one whose socket will
//! not take a frame within [`SEND_TIMEOUT`] is dropped, so no client ever slows the engine
//! or the others.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use crate::extract::Query;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Extension, State};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tradecraft_engine::{BookLevel, Event, RejectReason};
use tradecraft_sequencer::CommandOutcome;
use tradecraft_types::{Symbol, Timestamp};

use crate::auth::{MaybeCaller, SocketCredential};
use crate::{Shared, View};

/// Pushes buffered for a slow client before it starts skipping.
pub const INBOX_CAPACITY: usize = 8_192;
/// A socket that cannot take one frame in this long is closed.
const SEND_TIMEOUT: Duration = Duration::from_secs(2);

/// One server-to-client message, its payload serialized once for every subscriber.
#[derive(Debug, Clone, PartialEq)]
pub struct Push {
    pub topic: String,
    pub event: &'static str,
    pub payload: Value,
    payload_text: String,
    /// The first subscriber's frame, shared (reference-counted) with every subscriber
    /// whose frame is the same: most join with the same ref.
    shared: std::sync::OnceLock<(bool, Value, Utf8Bytes)>,
}

impl Push {
    pub fn new(topic: String, event: &'static str, payload: Value) -> Self {
        let payload_text = payload.to_string();
        Self { topic, event, payload, payload_text, shared: std::sync::OnceLock::new() }
    }

    /// The frame for one subscriber: only its join_ref differs between subscribers.
    fn frame(&self, version_two: bool, join_ref: &Value) -> Utf8Bytes {
        let build = || {
            let topic = Value::from(self.topic.as_str());
            let text = if version_two {
                format!("[{join_ref},null,{topic},\"{}\",{}]", self.event, self.payload_text)
            } else {
                format!("{{\"topic\":{topic},\"event\":\"{}\",\"payload\":{},\"ref\":null}}", self.event, self.payload_text)
            };
            Utf8Bytes::from(text)
        };
        let (shared_version, shared_ref, frame) = self.shared.get_or_init(|| (version_two, join_ref.clone(), build()));
        if *shared_version == version_two && (shared_ref == join_ref || !version_two) { frame.clone() } else { build() }
    }
}

/// Where pushes go: to each session that joined the push's topic (its [`Inbox`]); the
/// Alpaca streams join topics too (the market-data stream every listed symbol's for `*`).
#[derive(Debug, Clone, Default)]
pub struct Pushes(Arc<Routes>);

/// Per topic, the inboxes (by id) that joined it.
type Subscribers = HashMap<String, Vec<(u64, mpsc::Sender<Arc<Push>>)>>;

#[derive(Debug, Default)]
struct Routes {
    /// Per topic, the inboxes that joined it.
    topics: RwLock<Subscribers>,
    next_inbox: AtomicU64,
    /// Pushes put in a session's queue, and those a full queue skipped (a client behind
    /// by more than [`INBOX_CAPACITY`]): `/metrics` shows both.
    queued: AtomicU64,
    skipped: AtomicU64,
    /// Sessions closed because their socket would not take a frame in [`SEND_TIMEOUT`].
    stalled: AtomicU64,
}

/// What the WebSocket fan-out has done since the process started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PushCounts {
    pub queued: u64,
    pub skipped: u64,
    pub stalled: u64,
}

impl Pushes {
    /// Sends `push` to whoever listens to its topic (nobody is not an error). A session
    /// whose queue is full misses it, as a slow client should.
    pub fn send(&self, push: Arc<Push>) {
        if let Ok(topics) = self.0.topics.read()
            && let Some(inboxes) = topics.get(&push.topic)
        {
            let (mut queued, mut skipped) = (0, 0);
            for (_, inbox) in inboxes {
                match inbox.try_send(Arc::clone(&push)) {
                    Ok(()) => queued += 1,
                    Err(mpsc::error::TrySendError::Full(_)) => skipped += 1,
                    Err(mpsc::error::TrySendError::Closed(_)) => {}
                }
            }
            self.0.queued.fetch_add(queued, Ordering::Relaxed);
            if skipped > 0 {
                self.0.skipped.fetch_add(skipped, Ordering::Relaxed);
            }
        }
    }

    /// The fan-out's counts so far.
    pub fn counts(&self) -> PushCounts {
        PushCounts {
            queued: self.0.queued.load(Ordering::Relaxed),
            skipped: self.0.skipped.load(Ordering::Relaxed),
            stalled: self.0.stalled.load(Ordering::Relaxed),
        }
    }

    /// A session closed because its client stopped taking frames.
    pub(crate) fn note_stalled(&self) {
        self.0.stalled.fetch_add(1, Ordering::Relaxed);
    }

    /// Whether anyone listens at all: with nobody, pushes need not be built.
    pub fn has_listeners(&self) -> bool {
        self.0.topics.read().is_ok_and(|topics| !topics.is_empty())
    }

    /// A session's queue, which receives the pushes of the topics it joins.
    pub fn inbox(&self) -> Inbox {
        let (sender, receiver) = mpsc::channel(INBOX_CAPACITY);
        Inbox { id: self.0.next_inbox.fetch_add(1, Ordering::Relaxed), sender, receiver, routes: Arc::clone(&self.0), topics: Vec::new() }
    }
}

/// One session's pushes: those of the topics it joined, in the order they were sent.
#[derive(Debug)]
pub struct Inbox {
    id: u64,
    sender: mpsc::Sender<Arc<Push>>,
    receiver: mpsc::Receiver<Arc<Push>>,
    routes: Arc<Routes>,
    topics: Vec<String>,
}

impl Inbox {
    pub fn join(&mut self, topic: &str) {
        if self.topics.iter().any(|joined| joined == topic) {
            return;
        }
        if let Ok(mut topics) = self.routes.topics.write() {
            topics.entry(topic.to_owned()).or_default().push((self.id, self.sender.clone()));
            self.topics.push(topic.to_owned());
        }
    }

    pub fn leave(&mut self, topic: &str) {
        self.topics.retain(|joined| joined != topic);
        if let Ok(mut topics) = self.routes.topics.write() {
            forget(&mut topics, topic, self.id);
        }
    }

    /// The next push (it holds a sender itself, so the queue never closes).
    pub async fn recv(&mut self) -> Option<Arc<Push>> {
        self.receiver.recv().await
    }

    pub fn try_recv(&mut self) -> Option<Arc<Push>> {
        self.receiver.try_recv().ok()
    }
}

fn forget(topics: &mut Subscribers, topic: &str, id: u64) {
    if let Some(inboxes) = topics.get_mut(topic) {
        inboxes.retain(|(inbox, _)| *inbox != id);
        if inboxes.is_empty() {
            topics.remove(topic);
        }
    }
}

impl Drop for Inbox {
    fn drop(&mut self) {
        if let Ok(mut topics) = self.routes.topics.write() {
            for topic in &self.topics {
                forget(&mut topics, topic, self.id);
            }
        }
    }
}

fn level(level: Option<BookLevel>) -> Value {
    level.map_or(Value::Null, |level| json!({"price": level.price.to_string(), "quantity": level.quantity.to_string()}))
}

/// What an engine outcome pushes to WebSocket topics.
pub fn pushes_for(outcome: &CommandOutcome, pushes: &Pushes) {
    // Nobody listens (a gateway without the ws role, a server without sockets): nothing is
    // built, so a replica only serving order answers does not format pushes for nobody.
    if !pushes.has_listeners() {
        return;
    }
    let Ok(events) = &outcome.result else { return };
    let timestamp = Timestamp::from_millis(outcome.timestamp_ms).to_string();
    let send = |topic: String, event: &'static str, payload: Value| {
        pushes.send(Arc::new(Push::new(topic, event, payload)));
    };
    for event in events {
        match event {
            Event::Trade(trade) => {
                send(
                    format!("trades:{}", trade.symbol),
                    "trade",
                    json!({"symbol": trade.symbol.as_str(), "tradeId": trade.trade_id.to_string(), "price": trade.price.to_string(),
                        "quantity": trade.quantity.to_string(), "takerSide": trade.taker_side.as_str(), "timestamp": timestamp}),
                );
                // Each side's fill goes out where the engine made it: after the order's
                // acceptance, before its final status.
                for (account, order_id, liquidity) in
                    [(trade.taker_account, trade.taker_order_id, "TAKER"), (trade.maker_account, trade.maker_order_id, "MAKER")]
                {
                    send(
                        format!("orders:{account}"),
                        "order_update",
                        json!({"type": "fill", "orderId": order_id.to_string(), "symbol": trade.symbol.as_str(), "tradeId": trade.trade_id.to_string(),
                            "price": trade.price.to_string(), "quantity": trade.quantity.to_string(), "liquidity": liquidity, "timestamp": timestamp}),
                    );
                }
            }
            Event::BestBidOffer { symbol, sequence, bid, ask } => {
                send(format!("book:{symbol}"), "book_update", json!({"symbol": symbol.as_str(), "sequence": sequence, "bid": level(*bid), "ask": level(*ask)}))
            }
            Event::OrderAccepted(order) => send(
                format!("orders:{}", order.account),
                "order_update",
                json!({"type": "accepted", "orderId": order.order_id.to_string(), "symbol": order.symbol.as_str(), "status": "ACCEPTED", "timestamp": timestamp}),
            ),
            // Every step `order_updates` carries reaches the socket too: a replace (its new
            // price and quantity) and a stop's trigger, besides acceptance, fills and the end.
            Event::OrderReplaced { order_id, account, symbol, price, stop_price, trail, quantity, filled, priority_kept, client_order_id, time_in_force } => {
                let (trail_amount, trail_percent) = crate::orders::trail_parts(*trail);
                let client_order_id = client_order_id.as_ref().map(|client| client.as_str().to_owned());
                let time_in_force = time_in_force.map(tradecraft_sequencer::outputs::time_in_force);
                send(
                    format!("orders:{account}"),
                    "order_update",
                    json!({"type": "replaced", "orderId": order_id.to_string(), "symbol": symbol.as_str(),
                    "status": if filled.is_positive() { "PARTIALLY_FILLED" } else { "ACCEPTED" },
                    "limitPrice": price.map(|price| price.to_string()), "stopPrice": stop_price.map(|stop| stop.to_string()),
                    "trailAmount": trail_amount, "trailPercent": trail_percent,
                    "quantity": quantity.to_string(), "filledQuantity": filled.to_string(), "priorityKept": priority_kept,
                    "clientOrderId": client_order_id, "timeInForce": time_in_force, "timestamp": timestamp}),
                );
            }
            Event::OrderReleased { order_id, account, symbol } => send(
                format!("orders:{account}"),
                "order_update",
                json!({"type": "released", "orderId": order_id.to_string(), "symbol": symbol.as_str(), "status": "ACCEPTED", "timestamp": timestamp}),
            ),
            Event::OrderTriggered { order_id, account, symbol, stop_price } => send(
                format!("orders:{account}"),
                "order_update",
                json!({"type": "triggered", "orderId": order_id.to_string(), "symbol": symbol.as_str(), "stopPrice": stop_price.to_string(), "timestamp": timestamp}),
            ),
            // One status vocabulary everywhere: the REST order's and `order_updates`' words.
            Event::OrderDone { order_id, account, symbol, filled, reason, .. } => send(
                format!("orders:{account}"),
                "order_update",
                json!({"type": "done", "orderId": order_id.to_string(), "symbol": symbol.as_str(),
                    "status": tradecraft_sequencer::outputs::done_status(*reason), "reason": tradecraft_sequencer::outputs::done_reason(*reason),
                    "filledQuantity": filled.to_string(), "timestamp": timestamp}),
            ),
            // A held exit leg that will never be placed ends as cancelled.
            Event::LegCancelled { order_id, account, symbol, .. } => send(
                format!("orders:{account}"),
                "order_update",
                json!({"type": "done", "orderId": order_id.to_string(), "symbol": symbol.as_str(), "status": "CANCELLED", "reason": "cancelled",
                    "filledQuantity": "0", "timestamp": timestamp}),
            ),
            // Trading status (for the Alpaca market-data stream's `statuses`; no native topic).
            Event::InstrumentHalted { symbol } => {
                send(format!("status:{symbol}"), "status", json!({"symbol": symbol.as_str(), "halted": true, "timestamp": timestamp}))
            }
            Event::InstrumentResumed { symbol } => {
                send(format!("status:{symbol}"), "status", json!({"symbol": symbol.as_str(), "halted": false, "timestamp": timestamp}))
            }
            // In-app alert of a limit breach (the read store keeps it for GET /v1/alerts).
            Event::OrderRejected { order_id, account, symbol, side, quantity, reason: RejectReason::LimitBreached(limit) } => send(
                format!("alerts:{account}"),
                "alert",
                json!({"severity": "warning", "title": format!("Order refused: {}", limit.code().trim_start_matches("limit_").replace('_', " ")),
                    "orderId": order_id.to_string(), "symbol": symbol.as_str(), "side": side.as_str(), "quantity": quantity.to_string(),
                    "limit": limit.code(), "timestamp": timestamp}),
            ),
            _ => {}
        }
    }
}

/// The engine thread's listener: feeds the API's view and the WebSocket topics.
pub fn engine_listener(view: Arc<Mutex<View>>, pushes: Pushes) -> tradecraft_sequencer::runtime::Listener {
    Box::new(move |outcome: &CommandOutcome| {
        if let Ok(mut view) = view.lock() {
            view.apply(outcome, Timestamp::from_millis(outcome.timestamp_ms));
        }
        pushes_for(outcome, &pushes);
    })
}

/// A new reference price on `prices:{SYM}` (seed 000 6.5 `price_update`).
pub fn push_price(pushes: &Pushes, symbol: Symbol, price: tradecraft_types::Price) {
    let payload = json!({"symbol": symbol.as_str(), "price": price.to_string()});
    pushes.send(Arc::new(Push::new(format!("prices:{symbol}"), "price_update", payload)));
}

/// A decoded client frame.
#[derive(Debug)]
struct Frame {
    join_ref: Value,
    reference: Value,
    topic: String,
    event: String,
}

fn decode(text: &str) -> Option<Frame> {
    match serde_json::from_str::<Value>(text).ok()? {
        Value::Array(parts) if parts.len() == 5 => {
            Some(Frame { join_ref: parts[0].clone(), reference: parts[1].clone(), topic: parts[2].as_str()?.to_owned(), event: parts[3].as_str()?.to_owned() })
        }
        Value::Object(fields) => Some(Frame {
            join_ref: fields.get("join_ref").cloned().unwrap_or(Value::Null),
            reference: fields.get("ref").cloned().unwrap_or(Value::Null),
            topic: fields.get("topic")?.as_str()?.to_owned(),
            event: fields.get("event")?.as_str()?.to_owned(),
        }),
        _ => None,
    }
}

fn encode(version_two: bool, join_ref: &Value, reference: &Value, topic: &str, event: &str, payload: &Value) -> String {
    if version_two {
        json!([join_ref, reference, topic, event, payload]).to_string()
    } else {
        json!({"topic": topic, "event": event, "payload": payload, "ref": reference}).to_string()
    }
}

/// The account an account topic names, in the one spelling pushes use (`orders:7`, never
/// `orders:07` or `orders:+7`, which would be joined and never hear a push).
fn topic_account(text: &str) -> Option<u64> {
    text.parse::<u64>().ok().filter(|account| account.to_string() == text)
}

/// Whether a client may join `topic`: market topics are public, an orders topic is its
/// owner's (or an admin's).
fn joinable(topic: &str, caller: &MaybeCaller) -> Result<(), &'static str> {
    match topic.split_once(':') {
        Some(("prices" | "book" | "trades", symbol)) if Symbol::new(symbol).is_ok() => Ok(()),
        Some(("orders" | "alerts" | "notifications", user)) => match (topic_account(user).ok_or(()), caller) {
            // An account's topics are reads of it: a key without the read scope cannot join
            // them, as it cannot GET the account's orders.
            (Ok(user), Some(caller)) if caller.acts_for(user) && caller.read => Ok(()),
            (Ok(_), Some(_)) => Err("forbidden"),
            (Ok(_), None) => Err("unauthorized"),
            (Err(_), _) => Err("unmatched topic"),
        },
        _ => Err("unmatched topic"),
    }
}

/// Whether a client may join `topic` now: it is [`joinable`], and a market topic's symbol
/// is listed (as REST answers 404 for one that is not).
async fn may_join(state: &crate::AppState, topic: &str, caller: &MaybeCaller) -> Result<(), &'static str> {
    joinable(topic, caller)?;
    let Some(("prices" | "book" | "trades", symbol)) = topic.split_once(':') else { return Ok(()) };
    let Ok(symbol) = Symbol::new(symbol) else { return Ok(()) };
    match crate::routes::query(state, move |engine| engine.instrument(symbol).is_some()).await {
        Ok(true) => Ok(()),
        Ok(false) => Err("unknown symbol"),
        Err(_) => Err("unavailable"),
    }
}

/// The WebSocket's query parameters (documentation; the handler reads them as a map).
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
#[expect(dead_code, reason = "only documents the parameters")]
pub(crate) struct SocketParams {
    /// Protocol version: 2.0.0 (arrays) or 1.0.0 (objects, the default).
    vsn: Option<String>,
    /// An access token, for the orders and alerts topics.
    token: Option<String>,
    /// An API key, for the orders and alerts topics.
    api_key: Option<String>,
}

/// The WebSocket: Phoenix Channels protocol (`vsn=2.0.0` arrays, `1.0.0` objects). Topics
/// `prices:{SYM}` (`price_update`), `book:{SYM}` (`book_update`), `trades:{SYM}` (`trade`),
/// `orders:{userId}` (`order_update`), `alerts:{userId}` (`alert`) and
/// `notifications:{userId}` (`notification`; the last three need `token=` or `apiKey=`);
/// heartbeat on `phoenix`. A join is refused with a reason: `unmatched topic`, `unknown
/// symbol` (not listed), `unauthorized` or `forbidden`.
#[utoipa::path(get, path = "/v1/marketdata", tag = "market", security(()),
    params(SocketParams),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol."),
        (status = 400, description = "Not a WebSocket upgrade request.", body = crate::responses::ErrorBody),
        (status = 426, description = "The connection cannot be upgraded.", body = crate::responses::ErrorBody),
    ))]
pub(crate) async fn upgrade(
    socket: WebSocketUpgrade,
    Query(params): Query<BTreeMap<String, String>>,
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    credential: Option<Extension<SocketCredential>>,
) -> Response {
    let credential = credential.map(|Extension(credential)| credential);
    let version_two = params.get("vsn").is_some_and(|version| version.starts_with("2."));
    // Clients send small frames (joins, heartbeats). The default 128 KiB read buffer is
    // zeroed on every read attempt, and a session polls its socket on each push it wakes for.
    limited(socket).read_buffer_size(READ_BUFFER_BYTES).on_upgrade(move |socket| session(socket, state, version_two, caller, credential))
}

/// The same socket at the path the Phoenix JavaScript client appends (`/websocket`).
#[utoipa::path(get, path = "/v1/marketdata/websocket", tag = "market", security(()),
    params(SocketParams),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol."),
        (status = 400, description = "Not a WebSocket upgrade request.", body = crate::responses::ErrorBody),
        (status = 426, description = "The connection cannot be upgraded.", body = crate::responses::ErrorBody),
    ))]
pub(crate) async fn upgrade_websocket(
    socket: WebSocketUpgrade,
    query: Query<BTreeMap<String, String>>,
    state: State<Shared>,
    caller: Extension<MaybeCaller>,
    credential: Option<Extension<SocketCredential>>,
) -> Response {
    upgrade(socket, query, state, caller, credential).await
}

async fn send(socket: &mut WebSocket, text: String) -> bool {
    matches!(tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Text(text.into()))).await, Ok(Ok(())))
}

/// Read buffer of a WebSocket session.
const READ_BUFFER_BYTES: usize = 4 * 1024;

/// Pushes drained per wake-up at most: a client that fell behind catches up with one
/// write for the lot instead of one per frame.
const PUSH_BATCH_MAX: usize = 64;

/// Writes `frames` with one flush. Most writes complete at once: only one that has to
/// wait for the client arms the [`SEND_TIMEOUT`] timer (a timer per write costs more than
/// the write).
async fn send_all(socket: &mut WebSocket, frames: Vec<Utf8Bytes>) -> bool {
    use futures_util::{FutureExt, SinkExt};
    let write = async {
        for frame in frames {
            socket.feed(Message::Text(frame)).await?;
        }
        socket.flush().await
    };
    let mut write = std::pin::pin!(write);
    match (&mut write).now_or_never() {
        Some(result) => result.is_ok(),
        None => matches!(tokio::time::timeout(SEND_TIMEOUT, write).await, Ok(Ok(()))),
    }
}

/// How often a user's socket checks that its credential still stands.
const CREDENTIAL_RECHECK: Duration = Duration::from_secs(2);

/// An upgrade that takes client messages of [`crate::WS_MESSAGE_BYTES_MAX`] at most: a
/// larger one closes the socket (1009) before it is buffered whole.
pub(crate) fn limited(socket: WebSocketUpgrade) -> WebSocketUpgrade {
    socket.max_message_size(crate::WS_MESSAGE_BYTES_MAX).max_frame_size(crate::WS_MESSAGE_BYTES_MAX)
}

/// The ticks at which a socket checks its credential again, the first one
/// [`CREDENTIAL_RECHECK`] from now.
pub(crate) fn credential_recheck() -> tokio::time::Interval {
    let mut recheck = tokio::time::interval_at(tokio::time::Instant::now() + CREDENTIAL_RECHECK, CREDENTIAL_RECHECK);
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    recheck
}

/// Closes a socket whose credential was revoked (1008, "credentials revoked").
pub(crate) async fn close_revoked(socket: &mut WebSocket) {
    let close = axum::extract::ws::CloseFrame { code: axum::extract::ws::close_code::POLICY, reason: "credentials revoked".into() };
    let _ = tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Close(Some(close)))).await;
}

async fn session(mut socket: WebSocket, state: Shared, version_two: bool, caller: MaybeCaller, credential: Option<SocketCredential>) {
    state.ws_connections.fetch_add(1, Ordering::Relaxed);
    let mut inbox = state.pushes.inbox();
    // Joined topics and the join_ref each was joined with.
    let mut joined: BTreeMap<String, Value> = BTreeMap::new();
    let mut recheck = credential_recheck();
    loop {
        tokio::select! {
            // A logout, role change, deletion or revoked key ends the socket: what it
            // joined was joined on that credential.
            _ = recheck.tick(), if credential.is_some() => {
                if let (Some(credential), Some(who)) = (&credential, &caller)
                    && !credential.still_names(&state, who).await
                {
                    close_revoked(&mut socket).await;
                    break;
                }
            }
            incoming = socket.recv() => {
                let text = match incoming {
                    Some(Ok(Message::Text(text))) => text.to_string(),
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => continue,
                };
                let Some(frame) = decode(&text) else {
                    let error = encode(version_two, &Value::Null, &Value::Null, "phoenix", "phx_error", &json!({"reason": "malformed frame"}));
                    if !send(&mut socket, error).await { break }
                    continue;
                };
                let reply = |status: &str, response: Value| {
                    encode(version_two, &frame.join_ref, &frame.reference, &frame.topic, "phx_reply", &json!({"status": status, "response": response}))
                };
                let mut answers = Vec::new();
                match frame.event.as_str() {
                    "heartbeat" if frame.topic == "phoenix" => answers.push(reply("ok", json!({}))),
                    "phx_join" => match may_join(&state, &frame.topic, &caller).await {
                        Ok(()) => {
                            inbox.join(&frame.topic);
                            joined.insert(frame.topic.clone(), frame.join_ref.clone());
                            answers.push(reply("ok", json!({})));
                        }
                        Err(reason) => answers.push(reply("error", json!({"reason": reason}))),
                    },
                    "phx_leave" => {
                        inbox.leave(&frame.topic);
                        joined.remove(&frame.topic);
                        answers.push(reply("ok", json!({})));
                        answers.push(encode(version_two, &frame.join_ref, &Value::Null, &frame.topic, "phx_close", &json!({})));
                    }
                    _ => answers.push(reply("error", json!({"reason": "unknown event"}))),
                }
                for answer in answers {
                    if !send(&mut socket, answer).await {
                        break;
                    }
                }
            }
            push = inbox.recv() => {
                let Some(push) = push else { break };
                let mut frames = Vec::new();
                let mut next = Some(push);
                while let Some(push) = next.take() {
                    // One queued before the topic was left is not sent.
                    if let Some(join_ref) = joined.get(&push.topic) {
                        frames.push(push.frame(version_two, join_ref));
                    }
                    if frames.len() < PUSH_BATCH_MAX {
                        next = inbox.try_recv();
                    }
                }
                if !frames.is_empty() && !send_all(&mut socket, frames).await {
                    state.pushes.note_stalled();
                    break;
                }
            }
        }
    }
    state.ws_connections.fetch_sub(1, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn price(topic: &str) -> Arc<Push> {
        Arc::new(Push::new(topic.to_owned(), "price_update", json!({"price": "1"})))
    }

    #[test]
    fn a_session_receives_the_pushes_of_the_topics_it_joined_and_no_others() {
        let pushes = Pushes::default();
        assert!(!pushes.has_listeners());
        let (mut prices, mut orders) = (pushes.inbox(), pushes.inbox());
        prices.join("prices:MOCK");
        prices.join("prices:MOCK");
        orders.join("orders:7");
        assert!(pushes.has_listeners());
        pushes.send(price("prices:MOCK"));
        pushes.send(price("orders:8"));
        assert_eq!(prices.try_recv().map(|push| push.topic.clone()).as_deref(), Some("prices:MOCK"));
        assert!(prices.try_recv().is_none(), "joined twice, received once");
        assert!(orders.try_recv().is_none(), "another topic's push never reaches it");
        orders.leave("orders:7");
        pushes.send(price("orders:7"));
        assert!(orders.try_recv().is_none(), "left: nothing more");
        drop(prices);
        drop(orders);
        assert!(!pushes.has_listeners(), "a dropped session is forgotten");
    }

    #[test]
    fn a_session_that_falls_behind_misses_pushes_without_holding_up_the_sender() {
        let pushes = Pushes::default();
        let mut slow = pushes.inbox();
        slow.join("prices:MOCK");
        for _ in 0..INBOX_CAPACITY + 10 {
            pushes.send(price("prices:MOCK"));
        }
        let counts = pushes.counts();
        assert_eq!((counts.queued, counts.skipped), (INBOX_CAPACITY as u64, 10), "what a full queue skipped is counted");
        // One more while the slow queue is still full: queued for the other session only.
        let mut other = pushes.inbox();
        other.join("prices:MOCK");
        pushes.send(price("prices:MOCK"));
        assert_eq!((pushes.counts().queued, pushes.counts().skipped), (INBOX_CAPACITY as u64 + 1, 11), "one queued, one skipped");
        assert!(other.try_recv().is_some());
        let mut received = 0;
        while slow.try_recv().is_some() {
            received += 1;
        }
        assert_eq!(received, INBOX_CAPACITY);
    }

    #[test]
    fn halts_and_resumes_go_out_on_the_symbols_status_topic() {
        let pushes = Pushes::default();
        let mut received = pushes.inbox();
        received.join("status:MOCK");
        let symbol = Symbol::new("MOCK").unwrap();
        let outcome = CommandOutcome {
            offset: 7,
            timestamp_ms: 1_796_040_000_000,
            result: Ok(vec![Event::InstrumentHalted { symbol }, Event::InstrumentResumed { symbol }]),
        };
        pushes_for(&outcome, &pushes);
        let halted = received.try_recv().unwrap();
        assert_eq!((halted.topic.as_str(), halted.event, &halted.payload["halted"]), ("status:MOCK", "status", &json!(true)));
        let resumed = received.try_recv().unwrap();
        assert_eq!(resumed.payload["halted"], json!(false));
        assert_eq!(resumed.payload["timestamp"], json!(Timestamp::from_millis(1_796_040_000_000).to_string()));
        assert!(joinable("status:MOCK", &None).is_err(), "no native topic: only the Alpaca stream reads them");
    }
}
