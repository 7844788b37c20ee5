//! The event log on Apache Kafka: `KafkaLog`, a third [`EventLog`] backend (librdkafka
//! through `rdkafka`), passing the same conformance suite as the memory and file backends.
//!
//! - Appends go through one idempotent producer with `acks=all`: an append returns once the
//!   broker has every record (all in-sync replicas), with the offsets it gave them. Records
//!   go to the partition [`partition_for`] picks (Kafka's own murmur2 partitioner), so keys
//!   land where every backend puts them.
//! - The record's timestamp is kept exactly in a `tc-ts` header (Kafka's own timestamp
//!   cannot be negative) and as the Kafka timestamp when it can be.
//! - Reads assign a partition to a plain consumer at an offset (no group), bounded by the
//!   partition's watermarks; consumer positions are the broker's committed offsets of the
//!   named group.
//! - Every topic and group name is given the configured prefix, so deployments (and tests)
//!   can share a broker.
//!
//! Broker errors become [`LogError::Unavailable`] (may be retried) or, for a missing
//! topic, [`LogError::UnknownTopic`]; librdkafka's own errors never cross the trait.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use rdkafka::{Message, TopicPartitionList};
use tradecraft_log::{
    AppendDone, Appended, EventLog, LogError, Offset, Partition, RECORD_BYTES_MAX, Record, StoredRecord, check_name, check_partition_count, check_record,
    partition_for,
};

/// Least time between two replacements of a client that failed (see `watermarks`).
const CLIENT_RENEWAL: Duration = Duration::from_secs(1);
/// The W3C trace context header (copied from the envelope's `traceContext`).
pub const TRACEPARENT_HEADER: &str = "traceparent";
/// The header that keeps a record's timestamp exactly (8 bytes, big-endian).
const TIMESTAMP_HEADER: &str = "tc-ts";
/// The largest message the topics and clients take: a record of [`RECORD_BYTES_MAX`] plus
/// Kafka's framing.
const MESSAGE_BYTES_MAX: usize = RECORD_BYTES_MAX + 64 * 1024;

/// Where the broker is and how to name things on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KafkaConfig {
    /// `host:port[,host:port...]`.
    pub bootstrap_servers: String,
    /// Put before every topic and group name (`""` for none).
    pub prefix: String,
    /// How long a broker operation may take before it is `Unavailable`.
    pub timeout: Duration,
    /// How long an append, a read or an offset query may wait for the broker before it is
    /// `Unavailable` (a gateway answers 503 then, rather than holding its caller).
    pub io_timeout: Duration,
}

impl KafkaConfig {
    pub fn new(bootstrap_servers: impl Into<String>) -> Self {
        Self { bootstrap_servers: bootstrap_servers.into(), prefix: String::new(), timeout: Duration::from_secs(30), io_timeout: Duration::from_secs(4) }
    }

    /// Reads `kafka://host:port[,host:port...][?prefix=NAME]`.
    pub fn from_url(url: &str) -> Result<Self, LogError> {
        let rest = url.strip_prefix("kafka://").ok_or_else(|| LogError::Unavailable(format!("{url:?} is not a kafka:// URL")))?;
        let (servers, query) = rest.split_once('?').unwrap_or((rest, ""));
        let servers = servers.trim_end_matches('/');
        if servers.is_empty() {
            return Err(LogError::Unavailable(format!("{url:?} names no broker (kafka://HOST:PORT)")));
        }
        let mut config = Self::new(servers);
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            match pair.split_once('=') {
                Some(("prefix", prefix)) => {
                    if !prefix.is_empty() {
                        check_name(prefix)?;
                    }
                    prefix.clone_into(&mut config.prefix);
                }
                _ => return Err(LogError::Unavailable(format!("{url:?}: unknown parameter {pair:?} (prefix=NAME is the only one)"))),
            }
        }
        Ok(config)
    }
}

