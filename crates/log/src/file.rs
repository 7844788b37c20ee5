//! The embedded journal: segmented append-only files, one directory per partition.
//!
//! ```text
//! DIR/topics/TOPIC/partitions              partition count
//! DIR/topics/TOPIC/P/00000000000000000000.log   segments, named by their first offset
//! DIR/groups/GROUP/TOPIC.P                 a consumer group's position
//! ```
//!
//! A segment is a run of frames `[u32 body length][u32 CRC-32C of body][body]`, the body
//! being `[u64 offset][i64 timestamp ms][u32 key length, or u32::MAX for none][key][value]`.
//! One writer thread takes append requests from a bounded queue and commits them in
//! groups: it writes every queued request, fsyncs each touched segment once, and only then
//! makes the records visible and answers the callers. On open, every segment is checked;
//! a torn tail (a last frame cut short by a crash) is truncated, any other damage is
//! refused with [`LogError::Corrupt`]. Retention deletes whole segments.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::thread::JoinHandle;
use std::time::Instant;

use crate::crc::crc32c;
use crate::{Appended, EventLog, LogError, Offset, Partition, Record, StoredRecord, check_name, check_partition_count, check_record, partition_for};

/// Bytes before a frame's body: length and checksum.
const FRAME_HEADER_BYTES: usize = 8;
/// Fixed part of a body: offset, timestamp, key length.
const BODY_FIXED_BYTES: usize = 20;
/// No key.
const KEY_ABSENT: u32 = u32::MAX;
/// One sparse index entry per this many records.
const INDEX_INTERVAL: u64 = 64;
/// Bytes read at a time when scanning a segment.
const READ_CHUNK_BYTES: usize = 256 * 1024;

/// Settings of a [`FileLog`].
#[derive(Clone, Debug)]
pub struct FileLogConfig {
    pub dir: PathBuf,
    /// A segment is closed and a new one started once it holds this many bytes.
    pub segment_bytes: u64,
    /// Per partition: the oldest whole segments are deleted once the partition is larger.
    pub retention_bytes: Option<u64>,
    /// Append requests waiting for the writer; callers block when it is full.
    pub queue_capacity: usize,
    /// Most requests committed by one fsync.
    pub batch_requests_max: usize,
}

impl FileLogConfig {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into(), segment_bytes: 64 * 1024 * 1024, retention_bytes: None, queue_capacity: 4_096, batch_requests_max: 1_024 }
    }
}

/// Counters of the writer, for `/metrics`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileLogMetrics {
    /// Group commits (one fsync round each).
    pub batches: u64,
    pub requests: u64,
    pub records: u64,
    pub fsyncs: u64,
    pub fsync_nanos_total: u64,
    pub segments_deleted: u64,
}

#[derive(Debug, Default)]
struct Counters {
    batches: AtomicU64,
    requests: AtomicU64,
    records: AtomicU64,
    fsyncs: AtomicU64,
    fsync_nanos_total: AtomicU64,
    segments_deleted: AtomicU64,
}

fn unavailable(context: &str, error: std::io::Error) -> LogError {
    LogError::Unavailable(format!("{context}: {error}"))
}

fn sync_dir(path: &Path) -> Result<(), LogError> {
    File::open(path).and_then(|dir| dir.sync_all()).map_err(|error| unavailable("syncing directory", error))
}

/// A frame decoded from bytes.
struct Frame<'a> {
    offset: Offset,
    timestamp_ms: i64,
    key: Option<&'a [u8]>,
    value: &'a [u8],
    /// Bytes the whole frame takes.
    size: usize,
}

enum Decoded<'a> {
    Frame(Frame<'a>),
    /// The bytes end inside a frame.
    Incomplete,
    /// The frame fails its checksum or structure; `declared` is the size its header claims.
    Invalid {
        reason: &'static str,
        declared: usize,
    },
}

fn decode(bytes: &[u8]) -> Decoded<'_> {
    if bytes.len() < FRAME_HEADER_BYTES {
        return Decoded::Incomplete;
    }
    let body_length = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    let checksum = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
    let declared = FRAME_HEADER_BYTES + body_length;
    if !(BODY_FIXED_BYTES..=BODY_FIXED_BYTES + crate::RECORD_BYTES_MAX).contains(&body_length) {
        return Decoded::Invalid { reason: "impossible frame length", declared };
    }
    if bytes.len() < declared {
        return Decoded::Incomplete;
    }
    let body = &bytes[FRAME_HEADER_BYTES..declared];
    if crc32c(body) != checksum {
        return Decoded::Invalid { reason: "checksum mismatch", declared };
    }
    let read_u64 = |at: usize| u64::from_le_bytes(body[at..at + 8].try_into().unwrap_or_default());
    let offset = read_u64(0);
    let timestamp_ms = read_u64(8) as i64;
    let key_length = u32::from_le_bytes(body[16..20].try_into().unwrap_or_default());
    let rest = &body[BODY_FIXED_BYTES..];
    let (key, value) = if key_length == KEY_ABSENT {
        (None, rest)
    } else if key_length as usize <= rest.len() {
        let (key, value) = rest.split_at(key_length as usize);
        (Some(key), value)
    } else {
        return Decoded::Invalid { reason: "key longer than its frame", declared };
    };
    Decoded::Frame(Frame { offset, timestamp_ms, key, value, size: declared })
}

