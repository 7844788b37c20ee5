//! What the Kafka backend does when the broker cannot be reached: it answers
//! `Unavailable` within its timeout, never hangs.
#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failed test

use std::time::{Duration, Instant};

use tradecraft_log::{EventLog, LogError, Record};
use tradecraft_log_kafka::{KafkaConfig, KafkaLog};

#[test]
fn an_unreachable_broker_is_unavailable_not_a_hang() {
    // A port nothing listens on: bound, then let go.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut config = KafkaConfig::new(format!("127.0.0.1:{port}"));
    config.timeout = Duration::from_secs(2);
    let log = KafkaLog::open(config).unwrap();
    let started = Instant::now();
    assert!(matches!(log.partitions("trade_orders"), Err(LogError::Unavailable(_))));
    assert!(matches!(log.create_topic("trade_orders", 4), Err(LogError::Unavailable(_))));
    let record = Record { key: Some(b"k".to_vec()), value: b"v".to_vec(), timestamp_ms: 0 };
    assert!(matches!(log.append("trade_orders", vec![record]), Err(LogError::Unavailable(_))));
    assert!(started.elapsed() < Duration::from_secs(20), "took {:?}", started.elapsed());
}