/// The event log on a Kafka broker (see the crate documentation).
pub struct KafkaLog {
    config: KafkaConfig,
    producer: FutureProducer,
    admin: AdminClient<DefaultClientContext>,
    /// Watermark queries. Not a cursor's consumer: that one's connection is often busy with
    /// a fetch waiting at the end of the partition.
    watermarks: Mutex<(BaseConsumer, Instant)>,
    /// Reads: one plain consumer per partition, left assigned where the last read ended, so
    /// a reader that goes on from there finds its records already fetched.
    cursors: Mutex<Cursors>,
    common: ClientConfig,
    /// One consumer per group, for committed positions.
    groups: Mutex<HashMap<String, BaseConsumer>>,
    /// Partition counts of topics seen to exist (a topic's count never changes here).
    topics: Mutex<HashMap<String, u32>>,
    /// To the thread that answers `append_then` once the broker has the records.
    acks: Mutex<Acks>,
}

/// The read cursors by topic and partition.
type Cursors = HashMap<(String, Partition), Arc<Mutex<Cursor>>>;

/// A consumer assigned to one partition, and the offset it delivers next.
struct Cursor {
    consumer: BaseConsumer,
    next: Option<Offset>,
    /// Paused after a read that reached the partition's end: an assigned consumer fetches
    /// every `fetch.wait.max.ms` whether or not anyone reads, and a deployment's few dozen
    /// idle cursors kept the broker busy. Paused, it stays assigned (so it keeps its
    /// metadata across a broker restart, which an unassigned one did not).
    paused: bool,
}

impl std::fmt::Debug for KafkaLog {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("KafkaLog").field("config", &self.config).finish_non_exhaustive()
    }
}

