//! The engine service over a real event log: seed-shaped outputs, and exactly-once
//! publication across crashes at any point (between polls, between a poll's appends).
#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failed test

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;
use tradecraft_log::{Appended, Envelope, EventLog, FileLog, FileLogConfig, LogError, MemoryLog, Offset, Partition, Record, StoredRecord};
use tradecraft_sequencer::outputs::{OUTPUT_TOPICS, TRADE_EXECUTED};
use tradecraft_sequencer::wire::{PlaceOrder, WireCommand, WireOrderType, WireSide};
use tradecraft_sequencer::{Sequencer, SequencerConfig, SnapshotStore, create_topics, submit};
use tradecraft_types::Timestamp;

struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(label: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!("tradecraft-sequencer-{label}-{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed)));
        let _ = std::fs::remove_dir_all(&path);
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn place(order_id: u64, user: u64, side: WireSide, quantity: &str, order_type: WireOrderType, limit: Option<&str>) -> WireCommand {
    let base = PlaceOrder::limit(&user.to_string(), "MOCK", side, quantity, limit.unwrap_or_default(), "2026-01-02T09:30:00.000Z");
    WireCommand::PlaceOrder(PlaceOrder { order_id: Some(order_id.to_string()), order_type, limit_price: limit.map(str::to_owned), ..base })
}

fn setup() -> Vec<WireCommand> {
    let mut commands = vec![WireCommand::ListInstrument {
        symbol: "MOCK".to_owned(),
        tick_size: "0.01".to_owned(),
        lot_size: "1".to_owned(),
        min_quantity: "1".to_owned(),
        price_band_bps: 500,
    }];
    for user in 1..=4_u64 {
        commands.push(WireCommand::CreateAccount { user_id: Some(user.to_string()), house: false, cash: None });
        commands.push(WireCommand::Deposit { user_id: user.to_string(), transaction_id: (user * 10).to_string(), amount: "100000".to_owned(), symbol: None });
        commands.push(WireCommand::Deposit {
            user_id: user.to_string(),
            transaction_id: (user * 10 + 1).to_string(),
            amount: "500".to_owned(),
            symbol: Some("MOCK".to_owned()),
        });
    }
    commands
}

/// A deterministic mix of orders, cancels and replaces that trade with each other.
fn traffic(count: u64) -> Vec<WireCommand> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (1..=count)
        .map(|order_id| {
            let user = 1 + next() % 4;
            let earlier = 1 + next() % order_id;
            match next() % 10 {
                0 => WireCommand::CancelOrder { order_id: earlier.to_string(), user_id: user.to_string() },
                1 => WireCommand::ReplaceOrder {
                    order_id: earlier.to_string(),
                    user_id: user.to_string(),
                    quantity: None,
                    limit_price: Some(format!("{}", 95 + next() % 10)),
                    stop_price: None,
                    trail_amount: None,
                    trail_percent: None,
                    client_order_id: None,
                    time_in_force: None,
                },
                2 => place(order_id, user, WireSide::Buy, "3", WireOrderType::Market, None),
                3 => place(order_id, user, WireSide::Buy, "100000", WireOrderType::Limit, Some("100")),
                roll => {
                    let side = if roll % 2 == 0 { WireSide::Buy } else { WireSide::Sell };
                    let price = format!("{}", 95 + next() % 10);
                    place(order_id, user, side, &(1 + next() % 9).to_string(), WireOrderType::Limit, Some(&price))
                }
            }
        })
        .collect()
}

fn submit_all(log: &dyn EventLog, commands: &[WireCommand]) {
    create_topics(log, 4).unwrap();
    for (sequence, command) in commands.iter().enumerate() {
        let at = Timestamp::from_millis(1_767_346_200_000 + sequence as i64);
        submit(log, command, "gateway", sequence as u64, at).unwrap();
    }
}

fn config() -> SequencerConfig {
    SequencerConfig { batch_commands_max: 16, snapshot_every_commands: 37, ..SequencerConfig::default() }
}

/// Every output record (key, value), per topic and partition, as stored.
type Dump = BTreeMap<(String, Partition), Vec<(Option<Vec<u8>>, Vec<u8>)>>;

fn dump(log: &dyn EventLog) -> Dump {
    let mut all = BTreeMap::new();
    for topic in OUTPUT_TOPICS {
        for partition in 0..log.partitions(topic).unwrap() {
            let records: Vec<StoredRecord> = log.read(topic, partition, 0, usize::MAX).unwrap();
            all.insert((topic.to_owned(), partition), records.into_iter().map(|record| (record.key, record.value)).collect());
        }
    }
    all
}

fn straight_run(commands: &[WireCommand]) -> (Dump, u64) {
    let log: Arc<dyn EventLog> = Arc::new(MemoryLog::new());
    submit_all(log.as_ref(), commands);
    let dir = TempDir::new("straight");
    let mut sequencer = Sequencer::open(config(), Arc::clone(&log), SnapshotStore::open(&dir.0).unwrap()).unwrap();
    sequencer.catch_up().unwrap();
    (dump(log.as_ref()), sequencer.engine().state_hash())
}

#[test]
fn commands_become_seed_shaped_events() {
    let mut commands = setup();
    commands.push(place(1, 1, WireSide::Sell, "5", WireOrderType::Limit, Some("100.5")));
    commands.push(place(2, 2, WireSide::Buy, "2", WireOrderType::Limit, Some("101")));
    commands.push(place(3, 3, WireSide::Buy, "1000000", WireOrderType::Limit, Some("100")));
    let log: Arc<dyn EventLog> = Arc::new(MemoryLog::new());
    submit_all(log.as_ref(), &commands);
    let dir = TempDir::new("shape");
    let mut sequencer = Sequencer::open(config(), Arc::clone(&log), SnapshotStore::open(&dir.0).unwrap()).unwrap();
    let progress = sequencer.catch_up().unwrap();
    assert_eq!(progress.commands, commands.len());
    assert_eq!(progress.skipped, 0);
    let executed: Vec<Envelope<Value>> = (0..4)
        .flat_map(|partition| log.read(TRADE_EXECUTED, partition, 0, usize::MAX).unwrap())
        .map(|record| Envelope::from_json(&record.value).unwrap())
        .collect();
    let fills: Vec<&Envelope<Value>> = executed.iter().filter(|event| event.payload["status"] == "EXECUTED").collect();
    assert_eq!(fills.len(), 2, "one execution per side of the one trade");
    for fill in &fills {
        assert_eq!(fill.event_type, "trade.executed");
        assert_eq!(fill.schema_version, "1.0");
        assert_eq!(fill.source_service, "MatchingEngine");
        assert_eq!(fill.payload["executionPrice"], "100.5");
        assert_eq!(fill.payload["quantity"], "2");
        assert_eq!(fill.payload["symbol"], "MOCK");
        assert!(fill.payload["failureReason"].is_null());
    }
    let sides: Vec<&Value> = fills.iter().map(|fill| &fill.payload["side"]).collect();
    assert!(sides.contains(&&Value::from("BUY")) && sides.contains(&&Value::from("SELL")));
    let failed: Vec<&Envelope<Value>> = executed.iter().filter(|event| event.payload["status"] != "EXECUTED").collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].payload["status"], "FAILED_INSUFFICIENT_FUNDS");
    assert_eq!(failed[0].payload["failureReason"], "insufficient_funds");
    assert_eq!(failed[0].payload["quantity"], "1000000");
    assert!(failed[0].payload["executionPrice"].is_null());
    assert_eq!(failed[0].payload["executionTimestamp"], "2026-01-02T09:30:00.015Z");
    sequencer.engine().check_invariants().unwrap();
}

