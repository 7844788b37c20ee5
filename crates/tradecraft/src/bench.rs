//! `tradecraft bench`: repeatable workloads that print one JSON line per run.
//!
//! Engine workloads are generated up front (so generation is never timed), then applied to
//! a fresh engine on this thread, risk and ledger included. In throughput mode `ops_per_s`
//! comes from a pass with no clock reads inside the loop, and the latency percentiles from
//! a second pass on a fresh engine where each operation's time is the gap between
//! consecutive clock reads (one read, about 40 ns, per operation; `timed_ops_per_s` is
//! that pass's rate). In open-loop mode each operation has a scheduled arrival time at
//! the fixed rate and its latency runs from that time to its completion, so queueing
//! behind a slow operation counts (no coordinated omission).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tradecraft_engine::{AccountKind, Amount, Command, Engine, EngineConfig, Event, InstrumentSpec, NewOrder, OrderKind, OrderSize, TimeInForce};
use tradecraft_types::{AccountId, Money, OrderId, Price, Quantity, Side, Symbol, TransactionId};

use crate::machine;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Target {
    /// The matching engine on one thread, with risk checks and the ledger.
    Engine(EngineArgs),
    /// The machine's own stalls: a thread that only reads the clock, and the gaps it sees.
    /// This is the floor under any open-loop latency figure on the same machine.
    Jitter(JitterArgs),
    /// The file event log: concurrent durable appends (group commit, fsync), then the
    /// time to reopen and check everything written.
    Log(LogArgs),
    /// Durable HTTP order entry: many keep-alive connections posting orders to an
    /// in-process server (file log with fsync, engine, house liquidity).
    Http(HttpArgs),
    /// WebSocket fan-out: many Phoenix subscribers to one symbol, updates at a fixed rate,
    /// delivery latency from publication to each client.
    Ws(WsArgs),
    /// Read-store trade search latency with millions of trades stored (SQLite or PostgreSQL).
    StoreSearch(crate::bench_store::SearchArgs),
    /// Projector throughput: engine events applied to the read store per second.
    Projection(crate::bench_store::ProjectionArgs),
    /// Recovery time of a data dir holding millions of logged events.
    Restart(crate::bench_restart::RestartArgs),
    /// Engine fail-over in the multi-process deployment: kill -9 the active engine, time
    /// until the standby publishes.
    Failover(crate::bench_cluster::FailoverArgs),
    /// Resident memory of an idle server on the embedded default (fresh data dir, the
    /// 20-symbol universe, simulator and house quotes running, no clients).
    Idle(IdleArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct IdleArgs {
    /// How long the server runs before its memory is read.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    #[arg(long, default_value = "target/bench-idle")]
    dir: std::path::PathBuf,
}

#[derive(Debug, clap::Args)]
pub(crate) struct WsArgs {
    #[arg(long, default_value_t = 5_000)]
    subscribers: usize,
    /// Price updates per second.
    #[arg(long, default_value_t = 100)]
    rate: u64,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Measure the machine's floor instead of the server: the same clients and updates,
    /// served by a bare fan-out thread that writes each update's one encoded frame to
    /// every socket (what the kernel's loopback TCP costs, with nothing on top).
    #[arg(long)]
    floor: bool,
    /// Spread the subscribers over this many symbols of the default universe (one each,
    /// in turn), every symbol updated at `rate`, the symbols' updates taking turns evenly
    /// in time: each subscriber still receives `rate` updates a second, among pushes of
    /// symbols it did not join. Not with `--floor`.
    #[arg(long, default_value_t = 1)]
    symbols: usize,
    #[arg(long, default_value = "target/bench-ws")]
    dir: std::path::PathBuf,
}

#[derive(Debug, clap::Args)]
pub(crate) struct HttpArgs {
    /// Requests in flight at once (each a keep-alive connection).
    #[arg(long, default_value_t = 256)]
    connections: usize,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Where the server keeps its data (a fresh directory under it; removed afterwards).
    #[arg(long, default_value = "target/bench-http")]
    dir: std::path::PathBuf,
    /// The server's event log (`kafka://HOST:PORT?prefix=NAME.` for Apache Kafka); the
    /// file journal in the run's directory when absent.
    #[arg(long)]
    log: Option<String>,
    /// `embedded`: one server in this process. `processes`: `serve --roles` processes on
    /// Kafka and PostgreSQL (an engine listing the market, a standby engine, two gateways
    /// taking the load, a projector), and orders timed from the POST to their fill on
    /// `trade_executed` as well.
    #[arg(long, default_value = "embedded", value_parser = ["embedded", "processes"])]
    deployment: String,
    /// With `--deployment processes`: no standby engine (one replica fewer on the machine).
    #[arg(long)]
    no_standby: bool,
    #[command(flatten)]
    cluster: crate::bench_cluster::ClusterArgs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct LogArgs {
    /// Threads appending at once.
    #[arg(long, default_value_t = 64)]
    producers: usize,
    /// Records appended in all, one per append call.
    #[arg(long, default_value_t = 200_000)]
    records: usize,
    #[arg(long, default_value_t = 200)]
    value_bytes: usize,
    /// Where to put the log (a fresh directory under it; removed afterwards).
    #[arg(long, default_value = "target/bench-log")]
    dir: std::path::PathBuf,
}

#[derive(Debug, clap::Args)]
pub(crate) struct JitterArgs {
    #[arg(long, default_value_t = 3)]
    seconds: u64,
    /// Gaps at least this long count as stalls.
    #[arg(long, default_value_t = 2_000)]
    stall_ns: u64,
}

#[derive(Debug, clap::Args)]
pub(crate) struct EngineArgs {
    #[arg(long, value_enum)]
    workload: Workload,
    /// Operations per run (defaults depend on the workload).
    #[arg(long)]
    ops: Option<usize>,
    /// Arrival rate of the open-loop latency run, operations per second.
    #[arg(long, default_value_t = 1_000_000)]
    rate: u64,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Which passes to run (open-loop applies to exchange-core).
    #[arg(long, value_enum, default_value_t = Mode::Both)]
    mode: Mode,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Mode {
    Throughput,
    OpenLoop,
    Both,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Workload {
    /// liquibook's insert test: alternating buys at 1880+rand%10 and sells at 1884+rand%10.
    Liquibook,
    /// exchange-core's single-book mix: 9% GTC, 3% IOC, 6% cancel, 82% move.
    ExchangeCore,
    /// Resident memory of 1M resting orders over 1,000 symbols.
    Memory,
}

impl Workload {
    fn name(self) -> &'static str {
        match self {
            Self::Liquibook => "liquibook",
            Self::ExchangeCore => "exchange-core",
            Self::Memory => "memory",
        }
    }
}

pub(crate) fn run(target: Target) -> anyhow::Result<()> {
    match target {
        Target::Engine(args) => run_engine(&args),
        Target::Jitter(args) => run_jitter(&args),
        Target::Log(args) => run_log(&args),
        Target::Http(args) => run_http(&args),
        Target::Ws(args) => run_ws(&args),
        Target::StoreSearch(args) => crate::bench_store::run_search(&args),
        Target::Projection(args) => crate::bench_store::run_projection(&args),
        Target::Restart(args) => crate::bench_restart::run(&args),
        Target::Failover(args) => crate::bench_cluster::run_failover(&args),
        Target::Idle(args) => run_idle(&args),
    }
}

fn run_idle(args: &IdleArgs) -> anyhow::Result<()> {
    let dir = args.dir.join(format!("run-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let before = machine::resident_bytes();
    let server = InProcessServer::start(&dir, true, None)?;
    let mut samples = Vec::new();
    for second in 1..=args.seconds {
        std::thread::sleep(Duration::from_secs(1));
        if second % 10 == 0 || second == args.seconds {
            samples.push(json!({"second": second, "resident_bytes": machine::resident_bytes()}));
        }
    }
    let resident = machine::resident_bytes();
    server.stop()?;
    let _ = std::fs::remove_dir_all(&dir);
    emit(&json!({
        "bench": "idle",
        "seconds": args.seconds,
        // The whole process: the server, and this command before it started the server.
        "resident_bytes": resident,
        "resident_bytes_before_server": before,
        "samples": samples,
        "machine": machine::describe(),
    }));
    Ok(())
}

fn run_ws(args: &WsArgs) -> anyhow::Result<()> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    anyhow::ensure!(args.subscribers > 0 && args.rate > 0 && args.seconds > 0 && args.symbols > 0, "counts must be positive");
    let universe: Vec<String> = tradecraft_market::SimulatorConfig::default_universe().symbols.iter().map(|symbol| symbol.symbol.clone()).collect();
    anyhow::ensure!(args.symbols <= universe.len(), "at most {} symbols", universe.len());
    anyhow::ensure!(args.symbols == 1 || !args.floor, "--floor serves one symbol");
    let symbols: Vec<String> = universe.into_iter().take(args.symbols).collect();
    let dir = args.dir.join(format!("run-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (server, floor) = if args.floor { (None, Some(FloorServer::start()?)) } else { (Some(InProcessServer::start(&dir, false, None)?), None) };
    let (address, admin_key) = match (&server, &floor) {
        (Some(server), _) => (server.address, server.admin_key.clone()),
        (None, Some(floor)) => (floor.address, String::new()),
        (None, None) => anyhow::bail!("no server"),
    };
    let publish = |symbol: &str, payload: Value| match (&server, &floor) {
        (Some(server), _) => {
            server.pushes.send(Arc::new(tradecraft_api::ws::Push::new(format!("prices:{symbol}"), "price_update", payload)));
        }
        (None, Some(floor)) => {
            let _ = floor.updates.send(payload.to_string());
        }
        (None, None) => {}
    };
    let clock = Instant::now();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).thread_name("loadgen").enable_all().build()?;
    let (histogram, delivered, connected, cpu) = runtime.block_on(async {
        let delivered = Arc::new(AtomicU64::new(0));
        let (done_sender, _) = tokio::sync::watch::channel(false);
        let mut clients = Vec::with_capacity(args.subscribers);
        for batch in (0..args.subscribers).collect::<Vec<_>>().chunks(250) {
            let mut joining = Vec::new();
            for &index in batch {
                // Thousands of sockets from one address: the operator key keeps them clear of
                // the per-IP rate limit.
                let path = format!("/v1/marketdata/websocket?vsn=2.0.0&apiKey={admin_key}");
                let join = format!(r#"["1","1","prices:{}","phx_join",{{}}]"#, symbols[index % symbols.len()]);
                joining.push(tokio::spawn(async move {
                    let mut socket = RawWsClient::connect(address, &path).await?;
                    socket.send_text(&join).await?;
                    // The join reply.
                    socket.next_text().await?.context("closed before the join reply")?;
                    anyhow::Ok(socket)
                }));
            }
            for socket in joining {
                let mut socket = socket.await??;
                let delivered = Arc::clone(&delivered);
                let mut done = done_sender.subscribe();
                clients.push(tokio::spawn(async move {
                    // Latencies in microseconds, merged into one histogram at the end: one
                    // histogram per client would be a gigabyte at this count.
                    let mut latencies_us: Vec<u32> = Vec::new();
                    loop {
                        tokio::select! {
                            text = socket.next_text() => match text? {
                                Some(text) => {
                                    let received = clock.elapsed().as_nanos() as u64;
                                    // The load generator reads only the send time, so that it
                                    // costs far less than the server it measures.
                                    let sent = text.split_once("\"sentNanos\":\"").and_then(|(_, rest)| rest.split('"').next()).and_then(|digits| digits.parse::<u64>().ok());
                                    if let Some(sent) = sent {
                                        latencies_us.push(u32::try_from(received.saturating_sub(sent) / 1_000).unwrap_or(u32::MAX).max(1));
                                        delivered.fetch_add(1, Ordering::Relaxed);
                                    }
                                }
                                None => break,
                            },
                            _ = done.changed() => break,
                        }
                    }
                    anyhow::Ok(latencies_us)
                }));
            }
        }
        let cpu_before = machine::thread_cpu_ticks();
        let connected = clients.len();
        // The symbols' updates take turns, spread evenly in time (prices move one by one).
        let updates = args.rate * args.seconds * symbols.len() as u64;
        let interval = Duration::from_nanos(1_000_000_000 / (args.rate * symbols.len() as u64));
        let mut ticker = tokio::time::interval(interval);
        for sequence in 0..updates {
            ticker.tick().await;
            let sent = clock.elapsed().as_nanos() as u64;
            let symbol = &symbols[sequence as usize % symbols.len()];
            let payload = json!({"symbol": symbol, "price": format!("{}.{:02}", 190 + sequence % 10, sequence % 100), "sentNanos": sent.to_string()});
            publish(symbol, payload);
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        let delivered = delivered.load(Ordering::Relaxed);
        let cpu = machine::cpu_us_per(&cpu_before, &machine::thread_cpu_ticks(), delivered);
        let _ = done_sender.send(true);
        let mut histogram = new_histogram()?;
        for client in clients {
            for latency_us in client.await?? {
                histogram.saturating_record(u64::from(latency_us) * 1_000);
            }
        }
        anyhow::Ok((histogram, delivered, connected, cpu))
    })?;
    if let Some(server) = server {
        server.stop()?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    let expected = connected as u64 * args.rate * args.seconds;
    emit(&json!({
        "bench": if args.floor { "ws-floor" } else { "ws" },
        "subscribers": connected,
        "symbols": args.symbols,
        "updates_per_s": args.rate,
        "seconds": args.seconds,
        "expected_deliveries": expected,
        "delivered": delivered,
        "delivered_fraction": delivered as f64 / expected.max(1) as f64,
        "latency_ns": {
            "p50": histogram.value_at_quantile(0.50),
            "p99": histogram.value_at_quantile(0.99),
            "p99_9": histogram.value_at_quantile(0.999),
            "max": histogram.max(),
        },
        // CPU microseconds per delivered message, by thread.
        "cpu_us_per_delivery": cpu,
        "machine": machine::describe(),
    }));
    Ok(())
}

/// The floor under WebSocket fan-out on this machine: accepts the clients' handshakes
/// and joins, then one thread writes each update's encoded frame to every socket in turn
/// (updates that queued up meanwhile go in the same write, as the server batches them).
struct FloorServer {
    address: std::net::SocketAddr,
    updates: std::sync::mpsc::Sender<String>,
}

impl FloorServer {
    /// Fan-out threads, each writing to its share of the sockets (the server has as many
    /// async workers).
    const THREADS: usize = 2;

    fn start() -> anyhow::Result<Self> {
        use std::io::Write;
        use std::sync::{Arc, Mutex};
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let address = listener.local_addr()?;
        let shards: Vec<Arc<Mutex<Vec<std::net::TcpStream>>>> = (0..Self::THREADS).map(|_| Arc::default()).collect();
        let accepted = shards.clone();
        std::thread::Builder::new().name("floor-accept".to_owned()).spawn(move || {
            for (index, stream) in listener.incoming().enumerate() {
                let Ok(mut stream) = stream else { continue };
                if let Ok(true) = floor_handshake(&mut stream)
                    && let Ok(mut sockets) = accepted[index % accepted.len()].lock()
                {
                    sockets.push(stream);
                }
            }
        })?;
        let mut senders = Vec::new();
        for shard in shards {
            let (sender, receiver) = std::sync::mpsc::channel::<Arc<str>>();
            senders.push(sender);
            std::thread::Builder::new().name("floor-fanout".to_owned()).spawn(move || {
                while let Ok(first) = receiver.recv() {
                    let mut frames = Vec::new();
                    for payload in std::iter::once(first).chain(receiver.try_iter()) {
                        frames.extend(text_frame(&format!(r#"["1",null,"prices:MOCKAAPL","price_update",{payload}]"#)));
                    }
                    let Ok(mut sockets) = shard.lock() else { return };
                    sockets.retain_mut(|socket| socket.write_all(&frames).is_ok());
                }
            })?;
        }
        let (updates, receiver) = std::sync::mpsc::channel::<String>();
        std::thread::Builder::new().name("floor-publish".to_owned()).spawn(move || {
            while let Ok(payload) = receiver.recv() {
                let payload: Arc<str> = payload.into();
                for sender in &senders {
                    let _ = sender.send(Arc::clone(&payload));
                }
            }
        })?;
        Ok(Self { address, updates })
    }
}

/// Answers a client's upgrade request, then its join (a masked frame: 6 header bytes and
/// a short text). False when the client went away.
fn floor_handshake(stream: &mut std::net::TcpStream) -> std::io::Result<bool> {
    use std::io::{Read, Write};
    let mut buffer = Vec::new();
    let mut chunk = [0_u8; 2048];
    let head_length = loop {
        if let Some(end) = head_end(&buffer) {
            break end;
        }
        let read = stream.read(&mut chunk)?;
        if read == 0 {
            return Ok(false);
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    stream.set_nodelay(true)?;
    stream.write_all(
        b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
    )?;
    buffer.drain(..head_length);
    while buffer.len() < 6 || buffer.len() < 6 + usize::from(buffer[1] & 0x7f) {
        let read = stream.read(&mut chunk)?;
        if read == 0 {
            return Ok(false);
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
    stream.write_all(&text_frame(r#"["1","1","prices:MOCKAAPL","phx_reply",{"status":"ok","response":{}}]"#))?;
    Ok(true)
}

/// An unmasked (server) text frame.
fn text_frame(text: &str) -> Vec<u8> {
    let mut frame = vec![0x81];
    match text.len() {
        length @ 0..126 => frame.push(length as u8),
        length @ 126..65_536 => {
            frame.push(126);
            frame.extend((length as u16).to_be_bytes());
        }
        length => {
            frame.push(127);
            frame.extend((length as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(text.as_bytes());
    frame
}

/// A WebSocket client that reads server frames straight from the socket (the load
/// generator shares the machine with the server, so it must cost far less than it).
struct RawWsClient {
    stream: tokio::net::TcpStream,
    buffer: Vec<u8>,
    /// Where the unread part of `buffer` starts.
    start: usize,
}

impl RawWsClient {
    async fn connect(address: std::net::SocketAddr, path: &str) -> anyhow::Result<Self> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(address).await.context("connecting")?;
        stream.set_nodelay(true)?;
        let request = format!(
            "GET {path} HTTP/1.1\r\nhost: {address}\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\
             sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await?;
        let mut buffer = Vec::with_capacity(64 * 1024);
        let head_length = loop {
            if let Some(end) = head_end(&buffer) {
                break end;
            }
            let mut chunk = [0_u8; 1024];
            let read = stream.read(&mut chunk).await?;
            anyhow::ensure!(read > 0, "closed during the handshake");
            buffer.extend_from_slice(&chunk[..read]);
        };
        anyhow::ensure!(buffer.starts_with(b"HTTP/1.1 101"), "no upgrade: {}", String::from_utf8_lossy(&buffer[..head_length]));
        Ok(Self { stream, buffer, start: head_length })
    }

    /// Sends a text frame, masked as clients must (with a zero key, which RFC 6455 allows).
    async fn send_text(&mut self, text: &str) -> anyhow::Result<()> {
        use tokio::io::AsyncWriteExt;
        anyhow::ensure!(text.len() < 126, "short frames only");
        let mut frame = vec![0x81, 0x80 | text.len() as u8, 0, 0, 0, 0];
        frame.extend_from_slice(text.as_bytes());
        self.stream.write_all(&frame).await?;
        Ok(())
    }

    /// The next text frame's payload; `None` when the server closed.
    async fn next_text(&mut self) -> anyhow::Result<Option<String>> {
        use tokio::io::AsyncReadExt;
        loop {
            if let Some((opcode, payload)) = next_frame(&self.buffer[self.start..])? {
                let (header, length) = payload;
                let body = &self.buffer[self.start + header..self.start + header + length];
                let text = (opcode == 1).then(|| String::from_utf8_lossy(body).into_owned());
                self.start += header + length;
                match opcode {
                    1 => return Ok(text),
                    8 => return Ok(None),
                    _ => continue,
                }
            }
            // Keep the unread tail, then read whatever is waiting (often many frames).
            self.buffer.drain(..self.start);
            self.start = 0;
            // Into spare capacity, without zeroing it first.
            self.buffer.reserve(16 * 1024);
            let read = self.stream.read_buf(&mut self.buffer).await?;
            if read == 0 {
                return Ok(None);
            }
        }
    }
}

/// The opcode, header length and payload length of the unmasked frame `bytes` starts
/// with, once all of it is there.
fn next_frame(bytes: &[u8]) -> anyhow::Result<Option<(u8, (usize, usize))>> {
    if bytes.len() < 2 {
        return Ok(None);
    }
    anyhow::ensure!(bytes[1] & 0x80 == 0, "servers do not mask frames");
    let (header, length) = match bytes[1] & 0x7f {
        126 if bytes.len() >= 4 => (4, usize::from(u16::from_be_bytes([bytes[2], bytes[3]]))),
        127 if bytes.len() >= 10 => (10, usize::try_from(u64::from_be_bytes(bytes[2..10].try_into()?))?),
        126 | 127 => return Ok(None),
        short => (2, usize::from(short)),
    };
    Ok((bytes.len() >= header + length).then_some((bytes[0] & 0x0f, (header, length))))
}

/// `tradecraft serve` on a thread and runtime of its own, so load generated on another
/// runtime in the same process reaches it over real sockets.
struct InProcessServer {
    address: std::net::SocketAddr,
    /// The operator key the load generator authenticates with.
    admin_key: String,
    pushes: tradecraft_api::ws::Pushes,
    stop: tokio::sync::oneshot::Sender<()>,
    thread: std::thread::JoinHandle<anyhow::Result<()>>,
}

impl InProcessServer {
    fn start(dir: &std::path::Path, simulate_market: bool, log: Option<&str>) -> anyhow::Result<Self> {
        let log_url = tradecraft::server::log_url(dir, log);
        let (ready_sender, ready_receiver) = std::sync::mpsc::channel();
        let (stop, stop_receiver) = tokio::sync::oneshot::channel::<()>();
        let server_dir = dir.to_path_buf();
        let admin_key = tradecraft_api::auth::random_token(24);
        let key = admin_key.clone();
        let thread = std::thread::spawn(move || -> anyhow::Result<()> {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).thread_name("server").enable_all().build()?;
            runtime.block_on(async move {
                // Rate limits as `serve` sets them; the load generator's operator key is exempt.
                let mut config = tradecraft::server::ServerConfig::embedded(&server_dir);
                config.address = "127.0.0.1:0".parse()?;
                config.simulate_market = simulate_market;
                config.log_url = log_url;
                config.admin_key = Some(key);
                let exchange = tradecraft::server::start(config).await?;
                let _ = ready_sender.send((exchange.address(), exchange.pushes().clone()));
                exchange
                    .run(async move {
                        let _ = stop_receiver.await;
                    })
                    .await
            })
        });
        let (address, pushes) = ready_receiver.recv_timeout(Duration::from_secs(60)).context("the server did not start")?;
        let address = address.context("the server serves no HTTP")?;
        Ok(Self { address, admin_key, pushes, stop, thread })
    }

    fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.thread.join().map_err(|_| anyhow::anyhow!("server thread panicked"))?
    }
}

fn run_http(args: &HttpArgs) -> anyhow::Result<()> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    anyhow::ensure!(args.connections > 0 && args.seconds > 0, "--connections and --seconds must be positive");
    let dir = args.dir.join(format!("run-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let processes = args.deployment == "processes";
    // The servers: in this process (logging as `serve` does, to a file), or processes.
    let (server, mut cluster, _logs) = if processes {
        let mut cluster = crate::bench_cluster::Cluster::new(&args.cluster, &dir)?;
        cluster.start("engine", "engine,market")?;
        if !args.no_standby {
            cluster.start("standby", "engine")?;
        }
        let gateways = [cluster.start("gateway-1", "gateway")?, cluster.start("gateway-2", "gateway")?];
        cluster.start("projector", "projector")?;
        let gateways = gateways.into_iter().collect::<Option<Vec<_>>>().context("the gateways serve HTTP")?;
        (None, Some((cluster, gateways)), None)
    } else {
        let logs = crate::logging::install(std::fs::File::create(dir.join("server.log"))?)?;
        (Some(InProcessServer::start(&dir, true, args.log.as_deref())?), None, Some(logs))
    };
    let (addresses, admin_key) = match (&server, &cluster) {
        (Some(server), _) => (vec![server.address], server.admin_key.clone()),
        (None, Some((cluster, gateways))) => (gateways.clone(), cluster.admin_key.clone()),
        (None, None) => anyhow::bail!("no server"),
    };
    let base = format!("http://{}", addresses[0]);
    let probe = cluster.as_ref().map(|(cluster, _)| crate::bench_cluster::FillProbe::start(&cluster.log_url)).transpose()?;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).thread_name("loadgen").enable_all().build()?;
    let (histogram, accepted, failed, elapsed, cpu) = runtime.block_on(async {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-api-key", reqwest::header::HeaderValue::from_str(&admin_key)?);
        let client = reqwest::Client::builder().pool_max_idle_per_host(args.connections).default_headers(headers).build()?;
        let mut users = Vec::new();
        for _ in 0..args.connections.min(64) + 1 {
            let response: Value = client.post(format!("{base}/v1/accounts")).json(&json!({"cash": "1000000000"})).send().await?.json().await?;
            users.push(response["userId"].as_str().context("account id")?.to_owned());
        }
        let probe_user = users.pop().context("the probe's account")?;
        // Every gateway knows every account before the load starts.
        for address in &addresses {
            while client.get(format!("http://{address}/v1/portfolio/{probe_user}")).send().await?.status() != 200 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        let accepted = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let deadline = Instant::now() + Duration::from_secs(args.seconds);
        let started = Instant::now();
        let cpu_before = machine::thread_cpu_ticks();
        let probing = probe.as_ref().map(|probe| probe.probe(client.clone(), base.clone(), probe_user.clone(), Duration::from_millis(20), deadline));
        let tasks: Vec<_> = (0..args.connections)
            .map(|connection| {
                let user = users[connection % users.len()].clone();
                let address = addresses[connection % addresses.len()];
                let (accepted, failed) = (Arc::clone(&accepted), Arc::clone(&failed));
                let admin_key = admin_key.clone();
                tokio::spawn(async move {
                    let mut histogram = new_histogram()?;
                    // Resting limit buys well under the market: every one is a durable,
                    // engine-checked acceptance, and liquidity never runs out.
                    let body = json!({"userId": user, "symbol": "MOCKAAPL", "quantity": "1", "side": "BUY", "type": "LIMIT", "limitPrice": "50"});
                    let mut client = RawHttpClient::connect(address, "POST", "/v1/orders", &admin_key, &body.to_string()).await?;
                    while Instant::now() < deadline {
                        let begun = Instant::now();
                        let status = client.send().await;
                        histogram.saturating_record(begun.elapsed().as_nanos() as u64);
                        match status {
                            Ok(202) => accepted.fetch_add(1, Ordering::Relaxed),
                            Ok(_) => failed.fetch_add(1, Ordering::Relaxed),
                            Err(error) => {
                                failed.fetch_add(1, Ordering::Relaxed);
                                return Err(error);
                            }
                        };
                    }
                    anyhow::Ok(histogram)
                })
            })
            .collect();
        if let Some(probing) = probing {
            probing.await?;
        }
        let mut histogram = new_histogram()?;
        for task in tasks {
            histogram.add(task.await??).context("merging histograms")?;
        }
        let accepted = accepted.load(Ordering::Relaxed);
        let cpu = machine::cpu_us_per(&cpu_before, &machine::thread_cpu_ticks(), accepted);
        anyhow::Ok((histogram, accepted, failed.load(Ordering::Relaxed), started.elapsed(), cpu))
    })?;
    let post_to_fill = probe.map(crate::bench_cluster::FillProbe::finish);
    if let Some(server) = server {
        server.stop()?;
    }
    let cluster_cpu = cluster.as_mut().map(|(cluster, _)| cluster.cpu_seconds());
    drop(cluster);
    let _ = std::fs::remove_dir_all(&dir);
    let on_kafka = processes || args.log.as_deref().is_some_and(|log| log.starts_with("kafka://"));
    emit(&json!({
        "bench": "http",
        "deployment": args.deployment,
        "gateways": addresses.len(),
        "standby": processes && !args.no_standby,
        "post_to_fill_ns": post_to_fill,
        "process_cpu_seconds": cluster_cpu,
        "log": if on_kafka { "kafka" } else { "file" },
        "connections": args.connections,
        "seconds": elapsed.as_secs_f64(),
        "accepted": accepted,
        "failed": failed,
        "accepted_per_s": (accepted as f64 / elapsed.as_secs_f64()).round(),
        "latency_ns": {
            "p50": histogram.value_at_quantile(0.50),
            "p95": histogram.value_at_quantile(0.95),
            "p99": histogram.value_at_quantile(0.99),
            "p99_9": histogram.value_at_quantile(0.999),
            "max": histogram.max(),
        },
        // Durable before the 202: fsynced on the file journal; on Kafka, acknowledged by
        // every in-sync replica (acks=all).
        "durability": if on_kafka { "acks=all" } else { "fsync" },
        // CPU microseconds per accepted order, by thread: where the machine's time went.
        "cpu_us_per_order": cpu,
        "machine": machine::describe(),
    }));
    Ok(())
}

/// A keep-alive HTTP/1.1 connection that sends one prepared request again and again and
/// reads each response's status and body: the load generator shares the machine with the
/// server, so it does no more per request than `wrk` would (no header maps, no pool).
struct RawHttpClient {
    stream: tokio::net::TcpStream,
    request: Vec<u8>,
    buffer: Vec<u8>,
}

impl RawHttpClient {
    async fn connect(address: std::net::SocketAddr, method: &str, path: &str, api_key: &str, body: &str) -> anyhow::Result<Self> {
        let stream = tokio::net::TcpStream::connect(address).await.context("connecting")?;
        stream.set_nodelay(true)?;
        let request = format!(
            "{method} {path} HTTP/1.1\r\nhost: {address}\r\nx-api-key: {api_key}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes();
        Ok(Self { stream, request, buffer: Vec::with_capacity(4096) })
    }

    /// Sends the request and returns the response's status once its whole body arrived.
    async fn send(&mut self) -> anyhow::Result<u16> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        self.stream.write_all(&self.request).await.context("sending")?;
        self.buffer.clear();
        loop {
            if let Some((status, length)) = parse_response_head(&self.buffer)?
                && self.buffer.len() >= length
            {
                return Ok(status);
            }
            let mut chunk = [0_u8; 4096];
            let read = self.stream.read(&mut chunk).await.context("receiving")?;
            anyhow::ensure!(read > 0, "the server closed the connection");
            self.buffer.extend_from_slice(&chunk[..read]);
        }
    }
}

/// The status and the total length (head and body) of a response whose head is complete.
fn parse_response_head(buffer: &[u8]) -> anyhow::Result<Option<(u16, usize)>> {
    let Some(end) = head_end(buffer) else {
        return Ok(None);
    };
    let head = std::str::from_utf8(&buffer[..end - 4]).context("response head")?;
    let mut lines = head.split("\r\n");
    let status = lines.next().and_then(|line| line.split(' ').nth(1)).and_then(|code| code.parse().ok()).context("status line")?;
    let length = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<usize>().ok())
        .context("a response without content-length")?;
    Ok(Some((status, end + length)))
}

/// Where an HTTP head that `buffer` starts with ends (after its blank line), once it is there.
fn head_end(buffer: &[u8]) -> Option<usize> {
    buffer.windows(4).position(|window| window == b"\r\n\r\n").map(|end| end + 4)
}

fn run_log(args: &LogArgs) -> anyhow::Result<()> {
    use std::sync::Arc;
    use tradecraft_log::{EventLog, FileLog, FileLogConfig, Record};
    anyhow::ensure!(args.producers > 0, "--producers must be positive");
    let dir = args.dir.join(format!("run-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let log = Arc::new(FileLog::open(FileLogConfig::new(&dir)).context("opening the bench log")?);
    log.create_topic("trade_orders", 4).context("creating topic")?;
    let per_producer = args.records / args.producers;
    let start = Instant::now();
    let workers: Vec<_> = (0..args.producers)
        .map(|producer| {
            let log = Arc::clone(&log);
            let value = vec![b'x'; args.value_bytes];
            std::thread::spawn(move || -> anyhow::Result<Histogram<u64>> {
                let mut histogram = new_histogram()?;
                for sequence in 0..per_producer {
                    let record = Record { key: Some(format!("account-{producer}").into_bytes()), value: value.clone(), timestamp_ms: sequence as i64 };
                    let begun = Instant::now();
                    log.append("trade_orders", vec![record]).context("append")?;
                    histogram.saturating_record(begun.elapsed().as_nanos() as u64);
                }
                Ok(histogram)
            })
        })
        .collect();
    let mut histogram = new_histogram()?;
    for worker in workers {
        let worker_histogram = worker.join().map_err(|_| anyhow::anyhow!("producer thread panicked"))??;
        histogram.add(worker_histogram).context("merging histograms")?;
    }
    let elapsed = start.elapsed();
    let metrics = log.metrics();
    drop(log);
    let reopened = Instant::now();
    let log = FileLog::open(FileLogConfig::new(&dir)).context("reopening the bench log")?;
    let recovery = reopened.elapsed();
    let stored: u64 = (0..4).map(|partition| log.end_offset("trade_orders", partition).unwrap_or_default()).sum();
    drop(log);
    let _ = std::fs::remove_dir_all(&dir);
    let appended = (per_producer * args.producers) as u64;
    anyhow::ensure!(stored == appended, "reopened log holds {stored} records, not {appended}");
    emit(&json!({
        "bench": "log",
        "producers": args.producers,
        "records": appended,
        "value_bytes": args.value_bytes,
        "seconds": elapsed.as_secs_f64(),
        "appends_per_s": (appended as f64 / elapsed.as_secs_f64()).round(),
        "append_latency_ns": {
            "p50": histogram.value_at_quantile(0.50),
            "p99": histogram.value_at_quantile(0.99),
            "p99_9": histogram.value_at_quantile(0.999),
            "max": histogram.max(),
        },
        "group_commits": metrics.batches,
        "records_per_commit": appended as f64 / metrics.batches.max(1) as f64,
        "fsyncs": metrics.fsyncs,
        "fsync_ms_mean": metrics.fsync_nanos_total as f64 / 1e6 / metrics.fsyncs.max(1) as f64,
        "recovery_seconds": recovery.as_secs_f64(),
        "recovered_records_per_s": (appended as f64 / recovery.as_secs_f64()).round(),
        "machine": machine::describe(),
    }));
    Ok(())
}

/// Spins reading the clock and records every gap between consecutive reads. On an idle
/// core the gaps are the clock's own cost; longer ones are time the thread did not run.
fn run_jitter(args: &JitterArgs) -> anyhow::Result<()> {
    let mut histogram = new_histogram()?;
    let duration = Duration::from_secs(args.seconds);
    let (mut stalls, mut stalled_ns, mut reads) = (0_u64, 0_u64, 0_u64);
    let start = Instant::now();
    let mut previous = start;
    while previous - start < duration {
        let now = Instant::now();
        let gap_ns = (now - previous).as_nanos() as u64;
        histogram.saturating_record(gap_ns.max(1));
        if gap_ns >= args.stall_ns {
            stalls += 1;
            stalled_ns += gap_ns;
        }
        reads += 1;
        previous = now;
    }
    let seconds = (previous - start).as_secs_f64();
    emit(&json!({
        "bench": "jitter",
        "seconds": seconds,
        "clock_reads": reads,
        "stall_threshold_ns": args.stall_ns,
        "stalls": stalls,
        "stalls_per_s": (stalls as f64 / seconds).round(),
        "stalled_fraction": stalled_ns as f64 / 1e9 / seconds,
        "gap_ns": {
            "p50": histogram.value_at_quantile(0.50),
            "p99_99": histogram.value_at_quantile(0.9999),
            "max": histogram.max(),
        },
        "machine": machine::describe(),
    }));
    Ok(())
}

/// Prints one JSON object as a line: the benchmark's machine-readable output.
pub(crate) fn emit(line: &Value) {
    #[allow(clippy::print_stdout)] // the benchmark's output is its stdout
    {
        println!("{line}");
    }
}

fn run_engine(args: &EngineArgs) -> anyhow::Result<()> {
    if args.workload == Workload::Memory {
        return run_memory(args);
    }
    let workload = match args.workload {
        Workload::Liquibook => liquibook(args.seed, args.ops.unwrap_or(2_000_000)),
        Workload::ExchangeCore => exchange_core(args.seed, args.ops.unwrap_or(3_000_000)),
        Workload::Memory => unreachable!("handled above"),
    };
    anyhow::ensure!(args.rate > 0, "--rate must be positive");
    let (mut throughput_runs, mut open_loop_runs) = (Vec::new(), Vec::new());
    for run in 1..=args.runs {
        if args.mode != Mode::OpenLoop {
            let measured = measure_throughput(&workload)?;
            let line = report(args, run, "throughput", None, &measured);
            emit(&line);
            throughput_runs.push(line);
        }
        if args.workload == Workload::ExchangeCore && args.mode != Mode::Throughput {
            let measured = measure_open_loop(&workload, args.rate)?;
            let line = report(args, run, "open-loop", Some(args.rate), &measured);
            emit(&line);
            open_loop_runs.push(line);
        }
    }
    for (mode, runs) in [("throughput", &throughput_runs), ("open-loop", &open_loop_runs)] {
        if runs.len() > 1 {
            emit(&summary(args, mode, runs));
        }
    }
    Ok(())
}

/// Median, minimum and maximum over runs: this VM's run-to-run spread is wide.
fn summary(args: &EngineArgs, mode: &str, runs: &[Value]) -> Value {
    let sorted = |pointer: &str| {
        let mut values: Vec<f64> = runs.iter().filter_map(|run| run.pointer(pointer)?.as_f64()).collect();
        values.sort_by(f64::total_cmp);
        values
    };
    let stats = |pointer: &str| {
        let values = sorted(pointer);
        json!({
            "median": values.get(values.len() / 2),
            "min": values.first(),
            "max": values.last(),
        })
    };
    json!({
        "bench": "engine",
        "workload": args.workload.name(),
        "mode": mode,
        "summary": true,
        "runs": runs.len(),
        "ops_per_s": stats("/ops_per_s"),
        "latency_ns_p50": stats("/latency_ns/p50"),
        "latency_ns_p99": stats("/latency_ns/p99"),
        "latency_ns_p99_9": stats("/latency_ns/p99_9"),
        "latency_ns_p99_99": stats("/latency_ns/p99_99"),
        "machine": machine::describe(),
    })
}

/// Commands to prepare a fresh engine, then the measured operations.
struct Prepared {
    setup: Vec<Command>,
    operations: Vec<Command>,
    /// Open orders the workload can reach: the engine's sizing hint.
    order_capacity: usize,
}

struct Measured {
    elapsed: Duration,
    /// Duration of the same operations applied with no clock reads in the loop.
    untimed: Option<Duration>,
    histogram: Histogram<u64>,
    trades: u64,
    events: u64,
    resting_orders: usize,
}

fn new_histogram() -> anyhow::Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).context("creating latency histogram")
}

fn prepared_engine(workload: &Prepared) -> anyhow::Result<Engine> {
    let mut engine = Engine::new(EngineConfig { order_capacity: workload.order_capacity, ..EngineConfig::default() });
    let mut events = Vec::new();
    for command in &workload.setup {
        events.clear();
        engine.apply(command, 0, &mut events);
        if let Some(rejection) = events.iter().find(|event| matches!(event, Event::CommandRejected { .. } | Event::OrderRejected { .. })) {
            anyhow::bail!("benchmark setup was rejected: {rejection:?}");
        }
    }
    Ok(engine)
}

fn count_trades(events: &[Event]) -> u64 {
    events.iter().filter(|event| matches!(event, Event::Trade(_))).count() as u64
}

/// Applies every operation with no clock read inside the loop.
fn measure_untimed(workload: &Prepared) -> anyhow::Result<Duration> {
    let mut engine = prepared_engine(workload)?;
    let mut events = Vec::with_capacity(64);
    let start = Instant::now();
    for (index, command) in workload.operations.iter().enumerate() {
        events.clear();
        engine.apply(command, index as u64, &mut events);
    }
    let elapsed = start.elapsed();
    std::hint::black_box(&engine);
    Ok(elapsed)
}

fn measure_throughput(workload: &Prepared) -> anyhow::Result<Measured> {
    let untimed = measure_untimed(workload)?;
    let mut engine = prepared_engine(workload)?;
    let mut histogram = new_histogram()?;
    let mut events = Vec::with_capacity(64);
    let (mut trades, mut event_count) = (0, 0);
    let start = Instant::now();
    let mut previous = start;
    for (index, command) in workload.operations.iter().enumerate() {
        events.clear();
        engine.apply(command, index as u64, &mut events);
        let now = Instant::now();
        histogram.saturating_record((now - previous).as_nanos() as u64);
        previous = now;
        trades += count_trades(&events);
        event_count += events.len() as u64;
    }
    let elapsed = start.elapsed();
    let resting_orders = engine.open_order_count();
    Ok(Measured { elapsed, untimed: Some(untimed), histogram, trades, events: event_count, resting_orders })
}

fn measure_open_loop(workload: &Prepared, rate: u64) -> anyhow::Result<Measured> {
    let mut engine = prepared_engine(workload)?;
    let mut histogram = new_histogram()?;
    let mut events = Vec::with_capacity(64);
    let (mut trades, mut event_count) = (0, 0);
    let start = Instant::now();
    for (index, command) in workload.operations.iter().enumerate() {
        let scheduled_ns = (index as u128 * 1_000_000_000 / u128::from(rate)) as u64;
        while (start.elapsed().as_nanos() as u64) < scheduled_ns {
            std::hint::spin_loop();
        }
        events.clear();
        engine.apply(command, index as u64, &mut events);
        let done_ns = start.elapsed().as_nanos() as u64;
        histogram.saturating_record(done_ns.saturating_sub(scheduled_ns).max(1));
        trades += count_trades(&events);
        event_count += events.len() as u64;
    }
    let elapsed = start.elapsed();
    let resting_orders = engine.open_order_count();
    Ok(Measured { elapsed, untimed: None, histogram, trades, events: event_count, resting_orders })
}

fn report(args: &EngineArgs, run: usize, mode: &str, rate: Option<u64>, measured: &Measured) -> Value {
    let operations = measured.histogram.len();
    let timed_seconds = measured.elapsed.as_secs_f64();
    let seconds = measured.untimed.map_or(timed_seconds, |untimed| untimed.as_secs_f64());
    let histogram = &measured.histogram;
    json!({
        "bench": "engine",
        "workload": args.workload.name(),
        "mode": mode,
        "run": run,
        "seed": args.seed,
        "ops": operations,
        "seconds": seconds,
        "ops_per_s": (operations as f64 / seconds).round(),
        "timed_ops_per_s": (operations as f64 / timed_seconds).round(),
        "arrival_rate_per_s": rate,
        "latency_ns": {
            "p50": histogram.value_at_quantile(0.50),
            "p99": histogram.value_at_quantile(0.99),
            "p99_9": histogram.value_at_quantile(0.999),
            "p99_99": histogram.value_at_quantile(0.9999),
            "max": histogram.max(),
        },
        "trades": measured.trades,
        "events": measured.events,
        "resting_orders_after": measured.resting_orders,
        "machine": machine::describe(),
    })
}

/// SplitMix64, so every run of a seed generates the same workload.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: u64) -> i64 {
        (self.next() % bound) as i64
    }
}

fn bench_symbol(index: usize) -> Symbol {
    Symbol::new(&format!("BENCH{index}")).unwrap_or_else(|_| unreachable!("bench symbols are valid"))
}

fn listing(symbol: Symbol, tick: Price) -> Command {
    Command::ListInstrument(InstrumentSpec {
        symbol,
        tick_size: tick,
        lot_size: Quantity::from_units(1),
        min_quantity: Quantity::from_units(1),
        price_band_bps: 500,
    })
}

/// Accounts 1..=count, each funded with `cash` and `shares` of every symbol.
fn funded_accounts(count: u64, cash: Money, shares: Quantity, symbols: &[Symbol], commands: &mut Vec<Command>) {
    let mut transaction = 0;
    for account in 1..=count {
        let account = AccountId(account);
        commands.push(Command::CreateAccount { account, kind: AccountKind::Cash, deposit: None });
        let amounts = std::iter::once(Amount::Cash(cash)).chain(symbols.iter().map(|&symbol| Amount::Shares(symbol, shares)));
        for amount in amounts {
            transaction += 1;
            commands.push(Command::Deposit { account, transaction: TransactionId(transaction), amount });
        }
    }
}

fn limit_order(order_id: u64, account: AccountId, symbol: Symbol, side: Side, price: i64, quantity: i64, time_in_force: TimeInForce) -> Command {
    Command::PlaceOrder(NewOrder {
        order_id: OrderId(order_id),
        account,
        symbol,
        side,
        kind: OrderKind::Limit { price: Price::from_raw(price) },
        size: OrderSize::Quantity(Quantity::from_units(quantity)),
        time_in_force,
        post_only: false,
        client_order_id: None,
        self_trade_prevention: None,
    })
}

fn liquibook(seed: u64, count: usize) -> Prepared {
    let symbol = bench_symbol(0);
    let mut setup = vec![listing(symbol, Price::from_units(1))];
    // Half the orders rest and stay: fund every account for its share of them.
    funded_accounts(1_000, Money::from_units(20_000_000_000), Quantity::from_units(10_000_000), &[symbol], &mut setup);
    let mut random = Random(seed);
    let operations = (0..count)
        .map(|index| {
            let (side, base) = if index % 2 == 0 { (Side::Buy, 1880) } else { (Side::Sell, 1884) };
            let price = Price::from_units(base + random.below(10)).raw();
            let quantity = (random.below(10) + 1) * 100;
            let account = AccountId(1 + random.below(1_000) as u64);
            limit_order(index as u64 + 1, account, symbol, side, price, quantity, TimeInForce::GoodTillCancel)
        })
        .collect();
    Prepared { setup, operations, order_capacity: count }
}

/// Live orders of the generator's model book, with O(1) random pick and removal.
#[derive(Default)]
struct LiveOrders {
    orders: Vec<(OrderId, AccountId, Side, i64)>,
    position: HashMap<OrderId, usize>,
}

impl LiveOrders {
    fn insert(&mut self, order: (OrderId, AccountId, Side, i64)) {
        self.position.insert(order.0, self.orders.len());
        self.orders.push(order);
    }

    fn remove(&mut self, order_id: OrderId) {
        if let Some(index) = self.position.remove(&order_id) {
            self.orders.swap_remove(index);
            if let Some(moved) = self.orders.get(index) {
                self.position.insert(moved.0, index);
            }
        }
    }

    fn set_price(&mut self, order_id: OrderId, price: i64) {
        if let Some(&index) = self.position.get(&order_id) {
            self.orders[index].3 = price;
        }
    }

    fn pick(&self, random: &mut Random) -> Option<(OrderId, AccountId, Side, i64)> {
        (!self.orders.is_empty()).then(|| self.orders[random.below(self.orders.len() as u64) as usize])
    }
}

/// exchange-core's benchmark shape: one book of about 1,000 orders over about 750 levels,
/// 1,000 accounts, and 9% GTC / 3% IOC / 6% cancel / 82% move. A model engine runs while
/// generating so cancels and moves target orders that are really live.
fn exchange_core(seed: u64, count: usize) -> Prepared {
    const TICK: i64 = 100; // 0.01
    const CENTER: i64 = 1_000_000; // 100.00
    const HALF_WIDTH_TICKS: i64 = 375;
    const ACCOUNTS: u64 = 1_000;
    let symbol = bench_symbol(0);
    let mut random = Random(seed);
    let mut setup = vec![listing(symbol, Price::from_raw(TICK))];
    funded_accounts(ACCOUNTS, Money::from_units(1_000_000_000), Quantity::from_units(100_000_000), &[symbol], &mut setup);
    let mut next_id = 1_u64;
    let resting_price = |random: &mut Random, side: Side| {
        let offset = (1 + random.below(HALF_WIDTH_TICKS as u64)) * TICK;
        match side {
            Side::Buy => CENTER - offset,
            Side::Sell => CENTER + offset,
        }
    };
    let random_side = |random: &mut Random| if random.below(2) == 0 { Side::Buy } else { Side::Sell };
    for _ in 0..1_000 {
        let side = random_side(&mut random);
        let price = resting_price(&mut random, side);
        let account = AccountId(1 + random.below(ACCOUNTS) as u64);
        setup.push(limit_order(next_id, account, symbol, side, price, 1 + random.below(100), TimeInForce::GoodTillCancel));
        next_id += 1;
    }

    let mut model = Engine::new(EngineConfig::default());
    let mut live = LiveOrders::default();
    let mut events = Vec::new();
    let track = |model: &mut Engine, live: &mut LiveOrders, command: &Command, events: &mut Vec<Event>| {
        events.clear();
        model.apply(command, 0, events);
        for event in events.iter() {
            match event {
                Event::OrderAccepted(order) => {
                    if let (OrderKind::Limit { price }, TimeInForce::GoodTillCancel) = (order.kind, order.time_in_force) {
                        live.insert((order.order_id, order.account, order.side, price.raw()));
                    }
                }
                Event::OrderReplaced { order_id, price: Some(price), .. } => live.set_price(*order_id, price.raw()),
                Event::OrderDone { order_id, .. } => live.remove(*order_id),
                _ => {}
            }
        }
    };
    for command in &setup {
        track(&mut model, &mut live, command, &mut events);
    }
    let mut operations = Vec::with_capacity(count);
    while operations.len() < count {
        let roll = random.below(100);
        let command = if roll < 9 || live.orders.is_empty() {
            let side = random_side(&mut random);
            let price = resting_price(&mut random, side);
            let account = AccountId(1 + random.below(ACCOUNTS) as u64);
            next_id += 1;
            limit_order(next_id, account, symbol, side, price, 1 + random.below(100), TimeInForce::GoodTillCancel)
        } else if roll < 12 {
            // IOC that crosses into the opposite best by a few ticks.
            let side = random_side(&mut random);
            let best = model.best_bid_offer(symbol).and_then(|(bid, ask)| if side == Side::Buy { ask } else { bid }).map_or(CENTER, |level| level.price.raw());
            let reach = random.below(5) * TICK;
            let price = if side == Side::Buy { best + reach } else { best - reach };
            let account = AccountId(1 + random.below(ACCOUNTS) as u64);
            next_id += 1;
            // GTC places add 9% and cancels remove 6%: IOCs take the rest, sized by how far
            // the book is from its target of about 1,000 orders.
            let quantity = if live.orders.len() > 1_000 { 100 + random.below(300) } else { 1 + random.below(100) };
            limit_order(next_id, account, symbol, side, price, quantity, TimeInForce::ImmediateOrCancel)
        } else if let Some((order_id, account, _, price)) = live.pick(&mut random) {
            if roll < 18 {
                Command::CancelOrder { account, order_id }
            } else {
                let delta = (random.below(21) - 10) * TICK;
                let moved = (price + if delta == 0 { TICK } else { delta }).clamp(CENTER - HALF_WIDTH_TICKS * TICK, CENTER + HALF_WIDTH_TICKS * TICK);
                Command::ReplaceOrder {
                    account,
                    order_id,
                    quantity: None,
                    price: Some(Price::from_raw(moved)),
                    stop_price: None,
                    trail: None,
                    client_order_id: None,
                    time_in_force: None,
                }
            }
        } else {
            continue;
        };
        track(&mut model, &mut live, &command, &mut events);
        operations.push(command);
    }
    Prepared { setup, operations, order_capacity: 4_096 }
}

/// Inserts resting orders over many symbols (generated on the fly, so only the engine's
/// own memory grows) and reports resident memory.
fn run_memory(args: &EngineArgs) -> anyhow::Result<()> {
    const SYMBOLS: usize = 1_000;
    const TICK: i64 = 100;
    const CENTER: i64 = 1_000_000;
    let orders = args.ops.unwrap_or(1_000_000);
    let symbols: Vec<Symbol> = (0..SYMBOLS).map(bench_symbol).collect();
    let mut setup: Vec<Command> = symbols.iter().map(|&symbol| listing(symbol, Price::from_raw(TICK))).collect();
    // 100 traders, each funded in every symbol: the setup itself stays small (100k
    // holdings), so the figure is about the orders.
    const ACCOUNTS: u64 = 100;
    funded_accounts(ACCOUNTS, Money::from_units(10_000_000_000), Quantity::from_units(10_000_000), &symbols, &mut setup);
    for run in 1..=args.runs {
        let workload = Prepared { setup: setup.clone(), operations: Vec::new(), order_capacity: orders };
        // Baseline before the engine exists: its preallocated order slab counts as its own.
        let before = machine::resident_bytes().context("reading /proc/self/statm")?;
        let mut engine = prepared_engine(&workload)?;
        let mut random = Random(args.seed);
        let mut events = Vec::with_capacity(8);
        let start = Instant::now();
        for index in 0..orders {
            let side = if index % 2 == 0 { Side::Buy } else { Side::Sell };
            let offset = (1 + random.below(200)) * TICK;
            let price = if side == Side::Buy { CENTER - offset } else { CENTER + offset };
            let account = AccountId(1 + random.below(ACCOUNTS) as u64);
            let symbol = symbols[index % SYMBOLS];
            let command = limit_order(index as u64 + 1, account, symbol, side, price, 1 + random.below(100), TimeInForce::GoodTillCancel);
            events.clear();
            engine.apply(&command, index as u64, &mut events);
        }
        let elapsed = start.elapsed();
        let after = machine::resident_bytes().context("reading /proc/self/statm")?;
        anyhow::ensure!(engine.open_order_count() == orders, "every order should rest");
        emit(&json!({
            "bench": "engine",
            "workload": "memory",
            "run": run,
            "orders": orders,
            "symbols": SYMBOLS,
            "accounts": ACCOUNTS,
            "resting_orders": engine.open_order_count(),
            "rss_bytes_before": before,
            "rss_bytes_after": after,
            "engine_bytes": after.saturating_sub(before),
            "bytes_per_order": after.saturating_sub(before) / orders.max(1) as u64,
            "insert_ops_per_s": (orders as f64 / elapsed.as_secs_f64()).round(),
            "machine": machine::describe(),
        }));
        drop(engine);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{next_frame, parse_response_head, text_frame};

    #[test]
    fn server_frames_of_every_length_form_read_back() {
        for length in [0, 5, 125, 126, 200, 65_535, 65_536, 70_000] {
            let text = "x".repeat(length);
            let mut bytes = text_frame(&text);
            let whole = bytes.len();
            bytes.extend(text_frame("next"));
            let (opcode, (header, payload)) = next_frame(&bytes).unwrap().unwrap();
            assert_eq!((opcode, payload, header + payload), (1, length, whole), "length {length}");
            assert_eq!(next_frame(&bytes[..whole - 1]).unwrap(), None, "a cut frame is not complete");
        }
        assert!(next_frame(&[0x81, 0x85, 0, 0, 0, 0, b'h']).is_err(), "servers do not mask");
    }

    #[test]
    fn a_response_is_complete_once_its_head_and_body_arrived() {
        let response = b"HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\nContent-Length: 5\r\n\r\n{\"a\":";
        assert_eq!(parse_response_head(&response[..20]).unwrap(), None, "the head is not complete");
        let (status, length) = parse_response_head(response).unwrap().unwrap();
        assert_eq!(status, 202);
        assert_eq!(length, response.len());
        assert!(parse_response_head(b"HTTP/1.1 200 OK\r\n\r\n").is_err(), "no content-length");
    }
}