fn unavailable(error: &KafkaError) -> LogError {
    LogError::Unavailable(format!("kafka: {error}"))
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl KafkaLog {
    /// Connects to the broker (clients connect lazily; the first operation that needs the
    /// broker says if it cannot be reached).
    pub fn open(config: KafkaConfig) -> Result<Self, LogError> {
        let timeout_ms = config.timeout.as_millis().to_string();
        let mut common = ClientConfig::new();
        common.set("bootstrap.servers", &config.bootstrap_servers).set("socket.timeout.ms", &timeout_ms).set("log_level", "3");
        let producer = common
            .clone()
            .set("enable.idempotence", "true")
            .set("acks", "all")
            // Concurrent orders share produce requests: 2 ms of lingering gave 15.6 k
            // orders/s (p99 37 ms) where none gave 13.5 k (p99 43 ms) on `bench http`.
            .set("linger.ms", "2")
            .set("message.max.bytes", MESSAGE_BYTES_MAX.to_string())
            .set("message.timeout.ms", config.io_timeout.min(config.timeout).as_millis().to_string())
            .create()
            .map_err(|error| unavailable(&error))?;
        let admin = common.create().map_err(|error| unavailable(&error))?;
        let watermarks = Self::consumer(&common, None)?;
        Ok(Self {
            watermarks: Mutex::new((watermarks, Instant::now())),
            config,
            producer,
            admin,
            cursors: Mutex::new(HashMap::new()),
            common,
            groups: Mutex::new(HashMap::new()),
            topics: Mutex::new(HashMap::new()),
            acks: Mutex::new(spawn_ack_thread()?),
        })
    }

    fn consumer(common: &ClientConfig, group: Option<&str>) -> Result<BaseConsumer, LogError> {
        let mut config = common.clone();
        config
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("allow.auto.create.topics", "false")
            .set("fetch.message.max.bytes", MESSAGE_BYTES_MAX.to_string())
            // Reads ask for offsets below the high watermark: a fetch left waiting at the end
            // of an earlier read must not hold the next one up for long.
            .set("fetch.wait.max.ms", "5")
            .set("receive.message.max.bytes", (MESSAGE_BYTES_MAX * 64).to_string());
        // A read-only consumer still needs a group id to exist in librdkafka's eyes; it never
        // joins or commits under it.
        config.set("group.id", group.unwrap_or("tradecraft-reader"));
        config.create().map_err(|error| unavailable(&error))
    }

    fn name(&self, topic: &str) -> String {
        format!("{}{topic}", self.config.prefix)
    }

    /// The topic's partition count from the broker's metadata (`None` if it has no such
    /// topic).
    fn fetch_partitions(&self, topic: &str) -> Result<Option<u32>, LogError> {
        let name = self.name(topic);
        let metadata = self.producer.client().fetch_metadata(Some(&name), self.config.timeout).map_err(|error| unavailable(&error))?;
        let Some(found) = metadata.topics().iter().find(|found| found.name() == name) else { return Ok(None) };
        match found.error() {
            None if !found.partitions().is_empty() => Ok(Some(found.partitions().len() as u32)),
            None => Ok(None),
            Some(error) if RDKafkaErrorCode::from(error) == RDKafkaErrorCode::UnknownTopicOrPartition => Ok(None),
            Some(error) => Err(LogError::Unavailable(format!("kafka: topic {name}: {:?}", RDKafkaErrorCode::from(error)))),
        }
    }

    fn check_partition(&self, topic: &str, partition: Partition) -> Result<(), LogError> {
        if partition < self.partitions(topic)? { Ok(()) } else { Err(LogError::UnknownPartition { topic: topic.to_owned(), partition }) }
    }

    /// The partition's read cursor, made on first use (the partition is checked by the
    /// caller).
    fn cursor(&self, topic: &str, partition: Partition) -> Result<Arc<Mutex<Cursor>>, LogError> {
        let mut cursors = lock(&self.cursors);
        if let Some(cursor) = cursors.get(&(topic.to_owned(), partition)) {
            return Ok(Arc::clone(cursor));
        }
        let cursor = Arc::new(Mutex::new(Cursor { consumer: Self::consumer(&self.common, None)?, next: None, paused: false }));
        cursors.insert((topic.to_owned(), partition), Arc::clone(&cursor));
        Ok(cursor)
    }

    /// The partition's start and end offsets, asked of the broker.
    fn watermarks(&self, topic: &str, partition: Partition) -> Result<(Offset, Offset), LogError> {
        self.check_partition(topic, partition)?;
        let mut watermarks = lock(&self.watermarks);
        let mut fetched = watermarks.0.fetch_watermarks(&self.name(topic), partition as i32, self.config.io_timeout);
        // A leader being elected (a new topic, a broker back) answers in moments: ask again
        // for up to half a second rather than report the broker unavailable.
        for _ in 0..25 {
            let electing = matches!(&fetched, Err(KafkaError::MetadataFetch(RDKafkaErrorCode::NotLeaderForPartition | RDKafkaErrorCode::LeaderNotAvailable)));
            if !electing {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
            fetched = watermarks.0.fetch_watermarks(&self.name(topic), partition as i32, self.config.io_timeout);
        }
        match fetched {
            Ok((low, high)) => Ok((low.max(0) as Offset, high.max(0) as Offset)),
            Err(error) => {
                // A client that lost its broker can keep answering from stale metadata
                // ("Unknown partition") after the broker is back: start a fresh one, at
                // most once a second.
                if watermarks.1.elapsed() >= CLIENT_RENEWAL
                    && let Ok(fresh) = Self::consumer(&self.common, None)
                {
                    *watermarks = (fresh, Instant::now());
                }
                Err(unavailable(&error))
            }
        }
    }

    /// Runs `action` with the group's consumer (made on first use).
    fn with_group<T>(&self, group: &str, action: impl FnOnce(&BaseConsumer) -> Result<T, LogError>) -> Result<T, LogError> {
        check_name(group)?;
        let mut groups = lock(&self.groups);
        let consumer = match groups.entry(group.to_owned()) {
            std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::hash_map::Entry::Vacant(entry) => entry.insert(Self::consumer(&self.common, Some(&self.name(group)))?),
        };
        action(consumer)
    }

    /// Hands `records` to the producer, each to the partition its key picks; the futures
    /// resolve when the broker has them.
    fn send(&self, topic: &str, records: &[Record]) -> Result<Vec<DeliveryFuture>, LogError> {
        let partitions = self.partitions(topic)?;
        for record in records {
            check_record(record)?;
        }
        let name = self.name(topic);
        let mut deliveries = Vec::with_capacity(records.len());
        for record in records {
            let partition = partition_for(record.key.as_deref(), partitions);
            let mut headers = OwnedHeaders::new().insert(Header { key: TIMESTAMP_HEADER, value: Some(&record.timestamp_ms.to_be_bytes()) });
            // The envelope's W3C trace context, for tools that read headers only.
            if let Some(traceparent) = tradecraft_log::traceparent_in(&record.value) {
                headers = headers.insert(Header { key: TRACEPARENT_HEADER, value: Some(traceparent.as_bytes()) });
            }
            let mut message = FutureRecord::<[u8], [u8]>::to(&name).partition(partition as i32).payload(&record.value).headers(headers);
            if let Some(key) = &record.key {
                message = message.key(key);
            }
            if record.timestamp_ms >= 0 {
                message = message.timestamp(record.timestamp_ms);
            }
            match self.producer.send_result(message) {
                Ok(delivery) => deliveries.push(delivery),
                Err((error, _)) => return Err(unavailable(&error)),
            }
        }
        Ok(deliveries)
    }

    fn partition_list(&self, topic: &str, partition: Partition, offset: rdkafka::Offset) -> Result<TopicPartitionList, LogError> {
        let mut list = TopicPartitionList::new();
        list.add_partition_offset(&self.name(topic), partition as i32, offset).map_err(|error| unavailable(&error))?;
        Ok(list)
    }
}

/// Waits for the broker's answer to every record: where each went, or the first error.
fn acknowledged(deliveries: Vec<DeliveryFuture>) -> Result<Vec<Appended>, LogError> {
    let mut appended = Vec::with_capacity(deliveries.len());
    for delivery in deliveries {
        match futures_executor::block_on(delivery) {
            Ok(Ok(delivery)) => appended.push(Appended { partition: delivery.partition as Partition, offset: delivery.offset as Offset }),
            Ok(Err((error, _))) => return Err(unavailable(&error)),
            Err(_) => return Err(LogError::Closed),
        }
    }
    Ok(appended)
}

/// Pending `append_then` answers, in the order they were sent.
type Acks = std::sync::mpsc::Sender<(Vec<DeliveryFuture>, AppendDone)>;

fn spawn_ack_thread() -> Result<Acks, LogError> {
    let (sender, receiver) = std::sync::mpsc::channel::<(Vec<DeliveryFuture>, AppendDone)>();
    std::thread::Builder::new()
        .name("kafka-acks".to_owned())
        .spawn(move || {
            for (deliveries, done) in receiver {
                done(acknowledged(deliveries));
            }
        })
        .map_err(|error| LogError::Unavailable(format!("starting the acknowledgement thread: {error}")))?;
    Ok(sender)
}

impl EventLog for KafkaLog {
    fn create_topic(&self, topic: &str, partitions: u32) -> Result<(), LogError> {
        check_name(topic)?;
        check_partition_count(partitions)?;
        let name = self.name(topic);
        check_name(&name)?;
        let message_bytes = MESSAGE_BYTES_MAX.to_string();
        // The broker's default replication factor (-1): 1 on a test broker, 3 on a cluster
        // configured for it.
        let new = NewTopic::new(&name, partitions as i32, TopicReplication::Fixed(-1)).set("max.message.bytes", &message_bytes);
        let options = AdminOptions::new().operation_timeout(Some(self.config.timeout));
        let results = futures_executor::block_on(self.admin.create_topics([&new], &options)).map_err(|error| unavailable(&error))?;
        for result in results {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((_, code)) => return Err(LogError::Unavailable(format!("kafka: creating topic {name}: {code:?}"))),
            }
        }
        // Metadata reaches every broker shortly after creation: wait for it.
        let deadline = Instant::now() + self.config.timeout;
        loop {
            match self.fetch_partitions(topic)? {
                Some(existing) if existing != partitions => {
                    return Err(LogError::PartitionMismatch { topic: topic.to_owned(), existing, requested: partitions });
                }
                Some(_) => break,
                None if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
                None => return Err(LogError::Unavailable(format!("kafka: topic {name} was created but never appeared"))),
            }
        }
        lock(&self.topics).insert(topic.to_owned(), partitions);
        // And every partition's leader answers: just after creation a partition can be
        // listed before its leader is elected ("Not leader for partition" on the first
        // read of its end).
        for partition in 0..partitions {
            while let Err(error) = self.watermarks(topic, partition) {
                if Instant::now() >= deadline {
                    return Err(error);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Ok(())
    }

    fn partitions(&self, topic: &str) -> Result<u32, LogError> {
        if let Some(&partitions) = lock(&self.topics).get(topic) {
            return Ok(partitions);
        }
        check_name(topic)?;
        let partitions = self.fetch_partitions(topic)?.ok_or_else(|| LogError::UnknownTopic(topic.to_owned()))?;
        lock(&self.topics).insert(topic.to_owned(), partitions);
        Ok(partitions)
    }

    fn append(&self, topic: &str, records: Vec<Record>) -> Result<Vec<Appended>, LogError> {
        let deliveries = self.send(topic, &records)?;
        acknowledged(deliveries)
    }

    fn append_then(&self, topic: &str, records: Vec<Record>, done: AppendDone) {
        match self.send(topic, &records) {
            // The broker's answers are awaited on the acknowledgement thread, so the caller
            // (an async task) never blocks for a round trip.
            Ok(deliveries) => {
                if let Err(std::sync::mpsc::SendError((_, done))) = lock(&self.acks).send((deliveries, done)) {
                    done(Err(LogError::Closed));
                }
            }
            Err(error) => done(Err(error)),
        }
    }

    fn read(&self, topic: &str, partition: Partition, from: Offset, max_records: usize) -> Result<Vec<StoredRecord>, LogError> {
        let (start, end) = self.watermarks(topic, partition)?;
        if from < start || from > end {
            return Err(LogError::OffsetOutOfRange { offset: from, start, end });
        }
        let wanted = usize::try_from(end - from).unwrap_or(usize::MAX).min(max_records);
        if wanted == 0 {
            return Ok(Vec::new());
        }
        let name = self.name(topic);
        let cursor = self.cursor(topic, partition)?;
        let mut cursor = lock(&cursor);
        if cursor.paused {
            // Nothing is in flight: go on from exactly `from`, then fetch again.
            cursor.paused = false;
            let list = self.partition_list(topic, partition, rdkafka::Offset::Offset(from as i64))?;
            let resumed = cursor.consumer.resume(&list).is_ok()
                && cursor.next == Some(from)
                && cursor.consumer.seek(&name, partition as i32, rdkafka::Offset::Offset(from as i64), self.config.io_timeout).is_ok();
            if !resumed {
                cursor.next = None;
            }
        }
        if cursor.next != Some(from) {
            cursor.next = None;
            let list = self.partition_list(topic, partition, rdkafka::Offset::Offset(from as i64))?;
            cursor.consumer.assign(&list).map_err(|error| unavailable(&error))?;
            cursor.next = Some(from);
        }
        let mut records = Vec::with_capacity(wanted.min(10_000));
        let deadline = Instant::now() + self.config.io_timeout;
        // Errors a consumer reports while it reconnects ("all broker connections are
        // down") are news, not failures: the read goes on until its deadline.
        let mut trouble = None;
        while records.len() < wanted {
            let polled = cursor.consumer.poll(Duration::from_millis(100));
            let message = match polled {
                Some(Ok(message)) => message,
                other => {
                    if let Some(Err(error)) = other {
                        trouble = Some(error);
                    }
                    if Instant::now() > deadline {
                        cursor.next = None;
                        let cause = trouble.map_or_else(|| "timed out".to_owned(), |error| error.to_string());
                        return Err(LogError::Unavailable(format!("kafka: reading {name}/{partition} from {from}: {cause}")));
                    }
                    continue;
                }
            };
            let next = from + records.len() as Offset;
            if message.topic() != name || message.partition() != partition as i32 || (message.offset() as Offset) != next {
                continue;
            }
            let timestamp_ms = message
                .headers()
                .and_then(|headers| headers.iter().find(|header| header.key == TIMESTAMP_HEADER).and_then(|header| header.value))
                .and_then(|value| <[u8; 8]>::try_from(value).ok())
                .map_or_else(|| message.timestamp().to_millis().unwrap_or(0), i64::from_be_bytes);
            records.push(StoredRecord {
                partition,
                offset: next,
                key: message.key().map(<[u8]>::to_vec),
                value: message.payload().map(<[u8]>::to_vec).unwrap_or_default(),
                timestamp_ms,
            });
        }
        cursor.next = Some(from + records.len() as Offset);
        if cursor.next == Some(end) {
            let list = self.partition_list(topic, partition, rdkafka::Offset::Invalid)?;
            cursor.paused = cursor.consumer.pause(&list).is_ok();
        }
        Ok(records)
    }

    fn start_offset(&self, topic: &str, partition: Partition) -> Result<Offset, LogError> {
        Ok(self.watermarks(topic, partition)?.0)
    }

    fn end_offset(&self, topic: &str, partition: Partition) -> Result<Offset, LogError> {
        Ok(self.watermarks(topic, partition)?.1)
    }

    fn commit_position(&self, group: &str, topic: &str, partition: Partition, next: Offset) -> Result<(), LogError> {
        self.check_partition(topic, partition)?;
        let list = self.partition_list(topic, partition, rdkafka::Offset::Offset(next as i64))?;
        self.with_group(group, |consumer| consumer.commit(&list, CommitMode::Sync).map_err(|error| unavailable(&error)))
    }

    fn position(&self, group: &str, topic: &str, partition: Partition) -> Result<Option<Offset>, LogError> {
        self.check_partition(topic, partition)?;
        let list = self.partition_list(topic, partition, rdkafka::Offset::Invalid)?;
        let committed = self.with_group(group, |consumer| consumer.committed_offsets(list, self.config.timeout).map_err(|error| unavailable(&error)))?;
        let offset = committed.elements().first().map(rdkafka::topic_partition_list::TopicPartitionListElem::offset);
        Ok(match offset {
            Some(rdkafka::Offset::Offset(offset)) if offset >= 0 => Some(offset as Offset),
            _ => None,
        })
    }
}

impl Drop for KafkaLog {
    fn drop(&mut self) {
        // Anything still queued was never acknowledged; give it a moment to go out.
        let _ = self.producer.flush(Duration::from_secs(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_brokers_and_a_prefix() {
        assert_eq!(KafkaConfig::from_url("kafka://127.0.0.1:9092").unwrap().bootstrap_servers, "127.0.0.1:9092");
        let config = KafkaConfig::from_url("kafka://a:1,b:2/?prefix=prod.").unwrap();
        assert_eq!((config.bootstrap_servers.as_str(), config.prefix.as_str()), ("a:1,b:2", "prod."));
        for bad in ["kafka://", "http://a:1", "kafka://a:1?prefix=bad/name", "kafka://a:1?acks=0"] {
            assert!(matches!(KafkaConfig::from_url(bad), Err(LogError::Unavailable(_) | LogError::InvalidName(_))), "{bad}");
        }
    }
}
