//! Trading limits and memberships over HTTP: admins set them, the engine applies them at
//! acceptance, users read their own, and every change is audited.

use reqwest::Method;
use serde_json::{Value, json};

use crate::auth::call;
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
    // The organisation's member list says what the engine applies: the group's organisation.
    assert_eq!(joined.json::<Value>().await.unwrap()["organisationId"], org.as_str());
    let members = |listed: &Value| -> Vec<(String, String, Option<String>)> {
        listed["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|member| {
                (member["userId"].as_str().unwrap().to_owned(), member["role"].as_str().unwrap().to_owned(), member["groupId"].as_str().map(str::to_owned))
            })
            .collect()
    };
    let (_, listed) = app.get(&format!("/v1/organisations/{org}")).await;
    assert_eq!(members(&listed), [(user.clone(), "member".to_owned(), Some(group_id.clone()))], "{listed}");
    let refused = as_trader(Method::POST, "/v1/orders".into(), Some(order("4"))).await.unwrap();
    assert_eq!(refused.json::<Value>().await.unwrap()["error"]["code"], "limit_max_order_quantity");
    assert_eq!(as_trader(Method::POST, "/v1/orders".into(), Some(order("3"))).await.unwrap().status(), 202);
    // Leaving every group leaves the organisation's list too; joining again puts it back.
    let left = app.client.put(app.url(&format!("/v1/users/{user}/membership"))).json(&json!({})).send().await.unwrap();
    assert_eq!(left.status(), 200);
    assert!(members(&app.get(&format!("/v1/organisations/{org}")).await.1).is_empty());
    assert_eq!(as_trader(Method::POST, "/v1/orders".into(), Some(order("4"))).await.unwrap().status(), 202, "its limits stopped with it");
    let joined = app.client.put(app.url(&format!("/v1/users/{user}/membership"))).json(&json!({"groupId": group_id})).send().await.unwrap();
    assert_eq!(joined.status(), 200);

    let (_, before) = app.get(&format!("/v1/limits/users/{user}")).await;
    for (path, body, field) in [
        (format!("/v1/limits/users/{user}"), json!({"tradingHours": "9-5"}), Some("tradingHours")),
        (format!("/v1/limits/users/{user}"), json!({"maxOrderQuantity": "-1x"}), Some("maxOrderQuantity")),
        (format!("/v1/limits/users/{user}"), json!({"maxOrderQuantity": "-5"}), Some("maxOrderQuantity")),
        (format!("/v1/limits/users/{user}"), json!({"maxSymbolSharePercent": "250"}), Some("maxSymbolSharePercent")),
        (format!("/v1/limits/users/{user}"), json!({"maxOpenOrders": {}}), Some("maxOpenOrders")),
        (format!("/v1/limits/users/{user}"), json!({"allowedSymbols": ["NOSUCH"]}), Some("allowedSymbols")),
        (format!("/v1/limits/users/{user}"), json!({"allowedSymbols": ["MOCK"], "blockedSymbols": ["MOCK"]}), Some("blockedSymbols")),
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
    // None of those changed what is in force, nor does a misspelt or unknown limit: it is
    // refused by name, not dropped (which would lift every limit the request meant to set).
    for unknown in ["maxLeverage", "maxOrderQty"] {
        let response = app.client.put(app.url(&format!("/v1/limits/users/{user}"))).json(&json!({unknown: "2", "maxOpenOrders": 7})).send().await.unwrap();
        assert_eq!(response.status(), 400);
        assert_eq!(response.json::<Value>().await.unwrap()["error"]["details"]["field"], unknown);
    }
    let (_, now) = app.get(&format!("/v1/limits/users/{user}")).await;
    assert_eq!(now["limits"], before["limits"]);
    let response = app.client.put(app.url(&format!("/v1/limits/users/{user}"))).json(&json!({"maxOpenOrders": 7})).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["limits"], json!({"tradingEnabled": true, "maxOpenOrders": 7}));
    // The symbol lists are sets, as the order types are: a symbol given twice is kept once.
    let repeated = json!({"allowedSymbols": ["MOCK", "MOCK"], "blockedSymbols": [], "allowedOrderTypes": ["LIMIT", "LIMIT"]});
    let response = app.client.put(app.url(&format!("/v1/limits/users/{user}"))).json(&repeated).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let kept = json!({"tradingEnabled": true, "allowedSymbols": ["MOCK"], "allowedOrderTypes": ["LIMIT"]});
    assert_eq!(response.json::<Value>().await.unwrap()["limits"], kept);
    assert_eq!(app.get(&format!("/v1/limits/users/{user}")).await.1["limits"], kept);
    let response = app.client.put(app.url(&format!("/v1/limits/users/{user}"))).json(&json!({"maxOpenOrders": 7})).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let (status, _) = app.get("/v1/limits/users/424242").await;
    assert_eq!(status, 404);

    let (_, trail) = app.get(&format!("/v1/audit?subject=user:{user}")).await;
    // Order events join the trail as the read store projects them; these are the rest.
    let actions: Vec<&str> =
        trail["entries"].as_array().unwrap().iter().map(|entry| entry["action"].as_str().unwrap()).filter(|action| !action.starts_with("order.")).collect();
    assert_eq!(actions, ["limits.set", "limits.set", "limits.set", "membership.set", "membership.set", "membership.set", "limits.set", "user.registered"]);
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
    // The limits they set, their admin and the members who trade under them read; nobody else.
    for (path, quantity) in [(format!("/v1/limits/organisations/{org}"), "10"), (format!("/v1/limits/groups/{group_id}"), "4")] {
        for token in [&boss_token, &trader_token] {
            let response = send(token, Method::GET, path.clone(), None).await.unwrap();
            assert_eq!(response.status(), 200, "{path}");
            let limits: Value = response.json().await.unwrap();
            assert_eq!(limits["limits"]["maxOrderQuantity"], quantity, "{path}: {limits}");
        }
        let refused = send(&outsider_token, Method::GET, path.clone(), None).await.unwrap();
        assert_eq!(refused.status(), 403, "{path}");
        // Said in words, as every other message names an organisation or group.
        let refused: Value = refused.json().await.unwrap();
        let id = path.rsplit('/').next().unwrap();
        let message = refused["error"]["message"].as_str().unwrap();
        assert!(message.ends_with(&format!("of organisation {id}")) || message.ends_with(&format!("of group {id}")), "{refused}");
    }

    let order = |quantity: &str| Some(json!({"symbol": "MOCK", "quantity": quantity, "side": "BUY", "type": "LIMIT", "limitPrice": "90"}));
    let refused = send(&trader_token, Method::POST, "/v1/orders".into(), order("5")).await.unwrap();
    assert_eq!(refused.status(), 403, "the group's 4 is tighter than the organisation's 10");
    assert_eq!(send(&trader_token, Method::POST, "/v1/orders".into(), order("4")).await.unwrap().status(), 202);

    // An organisation keeps an admin: its last one cannot step down, leave, or be moved
    // into another organisation (nor be demoted by a platform admin), until there is another.
    let other_org: Value = app.post("/v1/organisations", json!({"name": "Other"})).await.1;
    let other_org = other_org["organisationId"].as_str().unwrap().to_owned();
    let member = |role: &str| Some(json!({"role": role}));
    for (token, method, path, body) in [
        (boss_token.as_str(), Method::PUT, format!("/v1/organisations/{org}/members/{boss}"), member("member")),
        (boss_token.as_str(), Method::DELETE, format!("/v1/organisations/{org}/members/{boss}"), None),
        (crate::helpers::ADMIN_KEY, Method::PUT, format!("/v1/organisations/{other_org}/members/{boss}"), member("member")),
    ] {
        let response = if token == crate::helpers::ADMIN_KEY {
            app.client.request(method, app.url(&path)).json(&body.unwrap_or_default()).send().await.unwrap()
        } else {
            send(token, method, path.clone(), body).await.unwrap()
        };
        assert_eq!(response.status(), 409, "{path}");
        assert_eq!(response.json::<Value>().await.unwrap()["error"]["code"], "last_org_admin", "{path}");
    }
    let seen: Value = send(&boss_token, Method::GET, format!("/v1/organisations/{org}"), None).await.unwrap().json().await.unwrap();
    assert!(seen["members"].as_array().unwrap().iter().any(|member| member["userId"] == boss.as_str() && member["role"] == "org_admin"), "{seen}");
    let promoted = send(&boss_token, Method::PUT, format!("/v1/organisations/{org}/members/{trader}"), member("org_admin")).await.unwrap();
    assert_eq!(promoted.status(), 200);
    assert_eq!(
        send(&boss_token, Method::PUT, format!("/v1/organisations/{org}/members/{boss}"), member("member")).await.unwrap().status(),
        200,
        "now there is another"
    );
    assert_eq!(send(&trader_token, Method::PUT, format!("/v1/organisations/{org}/members/{boss}"), member("org_admin")).await.unwrap().status(), 200);
    assert_eq!(send(&boss_token, Method::PUT, format!("/v1/organisations/{org}/members/{trader}"), member("member")).await.unwrap().status(), 200);

    assert_eq!(send(&boss_token, Method::DELETE, format!("/v1/organisations/{org}/members/{trader}"), None).await.unwrap().status(), 204);
    assert_eq!(send(&trader_token, Method::POST, "/v1/orders".into(), order("5")).await.unwrap().status(), 202, "outside the organisation its limits stop");
    let bad_group = app.client.put(app.url(&format!("/v1/organisations/{org}/members/{trader}"))).json(&json!({"groupId": "999"})).send().await.unwrap();
    assert_eq!(bad_group.status(), 404);

    let (_, trail) = app.get(&format!("/v1/audit?subject=user:{trader}")).await;
    // Order events join the trail as the read store projects them; these are the rest.
    let actions: Vec<&str> =
        trail["entries"].as_array().unwrap().iter().map(|entry| entry["action"].as_str().unwrap()).filter(|action| !action.starts_with("order.")).collect();
    assert_eq!(
        actions,
        [
            "organisation.member_removed",
            "organisation.member_set",
            "organisation.member_set",
            "organisation.member_set",
            "organisation.member_set",
            "user.registered"
        ]
    );
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

