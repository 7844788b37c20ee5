//! Starting the exchange: one call, `start`, taking one typed `ServerConfig` (the log and
//! store URLs, the data dir for snapshots and the token key, the address, the market and who
//! may call). `tradecraft serve`, the benchmarks and the API tests all start it this way.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use tokio::sync::watch;
use tradecraft_api::{App, AppState, View};
use tradecraft_log::{Envelope, EventLog, Record};
use tradecraft_market::{HouseConfig, Session, SessionCalendar, Simulator, SimulatorConfig, quotes};
use tradecraft_sequencer::wire::{WireCommand, WireQuote};
use tradecraft_sequencer::{EngineHandle, Publish, Request, SequencerConfig, SnapshotStore, create_topics, published_progress, runtime, submit_batch};
use tradecraft_store::{ProjectionMetrics, Projector, ProjectorConfig, Store, spawn_projector};
use tradecraft_types::{Symbol, Timestamp};

/// The house account: far above any offset-assigned id.
pub const HOUSE_ACCOUNT: &str = "9000000000000000000";
/// Reference prices from the simulator (seed 000 section 4.1).
use tradecraft_events::MARKET_DATA;
/// How far back the market's history (candles, recent trades) is loaded at start-up: the
/// longest the candles keep (two years of days), and at most this many trades of it.
const MARKET_HISTORY_MS: i64 = 731 * 86_400_000;
const MARKET_HISTORY_TRADES: usize = 2_000_000;
/// Requests waiting for the engine thread before callers get 503.
const ENGINE_QUEUE_CAPACITY: usize = 4_096;
/// Partitions per output topic on the embedded journal: each touched partition costs an
/// fsync per group commit, and one process reads them all anyway. Kafka deployments use more.
const EMBEDDED_PARTITIONS: u32 = 1;

/// Snapshots: every 100,000 commands, at most one per this long.
const SNAPSHOT_MIN_INTERVAL: Duration = Duration::from_secs(10);

/// The secret that signs access tokens: `TRADECRAFT_JWT_SECRET`, or `auth.key` in the
/// data dir, created (random, owner-only) on first start so tokens survive restarts.
fn token_secret(data_dir: &Path) -> anyhow::Result<Vec<u8>> {
    if let Ok(secret) = std::env::var("TRADECRAFT_JWT_SECRET")
        && secret.len() >= 32
    {
        return Ok(secret.into_bytes());
    }
    let path = data_dir.join("auth.key");
    match std::fs::read(&path) {
        Ok(secret) if secret.len() >= 32 => Ok(secret),
        _ => {
            let secret = tradecraft_api::auth::random_token(48).into_bytes();
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&path).with_context(|| format!("creating {}", path.display()))?;
            std::io::Write::write_all(&mut file, &secret).with_context(|| format!("writing {}", path.display()))?;
            file.sync_all().with_context(|| format!("syncing {}", path.display()))?;
            Ok(secret)
        }
    }
}

/// The read store a data dir and an optional URL name.
/// The event log's URL: `--log`, or the file journal in the data dir.
pub fn log_url(data_dir: &Path, url: Option<&str>) -> String {
    url.map_or_else(|| format!("file:{}", data_dir.join("log").display()), str::to_owned)
}

/// Opens the event log a URL names: `kafka://HOST:PORT[,HOST:PORT][?prefix=NAME]` for
/// Apache Kafka (`tradecraft-log-kafka`), otherwise what `tradecraft_log::open_log` opens
/// (`file:PATH`, `memory:`).
pub fn open_log(url: &str) -> Result<Arc<dyn EventLog>, tradecraft_log::LogError> {
    if url.starts_with("kafka://") {
        let config = tradecraft_log_kafka::KafkaConfig::from_url(url)?;
        return Ok(Arc::new(tradecraft_log_kafka::KafkaLog::open(config)?));
    }
    tradecraft_log::open_log(url)
}

pub fn database_url(data_dir: &Path, url: Option<&str>) -> String {
    url.map_or_else(|| format!("sqlite:{}", data_dir.join("read.db").display()), str::to_owned)
}

fn now() -> Timestamp {
    Timestamp::from_millis(SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_millis() as i64))
}

async fn ask<T: Send + 'static>(engine: &EngineHandle, question: impl FnOnce(&tradecraft_engine::Engine) -> T + Send + 'static) -> anyhow::Result<T> {
    let (sender, receiver) = tokio::sync::oneshot::channel();
    engine
        .request(Request::Query(Box::new(move |engine| {
            let _ = sender.send(question(engine));
        })))
        .map_err(|error| anyhow::anyhow!("engine: {error}"))?;
    receiver.await.context("the engine stopped")
}

