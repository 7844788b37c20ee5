//! Trading limits and memberships over HTTP: admins set them, the engine applies them at
//! acceptance, users read their own, and every change is audited.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

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
    let missing = app.client.put(app.url("/v1/limits/groups/999999999")).json(&json!({"maxOrderQuantity": "3"})).send().await.unwrap();
    assert_eq!(missing.status(), 404, "limits on a group that does not exist");
    let (_, organisation) = app.post("/v1/organisations", json!({"name": "School"})).await;
    let org = organisation["organisationId"].as_str().unwrap().to_owned();
    let (_, group) = app.post(&format!("/v1/organisations/{org}/groups"), json!({"name": "class"})).await;
    let group_id = group["groupId"].as_str().unwrap().to_owned();
    let group = app.client.put(app.url(&format!("/v1/limits/groups/{group_id}"))).json(&json!({"maxOrderQuantity": 3})).send().await.unwrap();
    assert_eq!(group.status(), 200);
    let missing = app.client.put(app.url(&format!("/v1/users/{user}/membership"))).json(&json!({"organisationId": "424242"})).send().await.unwrap();
    assert_eq!(missing.status(), 404, "membership of an organisation that does not exist");
    let joined = app.client.put(app.url(&format!("/v1/users/{user}/membership"))).json(&json!({"groupId": group_id})).send().await.unwrap();
    assert_eq!(joined.status(), 200);
    let refused = as_trader(Method::POST, "/v1/orders".into(), Some(order("4"))).await.unwrap();
    assert_eq!(refused.json::<Value>().await.unwrap()["error"]["code"], "limit_max_order_quantity");
    assert_eq!(as_trader(Method::POST, "/v1/orders".into(), Some(order("3"))).await.unwrap().status(), 202);

    let (_, before) = app.get(&format!("/v1/limits/users/{user}")).await;
    for (path, body, field) in [
        (format!("/v1/limits/users/{user}"), json!({"tradingHours": "9-5"}), Some("tradingHours")),
        (format!("/v1/limits/users/{user}"), json!({"maxOrderQuantity": "-1x"}), Some("maxOrderQuantity")),
        (format!("/v1/limits/users/{user}"), json!({"maxOrderQuantity": "-5"}), Some("maxOrderQuantity")),
        (format!("/v1/limits/users/{user}"), json!({"maxSymbolSharePercent": "250"}), Some("maxSymbolSharePercent")),
        (format!("/v1/limits/users/{user}"), json!({"maxOpenOrders": {}}), Some("maxOpenOrders")),
        (format!("/v1/limits/users/{user}"), json!({"allowedSymbols": ["NOSUCH"]}), Some("allowedSymbols")),
        (format!("/v1/limits/users/{user}"), json!([]), None),
        (format!("/v1/limits/users/{user}"), json!(null), None),
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
    // None of those changed what is in force; an unknown field is ignored.
    let (_, now) = app.get(&format!("/v1/limits/users/{user}")).await;
    assert_eq!(now["limits"], before["limits"]);
    let response = app.client.put(app.url(&format!("/v1/limits/users/{user}"))).json(&json!({"maxLeverage": "2", "maxOpenOrders": 7})).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["limits"], json!({"tradingEnabled": true, "maxOpenOrders": 7}));
    let (status, _) = app.get("/v1/limits/users/424242").await;
    assert_eq!(status, 404);

    let (_, trail) = app.get(&format!("/v1/audit?subject=user:{user}")).await;
    // Order events join the trail as the read store projects them; these are the rest.
    let actions: Vec<&str> =
        trail["entries"].as_array().unwrap().iter().map(|entry| entry["action"].as_str().unwrap()).filter(|action| !action.starts_with("order.")).collect();
    assert_eq!(actions, ["limits.set", "membership.set", "limits.set", "user.registered"]);
    let (_, trail) = app.get(&format!("/v1/audit?subject=group:{group_id}")).await;
    assert_eq!(trail["entries"][0]["details"]["maxOrderQuantity"], "3", "the number 3 is stored as the decimal it is");
}

