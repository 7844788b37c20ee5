//! One truth on every surface: several users trade a seeded random mix of every order
//! type, then every read surface is checked exactly against the fills: cash, holdings,
//! reservations, orders, trade search, positions, the statement, performance, the
//! leaderboard, tickers, candles, analytics, and the WebSocket streams with their order.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tradecraft_types::{Money, Price, Quantity};

use crate::helpers::{TestApp, spawn_app};
use crate::ws::{connect, receive, send};

/// Commands in the mix.
const STEPS: usize = 400;
const USERS: usize = 3;
const STARTING_CASH: &str = "100000";

/// A small deterministic generator (xorshift), so a failure replays from its seed.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

fn money(text: &str) -> i128 {
    i128::from(Money::parse(text).unwrap_or_else(|_| panic!("money {text:?}")).raw())
}

fn quantity(text: &str) -> i128 {
    i128::from(Quantity::parse(text).unwrap_or_else(|_| panic!("quantity {text:?}")).raw())
}

fn price(text: &str) -> i128 {
    i128::from(Price::parse(text).unwrap_or_else(|_| panic!("price {text:?}")).raw())
}

/// One random request of `user`: an order of any type, or a cancel or replace of one of
/// its earlier orders.
fn request(random: &mut Random, user: &str, earlier: &[String]) -> (reqwest::Method, String, Option<Value>) {
    let tif = |random: &mut Random| random.pick(&["GTC", "DAY", "IOC", "FOK"]);
    let cents = |random: &mut Random, low: u64, high: u64| format!("{}.{:02}", low + random.below(high - low), random.below(100));
    let body = match random.below(12) {
        0 => json!({"type": "MARKET", "side": "BUY", "quantity": (1 + random.below(5)).to_string()}),
        1 => json!({"type": "MARKET", "side": "BUY", "notional": (100 + random.below(500)).to_string()}),
        2 => json!({"type": "MARKET", "side": "SELL", "quantity": (1 + random.below(3)).to_string()}),
        3 => {
            json!({"type": "LIMIT", "side": "BUY", "quantity": (1 + random.below(5)).to_string(), "limitPrice": cents(random, 98, 102), "timeInForce": tif(random)})
        }
        4 => {
            json!({"type": "LIMIT", "side": "SELL", "quantity": (1 + random.below(3)).to_string(), "limitPrice": cents(random, 99, 103), "timeInForce": tif(random)})
        }
        5 => json!({"type": "LIMIT", "side": "BUY", "quantity": "1", "limitPrice": cents(random, 97, 99), "postOnly": true}),
        6 => json!({"type": "STOP", "side": "BUY", "quantity": (1 + random.below(2)).to_string(), "stopPrice": cents(random, 100, 102)}),
        7 => json!({"type": "STOP_LIMIT", "side": "SELL", "quantity": "1", "stopPrice": cents(random, 98, 100), "limitPrice": cents(random, 97, 98)}),
        8 => json!({"type": "TRAILING_STOP", "side": "SELL", "quantity": "1", "trailAmount": "1"}),
        9 if !earlier.is_empty() => {
            let order = &earlier[random.below(earlier.len() as u64) as usize];
            return (reqwest::Method::DELETE, format!("/v1/orders/{order}"), None);
        }
        10 if !earlier.is_empty() => {
            let order = &earlier[random.below(earlier.len() as u64) as usize];
            return (reqwest::Method::PATCH, format!("/v1/orders/{order}"), Some(json!({"limitPrice": cents(random, 98, 102)})));
        }
        _ => json!({"type": "LIMIT", "side": "BUY", "quantity": (1 + random.below(3)).to_string(), "limitPrice": cents(random, 99, 101)}),
    };
    let mut body = body;
    body["userId"] = json!(user);
    body["symbol"] = json!("MOCK");
    (reqwest::Method::POST, "/v1/orders".to_owned(), Some(body))
}

async fn call(app: &TestApp, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = app.client.request(method.clone(), app.url(path));
    if let Some(body) = body {
        request = request.json(&body);
    }
    crate::helpers::checked(method.as_str(), path, request.send().await.unwrap()).await
}