/// Lists missing instruments and funds the house, idempotently (fixed transaction ids).
/// Waits until the engine has replayed every command the log held when it opened, saying
/// how far it has got every second; fails if the engine stops on the way.
async fn wait_for_recovery(engine: &EngineHandle) -> anyhow::Result<()> {
    let status = engine.status();
    let started = std::time::Instant::now();
    let mut last_report = started;
    while !status.recovered.load(Ordering::SeqCst) {
        if status.halted.load(Ordering::SeqCst) {
            let failure = status.failure.lock().ok().and_then(|failure| failure.clone()).unwrap_or_default();
            anyhow::bail!(
                "damage found while recovering; nothing was served or appended: {failure}. \
                 Options: restore the data directory from a backup; `tradecraft verify DATA_DIR` reports every damaged record"
            );
        }
        if last_report.elapsed() >= Duration::from_secs(1) {
            last_report = std::time::Instant::now();
            tracing::info!(
                applied = status.next_command.load(Ordering::Relaxed),
                target = status.recovering_to.load(Ordering::Relaxed),
                seconds = started.elapsed().as_secs(),
                "replaying the event log"
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tracing::info!(commands = status.next_command.load(Ordering::Relaxed), milliseconds = started.elapsed().as_millis() as u64, "engine recovered");
    Ok(())
}

async fn bootstrap(log: &Arc<dyn EventLog>, engine: &EngineHandle, simulator: &Simulator, producer: &str) -> anyhow::Result<()> {
    let listed: Vec<Symbol> = ask(engine, |engine| engine.symbols().collect()).await?;
    let house = tradecraft_types::AccountId(HOUSE_ACCOUNT.parse().context("house id")?);
    let house_exists = ask(engine, move |engine| engine.account(house).is_some()).await?;
    let mut commands = Vec::new();
    for (symbol, tick, lot) in simulator.instruments() {
        if !listed.contains(&symbol) {
            commands.push(WireCommand::ListInstrument {
                symbol: symbol.to_string(),
                tick_size: tick.to_string(),
                lot_size: lot.to_string(),
                min_quantity: lot.to_string(),
                price_band_bps: 500,
            });
        }
    }
    if !house_exists {
        commands.push(WireCommand::CreateAccount { user_id: Some(HOUSE_ACCOUNT.to_owned()), house: true, cash: None });
    }
    commands.push(WireCommand::Deposit { user_id: HOUSE_ACCOUNT.to_owned(), transaction_id: "1".to_owned(), amount: "10000000000".to_owned(), symbol: None });
    for (index, (symbol, _, _)) in simulator.instruments().iter().enumerate() {
        commands.push(WireCommand::Deposit {
            user_id: HOUSE_ACCOUNT.to_owned(),
            transaction_id: (1_000 + index).to_string(),
            amount: "10000000".to_owned(),
            symbol: Some(symbol.to_string()),
        });
    }
    let log = Arc::clone(log);
    let producer = format!("{producer}-bootstrap");
    tokio::task::spawn_blocking(move || submit_batch(log.as_ref(), &commands, &producer, 0, now()))
        .await
        .context("bootstrap task")?
        .context("appending bootstrap commands")?;
    engine.request(Request::Wake).map_err(|error| anyhow::anyhow!("engine: {error}"))?;
    Ok(())
}

/// The commands that bring one symbol's market in line with its calendar at `at`, through
/// the log (so DAY expiry and the open and close auctions are the same on every replay).
/// `last` is the session the previous tick was in (`None`: closed); `engine_open` what the
/// engine has now; `reconcile` is set on the process's first tick. A session that ended is
/// ended (at-the-close orders trade, DAY orders expire); the calendar closing closes the
/// market; a new session opens it (at-the-open orders trade). Around the clock, midnight
/// ends one session and opens the next. A clock stepping back ends nothing again. Between
/// edges the engine's state stands, so an admin's close (`POST /v1/instruments/{symbol}/close`)
/// holds until the next session opens and an admin's open until the calendar next closes;
/// only the first tick brings a market the engine has open or closed in line with the
/// calendar (a process starting after an edge it did not see).
fn session_commands(symbol: Symbol, session: &Session, last: &mut Option<i64>, engine_open: bool, reconcile: bool, at: Timestamp) -> Vec<WireCommand> {
    let current = session.session_at(at);
    let symbol_text = || Some(symbol.as_str().to_owned());
    let mut commands = Vec::new();
    let later = |previous: i64| current.is_none_or(|current| current > previous);
    if let Some(previous) = *last
        && current != Some(previous)
        && later(previous)
    {
        commands.push(WireCommand::EndOfSession { symbol: symbol_text() });
    }
    match current {
        None if engine_open && (reconcile || last.is_some()) => commands.push(WireCommand::CloseSession { symbol: symbol_text() }),
        None => {}
        Some(current) if (reconcile && !engine_open) || last.is_none_or(|previous| current > previous) => {
            commands.push(WireCommand::OpenSession { symbol: symbol_text() });
        }
        Some(_) => {}
    }
    *last = match (current, *last) {
        (Some(current), Some(previous)) => Some(current.max(previous)),
        (current, _) => current,
    };
    commands
}

/// Each tick: the sessions' edges, new reference prices to `market_data`, and the house
/// re-quotes every symbol (one out of its session once a minute).
async fn simulate(
    log: Arc<dyn EventLog>,
    engine: EngineHandle,
    mut simulator: Simulator,
    calendar: SessionCalendar,
    producer: String,
    mut stop: watch::Receiver<bool>,
) {
    let house = HouseConfig::default();
    let instruments = simulator.instruments();
    let mut ticker = tokio::time::interval(Duration::from_millis(simulator.tick_interval_ms()));
    let mut sequence = 0_u64;
    let started = now();
    let mut sessions: Vec<Option<i64>> = instruments.iter().map(|(symbol, _, _)| calendar.session(*symbol).session_at(started)).collect();
    let mut reconcile = true;
    let closed_requote_every = (CLOSED_REQUOTE_MS / simulator.tick_interval_ms().max(1)).max(1);
    let mut ticks_run = 0_u64;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.changed() => return,
        }
        // No quotes while the engine is not taking commands (replaying, or stopped by damage).
        if !engine.status().recovered.load(Ordering::SeqCst) {
            continue;
        }
        let at = now();
        let symbols: Vec<Symbol> = instruments.iter().map(|(symbol, _, _)| *symbol).collect();
        let open = match ask(&engine, move |engine| symbols.iter().map(|&symbol| engine.session_open(symbol).unwrap_or(true)).collect::<Vec<_>>()).await {
            Ok(open) => open,
            Err(_) => continue,
        };
        let prices = simulator.step();
        let requote_closed = ticks_run.is_multiple_of(closed_requote_every);
        ticks_run += 1;
        // Edges whose commands the log refuses are sent again on the next tick.
        let sessions_before = sessions.clone();
        let mut ticks = Vec::with_capacity(prices.len());
        let mut commands = Vec::new();
        for (index, (symbol, _, _)) in instruments.iter().enumerate() {
            let edges = session_commands(*symbol, &calendar.session(*symbol), &mut sessions[index], open[index], reconcile, at);
            if !edges.is_empty() {
                tracing::info!(symbol = %symbol, commands = ?edges.iter().map(WireCommand::event_type).collect::<Vec<_>>(), "a trading session edge");
            }
            commands.extend(edges);
        }
        for ((tick, (_, tick_size, lot)), session) in prices.iter().zip(&instruments).zip(&sessions) {
            sequence += 1;
            let payload = tradecraft_events::to_payload(&tradecraft_events::MarketDataTick {
                symbol: tick.symbol.as_str().to_owned(),
                price: tick.price.to_string(),
                feed_timestamp: at.to_string(),
            });
            let mut envelope = Envelope::new("market_data.tick", &format!("{producer}-feed"), sequence, at, payload);
            envelope.source_service = "MarketFeedSimulator".to_owned();
            ticks.push((tick.symbol, envelope));
            // The house quotes around the clock: while the market is closed its quotes stand
            // in the book without trading, so the orders queued for the open meet them. Out
            // of its session (a night, a weekend) it re-quotes once a minute, not every tick:
            // the log need not grow all night as it does in the day.
            if session.is_none() && !requote_closed {
                continue;
            }
            // One command: the book never shows the house's side empty between its ladders.
            let quotes = quotes(tick.price, *tick_size, *lot, &house)
                .into_iter()
                .map(|quote| WireQuote { side: quote.side.into(), quantity: quote.quantity.to_string(), limit_price: quote.price.to_string() })
                .collect();
            commands.push(WireCommand::Requote { user_id: HOUSE_ACCOUNT.to_owned(), symbol: tick.symbol.to_string(), quotes });
        }

        let log = Arc::clone(&log);
        let house_producer = format!("{producer}-house");
        let first = sequence * 1_000;
        let appended = tokio::task::spawn_blocking(move || -> Result<Result<(), tradecraft_log::LogError>, tradecraft_log::LogError> {
            // The tick's commands go first: each tick names the first of them, which places
            // it in engine order for the read store (its positions are marked at the tick).
            let offsets = submit_batch(log.as_ref(), &commands, &house_producer, first, at)?;
            let records = ticks
                .into_iter()
                .map(|(symbol, mut envelope)| {
                    envelope.command_offset = offsets.first().copied();
                    Record { key: Some(symbol.as_str().as_bytes().to_vec()), value: envelope.to_json(), timestamp_ms: at.millis() }
                })
                .collect();
            Ok(log.append(MARKET_DATA, records).map(drop))
        })
        .await;
        match appended {
            // WebSocket servers push the prices from market_data (`price_feed`).
            Ok(Ok(prices)) => {
                reconcile = false;
                let _ = engine.request(Request::Wake);
                if let Err(error) = prices {
                    tracing::warn!(error = %error, "simulator: the log refused a tick's prices");
                }
            }
            Ok(Err(error)) => {
                sessions = sessions_before;
                tracing::warn!(error = %error, "simulator: the log refused a tick's commands");
            }
            Err(error) => {
                sessions = sessions_before;
                tracing::warn!(error = %error, "simulator: tick task failed");
            }
        }
    }
}

/// How often the house re-quotes a market outside its session (milliseconds).
const CLOSED_REQUOTE_MS: u64 = 60_000;

/// How often the price feed looks for new ticks.
const PRICE_FEED_POLL: Duration = Duration::from_millis(20);

/// Pushes every `market_data` tick appended from now on to this process's WebSocket
/// clients, wherever the simulator runs. Stops when `stop` is set.
fn price_feed(log: Arc<dyn EventLog>, pushes: tradecraft_api::ws::Pushes, stop: Arc<AtomicBool>) -> std::io::Result<std::thread::JoinHandle<()>> {
    let mut from = market_data_end(log.as_ref());
    std::thread::Builder::new().name("price-feed".to_owned()).spawn(move || {
        follow_prices(log.as_ref(), &mut from, &stop, |ticks| {
            for (symbol, price) in ticks {
                tradecraft_api::ws::push_price(&pushes, *symbol, *price);
            }
        });
    })
}

/// Where each `market_data` partition ends now: a feed starts there, since a client
/// wants the prices from when it joined (empty if the topic does not exist yet).
pub(crate) fn market_data_end(log: &dyn EventLog) -> Vec<u64> {
    let ends = || -> Result<Vec<u64>, tradecraft_log::LogError> {
        (0..log.partitions(MARKET_DATA)?).map(|partition| log.end_offset(MARKET_DATA, partition)).collect()
    };
    ends().unwrap_or_default()
}

/// Hands each round's new `market_data` ticks to `sink` until `stop` is set, from `next`
/// (each partition's next offset), polling when there are none and backing off while the
/// log cannot be read. An empty `next` (the topic did not exist when the feed started)
/// starts from the beginning once it does: nothing in it is older than the feed.
pub(crate) fn follow_prices(log: &dyn EventLog, next: &mut Vec<u64>, stop: &AtomicBool, mut sink: impl FnMut(&[(Symbol, tradecraft_types::Price)])) {
    let mut backoff = tradecraft_log::Backoff::new(PRICE_FEED_POLL, Duration::from_secs(5));
    while !stop.load(Ordering::Relaxed) {
        match read_prices(log, next) {
            Ok(ticks) if !ticks.is_empty() => {
                backoff.reset();
                sink(&ticks);
            }
            Ok(_) => {
                backoff.reset();
                std::thread::sleep(PRICE_FEED_POLL);
            }
            Err(_) => std::thread::sleep(backoff.next_wait()),
        }
    }
}

/// How often WebSocket servers look for new notifications in the read store.
const NOTIFICATION_FEED_POLL: Duration = Duration::from_millis(250);
/// How far back each look reaches: a notification the projector writes later than
/// others made after it (a slower partition) is still pushed if within this.
const NOTIFICATION_FEED_LOOKBACK_MS: i64 = 10_000;

/// Pushes every notification the projector writes from now on to this process's WebSocket
/// clients (`notifications:{userId}`), wherever the projector runs. Stops when `stop` is set.
fn notification_feed(store: Store, pushes: tradecraft_api::ws::Pushes, stop: Arc<AtomicBool>) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new().name("notification-feed".to_owned()).spawn(move || {
        let mut pushed: std::collections::BTreeMap<String, i64> = std::collections::BTreeMap::new();
        let mut newest = now().millis();
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(NOTIFICATION_FEED_POLL);
            let since = newest - NOTIFICATION_FEED_LOOKBACK_MS;
            let Ok(records) = store.notifications_since(since, 1_000) else { continue };
            for record in records {
                if pushed.contains_key(&record.notification_id) {
                    continue;
                }
                newest = newest.max(record.created_at_ms);
                pushed.insert(record.notification_id.clone(), record.created_at_ms);
                pushes.send(Arc::new(tradecraft_api::notifications::push_of(&record)));
            }
            pushed.retain(|_, at| *at >= since);
        }
    })
}

