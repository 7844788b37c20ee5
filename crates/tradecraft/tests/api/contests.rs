//! `/v1/contests`: a contest from creation to its final standings on an injected clock:
//! orders refused outside the trading window, rules as the entries' trading limits, invite
//! codes, start and end told to every entrant, live and final standings, frozen accounts.

use reqwest::Method;
use serde_json::{Value, json};

use crate::auth::{call, register};
use crate::helpers::{TestApp, spawn_app, spawn_with_clock};
use tradecraft_api::clock::Clock;

fn at(millis: i64) -> String {
    tradecraft_types::Timestamp::from_millis(millis).to_string()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

fn notified(body: &Value, kind: &str) -> Vec<String> {
    body["notifications"].as_array().unwrap().iter().filter(|item| item["kind"] == kind).map(|item| item["message"].as_str().unwrap().to_owned()).collect()
}

async fn as_user(app: &TestApp, token: &str, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    call(app, &app.anonymous, method, path, Some(token), body).await
}

#[tokio::test]
async fn a_contest_runs_from_registration_to_final_standings() {
    let t0 = now_ms();
    let clock = Clock::manual(t0);
    let app = spawn_with_clock(clock.clone(), |_| {}).await;
    let hour = 3_600_000;
    let (trading_start, registration_end, trading_end) = (t0 + hour, t0 + 2 * hour, t0 + 3 * hour);
    let contest = json!({
        "name": "Week one", "description": "MOCK only", "startingCash": "10000", "allowedSymbols": ["MOCK", "MOCK"],
        "rules": {"maxOrderQuantity": "50"},
        "registrationStart": at(t0 - 60_000), "registrationEnd": at(registration_end),
        "tradingStart": at(trading_start), "tradingEnd": at(trading_end),
    });
    let ada = register(&app, "ada@example.com").await;
    let bob = register(&app, "bob@example.com").await;
    let cy = register(&app, "cy@example.com").await;
    let (ada_token, bob_token, cy_token) = (ada["accessToken"].as_str().unwrap(), bob["accessToken"].as_str().unwrap(), cy["accessToken"].as_str().unwrap());
    let (status, refused) = as_user(&app, ada_token, Method::POST, "/v1/contests", Some(contest.clone())).await;
    assert_eq!(status, 403, "traders do not organise: {refused}");
    let (status, created) = app.post("/v1/contests", contest).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!((created["status"].as_str(), created["entries"].as_u64()), (Some("REGISTRATION"), Some(0)), "{created}");
    assert_eq!(created["rules"]["allowedSymbols"], json!(["MOCK"]), "a symbol given twice is kept once: {created}");
    let id = created["contestId"].as_str().unwrap().to_owned();

    let (status, joined) = as_user(&app, ada_token, Method::POST, &format!("/v1/contests/{id}/join"), Some(json!({}))).await;
    assert_eq!(status, 201, "{joined}");
    let ada_account = joined["accountId"].as_str().unwrap().to_owned();
    let (status, again) = as_user(&app, ada_token, Method::POST, &format!("/v1/contests/{id}/join"), Some(json!({}))).await;
    assert_eq!((status, again["error"]["code"].as_str()), (409, Some("already_joined")));
    let (_, joined) = as_user(&app, bob_token, Method::POST, &format!("/v1/contests/{id}/join"), Some(json!({}))).await;
    let bob_account = joined["accountId"].as_str().unwrap().to_owned();
    let (_, joined) = as_user(&app, cy_token, Method::POST, &format!("/v1/contests/{id}/join"), Some(json!({}))).await;
    let cy_account = joined["accountId"].as_str().unwrap().to_owned();
    // An entrant who deletes their account leaves the contest's standings (below).
    let dee = register(&app, "dee@example.com").await;
    let dee_token = dee["accessToken"].as_str().unwrap();
    let (status, _) = as_user(&app, dee_token, Method::POST, &format!("/v1/contests/{id}/join"), Some(json!({}))).await;
    assert_eq!(status, 201);
    let (status, _) = as_user(&app, dee_token, Method::DELETE, "/v1/me", Some(json!({"password": "correct horse"}))).await;
    assert_eq!(status, 204);
    let (_, accounts) = as_user(&app, ada_token, Method::GET, "/v1/me/accounts", None).await;
    let contest_account = accounts["accounts"].as_array().unwrap().iter().find(|account| account["accountId"] == ada_account.as_str()).unwrap();
    assert_eq!((contest_account["kind"].as_str(), contest_account["cashBalance"].as_str()), (Some("CONTEST"), Some("10000")), "{accounts}");

    // Before the trading window: refused with a clear code.
    let order = |account: &str, quantity: &str, kind: &str| json!({"userId": account, "symbol": "MOCK", "quantity": quantity, "side": "BUY", "type": kind, "limitPrice": if kind == "LIMIT" { Some("90") } else { None }});
    let (status, early) = as_user(&app, ada_token, Method::POST, "/v1/orders", Some(order(&ada_account, "10", "MARKET"))).await;
    assert_eq!((status, early["error"]["code"].as_str()), (403, Some("contest_not_running")), "{early}");
    let (status, _) = as_user(&app, ada_token, Method::POST, &format!("/v1/me/accounts/{ada_account}/reset"), None).await;
    assert_eq!(status, 409, "a contest's account is not reset");

    let (_, before) = as_user(&app, cy_token, Method::GET, "/v1/notifications", None).await;
    assert!(notified(&before, "CONTEST_STARTED").is_empty(), "{before}");
    clock.set(trading_start + 1_000);
    // Every entrant is told, once, that it started.
    for token in [ada_token, bob_token, cy_token] {
        let (_, told) = app.get_until_as(token, "/v1/notifications", |_, body| !notified(body, "CONTEST_STARTED").is_empty()).await;
        let started = notified(&told, "CONTEST_STARTED");
        assert_eq!(started.len(), 1, "{told}");
        assert!(started[0].starts_with("Week one has started: trade in account "), "{started:?}");
    }
    let (status, bought) = as_user(&app, ada_token, Method::POST, "/v1/orders", Some(order(&ada_account, "10", "MARKET"))).await;
    assert_eq!(status, 202, "{bought}");
    let (status, rule) = as_user(&app, ada_token, Method::POST, "/v1/orders", Some(order(&ada_account, "60", "LIMIT"))).await;
    assert_eq!(status, 403, "the contest's rules are the account's limits: {rule}");
    let (status, resting) = as_user(&app, bob_token, Method::POST, "/v1/orders", Some(order(&bob_account, "5", "LIMIT"))).await;
    assert_eq!(status, 202, "{resting}");
    // Someone outside the contest moves the last price up: Ada's shares gain.
    let outsider = app.account("100000").await;
    let (status, _) = app.post("/v1/orders", json!({"userId": outsider, "symbol": "MOCK", "quantity": "150", "side": "BUY", "type": "MARKET"})).await;
    assert_eq!(status, 202);
    // The organiser (an admin here) sees whose every line is.
    let (status, live) = app.get(&format!("/v1/contests/{id}/leaderboard")).await;
    assert_eq!(status, 200, "{live}");
    assert_eq!((live["status"].as_str(), live["final"].as_bool()), (Some("RUNNING"), Some(false)), "{live}");
    let column = |board: &Value, field: &str| board["standings"].as_array().unwrap().iter().map(|line| line[field].clone()).collect::<Vec<_>>();
    assert_eq!(column(&live, "accountId"), [json!(ada_account), json!(bob_account), json!(cy_account)], "{live}");
    assert!(live["standings"][0]["returnPercent"].as_str().unwrap().parse::<f64>().unwrap() > 0.0, "{live}");
    // An entrant sees their own line, a public profile's by name, and nothing of whose a
    // private profile's line is (Ada's).
    let (status, _) = as_user(&app, cy_token, Method::PUT, "/v1/me/profile", Some(json!({"displayName": "Cy <3", "public": true}))).await;
    assert_eq!(status, 200);
    let (_, seen) = as_user(&app, bob_token, Method::GET, &format!("/v1/contests/{id}/leaderboard"), None).await;
    assert_eq!(column(&seen, "rank"), column(&live, "rank"), "{seen}");
    assert_eq!(column(&seen, "returnPercent"), column(&live, "returnPercent"), "{seen}");
    assert_eq!(column(&seen, "accountId"), [Value::Null, json!(bob_account), json!(cy_account)], "{seen}");
    assert_eq!(column(&seen, "userId"), [Value::Null, bob["userId"].clone(), cy["userId"].clone()], "{seen}");
    assert_eq!(column(&seen, "displayName"), [Value::Null, Value::Null, json!("Cy &lt;3")], "{seen}");
    let (_, page) = as_user(&app, bob_token, Method::GET, &format!("/v1/contests/{id}/leaderboard?limit=1"), None).await;
    assert_eq!((page["standings"].as_array().unwrap().len(), page["nextPageToken"].as_str()), (1, Some("1")), "{page}");

    clock.set(registration_end + 1_000);
    let carol = register(&app, "carol@example.com").await;
    let (status, late) = as_user(&app, carol["accessToken"].as_str().unwrap(), Method::POST, &format!("/v1/contests/{id}/join"), Some(json!({}))).await;
    assert_eq!((status, late["error"]["code"].as_str()), (409, Some("registration_closed")), "{late}");

    clock.set(trading_end + 1_000);
    // The schedule finalises the contest (nobody needs to read it) and tells each entrant
    // their place.
    let (_, told) = app.get_until_as(cy_token, "/v1/notifications", |_, body| !notified(body, "CONTEST_ENDED").is_empty()).await;
    assert_eq!(notified(&told, "CONTEST_ENDED"), ["Week one has ended: you placed 3 of 3, with a return of 0%."], "{told}");
    let (_, told) = as_user(&app, ada_token, Method::GET, "/v1/notifications", None).await;
    assert!(notified(&told, "CONTEST_ENDED")[0].starts_with("Week one has ended: you placed 1 of 3, with a return of "), "{told}");
    let (_, cancelled) = as_user(&app, bob_token, Method::GET, &format!("/v1/orders/{}", resting["orderId"].as_str().unwrap()), None).await;
    assert_eq!(cancelled["status"], "CANCELLED", "the accounts are frozen at the end: {cancelled}");
    let (status, after) = as_user(&app, ada_token, Method::POST, "/v1/orders", Some(order(&ada_account, "1", "MARKET"))).await;
    assert_eq!((status, after["error"]["code"].as_str()), (403, Some("contest_not_running")), "{after}");
    let (_, last) = app.get(&format!("/v1/contests/{id}/leaderboard")).await;
    assert_eq!((last["status"].as_str(), last["final"].as_bool()), (Some("ENDED"), Some(true)), "{last}");
    assert_eq!(last["standings"][0]["accountId"], ada_account.as_str(), "{last}");
    let (_, again) = app.get(&format!("/v1/contests/{id}/leaderboard")).await;
    assert_eq!(again["standings"], last["standings"], "the final standings are recorded once");
    let (_, recorded) = as_user(&app, ada_token, Method::GET, &format!("/v1/contests/{id}/leaderboard"), None).await;
    assert_eq!(column(&recorded, "accountId"), [json!(ada_account), Value::Null, json!(cy_account)], "the recorded ones are shown the same way: {recorded}");
    let (_, shown) = as_user(&app, ada_token, Method::GET, &format!("/v1/contests/{id}"), None).await;
    assert!(shown["finalizedAt"].is_string() && shown["accountId"] == ada_account.as_str(), "{shown}");
}

#[tokio::test]
async fn invite_only_contests_need_their_code_and_are_hidden_from_others() {
    let app = spawn_app().await;
    let t0 = now_ms();
    let window = json!({
        "name": "Class 3B", "visibility": "INVITE", "ranking": "SHARPE",
        "registrationStart": at(t0 - 1_000), "registrationEnd": at(t0 + 600_000), "tradingStart": at(t0), "tradingEnd": at(t0 + 600_000),
    });
    let (status, created) = app.post("/v1/contests", window.clone()).await;
    assert_eq!(status, 201, "{created}");
    let (id, code) = (created["contestId"].as_str().unwrap().to_owned(), created["inviteCode"].as_str().unwrap().to_owned());
    let ada = register(&app, "ada@example.com").await;
    let token = ada["accessToken"].as_str().unwrap();
    let (status, _) = as_user(&app, token, Method::GET, &format!("/v1/contests/{id}"), None).await;
    assert_eq!(status, 404, "invite-only contests are hidden from those not in them");
    let (_, listed) = as_user(&app, token, Method::GET, "/v1/contests", None).await;
    assert!(listed["contests"].as_array().unwrap().is_empty(), "{listed}");
    let (status, refused) = as_user(&app, token, Method::POST, &format!("/v1/contests/{id}/join"), Some(json!({"inviteCode": "guess"}))).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (403, Some("invite_required")));
    let (status, joined) = as_user(&app, token, Method::POST, &format!("/v1/contests/{id}/join"), Some(json!({"inviteCode": code}))).await;
    assert_eq!(status, 201, "{joined}");
    assert!(joined.get("inviteCode").is_none(), "only its organiser sees the code: {joined}");
    let (status, shown) = as_user(&app, token, Method::GET, &format!("/v1/contests/{id}"), None).await;
    assert_eq!((status, shown["ranking"].as_str()), (200, Some("SHARPE")), "{shown}");

    // Each impossible window names the time that is wrong.
    for (field, time) in [("tradingEnd", t0 - 5_000), ("registrationEnd", t0 + 900_000), ("registrationStart", t0 + 1_000)] {
        let mut bad = window.clone();
        bad[field] = json!(at(time));
        let (status, answer) = app.post("/v1/contests", bad).await;
        assert_eq!((status, answer["error"]["details"]["field"].as_str()), (400, Some(field)), "{answer}");
    }
    for (field, word) in [("visibility", "INVITE_ONLY"), ("ranking", "TOTAL_RETURN")] {
        let mut bad = window.clone();
        bad[field] = json!(word);
        let (status, answer) = app.post("/v1/contests", bad).await;
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(status == 400 && message.contains(" or "), "{field}: the words it may be, not a length: {answer}");
    }
    // A contest over before it is made or closed to entrants already, dated absurdly far
    // back or ahead, with no symbol to trade, or for an organisation that does not exist,
    // is not stored.
    const YEAR: i64 = 365 * 86_400_000;
    let past = json!({"registrationStart": at(t0 - 3 * 86_400_000), "registrationEnd": at(t0 - 2 * 86_400_000),
        "tradingStart": at(t0 - 2 * 86_400_000), "tradingEnd": at(t0 - 86_400_000)});
    let far = [("registrationStart", json!("0000-01-01T00:00:00Z")), ("tradingEnd", json!("9999-12-31T23:59:59Z")), ("tradingEnd", json!(at(t0 + 11 * YEAR)))];
    let mut cases: Vec<(Value, &str, u16)> = vec![(past, "tradingEnd", 400)];
    // Registration closed already: nobody could enter.
    cases.push((json!({"registrationEnd": at(t0 - 500)}), "registrationEnd", 400));
    cases.extend(far.into_iter().map(|(field, time)| (json!({ field: time }), field, 400)));
    cases.push((json!({"allowedSymbols": []}), "allowedSymbols", 400));
    cases.push((json!({"rules": {"allowedSymbols": []}}), "allowedSymbols", 400));
    cases.push((json!({"allowedSymbols": ["NOPE"]}), "allowedSymbols", 400));
    cases.push((json!({"allowedSymbols": ["MOCK"], "rules": {"blockedSymbols": ["MOCK"]}}), "allowedSymbols", 400));
    cases.push((json!({"rules": {"allowedSymbols": ["MOCK"], "blockedSymbols": ["MOCK"]}}), "blockedSymbols", 400));
    // Two answers to one question are refused, not one of them dropped.
    cases.push((json!({"allowedSymbols": ["MOCK"], "rules": {"allowedSymbols": ["MOCK"]}}), "allowedSymbols", 400));
    cases.push((json!({"rules": {"tradingEnabled": false}}), "tradingEnabled", 400));
    cases.push((json!({"organisationId": "123456"}), "", 404));
    for (change, field, expected) in cases {
        let mut bad = window.clone();
        for (name, value) in change.as_object().unwrap() {
            bad[name] = value.clone();
        }
        let (status, answer) = app.post("/v1/contests", bad).await;
        assert_eq!(status, expected, "{change}: {answer}");
        if !field.is_empty() {
            assert_eq!(answer["error"]["details"]["field"], field, "{change}: {answer}");
        }
    }
    let (_, listed) = app.get("/v1/contests").await;
    assert_eq!(listed["contests"].as_array().unwrap().len(), 1, "only the first contest was stored: {listed}");
}

