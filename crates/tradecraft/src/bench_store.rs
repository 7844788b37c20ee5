//! Read-store benchmarks, on SQLite or PostgreSQL:
//! - `bench store-search`: trade search latency with millions of trades stored (loaded in
//!   bulk, as the projector would have written them), over a mix of query shapes.
//! - `bench projection`: projector throughput in log records per second, on events the
//!   real engine produced from a trading workload.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use hdrhistogram::Histogram;
use serde_json::json;
use tradecraft_log::{EventLog, MemoryLog};
use tradecraft_sequencer::wire::{PlaceOrder, WireCommand, WireOrderType, WireSide};
use tradecraft_sequencer::{Sequencer, SequencerConfig, SnapshotStore, create_topics, submit_batch};
use tradecraft_store::{Param, Projector, ProjectorConfig, Statement, Store, TradeQuery, create_database, drop_database, insert_rows, with_database};
use tradecraft_types::Timestamp;

use crate::bench::emit;
use crate::machine;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, clap::Args)]
pub(crate) struct StoreArgs {
    #[arg(long, value_enum, default_value_t = Backend::Sqlite)]
    backend: Backend,
    /// PostgreSQL server (an admin URL: a scratch database is created and dropped).
    #[arg(long, env = "TRADECRAFT_TEST_POSTGRES", default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    postgres: String,
    /// Where the SQLite file goes (a fresh directory under it; removed afterwards).
    #[arg(long, default_value = "target/bench-store")]
    dir: std::path::PathBuf,
}

#[derive(Debug, clap::Args)]
pub(crate) struct SearchArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Trades (trade_executed rows) stored before searching.
    #[arg(long, default_value_t = 10_000_000)]
    trades: u64,
    #[arg(long, default_value_t = 10_000)]
    users: u64,
    /// Searches timed (spread over the query shapes).
    #[arg(long, default_value_t = 2_000)]
    queries: u64,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ProjectionArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// User orders in the workload (each fills against a house quote).
    #[arg(long, default_value_t = 100_000)]
    orders: u64,
    #[arg(long, default_value_t = 1_000)]
    users: u64,
}

/// A scratch store, removed when dropped.
struct Scratch {
    store: Store,
    cleanup: Box<dyn FnMut()>,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        (self.cleanup)();
    }
}