/// One round of the price feed: the ticks appended since `next`.
fn read_prices(log: &dyn EventLog, next: &mut Vec<u64>) -> Result<Vec<(Symbol, tradecraft_types::Price)>, tradecraft_log::LogError> {
    if next.is_empty() {
        // The topic was made after the feed started (`market_data_end` found none).
        next.resize(usize::try_from(log.partitions(MARKET_DATA)?).unwrap_or_default(), 0);
    }
    let mut ticks = Vec::new();
    for (partition, from) in (0_u32..).zip(next.iter_mut()) {
        for record in log.read(MARKET_DATA, partition, *from, 1_024)? {
            *from = record.offset + 1;
            let Ok(envelope) = Envelope::<tradecraft_events::MarketDataTick>::from_json(&record.value) else { continue };
            if let (Ok(symbol), Ok(price)) = (Symbol::new(&envelope.payload.symbol), tradecraft_types::Price::parse(&envelope.payload.price)) {
                ticks.push((symbol, price));
            }
        }
    }
    Ok(ticks)
}

/// A started exchange (or the part of it this process's roles make): the API is bound but
/// not yet serving.
#[derive(Debug)]
pub struct Exchange {
    app: Option<App>,
    address: Option<SocketAddr>,
    pushes: tradecraft_api::ws::Pushes,
    engine: Option<(EngineHandle, std::thread::JoinHandle<()>)>,
    store: Option<Store>,
    log: Arc<dyn EventLog>,
    stop_tasks: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Stops the projector and the price feed.
    stop_projector: Arc<AtomicBool>,
    projector_thread: Option<std::thread::JoinHandle<()>>,
    feed_thread: Option<std::thread::JoinHandle<()>>,
    /// Keeps Redis's price cache (the projector role, with `--redis-url`).
    cache_thread: Option<std::thread::JoinHandle<()>>,
    notification_thread: Option<std::thread::JoinHandle<()>>,
    /// Held while running: dropping it gives the engine leadership up.
    campaign: Option<crate::cluster::Campaign>,
}

