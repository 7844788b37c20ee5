//! The conformance suite (`tradecraft_log::testsuite`) run against every backend of
//! this crate; a backend elsewhere runs the same with its own harness.
#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failed test

mod common;

use std::sync::Arc;

use tradecraft_log::testsuite::Harness;
use tradecraft_log::{EventLog, FileLog, FileLogConfig, MemoryLog, conformance_suite};

struct MemoryHarness(Option<Arc<MemoryLog>>);

impl Harness for MemoryHarness {
    fn open(&mut self) -> Arc<dyn EventLog> {
        self.0.get_or_insert_with(|| Arc::new(MemoryLog::new())).clone()
    }
    fn reopen(&mut self, log: Arc<dyn EventLog>) -> Arc<dyn EventLog> {
        log
    }
}

struct FileHarness(common::TempDir);

impl Harness for FileHarness {
    fn open(&mut self) -> Arc<dyn EventLog> {
        Arc::new(FileLog::open(FileLogConfig { segment_bytes: 4_096, ..FileLogConfig::new(self.0.path()) }).unwrap())
    }
    fn reopen(&mut self, log: Arc<dyn EventLog>) -> Arc<dyn EventLog> {
        assert_eq!(Arc::strong_count(&log), 1, "the test holds the only handle");
        drop(log);
        self.open()
    }
}

conformance_suite!(memory, MemoryHarness(None));
conformance_suite!(file, FileHarness(common::TempDir::new("log-conformance")));
