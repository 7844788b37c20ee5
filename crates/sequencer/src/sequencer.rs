//! The sequencer: reads `trade_orders` in order, applies each command to the engine and
//! publishes the resulting records, exactly once, across crashes.
//!
//! Exactly once without broker transactions: the engine is a pure function of the command
//! order, so replaying commands re-creates the same output records. Every output record
//! carries the producer name and a sequence number per (topic, partition). After a
//! restart the sequencer loads its latest snapshot, reads the last sequence already stored
//! in each output partition, replays the commands after the snapshot, and skips every
//! output whose sequence is already stored. Nothing is lost (commands stay in the log
//! until a snapshot covers them) and nothing is published twice.

use std::collections::BTreeMap;
use std::sync::Arc;

use tradecraft_engine::{Engine, EngineConfig, Event, SnapshotError};
use tradecraft_events::TRADE_ORDERS_SCHEMA_VERSION;
use tradecraft_log::{Envelope, EventLog, LogError, Offset, Partition, Record};
use tradecraft_types::Timestamp;

use crate::outputs::{OUTPUT_TOPICS, Output, outputs};
use crate::snapshots::{SequencerSnapshot, Sequences, SnapshotStore, SnapshotStoreError};
use crate::wire::WireCommand;

/// The command topic: one partition, so every command has one place in one order.
pub const TRADE_ORDERS: &str = "trade_orders";
/// Where the publishing engine records, after each batch, the offset of the next command:
/// every output of the commands before it is stored. A projector in another process reads
/// up to there (a command's outputs span partitions, and it applies each command whole).
pub const ENGINE_PROGRESS: &str = "engine_progress";

/// Whether a sequencer publishes its outputs, or only applies the commands (a replica:
/// gateways and WebSocket servers answer from one, a standby engine keeps one warm).
#[derive(Clone, Debug, Default)]
pub enum Publish {
    /// The only engine (one process on its own log).
    #[default]
    Always,
    /// A replica, never publishing.
    Never,
    /// Publishes while the flag is set (the engine holds the leadership); a sequencer
    /// opened while it was clear stays a replica, one opened while it was set stops at its
    /// next append once it clears ([`SequencerError::NotLeader`]).
    WhileLeader(Arc<std::sync::atomic::AtomicBool>),
}

impl Publish {
    /// Whether outputs may be published now.
    pub fn now(&self) -> bool {
        match self {
            Self::Always => true,
            Self::Never => false,
            Self::WhileLeader(leader) => leader.load(std::sync::atomic::Ordering::SeqCst),
        }
    }
}

/// Settings of a [`Sequencer`].
#[derive(Clone, Debug)]
pub struct SequencerConfig {
    pub engine: EngineConfig,
    /// Producer name on every output record.
    pub producer: String,
    /// Partitions of each output topic.
    pub output_partitions: u32,
    /// Commands read and applied per poll.
    pub batch_commands_max: usize,
    /// A snapshot is written after this many commands...
    pub snapshot_every_commands: u64,
    /// ...and at least this long after the previous one: copying the state stalls the
    /// engine for tens of milliseconds once hundreds of thousands of orders rest, so under
    /// heavy load snapshots are spaced by time (a restart replays at most this long's
    /// commands beyond `snapshot_every_commands`).
    pub snapshot_min_interval: std::time::Duration,
    /// Publishing outputs (and snapshots), or a replica.
    pub publish: Publish,
    /// Record progress in [`ENGINE_PROGRESS`] after each batch (for projectors elsewhere).
    pub progress: bool,
}

impl Default for SequencerConfig {
    fn default() -> Self {
        Self {
            engine: EngineConfig::default(),
            producer: "engine".to_owned(),
            output_partitions: 4,
            batch_commands_max: 1_024,
            snapshot_every_commands: 100_000,
            snapshot_min_interval: std::time::Duration::ZERO,
            publish: Publish::Always,
            progress: false,
        }
    }
}

