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
    // No key makes a key, whatever its scopes: a leaked one could otherwise make others, to
    // outlive its own revocation. Keys are made in a signed-in session.
    let (status, _) = with_key(&app, Method::POST, "/v1/api-keys", read_key, Some(json!({"scopes": ["read"]}))).await;
    assert_eq!(status, 403, "a read key made a read key");
    for scopes in [json!(["read"]), json!(["read", "trade"])] {
        let (status, made) = with_key(&app, Method::POST, "/v1/api-keys", trade["apiKey"].as_str().unwrap(), Some(json!({"scopes": scopes}))).await;
        assert_eq!(status, 403, "a trade key made a key: {made}");
        assert!(made["error"]["message"].as_str().unwrap().contains("signed-in session"), "{made}");
    }
    let (_, keys) = call(&app, &app.anonymous, Method::GET, "/v1/api-keys", Some(&access), None).await;
    assert_eq!(keys["keys"].as_array().unwrap().len(), 2, "the two keys the session made, and no other: {keys}");
    assert_eq!(keys["keys"].as_array().unwrap().iter().filter(|key| key["scopes"] == json!(["read", "trade"])).count(), 1, "the trade key is intact");
    // Nor does a read key delete the account, even with its password.
    let (status, answer) = with_key(&app, Method::DELETE, "/v1/me", read_key, Some(json!({"password": "correct horse"}))).await;
    assert_eq!(status, 403, "a read key deleted its user: {answer}");
    let (status, _) = call(&app, &app.anonymous, Method::GET, "/v1/api-keys", Some(&access), None).await;
    assert_eq!(status, 200, "the user is still there");

    // A viewer's session cannot mint trading rights either.
    let (status, _) =
        call(&app, &app.client, Method::PUT, &format!("/v1/users/{}/role", ada["userId"].as_str().unwrap()), None, Some(json!({"role": "viewer"}))).await;
    assert_eq!(status, 200);
    let (_, login) =
        call(&app, &app.anonymous, Method::POST, "/v1/auth/login", None, Some(json!({"email": "keys@example.com", "password": "correct horse"}))).await;
    let (status, _) = call(&app, &app.anonymous, Method::POST, "/v1/api-keys", Some(&token(&login)), Some(json!({"scopes": ["trade"]}))).await;
    assert_eq!(status, 403);
    let (status, made) = call(&app, &app.anonymous, Method::POST, "/v1/api-keys", Some(&token(&login)), Some(json!({"scopes": ["read"]}))).await;
    assert_eq!(status, 201, "a viewer's session makes read keys: {made}");
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

    // The IETF draft's name for the header is the same key; both at once are one too many.
    let under = |name: &'static str, key: &'static str| {
        app.anonymous
            .post(app.url("/v1/orders"))
            .bearer_auth(token(&ada))
            .header(name, key)
            .json(&json!({"symbol": "MOCK", "side": "BUY", "type": "LIMIT", "quantity": "1", "limitPrice": "90"}))
            .send()
    };
    let retry = under("Idempotency-Key", "shared-key").await.unwrap();
    assert_eq!(retry.json::<Value>().await.unwrap()["orderId"], first["orderId"], "Idempotency-Key is X-Idempotency-Key");
    let fresh: Value = under("Idempotency-Key", "draft-key").await.unwrap().json().await.unwrap();
    let retry: Value = under("X-Idempotency-Key", "draft-key").await.unwrap().json().await.unwrap();
    assert_eq!(retry["orderId"], fresh["orderId"]);
    let both = app
        .anonymous
        .post(app.url("/v1/orders"))
        .bearer_auth(token(&ada))
        .header("X-Idempotency-Key", "one")
        .header("Idempotency-Key", "two")
        .json(&json!({"symbol": "MOCK", "side": "BUY", "type": "LIMIT", "quantity": "1", "limitPrice": "90"}))
        .send()
        .await
        .unwrap();
    assert_eq!(both.status(), 400, "two keys");

    for key in ["", &"k".repeat(256), "tab\there"] {
        let response = place(&ada, key, "1").await;
        let Ok(response) = response else { continue }; // a header the client itself refuses
        assert_eq!(response.status(), 400, "key {key:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_idempotency_key");
        assert_eq!(body["error"]["details"]["header"], "X-Idempotency-Key");
    }
    // A bad key is named as the client sent it.
    let response = under("Idempotency-Key", "tab\tkey").await.unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["details"]["header"], "Idempotency-Key", "{body}");
    assert!(body["error"]["message"].as_str().unwrap().starts_with("Idempotency-Key: "), "{body}");
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