type AppendHook = Box<dyn Fn(&str) -> Result<(), LogError> + Send + Sync>;
type ReadHook = Box<dyn Fn(&str, &mut Vec<StoredRecord>) + Send + Sync>;
type EndHook = Box<dyn Fn(&str) + Send + Sync>;

/// An event log around another that lets a test step in: before an append (to fail it,
/// like a crash between a poll's appends), after a read (to lose a record, as a faulty
/// backend could) or after a partition's end is read (to move the log on meanwhile).
struct Hooked {
    inner: Arc<dyn EventLog>,
    before_append: AppendHook,
    after_read: ReadHook,
    after_end: EndHook,
}

impl Hooked {
    fn new(inner: Arc<dyn EventLog>) -> Self {
        Self { inner, before_append: Box::new(|_| Ok(())), after_read: Box::new(|_, _| {}), after_end: Box::new(|_| {}) }
    }

    /// Fails the append to an output topic after `appends` more succeed.
    fn failing_once(inner: Arc<dyn EventLog>, appends: usize) -> Self {
        let left = AtomicUsize::new(appends);
        let before_append: AppendHook = Box::new(move |topic| {
            if OUTPUT_TOPICS.contains(&topic) && left.fetch_sub(1, Ordering::SeqCst) == 0 {
                return Err(LogError::Unavailable("injected failure".to_owned()));
            }
            Ok(())
        });
        Self { before_append, ..Self::new(inner) }
    }
}