/// Why the sequencer stopped. After any of these, drop it and open a new one: recovery
/// puts everything right.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SequencerError {
    #[error(transparent)]
    Log(#[from] LogError),
    #[error(transparent)]
    Snapshots(#[from] SnapshotStoreError),
    #[error("engine snapshot unreadable: {0}")]
    EngineSnapshot(#[from] SnapshotError),
    #[error("commands before offset {start} were deleted and no snapshot covers them")]
    CommandsLost { start: Offset },
    /// The command log ends before what a snapshot or an output topic proves it held:
    /// acknowledged commands are gone, and an offset must never be used twice.
    #[error(
        "the command log (trade_orders) ends at offset {end}, but {evidence} shows commands up to offset {proven}: {} commands are missing. \
         Nothing was served or appended. Restore the data directory from a backup; or, to go on without them, move it aside and start on a new one",
        proven - end
    )]
    CommandsMissing { end: Offset, proven: Offset, evidence: String },
    /// A replay computed other outputs than those stored for the same commands (the
    /// engine's rules or configuration changed since they were published): skipping them
    /// as already stored would leave the engine's state at odds with what was published.
    #[error(
        "replaying command {command} computed output {sequence} of {topic} partition {partition} differently from the record stored: \
         the engine's rules or configuration (fees) differ from those that published it. Nothing more was applied. \
         Start the version (and configuration) that published it, which writes a snapshot when it stops, then this one"
    )]
    Diverged { topic: String, partition: Partition, sequence: u64, command: Offset },
    /// The log handed over commands whose offsets are not the next ones: one would be
    /// skipped or applied twice.
    #[error("trade_orders gave command offset {found} where {expected} was next: the command log is not contiguous")]
    CommandGap { expected: Offset, found: Offset },
    /// The leadership was lost: this engine must not publish (another one does now).
    #[error("this engine is no longer the leader: it publishes nothing more")]
    NotLeader,
}

/// What one command did: the engine's events, or why it could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandOutcome {
    pub offset: Offset,
    /// The command's timestamp (milliseconds), as the gateway stamped it.
    pub timestamp_ms: i64,
    pub result: Result<Vec<Event>, String>,
}

/// What one poll did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    pub commands: usize,
    pub published: usize,
    /// Outputs re-created by replay that were already stored, so not published again.
    pub skipped: usize,
}

/// The engine service. See the module docs.
#[derive(Debug)]
pub struct Sequencer {
    config: SequencerConfig,
    log: Arc<dyn EventLog>,
    snapshots: SnapshotStore,
    engine: Engine,
    next_command: Offset,
    /// Next sequence to give per (topic, partition).
    sequences: Sequences,
    /// Per (topic, partition), sequences below this are already stored.
    stored: BTreeMap<(String, Partition), u64>,
    /// Per (topic, partition), the last record stored when it opened, until the replay
    /// reaches its command: (command offset, record bytes). The replay must write the same
    /// record with the same sequence, or it has diverged ([`SequencerError::Diverged`]).
    last_stored: BTreeMap<(String, Partition), (Offset, Vec<u8>)>,
    since_snapshot: u64,
    last_snapshot: std::time::Instant,
    events: Vec<Event>,
    outputs: Vec<Output>,
    /// Writes periodic snapshots off the engine thread; started with the first one.
    snapshot_writer: Option<SnapshotWriter>,
    /// Whether it publishes (decided when it opens; see [`Publish`]).
    publishing: bool,
}

