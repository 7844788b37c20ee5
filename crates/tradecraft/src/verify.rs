//! `tradecraft verify DATA_DIR`: checks every record of the log against its checksum,
//! replays the command log into a fresh engine, checking every invariant every 10,000
//! commands and after the last (`--every-command` after each), compares every record of
//! the output topics with what the replay writes (none missing, none extra, none
//! different), then checks that the latest snapshot replayed to the end reaches the same
//! state hash. Shows progress on stderr; exits non-zero naming the first breach.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::json;
use tradecraft_engine::{Engine, EngineConfig};
use tradecraft_log::{Envelope, EventLog, Offset, StoredRecord, partition_for};
use tradecraft_sequencer::TRADE_ORDERS;
use tradecraft_sequencer::outputs::{OUTPUT_TOPICS, Output, outputs};
use tradecraft_sequencer::wire::WireCommand;
use tradecraft_types::Timestamp;

/// Commands (and output records) read from the log at a time.
const READ_BATCH: usize = 4_096;
/// Invariants are checked this often by default (and after the last command).
const CHECK_EVERY_DEFAULT: u64 = 10_000;

#[derive(Debug, clap::Args)]
pub(crate) struct VerifyArgs {
    /// The data directory of a (stopped or running) `tradecraft serve`.
    data_dir: PathBuf,
    /// Check every invariant after every command (slow: minutes for a few hundred thousand
    /// commands), instead of every `--check-every` commands and after the last.
    #[arg(long)]
    every_command: bool,
    /// The event log (the data dir's file journal when absent).
    #[arg(long, env = "TRADECRAFT_LOG")]
    log: Option<String>,
    /// Commands between two full invariant checks.
    #[arg(long, default_value_t = CHECK_EVERY_DEFAULT)]
    check_every: u64,
    /// The deployment's database: with a `kafka://` log and `postgres://` here, the
    /// engine's snapshots are read from it (where a clustered engine keeps them).
    #[arg(long, env = "TRADECRAFT_DATABASE_URL")]
    database_url: Option<String>,
}

/// Reads one output partition in order, to compare it with what a replay writes.
struct PartitionReader {
    topic: &'static str,
    partition: u32,
    next: Offset,
    end: Offset,
    buffer: VecDeque<StoredRecord>,
    /// Next sequence per producer: a record below it is a duplicate (a deposed engine's late
    /// write, or a re-publication), which consumers drop and so does the comparison.
    expected: BTreeMap<String, u64>,
    duplicates: u64,
}

/// An output record and its envelope (`None` if the record is not an event).
type Read = (StoredRecord, Option<Envelope<serde_json::Value>>);

impl PartitionReader {
    /// The next record that is not a duplicate, decoded once.
    fn next(&mut self, log: &dyn EventLog) -> anyhow::Result<Option<Read>> {
        loop {
            if self.buffer.is_empty() && self.next < self.end {
                self.buffer.extend(log.read(self.topic, self.partition, self.next, READ_BATCH).with_context(|| format!("reading {}", self.topic))?);
            }
            let Some(record) = self.buffer.pop_front() else { return Ok(None) };
            self.next = record.offset + 1;
            let envelope = Envelope::<serde_json::Value>::from_json(&record.value).ok();
            let numbered = envelope.as_ref().and_then(|envelope| envelope.producer.as_deref().zip(envelope.sequence));
            if let Some((producer, sequence)) = numbered
                && !tradecraft_log::first_delivery(&mut self.expected, producer, sequence)
            {
                self.duplicates += 1;
                continue;
            }
            return Ok(Some((record, envelope)));
        }
    }
}