/// What one process does. Every subset works; all of them is the embedded server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Roles {
    /// The REST API: appends commands, answers from its replica of the engine.
    pub gateway: bool,
    /// The matching engine: publishes its outputs while it leads (a standby otherwise).
    pub engine: bool,
    /// Projects the output topics into the read store.
    pub projector: bool,
    /// The market data WebSocket.
    pub ws: bool,
    /// Lists the instruments, and runs the price simulator and the house's quotes.
    pub market: bool,
}

impl Roles {
    pub const ALL: Self = Self { gateway: true, engine: true, projector: true, ws: true, market: true };
    const NAMES: [&str; 5] = ["gateway", "engine", "projector", "ws", "market"];

    /// `gateway,engine,projector,ws,market` or any subset (`all` for every one).
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        if text.trim() == "all" {
            return Ok(Self::ALL);
        }
        let mut roles = Self { gateway: false, engine: false, projector: false, ws: false, market: false };
        for name in text.split(',').map(str::trim) {
            match name {
                "gateway" => roles.gateway = true,
                "engine" => roles.engine = true,
                "projector" => roles.projector = true,
                "ws" => roles.ws = true,
                "market" => roles.market = true,
                other => anyhow::bail!("unknown role {other:?}: the roles are {} (or all)", Self::NAMES.join(", ")),
            }
        }
        if roles == (Self { gateway: false, engine: false, projector: false, ws: false, market: false }) {
            anyhow::bail!("no role given: the roles are {} (or all)", Self::NAMES.join(", "));
        }
        Ok(roles)
    }

    /// Whether the process keeps an engine: publishing (engine) or a replica the API answers
    /// from (gateway, ws) and the market quotes against (market).
    fn engine_kept(self) -> bool {
        self.gateway || self.engine || self.ws || self.market
    }

    /// Whether the process serves HTTP (the API, the WebSocket, or both).
    fn serves_http(self) -> bool {
        self.gateway || self.ws
    }
}

impl std::fmt::Display for Roles {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let held = [self.gateway, self.engine, self.projector, self.ws, self.market];
        let names: Vec<&str> = Self::NAMES.iter().zip(held).filter(|(_, held)| *held).map(|(name, _)| *name).collect();
        formatter.write_str(&names.join(","))
    }
}

/// Everything `start` needs, typed: where the log, the read store and the snapshots are,
/// where to listen, which market to list and simulate, and who may call.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Snapshots and, unless `token_secret` is given, the token key (`auth.key`).
    pub data_dir: PathBuf,
    /// `file:PATH`, `memory:` or `kafka://HOST:PORT?prefix=NAME.` (see [`open_log`]).
    pub log_url: String,
    /// `sqlite:PATH` or `postgres://...`.
    pub database_url: String,
    pub address: SocketAddr,
    /// The instruments listed at start (and the house funded in each).
    pub market: SimulatorConfig,
    /// Run the price simulator and the house's quotes.
    pub simulate_market: bool,
    /// The operator's admin key (`X-API-Key`).
    pub admin_key: Option<String>,
    /// Signs access tokens; `TRADECRAFT_JWT_SECRET` or the data dir's `auth.key` when absent.
    pub token_secret: Option<Vec<u8>>,
    pub rate_limits: Option<tradecraft_api::rate::RateLimits>,
    /// Which hosts webhooks may target; how deliveries retry.
    pub webhooks: tradecraft_api::alerts::WebhookPolicy,
    /// Recreate a SQLite read store that cannot be opened (see `--recreate-read-store`).
    pub recreate_read_store: bool,
    /// Partitions per topic (1 on the embedded journal: each touched partition costs an
    /// fsync per group commit, and one process reads them all anyway).
    pub partitions: u32,
    /// What this process does (all of it by default).
    pub roles: Roles,
    /// The built web app, served at `/` by processes that serve the REST API.
    pub web_dir: Option<PathBuf>,
    /// Where notification emails go out; none are sent without it.
    pub email: Option<tradecraft_api::channels::EmailConfig>,
    /// What the API's rules and workers take as now (a test moves a manual one).
    pub clock: tradecraft_api::clock::Clock,
    /// Redis (`redis://HOST:PORT[?prefix=NAME.]`): the projector keeps the price cache and
    /// publishes ticks there, WebSocket servers push what it publishes. Without it each
    /// WebSocket server reads `market_data` from the log.
    pub redis_url: Option<String>,
    /// Finished order histories each API process keeps in memory (open orders always are);
    /// older ones are read from the read store.
    pub orders_kept: usize,
}