impl std::fmt::Debug for Hooked {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Hooked").field("inner", &self.inner).finish_non_exhaustive()
    }
}

impl EventLog for Hooked {
    fn create_topic(&self, topic: &str, partitions: u32) -> Result<(), LogError> {
        self.inner.create_topic(topic, partitions)
    }
    fn partitions(&self, topic: &str) -> Result<u32, LogError> {
        self.inner.partitions(topic)
    }
    fn append(&self, topic: &str, records: Vec<Record>) -> Result<Vec<Appended>, LogError> {
        (self.before_append)(topic)?;
        self.inner.append(topic, records)
    }
    fn read(&self, topic: &str, partition: Partition, from: Offset, max_records: usize) -> Result<Vec<StoredRecord>, LogError> {
        let mut records = self.inner.read(topic, partition, from, max_records)?;
        (self.after_read)(topic, &mut records);
        Ok(records)
    }
    fn start_offset(&self, topic: &str, partition: Partition) -> Result<Offset, LogError> {
        self.inner.start_offset(topic, partition)
    }
    fn end_offset(&self, topic: &str, partition: Partition) -> Result<Offset, LogError> {
        let end = self.inner.end_offset(topic, partition)?;
        (self.after_end)(topic);
        Ok(end)
    }
    fn commit_position(&self, group: &str, topic: &str, partition: Partition, next: Offset) -> Result<(), LogError> {
        self.inner.commit_position(group, topic, partition, next)
    }
    fn position(&self, group: &str, topic: &str, partition: Partition) -> Result<Option<Offset>, LogError> {
        self.inner.position(group, topic, partition)
    }
}

fn crash_and_recover(log: Arc<dyn EventLog>, reopen: impl Fn(Arc<dyn EventLog>) -> Arc<dyn EventLog>) {
    let mut commands = setup();
    commands.extend(traffic(400));
    let (expected, expected_hash) = straight_run(&commands);
    submit_all(log.as_ref(), &commands);
    let snapshots = TempDir::new("crash");
    let mut log = log;
    // Crash after a failed append at several points, each time reopening from what is stored.
    for failure_at in [3_usize, 0, 1, 6, 2] {
        let failing: Arc<dyn EventLog> = Arc::new(Hooked::failing_once(Arc::clone(&log), failure_at));
        let mut sequencer = Sequencer::open(config(), failing, SnapshotStore::open(&snapshots.0).unwrap()).unwrap();
        let error = sequencer.catch_up().unwrap_err();
        assert!(error.to_string().contains("injected failure"), "{error}");
        drop(sequencer);
        log = reopen(log);
    }
    // And a plain stop between polls, before the next snapshot (two polls of 16 commands
    // stay under the 37-command interval), so the restart must replay and skip.
    let mut sequencer = Sequencer::open(config(), Arc::clone(&log), SnapshotStore::open(&snapshots.0).unwrap()).unwrap();
    for _ in 0..2 {
        sequencer.poll().unwrap();
    }
    drop(sequencer);
    let log = reopen(log);
    let mut sequencer = Sequencer::open(config(), Arc::clone(&log), SnapshotStore::open(&snapshots.0).unwrap()).unwrap();
    let progress = sequencer.catch_up().unwrap();
    assert!(progress.skipped > 0, "recovery replayed something already published");
    assert_eq!(sequencer.engine().state_hash(), expected_hash);
    let actual = dump(log.as_ref());
    for (slot, records) in &expected {
        assert_eq!(actual[slot].len(), records.len(), "{slot:?}: no record lost or doubled");
        assert!(actual[slot] == *records, "{slot:?}: same records in the same order");
    }
    sequencer.engine().check_invariants().unwrap();
}

#[test]
fn crashes_anywhere_publish_exactly_once_on_memory() {
    crash_and_recover(Arc::new(MemoryLog::new()), |log| log);
}