fn encode(out: &mut Vec<u8>, offset: Offset, record: &Record) {
    let key_length = record.key.as_ref().map_or(KEY_ABSENT, |key| key.len() as u32);
    let body_length = BODY_FIXED_BYTES + record.key.as_ref().map_or(0, Vec::len) + record.value.len();
    let start = out.len();
    out.extend_from_slice(&(body_length as u32).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&offset.to_le_bytes());
    out.extend_from_slice(&record.timestamp_ms.to_le_bytes());
    out.extend_from_slice(&key_length.to_le_bytes());
    if let Some(key) = &record.key {
        out.extend_from_slice(key);
    }
    out.extend_from_slice(&record.value);
    let checksum = crc32c(&out[start + FRAME_HEADER_BYTES..]);
    out[start + 4..start + 8].copy_from_slice(&checksum.to_le_bytes());
}

/// Calls `visit` with each frame position and decoded frame in `from..to` of `file`.
/// Stops at the first undecodable frame and returns its position with the failure.
fn scan(file: &File, from: u64, to: u64, mut visit: impl FnMut(u64, &Frame<'_>) -> bool) -> Result<Option<(u64, Decoded<'static>)>, LogError> {
    let mut buffer: Vec<u8> = Vec::with_capacity(READ_CHUNK_BYTES);
    let mut buffer_start = from;
    let mut consumed = 0_usize;
    loop {
        // Refill: keep unconsumed bytes, read more after them.
        buffer.drain(..consumed);
        buffer_start += consumed as u64;
        consumed = 0;
        let file_position = buffer_start + buffer.len() as u64;
        let wanted = (to.saturating_sub(file_position) as usize).min(READ_CHUNK_BYTES.max(buffer.capacity()));
        if wanted > 0 {
            let old_length = buffer.len();
            buffer.resize(old_length + wanted, 0);
            file.read_exact_at(&mut buffer[old_length..], file_position).map_err(|error| unavailable("reading segment", error))?;
        }
        let at_end = buffer_start + buffer.len() as u64 >= to;
        loop {
            let position = buffer_start + consumed as u64;
            if position >= to {
                return Ok(None);
            }
            match decode(&buffer[consumed..]) {
                Decoded::Frame(frame) => {
                    consumed += frame.size;
                    if !visit(position, &frame) {
                        return Ok(None);
                    }
                }
                Decoded::Incomplete if at_end => return Ok(Some((position, Decoded::Incomplete))),
                Decoded::Incomplete => {
                    // A frame larger than what is buffered: make room for it.
                    if consumed == 0 {
                        buffer.reserve(crate::RECORD_BYTES_MAX + FRAME_HEADER_BYTES);
                    }
                    break;
                }
                Decoded::Invalid { reason, declared } => {
                    return Ok(Some((position, Decoded::Invalid { reason, declared })));
                }
            }
        }
    }
}

#[derive(Debug)]
struct Segment {
    base: Offset,
    path: PathBuf,
    file: File,
    /// Bytes written, durable or not.
    length: u64,
    /// Bytes known durable: readers stop here.
    durable_length: u64,
    /// Offset after the last record written.
    end: Offset,
    /// Every [`INDEX_INTERVAL`]th record's offset and byte position.
    index: Vec<(Offset, u64)>,
    /// Closed for writing, with its summary written beside it (see [`Segment::seal`]).
    sealed: bool,
}

/// First bytes of a sealed segment's summary file.
const SEAL_MAGIC: &[u8; 8] = b"TCSEAL01";

impl Segment {
    fn file_name(base: Offset) -> String {
        format!("{base:020}.log")
    }

    fn seal_path(&self) -> PathBuf {
        self.path.with_extension("seal")
    }

    /// Writes the summary of a segment that will never change again (a newer one is
    /// being written and this one is durable): its length, end offset and sparse index,
    /// under a checksum. A restart trusts a summary that matches the file's length instead
    /// of checking every record; records are still checked when read. Best effort: without
    /// a summary the segment is checked in full at open, as before.
    fn seal(&mut self) {
        let mut bytes = Vec::with_capacity(40 + self.index.len() * 16);
        bytes.extend_from_slice(SEAL_MAGIC);
        for value in [self.base, self.end, self.length, self.index.len() as u64] {
            bytes.extend_from_slice(&value.to_le_bytes());
        }
        for (offset, position) in &self.index {
            bytes.extend_from_slice(&offset.to_le_bytes());
            bytes.extend_from_slice(&position.to_le_bytes());
        }
        bytes.extend_from_slice(&crc32c(&bytes).to_le_bytes());
        self.sealed = fs::write(self.seal_path(), bytes).is_ok();
    }

    /// Reads a sealed segment's summary, if it is intact and matches the segment file.
    fn load_seal(path: &Path, base: Offset, file_length: u64) -> Option<(Offset, Vec<(Offset, u64)>)> {
        let bytes = fs::read(path.with_extension("seal")).ok()?;
        let (body, checksum) = bytes.split_at_checked(bytes.len().checked_sub(4)?)?;
        if crc32c(body) != u32::from_le_bytes(checksum.try_into().ok()?) || !body.starts_with(SEAL_MAGIC) {
            return None;
        }
        let words: Vec<u64> = body[SEAL_MAGIC.len()..].chunks_exact(8).map(|chunk| u64::from_le_bytes(chunk.try_into().unwrap_or_default())).collect();
        let (&[sealed_base, end, length, count], rest) = words.split_first_chunk::<4>()?;
        if sealed_base != base || length != file_length || rest.len() as u64 != count * 2 || end < base {
            return None;
        }
        Some((end, rest.chunks_exact(2).map(|pair| (pair[0], pair[1])).collect()))
    }

    fn create(dir: &Path, base: Offset) -> Result<Self, LogError> {
        let path = dir.join(Self::file_name(base));
        let file = OpenOptions::new().read(true).write(true).create_new(true).open(&path).map_err(|error| unavailable("creating segment", error))?;
        sync_dir(dir)?;
        Ok(Self { base, path, file, length: 0, durable_length: 0, end: base, index: Vec::new(), sealed: false })
    }

    /// Byte position to start scanning for `offset`.
    fn position_for(&self, offset: Offset) -> u64 {
        let entry = self.index.partition_point(|&(indexed, _)| indexed <= offset);
        if entry == 0 { 0 } else { self.index[entry - 1].1 }
    }

    fn note_record(&mut self, offset: Offset, position: u64) {
        if (offset - self.base).is_multiple_of(INDEX_INTERVAL) {
            self.index.push((offset, position));
        }
    }
}

/// One partition's segments. The last one is written; all are read.
#[derive(Debug)]
struct PartitionLog {
    dir: PathBuf,
    segments: Vec<Segment>,
    /// One past the last durable record: what readers may see.
    durable_end: Offset,
    /// Segments at the time of the last durable point, to roll back to on a failed write.
    durable_segment_count: usize,
}

impl PartitionLog {
    fn start(&self) -> Offset {
        self.segments.first().map_or(self.durable_end, |segment| segment.base)
    }

    fn written_end(&self) -> Offset {
        self.segments.last().map_or(self.durable_end, |segment| segment.end)
    }

    fn active(&mut self) -> &mut Segment {
        self.segments.last_mut().expect("invariant: a partition always has a segment")
    }

    /// Loads and checks every segment; truncates a torn tail of the last one.
    fn open(dir: PathBuf) -> Result<Self, LogError> {
        let mut bases: Vec<Offset> = Vec::new();
        for entry in fs::read_dir(&dir).map_err(|error| unavailable("listing partition", error))? {
            let name = entry.map_err(|error| unavailable("listing partition", error))?.file_name();
            let name = name.to_string_lossy();
            if let Some(stem) = name.strip_suffix(".log") {
                let base = stem.parse().map_err(|_| LogError::Corrupt(format!("unexpected file {name} in {}", dir.display())))?;
                bases.push(base);
            }
        }
        bases.sort_unstable();
        if bases.is_empty() {
            let segment = Segment::create(&dir, 0)?;
            return Ok(Self { dir, segments: vec![segment], durable_end: 0, durable_segment_count: 1 });
        }
        let last_index = bases.len() - 1;
        let mut segments = Vec::with_capacity(bases.len());
        for (position, &base) in bases.iter().enumerate() {
            if let Some(previous) = segments.last().map(|segment: &Segment| segment.end)
                && previous != base
            {
                return Err(LogError::Corrupt(format!("{}: segment {base} does not follow offset {previous}", dir.display())));
            }
            segments.push(Self::load_segment(&dir, base, position == last_index)?);
        }
        let durable_end = segments.last().map_or(0, |segment| segment.end);
        let count = segments.len();
        Ok(Self { dir, segments, durable_end, durable_segment_count: count })
    }

    fn load_segment(dir: &Path, base: Offset, is_last: bool) -> Result<Segment, LogError> {
        let path = dir.join(Segment::file_name(base));
        let file = OpenOptions::new().read(true).write(true).open(&path).map_err(|error| unavailable("opening segment", error))?;
        let file_length = file.metadata().map_err(|error| unavailable("reading segment size", error))?.len();
        if !is_last && let Some((end, index)) = Segment::load_seal(&path, base, file_length) {
            return Ok(Segment { base, path, file, length: file_length, durable_length: file_length, end, index, sealed: true });
        }
        let mut segment = Segment { base, path, file, length: 0, durable_length: 0, end: base, index: Vec::new(), sealed: false };
        let mut expected = base;
        let mut out_of_order = false;
        let mut index = Vec::new();
        let mut good_until = 0;
        let stop = scan(&segment.file, 0, file_length, |position, frame| {
            if frame.offset != expected {
                out_of_order = true;
                return false;
            }
            if (expected - base).is_multiple_of(INDEX_INTERVAL) {
                index.push((expected, position));
            }
            expected += 1;
            good_until = position + frame.size as u64;
            true
        })?;
        let describe = |position: u64, why: &str| LogError::Corrupt(format!("{} at byte {position}: {why}", segment.path.display()));
        if out_of_order {
            return Err(describe(good_until, "record offsets out of sequence"));
        }
        if let Some((position, failure)) = stop {
            let torn = match failure {
                Decoded::Incomplete => true,
                // A bad last frame that reaches the end of the file is a write cut short.
                Decoded::Invalid { declared, .. } => position + declared as u64 >= file_length,
                Decoded::Frame(_) => false,
            } || Self::only_zeros_from(&segment.file, position, file_length)?;
            if !(torn && is_last) {
                let why = match failure {
                    Decoded::Invalid { reason, .. } => reason,
                    _ => "record cut short before the last segment",
                };
                return Err(describe(position, why));
            }
            tracing::warn!(
                segment = %segment.path.display(), at_byte = position, bytes_cut = file_length - position,
                "torn tail: the last record was cut short (a write interrupted by a crash); cutting it back"
            );
            segment.file.set_len(position).map_err(|error| unavailable("truncating torn tail", error))?;
            segment.file.sync_all().map_err(|error| unavailable("syncing truncated segment", error))?;
            good_until = position;
        }
        segment.length = good_until;
        segment.durable_length = good_until;
        segment.end = expected;
        segment.index = index;
        Ok(segment)
    }

    fn only_zeros_from(file: &File, from: u64, to: u64) -> Result<bool, LogError> {
        let mut buffer = vec![0_u8; (to - from).min(READ_CHUNK_BYTES as u64) as usize];
        let mut position = from;
        while position < to {
            let length = ((to - position) as usize).min(buffer.len());
            file.read_exact_at(&mut buffer[..length], position).map_err(|error| unavailable("reading segment", error))?;
            if buffer[..length].iter().any(|&byte| byte != 0) {
                return Ok(false);
            }
            position += length as u64;
        }
        Ok(true)
    }

    /// Writes records after the last one (not yet durable), one write per segment touched.
    /// Returns their offsets.
    fn write<'a>(&mut self, records: impl Iterator<Item = &'a Record>, segment_bytes: u64, scratch: &mut Vec<u8>) -> Result<Vec<Offset>, LogError> {
        let mut offsets = Vec::new();
        scratch.clear();
        for record in records {
            let segment = self.active();
            let full = segment.length + scratch.len() as u64 >= segment_bytes;
            if full && segment.end > segment.base {
                Self::flush(segment, scratch)?;
                let base = segment.end;
                self.segments.push(Segment::create(&self.dir, base)?);
            }
            let segment = self.active();
            let offset = segment.end;
            let position = segment.length + scratch.len() as u64;
            encode(scratch, offset, record);
            segment.note_record(offset, position);
            segment.end += 1;
            offsets.push(offset);
        }
        Self::flush(self.active(), scratch)?;
        Ok(offsets)
    }

    /// Writes the encoded frames in `scratch` at the end of `segment`.
    fn flush(segment: &mut Segment, scratch: &mut Vec<u8>) -> Result<(), LogError> {
        if scratch.is_empty() {
            return Ok(());
        }
        segment.file.write_all_at(scratch, segment.length).map_err(|error| unavailable("writing segment", error))?;
        segment.length += scratch.len() as u64;
        scratch.clear();
        Ok(())
    }

    /// Fsyncs every segment written since the last durable point.
    fn sync(&self) -> Result<u32, LogError> {
        let mut fsyncs = 0;
        for segment in &self.segments {
            if segment.length > segment.durable_length {
                segment.file.sync_data().map_err(|error| unavailable("fsync of segment", error))?;
                fsyncs += 1;
            }
        }
        Ok(fsyncs)
    }

    fn publish(&mut self) {
        for segment in &mut self.segments {
            segment.durable_length = segment.length;
        }
        let sealed_count = self.segments.len().saturating_sub(1);
        for segment in &mut self.segments[..sealed_count] {
            if !segment.sealed {
                segment.seal();
            }
        }
        self.durable_end = self.written_end();
        self.durable_segment_count = self.segments.len();
    }

    /// Forgets everything written since the last durable point.
    fn roll_back(&mut self) {
        while self.segments.len() > self.durable_segment_count.max(1) {
            if let Some(segment) = self.segments.pop() {
                // Best effort: a leftover empty file would fail the continuity check later.
                let _ = fs::remove_file(&segment.path);
            }
        }
        let durable_end = self.durable_end;
        let segment = self.active();
        let _ = segment.file.set_len(segment.durable_length);
        segment.length = segment.durable_length;
        segment.end = durable_end;
        segment.index.retain(|&(offset, _)| offset < durable_end);
    }

    /// Deletes the oldest whole segments (never the last) that end at or before `before`,
    /// or while the partition is larger than `keep_bytes`. Returns how many went.
    fn delete_old_segments(&mut self, before: Option<Offset>, keep_bytes: Option<u64>) -> Result<u64, LogError> {
        let mut deleted = 0;
        while self.segments.len() > 1 {
            let total: u64 = self.segments.iter().map(|segment| segment.length).sum();
            let oldest = &self.segments[0];
            let expired = before.is_some_and(|before| oldest.end <= before);
            let oversized = keep_bytes.is_some_and(|keep| total > keep);
            if !expired && !oversized {
                break;
            }
            fs::remove_file(&oldest.path).map_err(|error| unavailable("deleting segment", error))?;
            let _ = fs::remove_file(oldest.seal_path());
            self.segments.remove(0);
            self.durable_segment_count -= 1;
            deleted += 1;
        }
        if deleted > 0 {
            sync_dir(&self.dir)?;
        }
        Ok(deleted)
    }

    fn read(&self, from: Offset, max_records: usize, partition: Partition) -> Result<Vec<StoredRecord>, LogError> {
        let (start, end) = (self.start(), self.durable_end);
        if from < start || from > end {
            return Err(LogError::OffsetOutOfRange { offset: from, start, end });
        }
        let mut records = Vec::new();
        let first = self.segments.partition_point(|segment| segment.base <= from).saturating_sub(1);
        for segment in &self.segments[first..] {
            if records.len() >= max_records || segment.base >= end {
                break;
            }
            let wanted_from = from.max(segment.base);
            let damage = scan(&segment.file, segment.position_for(wanted_from), segment.durable_length, |_, frame| {
                if frame.offset >= end || records.len() >= max_records {
                    return false;
                }
                if frame.offset >= wanted_from {
                    records.push(StoredRecord {
                        partition,
                        offset: frame.offset,
                        key: frame.key.map(<[u8]>::to_vec),
                        value: frame.value.to_vec(),
                        timestamp_ms: frame.timestamp_ms,
                    });
                }
                true
            })?;
            if let Some((position, failure)) = damage {
                return Err(damage_error(&segment.path, position, &failure));
            }
        }
        Ok(records)
    }

    /// Checks every durable record of every segment; returns how many there are.
    fn check(&self) -> Result<u64, LogError> {
        let mut records = 0;
        for segment in &self.segments {
            let mut expected = segment.base;
            let mut out_of_order = false;
            let damage = scan(&segment.file, 0, segment.durable_length, |_, frame| {
                out_of_order = frame.offset != expected;
                expected += 1;
                !out_of_order
            })?;
            if let Some((position, failure)) = damage {
                return Err(damage_error(&segment.path, position, &failure));
            }
            if out_of_order || expected != segment.end.min(self.durable_end).max(segment.base) {
                return Err(LogError::Corrupt(format!("{}: record offsets out of sequence", segment.path.display())));
            }
            records += expected - segment.base;
        }
        Ok(records)
    }
}

