//! `/v2/{feed}` (`iex`, `sip`, `test`): Alpaca's market-data stream over TradeCraft's own
//! market, so `alpaca-py`'s `StockDataStream` (given `url_override="ws://HOST:PORT/v2/iex"`)
//! receives trades, quotes and bars. Frames are MessagePack when the client sends binary
//! frames or asks for `application/msgpack` (what alpaca-py does; times are MessagePack
//! timestamp extensions), JSON text otherwise (times RFC 3339).
//!
//! Messages, each frame an array of them: `{"T": "success", "msg": "connected"}` on
//! connect; `auth` → `authenticated` (or `{"T": "error", "code": 402}`; a second `auth` is
//! `403 already authenticated`, the first key kept); `subscribe` /
//! `unsubscribe` with `trades`, `quotes`, `bars`, `updatedBars`, `dailyBars`, `statuses`
//! (symbols or `*`) → `{"T": "subscription", ...}` listing what is subscribed. Then `t`
//! for each trade, `q` when the top of the book moves, `u` (the minute bar so far) and `d`
//! (the day's bar so far) after each trade, `b` for each minute that had trades, once it
//! is over, and `s` when a symbol is halted (`sc: "H"`) or resumes (`sc: "T"`). Prices
//! and sizes are numbers here, as in Alpaca's feed: display data.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use tradecraft_market::Interval;
use tradecraft_types::{Symbol, Timestamp};

use crate::alpaca_data::{bar_json, latest_candle, number};
use crate::{ApiError, Shared};

const FEEDS: [&str; 3] = ["iex", "sip", "test"];
const CHANNELS: [&str; 6] = ["trades", "quotes", "bars", "updatedBars", "dailyBars", "statuses"];
const SEND_TIMEOUT: Duration = Duration::from_secs(2);
const MINUTE_MS: i64 = 60_000;

/// The market-data stream.
#[utoipa::path(get, path = "/v2/{feed}", tag = "alpaca", security(()),
    params(("feed" = String, Path, pattern = "^(iex|sip|test)$", description = "`iex`, `sip` or `test`: one feed, TradeCraft's own market.")),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol; then auth and subscribe as Alpaca's market-data stream does."),
        (status = 400, description = "Not a WebSocket upgrade request.", body = crate::alpaca::AlpacaError),
        (status = 404, description = "Not a feed.", body = crate::alpaca::AlpacaError),
        (status = 426, description = "The connection cannot be upgraded.", body = crate::alpaca::AlpacaError),
    ))]
pub(crate) async fn upgrade(
    Path(feed): Path<String>,
    headers: HeaderMap,
    State(state): State<Shared>,
    socket: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    if !FEEDS.contains(&feed.as_str()) {
        return ApiError::NotFound(format!("feed {feed}")).into_response();
    }
    let socket = match socket {
        Ok(socket) => socket,
        Err(rejection) => return rejection.into_response(),
    };
    let msgpack = headers.get("content-type").and_then(|value| value.to_str().ok()).is_some_and(|value| value.contains("msgpack"));
    crate::ws::limited(socket).on_upgrade(move |socket| session(socket, state, msgpack))
}

