//! What only the file backend does: recovery from torn tails, refusing corruption,
//! segment rolling, retention by segment, and group commit.
#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failed test

mod common;

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tradecraft_log::{EventLog, FileLog, FileLogConfig, LogError, Record};

fn config(dir: &Path) -> FileLogConfig {
    FileLogConfig { segment_bytes: 1_024, ..FileLogConfig::new(dir) }
}

fn record(index: u64) -> Record {
    Record { key: Some(b"key".to_vec()), value: format!("value-{index:04}").into_bytes(), timestamp_ms: index as i64 }
}

fn fill(log: &FileLog, count: u64) {
    log.create_topic("t", 1).unwrap();
    for index in 0..count {
        log.append("t", vec![record(index)]).unwrap();
    }
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir.join("topics/t/0"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "log"))
        .collect();
    paths.sort();
    paths
}

fn file_length(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().len()
}

#[test]
fn a_torn_tail_is_truncated_and_appends_continue() {
    let dir = common::TempDir::new("log-torn");
    fill(&FileLog::open(config(dir.path())).unwrap(), 10);
    let last = segments(dir.path()).pop().unwrap();
    // A crash in the middle of writing a frame: a header and part of a body.
    let mut file = OpenOptions::new().append(true).open(&last).unwrap();
    file.write_all(&[40, 0, 0, 0, 1, 2, 3, 4, 9, 9]).unwrap();
    drop(file);
    let log = FileLog::open(config(dir.path())).unwrap();
    assert_eq!(log.end_offset("t", 0), Ok(10));
    assert_eq!(log.read("t", 0, 9, 10).unwrap()[0].value, b"value-0009");
    assert_eq!(log.append("t", vec![record(10)]).unwrap()[0].offset, 10);
    drop(log);
    let log = FileLog::open(config(dir.path())).unwrap();
    assert_eq!(log.read("t", 0, 0, 100).unwrap().len(), 11);
}

#[test]
fn a_last_record_cut_short_is_dropped() {
    let dir = common::TempDir::new("log-cut");
    fill(&FileLog::open(config(dir.path())).unwrap(), 5);
    let last = segments(dir.path()).pop().unwrap();
    let file = OpenOptions::new().write(true).open(&last).unwrap();
    file.set_len(file_length(&last) - 3).unwrap();
    drop(file);
    let log = FileLog::open(config(dir.path())).unwrap();
    assert_eq!(log.end_offset("t", 0), Ok(4), "the cut record was never acknowledged whole");
    assert_eq!(log.append("t", vec![record(99)]).unwrap()[0].offset, 4);
}

#[test]
fn a_zero_filled_tail_is_truncated() {
    let dir = common::TempDir::new("log-zeros");
    fill(&FileLog::open(config(dir.path())).unwrap(), 3);
    let last = segments(dir.path()).pop().unwrap();
    OpenOptions::new().append(true).open(&last).unwrap().write_all(&[0; 300]).unwrap();
    let log = FileLog::open(config(dir.path())).unwrap();
    assert_eq!(log.end_offset("t", 0), Ok(3));
}

#[test]
fn damage_before_the_tail_is_refused() {
    let dir = common::TempDir::new("log-corrupt");
    fill(&FileLog::open(config(dir.path())).unwrap(), 5);
    let last = segments(dir.path()).pop().unwrap();
    let mut bytes = std::fs::read(&last).unwrap();
    // Flip a byte inside the first record's value; four good records follow it.
    bytes[40] ^= 0xff;
    std::fs::write(&last, bytes).unwrap();
    match FileLog::open(config(dir.path())) {
        Err(LogError::Corrupt(message)) => assert!(message.contains("checksum"), "{message}"),
        other => panic!("expected corruption to be refused, got {other:?}"),
    }
}

#[test]
fn damage_in_an_older_segment_is_refused() {
    let dir = common::TempDir::new("log-corrupt-old");
    fill(&FileLog::open(config(dir.path())).unwrap(), 200);
    let all = segments(dir.path());
    assert!(all.len() > 2, "small segments roll: {}", all.len());
    let first = &all[0];
    let file = OpenOptions::new().write(true).open(first).unwrap();
    file.set_len(file_length(first) - 1).unwrap();
    drop(file);
    assert!(matches!(FileLog::open(config(dir.path())), Err(LogError::Corrupt(_))));
}

/// Sealed segments are trusted at open from their summaries, so a restart does not read
/// the whole log; their records are still checked when read and by `check_all`.
#[test]
fn damage_inside_a_sealed_segment_is_refused_when_read() {
    let dir = common::TempDir::new("log-sealed");
    fill(&FileLog::open(config(dir.path())).unwrap(), 200);
    let all = segments(dir.path());
    assert!(all.iter().take(all.len() - 1).all(|segment| segment.with_extension("seal").exists()), "older segments are sealed");
    assert!(!all.last().unwrap().with_extension("seal").exists(), "the active one is not");
    let second = &all[1];
    let mut bytes = std::fs::read(second).unwrap();
    bytes[40] ^= 0xff; // inside the segment's first record, same length
    std::fs::write(second, bytes).unwrap();
    let log = FileLog::open(config(dir.path())).unwrap();
    assert_eq!(log.end_offset("t", 0), Ok(200));
    let first_of_second = log.read("t", 0, 0, 200);
    match first_of_second {
        Err(LogError::Corrupt(message)) => assert!(message.contains("checksum"), "{message}"),
        other => panic!("expected the damaged record to be refused, got {other:?}"),
    }
    assert!(log.read("t", 0, 0, 5).is_ok(), "records before the damage still read");
    assert!(matches!(log.check_all(), Err(LogError::Corrupt(_))));
}