fn damage_error(path: &Path, position: u64, failure: &Decoded<'_>) -> LogError {
    let why = match failure {
        Decoded::Invalid { reason, .. } => reason,
        _ => "record cut short",
    };
    LogError::Corrupt(format!("{} at byte {position}: {why}", path.display()))
}

#[derive(Debug)]
struct TopicLog {
    partitions: Vec<Mutex<PartitionLog>>,
}

impl TopicLog {
    fn check_partition(&self, topic: &str, partition: Partition) -> Result<(), LogError> {
        if (partition as usize) < self.partitions.len() { Ok(()) } else { Err(LogError::UnknownPartition { topic: topic.to_owned(), partition }) }
    }

    fn partition(&self, topic: &str, partition: Partition) -> Result<MutexGuard<'_, PartitionLog>, LogError> {
        let log = self.partitions.get(partition as usize).ok_or_else(|| LogError::UnknownPartition { topic: topic.to_owned(), partition })?;
        log.lock().map_err(|_| LogError::Unavailable("partition lock poisoned".to_owned()))
    }
}

#[derive(Debug)]
struct Shared {
    config: FileLogConfig,
    topics: RwLock<BTreeMap<String, Arc<TopicLog>>>,
    counters: Counters,
    /// Serialises topic creation and position writes (rare, file-system heavy).
    admin: Mutex<()>,
}

