//! `/v1/me/accounts`: several paper accounts per user, each traded and read through the
//! routes that take a `userId`, and reset without touching the others or the API keys.

use reqwest::Method;
use serde_json::json;

use crate::auth::{call, register};
use crate::helpers::spawn_app;

#[tokio::test]
async fn a_user_trades_in_several_paper_accounts_and_resets_one() {
    let app = spawn_app().await;
    let ada = register(&app, "ada@example.com").await;
    let (user, token) = (ada["userId"].as_str().unwrap().to_owned(), ada["accessToken"].as_str().unwrap().to_owned());
    let client = &app.anonymous;

    let (status, accounts) = call(&app, client, Method::GET, "/v1/me/accounts", Some(&token), None).await;
    assert_eq!(status, 200, "{accounts}");
    assert_eq!(accounts["accounts"].as_array().unwrap().len(), 1, "{accounts}");
    assert_eq!((accounts["accounts"][0]["accountId"].as_str(), accounts["accounts"][0]["kind"].as_str()), (Some(user.as_str()), Some("DEFAULT")));

    let (status, practice) = call(&app, client, Method::POST, "/v1/me/accounts", Some(&token), Some(json!({"name": "momentum", "cash": "5000"}))).await;
    assert_eq!(status, 201, "{practice}");
    assert_eq!(
        (practice["kind"].as_str(), practice["cashBalance"].as_str(), practice["startingCash"].as_str()),
        (Some("PRACTICE"), Some("5000"), Some("5000"))
    );
    let account = practice["accountId"].as_str().unwrap().to_owned();
    assert_ne!(account, user);

    // Trading in it names it as the userId; the default account is untouched.
    let buy = json!({"userId": account, "symbol": "MOCK", "quantity": "10", "side": "BUY", "type": "MARKET"});
    let (status, placed) = call(&app, client, Method::POST, "/v1/orders", Some(&token), Some(buy)).await;
    assert_eq!(status, 202, "{placed}");
    let rest = json!({"userId": account, "symbol": "MOCK", "quantity": "5", "side": "BUY", "type": "LIMIT", "limitPrice": "90"});
    let (status, resting) = call(&app, client, Method::POST, "/v1/orders", Some(&token), Some(rest)).await;
    assert_eq!(status, 202, "{resting}");
    let (_, portfolio) = call(&app, client, Method::GET, &format!("/v1/portfolio/{account}"), Some(&token), None).await;
    assert_eq!((portfolio["holdings"]["MOCK"].as_str(), portfolio["openOrders"].as_u64()), (Some("10"), Some(1)), "{portfolio}");
    let (_, default) = call(&app, client, Method::GET, &format!("/v1/portfolio/{user}"), Some(&token), None).await;
    assert_eq!((default["cashBalance"].as_str(), default["holdings"]["MOCK"].as_str()), (Some("100000"), None), "{default}");
    let (_, poor) = call(
        &app,
        client,
        Method::POST,
        "/v1/orders",
        Some(&token),
        Some(json!({"userId": account, "symbol": "MOCK", "quantity": "100", "side": "BUY", "type": "MARKET"})),
    )
    .await;
    assert_eq!(poor["error"]["code"], "insufficient_funds", "its own cash, not the default account's: {poor}");
    // The export lists both accounts, and the practice account's orders, trades and price
    // alerts, and the user's watchlists.
    let alert = json!({"userId": account, "symbol": "MOCK", "direction": "ABOVE", "price": "5000"});
    let (status, alert) = call(&app, client, Method::POST, "/v1/price-alerts", Some(&token), Some(alert)).await;
    assert_eq!(status, 201, "{alert}");
    let (status, _) = call(&app, client, Method::POST, "/v2/watchlists", Some(&token), Some(json!({"name": "tech", "symbols": ["MOCK"]}))).await;
    assert_eq!(status, 200);
    let traded = |_: u16, body: &serde_json::Value| body["trades"].as_array().is_some_and(|trades| !trades.is_empty());
    let (_, exported) = app.get_until_as(&token, "/v1/me/export", traded).await;
    let accounts: Vec<&str> = exported["accounts"].as_array().unwrap().iter().map(|item| item["accountId"].as_str().unwrap()).collect();
    assert_eq!(accounts, [user.as_str(), account.as_str()], "{exported}");
    assert!(exported["orders"].as_array().unwrap().iter().all(|order| order["accountId"] == account.as_str()), "{exported}");
    assert_eq!(exported["orders"].as_array().unwrap().len(), 2, "{exported}");
    assert_eq!(exported["trades"][0]["userId"], account.as_str(), "{exported}");
    // Its position and cash statement too, each row naming its account.
    let positions: Vec<(&str, &str, &str)> = exported["positions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|position| (position["accountId"].as_str().unwrap(), position["symbol"].as_str().unwrap(), position["quantity"].as_str().unwrap()))
        .collect();
    assert_eq!(positions, [(account.as_str(), "MOCK", "10")], "{exported}");
    let lines: Vec<(&str, &str)> =
        exported["walletTransactions"].as_array().unwrap().iter().map(|line| (line["accountId"].as_str().unwrap(), line["type"].as_str().unwrap())).collect();
    assert!(lines.contains(&(account.as_str(), "BUY")) && lines.contains(&(user.as_str(), "DEPOSIT")), "{lines:?}");
    assert_eq!(exported["priceAlerts"][0]["alertId"], alert["alertId"], "the practice account's alert: {exported}");
    assert_eq!((exported["watchlists"][0]["name"].as_str(), &exported["watchlists"][0]["symbols"]), (Some("tech"), &json!(["MOCK"])), "{exported}");
    assert!(
        exported["notifications"].as_array().unwrap().iter().any(|notification| notification["kind"] == "ORDER_FILLED"),
        "the practice account's fill: {exported}"
    );

    // Nobody else may use it.
    let bob = register(&app, "bob@example.com").await;
    let bob_token = bob["accessToken"].as_str().unwrap();
    let (status, _) = call(&app, client, Method::GET, &format!("/v1/portfolio/{account}"), Some(bob_token), None).await;
    assert_eq!(status, 403);
    let (status, _) =
        call(&app, client, Method::POST, "/v1/orders", Some(bob_token), Some(json!({"userId": account, "symbol": "MOCK", "quantity": "1", "side": "SELL"})))
            .await;
    assert_eq!(status, 403);
    let (status, _) = call(&app, client, Method::POST, &format!("/v1/me/accounts/{account}/reset"), Some(bob_token), None).await;
    assert_eq!(status, 403);
    let (status, _) = call(&app, client, Method::GET, &format!("/v1/orders/{}", placed["orderId"].as_str().unwrap()), Some(bob_token), None).await;
    assert_eq!(status, 404, "another user's account's orders look unknown");

    // A reset cancels its orders, empties it and restores its starting cash.
    let (status, reset) = call(&app, client, Method::POST, &format!("/v1/me/accounts/{account}/reset"), Some(&token), None).await;
    assert_eq!(status, 200, "{reset}");
    assert_eq!(
        (reset["cashBalance"].as_str(), reset["holdings"].as_object().map(serde_json::Map::len), reset["resets"].as_u64()),
        (Some("5000"), Some(0), Some(1)),
        "{reset}"
    );
    let (_, order) = call(&app, client, Method::GET, &format!("/v1/orders/{}", resting["orderId"].as_str().unwrap()), Some(&token), None).await;
    assert_eq!(order["status"], "CANCELLED", "{order}");
    let (_, portfolio) = call(&app, client, Method::GET, &format!("/v1/portfolio/{account}"), Some(&token), None).await;
    assert_eq!((portfolio["cashBalance"].as_str(), portfolio["openOrders"].as_u64()), (Some("5000"), Some(0)), "{portfolio}");
    let (_, default) = call(&app, client, Method::GET, &format!("/v1/portfolio/{user}"), Some(&token), None).await;
    assert_eq!(default["cashBalance"], "100000", "the reset touched only that account");
    // The history stays: the fill is still there, and the statement shows the reset.
    let (_, statement) = app
        .get_until(&format!("/v1/wallet/transactions?userId={account}"), |_, body| body["transactions"].as_array().is_some_and(|lines| lines.len() >= 4))
        .await;
    let kinds: Vec<&str> = statement["transactions"].as_array().unwrap().iter().filter_map(|line| line["type"].as_str()).collect();
    assert!(kinds.contains(&"WITHDRAWAL") && kinds.contains(&"DEPOSIT"), "{statement}");
    // The reset is not a loss: the shares it took out are a flow at their last price, as
    // the cash is. The account bought at the price it is valued at, so it made nothing.
    let (_, performance) = call(&app, client, Method::GET, &format!("/v1/portfolio/performance?userId={account}&period=all"), Some(&token), None).await;
    assert_eq!(
        (performance["endValue"].as_str(), performance["netDeposits"].as_str(), performance["totalReturn"].as_f64()),
        (Some("5000"), Some("5000"), Some(0.0)),
        "{performance}"
    );
    let (_, accounts) = call(&app, client, Method::GET, "/v1/me/accounts", Some(&token), None).await;
    assert_eq!(accounts["accounts"].as_array().unwrap().len(), 2, "{accounts}");

    // Bad requests.
    for body in
        [json!({"name": ""}), json!({"name": "x", "cash": "-1"}), json!({"name": "x", "cash": "0.001"}), json!({"name": "x", "cash": "20000000"}), json!({})]
    {
        let (status, answer) = call(&app, client, Method::POST, "/v1/me/accounts", Some(&token), Some(body.clone())).await;
        assert_eq!(status, 400, "{body} -> {answer}");
    }
    let (status, _) = call(&app, client, Method::POST, "/v1/me/accounts/12345/reset", Some(&token), None).await;
    assert_eq!(status, 403, "not an id of hers");
    let (status, _) =
        call(&app, client, Method::POST, &format!("/v1/me/accounts/{}/reset", user.parse::<u64>().unwrap() + (7 << 48)), Some(&token), None).await;
    assert_eq!(status, 404, "her id space, but never opened");
}

/// A default account has no row of its own: its opening is its user's registration and
/// its resets are its audit trail's, and every surface says so (the reset's answer, the
/// list, the export), as they do for a practice account. The export's audit trail holds
/// what happened to each of the user's accounts, not only to the user.
#[tokio::test]
async fn a_default_accounts_resets_and_opening_read_as_a_practice_accounts_do() {
    let app = spawn_app().await;
    let ada = register(&app, "ada@example.com").await;
    let (user, token) = (ada["userId"].as_str().unwrap().to_owned(), ada["accessToken"].as_str().unwrap().to_owned());
    let client = &app.anonymous;
    let (_, before) = call(&app, client, Method::GET, "/v1/me/accounts", Some(&token), None).await;
    let (_, profile) = call(&app, client, Method::GET, "/v1/me/export", Some(&token), None).await;
    let registered = profile["profile"]["createdAt"].as_str().unwrap().to_owned();
    assert_eq!(
        (before["accounts"][0]["createdAt"].as_str(), before["accounts"][0]["resets"].as_u64(), before["accounts"][0]["lastResetAt"].as_str()),
        (Some(registered.as_str()), Some(0), None),
        "{before}"
    );

    for expected in 1..=2 {
        let (status, reset) = call(&app, client, Method::POST, &format!("/v1/me/accounts/{user}/reset"), Some(&token), None).await;
        assert_eq!(status, 200, "{reset}");
        assert_eq!((reset["kind"].as_str(), reset["resets"].as_u64()), (Some("DEFAULT"), Some(expected)), "{reset}");
        assert!(reset["lastResetAt"].as_str().is_some_and(|at| at >= registered.as_str()), "{reset}");
    }
    let (status, practice) = call(&app, client, Method::POST, "/v1/me/accounts", Some(&token), Some(json!({"name": "swing"}))).await;
    assert_eq!(status, 201, "{practice}");
    let account = practice["accountId"].as_str().unwrap().to_owned();
    let (status, _) = call(&app, client, Method::POST, &format!("/v1/me/accounts/{account}/reset"), Some(&token), None).await;
    assert_eq!(status, 200);

    let (_, listed) = call(&app, client, Method::GET, "/v1/me/accounts", Some(&token), None).await;
    let resets: Vec<(Option<&str>, Option<u64>)> =
        listed["accounts"].as_array().unwrap().iter().map(|account| (account["accountId"].as_str(), account["resets"].as_u64())).collect();
    assert_eq!(resets, [(Some(user.as_str()), Some(2)), (Some(account.as_str()), Some(1))], "{listed}");
    assert_eq!(listed["accounts"][0]["createdAt"].as_str(), Some(registered.as_str()), "{listed}");

    let (_, export) = call(&app, client, Method::GET, "/v1/me/export", Some(&token), None).await;
    assert_eq!(export["accounts"], listed["accounts"], "the export's accounts are the list's");
    let trail: Vec<(&str, &str)> =
        export["auditTrail"].as_array().unwrap().iter().map(|entry| (entry["action"].as_str().unwrap(), entry["subject"].as_str().unwrap())).collect();
    let (own, opened) = (format!("account:{user}"), format!("account:{account}"));
    for wanted in [("account.reset", own.as_str()), ("account.opened", opened.as_str()), ("account.reset", opened.as_str())] {
        assert!(trail.contains(&wanted), "{wanted:?} is in the export's audit trail: {trail:?}");
    }
    assert_eq!(trail.iter().filter(|entry| **entry == ("account.reset", own.as_str())).count(), 2, "{trail:?}");
    assert!(trail.contains(&("user.registered", format!("user:{user}").as_str())), "{trail:?}");
    // Another user's trail is not in it.
    let bob = register(&app, "bob@example.com").await;
    let bob_id = bob["userId"].as_str().unwrap();
    let (status, _) = call(&app, client, Method::POST, &format!("/v1/me/accounts/{bob_id}/reset"), bob["accessToken"].as_str(), None).await;
    assert_eq!(status, 200);
    let (_, export) = call(&app, client, Method::GET, "/v1/me/export", Some(&token), None).await;
    let bobs = [format!("user:{bob_id}"), format!("account:{bob_id}")];
    assert!(
        export["auditTrail"]
            .as_array()
            .unwrap()
            .iter()
            .all(|entry| !bobs.iter().any(|subject| entry["subject"] == subject.as_str()) && entry["actor"] != bob_id),
        "{}",
        export["auditTrail"]
    );
}

/// An opening that stopped half-way (the server died, or the log refused a write, after the
/// account's row and before its engine account) is completed, not left broken: the list
/// that shows it completes it once, however many readers race there; a contest join
/// completes the account it had started (its cash and the contest's rules) rather than
/// opening a second one.
#[tokio::test]
async fn an_account_opened_half_way_is_completed_once_not_left_broken() {
    let app = spawn_app().await;
    let ada = register(&app, "half-way@example.com").await;
    let (user, token) = (ada["userId"].as_str().unwrap().parse::<u64>().unwrap(), ada["accessToken"].as_str().unwrap().to_owned());
    let money = |text: &str| tradecraft_types::Money::parse(text).unwrap().raw();
    let half_opened = |number: u64, cash: &str, contest_id: Option<u64>| tradecraft_store::PaperAccountRecord {
        account_id: user + (number << 48),
        user_id: user,
        name: format!("half {number}"),
        kind: if contest_id.is_some() { "contest" } else { "practice" }.to_owned(),
        starting_cash: money(cash),
        created_at_ms: 1,
        resets: 0,
        last_reset_at_ms: None,
        contest_id,
    };
    let insert = |record: tradecraft_store::PaperAccountRecord| {
        let store = app.store.clone();
        async move { tokio::task::spawn_blocking(move || store.insert_paper_account(&record).unwrap()).await.unwrap() }
    };
    let practice = half_opened(1, "2500", None);
    let practice_id = practice.account_id.to_string();
    insert(practice).await;

    let reads = (0..4).map(|_| call(&app, &app.anonymous, Method::GET, "/v1/me/accounts", Some(&token), None));
    for (status, accounts) in futures_util::future::join_all(reads).await {
        assert_eq!(status, 200, "{accounts}");
        let shown = accounts["accounts"].as_array().unwrap().iter().find(|account| account["accountId"] == practice_id.as_str()).cloned();
        assert_eq!(shown.as_ref().map(|account| account["cashBalance"].clone()), Some(json!("2500")), "{accounts}");
    }
    let (status, portfolio) = call(&app, &app.anonymous, Method::GET, &format!("/v1/portfolio/{practice_id}"), Some(&token), None).await;
    assert_eq!((status, portfolio["cashBalance"].as_str()), (200, Some("2500")), "deposited once: {portfolio}");

    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let at = |millis: i64| tradecraft_types::Timestamp::from_millis(millis).to_string();
    let (status, contest) = app
        .post(
            "/v1/contests",
            json!({
                "name": "Half way", "startingCash": "1000", "rules": {"maxOrderQuantity": "5"},
                "registrationStart": at(now - 1_000), "registrationEnd": at(now + 600_000), "tradingStart": at(now - 1_000), "tradingEnd": at(now + 600_000),
            }),
        )
        .await;
    assert_eq!(status, 201, "{contest}");
    let contest_id = contest["contestId"].as_str().unwrap().to_owned();
    let entry = half_opened(2, "1000", Some(contest_id.parse().unwrap()));
    let entry_id = entry.account_id.to_string();
    insert(entry).await;
    let (status, joined) = call(&app, &app.anonymous, Method::POST, &format!("/v1/contests/{contest_id}/join"), Some(&token), Some(json!({}))).await;
    assert_eq!((status, joined["accountId"].as_str()), (201, Some(entry_id.as_str())), "the account it had started: {joined}");
    let (_, accounts) = call(&app, &app.anonymous, Method::GET, "/v1/me/accounts", Some(&token), None).await;
    assert_eq!(accounts["accounts"].as_array().unwrap().len(), 3, "no second contest account: {accounts}");
    let (_, portfolio) = call(&app, &app.anonymous, Method::GET, &format!("/v1/portfolio/{entry_id}"), Some(&token), None).await;
    assert_eq!(portfolio["cashBalance"], "1000", "{portfolio}");
    let order = json!({"userId": entry_id, "symbol": "MOCK", "quantity": "6", "side": "BUY", "type": "LIMIT", "limitPrice": "90"});
    let (status, refused) = call(&app, &app.anonymous, Method::POST, "/v1/orders", Some(&token), Some(order)).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (403, Some("limit_max_order_quantity")), "the contest's rules: {refused}");
}

