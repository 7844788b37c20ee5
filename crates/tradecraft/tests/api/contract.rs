//! The API contract as an outside client probes it: rights that cannot be escalated,
//! credentials that stop working the moment they should, idempotency scoped to the
//! caller, nothing revealed about other users' orders, bad input refused with a JSON 400
//! naming the field, and no refused request changing anything.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::{Value, json};

use crate::auth::{call, register};
use crate::helpers::{TestApp, spawn_app, spawn_app_with};

fn token(login: &Value) -> String {
    login["accessToken"].as_str().unwrap().to_owned()
}

async fn with_key(app: &TestApp, method: Method, path: &str, key: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = app.anonymous.request(method, app.url(path)).header("x-api-key", key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn keys_grant_and_revoke_only_scopes_they_hold() {
    let app = spawn_app().await;
    let ada = register(&app, "keys@example.com").await;
    let access = token(&ada);
    let (_, read) = call(&app, &app.anonymous, Method::POST, "/v1/api-keys", Some(&access), Some(json!({"scopes": ["read"]}))).await;
    let (_, trade) = call(&app, &app.anonymous, Method::POST, "/v1/api-keys", Some(&access), Some(json!({"scopes": ["read", "trade"]}))).await;
    let (read_key, trade_id) = (read["apiKey"].as_str().unwrap(), trade["keyId"].as_str().unwrap());

    let (status, answer) = with_key(&app, Method::POST, "/v1/api-keys", read_key, Some(json!({"scopes": ["trade"]}))).await;
    assert_eq!(status, 403, "a read key minted a trade key: {answer}");
    let (status, _) = with_key(&app, Method::POST, "/v1/api-keys", read_key, Some(json!({"scopes": ["read", "trade"]}))).await;
    assert_eq!(status, 403);
    let (status, _) = with_key(&app, Method::DELETE, &format!("/v1/api-keys/{trade_id}"), read_key, None).await;
    assert_eq!(status, 403, "a read key revoked a trade key");
    let (status, _) = with_key(&app, Method::POST, "/v1/api-keys", read_key, Some(json!({"scopes": ["read"]}))).await;
    assert_eq!(status, 201, "no more rights than itself is fine");
    let (_, keys) = call(&app, &app.anonymous, Method::GET, "/v1/api-keys", Some(&access), None).await;
    assert_eq!(keys["keys"].as_array().unwrap().iter().filter(|key| key["scopes"] == json!(["read", "trade"])).count(), 1, "the trade key is intact");

    // A viewer's session cannot mint trading rights either.
    let (status, _) =
        call(&app, &app.client, Method::PUT, &format!("/v1/users/{}/role", ada["userId"].as_str().unwrap()), None, Some(json!({"role": "viewer"}))).await;
    assert_eq!(status, 200);
    let (_, login) =
        call(&app, &app.anonymous, Method::POST, "/v1/auth/login", None, Some(json!({"email": "keys@example.com", "password": "correct horse"}))).await;
    let (status, _) = call(&app, &app.anonymous, Method::POST, "/v1/api-keys", Some(&token(&login)), Some(json!({"scopes": ["trade"]}))).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn access_tokens_end_at_role_change_logout_and_deletion() {
    let app = spawn_app().await;
    let order = json!({"symbol": "MOCK", "side": "BUY", "type": "LIMIT", "quantity": "1", "limitPrice": "90"});

    let demoted = register(&app, "demoted@example.com").await;
    let (user, access) = (demoted["userId"].as_str().unwrap().to_owned(), token(&demoted));
    assert_eq!(call(&app, &app.anonymous, Method::POST, "/v1/orders", Some(&access), Some(order.clone())).await.0, 202);
    assert_eq!(call(&app, &app.client, Method::PUT, &format!("/v1/users/{user}/role"), None, Some(json!({"role": "viewer"}))).await.0, 200);
    let (status, answer) = call(&app, &app.anonymous, Method::POST, "/v1/orders", Some(&access), Some(order.clone())).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (401, Some("token_revoked")), "the old token traded after the role change");
    let (status, _) = call(&app, &app.anonymous, Method::GET, &format!("/v1/portfolio/{user}"), Some(&access), None).await;
    assert_eq!(status, 401);
    let refreshed = call(&app, &app.anonymous, Method::POST, "/v1/auth/refresh", None, Some(json!({"refreshToken": demoted["refreshToken"]}))).await.1;
    assert_eq!(refreshed["role"], "viewer");
    assert_eq!(call(&app, &app.anonymous, Method::POST, "/v1/orders", Some(&token(&refreshed)), Some(order.clone())).await.0, 403, "a viewer now");
    assert_eq!(call(&app, &app.anonymous, Method::GET, &format!("/v1/portfolio/{user}"), Some(&token(&refreshed)), None).await.0, 200);

    let leaving = register(&app, "leaving@example.com").await;
    let access = token(&leaving);
    assert_eq!(call(&app, &app.anonymous, Method::POST, "/v1/auth/logout", None, Some(json!({"refreshToken": leaving["refreshToken"]}))).await.0, 204);
    assert_eq!(call(&app, &app.anonymous, Method::GET, "/v1/me/export", Some(&access), None).await.0, 401, "the token outlived its logout");
    let (_, again) =
        call(&app, &app.anonymous, Method::POST, "/v1/auth/login", None, Some(json!({"email": "leaving@example.com", "password": "correct horse"}))).await;
    assert_eq!(call(&app, &app.anonymous, Method::GET, "/v1/me/export", Some(&token(&again)), None).await.0, 200, "a new login works");

    let deleted = register(&app, "deleted@example.com").await;
    let (user, access) = (deleted["userId"].as_str().unwrap().to_owned(), token(&deleted));
    assert_eq!(call(&app, &app.anonymous, Method::DELETE, "/v1/me", Some(&access), Some(json!({"password": "correct horse"}))).await.0, 204);
    for path in [format!("/v1/portfolio/{user}"), "/v1/me/export".to_owned()] {
        assert_eq!(call(&app, &app.anonymous, Method::GET, &path, Some(&access), None).await.0, 401, "{path} after deletion");
    }
}

#[tokio::test]
async fn idempotency_keys_belong_to_their_caller_and_must_be_real_keys() {
    let app = spawn_app().await;
    let (ada, bob) = (register(&app, "ada@example.com").await, register(&app, "bob@example.com").await);
    let place = |login: &Value, key: &str, quantity: &str| {
        app.anonymous
            .post(app.url("/v1/orders"))
            .bearer_auth(token(login))
            .header("X-Idempotency-Key", key)
            .json(&json!({"symbol": "MOCK", "side": "BUY", "type": "LIMIT", "quantity": quantity, "limitPrice": "90"}))
            .send()
    };
    let first = place(&ada, "shared-key", "1").await.unwrap();
    assert_eq!(first.status(), 202);
    let first: Value = first.json().await.unwrap();
    let other = place(&bob, "shared-key", "2").await.unwrap();
    assert_eq!(other.status(), 202, "another user's key collided");
    assert_ne!(other.json::<Value>().await.unwrap()["orderId"], first["orderId"]);
    let retry = place(&ada, "shared-key", "1").await.unwrap();
    assert_eq!(retry.json::<Value>().await.unwrap()["orderId"], first["orderId"], "the owner's retry gets the first answer");
    assert_eq!(place(&ada, "shared-key", "3").await.unwrap().status(), 409);
    // The same order written as a number is the same request.
    let as_number = app
        .anonymous
        .post(app.url("/v1/orders"))
        .bearer_auth(token(&ada))
        .header("X-Idempotency-Key", "shared-key")
        .json(&json!({"symbol": "MOCK", "side": "BUY", "type": "LIMIT", "quantity": 1, "limitPrice": 90}))
        .send()
        .await
        .unwrap();
    assert_eq!(as_number.status(), 202);

    for key in ["", &"k".repeat(256), "tab\there"] {
        let response = place(&ada, key, "1").await;
        let Ok(response) = response else { continue }; // a header the client itself refuses
        assert_eq!(response.status(), 400, "key {key:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_idempotency_key");
    }
}

#[tokio::test]
async fn someone_elses_order_is_not_found_like_an_unknown_one() {
    let app = spawn_app().await;
    let (ada, eve) = (register(&app, "owner@example.com").await, register(&app, "eve@example.com").await);
    let order = json!({"symbol": "MOCK", "side": "BUY", "type": "LIMIT", "quantity": "1", "limitPrice": "90"});
    let (_, placed) = call(&app, &app.anonymous, Method::POST, "/v1/orders", Some(&token(&ada)), Some(order)).await;
    let id = placed["orderId"].as_str().unwrap();
    for (method, body) in [(Method::GET, None), (Method::DELETE, None), (Method::PATCH, Some(json!({"limitPrice": "91"})))] {
        let (status, theirs) = call(&app, &app.anonymous, method.clone(), &format!("/v1/orders/{id}"), Some(&token(&eve)), body.clone()).await;
        let (unknown_status, unknown) = call(&app, &app.anonymous, method.clone(), "/v1/orders/987654321", Some(&token(&eve)), body).await;
        assert_eq!((status, unknown_status), (404, 404), "{method}: {theirs}");
        assert_eq!(theirs["error"]["code"], unknown["error"]["code"]);
        assert!(!theirs.to_string().contains(ada["userId"].as_str().unwrap()), "the answer names the owner: {theirs}");
    }
    let (_, still) = call(&app, &app.anonymous, Method::GET, &format!("/v1/orders/{id}"), Some(&token(&ada)), None).await;
    assert_eq!(still["status"], "ACCEPTED", "eve's cancel did nothing");
}

#[tokio::test]
async fn webhook_urls_are_validated_and_targets_restricted() {
    let app = spawn_app_with(|config| config.webhooks.targets = tradecraft_api::alerts::WebhookTargets::Public).await;
    let ada = register(&app, "hooks@example.com").await;
    let access = token(&ada);
    for url in [
        json!("http://example.com/a\r\nX-Evil: 1"),
        json!("https://user:secret@example.com/"),
        json!("gopher://example.com/"),
        json!("http://127.0.0.1:8080/hook"),
        json!("http://localhost/hook"),
        json!("http://169.254.169.254/latest/meta-data"),
        json!("http://[::1]/"),
        json!(5),
        json!(format!("https://example.com/{}", "a".repeat(3_000))),
    ] {
        let (status, answer) = call(&app, &app.anonymous, Method::POST, "/v1/webhooks", Some(&access), Some(json!({"url": url}))).await;
        assert_eq!((status, answer["error"]["details"]["field"].as_str()), (400, Some("url")), "{url}: {answer}");
    }
    let (status, _) = call(&app, &app.anonymous, Method::POST, "/v1/webhooks", Some(&access), Some(json!({"url": "https://hooks.example.com/tc"}))).await;
    assert_eq!(status, 201);
    let (_, hooks) = call(&app, &app.anonymous, Method::GET, "/v1/webhooks", Some(&access), None).await;
    assert_eq!(hooks["webhooks"].as_array().unwrap().len(), 1, "only the valid one is stored");
}

#[tokio::test]
async fn bad_input_is_refused_with_the_field_named() {
    let app = spawn_app().await;
    let ada = register(&app, "input@example.com").await;
    let access = token(&ada);
    let order = |fields: Value| {
        let mut body = json!({"symbol": "MOCK", "side": "BUY", "type": "LIMIT", "quantity": "1", "limitPrice": "90"});
        for (key, value) in fields.as_object().unwrap() {
            body[key] = value.clone();
        }
        body
    };
    for (body, field) in [
        (order(json!({"userId": {}})), "userId"),
        (order(json!({"type": "MARKET"})), "limitPrice"),
        (order(json!({"quantity": "+1"})), "quantity"),
        (order(json!({"quantity": " 1"})), "quantity"),
        (order(json!({"quantity": "01"})), "quantity"),
        (order(json!({"quantity": "1."})), "quantity"),
        (order(json!({"quantity": true})), "quantity"),
        (order(json!({"limitPrice": "9e999"})), "limitPrice"),
        (order(json!({"postOnly": "yes"})), "postOnly"),
        (order(json!({"side": "HOLD"})), "side"),
        (order(json!({"clientOrderId": "x".repeat(100)})), "clientOrderId"),
        (json!({"symbol": "MOCK", "side": "BUY", "type": "MARKET", "notional": "10", "quantity": "1"}), "notional"),
    ] {
        let (status, answer) = call(&app, &app.anonymous, Method::POST, "/v1/orders", Some(&access), Some(body.clone())).await;
        assert_eq!((status, answer["error"]["details"]["field"].as_str()), (400, Some(field)), "{body}: {answer}");
    }
    // A cash amount too small to buy one share is refused, not filled with nothing.
    let (status, answer) = call(
        &app,
        &app.anonymous,
        Method::POST,
        "/v1/orders",
        Some(&access),
        Some(json!({"symbol": "MOCK", "side": "BUY", "type": "MARKET", "notional": "0.001"})),
    )
    .await;
    assert_eq!((status, answer["error"]["code"].as_str()), (400, Some("quantity_below_minimum")), "{answer}");
    // Exponents are numbers too: 1E1 is 10.
    let (status, placed) = call(&app, &app.anonymous, Method::POST, "/v1/orders", Some(&access), Some(order(json!({"quantity": "1E1"})))).await;
    assert_eq!(status, 202, "{placed}");
    let (_, record) = call(&app, &app.anonymous, Method::GET, &format!("/v1/orders/{}", placed["orderId"].as_str().unwrap()), Some(&access), None).await;
    assert_eq!(record["quantity"], "10");

    for (body, field) in [
        (json!({"email": "x@example.com", "password": "p".repeat(200)}), "password"),
        (json!({"email": "a\u{7}b@example.com", "password": "correct horse"}), "email"),
        (json!({"email": 5, "password": "correct horse"}), "email"),
        (json!({"email": "y@example.com", "password": "correct horse", "username": "n".repeat(65)}), "username"),
    ] {
        let (status, answer) = call(&app, &app.anonymous, Method::POST, "/v1/auth/register", None, Some(body.clone())).await;
        assert_eq!((status, answer["error"]["details"]["field"].as_str()), (400, Some(field)), "{body}: {answer}");
    }
    let (status, answer) = call(&app, &app.client, Method::POST, "/v1/organisations", None, Some(json!({"name": 5}))).await;
    assert_eq!((status, answer["error"]["details"]["field"].as_str()), (400, Some("name")));
    let (status, answer) = call(&app, &app.client, Method::POST, "/v1/accounts", None, Some(json!({"userId": {}}))).await;
    assert_eq!((status, answer["error"]["details"]["field"].as_str()), (400, Some("userId")), "an account made with a new id");
    // A megabyte body is refused before anything reads it.
    let huge = json!({"email": "z@example.com", "password": "p".repeat(1 << 20)});
    let (status, answer) = call(&app, &app.anonymous, Method::POST, "/v1/auth/register", None, Some(huge)).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (413, Some("payload_too_large")));
}

#[tokio::test]
async fn every_error_is_the_json_error_object() {
    let app = spawn_app().await;
    for (method, path, status) in [
        (Method::GET, "/v1/market/MOCK/orderbook?depth=1&depth=2", 400),
        (Method::GET, "/v1/market/MOCK/orderbook?depth=%2B5", 400),
        (Method::GET, "/v1/market/MOCK/trades?limit=01", 400),
        (Method::GET, "/v1/alerts?open=maybe", 400),
        (Method::GET, "/v1/no/such/route", 404),
        (Method::PUT, "/v1/market/symbols", 405),
        (Method::GET, "/v1/orders/-1", 400),
        (Method::GET, "/v1/orders/+1", 400),
    ] {
        let response = app.client.request(method.clone(), app.url(path)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{method} {path}");
        assert_eq!(response.headers()["content-type"], "application/json", "{method} {path}");
        let body: Value = response.json().await.unwrap();
        assert!(body["error"]["code"].is_string() && body["error"]["message"].is_string(), "{method} {path}: {body}");
    }
    let text = app.client.post(app.url("/v1/orders")).header("content-type", "text/plain").body("{}").send().await.unwrap();
    assert_eq!(text.status(), 415);
    assert_eq!(text.json::<Value>().await.unwrap()["error"]["code"], "unsupported_media_type");
}

/// A body naming a key twice is ambiguous (which one counts?): refused with the key named,
/// on every route that takes a body, and nothing is done.
#[tokio::test]
async fn a_body_naming_a_key_twice_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let user = app.account("1000").await;
    for (method, path, body, field) in [
        (
            Method::POST,
            "/v1/orders",
            format!(r#"{{"userId":"{user}","symbol":"MOCK","side":"BUY","type":"MARKET","quantity":"1","quantity":"2"}}"#),
            "quantity",
        ),
        (Method::POST, "/v1/accounts", r#"{"cash":"5","cash":"6"}"#.to_owned(), "cash"),
        (Method::POST, "/v1/auth/register", r#"{"email":"a@example.com","email":"b@example.com","password":"correct horse"}"#.to_owned(), "email"),
        (Method::PUT, &format!("/v1/limits/users/{user}"), r#"{"maxOrderQuantity":"1","maxOrderQuantity":"100"}"#.to_owned(), "maxOrderQuantity"),
    ] {
        let response = app.client.request(method.clone(), app.url(path)).header("content-type", "application/json").body(body).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 400, "{method} {path}");
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["error"]["details"]["field"], field, "{method} {path}: {answer}");
    }
    let (_, orders) = app.get(&format!("/v1/orders?userId={user}")).await;
    assert_eq!(orders["orders"], json!([]), "{orders}");
    let (status, _) = app.post("/v1/auth/login", json!({"email": "b@example.com", "password": "correct horse"})).await;
    assert_eq!(status, 401);
}

/// What a refused request must leave alone: the user's account, limits, orders, keys and
/// webhooks, the organisation, and the audit trail.
async fn state_of(app: &TestApp, access: &str, user: &str, org: &str) -> Vec<Value> {
    let mut state = Vec::new();
    for path in
        [format!("/v1/portfolio/{user}"), format!("/v1/limits/users/{user}"), "/v1/orders".to_owned(), "/v1/api-keys".to_owned(), "/v1/webhooks".to_owned()]
    {
        let (_, mut body) = call(app, &app.anonymous, Method::GET, &path, Some(access), None).await;
        if let Some(object) = body.as_object_mut() {
            object.remove("lastUpdatedTimestamp");
        }
        state.push(body);
    }
    state.push(app.get(&format!("/v1/organisations/{org}")).await.1);
    // Order events reach the trail through the read store, a little later: not counted.
    let (_, audit) = app.get("/v1/audit?limit=1000").await;
    let entries = audit["entries"]
        .as_array()
        .map_or(0, |entries| entries.iter().filter(|entry| !entry["action"].as_str().unwrap_or_default().starts_with("order.")).count());
    state.push(entries.into());
    state
}

/// A random JSON value, biased towards the shapes that break parsers.
fn random_value(rng: &mut StdRng, depth: u32) -> Value {
    match rng.random_range(0..14) {
        0 => Value::Null,
        1 => json!(rng.random::<bool>()),
        2 => json!(rng.random::<i64>()),
        3 => json!(-rng.random_range(0..1_000)),
        4 => serde_json::from_str(&format!("{}.{}e{}", rng.random_range(0..1_000), rng.random_range(0..1_000), rng.random_range(-30..30))).unwrap(),
        5 => json!(""),
        6 => json!(["+1", " 1", "01", "1.", "1e400", "NaN", "-0", "0x1F", "１"][rng.random_range(0..9)]),
        7 => json!("\u{0}\r\n\u{1b}[31m<script>"),
        8 => json!("w".repeat(rng.random_range(200..5_000))),
        9 => json!(format!("{}", rng.random_range(0..u64::MAX))),
        10 if depth < 2 => Value::Array((0..rng.random_range(0..4)).map(|_| random_value(rng, depth + 1)).collect()),
        11 if depth < 2 => json!({"nested": random_value(rng, depth + 1)}),
        12 => json!(["read", "trade", "MARKET", "LIMIT", "BUY", "SELL", "org_admin"][rng.random_range(0..7)]),
        _ => json!("99999999999999999999999"),
    }
}

/// Every field of every write route, given random values: never a 5xx, and a 4xx never
/// changes anything (seeded: the same cases every run).
#[tokio::test]
async fn random_field_values_never_fail_the_server_nor_change_state_when_refused() {
    let app = spawn_app().await;
    let ada = register(&app, "fuzz@example.com").await;
    let (user, access) = (ada["userId"].as_str().unwrap().to_owned(), token(&ada));
    let (_, org) = app.post("/v1/organisations", json!({"name": "fuzz"})).await;
    let org = org["organisationId"].as_str().unwrap().to_owned();
    let (_, placed) = call(
        &app,
        &app.anonymous,
        Method::POST,
        "/v1/orders",
        Some(&access),
        Some(json!({"symbol": "MOCK", "side": "BUY", "type": "LIMIT", "quantity": "1", "limitPrice": "90"})),
    )
    .await;
    let order_id = placed["orderId"].as_str().unwrap().to_owned();
    let routes: Vec<(Method, String, bool, Value)> = vec![
        (
            Method::POST,
            "/v1/orders".into(),
            false,
            json!({"symbol": "MOCK", "side": "BUY", "type": "LIMIT", "quantity": "1", "limitPrice": "80", "timeInForce": "GTC", "postOnly": false, "clientOrderId": "c1", "trailAmount": null, "stopPrice": null, "notional": null, "userId": user}),
        ),
        (Method::PATCH, format!("/v1/orders/{order_id}"), false, json!({"quantity": "2", "limitPrice": "85"})),
        (
            Method::PUT,
            format!("/v1/limits/users/{user}"),
            true,
            json!({"maxOrderQuantity": "5", "maxOpenOrders": 3, "allowedSymbols": ["MOCK"], "tradingHours": "00:00-23:59", "maxSymbolSharePercent": "50", "tradingEnabled": true}),
        ),
        (Method::PUT, format!("/v1/users/{user}/membership"), true, json!({"organisationId": org, "groupId": null})),
        (Method::POST, "/v1/api-keys".into(), false, json!({"name": "k", "scopes": ["read"]})),
        (Method::POST, "/v1/webhooks".into(), false, json!({"url": "http://127.0.0.1:9/x"})),
        (Method::POST, format!("/v1/organisations/{org}/groups"), true, json!({"name": "g"})),
        (Method::PUT, format!("/v1/organisations/{org}/members/{user}"), true, json!({"role": "member", "groupId": null})),
        (Method::PUT, format!("/v1/users/{user}/role"), true, json!({"role": "trader"})),
        (Method::POST, "/v1/auth/login".into(), false, json!({"email": "fuzz@example.com", "password": "wrong password"})),
        (Method::POST, "/v1/auth/register".into(), false, json!({"email": "fuzz@example.com", "password": "correct horse", "username": "fuzz"})),
        (Method::POST, "/v1/auth/refresh".into(), false, json!({"refreshToken": "not-a-token"})),
        (Method::POST, "/v1/auth/logout".into(), false, json!({"refreshToken": "not-a-token"})),
        (Method::POST, "/v1/accounts".into(), true, json!({"userId": user, "cash": "100"})),
        (Method::POST, "/v1/organisations".into(), true, json!({"name": "o"})),
        (Method::DELETE, "/v1/me".into(), false, json!({"password": "wrong password"})),
    ];
    let mut rng = StdRng::seed_from_u64(20_261_130);
    let mut sent = 0;
    for (method, path, as_admin, base) in &routes {
        let fields: Vec<String> = base.as_object().unwrap().keys().cloned().collect();
        let mut bodies: Vec<Value> = vec![json!([]), Value::Null, json!("text"), json!(7)];
        for field in &fields {
            for _ in 0..8 {
                let mut body = base.clone();
                body[field] = random_value(&mut rng, 0);
                bodies.push(body);
            }
        }
        for body in bodies {
            let before = state_of(&app, &access, &user, &org).await;
            let (status, answer) = if *as_admin {
                call(&app, &app.client, method.clone(), path, None, Some(body.clone())).await
            } else {
                call(&app, &app.anonymous, method.clone(), path, Some(&access), Some(body.clone())).await
            };
            sent += 1;
            assert!(status < 500, "{method} {path} {body} -> {status} {answer}");
            assert!(answer["error"].is_object() || status < 400, "{method} {path} {body} -> {status} {answer}");
            if (400..500).contains(&status) && status != 429 {
                assert_eq!(state_of(&app, &access, &user, &org).await, before, "{method} {path} {body} -> {status} {answer} changed state");
            }
        }
    }
    assert!(sent >= 300, "only {sent} requests");
}