impl ServerConfig {
    /// Several processes share the log and the database: the engine leadership is
    /// campaigned for, snapshots are kept in the database, and projectors follow the
    /// engine's recorded progress.
    pub fn clustered(&self) -> bool {
        clustered(&self.log_url, &self.database_url)
    }
}

/// Whether a log and a database are shared by several processes (see
/// [`ServerConfig::clustered`]).
fn clustered(log_url: &str, database_url: &str) -> bool {
    log_url.starts_with("kafka://") && database_url.starts_with("postgres")
}

impl ServerConfig {
    /// The embedded default in `data_dir`: the file journal, SQLite, the 20-symbol
    /// universe with its simulator, `serve`'s rate limits, public webhook targets.
    pub fn embedded(data_dir: &Path) -> Self {
        Self {
            data_dir: data_dir.to_path_buf(),
            log_url: log_url(data_dir, None),
            database_url: database_url(data_dir, None),
            address: SocketAddr::from(([127, 0, 0, 1], 8080)),
            market: SimulatorConfig::default_universe(),
            simulate_market: true,
            admin_key: None,
            token_secret: None,
            rate_limits: Some(tradecraft_api::rate::RateLimits::default()),
            webhooks: tradecraft_api::alerts::WebhookPolicy::default(),
            recreate_read_store: false,
            partitions: EMBEDDED_PARTITIONS,
            roles: Roles::ALL,
            web_dir: None,
            email: None,
            clock: tradecraft_api::clock::Clock::system(),
            redis_url: None,
            orders_kept: tradecraft_api::ORDERS_KEPT,
        }
    }
}

/// Opens the read store at `url`. A SQLite store that cannot be opened is, with
/// `recreate`, moved aside (said on stderr) and made anew; otherwise the error says how to
/// recover.
pub fn open_read_store(url: &str, recreate: bool) -> anyhow::Result<Store> {
    let error = match Store::open(url) {
        Ok(store) => return Ok(store),
        Err(error) => error,
    };
    let sqlite = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).filter(|_| !url.starts_with("postgres"));
    let Some(path) = sqlite.map(Path::new).filter(|path| path.exists()) else {
        return Err(error).with_context(|| format!("opening the read store {url}"));
    };
    if !recreate {
        return Err(error).with_context(|| {
            format!(
                "opening the read store {}: if it is damaged, `tradecraft rebuild DATA_DIR` or `serve --recreate-read-store` moves it aside and projects the log into a new one",
                path.display()
            )
        });
    }
    let aside = path.with_extension(format!("db.damaged-{}", now().millis()));
    #[allow(clippy::print_stderr)] // an operator must see this, whatever the logging
    {
        eprintln!(
            "warning: the read store {} cannot be opened ({error}); moving it aside to {} and creating a new one. \
             The trading data comes back from the event log; users, API keys, webhooks and the audit trail were only in the old file",
            path.display(),
            aside.display()
        );
    }
    std::fs::rename(path, &aside).with_context(|| format!("moving {} aside", path.display()))?;
    for suffix in ["-wal", "-shm"] {
        let companion = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
        if companion.exists() {
            std::fs::rename(&companion, format!("{}{suffix}", aside.display())).with_context(|| format!("moving {} aside", companion.display()))?;
        }
    }
    Store::open(url).with_context(|| format!("creating the read store {}", path.display()))
}

/// Where the engine's snapshots are: the data dir, or the database when several engine
/// processes must read them.
pub fn snapshot_store(data_dir: &Path, log_url: &str, database_url: &str) -> anyhow::Result<SnapshotStore> {
    if clustered(log_url, database_url) {
        let snapshots = crate::cluster::PostgresSnapshots::open(database_url, log_url).context("opening the snapshot table")?;
        return Ok(SnapshotStore::with_backend(Arc::new(snapshots)));
    }
    SnapshotStore::open(data_dir.join("snapshots")).context("opening snapshots")
}

/// The offset below which every command's outputs are stored: the engine's own count when
/// it is the only one, otherwise what the publishing engine recorded (re-read at most every
/// few milliseconds, and the last answer kept while the log cannot say).
fn projection_watermark(engine: Option<&EngineHandle>, log: &Arc<dyn EventLog>, own: bool) -> Box<dyn Fn() -> u64 + Send> {
    if let (true, Some(engine)) = (own, engine) {
        let engine = engine.clone();
        return Box::new(move || engine.status().next_command.load(Ordering::Relaxed));
    }
    let (log, known) = (Arc::clone(log), Arc::new(std::sync::atomic::AtomicU64::new(0)));
    Box::new(move || {
        if let Ok(progress) = published_progress(log.as_ref()) {
            known.fetch_max(progress, Ordering::Relaxed);
        }
        known.load(Ordering::Relaxed)
    })
}

/// How long a process without a projector waits for the read store to reach its engine's
/// snapshot before it loads its view from what the store has (saying so).
const PROJECTION_WAIT: Duration = Duration::from_secs(120);

