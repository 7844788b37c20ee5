//! `spawn_app()`: a fresh exchange on port 0 with one instrument and a funded house.

use std::sync::{Arc, Mutex};

use serde_json::Value;
use tradecraft_api::{App, AppState, View};
use tradecraft_log::{EventLog, MemoryLog};
use tradecraft_sequencer::wire::{PlaceOrder, WireCommand, WireSide};
use tradecraft_sequencer::{EngineHandle, Request, SequencerConfig, SnapshotStore, create_topics, runtime, submit_batch};
use tradecraft_store::{ProjectionMetrics, Projector, ProjectorConfig, Store, spawn_projector};
use tradecraft_types::Timestamp;

pub(crate) const HOUSE: &str = "9000000000000000000";
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
    snapshots: std::path::PathBuf,
    stop_projector: Arc<std::sync::atomic::AtomicBool>,
    _stop_webhooks: tokio::sync::watch::Sender<bool>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop_projector.store(true, std::sync::atomic::Ordering::Relaxed);
        self.engine.stop();
        let _ = std::fs::remove_dir_all(&self.snapshots);
    }
}

fn house_order(side: WireSide, quantity: &str, price: &str) -> WireCommand {
    WireCommand::PlaceOrder(PlaceOrder::limit(HOUSE, "MOCK", side, quantity, price, "2026-01-02T09:30:00.000Z"))
}

pub(crate) async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// `spawn_app` with the state adjusted by `configure` before the server starts.
pub(crate) async fn spawn_app_with(configure: impl FnOnce(&mut AppState)) -> TestApp {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let log: Arc<dyn EventLog> = Arc::new(MemoryLog::new());
    create_topics(log.as_ref(), 4).unwrap();
    let snapshots = std::env::temp_dir().join(format!("tradecraft-api-{}-{}", std::process::id(), COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)));
    let _ = std::fs::remove_dir_all(&snapshots);
    let view = Arc::new(Mutex::new(View::default()));
    let (pushes, _) = tokio::sync::broadcast::channel(tradecraft_api::ws::BROADCAST_CAPACITY);
    let listener = tradecraft_api::ws::engine_listener(Arc::clone(&view), pushes.clone());
    let (engine, _thread) = runtime::start(SequencerConfig::default(), Arc::clone(&log), SnapshotStore::open(&snapshots).unwrap(), 256, listener).unwrap();
    // One instrument, the funded house quoting 99.50 / 100.50 around 100.
    let setup = vec![
        WireCommand::ListInstrument {
            symbol: "MOCK".to_owned(),
            tick_size: "0.01".to_owned(),
            lot_size: "1".to_owned(),
            min_quantity: "1".to_owned(),
            price_band_bps: 500,
        },
        WireCommand::CreateAccount { user_id: Some(HOUSE.to_owned()), house: true },
        WireCommand::Deposit { user_id: HOUSE.to_owned(), transaction_id: "1".to_owned(), amount: "1000000".to_owned(), symbol: None },
        WireCommand::Deposit { user_id: HOUSE.to_owned(), transaction_id: "2".to_owned(), amount: "10000".to_owned(), symbol: Some("MOCK".to_owned()) },
        house_order(WireSide::Buy, "100", "99.5"),
        house_order(WireSide::Sell, "100", "100.5"),
        house_order(WireSide::Sell, "200", "101"),
    ];
    let offsets = submit_batch(log.as_ref(), &setup, "test-setup", 0, Timestamp::from_millis(1_767_346_200_000)).unwrap();
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
    let mut state = AppState::new(Arc::clone(&log), engine.clone(), view, pushes.clone(), "test-gateway".to_owned());
    state.auth = Arc::new(tradecraft_api::auth::AuthConfig::new(b"test-secret".to_vec(), Some(ADMIN_KEY)));
    // The read store: SQLite next to the snapshots, fed by a projector thread.
    let store = Store::open(&format!("sqlite:{}", snapshots.join("read.db").display())).unwrap();
    let projector = Projector::open(store.clone(), Arc::clone(&log), ProjectorConfig::default()).unwrap();
    let stop_projector = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let metrics = Arc::new(ProjectionMetrics::default());
    let watermark_engine = engine.clone();
    let watermark = move || watermark_engine.status().next_command.load(std::sync::atomic::Ordering::Relaxed);
    spawn_projector(projector, watermark, Arc::clone(&stop_projector), Arc::clone(&metrics)).unwrap();
    state.store = Some(store.clone());
    state.projection_metrics = Some(metrics);
    // The tests' webhook receivers listen on loopback.
    state.webhook_targets = tradecraft_api::alerts::WebhookTargets::Any;
    configure(&mut state);
    let targets = state.webhook_targets;
    // Webhooks retry fast here: 50 ms, doubling.
    let (stop_webhooks, stop) = tokio::sync::watch::channel(false);
    let policy = tradecraft_api::alerts::WebhookPolicy {
        first_backoff_ms: 50,
        max_backoff_ms: 400,
        max_attempts: 5,
        timeout: std::time::Duration::from_secs(2),
        poll: std::time::Duration::from_millis(20),
        targets,
    };
    tokio::spawn(tradecraft_api::alerts::run_webhooks(store, policy, stop));
    let app = App::build("127.0.0.1:0".parse().unwrap(), state).await.unwrap();
    let address = app.local_addr().unwrap();
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-api-key", reqwest::header::HeaderValue::from_static(ADMIN_KEY));
    let client = reqwest::Client::builder().default_headers(headers).build().unwrap();
    TestApp { address, pushes, client, anonymous: reqwest::Client::new(), engine, snapshots, stop_projector, _stop_webhooks: stop_webhooks }
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
