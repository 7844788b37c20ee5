//! The conformance suite every `EventLog` backend passes, exported (feature `testsuite`)
//! so a backend in a crate of its own runs the same tests: implement [`Harness`] for it
//! and invoke [`conformance_suite!`](crate::conformance_suite) in a test file.
#![allow(clippy::unwrap_used, reason = "a conformance check fails by panicking, as a test does")]

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::{Appended, EventLog, LogError, Record, partition_for};

/// Opens a backend, and opens it again over the same storage.
pub trait Harness {
    fn open(&mut self) -> Arc<dyn EventLog>;
    /// Closes `log` (the caller's only handle) and opens the same storage again.
    fn reopen(&mut self, log: Arc<dyn EventLog>) -> Arc<dyn EventLog>;
}

fn record(key: &str, value: &str, timestamp_ms: i64) -> Record {
    Record { key: Some(key.as_bytes().to_vec()), value: value.as_bytes().to_vec(), timestamp_ms }
}

fn values(log: &dyn EventLog, topic: &str, partition: u32) -> Vec<String> {
    log.read(topic, partition, 0, usize::MAX).unwrap().into_iter().map(|stored| String::from_utf8(stored.value).unwrap()).collect()
}

pub fn topics_are_created_once_and_checked(harness: &mut dyn Harness) {
    let log = harness.open();
    log.create_topic("trade_orders", 4).unwrap();
    log.create_topic("trade_orders", 4).unwrap();
    assert_eq!(log.partitions("trade_orders"), Ok(4));
    assert!(matches!(log.create_topic("trade_orders", 2), Err(LogError::PartitionMismatch { existing: 4, .. })));
    assert!(matches!(log.create_topic("bad/name", 1), Err(LogError::InvalidName(_))));
    assert!(matches!(log.create_topic("..", 1), Err(LogError::InvalidName(_))));
    assert!(matches!(log.create_topic("", 1), Err(LogError::InvalidName(_))));
    assert_eq!(log.create_topic("none", 0), Err(LogError::InvalidPartitionCount(0)));
    assert_eq!(log.partitions("missing"), Err(LogError::UnknownTopic("missing".to_owned())));
}

pub fn appends_read_back_with_offsets_from_zero(harness: &mut dyn Harness) {
    let log = harness.open();
    log.create_topic("t", 3).unwrap();
    let mut records = vec![record("a", "first", 10), record("b", "second", 11), record("a", "third", 12)];
    records.push(Record { key: None, value: Vec::new(), timestamp_ms: -5 });
    let appended = log.append("t", records.clone()).unwrap();
    let partition_a = partition_for(Some(b"a"), 3);
    let partition_b = partition_for(Some(b"b"), 3);
    assert_eq!(appended[0], Appended { partition: partition_a, offset: 0 });
    assert_eq!(appended[2], Appended { partition: partition_a, offset: 1 });
    assert_eq!(appended[1].partition, partition_b);
    assert_eq!(appended[3].partition, 0, "keyless records go to partition 0");
    for (record, appended) in records.iter().zip(&appended) {
        let stored = log.read("t", appended.partition, appended.offset, 1).unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].offset, appended.offset);
        assert_eq!(stored[0].partition, appended.partition);
        assert_eq!(stored[0].key, record.key);
        assert_eq!(stored[0].value, record.value);
        assert_eq!(stored[0].timestamp_ms, record.timestamp_ms);
    }
    assert_eq!(log.end_offset("t", partition_a), Ok(2));
    assert_eq!(log.start_offset("t", partition_a), Ok(0));
}

pub fn reads_respect_ranges_and_limits(harness: &mut dyn Harness) {
    let log = harness.open();
    log.create_topic("t", 1).unwrap();
    for batch in 0..10 {
        let records = (0..10).map(|index| record("k", &format!("{}", batch * 10 + index), 0)).collect();
        log.append("t", records).unwrap();
    }
    let middle = log.read("t", 0, 37, 5).unwrap();
    assert_eq!(middle.iter().map(|stored| stored.offset).collect::<Vec<_>>(), vec![37, 38, 39, 40, 41]);
    assert_eq!(String::from_utf8(middle[0].value.clone()).unwrap(), "37");
    assert_eq!(log.read("t", 0, 95, 100).unwrap().len(), 5);
    assert_eq!(log.read("t", 0, 100, 10).unwrap(), Vec::new());
    assert_eq!(log.read("t", 0, 0, 0).unwrap(), Vec::new());
    assert!(matches!(log.read("t", 0, 101, 1), Err(LogError::OffsetOutOfRange { offset: 101, end: 100, .. })));
    assert!(matches!(log.read("t", 1, 0, 1), Err(LogError::UnknownPartition { partition: 1, .. })));
    assert!(matches!(log.read("nope", 0, 0, 1), Err(LogError::UnknownTopic(_))));
    assert!(matches!(log.end_offset("t", 9), Err(LogError::UnknownPartition { .. })));
    assert_eq!(values(log.as_ref(), "t", 0), (0..100).map(|value| value.to_string()).collect::<Vec<_>>());
}

