//! Benchmarks of the multi-process deployment: `tradecraft serve --roles ...` processes (this
//! binary) on an Apache Kafka broker and PostgreSQL, each run in its own topic prefix and
//! database. `bench http --deployment processes` loads two gateways and times orders from
//! the POST to their fill on `trade_executed`; `bench failover` kills the active engine and
//! times the standby's take-over.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tradecraft_log::Envelope;

/// Where a deployment's processes find the broker and the database.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ClusterArgs {
    /// The Apache Kafka broker(s), `HOST:PORT[,HOST:PORT]` (scripts/services.sh starts one
    /// and prints it).
    #[arg(long, env = "TRADECRAFT_TEST_KAFKA")]
    pub(crate) broker: Option<String>,
    /// A PostgreSQL URL allowed to create databases; the run gets one of its own.
    #[arg(long, env = "TRADECRAFT_TEST_POSTGRES")]
    pub(crate) postgres: Option<String>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct FailoverArgs {
    #[command(flatten)]
    cluster: ClusterArgs,
    /// Engines killed, one after the other (the killed one comes back as the standby).
    #[arg(long, default_value_t = 3)]
    kills: usize,
    /// Where the processes keep their data and logs (a fresh directory under it).
    #[arg(long, default_value = "target/bench-failover")]
    dir: PathBuf,
}

/// One `serve` process.
struct Node {
    name: String,
    child: Child,
}

/// A deployment of `serve` processes; killed, and its database dropped, when dropped.
pub(crate) struct Cluster {
    pub(crate) log_url: String,
    database_url: String,
    admin_url: String,
    database: String,
    dir: PathBuf,
    pub(crate) admin_key: String,
    nodes: Vec<Node>,
}

impl Cluster {
    pub(crate) fn new(args: &ClusterArgs, dir: &Path) -> anyhow::Result<Self> {
        let broker = args.broker.clone().context("--broker (or TRADECRAFT_TEST_KAFKA) names no Kafka broker")?;
        let admin_url = args.postgres.clone().context("--postgres (or TRADECRAFT_TEST_POSTGRES) names no PostgreSQL server")?;
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_nanos());
        let unique = format!("bench_{}_{nanos}", std::process::id());
        let database = format!("tc_{unique}");
        tradecraft_store::create_database(&admin_url, &database).context("creating the run's database")?;
        std::fs::create_dir_all(dir)?;
        Ok(Self {
            log_url: format!("kafka://{broker}?prefix={unique}."),
            database_url: tradecraft_store::with_database(&admin_url, &database),
            admin_url,
            database,
            dir: dir.to_path_buf(),
            admin_key: tradecraft_api::auth::random_token(24),
            nodes: Vec::new(),
        })
    }

    /// Starts `serve --roles ROLES` as `name` and waits until it listens; its address.
    pub(crate) fn start(&mut self, name: &str, roles: &str) -> anyhow::Result<Option<std::net::SocketAddr>> {
        let binary = std::env::current_exe().context("finding this binary")?;
        let log = std::fs::File::create(self.dir.join(format!("{name}.log")))?;
        let mut child = Command::new(binary)
            .args(["serve", "--address", "127.0.0.1:0", "--roles", roles, "--log", &self.log_url, "--database-url", &self.database_url])
            .args(["--rate-limit-per-user", "0", "--rate-limit-per-ip", "0", "--data-dir"])
            .arg(self.dir.join(name))
            .env("TRADECRAFT_ADMIN_KEY", &self.admin_key)
            .env("TRADECRAFT_JWT_SECRET", "bench-cluster-token-secret-0123456789abcdef")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .context("starting serve")?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().context("serve's stdout")?).read_line(&mut line)?;
        let started: Value =
            serde_json::from_str(&line).with_context(|| format!("{name} did not start; see {}", self.dir.join(format!("{name}.log")).display()))?;
        let address = started["address"].as_str().map(str::parse).transpose()?;
        self.nodes.push(Node { name: name.to_owned(), child });
        Ok(address)
    }

    /// SIGKILLs `name`.
    fn kill(&mut self, name: &str) -> anyhow::Result<()> {
        let position = self.nodes.iter().position(|node| node.name == name).context("no such node")?;
        let mut node = self.nodes.remove(position);
        node.child.kill()?;
        node.child.wait()?;
        Ok(())
    }

    /// CPU seconds each process has used so far (Linux `/proc`; null elsewhere).
    pub(crate) fn cpu_seconds(&self) -> Value {
        let ticks_per_second = 100.0;
        let mut used = serde_json::Map::new();
        for node in &self.nodes {
            let stat = std::fs::read_to_string(format!("/proc/{}/stat", node.child.id())).unwrap_or_default();
            // Fields after the command name (which may hold spaces): utime and stime are the
            // 12th and 13th of them.
            let fields: Vec<&str> = stat.rsplit_once(')').map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
            let ticks = fields.get(11).zip(fields.get(12)).and_then(|(user, system)| Some(user.parse::<u64>().ok()? + system.parse::<u64>().ok()?));
            used.insert(node.name.clone(), ticks.map_or(Value::Null, |ticks| json!((ticks as f64 / ticks_per_second * 100.0).round() / 100.0)));
        }
        Value::Object(used)
    }

    fn logs(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(format!("{name}.log"))).unwrap_or_default()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            let _ = node.child.kill();
            let _ = node.child.wait();
        }
        let _ = tradecraft_store::drop_database(&self.admin_url, &self.database);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Times orders from their POST to their fill on `trade_executed`: `probe` places a market