/// A partition a group commit writes to, with its records in batch order as
/// (request, part, record) indexes.
struct Touched {
    topic: Arc<TopicLog>,
    partition: Partition,
    records: Vec<(usize, usize, usize)>,
}

/// Records for one topic within a request.
struct TopicPart {
    topic: Arc<TopicLog>,
    partitions_per_record: Vec<Partition>,
    records: Vec<Record>,
}

/// One caller's append: one or more topics, durable together, answered once.
struct AppendRequest {
    parts: Vec<TopicPart>,
    reply: MultiReply,
}

type MultiReply = Box<dyn FnOnce(Result<Vec<Vec<Appended>>, LogError>) + Send>;

/// The segmented-file event log. See the module docs.
#[derive(Debug)]
pub struct FileLog {
    shared: Arc<Shared>,
    sender: Mutex<Option<SyncSender<AppendRequest>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for AppendRequest {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("AppendRequest").field("parts", &self.parts.len()).finish()
    }
}

impl FileLog {
    /// Checks records and resolves topics and partitions for an append request.
    fn parts(&self, batches: Vec<(&str, Vec<Record>)>) -> Result<Vec<TopicPart>, LogError> {
        let mut parts = Vec::with_capacity(batches.len());
        for (topic, records) in batches {
            records.iter().try_for_each(check_record)?;
            let topic_log = self.shared.topic(topic)?;
            let count = topic_log.partitions.len() as u32;
            let partitions_per_record = records.iter().map(|record| partition_for(record.key.as_deref(), count)).collect();
            parts.push(TopicPart { topic: topic_log, partitions_per_record, records });
        }
        Ok(parts)
    }