/// Registration opens the engine account, stores the user, then deposits the starting
/// cash. One that stopped between the last two (its server died) is funded at the user's
/// next login, once however many logins find it unfunded.
#[tokio::test]
async fn a_registration_stopped_before_its_cash_is_funded_once_at_login() {
    let app = spawn_app().await;
    // What the stopped registration left: an engine account without cash, and its user.
    let (status, opened) = app.post("/v1/accounts", json!({"cash": "0"})).await;
    assert_eq!(status, 201, "{opened}");
    let user: u64 = opened["userId"].as_str().unwrap().parse().unwrap();
    let record = tradecraft_store::UserRecord {
        user_id: user,
        email: "stopped@example.com".to_owned(),
        username: "stopped".to_owned(),
        password_hash: tradecraft_api::auth::hash_password("correct horse").unwrap(),
        role: "trader".to_owned(),
        created_at_ms: 1,
    };
    let store = app.store.clone();
    tokio::task::spawn_blocking(move || store.create_user(&record).unwrap()).await.unwrap();

    let login = || call(&app, &app.anonymous, Method::POST, "/v1/auth/login", None, Some(json!({"email": "stopped@example.com", "password": "correct horse"})));
    let logins = futures_util::future::join_all((0..3).map(|_| login())).await;
    for (status, tokens) in &logins {
        assert_eq!(*status, 200, "{tokens}");
    }
    let token = logins[0].1["accessToken"].as_str().unwrap();
    let (status, portfolio) = call(&app, &app.anonymous, Method::GET, &format!("/v1/portfolio/{user}"), Some(token), None).await;
    assert_eq!((status, portfolio["cashBalance"].as_str()), (200, Some("100000")), "the starting cash, once: {portfolio}");
    let (status, _) = login().await;
    assert_eq!(status, 200);
    let (_, portfolio) = call(&app, &app.anonymous, Method::GET, &format!("/v1/portfolio/{user}"), Some(token), None).await;
    assert_eq!(portfolio["cashBalance"], "100000", "a funded account is not funded again: {portfolio}");
}