/// What a user or an organisation holds under a key is held once: a second webhook for a
/// URL, a second waiting price alert alike in every field, a second live API key or group
/// of one name, a second organisation of one name (letter case aside) is 409 with a code
/// saying which; once the first is deleted or revoked, the key is free again. Several at
/// once: one is stored.
#[tokio::test]
async fn what_is_held_under_a_key_is_held_once() {
    let app = spawn_app().await;
    let ada = register(&app, "once@example.com").await;
    let access = token(&ada);
    let post = |path: &'static str, body: Value| {
        let (app, access) = (&app, access.clone());
        async move { call(app, &app.anonymous, Method::POST, path, Some(&access), Some(body)).await }
    };
    let delete = |path: String| {
        let (app, access) = (&app, access.clone());
        async move { call(app, &app.anonymous, Method::DELETE, &path, Some(&access), None).await.0 }
    };
    let cases: [(&str, Value, Value, &str, &str); 3] = [
        ("/v1/webhooks", json!({"url": "https://hooks.example.com/a"}), json!({"url": "https://hooks.example.com/a"}), "webhook_exists", "webhookId"),
        (
            "/v1/price-alerts",
            json!({"symbol": "MOCK", "direction": "ABOVE", "price": "150"}),
            json!({"symbol": "MOCK", "direction": "ABOVE", "price": "150.00"}),
            "price_alert_exists",
            "alertId",
        ),
        ("/v1/api-keys", json!({"name": "My bot", "scopes": ["read"]}), json!({"name": "MY BOT", "scopes": ["trade"]}), "api_key_name_taken", "keyId"),
    ];
    for (path, first, again, code, id) in cases {
        let (status, created) = post(path, first.clone()).await;
        assert_eq!(status, 201, "{path}: {created}");
        let (status, refused) = post(path, again.clone()).await;
        assert_eq!((status, refused["error"]["code"].as_str()), (409, Some(code)), "{path}: {refused}");
        // Not the same in every field: another one.
        let mut other = first.clone();
        match path {
            "/v1/webhooks" => other["url"] = json!("https://hooks.example.com/b"),
            "/v1/price-alerts" => other["direction"] = json!("BELOW"),
            _ => other["name"] = json!("My other bot"),
        }
        let (status, body) = post(path, other).await;
        assert_eq!(status, 201, "{path}: {body}");
        assert_eq!(delete(format!("{path}/{}", created[id].as_str().unwrap())).await, 204, "{path}");
        let (status, body) = post(path, again).await;
        assert_eq!(status, 201, "{path}: free again once the first is gone: {body}");
    }
    let racing = futures_util::future::join_all((0..5).map(|_| post("/v1/webhooks", json!({"url": "https://hooks.example.com/race"})))).await;
    let mut statuses: Vec<u16> = racing.iter().map(|(status, _)| *status).collect();
    statuses.sort();
    assert_eq!(statuses, [201, 409, 409, 409, 409], "{racing:?}");

    // An administrator's organisations and an organisation's groups.
    let (status, school) = app.post("/v1/organisations", json!({"name": "Riverside"})).await;
    assert_eq!(status, 201, "{school}");
    // Letter case of any alphabet (the embedded store's SQLite folds only ASCII's itself).
    let (status, _) = app.post("/v1/organisations", json!({"name": "Ölberg Schule"})).await;
    assert_eq!(status, 201);
    for name in ["RIVERSIDE", "ölberg schule"] {
        let (status, refused) = app.post("/v1/organisations", json!({"name": name})).await;
        assert_eq!((status, refused["error"]["code"].as_str()), (409, Some("organisation_name_taken")), "{name}: {refused}");
    }
    let groups = format!("/v1/organisations/{}/groups", school["organisationId"].as_str().unwrap());
    let (status, _) = app.post(&groups, json!({"name": "Year 10"})).await;
    assert_eq!(status, 201);
    let (status, refused) = app.post(&groups, json!({"name": "year 10"})).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (409, Some("group_name_taken")), "{refused}");
    let (_, organisation) = app.get(&format!("/v1/organisations/{}", school["organisationId"].as_str().unwrap())).await;
    assert_eq!(organisation["groups"].as_array().map(Vec::len), Some(1), "{organisation}");
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
        (order(json!({"clientOrderId": "x".repeat(129)})), "clientOrderId"),
        (json!({"symbol": "MOCK", "side": "BUY", "type": "MARKET", "notional": "10", "quantity": "1"}), "notional"),
        // What the engine would refuse only as "invalid", named here.
        (json!({"symbol": "MOCK", "side": "SELL", "type": "TRAILING_STOP", "quantity": "1", "trailPercent": "150"}), "trailPercent"),
        (order(json!({"postOnly": true, "timeInForce": "IOC"})), "postOnly"),
        (order(json!({"postOnly": true, "timeInForce": "OPG"})), "postOnly"),
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
        (json!({"email": "a@b..com", "password": "correct horse"}), "email"),
        (json!({"email": ".ada@example.com", "password": "correct horse"}), "email"),
        (json!({"email": "\u{ff41}da@example.com", "password": "correct horse"}), "email"),
        (json!({"email": "y@example.com", "password": "correct horse", "username": "n".repeat(65)}), "username"),
    ] {
        let (status, answer) = call(&app, &app.anonymous, Method::POST, "/v1/auth/register", None, Some(body.clone())).await;
        assert_eq!((status, answer["error"]["details"]["field"].as_str()), (400, Some(field)), "{body}: {answer}");
    }
    let (status, answer) = call(&app, &app.client, Method::POST, "/v1/organisations", None, Some(json!({"name": 5}))).await;
    assert_eq!((status, answer["error"]["details"]["field"].as_str()), (400, Some("name")));
    let (status, answer) = call(&app, &app.client, Method::POST, "/v1/accounts", None, Some(json!({"userId": {}}))).await;
    assert_eq!((status, answer["error"]["details"]["field"].as_str()), (400, Some("userId")), "an account made with a new id");
    // A megabyte body is refused before anything reads it, and the client gets the answer
    // every time (answering while it still sent once left it a broken connection).
    let huge = json!({"email": "z@example.com", "password": "p".repeat(1 << 20)});
    let mut answer = Value::Null;
    for _ in 0..10 {
        let status;
        (status, answer) = call(&app, &app.anonymous, Method::POST, "/v1/auth/register", None, Some(huge.clone())).await;
        assert_eq!((status, answer["error"]["code"].as_str()), (413, Some("payload_too_large")), "{answer}");
    }
    let said = answer["error"]["message"].clone();
    assert_eq!(said, "the request body is larger than 64 KiB", "{answer}");
    // Whichever layer finds a body over the limit (a JSON body, a keyed request, an
    // operation that takes no body, an avatar) answers alike.
    let ada = register(&app, "too-large@example.com").await;
    let big = vec![b'x'; 70 * 1_024];
    for (path, content_type, keyed) in
        [("/v1/webhooks", "application/json", true), ("/v1/notifications/read", "application/json", false), ("/v1/me/avatar", "image/png", false)]
    {
        let method = if path == "/v1/me/avatar" { Method::PUT } else { Method::POST };
        let mut request = app.anonymous.request(method, app.url(path)).bearer_auth(token(&ada)).header("content-type", content_type).body(big.clone());
        if keyed {
            request = request.header("x-idempotency-key", "too-large-1");
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let answer: Value = response.json().await.unwrap();
        assert_eq!((status, answer["error"]["code"].as_str(), &answer["error"]["message"]), (413, Some("payload_too_large"), &said), "{path}: {answer}");
    }
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

/// A symbol and a client order id have one grammar and one length, the engine's, on `/v1`,
/// on `/v2` and in the OpenAPI document: a UUID (36 characters, what bots send as
/// Alpaca's `client_order_id`) and Alpaca's longest, 128 characters, are taken everywhere,
/// 129 characters nowhere.
#[tokio::test]
async fn symbols_and_client_order_ids_have_one_limit_on_every_surface() {
    let app = spawn_app().await;
    let ada = register(&app, "limits-of-ids@example.com").await;
    let access = token(&ada);
    let (_, document) = app.get("/openapi.json").await;
    let schemas = &document["components"]["schemas"];
    let property = |schema: &str, name: &str| {
        let mut found = &schemas[schema]["properties"][name];
        loop {
            if let Some(target) = found["$ref"].as_str() {
                found = &schemas[target.rsplit('/').next().unwrap()];
            } else if found["oneOf"].is_array() {
                found = &found["oneOf"][0];
            } else {
                return found["maxLength"].as_u64();
            }
        }
    };
    assert_eq!(property("PlaceOrderRequest", "clientOrderId"), Some(128), "{}", schemas["PlaceOrderRequest"]);
    assert_eq!(property("OrderRequest", "client_order_id"), Some(128), "{}", schemas["OrderRequest"]);
    assert_eq!(property("PlaceOrderRequest", "symbol"), Some(15), "{}", schemas["PlaceOrderRequest"]);
    assert_eq!(property("OrderRequest", "symbol"), Some(15), "{}", schemas["OrderRequest"]);

    let uuid = "6f1c8a2e-4b7d-4e0a-9c3b-2d5e8f7a1b40";
    let longest = "y".repeat(128);
    let too_long = "x".repeat(129);
    let native = |client_order_id: &str| json!({"symbol": "MOCK", "side": "BUY", "type": "LIMIT", "quantity": "1", "limitPrice": "90", "clientOrderId": client_order_id});
    let (status, placed) = call(&app, &app.anonymous, Method::POST, "/v1/orders", Some(&access), Some(native(uuid))).await;
    assert_eq!(status, 202, "{placed}");
    let (status, placed) = call(&app, &app.anonymous, Method::POST, "/v1/orders", Some(&access), Some(native(&longest))).await;
    assert_eq!((status, placed["clientOrderId"].as_str()), (202, Some(longest.as_str())), "{placed}");
    let (status, refused) = call(&app, &app.anonymous, Method::POST, "/v1/orders", Some(&access), Some(native(&too_long))).await;
    assert_eq!((status, refused["error"]["details"]["field"].as_str()), (400, Some("clientOrderId")), "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("at most 128"), "{refused}");

    let alpaca = |client_order_id: &str| json!({"symbol": "mock", "side": "buy", "type": "limit", "qty": "1", "limit_price": "90", "time_in_force": "gtc", "client_order_id": client_order_id});
    let other = "0b7e5c1d-2f3a-4c5b-8d6e-7f8091a2b3c4";
    let (status, order) = call(&app, &app.anonymous, Method::POST, "/v2/orders", Some(&access), Some(alpaca(other))).await;
    assert_eq!((status, order["client_order_id"].as_str()), (200, Some(other)), "{order}");
    let (status, found) = call(&app, &app.anonymous, Method::GET, &format!("/v2/orders:by_client_order_id?client_order_id={other}"), Some(&access), None).await;
    assert_eq!((status, &found["id"]), (200, &order["id"]), "{found}");
    // Placed without one, an order shows its UUID as its client order id, and is found by it
    // (as Alpaca finds an order by the client order id it made up), by that exact text only.
    let mut unnamed = alpaca(other);
    unnamed.as_object_mut().unwrap().remove("client_order_id");
    let (status, order) = call(&app, &app.anonymous, Method::POST, "/v2/orders", Some(&access), Some(unnamed)).await;
    assert_eq!((status, &order["client_order_id"]), (200, &order["id"]), "{order}");
    let shown = order["client_order_id"].as_str().unwrap();
    let (status, found) = call(&app, &app.anonymous, Method::GET, &format!("/v2/orders:by_client_order_id?client_order_id={shown}"), Some(&access), None).await;
    assert_eq!((status, &found["id"]), (200, &order["id"]), "{found}");
    let bob = register(&app, "limits-of-ids-bob@example.com").await;
    let (status, found) =
        call(&app, &app.anonymous, Method::GET, &format!("/v2/orders:by_client_order_id?client_order_id={shown}"), Some(&token(&bob)), None).await;
    assert_eq!(status, 404, "another user's order is not found by its shown id: {found}");
    // So no client's own id takes that form, in any letter case, on placing or replacing
    // (on either API): it would name two orders.
    let id = order["id"].as_str().unwrap();
    for taken in [shown.to_owned(), shown.to_uppercase(), "74630000-0000-0002-0000-0000000f4240".to_owned()] {
        let (status, refused) = call(&app, &app.anonymous, Method::POST, "/v2/orders", Some(&access), Some(alpaca(&taken))).await;
        assert_eq!(status, 400, "{refused}");
        assert!(refused["message"].as_str().unwrap().contains("the form of this server's order ids"), "{refused}");
        let (status, refused) = call(&app, &app.anonymous, Method::POST, "/v1/orders", Some(&access), Some(native(&taken))).await;
        assert_eq!((status, refused["error"]["details"]["field"].as_str()), (400, Some("clientOrderId")), "{refused}");
        let renamed = json!({"client_order_id": taken});
        let (status, refused) = call(&app, &app.anonymous, Method::PATCH, &format!("/v2/orders/{id}"), Some(&access), Some(renamed)).await;
        assert_eq!(status, 400, "{refused}");
        assert!(refused["message"].as_str().unwrap().contains("the form of this server's order ids"), "{refused}");
    }
    let (status, found) = call(&app, &app.anonymous, Method::GET, &format!("/v2/orders:by_client_order_id?client_order_id={shown}"), Some(&access), None).await;
    assert_eq!((status, &found["id"]), (200, &order["id"]), "still the one order: {found}");
    let (status, order) = call(&app, &app.anonymous, Method::POST, "/v2/orders", Some(&access), Some(alpaca(&"z".repeat(128)))).await;
    assert_eq!((status, order["client_order_id"].as_str().map(str::len)), (200, Some(128)), "{order}");
    let (status, refused) = call(&app, &app.anonymous, Method::POST, "/v2/orders", Some(&access), Some(alpaca(&too_long))).await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused["message"].as_str().unwrap().starts_with("client_order_id: at most 128"), "{refused}");

    // A symbol is refused for its grammar, not for a shorter length than the engine's.
    let (status, refused) =
        call(&app, &app.anonymous, Method::POST, "/v1/orders", Some(&access), Some(json!({"symbol": "ABCDEFGHIJKLMN", "side": "BUY", "quantity": "1"}))).await;
    assert_ne!(refused["error"]["details"]["field"].as_str(), Some("symbol"), "{status} {refused}");
    for symbol in ["ABCDEFGHIJKLMNOP", "mock", "MO CK"] {
        let (status, refused) =
            call(&app, &app.anonymous, Method::POST, "/v1/orders", Some(&access), Some(json!({"symbol": symbol, "side": "BUY", "quantity": "1"}))).await;
        assert_eq!((status, refused["error"]["details"]["field"].as_str()), (400, Some("symbol")), "{symbol}: {refused}");
    }
    let (_, orders) = call(&app, &app.anonymous, Method::GET, "/v1/orders", Some(&access), None).await;
    assert_eq!(orders["orders"].as_array().unwrap().len(), 5, "only the five orders taken: {orders}");
}

/// `/v2` answers a refused order field as Alpaca does: 422, in the words of Alpaca's
/// request (`qty`, `limit_price`, `market`), never in `/v1`'s (`quantity`, `limitPrice`).
#[tokio::test]
async fn alpaca_order_refusals_name_alpaca_fields() {
    let app = spawn_app().await;
    let ada = register(&app, "alpaca-words@example.com").await;
    let access = token(&ada);
    let order = |fields: Value| {
        let mut body = json!({"symbol": "MOCK", "side": "buy", "type": "limit", "qty": "1", "limit_price": "90", "time_in_force": "gtc"});
        for (key, value) in fields.as_object().unwrap() {
            if value.is_null() {
                body.as_object_mut().unwrap().remove(key);
            } else {
                body[key] = value.clone();
            }
        }
        body
    };
    for (fields, starts) in [
        (json!({"limit_price": null}), "limit_price: required for a limit order"),
        (json!({"type": "market"}), "limit_price: not allowed on a market order"),
        (json!({"qty": "0"}), "qty: must be greater than 0"),
        (json!({"qty": null}), "qty: required"),
        (json!({"notional": "10", "type": "market", "limit_price": null}), "notional: give qty or notional"),
        (json!({"qty": "1.5"}), "rejected: qty off lot"),
        (json!({"time_in_force": "GTC"}), "time_in_force: must be"),
        // A wrong word longer than any right one is refused for what it is, not its length.
        (json!({"time_in_force": "good_till_cancel"}), "time_in_force: must be day, gtc"),
        (json!({"side": "short_sell"}), "side: must be buy or sell"),
        (json!({"type": "market_on_close"}), "type: must be market, limit"),
    ] {
        let (status, answer) = call(&app, &app.anonymous, Method::POST, "/v2/orders", Some(&access), Some(order(fields.clone()))).await;
        let message = answer["message"].as_str().unwrap_or_default();
        assert_eq!(status, 422, "{fields}: {answer}");
        assert!(message.starts_with(starts), "{fields}: {message}");
        for native in ["quantity", "limitPrice", "stopPrice", "clientOrderId", "LIMIT", "MARKET"] {
            assert!(!message.split(|c: char| !c.is_ascii_alphanumeric() && c != '_').any(|word| word == native), "{fields}: {message}");
        }
    }
    let (_, orders) = call(&app, &app.anonymous, Method::GET, "/v2/orders?status=all", Some(&access), None).await;
    assert_eq!(orders, json!([]), "nothing refused was placed");

    // Replacing an order: the same words.
    let (status, placed) = call(&app, &app.anonymous, Method::POST, "/v2/orders", Some(&access), Some(order(json!({})))).await;
    assert_eq!(status, 200, "{placed}");
    let path = format!("/v2/orders/{}", placed["id"].as_str().unwrap());
    for (body, starts) in [(json!({"qty": "0"}), "qty: must be greater than 0"), (json!({"limit_price": "-1"}), "limit_price: must be greater than 0")] {
        let (status, answer) = call(&app, &app.anonymous, Method::PATCH, &path, Some(&access), Some(body.clone())).await;
        assert_eq!(status, 422, "{body}: {answer}");
        assert!(answer["message"].as_str().unwrap_or_default().starts_with(starts), "{body}: {answer}");
    }
}

/// `POST /v2/orders` is as safe to retry as `/v1`: by `client_order_id` (Alpaca's way) or by
/// `X-Idempotency-Key`. A retry answers the first order; another order under the same id
/// or key is refused, and nothing is placed twice.
#[tokio::test]
async fn alpaca_orders_retried_by_client_order_id_or_key_are_placed_once() {
    let app = spawn_app().await;
    let ada = register(&app, "alpaca-retries@example.com").await;
    let access = token(&ada);
    let buy = |qty: &str, client_order_id: Option<&str>| {
        let mut body = json!({"symbol": "MOCK", "side": "buy", "type": "market", "qty": qty, "time_in_force": "day"});
        if let Some(id) = client_order_id {
            body["client_order_id"] = json!(id);
        }
        body
    };
    let post = |body: Value, key: Option<&'static str>| {
        let mut request = app.anonymous.post(app.url("/v2/orders")).bearer_auth(&access).json(&body);
        if let Some(key) = key {
            request = request.header("x-idempotency-key", key);
        }
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };
    let (status, first) = post(buy("2", Some("retry-me")), None).await;
    assert_eq!((status, first["status"].as_str()), (200, Some("filled")), "{first}");
    let (status, again) = post(buy("2", Some("retry-me")), None).await;
    assert_eq!((status, &again["id"]), (200, &first["id"]), "{again}");
    let (status, other) = post(buy("5", Some("retry-me")), None).await;
    assert_eq!((status, other["message"].as_str()), (422, Some("client_order_id must be unique")), "{other}");

    let (status, keyed) = post(buy("1", None), Some("alpaca-key-1")).await;
    assert_eq!(status, 200, "{keyed}");
    let (status, repeated) = post(buy("1", None), Some("alpaca-key-1")).await;
    assert_eq!((status, &repeated["id"]), (200, &keyed["id"]), "{repeated}");
    let (status, reused) = post(buy("4", None), Some("alpaca-key-1")).await;
    assert_eq!(status, 422, "{reused}");

    let (_, orders) = call(&app, &app.anonymous, Method::GET, "/v2/orders?status=all", Some(&access), None).await;
    assert_eq!(orders.as_array().unwrap().len(), 2, "two orders, each placed once: {orders}");
    let (_, positions) = call(&app, &app.anonymous, Method::GET, "/v2/positions", Some(&access), None).await;
    assert_eq!(positions[0]["qty"], "3", "{positions}");
}