    /// Opens (or creates) the log in `config.dir`: checks the segment being written record
    /// by record (truncating a torn tail), and older ones against their sealed summaries
    /// (in full where a summary is missing or does not match).
    pub fn open(config: FileLogConfig) -> Result<Self, LogError> {
        assert!(config.queue_capacity > 0, "invariant: the append queue holds something");
        assert!(config.batch_requests_max > 0, "invariant: a batch holds something");
        let topics_dir = config.dir.join("topics");
        fs::create_dir_all(&topics_dir).map_err(|error| unavailable("creating log directory", error))?;
        fs::create_dir_all(config.dir.join("groups")).map_err(|error| unavailable("creating log directory", error))?;
        let mut topics = BTreeMap::new();
        for entry in fs::read_dir(&topics_dir).map_err(|error| unavailable("listing topics", error))? {
            let entry = entry.map_err(|error| unavailable("listing topics", error))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if check_name(&name).is_err() {
                continue;
            }
            let count_text =
                fs::read_to_string(entry.path().join("partitions")).map_err(|error| unavailable(&format!("reading partition count of {name}"), error))?;
            let count: u32 = count_text.trim().parse().map_err(|_| LogError::Corrupt(format!("topic {name}: partition count {count_text:?}")))?;
            check_partition_count(count)?;
            let partitions =
                (0..count).map(|partition| PartitionLog::open(entry.path().join(partition.to_string())).map(Mutex::new)).collect::<Result<Vec<_>, _>>()?;
            topics.insert(name, Arc::new(TopicLog { partitions }));
        }
        let shared = Arc::new(Shared { config: config.clone(), topics: RwLock::new(topics), counters: Counters::default(), admin: Mutex::new(()) });
        let (sender, receiver) = sync_channel(config.queue_capacity);
        let writer_shared = Arc::clone(&shared);
        let writer = std::thread::Builder::new()
            .name("log-writer".to_owned())
            .spawn(move || writer_loop(&writer_shared, &receiver))
            .map_err(|error| unavailable("starting log writer", error))?;
        Ok(Self { shared, sender: Mutex::new(Some(sender)), writer: Mutex::new(Some(writer)) })
    }