pub fn topics_are_isolated(harness: &mut dyn Harness) {
    let log = harness.open();
    log.create_topic("one", 1).unwrap();
    log.create_topic("two", 1).unwrap();
    log.append("one", vec![record("k", "a", 0)]).unwrap();
    log.append("two", vec![record("k", "b", 0), record("k", "c", 0)]).unwrap();
    assert_eq!(values(log.as_ref(), "one", 0), vec!["a"]);
    assert_eq!(values(log.as_ref(), "two", 0), vec!["b", "c"]);
    assert!(matches!(log.append("three", vec![record("k", "x", 0)]), Err(LogError::UnknownTopic(_))));
}

pub fn several_topics_append_together(harness: &mut dyn Harness) {
    let log = harness.open();
    log.create_topic("one", 1).unwrap();
    log.create_topic("two", 2).unwrap();
    let appended = log.append_topics(vec![("one", vec![record("k", "a", 1), record("k", "b", 2)]), ("two", vec![record("k", "c", 3)])]).unwrap();
    assert_eq!(appended.len(), 2);
    assert_eq!(appended[0].iter().map(|appended| appended.offset).collect::<Vec<_>>(), vec![0, 1]);
    assert_eq!(appended[1][0].partition, partition_for(Some(b"k"), 2));
    assert_eq!(values(log.as_ref(), "one", 0), vec!["a", "b"]);
    assert_eq!(values(log.as_ref(), "two", appended[1][0].partition), vec!["c"]);
    assert!(matches!(log.append_topics(vec![("one", vec![record("k", "x", 0)]), ("missing", vec![])]), Err(LogError::UnknownTopic(_))));
}

pub fn append_then_answers_through_its_callback(harness: &mut dyn Harness) {
    let log = harness.open();
    log.create_topic("t", 1).unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    for index in 0..3 {
        let sender = sender.clone();
        log.append_then("t", vec![record("k", &index.to_string(), index)], Box::new(move |result| sender.send(result).unwrap()));
    }
    let mut offsets: Vec<u64> = (0..3).map(|_| receiver.recv().unwrap().unwrap()[0].offset).collect();
    offsets.sort_unstable();
    assert_eq!(offsets, vec![0, 1, 2]);
    assert_eq!(values(log.as_ref(), "t", 0).len(), 3);
    let sender = sender.clone();
    log.append_then("missing", vec![record("k", "x", 0)], Box::new(move |result| sender.send(result).unwrap()));
    assert!(matches!(receiver.recv().unwrap(), Err(LogError::UnknownTopic(_))));
}

pub fn oversized_records_are_refused_whole(harness: &mut dyn Harness) {
    let log = harness.open();
    log.create_topic("t", 1).unwrap();
    let big = Record { key: None, value: vec![7; crate::RECORD_BYTES_MAX + 1], timestamp_ms: 0 };
    let result = log.append("t", vec![record("k", "fine", 0), big]);
    assert!(matches!(result, Err(LogError::RecordTooLarge(_))));
    assert_eq!(log.end_offset("t", 0), Ok(0), "nothing of a refused append is stored");
    let largest = Record { key: None, value: vec![7; crate::RECORD_BYTES_MAX], timestamp_ms: 0 };
    log.append("t", vec![largest.clone()]).unwrap();
    assert_eq!(log.read("t", 0, 0, 1).unwrap()[0].value, largest.value);
}