/// The output topics as a replay expects them, read alongside it.
struct Outputs {
    readers: BTreeMap<(&'static str, u32), PartitionReader>,
    partitions: BTreeMap<&'static str, u32>,
    buffer: Vec<Output>,
    compared: u64,
}

impl Outputs {
    /// `None` when an output topic no longer starts at offset 0 (retention deleted records),
    /// so a full comparison is impossible.
    fn open(log: &dyn EventLog) -> anyhow::Result<Option<Self>> {
        let mut readers = BTreeMap::new();
        let mut partitions = BTreeMap::new();
        for topic in OUTPUT_TOPICS {
            let count = log.partitions(topic).with_context(|| format!("reading {topic}"))?;
            partitions.insert(topic, count);
            for partition in 0..count {
                if log.start_offset(topic, partition)? > 0 {
                    return Ok(None);
                }
                let end = log.end_offset(topic, partition)?;
                readers.insert(
                    (topic, partition),
                    PartitionReader { topic, partition, next: 0, end, buffer: VecDeque::new(), expected: BTreeMap::new(), duplicates: 0 },
                );
            }
        }
        Ok(Some(Self { readers, partitions, buffer: Vec::new(), compared: 0 }))
    }

    /// Checks that the next stored records are what command `offset` writes.
    fn compare(
        &mut self,
        log: &dyn EventLog,
        offset: Offset,
        at: Timestamp,
        events: &[tradecraft_engine::Event],
        invalid: Option<String>,
    ) -> anyhow::Result<()> {
        self.buffer.clear();
        for event in events {
            outputs(event, at, &mut self.buffer);
        }
        if let Some(reason) = invalid {
            self.buffer.push(Output {
                topic: tradecraft_sequencer::outputs::ACCOUNT_UPDATES,
                key: String::new(),
                event_type: "command.invalid",
                payload: tradecraft_events::to_payload(&tradecraft_events::CommandInvalid { offset, reason }),
            });
        }
        for output in self.buffer.drain(..) {
            let partition = partition_for(Some(output.key.as_bytes()), self.partitions[output.topic]);
            let reader = self.readers.get_mut(&(output.topic, partition)).context("an output partition the log lacks")?;
            let Some((record, envelope)) = reader.next(log)? else {
                bail!(
                    "output topic {} partition {partition} ends at offset {}: the {} record of command {offset} is missing",
                    output.topic,
                    reader.end,
                    output.event_type
                );
            };
            let stored = envelope.with_context(|| format!("output topic {} partition {partition} offset {}: not an event", output.topic, record.offset))?;
            let same = stored.event_type == output.event_type
                && stored.payload == output.payload
                && stored.command_offset == Some(offset)
                && record.key.as_deref() == Some(output.key.as_bytes());
            if !same {
                bail!(
                    "output topic {} partition {partition} offset {}: holds {} for command {:?}, but a replay writes {} for command {offset}",
                    output.topic,
                    record.offset,
                    stored.event_type,
                    stored.command_offset,
                    output.event_type
                );
            }
            self.compared += 1;
        }
        Ok(())
    }

    /// Fails if a partition holds records no command wrote; returns the records compared
    /// and the duplicates passed over.
    fn finish(&mut self, log: &dyn EventLog) -> anyhow::Result<(u64, u64)> {
        let mut duplicates = 0;
        for ((topic, partition), reader) in &mut self.readers {
            let unwritten = reader.next(log)?;
            duplicates += reader.duplicates;
            if let Some((record, _)) = unwritten {
                let (next, end) = (record.offset, reader.end);
                bail!("output topic {topic} partition {partition}: records from offset {next} to {end} were written by no command");
            }
        }
        Ok((self.compared, duplicates))
    }
}

/// What a replay checks as it goes.
struct Checks<'a> {
    /// Invariants every this many commands (and after the last); `None`: never.
    every: Option<u64>,
    outputs: Option<&'a mut Outputs>,
    /// Progress lines on stderr for this many commands in all.
    progress_of: Option<Offset>,
}