#[tokio::test]
async fn joins_racing_each_other_make_one_entry_and_refuse_the_rest_alike() {
    let app = spawn_app().await;
    let t0 = now_ms();
    let window = json!({
        "name": "Race", "registrationStart": at(t0 - 1_000), "registrationEnd": at(t0 + 600_000), "tradingStart": at(t0), "tradingEnd": at(t0 + 600_000),
    });
    let (status, created) = app.post("/v1/contests", window).await;
    assert_eq!(status, 201, "{created}");
    let path = format!("/v1/contests/{}/join", created["contestId"].as_str().unwrap());
    let ada = register(&app, "ada@example.com").await;
    let token = ada["accessToken"].as_str().unwrap();
    let answers = futures_util::future::join_all((0..8).map(|_| as_user(&app, token, Method::POST, &path, Some(json!({}))))).await;
    assert_eq!(answers.iter().filter(|(status, _)| *status == 201).count(), 1, "{answers:?}");
    for (status, answer) in answers.iter().filter(|(status, _)| *status != 201) {
        assert_eq!((*status, answer["error"]["code"].as_str()), (409, Some("already_joined")), "{answer}");
    }
    let (_, accounts) = as_user(&app, token, Method::GET, "/v1/me/accounts", None).await;
    let contest_accounts = accounts["accounts"].as_array().unwrap().iter().filter(|account| account["kind"] == "CONTEST").count();
    assert_eq!(contest_accounts, 1, "{accounts}");
}