/// Waits (polling, saying how far it has got every few seconds) until the read store holds
/// every event of the commands before `target`, or [`PROJECTION_WAIT`] has passed.
fn wait_for_projection(store: &Store, target: u64) {
    let started = std::time::Instant::now();
    let mut reported = started;
    loop {
        let applied = store.applied_through().unwrap_or(0);
        if applied >= target {
            return;
        }
        if started.elapsed() >= PROJECTION_WAIT {
            tracing::warn!(applied, target, "the read store is still behind the engine: loading the view from what it has");
            return;
        }
        if reported.elapsed() >= Duration::from_secs(2) {
            tracing::info!(applied, target, "waiting for the projector to bring the read store to the engine");
            reported = std::time::Instant::now();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Opens the log, recovers the engine (waiting for its replay), opens the read store, lists
/// the market and funds the house, starts the projector, the simulator and webhook
/// deliveries, and binds the API: each as far as the configured roles ask.
pub async fn start(config: ServerConfig) -> anyhow::Result<Exchange> {
    let ServerConfig { data_dir, log_url, database_url, address, market, simulate_market, partitions, roles, .. } = &config;
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let simulator = Simulator::new(market).context("market configuration")?;
    let calendar = market.calendar().context("market sessions")?;
    let log = open_log(log_url).with_context(|| format!("opening the event log {log_url}"))?;
    create_topics(log.as_ref(), *partitions).context("creating topics")?;
    log.create_topic(MARKET_DATA, *partitions).context("creating topics")?;
    // A server answering reads loads the market's history from its read store once the
    // engine has recovered; until then the view keeps the trades it applies aside.
    let orders_kept = config.orders_kept;
    let mut view = if roles.serves_http() { View::awaiting_history() } else { View::default() }.keeping(orders_kept);
    // Its creation may be in a snapshot, before the replay the view sees.
    view.set_house(tradecraft_types::AccountId(HOUSE_ACCOUNT.parse().context("house id")?));
    let view = Arc::new(Mutex::new(view));
    let pushes = tradecraft_api::ws::Pushes::default();
    let clustered = config.clustered();
    let campaign = (roles.engine && clustered)
        .then(|| crate::cluster::Campaign::start(database_url, crate::cluster::lock_key(log_url)))
        .transpose()
        .context("campaigning for the engine leadership")?;
    let publish = match &campaign {
        _ if !roles.engine => Publish::Never,
        Some(campaign) => Publish::WhileLeader(campaign.leader()),
        None => Publish::Always,
    };
    let sole_engine = matches!(publish, Publish::Always);
    let engine = if roles.engine_kept() {
        let listener = tradecraft_api::ws::engine_listener(Arc::clone(&view), pushes.clone());
        let sequencer = SequencerConfig {
            output_partitions: *partitions,
            snapshot_min_interval: SNAPSHOT_MIN_INTERVAL,
            publish,
            progress: clustered,
            ..SequencerConfig::default()
        };
        // Snapshots may come from the database, through blocking calls.
        let (opening, engine_log) = (config.clone(), Arc::clone(&log));
        let (engine, thread) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let snapshots = snapshot_store(&opening.data_dir, &opening.log_url, &opening.database_url)?;
            runtime::start(sequencer, engine_log, snapshots, ENGINE_QUEUE_CAPACITY, listener).context("starting the engine")
        })
        .await
        .context("engine start task")??;
        // Nothing is served, bootstrapped or projected from the middle of a replay.
        wait_for_recovery(&engine).await?;
        Some((engine, thread))
    } else {
        None
    };
    let engine_handle = engine.as_ref().map(|(engine, _)| engine.clone());
    let producer = format!("gateway-{}-{}", std::process::id(), now().millis());
    // The read store catches up with the recovered engine, and the view gets the order
    // histories from before the replay back from it (current: the store has every event up
    // to where the engine stands).
    let watermark = projection_watermark(engine_handle.as_ref(), &log, sole_engine);
    let store_needed = roles.projector || roles.serves_http();
    // What came before this engine's snapshot it knows only from the read store.
    let replica_position = engine_handle.as_ref().map(|engine| engine.status().opened_at.load(Ordering::SeqCst));
    // Every trade below it has been applied here (before the snapshot or in the replay):
    // where the market's history is served from, the bound of what is loaded from the store.
    let next_trade = match (&engine_handle, roles.serves_http()) {
        (Some(engine), true) => Some(ask(engine, |engine| engine.next_trade_id().0).await?),
        _ => None,
    };
    let (store, projector) = if store_needed {
        let (url, log, view) = (database_url.to_owned(), Arc::clone(&log), Arc::clone(&view));
        let (recreate_read_store, project) = (config.recreate_read_store, roles.projector);
        let recovered = watermark();
        let (store, projector) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let store = open_read_store(&url, recreate_read_store)?;
            let projector = if project {
                let config = ProjectorConfig { low_priority: true, ..ProjectorConfig::default() };
                let mut projector = Projector::open(store.clone(), log, config).context("loading the projector")?;
                projector.catch_up(recovered).context("projecting the log")?;
                Some(projector)
            } else {
                None
            };
            // Without a projector of its own, the process waits for the one that writes the
            // store to reach its engine's snapshot: what came before it is read from the
            // store (the replay gave the rest), and a store behind it would leave a hole.
            if let (false, Some(target)) = (project, replica_position) {
                wait_for_projection(&store, target);
            }
            // The newest orders, and every open one however old (it may still be
            // cancelled, replaced or filled); older finished ones stay in the store.
            let newest = store.recent_orders(orders_kept).context("reading orders")?;
            let complete = newest.len() < orders_kept;
            let oldest = newest.iter().map(|order| order.created_at_ms).min().unwrap_or(i64::MAX);
            let mut fills = store.fills_since(oldest).context("reading fills")?;
            let loaded: std::collections::HashSet<u64> = newest.iter().map(|order| order.order_id).collect();
            let open: Vec<_> = store.open_orders().context("reading open orders")?.into_iter().filter(|order| !loaded.contains(&order.order_id)).collect();
            // An old open order's fills are read whole (none from the window above twice).
            let open_ids: std::collections::HashSet<u64> = open.iter().map(|order| order.order_id).collect();
            fills.retain(|fill| !open_ids.contains(&fill.order_id));
            for ids in open.iter().map(|order| order.order_id).collect::<Vec<_>>().chunks(500) {
                fills.extend(store.order_fills(ids).context("reading fills")?);
            }
            view.lock().map_err(|_| anyhow::anyhow!("view lock"))?.preload((&newest, complete), &open, &fills);
            if let Some(next_trade) = next_trade {
                // Trades from the first one the view applied on are in it already.
                let first = view.lock().map_err(|_| anyhow::anyhow!("view lock"))?.first_replayed_trade();
                let below = first.map_or(next_trade, |first| first.0.min(next_trade));
                let since = now().millis() - MARKET_HISTORY_MS;
                let trades = store.market_trades(since, below, MARKET_HISTORY_TRADES).context("reading the market's trades")?;
                view.lock().map_err(|_| anyhow::anyhow!("view lock"))?.preload_market(&trades);
            }
            Ok((store, projector))
        })
        .await
        .context("read store task")??;
        (Some(store), projector)
    } else {
        (None, None)
    };
    if let (true, Some(engine)) = (roles.market, &engine_handle) {
        bootstrap(&log, engine, &simulator, &producer).await?;
    }
    let (stop_tasks, stop_receiver) = watch::channel(false);
    let mut tasks = Vec::new();
    if let (true, true, Some(engine)) = (roles.market, *simulate_market, &engine_handle) {
        tasks.push(tokio::spawn(simulate(Arc::clone(&log), engine.clone(), simulator, calendar.clone(), producer.clone(), stop_receiver)));
    }
    let stop_projector = Arc::new(AtomicBool::new(false));
    let redis = config.redis_url.as_deref().map(crate::cache::RedisConfig::parse).transpose().context("--redis-url")?;
    let feed_thread = match (&redis, roles.ws) {
        (Some(redis), true) => Some(crate::cache::subscribe_prices(redis.clone(), pushes.clone(), Arc::clone(&stop_projector))?),
        (None, true) => Some(price_feed(Arc::clone(&log), pushes.clone(), Arc::clone(&stop_projector)).context("starting the price feed")?),
        (_, false) => None,
    };
    let cache_thread = match (&redis, roles.projector) {
        (Some(redis), true) => Some(crate::cache::publish_prices(Arc::clone(&log), redis.clone(), Arc::clone(&stop_projector))?),
        _ => None,
    };
    let notification_thread = match (&store, roles.ws) {
        (Some(store), true) => Some(notification_feed(store.clone(), pushes.clone(), Arc::clone(&stop_projector)).context("starting the notification feed")?),
        _ => None,
    };
    let projection_metrics = Arc::new(ProjectionMetrics::default());
    let projector_thread = match projector {
        Some(projector) => {
            Some(spawn_projector(projector, watermark, Arc::clone(&stop_projector), Arc::clone(&projection_metrics)).context("starting the projector")?)
        }
        None => None,
    };
    if let (true, Some(store)) = (roles.projector, &store) {
        // Alerts come from the projector, so their deliveries go with it; they stop with the
        // simulator.
        tasks.push(tokio::spawn(tradecraft_api::alerts::run_webhooks(store.clone(), config.webhooks, stop_tasks.subscribe())));
        let channels = tradecraft_api::channels::ChannelConfig {
            policy: config.webhooks,
            email: config.email.clone(),
            clock: config.clock.clone(),
            owner: |account| tradecraft_api::auth::owner_of(account).unwrap_or(account),
        };
        tasks.push(tokio::spawn(tradecraft_api::channels::run_channels(store.clone(), channels, stop_tasks.subscribe())));
    }
    let app = match (&engine_handle, roles.serves_http()) {
        (Some(engine), true) => {
            let mut state = AppState::new(Arc::clone(&log), engine.clone(), view, pushes.clone(), producer.clone());
            let secret = match &config.token_secret {
                Some(secret) => secret.clone(),
                None => token_secret(data_dir)?,
            };
            state.auth = Arc::new(tradecraft_api::auth::AuthConfig::new(secret, config.admin_key.as_deref()));
            state.rate_limiter = config.rate_limits.map(|limits| Arc::new(tradecraft_api::rate::RateLimiter::new(limits)));
            state.webhook_targets = config.webhooks.targets;
            state.email.clone_from(&config.email);
            state.surfaces = tradecraft_api::Surfaces { rest: roles.gateway, websocket: roles.ws };
            state.replica = !roles.engine;
            state.web_dir = config.web_dir.as_deref().map(Arc::from);
            state.calendar.clone_from(&calendar);
            state.clock = config.clock.clone();
            state.store.clone_from(&store);
            state.projection_metrics = roles.projector.then(|| Arc::clone(&projection_metrics));
            Some(App::build(*address, state).await.with_context(|| format!("binding {address}"))?)
        }
        _ => None,
    };
    if let (Some(app), true, true) = (&app, roles.gateway, store.is_some()) {
        // Contest edges need the engine's commands (freezing accounts) and the store.
        tasks.push(app.spawn_contest_schedule(config.webhooks.poll, stop_tasks.subscribe()));
    }
    let mut bound = app.as_ref().map(App::local_addr).transpose().context("reading the bound address")?;
    if app.is_none() && roles.projector {
        // A projector alone serves its liveness and metrics.
        let listener = tokio::net::TcpListener::bind(*address).await.with_context(|| format!("binding {address}"))?;
        bound = Some(listener.local_addr().context("reading the bound address")?);
        let router = tradecraft_api::projector_router(Arc::clone(&projection_metrics));
        let mut stop = stop_tasks.subscribe();
        tasks.push(tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stop.changed().await;
                })
                .await;
        }));
    }
    tracing::info!(roles = %roles, address = ?bound, clustered, "started");
    Ok(Exchange {
        app,
        address: bound,
        pushes,
        engine,
        store,
        log,
        stop_tasks,
        tasks,
        stop_projector,
        projector_thread,
        feed_thread,
        cache_thread,
        notification_thread,
        campaign,
    })
}