/// The leaderboard ranks users: not the engine accounts of registrations that lost a race
/// for their email, nor users' practice accounts (a contest ranks its own accounts).
#[tokio::test]
async fn the_leaderboard_ranks_each_user_once() {
    let app = spawn_app().await;
    let register_as =
        |email: &'static str| call(&app, &app.anonymous, Method::POST, "/v1/auth/register", None, Some(json!({"email": email, "password": "correct horse"})));
    let answers = futures_util::future::join_all((0..6).map(|_| register_as("twice@example.com"))).await;
    let statuses: Vec<u16> = answers.iter().map(|(status, _)| *status).collect();
    assert_eq!(statuses.iter().filter(|status| **status == 201).count(), 1, "{answers:?}");
    assert!(statuses.iter().all(|status| [201, 409].contains(status)), "{answers:?}");
    let (_, winner) = answers.iter().find(|(status, _)| *status == 201).unwrap();
    let (winner_id, token) = (winner["userId"].as_str().unwrap().to_owned(), winner["accessToken"].as_str().unwrap().to_owned());
    let (status, practice) =
        call(&app, &app.anonymous, Method::POST, "/v1/me/accounts", Some(&token), Some(json!({"name": "side bets", "cash": "5000"}))).await;
    assert_eq!(status, 201, "{practice}");
    // Made last: once it is ranked, everything before it is in the read store.
    let last = register(&app, "last@example.com").await;
    let last_id = last["userId"].as_str().unwrap().to_owned();
    let (_, board) = app
        .get_until("/v1/leaderboard?period=all&limit=1000", |status, board| {
            status == 200 && board["entries"].as_array().unwrap().iter().any(|entry| entry["userId"] == last_id.as_str())
        })
        .await;
    let mut ranked: Vec<&str> = board["entries"].as_array().unwrap().iter().map(|entry| entry["userId"].as_str().unwrap()).collect();
    ranked.sort_unstable();
    let mut users = vec![winner_id.as_str(), last_id.as_str()];
    users.sort_unstable();
    assert_eq!(ranked, users, "{board}");

    // A user who deletes their account leaves the ranking (their history stays, unranked).
    let (status, _) = call(&app, &app.anonymous, Method::DELETE, "/v1/me", Some(&token), Some(json!({"password": "correct horse"}))).await;
    assert_eq!(status, 204);
    let (_, board) = app.get("/v1/leaderboard?period=all&limit=1000").await;
    let ranked: Vec<&str> = board["entries"].as_array().unwrap().iter().map(|entry| entry["userId"].as_str().unwrap()).collect();
    assert_eq!(ranked, [last_id.as_str()], "a deleted user is not ranked: {board}");
}

