//! A limit breach becomes an alert: pushed on the user's WebSocket topic, listed and
//! acknowledged over HTTP, and delivered to a webhook that fails twice before it accepts.

use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use reqwest::Method;

use crate::auth::{call, register};
use crate::helpers::spawn_app;

/// A webhook receiver on port 0 that answers 500 to its first `failures` requests.
pub(crate) async fn receiver(failures: usize) -> (String, Arc<Mutex<Vec<(u16, Value)>>>) {
    let seen: Arc<Mutex<Vec<(u16, Value)>>> = Arc::default();
    let record = Arc::clone(&seen);
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
            let record = Arc::clone(&record);
            async move {
                let mut seen = record.lock().unwrap();
                let status = if seen.len() < failures { 500 } else { 200 };
                seen.push((status, body));
                axum::http::StatusCode::from_u16(status).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

#[tokio::test]
async fn breaches_alert_in_app_and_by_webhook_with_retries() {
    let app = spawn_app().await;
    let (status, trader) = app.post("/v1/auth/register", json!({"email": "w@example.com", "password": "correct horse"})).await;
    assert_eq!(status, 201);
    let (user, token) = (trader["userId"].as_str().unwrap().to_owned(), trader["accessToken"].as_str().unwrap().to_owned());
    let (url, seen) = receiver(2).await;
    let created = app.anonymous.post(app.url("/v1/webhooks")).bearer_auth(&token).json(&json!({"url": url})).send().await.unwrap();
    assert_eq!(created.status(), 201);
    let bad = app.anonymous.post(app.url("/v1/webhooks")).bearer_auth(&token).json(&json!({"url": "ftp://x"})).send().await.unwrap();
    assert_eq!(bad.status(), 400);
    let response = app.client.put(app.url(&format!("/v1/limits/users/{user}"))).json(&json!({"maxOrderQuantity": "1"})).send().await.unwrap();
    assert_eq!(response.status(), 200);

    let ws_url = format!("ws://{}/v1/marketdata/websocket?vsn=2.0.0&token={token}", app.ws_address);
    let (mut socket, _) = tokio_tungstenite::connect_async(ws_url).await.unwrap();
    socket.send(Message::Text(json!(["1", "1", format!("alerts:{user}"), "phx_join", {}]).to_string().into())).await.unwrap();
    let reply: Value = match socket.next().await.unwrap().unwrap() {
        Message::Text(text) => serde_json::from_str(&text).unwrap(),
        other => panic!("{other:?}"),
    };
    assert_eq!(reply[4]["status"], "ok", "{reply}");
    socket.send(Message::Text(json!(["2", "2", "alerts:1", "phx_join", {}]).to_string().into())).await.unwrap();

    let order = json!({"symbol": "MOCK", "quantity": "2", "side": "BUY", "type": "LIMIT", "limitPrice": "90"});
    let refused = app.anonymous.post(app.url("/v1/orders")).bearer_auth(&token).json(&order).send().await.unwrap();
    assert_eq!(refused.status(), 403);

    // In-app: the join of someone else's topic was refused; then the alert arrives.
    let mut frames = Vec::new();
    while frames.len() < 2 {
        if let Message::Text(text) = tokio::time::timeout(std::time::Duration::from_secs(5), socket.next()).await.unwrap().unwrap().unwrap() {
            frames.push(serde_json::from_str::<Value>(&text).unwrap());
        }
    }
    assert_eq!(frames[0][4]["response"]["reason"], "forbidden", "{frames:?}");
    assert_eq!((frames[1][2].as_str(), frames[1][3].as_str()), (Some(format!("alerts:{user}").as_str()), Some("alert")));
    assert_eq!(frames[1][4]["limit"], "limit_max_order_quantity");

    // Listed once the read store has it; delivered on the third try.
    let (_, listed) =
        app.get_until(&format!("/v1/alerts?userId={user}&open=true"), |_, body| body["alerts"].as_array().is_some_and(|alerts| !alerts.is_empty())).await;
    let alert = &listed["alerts"][0];
    assert_eq!((alert["severity"].as_str(), alert["title"].as_str()), (Some("warning"), Some("Order refused: max order quantity")));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while seen.lock().unwrap().len() < 3 {
        assert!(std::time::Instant::now() < deadline, "the webhook never succeeded: {:?}", seen.lock().unwrap());
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.iter().map(|(status, _)| *status).collect::<Vec<_>>(), [500, 500, 200], "retried until accepted, then no more");
    assert!(seen.iter().all(|(_, body)| body["alert"]["alertId"] == alert["alertId"]));

    let alert_id = alert["alertId"].as_str().unwrap();
    let other = app.post("/v1/auth/register", json!({"email": "x@example.com", "password": "correct horse"})).await.1;
    let foreign =
        app.anonymous.post(app.url(&format!("/v1/alerts/{alert_id}/acknowledge"))).bearer_auth(other["accessToken"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(foreign.status(), 404, "another user's alert is not theirs to acknowledge");
    let acknowledged = app.anonymous.post(app.url(&format!("/v1/alerts/{alert_id}/acknowledge"))).bearer_auth(&token).send().await.unwrap();
    assert_eq!(acknowledged.status(), 200);
    let (_, open) = app.get(&format!("/v1/alerts?userId={user}&open=true")).await;
    assert_eq!(open["alerts"], json!([]));
}

/// Every alert is reached page by page, newest first (all, or only the open ones), and a
/// page token this server did not give is a 400 naming it.
#[tokio::test]
async fn alerts_are_listed_a_page_at_a_time() {
    let app = spawn_app().await;
    let trader = register(&app, "pages@example.com").await;
    let (user, token) = (trader["userId"].as_str().unwrap(), trader["accessToken"].as_str().unwrap());
    let (status, _) = call(&app, &app.client, Method::PUT, &format!("/v1/limits/users/{user}"), None, Some(json!({"maxOrderQuantity": "1"}))).await;
    assert_eq!(status, 200);
    let order = json!({"symbol": "MOCK", "quantity": "2", "side": "BUY", "type": "LIMIT", "limitPrice": "90"});
    for _ in 0..5 {
        let (status, body) = call(&app, &app.anonymous, Method::POST, "/v1/orders", Some(token), Some(order.clone())).await;
        assert_eq!(status, 403, "{body}");
    }
    let path = format!("/v1/alerts?userId={user}");
    let (_, all) = app.get_until(&path, |_, body| body["alerts"].as_array().is_some_and(|alerts| alerts.len() == 5)).await;
    let ids: Vec<String> = all["alerts"].as_array().unwrap().iter().map(|alert| alert["alertId"].as_str().unwrap().to_owned()).collect();
    assert!(all["pagination"]["nextPageToken"].is_null(), "{all}");
    assert_eq!(app.pages(&format!("{path}&limit=2"), "alerts", "alertId").await, ids);
    assert_eq!(app.pages(&format!("{path}&limit=1"), "alerts", "alertId").await, ids);

    let (status, _) = call(&app, &app.anonymous, Method::POST, &format!("/v1/alerts/{}/acknowledge", ids[1]), Some(token), Some(json!({}))).await;
    assert_eq!(status, 200);
    let open: Vec<String> = ids.iter().filter(|id| **id != ids[1]).cloned().collect();
    assert_eq!(app.pages(&format!("{path}&open=true&limit=2"), "alerts", "alertId").await, open);
    for bad in ["x", "0000000000000001", "0000000000000001zz", "00000000000000016"] {
        let (status, body) = app.get(&format!("{path}&pageToken={bad}")).await;
        assert_eq!((status, body["error"]["details"]["parameter"].as_str()), (400, Some("pageToken")), "{bad}: {body}");
    }
}
