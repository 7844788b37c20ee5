//! Routes answered from the read store: the projector feeds SQLite from the engine's
//! topics, and the HTTP answers follow within milliseconds.

use serde_json::{Value, json};

use crate::helpers::{HOUSE, TestApp, spawn_app};

/// A user who bought 2 MOCK at the house ask (100.50) and had a sell (no shares) and a
/// buy (no cash) refused; returns the user id once the read store has all three.
async fn trader(app: &TestApp) -> String {
    let user = app.account("1000").await;
    let orders = [
        (json!({"userId": user, "symbol": "MOCK", "quantity": "2", "side": "BUY", "type": "MARKET"}), 202),
        (json!({"userId": user, "symbol": "MOCK", "quantity": "5", "side": "SELL", "type": "LIMIT", "limitPrice": "100"}), 422),
        (json!({"userId": user, "symbol": "MOCK", "quantity": "100", "side": "BUY", "type": "LIMIT", "limitPrice": "99"}), 402),
    ];
    for (order, expected) in orders {
        let (status, body) = app.post("/v1/orders", order).await;
        assert_eq!(status, expected, "{body}");
    }
    app.get_until(&format!("/v1/trades/search?userId={user}"), |status, body| status == 200 && body["pagination"]["totalCount"] == 3).await;
    user
}

fn count(body: &Value) -> u64 {
    body["pagination"]["totalCount"].as_u64().unwrap()
}

