//! Sequencer snapshots: the engine's state plus where in the logs it stands, kept where
//! every engine process can read them: a directory (one machine) or any
//! [`SnapshotBackend`] (PostgreSQL, in `tradecraft::cluster`, for engines on several).
//!
//! On disk, file `DIR/NEXT_COMMAND.snapshot` (20-digit name), written atomically; every
//! backend stores the same bytes:
//! `[magic][u64 next command][u32 n][n x (u8 topic length, topic, u32 partition, u64 next
//! sequence)][engine snapshot][u32 CRC-32C of everything before]`. The newest readable
//! snapshot wins; a damaged one is skipped for the one before it (replay covers the gap).

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use tradecraft_log::{Offset, Partition, crc32c};

const MAGIC: &[u8; 8] = b"TCSEQ001";
/// Snapshots kept; older ones are deleted after a new one is written.
const SNAPSHOTS_KEPT: usize = 3;

/// Next output sequence per (topic, partition).
pub type Sequences = BTreeMap<(String, Partition), u64>;

/// What a snapshot holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SequencerSnapshot {
    /// Offset of the next `trade_orders` command to apply.
    pub next_command: Offset,
    pub sequences: Sequences,
    pub engine: Vec<u8>,
}

/// Why snapshots could not be written or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotStoreError {
    #[error("snapshot storage unavailable: {0}")]
    Unavailable(String),
}

/// Where snapshots are kept: named by the command offset they cover, written whole and
/// atomically (a reader sees all of a snapshot or none of it).
pub trait SnapshotBackend: Send + Sync + std::fmt::Debug {
    /// The offsets of the snapshots kept, in any order.
    fn list(&self) -> Result<Vec<Offset>, SnapshotStoreError>;
    fn read(&self, next_command: Offset) -> Result<Vec<u8>, SnapshotStoreError>;
    fn write(&self, next_command: Offset, bytes: &[u8]) -> Result<(), SnapshotStoreError>;
    fn remove(&self, next_command: Offset) -> Result<(), SnapshotStoreError>;
    /// Where they are, for messages.
    fn describe(&self, next_command: Offset) -> String;
}

/// Snapshots in a directory.
#[derive(Debug, Clone)]
struct DirBackend {
    dir: PathBuf,
}

fn unavailable(error: std::io::Error) -> SnapshotStoreError {
    SnapshotStoreError::Unavailable(error.to_string())
}

impl DirBackend {
    fn path(&self, next_command: Offset) -> PathBuf {
        self.dir.join(format!("{next_command:020}.snapshot"))
    }
}

impl SnapshotBackend for DirBackend {
    fn list(&self) -> Result<Vec<Offset>, SnapshotStoreError> {
        Ok(fs::read_dir(&self.dir)
            .map_err(unavailable)?
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.extension().is_some_and(|extension| extension == "snapshot"))
            .filter_map(|path| path.file_stem()?.to_str()?.parse().ok())
            .collect())
    }

    fn read(&self, next_command: Offset) -> Result<Vec<u8>, SnapshotStoreError> {
        fs::read(self.path(next_command)).map_err(unavailable)
    }

    fn write(&self, next_command: Offset, bytes: &[u8]) -> Result<(), SnapshotStoreError> {
        let path = self.path(next_command);
        let temporary = path.with_extension("tmp");
        fs::write(&temporary, bytes).map_err(unavailable)?;
        fs::File::open(&temporary).and_then(|file| file.sync_all()).map_err(unavailable)?;
        fs::rename(&temporary, &path).map_err(unavailable)?;
        fs::File::open(&self.dir).and_then(|dir| dir.sync_all()).map_err(unavailable)
    }

    fn remove(&self, next_command: Offset) -> Result<(), SnapshotStoreError> {
        fs::remove_file(self.path(next_command)).map_err(unavailable)
    }

    fn describe(&self, next_command: Offset) -> String {
        self.path(next_command).display().to_string()
    }
}

/// The snapshots of one engine (and its standbys).
#[derive(Debug, Clone)]
pub struct SnapshotStore {
    backend: std::sync::Arc<dyn SnapshotBackend>,
}

fn encode(snapshot: &SequencerSnapshot) -> Vec<u8> {
    let mut bytes = MAGIC.to_vec();
    bytes.extend_from_slice(&snapshot.next_command.to_le_bytes());
    bytes.extend_from_slice(&(snapshot.sequences.len() as u32).to_le_bytes());
    for ((topic, partition), next) in &snapshot.sequences {
        bytes.push(topic.len() as u8);
        bytes.extend_from_slice(topic.as_bytes());
        bytes.extend_from_slice(&partition.to_le_bytes());
        bytes.extend_from_slice(&next.to_le_bytes());
    }
    bytes.extend_from_slice(&snapshot.engine);
    let checksum = crc32c(&bytes);
    bytes.extend_from_slice(&checksum.to_le_bytes());
    bytes
}