/// Someone joins an organisation by accepting its invitation: its admin invites, the user
/// sees it (and is notified) and accepts, and the organisation's limits apply; an
/// invitation is its invitee's alone, can be withdrawn or declined, and lapses once used.
#[tokio::test]
async fn invitations_let_users_join_an_organisation_by_consent() {
    let app = spawn_app().await;
    let people = registered(&app, ["head@example.com", "invitee@example.com", "eve@example.com", "carol@example.com"]).await;
    let [(head, head_token), (bob, bob_token), (eve, eve_token), (carol, carol_token)] = &people;
    let as_user = |token: &str, method: Method, path: String, body: Option<Value>| {
        let mut request = app.anonymous.request(method, app.url(&path)).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (_, created) = app.post("/v1/organisations", json!({"name": "Class 4C"})).await;
    let org = created["organisationId"].as_str().unwrap().to_owned();
    let (_, other) = app.post("/v1/organisations", json!({"name": "Other"})).await;
    let (_, foreign_group) = app.post(&format!("/v1/organisations/{}/groups", other["organisationId"].as_str().unwrap()), json!({"name": "X"})).await;
    let response = app.client.put(app.url(&format!("/v1/organisations/{org}/members/{head}"))).json(&json!({"role": "org_admin"})).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let invitations = format!("/v1/organisations/{org}/invitations");

    // Refusals name what is wrong and store nothing.
    let foreign = foreign_group["groupId"].as_str().unwrap();
    for (body, status) in [
        (json!({"userId": "999999"}), 404),
        (json!({"userId": bob, "groupId": foreign}), 404),
        (json!({"userId": bob, "role": "boss"}), 400),
        (json!({"userId": head}), 409),
    ] {
        let (answer, refused) = as_user(head_token, Method::POST, invitations.clone(), Some(body.clone())).await;
        assert_eq!(answer, status, "{body}: {refused}");
    }
    let (status, _) = as_user(eve_token, Method::POST, invitations.clone(), Some(json!({"userId": eve}))).await;
    assert_eq!(status, 403, "only the organisation's admins invite");

    let (status, invited) = as_user(head_token, Method::POST, invitations.clone(), Some(json!({"userId": bob}))).await;
    assert_eq!((status, invited["status"].as_str(), invited["role"].as_str()), (201, Some("PENDING"), Some("member")), "{invited}");
    let id = invited["invitationId"].as_str().unwrap().to_owned();
    let (_, exported) = as_user(bob_token, Method::GET, "/v1/me/export".to_owned(), None).await;
    assert_eq!(exported["invitations"][0]["invitationId"].as_str(), Some(id.as_str()), "the invitee's export holds it");
    let (_, mine) = as_user(bob_token, Method::GET, "/v1/me/invitations".to_owned(), None).await;
    assert_eq!(mine["invitations"].as_array().unwrap().len(), 1, "{mine}");
    assert_eq!(mine["invitations"][0]["organisationName"], "Class 4C");
    let (_, notes) = as_user(bob_token, Method::GET, "/v1/notifications".to_owned(), None).await;
    assert!(notes["notifications"].as_array().unwrap().iter().any(|note| note["kind"] == "ORG_INVITATION"), "{notes}");
    let (_, listed) = as_user(head_token, Method::GET, invitations.clone(), None).await;
    assert_eq!(listed["invitations"][0]["invitationId"].as_str(), Some(id.as_str()));
    let (status, _) = as_user(eve_token, Method::GET, invitations.clone(), None).await;
    assert_eq!(status, 403);
    // Nobody but the invitee answers it.
    for path in [format!("/v1/me/invitations/{id}/accept"), format!("/v1/me/invitations/{id}/decline")] {
        assert_eq!(as_user(eve_token, Method::POST, path, None).await.0, 404);
    }

    let (status, joined) = as_user(bob_token, Method::POST, format!("/v1/me/invitations/{id}/accept"), None).await;
    assert_eq!((status, joined["organisationId"].as_str()), (200, Some(org.as_str())), "{joined}");
    assert_eq!(as_user(bob_token, Method::POST, format!("/v1/me/invitations/{id}/accept"), None).await.0, 404, "used once");
    let (_, seen) = app.get(&format!("/v1/organisations/{org}")).await;
    assert!(seen["members"].as_array().unwrap().iter().any(|member| member["userId"] == bob.as_str()), "{seen}");
    // The organisation's limits now apply to the new member.
    let (status, _) = as_user(head_token, Method::PUT, format!("/v1/limits/organisations/{org}"), Some(json!({"maxOrderQuantity": "1"}))).await;
    assert_eq!(status, 200);
    let order = json!({"symbol": "MOCK", "side": "BUY", "type": "LIMIT", "quantity": "2", "limitPrice": "90"});
    let (status, refused) = as_user(bob_token, Method::POST, "/v1/orders".to_owned(), Some(order)).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (403, Some("limit_max_order_quantity")), "{refused}");
    assert_eq!(as_user(head_token, Method::POST, invitations.clone(), Some(json!({"userId": bob}))).await.0, 409, "a member already");

    // Withdrawn and declined invitations cannot be accepted.
    let (_, withdrawn) = as_user(head_token, Method::POST, invitations.clone(), Some(json!({"userId": carol}))).await;
    let withdrawn = withdrawn["invitationId"].as_str().unwrap().to_owned();
    assert_eq!(as_user(head_token, Method::DELETE, format!("{invitations}/{withdrawn}"), None).await.0, 204);
    assert_eq!(as_user(carol_token, Method::POST, format!("/v1/me/invitations/{withdrawn}/accept"), None).await.0, 404);
    let (_, declined) = as_user(head_token, Method::POST, invitations.clone(), Some(json!({"userId": eve}))).await;
    let declined = declined["invitationId"].as_str().unwrap().to_owned();
    assert_eq!(as_user(eve_token, Method::POST, format!("/v1/me/invitations/{declined}/decline"), None).await.0, 204);
    assert_eq!(as_user(eve_token, Method::POST, format!("/v1/me/invitations/{declined}/accept"), None).await.0, 404);
    let (_, seen) = app.get(&format!("/v1/organisations/{org}")).await;
    assert_eq!(seen["members"].as_array().unwrap().len(), 2, "the head and the one who accepted: {seen}");
    let (_, left) = as_user(head_token, Method::GET, invitations, None).await;
    assert!(left["invitations"].as_array().unwrap().is_empty(), "{left}");
    // An organisation's last admin joining another would leave it without one: refused,
    // and the invitation stands until there is another admin.
    let other_org = other["organisationId"].as_str().unwrap();
    let response = app.client.put(app.url(&format!("/v1/organisations/{other_org}/members/{carol}"))).json(&json!({"role": "org_admin"})).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let (status, away) = as_user(carol_token, Method::POST, format!("/v1/organisations/{other_org}/invitations"), Some(json!({"userId": head}))).await;
    assert_eq!(status, 201, "{away}");
    let away = away["invitationId"].as_str().unwrap().to_owned();
    let (status, refused) = as_user(head_token, Method::POST, format!("/v1/me/invitations/{away}/accept"), None).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (409, Some("last_org_admin")), "{refused}");
    assert_eq!(as_user(head_token, Method::PUT, format!("/v1/organisations/{org}/members/{bob}"), Some(json!({"role": "org_admin"}))).await.0, 200);
    let (status, joined) = as_user(head_token, Method::POST, format!("/v1/me/invitations/{away}/accept"), None).await;
    assert_eq!((status, joined["organisationId"].as_str()), (200, Some(other_org)), "{joined}");
    // A deleted account leaves no invitation behind.
    assert_eq!(as_user(eve_token, Method::DELETE, "/v1/me".to_owned(), Some(json!({"password": "correct horse"}))).await.0, 204);
    let eve_id: i64 = eve.parse().unwrap();
    let store = app.store.clone();
    let rows = tokio::task::spawn_blocking(move || store.backend().query("SELECT COUNT(*) FROM org_invitations WHERE user_id = $1", &[eve_id.into()]).unwrap())
        .await
        .unwrap();
    assert_eq!(rows[0].int(0).unwrap(), 0);

    // Nor does a deleted account leave an organisation with members and no admin: its last
    // admin hands over first. An organisation's only member may go.
    let delete_me = |token: &str| as_user(token, Method::DELETE, "/v1/me".to_owned(), Some(json!({"password": "correct horse"})));
    let (status, refused) = delete_me(carol_token).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (409, Some("last_org_admin")), "{refused}");
    let (_, seen) = app.get(&format!("/v1/organisations/{other_org}")).await;
    assert!(seen["members"].as_array().unwrap().iter().any(|member| member["userId"] == carol.as_str() && member["role"] == "org_admin"), "{seen}");
    assert_eq!(as_user(carol_token, Method::GET, "/v1/me/accounts".to_owned(), None).await.0, 200, "still signed in");
    assert_eq!(as_user(carol_token, Method::PUT, format!("/v1/organisations/{other_org}/members/{head}"), Some(json!({"role": "org_admin"}))).await.0, 200);
    assert_eq!(delete_me(carol_token).await.0, 204);
    let (_, solo) = app.post("/v1/organisations", json!({"name": "Solo"})).await;
    let solo = solo["organisationId"].as_str().unwrap();
    let response = app.client.put(app.url(&format!("/v1/organisations/{solo}/members/{bob}"))).json(&json!({"role": "org_admin"})).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(delete_me(bob_token).await.0, 204, "the only member of Solo");
}