    /// Stops taking appends, lets the writer finish what is queued, and waits for it.
    pub fn close(&self) {
        if let Ok(mut sender) = self.sender.lock() {
            sender.take();
        }
        if let Some(writer) = self.writer.lock().ok().and_then(|mut writer| writer.take()) {
            let _ = writer.join();
        }
    }

    pub fn metrics(&self) -> FileLogMetrics {
        let counters = &self.shared.counters;
        FileLogMetrics {
            batches: counters.batches.load(Ordering::Relaxed),
            requests: counters.requests.load(Ordering::Relaxed),
            records: counters.records.load(Ordering::Relaxed),
            fsyncs: counters.fsyncs.load(Ordering::Relaxed),
            fsync_nanos_total: counters.fsync_nanos_total.load(Ordering::Relaxed),
            segments_deleted: counters.segments_deleted.load(Ordering::Relaxed),
        }
    }

    /// Retention by hand: deletes the partition's whole segments that end at or before
    /// `before` (never the segment being written). Returns how many were deleted.
    pub fn delete_segments_before(&self, topic: &str, partition: Partition, before: Offset) -> Result<u64, LogError> {
        let topic_log = self.shared.topic(topic)?;
        let deleted = topic_log.partition(topic, partition)?.delete_old_segments(Some(before), None)?;
        self.shared.counters.segments_deleted.fetch_add(deleted, Ordering::Relaxed);
        Ok(deleted)
    }

    /// Checks every record of every partition against its checksum and sequence (open
    /// trusts sealed segments' summaries; this does not). Returns the records checked.
    pub fn check_all(&self) -> Result<u64, LogError> {
        let topics: Vec<(String, Arc<TopicLog>)> = self
            .shared
            .topics
            .read()
            .map_err(|_| LogError::Unavailable("topic table lock".into()))?
            .iter()
            .map(|(name, topic)| (name.clone(), Arc::clone(topic)))
            .collect();
        let mut records = 0;
        for (name, topic) in topics {
            for partition in 0..topic.partitions.len() as Partition {
                records += topic.partition(&name, partition)?.check()?;
            }
        }
        Ok(records)
    }

    /// Number of segment files of a partition.
    pub fn segment_count(&self, topic: &str, partition: Partition) -> Result<usize, LogError> {
        let topic_log = self.shared.topic(topic)?;
        Ok(topic_log.partition(topic, partition)?.segments.len())
    }

    fn position_path(&self, group: &str, topic: &str, partition: Partition) -> PathBuf {
        self.shared.config.dir.join("groups").join(group).join(format!("{topic}.{partition}"))
    }
}

impl Drop for FileLog {
    fn drop(&mut self) {
        self.close();
    }
}

impl Shared {
    fn topic(&self, topic: &str) -> Result<Arc<TopicLog>, LogError> {
        let topics = self.topics.read().map_err(|_| LogError::Unavailable("topic table lock poisoned".to_owned()))?;
        topics.get(topic).cloned().ok_or_else(|| LogError::UnknownTopic(topic.to_owned()))
    }