/// Practice accounts opened at the same moment each get a number of their own rather than
/// a 409 for the one they raced for.
#[tokio::test]
async fn practice_accounts_opened_at_once_are_all_opened() {
    let app = spawn_app().await;
    let ada = register(&app, "at-once@example.com").await;
    let token = ada["accessToken"].as_str().unwrap().to_owned();
    let opens = (0..6).map(|index| call(&app, &app.anonymous, Method::POST, "/v1/me/accounts", Some(&token), Some(json!({"name": format!("p{index}")}))));
    let answers = futures_util::future::join_all(opens).await;
    let mut ids = Vec::new();
    for (status, body) in &answers {
        assert_eq!(*status, 201, "{body}");
        ids.push(body["accountId"].as_str().unwrap());
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 6, "{answers:?}");
    let (_, accounts) = call(&app, &app.anonymous, Method::GET, "/v1/me/accounts", Some(&token), None).await;
    assert_eq!(accounts["accounts"].as_array().unwrap().len(), 7, "{accounts}");
}

/// A reset is one engine command: resets racing each other, and racing the account's own
/// orders, each start the account over whole (no step of one between the steps of
/// another), so every one succeeds and racing resets leave exactly the starting cash.
#[tokio::test]
async fn racing_resets_each_start_the_account_over_whole() {
    let app = spawn_app().await;
    let ada = register(&app, "racing-resets@example.com").await;
    let token = ada["accessToken"].as_str().unwrap().to_owned();
    let client = &app.anonymous;
    let (_, practice) = call(&app, client, Method::POST, "/v1/me/accounts", Some(&token), Some(json!({"name": "racer", "cash": "5000"}))).await;
    let account = practice["accountId"].as_str().unwrap().to_owned();
    let order = |body: serde_json::Value| {
        let token = token.clone();
        let app = &app;
        async move { call(app, &app.anonymous, Method::POST, "/v1/orders", Some(&token), Some(body)).await }
    };
    let buy = json!({"userId": account, "symbol": "MOCK", "quantity": "10", "side": "BUY", "type": "MARKET"});
    assert_eq!(order(buy.clone()).await.0, 202);
    assert_eq!(order(json!({"userId": account, "symbol": "MOCK", "quantity": "5", "side": "BUY", "type": "LIMIT", "limitPrice": "90"})).await.0, 202);
    let reset = || {
        let (token, path) = (token.clone(), format!("/v1/me/accounts/{account}/reset"));
        let app = &app;
        async move { call(app, &app.anonymous, Method::POST, &path, Some(&token), None).await }
    };

    let answers = futures_util::future::join_all((0..8).map(|_| reset())).await;
    for (status, answer) in &answers {
        assert_eq!(*status, 200, "every racing reset succeeds: {answer}");
    }
    let (_, portfolio) = call(&app, client, Method::GET, &format!("/v1/portfolio/{account}"), Some(&token), None).await;
    assert_eq!(
        (portfolio["cashBalance"].as_str(), portfolio["holdings"].as_object().map(serde_json::Map::len), portfolio["openOrders"].as_u64()),
        (Some("5000"), Some(0), Some(0)),
        "exactly the starting cash, nothing held, nothing open: {portfolio}"
    );
    let (_, accounts) = call(&app, client, Method::GET, "/v1/me/accounts", Some(&token), None).await;
    let listed = accounts["accounts"].as_array().unwrap().iter().find(|item| item["accountId"] == account.as_str()).unwrap().clone();
    assert_eq!(listed["resets"], 8, "{listed}");

    // Resets racing orders: each reset still succeeds whole.
    let resets = futures_util::future::join_all((0..4).map(|_| reset()));
    let orders = futures_util::future::join_all((0..8).map(|_| order(buy.clone())));
    let (resets, orders) = tokio::join!(resets, orders);
    for (status, answer) in resets {
        assert_eq!(status, 200, "a reset racing orders succeeds: {answer}");
    }
    for (status, answer) in orders {
        assert!(status == 202 || answer["error"]["code"] == "insufficient_funds", "{status} {answer}");
    }
}

