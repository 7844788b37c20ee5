//! What the Kafka backend puts in record headers: the envelope's W3C `traceparent`, for
//! tracing tools that read headers and not values. Read back with a plain Kafka consumer.
#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failed test

use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use tradecraft_log::{Envelope, EventLog, Record, TraceContext};
use tradecraft_log_kafka::{KafkaConfig, KafkaLog, TRACEPARENT_HEADER};

#[test]
fn the_envelopes_traceparent_is_a_record_header() {
    let broker = std::env::var("TRADECRAFT_TEST_KAFKA").expect("TRADECRAFT_TEST_KAFKA (host:port of a Kafka broker) is not set: run scripts/test.sh");
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let mut config = KafkaConfig::new(broker.clone());
    config.prefix = format!("headers-{}-{nanos}.", std::process::id());
    let log = KafkaLog::open(config.clone()).unwrap();
    log.create_topic("order_updates", 1).unwrap();
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let mut traced = Envelope::new("order.accepted", "engine", 0, tradecraft_types::Timestamp(0), serde_json::json!({"orderId": "1"}));
    traced.trace_context = Some(TraceContext { traceparent: traceparent.to_owned(), tracestate: None });
    let untraced = Envelope::new("order.accepted", "engine", 1, tradecraft_types::Timestamp(0), serde_json::json!({"orderId": "2"}));
    let records = [traced, untraced].iter().map(|envelope| Record { key: None, value: envelope.to_json(), timestamp_ms: 0 }).collect();
    log.append("order_updates", records).unwrap();

    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &broker)
        .set("group.id", format!("{}reader", config.prefix))
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    let mut assignment = rdkafka::TopicPartitionList::new();
    assignment.add_partition_offset(&format!("{}order_updates", config.prefix), 0, rdkafka::Offset::Beginning).unwrap();
    consumer.assign(&assignment).unwrap();
    let mut headers = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while headers.len() < 2 {
        assert!(std::time::Instant::now() < deadline, "the records never arrived");
        if let Some(message) = consumer.poll(Duration::from_millis(200)) {
            let message = message.unwrap();
            let found = message.headers().and_then(|headers| headers.iter().find(|header| header.key == TRACEPARENT_HEADER).and_then(|header| header.value));
            headers.push(found.map(|value| String::from_utf8(value.to_vec()).unwrap()));
        }
    }
    assert_eq!(headers, [Some(traceparent.to_owned()), None]);
}