/// A thread that encodes, writes and fsyncs snapshots handed to it, so the engine thread
/// only pays for copying its state (a snapshot of a few hundred thousand orders takes
/// tens of milliseconds to write, which every request would otherwise wait for).
#[derive(Debug)]
struct SnapshotWriter {
    sender: std::sync::mpsc::Sender<SequencerSnapshot>,
    /// Set while a snapshot is being written: one due meanwhile waits for the next chance
    /// rather than copying the state again.
    busy: Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl SnapshotWriter {
    fn start(store: SnapshotStore) -> std::io::Result<Self> {
        let (sender, receiver) = std::sync::mpsc::channel::<SequencerSnapshot>();
        let busy = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writing = Arc::clone(&busy);
        let thread = std::thread::Builder::new().name("snapshot-writer".to_owned()).spawn(move || {
            tradecraft_log::lower_thread_priority();
            for snapshot in receiver {
                if let Err(error) = store.save(&snapshot) {
                    // Recovery falls back to the previous snapshot and replays more.
                    tracing::error!(error = %error, next_command = snapshot.next_command, "snapshot not written");
                }
                writing.store(false, std::sync::atomic::Ordering::Release);
            }
        })?;
        Ok(Self { sender, busy, thread })
    }

    /// Waits until every snapshot handed over is written.
    fn finish(self) {
        let Self { sender, thread, .. } = self;
        drop(sender);
        let _ = thread.join();
    }
}

/// The producer identity of one output partition: its sequence numbers count its records,
/// so the name says which partition they count.
fn slot_producer(producer: &str, topic: &str, partition: Partition) -> String {
    format!("{producer}:{topic}:{partition}")
}

/// The offset of the next command whose outputs are not all stored yet, as the publishing
/// engine last recorded it in [`ENGINE_PROGRESS`] (0 before it has recorded any).
pub fn published_progress(log: &dyn EventLog) -> Result<Offset, LogError> {
    let end = log.end_offset(ENGINE_PROGRESS, 0)?;
    if end == 0 {
        return Ok(0);
    }
    let last = log.read(ENGINE_PROGRESS, 0, end - 1, 1)?;
    Ok(last
        .first()
        .and_then(|record| Envelope::<tradecraft_events::EngineProgress>::from_json(&record.value).ok())
        .map_or(0, |envelope| envelope.payload.next_command))
}

/// Creates the command and output topics if they are missing.
pub fn create_topics(log: &dyn EventLog, output_partitions: u32) -> Result<(), LogError> {
    log.create_topic(TRADE_ORDERS, 1)?;
    log.create_topic(ENGINE_PROGRESS, 1)?;
    for topic in OUTPUT_TOPICS {
        log.create_topic(topic, output_partitions)?;
    }
    Ok(())
}

/// A command's envelope: `trade_orders` records carry their own schema version
/// ([`TRADE_ORDERS_SCHEMA_VERSION`]).
fn command_envelope<'a>(command: &'a WireCommand, producer: &str, sequence: u64, at: Timestamp) -> Envelope<&'a WireCommand> {
    let mut envelope = Envelope::new(command.event_type(), producer, sequence, at, command);
    envelope.schema_version = TRADE_ORDERS_SCHEMA_VERSION.to_owned();
    envelope
}

/// Appends one command to `trade_orders` as the gateway does; returns its offset.
pub fn submit(log: &dyn EventLog, command: &WireCommand, producer: &str, sequence: u64, at: Timestamp) -> Result<Offset, LogError> {
    let envelope = command_envelope(command, producer, sequence, at);
    let record = Record { key: Some(command.key().into_bytes()), value: envelope.to_json(), timestamp_ms: at.millis() };
    Ok(log.append(TRADE_ORDERS, vec![record])?[0].offset)
}

/// What a command's envelope says of the request that sent it.
#[derive(Clone, Debug, Default)]
pub struct Sender {
    /// The request's trace.
    pub trace: Option<tradecraft_log::TraceContext>,
    /// The request's caller-scoped idempotency key, for a command other than an order (see
    /// [`crate::wire::keyed_command`]).
    pub idempotency_key: Option<String>,
}

/// Appends one command, with what its envelope says of its sender, and calls `done` with
/// its offset once durable, without blocking (see [`EventLog::append_then`]).
pub fn submit_then(
    log: &dyn EventLog,
    command: &WireCommand,
    producer: &str,
    sequence: u64,
    at: Timestamp,
    sender: Sender,
    done: Box<dyn FnOnce(Result<Offset, LogError>) + Send>,
) {
    let mut envelope = command_envelope(command, producer, sequence, at);
    envelope.trace_context = sender.trace;
    envelope.idempotency_key = sender.idempotency_key;
    let record = Record { key: Some(command.key().into_bytes()), value: envelope.to_json(), timestamp_ms: at.millis() };
    log.append_then(TRADE_ORDERS, vec![record], Box::new(move |result| done(result.map(|appended| appended.first().map_or(0, |first| first.offset)))));
}

/// Appends several commands in one write (one fsync); returns their offsets in order.
pub fn submit_batch(log: &dyn EventLog, commands: &[WireCommand], producer: &str, first_sequence: u64, at: Timestamp) -> Result<Vec<Offset>, LogError> {
    let records = commands
        .iter()
        .enumerate()
        .map(|(index, command)| {
            let envelope = command_envelope(command, producer, first_sequence + index as u64, at);
            Record { key: Some(command.key().into_bytes()), value: envelope.to_json(), timestamp_ms: at.millis() }
        })
        .collect();
    Ok(log.append(TRADE_ORDERS, records)?.into_iter().map(|appended| appended.offset).collect())
}