/// Every page of a paged list.
async fn all_pages(app: &TestApp, path: &str, field: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let separator = if path.contains('?') { '&' } else { '?' };
        let url = match &token {
            Some(token) => format!("{path}{separator}limit=1000&pageToken={token}"),
            None => format!("{path}{separator}limit=1000"),
        };
        let (status, page) = app.get(&url).await;
        assert_eq!(status, 200, "{url}: {page}");
        items.extend(page[field].as_array().unwrap().iter().cloned());
        match page["pagination"]["nextPageToken"].as_str() {
            Some(next) => token = Some(next.to_owned()),
            None => return items,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_read_surface_agrees_with_the_fills() {
    let app = spawn_app().await;
    let mut users = Vec::new();
    for _ in 0..USERS {
        users.push(app.account(STARTING_CASH).await);
    }
    let mut socket = connect(&app, "?vsn=2.0.0").await;
    for (index, user) in users.iter().enumerate() {
        let reference = (index + 1).to_string();
        send(&mut socket, json!([reference, reference, format!("orders:{user}"), "phx_join", {}])).await;
        assert_eq!(receive(&mut socket).await[4]["status"], "ok");
    }

    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    let mut placed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    for _ in 0..STEPS {
        let user = users[random.below(USERS as u64) as usize].clone();
        let earlier = placed.get(&user).cloned().unwrap_or_default();
        let (method, path, body) = request(&mut random, &user, &earlier);
        let placing = method == reqwest::Method::POST;
        let (status, answer) = call(&app, method, &path, body).await;
        assert!(status < 500, "{path}: {status} {answer}");
        *statuses.entry(status).or_default() += 1;
        if placing && status == 202 {
            placed.entry(user).or_default().push(answer["orderId"].as_str().unwrap().to_owned());
        }
    }
    assert!(statuses.get(&202).copied().unwrap_or(0) > STEPS / 3, "most orders were accepted: {statuses:?}");
    eprintln!("answers by status: {statuses:?}");

    // The WebSocket: every frame until the stream falls quiet.
    let mut frames: Vec<Value> = Vec::new();
    while let Ok(Some(Ok(message))) = tokio::time::timeout(Duration::from_millis(500), socket.next()).await {
        if let Message::Text(text) = message {
            let frame: Value = serde_json::from_str(&text).unwrap();
            if frame[3] == "order_update" {
                frames.push(frame[4].clone());
            }
        }
    }
    // The read store has caught up when readiness reports no lag.
    app.get_until("/health/ready", |_, ready| ready["dependencies"]["readStore"]["lagRecords"] == 0).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    app.get_until("/health/ready", |_, ready| ready["dependencies"]["readStore"]["lagRecords"] == 0).await;

    let (_, ticker) = app.get("/v1/market/MOCK/ticker").await;
    let last = price(ticker["last"].as_str().expect("a last price"));
    let mut returns = BTreeMap::new();
    for user in &users {
        check_user(&app, user, placed.get(user).map(Vec::as_slice).unwrap_or_default(), &frames, last, &mut returns).await;
    }

    // The leaderboard ranks the same returns, best first.
    let board = all_pages(&app, "/v1/leaderboard?period=all", "entries").await;
    for entry in &board {
        if let Some(expected) = returns.get(entry["userId"].as_str().unwrap()) {
            let ranked = entry["totalReturn"].as_f64().unwrap();
            assert!((ranked - expected).abs() < 1e-9, "leaderboard {entry} against {expected}");
        }
    }
    let ranked: Vec<f64> = board.iter().map(|entry| entry["totalReturn"].as_f64().unwrap()).collect();
    assert!(ranked.windows(2).all(|pair| pair[0] >= pair[1]), "best first: {ranked:?}");

    // Market data: the trades, the candles, the ticker and the analytics hold one volume.
    let (_, trades) = app.get("/v1/market/MOCK/trades?limit=1000").await;
    let traded: i128 = trades["trades"].as_array().unwrap().iter().map(|trade| quantity(trade["quantity"].as_str().unwrap())).sum();
    let (_, candles) = app.get("/v1/market/MOCK/candles?interval=1m").await;
    let in_candles: i128 = candles["candles"].as_array().unwrap().iter().map(|candle| quantity(candle["volume"].as_str().unwrap())).sum();
    assert_eq!(in_candles, traded, "candles and trades");
    assert_eq!(quantity(ticker["volume24h"].as_str().unwrap()), traded, "ticker and trades");
    let (_, volume) = app.get("/v1/analytics/volume?symbol=MOCK&timeWindow=24h").await;
    assert_eq!(quantity(volume["data"][0]["volume"].as_str().unwrap()), traded, "analytics and trades: {volume}");
}

async fn check_user(app: &TestApp, user: &str, placed: &[String], frames: &[Value], last: i128, returns: &mut BTreeMap<String, f64>) {
    // The fills, from the trade search: the truth everything else is held to.
    let executions: Vec<Value> = all_pages(app, &format!("/v1/trades/search?userId={user}&status=EXECUTED"), "trades").await;
    let (mut cash, mut shares) = (money(STARTING_CASH), 0_i128);
    let mut filled_by_order: BTreeMap<String, (i128, usize)> = BTreeMap::new();
    let mut paid_by_order: BTreeMap<String, i128> = BTreeMap::new();
    for fill in &executions {
        let (size, at) = (quantity(fill["quantity"].as_str().unwrap()), price(fill["executionPrice"].as_str().unwrap()));
        let notional = size * at;
        let fee = money(fill["fee"].as_str().unwrap());
        match fill["side"].as_str().unwrap() {
            "BUY" => {
                cash -= notional + fee;
                shares += size;
            }
            _ => {
                cash += notional - fee;
                shares -= size;
            }
        }
        *paid_by_order.entry(fill["orderId"].as_str().unwrap().to_owned()).or_default() += notional;
        let entry = filled_by_order.entry(fill["orderId"].as_str().unwrap().to_owned()).or_default();
        entry.0 += size;
        entry.1 += 1;
    }

    // Cash and holdings, as the engine has them.
    let (_, portfolio) = app.get(&format!("/v1/portfolio/{user}")).await;
    assert_eq!(money(portfolio["cashBalance"].as_str().unwrap()), cash, "cash of {user}: {portfolio}");
    let held = portfolio["holdings"]["MOCK"].as_str().map_or(0, quantity);
    assert_eq!(held, shares, "shares of {user}: {portfolio}");
    assert_eq!(money(portfolio["availableCash"].as_str().unwrap()) + money(portfolio["reservedCash"].as_str().unwrap()), cash, "available + reserved");
    let reserved_shares = portfolio["reservedHoldings"]["MOCK"].as_str().map_or(0, quantity);
    assert!(reserved_shares <= held, "reserved shares within holdings");
    let (mut expected_cash, mut expected_shares) = (0_i128, 0_i128);

    // Orders: each one's fills add up, its final status says what happened, and the
    // socket told the same story in the order it happened.
    let mut open = 0;
    for order_id in placed {
        let (_, order) = app.get(&format!("/v1/orders/{order_id}")).await;
        let (filled, fills) = filled_by_order.get(order_id).copied().unwrap_or_default();
        assert_eq!(quantity(order["filledQuantity"].as_str().unwrap()), filled, "order {order}");
        let status = order["status"].as_str().unwrap();
        match status {
            "FILLED" => assert!(filled > 0, "FILLED with nothing filled: {order}"),
            "ACCEPTED" => assert_eq!(filled, 0, "{order}"),
            "PARTIALLY_FILLED" => assert!(filled > 0, "{order}"),
            "CANCELLED" | "EXPIRED" => {}
            other => panic!("status {other} outside the vocabulary: {order}"),
        }
        if let Some(asked) = order["quantity"].as_str() {
            assert!(filled <= quantity(asked), "{order}");
            if status == "FILLED" {
                assert_eq!(filled, quantity(asked), "{order}");
            }
        }
        if matches!(status, "ACCEPTED" | "PARTIALLY_FILLED") {
            open += 1;
            expected_reservation(&order, filled, paid_by_order.get(order_id).copied().unwrap_or(0), &mut expected_cash, &mut expected_shares);
        }
        let kinds: Vec<&str> = frames.iter().filter(|frame| frame["orderId"] == order_id.as_str()).map(|frame| frame["type"].as_str().unwrap()).collect();
        assert_eq!(kinds.first(), Some(&"accepted"), "order {order_id}: {kinds:?}");
        assert_eq!(kinds.iter().filter(|kind| **kind == "fill").count(), fills, "fill frames of {order_id}: {kinds:?}");
        let done_at = kinds.iter().position(|kind| *kind == "done");
        if let Some(done_at) = done_at {
            assert_eq!(done_at, kinds.len() - 1, "nothing after the final status of {order_id}: {kinds:?}");
            let done = frames.iter().find(|frame| frame["orderId"] == order_id.as_str() && frame["type"] == "done").unwrap();
            assert_eq!((&done["status"], &done["reason"]), (&order["status"], &order["reason"]), "socket and REST on {order_id}");
        } else {
            assert!(matches!(status, "ACCEPTED" | "PARTIALLY_FILLED"), "order {order_id} ended without a final frame: {order}");
        }
    }
    assert_eq!(portfolio["openOrders"].as_u64().unwrap() as usize, open, "open orders of {user}");
    // Reservations follow the documented rules exactly (fees are 0 on this exchange).
    assert_eq!(money(portfolio["reservedCash"].as_str().unwrap()), expected_cash, "reserved cash of {user}");
    assert_eq!(reserved_shares, expected_shares, "reserved shares of {user}");

    // The read store: positions, the statement and the returns.
    let (_, positions) = app.get(&format!("/v1/portfolio/positions?userId={user}")).await;
    assert_eq!(money(positions["cashBalance"].as_str().unwrap()), cash, "{positions}");
    let position = positions["positions"].as_array().unwrap().iter().find(|position| position["symbol"] == "MOCK");
    assert_eq!(position.map_or(0, |position| quantity(position["quantity"].as_str().unwrap())), shares, "{positions}");
    let lines = all_pages(app, &format!("/v1/wallet/transactions?userId={user}"), "transactions").await;
    let total: i128 = lines.iter().map(|line| money(line["amount"].as_str().unwrap())).sum();
    assert_eq!(total, cash, "the statement adds up to the cash");
    assert_eq!(money(lines[0]["balanceAfter"].as_str().unwrap()), cash, "the newest line's balance");
    let value = cash + shares * last;
    let expected = value as f64 / money(STARTING_CASH) as f64 - 1.0;
    let (_, performance) = app.get(&format!("/v1/portfolio/performance?userId={user}&period=all")).await;
    let reported = performance["totalReturn"].as_f64().unwrap();
    assert!((reported - expected).abs() < 1e-9, "return of {user}: {reported} against {expected} ({performance})");
    assert_eq!(money(performance["netDeposits"].as_str().unwrap()), money(STARTING_CASH));
    returns.insert(user.to_owned(), expected);
    eprintln!("{user}: {} fills, {} orders, {open} open, {} shares, return {expected}", executions.len(), placed.len(), shares);
    let unique: BTreeSet<&str> = executions.iter().map(|fill| fill["eventId"].as_str().unwrap()).collect();
    assert_eq!(unique.len(), executions.len(), "no execution listed twice");
}

/// What an open order holds, by the rules the README states: a limit buy its limit price
/// times its quantity, less what its fills cost; a stop buy its stop price moved up by the
/// price band (5 %, onto the tick grid) times its quantity; a sell its unfilled shares.
fn expected_reservation(order: &Value, filled: i128, paid: i128, cash: &mut i128, shares: &mut i128) {
    const BAND_BPS: i128 = 500;
    const TICK: i128 = 100;
    let asked = quantity(order["quantity"].as_str().unwrap());
    match (order["side"].as_str().unwrap(), order["type"].as_str().unwrap()) {
        ("SELL", _) => *shares += asked - filled,
        ("BUY", "LIMIT" | "STOP_LIMIT") => *cash += price(order["limitPrice"].as_str().unwrap()) * asked - paid,
        ("BUY", "STOP") => {
            let banded = price(order["stopPrice"].as_str().unwrap()) * (10_000 + BAND_BPS) / 10_000 / TICK * TICK;
            *cash += banded * asked;
        }
        (side, kind) => panic!("an open {side} {kind} order is not in the mix: {order}"),
    }
}

/// Read your writes through any gateway: a client whose requests a load balancer spreads
/// over the gateways sees what it was just told was done, on the order, its account and
/// the order list, whichever gateway answers the read, and can cancel it there at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_through_one_gateway_is_read_at_once_through_another() {
    let app = spawn_app().await;
    let user = app.account("1000000").await;
    let other = format!("http://{}", app.other_gateway);
    let client = &app.client;
    let mut cash = Vec::new();
    for index in 0..30 {
        let price = format!("{}", 50 + index);
        let (status, placed) =
            app.post("/v1/orders", json!({"userId": user, "symbol": "MOCK", "quantity": "1", "side": "BUY", "type": "LIMIT", "limitPrice": price})).await;
        assert_eq!(status, 202, "{placed}");
        let id = placed["orderId"].as_str().unwrap();
        let order = client.get(format!("{other}/v1/orders/{id}")).send().await.unwrap();
        assert_eq!(order.status(), 200, "order {id} placed through one gateway, read through the other");
        let portfolio: Value = client.get(format!("{other}/v1/portfolio/{user}")).send().await.unwrap().json().await.unwrap();
        assert_eq!(portfolio["openOrders"], index + 1, "{portfolio}");
        cash.push(portfolio["availableCash"].as_str().unwrap().to_owned());
        if index % 3 == 0 {
            let cancelled = client.delete(format!("{other}/v1/orders/{id}")).send().await.unwrap();
            assert_eq!(cancelled.status(), 200, "cancelled through the other gateway at once");
            let (_, order) = app.get(&format!("/v1/orders/{id}")).await;
            assert_eq!(order["status"], "CANCELLED", "{order}");
            // Back to one fewer open order for the next round's count.
            let (status, placed) =
                app.post("/v1/orders", json!({"userId": user, "symbol": "MOCK", "quantity": "1", "side": "BUY", "type": "LIMIT", "limitPrice": "1"})).await;
            assert_eq!(status, 202, "{placed}");
        }
    }
    let distinct: BTreeSet<&String> = cash.iter().collect();
    assert_eq!(distinct.len(), cash.len(), "each read saw its own write's reservation: {cash:?}");
}