/// `GET /v1/organisations` comes in pages in (name, id) order, and `q` finds organisations
/// by name, letter case aside, with `%` and `_` the characters themselves.
#[tokio::test]
async fn organisations_are_listed_page_by_page_and_found_by_name() {
    let app = spawn_app().await;
    let mut made = Vec::new();
    for name in ["pager c", "pager a", "pager b", "pager bb", "pager 50% off", "pager 500 off"] {
        let (status, created) = app.post("/v1/organisations", json!({"name": name})).await;
        assert_eq!(status, 201, "{created}");
        made.push((name.to_owned(), created["organisationId"].as_str().unwrap().parse::<u64>().unwrap()));
    }
    made.sort();
    let mut seen = Vec::new();
    let mut path = "/v1/organisations?q=PAGER&limit=4".to_owned();
    loop {
        let (status, page) = app.get(&path).await;
        assert_eq!(status, 200, "{page}");
        let listed = page["organisations"].as_array().unwrap();
        assert!(listed.len() <= 4, "{page}");
        seen.extend(
            listed.iter().map(|organisation| {
                (organisation["name"].as_str().unwrap().to_owned(), organisation["organisationId"].as_str().unwrap().parse::<u64>().unwrap())
            }),
        );
        match page["pagination"]["nextPageToken"].as_str() {
            Some(token) => path = format!("/v1/organisations?q=PAGER&limit=4&pageToken={token}"),
            None => break,
        }
    }
    assert_eq!(seen, made, "every one once, in name order");
    let (_, found) = app.get("/v1/organisations?q=50%25").await;
    let names: Vec<&str> = found["organisations"].as_array().unwrap().iter().filter_map(|organisation| organisation["name"].as_str()).collect();
    assert_eq!(names, ["pager 50% off"], "% is itself: {found}");
    for bad in ["limit=0", "limit=201", "pageToken=x", &format!("q={}", "q".repeat(101))] {
        let (status, refused) = app.get(&format!("/v1/organisations?{bad}")).await;
        assert_eq!((status, refused["error"]["code"].as_str()), (400, Some("invalid_parameter")), "{bad}: {refused}");
    }
}