#[test]
fn crashes_anywhere_publish_exactly_once_on_files() {
    let dir = TempDir::new("file-log");
    let open = || -> Arc<dyn EventLog> { Arc::new(FileLog::open(FileLogConfig::new(&dir.0)).unwrap()) };
    crash_and_recover(open(), |log| {
        drop(log);
        open()
    });
}

#[test]
fn a_malformed_command_is_reported_and_skipped() {
    let log: Arc<dyn EventLog> = Arc::new(MemoryLog::new());
    let mut commands = setup();
    commands.push(place(1, 1, WireSide::Sell, "5", WireOrderType::Limit, Some("100")));
    submit_all(log.as_ref(), &commands[..2]);
    log.append("trade_orders", vec![Record { key: None, value: b"{not json".to_vec(), timestamp_ms: 5 }]).unwrap();
    for (sequence, command) in commands[2..].iter().enumerate() {
        submit(log.as_ref(), command, "gateway", 100 + sequence as u64, Timestamp::from_millis(6)).unwrap();
    }
    let dir = TempDir::new("malformed");
    let mut sequencer = Sequencer::open(config(), Arc::clone(&log), SnapshotStore::open(&dir.0).unwrap()).unwrap();
    sequencer.catch_up().unwrap();
    let invalid: Vec<Envelope<Value>> = (0..4)
        .flat_map(|partition| log.read("account_updates", partition, 0, usize::MAX).unwrap())
        .map(|record| Envelope::from_json(&record.value).unwrap())
        .filter(|event: &Envelope<Value>| event.event_type == "command.invalid")
        .collect();
    assert_eq!(invalid.len(), 1);
    assert_eq!(invalid[0].payload["offset"], 2);
    assert_eq!(sequencer.engine().open_order_count(), 1, "commands after the bad one still run");
}

#[test]
fn periodic_snapshots_are_written_off_thread_and_spaced_by_time() {
    let mut commands = setup();
    commands.extend(traffic(400));
    let (_, expected_hash) = straight_run(&commands);

    // Every 37 commands, written by the snapshot thread: reopening from the newest one
    // reaches the same state.
    let log: Arc<dyn EventLog> = Arc::new(MemoryLog::new());
    submit_all(log.as_ref(), &commands);
    let dir = TempDir::new("background");
    let store = SnapshotStore::open(&dir.0).unwrap();
    let mut sequencer = Sequencer::open(config(), Arc::clone(&log), store.clone()).unwrap();
    sequencer.catch_up().unwrap();
    // The final, synchronous snapshot waits for the thread's writes first.
    sequencer.snapshot().unwrap();
    let written = std::fs::read_dir(&dir.0).unwrap().filter(|entry| entry.as_ref().unwrap().path().extension().is_some_and(|ext| ext == "snapshot")).count();
    assert!(written >= 2, "periodic snapshots were written ({written} kept)");
    drop(sequencer);
    let reopened = Sequencer::open(config(), Arc::clone(&log), store).unwrap();
    assert_eq!(reopened.engine().state_hash(), expected_hash);

    // With a minimum interval longer than the run, no periodic snapshot is taken.
    let log: Arc<dyn EventLog> = Arc::new(MemoryLog::new());
    submit_all(log.as_ref(), &commands);
    let dir = TempDir::new("spaced");
    let spaced = SequencerConfig { snapshot_min_interval: std::time::Duration::from_secs(3_600), ..config() };
    let mut sequencer = Sequencer::open(spaced, Arc::clone(&log), SnapshotStore::open(&dir.0).unwrap()).unwrap();
    sequencer.catch_up().unwrap();
    assert_eq!(SnapshotStore::open(&dir.0).unwrap().latest().unwrap(), None, "no snapshot within the interval");
    assert_eq!(sequencer.engine().state_hash(), expected_hash);
}

/// The last segment file of a file log's topic partition.
fn last_segment(dir: &std::path::Path, topic: &str, partition: u32) -> std::path::PathBuf {
    let mut segments: Vec<_> = std::fs::read_dir(dir.join("topics").join(topic).join(partition.to_string()))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "log"))
        .collect();
    segments.sort();
    segments.pop().unwrap()
}

/// Cuts `fraction` (in percent) off the end of a file, as a disk losing a tail would.
fn cut_tail(path: &std::path::Path, percent: u64) {
    let file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    let length = file.metadata().unwrap().len();
    file.set_len(length - length * percent / 100).unwrap();
}

