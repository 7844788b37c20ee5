//! The log conformance suite (`tradecraft_log::testsuite`) against a real Apache Kafka
//! broker: `TRADECRAFT_TEST_KAFKA` (host:port; `scripts/test.sh` starts one). Each test
//! gets its own topic and group prefix on the shared broker.
#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failed test

use std::sync::Arc;

use tradecraft_log::testsuite::Harness;
use tradecraft_log::{EventLog, conformance_suite};
use tradecraft_log_kafka::{KafkaConfig, KafkaLog};

struct KafkaHarness(KafkaConfig);

fn kafka_harness() -> KafkaHarness {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let broker =
        std::env::var("TRADECRAFT_TEST_KAFKA").expect("TRADECRAFT_TEST_KAFKA (host:port of a Kafka broker) is not set: run scripts/test.sh, which starts one");
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let counter = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut config = KafkaConfig::new(broker);
    config.prefix = format!("test-{}-{nanos}-{counter}.", std::process::id());
    KafkaHarness(config)
}

impl Harness for KafkaHarness {
    fn open(&mut self) -> Arc<dyn EventLog> {
        Arc::new(KafkaLog::open(self.0.clone()).unwrap())
    }
    fn reopen(&mut self, log: Arc<dyn EventLog>) -> Arc<dyn EventLog> {
        assert_eq!(Arc::strong_count(&log), 1, "the test holds the only handle");
        drop(log);
        self.open()
    }
}

conformance_suite!(kafka, crate::kafka_harness());
