//! The multi-process deployment: `tradecraft serve --roles ...` processes sharing the test
//! Apache Kafka broker (`TRADECRAFT_TEST_KAFKA`) and PostgreSQL (`TRADECRAFT_TEST_POSTGRES`),
//! each test in its own topic prefix and database. Engines are killed with SIGKILL or hung
//! with SIGSTOP under order load; what was acknowledged must be published once, projected
//! once and verify.
#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failed test

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tradecraft_log::{Envelope, EventLog};

const BINARY: &str = env!("CARGO_BIN_EXE_tradecraft");
const ADMIN_KEY: &str = "deployment-test-admin-key";

/// One `tradecraft serve` process; killed when dropped (a failed test leaves nothing running).
struct Node {
    child: Child,
    address: Option<String>,
    stderr: PathBuf,
}

impl Node {
    fn base(&self) -> String {
        format!("http://{}", self.address.as_deref().unwrap())
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn signal(&self, signal: &str) {
        assert!(Command::new("kill").arg(format!("-{signal}")).arg(self.child.id().to_string()).status().unwrap().success());
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Waits for the "listening" line and keeps the address it gives, if any.
    fn listening(&mut self, name: &str) {
        let mut line = String::new();
        BufReader::new(self.child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let started: Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("{name} did not start: {line:?}\n{}", self.logs()));
        self.address = started["address"].as_str().map(str::to_owned);
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg("-CONT").arg(self.child.id().to_string()).status();
        self.kill();
    }
}

/// A topic prefix on the broker, a database on the server, a directory for the nodes'
/// logs; the database is dropped afterwards.
struct Deployment {
    log_url: String,
    database_url: String,
    admin_url: String,
    database: String,
    dir: PathBuf,
}

impl Deployment {
    fn new(name: &str) -> Self {
        let broker = std::env::var("TRADECRAFT_TEST_KAFKA").expect("TRADECRAFT_TEST_KAFKA (a Kafka broker's host:port) is not set: run scripts/test.sh");
        let admin_url = std::env::var("TRADECRAFT_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let unique = format!("{name}_{}_{nanos}", std::process::id());
        let database = format!("tc_{unique}");
        tokio::task::block_in_place(|| tradecraft_store::create_database(&admin_url, &database)).unwrap();
        let dir = std::env::temp_dir().join(format!("tradecraft-{unique}"));
        std::fs::create_dir_all(&dir).unwrap();
        Self {
            log_url: format!("kafka://{broker}?prefix={unique}."),
            database_url: tradecraft_store::with_database(&admin_url, &database),
            admin_url,
            database,
            dir,
        }
    }

    /// Starts a process with `roles` and waits for its "listening" line.
    fn node(&self, name: &str, roles: &str, extra: &[&str]) -> Node {
        let mut node = self.spawn(name, roles, extra);
        node.listening(name);
        node
    }

    /// Starts a process with `roles` without waiting for it (killed when dropped, started
    /// or not).
    fn spawn(&self, name: &str, roles: &str, extra: &[&str]) -> Node {
        let stderr = self.dir.join(format!("{name}.log"));
        let child = Command::new(BINARY)
            .args(["serve", "--address", "127.0.0.1:0", "--roles", roles, "--log", &self.log_url, "--database-url", &self.database_url, "--data-dir"])
            .arg(self.dir.join(name))
            .args(extra)
            .env("TRADECRAFT_ADMIN_KEY", ADMIN_KEY)
            .env("TRADECRAFT_JWT_SECRET", "deployment-test-secret-0123456789abcdef")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        Node { child, address: None, stderr }
    }

    fn log(&self) -> Arc<dyn EventLog> {
        tradecraft::server::open_log(&self.log_url).unwrap()
    }

    /// `tradecraft verify` over the deployment's topics and snapshots.
    fn verify(&self) -> Value {
        let output = Command::new(BINARY)
            .arg("verify")
            .arg(self.dir.join("verify"))
            .args(["--log", &self.log_url, "--database-url", &self.database_url])
            .output()
            .unwrap();
        let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|_| {
            let stderr = String::from_utf8_lossy(&output.stderr);
            panic!(
                "verify ({}): {}\n{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                stderr.lines().filter(|line| !line.starts_with(" ")).collect::<Vec<_>>().join("\n")
            )
        });
        assert!(output.status.success(), "verify failed: {report}");
        report
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        let _ = tokio::task::block_in_place(|| tradecraft_store::drop_database(&self.admin_url, &self.database));
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn client() -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-api-key", reqwest::header::HeaderValue::from_static(ADMIN_KEY));
    reqwest::Client::builder().default_headers(headers).timeout(Duration::from_secs(20)).build().unwrap()
}

/// A funded account, created through `gateway` and known to every gateway in `others`.
async fn account(client: &reqwest::Client, gateway: &str, others: &[String]) -> String {
    let account: Value = client.post(format!("{gateway}/v1/accounts")).json(&json!({"cash": "10000000"})).send().await.unwrap().json().await.unwrap();
    let user = account["userId"].as_str().unwrap().to_owned();
    for other in others {
        let deadline = Instant::now() + Duration::from_secs(10);
        while client.get(format!("{other}/v1/portfolio/{user}")).send().await.unwrap().status() != 200 {
            assert!(Instant::now() < deadline, "{other} never saw account {user}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    user
}

fn order_body(user: &str, index: usize) -> Value {
    if index.is_multiple_of(2) {
        json!({"userId": user, "symbol": "MOCKAAPL", "quantity": "1", "side": "BUY", "type": "MARKET"})
    } else {
        json!({"userId": user, "symbol": "MOCKAAPL", "quantity": "1", "side": "SELL", "type": "MARKET"})
    }
}

/// One request with an idempotency key: its key, its index and the order id if it was
/// acknowledged (202).
type Attempt = (String, usize, Option<String>);

/// Places orders through `gateway` until `stop`, each with its own key; a failed request
/// (the gateway died) ends the worker.
async fn place_orders(client: reqwest::Client, gateway: String, user: String, worker: usize, stop: Arc<std::sync::atomic::AtomicBool>) -> Vec<Attempt> {
    let mut attempts = Vec::new();
    let mut index = 0;
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        let key = format!("w{worker}-{index}");
        let request = client.post(format!("{gateway}/v1/orders")).header("X-Idempotency-Key", &key).json(&order_body(&user, index));
        match request.send().await {
            Ok(response) if response.status() == 202 => {
                let body: Value = response.json().await.unwrap();
                attempts.push((key, index, Some(body["orderId"].as_str().unwrap().to_owned())));
            }
            Ok(response) => {
                let status = response.status().as_u16();
                assert!(status < 500 || status == 503, "{key}: {status} {}", response.text().await.unwrap_or_default());
                attempts.push((key, index, None));
            }
            Err(_) => {
                attempts.push((key, index, None));
                break;
            }
        }
        index += 1;
    }
    attempts
}

/// Order load from `workers` clients, spread over `gateways`, until finished.
struct Load {
    stop: Arc<std::sync::atomic::AtomicBool>,
    workers: Vec<tokio::task::JoinHandle<Vec<Attempt>>>,
}

impl Load {
    fn start(client: &reqwest::Client, gateways: &[String], user: &str, workers: usize) -> Self {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let workers = (0..workers)
            .map(|worker| tokio::spawn(place_orders(client.clone(), gateways[worker % gateways.len()].clone(), user.to_owned(), worker, Arc::clone(&stop))))
            .collect();
        Self { stop, workers }
    }

    /// Stops the load; each worker's attempts.
    async fn finish(self) -> Vec<Vec<Attempt>> {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let mut attempts = Vec::new();
        for worker in self.workers {
            attempts.push(worker.await.unwrap());
        }
        attempts
    }
}

fn acknowledged(attempts: &[Vec<Attempt>]) -> BTreeSet<String> {
    attempts.iter().flatten().filter_map(|(_, _, order_id)| order_id.clone()).collect()
}

/// Sends each attempt again, with its key, through `gateway`: an acknowledged one gets its
/// order id back; returns the order id each key ends with.
async fn retry_with_keys(client: &reqwest::Client, gateway: &str, user: &str, attempts: &[Attempt]) -> (Vec<String>, usize) {
    let (mut order_ids, mut refused) = (Vec::new(), 0);
    for (key, index, order_id) in attempts {
        let response = client.post(format!("{gateway}/v1/orders")).header("X-Idempotency-Key", key).json(&order_body(user, *index)).send().await.unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        if let Some(order_id) = order_id {
            assert_eq!((status, body["orderId"].as_str()), (202, Some(order_id.as_str())), "retry of {key} through another gateway: {body}");
        }
        if let Some(order_id) = body["orderId"].as_str() {
            order_ids.push(order_id.to_owned());
        } else if (400..500).contains(&status) {
            // The engine refused the key's order (a sell before its buy filled, no
            // liquidity): it is in no order list, only in the trade history as a failed
            // execution; the second round must answer the same.
            refused += 1;
        }
    }
    (order_ids, refused)
}

/// Every order of `user` the gateway lists, all pages.
async fn listed_orders(client: &reqwest::Client, gateway: &str, user: &str) -> BTreeSet<String> {
    let mut listed = BTreeSet::new();
    let mut page_token: Option<String> = None;
    loop {
        let token = page_token.as_deref().map(|token| format!("&pageToken={token}")).unwrap_or_default();
        let page: Value = client.get(format!("{gateway}/v1/orders?userId={user}&limit=1000{token}")).send().await.unwrap().json().await.unwrap();
        listed.extend(page["orders"].as_array().unwrap().iter().map(|order| order["orderId"].as_str().unwrap().to_owned()));
        match page["pagination"]["nextPageToken"].as_str() {
            Some(token) => page_token = Some(token.to_owned()),
            None => return listed,
        }
    }
}

/// Waits until the engine has published the outputs of every command in the log.
async fn wait_published(log: &Arc<dyn EventLog>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let end = log.end_offset(tradecraft_sequencer::TRADE_ORDERS, 0).unwrap();
        if tradecraft_sequencer::published_progress(log.as_ref()).unwrap() >= end {
            return;
        }
        assert!(Instant::now() < deadline, "the engine never published up to command {end}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every record of `topic` (all partitions), decoded.
fn records(log: &dyn EventLog, topic: &str) -> Vec<Envelope<Value>> {
    let mut all = Vec::new();
    for partition in 0..log.partitions(topic).unwrap() {
        let end = log.end_offset(topic, partition).unwrap();
        let mut next = 0;
        while next < end {
            let batch = log.read(topic, partition, next, 4_096).unwrap();
            next = batch.last().unwrap().offset + 1;
            all.extend(batch.iter().map(|record| Envelope::<Value>::from_json(&record.value).unwrap()));
        }
    }
    all
}

/// Each acknowledged order is accepted exactly once in `order_updates`; no trade id appears
/// twice in `trade_executed`; the read store holds each execution once; verify passes.
async fn assert_published_once(deployment: &Deployment, acknowledged: &BTreeSet<String>) -> Value {
    let log = deployment.log();
    wait_published(&log).await;
    let mut accepted: BTreeMap<String, usize> = BTreeMap::new();
    for record in records(log.as_ref(), "order_updates") {
        if record.event_type == "order.accepted" {
            *accepted.entry(record.payload["orderId"].as_str().unwrap().to_owned()).or_default() += 1;
        }
    }
    for order_id in acknowledged {
        assert_eq!(accepted.get(order_id), Some(&1), "acknowledged order {order_id} accepted in order_updates");
    }
    let twice: Vec<_> = accepted.iter().filter(|(_, count)| **count > 1).collect();
    assert!(twice.is_empty(), "orders accepted twice: {twice:?}");
    let executions = records(log.as_ref(), "trade_executed");
    let distinct: BTreeSet<&str> = executions.iter().map(|record| record.event_id.as_str()).collect();
    assert_eq!(distinct.len(), executions.len(), "an execution was published twice");
    // The projector catches up with what was published.
    let store = tokio::task::block_in_place(|| tradecraft_store::Store::open(&deployment.database_url)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let rows = tokio::task::block_in_place(|| store.backend().query("SELECT COUNT(*), COUNT(DISTINCT event_id) FROM trades", &[])).unwrap();
        let (count, unique) = (rows[0].int(0).unwrap(), rows[0].int(1).unwrap());
        assert_eq!(count, unique, "the read store holds an execution twice");
        if count as usize == executions.len() {
            break;
        }
        assert!(Instant::now() < deadline, "the read store holds {count} executions, the topic {}", executions.len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let report = deployment.verify();
    assert_eq!(report["verified"], json!(true), "{report}");
    report
}

/// Kill -9 the active engine under load through two gateways: the standby takes over
/// (timed: from the kill to the first command it publishes), every acknowledged order is
/// accepted exactly once, nothing is published or projected twice, and every retry through
/// the other gateway gets its order back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_standby_takes_over_when_the_engine_is_killed_under_load() {
    let deployment = Deployment::new("failover");
    let mut active = deployment.node("engine-a", "engine", &[]);
    let market = deployment.node("market", "market", &[]);
    let standby = deployment.node("engine-b", "engine", &[]);
    let gateways = [deployment.node("gateway-1", "gateway", &[]), deployment.node("gateway-2", "gateway", &[])];
    let _projector = deployment.node("projector", "projector", &[]);
    let bases: Vec<String> = gateways.iter().map(Node::base).collect();
    let client = client();
    let user = account(&client, &bases[1], &bases[..1]).await;
    let load = Load::start(&client, &bases, &user, 4);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let log = deployment.log();
    active.kill();
    let killed = Instant::now();
    let after_kill = log.end_offset(tradecraft_sequencer::TRADE_ORDERS, 0).unwrap();
    // The standby publishes a command appended after the kill.
    loop {
        if tradecraft_sequencer::published_progress(log.as_ref()).unwrap() > after_kill {
            break;
        }
        assert!(killed.elapsed() < Duration::from_secs(30), "the standby never took over:\n{}", standby.logs());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let failover = killed.elapsed();
    eprintln!("{}", json!({"failoverMillis": failover.as_millis() as u64}));
    assert!(failover < Duration::from_secs(5), "fail-over took {failover:?}");
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let attempts = load.finish().await;
    let acknowledged = acknowledged(&attempts);
    assert!(acknowledged.len() > 50, "the load placed orders: {}", acknowledged.len());
    assert!(standby.logs().contains("engine leadership won"), "{}", standby.logs());
    // Retries through the other gateway: the same order, never a second one.
    for (worker, worker_attempts) in attempts.iter().enumerate() {
        retry_with_keys(&client, &bases[(worker + 1) % 2], &user, worker_attempts).await;
    }
    drop(market);
    assert_published_once(&deployment, &acknowledged).await;
}

/// A gateway killed mid-load: each of its requests retried with the same key through the
/// other gateway gets the same order (if it was acknowledged) and, in the end, every key
/// has placed exactly one order.
/// An operator's first start: every role at once against a new, empty database (as a
/// compose file starts them). Each process migrates or waits its turn, and the deployment
/// takes orders through both gateways.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_started_at_once_on_a_new_database_comes_up() {
    let deployment = Deployment::new("coldstart");
    let roles = [("engine", "engine,market"), ("standby", "engine"), ("gateway-1", "gateway"), ("gateway-2", "gateway"), ("projector", "projector")];
    // Each is killed when the test ends, whether or not it started.
    let mut nodes: Vec<Node> = roles.iter().map(|(name, roles)| deployment.spawn(name, roles, &[])).collect();
    tokio::task::block_in_place(|| nodes.iter_mut().zip(roles).for_each(|(node, (name, _))| node.listening(name)));
    let (client, gateways) = (client(), [nodes[2].base(), nodes[3].base()]);
    let user = account(&client, &gateways[0], &gateways[1..]).await;
    for gateway in &gateways {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let response = client.post(format!("{gateway}/v1/orders")).json(&order_body(&user, 0)).send().await.unwrap();
            let status = response.status().as_u16();
            if status == 202 {
                break;
            }
            // The market may still be being listed by the engine that started with the others.
            assert!(Instant::now() < deadline, "{gateway}: {status} {}", response.text().await.unwrap_or_default());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_through_another_gateway_after_one_is_killed_places_one_order() {
    let deployment = Deployment::new("gatewaykill");
    let _engine = deployment.node("engine", "engine", &[]);
    let market = deployment.node("market", "market", &[]);
    let mut doomed = deployment.node("gateway-1", "gateway", &[]);
    let survivor = deployment.node("gateway-2", "gateway", &[]);
    let _projector = deployment.node("projector", "projector", &[]);
    let client = client();
    let user = account(&client, &doomed.base(), &[survivor.base()]).await;
    let load = Load::start(&client, &[doomed.base()], &user, 3);
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    doomed.kill();
    let attempts: Vec<Attempt> = load.finish().await.into_iter().flatten().collect();
    let acknowledged: BTreeSet<String> = attempts.iter().filter_map(|(_, _, order_id)| order_id.clone()).collect();
    assert!(acknowledged.len() > 20, "the load placed orders: {}", acknowledged.len());
    let first = retry_with_keys(&client, &survivor.base(), &user, &attempts).await;
    let again = retry_with_keys(&client, &survivor.base(), &user, &attempts).await;
    assert_eq!(first, again, "a second round of retries names the same orders and refusals");
    // Each key placed exactly one order: listed if the engine accepted it, answered with
    // its refusal (and in no order list) if it refused it.
    let listed = listed_orders(&client, &survivor.base(), &user).await;
    assert_eq!(listed.len() + first.1, attempts.len(), "one order per key ({} refused)", first.1);
    assert!(acknowledged.is_subset(&listed), "every acknowledged order is listed");
    // No more commands (the house stops quoting): everything in the log gets published.
    drop(market);
    assert_published_once(&deployment, &acknowledged).await;
}

/// A gateway whose engine replica opens from a snapshot knows what came before it only
/// from the read store: started while the projector lags behind that snapshot, it waits
/// for the store to reach it, and then lists every order the other gateway does (its
/// view used to keep a hole where the store had been behind), each read back as it was
/// placed (a post-only flag, a self-trade prevention, a trailing stop's trail).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_opened_from_a_snapshot_waits_for_the_read_store_and_lists_every_order() {
    let deployment = Deployment::new("lagging");
    let mut engine = deployment.node("engine", "engine,market", &[]);
    let first = deployment.node("gateway-1", "gateway", &[]);
    let mut projector = deployment.node("projector", "projector", &[]);
    let client = client();
    let user = account(&client, &first.base(), &[]).await;
    let rest = |price: &str| json!({"userId": user, "symbol": "MOCKAAPL", "quantity": "1", "side": "BUY", "type": "LIMIT", "limitPrice": price});
    let mut flagged = rest("10");
    flagged["postOnly"] = json!(true);
    flagged["selfTradePrevention"] = json!("CANCEL_TAKING");
    let trailing = json!({"userId": user, "symbol": "MOCKAAPL", "quantity": "1", "side": "BUY", "type": "TRAILING_STOP", "trailPercent": "2.5"});
    // A trade first: a trailing stop trails the last price.
    let market = json!({"userId": user, "symbol": "MOCKAAPL", "quantity": "1", "side": "BUY", "type": "MARKET"});
    for order in [market, flagged, rest("11"), trailing] {
        let response = client.post(format!("{}/v1/orders", first.base())).json(&order).send().await.unwrap();
        assert_eq!(response.status(), 202, "{order}: {}", response.text().await.unwrap());
    }
    // The projector stops; two more orders; the engine stops cleanly (a snapshot after them).
    projector.kill();
    for price in ["12", "13"] {
        assert_eq!(client.post(format!("{}/v1/orders", first.base())).json(&rest(price)).send().await.unwrap().status(), 202);
    }
    engine.signal("TERM");
    let _ = engine.child.wait();
    let _engine = deployment.node("engine-2", "engine,market", &[]);
    let expected = listed_orders(&client, &first.base(), &user).await;
    assert_eq!(expected.len(), 6, "{expected:?}");

    let mut second = deployment.spawn("gateway-2", "gateway", &[]);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let _projector = deployment.node("projector-2", "projector", &[]);
    tokio::task::block_in_place(|| second.listening("gateway-2"));
    assert_eq!(listed_orders(&client, &second.base(), &user).await, expected, "{}", second.logs());
    let order = |gateway: String, order_id: String| {
        let client = client.clone();
        async move { client.get(format!("{gateway}/v1/orders/{order_id}")).send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let mut flags = Vec::new();
    for order_id in &expected {
        let (before, after) = (order(first.base(), order_id.clone()).await, order(second.base(), order_id.clone()).await);
        assert_eq!(before, after, "order {order_id} reads the same through both gateways");
        flags.push((after["postOnly"].clone(), after["selfTradePrevention"].clone(), after["trailPercent"].clone()));
    }
    assert!(flags.contains(&(json!(true), json!("CANCEL_TAKING"), Value::Null)), "{flags:?}");
    assert!(flags.contains(&(json!(false), Value::Null, json!("2.5"))), "{flags:?}");
}

/// A leader that hangs (SIGSTOP) loses its database session, so the standby takes over; when
/// it wakes it finds it no longer leads and stops publishing. Whatever it wrote on waking
/// repeats sequence numbers already published: the read store and verify pass it over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_leader_is_deposed_and_its_late_writes_change_nothing() {
    let deployment = Deployment::new("hung");
    let hung = deployment.node("engine-a", "engine", &[]);
    let market = deployment.node("market", "market", &[]);
    let standby = deployment.node("engine-b", "engine", &[]);
    let gateway = deployment.node("gateway", "gateway", &[]);
    let _projector = deployment.node("projector", "projector", &[]);
    let client = client();
    let user = account(&client, &gateway.base(), &[]).await;
    let load = Load::start(&client, &[gateway.base()], &user, 2);
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    hung.signal("STOP");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !standby.logs().contains("engine leadership won") {
        assert!(Instant::now() < deadline, "the standby never took over from the hung leader:\n{}", standby.logs());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    hung.signal("CONT");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !hung.logs().contains("engine leadership lost") && !hung.logs().contains("engine leadership given up") {
        assert!(Instant::now() < deadline, "the woken leader never noticed:\n{}", hung.logs());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let acknowledged = acknowledged(&load.finish().await);
    assert!(acknowledged.len() > 20, "the load placed orders: {}", acknowledged.len());
    drop(market);
    let report = assert_published_once_or_deduplicated(&deployment, &acknowledged).await;
    eprintln!("{}", json!({"duplicatesPassedOver": report["duplicateOutputsPassedOver"]}));
}

/// `assert_published_once` for a deployment whose topics may hold a deposed leader's late
/// duplicates: counted by (producer, sequence), each acknowledged order is accepted once.
async fn assert_published_once_or_deduplicated(deployment: &Deployment, acknowledged: &BTreeSet<String>) -> Value {
    let log = deployment.log();
    wait_published(&log).await;
    let mut seen: BTreeSet<(String, u64)> = BTreeSet::new();
    let mut accepted: BTreeMap<String, usize> = BTreeMap::new();
    for record in records(log.as_ref(), "order_updates") {
        let fresh = seen.insert((record.producer.clone().unwrap(), record.sequence.unwrap()));
        if fresh && record.event_type == "order.accepted" {
            *accepted.entry(record.payload["orderId"].as_str().unwrap().to_owned()).or_default() += 1;
        }
    }
    for order_id in acknowledged {
        assert_eq!(accepted.get(order_id), Some(&1), "acknowledged order {order_id} accepted in order_updates");
    }
    let store = tokio::task::block_in_place(|| tradecraft_store::Store::open(&deployment.database_url)).unwrap();
    let rows = tokio::task::block_in_place(|| store.backend().query("SELECT COUNT(*), COUNT(DISTINCT event_id) FROM trades", &[])).unwrap();
    assert_eq!(rows[0].int(0).unwrap(), rows[0].int(1).unwrap(), "the read store holds an execution twice");
    let report = deployment.verify();
    assert_eq!(report["verified"], json!(true), "{report}");
    report
}

/// A single-node Apache Kafka broker of the test's own (the jars `scripts/services.sh`
/// fetched, `TRADECRAFT_KAFKA_LIBS`), so it can be stopped and started again mid-test
/// without disturbing the shared one.
struct PrivateBroker {
    libs: String,
    dir: PathBuf,
    port: u16,
    process: Option<Child>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl PrivateBroker {
    fn start(dir: PathBuf) -> Self {
        let libs = std::env::var("TRADECRAFT_KAFKA_LIBS").expect("TRADECRAFT_KAFKA_LIBS (the Kafka broker jars) is not set: run scripts/test.sh");
        let (port, controller) = (free_port(), free_port());
        std::fs::create_dir_all(&dir).unwrap();
        let properties = format!(
            "process.roles=broker,controller\nnode.id=1\ncontroller.quorum.voters=1@127.0.0.1:{controller}\n\
             listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}\nadvertised.listeners=PLAINTEXT://127.0.0.1:{port}\n\
             controller.listener.names=CONTROLLER\ninter.broker.listener.name=PLAINTEXT\nlistener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT\n\
             log.dirs={}\nauto.create.topics.enable=false\nnum.partitions=1\noffsets.topic.replication.factor=1\noffsets.topic.num.partitions=1\n\
             transaction.state.log.replication.factor=1\ntransaction.state.log.min.isr=1\nshare.coordinator.state.topic.replication.factor=1\n\
             share.coordinator.state.topic.min.isr=1\ngroup.initial.rebalance.delay.ms=0\n",
            dir.join("data").display()
        );
        std::fs::write(dir.join("server.properties"), properties).unwrap();
        let classpath = format!("{libs}/*");
        let formatted = Command::new("java")
            .args(["-cp", &classpath, "kafka.tools.StorageTool", "format", "-t", "tradecraft-restart-test0", "-c"])
            .arg(dir.join("server.properties"))
            .output()
            .unwrap();
        assert!(formatted.status.success(), "formatting the broker's storage: {}", String::from_utf8_lossy(&formatted.stderr));
        let mut broker = Self { libs, dir, port, process: None };
        broker.resume();
        broker
    }

    fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Starts the broker on its storage and waits until it takes connections.
    fn resume(&mut self) {
        let log = std::fs::File::create(self.dir.join("broker.log")).unwrap();
        let process = Command::new("java")
            .args(["-Xms128m", "-Xmx512m", "-cp", &format!("{}/*", self.libs), "kafka.Kafka"])
            .arg(self.dir.join("server.properties"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.process = Some(process);
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(self.address()).is_err() {
            assert!(Instant::now() < deadline, "the broker did not start: {}", std::fs::read_to_string(self.dir.join("broker.log")).unwrap_or_default());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops it (SIGTERM: a clean shutdown, as a rolling restart does).
    fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = Command::new("kill").arg(process.id().to_string()).status();
            let _ = process.wait();
        }
    }
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.kill();
            let _ = process.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The broker restarts under order load: while it is gone clients get 503 with Retry-After
/// (never a 500, never a hang); once it is back the same server takes orders again without
/// a restart, and every order it acknowledged, before or after, is there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_restart_mid_load_answers_503_and_loses_nothing() {
    let unique = format!("restart-{}-{}", std::process::id(), std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis());
    let dir = std::env::temp_dir().join(format!("tradecraft-{unique}"));
    let mut broker = tokio::task::block_in_place(|| PrivateBroker::start(dir.join("broker")));
    let log_url = format!("kafka://{}?prefix={unique}.", broker.address());
    let mut child = Command::new(BINARY)
        .args(["serve", "--address", "127.0.0.1:0", "--log", &log_url, "--no-simulator", "--data-dir"])
        .arg(dir.join("server"))
        .env("TRADECRAFT_ADMIN_KEY", ADMIN_KEY)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.join("server.log")).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let started: Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("serve did not start: {line:?}"));
    let server = Node { child, address: started["address"].as_str().map(str::to_owned), stderr: dir.join("server.log") };
    let base = server.base();
    let client = client();
    let user = account(&client, &base, &[]).await;
    // Resting limit orders: they need no liquidity.
    let place = |index: usize| {
        let body = json!({"userId": user, "symbol": "MOCKAAPL", "quantity": "1", "side": "BUY", "type": "LIMIT", "limitPrice": "1"});
        let request = client.post(format!("{base}/v1/orders")).header("X-Idempotency-Key", format!("k{index}")).json(&body);
        async move {
            let started = Instant::now();
            let response = request.send().await.expect("an answer, not a hang or a dropped connection");
            let status = response.status().as_u16();
            let retry_after = response.headers().contains_key("retry-after");
            let body: Value = response.json().await.unwrap_or(Value::Null);
            (status, retry_after, body["orderId"].as_str().map(str::to_owned), started.elapsed())
        }
    };
    let mut acknowledged = BTreeSet::new();
    let mut index = 0;
    let mut outcomes = Vec::new();
    let deadline = Instant::now() + Duration::from_millis(1_000);
    while Instant::now() < deadline {
        outcomes.push(place(index).await);
        index += 1;
    }
    tokio::task::block_in_place(|| broker.stop());
    let stopped = Instant::now();
    let mut refused = 0;
    while stopped.elapsed() < Duration::from_secs(8) {
        let outcome = place(index).await;
        index += 1;
        refused += usize::from(outcome.0 == 503);
        outcomes.push(outcome);
    }
    assert!(refused > 0, "orders were refused while the broker was away");
    tokio::task::block_in_place(|| broker.resume());
    // Processing resumes without a restart.
    let resumed = Instant::now();
    loop {
        let outcome = place(index).await;
        index += 1;
        let accepted = outcome.0 == 202;
        outcomes.push(outcome);
        if accepted {
            break;
        }
        assert!(resumed.elapsed() < Duration::from_secs(90), "the server never took orders again:\n{}", server.logs());
    }
    let resumed_after = resumed.elapsed();
    for _ in 0..20 {
        outcomes.push(place(index).await);
        index += 1;
    }
    for (status, retry_after, order_id, took) in &outcomes {
        assert!(matches!(status, 202 | 503), "answered {status}");
        assert!(*status != 503 || *retry_after, "a 503 without Retry-After");
        // The append's 4 s and the engine's 5 s, with room for a 2-core machine running the
        // whole suite at once (an answer once took just over 12 s there): never a hang.
        assert!(*took < Duration::from_secs(15), "an answer took {took:?}: a gateway answers within its append and engine timeouts");
        if let Some(order_id) = order_id.as_ref().filter(|_| *status == 202) {
            acknowledged.insert(order_id.clone());
        }
    }
    let listed: Value = client.get(format!("{base}/v1/orders?userId={user}&limit=1000")).send().await.unwrap().json().await.unwrap();
    let listed: BTreeSet<String> = listed["orders"].as_array().unwrap().iter().map(|order| order["orderId"].as_str().unwrap().to_owned()).collect();
    let missing: Vec<_> = acknowledged.difference(&listed).collect();
    assert!(missing.is_empty(), "acknowledged orders missing after the restart: {missing:?}");
    eprintln!(
        "{}",
        json!({"requests": outcomes.len(), "refusedWhileAway": refused, "acknowledged": acknowledged.len(), "resumedAfterMillis": resumed_after.as_millis() as u64})
    );
    drop(server);
    drop(broker);
    if std::env::var("KEEP").is_err() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
