//! The engine thread: outcomes by offset (asked before or after the command ran), queries,
//! and a snapshot on stop that the next start resumes from.
#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failed test

use std::sync::Arc;
use std::sync::mpsc::sync_channel;
use std::time::Duration;

use tradecraft_engine::Event;
use tradecraft_log::{EventLog, MemoryLog};
use tradecraft_sequencer::runtime::start;
use tradecraft_sequencer::wire::{PlaceOrder, WireCommand, WireSide};
use tradecraft_sequencer::{CommandOutcome, EngineHandle, Request, SequencerConfig, SnapshotStore, create_topics, submit};
use tradecraft_types::{AccountId, OrderId, Timestamp};

fn outcome(handle: &EngineHandle, offset: u64) -> CommandOutcome {
    let (sender, receiver) = sync_channel(1);
    handle.request(Request::Outcome { offset, reply: Box::new(move |outcome| sender.send(outcome).unwrap()) }).unwrap();
    receiver.recv_timeout(Duration::from_secs(5)).unwrap().unwrap()
}

fn order(user: &str) -> WireCommand {
    WireCommand::PlaceOrder(PlaceOrder::limit(user, "MOCK", WireSide::Buy, "2", "10", "2026-01-02T09:30:00.000Z"))
}

/// Waits up to 5 s for the engine to halt, and fails if it does not.
fn wait_until_halted(status: &tradecraft_sequencer::runtime::RuntimeStatus) {
    use std::sync::atomic::Ordering;
    for _ in 0..500 {
        if status.halted.load(Ordering::SeqCst) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("the engine did not halt");
}

/// A memory log with the topics, and an empty snapshot folder named after `name`.
fn memory_log_and_snapshots(name: &str) -> (Arc<dyn EventLog>, std::path::PathBuf, SnapshotStore) {
    let log: Arc<dyn EventLog> = Arc::new(MemoryLog::new());
    create_topics(log.as_ref(), 4).unwrap();
    let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let snapshots = SnapshotStore::open(&dir).unwrap();
    (log, dir, snapshots)
}

#[test]
fn outcomes_queries_and_restart() {
    let (log, dir, snapshots) = memory_log_and_snapshots("tradecraft-runtime");
    let (handle, thread) = start(SequencerConfig::default(), Arc::clone(&log), snapshots.clone(), 64, Box::new(|_| {})).unwrap();
    let at = Timestamp::from_millis(1_767_346_200_000);
    let setup = [
        WireCommand::ListInstrument {
            symbol: "MOCK".to_owned(),
            tick_size: "0.01".to_owned(),
            lot_size: "1".to_owned(),
            min_quantity: "1".to_owned(),
            price_band_bps: 500,
        },
        WireCommand::CreateAccount { user_id: Some("7".to_owned()), house: false, cash: None },
        WireCommand::Deposit { user_id: "7".to_owned(), transaction_id: "1".to_owned(), amount: "30".to_owned(), symbol: None },
    ];
    for (sequence, command) in setup.iter().enumerate() {
        submit(log.as_ref(), command, "test", sequence as u64, at).unwrap();
    }
    // Asked after it ran (the ring answers) or before (the waiter answers): same outcome.
    let accepted_offset = submit(log.as_ref(), &order("7"), "test", 10, at).unwrap();
    handle.request(Request::Wake).unwrap();
    let accepted = outcome(&handle, accepted_offset);
    assert!(matches!(&accepted.result, Ok(events) if matches!(&events[0], Event::OrderAccepted(order) if order.order_id == OrderId(accepted_offset))));
    let rejected_offset = submit(log.as_ref(), &order("7"), "test", 11, at).unwrap();
    let rejected = outcome(&handle, rejected_offset);
    assert!(matches!(&rejected.result, Ok(events) if matches!(events[0], Event::OrderRejected { .. })), "{rejected:?}");
    assert_eq!(outcome(&handle, accepted_offset), accepted);

    let (sender, receiver) = sync_channel(1);
    handle
        .request(Request::Query(Box::new(move |engine| {
            sender.send(engine.account(AccountId(7)).unwrap().cash.reserved).unwrap();
        })))
        .unwrap();
    assert_eq!(receiver.recv_timeout(Duration::from_secs(5)).unwrap(), 20 * 100_000_000);

    handle.stop();
    thread.join().unwrap();
    assert!(snapshots.latest().unwrap().is_some(), "a stop leaves a snapshot");
    let (handle, thread) = start(SequencerConfig::default(), Arc::clone(&log), snapshots, 64, Box::new(|_| {})).unwrap();
    assert_eq!(handle.status().next_command.load(std::sync::atomic::Ordering::Relaxed), rejected_offset + 1);
    handle.stop();
    thread.join().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// A command that panics the engine thread (here its listener, as a bug in the engine or
/// in the API's view would): the engine halts and says where, answers neither outcomes nor
/// queries from the half-applied state, and keeps no snapshot of it; its thread ends
/// cleanly on stop. Before, the thread died: health still said ready and every request
/// waited for an engine that was gone.
#[test]
fn a_command_that_panics_the_engine_halts_it_and_says_where() {
    use std::sync::atomic::Ordering;
    let (log, dir, snapshots) = memory_log_and_snapshots("tradecraft-runtime-panic");
    let at = Timestamp::from_millis(1_767_346_200_000);
    let poison = 3;
    let listener = Box::new(move |outcome: &CommandOutcome| assert_ne!(outcome.offset, poison, "a bug met on command {poison}"));
    let (handle, thread) = start(SequencerConfig::default(), Arc::clone(&log), snapshots.clone(), 64, listener).unwrap();
    for sequence in 0..6 {
        submit(log.as_ref(), &order("7"), "test", sequence, at).unwrap();
    }
    handle.request(Request::Wake).unwrap();
    let status = handle.status();
    wait_until_halted(status);
    assert!(!status.recovered.load(Ordering::SeqCst), "not ready");
    let failure = status.failure.lock().unwrap().clone().unwrap();
    assert!(failure.contains("panicked") && failure.contains("a bug met on command 3"), "{failure}");
    let (sender, receiver) = sync_channel(1);
    handle.request(Request::Outcome { offset: 5, reply: Box::new(move |outcome| sender.send(outcome).unwrap()) }).unwrap();
    assert!(receiver.recv_timeout(Duration::from_secs(5)).unwrap().is_err(), "no outcomes after the panic");
    let (sender, receiver) = sync_channel::<u64>(1);
    handle.request(Request::Query(Box::new(move |engine| sender.send(engine.state_hash()).unwrap()))).unwrap();
    assert!(receiver.recv_timeout(Duration::from_secs(5)).is_err(), "no query reads the half-applied state");
    handle.stop();
    thread.join().expect("the engine thread ends cleanly");
    assert!(snapshots.latest().unwrap().is_none(), "no snapshot of the half-applied state");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A flipped byte in a sealed segment that a start-up replay reads (from the start with no
/// snapshot, or from a snapshot before it): the engine halts and says where (no reopen
/// loop, no appends, no outcomes, no snapshot).
fn corruption_met_while_replaying(with_snapshot: bool) {
    use std::io::{Read, Seek, SeekFrom, Write};
    use std::sync::atomic::Ordering;
    use tradecraft_log::{FileLog, FileLogConfig};

    let dir = std::env::temp_dir().join(format!("tradecraft-runtime-corrupt-{with_snapshot}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = || FileLogConfig { segment_bytes: 4_096, ..FileLogConfig::new(dir.join("log")) };
    let at = Timestamp::from_millis(1_767_346_200_000);
    {
        let log = Arc::new(FileLog::open(config()).unwrap());
        create_topics(log.as_ref(), 4).unwrap();
        for sequence in 0..50 {
            submit(log.as_ref(), &order("1"), "gateway", sequence, at).unwrap();
        }
        if with_snapshot {
            let snapshots = SnapshotStore::open(dir.join("snapshots")).unwrap();
            let mut sequencer = tradecraft_sequencer::Sequencer::open(SequencerConfig::default(), log.clone(), snapshots).unwrap();
            sequencer.catch_up().unwrap();
            sequencer.snapshot().unwrap();
        }
        for sequence in 50..200 {
            submit(log.as_ref(), &order("1"), "gateway", sequence, at).unwrap();
        }
    }
    // A sealed trade_orders segment holding commands after offset 50 (newer ones follow).
    let partition = dir.join("log/topics/trade_orders/0");
    let mut segments: Vec<_> =
        std::fs::read_dir(&partition).unwrap().map(|entry| entry.unwrap().path()).filter(|path| path.extension().is_some_and(|e| e == "log")).collect();
    segments.sort();
    let base = |path: &std::path::Path| path.file_stem().unwrap().to_str().unwrap().parse::<u64>().unwrap();
    let damaged = segments.iter().find(|path| base(path) > 50).unwrap().clone();
    assert!(damaged != *segments.last().unwrap(), "the damaged segment is sealed");
    let mut file = std::fs::OpenOptions::new().read(true).write(true).open(&damaged).unwrap();
    let mut byte = [0_u8];
    file.seek(SeekFrom::Start(1_000)).unwrap();
    file.read_exact(&mut byte).unwrap();
    file.seek(SeekFrom::Start(1_000)).unwrap();
    file.write_all(&[byte[0] ^ 0x40]).unwrap();
    drop(file);
    let snapshots_before = std::fs::read_dir(dir.join("snapshots")).map(|entries| entries.count()).unwrap_or(0);

    let log: Arc<dyn EventLog> = Arc::new(FileLog::open(config()).unwrap());
    let end = log.end_offset("trade_orders", 0).unwrap();
    let snapshots = SnapshotStore::open(dir.join("snapshots")).unwrap();
    let (handle, thread) = start(SequencerConfig::default(), Arc::clone(&log), snapshots, 64, Box::new(|_| {})).unwrap();
    let status = handle.status();
    wait_until_halted(status);
    std::thread::sleep(Duration::from_millis(300));
    let failure = status.failure.lock().unwrap().clone().unwrap();
    assert!(failure.contains(&damaged.display().to_string()) && failure.contains("at byte"), "the failure names the file and the byte: {failure}");
    assert!(!status.recovered.load(Ordering::SeqCst));
    assert_eq!(status.recoveries.load(Ordering::SeqCst), 0, "no reopen loop");
    assert_eq!(log.end_offset("trade_orders", 0).unwrap(), end, "nothing appended");
    let (sender, receiver) = sync_channel(1);
    handle.request(Request::Outcome { offset: end - 1, reply: Box::new(move |outcome| sender.send(outcome).unwrap()) }).unwrap();
    assert!(receiver.recv_timeout(Duration::from_secs(5)).unwrap().is_err(), "no outcomes from a halted engine");
    handle.stop();
    thread.join().unwrap();
    let snapshots_after = std::fs::read_dir(dir.join("snapshots")).map(|entries| entries.count()).unwrap_or(0);
    assert_eq!(snapshots_after, snapshots_before, "no snapshot of a damaged replay");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn corruption_met_while_replaying_from_the_start_halts_the_engine() {
    corruption_met_while_replaying(false);
}

#[test]
fn corruption_met_while_replaying_from_a_snapshot_halts_the_engine() {
    corruption_met_while_replaying(true);
}