/// `GET /v1/organisations` lists what the caller may open: every organisation, by name, for
/// admins; their own for a member; none for anyone else.
#[tokio::test]
async fn organisations_are_listed_to_those_who_may_open_them() {
    let app = spawn_app().await;
    let people = registered(&app, ["lister-head@example.com", "lister-carol@example.com", "lister-dave@example.com"]).await;
    let [(head, head_token), (carol, carol_token), (_, dave_token)] = &people;
    let mut ids = Vec::new();
    for name in ["Zeta lister", "Alpha lister"] {
        let (status, created) = app.post("/v1/organisations", json!({"name": name})).await;
        assert_eq!(status, 201, "{created}");
        ids.push(created["organisationId"].as_str().unwrap().to_owned());
    }
    let (zeta, alpha) = (&ids[0], &ids[1]);
    for (user, role) in [(head, "org_admin"), (carol, "member")] {
        let response = app.client.put(app.url(&format!("/v1/organisations/{alpha}/members/{user}"))).json(&json!({"role": role})).send().await.unwrap();
        assert_eq!(response.status(), 200);
    }
    let (status, _) =
        call(&app, &app.anonymous, Method::POST, &format!("/v1/organisations/{alpha}/groups"), Some(head_token), Some(json!({"name": "3B"}))).await;
    assert_eq!(status, 201);

    let (status, listed) = call(&app, &app.client, Method::GET, "/v1/organisations", None, None).await;
    assert_eq!(status, 200, "{listed}");
    let all = listed["organisations"].as_array().unwrap();
    let at = |id: &str| all.iter().position(|organisation| organisation["organisationId"] == id).unwrap_or_else(|| panic!("{id} missing: {listed}"));
    assert!(at(alpha) < at(zeta), "by name: {listed}");
    let alpha_listed = &all[at(alpha)];
    assert_eq!(
        (alpha_listed["name"].as_str(), alpha_listed["members"].as_u64(), alpha_listed["groups"].as_u64()),
        (Some("Alpha lister"), Some(2), Some(1)),
        "{alpha_listed}"
    );
    assert_eq!((all[at(zeta)]["members"].as_u64(), all[at(zeta)]["groups"].as_u64()), (Some(0), Some(0)));

    for token in [head_token, carol_token] {
        let (status, own) = call(&app, &app.anonymous, Method::GET, "/v1/organisations", Some(token), None).await;
        let names: Vec<&str> = own["organisations"].as_array().unwrap().iter().filter_map(|organisation| organisation["organisationId"].as_str()).collect();
        assert_eq!((status, names), (200, vec![alpha.as_str()]), "a member sees their own only: {own}");
    }
    // Who manages the members sees their usernames; the other members see ids.
    let names = |seen: &Value| -> Vec<Option<String>> {
        seen["members"].as_array().unwrap().iter().map(|member| member["username"].as_str().map(str::to_owned)).collect()
    };
    let named = vec![Some("lister-head".to_owned()), Some("lister-carol".to_owned())];
    let (_, seen) = call(&app, &app.client, Method::GET, &format!("/v1/organisations/{alpha}"), None, None).await;
    assert_eq!(names(&seen), named, "{seen}");
    let (_, seen) = call(&app, &app.anonymous, Method::GET, &format!("/v1/organisations/{alpha}"), Some(head_token), None).await;
    assert_eq!(names(&seen), named, "{seen}");
    let (_, seen) = call(&app, &app.anonymous, Method::GET, &format!("/v1/organisations/{alpha}"), Some(carol_token), None).await;
    assert_eq!(names(&seen), vec![None, None], "{seen}");

    let (status, none) = call(&app, &app.anonymous, Method::GET, "/v1/organisations", Some(dave_token), None).await;
    assert_eq!((status, none["organisations"].as_array().map(Vec::len)), (200, Some(0)), "{none}");
    let (status, _) = call(&app, &app.anonymous, Method::GET, "/v1/organisations", None, None).await;
    assert_eq!(status, 401);
}

