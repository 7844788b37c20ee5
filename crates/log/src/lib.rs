//! The event log: topics split into partitions, records with keys, offsets that count up
//! from zero per partition, and consumer positions. Shaped like Kafka so the same code runs
//! on the embedded file journal and, later, on a Kafka-API broker.
//!
//! Every backend passes one conformance suite (`testsuite`, feature `testsuite`; run for
//! the memory and file backends in `tests/conformance.rs`). An append returns
//! only once its records are durable (for the file backend: written and fsynced).

mod backoff;
mod crc;
mod envelope;
mod file;
mod memory;
mod partitioner;
mod priority;
#[cfg(feature = "testsuite")]
pub mod testsuite;

pub use backoff::Backoff;
pub use crc::crc32c;
pub use envelope::{Envelope, EnvelopeError, SCHEMA_VERSION, TraceContext, event_id, first_delivery, traceparent_in};
pub use file::{FileLog, FileLogConfig, FileLogMetrics};
pub use memory::MemoryLog;
pub use partitioner::partition_for;
pub use priority::lower_thread_priority;

/// A partition number within a topic.
pub type Partition = u32;
/// A record's position within its partition, counting up from zero.
pub type Offset = u64;

/// Largest record (key plus value) any backend accepts.
pub const RECORD_BYTES_MAX: usize = 1 << 20;
/// Longest topic or consumer-group name.
pub const NAME_LENGTH_MAX: usize = 200;

/// A record to append.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Picks the partition (see [`partition_for`]); keyless records go to partition 0.
    pub key: Option<Vec<u8>>,
    pub value: Vec<u8>,
    pub timestamp_ms: i64,
}

/// A record as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRecord {
    pub partition: Partition,
    pub offset: Offset,
    pub key: Option<Vec<u8>>,
    pub value: Vec<u8>,
    pub timestamp_ms: i64,
}

/// Where an appended record went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Appended {
    pub partition: Partition,
    pub offset: Offset,
}

/// Why a log operation failed. Backend error types never leak through this.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    #[error("unknown topic {0:?}")]
    UnknownTopic(String),
    #[error("topic {topic:?} has no partition {partition}")]
    UnknownPartition { topic: String, partition: Partition },
    #[error("topic {topic:?} exists with {existing} partitions, not {requested}")]
    PartitionMismatch { topic: String, existing: u32, requested: u32 },
    #[error("invalid name {0:?}: use 1 to 200 of A-Z a-z 0-9 . _ -")]
    InvalidName(String),
    #[error("a topic needs 1 to 1024 partitions, not {0}")]
    InvalidPartitionCount(u32),
    #[error("record of {0} bytes is larger than the {RECORD_BYTES_MAX}-byte limit")]
    RecordTooLarge(usize),
    #[error("offset {offset} is outside the partition's range {start}..{end}")]
    OffsetOutOfRange { offset: Offset, start: Offset, end: Offset },
    /// Stored data failed its checks; the log refuses to guess.
    #[error("log data is corrupt: {0}")]
    Corrupt(String),
    /// The storage could not be reached or written; the operation may be retried.
    #[error("log storage unavailable: {0}")]
    Unavailable(String),
    #[error("the log is closed")]
    Closed,
}

/// Completion callback of [`EventLog::append_then`].
pub type AppendDone = Box<dyn FnOnce(Result<Vec<Appended>, LogError>) + Send>;

/// The event log. Implementations are shared across threads (`Arc<dyn EventLog>`).
pub trait EventLog: Send + Sync + std::fmt::Debug {
    /// Creates a topic, or does nothing if it exists with the same partition count.
    fn create_topic(&self, topic: &str, partitions: u32) -> Result<(), LogError>;

    fn partitions(&self, topic: &str) -> Result<u32, LogError>;

    /// Appends records, each to the partition its key picks, in order per partition.
    /// Returns once every record is durable; on error none of them is visible.
    fn append(&self, topic: &str, records: Vec<Record>) -> Result<Vec<Appended>, LogError>;

