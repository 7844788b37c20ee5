//! `bench restart`: how long the embedded server takes to come back on a data dir holding
//! millions of logged events. The data dir is produced by the real engine from a trading
//! workload (commands in `trade_orders`, their events in the output topics, snapshots
//! every 100,000 commands as `serve` takes them); then the timed part reopens it exactly as
//! `serve` does: open the file log (checking it), load the latest snapshot, find the last
//! stored output sequences, and replay the commands after the snapshot (their outputs are
//! already stored, so nothing is published twice). The engine's state hash after the
//! restart must equal the one before.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use serde_json::json;
use tradecraft_log::{EventLog, FileLog, FileLogConfig};
use tradecraft_sequencer::wire::{PlaceOrder, WireCommand, WireOrderType, WireSide};
use tradecraft_sequencer::{Sequencer, SequencerConfig, SnapshotStore, TRADE_ORDERS, create_topics, submit_batch};
use tradecraft_types::Timestamp;

use crate::bench::emit;
use crate::machine;

#[derive(Debug, clap::Args)]
pub(crate) struct RestartArgs {
    /// Records (events) the log holds across all topics before the restart.
    #[arg(long, default_value_t = 10_000_000)]
    events: u64,
    /// Data dir to build (or reuse, with --reuse) under this directory.
    #[arg(long, default_value = "target/bench-restart")]
    dir: PathBuf,
    /// Reuse a data dir a previous run built (and keep it afterwards).
    #[arg(long)]
    reuse: bool,
    /// Timed restarts (the file cache is warm after the first, as on a quick restart).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Commands between snapshots while building (`serve`: 100,000, and at least 10 s
    /// apart, so more under sustained load): the most a restart replays.
    #[arg(long, default_value_t = 100_000)]
    snapshot_every: u64,
}

const USERS: u64 = 1_000;
const SYMBOLS: u64 = 20;
const HOUSE: &str = "9000000000000000000";

fn config(snapshot_every: u64) -> SequencerConfig {
    SequencerConfig { output_partitions: 1, snapshot_every_commands: snapshot_every, ..SequencerConfig::default() }
}

fn total_records(log: &dyn EventLog) -> anyhow::Result<u64> {
    let mut total = 0;
    for topic in [TRADE_ORDERS, "trade_executed", "order_updates", "book_updates", "account_updates"] {
        for partition in 0..log.partitions(topic)? {
            total += log.end_offset(topic, partition)? - log.start_offset(topic, partition)?;
        }
    }
    Ok(total)
}

fn symbol(index: u64) -> String {
    format!("SYM{index:02}")
}

