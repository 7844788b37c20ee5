//! API tests: the real router, engine thread and event log on port 0, driven over HTTP.
#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failed test

mod accounts;
mod alerts;
mod auth;
mod channels;
mod conformance;
mod consistency;
mod contests;
mod contract;
mod helpers;
mod logs;
mod market;
mod notifications;
mod orders;
mod reads;
mod recovery;
mod risk;
mod social;
mod web;
mod ws;

use helpers::spawn_app;
use serde_json::{Value, json};

#[tokio::test]
async fn health_reports_live_and_ready() {
    let app = spawn_app().await;
    let (status, body) = app.get("/health/live").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    let (status, body) = app.get("/health/ready").await;
    assert_eq!(status, 200);
    assert_eq!(body["dependencies"]["engine"]["status"], "up");
    assert_eq!(body["dependencies"]["log"]["status"], "up");
    assert_eq!(body["dependencies"]["readStore"]["status"], "up");
    let dialect = if helpers::processes() { "postgres" } else { "sqlite" };
    assert_eq!(body["dependencies"]["readStore"]["dialect"], dialect);
}

#[tokio::test]
async fn accounts_are_created_with_cash_and_checked() {
    let app = spawn_app().await;
    let (status, body) = app.post("/v1/accounts", json!({"cash": "2500.50"})).await;
    assert_eq!(status, 201);
    assert_eq!(body["cashBalance"], "2500.5");
    let user = body["userId"].as_str().unwrap().to_owned();
    let (status, portfolio) = app.get(&format!("/v1/portfolio/{user}")).await;
    assert_eq!(status, 200);
    assert_eq!(portfolio["cashBalance"], "2500.5");
    assert_eq!(portfolio["holdings"], json!({}));
    assert!(portfolio["lastUpdatedTimestamp"].as_str().unwrap().ends_with('Z'));
    let (status, body) = app.post("/v1/accounts", json!({"userId": "77", "cash": 10})).await;
    assert_eq!((status, body["userId"].as_str()), (201, Some("77")));
    let (status, body) = app.post("/v1/accounts", json!({"userId": "77"})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("account_exists")));
    for bad in [json!({"cash": "1.001"}), json!({"cash": "-5"}), json!({"cash": "lots"}), json!({"userId": "x"})] {
        let (status, body) = app.post("/v1/accounts", bad.clone()).await;
        assert_eq!(status, 400, "{bad} gave {body}");
        assert!(body["error"]["code"].is_string());
    }
    let (status, body) = app.get("/v1/portfolio/999999").await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")));
    let (status, _) = app.get("/v1/portfolio/abc").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn malformed_bodies_get_the_error_shape() {
    let app = spawn_app().await;
    let response = app.client.post(app.url("/v1/orders")).header("content-type", "application/json").body("{oops").send().await.unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_json");
    assert!(body["error"]["message"].is_string());
    let (status, body) = app.post("/v1/orders", json!([1, 2])).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_body")));
}

/// Every operation of the OpenAPI document is served by the router (not 404 or 405 from
/// the router itself), and the document is what `/openapi.json` returns.
#[tokio::test]
async fn the_router_serves_every_documented_operation() {
    let app = spawn_app().await;
    let (status, served) = app.get("/openapi.json").await;
    assert_eq!(status, 200);
    assert_eq!(served, tradecraft_api::openapi::document_json());
    for (method, path) in &tradecraft_api::openapi::operations() {
        let concrete = path
            .replace("{order_id}", "1")
            .replace("{user_id}", "1")
            .replace("{symbol}", "MOCK")
            .replace("{symbol_or_asset_id}", "NOSUCH")
            .replace("{action}", "resume")
            .replace("{key_id}", "k")
            .replace("{alert_id}", "a")
            .replace("{org_id}", "1")
            .replace("{webhook_id}", "w")
            .replace("{scope}", "users")
            .replace("{trade_id}", "1")
            .replace("{share_id}", "s")
            .replace("{comment_id}", "c")
            .replace("{id}", "1");
        // The trade events stream until told when to stop.
        let concrete = if path == "/v2/events/trades" { format!("{concrete}?since=2000-01-01T00:00:00Z&until=2000-01-01T00:00:00Z") } else { concrete };
        let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let response = app.client.request(method.clone(), app.url(&concrete)).json(&json!({})).send().await.unwrap();
        assert_ne!(response.status(), 405, "{method} {path} is documented but not routed");
        if response.status() == 404 {
            // A 404 must be the API's own answer (an unknown id), not a missing route.
            let body: Value = response.json().await.unwrap();
            if path.starts_with("/v2/") {
                // Alpaca's shape: {"code": 40410000, "message"}.
                assert_eq!(body["code"], 40_410_000, "{method} {path}: {body}");
                assert_ne!(body["message"], "route not found", "{method} {path} is documented but not routed");
            } else {
                let code = body["error"]["code"].as_str().unwrap_or_default();
                assert!(["not_found", "unknown_account", "unknown_order"].contains(&code), "{method} {path} is documented but not routed: {body}");
            }
        }
    }
    let response = app.client.get(app.url("/v1/not-a-route")).send().await.unwrap();
    assert_eq!(response.status(), 404, "unknown routes are 404");
}

#[tokio::test]
async fn metrics_count_requests_per_route_and_show_the_engine() {
    let app = spawn_app().await;
    let user = app.account("1000").await;
    app.post("/v1/orders", json!({"userId": user, "symbol": "MOCK", "quantity": "1", "side": "BUY", "type": "MARKET"})).await;
    app.post("/v1/orders", json!({"userId": user, "symbol": "MOCK", "quantity": "1000", "side": "BUY", "type": "MARKET"})).await;
    app.get("/v1/orders/42").await;
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = response.text().await.unwrap();
    for expected in [
        "tradecraft_http_requests_total{route=\"/v1/orders\",method=\"POST\",status=\"202\"} 1",
        "tradecraft_http_requests_total{route=\"/v1/orders\",method=\"POST\",status=\"402\"} 1",
        "tradecraft_http_requests_total{route=\"/v1/orders/{order_id}\",method=\"GET\",status=\"404\"} 1",
        "tradecraft_http_errors_total{route=\"/v1/orders\",method=\"POST\"} 1",
        "tradecraft_http_request_duration_seconds_count{route=\"/v1/orders\",method=\"POST\"} 2",
        "# TYPE tradecraft_engine_queue_depth gauge",
        "# TYPE tradecraft_engine_commands_total counter",
        "# TYPE tradecraft_websocket_pushes_queued_total counter",
        "# TYPE tradecraft_websocket_pushes_skipped_total counter",
        "# TYPE tradecraft_websocket_stalled_closed_total counter",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    let applied = text.lines().find(|line| line.starts_with("tradecraft_engine_commands_total ")).unwrap();
    assert!(applied.split(' ').nth(1).unwrap().parse::<u64>().unwrap() >= 9, "{applied}");
}