/// Names people see (profiles, organisations, keys, accounts, watchlists) are never blank
/// and never carry invisible characters that make one name look like another.
#[tokio::test]
async fn names_are_never_blank_nor_disguised() {
    let app = spawn_app().await;
    let ada = register(&app, "names@example.com").await;
    let access = token(&ada);
    type Body = fn(&str) -> Value;
    let routes: [(Method, &str, Body, &str, u16); 5] = [
        (Method::PUT, "/v1/me/profile", |name| json!({"displayName": name, "public": true}), "displayName", 400),
        (Method::POST, "/v1/api-keys", |name| json!({"name": name, "scopes": ["read"]}), "name", 400),
        (Method::POST, "/v1/me/accounts", |name| json!({"name": name}), "name", 400),
        (Method::POST, "/v1/organisations", |name| json!({"name": name}), "name", 400),
        (Method::POST, "/v2/watchlists", |name| json!({"name": name, "symbols": []}), "name", 422),
    ];
    for (method, path, body, field, blank_status) in &routes {
        // Organisations are made by admins: the operator's key.
        let call_as = |body: Value| {
            let mut request = app.anonymous.request(method.clone(), app.url(path)).json(&body);
            request = if *path == "/v1/organisations" { request.header("x-api-key", crate::helpers::ADMIN_KEY) } else { request.bearer_auth(&access) };
            async move {
                let response = request.send().await.unwrap();
                (response.status().as_u16(), response.json::<Value>().await.unwrap_or(Value::Null))
            }
        };
        for blank in ["", "   "] {
            let (status, answer) = call_as(body(blank)).await;
            assert_eq!(status, *blank_status, "{path} {blank:?}: {answer}");
            let message = answer["error"]["message"].as_str().or(answer["message"].as_str()).unwrap_or_default().to_owned();
            assert!(message.contains(field) && (message.contains("blank") || message.contains("required")), "{path} {blank:?}: {answer}");
        }
        for disguised in ["\u{202E}evil", "pay\u{200B}pal"] {
            let (status, answer) = call_as(body(disguised)).await;
            assert_eq!(status, 400, "{path} {disguised:?}: {answer}");
            let message = answer["error"]["message"].as_str().or(answer["message"].as_str()).unwrap_or_default().to_owned();
            assert!(message.contains("invisible formatting"), "{path} {disguised:?}: {answer}");
        }
    }
    // Nothing refused was stored.
    let (_, keys) = call(&app, &app.anonymous, Method::GET, "/v1/api-keys", Some(&access), None).await;
    assert_eq!(keys["keys"].as_array().map(Vec::len).or(keys.as_array().map(Vec::len)), Some(0), "{keys}");
    let (_, accounts) = call(&app, &app.anonymous, Method::GET, "/v1/me/accounts", Some(&access), None).await;
    assert_eq!(accounts["accounts"].as_array().map(Vec::len), Some(1), "the default account only: {accounts}");
}