/// An invitation stands on its inviter's rights: once the organisation admin who made it
/// is demoted (or a platform admin is), it can no longer be accepted and is listed nowhere,
/// so a demoted admin cannot keep a way back in (an `org_admin` invitation to a second
/// account of theirs). Invitations of admins who still are stand.
#[tokio::test]
async fn an_invitation_lapses_when_its_inviter_is_no_longer_an_admin() {
    let app = spawn_app().await;
    let people =
        registered(&app, ["head@example.com", "deputy@example.com", "alt@example.com", "carol@example.com", "root@example.com", "dave@example.com"]).await;
    let [(head, head_token), (deputy, deputy_token), (alt, alt_token), (carol, carol_token), (root, _), (dave, dave_token)] = &people;
    let (_, created) = app.post("/v1/organisations", json!({"name": "Class 5A"})).await;
    let org = created["organisationId"].as_str().unwrap().to_owned();
    for admin in [head, deputy] {
        let response = app.client.put(app.url(&format!("/v1/organisations/{org}/members/{admin}"))).json(&json!({"role": "org_admin"})).send().await.unwrap();
        assert_eq!(response.status(), 200);
    }
    let invitations = format!("/v1/organisations/{org}/invitations");
    let invite = |token: &str, user: &str, role: &str| {
        let (token, body) = (token.to_owned(), json!({"userId": user, "role": role}));
        let (app, invitations) = (&app, invitations.clone());
        async move {
            let (status, invited) = call(app, &app.anonymous, Method::POST, &invitations, Some(&token), Some(body)).await;
            assert_eq!(status, 201, "{invited}");
            invited["invitationId"].as_str().unwrap().to_owned()
        }
    };
    let to_alt = invite(head_token, alt, "org_admin").await;
    let to_carol = invite(head_token, carol, "member").await;
    // A platform admin (a user, not the operator key) invites too.
    let response = app.client.put(app.url(&format!("/v1/users/{root}/role"))).json(&json!({"role": "admin"})).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let (_, login) =
        call(&app, &app.anonymous, Method::POST, "/v1/auth/login", None, Some(json!({"email": "root@example.com", "password": "correct horse"}))).await;
    let to_dave = invite(login["accessToken"].as_str().unwrap(), dave, "member").await;
    let (_, listed) = call(&app, &app.anonymous, Method::GET, &invitations, Some(deputy_token), None).await;
    assert_eq!(listed["invitations"].as_array().unwrap().len(), 3, "{listed}");

    // The head steps down to member; the platform admin becomes a trader.
    let response = app.client.put(app.url(&format!("/v1/organisations/{org}/members/{head}"))).json(&json!({"role": "member"})).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let response = app.client.put(app.url(&format!("/v1/users/{root}/role"))).json(&json!({"role": "trader"})).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let (_, listed) = call(&app, &app.anonymous, Method::GET, &invitations, Some(deputy_token), None).await;
    assert!(listed["invitations"].as_array().unwrap().is_empty(), "none stands: {listed}");
    for (token, id) in [(alt_token, &to_alt), (carol_token, &to_carol), (dave_token, &to_dave)] {
        let (_, mine) = call(&app, &app.anonymous, Method::GET, "/v1/me/invitations", Some(token), None).await;
        assert!(mine["invitations"].as_array().unwrap().is_empty(), "{mine}");
        let (status, refused) = call(&app, &app.anonymous, Method::POST, &format!("/v1/me/invitations/{id}/accept"), Some(token), None).await;
        assert_eq!((status, refused["error"]["code"].as_str()), (404, Some("not_found")), "{refused}");
    }
    let (_, seen) = app.get(&format!("/v1/organisations/{org}")).await;
    let members: Vec<(&str, &str)> =
        seen["members"].as_array().unwrap().iter().map(|member| (member["userId"].as_str().unwrap(), member["role"].as_str().unwrap())).collect();
    assert_eq!(members.len(), 2, "nobody joined: {seen}");
    assert!(members.contains(&(head.as_str(), "member")) && members.contains(&(deputy.as_str(), "org_admin")), "{seen}");

    // The deputy, still an admin, invites Carol again: that one stands.
    let again = invite(deputy_token, carol, "member").await;
    let (status, joined) = call(&app, &app.anonymous, Method::POST, &format!("/v1/me/invitations/{again}/accept"), Some(carol_token), None).await;
    assert_eq!((status, joined["role"].as_str()), (200, Some("member")), "{joined}");
}