/// Registers each email: its user id and access token.
async fn registered<const N: usize>(app: &TestApp, emails: [&str; N]) -> [(String, String); N] {
    let mut people = Vec::new();
    for email in emails {
        let (status, body) = app.post("/v1/auth/register", json!({"email": email, "password": "correct horse"})).await;
        assert_eq!(status, 201);
        people.push((body["userId"].as_str().unwrap().to_owned(), body["accessToken"].as_str().unwrap().to_owned()));
    }
    people.try_into().unwrap()
}

#[tokio::test]
async fn organisation_admins_manage_their_members_groups_and_limits() {
    let app = spawn_app().await;
    let [(boss, boss_token), (trader, trader_token), (_, outsider_token)] =
        registered(&app, ["boss@example.com", "trader@example.com", "outsider@example.com"]).await;
    let send = |token: &str, method: Method, path: String, body: Option<Value>| {
        let mut request = app.anonymous.request(method, app.url(&path)).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send()
    };

    let (status, organisation) = app.post("/v1/organisations", json!({"name": "Class of 2026"})).await;
    assert_eq!(status, 201, "{organisation}");
    let org = organisation["organisationId"].as_str().unwrap().to_owned();
    assert_eq!(send(&boss_token, Method::POST, "/v1/organisations".into(), Some(json!({"name": "mine"}))).await.unwrap().status(), 403);
    let made_admin = app.client.put(app.url(&format!("/v1/organisations/{org}/members/{boss}"))).json(&json!({"role": "org_admin"})).send().await.unwrap();
    assert_eq!(made_admin.status(), 200);

    let group: Value =
        send(&boss_token, Method::POST, format!("/v1/organisations/{org}/groups"), Some(json!({"name": "morning"}))).await.unwrap().json().await.unwrap();
    let group_id = group["groupId"].as_str().unwrap().to_owned();
    // Only admins bring someone into an organisation (and so under its limits); its own
    // admins then manage them.
    let pulled_in = send(&boss_token, Method::PUT, format!("/v1/organisations/{org}/members/{trader}"), Some(json!({"role": "member"}))).await.unwrap();
    assert_eq!(pulled_in.status(), 403, "an organisation admin cannot add someone who is not its member");
    let added = app.client.put(app.url(&format!("/v1/organisations/{org}/members/{trader}"))).json(&json!({"role": "member"})).send().await.unwrap();
    assert_eq!(added.status(), 200);
    let grouped = send(&boss_token, Method::PUT, format!("/v1/organisations/{org}/members/{trader}"), Some(json!({"role": "member", "groupId": group_id})))
        .await
        .unwrap();
    assert_eq!(grouped.status(), 200);
    assert_eq!(send(&outsider_token, Method::PUT, format!("/v1/organisations/{org}/members/{trader}"), Some(json!({}))).await.unwrap().status(), 403);
    assert_eq!(send(&outsider_token, Method::GET, format!("/v1/organisations/{org}"), None).await.unwrap().status(), 403);
    let seen: Value = send(&trader_token, Method::GET, format!("/v1/organisations/{org}"), None).await.unwrap().json().await.unwrap();
    assert_eq!(seen["members"].as_array().unwrap().len(), 2);
    assert_eq!(seen["groups"][0]["name"], "morning");

    // The organisation's admin sets its limits and its group's, not anyone else's.
    assert_eq!(send(&boss_token, Method::PUT, format!("/v1/limits/organisations/{org}"), Some(json!({"maxOrderQuantity": "10"}))).await.unwrap().status(), 200);
    assert_eq!(send(&boss_token, Method::PUT, format!("/v1/limits/groups/{group_id}"), Some(json!({"maxOrderQuantity": "4"}))).await.unwrap().status(), 200);
    assert_eq!(send(&boss_token, Method::PUT, format!("/v1/limits/users/{trader}"), Some(json!({}))).await.unwrap().status(), 403);
    assert_eq!(send(&boss_token, Method::PUT, "/v1/limits/organisations/12345".into(), Some(json!({}))).await.unwrap().status(), 403);

    let order = |quantity: &str| Some(json!({"symbol": "MOCK", "quantity": quantity, "side": "BUY", "type": "LIMIT", "limitPrice": "90"}));
    let refused = send(&trader_token, Method::POST, "/v1/orders".into(), order("5")).await.unwrap();
    assert_eq!(refused.status(), 403, "the group's 4 is tighter than the organisation's 10");
    assert_eq!(send(&trader_token, Method::POST, "/v1/orders".into(), order("4")).await.unwrap().status(), 202);

    assert_eq!(send(&boss_token, Method::DELETE, format!("/v1/organisations/{org}/members/{trader}"), None).await.unwrap().status(), 204);
    assert_eq!(send(&trader_token, Method::POST, "/v1/orders".into(), order("5")).await.unwrap().status(), 202, "outside the organisation its limits stop");
    let bad_group = app.client.put(app.url(&format!("/v1/organisations/{org}/members/{trader}"))).json(&json!({"groupId": "999"})).send().await.unwrap();
    assert_eq!(bad_group.status(), 404);

    let (_, trail) = app.get(&format!("/v1/audit?subject=user:{trader}")).await;
    // Order events join the trail as the read store projects them; these are the rest.
    let actions: Vec<&str> =
        trail["entries"].as_array().unwrap().iter().map(|entry| entry["action"].as_str().unwrap()).filter(|action| !action.starts_with("order.")).collect();
    assert_eq!(actions, ["organisation.member_removed", "organisation.member_set", "organisation.member_set", "user.registered"]);
    // Every order change is in the trail too, from the event log: the refused order and
    // the two accepted ones.
    let (_, trail) = app
        .get_until(&format!("/v1/audit?subject=user:{trader}"), |_, body| {
            body["entries"].as_array().is_some_and(|entries| entries.iter().filter(|entry| entry["action"] == "order.accepted").count() == 2)
        })
        .await;
    let rejected: Vec<&Value> = trail["entries"].as_array().unwrap().iter().filter(|entry| entry["action"] == "order.rejected").collect();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0]["details"]["reason"], "limit_max_order_quantity");
    assert_eq!(rejected[0]["actor"], trader.as_str());
}