/// A revocation made through one gateway (a logout, a revoked key) is honoured by every
/// other gateway within the auth cache's second, even one that had just accepted the
/// credential (on the embedded server both are the one gateway).
#[tokio::test]
async fn a_revocation_through_one_gateway_is_honoured_by_the_others_within_a_second() {
    let app = spawn_app().await;
    let other = format!("http://{}", app.other_gateway);
    let ada = register(&app, "two-gateways@example.com").await;
    let access = token(&ada);
    let (_, key) = call(&app, &app.anonymous, Method::POST, "/v1/api-keys", Some(&access), Some(json!({"name": "bot", "scopes": ["read"]}))).await;
    let (key_id, secret) = (key["keyId"].as_str().unwrap().to_owned(), key["apiKey"].as_str().unwrap().to_owned());
    let on_other = |bearer: Option<&str>, api_key: Option<&str>| {
        let mut request = app.anonymous.get(format!("{other}/v1/me/export"));
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        if let Some(api_key) = api_key {
            request = request.header("x-api-key", api_key);
        }
        async move { request.send().await.unwrap().status().as_u16() }
    };
    // The other gateway takes (and remembers) both.
    assert_eq!(on_other(Some(&access), None).await, 200);
    assert_eq!(on_other(None, Some(&secret)).await, 200);

    let (status, _) = call(&app, &app.anonymous, Method::DELETE, &format!("/v1/api-keys/{key_id}"), Some(&access), None).await;
    assert_eq!(status, 204);
    let (status, _) = call(&app, &app.anonymous, Method::POST, "/v1/auth/logout", None, Some(json!({"refreshToken": ada["refreshToken"]}))).await;
    assert_eq!(status, 204);
    let revoked = std::time::Instant::now();
    loop {
        let (token_status, key_status) = (on_other(Some(&access), None).await, on_other(None, Some(&secret)).await);
        if (token_status, key_status) == (401, 401) {
            break;
        }
        assert!(revoked.elapsed() < std::time::Duration::from_millis(2_500), "still honoured after {:?}: {token_status} {key_status}", revoked.elapsed());
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A watchlist `PUT` keeps what it leaves out, and a `null` is not "left out": the
/// document says a name is a string.
#[tokio::test]
async fn a_watchlist_put_keeps_what_it_leaves_out_and_refuses_a_null_name() {
    let app = spawn_app().await;
    let ada = register(&app, "watchlists@example.com").await;
    let access = token(&ada);
    let (status, created) = call(&app, &app.anonymous, Method::POST, "/v2/watchlists", Some(&access), Some(json!({"name": "tech", "symbols": ["MOCK"]}))).await;
    assert_eq!(status, 200, "{created}");
    let path = format!("/v2/watchlists/{}", created["id"].as_str().unwrap());
    for body in [json!({"name": null, "symbols": []}), json!({}), json!({"name": "  "})] {
        let (status, answer) = call(&app, &app.anonymous, Method::PUT, &path, Some(&access), Some(body.clone())).await;
        assert_eq!(status, 422, "{body}: {answer}");
    }
    let (status, renamed) = call(&app, &app.anonymous, Method::PUT, &path, Some(&access), Some(json!({"name": "renamed"}))).await;
    assert_eq!((status, renamed["name"].as_str(), renamed["assets"].as_array().map(Vec::len)), (200, Some("renamed"), Some(1)), "{renamed}");
    let (status, emptied) = call(&app, &app.anonymous, Method::PUT, &path, Some(&access), Some(json!({"symbols": []}))).await;
    assert_eq!((status, emptied["name"].as_str(), emptied["assets"].as_array().map(Vec::len)), (200, Some("renamed"), Some(0)), "{emptied}");
}

/// A creating request sent with `X-Idempotency-Key`.
async fn keyed(app: &TestApp, gateway: std::net::SocketAddr, token: &str, path: &str, key: &str, body: Value) -> (u16, Value, bool) {
    let response = app.anonymous.post(format!("http://{gateway}{path}")).bearer_auth(token).header("X-Idempotency-Key", key).json(&body).send().await.unwrap();
    let replayed = response.headers().get("idempotent-replayed").is_some_and(|value| value == "true");
    let (status, body) = crate::helpers::checked("POST", path, response).await;
    (status, body, replayed)
}

/// Every creating request, not only orders, takes `X-Idempotency-Key`: a retry (on
/// either gateway) gets the first answer and creates nothing more; the key with another
/// request is refused; a refused request gives its key back; keys belong to their caller;
/// an answer holding a secret is not given twice.
#[tokio::test]
async fn creating_requests_retried_with_an_idempotency_key_take_effect_once() {
    let app = spawn_app().await;
    let (ada, bob) = (register(&app, "retry-ada@example.com").await, register(&app, "retry-bob@example.com").await);
    let (access, bob_access) = (token(&ada), token(&bob));
    let gateways = [app.address, app.other_gateway];
    let count = |path: &'static str, field: &'static str, token: String| {
        let app = &app;
        async move {
            let (status, listed) = call(app, &app.anonymous, Method::GET, path, Some(&token), None).await;
            assert_eq!(status, 200, "{listed}");
            if field.is_empty() { listed.as_array().unwrap().len() } else { listed[field].as_array().unwrap().len() }
        }
    };

    let hook = json!({"url": "https://hooks.example.com/a"});
    let (status, first, replayed) = keyed(&app, gateways[0], &access, "/v1/webhooks", "hook-1", hook.clone()).await;
    assert_eq!((status, replayed), (201, false), "{first}");
    for gateway in gateways {
        let (status, again, replayed) = keyed(&app, gateway, &access, "/v1/webhooks", "hook-1", hook.clone()).await;
        assert_eq!((status, &again, replayed), (201, &first, true), "a retry gets the first answer");
    }
    // The same object with its fields in another order is the same request.
    let (status, again, _) = keyed(&app, gateways[1], &access, "/v1/webhooks", "hook-1", json!({"url": "https://hooks.example.com/a"})).await;
    assert_eq!((status, again), (201, first));
    assert_eq!(count("/v1/webhooks", "webhooks", access.clone()).await, 1, "one webhook");
    let retry = app.anonymous.post(app.url("/v1/webhooks")).bearer_auth(&access).header("Idempotency-Key", "hook-1").json(&hook).send().await.unwrap();
    assert_eq!(retry.headers().get("idempotent-replayed").map(|value| value.as_bytes()), Some(&b"true"[..]), "the draft's header name");
    assert_eq!(count("/v1/webhooks", "webhooks", access.clone()).await, 1, "one webhook");
    let (status, reused, _) = keyed(&app, gateways[0], &access, "/v1/webhooks", "hook-1", json!({"url": "https://hooks.example.com/b"})).await;
    assert_eq!((status, reused["error"]["code"].as_str()), (409, Some("idempotency_key_reused")), "{reused}");
    let (status, theirs, _) = keyed(&app, gateways[0], &bob_access, "/v1/webhooks", "hook-1", json!({"url": "https://hooks.example.com/b"})).await;
    assert_eq!(status, 201, "another user's key collided: {theirs}");

    // A refusal writes nothing and gives the key back.
    let (status, _, _) = keyed(&app, gateways[0], &access, "/v1/webhooks", "hook-2", json!({"url": "ftp://x"})).await;
    assert_eq!(status, 400);
    let (status, created, replayed) = keyed(&app, gateways[1], &access, "/v1/webhooks", "hook-2", json!({"url": "https://hooks.example.com/c"})).await;
    assert_eq!((status, replayed), (201, false), "{created}");
    assert_eq!(count("/v1/webhooks", "webhooks", access.clone()).await, 2);

    // A practice account (engine commands and the store), a watchlist (Alpaca's errors).
    let practice = json!({"name": "retry", "cash": "5000"});
    let (status, opened, _) = keyed(&app, gateways[0], &access, "/v1/me/accounts", "acct-1", practice.clone()).await;
    assert_eq!(status, 201, "{opened}");
    let (status, again, replayed) = keyed(&app, gateways[1], &access, "/v1/me/accounts", "acct-1", practice).await;
    assert_eq!((status, &again, replayed), (201, &opened, true));
    assert_eq!(count("/v1/me/accounts", "accounts", access.clone()).await, 2, "the default account and one practice account");
    let list = json!({"name": "retried", "symbols": ["MOCK"]});
    let (status, watchlist, _) = keyed(&app, gateways[0], &access, "/v2/watchlists", "list-1", list.clone()).await;
    assert_eq!(status, 200, "{watchlist}");
    let (status, again, replayed) = keyed(&app, gateways[1], &access, "/v2/watchlists", "list-1", list).await;
    assert_eq!((status, &again, replayed), (200, &watchlist, true));
    let (status, reused, _) = keyed(&app, gateways[0], &access, "/v2/watchlists", "list-1", json!({"name": "other"})).await;
    assert_eq!((status, reused["message"].as_str().is_some_and(|message| message.contains("another request"))), (422, true), "{reused}");
    assert_eq!(count("/v2/watchlists", "", access.clone()).await, 1);

    // An API key's secret is shown once: the retry says which key the first request made.
    let (status, minted, _) = keyed(&app, gateways[0], &access, "/v1/api-keys", "mint-1", json!({"scopes": ["read"]})).await;
    assert_eq!(status, 201, "{minted}");
    let (status, again, _) = keyed(&app, gateways[1], &access, "/v1/api-keys", "mint-1", json!({"scopes": ["read"]})).await;
    assert_eq!(status, 409, "{again}");
    assert_eq!(again["error"]["code"], "idempotency_key_applied");
    assert!(again["error"]["message"].as_str().unwrap().contains(minted["keyId"].as_str().unwrap()), "{again}");
    assert!(again.to_string().find(minted["apiKey"].as_str().unwrap()).is_none(), "the secret was given twice");
    assert_eq!(count("/v1/api-keys", "keys", access.clone()).await, 1);

    // A key does not turn a wrong method or path into an answer.
    for (method, path, status) in [(Method::PATCH, "/v1/webhooks", 405), (Method::POST, "/v1/webhookz", 404)] {
        let response = app.anonymous.request(method, app.url(path)).bearer_auth(&access).header("X-Idempotency-Key", "hook-1").send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{path}");
    }

    // The document says so, on every creating operation but the order routes'.
    let (_, document) = app.get("/openapi.json").await;
    for (path, method) in [("/v1/webhooks", "post"), ("/v1/me/accounts", "post"), ("/v2/watchlists", "post"), ("/v2/orders/{order_id}", "patch")] {
        let operation = &document["paths"][path][method];
        let header = operation["parameters"].as_array().unwrap().iter().find(|parameter| parameter["name"] == "X-Idempotency-Key");
        assert_eq!(header.map(|header| &header["in"]), Some(&json!("header")), "{method} {path}");
        let alias = operation["parameters"].as_array().unwrap().iter().find(|parameter| parameter["name"] == "Idempotency-Key");
        assert_eq!(alias.map(|header| &header["in"]), Some(&json!("header")), "{method} {path}");
        let refusal = if path.starts_with("/v2/") { "422" } else { "409" };
        assert!(operation["responses"][refusal]["description"].as_str().unwrap().contains("idempotency_key_reused"), "{method} {path}");
    }
    let header_count =
        document["paths"]["/v1/orders"]["post"]["parameters"].as_array().unwrap().iter().filter(|parameter| parameter["name"] == "X-Idempotency-Key").count();
    assert_eq!(header_count, 1, "orders document their own key once");
    for (path, method) in [("/v1/orders", "post"), ("/v2/orders", "post")] {
        let names: Vec<&Value> = document["paths"][path][method]["parameters"].as_array().unwrap().iter().map(|parameter| &parameter["name"]).collect();
        assert!(names.contains(&&json!("Idempotency-Key")), "{method} {path}: {names:?}");
    }
}

/// Keys are one namespace per caller, whoever keeps them (the engine an order's, the read
/// store another request's): an order's key refuses another request, another request's
/// key refuses an order, through either gateway and on /v1 and /v2 alike; a request
/// refused for a bad field spent nothing, so an order may have its key.
#[tokio::test]
async fn an_idempotency_key_spent_by_one_kind_of_request_refuses_the_other() {
    let app = spawn_app().await;
    let ada = register(&app, "one-namespace@example.com").await;
    let access = token(&ada);
    let [first, second] = [app.address, app.other_gateway];
    let order = json!({"symbol": "MOCK", "side": "BUY", "type": "LIMIT", "quantity": "1", "limitPrice": "100"});
    let alpaca_order = json!({"symbol": "MOCK", "side": "buy", "type": "limit", "qty": "1", "limit_price": "100", "time_in_force": "gtc"});
    let orders = || async {
        let (status, listed) = call(&app, &app.anonymous, Method::GET, "/v1/orders", Some(&access), None).await;
        assert_eq!(status, 200, "{listed}");
        listed["orders"].as_array().unwrap().len()
    };

    let (status, placed, _) = keyed(&app, first, &access, "/v1/orders", "spent-by-order", order.clone()).await;
    assert_eq!(status, 202, "{placed}");
    let (status, refused, _) = keyed(&app, second, &access, "/v1/me/accounts", "spent-by-order", json!({"name": "practice"})).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (409, Some("idempotency_key_reused")), "{refused}");
    let (status, refused, _) = keyed(&app, first, &access, "/v2/watchlists", "spent-by-order", json!({"name": "tech"})).await;
    assert_eq!((status, refused["message"].as_str().is_some_and(|message| message.contains("another request"))), (422, true), "{refused}");
    let (status, listed) = call(&app, &app.anonymous, Method::GET, "/v1/me/accounts", Some(&access), None).await;
    assert_eq!((status, listed["accounts"].as_array().unwrap().len()), (200, 1), "no practice account: {listed}");

    let (status, hook, _) = keyed(&app, first, &access, "/v1/webhooks", "spent-by-hook", json!({"url": "https://hooks.example.com/n"})).await;
    assert_eq!(status, 201, "{hook}");
    let (status, refused, _) = keyed(&app, second, &access, "/v1/orders", "spent-by-hook", order.clone()).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (409, Some("idempotency_key_reused")), "{refused}");
    let (status, refused, _) = keyed(&app, first, &access, "/v2/orders", "spent-by-hook", alpaca_order).await;
    assert_eq!((status, refused["message"].as_str().is_some_and(|message| message.contains("another request"))), (422, true), "{refused}");
    assert_eq!(orders().await, 1, "only the first order was placed");

    let (status, refused, _) = keyed(&app, first, &access, "/v1/me/accounts", "refused-first", json!({"name": " "})).await;
    assert_eq!(status, 400, "{refused}");
    let (status, placed, _) = keyed(&app, second, &access, "/v1/orders", "refused-first", order).await;
    assert_eq!(status, 202, "a refused request spent nothing: {placed}");
    assert_eq!(orders().await, 2);
}