    /// Writes every request, fsyncs once per touched segment, then publishes and answers.
    fn commit(&self, batch: Vec<AppendRequest>) {
        let mut scratch = Vec::new();
        let mut touched: Vec<Touched> = Vec::new();
        for (request_index, request) in batch.iter().enumerate() {
            for (part_index, part) in request.parts.iter().enumerate() {
                for (record_index, &partition) in part.partitions_per_record.iter().enumerate() {
                    let slot = (request_index, part_index, record_index);
                    let existing = touched.iter_mut().find(|touched| Arc::ptr_eq(&touched.topic, &part.topic) && touched.partition == partition);
                    match existing {
                        Some(touched) => touched.records.push(slot),
                        None => touched.push(Touched { topic: Arc::clone(&part.topic), partition, records: vec![slot] }),
                    }
                }
            }
        }
        let mut appended: Vec<Vec<Vec<Appended>>> =
            batch.iter().map(|request| request.parts.iter().map(|part| vec![Appended { partition: 0, offset: 0 }; part.records.len()]).collect()).collect();
        let mut failure: Option<LogError> = None;
        for Touched { topic, partition, records } in &touched {
            let result = topic.partition("", *partition).and_then(|mut log| {
                let iterator = records.iter().map(|&(request, part, record)| &batch[request].parts[part].records[record]);
                log.write(iterator, self.config.segment_bytes, &mut scratch)
            });
            match result {
                Ok(offsets) => {
                    for (&(request, part, record), offset) in records.iter().zip(offsets) {
                        appended[request][part][record] = Appended { partition: *partition, offset };
                    }
                }
                Err(error) => {
                    failure = Some(error);
                    break;
                }
            }
        }
        let outcomes: Vec<Result<Vec<Vec<Appended>>, LogError>> = appended.into_iter().map(Ok).collect();
        if failure.is_none() {
            let started = Instant::now();
            let mut fsyncs = 0_u64;
            for Touched { topic, partition, .. } in &touched {
                match topic.partition("", *partition).and_then(|log| log.sync()) {
                    Ok(count) => fsyncs += u64::from(count),
                    Err(error) => {
                        failure = Some(error);
                        break;
                    }
                }
            }
            let counters = &self.counters;
            counters.fsyncs.fetch_add(fsyncs, Ordering::Relaxed);
            counters.fsync_nanos_total.fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
        }
        for Touched { topic, partition, .. } in &touched {
            let Ok(mut log) = topic.partition("", *partition) else { continue };
            if failure.is_some() {
                log.roll_back();
            } else {
                log.publish();
                if self.config.retention_bytes.is_some()
                    && let Ok(deleted) = log.delete_old_segments(None, self.config.retention_bytes)
                {
                    self.counters.segments_deleted.fetch_add(deleted, Ordering::Relaxed);
                }
            }
        }
        let records: u64 = batch.iter().flat_map(|request| &request.parts).map(|part| part.records.len() as u64).sum();
        self.counters.batches.fetch_add(1, Ordering::Relaxed);
        self.counters.requests.fetch_add(batch.len() as u64, Ordering::Relaxed);
        self.counters.records.fetch_add(records, Ordering::Relaxed);
        for (request, outcome) in batch.into_iter().zip(outcomes) {
            let outcome = match (&failure, outcome) {
                (Some(error), Ok(_)) => Err(error.clone()),
                (_, outcome) => outcome,
            };
            // The caller may have gone away; nothing to do then.
            (request.reply)(outcome);
        }
    }
}

fn writer_loop(shared: &Shared, receiver: &Receiver<AppendRequest>) {
    while let Ok(first) = receiver.recv() {
        let mut batch = vec![first];
        while batch.len() < shared.config.batch_requests_max {
            match receiver.try_recv() {
                Ok(request) => batch.push(request),
                Err(_) => break,
            }
        }
        shared.commit(batch);
    }
}

/// Writes `contents` to `path` so that a crash leaves either the old or the new file.
fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), LogError> {
    let dir = path.parent().ok_or_else(|| LogError::Unavailable(format!("{} has no parent", path.display())))?;
    fs::create_dir_all(dir).map_err(|error| unavailable("creating directory", error))?;
    let temporary = path.with_extension("tmp");
    {
        let mut file = File::create(&temporary).map_err(|error| unavailable("writing file", error))?;
        std::io::Write::write_all(&mut file, contents).map_err(|error| unavailable("writing file", error))?;
        file.sync_all().map_err(|error| unavailable("syncing file", error))?;
    }
    fs::rename(&temporary, path).map_err(|error| unavailable("renaming file", error))?;
    sync_dir(dir)
}

impl EventLog for FileLog {
    fn metrics(&self) -> Option<FileLogMetrics> {
        Some(FileLog::metrics(self))
    }

    fn check_all(&self) -> Result<Option<u64>, LogError> {
        FileLog::check_all(self).map(Some)
    }