/// Applies commands `from..` to `engine`, checking as `checks` says.
fn replay(log: &dyn EventLog, engine: &mut Engine, from: Offset, mut checks: Checks<'_>) -> anyhow::Result<Offset> {
    let mut next = from;
    let mut events = Vec::new();
    let started = Instant::now();
    let mut reported = started;
    loop {
        let batch = log.read(TRADE_ORDERS, 0, next, READ_BATCH).context("reading trade_orders")?;
        if batch.is_empty() {
            if checks.every.is_some() {
                engine.check_invariants().with_context(|| format!("after the last command ({})", next.saturating_sub(1)))?;
            }
            if checks.progress_of.is_some() {
                eprintln!();
            }
            return Ok(next);
        }
        for record in &batch {
            events.clear();
            let command = Envelope::<WireCommand>::from_json(&record.value)
                .map_err(|error| error.to_string())
                .and_then(|envelope| tradecraft_sequencer::wire::keyed_command(&envelope, record.offset).map_err(|error| error.to_string()));
            let invalid = match command {
                Ok(command) => {
                    let nanos = u64::try_from(record.timestamp_ms).unwrap_or_default().saturating_mul(1_000_000);
                    engine.apply(&command, nanos, &mut events);
                    None
                }
                Err(reason) => Some(reason),
            };
            if let Some(every) = checks.every
                && (record.offset + 1).is_multiple_of(every)
            {
                engine.check_invariants().with_context(|| format!("after command {} ({})", record.offset, String::from_utf8_lossy(&record.value)))?;
            }
            if let Some(outputs) = checks.outputs.as_deref_mut() {
                outputs.compare(log, record.offset, Timestamp::from_millis(record.timestamp_ms), &events, invalid)?;
            }
            next = record.offset + 1;
        }
        if let Some(total) = checks.progress_of
            && reported.elapsed() >= Duration::from_secs(1)
        {
            reported = Instant::now();
            let percent = next.saturating_mul(100) / total.max(1);
            let bar: String = (0..40).map(|cell| if cell * 100 / 40 < percent { '#' } else { '.' }).collect();
            eprint!("\rverify [{bar}] {next} of {total} commands ({percent} %), {:.0} s", started.elapsed().as_secs_f64());
        }
    }
}

pub(crate) fn run(args: &VerifyArgs) -> anyhow::Result<()> {
    let url = tradecraft::server::log_url(&args.data_dir, args.log.as_deref());
    let opened = tradecraft::server::open_log(&url).with_context(|| format!("opening the event log {url}"))?;
    let log: &dyn EventLog = opened.as_ref();
    // Every record of every topic against its checksum (open trusts sealed segments).
    let records = log.check_all().context("checking the event log")?;
    let start = log.start_offset(TRADE_ORDERS, 0).context("reading trade_orders")?;
    if start > 0 {
        bail!("trade_orders starts at offset {start}: the log was trimmed, a full replay is impossible");
    }
    let total = log.end_offset(TRADE_ORDERS, 0).context("reading trade_orders")?;
    let mut straight = Engine::new(EngineConfig::default());
    // Every output record against what the replay writes, in order.
    let mut outputs = Outputs::open(log)?;
    let every = Some(if args.every_command { 1 } else { args.check_every.max(1) });
    let end = replay(log, &mut straight, 0, Checks { every, outputs: outputs.as_mut(), progress_of: Some(total) })?;
    let checked = outputs.as_mut().map(|outputs| outputs.finish(log)).transpose()?;
    let (outputs_checked, duplicates) = (checked.map(|(compared, _)| compared), checked.map(|(_, duplicates)| duplicates));
    let hash = straight.state_hash();
    let snapshots = tradecraft::server::snapshot_store(&args.data_dir, &url, args.database_url.as_deref().unwrap_or_default())?;
    let snapshot_check = match snapshots.latest().context("reading snapshots")? {
        None => json!(null),
        Some(snapshot) => {
            let mut restored = Engine::restore(&snapshot.engine, false).context("restoring the latest snapshot")?;
            replay(log, &mut restored, snapshot.next_command, Checks { every: None, outputs: None, progress_of: None })?;
            if restored.state_hash() != hash {
                bail!(
                    "the snapshot at command {} replayed to the end gives state hash {:016x}, the full replay {hash:016x}",
                    snapshot.next_command,
                    restored.state_hash()
                );
            }
            json!({"snapshotAt": snapshot.next_command, "sameHash": true})
        }
    };
    #[allow(clippy::print_stdout)] // the verdict is the command's output
    {
        println!(
            "{}",
            json!({
                "verified": true, "records": records, "commands": end, "stateHash": format!("{hash:016x}"),
                "openOrders": straight.open_order_count(), "snapshot": snapshot_check,
                "invariantsCheckedEvery": every, "outputRecordsChecked": outputs_checked, "duplicateOutputsPassedOver": duplicates,
            })
        );
    }
    Ok(())
}