    /// Appends like [`EventLog::append`] and calls `done` once the records are durable.
    /// Backends that can answer from their own thread do so, and never block the caller:
    /// a full queue is answered at once with [`LogError::Unavailable`].
    fn append_then(&self, topic: &str, records: Vec<Record>, done: AppendDone) {
        done(self.append(topic, records));
    }

    /// Appends to several topics at once; each topic's records as [`EventLog::append`]
    /// would. Backends that can make them durable together (one fsync round) do.
    fn append_topics(&self, batches: Vec<(&str, Vec<Record>)>) -> Result<Vec<Vec<Appended>>, LogError> {
        batches.into_iter().map(|(topic, records)| self.append(topic, records)).collect()
    }

    /// Up to `max_records` records of one partition from offset `from` on. Reading at the
    /// end offset returns nothing; reading outside `start..=end` is an error.
    fn read(&self, topic: &str, partition: Partition, from: Offset, max_records: usize) -> Result<Vec<StoredRecord>, LogError>;

    /// First offset still stored (retention may have removed earlier ones).
    fn start_offset(&self, topic: &str, partition: Partition) -> Result<Offset, LogError>;

    /// Offset the next record will get: one past the last durable record.
    fn end_offset(&self, topic: &str, partition: Partition) -> Result<Offset, LogError>;

    /// Stores a consumer group's position: the next offset it will read.
    fn commit_position(&self, group: &str, topic: &str, partition: Partition, next: Offset) -> Result<(), LogError>;

    /// A consumer group's stored position, if it ever committed one.
    fn position(&self, group: &str, topic: &str, partition: Partition) -> Result<Option<Offset>, LogError>;

    /// The backend's own counters (writes, fsyncs, ...), for `/metrics`; `None` if it
    /// keeps none.
    fn metrics(&self) -> Option<FileLogMetrics> {
        None
    }

    /// Checks every stored record against the backend's own integrity data (checksums)
    /// and returns how many it checked; `None` if the backend has no such check of its own.
    fn check_all(&self) -> Result<Option<u64>, LogError> {
        Ok(None)
    }
}

/// Opens the event log a URL names: `file:PATH` (or a bare path) for the segmented file
/// journal, `memory:` for an in-memory log (tests). The one place a backend is chosen.
pub fn open_log(url: &str) -> Result<std::sync::Arc<dyn EventLog>, LogError> {
    if url == "memory:" {
        return Ok(std::sync::Arc::new(MemoryLog::new()));
    }
    if let Some(rest) = url.strip_prefix("kafka://") {
        return Err(LogError::Unavailable(format!("kafka://{rest}: Kafka logs are opened by tradecraft-log-kafka (tradecraft::server::open_log)")));
    }
    let path = url.strip_prefix("file://").or_else(|| url.strip_prefix("file:")).unwrap_or(url);
    if path.is_empty() || url.contains("://") && !url.starts_with("file://") {
        return Err(LogError::Unavailable(format!("{url:?} is not a log URL (file:PATH or memory:)")));
    }
    Ok(std::sync::Arc::new(FileLog::open(FileLogConfig::new(path))?))
}

/// Checks a topic or group name: it becomes a directory name in the file backend and a
/// topic name on a Kafka broker, so both rule sets apply.
pub fn check_name(name: &str) -> Result<(), LogError> {
    let valid = !name.is_empty()
        && name.len() <= NAME_LENGTH_MAX
        && name != "."
        && name != ".."
        && name.bytes().all(|byte| byte.is_ascii_alphanumeric() || b"._-".contains(&byte));
    if valid { Ok(()) } else { Err(LogError::InvalidName(name.to_owned())) }
}

/// Checks a topic's partition count: 1 to 1024.
pub fn check_partition_count(partitions: u32) -> Result<(), LogError> {
    if (1..=1024).contains(&partitions) { Ok(()) } else { Err(LogError::InvalidPartitionCount(partitions)) }
}

/// Checks a record's size against [`RECORD_BYTES_MAX`].
pub fn check_record(record: &Record) -> Result<(), LogError> {
    let size = record.key.as_ref().map_or(0, Vec::len) + record.value.len();
    if size > RECORD_BYTES_MAX { Err(LogError::RecordTooLarge(size)) } else { Ok(()) }
}