/// Retries racing the first request: one write, and every answer is the first one or
/// "not finished yet".
#[tokio::test]
async fn concurrent_retries_with_one_idempotency_key_create_one_resource() {
    let app = spawn_app().await;
    let ada = register(&app, "racing@example.com").await;
    let access = token(&ada);
    let hook = json!({"url": "https://hooks.example.com/race"});
    let attempts =
        (0..8).map(|attempt| keyed(&app, if attempt % 2 == 0 { app.address } else { app.other_gateway }, &access, "/v1/webhooks", "race", hook.clone()));
    let answers = futures_util::future::join_all(attempts).await;
    let created: Vec<&Value> = answers.iter().filter(|(status, _, _)| *status == 201).map(|(_, body, _)| body).collect();
    assert!(!created.is_empty(), "{answers:?}");
    assert!(created.iter().all(|body| *body == created[0]), "one webhook in every answer: {answers:?}");
    for (status, body, _) in &answers {
        let unfinished = *status == 409 && (body["error"]["code"] == "idempotency_key_in_use" || body["error"]["code"] == "idempotency_key_applied");
        assert!(*status == 201 || unfinished, "{status} {body}");
    }
    let (_, listed) = call(&app, &app.anonymous, Method::GET, "/v1/webhooks", Some(&access), None).await;
    assert_eq!(listed["webhooks"].as_array().unwrap().len(), 1, "{listed}");

    // Refusals racing each other give the key back as others claim it: each is a refusal
    // or "still running", never a failure.
    let attempts = (0..16).map(|_| keyed(&app, app.address, &access, "/v1/webhooks", "race-refused", json!({"url": "ftp://x"})));
    for (status, body, _) in futures_util::future::join_all(attempts).await {
        assert!(status == 400 || (status == 409 && body["error"]["code"] == "idempotency_key_in_use"), "{status} {body}");
    }
}

