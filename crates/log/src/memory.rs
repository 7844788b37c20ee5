//! In-memory backend: the reference behaviour, for tests and for runs that keep nothing.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::{Appended, EventLog, LogError, Offset, Partition, Record, StoredRecord, check_name, check_partition_count, check_record, partition_for};

#[derive(Debug, Default)]
struct State {
    topics: BTreeMap<String, Vec<Vec<StoredRecord>>>,
    positions: BTreeMap<(String, String, Partition), Offset>,
}

/// The event log held in memory; nothing survives the process.
#[derive(Debug, Default)]
pub struct MemoryLog {
    state: Mutex<State>,
}

impl MemoryLog {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> Result<std::sync::MutexGuard<'_, State>, LogError> {
        self.state.lock().map_err(|_| LogError::Unavailable("memory log lock poisoned".to_owned()))
    }
}

fn partition_of<'a>(topics: &'a BTreeMap<String, Vec<Vec<StoredRecord>>>, topic: &str, partition: Partition) -> Result<&'a Vec<StoredRecord>, LogError> {
    let partitions = topics.get(topic).ok_or_else(|| LogError::UnknownTopic(topic.to_owned()))?;
    partitions.get(partition as usize).ok_or_else(|| LogError::UnknownPartition { topic: topic.to_owned(), partition })
}

impl EventLog for MemoryLog {
    fn create_topic(&self, topic: &str, partitions: u32) -> Result<(), LogError> {
        check_name(topic)?;
        check_partition_count(partitions)?;
        let mut state = self.state()?;
        match state.topics.get(topic) {
            Some(existing) if existing.len() as u32 == partitions => Ok(()),
            Some(existing) => Err(LogError::PartitionMismatch { topic: topic.to_owned(), existing: existing.len() as u32, requested: partitions }),
            None => {
                state.topics.insert(topic.to_owned(), vec![Vec::new(); partitions as usize]);
                Ok(())
            }
        }
    }

    fn partitions(&self, topic: &str) -> Result<u32, LogError> {
        let state = self.state()?;
        let partitions = state.topics.get(topic).ok_or_else(|| LogError::UnknownTopic(topic.to_owned()))?;
        Ok(partitions.len() as u32)
    }

    fn append(&self, topic: &str, records: Vec<Record>) -> Result<Vec<Appended>, LogError> {
        records.iter().try_for_each(check_record)?;
        let mut state = self.state()?;
        let partitions = state.topics.get_mut(topic).ok_or_else(|| LogError::UnknownTopic(topic.to_owned()))?;
        let count = partitions.len() as u32;
        Ok(records
            .into_iter()
            .map(|record| {
                let partition = partition_for(record.key.as_deref(), count);
                let stored = &mut partitions[partition as usize];
                let offset = stored.len() as Offset;
                stored.push(StoredRecord { partition, offset, key: record.key, value: record.value, timestamp_ms: record.timestamp_ms });
                Appended { partition, offset }
            })
            .collect())
    }

    fn read(&self, topic: &str, partition: Partition, from: Offset, max_records: usize) -> Result<Vec<StoredRecord>, LogError> {
        let state = self.state()?;
        let stored = partition_of(&state.topics, topic, partition)?;
        let end = stored.len() as Offset;
        if from > end {
            return Err(LogError::OffsetOutOfRange { offset: from, start: 0, end });
        }
        Ok(stored.iter().skip(from as usize).take(max_records).cloned().collect())
    }

    fn start_offset(&self, topic: &str, partition: Partition) -> Result<Offset, LogError> {
        let state = self.state()?;
        partition_of(&state.topics, topic, partition).map(|_| 0)
    }

    fn end_offset(&self, topic: &str, partition: Partition) -> Result<Offset, LogError> {
        let state = self.state()?;
        partition_of(&state.topics, topic, partition).map(|stored| stored.len() as Offset)
    }

    fn commit_position(&self, group: &str, topic: &str, partition: Partition, next: Offset) -> Result<(), LogError> {
        check_name(group)?;
        let mut state = self.state()?;
        partition_of(&state.topics, topic, partition)?;
        state.positions.insert((group.to_owned(), topic.to_owned(), partition), next);
        Ok(())
    }

    fn position(&self, group: &str, topic: &str, partition: Partition) -> Result<Option<Offset>, LogError> {
        check_name(group)?;
        let state = self.state()?;
        partition_of(&state.topics, topic, partition)?;
        Ok(state.positions.get(&(group.to_owned(), topic.to_owned(), partition)).copied())
    }
}
