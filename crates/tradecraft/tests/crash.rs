//! Kill -9 under load: every order the server acknowledged (202) is in the log after a
//! restart, none is accepted or filled twice, and `tradecraft verify` passes.
#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failed test

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tradecraft_log::{Envelope, EventLog, FileLog, FileLogConfig};
use tradecraft_store::{Projector, ProjectorConfig, Store, TradeQuery};

const BINARY: &str = env!("CARGO_BIN_EXE_tradecraft");
/// The operator key the test servers are started with.
const ADMIN_KEY: &str = "crash-test-admin-key";

/// A client that authenticates every request with the operator key.
fn client() -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-api-key", reqwest::header::HeaderValue::from_static(ADMIN_KEY));
    reqwest::Client::builder().default_headers(headers).build().unwrap()
}

/// A `tradecraft serve` child, killed if the test ends (or fails) before stopping it.
struct Server(Child);

impl std::ops::Deref for Server {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Server {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Starts `tradecraft serve` on a free port; returns the child and its address.
fn serve(data_dir: &Path) -> (Server, String) {
    serve_with(data_dir, &[])
}

/// `serve` with extra environment variables.
fn serve_with(data_dir: &Path, environment: &[(&str, &str)]) -> (Server, String) {
    let mut child = Command::new(BINARY)
        .args(["serve", "--address", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env("TRADECRAFT_ADMIN_KEY", ADMIN_KEY)
        .envs(environment.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let started: Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("unexpected first line {line:?}"));
    (Server(child), format!("http://{}", started["address"].as_str().unwrap()))
}

fn terminate(child: &mut Server) {
    Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().unwrap();
    child.wait().unwrap();
}

fn order_body(user: &str, index: usize, worker: usize) -> Value {
    if (index + worker).is_multiple_of(2) {
        json!({"userId": user, "symbol": "MOCKAAPL", "quantity": "1", "side": "BUY", "type": "MARKET"})
    } else {
        json!({"userId": user, "symbol": "MOCKAAPL", "quantity": "1", "side": "SELL", "type": "LIMIT", "limitPrice": "300"})
    }
}

/// What one request with an idempotency key got: the order id if it was acknowledged.
type Attempt = (String, usize, Option<String>);

/// A worker's requests, and the orders whose cancel it saw acknowledged.
async fn place_orders(client: reqwest::Client, base: String, user: String, worker: usize, placed: Arc<AtomicUsize>) -> (Vec<Attempt>, Vec<String>) {
    let mut attempts = Vec::new();
    let mut cancelled = Vec::new();
    for index in 0..100_000 {
        let key = format!("w{worker}-{index}");
        let request = client.post(format!("{base}/v1/orders")).header("X-Idempotency-Key", &key).json(&order_body(&user, index, worker));
        match request.send().await {
            Ok(response) if response.status() == 202 => {
                let body: Value = response.json().await.unwrap();
                let order_id = body["orderId"].as_str().unwrap().to_owned();
                attempts.push((key, index, Some(order_id.clone())));
                placed.fetch_add(1, Ordering::Relaxed);
                // Every other resting sell is cancelled again.
                if !(index + worker).is_multiple_of(2) && index % 4 == 1 {
                    match client.delete(format!("{base}/v1/orders/{order_id}")).send().await {
                        Ok(response) if response.status() == 200 => cancelled.push(order_id),
                        Ok(_) => {}
                        Err(_) => break,
                    }
                }
            }
            Ok(_) => attempts.push((key, index, None)),
            // The server was killed: this request may or may not be in the log. Stop here.
            Err(_) => {
                attempts.push((key, index, None));
                break;
            }
        }
    }
    (attempts, cancelled)
}

/// Returns once the load has had `orders` acknowledged and run a little longer (so the
/// kill lands mid-flight), however slow the machine; at most 60 s.
async fn under_load(placed: &AtomicUsize, orders: usize) {
    let started = std::time::Instant::now();
    while placed.load(Ordering::Relaxed) < orders {
        assert!(started.elapsed() < Duration::from_secs(60), "the load placed only {} orders in a minute", placed.load(Ordering::Relaxed));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
}

/// Sends each worker's attempt again with its idempotency key: an acknowledged one must get
/// its order id again.
async fn retry_with_keys(client: &reqwest::Client, base: &str, user: &str, attempts: impl Iterator<Item = (usize, &Attempt)>) {
    for (worker, (key, index, order_id)) in attempts {
        let response = client.post(format!("{base}/v1/orders")).header("X-Idempotency-Key", key).json(&order_body(user, *index, worker)).send().await.unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        if let Some(order_id) = order_id {
            assert_eq!((status, body["orderId"].as_str()), (202, Some(order_id.as_str())), "retry of {key}: {body}");
        }
    }
}

/// Every order of `user` the server lists, with its status (all pages).
async fn listed_orders(client: &reqwest::Client, base: &str, user: &str) -> BTreeMap<String, String> {
    let mut listed = BTreeMap::new();
    let mut page_token: Option<String> = None;
    loop {
        let mut url = format!("{base}/v1/orders?userId={user}&limit=1000");
        if let Some(token) = &page_token {
            url.push_str(&format!("&pageToken={token}"));
        }
        let page: Value = client.get(url).send().await.unwrap().json().await.unwrap();
        for order in page["orders"].as_array().unwrap() {
            listed.insert(order["orderId"].as_str().unwrap().to_owned(), order["status"].as_str().unwrap().to_owned());
        }
        match page["pagination"]["nextPageToken"].as_str() {
            Some(token) => page_token = Some(token.to_owned()),
            None => return listed,
        }
    }
}

/// The engine the log describes: every command replayed into a fresh engine.
fn replayed_engine(log: &FileLog) -> tradecraft_engine::Engine {
    let mut engine = tradecraft_engine::Engine::new(tradecraft_engine::EngineConfig::default());
    let mut events = Vec::new();
    for record in log.read("trade_orders", 0, 0, usize::MAX).unwrap() {
        let envelope: Envelope<tradecraft_sequencer::wire::WireCommand> = Envelope::from_json(&record.value).unwrap();
        if let Ok(command) = tradecraft_sequencer::wire::keyed_command(&envelope, record.offset) {
            events.clear();
            engine.apply(&command, u64::try_from(record.timestamp_ms).unwrap() * 1_000_000, &mut events);
        }
    }
    engine
}

/// Every `trade_orders` command's idempotency key (as the gateway scoped it) with the id
/// of the order it carried (its offset), and every accepted order id.
fn keyed_orders(log: &FileLog) -> (BTreeMap<String, Vec<String>>, BTreeMap<String, usize>) {
    let mut by_key: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for record in log.read("trade_orders", 0, 0, usize::MAX).unwrap() {
        let command: Envelope<Value> = Envelope::from_json(&record.value).unwrap();
        if let Some(key) = command.payload["idempotencyKey"].as_str() {
            by_key.entry(key.to_owned()).or_default().push(record.offset.to_string());
        }
    }
    let mut accepted: BTreeMap<String, usize> = BTreeMap::new();
    for partition in 0..log.partitions("order_updates").unwrap() {
        for record in log.read("order_updates", partition, 0, usize::MAX).unwrap() {
            let event: Envelope<Value> = Envelope::from_json(&record.value).unwrap();
            if event.event_type == "order.accepted" {
                *accepted.entry(event.payload["orderId"].as_str().unwrap().to_owned()).or_default() += 1;
            }
        }
    }
    (by_key, accepted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_under_load_loses_and_repeats_nothing() {
    let data_dir = std::env::temp_dir().join(format!("tradecraft-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let (mut child, base) = serve(&data_dir);
    let client = client();
    let account: Value = client.post(format!("{base}/v1/accounts")).json(&json!({"cash": "1000000"})).send().await.unwrap().json().await.unwrap();
    let user = account["userId"].as_str().unwrap().to_owned();
    let placed = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..8).map(|worker| tokio::spawn(place_orders(client.clone(), base.clone(), user.clone(), worker, placed.clone()))).collect();
    under_load(&placed, 100).await;
    child.kill().unwrap(); // SIGKILL, mid-flight
    child.wait().unwrap();
    let mut attempts = Vec::new();
    let mut cancelled = Vec::new();
    for (worker, handle) in workers.into_iter().enumerate() {
        let (worker_attempts, worker_cancelled) = handle.await.unwrap();
        attempts.extend(worker_attempts.into_iter().map(|attempt| (worker, attempt)));
        cancelled.extend(worker_cancelled);
    }
    let acknowledged: BTreeSet<String> = attempts.iter().filter_map(|(_, (_, _, order_id))| order_id.clone()).collect();
    assert!(acknowledged.len() > 20, "the load reached the server: {}", acknowledged.len());
    eprintln!("acknowledged before the kill: {}", acknowledged.len());

    // Restart, let it recover and publish, then stop it cleanly.
    let (mut child, base) = serve(&data_dir);
    let ready: Value = client.get(format!("{base}/health/ready")).send().await.unwrap().json().await.unwrap();
    assert_eq!(ready["status"], "ready", "{ready}");
    let portfolio: Value = client.get(format!("{base}/v1/portfolio/{user}")).send().await.unwrap().json().await.unwrap();
    assert!(portfolio["cashBalance"].is_string(), "{portfolio}");
    // The view is the recovered engine's: every acknowledged order is listed, every
    // acknowledged cancel shows (compared with the engine itself below).
    let listed = listed_orders(&client, &base, &user).await;
    for order_id in &acknowledged {
        assert!(listed.contains_key(order_id), "acknowledged order {order_id} is not listed after the restart");
    }
    for order_id in &cancelled {
        assert_eq!(listed[order_id], "CANCELLED", "order {order_id}'s cancel was acknowledged");
    }
    // Every request is retried with its key, as a client that lost its answers would: an
    // acknowledged one gets its order id again, and none places a second order.
    retry_with_keys(&client, &base, &user, attempts.iter().map(|(worker, attempt)| (*worker, attempt))).await;
    terminate(&mut child);

    let verify = Command::new(BINARY).arg("verify").arg(&data_dir).output().unwrap();
    assert!(verify.status.success(), "verify failed: {}", String::from_utf8_lossy(&verify.stderr));

    let log = FileLog::open(FileLogConfig::new(data_dir.join("log"))).unwrap();
    // Order by order, what the restarted server listed is what the engine holds: open in
    // the engine exactly when listed as open.
    let engine = replayed_engine(&log);
    for (order_id, status) in &listed {
        let open = engine.order(tradecraft_types::OrderId(order_id.parse().unwrap())).is_some();
        assert_eq!(open, matches!(status.as_str(), "ACCEPTED" | "PARTIALLY_FILLED"), "order {order_id}: listed {status}, open in the engine: {open}");
    }
    let (by_key, accepted) = keyed_orders(&log);
    assert_eq!(by_key.len(), attempts.len(), "every key reached the log");
    for (key, order_ids) in &by_key {
        let placed = order_ids.iter().filter(|order_id| accepted.contains_key(*order_id)).count();
        assert!(placed <= 1, "{key} placed {placed} orders: {order_ids:?}");
    }
    let mut fills: BTreeMap<(String, String), usize> = BTreeMap::new();
    for partition in 0..log.partitions("trade_executed").unwrap() {
        for record in log.read("trade_executed", partition, 0, usize::MAX).unwrap() {
            let event: Envelope<Value> = Envelope::from_json(&record.value).unwrap();
            if event.payload["status"] == "EXECUTED" {
                let key = (event.payload["tradeId"].as_str().unwrap().to_owned(), event.payload["side"].as_str().unwrap().to_owned());
                *fills.entry(key).or_default() += 1;
            }
        }
    }
    for order_id in &acknowledged {
        assert_eq!(accepted.get(order_id), Some(&1), "acknowledged order {order_id} accepted once");
    }
    assert!(accepted.values().all(|&count| count == 1), "no order accepted twice");
    assert!(fills.values().all(|&count| count == 1), "no fill published twice");
    assert!(!fills.is_empty(), "orders traded");

    // The read store was killed mid-projection too: resumed, it holds each of the user's
    // executions exactly once, and so does a rebuild from the log.
    let mut executions = 0;
    for partition in 0..log.partitions("trade_executed").unwrap() {
        for record in log.read("trade_executed", partition, 0, usize::MAX).unwrap() {
            let event: Envelope<Value> = Envelope::from_json(&record.value).unwrap();
            executions += u64::from(event.payload["userId"] == user.as_str());
        }
    }
    let log: std::sync::Arc<dyn EventLog> = std::sync::Arc::new(log);
    let url = format!("sqlite:{}", data_dir.join("read.db").display());
    let stored = |store: &Store| {
        let query = TradeQuery { user_id: user.parse().unwrap(), limit: 1, ..TradeQuery::default() };
        store.search_trades(&query).unwrap().total_count
    };
    let store = Store::open(&url).unwrap();
    Projector::open(store.clone(), std::sync::Arc::clone(&log), ProjectorConfig::default()).unwrap().catch_up(u64::MAX).unwrap();
    assert_eq!(stored(&store), executions, "read store after the kill");
    drop(log);
    let rebuild = Command::new(BINARY).arg("rebuild").arg(&data_dir).output().unwrap();
    assert!(rebuild.status.success(), "rebuild failed: {}", String::from_utf8_lossy(&rebuild.stderr));
    let report: Value = serde_json::from_slice(&rebuild.stdout).unwrap();
    assert!(report["records"].as_u64().unwrap() >= executions, "{report}");
    assert_eq!(stored(&store), executions, "read store after a rebuild");
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// Seed 001 3.4: the gateway appends the order, dies before it answers, and the client
/// retries with its key: the retry gets the order the first request placed, and there is
/// one order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_a_crash_between_append_and_answer_places_one_order() {
    let data_dir = std::env::temp_dir().join(format!("tradecraft-retry-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let client = client();
    let (mut child, base) = serve_with(&data_dir, &[("TRADECRAFT_FAULT_CRASH_AFTER_APPEND", "dies-before-answer")]);
    let account: Value = client.post(format!("{base}/v1/accounts")).json(&json!({"cash": "100000"})).send().await.unwrap().json().await.unwrap();
    let user = account["userId"].as_str().unwrap().to_owned();
    let order = json!({"userId": user, "symbol": "MOCKAAPL", "quantity": "2", "side": "BUY", "type": "LIMIT", "limitPrice": "1"});
    let first = client.post(format!("{base}/v1/orders")).header("X-Idempotency-Key", "dies-before-answer").json(&order).send().await;
    assert!(first.is_err(), "the server answered instead of dying: {first:?}");
    let status = child.wait().unwrap();
    assert!(!status.success(), "the server died of the injected fault: {status}");

    let (mut child, base) = serve(&data_dir);
    let mut answers = Vec::new();
    for _ in 0..3 {
        let retry = client.post(format!("{base}/v1/orders")).header("X-Idempotency-Key", "dies-before-answer").json(&order).send().await.unwrap();
        assert_eq!(retry.status(), 202);
        answers.push(retry.json::<Value>().await.unwrap()["orderId"].as_str().unwrap().to_owned());
    }
    assert!(answers.iter().all(|answer| *answer == answers[0]), "every retry names one order: {answers:?}");
    let other = json!({"userId": user, "symbol": "MOCKAAPL", "quantity": "3", "side": "BUY", "type": "LIMIT", "limitPrice": "1"});
    let conflict = client.post(format!("{base}/v1/orders")).header("X-Idempotency-Key", "dies-before-answer").json(&other).send().await.unwrap();
    assert_eq!(conflict.status(), 409, "the key with another order");
    let listed: Value = client.get(format!("{base}/v1/orders?userId={user}")).send().await.unwrap().json().await.unwrap();
    let orders = listed["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 1, "one order: {listed}");
    assert_eq!(orders[0]["orderId"].as_str(), Some(answers[0].as_str()));
    terminate(&mut child);

    // The key is in the log with the first request's command, and the order was accepted once.
    let log = FileLog::open(FileLogConfig::new(data_dir.join("log"))).unwrap();
    let (by_key, accepted) = keyed_orders(&log);
    let commands = &by_key["operator:dies-before-answer"];
    assert_eq!(commands.len(), 5, "the first request, three retries and the conflict: {commands:?}");
    assert_eq!(commands[0], answers[0], "the order is the first request's command");
    assert_eq!(commands.iter().filter(|order_id| accepted.contains_key(*order_id)).count(), 1);
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// After a clean stop the engine restarts from its snapshot, so nothing before it is
/// replayed: order histories come back from the read store.
/// Every order reads the same after a clean restart (which starts the engine from a
/// snapshot, so the API's view of orders comes back from the read store): its fills, its
/// client order id, a contingent order's class and exit legs (held or placed), a replaced
/// quantity, a cancellation; on `/v1` and on `/v2`, where `client_order_id` still finds it.
/// So does the market: its trades and candles (and Alpaca's bars and trades).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_histories_survive_a_restart_from_a_snapshot() {
    let data_dir = std::env::temp_dir().join(format!("tradecraft-history-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let client = reqwest::Client::new();
    let (mut child, base) = serve(&data_dir);
    let token = register(&client, &base, "ada@example.com").await;
    // The house quotes on the simulator's first tick, which may come after the server
    // listens: wait for an ask before buying at market.
    for attempt in 0.. {
        let book: Value = client.get(format!("{base}/v1/market/MOCKAAPL/orderbook")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        if book["asks"].as_array().is_some_and(|asks| !asks.is_empty()) {
            break;
        }
        assert!(attempt < 250, "the house never quoted: {book}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let post = |path: &str, body: Value| client.post(format!("{base}{path}")).bearer_auth(&token).json(&body).send();
    let bought: Value =
        post("/v2/orders", json!({"symbol": "MOCKAAPL", "qty": "3", "side": "buy", "type": "market", "time_in_force": "day", "client_order_id": "keep-1"}))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(bought["client_order_id"], "keep-1", "{bought}");
    let resting: Value =
        post("/v1/orders", json!({"symbol": "MOCKAAPL", "quantity": "1", "side": "BUY", "type": "LIMIT", "limitPrice": "10", "clientOrderId": "rest-1"}))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let resting = resting["orderId"].as_str().unwrap().to_owned();
    let replaced = client.patch(format!("{base}/v1/orders/{resting}")).bearer_auth(&token).json(&json!({"quantity": "2"})).send().await.unwrap();
    assert_eq!(replaced.status(), 200);
    let cancelled: Value = post("/v1/orders", json!({"symbol": "MOCKAAPL", "quantity": "1", "side": "BUY", "type": "LIMIT", "limitPrice": "11"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let cancelled = cancelled["orderId"].as_str().unwrap().to_owned();
    assert_eq!(client.delete(format!("{base}/v1/orders/{cancelled}")).bearer_auth(&token).send().await.unwrap().status(), 200);
    let exits = json!({"takeProfit": {"limitPrice": "900"}, "stopLoss": {"stopPrice": "5"}});
    // Held: its entry rests far below the market.
    let mut held = json!({"symbol": "MOCKAAPL", "quantity": "1", "side": "BUY", "type": "LIMIT", "limitPrice": "12", "orderClass": "BRACKET"});
    held.as_object_mut().unwrap().extend(exits.as_object().unwrap().clone());
    assert_eq!(post("/v1/orders", held).await.unwrap().status(), 202);
    // Placed: its entry fills at once, so its legs are placed in the same command.
    let mut placed = json!({"symbol": "MOCKAAPL", "quantity": "1", "side": "BUY", "type": "MARKET", "orderClass": "BRACKET"});
    placed.as_object_mut().unwrap().extend(exits.as_object().unwrap().clone());
    assert_eq!(post("/v1/orders", placed).await.unwrap().status(), 202);

    // Every order and its legs are in the read store (9 rows) before the clean stop.
    for attempt in 0.. {
        let export: Value = client.get(format!("{base}/v1/me/export")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        if export["orders"].as_array().is_some_and(|orders| orders.len() == 9) {
            break;
        }
        assert!(attempt < 250, "the orders never reached the read store: {}", export["orders"]);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let read = |base: String| {
        let (client, token) = (client.clone(), token.clone());
        async move {
            let mut answers = Vec::new();
            for path in [
                "/v1/orders?limit=100",
                "/v2/orders?status=all&limit=100&nested=true",
                "/v2/orders?limit=100",
                "/v2/orders:by_client_order_id?client_order_id=keep-1",
                "/v1/market/MOCKAAPL/trades",
                "/v1/market/MOCKAAPL/candles?interval=1m",
                "/v1/market/MOCKAAPL/candles?interval=1d",
                "/v2/stocks/bars?symbols=MOCKAAPL&timeframe=1Min",
                "/v2/stocks/trades?symbols=MOCKAAPL",
            ] {
                let response = client.get(format!("{base}{path}")).bearer_auth(&token).send().await.unwrap();
                assert_eq!(response.status(), 200, "{path}");
                answers.push(response.json::<Value>().await.unwrap());
            }
            answers
        }
    };
    let before = read(base.clone()).await;
    assert!(before[4]["trades"].as_array().is_some_and(|trades| trades.len() == 2), "the market traded: {}", before[4]);
    let statuses: Vec<&str> = before[0]["orders"].as_array().unwrap().iter().map(|order| order["status"].as_str().unwrap()).collect();
    assert_eq!(statuses.len(), 9, "{}", before[0]);
    for status in ["HELD", "FILLED", "CANCELLED", "ACCEPTED"] {
        assert!(statuses.contains(&status), "{status} in {statuses:?}");
    }
    terminate(&mut child);

    let (mut child, base) = serve(&data_dir);
    let after = read(base.clone()).await;
    for (before, after) in before.iter().zip(&after) {
        assert_eq!(after, before, "the same after the restart");
    }

    // After kill -9 the engine replays what came after its snapshot, which the read store
    // has too: each trade still counts once.
    buy_at_market(&client, &base, &token, "2").await;
    for attempt in 0.. {
        let found: Value = client.get(format!("{base}/v1/trades/search")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        if found["pagination"]["totalCount"] == 3 {
            break;
        }
        assert!(attempt < 250, "the fill never reached the read store: {found}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before = read(base).await;
    assert_eq!(before[4]["trades"].as_array().map(Vec::len), Some(3), "{}", before[4]);
    child.kill().unwrap();
    child.wait().unwrap();
    let (mut child, base) = serve(&data_dir);
    let after = read(base).await;
    for (before, after) in before.iter().zip(&after) {
        assert_eq!(after, before, "the same after kill -9");
    }
    terminate(&mut child);

    // A server keeping 3 finished orders in memory loads the newest and every open one
    // (the resting order, the held exit legs, however old); the rest read back from the
    // store, the same as before, and the oldest open order is still cancellable.
    let (mut child, base) = serve_with(&data_dir, &[("TRADECRAFT_ORDERS_KEPT", "3")]);
    let after = read(base.clone()).await;
    for (before, after) in before.iter().zip(&after) {
        assert_eq!(after, before, "the same keeping 3 orders");
    }
    assert_eq!(client.delete(format!("{base}/v1/orders/{resting}")).bearer_auth(&token).send().await.unwrap().status(), 200);
    terminate(&mut child);
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// A command log that lost its tail below the snapshot (a disk losing writes it had
/// acknowledged): `serve` refuses to start, says what is missing and how to recover, and
/// neither listens nor appends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_log_shorter_than_its_snapshot_stops_serve_before_it_listens() {
    let data_dir = std::env::temp_dir().join(format!("tradecraft-cut-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let client = client();
    let (mut child, base) = serve(&data_dir);
    let account: Value = client.post(format!("{base}/v1/accounts")).json(&json!({"cash": "100000"})).send().await.unwrap().json().await.unwrap();
    let user = account["userId"].as_str().unwrap().to_owned();
    for index in 0..50 {
        let order = json!({"userId": user, "symbol": "MOCKAAPL", "quantity": "1", "side": "BUY", "type": "LIMIT", "limitPrice": format!("{}", 1 + index)});
        assert_eq!(client.post(format!("{base}/v1/orders")).json(&order).send().await.unwrap().status(), 202);
    }
    terminate(&mut child); // a snapshot at the end

    let partition = data_dir.join("log/topics/trade_orders/0");
    let mut segments: Vec<_> =
        std::fs::read_dir(&partition).unwrap().map(|entry| entry.unwrap().path()).filter(|path| path.extension().is_some_and(|e| e == "log")).collect();
    segments.sort();
    let last = segments.pop().unwrap();
    let file = std::fs::OpenOptions::new().write(true).open(&last).unwrap();
    let length = file.metadata().unwrap().len();
    file.set_len(length / 2).unwrap();
    drop(file);
    let cut_length = std::fs::metadata(&last).unwrap().len();

    let output = tokio::task::spawn_blocking({
        let data_dir = data_dir.clone();
        move || {
            Command::new(BINARY)
                .args(["serve", "--address", "127.0.0.1:0", "--data-dir"])
                .arg(&data_dir)
                .env("TRADECRAFT_ADMIN_KEY", ADMIN_KEY)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(!output.status.success(), "serve started on a log shorter than its snapshot");
    assert!(!stdout.contains("listening"), "it listened: {stdout}");
    assert!(stderr.contains("commands are missing") && stderr.contains("backup"), "the message says what is missing and how to recover: {stderr}");
    assert!(stderr.contains("torn tail"), "the cut is reported as it is repaired: {stderr}");
    assert!(std::fs::metadata(&last).unwrap().len() <= cut_length, "nothing appended");
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// A read store that cannot be opened: `serve` says how to recover instead of starting;
/// `rebuild` moves it aside (saying so) and projects the log into a new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_read_store_is_recreated_by_rebuild() {
    let data_dir = std::env::temp_dir().join(format!("tradecraft-damaged-store-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let client = client();
    let (mut child, base) = serve(&data_dir);
    let account: Value = client.post(format!("{base}/v1/accounts")).json(&json!({"cash": "1000"})).send().await.unwrap().json().await.unwrap();
    let user = account["userId"].as_str().unwrap().to_owned();
    terminate(&mut child);
    let read_store = data_dir.join("read.db");
    for companion in ["read.db-wal", "read.db-shm"] {
        let _ = std::fs::remove_file(data_dir.join(companion));
    }
    std::fs::write(&read_store, vec![0x5a_u8; 64 * 1024]).unwrap();

    let refused =
        Command::new(BINARY).args(["serve", "--address", "127.0.0.1:0", "--data-dir"]).arg(&data_dir).env("TRADECRAFT_ADMIN_KEY", ADMIN_KEY).output().unwrap();
    assert!(!refused.status.success(), "serve started on a damaged read store");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("rebuild") && stderr.contains("--recreate-read-store"), "the error says how to recover: {stderr}");

    let rebuild = Command::new(BINARY).arg("rebuild").arg(&data_dir).output().unwrap();
    let stderr = String::from_utf8_lossy(&rebuild.stderr);
    assert!(rebuild.status.success(), "rebuild failed: {stderr}");
    assert!(stderr.contains("moving it aside"), "rebuild says what it did: {stderr}");
    let moved: Vec<_> = std::fs::read_dir(&data_dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("read.db.damaged-"))
        .collect();
    assert_eq!(moved.len(), 1, "the damaged file is kept: {moved:?}");

    let (mut child, base) = serve(&data_dir);
    let positions: Value = client.get(format!("{base}/v1/wallet/transactions?userId={user}")).send().await.unwrap().json().await.unwrap();
    assert_eq!(positions["transactions"][0]["type"], "DEPOSIT", "the projected data came back from the log: {positions}");
    terminate(&mut child);
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// `verify` holds every output record to a replay of the commands: a record lost from the
/// tail of `order_updates` is found and named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_finds_an_output_record_lost_from_a_tail() {
    let data_dir = std::env::temp_dir().join(format!("tradecraft-verify-outputs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let client = client();
    let (mut child, base) = serve(&data_dir);
    let account: Value = client.post(format!("{base}/v1/accounts")).json(&json!({"cash": "100000"})).send().await.unwrap().json().await.unwrap();
    let user = account["userId"].as_str().unwrap().to_owned();
    for index in 0..20 {
        let order = json!({"userId": user, "symbol": "MOCKAAPL", "quantity": "1", "side": "BUY", "type": "LIMIT", "limitPrice": format!("{}", 1 + index)});
        assert_eq!(client.post(format!("{base}/v1/orders")).json(&order).send().await.unwrap().status(), 202);
    }
    terminate(&mut child);
    let verified = Command::new(BINARY).arg("verify").arg(&data_dir).output().unwrap();
    assert!(verified.status.success(), "verify failed on an intact data dir: {}", String::from_utf8_lossy(&verified.stderr));
    let report: Value = serde_json::from_slice(&verified.stdout).unwrap();
    assert!(report["outputRecordsChecked"].as_u64().unwrap() > 40, "{report}");

    // Cut the last record of order_updates (one partition on the embedded default).
    let partition = data_dir.join("log/topics/order_updates/0");
    let mut segments: Vec<_> =
        std::fs::read_dir(&partition).unwrap().map(|entry| entry.unwrap().path()).filter(|path| path.extension().is_some_and(|e| e == "log")).collect();
    segments.sort();
    let last = segments.pop().unwrap();
    let file = std::fs::OpenOptions::new().write(true).open(&last).unwrap();
    file.set_len(file.metadata().unwrap().len() - 3).unwrap();
    drop(file);
    let verified = Command::new(BINARY).arg("verify").arg(&data_dir).output().unwrap();
    let stderr = String::from_utf8_lossy(&verified.stderr);
    assert!(!verified.status.success(), "verify passed with a record missing");
    assert!(stderr.contains("order_updates") && stderr.contains("missing"), "{stderr}");
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// The log URL of a fresh deployment on the test broker (`TRADECRAFT_TEST_KAFKA`, which
/// scripts/test.sh starts): its own topic and group prefix.
fn kafka_url(name: &str) -> String {
    let broker = std::env::var("TRADECRAFT_TEST_KAFKA").expect("TRADECRAFT_TEST_KAFKA (a Kafka broker's host:port) is not set: run scripts/test.sh");
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("kafka://{broker}?prefix={name}-{}-{nanos}.", std::process::id())
}

/// The same guarantees on Apache Kafka: an order whose append reached the broker but whose
/// answer was lost to a crash is placed once however often it is retried, a kill -9 loses
/// nothing acknowledged, and `verify` replays the broker's log to the snapshot's hash.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_kafka_a_retry_after_a_crash_places_one_order_and_kill_9_loses_nothing() {
    let data_dir = std::env::temp_dir().join(format!("tradecraft-kafka-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let url = kafka_url("crash");
    let client = client();
    let (mut child, base) = serve_with(&data_dir, &[("TRADECRAFT_LOG", &url), ("TRADECRAFT_FAULT_CRASH_AFTER_APPEND", "dies-before-answer")]);
    let account: Value = client.post(format!("{base}/v1/accounts")).json(&json!({"cash": "100000"})).send().await.unwrap().json().await.unwrap();
    let user = account["userId"].as_str().unwrap().to_owned();
    let order = json!({"userId": user, "symbol": "MOCKAAPL", "quantity": "2", "side": "BUY", "type": "LIMIT", "limitPrice": "1"});
    let first = client.post(format!("{base}/v1/orders")).header("X-Idempotency-Key", "dies-before-answer").json(&order).send().await;
    assert!(first.is_err(), "the server answered instead of dying: {first:?}");
    assert!(!child.wait().unwrap().success());

    let (mut child, base) = serve_with(&data_dir, &[("TRADECRAFT_LOG", &url)]);
    let mut answers = Vec::new();
    for _ in 0..3 {
        let retry = client.post(format!("{base}/v1/orders")).header("X-Idempotency-Key", "dies-before-answer").json(&order).send().await.unwrap();
        assert_eq!(retry.status(), 202);
        answers.push(retry.json::<Value>().await.unwrap()["orderId"].as_str().unwrap().to_owned());
    }
    assert!(answers.iter().all(|answer| *answer == answers[0]), "every retry names one order: {answers:?}");
    // More acknowledged orders, then kill -9.
    let (attempts, _) = {
        let (client, base, user) = (client.clone(), base.clone(), user.clone());
        let placed = Arc::new(AtomicUsize::new(0));
        let load = tokio::spawn(place_orders(client, base, user, 0, placed.clone()));
        under_load(&placed, 30).await;
        child.kill().unwrap();
        child.wait().unwrap();
        load.await.unwrap()
    };
    let acknowledged: BTreeSet<String> = attempts.iter().filter_map(|(_, _, order_id)| order_id.clone()).collect();
    assert!(acknowledged.len() > 10, "the load placed orders: {}", acknowledged.len());

    let (mut child, base) = serve_with(&data_dir, &[("TRADECRAFT_LOG", &url)]);
    let listed = listed_orders(&client, &base, &user).await;
    let missing: Vec<&String> = acknowledged.iter().chain(&answers[..1]).filter(|order_id| !listed.contains_key(*order_id)).collect();
    assert!(missing.is_empty(), "acknowledged orders lost: {missing:?}");
    // Every request retried with its key: an acknowledged one gets its order again, and in
    // the end each key has placed exactly one order (accepted or rejected).
    retry_with_keys(&client, &base, &user, attempts.iter().map(|attempt| (0, attempt))).await;
    let listed = listed_orders(&client, &base, &user).await;
    assert_eq!(listed.len(), attempts.len() + 1, "one order per idempotency key");
    terminate(&mut child);

    let verify = Command::new(BINARY).arg("verify").arg(&data_dir).args(["--log", &url]).stderr(Stdio::null()).output().unwrap();
    let report: Value = serde_json::from_slice(&verify.stdout).unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&verify.stdout)));
    assert!(verify.status.success(), "{report}");
    assert_eq!(report["verified"], json!(true), "{report}");
    assert_eq!(report["snapshot"]["sameHash"], json!(true), "{report}");
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// Registers `email` through the server at `base`; its access token.
/// Sends a keyed request (`send` to a server's address) that `child`, at `base` and
/// started with the fault on its key, dies of; starts the server on `data_dir` again and
/// checks that two retries are refused as already applied. The server started again, and
/// its address.
async fn refused_as_applied_after_dying<F, R>(mut child: Server, base: &str, data_dir: &Path, send: F) -> (Server, String)
where
    F: Fn(&str) -> R,
    R: std::future::Future<Output = reqwest::Result<reqwest::Response>>,
{
    let first = send(base).await;
    assert!(first.is_err(), "the server answered instead of dying: {first:?}");
    assert!(!child.wait().unwrap().success(), "the server died of the injected fault");
    let (child, base) = serve(data_dir);
    for _ in 0..2 {
        let retry = send(&base).await.unwrap();
        assert_eq!(retry.status(), 409);
        let answer: Value = retry.json().await.unwrap();
        assert_eq!(answer["error"]["code"], "idempotency_key_applied", "{answer}");
    }
    (child, base)
}

/// Places a market order buying `quantity` MOCKAAPL as the holder of `token` (202).
async fn buy_at_market(client: &reqwest::Client, base: &str, token: &str, quantity: &str) {
    let order = json!({"symbol": "MOCKAAPL", "quantity": quantity, "side": "BUY", "type": "MARKET"});
    let placed = client.post(format!("{base}/v1/orders")).bearer_auth(token).json(&order).send().await.unwrap();
    assert_eq!(placed.status(), 202);
}

async fn register(client: &reqwest::Client, base: &str, email: &str) -> String {
    let login: Value =
        client.post(format!("{base}/v1/auth/register")).json(&json!({"email": email, "password": "correct horse"})).send().await.unwrap().json().await.unwrap();
    login["accessToken"].as_str().unwrap().to_owned()
}

/// Alpaca's clients make a retry safe with the `client_order_id`: a bot whose request died
/// with the server (after the append, before the answer) retries it and gets one order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alpaca_retry_by_client_order_id_after_a_crash_places_one_order() {
    let data_dir = std::env::temp_dir().join(format!("tradecraft-alpaca-retry-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    // The bot's own credentials, not the operator's key.
    let client = reqwest::Client::new();
    let (mut child, base) = serve_with(&data_dir, &[("TRADECRAFT_FAULT_CRASH_AFTER_APPEND", "client_order_id\tbot-7f3a")]);
    let token = register(&client, &base, "bot@example.com").await;
    let order =
        json!({"symbol": "MOCKAAPL", "qty": "2", "side": "buy", "type": "limit", "limit_price": "1", "time_in_force": "gtc", "client_order_id": "bot-7f3a"});
    let first = client.post(format!("{base}/v2/orders")).bearer_auth(&token).json(&order).send().await;
    assert!(first.is_err(), "the server answered instead of dying: {first:?}");
    assert!(!child.wait().unwrap().success(), "the server died of the injected fault");

    let (mut child, base) = serve(&data_dir);
    let mut answers = Vec::new();
    for _ in 0..3 {
        let retry = client.post(format!("{base}/v2/orders")).bearer_auth(&token).json(&order).send().await.unwrap();
        assert_eq!(retry.status(), 200);
        let answer: Value = retry.json().await.unwrap();
        assert_eq!(answer["client_order_id"], "bot-7f3a", "{answer}");
        answers.push(answer["id"].as_str().unwrap().to_owned());
    }
    assert!(answers.iter().all(|answer| *answer == answers[0]), "every retry names one order: {answers:?}");
    let other =
        json!({"symbol": "MOCKAAPL", "qty": "3", "side": "buy", "type": "limit", "limit_price": "1", "time_in_force": "gtc", "client_order_id": "bot-7f3a"});
    let conflict = client.post(format!("{base}/v2/orders")).bearer_auth(&token).json(&other).send().await.unwrap();
    assert_eq!(conflict.status(), 422, "another order with the id");
    let listed: Value = client.get(format!("{base}/v2/orders?status=all")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    let ids: Vec<&str> = listed.as_array().unwrap().iter().map(|order| order["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [answers[0].as_str()], "one order: {listed}");
    terminate(&mut child);
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// A keyed request whose writes are engine commands only (an operator opening a funded
/// account writes nothing to the store) and whose server dies after they took effect,
/// before it answered: the retry is refused as already applied at once and for good, not
/// left "in use" until the claim went stale and then run a second time (a second account,
/// funded again).
#[tokio::test]
async fn a_keyed_retry_after_a_crash_does_not_repeat_engine_commands() {
    let data_dir = std::env::temp_dir().join(format!("tradecraft-keyed-engine-retry-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let client = client();
    let (child, base) = serve_with(&data_dir, &[("TRADECRAFT_FAULT_CRASH_AFTER_APPEND", "operator-open-3")]);
    let open = |base: &str| client.post(format!("{base}/v1/accounts")).header("X-Idempotency-Key", "operator-open-3").json(&json!({"cash": "2500"})).send();
    let (mut child, base) = refused_as_applied_after_dying(child, &base, &data_dir, open).await;
    // Another key opens another account.
    let other = client.post(format!("{base}/v1/accounts")).header("X-Idempotency-Key", "operator-open-4").json(&json!({"cash": "2500"})).send().await.unwrap();
    assert_eq!(other.status(), 201);
    terminate(&mut child);
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// A keyed request (a reset: an engine command, then the store's count of resets) whose
/// server dies the moment its engine command is durable, before anything else of it is
/// written: the engine remembers the key with the command, so the retry after the restart
/// is refused as applied, not taken for a request still running (and run again once its
/// claim went stale).
#[tokio::test]
async fn a_keyed_retry_after_a_crash_right_after_its_engine_command_is_refused_as_applied() {
    let data_dir = std::env::temp_dir().join(format!("tradecraft-keyed-command-retry-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let client = reqwest::Client::new();
    let (child, base) = serve_with(&data_dir, &[("TRADECRAFT_FAULT_CRASH_AFTER_COMMAND", "reset-5")]);
    let token = register(&client, &base, "reset@example.com").await;
    let default_account = async |base: &str| -> Value {
        let accounts: Value = client.get(format!("{base}/v1/me/accounts")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        accounts["accounts"][0].clone()
    };
    let account = default_account(&base).await["accountId"].as_str().unwrap().to_owned();
    buy_at_market(&client, &base, &token, "3").await;
    assert_eq!(default_account(&base).await["holdings"], json!({"MOCKAAPL": "3"}), "the reset has something to undo");
    let reset = |base: &str| client.post(format!("{base}/v1/me/accounts/{account}/reset")).bearer_auth(&token).header("X-Idempotency-Key", "reset-5").send();
    let (mut child, base) = refused_as_applied_after_dying(child, &base, &data_dir, reset).await;
    // The reset the first request sent took effect, once.
    let after = default_account(&base).await;
    assert_eq!((&after["holdings"], &after["cashBalance"]), (&json!({}), &json!("100000")), "{after}");
    terminate(&mut child);
    // The keyed command replays as the engine applied it: `verify` finds the same state.
    let verified = Command::new(BINARY).arg("verify").arg(&data_dir).output().unwrap();
    assert!(verified.status.success(), "verify: {}", String::from_utf8_lossy(&verified.stderr));
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// An operator's account opened with cash (`POST /v1/accounts`) whose server dies the
/// moment its engine command is durable: the account and its cash were one command, so
/// after the restart it is there funded (never open and empty), and the retry is refused
/// as applied rather than opening another.
#[tokio::test]
async fn an_operator_account_is_never_left_open_without_its_cash() {
    let data_dir = std::env::temp_dir().join(format!("tradecraft-open-funded-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let client = client();
    let (child, base) = serve_with(&data_dir, &[("TRADECRAFT_FAULT_CRASH_AFTER_COMMAND", "operator-open-9")]);
    let open = |base: &str| {
        client.post(format!("{base}/v1/accounts")).header("X-Idempotency-Key", "operator-open-9").json(&json!({"userId": 4242, "cash": "2500"})).send()
    };
    let (mut child, base) = refused_as_applied_after_dying(child, &base, &data_dir, open).await;
    let portfolio: Value = client.get(format!("{base}/v1/portfolio/4242")).send().await.unwrap().json().await.unwrap();
    assert_eq!(portfolio["cashBalance"], "2500", "{portfolio}");
    terminate(&mut child);
    let verified = Command::new(BINARY).arg("verify").arg(&data_dir).output().unwrap();
    assert!(verified.status.success(), "verify: {}", String::from_utf8_lossy(&verified.stderr));
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// A keyed request other than an order (a practice account: engine commands and a store
/// row) whose server dies after it took effect and before it answered: the retry after
/// the restart is refused as already applied, and there is still one such account.
#[tokio::test]
async fn a_keyed_retry_after_a_crash_does_not_apply_a_request_twice() {
    let data_dir = std::env::temp_dir().join(format!("tradecraft-keyed-retry-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let client = reqwest::Client::new();
    let (child, base) = serve_with(&data_dir, &[("TRADECRAFT_FAULT_CRASH_AFTER_APPEND", "practice-7")]);
    let token = register(&client, &base, "keyed@example.com").await;
    let open = |base: &str| {
        client
            .post(format!("{base}/v1/me/accounts"))
            .bearer_auth(&token)
            .header("X-Idempotency-Key", "practice-7")
            .json(&json!({"name": "retry", "cash": "5000"}))
            .send()
    };
    let (mut child, base) = refused_as_applied_after_dying(child, &base, &data_dir, open).await;
    let listed: Value = client.get(format!("{base}/v1/me/accounts")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    let practice = listed["accounts"].as_array().unwrap().iter().filter(|account| account["kind"] == "PRACTICE").count();
    assert_eq!(practice, 1, "one practice account: {listed}");
    // Another key opens another.
    let other = client
        .post(format!("{base}/v1/me/accounts"))
        .bearer_auth(&token)
        .header("X-Idempotency-Key", "practice-8")
        .json(&json!({"name": "second"}))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 201);
    terminate(&mut child);
    let _ = std::fs::remove_dir_all(&data_dir);
}
