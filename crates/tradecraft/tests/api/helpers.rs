//! `spawn_app()`: a fresh exchange for one test, on one of two deployments, the same suite
//! on both:
//! - embedded (the default): `tradecraft::server::start` in this process, every role, on
//!   the memory log and SQLite;
//! - processes (`TRADECRAFT_TEST_DEPLOYMENT=processes`): `tradecraft serve` processes over the
//!   test Apache Kafka broker (`TRADECRAFT_TEST_KAFKA`) and PostgreSQL
//!   (`TRADECRAFT_TEST_POSTGRES`), each test in its own topic prefix and database: an engine
//!   that lists the market, a standby engine, two gateways (the tests talk to the first), a
//!   projector and a WebSocket server.
//!
//! Either way one instrument, MOCK, around 100, and the house quoting it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use serde_json::Value;
use tradecraft::server::{HOUSE_ACCOUNT, ServerConfig};
use tradecraft_log::EventLog;
use tradecraft_market::{SimulatorConfig, SymbolConfig};
use tradecraft_sequencer::submit_batch;
use tradecraft_sequencer::wire::{PlaceOrder, WireCommand, WireSide};
use tradecraft_store::Store;
use tradecraft_types::Timestamp;

pub(crate) const HOUSE: &str = HOUSE_ACCOUNT;
/// The operator's key the test server trusts; the default client sends it.
pub(crate) const ADMIN_KEY: &str = "test-admin-key";
const BINARY: &str = env!("CARGO_BIN_EXE_tradecraft");

pub(crate) struct TestApp {
    /// The (first) gateway.
    pub address: std::net::SocketAddr,
    /// The WebSocket server (the gateway's own address when embedded).
    pub ws_address: std::net::SocketAddr,
    /// The second gateway (the first's own address when embedded).
    pub other_gateway: std::net::SocketAddr,
    /// The projector's metrics (the gateway's own address when embedded).
    pub projector_address: std::net::SocketAddr,
    /// Sends the operator's admin key on every request.
    pub client: reqwest::Client,
    /// Sends no credentials.
    pub anonymous: reqwest::Client,
    pub store: Store,
    pub log: Arc<dyn EventLog>,
    /// Redis with this deployment's prefix, when it uses one (always on processes).
    pub redis_url: Option<String>,
    /// Which deployment: stopped and removed when the app is dropped.
    _deployment: Deployment,
}

/// What a test runs against.
enum Deployment {
    Embedded {
        data_dir: std::path::PathBuf,
        /// Dropped with the app: the server stops.
        _stop: tokio::sync::oneshot::Sender<()>,
    },
    Processes {
        nodes: Vec<Child>,
        admin_url: String,
        database: String,
        dir: std::path::PathBuf,
    },
}