/// An organisation's contest is for its members: they see, join and follow it; to anyone
/// else it is not there (not listed, 404 to open, join or rank), whatever its visibility.
/// The platform's contests stay open to all.
#[tokio::test]
async fn an_organisations_contest_is_for_its_members() {
    let app = spawn_app().await;
    let t0 = now_ms();
    let (_, school) = app.post("/v1/organisations", json!({"name": "Riverside"})).await;
    let org = school["organisationId"].as_str().unwrap().to_owned();
    let (pupil, outsider) = (register(&app, "pupil@example.com").await, register(&app, "outsider@example.com").await);
    let response = app
        .client
        .put(app.url(&format!("/v1/organisations/{org}/members/{}", pupil["userId"].as_str().unwrap())))
        .json(&json!({"role": "member"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let window = |name: &str| json!({"name": name, "registrationStart": at(t0 - 1_000), "registrationEnd": at(t0 + 600_000), "tradingStart": at(t0), "tradingEnd": at(t0 + 600_000)});
    let mut class = window("Class cup");
    class["organisationId"] = json!(org);
    let (status, created) = app.post("/v1/contests", class).await;
    assert_eq!(status, 201, "{created}");
    let class_id = created["contestId"].as_str().unwrap().to_owned();
    let (_, open) = app.post("/v1/contests", window("Open cup")).await;
    let open_id = open["contestId"].as_str().unwrap().to_owned();

    let listed = |token: String| {
        let app = &app;
        async move {
            let (status, listed) = as_user(app, &token, Method::GET, "/v1/contests", None).await;
            assert_eq!(status, 200, "{listed}");
            let mut ids: Vec<String> = listed["contests"].as_array().unwrap().iter().map(|contest| contest["contestId"].as_str().unwrap().to_owned()).collect();
            ids.sort();
            ids
        }
    };
    let (pupil_token, outsider_token) = (pupil["accessToken"].as_str().unwrap(), outsider["accessToken"].as_str().unwrap());
    let mut both = vec![class_id.clone(), open_id.clone()];
    both.sort();
    assert_eq!(listed(pupil_token.to_owned()).await, both, "a member sees the class's contest");
    assert_eq!(listed(outsider_token.to_owned()).await, vec![open_id.clone()], "others see the platform's only");
    for (method, path) in [
        (Method::GET, format!("/v1/contests/{class_id}")),
        (Method::POST, format!("/v1/contests/{class_id}/join")),
        (Method::GET, format!("/v1/contests/{class_id}/leaderboard")),
    ] {
        let body = (method == Method::POST).then(|| json!({}));
        let (status, answer) = as_user(&app, outsider_token, method.clone(), &path, body).await;
        assert_eq!(status, 404, "{method} {path}: {answer}");
    }
    let (status, joined) = as_user(&app, pupil_token, Method::POST, &format!("/v1/contests/{class_id}/join"), Some(json!({}))).await;
    assert_eq!(status, 201, "{joined}");
    let (status, joined) = as_user(&app, outsider_token, Method::POST, &format!("/v1/contests/{open_id}/join"), Some(json!({}))).await;
    assert_eq!(status, 201, "{joined}");
    let (status, standings) = as_user(&app, pupil_token, Method::GET, &format!("/v1/contests/{class_id}/leaderboard"), None).await;
    assert_eq!((status, standings["standings"].as_array().map(Vec::len)), (200, Some(1)), "{standings}");

    // Its organisers are the organisation's admins of today: each of them sees the invite
    // code of the contest one of them made; one who is no longer an admin sees none.
    let (head, deputy) = (register(&app, "head@example.com").await, register(&app, "deputy@example.com").await);
    let set_role = |user: &Value, role: &str| {
        let path = format!("/v1/organisations/{org}/members/{}", user["userId"].as_str().unwrap());
        app.client.put(app.url(&path)).json(&json!({"role": role})).send()
    };
    for teacher in [&head, &deputy] {
        assert_eq!(set_role(teacher, "org_admin").await.unwrap().status(), 200);
    }
    let mut invite = window("Invited cup");
    invite["organisationId"] = json!(org);
    invite["visibility"] = json!("INVITE");
    let (status, made) = as_user(&app, head["accessToken"].as_str().unwrap(), Method::POST, "/v1/contests", Some(invite)).await;
    assert_eq!(status, 201, "{made}");
    let (invite_id, code) = (made["contestId"].as_str().unwrap(), made["inviteCode"].as_str().unwrap());
    let code_seen_by = |teacher: &Value| {
        let token = teacher["accessToken"].as_str().unwrap().to_owned();
        let app = &app;
        async move {
            let (status, seen) = as_user(app, &token, Method::GET, &format!("/v1/contests/{invite_id}"), None).await;
            (status, seen["inviteCode"].as_str().map(str::to_owned))
        }
    };
    assert_eq!(code_seen_by(&deputy).await, (200, Some(code.to_owned())), "another of its admins organises it too");
    assert_eq!(set_role(&head, "member").await.unwrap().status(), 200);
    assert_eq!(code_seen_by(&head).await, (404, None), "its maker, no longer an admin, is a member who has not joined");
}
