//! `/v1/notifications` and `/v1/price-alerts`: the read store's notifications of fills,
//! refusals, expiries and price alerts, read and marked read per account.

use serde_json::{Value, json};

use crate::helpers::spawn_app;

fn kinds(body: &Value) -> Vec<String> {
    body["notifications"].as_array().map(|list| list.iter().filter_map(|item| item["kind"].as_str().map(str::to_owned)).collect()).unwrap_or_default()
}

#[tokio::test]
async fn fills_refusals_expiries_and_price_alerts_notify_the_account() {
    let app = spawn_app().await;
    let user = app.account("100000").await;
    let (status, alert) = app.post("/v1/price-alerts", json!({"userId": user, "symbol": "MOCK", "direction": "ABOVE", "price": "100.75"})).await;
    assert_eq!(status, 201, "{alert}");
    let alert_id = alert["alertId"].as_str().unwrap().to_owned();
    for (body, field) in [
        (json!({"userId": user, "symbol": "MOCK", "direction": "SIDEWAYS", "price": "1"}), Some("direction")),
        (json!({"userId": user, "symbol": "MOCK", "direction": "BELOW", "price": "-1"}), Some("price")),
        (json!({"userId": user, "symbol": "NOPE", "direction": "BELOW", "price": "1"}), None),
        // Between two ticks: no trade prints there.
        (json!({"userId": user, "symbol": "MOCK", "direction": "ABOVE", "price": "100.755"}), Some("price")),
    ] {
        let (status, answer) = app.post("/v1/price-alerts", body.clone()).await;
        assert_eq!((status, answer["error"]["details"]["field"].as_str()), (400, field), "{body} -> {answer}");
        if field == Some("direction") {
            assert!(answer["error"]["message"].as_str().unwrap().contains("`ABOVE` or `BELOW`"), "the values it takes: {answer}");
        }
    }
    let (_, listed) = app.get(&format!("/v1/price-alerts?userId={user}")).await;
    assert_eq!(listed["priceAlerts"].as_array().unwrap().len(), 1, "nothing refused was stored: {listed}");

    app.post("/v1/orders", json!({"userId": user, "symbol": "MOCK", "quantity": "2", "side": "BUY", "type": "MARKET"})).await;
    let (status, _) =
        app.post("/v1/orders", json!({"userId": user, "symbol": "MOCK", "quantity": "100000", "side": "BUY", "type": "LIMIT", "limitPrice": "99"})).await;
    assert_eq!(status, 402);
    let (_, day) = app
        .post(
            "/v1/orders",
            json!({"userId": user, "symbol": "MOCK", "quantity": "1", "side": "BUY", "type": "LIMIT", "limitPrice": "90", "timeInForce": "DAY"}),
        )
        .await;
    assert!(day["orderId"].is_string(), "{day}");
    // Someone else walks the book up past 100.75: the alert goes off once.
    let other = app.account("100000").await;
    app.post("/v1/orders", json!({"userId": other, "symbol": "MOCK", "quantity": "150", "side": "BUY", "type": "MARKET"})).await;
    app.post("/v1/orders", json!({"userId": other, "symbol": "MOCK", "quantity": "10", "side": "BUY", "type": "MARKET"})).await;
    app.post("/v1/instruments/MOCK/close", json!({})).await;
    app.post("/v1/instruments/MOCK/open", json!({})).await;

    let path = format!("/v1/notifications?userId={user}");
    let (_, listed) = app.get_until(&path, |_, body| kinds(body).len() >= 4).await;
    let mut seen = kinds(&listed);
    seen.sort();
    assert_eq!(seen, ["ORDER_EXPIRED", "ORDER_FILLED", "ORDER_REFUSED", "PRICE_ALERT"], "{listed}");
    let (_, alerts) = app.get(&format!("/v1/price-alerts?userId={user}")).await;
    assert!(alerts["priceAlerts"][0]["triggeredAt"].is_string(), "{alerts}");
    assert_eq!(alerts["priceAlerts"][0]["alertId"], alert_id.as_str());
    let (_, others) = app.get(&format!("/v1/notifications?userId={other}")).await;
    assert!(!kinds(&others).contains(&"PRICE_ALERT".to_owned()), "only the alert's owner is told: {others}");

    // Read one, then the rest; every one is reached page by page, newest first.
    let ids =
        |list: &Value| list["notifications"].as_array().unwrap().iter().map(|note| note["notificationId"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    assert_eq!(app.pages(&format!("{path}&limit=1"), "notifications", "notificationId").await, ids(&listed));
    let first = listed["notifications"][0]["notificationId"].as_str().unwrap().to_owned();
    let (status, marked) = app.post(&format!("/v1/notifications/{first}/read?userId={user}"), json!({})).await;
    assert_eq!((status, marked["marked"].as_u64()), (200, Some(1)), "{marked}");
    let (_, unread) = app.get(&format!("/v1/notifications?userId={user}&unread=true")).await;
    assert_eq!(kinds(&unread).len(), 3, "{unread}");
    assert_eq!(app.pages(&format!("{path}&unread=true&limit=2"), "notifications", "notificationId").await, ids(&listed)[1..]);
    for bad in ["x", "0000000000000001", "0000000000000001zz", "00000000000000016"] {
        let (status, body) = app.get(&format!("{path}&pageToken={bad}")).await;
        assert_eq!((status, body["error"]["details"]["parameter"].as_str()), (400, Some("pageToken")), "{bad}: {body}");
    }
    let (_, marked) = app.post(&format!("/v1/notifications/read?userId={user}"), json!({})).await;
    assert_eq!(marked["marked"], 3, "{marked}");
    let (status, _) = app.post(&format!("/v1/notifications/nope/read?userId={user}"), json!({})).await;
    assert_eq!(status, 404);
    let (status, _) = app.delete(&format!("/v1/price-alerts/{alert_id}?userId={user}")).await;
    assert_eq!(status, 204);
    let (status, _) = app.delete(&format!("/v1/price-alerts/{alert_id}?userId={user}")).await;
    assert_eq!(status, 404, "deleted once");
}