#[test]
fn a_damaged_seal_means_a_full_check() {
    let dir = common::TempDir::new("log-seal-damage");
    fill(&FileLog::open(config(dir.path())).unwrap(), 200);
    let all = segments(dir.path());
    for segment in &all[..all.len() - 1] {
        let seal = segment.with_extension("seal");
        let mut bytes = std::fs::read(&seal).unwrap();
        bytes[10] ^= 1;
        std::fs::write(&seal, bytes).unwrap();
    }
    let log = FileLog::open(config(dir.path())).unwrap();
    assert_eq!(log.check_all(), Ok(200));
    let records = log.read("t", 0, 0, usize::MAX).unwrap();
    assert!(records.iter().enumerate().all(|(index, record)| record.offset == index as u64 && record.value == format!("value-{index:04}").as_bytes()));
    drop(log);
    // The log goes on from a full check as from a sealed one.
    let log = FileLog::open(config(dir.path())).unwrap();
    log.append("t", vec![record(200)]).unwrap();
    assert_eq!(log.check_all(), Ok(201));
}

#[test]
fn a_missing_segment_is_refused() {
    let dir = common::TempDir::new("log-gap");
    fill(&FileLog::open(config(dir.path())).unwrap(), 200);
    let all = segments(dir.path());
    std::fs::remove_file(&all[1]).unwrap();
    match FileLog::open(config(dir.path())) {
        Err(LogError::Corrupt(message)) => assert!(message.contains("does not follow"), "{message}"),
        other => panic!("expected a gap to be refused, got {other:?}"),
    }
}

#[test]
fn segments_roll_and_reads_cross_them() {
    let dir = common::TempDir::new("log-roll");
    let log = FileLog::open(config(dir.path())).unwrap();
    fill(&log, 300);
    let count = log.segment_count("t", 0).unwrap();
    assert!(count >= 10, "1 KiB segments of ~40-byte records: {count}");
    let all = log.read("t", 0, 0, usize::MAX).unwrap();
    assert_eq!(all.len(), 300);
    assert!(all.iter().enumerate().all(|(index, stored)| stored.offset == index as u64));
    let across = log.read("t", 0, 123, 100).unwrap();
    assert_eq!(across.first().unwrap().value, b"value-0123");
    assert_eq!(across.last().unwrap().value, b"value-0222");
}

#[test]
fn retention_deletes_whole_old_segments() {
    let dir = common::TempDir::new("log-retention");
    let log = FileLog::open(config(dir.path())).unwrap();
    fill(&log, 300);
    let before = log.segment_count("t", 0).unwrap();
    let deleted = log.delete_segments_before("t", 0, 150).unwrap();
    assert!(deleted > 0);
    assert_eq!(log.segment_count("t", 0).unwrap(), before - deleted as usize);
    let start = log.start_offset("t", 0).unwrap();
    assert!(start > 0 && start <= 150, "start {start}");
    assert!(matches!(log.read("t", 0, 0, 1), Err(LogError::OffsetOutOfRange { offset: 0, .. })));
    assert_eq!(log.read("t", 0, start, 1).unwrap()[0].offset, start);
    assert_eq!(log.read("t", 0, 150, 1000).unwrap().len(), 150, "what retention kept is intact");
    drop(log);
    // Reopening starts from the first remaining segment.
    let log = FileLog::open(config(dir.path())).unwrap();
    assert_eq!(log.start_offset("t", 0), Ok(start));
    assert_eq!(log.end_offset("t", 0), Ok(300));
}

#[test]
fn size_based_retention_keeps_the_partition_near_its_limit() {
    let dir = common::TempDir::new("log-retention-bytes");
    let log = FileLog::open(FileLogConfig { retention_bytes: Some(4_096), ..config(dir.path()) }).unwrap();
    fill(&log, 1_000);
    let total: u64 = segments(dir.path()).iter().map(|path| file_length(path)).sum();
    assert!(total <= 4_096 + 1_100, "partition holds {total} bytes");
    assert!(log.metrics().segments_deleted > 0);
    assert_eq!(log.end_offset("t", 0), Ok(1_000));
    assert!(log.start_offset("t", 0).unwrap() > 0);
}

#[test]
fn concurrent_appends_share_fsyncs() {
    let dir = common::TempDir::new("log-group-commit");
    let log = Arc::new(FileLog::open(FileLogConfig::new(dir.path())).unwrap());
    log.create_topic("t", 1).unwrap();
    let threads: Vec<_> = (0..16)
        .map(|thread| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for index in 0..40 {
                    log.append("t", vec![record(thread * 1_000 + index)]).unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let metrics = log.metrics();
    assert_eq!(metrics.requests, 640);
    assert_eq!(metrics.records, 640);
    assert!(metrics.batches < metrics.requests, "group commit batched nothing: {metrics:?}");
    assert!(metrics.fsyncs <= metrics.batches, "at most one fsync per batch here: {metrics:?}");
    assert_eq!(log.end_offset("t", 0), Ok(640));
}

#[test]
fn appends_after_close_are_refused() {
    let dir = common::TempDir::new("log-closed");
    let log = FileLog::open(config(dir.path())).unwrap();
    log.create_topic("t", 1).unwrap();
    log.close();
    assert_eq!(log.append("t", vec![record(0)]), Err(LogError::Closed));
    assert_eq!(log.end_offset("t", 0), Ok(0));
}