/// Two admins of an organisation stepping down (or leaving) at the same moment cannot both
/// succeed: the member list is changed in one transaction that refuses to leave the
/// organisation with members and no admin, so one of them is refused and it keeps one.
#[tokio::test]
async fn two_admins_stepping_down_at_once_leave_one() {
    let app = spawn_app().await;
    let [(ann, ann_token), (ben, ben_token), (cat, _)] = registered(&app, ["ann@example.com", "ben@example.com", "cat@example.com"]).await;
    let (_, created) = app.post("/v1/organisations", json!({"name": "Pair"})).await;
    let org = created["organisationId"].as_str().unwrap().to_owned();
    let put = |user: &str, role: &str| app.client.put(app.url(&format!("/v1/organisations/{org}/members/{user}"))).json(&json!({"role": role})).send();
    assert_eq!(put(&cat, "member").await.unwrap().status(), 200);
    let as_user = |token: &str, method: Method, path: String, body: Option<Value>| {
        let mut request = app.anonymous.request(method, app.url(&path)).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        async move { request.send().await.unwrap().status().as_u16() }
    };
    for round in 0..12 {
        for user in [&ann, &ben] {
            assert_eq!(put(user, "org_admin").await.unwrap().status(), 200);
        }
        // Both step down, or one steps down as the other leaves.
        let (ann_step, ben_step) = if round % 2 == 0 {
            (
                as_user(&ann_token, Method::PUT, format!("/v1/organisations/{org}/members/{ann}"), Some(json!({"role": "member"}))),
                as_user(&ben_token, Method::PUT, format!("/v1/organisations/{org}/members/{ben}"), Some(json!({"role": "member"}))),
            )
        } else {
            (
                as_user(&ann_token, Method::DELETE, format!("/v1/organisations/{org}/members/{ann}"), None),
                as_user(&ben_token, Method::PUT, format!("/v1/organisations/{org}/members/{ben}"), Some(json!({"role": "member"}))),
            )
        };
        let (first, second) = tokio::join!(ann_step, ben_step);
        let mut answers = [first, second];
        answers.sort_unstable();
        assert!(answers[0] < 300 && answers[1] == 409, "round {round}: one steps down, the other is refused: {answers:?}");
        let (_, seen) = app.get(&format!("/v1/organisations/{org}")).await;
        let admins = seen["members"].as_array().unwrap().iter().filter(|member| member["role"] == "org_admin").count();
        assert_eq!(admins, 1, "round {round}: {seen}");
        if round % 2 == 1 && first < 300 {
            // Ann left: she comes back for the next round.
            assert_eq!(put(&ann, "member").await.unwrap().status(), 200);
        }
    }
}