/// A practice account's name is its owner's only (letter case aside), also when several
/// are opened at once; another user may use it.
#[tokio::test]
async fn practice_accounts_have_names_of_their_own() {
    let app = spawn_app().await;
    let (ada, bob) = (register(&app, "ada@example.com").await, register(&app, "bob@example.com").await);
    let token = ada["accessToken"].as_str().unwrap().to_owned();
    let client = &app.anonymous;
    let opening = ["Swing", "swing", "SWING", "Swing", " swing "]
        .map(|name| call(&app, client, Method::POST, "/v1/me/accounts", Some(&token), Some(json!({"name": name}))));
    let answers = futures_util::future::join_all(opening).await;
    let opened: Vec<_> = answers.iter().filter(|(status, _)| *status == 201).collect();
    assert_eq!(opened.len(), 1, "{answers:?}");
    for (status, answer) in answers.iter().filter(|(status, _)| *status != 201) {
        assert_eq!((*status, answer["error"]["code"].as_str()), (409, Some("account_name_taken")), "{answer}");
    }
    let (status, other) = call(&app, client, Method::POST, "/v1/me/accounts", Some(&token), Some(json!({"name": "Swing 2"}))).await;
    assert_eq!(status, 201, "{other}");
    let (status, theirs) = call(&app, client, Method::POST, "/v1/me/accounts", bob["accessToken"].as_str(), Some(json!({"name": "swing"}))).await;
    assert_eq!(status, 201, "another user's name: {theirs}");
    let (_, accounts) = call(&app, client, Method::GET, "/v1/me/accounts", Some(&token), None).await;
    let names: Vec<&str> = accounts["accounts"].as_array().unwrap().iter().filter_map(|account| account["name"].as_str()).collect();
    assert_eq!(names.len(), 3, "the default one and two practice accounts: {accounts}");
}