impl Exchange {
    /// Where the API listens (none when the roles serve no HTTP).
    pub fn address(&self) -> Option<SocketAddr> {
        self.address
    }

    /// The WebSocket pushes (for benchmarks that count them).
    pub fn pushes(&self) -> &tradecraft_api::ws::Pushes {
        &self.pushes
    }

    /// The engine (publishing or a replica), if the roles keep one.
    pub fn engine(&self) -> Option<&EngineHandle> {
        self.engine.as_ref().map(|(engine, _)| engine)
    }

    /// The read store, if the roles use one.
    pub fn store(&self) -> Option<&Store> {
        self.store.as_ref()
    }

    /// The event log.
    pub fn log(&self) -> &Arc<dyn EventLog> {
        &self.log
    }

    /// Serves until `shutdown`, then stops the simulator and the engine (with a snapshot).
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let Self { app, engine, stop_tasks, tasks, stop_projector, projector_thread, feed_thread, cache_thread, notification_thread, campaign, .. } = self;
        match app {
            Some(app) => app.run_until_stopped(shutdown).await.context("serving")?,
            None => shutdown.await,
        }
        let _ = stop_tasks.send(true);
        for task in tasks {
            let _ = task.await;
        }
        stop_projector.store(true, Ordering::Relaxed);
        for thread in [projector_thread, feed_thread, cache_thread, notification_thread].into_iter().flatten() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
        if let Some((engine, thread)) = engine {
            engine.stop();
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
        // The last snapshot is written: a standby may take over.
        drop(campaign);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(commands: &[WireCommand]) -> Vec<&'static str> {
        commands.iter().map(WireCommand::event_type).collect()
    }