/// An order placed on `/v1` is found by its `/v1` id on `/v2` too (read, replaced,
/// cancelled): one order, one name on both surfaces, and still nobody else's.
#[tokio::test]
async fn an_orders_v1_id_names_it_on_v2() {
    let app = spawn_app().await;
    let (ada, eve) = (register(&app, "both@example.com").await, register(&app, "other@example.com").await);
    let access = token(&ada);
    let order = json!({"symbol": "MOCK", "side": "BUY", "type": "LIMIT", "quantity": "2", "limitPrice": "90"});
    let (status, placed) = call(&app, &app.anonymous, Method::POST, "/v1/orders", Some(&access), Some(order)).await;
    assert_eq!(status, 202, "{placed}");
    let id = placed["orderId"].as_str().unwrap();
    let path = format!("/v2/orders/{id}");
    let (status, shown) = call(&app, &app.anonymous, Method::GET, &path, Some(&access), None).await;
    assert_eq!((status, shown["qty"].as_str()), (200, Some("2")), "{shown}");
    let uuid = shown["id"].as_str().unwrap().to_owned();
    assert_eq!(call(&app, &app.anonymous, Method::GET, &path, Some(&token(&eve)), None).await.0, 404, "another user's order by its /v1 id");
    let (status, replaced) = call(&app, &app.anonymous, Method::PATCH, &path, Some(&access), Some(json!({"limit_price": "91"}))).await;
    assert_eq!((status, replaced["limit_price"].as_str()), (200, Some("91")), "{replaced}");
    let replacement = replaced["id"].as_str().unwrap().to_owned();
    let (status, _) = call(&app, &app.anonymous, Method::DELETE, &format!("/v2/orders/{replacement}"), Some(&access), None).await;
    assert_eq!(status, 204);
    let (_, closed) = call(&app, &app.anonymous, Method::GET, &format!("/v2/orders/{uuid}"), Some(&access), None).await;
    assert_ne!(closed["status"], "new", "{closed}");
    for bad in ["-1", "0x10", "12abc"] {
        assert_eq!(call(&app, &app.anonymous, Method::GET, &format!("/v2/orders/{bad}"), Some(&access), None).await.0, 404, "{bad}");
    }
}

/// A field the request does not have is refused on `/v1`, named, and changes nothing (a
/// `price` on a market order must not trade at any price; a misspelt limit must not lift
/// the limits): the OpenAPI document says `additionalProperties: false` for every `/v1`
/// body. The Alpaca-compatible `/v2` passes unknown fields over, as Alpaca's SDKs expect.
#[tokio::test]
async fn a_field_the_request_does_not_have_is_refused_on_v1_and_passed_over_on_v2() {
    let app = spawn_app().await;
    let document = tradecraft_api::openapi::document_json();
    let mut bodies = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let Some(schema) = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].as_str() else { continue };
            let component = &document["components"]["schemas"][schema.trim_start_matches("#/components/schemas/")];
            let closed = component["additionalProperties"] == json!(false);
            assert_eq!(closed, path.starts_with("/v1/"), "{method} {path}: {component}");
            bodies += 1;
        }
    }
    assert!(bodies >= 30, "only {bodies} documented bodies");

    let ada = register(&app, "unknown-fields@example.com").await;
    let (user, access) = (ada["userId"].as_str().unwrap().to_owned(), token(&ada));
    let (_, org) = app.post("/v1/organisations", json!({"name": "strict"})).await;
    let org = org["organisationId"].as_str().unwrap().to_owned();
    for (method, path, as_admin, body, field) in [
        (Method::POST, "/v1/orders".to_owned(), false, json!({"symbol": "MOCK", "side": "BUY", "quantity": "1", "price": "90"}), "price"),
        (
            Method::POST,
            "/v1/orders".to_owned(),
            false,
            json!({"symbol": "MOCK", "side": "BUY", "type": "LIMIT", "quantity": "1", "limitPrice": "90", "orderClass": "OTO", "stopLoss": {"stopPrice": "80", "trail": "1"}}),
            "stopLoss.trail",
        ),
        (Method::PUT, format!("/v1/limits/users/{user}"), true, json!({"maxOpenOrders": 3, "maxOrderQty": "5"}), "maxOrderQty"),
        (Method::PUT, format!("/v1/users/{user}/membership"), true, json!({"organisationId": org, "team": "a"}), "team"),
        (Method::POST, "/v1/webhooks".to_owned(), false, json!({"url": "http://127.0.0.1:9/x", "events": ["fill"]}), "events"),
        (Method::POST, "/v1/api-keys".to_owned(), false, json!({"name": "k", "scopes": ["read"], "expiresIn": 60}), "expiresIn"),
        (Method::POST, "/v1/me/accounts".to_owned(), false, json!({"name": "practice", "cash": "1000", "leverage": 4}), "leverage"),
        (Method::PUT, "/v1/me/profile".to_owned(), false, json!({"displayName": "Ada", "website": "x"}), "website"),
        (Method::POST, "/v1/price-alerts".to_owned(), false, json!({"symbol": "MOCK", "direction": "ABOVE", "price": "120", "repeat": true}), "repeat"),
        (Method::PUT, format!("/v1/users/{user}/role"), true, json!({"role": "viewer", "until": "tomorrow"}), "until"),
    ] {
        let before = state_of(&app, &access, &user, &org).await;
        let (status, answer) = if as_admin {
            call(&app, &app.client, method.clone(), &path, None, Some(body.clone())).await
        } else {
            call(&app, &app.anonymous, method.clone(), &path, Some(&access), Some(body.clone())).await
        };
        assert_eq!((status, answer["error"]["details"]["field"].as_str()), (400, Some(field)), "{method} {path} {body}: {answer}");
        assert_eq!(state_of(&app, &access, &user, &org).await, before, "{method} {path} {body} changed state");
    }
    let (_, accounts) = call(&app, &app.anonymous, Method::GET, "/v1/me/accounts", Some(&access), None).await;
    assert_eq!(accounts["accounts"].as_array().map(Vec::len), Some(1), "{accounts}");
    let (status, profile) = call(&app, &app.anonymous, Method::GET, &format!("/v1/profiles/{user}"), Some(&access), None).await;
    assert_eq!((status, profile["displayName"].as_str()), (200, Some(format!("user {user}").as_str())), "no profile was stored: {profile}");

    let alpaca =
        json!({"symbol": "MOCK", "side": "buy", "type": "limit", "qty": "1", "limit_price": "90", "time_in_force": "gtc", "position_intent": "buy_to_open"});
    let (status, order) = call(&app, &app.anonymous, Method::POST, "/v2/orders", Some(&access), Some(alpaca)).await;
    assert_eq!((status, order["status"].as_str()), (200, Some("new")), "{order}");
}

/// Each request is 400 `invalid_parameter` naming its parameter in `details.parameter`.
async fn refused_naming_the_parameter(app: &TestApp, access: &str, cases: impl IntoIterator<Item = (Method, String, &str)>) {
    for (method, path, parameter) in cases {
        let (status, answer) = call(app, &app.anonymous, method.clone(), &path, Some(access), None).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str(), answer["error"]["details"]["parameter"].as_str()),
            (400, Some("invalid_parameter"), Some(parameter)),
            "{method} {path}: {answer}"
        );
    }
}