impl Drop for Deployment {
    fn drop(&mut self) {
        match self {
            Self::Embedded { data_dir, .. } => {
                let _ = std::fs::remove_dir_all(data_dir);
            }
            Self::Processes { nodes, admin_url, database, dir } => {
                for node in nodes.iter_mut() {
                    let _ = node.kill();
                    let _ = node.wait();
                }
                if std::thread::panicking() {
                    print_logs(dir);
                }
                let (admin_url, database) = (admin_url.clone(), database.clone());
                // Off the test's runtime: the database client blocks.
                let _ = std::thread::spawn(move || tradecraft_store::drop_database(&admin_url, &database)).join();
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }
}

/// A failed test's processes: the end of each one's log, on the test's output, since the
/// directory holding them goes with the deployment (a CI failure is diagnosed from this).
fn print_logs(dir: &std::path::Path) {
    const LINES: usize = 40;
    for name in ["engine", "standby", "gateway-1", "gateway-2", "projector", "ws"] {
        let text = std::fs::read_to_string(dir.join(format!("{name}.log"))).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        eprintln!("--- {name}.log (last {} of {} lines)", lines.len().min(LINES), lines.len());
        for line in &lines[lines.len().saturating_sub(LINES)..] {
            eprintln!("{line}");
        }
    }
}

/// Whether the suite runs against the multi-process deployment.
pub(crate) fn processes() -> bool {
    std::env::var("TRADECRAFT_TEST_DEPLOYMENT").is_ok_and(|value| value == "processes")
}

fn house_order(side: WireSide, quantity: &str, price: &str) -> WireCommand {
    WireCommand::PlaceOrder(PlaceOrder::limit(HOUSE, "MOCK", side, quantity, price, "2026-01-02T09:30:00.000Z"))
}

pub(crate) async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

fn unique_name() -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    format!("{}_{}", std::process::id(), COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
}

/// `spawn_app` with the configuration adjusted by `configure` before the server starts.
pub(crate) async fn spawn_app_with(configure: impl FnOnce(&mut ServerConfig)) -> TestApp {
    spawn(configure, processes()).await
}

/// An embedded exchange (whatever the suite's deployment) whose API reads `clock`: a
/// manual clock lives in this process, so only an in-process server can be given one.
pub(crate) async fn spawn_with_clock(clock: tradecraft_api::clock::Clock, configure: impl FnOnce(&mut ServerConfig)) -> TestApp {
    spawn(
        |config| {
            config.clock = clock;
            configure(config);
        },
        false,
    )
    .await
}

async fn spawn(configure: impl FnOnce(&mut ServerConfig), as_processes: bool) -> TestApp {
    let data_dir = std::env::temp_dir().join(format!("tradecraft-api-{}", unique_name()));
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
            session: None,
        }],
        session: "24/7".to_owned(),
    };
    config.simulate_market = false;
    config.admin_key = Some(ADMIN_KEY.to_owned());
    config.token_secret = Some(b"api-test-token-secret-0123456789abcdef".to_vec());
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
    if as_processes {
        // The deployment DESIGN.md describes: Redis carries the prices to the WebSocket server.
        config.redis_url = Some(test_redis(&unique_name()));
    }
    configure(&mut config);
    let redis_url = config.redis_url.clone();
    let ([address, ws_address, projector_address, other_gateway], store, log, deployment) =
        if as_processes { start_processes(&config) } else { start_embedded(config, data_dir).await };
    // The house quotes 99.50 / 100.50 (and 101) around 100.
    let quotes = [house_order(WireSide::Buy, "100", "99.5"), house_order(WireSide::Sell, "100", "100.5"), house_order(WireSide::Sell, "200", "101")];
    let offsets = submit_batch(log.as_ref(), &quotes, "test-setup", 0, Timestamp::from_millis(1_767_346_200_000)).unwrap();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-api-key", reqwest::header::HeaderValue::from_static(ADMIN_KEY));
    let client = reqwest::Client::builder().default_headers(headers).build().unwrap();
    let app = TestApp {
        address,
        ws_address,
        projector_address,
        other_gateway,
        client,
        anonymous: reqwest::Client::new(),
        store,
        log,
        redis_url,
        _deployment: deployment,
    };
    // Every server in the deployment has applied them.
    let last = *offsets.last().unwrap();
    for base in [app.address, app.ws_address] {
        let applied = |status: u16, body: &Value| status == 200 && body.as_u64().is_some_and(|next| next > last);
        app.until(&format!("http://{base}/metrics"), applied).await;
    }
    app
}

/// The test Redis server (`TRADECRAFT_TEST_REDIS`) with a prefix of its own.
pub(crate) fn test_redis(name: &str) -> String {
    let server = std::env::var("TRADECRAFT_TEST_REDIS").expect("TRADECRAFT_TEST_REDIS (a Redis server's redis:// URL) is not set: run scripts/test.sh");
    format!("{server}?prefix=tc_{name}_{}.", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis())
}

type Started = ([std::net::SocketAddr; 4], Store, Arc<dyn EventLog>, Deployment);

async fn start_embedded(config: ServerConfig, data_dir: std::path::PathBuf) -> Started {
    let exchange = tradecraft::server::start(config).await.unwrap();
    let (address, store, log) = (exchange.address().unwrap(), exchange.store().unwrap().clone(), Arc::clone(exchange.log()));
    let (stop, stopped) = tokio::sync::oneshot::channel();
    tokio::spawn(exchange.run(async move {
        let _ = stopped.await;
    }));
    ([address; 4], store, log, Deployment::Embedded { data_dir, _stop: stop })
}