    #[test]
    fn around_the_clock_a_session_ends_and_the_next_opens_once_at_each_utc_midnight() {
        let at = |text: &str| Timestamp::parse(text).unwrap();
        let (symbol, session) = (Symbol::new("MOCK").unwrap(), Session::Always);
        let mut last = session.session_at(at("2026-11-30T23:59:58.000Z"));
        let mut step = |time: &str| names(&session_commands(symbol, &session, &mut last, true, false, at(time)));
        assert!(step("2026-11-30T23:59:59.999Z").is_empty());
        assert_eq!(step("2026-12-01T00:00:00.000Z"), ["session.end_requested", "session.open_requested"], "midnight ends the day and opens the next");
        assert!(step("2026-12-01T00:00:01.000Z").is_empty(), "once");
        assert!(step("2026-11-30T23:59:59.000Z").is_empty(), "a clock stepping back does not end it again");
        assert_eq!(
            step("2026-12-03T08:00:00.000Z"),
            ["session.end_requested", "session.open_requested"],
            "a process down over midnight ends it on its first tick"
        );
    }

    #[test]
    fn a_weekly_session_closes_the_market_at_its_close_and_opens_it_at_its_open() {
        let at = |text: &str| Timestamp::parse(text).unwrap();
        let (symbol, session) = (Symbol::new("MOCK").unwrap(), Session::parse("mon-fri 14:30-21:00").unwrap());
        // Started on a Monday morning with the engine's market still open: it closes.
        let mut last = session.session_at(at("2026-11-30T09:00:00Z"));
        assert_eq!(names(&session_commands(symbol, &session, &mut last, true, true, at("2026-11-30T09:00:01Z"))), ["session.close_requested"]);
        assert!(session_commands(symbol, &session, &mut last, false, false, at("2026-11-30T14:29:59Z")).is_empty());
        assert_eq!(names(&session_commands(symbol, &session, &mut last, false, false, at("2026-11-30T14:30:00Z"))), ["session.open_requested"]);
        assert!(session_commands(symbol, &session, &mut last, true, false, at("2026-11-30T20:00:00Z")).is_empty());
        assert_eq!(
            names(&session_commands(symbol, &session, &mut last, true, false, at("2026-11-30T21:00:00Z"))),
            ["session.end_requested", "session.close_requested"],
            "the close: at-the-close orders trade, DAY orders expire, the market closes"
        );
        assert!(session_commands(symbol, &session, &mut last, false, false, at("2026-12-05T15:00:00Z")).is_empty(), "Saturday stays closed");
        // A process started mid-session over a market the engine has closed opens it.
        let mut last = session.session_at(at("2026-12-07T15:00:00Z"));
        assert_eq!(names(&session_commands(symbol, &session, &mut last, false, true, at("2026-12-07T15:00:01Z"))), ["session.open_requested"]);
    }

    #[test]
    fn an_admins_close_or_open_holds_until_the_calendars_next_edge() {
        let at = |text: &str| Timestamp::parse(text).unwrap();
        let symbol = Symbol::new("MOCK").unwrap();
        let session = Session::parse("mon-fri 14:30-21:00").unwrap();
        // Closed by an admin on Monday afternoon: it stays closed, and the next session opens it.
        let mut last = session.session_at(at("2026-11-30T15:00:00Z"));
        assert!(session_commands(symbol, &session, &mut last, false, false, at("2026-11-30T15:00:01Z")).is_empty(), "not reopened at once");
        assert!(session_commands(symbol, &session, &mut last, false, false, at("2026-11-30T20:59:59Z")).is_empty());
        assert_eq!(names(&session_commands(symbol, &session, &mut last, false, false, at("2026-11-30T21:00:00Z"))), ["session.end_requested"]);
        assert_eq!(names(&session_commands(symbol, &session, &mut last, false, false, at("2026-12-01T14:30:00Z"))), ["session.open_requested"]);
        // Opened by an admin on Saturday: it stays open through Monday's session, which closes it.
        let mut last = session.session_at(at("2026-12-05T10:00:00Z"));
        assert!(session_commands(symbol, &session, &mut last, true, false, at("2026-12-05T10:00:01Z")).is_empty(), "not closed again at once");
        assert!(session_commands(symbol, &session, &mut last, true, false, at("2026-12-06T23:00:00Z")).is_empty());
        assert_eq!(names(&session_commands(symbol, &session, &mut last, true, false, at("2026-12-07T14:30:00Z"))), ["session.open_requested"]);
        assert_eq!(
            names(&session_commands(symbol, &session, &mut last, true, false, at("2026-12-07T21:00:00Z"))),
            ["session.end_requested", "session.close_requested"]
        );
        // Around the clock an admin's close lasts until midnight opens the next day.
        let always = Session::Always;
        let mut last = always.session_at(at("2026-12-02T01:00:00Z"));
        assert!(session_commands(symbol, &always, &mut last, false, false, at("2026-12-02T01:00:01Z")).is_empty());
        assert_eq!(
            names(&session_commands(symbol, &always, &mut last, false, false, at("2026-12-03T00:00:00Z"))),
            ["session.end_requested", "session.open_requested"]
        );
    }
}