fn decode(bytes: &[u8]) -> Option<SequencerSnapshot> {
    let (body, checksum) = bytes.split_at_checked(bytes.len().checked_sub(4)?)?;
    if crc32c(body) != u32::from_le_bytes(checksum.try_into().ok()?) || !body.starts_with(MAGIC) {
        return None;
    }
    let mut rest = &body[MAGIC.len()..];
    let mut take = |count: usize| -> Option<&[u8]> {
        let (head, tail) = rest.split_at_checked(count)?;
        rest = tail;
        Some(head)
    };
    let next_command = u64::from_le_bytes(take(8)?.try_into().ok()?);
    let count = u32::from_le_bytes(take(4)?.try_into().ok()?);
    let mut sequences = Sequences::new();
    for _ in 0..count {
        let length = usize::from(take(1)?[0]);
        let topic = String::from_utf8(take(length)?.to_vec()).ok()?;
        let partition = u32::from_le_bytes(take(4)?.try_into().ok()?);
        let next = u64::from_le_bytes(take(8)?.try_into().ok()?);
        sequences.insert((topic, partition), next);
    }
    Some(SequencerSnapshot { next_command, sequences, engine: rest.to_vec() })
}

impl SnapshotStore {
    /// Snapshots in `dir`, created if missing.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, SnapshotStoreError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(unavailable)?;
        Ok(Self::with_backend(std::sync::Arc::new(DirBackend { dir })))
    }

    pub fn with_backend(backend: std::sync::Arc<dyn SnapshotBackend>) -> Self {
        Self { backend }
    }

    /// Offsets of the snapshots kept, oldest first.
    fn offsets(&self) -> Result<Vec<Offset>, SnapshotStoreError> {
        let mut offsets = self.backend.list()?;
        offsets.sort_unstable();
        Ok(offsets)
    }

    /// Writes a snapshot atomically and prunes old ones.
    pub fn save(&self, snapshot: &SequencerSnapshot) -> Result<(), SnapshotStoreError> {
        self.backend.write(snapshot.next_command, &encode(snapshot))?;
        let offsets = self.offsets()?;
        for old in offsets.iter().take(offsets.len().saturating_sub(SNAPSHOTS_KEPT)) {
            self.backend.remove(*old)?;
        }
        Ok(())
    }

    /// The newest snapshot that reads back intact.
    pub fn latest(&self) -> Result<Option<SequencerSnapshot>, SnapshotStoreError> {
        self.newest_where(|_, _| true)
    }

    /// The newest intact snapshot that `usable` accepts (it is given where the snapshot is
    /// too); a damaged snapshot is reported and passed over.
    pub fn newest_where(&self, mut usable: impl FnMut(&SequencerSnapshot, &str) -> bool) -> Result<Option<SequencerSnapshot>, SnapshotStoreError> {
        for offset in self.offsets()?.iter().rev() {
            let bytes = self.backend.read(*offset)?;
            let place = self.backend.describe(*offset);
            match decode(&bytes) {
                Some(snapshot) if usable(&snapshot, &place) => return Ok(Some(snapshot)),
                Some(_) => {}
                None => tracing::warn!(snapshot = %place, bytes = bytes.len(), "snapshot fails its checksum: passed over"),
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_falls_back_past_damage() {
        let dir = std::env::temp_dir().join(format!("tradecraft-snapshots-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let store = SnapshotStore::open(&dir).unwrap();
        assert_eq!(store.latest().unwrap(), None);
        let mut sequences = Sequences::new();
        sequences.insert(("trade_executed".to_owned(), 3), 17);
        let older = SequencerSnapshot { next_command: 10, sequences: sequences.clone(), engine: vec![1, 2, 3] };
        let newer = SequencerSnapshot { next_command: 20, sequences, engine: vec![4, 5] };
        store.save(&older).unwrap();
        store.save(&newer).unwrap();
        assert_eq!(store.latest().unwrap(), Some(newer));
        let newest_path = dir.join(format!("{:020}.snapshot", 20));
        let mut bytes = fs::read(&newest_path).unwrap();
        bytes[9] ^= 1;
        fs::write(&newest_path, bytes).unwrap();
        assert_eq!(store.latest().unwrap(), Some(older));
        for next_command in 30..35 {
            store.save(&SequencerSnapshot { next_command, sequences: Sequences::new(), engine: Vec::new() }).unwrap();
        }
        assert_eq!(store.offsets().unwrap(), vec![32, 33, 34]);
        let _ = fs::remove_dir_all(&dir);
    }
}