/// `serve`'s flags for what `config` sets.
fn serve_flags(config: &ServerConfig, market: &std::path::Path) -> Vec<String> {
    let mut flags = vec![
        "--market-config".to_owned(),
        market.display().to_string(),
        "--partitions".to_owned(),
        config.partitions.to_string(),
        "--webhook-targets".to_owned(),
        (if config.webhooks.targets == tradecraft_api::alerts::WebhookTargets::Any { "any" } else { "public" }).to_owned(),
        format!("--webhook-first-backoff-ms={}", config.webhooks.first_backoff_ms),
        format!("--webhook-max-backoff-ms={}", config.webhooks.max_backoff_ms),
        format!("--webhook-max-attempts={}", config.webhooks.max_attempts),
        format!("--webhook-poll-ms={}", config.webhooks.poll.as_millis()),
    ];
    match config.rate_limits {
        None => flags.extend(["--rate-limit-per-user=0".to_owned(), "--rate-limit-per-ip=0".to_owned()]),
        Some(limits) => flags.extend([
            format!("--rate-limit-per-user={}", limits.per_caller_per_s),
            format!("--rate-limit-burst-per-user={}", limits.per_caller_burst),
            format!("--rate-limit-per-ip={}", limits.per_ip_per_s),
            format!("--rate-limit-burst-per-ip={}", limits.per_ip_burst),
        ]),
    }
    if !config.simulate_market {
        flags.push("--no-simulator".to_owned());
    }
    if let Some(email) = &config.email {
        flags.extend([format!("--smtp-url={}", email.url), format!("--smtp-from={}", email.from)]);
        flags.extend(email.public_url.iter().map(|url| format!("--public-url={url}")));
    }
    if let Some(redis) = &config.redis_url {
        flags.push(format!("--redis-url={redis}"));
    }
    flags.push(format!("--orders-kept={}", config.orders_kept));
    flags.push(format!("--web-dir={}", config.web_dir.as_ref().map_or_else(|| "none".to_owned(), |dir| dir.display().to_string())));
    flags
}

/// Two gateways, an engine (listing the market) and a standby, a projector and a
/// WebSocket server, as processes on the test broker and database.
fn start_processes(config: &ServerConfig) -> Started {
    let broker = std::env::var("TRADECRAFT_TEST_KAFKA").expect("TRADECRAFT_TEST_KAFKA (a Kafka broker's host:port) is not set: run scripts/test.sh");
    let admin_url = std::env::var("TRADECRAFT_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let unique = format!("api_{}_{}", unique_name(), std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis());
    let database = format!("tc_{unique}");
    let database_url = tradecraft_store::with_database(&admin_url, &database);
    let log_url = format!("kafka://{broker}?prefix={unique}.");
    let dir = std::env::temp_dir().join(format!("tradecraft-{unique}"));
    std::fs::create_dir_all(&dir).unwrap();
    let market = dir.join("market.json");
    std::fs::write(&market, serde_json::to_string(&config.market).unwrap()).unwrap();
    let (log, store) = {
        let (admin_url, database, database_url, log_url) = (admin_url.clone(), database.clone(), database_url.clone(), log_url.clone());
        // Off the test's runtime: the database client blocks.
        std::thread::spawn(move || {
            tradecraft_store::create_database(&admin_url, &database).unwrap();
            (tradecraft::server::open_log(&log_url).unwrap(), Store::open(&database_url).unwrap())
        })
        .join()
        .unwrap()
    };
    let flags = serve_flags(config, &market);
    let secret = String::from_utf8(config.token_secret.clone().unwrap_or_default()).unwrap();
    let spawn = |name: &str, roles: &str| {
        let mut command = Command::new(BINARY);
        command
            .args(["serve", "--address", "127.0.0.1:0", "--roles", roles, "--log", &log_url, "--database-url", &database_url, "--data-dir"])
            .arg(dir.join(name))
            .args(&flags)
            .env("TRADECRAFT_JWT_SECRET", &secret)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.join(format!("{name}.log"))).unwrap());
        if let Some(key) = &config.admin_key {
            command.env("TRADECRAFT_ADMIN_KEY", key);
        }
        command.spawn().unwrap()
    };
    /// The processes started so far, killed if one of them fails to start.
    struct Starting(Vec<Child>);
    impl Drop for Starting {
        fn drop(&mut self) {
            for node in &mut self.0 {
                let _ = node.kill();
                let _ = node.wait();
            }
        }
    }
    // The engine first: it lists the market the others then find.
    let mut nodes = Starting(vec![spawn("engine", "engine,market")]);
    let mut addresses = vec![listening(&mut nodes.0[0], &dir, "engine")];
    for (name, roles) in [("standby", "engine"), ("gateway-1", "gateway"), ("gateway-2", "gateway"), ("projector", "projector"), ("ws", "ws")] {
        nodes.0.push(spawn(name, roles));
    }
    for (index, name) in ["standby", "gateway-1", "gateway-2", "projector", "ws"].iter().enumerate() {
        addresses.push(listening(&mut nodes.0[index + 1], &dir, name));
    }
    let addresses = [addresses[2], addresses[5], addresses[4], addresses[3]].map(Option::unwrap);
    (addresses, store, log, Deployment::Processes { nodes: std::mem::take(&mut nodes.0), admin_url, database, dir })
}