fn scratch(args: &StoreArgs, label: &str) -> anyhow::Result<Scratch> {
    match args.backend {
        Backend::Sqlite => {
            let dir = args.dir.join(format!("{label}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            let store = Store::open(&format!("sqlite:{}", dir.join("read.db").display()))?;
            Ok(Scratch { store, cleanup: Box::new(move || drop(std::fs::remove_dir_all(&dir))) })
        }
        Backend::Postgres => {
            let name = format!("tc_bench_{label}_{}", std::process::id());
            let admin = args.postgres.clone();
            drop_database(&admin, &name)?;
            create_database(&admin, &name).context("creating the scratch database (is PostgreSQL running?)")?;
            let store = Store::open(&with_database(&admin, &name))?;
            Ok(Scratch { store, cleanup: Box::new(move || drop(drop_database(&admin, &name))) })
        }
    }
}

/// A small deterministic generator (xorshift), so every run loads the same rows.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

const SYMBOLS: [&str; 20] = [
    "MOCKAAPL", "MOCKGOOG", "MOCKMSFT", "MOCKAMZN", "MOCKTSLA", "MOCKNVDA", "MOCKMETA", "MOCKNFLX", "MOCKAMD", "MOCKINTC", "MOCKORCL", "MOCKIBM", "MOCKCSCO",
    "MOCKADBE", "MOCKCRM", "MOCKPYPL", "MOCKUBER", "MOCKSHOP", "MOCKSQ", "MOCKDIS",
];
const ROWS_PER_STATEMENT: usize = 200;
/// The schema's secondary indexes on `trades` (migrations 0001 and 0003).
const SECONDARY_INDEXES: [(&str, &str); 3] = [
    ("trades_by_user", "(user_id, executed_at, id)"),
    ("trades_by_time", "(executed_at, symbol)"),
    ("trades_by_user_symbol", "(user_id, symbol, executed_at, id)"),
];
const DAY_MS: i64 = 86_400_000;
/// 2026-10-01T00:00:00Z: the loaded trades spread over the 30 days after it.
const LOAD_START_MS: i64 = 1_790_812_800_000;

const TRADE_COLUMNS: [&str; 15] = [
    "id",
    "event_id",
    "trade_id",
    "order_id",
    "user_id",
    "symbol",
    "side",
    "quantity",
    "status",
    "execution_price",
    "notional",
    "fee",
    "liquidity",
    "executed_at",
    "failure_reason",
];

fn load_trades(store: &Store, args: &SearchArgs) -> anyhow::Result<(f64, f64)> {
    let (sql, single) = (insert_rows("trades", &TRADE_COLUMNS, ROWS_PER_STATEMENT, ""), insert_rows("trades", &TRADE_COLUMNS, 1, ""));
    let fts = store.dialect() == tradecraft_store::Dialect::Sqlite;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let started = Instant::now();
    // Like a restore: rows first, then the secondary indexes built once (sorted), rather
    // than 10 M random index inserts.
    store.backend().batch(&SECONDARY_INDEXES.iter().map(|(name, _)| format!("DROP INDEX {name};")).collect::<String>())?;
    let mut id = 0_i64;
    let batch_rows = 20_000;
    while (id as u64) < args.trades {
        let mut statements = Vec::new();
        let mut params = Vec::with_capacity(ROWS_PER_STATEMENT * 15);
        let mut failed = Vec::new();
        for _ in 0..batch_rows {
            if id as u64 == args.trades {
                break;
            }
            id += 1;
            let user = rng.below(args.users) as i64 + 1;
            let symbol = SYMBOLS[rng.below(20) as usize];
            let at = LOAD_START_MS + (id * 30 * DAY_MS) / args.trades as i64;
            let quantity = (rng.below(100) as i64 + 1) * 10_000;
            let side = if rng.below(2) == 0 { "BUY" } else { "SELL" };
            let fail = rng.below(50) == 0;
            let (status, reason) = match (fail, side) {
                (false, _) => ("EXECUTED", None),
                (true, "BUY") => ("FAILED_INSUFFICIENT_FUNDS", Some("insufficient_funds")),
                (true, _) => ("FAILED_INSUFFICIENT_SHARES", Some("insufficient_shares")),
            };
            let price = (!fail).then(|| 1_000_000 + rng.below(100_000) as i64);
            params.extend([
                Param::Int(id),
                Param::Text(tradecraft_log::event_id("bench", id as u64)),
                Param::from(price.map(|_| id / 2)),
                Param::Int(id),
                Param::Int(user),
                Param::from(symbol),
                Param::from(side),
                Param::Int(quantity),
                Param::from(status),
                Param::from(price),
                Param::from(price.map(|price| price * quantity)),
                Param::Int(0),
                Param::from(price.map(|_| if id % 2 == 0 { "TAKER" } else { "MAKER" })),
                Param::Int(at),
                Param::from(reason),
            ]);
            if let (true, Some(reason)) = (fts, reason) {
                let user_key = format!("u{user}");
                failed.push(Statement::new(
                    "INSERT INTO trades_fts (rowid, user_key, failure_reason) VALUES ($1, $2, $3)",
                    vec![Param::Int(id), user_key.into(), reason.into()],
                ));
            }
            if params.len() == ROWS_PER_STATEMENT * 15 {
                statements.push(Statement::new(sql.clone(), std::mem::take(&mut params)));
            }
        }
        for chunk in params.chunks(15) {
            statements.push(Statement::new(single.clone(), chunk.to_vec()));
        }
        statements.extend(failed);
        store.backend().transaction(&statements)?;
    }
    let rows_seconds = started.elapsed().as_secs_f64();
    store.backend().batch(&SECONDARY_INDEXES.iter().map(|(name, columns)| format!("CREATE INDEX {name} ON trades {columns};")).collect::<String>())?;
    // Steady state: statistics gathered and (PostgreSQL) the visibility map set, as
    // autovacuum leaves a table that has been loaded for a while.
    let analyze = if store.dialect() == tradecraft_store::Dialect::Postgres { "VACUUM ANALYZE trades" } else { "ANALYZE trades" };
    store.backend().batch(analyze)?;
    Ok((rows_seconds, started.elapsed().as_secs_f64() - rows_seconds))
}

pub(crate) fn run_search(args: &SearchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.trades > 0 && args.users > 0 && args.queries > 0, "counts must be positive");
    let scratch = scratch(&args.store, "search")?;
    let store = &scratch.store;
    let (load_seconds, index_seconds) = load_trades(store, args)?;
    emit(&json!({"bench": "store-search", "phase": "load", "backend": format!("{:?}", args.store.backend).to_lowercase(),
        "trades": args.trades, "seconds": load_seconds, "rowsPerSecond": args.trades as f64 / load_seconds, "indexSeconds": index_seconds}));
    let shapes = ["user", "user+symbol", "user+dates", "user+status+text", "next-page"];
    let mut histograms: Vec<Histogram<u64>> = shapes.iter().map(|_| Histogram::new(3)).collect::<Result<_, _>>()?;
    let mut all = Histogram::<u64>::new(3)?;
    let mut rng = Rng(42);
    let mut rows_returned = 0_u64;
    for index in 0..args.queries {
        let shape = (index % shapes.len() as u64) as usize;
        let user = rng.below(args.users) + 1;
        let mut query = TradeQuery { user_id: user, limit: 100, ..TradeQuery::default() };
        match shape {
            1 => query.symbol = Some(SYMBOLS[rng.below(20) as usize].to_owned()),
            2 => {
                let start = LOAD_START_MS + rng.below(25) as i64 * DAY_MS;
                (query.start_ms, query.end_ms) = (Some(start), Some(start + 3 * DAY_MS));
            }
            3 => {
                query.status = Some("FAILED_INSUFFICIENT_FUNDS".to_owned());
                query.text = Some("funds".to_owned());
            }
            4 => query.page_token = store.search_trades(&query)?.next_page_token,
            _ => {}
        }
        let started = Instant::now();
        let page = store.search_trades(&query)?;
        let micros = started.elapsed().as_micros() as u64;
        rows_returned += page.trades.len() as u64;
        histograms[shape].record(micros.max(1))?;
        all.record(micros.max(1))?;
    }
    let quantile = |histogram: &Histogram<u64>, q: f64| histogram.value_at_quantile(q) as f64 / 1_000.0;
    let by_shape: Vec<_> = shapes
        .iter()
        .zip(&histograms)
        .map(|(shape, histogram)| json!({"shape": shape, "p50Ms": quantile(histogram, 0.5), "p99Ms": quantile(histogram, 0.99), "maxMs": histogram.max() as f64 / 1_000.0}))
        .collect();
    emit(&json!({
        "bench": "store-search", "phase": "search", "backend": format!("{:?}", args.store.backend).to_lowercase(),
        "trades": args.trades, "users": args.users, "queries": args.queries, "rowsReturned": rows_returned,
        "p50Ms": quantile(&all, 0.5), "p99Ms": quantile(&all, 0.99), "maxMs": all.max() as f64 / 1_000.0,
        "byShape": by_shape, "machine": machine::describe(),
    }));
    Ok(())
}

fn market_order(user: &str, symbol: &str, side: WireSide, at: &str) -> WireCommand {
    let mut order = PlaceOrder::limit(user, symbol, side, "1", "0", at);
    order.order_type = WireOrderType::Market;
    order.limit_price = None;
    WireCommand::PlaceOrder(order)
}

/// Runs the workload through the real sequencer into a memory log; returns the log.
fn produce_events(args: &ProjectionArgs) -> anyhow::Result<(Arc<dyn EventLog>, u64)> {
    let log: Arc<dyn EventLog> = Arc::new(MemoryLog::new());
    create_topics(log.as_ref(), 1)?;
    let snapshots = std::env::temp_dir().join(format!("tradecraft-bench-projection-{}", std::process::id()));
    let config = SequencerConfig { output_partitions: 1, snapshot_every_commands: u64::MAX, ..SequencerConfig::default() };
    let mut sequencer = Sequencer::open(config, Arc::clone(&log), SnapshotStore::open(&snapshots)?)?;
    let house = "9000000000000000000";
    let at = "2026-11-01T00:00:00.000Z";
    let mut commands = vec![WireCommand::CreateAccount { user_id: Some(house.to_owned()), house: true, cash: None }];
    for (index, symbol) in SYMBOLS.iter().enumerate() {
        commands.push(WireCommand::ListInstrument {
            symbol: (*symbol).to_owned(),
            tick_size: "0.01".to_owned(),
            lot_size: "1".to_owned(),
            min_quantity: "1".to_owned(),
            price_band_bps: 5_000,
        });
        commands.push(WireCommand::Deposit {
            user_id: house.to_owned(),
            transaction_id: (index + 2).to_string(),
            amount: "100000000".to_owned(),
            symbol: Some((*symbol).to_owned()),
        });
    }
    commands.push(WireCommand::Deposit { user_id: house.to_owned(), transaction_id: "1".to_owned(), amount: "1000000000000".to_owned(), symbol: None });
    for user in 1..=args.users {
        commands.push(WireCommand::CreateAccount { user_id: Some(user.to_string()), house: false, cash: None });
        commands.push(WireCommand::Deposit {
            user_id: user.to_string(),
            transaction_id: (1_000 + user).to_string(),
            amount: "10000000".to_owned(),
            symbol: None,
        });
    }
    let mut sequence = 0;
    let mut flush = |commands: &mut Vec<WireCommand>, clock: i64| -> anyhow::Result<()> {
        submit_batch(log.as_ref(), commands, "bench", sequence, Timestamp::from_millis(clock))?;
        sequence += commands.len() as u64;
        commands.clear();
        sequencer.catch_up()?;
        Ok(())
    };
    let mut clock = 1_793_491_200_000_i64; // 2026-11-01
    flush(&mut commands, clock)?;
    for index in 0..args.orders {
        let user = (index % args.users + 1).to_string();
        let symbol = SYMBOLS[(index % 20) as usize];
        // Buy from a house ask, then sell the share back into a house bid.
        let (house_side, user_side, price) = if index % 2 == 0 { (WireSide::Sell, WireSide::Buy, "100") } else { (WireSide::Buy, WireSide::Sell, "99.99") };
        commands.push(WireCommand::PlaceOrder(PlaceOrder::limit(house, symbol, house_side, "1", price, at)));
        commands.push(market_order(&user, symbol, user_side, at));
        if commands.len() >= 2_000 {
            clock += 1_000;
            flush(&mut commands, clock)?;
        }
    }
    flush(&mut commands, clock + 1_000)?;
    let _ = std::fs::remove_dir_all(&snapshots);
    let mut records = 0;
    for topic in tradecraft_store::TOPICS {
        records += log.end_offset(topic, 0).unwrap_or(0);
    }
    Ok((log, records))
}

pub(crate) fn run_projection(args: &ProjectionArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.orders > 0 && args.users > 0, "counts must be positive");
    let (log, records) = produce_events(args)?;
    let scratch = scratch(&args.store, "projection")?;
    let mut projector = Projector::open(scratch.store.clone(), log, ProjectorConfig::default())?;
    let started = Instant::now();
    let applied = projector.catch_up(u64::MAX)?;
    let seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(applied as u64 == records, "applied {applied} of {records} records");
    emit(&json!({
        "bench": "projection", "backend": format!("{:?}", args.store.backend).to_lowercase(), "orders": args.orders,
        "records": applied, "seconds": seconds, "recordsPerSecond": applied as f64 / seconds, "machine": machine::describe(),
    }));
    Ok(())
}