/// Writes `commands` to a file log in `dir` and applies them, with a snapshot at the end
/// when `snapshot_at_end`.
fn run_on_files(dir: &std::path::Path, commands: &[WireCommand], snapshot_every: u64, snapshot_at_end: bool) {
    let log: Arc<dyn EventLog> = Arc::new(FileLog::open(FileLogConfig::new(dir.join("log"))).unwrap());
    submit_all(log.as_ref(), commands);
    let config = SequencerConfig { snapshot_every_commands: snapshot_every, ..config() };
    let mut sequencer = Sequencer::open(config, Arc::clone(&log), SnapshotStore::open(dir.join("snapshots")).unwrap()).unwrap();
    sequencer.catch_up().unwrap();
    if snapshot_at_end {
        sequencer.snapshot().unwrap();
    }
}

fn reopen(dir: &std::path::Path, snapshot_every: u64) -> Result<Sequencer, tradecraft_sequencer::SequencerError> {
    let log: Arc<dyn EventLog> = Arc::new(FileLog::open(FileLogConfig::new(dir.join("log"))).unwrap());
    let config = SequencerConfig { snapshot_every_commands: snapshot_every, ..config() };
    Sequencer::open(config, log, SnapshotStore::open(dir.join("snapshots")).unwrap())
}

#[test]
fn a_command_log_cut_below_a_snapshot_is_refused_and_no_offset_is_reused() {
    let dir = TempDir::new("cut-commands");
    let mut commands = setup();
    commands.extend(traffic(300));
    run_on_files(&dir.0, &commands, 37, true);
    cut_tail(&last_segment(&dir.0.join("log"), "trade_orders", 0), 30);
    let Err(error) = reopen(&dir.0, 37) else { panic!("a log shorter than its snapshot must not open") };
    let message = error.to_string();
    assert!(matches!(error, tradecraft_sequencer::SequencerError::CommandsMissing { .. }), "{message}");
    assert!(message.contains("trade_orders") && message.contains("missing") && message.contains("backup"), "{message}");
}

#[test]
fn a_command_log_cut_below_what_the_outputs_answered_is_refused() {
    let dir = TempDir::new("cut-answered");
    let mut commands = setup();
    commands.extend(traffic(300));
    // No snapshot at all: the output topics are the only witnesses.
    run_on_files(&dir.0, &commands, u64::MAX, false);
    cut_tail(&last_segment(&dir.0.join("log"), "trade_orders", 0), 30);
    let Err(error) = reopen(&dir.0, u64::MAX) else { panic!("a log shorter than what its outputs answered must not open") };
    assert!(error.to_string().contains("output topic"), "{error}");
}

#[test]
fn records_lost_from_an_output_tail_are_written_again() {
    let mut commands = setup();
    commands.extend(traffic(300));
    let (straight, hash) = straight_run(&commands);
    let dir = TempDir::new("cut-outputs");
    run_on_files(&dir.0, &commands, 37, true);
    // The last records of an order_updates partition are lost; the latest snapshot says
    // they were written.
    let partition = (0..4).max_by_key(|partition| std::fs::metadata(last_segment(&dir.0.join("log"), "order_updates", *partition)).unwrap().len()).unwrap();
    cut_tail(&last_segment(&dir.0.join("log"), "order_updates", partition), 5);
    let mut sequencer = reopen(&dir.0, 37).unwrap();
    sequencer.catch_up().unwrap();
    assert_eq!(sequencer.engine().state_hash(), hash);
    let log = FileLog::open(FileLogConfig::new(dir.0.join("log"))).unwrap();
    assert!(dump(&log) == straight, "the output topics equal a straight run's again");
}

#[test]
fn commands_that_are_not_contiguous_are_refused() {
    // The log loses command 3 from what it reads back (as a faulty backend could).
    let after_read: ReadHook = Box::new(|topic, records| {
        if topic == "trade_orders" {
            records.retain(|record| record.offset != 3);
        }
    });
    let log: Arc<dyn EventLog> = Arc::new(Hooked { after_read, ..Hooked::new(Arc::new(MemoryLog::new())) });
    let mut commands = setup();
    commands.extend(traffic(20));
    submit_all(log.as_ref(), &commands);
    let dir = TempDir::new("gap");
    let mut sequencer = Sequencer::open(config(), Arc::clone(&log), SnapshotStore::open(&dir.0).unwrap()).unwrap();
    match sequencer.catch_up() {
        Err(tradecraft_sequencer::SequencerError::CommandGap { expected, found }) => assert_eq!((expected, found), (3, 4)),
        other => panic!("a command skipped unnoticed: {other:?}"),
    }
    assert!(sequencer.next_command() <= 3, "nothing after the gap was applied");
}