/// An organisation's admin cannot take a member from another organisation (nor anyone
/// else) into theirs, where its limits would bind them: that is for admins.
#[tokio::test]
async fn an_organisation_admin_cannot_pull_someone_into_their_organisation() {
    let app = spawn_app().await;
    let people = registered(&app, ["head-a@example.com", "member-b@example.com", "loner@example.com"]).await;
    let (_, a) = app.post("/v1/organisations", json!({"name": "A"})).await;
    let (_, b) = app.post("/v1/organisations", json!({"name": "B"})).await;
    let (org_a, org_b) = (a["organisationId"].as_str().unwrap(), b["organisationId"].as_str().unwrap());
    for (org, user, role) in [(org_a, &people[0].0, "org_admin"), (org_b, &people[1].0, "member")] {
        let response = app.client.put(app.url(&format!("/v1/organisations/{org}/members/{user}"))).json(&json!({"role": role})).send().await.unwrap();
        assert_eq!(response.status(), 200);
    }
    let head = &people[0].1;
    for user in [&people[1].0, &people[2].0] {
        let response = app
            .anonymous
            .put(app.url(&format!("/v1/organisations/{org_a}/members/{user}")))
            .bearer_auth(head)
            .json(&json!({"role": "member"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "user {user}");
    }
    let (_, seen) = app.get(&format!("/v1/organisations/{org_b}")).await;
    assert_eq!(seen["members"][0]["userId"].as_str(), Some(people[1].0.as_str()), "still B's: {seen}");
    let (_, seen) = app.get(&format!("/v1/organisations/{org_a}")).await;
    assert_eq!(seen["members"].as_array().unwrap().len(), 1, "A has its head only: {seen}");
}