/// A query parameter the operation does not have is refused on `/v1` with its name, before
/// anything is read or done (a misspelt filter would answer everything; a refused keyed
/// request claims no key). `/v2` passes unknown parameters over, as Alpaca's SDKs expect.
#[tokio::test]
async fn a_parameter_the_operation_does_not_have_is_refused_on_v1_and_passed_over_on_v2() {
    let app = spawn_app().await;
    let ada = register(&app, "parameters@example.com").await;
    let (user, access) = (ada["userId"].as_str().unwrap().to_owned(), token(&ada));
    let cases = [
        (Method::GET, "/v1/orders?statuss=OPEN".to_owned(), "statuss"),
        (Method::GET, format!("/v1/trades/search?userId={user}&sumbol=MOCK"), "sumbol"),
        (Method::GET, "/v1/market/MOCK/orderbook?depth=1&levels=5".to_owned(), "levels"),
        (Method::GET, "/v1/notifications?unread=true&all=1".to_owned(), "all"),
        (Method::POST, "/v1/notifications/read?user=1".to_owned(), "user"),
        (Method::DELETE, "/v1/orders/1?force=true".to_owned(), "force"),
        // Operations with no parameters at all say so too, and their documents list the 400.
        (Method::GET, "/v1/contests?status=RUNNING".to_owned(), "status"),
        (Method::GET, "/v1/market/symbols?all=1".to_owned(), "all"),
        (Method::GET, "/v1/me/accounts?kind=PRACTICE".to_owned(), "kind"),
    ];
    refused_naming_the_parameter(&app, &access, cases).await;
    // Refused before the idempotency key is claimed: the corrected request takes it.
    let keyed = |path: &'static str| {
        app.anonymous
            .post(app.url(path))
            .bearer_auth(&access)
            .header("x-idempotency-key", "parameters-1")
            .json(&json!({"url": "http://127.0.0.1:9/hook"}))
            .send()
    };
    assert_eq!(keyed("/v1/webhooks?verify=false").await.unwrap().status(), 400);
    assert_eq!(keyed("/v1/webhooks").await.unwrap().status(), 201);
    let (status, listed) = call(&app, &app.anonymous, Method::GET, "/v1/orders?status=OPEN&limit=5", Some(&access), None).await;
    assert_eq!(status, 200, "documented parameters pass: {listed}");
    let (status, listed) = call(&app, &app.anonymous, Method::GET, "/v2/orders?status=all&nested=true&unknown=1", Some(&access), None).await;
    assert_eq!(status, 200, "{listed}");
}

/// A body sent to a `/v1` operation that takes none is refused naming its first field, as
/// an unknown field of a body is (a reset sent `{"startingCash": ...}` answered 200 with
/// the account's own starting cash, as though the field had been taken), before anything
/// is done; nothing, `{}` and `null` pass. Every such operation in the document is tried.
#[tokio::test]
async fn a_body_where_the_operation_takes_none_is_refused_on_v1() {
    let app = spawn_app().await;
    let ada = register(&app, "no-body@example.com").await;
    let (user, access) = (ada["userId"].as_str().unwrap().to_owned(), token(&ada));
    let (_, document) = app.get("/openapi.json").await;
    let mut tried = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if !path.starts_with("/v1/") || method == "get" || operation.get("requestBody").is_some() {
                continue;
            }
            let concrete = path.replace("{account_id}", &user).replace("{user_id}", &user).replace("{symbol}", "MOCK").replace("{action}", "halt");
            let concrete = concrete
                .split('{')
                .enumerate()
                .map(|(index, part)| if index == 0 { part.to_owned() } else { format!("1{}", part.split_once('}').unwrap().1) })
                .collect::<String>();
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let (status, answer) = call(&app, &app.anonymous, method.clone(), &concrete, Some(&access), Some(json!({"startingCash": "5"}))).await;
            assert_eq!(
                (status, answer["error"]["code"].as_str(), answer["error"]["details"]["field"].as_str()),
                (400, Some("invalid_field"), Some("startingCash")),
                "{method} {concrete}: {answer}"
            );
            tried += 1;
        }
    }
    assert!(tried >= 20, "every operation without a body was tried: {tried}");
    // Nothing was done: the account was not reset.
    let (_, accounts) = call(&app, &app.anonymous, Method::GET, "/v1/me/accounts", Some(&access), None).await;
    assert_eq!(accounts["accounts"][0]["resets"], 0, "{accounts}");
    let reset = format!("/v1/me/accounts/{user}/reset");
    for (body, content_type) in [("", None), ("{}", Some("application/json")), ("null", Some("application/json")), (" \n", Some("application/json"))] {
        let mut request = app.anonymous.post(app.url(&reset)).bearer_auth(&access).body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200, "{body:?} passes");
    }
    for (body, code) in [("[1]", "invalid_body"), ("reset please", "invalid_json")] {
        let response = app.anonymous.post(app.url(&reset)).bearer_auth(&access).header("content-type", "application/json").body(body).send().await.unwrap();
        assert_eq!(response.status(), 400, "{body:?}");
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["error"]["code"], code, "{body:?}: {answer}");
    }
    // `/v2` passes a body over, as Alpaca does.
    let (status, answer) = call(&app, &app.anonymous, Method::DELETE, "/v2/orders", Some(&access), Some(json!({"unexpected": true}))).await;
    assert_eq!(status, 207, "{answer}");
}

/// A compressed body (`Content-Encoding: gzip`) is refused with 415 saying so, on `/v1`
/// and on `/v2`, before anything is done: it was read as JSON text and refused for its
/// bytes (400 "invalid JSON"), which sent a client looking for a fault in its JSON.
/// `identity` is no encoding and passes.
#[tokio::test]
async fn a_compressed_body_is_refused_as_unsupported() {
    let cases = [("/v1/orders", "gzip"), ("/v1/orders", "identity, br"), ("/v2/orders", "deflate"), ("/v2/orders", "GZIP")];
    let app = refused_as_unsupported("compressed@example.com", &cases, |(_, encoding)| vec![("content-encoding", encoding)], "Content-Encoding").await;
    let (ada, alpaca) = (register(&app, "compressed-identity@example.com").await, alpaca_limit_order());
    let (status, _) = post_with(&app, "/v2/orders", &token(&ada), &[("content-encoding", "identity")], alpaca).await;
    assert_eq!(status, 200, "identity is no encoding");
}

/// A body with two Content-Type headers is 415: which one describes it cannot be told, and
/// the first is not taken on trust. Nothing is placed.
#[tokio::test]
async fn a_body_typed_twice_is_refused_as_unsupported() {
    let cases = [("/v1/orders", "text/plain"), ("/v2/orders", "application/json"), ("/v1/me/accounts", "application/xml")];
    refused_as_unsupported("typed-twice@example.com", &cases, |(_, second)| vec![("content-type", second)], "Content-Type is given 2 times").await;
}

fn alpaca_limit_order() -> String {
    json!({"symbol": "MOCK", "qty": "1", "side": "buy", "type": "limit", "limit_price": "90", "time_in_force": "day"}).to_string()
}

/// POSTs `body` as JSON with `headers` added (appended: a header may come twice).
async fn post_with(app: &TestApp, path: &str, access: &str, headers: &[(&str, &str)], body: String) -> (u16, Value) {
    let mut request = app.anonymous.post(app.url(path)).bearer_auth(access).header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.body(body).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Sends an order on each case's path with the headers `extra` makes of it, expects 415
/// with a message holding `says`, and checks nothing was placed.
async fn refused_as_unsupported<'a>(
    email: &str,
    cases: &[(&'a str, &'a str)],
    extra: impl Fn((&'a str, &'a str)) -> Vec<(&'a str, &'a str)>,
    says: &str,
) -> TestApp {
    let app = spawn_app().await;
    let access = token(&register(&app, email).await);
    let order = json!({"symbol": "MOCK", "quantity": "1", "side": "BUY", "type": "LIMIT", "limitPrice": "90"}).to_string();
    for &(path, value) in cases {
        let body = if path.starts_with("/v2") { alpaca_limit_order() } else { order.clone() };
        let (status, answer) = post_with(&app, path, &access, &extra((path, value)), body).await;
        assert_eq!(status, 415, "{path} {value}: {answer}");
        let message = if path.starts_with("/v2") { &answer["message"] } else { &answer["error"]["message"] };
        assert!(message.as_str().unwrap().contains(says), "{path} {value}: {answer}");
    }
    let (_, listed) = call(&app, &app.anonymous, Method::GET, "/v2/orders?status=all", Some(&access), None).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(0), "nothing was placed: {listed}");
    app
}

