//! Trading limits and memberships over HTTP: admins set them, the engine applies them at
//! acceptance, users read their own, and every change is audited.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::spawn_app;

#[tokio::test]
async fn admins_set_limits_the_engine_enforces_them_and_users_read_their_own() {
    let app = spawn_app().await;
    let (status, trader) = app.post("/v1/auth/register", json!({"email": "t@example.com", "password": "correct horse"})).await;
    assert_eq!(status, 201, "{trader}");
    let (user, token) = (trader["userId"].as_str().unwrap().to_owned(), trader["accessToken"].as_str().unwrap().to_owned());
    let as_trader = |method: Method, path: String, body: Option<Value>| {
        let mut request = app.anonymous.request(method, app.url(&path)).bearer_auth(&token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send()
    };

    let limits = json!({"maxOrderQuantity": "5", "allowedOrderTypes": ["LIMIT", "MARKET"], "tradingHours": "00:00-23:59", "maxSymbolSharePercent": "50"});
    let response = app.client.put(app.url(&format!("/v1/limits/users/{user}"))).json(&limits).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let set: Value = response.json().await.unwrap();
    assert_eq!(set["limits"]["maxOrderQuantity"], "5");
    assert_eq!(set["limits"]["maxSymbolSharePercent"], "50");
    assert_eq!(set["limits"]["allowedOrderTypes"], json!(["MARKET", "LIMIT"]));

    let mine = as_trader(Method::GET, format!("/v1/limits/users/{user}"), None).await.unwrap();
    assert_eq!(mine.status(), 200);
    assert_eq!(mine.json::<Value>().await.unwrap()["limits"], set["limits"]);
    assert_eq!(as_trader(Method::PUT, format!("/v1/limits/users/{user}"), Some(json!({}))).await.unwrap().status(), 403, "users cannot lift their own limits");
    assert_eq!(as_trader(Method::GET, "/v1/limits/users/1".into(), None).await.unwrap().status(), 403);

    let order = |quantity: &str| json!({"symbol": "MOCK", "quantity": quantity, "side": "BUY", "type": "LIMIT", "limitPrice": "90"});
    let refused = as_trader(Method::POST, "/v1/orders".into(), Some(order("6"))).await.unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(refused.json::<Value>().await.unwrap()["error"]["code"], "limit_max_order_quantity");
    assert_eq!(as_trader(Method::POST, "/v1/orders".into(), Some(order("5"))).await.unwrap().status(), 202);

    // A group's tighter limit applies once the account joins it.
    let group = app.client.put(app.url("/v1/limits/groups/7")).json(&json!({"maxOrderQuantity": "3"})).send().await.unwrap();
    assert_eq!(group.status(), 200);
    let joined = app.client.put(app.url(&format!("/v1/users/{user}/membership"))).json(&json!({"groupId": "7"})).send().await.unwrap();
    assert_eq!(joined.status(), 200);
    let refused = as_trader(Method::POST, "/v1/orders".into(), Some(order("4"))).await.unwrap();
    assert_eq!(refused.json::<Value>().await.unwrap()["error"]["code"], "limit_max_order_quantity");
    assert_eq!(as_trader(Method::POST, "/v1/orders".into(), Some(order("3"))).await.unwrap().status(), 202);

    for (path, body, field) in [
        (format!("/v1/limits/users/{user}"), json!({"tradingHours": "9-5"}), Some("tradingHours")),
        (format!("/v1/limits/users/{user}"), json!({"maxLeverage": "2"}), None),
        (format!("/v1/limits/users/{user}"), json!({"maxOrderQuantity": "-1x"}), Some("maxOrderQuantity")),
        ("/v1/limits/planets/1".to_owned(), json!({}), None),
    ] {
        let response = app.client.put(app.url(&path)).json(&body).send().await.unwrap();
        let status = response.status().as_u16();
        let answer: Value = response.json().await.unwrap();
        if path.contains("planets") {
            assert_eq!(status, 404, "{answer}");
        } else {
            assert_eq!(status, 400, "{body} -> {answer}");
        }
        if let Some(field) = field {
            assert_eq!(answer["error"]["details"]["field"], field, "{answer}");
        }
    }
    let (status, _) = app.get("/v1/limits/users/424242").await;
    assert_eq!(status, 404);

    let (_, trail) = app.get(&format!("/v1/audit?subject=user:{user}")).await;
    let actions: Vec<&str> = trail["entries"].as_array().unwrap().iter().map(|entry| entry["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["membership.set", "limits.set", "user.registered"]);
    let (_, trail) = app.get("/v1/audit?subject=group:7").await;
    assert_eq!(trail["entries"][0]["details"]["maxOrderQuantity"], "3");
}
