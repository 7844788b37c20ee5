//! The event envelope of seed 000 section 4, on the wire as JSON:
//! `eventId`, `eventType`, `eventTimestamp`, `sourceService`, `schemaVersion`, `payload`
//! and optional `traceContext` (W3C traceparent), plus the optional producer id and
//! per-producer sequence that consumers deduplicate by. Unknown fields are ignored, so
//! adding an optional field keeps the schema version.

use serde::{Deserialize, Serialize, de::DeserializeOwned};
use tradecraft_types::Timestamp;

/// The schema version every event carries today.
pub const SCHEMA_VERSION: &str = "1.0";

/// W3C trace context of the request that caused an event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceContext {
    pub traceparent: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracestate: Option<String>,
}

impl TraceContext {
    /// Whether `text` is a W3C `traceparent` this version writes: `00-` trace id (32 hex,
    /// not all zero) `-` parent id (16 hex, not all zero) `-` flags (2 hex).
    pub fn is_valid_traceparent(text: &str) -> bool {
        let parts: Vec<&str> = text.split('-').collect();
        let hex = |part: &str, length: usize| part.len() == length && part.bytes().all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte));
        let nonzero = |part: &str| part.bytes().any(|byte| byte != b'0');
        parts.len() == 4 && parts[0] == "00" && hex(parts[1], 32) && nonzero(parts[1]) && hex(parts[2], 16) && nonzero(parts[2]) && hex(parts[3], 2)
    }

    /// The trace id (the second field of the traceparent).
    pub fn trace_id(&self) -> Option<&str> {
        self.traceparent.split('-').nth(1)
    }
}

/// The W3C `traceparent` inside an encoded envelope, found without decoding it (the Kafka
/// log copies it into a record header for tracing tools that read headers only).
pub fn traceparent_in(value: &[u8]) -> Option<&str> {
    const KEY: &[u8] = b"\"traceparent\":\"";
    let start = value.windows(KEY.len()).position(|window| window == KEY)? + KEY.len();
    let text = std::str::from_utf8(value.get(start..start + 55)?).ok()?;
    TraceContext::is_valid_traceparent(text).then_some(text)
}

/// Consumers' deduplication: whether a record numbered `sequence` by `producer` comes for the
/// first time, at or past the producer's next sequence in `next` (which then moves past it).
/// Below it, the record repeats one already delivered (a recovering or deposed engine wrote
/// it again, with the same content) and is passed over.
pub fn first_delivery(next: &mut std::collections::BTreeMap<String, u64>, producer: &str, sequence: u64) -> bool {
    match next.get_mut(producer) {
        Some(expected) if sequence < *expected => false,
        Some(expected) => {
            *expected = sequence + 1;
            true
        }
        None => {
            next.insert(producer.to_owned(), sequence + 1);
            true
        }
    }
}

/// One event as it travels through the log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope<P> {
    pub event_id: String,
    pub event_type: String,
    /// ISO 8601 UTC with milliseconds.
    pub event_timestamp: String,
    pub source_service: String,
    pub schema_version: String,
    pub payload: P,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_context: Option<TraceContext>,
    /// Who produced the event; with `sequence`, what consumers deduplicate by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub producer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u64>,
    /// Offset in `trade_orders` of the command whose outcome this event is. Events of
    /// several topics merge back into engine order by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_offset: Option<u64>,
    /// On a command in `trade_orders` sent for an API request that holds an idempotency
    /// key (other than an order, whose payload carries its key): the caller-scoped key. The
    /// engine remembers it once the command takes effect, so a retry of the request is
    /// known to have been applied, however its first attempt ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

/// Why bytes did not decode into an envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid event envelope: {0}")]
pub struct EnvelopeError(pub String);