/// A known parameter with a value it cannot take is refused the same way on every `/v1`
/// operation: 400 `invalid_parameter` naming it in `details.parameter`, whichever layer
/// finds the fault (the query's shape, the handler, or the read store), as an unknown
/// parameter is named.
#[tokio::test]
async fn a_parameter_with_a_bad_value_is_named_whichever_check_refuses_it() {
    let app = spawn_app().await;
    let ada = register(&app, "bad-values@example.com").await;
    let (user, access) = (ada["userId"].as_str().unwrap().to_owned(), token(&ada));
    let cases = [
        (Method::GET, "/v1/orders?limit=0".to_owned(), "limit"),
        (Method::GET, "/v1/orders?status=open".to_owned(), "status"),
        (Method::GET, "/v1/orders?clientOrderId=%20".to_owned(), "clientOrderId"),
        (Method::GET, "/v1/orders?pageToken=zzz".to_owned(), "pageToken"),
        (Method::GET, "/v1/orders?startDate=yesterday".to_owned(), "startDate"),
        (Method::GET, "/v1/orders?startDate=2027-01-01&endDate=2026-01-01".to_owned(), "startDate"),
        (Method::GET, "/v1/trades/search?limit=5000".to_owned(), "limit"),
        (Method::GET, "/v1/trades/search?pageToken=zzz".to_owned(), "pageToken"),
        (Method::GET, "/v1/trades/search?status=open".to_owned(), "status"),
        (Method::GET, "/v1/trades/search?startDate=2027-01-01&endDate=2026-01-01".to_owned(), "startDate"),
        (Method::GET, "/v1/trades/search?q=%01".to_owned(), "q"),
        (Method::GET, "/v1/wallet/transactions?pageToken=0123".to_owned(), "pageToken"),
        (Method::GET, "/v1/portfolio/performance?period=2w".to_owned(), "period"),
        (Method::GET, "/v1/analytics/volume?timeWindow=1y".to_owned(), "timeWindow"),
        (Method::GET, "/v1/market/MOCK/candles?interval=2m".to_owned(), "interval"),
        (Method::GET, "/v1/market/MOCK/candles?interval=1m&start=2026-02-01&end=2026-01-01".to_owned(), "start"),
        (Method::GET, "/v1/market/MOCK/trades?limit=0".to_owned(), "limit"),
        (Method::POST, format!("/v1/users/{user}/follow"), "userId"),
        // An id in the path or the query is a parameter like any other.
        (Method::GET, "/v1/orders/abc".to_owned(), "orderId"),
        (Method::DELETE, "/v1/orders/1e3".to_owned(), "orderId"),
        (Method::GET, "/v1/profiles/01".to_owned(), "userId"),
        (Method::GET, "/v1/contests/x".to_owned(), "contestId"),
        (Method::GET, "/v1/market/mock/ticker".to_owned(), "symbol"),
        (Method::GET, "/v1/trades/search?symbol=bad$".to_owned(), "symbol"),
        (Method::GET, "/v1/orders?symbol=a%20b".to_owned(), "symbol"),
        (Method::GET, "/v1/orders?userId=abc".to_owned(), "userId"),
        (Method::GET, "/v1/portfolio/positions?userId=01".to_owned(), "userId"),
        (Method::GET, "/v1/alerts?userId=-1".to_owned(), "userId"),
        (Method::GET, "/v1/feed?pageToken=abc".to_owned(), "pageToken"),
        (Method::GET, format!("/v1/users/{user}/followers?pageToken=-1"), "pageToken"),
        (Method::GET, "/v1/contests/1/leaderboard?pageToken=x".to_owned(), "pageToken"),
        // Given twice: which one was meant cannot be told.
        (Method::GET, format!("/v1/orders?userId={user}&userId={user}"), "userId"),
        (Method::GET, "/v1/leaderboard?period=1d&period=all".to_owned(), "period"),
        (Method::GET, "/v1/market/MOCK/orderbook?depth=1&depth=5".to_owned(), "depth"),
    ];
    refused_naming_the_parameter(&app, &access, cases).await;
}

/// What a user may keep is bounded (20 webhooks, 50 live API keys, 200 price alerts
/// waiting, 100 watchlists), and each bound holds against creations racing through both
/// gateways: those past it are refused (409 `too_many`, 422 on `/v2`), none is stored, and
/// removing one makes room again.
#[tokio::test]
async fn what_a_user_may_keep_is_bounded_even_when_creations_race() {
    let app = spawn_app().await;
    let access = token(&register(&app, "bounded@example.com").await);
    let gateways = [app.address, app.other_gateway];
    let post = |index: usize, path: &'static str, body: Value| {
        let request = app.anonymous.post(format!("http://{}{path}", gateways[index % 2])).bearer_auth(&access).json(&body);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            crate::conformance::check("POST", path, status, &body);
            (status, body)
        }
    };
    type Make = fn(usize) -> Value;
    let cases: [(&'static str, usize, Make, u16, u16, &'static str, &'static str); 4] = [
        ("/v1/webhooks", 20, |index| json!({"url": format!("https://hooks.example.com/{index}")}), 201, 409, "/v1/webhooks", "webhooks"),
        ("/v1/api-keys", 50, |index| json!({"name": format!("bot {index}"), "scopes": ["read"]}), 201, 409, "/v1/api-keys", "keys"),
        (
            "/v1/price-alerts",
            200,
            |index| json!({"symbol": "MOCK", "direction": "ABOVE", "price": format!("{}", 1000 + index)}),
            201,
            409,
            "/v1/price-alerts",
            "priceAlerts",
        ),
        ("/v2/watchlists", 100, |index| json!({"name": format!("list {index}")}), 200, 422, "/v2/watchlists", ""),
    ];
    for (path, max, make, created, refused, list, field) in cases {
        let answers = futures_util::future::join_all((0..max + 6).map(|index| post(index, path, make(index)))).await;
        let statuses: Vec<u16> = answers.iter().map(|(status, _)| *status).collect();
        assert_eq!(statuses.iter().filter(|status| **status == created).count(), max, "{path}: {statuses:?}");
        assert_eq!(statuses.iter().filter(|status| **status == refused).count(), 6, "{path}: {statuses:?}");
        if refused == 409 {
            // The bound in words, whichever database enforced it (never its SQL error).
            for (_, answer) in answers.iter().filter(|(status, _)| *status == refused) {
                assert_eq!(answer["error"]["code"].as_str(), Some("too_many"), "{path}: {answer}");
            }
        }
        let (status, listed) = call(&app, &app.anonymous, Method::GET, list, Some(&access), None).await;
        assert_eq!(status, 200, "{listed}");
        let kept = if field.is_empty() { listed.as_array().unwrap().len() } else { listed[field].as_array().unwrap().len() };
        assert_eq!(kept, max, "{path}: none stored past the bound");
    }
    let (_, hooks) = call(&app, &app.anonymous, Method::GET, "/v1/webhooks", Some(&access), None).await;
    let first = hooks["webhooks"][0]["webhookId"].as_str().unwrap().to_owned();
    let (status, _) = call(&app, &app.anonymous, Method::DELETE, &format!("/v1/webhooks/{first}"), Some(&access), None).await;
    assert_eq!(status, 204);
    assert_eq!(post(0, "/v1/webhooks", json!({"url": "https://hooks.example.com/again"})).await.0, 201, "a removed webhook makes room");
}

#[tokio::test]
async fn an_organisations_groups_are_bounded_even_when_creations_race() {
    let app = spawn_app().await;
    let (status, organisation) = app.post("/v1/organisations", json!({"name": "School"})).await;
    assert_eq!(status, 201, "{organisation}");
    let path = format!("/v1/organisations/{}/groups", organisation["organisationId"].as_str().unwrap());
    let gateways = [app.address, app.other_gateway];
    let max = tradecraft_store::ORG_GROUPS_MAX as usize;
    let answers = futures_util::future::join_all((0..max + 6).map(|index| {
        let request = app.client.post(format!("http://{}{path}", gateways[index % 2])).json(&json!({"name": format!("class {index}")}));
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap_or(Value::Null))
        }
    }))
    .await;
    assert_eq!(answers.iter().filter(|(status, _)| *status == 201).count(), max);
    for (status, answer) in answers.iter().filter(|(status, _)| *status != 201) {
        crate::conformance::check("POST", &path, *status, answer);
        assert_eq!((*status, answer["error"]["code"].as_str()), (409, Some("too_many")), "{answer}");
    }
}

/// A decimal in a query string follows the grammar of a body's (`1e1` is 10): closing a
/// position by `percentage=5e1` sells half of it, and `qty=2E0` two shares; text that is
/// no decimal is still refused.
#[tokio::test]
async fn a_decimal_in_a_query_string_reads_as_in_a_body() {
    let app = spawn_app().await;
    let access = token(&register(&app, "query-decimals@example.com").await);
    let buy = json!({"symbol": "MOCK", "qty": 1e1, "side": "buy", "type": "market", "time_in_force": "day"});
    let (status, bought) = call(&app, &app.anonymous, Method::POST, "/v2/orders", Some(&access), Some(buy)).await;
    assert_eq!((status, bought["status"].as_str()), (200, Some("filled")), "{bought}");
    for (query, sold) in [("percentage=5e1", "5"), ("qty=2E0", "2")] {
        let (status, order) = call(&app, &app.anonymous, Method::DELETE, &format!("/v2/positions/MOCK?{query}"), Some(&access), None).await;
        assert_eq!((status, order["qty"].as_str(), order["side"].as_str()), (200, Some(sold), Some("sell")), "{query}: {order}");
    }
    for query in ["qty=two", "percentage=1e", "qty=+1"] {
        let (status, refused) = call(&app, &app.anonymous, Method::DELETE, &format!("/v2/positions/MOCK?{query}"), Some(&access), None).await;
        assert_eq!(status, 422, "{query}: {refused}");
    }
}