impl Sequencer {
    /// Recovers from the latest snapshot and the logs; ready to poll.
    pub fn open(config: SequencerConfig, log: Arc<dyn EventLog>, snapshots: SnapshotStore) -> Result<Self, SequencerError> {
        create_topics(log.as_ref(), config.output_partitions)?;
        let start = log.start_offset(TRADE_ORDERS, 0)?;
        // What each output partition holds (the next sequence to write), and the furthest
        // command any of them answers. The command log's end is read only after: a leader
        // running meanwhile appends commands before their outputs, so an end read first
        // could be passed by outputs read later (a replica starting beside a busy engine
        // took that for lost commands).
        let mut stored = BTreeMap::new();
        let mut last_stored = BTreeMap::new();
        let mut answered: Option<(Offset, String)> = None;
        for topic in OUTPUT_TOPICS {
            for partition in 0..log.partitions(topic)? {
                let partition_end = log.end_offset(topic, partition)?;
                if partition_end == 0 {
                    continue;
                }
                let last = log.read(topic, partition, partition_end - 1, 1)?;
                let envelope = last.first().and_then(|record| Envelope::<serde_json::Value>::from_json(&record.value).ok());
                let producer = slot_producer(&config.producer, topic, partition);
                let ours = envelope.as_ref().filter(|envelope| envelope.producer.as_deref() == Some(producer.as_str()));
                if let Some(sequence) = ours.and_then(|envelope| envelope.sequence) {
                    stored.insert((topic.to_owned(), partition), sequence + 1);
                }
                if let (Some(command), Some(record)) = (ours.and_then(|envelope| envelope.command_offset), last.first()) {
                    last_stored.insert((topic.to_owned(), partition), (command, record.value.clone()));
                    if answered.as_ref().is_none_or(|(furthest, _)| command >= *furthest) {
                        answered = Some((command + 1, format!("output topic {topic} partition {partition} (record {})", partition_end - 1)));
                    }
                }
            }
        }
        let end = log.end_offset(TRADE_ORDERS, 0)?;
        if let Some((proven, evidence)) = answered
            && proven > end
        {
            return Err(SequencerError::CommandsMissing { end, proven, evidence });
        }
        // The newest snapshot the log can take up from: none may cover commands the log no
        // longer holds; one that claims outputs a partition has lost is passed over, so the
        // replay from an older point (or the start) writes them again.
        let mut missing = None;
        let usable = |snapshot: &SequencerSnapshot, path: &str| {
            // A snapshot the leader wrote after `end` was read covers commands appended
            // since: the log's end as it is now says whether they are there.
            if snapshot.next_command > end && log.end_offset(TRADE_ORDERS, 0).map_or(true, |now| snapshot.next_command > now) {
                missing.get_or_insert((snapshot.next_command, format!("snapshot {path}")));
                return false;
            }
            let behind = snapshot.sequences.iter().find(|(slot, written)| stored.get(*slot).copied().unwrap_or(0) < **written);
            if let Some(((topic, partition), written)) = behind {
                tracing::warn!(
                    snapshot = %path, topic = %topic, partition, written, held = stored.get(&(topic.clone(), *partition)).copied().unwrap_or(0),
                    "an output partition holds fewer records than this snapshot wrote: replaying from an older point to write them again"
                );
                return false;
            }
            true
        };
        let chosen = snapshots.newest_where(usable)?;
        if let Some((proven, evidence)) = missing {
            return Err(SequencerError::CommandsMissing { end, proven, evidence });
        }
        let restored = match chosen {
            Some(snapshot) => match Engine::restore(&snapshot.engine, config.engine.keep_postings) {
                Ok(engine) => Some((engine, snapshot.next_command, snapshot.sequences)),
                // Written by an older version: replaying the log from the start gives the
                // same state (and the same outputs, which are skipped as already stored).
                Err(tradecraft_engine::SnapshotError::UnsupportedVersion(_)) => None,
                Err(error) => return Err(error.into()),
            },
            None => None,
        };
        let (engine, next_command, sequences) = restored.unwrap_or_else(|| (Engine::new(config.engine), 0, Sequences::new()));
        if next_command < start {
            return Err(SequencerError::CommandsLost { start });
        }
        let publishing = config.publish.now();
        // Only a publisher writes outputs again, and only those after its starting point.
        last_stored.retain(|_, (command, _)| publishing && *command >= next_command);
        Ok(Self {
            publishing,
            config,
            log,
            snapshots,
            engine,
            next_command,
            sequences,
            stored,
            last_stored,
            since_snapshot: 0,
            last_snapshot: std::time::Instant::now(),
            events: Vec::new(),
            outputs: Vec::new(),
            snapshot_writer: None,
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Offset of the next command to apply.
    pub fn next_command(&self) -> Offset {
        self.next_command
    }

    /// Whether it publishes outputs and snapshots (the leader), or is a replica.
    pub fn publishing(&self) -> bool {
        self.publishing
    }

    /// Applies the next batch of commands and publishes their outputs. Returns what it did;
    /// zero commands means it is caught up.
    pub fn poll(&mut self) -> Result<Progress, SequencerError> {
        self.poll_with(|_| {})
    }

    /// Like [`Sequencer::poll`], and hands each command's outcome to `observe` once the
    /// batch's outputs are stored.
    pub fn poll_with(&mut self, mut observe: impl FnMut(CommandOutcome)) -> Result<Progress, SequencerError> {
        let mut outcomes = Vec::new();
        let commands = self.log.read(TRADE_ORDERS, 0, self.next_command, self.config.batch_commands_max)?;
        let mut progress = Progress { commands: commands.len(), ..Progress::default() };
        if commands.is_empty() {
            return Ok(progress);
        }
        // Offsets are the engine's total order: each command must be the next one.
        for (index, command) in commands.iter().enumerate() {
            let expected = self.next_command + index as Offset;
            if command.offset != expected {
                return Err(SequencerError::CommandGap { expected, found: command.offset });
            }
        }
        let mut records: BTreeMap<&'static str, Vec<Record>> = BTreeMap::new();
        for command in &commands {
            let at = Timestamp::from_millis(command.timestamp_ms);
            self.events.clear();
            self.outputs.clear();
            let decoded = Envelope::<WireCommand>::from_json(&command.value).map_err(|error| error.to_string());
            // The outputs are part of the command's trace.
            let trace = decoded.as_ref().ok().and_then(|envelope| envelope.trace_context.clone());
            match decoded.and_then(|envelope| crate::wire::keyed_command(&envelope, command.offset).map_err(|error| error.to_string())) {
                Ok(engine_command) => {
                    let nanos = u64::try_from(command.timestamp_ms).unwrap_or_default().saturating_mul(1_000_000);
                    self.engine.apply(&engine_command, nanos, &mut self.events);
                    if self.publishing {
                        for event in &self.events {
                            outputs(event, at, &mut self.outputs);
                        }
                    }
                    outcomes.push(CommandOutcome { offset: command.offset, timestamp_ms: command.timestamp_ms, result: Ok(self.events.clone()) });
                }
                // The gateway validates commands, so this means a bug or a foreign
                // writer; it is decided by the bytes alone, so replays agree.
                Err(message) if !self.publishing => {
                    outcomes.push(CommandOutcome { offset: command.offset, timestamp_ms: command.timestamp_ms, result: Err(message) });
                }
                Err(message) => {
                    self.outputs.push(Output {
                        topic: crate::outputs::ACCOUNT_UPDATES,
                        key: String::new(),
                        event_type: "command.invalid",
                        payload: tradecraft_events::to_payload(&tradecraft_events::CommandInvalid { offset: command.offset, reason: message.clone() }),
                    });
                    outcomes.push(CommandOutcome { offset: command.offset, timestamp_ms: command.timestamp_ms, result: Err(message) });
                }
            }
            for output in self.outputs.drain(..) {
                let partitions = self.config.output_partitions;
                let partition = tradecraft_log::partition_for(Some(output.key.as_bytes()), partitions);
                let slot = (output.topic.to_owned(), partition);
                let sequence = self.sequences.entry(slot.clone()).or_insert(0);
                let this = *sequence;
                *sequence += 1;
                let already = self.stored.get(&slot).copied().unwrap_or(0);
                if this + 1 < already {
                    progress.skipped += 1;
                    continue;
                }
                let producer = slot_producer(&self.config.producer, output.topic, partition);
                let mut envelope = Envelope::new(output.event_type, &producer, this, at, output.payload);
                envelope.source_service = "MatchingEngine".to_owned();
                envelope.command_offset = Some(command.offset);
                envelope.trace_context.clone_from(&trace);
                if this < already {
                    // The last record stored: the replay must give it again, byte for byte.
                    if let Some((_, stored)) = self.last_stored.remove(&slot)
                        && stored != envelope.to_json()
                    {
                        return Err(SequencerError::Diverged { topic: slot.0, partition, sequence: this, command: command.offset });
                    }
                    progress.skipped += 1;
                    continue;
                }
                records.entry(output.topic).or_default().push(Record {
                    key: Some(output.key.into_bytes()),
                    value: envelope.to_json(),
                    timestamp_ms: command.timestamp_ms,
                });
                progress.published += 1;
            }
            // Past the command that wrote a partition's last stored record, the replay must
            // have written it again: fewer outputs than were published is a divergence too.
            if let Some(((topic, partition), _)) = self.last_stored.iter().find(|(_, (answered, _))| *answered <= command.offset) {
                let sequence = self.stored.get(&(topic.clone(), *partition)).copied().unwrap_or(1) - 1;
                return Err(SequencerError::Diverged { topic: topic.clone(), partition: *partition, sequence, command: command.offset });
            }
        }
        if self.publishing {
            // A former leader stops here: what it would write, the new one writes.
            if !self.config.publish.now() {
                return Err(SequencerError::NotLeader);
            }
            // All topics of the batch durable in one round (one fsync round on the file log).
            self.log.append_topics(records.into_iter().collect())?;
        }
        outcomes.into_iter().for_each(&mut observe);
        self.next_command += commands.len() as Offset;
        self.since_snapshot += commands.len() as u64;
        if self.publishing && self.config.progress {
            let payload = tradecraft_events::to_payload(&tradecraft_events::EngineProgress { next_command: self.next_command });
            let at = commands.last().map_or(0, |command| command.timestamp_ms);
            let mut envelope = Envelope::new("engine.progress", &self.config.producer, self.next_command, Timestamp::from_millis(at), payload);
            envelope.source_service = "MatchingEngine".to_owned();
            let record = Record { key: None, value: envelope.to_json(), timestamp_ms: at };
            // Not waited for: a later batch's progress says as much, and a lost one only
            // holds projectors back until the next.
            self.log.append_then(ENGINE_PROGRESS, vec![record], Box::new(|_| {}));
        }
        if self.publishing && self.since_snapshot >= self.config.snapshot_every_commands && self.last_snapshot.elapsed() >= self.config.snapshot_min_interval {
            self.snapshot_in_background()?;
        }
        Ok(progress)
    }

    /// Polls until no command is waiting.
    pub fn catch_up(&mut self) -> Result<Progress, SequencerError> {
        let mut total = Progress::default();
        loop {
            let progress = self.poll()?;
            if progress.commands == 0 {
                return Ok(total);
            }
            total.commands += progress.commands;
            total.published += progress.published;
            total.skipped += progress.skipped;
        }
    }

    fn current_snapshot(&self) -> SequencerSnapshot {
        SequencerSnapshot { next_command: self.next_command, sequences: self.sequences.clone(), engine: self.engine.snapshot() }
    }

    /// Writes a snapshot of the engine and the positions now, after any being written in
    /// the background (a replica writes none: its sequences are not the published ones).
    pub fn snapshot(&mut self) -> Result<(), SequencerError> {
        if !self.publishing {
            return Ok(());
        }
        if let Some(writer) = self.snapshot_writer.take() {
            writer.finish();
        }
        self.snapshots.save(&self.current_snapshot())?;
        self.snapshot_taken();
        Ok(())
    }

    /// Copies the state now and has the writer thread store it.
    fn snapshot_in_background(&mut self) -> Result<(), SequencerError> {
        if self.snapshot_writer.is_none() {
            match SnapshotWriter::start(self.snapshots.clone()) {
                Ok(writer) => self.snapshot_writer = Some(writer),
                // No thread to spare: write it here.
                Err(_) => return self.snapshot(),
            }
        }
        let Some(writer) = &self.snapshot_writer else { return Ok(()) };
        // Still writing the previous one: try again after the next batch.
        if writer.busy.swap(true, std::sync::atomic::Ordering::AcqRel) {
            return Ok(());
        }
        if writer.sender.send(self.current_snapshot()).is_err() {
            self.snapshot_writer = None;
            return self.snapshot();
        }
        self.snapshot_taken();
        Ok(())
    }

    /// Restarts the count and the clock towards the next periodic snapshot.
    fn snapshot_taken(&mut self) {
        self.since_snapshot = 0;
        self.last_snapshot = std::time::Instant::now();
    }
}