/// Waits for a node's "listening" line; its address, if it serves HTTP.
fn listening(node: &mut Child, dir: &std::path::Path, name: &str) -> Option<std::net::SocketAddr> {
    let mut line = String::new();
    BufReader::new(node.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let started: Value = serde_json::from_str(&line)
        .unwrap_or_else(|_| panic!("{name} did not start: {line:?}\n{}", std::fs::read_to_string(dir.join(format!("{name}.log"))).unwrap_or_default()));
    started["address"].as_str().map(|address| address.parse().unwrap())
}

impl TestApp {
    /// What the (first) gateway process logged, when the servers are processes.
    pub(crate) fn server_log(&self) -> Option<String> {
        match &self._deployment {
            Deployment::Embedded { .. } => None,
            Deployment::Processes { dir, .. } => Some(std::fs::read_to_string(dir.join("gateway-1.log")).unwrap_or_default()),
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub(crate) async fn get(&self, path: &str) -> (u16, Value) {
        let response = self.client.get(self.url(path)).send().await.unwrap();
        checked("GET", path, response).await
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
        checked("POST", path, response).await
    }

    /// GETs `path` until `done` holds for the answer (the read store follows the engine
    /// by a few milliseconds); fails after 10 s.
    pub(crate) async fn get_until(&self, path: &str, done: impl Fn(u16, &Value) -> bool) -> (u16, Value) {
        self.until(&self.url(path), done).await
    }

    /// `get_until` as the user with access token `token`.
    pub(crate) async fn get_until_as(&self, token: &str, path: &str, done: impl Fn(u16, &Value) -> bool) -> (u16, Value) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let response = self.anonymous.get(self.url(path)).bearer_auth(token).send().await.unwrap();
            let status = response.status().as_u16();
            let body = response.json().await.unwrap_or(Value::Null);
            if done(status, &body) {
                crate::conformance::check("GET", path, status, &body);
                return (status, body);
            }
            assert!(std::time::Instant::now() < deadline, "{path} never became ready: {status} {body}");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    async fn until(&self, url: &str, done: impl Fn(u16, &Value) -> bool) -> (u16, Value) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let response = self.client.get(url).send().await.unwrap();
            let status = response.status().as_u16();
            let body = if url.ends_with("/metrics") {
                // Prometheus text: the engine's next command offset.
                let text = response.text().await.unwrap_or_default();
                let next = text
                    .lines()
                    .find_map(|line| line.strip_prefix("tradecraft_engine_next_command_offset "))
                    .and_then(|value| value.trim().parse::<u64>().ok());
                next.map_or(Value::Null, Value::from)
            } else {
                response.json().await.unwrap_or(Value::Null)
            };
            if done(status, &body) {
                return (status, body);
            }
            assert!(std::time::Instant::now() < deadline, "{url} never became ready: {status} {body}");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// The `id`s of every item in the `items` arrays of a list read page by page from
    /// `path` (which has a query already), following `pagination.nextPageToken`.
    pub(crate) async fn pages(&self, path: &str, items: &str, id: &str) -> Vec<String> {
        let mut ids = Vec::new();
        let mut page_token = String::new();
        loop {
            let (status, page) = self.get(&format!("{path}{page_token}")).await;
            assert_eq!(status, 200, "{path}{page_token}: {page}");
            ids.extend(page[items].as_array().unwrap().iter().map(|item| item[id].as_str().unwrap().to_owned()));
            match page["pagination"]["nextPageToken"].as_str() {
                Some(next) => page_token = format!("&pageToken={next}"),
                None => return ids,
            }
            assert!(ids.len() < 100_000, "{path} pages on and on");
        }
    }

    pub(crate) async fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self.client.patch(self.url(path)).json(&body).send().await.unwrap();
        checked("PATCH", path, response).await
    }

    pub(crate) async fn delete(&self, path: &str) -> (u16, Value) {
        let response = self.client.delete(self.url(path)).send().await.unwrap();
        checked("DELETE", path, response).await
    }

    /// A new account with `cash`; returns its id.
    pub(crate) async fn account(&self, cash: &str) -> String {
        let (status, body) = self.post("/v1/accounts", serde_json::json!({"cash": cash})).await;
        assert_eq!(status, 201, "{body}");
        body["userId"].as_str().unwrap().to_owned()
    }
}

/// The answer's status and JSON body (null when it has none), checked against the OpenAPI
/// document ([`crate::conformance`]).
pub(crate) async fn checked(method: &str, path: &str, response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    crate::conformance::check(method, path, status, &body);
    (status, body)
}
