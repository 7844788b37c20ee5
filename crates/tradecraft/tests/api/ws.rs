//! `/v1/marketdata`: the Phoenix Channels protocol over a real WebSocket.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{TestApp, spawn_app, spawn_app_with, test_redis};

pub(crate) type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub(crate) async fn connect(app: &TestApp, query: &str) -> Socket {
    // The operator's key, so the tests may join any account's orders topic.
    let separator = if query.is_empty() { "?" } else { "&" };
    let url = format!("ws://{}/v1/marketdata/websocket{query}{separator}apiKey={}", app.ws_address, crate::helpers::ADMIN_KEY);
    tokio_tungstenite::connect_async(url).await.unwrap().0
}

pub(crate) async fn send(socket: &mut Socket, frame: Value) {
    socket.send(Message::Text(frame.to_string().into())).await.unwrap();
}

/// The next text frame. The wait is a liveness bound, not what the tests measure: on the
/// 2-core CI machine, with two multi-process deployments and the broker sharing it, one
/// frame of a burst once took longer than 5 s through the log and Redis.
pub(crate) async fn receive(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(15), socket.next()).await.expect("a frame in time").unwrap().unwrap();
        if let Message::Text(text) = message {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

/// A reference price for MOCK on `market_data`, as the simulator publishes it: every
/// WebSocket server pushes it to its clients.
fn price(app: &TestApp, value: &str) {
    prices(app, &[value.to_owned()]);
}

/// Several prices in one append.
fn prices(app: &TestApp, values: &[String]) {
    static SEQUENCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let at = tradecraft_types::Timestamp::from_millis(1_767_346_200_000);
    let records = values
        .iter()
        .map(|value| {
            let tick = tradecraft_events::MarketDataTick { symbol: "MOCK".to_owned(), price: value.clone(), feed_timestamp: at.to_string() };
            let sequence = SEQUENCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let envelope = tradecraft_log::Envelope::new("market_data.tick", "test-feed", sequence, at, tradecraft_events::to_payload(&tick));
            tradecraft_log::Record { key: Some(b"MOCK".to_vec()), value: envelope.to_json(), timestamp_ms: at.millis() }
        })
        .collect();
    app.log.append(tradecraft_events::MARKET_DATA, records).unwrap();
}

#[tokio::test]
async fn version_two_join_push_heartbeat_leave() {
    let app = spawn_app().await;
    let mut socket = connect(&app, "?vsn=2.0.0").await;
    send(&mut socket, json!(["1", "1", "prices:MOCK", "phx_join", {}])).await;
    assert_eq!(receive(&mut socket).await, json!(["1", "1", "prices:MOCK", "phx_reply", {"status": "ok", "response": {}}]));
    price(&app, "101.25");
    assert_eq!(receive(&mut socket).await, json!(["1", null, "prices:MOCK", "price_update", {"symbol": "MOCK", "price": "101.25"}]));
    send(&mut socket, json!([null, "2", "phoenix", "heartbeat", {}])).await;
    assert_eq!(receive(&mut socket).await, json!([null, "2", "phoenix", "phx_reply", {"status": "ok", "response": {}}]));
    send(&mut socket, json!(["3", "3", "nonsense:topic", "phx_join", {}])).await;
    assert_eq!(receive(&mut socket).await[4], json!({"status": "error", "response": {"reason": "unmatched topic"}}));
    // A symbol that is not listed is refused, as REST answers 404 for it.
    for topic in ["prices:NOPE", "book:NOPE", "trades:NOPE"] {
        send(&mut socket, json!(["6", "6", topic, "phx_join", {}])).await;
        assert_eq!(receive(&mut socket).await[4], json!({"status": "error", "response": {"reason": "unknown symbol"}}), "{topic}");
    }
    send(&mut socket, json!(["1", "4", "prices:MOCK", "phx_leave", {}])).await;
    assert_eq!(receive(&mut socket).await[4]["status"], "ok");
    assert_eq!(receive(&mut socket).await[3], "phx_close");
    // After leaving, prices no longer arrive: the next frame is the heartbeat reply.
    price(&app, "102");
    send(&mut socket, json!([null, "5", "phoenix", "heartbeat", {}])).await;
    assert_eq!(receive(&mut socket).await[1], "5");
}

/// With Redis (the multi-process deployment always has it; the embedded server here is
/// told to use it), the projector caches each tick and publishes it, and the WebSocket
/// server pushes what Redis carries: a tick published straight to Redis reaches the client.
#[tokio::test]
async fn prices_reach_clients_through_redis_and_stay_in_its_cache() {
    let app = spawn_app_with(|config| {
        config.redis_url.get_or_insert_with(|| test_redis("ws"));
    })
    .await;
    let redis = tradecraft::cache::RedisConfig::parse(app.redis_url.as_deref().unwrap()).unwrap();
    let mut socket = connect(&app, "?vsn=2.0.0").await;
    send(&mut socket, json!(["1", "1", "prices:MOCK", "phx_join", {}])).await;
    assert_eq!(receive(&mut socket).await[4]["status"], "ok");
    price(&app, "103.5");
    assert_eq!(receive(&mut socket).await[4], json!({"symbol": "MOCK", "price": "103.5"}));

    let mut connection = redis::Client::open(redis.url.as_str()).unwrap().get_connection().unwrap();
    let cached: Option<String> = redis::cmd("GET").arg(redis.price_key("MOCK")).query(&mut connection).unwrap();
    assert_eq!(cached.map(|text| serde_json::from_str::<Value>(&text).unwrap()), Some(json!({"symbol": "MOCK", "price": "103.5"})));
    let receivers: i64 =
        redis::cmd("PUBLISH").arg(redis.price_channel()).arg(json!({"symbol": "MOCK", "price": "104"}).to_string()).query(&mut connection).unwrap();
    assert!(receivers >= 1, "the WebSocket server subscribes to {}", redis.price_channel());
    assert_eq!(receive(&mut socket).await[4], json!({"symbol": "MOCK", "price": "104"}));

    // Its connection killed, the WebSocket server subscribes again by itself.
    let name = format!("{}price-subscriber", redis.prefix);
    let clients: String = redis::cmd("CLIENT").arg("LIST").query(&mut connection).unwrap();
    let ids: Vec<&str> =
        clients.lines().filter(|line| line.contains(&format!(" name={name} "))).filter_map(|line| line.split(' ').next()?.strip_prefix("id=")).collect();
    assert_eq!(ids.len(), 1, "one subscriber named {name}: {clients}");
    let () = redis::cmd("CLIENT").arg("KILL").arg("ID").arg(ids[0]).query(&mut connection).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let receivers: i64 = redis::cmd("PUBSUB").arg("NUMSUB").arg(redis.price_channel()).query::<(String, i64)>(&mut connection).unwrap().1;
        if receivers >= 1 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the subscriber never came back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    price(&app, "105.5");
    assert_eq!(receive(&mut socket).await[4], json!({"symbol": "MOCK", "price": "105.5"}));
}

#[tokio::test]
async fn trades_books_and_orders_stream_from_the_engine() {
    let app = spawn_app().await;
    let user = app.account("10000").await;
    let mut socket = connect(&app, "?vsn=2.0.0").await;
    for (reference, topic) in [("1", "trades:MOCK".to_owned()), ("2", "book:MOCK".to_owned()), ("3", format!("orders:{user}"))] {
        send(&mut socket, json!([reference, reference, topic, "phx_join", {}])).await;
        assert_eq!(receive(&mut socket).await[4]["status"], "ok");
    }
    let (status, _) = app.post("/v1/orders", json!({"userId": user, "symbol": "MOCK", "quantity": "5", "side": "BUY", "type": "MARKET"})).await;
    assert_eq!(status, 202);
    let mut seen = Vec::new();
    for _ in 0..5 {
        let frame = receive(&mut socket).await;
        seen.push((frame[2].as_str().unwrap().to_owned(), frame[3].as_str().unwrap().to_owned(), frame[4].clone()));
    }
    let trade = seen.iter().find(|(_, event, _)| event == "trade").expect("a trade");
    assert_eq!((trade.2["price"].as_str(), trade.2["quantity"].as_str()), (Some("100.5"), Some("5")));
    let book = seen.iter().find(|(_, event, _)| event == "book_update").expect("a book update");
    assert_eq!(book.2["ask"], json!({"price": "100.5", "quantity": "95"}));
    assert!(seen.iter().any(|(topic, event, payload)| topic.starts_with("orders:") && event == "order_update" && payload["status"] == "ACCEPTED"));
}

/// The house re-quotes each tick as one step (its old ladder cancelled, the new one placed):
/// the book's top never shows a side empty between the two, on the `book:` topic (and so
/// on Alpaca's quotes, built from the same outputs).
#[tokio::test]
async fn the_house_requoting_never_shows_an_empty_side() {
    let app = spawn_app_with(|config| {
        config.simulate_market = true;
        config.market.tick_interval_ms = 50;
        // A price that moves the ladder most ticks (500 % a year: about 2 cents a tick).
        config.market.symbols[0].annual_volatility = "5".to_owned();
    })
    .await;
    let mut socket = connect(&app, "?vsn=2.0.0").await;
    send(&mut socket, json!(["1", "1", "book:MOCK", "phx_join", {}])).await;
    assert_eq!(receive(&mut socket).await[4]["status"], "ok");
    // Twenty re-quotes that moved the top, or more.
    let mut updates = Vec::new();
    while updates.len() < 20 {
        let frame = receive(&mut socket).await;
        if frame[3] == "book_update" {
            updates.push(frame[4].clone());
        }
    }
    let empty: Vec<&Value> = updates.iter().filter(|update| update["bid"].is_null() || update["ask"].is_null()).collect();
    assert!(empty.is_empty(), "{} of {} book updates with a side empty: {:?}", empty.len(), updates.len(), &empty[..empty.len().min(3)]);
    let sequences: Vec<u64> = updates.iter().map(|update| update["sequence"].as_u64().unwrap()).collect();
    assert!(sequences.windows(2).all(|pair| pair[0] < pair[1]), "in order: {sequences:?}");
}

#[tokio::test]
async fn version_one_object_frames() {
    let app = spawn_app().await;
    let mut socket = connect(&app, "").await;
    send(&mut socket, json!({"topic": "prices:MOCK", "event": "phx_join", "payload": {}, "ref": "1"})).await;
    assert_eq!(receive(&mut socket).await, json!({"topic": "prices:MOCK", "event": "phx_reply", "payload": {"status": "ok", "response": {}}, "ref": "1"}));
    price(&app, "99.99");
    assert_eq!(
        receive(&mut socket).await,
        json!({"topic": "prices:MOCK", "event": "price_update", "payload": {"symbol": "MOCK", "price": "99.99"}, "ref": null})
    );
    socket.send(Message::Text("not json".into())).await.unwrap();
    assert_eq!(receive(&mut socket).await["event"], "phx_error");
}

#[tokio::test]
async fn a_client_that_never_reads_holds_up_no_one() {
    let app = spawn_app().await;
    let mut stalled = connect(&app, "?vsn=2.0.0").await;
    send(&mut stalled, json!(["1", "1", "prices:MOCK", "phx_join", {}])).await;
    assert_eq!(receive(&mut stalled).await[4]["status"], "ok");
    let mut reader = connect(&app, "?vsn=2.0.0").await;
    send(&mut reader, json!(["1", "1", "prices:MOCK", "phx_join", {}])).await;
    assert_eq!(receive(&mut reader).await[4]["status"], "ok");
    // Far more than the broadcast buffer; the stalled client reads none of it. The reader
    // takes each chunk whole (its last price is one no other push has) before the next is
    // sent, so however slow the machine, it never falls a buffer behind: every push reaches
    // it, in order, unless the stalled client holds it up. Chunks of half a buffer: each is
    // a round trip through the log (and on processes Redis), few enough that one slow hop
    // of a loaded machine is not met 48 times per run.
    let pushes = tradecraft_api::ws::INBOX_CAPACITY * 3;
    const CHUNK: usize = tradecraft_api::ws::INBOX_CAPACITY / 2;
    let mut received = 0;
    for (number, chunk) in (0..pushes).collect::<Vec<_>>().chunks(CHUNK).enumerate() {
        let marker = format!("{}.5", 1_000 + number);
        let mut values: Vec<String> = chunk.iter().map(|index| format!("{}", 100 + index % 50)).collect();
        *values.last_mut().unwrap() = marker.clone();
        prices(&app, &values);
        loop {
            let frame = receive(&mut reader).await;
            received += 1;
            if frame[4]["price"] == marker.as_str() {
                break;
            }
        }
        assert_eq!(received, (number + 1) * CHUNK, "the reading client got every push so far, the stalled one unread");
    }
    assert_eq!(received, pushes);
    let (status, _) = app.get("/health/ready").await;
    assert_eq!(status, 200, "the server is still responsive");
    drop(stalled);
}

/// A burst of updates arrives whole and in order (written in batches), in both protocol
/// versions, each subscriber with its own join ref.
#[tokio::test]
async fn bursts_arrive_whole_and_in_order_for_every_subscriber() {
    let app = spawn_app().await;
    let mut two = connect(&app, "?vsn=2.0.0").await;
    let mut other_ref = connect(&app, "?vsn=2.0.0").await;
    let mut one = connect(&app, "").await;
    send(&mut two, json!(["7", "1", "prices:MOCK", "phx_join", {}])).await;
    send(&mut other_ref, json!(["9", "1", "prices:MOCK", "phx_join", {}])).await;
    send(&mut one, json!({"topic": "prices:MOCK", "event": "phx_join", "payload": {}, "ref": "1"})).await;
    for socket in [&mut two, &mut other_ref, &mut one] {
        receive(socket).await;
    }
    for index in 0..300 {
        price(&app, &format!("{}.25", 100 + index));
    }
    for index in 0..300 {
        let expected = format!("{}.25", 100 + index);
        let (a, b, c) = (receive(&mut two).await, receive(&mut other_ref).await, receive(&mut one).await);
        assert_eq!((a[0].as_str(), a[4]["price"].as_str()), (Some("7"), Some(expected.as_str())));
        assert_eq!((b[0].as_str(), b[4]["price"].as_str()), (Some("9"), Some(expected.as_str())), "a different join ref gets its own frame");
        assert_eq!(c["payload"]["price"].as_str(), Some(expected.as_str()));
    }
}

/// One status vocabulary on the socket and over REST, and the events of one order in the
/// order they happened: accepted, its fills, then its final status.
#[tokio::test]
async fn order_updates_speak_the_rest_vocabulary_in_causal_order() {
    let app = spawn_app().await;
    let user = app.account("100000").await;
    let mut socket = connect(&app, "?vsn=2.0.0").await;
    // Another spelling of the account would be joined and never hear a push: refused.
    for topic in [format!("orders:0{user}"), format!("orders:+{user}"), format!("alerts:0{user}")] {
        send(&mut socket, json!(["9", "9", topic, "phx_join", {}])).await;
        assert_eq!(receive(&mut socket).await[4], json!({"status": "error", "response": {"reason": "unmatched topic"}}), "{topic}");
    }
    send(&mut socket, json!(["1", "1", format!("orders:{user}"), "phx_join", {}])).await;
    assert_eq!(receive(&mut socket).await[4]["status"], "ok");
    // Walks two ask levels (100 at 100.5, 200 at 101): two fills, then FILLED.
    let (_, walked) = app.post("/v1/orders", json!({"userId": user, "symbol": "MOCK", "quantity": "150", "side": "BUY", "type": "MARKET"})).await;
    // Takes the rest at 101 and expires unfilled for the remainder (IOC).
    let (_, partial) = app
        .post(
            "/v1/orders",
            json!({"userId": user, "symbol": "MOCK", "quantity": "300", "side": "BUY", "type": "LIMIT", "limitPrice": "101", "timeInForce": "IOC"}),
        )
        .await;
    let mut frames: Vec<Value> = Vec::new();
    while frames.iter().filter(|frame| frame["type"] == "done").count() < 2 {
        frames.push(receive(&mut socket).await[4].clone());
    }
    for (order, fills) in [(&walked, 2), (&partial, 1)] {
        let id = order["orderId"].as_str().unwrap();
        let kinds: Vec<&str> = frames.iter().filter(|frame| frame["orderId"] == id).map(|frame| frame["type"].as_str().unwrap()).collect();
        let mut expected = vec!["accepted"];
        expected.extend(std::iter::repeat_n("fill", fills));
        expected.push("done");
        assert_eq!(kinds, expected, "order {id}: {frames:?}");
        let done = frames.iter().find(|frame| frame["orderId"] == id && frame["type"] == "done").unwrap();
        let (_, rest) = app.get(&format!("/v1/orders/{id}")).await;
        assert_eq!((&done["status"], &done["reason"]), (&rest["status"], &rest["reason"]), "the socket and REST agree on {id}");
    }
    for frame in &frames {
        if let Some(status) = frame["status"].as_str() {
            assert!(["ACCEPTED", "PARTIALLY_FILLED", "FILLED", "CANCELLED", "EXPIRED", "REJECTED"].contains(&status), "{status} is not in the vocabulary");
        }
    }
    let done: Vec<(&str, &str)> =
        frames.iter().filter(|frame| frame["type"] == "done").map(|frame| (frame["status"].as_str().unwrap(), frame["reason"].as_str().unwrap())).collect();
    assert_eq!(done, [("FILLED", "filled"), ("EXPIRED", "no_more_liquidity")]);
}

#[tokio::test]
async fn notifications_are_pushed_to_their_accounts_topic() {
    let app = spawn_app().await;
    let user = app.account("100000").await;
    let mut socket = connect(&app, "?vsn=2.0.0").await;
    send(&mut socket, json!(["1", "1", format!("notifications:{user}"), "phx_join", {}])).await;
    assert_eq!(receive(&mut socket).await[4]["status"], "ok");
    app.post("/v1/orders", json!({"userId": user, "symbol": "MOCK", "quantity": "2", "side": "BUY", "type": "MARKET"})).await;
    let frame = receive(&mut socket).await;
    assert_eq!((frame[2].as_str(), frame[3].as_str()), (Some(format!("notifications:{user}").as_str()), Some("notification")), "{frame}");
    assert_eq!(frame[4]["kind"], "ORDER_FILLED", "{frame}");
    let (_, listed) = app.get(&format!("/v1/notifications?userId={user}")).await;
    assert_eq!(listed["notifications"][0]["notificationId"], frame[4]["notificationId"], "the same notification as GET /v1/notifications: {listed}");
}

/// A client message larger than any the protocol needs (64 KiB, as for request bodies)
/// ends that client's socket before it is buffered; other clients go on.
#[tokio::test]
async fn an_oversized_client_message_closes_only_that_socket() {
    let app = spawn_app().await;
    let mut big = connect(&app, "?vsn=2.0.0").await;
    let mut other = connect(&app, "?vsn=2.0.0").await;
    send(&mut other, json!(["1", "1", "prices:MOCK", "phx_join", {}])).await;
    assert_eq!(receive(&mut other).await[4]["status"], "ok");
    send(&mut big, json!(["1", "1", "prices:MOCK", "phx_join", {"padding": "x".repeat(100 * 1024)}])).await;
    let ended = loop {
        match tokio::time::timeout(Duration::from_secs(5), big.next()).await.expect("the server acts in time") {
            None | Some(Err(_)) => break None,
            Some(Ok(Message::Close(frame))) => break frame.map(|frame| u16::from(frame.code)),
            Some(Ok(Message::Text(text))) => assert!(!text.contains("phx_reply"), "the oversized join was answered: {text}"),
            Some(Ok(_)) => {}
        }
    };
    assert!(ended.is_none_or(|code| code == 1009), "closed as too big: {ended:?}");
    price(&app, "99.5");
    assert_eq!(receive(&mut other).await[3], "price_update");
}

/// A user's socket ends when its credential does (a logout, a revoked key): what it joined
/// (the user's orders) was joined on that credential. Other sockets go on.
#[tokio::test]
async fn a_users_socket_closes_when_its_credential_is_revoked() {
    let app = spawn_app().await;
    let open = |query: String| {
        let url = format!("ws://{}/v1/marketdata/websocket?vsn=2.0.0&{query}", app.ws_address);
        async move { tokio_tungstenite::connect_async(url).await.unwrap().0 }
    };
    let (ada, bob) = (crate::auth::register(&app, "ws-ada@example.com").await, crate::auth::register(&app, "ws-bob@example.com").await);
    let (_, key) = crate::auth::call(
        &app,
        &app.anonymous,
        reqwest::Method::POST,
        "/v1/api-keys",
        bob["accessToken"].as_str(),
        Some(json!({"name": "bot", "scopes": ["read"]})),
    )
    .await;
    let mut by_token = open(format!("token={}", ada["accessToken"].as_str().unwrap())).await;
    let mut by_key = open(format!("apiKey={}", key["apiKey"].as_str().unwrap())).await;
    let mut watcher = open(format!("token={}", bob["accessToken"].as_str().unwrap())).await;
    for (socket, user) in [(&mut by_token, &ada), (&mut by_key, &bob), (&mut watcher, &bob)] {
        send(socket, json!(["1", "1", format!("orders:{}", user["userId"].as_str().unwrap()), "phx_join", {}])).await;
        assert_eq!(receive(socket).await[4]["status"], "ok");
    }
    let (status, _) =
        crate::auth::call(&app, &app.anonymous, reqwest::Method::POST, "/v1/auth/logout", None, Some(json!({"refreshToken": ada["refreshToken"]}))).await;
    assert_eq!(status, 204);
    let path = format!("/v1/api-keys/{}", key["keyId"].as_str().unwrap());
    let (status, _) = crate::auth::call(&app, &app.anonymous, reqwest::Method::DELETE, &path, bob["accessToken"].as_str(), None).await;
    assert_eq!(status, 204);
    for socket in [&mut by_token, &mut by_key] {
        let closed = loop {
            match tokio::time::timeout(Duration::from_secs(10), socket.next()).await.expect("closed within the recheck") {
                Some(Ok(Message::Close(frame))) => break frame.map(|frame| u16::from(frame.code)),
                None | Some(Err(_)) => break None,
                Some(Ok(_)) => {}
            }
        };
        assert_eq!(closed, Some(1008), "closed as revoked");
    }
    // Bob's login was not revoked (only his key): his own socket goes on.
    send(&mut watcher, json!([null, "9", "phoenix", "heartbeat", {}])).await;
    assert_eq!(receive(&mut watcher).await[1], "9");
}

/// The socket carries every step `order_updates` does: a replace (the new price and
/// quantity, as `GET /v1/orders/{id}` then shows them), a stop's trigger and an order's
/// entry at the open, in the order they happened, as the Alpaca stream's `replaced` does.
#[tokio::test]
async fn replaces_and_triggers_reach_the_socket_as_they_reach_order_updates() {
    let app = spawn_app().await;
    let user = app.account("100000").await;
    let mut socket = connect(&app, "?vsn=2.0.0").await;
    send(&mut socket, json!(["1", "1", format!("orders:{user}"), "phx_join", {}])).await;
    assert_eq!(receive(&mut socket).await[4]["status"], "ok");
    let (status, resting) =
        app.post("/v1/orders", json!({"userId": user, "symbol": "MOCK", "quantity": "10", "side": "BUY", "type": "LIMIT", "limitPrice": "90"})).await;
    assert_eq!(status, 202, "{resting}");
    let id = resting["orderId"].as_str().unwrap().to_owned();
    let (status, replaced) = app.patch(&format!("/v1/orders/{id}"), json!({"quantity": "6", "limitPrice": "91"})).await;
    assert_eq!(status, 200, "{replaced}");
    // A buy stop above the market's ask (100.5) triggers once a trade prints at or above it.
    let (status, stop) =
        app.post("/v1/orders", json!({"userId": user, "symbol": "MOCK", "quantity": "1", "side": "BUY", "type": "STOP", "stopPrice": "100.5"})).await;
    assert_eq!(status, 202, "{stop}");
    let (status, _) = app.post("/v1/orders", json!({"userId": user, "symbol": "MOCK", "quantity": "1", "side": "BUY", "type": "MARKET"})).await;
    assert_eq!(status, 202);
    let stop_id = stop["orderId"].as_str().unwrap().to_owned();
    let mut frames: Vec<Value> = Vec::new();
    while !frames.iter().any(|frame| frame["orderId"] == stop_id.as_str() && frame["type"] == "done") {
        frames.push(receive(&mut socket).await[4].clone());
    }
    let kinds = |order: &str| -> Vec<String> {
        frames.iter().filter(|frame| frame["orderId"] == order).map(|frame| frame["type"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(kinds(&id), ["accepted", "replaced"], "{frames:?}");
    assert_eq!(kinds(&stop_id), ["accepted", "triggered", "fill", "done"], "{frames:?}");
    let change = frames.iter().find(|frame| frame["type"] == "replaced").unwrap();
    let (_, now) = app.get(&format!("/v1/orders/{id}")).await;
    assert_eq!(
        (&change["limitPrice"], &change["quantity"], &change["status"], &change["priorityKept"]),
        (&now["limitPrice"], &now["quantity"], &now["status"], &json!(false)),
        "the socket and REST agree: {change} / {now}"
    );
    let trigger = frames.iter().find(|frame| frame["type"] == "triggered").unwrap();
    assert_eq!(trigger["stopPrice"], "100.5", "{trigger}");

    // An order taken while the market is closed is pushed again when it enters at the open.
    assert_eq!(app.post("/v1/instruments/MOCK/close", json!({})).await.0, 200);
    let (status, queued) =
        app.post("/v1/orders", json!({"userId": user, "symbol": "MOCK", "quantity": "2", "side": "BUY", "type": "LIMIT", "limitPrice": "80"})).await;
    assert_eq!(status, 202, "{queued}");
    assert_eq!(app.post("/v1/instruments/MOCK/open", json!({})).await.0, 200);
    let queued = queued["orderId"].as_str().unwrap().to_owned();
    let released = loop {
        let frame = receive(&mut socket).await[4].clone();
        if frame["orderId"] == queued.as_str() && frame["type"] != "accepted" {
            break frame;
        }
    };
    assert_eq!(
        (released["type"].as_str(), released["status"].as_str(), released["symbol"].as_str()),
        (Some("released"), Some("ACCEPTED"), Some("MOCK")),
        "{released}"
    );
}

/// Alpaca's market data stream (`/v2/iex`) answers a subscription whose channel is not a
/// list of symbols with Alpaca's `invalid syntax`, changing nothing, and a second `auth`
/// with `already authenticated`, as Alpaca does.
#[tokio::test]
async fn the_alpaca_data_stream_refuses_a_channel_that_is_not_a_list() {
    let app = spawn_app().await;
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://{}/v2/iex", app.ws_address)).await.unwrap();
    assert_eq!(receive(&mut socket).await[0]["msg"], "connected");
    send(&mut socket, json!({"action": "auth", "key": "operator", "secret": crate::helpers::ADMIN_KEY})).await;
    assert_eq!(receive(&mut socket).await[0]["msg"], "authenticated");
    // Authenticated once: another auth (good or bad) is Alpaca's 403, and the first key holds.
    for again in [crate::helpers::ADMIN_KEY, "not-a-key"] {
        send(&mut socket, json!({"action": "auth", "key": "operator", "secret": again})).await;
        let answer = receive(&mut socket).await;
        assert_eq!((answer[0]["code"].as_i64(), answer[0]["msg"].as_str()), (Some(403), Some("already authenticated")), "{answer}");
    }
    send(&mut socket, json!({"action": "subscribe", "trades": ["MOCK"]})).await;
    assert_eq!(receive(&mut socket).await[0]["trades"], json!(["MOCK"]));
    for bad in [json!({"action": "subscribe", "bars": "MOCK"}), json!({"action": "unsubscribe", "trades": ["MOCK", 7]})] {
        send(&mut socket, bad.clone()).await;
        let answer = receive(&mut socket).await;
        assert_eq!((answer[0]["T"].as_str(), answer[0]["code"].as_i64()), (Some("error"), Some(400)), "{bad}: {answer}");
    }
    send(&mut socket, json!({"action": "subscribe", "quotes": []})).await;
    let answer = receive(&mut socket).await;
    assert_eq!((answer[0]["trades"].clone(), answer[0]["bars"].clone()), (json!(["MOCK"]), json!([])), "nothing changed: {answer}");
}

/// The Alpaca market-data stream receives what its subscriptions name, joined by topic:
/// `trades: ["*"]` gets every listed symbol's trades; once unsubscribed, a trade sends
/// nothing on it, while the quotes subscribed since still come.
#[tokio::test]
async fn the_alpaca_data_stream_follows_its_subscriptions_by_topic() {
    let app = spawn_app().await;
    let user = app.account("10000").await;
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://{}/v2/iex", app.ws_address)).await.unwrap();
    assert_eq!(receive(&mut socket).await[0]["msg"], "connected");
    send(&mut socket, json!({"action": "auth", "key": "operator", "secret": crate::helpers::ADMIN_KEY})).await;
    assert_eq!(receive(&mut socket).await[0]["msg"], "authenticated");
    send(&mut socket, json!({"action": "subscribe", "trades": ["*"]})).await;
    assert_eq!(receive(&mut socket).await[0]["trades"], json!(["*"]));
    let buy = json!({"userId": user, "symbol": "MOCK", "quantity": "2", "side": "BUY", "type": "MARKET"});
    assert_eq!(app.post("/v1/orders", buy.clone()).await.0, 202);
    let trade = receive(&mut socket).await;
    assert_eq!((trade[0]["T"].as_str(), trade[0]["S"].as_str(), trade[0]["s"].as_i64()), (Some("t"), Some("MOCK"), Some(2)), "{trade}");

    send(&mut socket, json!({"action": "unsubscribe", "trades": ["*"]})).await;
    assert_eq!(receive(&mut socket).await[0]["trades"], json!([]));
    send(&mut socket, json!({"action": "subscribe", "quotes": ["mock"]})).await;
    assert_eq!(receive(&mut socket).await[0]["quotes"], json!(["MOCK"]));
    assert_eq!(app.post("/v1/orders", buy).await.0, 202);
    // The buy moves the top of the book: a quote comes, and no trade message before it.
    let next = receive(&mut socket).await;
    assert!(next.as_array().unwrap().iter().all(|message| message["T"] == "q"), "{next}");
    assert_eq!(next[0]["S"], "MOCK");
}

/// A key without the read scope reads nothing of the account over a socket either, as it
/// GETs nothing: the Phoenix socket refuses its account topics (the market's stay open to
/// it, as to anyone), and both Alpaca streams refuse to authenticate it.
#[tokio::test]
async fn a_key_without_the_read_scope_reads_nothing_over_sockets() {
    let app = spawn_app().await;
    let bot = crate::auth::register(&app, "writer@example.com").await;
    let user = bot["userId"].as_str().unwrap().to_owned();
    let access = bot["accessToken"].as_str().unwrap();
    let (status, key) =
        crate::auth::call(&app, &app.anonymous, reqwest::Method::POST, "/v1/api-keys", Some(access), Some(json!({"name": "writer", "scopes": ["trade"]})))
            .await;
    assert_eq!(status, 201, "{key}");
    let (key_id, secret) = (key["keyId"].as_str().unwrap(), key["apiKey"].as_str().unwrap());
    let url = format!("ws://{}/v1/marketdata/websocket?vsn=2.0.0&apiKey={secret}", app.ws_address);
    let mut socket = tokio_tungstenite::connect_async(url).await.unwrap().0;
    for (reference, topic, status) in
        [("1", format!("orders:{user}"), "error"), ("2", format!("alerts:{user}"), "error"), ("3", "trades:MOCK".to_owned(), "ok")]
    {
        send(&mut socket, json!([reference, reference, topic, "phx_join", {}])).await;
        let reply = receive(&mut socket).await;
        assert_eq!(reply[4]["status"], status, "{topic}: {reply}");
    }

    let (mut stream, _) = tokio_tungstenite::connect_async(format!("ws://{}/stream", app.ws_address)).await.unwrap();
    send(&mut stream, json!({"action": "authenticate", "data": {"key_id": key_id, "secret_key": secret}})).await;
    assert_eq!(receive(&mut stream).await["data"]["status"], "unauthorized");
    let (mut feed, _) = tokio_tungstenite::connect_async(format!("ws://{}/v2/iex", app.ws_address)).await.unwrap();
    assert_eq!(receive(&mut feed).await[0]["msg"], "connected");
    send(&mut feed, json!({"action": "auth", "key": key_id, "secret": secret})).await;
    assert_eq!(receive(&mut feed).await[0]["T"], "error");
}