/// buy every few milliseconds and notes when; one reader per partition notes when its fill
/// arrives.
pub(crate) struct FillProbe {
    sent: Arc<Mutex<std::collections::HashMap<String, Instant>>>,
    latencies: Arc<Mutex<Histogram<u64>>>,
    stop: Arc<AtomicBool>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl FillProbe {
    pub(crate) fn start(log_url: &str) -> anyhow::Result<Self> {
        let log = tradecraft::server::open_log(log_url)?;
        let sent: Arc<Mutex<std::collections::HashMap<String, Instant>>> = Arc::default();
        let latencies = Arc::new(Mutex::new(Histogram::new_with_bounds(1_000, 60_000_000_000, 3)?));
        let stop = Arc::new(AtomicBool::new(false));
        let mut readers = Vec::new();
        for partition in 0..log.partitions("trade_executed")? {
            let (log, sent, latencies, stop) = (Arc::clone(&log), Arc::clone(&sent), Arc::clone(&latencies), Arc::clone(&stop));
            let mut next = log.end_offset("trade_executed", partition)?;
            readers.push(std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let Ok(records) = log.read("trade_executed", partition, next, 1_024) else { continue };
                    if records.is_empty() {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    for record in records {
                        next = record.offset + 1;
                        let Ok(envelope) = Envelope::<Value>::from_json(&record.value) else { continue };
                        let Some(order_id) = envelope.payload["orderId"].as_str() else { continue };
                        let begun = sent.lock().ok().and_then(|mut sent| sent.remove(order_id));
                        if let (Some(begun), Ok(mut latencies)) = (begun, latencies.lock()) {
                            latencies.saturating_record(begun.elapsed().as_nanos() as u64);
                        }
                    }
                }
            }));
        }
        Ok(Self { sent, latencies, stop, readers })
    }

    /// Places a market buy of one share through `gateway` every `every` until `deadline`.
    pub(crate) async fn probe(&self, client: reqwest::Client, gateway: String, user: String, every: Duration, deadline: Instant) -> anyhow::Result<()> {
        let body = json!({"userId": user, "symbol": "MOCKAAPL", "quantity": "1", "side": "BUY", "type": "MARKET"});
        let mut ticker = tokio::time::interval(every);
        while Instant::now() < deadline {
            ticker.tick().await;
            let begun = Instant::now();
            let response: Value = client.post(format!("{gateway}/v1/orders")).json(&body).send().await?.json().await?;
            if let (Some(order_id), Ok(mut sent)) = (response["orderId"].as_str(), self.sent.lock()) {
                sent.insert(order_id.to_owned(), begun);
            }
        }
        Ok(())
    }

    /// Waits briefly for the last fills, stops the readers; the POST-to-fill percentiles.
    pub(crate) fn finish(self) -> Value {
        std::thread::sleep(Duration::from_millis(1_500));
        self.stop.store(true, Ordering::Relaxed);
        for reader in self.readers {
            let _ = reader.join();
        }
        let latencies = self.latencies.lock().map(|latencies| latencies.clone()).ok();
        latencies.map_or(Value::Null, |latencies| {
            json!({
                "fills": latencies.len(),
                "p50": latencies.value_at_quantile(0.50),
                "p99": latencies.value_at_quantile(0.99),
                "max": latencies.max(),
            })
        })
    }
}