/// A replica (a gateway's) opened while the engine applies and publishes: the outputs it
/// reads may answer commands appended after it looked at the command log's end, which is
/// not a log that lost commands. It opens, and follows to the leader's state.
#[test]
fn a_replica_opened_beside_a_busy_leader_opens_and_follows() {
    let log: Arc<dyn EventLog> = Arc::new(MemoryLog::new());
    let mut commands = setup();
    commands.extend(traffic(60));
    let (now, later) = commands.split_at(commands.len() - 20);
    submit_all(log.as_ref(), now);
    let leader_snapshots = TempDir::new("busy-leader");
    let mut leader = Sequencer::open(config(), Arc::clone(&log), SnapshotStore::open(&leader_snapshots.0).unwrap()).unwrap();
    leader.catch_up().unwrap();
    // The leader, busy, applies more commands (and publishes their outputs) right after the
    // replica reads where the command log ends.
    let waiting = std::sync::Mutex::new(Some((leader, later.to_vec())));
    let inner = Arc::clone(&log);
    let after_end: EndHook = Box::new(move |topic| {
        if topic == "trade_orders"
            && let Some((mut leader, more)) = waiting.lock().unwrap().take()
        {
            let first = inner.end_offset(topic, 0).unwrap();
            for (index, command) in more.iter().enumerate() {
                let sequence = first + index as u64;
                submit(inner.as_ref(), command, "gateway", sequence, Timestamp::from_millis(1_767_346_200_000 + sequence as i64)).unwrap();
            }
            leader.catch_up().unwrap();
        }
    });
    let busy: Arc<dyn EventLog> = Arc::new(Hooked { after_end, ..Hooked::new(Arc::clone(&log)) });
    let replica_snapshots = TempDir::new("busy-replica");
    let replica_config = SequencerConfig { publish: tradecraft_sequencer::Publish::Never, ..config() };
    let mut replica = Sequencer::open(replica_config, busy, SnapshotStore::open(&replica_snapshots.0).unwrap()).expect("a replica opens beside a busy leader");
    replica.catch_up().unwrap();
    assert_eq!(replica.next_command(), log.end_offset("trade_orders", 0).unwrap());
    let (_, expected_hash) = straight_run(&commands);
    assert_eq!(replica.engine().state_hash(), expected_hash);
}

/// An engine whose rules or configuration changed since it published (here: fees) must not
/// take the stored outputs of the commands it replays as its own: it stops with the
/// reason, and the version that published them goes on as before.
#[test]
fn a_replay_that_computes_other_outputs_than_those_stored_halts_instead_of_skipping_them() {
    let mut commands = setup();
    commands.extend(traffic(120));
    let log: Arc<dyn EventLog> = Arc::new(MemoryLog::new());
    submit_all(log.as_ref(), &commands);
    let snapshots = TempDir::new("diverged");
    // Published with no snapshot since the start (as after a kill -9).
    let unsnapshotted = || SequencerConfig { snapshot_every_commands: 1_000_000, ..config() };
    let mut first = Sequencer::open(unsnapshotted(), Arc::clone(&log), SnapshotStore::open(&snapshots.0).unwrap()).unwrap();
    first.catch_up().unwrap();
    let published = dump(log.as_ref());
    drop(first);

    let mut fees = unsnapshotted();
    fees.engine.taker_fee_bps = 10;
    let mut changed = Sequencer::open(fees, Arc::clone(&log), SnapshotStore::open(&snapshots.0).unwrap()).unwrap();
    let error = changed.catch_up().unwrap_err();
    assert!(matches!(error, tradecraft_sequencer::SequencerError::Diverged { .. }), "{error}");
    assert!(error.to_string().contains("differently from the record stored"), "{error}");
    assert!(dump(log.as_ref()) == published, "nothing was written by the diverged replay");

    let mut same = Sequencer::open(unsnapshotted(), Arc::clone(&log), SnapshotStore::open(&snapshots.0).unwrap()).unwrap();
    let progress = same.catch_up().unwrap();
    assert!(progress.skipped > 0 && progress.published == 0, "{progress:?}");
    assert!(dump(log.as_ref()) == published);
}