    fn create_topic(&self, topic: &str, partitions: u32) -> Result<(), LogError> {
        check_name(topic)?;
        check_partition_count(partitions)?;
        let _admin = self.shared.admin.lock().map_err(|_| LogError::Unavailable("admin lock poisoned".to_owned()))?;
        if let Ok(existing) = self.shared.topic(topic) {
            let existing = existing.partitions.len() as u32;
            return if existing == partitions { Ok(()) } else { Err(LogError::PartitionMismatch { topic: topic.to_owned(), existing, requested: partitions }) };
        }
        let dir = self.shared.config.dir.join("topics").join(topic);
        let mut logs = Vec::with_capacity(partitions as usize);
        for partition in 0..partitions {
            let partition_dir = dir.join(partition.to_string());
            fs::create_dir_all(&partition_dir).map_err(|error| unavailable("creating partition", error))?;
            logs.push(Mutex::new(PartitionLog::open(partition_dir)?));
        }
        // The count is written last: a topic without it was never fully created.
        write_atomically(&dir.join("partitions"), partitions.to_string().as_bytes())?;
        sync_dir(&self.shared.config.dir.join("topics"))?;
        let mut topics = self.shared.topics.write().map_err(|_| LogError::Unavailable("topic table lock poisoned".to_owned()))?;
        topics.insert(topic.to_owned(), Arc::new(TopicLog { partitions: logs }));
        Ok(())
    }

    fn partitions(&self, topic: &str) -> Result<u32, LogError> {
        Ok(self.shared.topic(topic)?.partitions.len() as u32)
    }

    fn append(&self, topic: &str, records: Vec<Record>) -> Result<Vec<Appended>, LogError> {
        let mut appended = self.append_topics(vec![(topic, records)])?;
        Ok(appended.pop().unwrap_or_default())
    }

    fn append_topics(&self, batches: Vec<(&str, Vec<Record>)>) -> Result<Vec<Vec<Appended>>, LogError> {
        let parts = self.parts(batches)?;
        let (reply, answer) = sync_channel(1);
        let reply: MultiReply = Box::new(move |outcome| {
            let _ = reply.send(outcome);
        });
        {
            let sender = self.sender.lock().map_err(|_| LogError::Closed)?;
            let sender = sender.as_ref().ok_or(LogError::Closed)?;
            sender.send(AppendRequest { parts, reply }).map_err(|_| LogError::Closed)?;
        }
        answer.recv().map_err(|_| LogError::Closed)?
    }

    fn append_then(&self, topic: &str, records: Vec<Record>, done: crate::AppendDone) {
        let parts = match self.parts(vec![(topic, records)]) {
            Ok(parts) => parts,
            Err(error) => return done(Err(error)),
        };
        let reply: MultiReply = Box::new(move |outcome| done(outcome.map(|mut appended| appended.pop().unwrap_or_default())));
        let request = AppendRequest { parts, reply };
        let refused = match self.sender.lock() {
            Ok(sender) => match sender.as_ref() {
                Some(sender) => match sender.try_send(request) {
                    Ok(()) => None,
                    Err(std::sync::mpsc::TrySendError::Full(request)) => Some((request, LogError::Unavailable("the append queue is full".to_owned()))),
                    Err(std::sync::mpsc::TrySendError::Disconnected(request)) => Some((request, LogError::Closed)),
                },
                None => Some((request, LogError::Closed)),
            },
            Err(_) => Some((request, LogError::Closed)),
        };
        if let Some((request, error)) = refused {
            (request.reply)(Err(error));
        }
    }

    fn read(&self, topic: &str, partition: Partition, from: Offset, max_records: usize) -> Result<Vec<StoredRecord>, LogError> {
        let topic_log = self.shared.topic(topic)?;
        let log = topic_log.partition(topic, partition)?;
        log.read(from, max_records, partition)
    }

    fn start_offset(&self, topic: &str, partition: Partition) -> Result<Offset, LogError> {
        let topic_log = self.shared.topic(topic)?;
        let log = topic_log.partition(topic, partition)?;
        Ok(log.start())
    }

    fn end_offset(&self, topic: &str, partition: Partition) -> Result<Offset, LogError> {
        let topic_log = self.shared.topic(topic)?;
        let log = topic_log.partition(topic, partition)?;
        Ok(log.durable_end)
    }

    fn commit_position(&self, group: &str, topic: &str, partition: Partition, next: Offset) -> Result<(), LogError> {
        check_name(group)?;
        self.shared.topic(topic)?.check_partition(topic, partition)?;
        let _admin = self.shared.admin.lock().map_err(|_| LogError::Unavailable("admin lock poisoned".to_owned()))?;
        write_atomically(&self.position_path(group, topic, partition), next.to_string().as_bytes())
    }

    fn position(&self, group: &str, topic: &str, partition: Partition) -> Result<Option<Offset>, LogError> {
        check_name(group)?;
        self.shared.topic(topic)?.check_partition(topic, partition)?;
        match fs::read_to_string(self.position_path(group, topic, partition)) {
            Ok(text) => text.trim().parse().map(Some).map_err(|_| LogError::Corrupt(format!("position of {group} on {topic}.{partition}: {text:?}"))),
            Err(error) if error.kind() == ErrorKind::NotFound => Ok(None),
            Err(error) => Err(unavailable("reading position", error)),
        }
    }
}