#[tokio::test]
async fn trade_history_is_searchable_with_filters_pages_and_text() {
    let app = spawn_app().await;
    let user = trader(&app).await;
    let (_, all) = app.get(&format!("/v1/trades/search?userId={user}")).await;
    let trades = all["trades"].as_array().unwrap();
    let statuses: Vec<_> = trades.iter().map(|trade| trade["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["FAILED_INSUFFICIENT_FUNDS", "FAILED_INSUFFICIENT_SHARES", "EXECUTED"], "newest first");
    let fill = &trades[2];
    assert_eq!((fill["quantity"].as_str(), fill["executionPrice"].as_str(), fill["side"].as_str()), (Some("2"), Some("100.5"), Some("BUY")));
    assert_eq!((fill["userId"].as_str(), fill["symbol"].as_str(), fill["failureReason"].is_null()), (Some(user.as_str()), Some("MOCK"), true));
    assert!(fill["executionTimestamp"].as_str().unwrap().ends_with('Z'));
    assert!(fill["eventId"].as_str().unwrap().len() == 36 && fill["orderId"].is_string());
    assert_eq!(trades[0]["executionPrice"], Value::Null);
    assert_eq!(trades[0]["failureReason"], "insufficient_funds");
    assert_eq!(all["pagination"]["nextPageToken"], Value::Null);

    for (filter, expected) in [
        ("q=funds", 1),
        ("q=insufficient", 2),
        ("status=EXECUTED", 1),
        ("side=SELL", 1),
        ("symbol=MOCK", 3),
        ("symbol=OTHER", 0),
        ("startDate=2000-01-01&endDate=2000-01-02", 0),
        ("startDate=2000-01-01", 3),
    ] {
        let (status, body) = app.get(&format!("/v1/trades/search?userId={user}&{filter}")).await;
        assert_eq!((status, count(&body)), (200, expected), "{filter}: {body}");
    }
    let (_, first) = app.get(&format!("/v1/trades/search?userId={user}&limit=2")).await;
    assert_eq!((first["trades"].as_array().unwrap().len(), count(&first)), (2, 3));
    let token = first["pagination"]["nextPageToken"].as_str().unwrap();
    let (_, second) = app.get(&format!("/v1/trades/search?userId={user}&limit=2&pageToken={token}")).await;
    assert_eq!(second["trades"][0]["status"], "EXECUTED");
    assert_eq!(second["pagination"]["nextPageToken"], Value::Null);

    for bad in [
        "/v1/trades/search".to_owned(),
        format!("/v1/trades/search?userId={user}&startDate=yesterday"),
        format!("/v1/trades/search?userId={user}&endDate=2026-13-01"),
        format!("/v1/trades/search?userId={user}&startDate=2026-02-01&endDate=2026-01-01"),
        format!("/v1/trades/search?userId={user}&side=HOLD"),
        format!("/v1/trades/search?userId={user}&status=DONE"),
        format!("/v1/trades/search?userId={user}&limit=0"),
        format!("/v1/trades/search?userId={user}&limit=1001"),
        format!("/v1/trades/search?userId={user}&pageToken=nope"),
        "/v1/trades/search?userId=abc".to_owned(),
    ] {
        let (status, body) = app.get(&bad).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body["error"]["message"].is_string());
    }
}

#[tokio::test]
async fn positions_statement_and_performance_follow_the_fills() {
    let app = spawn_app().await;
    let user = trader(&app).await;
    let (status, body) = app.get(&format!("/v1/portfolio/positions?userId={user}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["cashBalance"], "799");
    assert_eq!(body["totalValue"], "1000");
    let position = &body["positions"][0];
    for (field, expected) in [
        ("symbol", "MOCK"),
        ("quantity", "2"),
        ("averageCost", "100.5"),
        ("costBasis", "201"),
        ("lastPrice", "100.5"),
        ("unrealizedPnl", "0"),
        ("realizedPnl", "0"),
    ] {
        assert_eq!(position[field], expected, "{field}: {body}");
    }

    let (status, statement) = app.get(&format!("/v1/wallet/transactions?userId={user}")).await;
    assert_eq!(status, 200);
    let lines: Vec<_> = statement["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| (line["type"].as_str().unwrap(), line["amount"].as_str().unwrap(), line["balanceAfter"].as_str().unwrap()))
        .collect();
    assert_eq!(lines, [("BUY", "-201", "799"), ("DEPOSIT", "1000", "1000")]);

    let (status, performance) = app.get(&format!("/v1/portfolio/performance?userId={user}&period=7d")).await;
    assert_eq!(status, 200, "{performance}");
    assert_eq!((performance["period"].as_str(), performance["endValue"].as_str()), (Some("7d"), Some("1000")));
    assert!(performance["totalReturn"].is_number() && performance["maxDrawdown"].is_number());
    assert!(performance["dailyReturns"].is_array());
    let history = performance["valueHistory"].as_array().unwrap();
    assert_eq!(history.last().unwrap()["value"], "1000", "{performance}");
    // The account's value from its opening deposit on: not the empty moment before it (a
    // chart of it rose from 0), though that is still its start value.
    assert!(history.iter().all(|point| point["value"] != "0"), "{performance}");
    assert_eq!(history[0]["value"], "1000", "the opening deposit: {performance}");
    let deposited = statement["transactions"].as_array().unwrap().last().unwrap()["timestamp"].clone();
    assert_eq!(history[0]["timestamp"], deposited, "{performance} / {statement}");
    assert_eq!(performance["startValue"], "0", "{performance}");

    for (path, expected) in [
        ("/v1/portfolio/positions?userId=424242".to_owned(), 404),
        ("/v1/portfolio/positions".to_owned(), 400),
        (format!("/v1/portfolio/performance?userId={user}&period=2w"), 400),
        ("/v1/portfolio/performance?userId=424242".to_owned(), 404),
        (format!("/v1/wallet/transactions?userId={user}&limit=5000"), 400),
        (format!("/v1/wallet/transactions?userId={user}&pageToken=x"), 400),
    ] {
        let (status, body) = app.get(&path).await;
        assert_eq!(status, expected, "{path}: {body}");
    }
}

#[tokio::test]
async fn analytics_and_the_leaderboard_cover_every_account_but_the_house() {
    let app = spawn_app().await;
    let user = trader(&app).await;
    let (status, volume) = app.get("/v1/analytics/volume?timeWindow=1h").await;
    assert_eq!(status, 200);
    assert_eq!(volume, json!({"data": [{"symbol": "MOCK", "volume": "2", "timeWindow": "1h"}]}));
    let (_, volume) = app.get("/v1/analytics/volume?symbol=NOPE").await;
    assert_eq!(volume, json!({"data": [{"symbol": "NOPE", "volume": "0", "timeWindow": "24h"}]}));
    let (status, _) = app.get("/v1/analytics/volume?timeWindow=2h").await;
    assert_eq!(status, 400);

    let (status, metrics) = app.get("/v1/analytics/metrics").await;
    assert_eq!(status, 200);
    let windows: Vec<_> = metrics["windows"].as_array().unwrap().iter().map(|window| window["timeWindow"].as_str().unwrap()).collect();
    assert_eq!(windows, ["1h", "24h", "7d"]);
    let hour = &metrics["windows"][0];
    assert_eq!((hour["tradeCount"].as_u64(), hour["notional"].as_str()), (Some(1), Some("201")));
    assert_eq!(hour["symbols"][0]["vwap"], "100.5");

    let (status, board) = app.get("/v1/leaderboard?period=1d").await;
    assert_eq!(status, 200, "{board}");
    let users: Vec<_> = board["entries"].as_array().unwrap().iter().map(|entry| entry["userId"].as_str().unwrap().to_owned()).collect();
    assert!(users.contains(&user), "{board}");
    assert!(!users.iter().any(|id| id == HOUSE), "{board}");
    assert_eq!(board["entries"][0]["rank"], 1);
    let (status, _) = app.get("/v1/leaderboard?period=forever").await;
    assert_eq!(status, 400);

    let text = app.client.get(format!("http://{}/metrics", app.projector_address)).send().await.unwrap().text().await.unwrap();
    assert!(text.contains("tradecraft_projection_lag_records{topic=\"trade_executed\",partition=\"0\"}"), "{text}");
    let applied = text.lines().find(|line| line.starts_with("tradecraft_projection_records_total ")).unwrap();
    assert!(applied.split(' ').nth(1).unwrap().parse::<u64>().unwrap() > 0, "{applied}");
}

/// Read your writes: a read of the store follows every command the engine took before it
/// (the projector is waited for), so a client never retries: the new account is there at
/// once, each fill is in the positions, the trade history and the statement as soon as
/// the order is answered, and a refusal's alert is listed as soon as the refusal is.
#[tokio::test]
async fn every_read_follows_the_writes_answered_before_it() {
    let app = spawn_app().await;
    let user = app.account("100000").await;
    let (status, body) = app.get(&format!("/v1/portfolio/positions?userId={user}")).await;
    assert_eq!((status, body["cashBalance"].as_str()), (200, Some("100000")), "{body}");
    for round in 1..=8_u64 {
        let order = json!({"userId": user, "symbol": "MOCK", "quantity": "1", "side": "BUY", "type": "MARKET"});
        let (status, body) = app.post("/v1/orders", order).await;
        assert_eq!(status, 202, "{body}");
        let (_, positions) = app.get(&format!("/v1/portfolio/positions?userId={user}")).await;
        assert_eq!(positions["positions"][0]["quantity"], round.to_string(), "round {round}: {positions}");
        let (_, trades) = app.get(&format!("/v1/trades/search?userId={user}")).await;
        assert_eq!(count(&trades), round, "round {round}: {trades}");
        let (_, statement) = app.get(&format!("/v1/wallet/transactions?userId={user}")).await;
        assert_eq!(statement["transactions"].as_array().map(Vec::len), Some(round as usize + 1), "round {round}: {statement}");
    }
    let response = app.client.put(app.url(&format!("/v1/limits/users/{user}"))).json(&json!({"maxOrderQuantity": "1"})).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let (status, body) = app.post("/v1/orders", json!({"userId": user, "symbol": "MOCK", "quantity": "2", "side": "BUY", "type": "MARKET"})).await;
    assert_eq!(status, 403, "{body}");
    let (status, alerts) = app.get(&format!("/v1/alerts?userId={user}")).await;
    assert_eq!(status, 200, "{alerts}");
    assert_eq!(alerts["alerts"].as_array().map(Vec::len), Some(1), "{alerts}");
}

/// `/v2/account/activities` pages through a long history whole, either way: each page
/// starts where its token (the last id of the page before) left off, however far back
/// that is, and a token that is not an activity's id is refused rather than read as the end.
/// The export holds the whole statement as well.
#[tokio::test]
async fn account_activities_and_the_export_hold_a_long_history_whole() {
    let app = spawn_app().await;
    let ada = crate::auth::register(&app, "long-history@example.com").await;
    let (user, token) = (ada["userId"].as_str().unwrap().parse::<i64>().unwrap(), ada["accessToken"].as_str().unwrap().to_owned());
    // A statement longer than the store is read in at a time: 1,500 deposits of a year ago
    // (rows as the projector writes them), and the registration's deposit now.
    let lines = 1_500_i64;
    let start = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64 - 365 * 86_400_000;
    let rows: Vec<String> =
        (0..lines).map(|index| format!("({}, {user}, 'DEPOSIT', 1000000, 0, 'old', NULL, {})", 1_000_000_000 + index, start + index * 700)).collect();
    let sql = format!("INSERT INTO wallet_transactions (id, user_id, kind, amount, balance_after, reference, symbol, created_at) VALUES {}", rows.join(", "));
    app.get_until_as(&token, "/v2/account/activities?activity_types=CSD", |status, page| status == 200 && page.as_array().is_some_and(|page| page.len() == 1))
        .await;
    let store = app.store.clone();
    tokio::task::spawn_blocking(move || store.backend().batch(&sql).unwrap()).await.unwrap();

    for direction in ["desc", "asc"] {
        let mut seen: Vec<String> = Vec::new();
        loop {
            let mut path = format!("/v2/account/activities?activity_types=CSD&direction={direction}&page_size=100");
            if let Some(last) = seen.last() {
                path.push_str(&format!("&page_token={last}"));
            }
            let (status, page) = crate::auth::call(&app, &app.anonymous, reqwest::Method::GET, &path, Some(&token), None).await;
            assert_eq!(status, 200, "{page}");
            let ids: Vec<String> = page.as_array().unwrap().iter().map(|activity| activity["id"].as_str().unwrap().to_owned()).collect();
            if ids.is_empty() {
                break;
            }
            seen.extend(ids);
        }
        assert_eq!(seen.len() as i64, lines + 1, "{direction}: every deposit once");
        let mut sorted = seen.clone();
        sorted.sort_unstable();
        if direction == "desc" {
            sorted.reverse();
        }
        assert_eq!(seen, sorted, "{direction}: in order, none twice");
    }
    // The export holds the whole statement too, and every alert and audit entry (up to
    // 10,000 of each kind).
    let audit: Vec<String> = (0..lines).map(|index| format!("('old-{index}', {}, 'operator', 'limits.set', 'user:{user}', '{{}}')", start + index)).collect();
    let alerts: Vec<String> = (0..lines).map(|index| format!("('old-{index}', {user}, 'info', 'old', 'old', {}, NULL)", start + index)).collect();
    let sql = format!(
        "INSERT INTO audit_log (entry_id, at, actor, action, subject, details) VALUES {}; \
         INSERT INTO alerts (alert_id, user_id, severity, title, message, created_at, acknowledged_at) VALUES {}",
        audit.join(", "),
        alerts.join(", ")
    );
    let store = app.store.clone();
    tokio::task::spawn_blocking(move || store.backend().batch(&sql).unwrap()).await.unwrap();
    let (status, export) = crate::auth::call(&app, &app.anonymous, reqwest::Method::GET, "/v1/me/export", Some(&token), None).await;
    assert_eq!(status, 200);
    assert_eq!(export["walletTransactions"].as_array().unwrap().len() as i64, lines + 1, "the export's statement");
    assert_eq!(export["alerts"].as_array().unwrap().len() as i64, lines, "the export's alerts");
    assert!(export["auditTrail"].as_array().unwrap().len() as i64 > lines, "the export's audit trail (and the registration)");
    for garbage in ["garbage", "20261201163514872::FILL3", "99999999999999999::CSD00000000000000000001"] {
        let path = format!("/v2/account/activities?page_token={garbage}");
        let (status, body) = crate::auth::call(&app, &app.anonymous, reqwest::Method::GET, &path, Some(&token), None).await;
        assert_eq!(status, 422, "{garbage}: {body}");
    }
}

/// Alpaca's portfolio history takes a window as Alpaca does (any two of `start`, `end` or
/// `date_end`, and `period`; any count of days, weeks, months or years) and refuses what
/// it does not offer rather than answering another window.
#[tokio::test]
async fn portfolio_history_takes_alpacas_window_and_refuses_what_it_does_not_offer() {
    let app = spawn_app().await;
    let ada = crate::auth::register(&app, "history@example.com").await;
    let token = ada["accessToken"].as_str().unwrap().to_owned();
    let history = |query: String| {
        let token = token.clone();
        let app = &app;
        async move { crate::auth::call(app, &app.anonymous, reqwest::Method::GET, &format!("/v2/account/portfolio/history?{query}"), Some(&token), None).await }
    };
    let now = tradecraft_api::clock::Clock::system().now_ms();
    let at = |ms: i64| tradecraft_types::Timestamp::from_millis(ms).to_string();
    const HOUR: i64 = 3_600_000;
    for refused in [
        format!("start={}&end={}&period=1D", at(now - HOUR), at(now)),
        "start=yesterday".to_owned(),
        format!("start={}&end={}", at(now), at(now - HOUR)),
        format!("end={}&date_end=2026-01-01", at(now)),
        "date_end=2026-1-1".to_owned(),
        "period=0D".to_owned(),
        "period=1X".to_owned(),
        "period=3M&timeframe=1Min".to_owned(),
        "period=all&timeframe=1H".to_owned(),
        "pnl_reset=per_day".to_owned(),
        "intraday_reporting=sometimes".to_owned(),
        "extended_hours=maybe".to_owned(),
        "cashflow_types=ALL".to_owned(),
    ] {
        let (status, answer) = history(refused.clone()).await;
        assert_eq!(status, 422, "{refused}: {answer}");
    }
    for (query, timeframe) in
        [("period=2W", "15Min"), ("period=6M", "1D"), ("period=3D&intraday_reporting=continuous&pnl_reset=no_reset&extended_hours=true", "1Min")]
    {
        let (status, answer) = history(query.to_owned()).await;
        assert_eq!((status, answer["timeframe"].as_str()), (200, Some(timeframe)), "{query}: {answer}");
    }
    // A window of the last two hours holds the account's value now; one that ended before
    // the account was opened holds nothing.
    let (status, recent) = history(format!("start={}&end={}&timeframe=1Min", at(now - 2 * HOUR), at(now + 60_000))).await;
    assert_eq!(status, 200, "{recent}");
    let stamps: Vec<i64> = recent["timestamp"].as_array().unwrap().iter().map(|stamp| stamp.as_i64().unwrap() * 1_000).collect();
    assert!(!stamps.is_empty() && stamps.iter().all(|stamp| (now - 2 * HOUR - 60_000..=now + 60_000).contains(stamp)), "{recent}");
    assert_eq!(recent["equity"].as_array().unwrap().last().unwrap().as_f64(), Some(100_000.0), "{recent}");
    let (status, before) = history(format!("end={}&period=1D", at(now - 2 * 24 * HOUR))).await;
    assert_eq!(status, 200, "{before}");
    assert!(before["timestamp"].as_array().unwrap().iter().all(|stamp| stamp.as_i64().unwrap() * 1_000 <= now - 2 * 24 * HOUR), "{before}");
    assert!(before["equity"].as_array().unwrap().iter().all(|equity| equity.as_f64() == Some(0.0)), "nothing before the account: {before}");
}

/// Activities filter by Alpaca's `category` (fills are trade activity; deposits,
/// withdrawals and fees are not), and refuse an unknown category or one beside
/// `activity_types` rather than answering every activity.
#[tokio::test]
async fn account_activities_filter_by_alpacas_category() {
    let app = spawn_app().await;
    let ada = crate::auth::register(&app, "category@example.com").await;
    let token = ada["accessToken"].as_str().unwrap().to_owned();
    let (status, bought) = crate::auth::call(
        &app,
        &app.anonymous,
        reqwest::Method::POST,
        "/v1/orders",
        Some(&token),
        Some(json!({"symbol": "MOCK", "side": "BUY", "type": "MARKET", "quantity": "1"})),
    )
    .await;
    assert_eq!(status, 202, "{bought}");
    let kinds =
        |activities: &Value| activities.as_array().unwrap().iter().map(|activity| activity["activity_type"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    let filled = |_: u16, activities: &Value| activities.as_array().is_some_and(|list| list.iter().any(|activity| activity["activity_type"] == "FILL"));
    app.get_until_as(&token, "/v2/account/activities", filled).await;
    let (_, trades) = app.get_until_as(&token, "/v2/account/activities?category=trade_activity", |status, _| status == 200).await;
    assert_eq!(kinds(&trades), ["FILL"], "{trades}");
    let (_, cash) = app.get_until_as(&token, "/v2/account/activities?category=non_trade_activity", |status, _| status == 200).await;
    assert_eq!(kinds(&cash), ["CSD"], "the opening deposit: {cash}");
    let (_, none) = app.get_until_as(&token, "/v2/account/activities/FILL?category=non_trade_activity", |status, _| status == 200).await;
    assert_eq!(none, json!([]));
    for refused in ["category=trades", "category=trade_activity&activity_types=FILL"] {
        let (status, answer) =
            crate::auth::call(&app, &app.anonymous, reqwest::Method::GET, &format!("/v2/account/activities?{refused}"), Some(&token), None).await;
        assert_eq!(status, 422, "{refused}: {answer}");
    }
}

/// The leaderboard names a ranked user by their display name when their profile is public
/// (escaped, as every social answer). A private profile's results are ranked without its
/// name or user id: its id shown only to that user and to admins, its name only to that user.
#[tokio::test]
async fn the_leaderboard_names_users_whose_profiles_are_public() {
    let app = spawn_app().await;
    let (mut users, mut tokens) = (Vec::new(), Vec::new());
    for (email, profile) in [("ada@example.com", Some(true)), ("bo@example.com", Some(false)), ("cy@example.com", None)] {
        let registered = crate::auth::register(&app, email).await;
        let (user, token) = (registered["userId"].as_str().unwrap().to_owned(), registered["accessToken"].as_str().unwrap().to_owned());
        if let Some(public) = profile {
            let body = json!({"displayName": format!("{} & Co", &email[..2]), "public": public});
            let (status, answer) = crate::auth::call(&app, &app.anonymous, reqwest::Method::PUT, "/v1/me/profile", Some(&token), Some(body)).await;
            assert_eq!(status, 200, "{answer}");
        }
        users.push(user);
        tokens.push(token);
    }
    let path = "/v1/leaderboard?period=all&limit=1000";
    // An admin sees whose every entry is.
    let (_, board) = app
        .get_until(path, |status, board| {
            status == 200 && users.iter().all(|user| board["entries"].as_array().unwrap().iter().any(|entry| entry["userId"] == user.as_str()))
        })
        .await;
    let entries = |board: &Value| board["entries"].as_array().unwrap().clone();
    let name = |user: &str| entries(&board).iter().find(|entry| entry["userId"] == user).unwrap()["displayName"].clone();
    assert_eq!([name(&users[0]), name(&users[1]), name(&users[2])], [json!("ad &amp; Co"), Value::Null, Value::Null], "{board}");
    let ranks = |board: &Value| entries(board).iter().map(|entry| entry["rank"].clone()).collect::<Vec<_>>();

    // Anyone else sees the same ranking, with the private ones' ids and names left out.
    let (status, anonymous) = crate::auth::call(&app, &app.anonymous, reqwest::Method::GET, path, None, None).await;
    assert_eq!(status, 200, "{anonymous}");
    assert_eq!(ranks(&anonymous), ranks(&board), "{anonymous}");
    let ids: Vec<Value> = entries(&anonymous).iter().map(|entry| entry["userId"].clone()).collect();
    assert!(ids.contains(&json!(users[0])), "the public profile is named: {anonymous}");
    assert!(!ids.contains(&json!(users[1])) && !ids.contains(&json!(users[2])), "no private profile's id: {anonymous}");
    assert_eq!(ids.iter().filter(|id| id.is_null()).count(), 2, "{anonymous}");
    assert!(entries(&anonymous).iter().filter(|entry| entry["userId"].is_null()).all(|entry| entry["displayName"].is_null()), "{anonymous}");

    // A private user finds their own entry, by their own name, and no one else's private one.
    let (_, own) = app.get_until_as(&tokens[1], path, |status, _| status == 200).await;
    let ids: Vec<Value> = entries(&own).iter().map(|entry| entry["userId"].clone()).collect();
    assert!(ids.contains(&json!(users[1])) && !ids.contains(&json!(users[2])), "{own}");
    let mine = entries(&own).into_iter().find(|entry| entry["userId"] == users[1].as_str()).unwrap();
    assert_eq!(mine["displayName"], "bo &amp; Co", "{own}");
    assert_eq!(ids.iter().filter(|id| id.is_null()).count(), 1, "{own}");
}