/// Kills the active engine `--kills` times under a light order load and times each
/// take-over: from the kill to the first command appended after it whose outputs the new
/// engine has published (its recorded progress passes it).
pub(crate) fn run_failover(args: &FailoverArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.kills > 0, "--kills must be positive");
    let dir = args.dir.join(format!("run-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut cluster = Cluster::new(&args.cluster, &dir)?;
    cluster.start("engine-0", "engine")?;
    cluster.start("market", "market")?;
    cluster.start("engine-1", "engine")?;
    let gateway = format!("http://{}", cluster.start("gateway", "gateway")?.context("the gateway serves HTTP")?);
    let log = tradecraft::server::open_log(&cluster.log_url)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-api-key", reqwest::header::HeaderValue::from_str(&cluster.admin_key)?);
    let client = reqwest::Client::builder().default_headers(headers).timeout(Duration::from_secs(20)).build()?;
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (client, gateway, stop) = (client.clone(), gateway.clone(), Arc::clone(&stop));
        runtime.spawn(async move {
            let account: Value = client.post(format!("{gateway}/v1/accounts")).json(&json!({"cash": "100000000"})).send().await?.json().await?;
            let user = account["userId"].as_str().context("account id")?.to_owned();
            let body = json!({"userId": user, "symbol": "MOCKAAPL", "quantity": "1", "side": "BUY", "type": "LIMIT", "limitPrice": "1"});
            while !stop.load(Ordering::Relaxed) {
                let _ = client.post(format!("{gateway}/v1/orders")).json(&body).send().await;
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            anyhow::Ok(())
        })
    };
    let mut times = Vec::new();
    let mut leader = 0;
    std::thread::sleep(Duration::from_secs(2));
    for kill in 0..args.kills {
        let name = format!("engine-{leader}");
        anyhow::ensure!(cluster.logs(&name).contains("engine leadership won"), "{name} is not leading:\n{}", cluster.logs(&name));
        cluster.kill(&name)?;
        let killed = Instant::now();
        let appended_after = log.end_offset(tradecraft_sequencer::TRADE_ORDERS, 0)?;
        loop {
            if tradecraft_sequencer::published_progress(log.as_ref())? > appended_after {
                break;
            }
            anyhow::ensure!(killed.elapsed() < Duration::from_secs(60), "no engine took over within 60 s");
            std::thread::sleep(Duration::from_millis(5));
        }
        let took = killed.elapsed();
        crate::bench::emit(&json!({"bench": "failover", "kill": kill + 1, "killed": name, "takeover_ms": took.as_millis() as u64}));
        times.push(took);
        // The killed engine comes back as the standby; the other one leads now.
        std::fs::rename(dir.join(format!("{name}.log")), dir.join(format!("{name}-{kill}.log")))?;
        cluster.start(&name, "engine")?;
        leader = 1 - leader;
        std::thread::sleep(Duration::from_secs(2));
    }
    stop.store(true, Ordering::Relaxed);
    runtime.block_on(load)??;
    times.sort();
    crate::bench::emit(&json!({
        "bench": "failover",
        "kills": times.len(),
        "takeover_ms": {"min": times[0].as_millis() as u64, "median": times[times.len() / 2].as_millis() as u64, "max": times[times.len() - 1].as_millis() as u64},
        "election": "PostgreSQL advisory lock",
        "machine": crate::machine::describe(),
    }));
    Ok(())
}