/// What a session is subscribed to: per channel, symbols (`*` for all).
#[derive(Default)]
struct Subscriptions(BTreeMap<&'static str, BTreeSet<String>>);

impl Subscriptions {
    fn wants(&self, channel: &str, symbol: &str) -> bool {
        self.0.get(channel).is_some_and(|symbols| symbols.contains("*") || symbols.contains(symbol))
    }

    /// Whether every channel `message` names is a list of symbols, as Alpaca requires.
    fn well_formed(message: &Value) -> bool {
        CHANNELS.iter().all(|channel| match &message[*channel] {
            Value::Null => true,
            Value::Array(symbols) => symbols.iter().all(Value::is_string),
            _ => false,
        })
    }

    fn change(&mut self, message: &Value, add: bool) {
        for channel in CHANNELS {
            let Some(symbols) = message[channel].as_array() else { continue };
            let set = self.0.entry(channel).or_default();
            for symbol in symbols.iter().filter_map(Value::as_str) {
                let symbol = symbol.to_ascii_uppercase();
                if add {
                    set.insert(symbol)
                } else {
                    set.remove(&symbol)
                };
            }
        }
    }

    fn describe(&self) -> Value {
        let mut answer = Map::new();
        answer.insert("T".to_owned(), json!("subscription"));
        for channel in CHANNELS.into_iter().chain(["lulds", "corrections", "cancelErrors"]) {
            answer.insert(channel.to_owned(), json!(self.0.get(channel).map(|set| set.iter().collect::<Vec<_>>()).unwrap_or_default()));
        }
        Value::Object(answer)
    }

    fn symbols(&self) -> BTreeSet<String> {
        self.0.values().flatten().cloned().collect()
    }

    /// Whether a channel takes every symbol (`*`).
    fn any_wildcard(&self) -> bool {
        self.0.values().any(|symbols| symbols.contains("*"))
    }

    /// The exchange's topics these subscriptions need, `*` standing for every one of
    /// `listed`: a symbol's trades (for `trades`, `updatedBars` and `dailyBars`), its book
    /// (`quotes`) and its status (`statuses`). Minute bars come from the view each second.
    fn topics(&self, listed: &[Symbol]) -> BTreeSet<String> {
        let mut topics = BTreeSet::new();
        for (channel, symbols) in &self.0 {
            let prefix = match *channel {
                "trades" | "updatedBars" | "dailyBars" => "trades",
                "quotes" => "book",
                "statuses" => "status",
                _ => continue,
            };
            if symbols.contains("*") {
                topics.extend(listed.iter().map(|symbol| format!("{prefix}:{symbol}")));
            }
            topics.extend(symbols.iter().filter(|symbol| *symbol != "*").map(|symbol| format!("{prefix}:{symbol}")));
        }
        topics
    }
}

/// Joins `inbox` to the topics `subscriptions` need now and leaves those it no longer does.
async fn follow(state: &Shared, subscriptions: &Subscriptions, inbox: &mut crate::ws::Inbox, joined: &mut BTreeSet<String>) {
    let listed: Vec<Symbol> =
        if subscriptions.any_wildcard() { crate::routes::query(state, |engine| engine.symbols().collect()).await.unwrap_or_default() } else { Vec::new() };
    let wanted = subscriptions.topics(&listed);
    for topic in joined.difference(&wanted) {
        inbox.leave(topic);
    }
    for topic in wanted.difference(joined) {
        inbox.join(topic);
    }
    *joined = wanted;
}

/// A JSON message as MessagePack: `t` (a time) becomes a timestamp extension.
fn to_msgpack(value: &Value, key: Option<&str>) -> rmpv::Value {
    match value {
        Value::Null => rmpv::Value::Nil,
        Value::Bool(flag) => rmpv::Value::Boolean(*flag),
        Value::Number(number) => match (number.as_i64(), number.as_u64()) {
            (Some(integer), _) => rmpv::Value::from(integer),
            (None, Some(integer)) => rmpv::Value::from(integer),
            _ => rmpv::Value::F64(number.as_f64().unwrap_or(0.0)),
        },
        Value::String(text) if key == Some("t") => match Timestamp::parse(text) {
            Ok(at) => {
                // Timestamp 96: nanoseconds (u32), then seconds (i64), big-endian.
                let (seconds, millis) = (at.millis().div_euclid(1_000), at.millis().rem_euclid(1_000));
                let mut bytes = ((millis as u32) * 1_000_000).to_be_bytes().to_vec();
                bytes.extend_from_slice(&seconds.to_be_bytes());
                rmpv::Value::Ext(-1, bytes)
            }
            Err(_) => rmpv::Value::from(text.as_str()),
        },
        Value::String(text) => rmpv::Value::from(text.as_str()),
        Value::Array(items) => rmpv::Value::Array(items.iter().map(|item| to_msgpack(item, None)).collect()),
        Value::Object(fields) => rmpv::Value::Map(fields.iter().map(|(name, item)| (rmpv::Value::from(name.as_str()), to_msgpack(item, Some(name)))).collect()),
    }
}

/// A client's MessagePack message as JSON (maps, arrays, strings, numbers, booleans).
fn from_msgpack(value: &rmpv::Value) -> Value {
    match value {
        rmpv::Value::Boolean(flag) => json!(flag),
        rmpv::Value::Integer(integer) => integer.as_i64().map_or_else(|| json!(integer.as_u64()), |integer| json!(integer)),
        rmpv::Value::F32(number) => json!(number),
        rmpv::Value::F64(number) => json!(number),
        rmpv::Value::String(text) => json!(text.as_str()),
        rmpv::Value::Array(items) => Value::Array(items.iter().map(from_msgpack).collect()),
        rmpv::Value::Map(fields) => Value::Object(fields.iter().filter_map(|(name, item)| Some((name.as_str()?.to_owned(), from_msgpack(item)))).collect()),
        _ => Value::Null,
    }
}

async fn send(socket: &mut WebSocket, msgpack: bool, messages: Vec<Value>) -> bool {
    if messages.is_empty() {
        return true;
    }
    let frame = if msgpack {
        let mut bytes = Vec::new();
        if rmpv::encode::write_value(&mut bytes, &to_msgpack(&Value::Array(messages), None)).is_err() {
            return false;
        }
        Message::Binary(bytes.into())
    } else {
        Message::Text(Value::Array(messages).to_string().into())
    };
    matches!(tokio::time::timeout(SEND_TIMEOUT, socket.send(frame)).await, Ok(Ok(())))
}

/// A candle as a stream message of `kind` (`b`, `u` or `d`).
fn bar(kind: &str, symbol: &str, candle: &tradecraft_market::Candle) -> Value {
    let mut bar = bar_json(candle);
    bar["T"] = json!(kind);
    bar["S"] = json!(symbol);
    bar
}

/// The current candle of `interval` for `symbol`, from the view.
fn candle(state: &Shared, symbol: &str, interval: &str) -> Option<tradecraft_market::Candle> {
    latest_candle(state, Symbol::new(symbol).ok()?, Interval::parse(interval)?).ok().flatten()
}

async fn session(mut socket: WebSocket, state: Shared, mut msgpack: bool) {
    // Pushes of the topics subscribed to only, so a bot wakes for what it asked for.
    let mut inbox = state.pushes.inbox();
    let mut joined = BTreeSet::new();
    // The key the stream was authenticated with and whom it named: checked again while the
    // stream stays open, so a revoked key (or a deleted user) stops its data.
    let mut authorized: Option<(crate::auth::SocketCredential, crate::auth::Caller)> = None;
    let mut recheck = crate::ws::credential_recheck();
    let mut subscriptions = Subscriptions::default();
    // Per symbol, the start of the last minute whose bar went out.
    let mut bars_sent: BTreeMap<String, i64> = BTreeMap::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    if !send(&mut socket, msgpack, vec![json!({"T": "success", "msg": "connected"})]).await {
        return;
    }
    loop {
        tokio::select! {
            _ = recheck.tick(), if authorized.is_some() => {
                if crate::auth::revoked(&state, &authorized).await {
                    let _ = send(&mut socket, msgpack, vec![json!({"T": "error", "code": 402, "msg": "auth failed"})]).await;
                    crate::ws::close_revoked(&mut socket).await;
                    break;
                }
            }
            incoming = socket.recv() => {
                let message = match incoming {
                    Some(Ok(Message::Text(text))) => serde_json::from_str(&text).unwrap_or(Value::Null),
                    Some(Ok(Message::Binary(bytes))) => {
                        msgpack = true;
                        rmpv::decode::read_value(&mut bytes.as_ref()).map(|value| from_msgpack(&value)).unwrap_or(Value::Null)
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => continue,
                };
                let answer = match (message["action"].as_str(), authorized.is_some()) {
                    // As Alpaca: a session authenticates once, and keeps that key.
                    (Some("auth"), true) => json!({"T": "error", "code": 403, "msg": "already authenticated"}),
                    (Some("auth"), false) => {
                        let secret = message["secret"].as_str();
                        let caller = crate::auth::stream_caller(&state, message["key"].as_str(), secret).await;
                        authorized = secret.zip(caller).map(|(secret, caller)| {
                            (crate::auth::SocketCredential { token: None, api_key: Some(secret.to_owned()) }, caller)
                        });
                        if authorized.is_some() { json!({"T": "success", "msg": "authenticated"}) } else { json!({"T": "error", "code": 402, "msg": "auth failed"}) }
                    }
                    (Some(_), false) => json!({"T": "error", "code": 401, "msg": "not authenticated"}),
                    // A channel given as anything but a list of symbols changes nothing.
                    (Some("subscribe" | "unsubscribe"), true) if !Subscriptions::well_formed(&message) => {
                        json!({"T": "error", "code": 400, "msg": "invalid syntax"})
                    }
                    (Some("subscribe"), true) => {
                        subscriptions.change(&message, true);
                        follow(&state, &subscriptions, &mut inbox, &mut joined).await;
                        // Bars of minutes already over are not sent again.
                        let now = crate::routes::now().millis();
                        for symbol in subscriptions.symbols() {
                            bars_sent.entry(symbol).or_insert(now.div_euclid(MINUTE_MS) * MINUTE_MS - MINUTE_MS);
                        }
                        subscriptions.describe()
                    }
                    (Some("unsubscribe"), true) => {
                        subscriptions.change(&message, false);
                        follow(&state, &subscriptions, &mut inbox, &mut joined).await;
                        subscriptions.describe()
                    }
                    _ => json!({"T": "error", "code": 400, "msg": "invalid syntax"}),
                };
                if !send(&mut socket, msgpack, vec![answer]).await {
                    break;
                }
            }
            _ = tick.tick() => {
                // `*` takes in a symbol listed since.
                if subscriptions.any_wildcard() {
                    follow(&state, &subscriptions, &mut inbox, &mut joined).await;
                }
                // Each minute that had trades, once it is over: its bar.
                let minute = crate::routes::now().millis().div_euclid(MINUTE_MS) * MINUTE_MS;
                let mut out = Vec::new();
                for (symbol, sent) in &mut bars_sent {
                    if !subscriptions.wants("bars", symbol) {
                        continue;
                    }
                    let Ok(parsed) = Symbol::new(symbol) else { continue };
                    let Some(interval) = Interval::parse("1m") else { continue };
                    let Ok(view) = state.view.lock() else { continue };
                    for candle in view.candles.candles(parsed, interval, *sent + 1, minute - 1, usize::MAX) {
                        out.push(bar("b", symbol, &candle));
                        *sent = candle.start_ms;
                    }
                }
                if !send(&mut socket, msgpack, out).await {
                    break;
                }
            }
            push = inbox.recv() => match push {
                // Nothing is sent before a good `auth` (subscribing needs one anyway).
                Some(_) if authorized.is_none() => continue,
                Some(push) => {
                    let out = messages_for(&state, &subscriptions, &push);
                    if !send(&mut socket, msgpack, out).await {
                        break;
                    }
                }
                None => break,
            },
        }
    }
}

/// What one push of the exchange becomes on this stream.
fn messages_for(state: &Shared, subscriptions: &Subscriptions, push: &crate::ws::Push) -> Vec<Value> {
    let mut out = Vec::new();
    let payload = &push.payload;
    match push.event {
        "trade" => {
            let Some(symbol) = payload["symbol"].as_str() else { return out };
            if subscriptions.wants("trades", symbol) {
                out.push(json!({
                    "T": "t", "S": symbol, "i": payload["tradeId"].as_str().and_then(|id| id.parse::<u64>().ok()), "x": "T",
                    "p": number(payload["price"].as_str().unwrap_or_default()), "s": number(payload["quantity"].as_str().unwrap_or_default()),
                    "t": payload["timestamp"], "c": ["@"], "z": "C",
                }));
            }
            for (channel, kind, interval) in [("updatedBars", "u", "1m"), ("dailyBars", "d", "1d")] {
                if subscriptions.wants(channel, symbol)
                    && let Some(candle) = candle(state, symbol, interval)
                {
                    out.push(bar(kind, symbol, &candle));
                }
            }
        }
        "status" => {
            let Some(symbol) = payload["symbol"].as_str() else { return out };
            if subscriptions.wants("statuses", symbol) {
                out.push(status_message(payload));
            }
        }
        "book_update" => {
            let Some(symbol) = payload["symbol"].as_str() else { return out };
            if subscriptions.wants("quotes", symbol) {
                let side = |side: &str, field: &str| payload[side][field].as_str().map_or(json!(0), number);
                out.push(json!({
                    "T": "q", "S": symbol, "bx": "T", "bp": side("bid", "price"), "bs": side("bid", "quantity"),
                    "ax": "T", "ap": side("ask", "price"), "as": side("ask", "quantity"),
                    "t": crate::routes::now().to_string(), "c": ["R"], "z": "C",
                }));
            }
        }
        _ => {}
    }
    out
}

/// A halt or resume as Alpaca's trading status message (`H`: halted, `T`: trading).
fn status_message(payload: &Value) -> Value {
    let halted = payload["halted"].as_bool().unwrap_or(false);
    json!({
        "T": "s", "S": payload["symbol"], "sc": if halted { "H" } else { "T" }, "sm": if halted { "Trading Halt" } else { "Trading Resumption" },
        "rc": if halted { "H1" } else { "" }, "rm": if halted { "Halted by the exchange" } else { "" }, "t": payload["timestamp"], "z": "C",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_become_timestamp_extensions_and_messages_read_back() {
        let message = json!([{"T": "t", "S": "MOCK", "p": 100.5, "s": 3, "t": "2026-11-30T12:00:01.250Z", "c": ["@"]}]);
        let packed = to_msgpack(&message, None);
        let rmpv::Value::Array(items) = &packed else { panic!("an array") };
        let rmpv::Value::Map(fields) = &items[0] else { panic!("a map") };
        let time = fields.iter().find(|(name, _)| name.as_str() == Some("t")).map(|(_, value)| value.clone());
        let seconds = Timestamp::parse("2026-11-30T12:00:01Z").unwrap().millis() / 1_000;
        let mut expected = 250_000_000_u32.to_be_bytes().to_vec();
        expected.extend_from_slice(&seconds.to_be_bytes());
        assert_eq!(time, Some(rmpv::Value::Ext(-1, expected)));
        let mut bytes = Vec::new();
        rmpv::encode::write_value(&mut bytes, &to_msgpack(&json!({"action": "subscribe", "trades": ["MOCK"], "n": 3}), None)).unwrap();
        let back = from_msgpack(&rmpv::decode::read_value(&mut bytes.as_slice()).unwrap());
        assert_eq!(back, json!({"action": "subscribe", "trades": ["MOCK"], "n": 3}));
    }

    #[test]
    fn a_subscription_names_each_channel_as_a_list_of_symbols() {
        let mut subscriptions = Subscriptions::default();
        let good = json!({"action": "subscribe", "trades": ["mock"], "quotes": ["*"], "future_channel": 1});
        assert!(Subscriptions::well_formed(&good), "unknown keys are left to later channels");
        subscriptions.change(&good, true);
        assert!(subscriptions.wants("trades", "MOCK") && subscriptions.wants("quotes", "OTHER") && !subscriptions.wants("bars", "MOCK"));
        for bad in [
            json!({"action": "subscribe", "bars": "MOCK"}),
            json!({"action": "subscribe", "trades": ["MOCK", 3]}),
            json!({"action": "subscribe", "quotes": {}}),
        ] {
            assert!(!Subscriptions::well_formed(&bad), "{bad}");
        }
    }

    #[test]
    fn halts_and_resumes_are_status_messages() {
        let halted = status_message(&json!({"symbol": "MOCK", "halted": true, "timestamp": "2026-11-30T12:00:00.000Z"}));
        assert_eq!((halted["T"].as_str(), halted["S"].as_str(), halted["sc"].as_str()), (Some("s"), Some("MOCK"), Some("H")));
        let resumed = status_message(&json!({"symbol": "MOCK", "halted": false, "timestamp": "2026-11-30T12:05:00.000Z"}));
        assert_eq!((resumed["sc"].as_str(), resumed["t"].as_str()), (Some("T"), Some("2026-11-30T12:05:00.000Z")));
    }

    #[test]
    fn subscriptions_follow_subscribe_and_unsubscribe() {
        let mut subscriptions = Subscriptions::default();
        subscriptions.change(&json!({"trades": ["mock", "OTHER"], "bars": ["*"]}), true);
        assert!(subscriptions.wants("trades", "MOCK") && subscriptions.wants("bars", "ANY") && !subscriptions.wants("quotes", "MOCK"));
        subscriptions.change(&json!({"trades": ["MOCK"]}), false);
        assert!(!subscriptions.wants("trades", "MOCK") && subscriptions.wants("trades", "OTHER"));
        assert_eq!(subscriptions.describe()["trades"], json!(["OTHER"]));
        assert_eq!(subscriptions.describe()["quotes"], json!([]));
    }

    /// A session joins the topics its channels need: `*` is every listed symbol's, bar
    /// channels join their symbol's trades, minute bars (from the view) join nothing.
    #[test]
    fn subscriptions_name_the_topics_to_join() {
        let listed = [Symbol::new("AAA").unwrap(), Symbol::new("BBB").unwrap()];
        let mut subscriptions = Subscriptions::default();
        subscriptions.change(&json!({"quotes": ["*"], "dailyBars": ["ccc"], "statuses": ["AAA"], "bars": ["*"]}), true);
        let topics: Vec<String> = subscriptions.topics(&listed).into_iter().collect();
        assert_eq!(topics, ["book:AAA", "book:BBB", "status:AAA", "trades:CCC"]);
        subscriptions.change(&json!({"quotes": ["*"], "dailyBars": ["CCC"]}), false);
        subscriptions.change(&json!({"trades": ["*"]}), true);
        let topics: Vec<String> = subscriptions.topics(&listed).into_iter().collect();
        assert_eq!(topics, ["status:AAA", "trades:AAA", "trades:BBB"]);
    }
}
