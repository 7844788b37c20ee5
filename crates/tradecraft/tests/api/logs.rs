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