/// A user's practice and contest accounts are under their organisation's and group's
/// limits as their default account is, whether opened before or after they joined, and a
/// practice account under the limits an admin set on the user: a second account is no way
/// around them. Leaving the organisation frees them all.
#[tokio::test]
async fn limits_on_a_user_and_their_organisation_hold_in_every_account_of_theirs() {
    let app = spawn_app().await;
    let [(trader, token)] = registered(&app, ["many-accounts@example.com"]).await;
    let open = |name: &'static str| {
        let token = token.clone();
        let app = &app;
        async move {
            let (status, opened) = call(app, &app.anonymous, Method::POST, "/v1/me/accounts", Some(&token), Some(json!({"name": name}))).await;
            assert_eq!(status, 201, "{opened}");
            opened["accountId"].as_str().unwrap().to_owned()
        }
    };
    let order = |account: &str, quantity: &str| {
        let body = json!({"userId": account, "symbol": "MOCK", "quantity": quantity, "side": "BUY", "type": "LIMIT", "limitPrice": "90"});
        call(&app, &app.anonymous, Method::POST, "/v1/orders", Some(&token), Some(body))
    };
    let before = open("before").await;

    let (status, organisation) = app.post("/v1/organisations", json!({"name": "Strict class"})).await;
    assert_eq!(status, 201, "{organisation}");
    let org = organisation["organisationId"].as_str().unwrap().to_owned();
    let joined = app.client.put(app.url(&format!("/v1/organisations/{org}/members/{trader}"))).json(&json!({"role": "member"})).send().await.unwrap();
    assert_eq!(joined.status(), 200);
    let (status, _) = call(&app, &app.client, Method::PUT, &format!("/v1/limits/organisations/{org}"), None, Some(json!({"maxOrderQuantity": "5"}))).await;
    assert_eq!(status, 200);
    let after = open("after").await;
    for account in [trader.as_str(), before.as_str(), after.as_str()] {
        let (status, refused) = order(account, "10").await;
        assert_eq!((status, refused["error"]["code"].as_str()), (403, Some("limit_max_order_quantity")), "account {account}: {refused}");
        let (status, placed) = order(account, "5").await;
        assert_eq!(status, 202, "account {account}: {placed}");
    }

    let left = app.client.delete(app.url(&format!("/v1/organisations/{org}/members/{trader}"))).send().await.unwrap();
    assert_eq!(left.status(), 204);
    for account in [trader.as_str(), before.as_str(), after.as_str()] {
        assert_eq!(order(account, "10").await.0, 202, "account {account} is out of the organisation's limits");
    }

    let (status, _) = call(&app, &app.client, Method::PUT, &format!("/v1/limits/users/{trader}"), None, Some(json!({"tradingEnabled": false}))).await;
    assert_eq!(status, 200);
    let later = open("later").await;
    for account in [trader.as_str(), before.as_str(), after.as_str(), later.as_str()] {
        let (status, refused) = order(account, "1").await;
        assert_eq!((status, refused["error"]["code"].as_str()), (403, Some("limit_trading_disabled")), "account {account}: {refused}");
    }
}