/// Fills `dir` with the workload until the log holds `events` records; returns the
/// engine's state hash at the end.
fn build(dir: &Path, events: u64, snapshot_every: u64) -> anyhow::Result<u64> {
    let log: Arc<dyn EventLog> = Arc::new(FileLog::open(FileLogConfig::new(dir.join("log")))?);
    create_topics(log.as_ref(), 1)?;
    let mut sequencer = Sequencer::open(config(snapshot_every), Arc::clone(&log), SnapshotStore::open(dir.join("snapshots"))?)?;
    let at = "2026-11-01T00:00:00.000Z";
    let mut commands = vec![WireCommand::CreateAccount { user_id: Some(HOUSE.to_owned()), house: true, cash: None }];
    commands.push(WireCommand::Deposit { user_id: HOUSE.to_owned(), transaction_id: "1".to_owned(), amount: "1000000000000".to_owned(), symbol: None });
    for index in 0..SYMBOLS {
        commands.push(WireCommand::ListInstrument {
            symbol: symbol(index),
            tick_size: "0.01".to_owned(),
            lot_size: "1".to_owned(),
            min_quantity: "1".to_owned(),
            price_band_bps: 5_000,
        });
        commands.push(WireCommand::Deposit {
            user_id: HOUSE.to_owned(),
            transaction_id: (index + 2).to_string(),
            amount: "1000000000".to_owned(),
            symbol: Some(symbol(index)),
        });
    }
    for user in 1..=USERS {
        commands.push(WireCommand::CreateAccount { user_id: Some(user.to_string()), house: false, cash: None });
        commands.push(WireCommand::Deposit {
            user_id: user.to_string(),
            transaction_id: (1_000 + user).to_string(),
            amount: "100000000".to_owned(),
            symbol: None,
        });
    }
    let (mut sequence, mut clock, mut round) = (0_u64, 1_793_491_200_000_i64, 0_u64);
    loop {
        submit_batch(log.as_ref(), &commands, "bench", sequence, Timestamp::from_millis(clock))?;
        sequence += commands.len() as u64;
        commands.clear();
        sequencer.catch_up()?;
        if total_records(log.as_ref())? >= events {
            break;
        }
        clock += 1_000;
        // A resting house quote and a user order that takes it, a few levels deep.
        for _ in 0..1_000 {
            let (user, name) = ((round % USERS + 1).to_string(), symbol(round % SYMBOLS));
            let (house_side, user_side, price) = if round % 2 == 0 { (WireSide::Sell, WireSide::Buy, "100") } else { (WireSide::Buy, WireSide::Sell, "99.99") };
            commands.push(WireCommand::PlaceOrder(PlaceOrder::limit(HOUSE, &name, house_side, "1", price, at)));
            let mut order = PlaceOrder::limit(&user, &name, user_side, "1", "0", at);
            order.order_type = WireOrderType::Market;
            order.limit_price = None;
            commands.push(WireCommand::PlaceOrder(order));
            round += 1;
        }
    }
    Ok(sequencer.engine().state_hash())
}

/// The timed part: what `serve` does before it can take requests.
fn restart(dir: &Path, snapshot_every: u64) -> anyhow::Result<(f64, f64, u64, u64, u64)> {
    let started = Instant::now();
    let log: Arc<dyn EventLog> = Arc::new(FileLog::open(FileLogConfig::new(dir.join("log"))).context("opening the log")?);
    let opened = started.elapsed().as_secs_f64();
    let mut sequencer = Sequencer::open(config(snapshot_every), Arc::clone(&log), SnapshotStore::open(dir.join("snapshots"))?)?;
    let from = sequencer.next_command();
    let progress = sequencer.catch_up()?;
    let seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(progress.published == 0, "a restart published {} records again", progress.published);
    Ok((seconds, opened, sequencer.next_command() - from, total_records(log.as_ref())?, sequencer.engine().state_hash()))
}

pub(crate) fn run(args: &RestartArgs) -> anyhow::Result<()> {
    let dir = args.dir.join(format!("{}-events", args.events));
    let expected = if args.reuse && dir.join("log").exists() {
        None
    } else {
        let _ = std::fs::remove_dir_all(&dir);
        let started = Instant::now();
        let hash = build(&dir, args.events, args.snapshot_every)?;
        emit(&json!({"bench": "restart", "phase": "build", "events": args.events, "seconds": started.elapsed().as_secs_f64()}));
        Some(hash)
    };
    let mut hashes = Vec::new();
    for run in 0..args.runs {
        let (seconds, open_seconds, replayed, records, hash) = restart(&dir, args.snapshot_every)?;
        if let Some(expected) = expected {
            anyhow::ensure!(hash == expected, "state hash after restart {hash:x} differs from before {expected:x}");
        }
        hashes.push(hash);
        emit(&json!({
            "bench": "restart", "run": run, "records": records, "seconds": seconds, "logOpenSeconds": open_seconds,
            "commandsReplayed": replayed, "stateHash": format!("{hash:016x}"), "machine": machine::describe(),
        }));
    }
    anyhow::ensure!(hashes.windows(2).all(|pair| pair[0] == pair[1]), "restarts disagree on the state");
    if !args.reuse {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}
