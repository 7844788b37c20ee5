//! `spawn_app()`: a fresh exchange on port 0, started as `tradecraft serve` starts it
//! (`tradecraft::server::start`), on the memory log with one instrument and the house quoting.

use serde_json::Value;
use tradecraft::server::{HOUSE_ACCOUNT, ServerConfig};
use tradecraft_market::{SimulatorConfig, SymbolConfig};
use tradecraft_sequencer::wire::{PlaceOrder, WireCommand, WireSide};
use tradecraft_sequencer::{EngineHandle, Request, submit_batch};
use tradecraft_store::Store;
use tradecraft_types::Timestamp;

pub(crate) const HOUSE: &str = HOUSE_ACCOUNT;
/// The operator's key the test server trusts; the default client sends it.
pub(crate) const ADMIN_KEY: &str = "test-admin-key";

pub(crate) struct TestApp {
    pub address: std::net::SocketAddr,
    pub pushes: tradecraft_api::ws::Pushes,
    /// Sends the operator's admin key on every request.
    pub client: reqwest::Client,
    /// Sends no credentials.
    pub anonymous: reqwest::Client,
    pub engine: EngineHandle,
    pub store: Store,
    data_dir: std::path::PathBuf,
    /// Dropped with the app: the server stops.
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.engine.stop();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

fn house_order(side: WireSide, quantity: &str, price: &str) -> WireCommand {
    WireCommand::PlaceOrder(PlaceOrder::limit(HOUSE, "MOCK", side, quantity, price, "2026-01-02T09:30:00.000Z"))
}

pub(crate) async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// `spawn_app` with the configuration adjusted by `configure` before the server starts.
pub(crate) async fn spawn_app_with(configure: impl FnOnce(&mut ServerConfig)) -> TestApp {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let data_dir = std::env::temp_dir().join(format!("tradecraft-api-{}-{}", std::process::id(), COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)));
    let _ = std::fs::remove_dir_all(&data_dir);
    let mut config = ServerConfig::embedded(&data_dir);
    config.log_url = "memory:".to_owned();
    config.address = "127.0.0.1:0".parse().unwrap();
    // One instrument, MOCK, around 100; no simulator: the tests move the market themselves.
    config.market = SimulatorConfig {
        seed: 1,
        tick_interval_ms: 1_000,
        symbols: vec![SymbolConfig {
            symbol: "MOCK".to_owned(),
            start_price: "100".to_owned(),
            annual_volatility: "0.3".to_owned(),
            annual_drift: "0".to_owned(),
            tick_size: "0.01".to_owned(),
            lot_size: "1".to_owned(),
        }],
    };
    config.simulate_market = false;
    config.admin_key = Some(ADMIN_KEY.to_owned());
    config.token_secret = Some(b"test-secret".to_vec());
    config.rate_limits = None;
    config.partitions = 4;
    // The tests' webhook receivers listen on loopback; deliveries retry fast: 50 ms, doubling.
    config.webhooks = tradecraft_api::alerts::WebhookPolicy {
        first_backoff_ms: 50,
        max_backoff_ms: 400,
        max_attempts: 5,
        timeout: std::time::Duration::from_secs(2),
        poll: std::time::Duration::from_millis(20),
        targets: tradecraft_api::alerts::WebhookTargets::Any,
    };
    configure(&mut config);
    let exchange = tradecraft::server::start(config).await.unwrap();
    let (address, pushes, engine, store, log) = (
        exchange.address().unwrap(),
        exchange.pushes().clone(),
        exchange.engine().unwrap().clone(),
        exchange.store().unwrap().clone(),
        std::sync::Arc::clone(exchange.log()),
    );
    let (stop, stopped) = tokio::sync::oneshot::channel();
    tokio::spawn(exchange.run(async move {
        let _ = stopped.await;
    }));
    // The house quotes 99.50 / 100.50 (and 101) around 100.
    let quotes = [house_order(WireSide::Buy, "100", "99.5"), house_order(WireSide::Sell, "100", "100.5"), house_order(WireSide::Sell, "200", "101")];
    let offsets = submit_batch(log.as_ref(), &quotes, "test-setup", 0, Timestamp::from_millis(1_767_346_200_000)).unwrap();
    let (sender, receiver) = tokio::sync::oneshot::channel();
    let last = *offsets.last().unwrap();
    engine
        .request(Request::Outcome {
            offset: last,
            reply: Box::new(move |outcome| {
                let _ = sender.send(outcome);
            }),
        })
        .unwrap();
    receiver.await.unwrap().unwrap();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-api-key", reqwest::header::HeaderValue::from_static(ADMIN_KEY));
    let client = reqwest::Client::builder().default_headers(headers).build().unwrap();
    TestApp { address, pushes, client, anonymous: reqwest::Client::new(), engine, store, data_dir, _stop: stop }
}

impl TestApp {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub(crate) async fn get(&self, path: &str) -> (u16, Value) {
        let response = self.client.get(self.url(path)).send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.post_with(path, body, None).await
    }

    pub(crate) async fn post_with(&self, path: &str, body: Value, idempotency_key: Option<&str>) -> (u16, Value) {
        let mut request = self.client.post(self.url(path)).json(&body);
        if let Some(key) = idempotency_key {
            request = request.header("X-Idempotency-Key", key);
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
    }

    /// GETs `path` until `done` holds for the answer (the read store follows the engine
    /// by a few milliseconds); fails after 5 s.
    pub(crate) async fn get_until(&self, path: &str, done: impl Fn(u16, &Value) -> bool) -> (u16, Value) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let (status, body) = self.get(path).await;
            if done(status, &body) {
                return (status, body);
            }
            assert!(std::time::Instant::now() < deadline, "{path} never became ready: {status} {body}");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    pub(crate) async fn delete(&self, path: &str) -> (u16, Value) {
        let response = self.client.delete(self.url(path)).send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
    }

    /// A new account with `cash`; returns its id.
    pub(crate) async fn account(&self, cash: &str) -> String {
        let (status, body) = self.post("/v1/accounts", serde_json::json!({"cash": cash})).await;
        assert_eq!(status, 201, "{body}");
        body["userId"].as_str().unwrap().to_owned()
    }
}