impl<P> Envelope<P> {
    /// An envelope for the `sequence`th event of `producer`, with an id derived from both,
    /// so a replay that produces the same events produces the same ids.
    pub fn new(event_type: &str, producer: &str, sequence: u64, timestamp: Timestamp, payload: P) -> Self {
        Self {
            event_id: event_id(producer, sequence),
            event_type: event_type.to_owned(),
            event_timestamp: timestamp.to_string(),
            source_service: producer.to_owned(),
            schema_version: SCHEMA_VERSION.to_owned(),
            payload,
            trace_context: None,
            producer: Some(producer.to_owned()),
            sequence: Some(sequence),
            command_offset: None,
            idempotency_key: None,
        }
    }
}

impl<P: Serialize> Envelope<P> {
    pub fn to_json(&self) -> Vec<u8> {
        // Serialising plain data structs to JSON cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

impl<P: DeserializeOwned> Envelope<P> {
    pub fn from_json(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        serde_json::from_slice(bytes).map_err(|error| EnvelopeError(error.to_string()))
    }
}

/// A UUID-shaped id (version 8, RFC 9562) from the producer name and sequence: the first
/// 64 bits hash the producer, the last 62 carry the sequence.
pub fn event_id(producer: &str, sequence: u64) -> String {
    let hash = producer.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3));
    let high = (hash & !0xf000) | 0x8000; // version 8 in bits 12-15 of the third group
    let low = (sequence & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000; // RFC variant
    format!("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", high >> 32, (high >> 16) & 0xffff, high & 0xffff, low >> 48, low & 0xffff_ffff_ffff)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn traceparents_are_checked() {
        assert!(TraceContext::is_valid_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"));
        for bad in [
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
            "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
            "",
        ] {
            assert!(!TraceContext::is_valid_traceparent(bad), "{bad}");
        }
        assert_eq!(traceparent_in(br#"{"traceContext":{"traceparent":"00-0af7"}}"#), None, "too short");
        assert_eq!(traceparent_in(br#"{"payload":{}}"#), None);
    }

    #[test]
    fn serialises_with_the_seed_field_names() {
        let envelope = Envelope::new("trade_executed", "engine", 7, Timestamp(1_743_590_103_789), json!({"orderId": "o-1", "status": "EXECUTED"}));
        let value: serde_json::Value = serde_json::from_slice(&envelope.to_json()).unwrap();
        assert_eq!(value["eventType"], "trade_executed");
        assert_eq!(value["eventTimestamp"], "2025-04-02T10:35:03.789Z");
        assert_eq!(value["sourceService"], "engine");
        assert_eq!(value["schemaVersion"], "1.0");
        assert_eq!(value["payload"]["status"], "EXECUTED");
        assert_eq!(value["sequence"], 7);
        assert!(value.get("traceContext").is_none(), "absent optional fields are left out");
        assert_eq!(value["eventId"].as_str().unwrap().len(), 36);
    }

    #[test]
    fn decodes_and_ignores_unknown_fields() {
        let text = br#"{"eventId":"e","eventType":"market_data","eventTimestamp":"2025-04-02T10:30:00.123Z",
            "sourceService":"MarketFeedSimulator","schemaVersion":"1.0","payload":{"symbol":"MOCKAAPL"},
            "traceContext":{"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
            "someFutureField":true}"#;
        let envelope: Envelope<serde_json::Value> = Envelope::from_json(text).unwrap();
        assert_eq!(envelope.payload["symbol"], "MOCKAAPL");
        let trace = envelope.trace_context.unwrap();
        assert_eq!(trace.traceparent.len(), 55);
        assert_eq!(trace.trace_id(), Some("0af7651916cd43dd8448eb211c80319c"));
        assert_eq!(traceparent_in(text), Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"));
        assert_eq!(envelope.producer, None);
        assert!(Envelope::<serde_json::Value>::from_json(b"{\"eventId\":1}").is_err());
    }

    #[test]
    fn ids_are_stable_distinct_and_uuid_shaped() {
        assert_eq!(event_id("engine", 1), event_id("engine", 1));
        assert_ne!(event_id("engine", 1), event_id("engine", 2));
        assert_ne!(event_id("engine", 1), event_id("gateway", 1));
        let id = event_id("engine", 1);
        assert_eq!(&id[14..15], "8", "version 8: {id}");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "RFC variant: {id}");
    }
}