pub fn concurrent_appends_are_all_kept_in_order(harness: &mut dyn Harness) {
    let log = harness.open();
    log.create_topic("t", 4).unwrap();
    let threads: Vec<_> = (0..8)
        .map(|thread| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                (0..50)
                    .map(|sequence| {
                        let key = format!("producer-{thread}");
                        log.append("t", vec![record(&key, &format!("{thread}:{sequence}"), sequence)]).unwrap()[0]
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut acknowledged: Vec<Appended> = threads.into_iter().flat_map(|thread| thread.join().unwrap()).collect();
    acknowledged.sort_unstable();
    let before = acknowledged.len();
    acknowledged.dedup();
    assert_eq!(acknowledged.len(), before, "no two appends share an offset");
    assert_eq!(before, 400);
    // Each producer's records sit in one partition, in the order it appended them.
    let mut seen: BTreeMap<String, i64> = BTreeMap::new();
    let mut total = 0;
    for partition in 0..4 {
        for stored in log.read("t", partition, 0, usize::MAX).unwrap() {
            let text = String::from_utf8(stored.value).unwrap();
            let (producer, sequence) = text.split_once(':').unwrap();
            let sequence: i64 = sequence.parse().unwrap();
            let previous = seen.insert(producer.to_owned(), sequence);
            assert_eq!(previous.map_or(0, |previous| previous + 1), sequence, "producer {producer} out of order");
            total += 1;
        }
    }
    assert_eq!(total, 400);
}

pub fn consumer_positions_are_kept_per_group(harness: &mut dyn Harness) {
    let log = harness.open();
    log.create_topic("t", 2).unwrap();
    assert_eq!(log.position("projector", "t", 1), Ok(None));
    log.commit_position("projector", "t", 1, 42).unwrap();
    log.commit_position("projector", "t", 1, 43).unwrap();
    log.commit_position("other", "t", 1, 7).unwrap();
    assert_eq!(log.position("projector", "t", 1), Ok(Some(43)));
    assert_eq!(log.position("other", "t", 1), Ok(Some(7)));
    assert_eq!(log.position("projector", "t", 0), Ok(None));
    assert!(matches!(log.commit_position("projector", "missing", 0, 1), Err(LogError::UnknownTopic(_))));
    assert!(matches!(log.commit_position("projector", "t", 5, 1), Err(LogError::UnknownPartition { .. })));
    assert!(matches!(log.commit_position("bad group", "t", 0, 1), Err(LogError::InvalidName(_))));
}

pub fn everything_survives_a_reopen(harness: &mut dyn Harness) {
    let log = harness.open();
    log.create_topic("t", 2).unwrap();
    let records: Vec<Record> = (0..300).map(|index| record(&format!("k{}", index % 5), &index.to_string(), index)).collect();
    let appended = log.append("t", records).unwrap();
    log.commit_position("g", "t", 1, 17).unwrap();
    let ends = [log.end_offset("t", 0).unwrap(), log.end_offset("t", 1).unwrap()];
    let before = [values(log.as_ref(), "t", 0), values(log.as_ref(), "t", 1)];
    let log = harness.reopen(log);
    assert_eq!(log.partitions("t"), Ok(2));
    assert_eq!([log.end_offset("t", 0).unwrap(), log.end_offset("t", 1).unwrap()], ends);
    assert_eq!([values(log.as_ref(), "t", 0), values(log.as_ref(), "t", 1)], before);
    assert_eq!(log.position("g", "t", 1), Ok(Some(17)));
    // Appending after a reopen continues the offsets.
    let next = log.append("t", vec![record("k0", "after", 0)]).unwrap()[0];
    assert_eq!(next.offset, ends[next.partition as usize]);
    assert_eq!(appended.len(), 300);
}

#[macro_export]
macro_rules! conformance_suite {
    ($module:ident, $harness:expr) => {
        mod $module {
            use super::*;

            fn harness() -> Box<dyn $crate::testsuite::Harness> {
                Box::new($harness)
            }

            #[test]
            fn topics_are_created_once_and_checked() {
                $crate::testsuite::topics_are_created_once_and_checked(harness().as_mut());
            }
            #[test]
            fn appends_read_back_with_offsets_from_zero() {
                $crate::testsuite::appends_read_back_with_offsets_from_zero(harness().as_mut());
            }
            #[test]
            fn reads_respect_ranges_and_limits() {
                $crate::testsuite::reads_respect_ranges_and_limits(harness().as_mut());
            }
            #[test]
            fn topics_are_isolated() {
                $crate::testsuite::topics_are_isolated(harness().as_mut());
            }
            #[test]
            fn several_topics_append_together() {
                $crate::testsuite::several_topics_append_together(harness().as_mut());
            }
            #[test]
            fn append_then_answers_through_its_callback() {
                $crate::testsuite::append_then_answers_through_its_callback(harness().as_mut());
            }
            #[test]
            fn oversized_records_are_refused_whole() {
                $crate::testsuite::oversized_records_are_refused_whole(harness().as_mut());
            }
            #[test]
            fn concurrent_appends_are_all_kept_in_order() {
                $crate::testsuite::concurrent_appends_are_all_kept_in_order(harness().as_mut());
            }
            #[test]
            fn consumer_positions_are_kept_per_group() {
                $crate::testsuite::consumer_positions_are_kept_per_group(harness().as_mut());
            }
            #[test]
            fn everything_survives_a_reopen() {
                $crate::testsuite::everything_survives_a_reopen(harness().as_mut());
            }
        }
    };
}
