//! Structured logs: one JSON line per request with the request id, user, order and symbol.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'writer> tracing_subscriber::fmt::MakeWriter<'writer> for Capture {
    type Writer = Capture;

    fn make_writer(&'writer self) -> Capture {
        self.clone()
    }
}

/// The lines logged for `request_id`, and all the text.
fn lines_of(text: &str, request_id: &str) -> Vec<Value> {
    let lines = text.lines().filter_map(|line| serde_json::from_str::<Value>(line).ok());
    lines.filter(|line| line["fields"]["request_id"] == request_id).collect()
}

impl Capture {
    /// The `fields` of the "request done" line of `request_id`: logged by this process when
    /// it is the server, else by the gateway process (read from its log file).
    async fn request_line(&self, app: &TestApp, request_id: &str) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let text = match app.server_log() {
                Some(text) => text,
                None => String::from_utf8(self.0.lock().unwrap().clone()).unwrap(),
            };
            let mine = lines_of(&text, request_id);
            if mine.len() == 1 || std::time::Instant::now() > deadline {
                assert_eq!(mine.len(), 1, "one line for request {request_id} in:\n{text}");
                return mine[0]["fields"].clone();
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test]
async fn each_request_logs_one_json_line_with_its_request_user_order_and_symbol() {
    // nextest runs each test in a process of its own: the global subscriber is this test's.
    let capture = Capture::default();
    tracing_subscriber::fmt().json().with_current_span(true).with_writer(capture.clone()).init();
    let app = spawn_app().await;
    let user = app.account("1000").await;
    let post = |request_id: &'static str, body: Value| {
        let request = app.client.post(app.url("/v1/orders")).header("x-request-id", request_id).json(&body);
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.headers()["x-request-id"], request_id, "the id comes back");
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };

    let (status, body) = post("order-1", json!({"userId": user, "symbol": "MOCK", "quantity": "1", "side": "BUY", "type": "LIMIT", "limitPrice": "99"})).await;
    assert_eq!(status, 202, "{body}");
    let order_id: u64 = body["orderId"].as_str().unwrap().parse().unwrap();
    let line = capture.request_line(&app, "order-1").await;
    assert_eq!(line["message"], "request done");
    assert_eq!((line["method"].as_str(), line["route"].as_str(), line["status"].as_u64()), (Some("POST"), Some("/v1/orders"), Some(202)));
    assert_eq!(line["user_id"].as_u64(), Some(user.parse().unwrap()));
    assert_eq!(line["order_id"].as_u64(), Some(order_id));
    assert_eq!(line["symbol"], "MOCK");
    assert!(line["duration_ms"].as_f64().is_some_and(|ms| ms >= 0.0));
    assert!(line.get("reason").is_none(), "accepted: no reason");

    // A refusal names its reason; reading the order logs its id.
    let (status, _) = post("order-2", json!({"userId": user, "symbol": "MOCK", "quantity": "100", "side": "BUY", "type": "LIMIT", "limitPrice": "99"})).await;
    assert_eq!(status, 402);
    let line = capture.request_line(&app, "order-2").await;
    assert_eq!((line["status"].as_u64(), line["reason"].as_str()), (Some(402), Some("insufficient_funds")));
    assert_eq!(line["symbol"], "MOCK");
    let response = app.client.get(app.url(&format!("/v1/orders/{order_id}"))).header("x-request-id", "read-1").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(capture.request_line(&app, "read-1").await["order_id"].as_u64(), Some(order_id));
}

/// The caller's W3C trace context follows the order: the response names this gateway's span
/// in the caller's trace, the command in `trade_orders` carries it, and so does every event
/// the engine publishes for it. Without one, a new trace starts.
#[tokio::test]
async fn a_requests_trace_context_reaches_its_command_and_events() {
    let app = spawn_app().await;
    let user = app.account("1000").await;
    let caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let body = json!({"userId": user, "symbol": "MOCK", "quantity": "1", "side": "BUY", "type": "LIMIT", "limitPrice": "99"});
    let response = app.client.post(app.url("/v1/orders")).header("traceparent", caller).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 202);
    let answered = response.headers()["traceparent"].to_str().unwrap().to_owned();
    assert!(tradecraft_log::TraceContext::is_valid_traceparent(&answered), "{answered}");
    assert_eq!(answered.split('-').nth(1), Some("4bf92f3577b34da6a3ce929d0e0e4736"), "the caller's trace");
    assert_ne!(answered, caller, "the gateway's own span");
    let order_id = response.json::<Value>().await.unwrap()["orderId"].as_str().unwrap().to_owned();
    // The command, then its order.accepted event, carry the gateway's span.
    let command_offset = {
        let log = std::sync::Arc::clone(&app.log);
        let end = log.end_offset(tradecraft_sequencer::TRADE_ORDERS, 0).unwrap();
        let records = log.read(tradecraft_sequencer::TRADE_ORDERS, 0, 0, end as usize).unwrap();
        let traced: Vec<_> =
            records.iter().filter(|record| tradecraft_log::traceparent_in(&record.value) == Some(answered.as_str())).map(|record| record.offset).collect();
        assert_eq!(traced.len(), 1, "one command in the trace");
        traced[0]
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let mut found = None;
        for partition in 0..app.log.partitions("order_updates").unwrap() {
            let end = app.log.end_offset("order_updates", partition).unwrap();
            for record in app.log.read("order_updates", partition, 0, end as usize).unwrap() {
                let envelope = tradecraft_log::Envelope::<Value>::from_json(&record.value).unwrap();
                if envelope.command_offset == Some(command_offset) && envelope.event_type == "order.accepted" {
                    found = Some(envelope);
                }
            }
        }
        if let Some(envelope) = found {
            assert_eq!(envelope.payload["orderId"], order_id.as_str());
            assert_eq!(envelope.trace_context.map(|trace| trace.traceparent), Some(answered), "the engine's event is in the trace");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "order.accepted of command {command_offset} never published");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // No traceparent (or a malformed one): a new trace.
    for header in [None, Some("00-zz-00f067aa0ba902b7-01")] {
        let mut request = app.client.get(app.url("/health/live"));
        if let Some(header) = header {
            request = request.header("traceparent", header);
        }
        let answered = request.send().await.unwrap().headers()["traceparent"].to_str().unwrap().to_owned();
        assert!(tradecraft_log::TraceContext::is_valid_traceparent(&answered), "{answered}");
        assert_ne!(answered.split('-').nth(1), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
    }
}
