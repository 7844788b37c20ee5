//! `/v1/market`: symbols, order book, ticker, trades and candles.

use serde_json::{Value, json};

use crate::helpers::spawn_app;

#[tokio::test]
async fn market_data_routes_answer_and_check_parameters() {
    let app = spawn_app().await;
    let user = app.account("100000").await;
    app.post("/v1/orders", json!({"userId": user, "symbol": "MOCK", "quantity": "10", "side": "BUY", "type": "MARKET"})).await;
    let (status, symbols) = app.get("/v1/market/symbols").await;
    assert_eq!(status, 200);
    assert_eq!(symbols["symbols"][0]["symbol"], "MOCK");
    assert_eq!(symbols["symbols"][0]["lastPrice"], "100.5");
    let (status, book) = app.get("/v1/market/MOCK/orderbook?depth=1").await;
    assert_eq!(status, 200);
    assert_eq!(book["bids"], json!([{"price": "99.5", "quantity": "100", "orders": 1}]));
    assert_eq!(book["asks"], json!([{"price": "100.5", "quantity": "90", "orders": 1}]));
    for bad in ["depth=0", "depth=abc", "depth=1000"] {
        assert_eq!(app.get(&format!("/v1/market/MOCK/orderbook?{bad}")).await.0, 400, "{bad}");
    }
    assert_eq!(app.get("/v1/market/NOPE/orderbook").await.0, 404);
    assert_eq!(app.get("/v1/market/lower/orderbook").await.0, 400);
    let (status, ticker) = app.get("/v1/market/MOCK/ticker").await;
    assert_eq!(status, 200);
    assert_eq!((ticker["bid"].as_str(), ticker["ask"].as_str()), (Some("99.5"), Some("100.5")));
    let (status, trades) = app.get("/v1/market/MOCK/trades?limit=5").await;
    assert_eq!(status, 200);
    assert_eq!(trades["trades"][0]["price"], "100.5");
    assert_eq!(trades["trades"][0]["quantity"], "10");
    assert_eq!(trades["trades"][0]["takerSide"], "BUY");
    let (status, candles) = app.get("/v1/market/MOCK/candles?interval=1m").await;
    assert_eq!(status, 200);
    let candle = &candles["candles"][0];
    assert_eq!((candle["open"].as_str(), candle["volume"].as_str()), (Some("100.5"), Some("10")));
    for bad in ["interval=2m", "interval=1m&start=yesterday", "interval=1h&start=2026-01-02&end=2026-01-01"] {
        assert_eq!(app.get(&format!("/v1/market/MOCK/candles?{bad}")).await.0, 400, "{bad}");
    }
    let (status, _) = app.get("/v1/market/MOCK/candles?interval=1d&start=2026-01-01T00:00:00Z&end=2027-01-01").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_closed_market_queues_orders_that_last_for_the_open_and_trades_opg_and_cls_at_its_edges() {
    let app = spawn_app().await;
    let user = app.account("10000").await;
    let order = |time_in_force: &str, kind: &str, price: Option<&str>| {
        let mut body = json!({"userId": user, "symbol": "MOCK", "quantity": "2", "side": "BUY", "type": kind, "timeInForce": time_in_force});
        if let Some(price) = price {
            body["limitPrice"] = json!(price);
        }
        body
    };
    let (_, day) = app.post("/v1/orders", order("DAY", "LIMIT", Some("90"))).await;
    let (status, closed) = app.post("/v1/instruments/MOCK/close", json!({})).await;
    assert_eq!((status, closed["sessionOpen"].as_bool()), (200, Some(false)), "{closed}");
    let (_, expired) = app.get(&format!("/v1/orders/{}", day["orderId"].as_str().unwrap())).await;
    assert_eq!(expired["status"], "EXPIRED", "the close ends DAY orders: {expired}");
    // An order that lasts is taken and waits for the open, holding what it needs; one
    // that must trade now is refused.
    let (status, queued) = app.post("/v1/orders", order("GTC", "LIMIT", Some("100"))).await;
    assert_eq!((status, queued["status"].as_str()), (202, Some("ACCEPTED")), "{queued}");
    let queued = queued["orderId"].as_str().unwrap().to_owned();
    // It reads back as waiting for the open (`queued`), alone and in the list; a resting
    // order does not.
    let (_, waiting) = app.get(&format!("/v1/orders/{queued}")).await;
    assert_eq!((waiting["status"].as_str(), waiting["queued"].as_bool()), (Some("ACCEPTED"), Some(true)), "{waiting}");
    let (_, listed) = app.get(&format!("/v1/orders?userId={user}&status=OPEN")).await;
    let flags: Vec<(&str, bool)> =
        listed["orders"].as_array().unwrap().iter().map(|order| (order["orderId"].as_str().unwrap(), order["queued"].as_bool().unwrap())).collect();
    assert_eq!(flags, vec![(queued.as_str(), true)], "{listed}");
    let (_, portfolio) = app.get(&format!("/v1/portfolio/{user}")).await;
    assert_eq!(portfolio["reservedCash"], "200", "{portfolio}");
    let (status, refused) = app.post("/v1/orders", order("IOC", "LIMIT", Some("100"))).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (422, Some("market_closed")), "{refused}");
    let (status, refused) = app.post("/v1/orders", order("OPG", "STOP", None)).await;
    assert_eq!(status, 400, "only MARKET and LIMIT orders wait for the open: {refused}");
    let (status, at_open) = app.post("/v1/orders", order("OPG", "MARKET", None)).await;
    assert_eq!(status, 202, "{at_open}");
    let (status, at_close) = app.post("/v1/orders", order("CLS", "LIMIT", Some("101"))).await;
    assert_eq!(status, 202, "{at_close}");
    // A stop queued while closed takes a new stop and size, and still waits for the open.
    let mut stop = order("GTC", "STOP", None);
    stop["stopPrice"] = json!("1000");
    let (status, stop) = app.post("/v1/orders", stop).await;
    assert_eq!(status, 202, "{stop}");
    let stop = stop["orderId"].as_str().unwrap().to_owned();
    let (status, replaced) = app.patch(&format!("/v1/orders/{stop}"), json!({"stopPrice": "1001", "quantity": "1"})).await;
    assert_eq!((status, replaced["stopPrice"].as_str(), replaced["quantity"].as_str()), (200, Some("1001"), Some("1")), "{replaced}");
    let (_, waiting) = app.get(&format!("/v1/orders/{}", at_open["orderId"].as_str().unwrap())).await;
    assert_eq!((waiting["status"].as_str(), waiting["timeInForce"].as_str()), (Some("ACCEPTED"), Some("OPG")), "{waiting}");
    let (_, symbols) = app.get("/v1/market/symbols").await;
    assert_eq!(symbols["symbols"][0]["sessionOpen"], false, "{symbols}");

    let (status, opened) = app.post("/v1/instruments/MOCK/open", json!({})).await;
    assert_eq!((status, opened["sessionOpen"].as_bool()), (200, Some(true)), "{opened}");
    let (_, filled) = app.get(&format!("/v1/orders/{}", at_open["orderId"].as_str().unwrap())).await;
    assert_eq!((filled["status"].as_str(), filled["filledQuantity"].as_str()), (Some("FILLED"), Some("2")), "the open trades OPG orders: {filled}");
    // Then the queued order enters the market: below the ask, it rests on the book.
    let (_, book) = app.get("/v1/market/MOCK/orderbook").await;
    assert!(book["bids"].as_array().unwrap().iter().any(|level| level["price"] == "100" && level["quantity"] == "2"), "{book}");
    let (_, released) = app.get(&format!("/v1/orders/{queued}")).await;
    assert_eq!((released["status"].as_str(), released["queued"].as_bool()), (Some("ACCEPTED"), Some(false)), "{released}");
    let (_, stop) = app.get(&format!("/v1/orders/{stop}")).await;
    assert_eq!((stop["status"].as_str(), stop["stopPrice"].as_str()), (Some("ACCEPTED"), Some("1001")), "the stop waits for its trigger: {stop}");
    let (_, still) = app.get(&format!("/v1/orders/{}", at_close["orderId"].as_str().unwrap())).await;
    assert_eq!(still["status"], "ACCEPTED", "a CLS order waits for the close: {still}");
    let (status, _) = app.post("/v1/orders", order("GTC", "LIMIT", Some("80"))).await;
    assert_eq!(status, 202, "an open market takes every order again");

    app.post("/v1/instruments/MOCK/close", json!({})).await;
    let (_, filled) = app.get(&format!("/v1/orders/{}", at_close["orderId"].as_str().unwrap())).await;
    assert_eq!((filled["status"].as_str(), filled["filledQuantity"].as_str()), (Some("FILLED"), Some("2")), "the close trades CLS orders: {filled}");
    app.post("/v1/instruments/MOCK/open", json!({})).await;
}

/// Out of its session the house's quotes stand in the closed book (what is queued for the
/// open meets them), re-quoted once a minute rather than every tick: the log does not grow
/// all night as it does in the day.
#[tokio::test]
async fn out_of_session_the_house_quotes_stand_in_the_book_and_are_renewed_once_a_minute() {
    // A session of one minute a week, two days from now: closed all test long.
    let day = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
        [((std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() / 86_400 + 6) % 7) as usize];
    let app = crate::helpers::spawn_app_with(|config| {
        config.market.session = format!("{day} 00:00-00:01");
        config.simulate_market = true;
        config.market.tick_interval_ms = 50;
    })
    .await;
    // The simulator's ladder around 100 (the test set-up's own house orders are at 100.50
    // and 101): placed by the market role's first tick, after it closed the market.
    let simulated = |book: &Value| book["asks"].as_array().unwrap().iter().any(|level| !["100.5", "101"].contains(&level["price"].as_str().unwrap()));
    let started = std::time::Instant::now();
    let book = loop {
        let (_, book) = app.get("/v1/market/MOCK/orderbook").await;
        if simulated(&book) || started.elapsed() > std::time::Duration::from_secs(10) {
            break book;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(simulated(&book), "the house's quotes stand in a closed book: {book}");
    let (_, symbols) = app.get("/v1/market/symbols").await;
    assert_eq!(symbols["symbols"][0]["sessionOpen"], false, "{symbols}");
    let commands = || async { app.get("/health/ready").await.1["dependencies"]["log"]["commands"].as_u64().unwrap() };
    let before = commands().await;
    tokio::time::sleep(std::time::Duration::from_millis(1_000)).await;
    let grown = commands().await - before;
    // Twenty ticks: re-quoting at each would be 20 re-quotes.
    assert!(grown < 10, "{grown} commands in a closed second");
    let (_, again) = app.get("/v1/market/MOCK/orderbook").await;
    assert_eq!(again["asks"], book["asks"], "the same quotes stand until the next minute");
}

/// With the market role quoting and keeping the calendar (around the clock), an admin's
/// close holds: the calendar's next edge (midnight) reopens the market, not the next tick.
#[tokio::test]
async fn an_admins_close_holds_while_the_market_role_keeps_the_calendar() {
    let app = crate::helpers::spawn_app_with(|config| {
        config.simulate_market = true;
        config.market.tick_interval_ms = 50;
    })
    .await;
    let user = app.account("10000").await;
    let session_open = || async { app.get("/v1/market/symbols").await.1["symbols"][0]["sessionOpen"].as_bool() };
    let (status, closed) = app.post("/v1/instruments/MOCK/close", json!({})).await;
    assert_eq!((status, closed["sessionOpen"].as_bool()), (200, Some(false)), "{closed}");
    // Ten ticks later it is still closed, and refuses orders that must trade now.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(session_open().await, Some(false), "the market role reopened a market an admin closed");
    let order = json!({"userId": user, "symbol": "MOCK", "quantity": "1", "side": "BUY", "type": "LIMIT", "limitPrice": "90", "timeInForce": "IOC"});
    let (status, refused) = app.post("/v1/orders", order.clone()).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (422, Some("market_closed")), "{refused}");
    // The house goes on quoting: its quotes stand in the closed book (nothing trades), so
    // market orders queued for the open, whenever they came between its re-quotes, meet
    // them at the open instead of an empty book.
    let (_, book) = app.get("/v1/market/MOCK/orderbook").await;
    assert!(!book["asks"].as_array().unwrap().is_empty() && !book["bids"].as_array().unwrap().is_empty(), "the house's quotes stand in a closed book: {book}");
    let market = json!({"userId": user, "symbol": "MOCK", "quantity": "1", "side": "BUY", "type": "MARKET", "timeInForce": "DAY"});
    let mut queued = Vec::new();
    for _ in 0..4 {
        let (status, accepted) = app.post("/v1/orders", market.clone()).await;
        assert_eq!(status, 202, "{accepted}");
        queued.push(accepted["orderId"].as_str().unwrap().to_owned());
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (status, opened) = app.post("/v1/instruments/MOCK/open", json!({})).await;
    assert_eq!((status, opened["sessionOpen"].as_bool()), (200, Some(true)), "{opened}");
    for id in &queued {
        let (_, filled) = app.get(&format!("/v1/orders/{id}")).await;
        assert_eq!(
            (filled["status"].as_str(), filled["filledQuantity"].as_str()),
            (Some("FILLED"), Some("1")),
            "a market order queued for the open trades at the open: {filled}"
        );
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(session_open().await, Some(true));
    assert_eq!(app.post("/v1/orders", order).await.0, 202);
}

#[tokio::test]
async fn the_alpaca_clock_and_calendar_answer_from_the_configured_session() {
    let app = crate::helpers::spawn_app_with(|config| config.market.session = "mon-fri 14:30-21:00".to_owned()).await;
    // 2026-12-01 is a Tuesday: Tuesday to Friday, then Monday the 7th.
    let (status, days) = app.get("/v2/calendar?start=2026-12-01&end=2026-12-07").await;
    assert_eq!(status, 200, "{days}");
    let dates: Vec<&str> = days.as_array().unwrap().iter().map(|day| day["date"].as_str().unwrap()).collect();
    assert_eq!(dates, ["2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04", "2026-12-07"]);
    assert_eq!((days[0]["open"].as_str(), days[0]["close"].as_str(), days[0]["session_open"].as_str()), (Some("14:30"), Some("21:00"), Some("1430")));
    let (status, clock) = app.get("/v2/clock").await;
    assert_eq!(status, 200, "{clock}");
    let (next_open, next_close) = (clock["next_open"].as_str().unwrap(), clock["next_close"].as_str().unwrap());
    assert!(next_open.ends_with("T14:30:00.000Z") && next_close.ends_with("T21:00:00.000Z"), "{clock}");
    assert_eq!(clock["is_open"].as_bool(), Some(next_close < next_open), "open exactly when the next close comes first: {clock}");
    let (_, symbols) = app.get("/v1/market/symbols").await;
    let listed = &symbols["symbols"][0];
    assert_eq!(
        (listed["session"].as_str(), listed["nextOpen"].as_str(), listed["nextClose"].as_str()),
        (Some("mon,tue,wed,thu,fri 14:30-21:00"), Some(next_open), Some(next_close)),
        "a symbol names its session and the same edges: {listed}"
    );

    let dir = std::env::temp_dir().join(format!("tradecraft-bad-session-{}", std::process::id()));
    let mut config = tradecraft::server::ServerConfig::embedded(&dir);
    (config.log_url, config.address) = ("memory:".to_owned(), "127.0.0.1:0".parse().unwrap());
    config.market.session = "someday".to_owned();
    let refused = tradecraft::server::start(config).await.err().map(|error| format!("{error:#}"));
    assert!(refused.as_deref().is_some_and(|error| error.contains("someday")), "a bad session is refused at start: {refused:?}");
    let _ = std::fs::remove_dir_all(dir);
}

/// The `nyse` session: the exchange's calendar on `/v2/calendar` in New York time (its
/// holidays absent, its early closes at 13:00, T+1 settlement), the clock's edges at New
/// York's 09:30 and 16:00 (or 13:00), and the market opened and closed by that clock.
#[tokio::test]
async fn the_nyse_session_gives_the_exchanges_calendar_and_opens_the_market_by_it() {
    let app = crate::helpers::spawn_app_with(|config| {
        config.market.session = "nyse".to_owned();
        config.simulate_market = true;
        config.market.tick_interval_ms = 50;
    })
    .await;
    let (status, days) = app.get("/v2/calendar?start=2026-11-25&end=2026-12-28").await;
    assert_eq!(status, 200, "{days}");
    let days = days.as_array().unwrap();
    let day = |date: &str| days.iter().find(|day| day["date"] == date).cloned();
    assert_eq!(day("2026-11-26"), None, "Thanksgiving");
    assert_eq!(day("2026-12-25"), None, "Christmas");
    assert_eq!(day("2026-11-28"), None, "a Saturday");
    assert_eq!(
        day("2026-11-27"),
        Some(
            json!({"date": "2026-11-27", "open": "09:30", "close": "13:00", "session_open": "0930", "session_close": "1300", "settlement_date": "2026-11-30"})
        ),
        "the day after Thanksgiving closes early; it settles on Monday"
    );
    assert_eq!(day("2026-12-24").map(|day| (day["close"].clone(), day["settlement_date"].clone())), Some((json!("13:00"), json!("2026-12-28"))));
    assert_eq!(day("2026-12-02").map(|day| (day["open"].clone(), day["close"].clone())), Some((json!("09:30"), json!("16:00"))));
    assert_eq!(days.len(), 22, "the trading days from Wednesday 25 November to Monday 28 December: {days:?}");
    // Summer hours are New York's too.
    let (_, july) = app.get("/v2/calendar?start=2026-07-01&end=2026-07-06").await;
    let dates: Vec<&str> = july.as_array().unwrap().iter().map(|day| day["date"].as_str().unwrap()).collect();
    assert_eq!(dates, ["2026-07-01", "2026-07-02", "2026-07-06"], "Independence Day observed on Friday the 3rd");
    assert_eq!((july[0]["open"].as_str(), july[0]["close"].as_str()), (Some("09:30"), Some("16:00")));

    // The market opens and closes by this clock: the engine's session state (from the market
    // role's edge commands) agrees with it, whatever the hour the test runs.
    let started = std::time::Instant::now();
    loop {
        let (_, before) = app.get("/v2/clock").await;
        let (_, symbols) = app.get("/v1/market/symbols").await;
        let (_, after) = app.get("/v2/clock").await;
        let open = before["is_open"].as_bool().unwrap();
        let (next_open, next_close) = (before["next_open"].as_str().unwrap(), before["next_close"].as_str().unwrap());
        assert_eq!(open, next_close < next_open, "open exactly when the next close comes first: {before}");
        for edge in [next_open, next_close] {
            let time = &edge[11..];
            assert!(
                ["13:30", "14:30", "17:00", "18:00", "20:00", "21:00"].iter().any(|hours| time.starts_with(hours)),
                "an edge at New York's 09:30, 13:00 or 16:00: {before}"
            );
        }
        if symbols["symbols"][0]["sessionOpen"].as_bool() == Some(open)
            && ["is_open", "next_open", "next_close"].iter().all(|field| after[field] == before[field])
        {
            let listed = &symbols["symbols"][0];
            assert_eq!(
                (listed["session"].as_str(), listed["nextOpen"].as_str(), listed["nextClose"].as_str()),
                (Some("nyse"), Some(next_open), Some(next_close)),
                "{listed}"
            );
            break;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "the market never followed the clock: {before} {symbols}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Between trades, a position is marked at the market's price, the simulator's feed (seed
/// 000: the latest price is the feed's), on every surface that values it: positions, the
/// portfolio's value, its performance and `/v2` positions agree, and move with the market
/// while nobody trades.
#[tokio::test]
async fn positions_are_marked_at_the_markets_price_between_trades() {
    let app = crate::helpers::spawn_app_with(|config| {
        config.simulate_market = true;
        config.market.tick_interval_ms = 50;
        config.market.symbols[0].annual_volatility = "5".to_owned();
    })
    .await;
    let user = app.account("100000").await;
    let (status, placed) = app.post("/v1/orders", json!({"userId": user, "symbol": "MOCK", "quantity": "10", "side": "BUY", "type": "MARKET"})).await;
    assert_eq!(status, 202, "{placed}");
    let (_, order) = app.get(&format!("/v1/orders/{}", placed["orderId"].as_str().unwrap())).await;
    let paid = order["averagePrice"].as_str().expect("filled").to_owned();
    let mut marks = std::collections::BTreeSet::new();
    let started = std::time::Instant::now();
    while marks.len() < 3 {
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "the mark never moved from {paid}: {marks:?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let (_, positions) = app.get(&format!("/v1/portfolio/positions?userId={user}")).await;
        let position = &positions["positions"][0];
        let mark = position["lastPrice"].as_str().unwrap().to_owned();
        let value = |text: &Value| tradecraft_types::Money::parse(text.as_str().unwrap()).unwrap();
        let expected = tradecraft_types::Money::from_raw(tradecraft_types::Money::parse(&mark).unwrap().raw() * 10);
        assert_eq!(value(&position["marketValue"]), expected, "{position}");
        assert_eq!(value(&position["unrealizedPnl"]), value(&position["marketValue"]).checked_sub(value(&position["costBasis"])).unwrap(), "{position}");
        assert_eq!(value(&positions["totalValue"]), value(&positions["cashBalance"]).checked_add(expected).unwrap(), "{positions}");
        marks.insert(mark);
    }
    // Read at one moment of the market: the simulator is stopped by nothing, so compare
    // surfaces read back to back until they agree (each names the same latest price).
    let mut agreed = false;
    for _ in 0..50 {
        let (_, positions) = app.get(&format!("/v1/portfolio/positions?userId={user}")).await;
        let (_, performance) = app.get(&format!("/v1/portfolio/performance?userId={user}")).await;
        if positions["totalValue"] == performance["endValue"] {
            agreed = true;
            break;
        }
    }
    assert!(agreed, "positions and performance never showed the same value");
}

/// One latest price values a holding on every surface: after a tick of the market's price
/// feed, a contest entry's positions, its performance and the contest's standings all
/// count the shares at the tick's price.
#[tokio::test]
async fn every_surface_values_holdings_at_the_same_latest_price() {
    let app = crate::helpers::spawn_app().await;
    let now = tradecraft_api::clock::Clock::system().now_ms();
    let at = |ms: i64| tradecraft_types::Timestamp::from_millis(ms).to_string();
    let (status, contest) = app
        .post(
            "/v1/contests",
            json!({"name": "Marks", "startingCash": "10000", "registrationStart": at(now - 60_000), "registrationEnd": at(now + 3_600_000),
                   "tradingStart": at(now - 30_000), "tradingEnd": at(now + 7_200_000)}),
        )
        .await;
    assert_eq!(status, 201, "{contest}");
    let contest = contest["contestId"].as_str().unwrap().to_owned();
    let ada = crate::auth::register(&app, "marks@example.com").await;
    let token = ada["accessToken"].as_str().unwrap();
    let (status, joined) =
        crate::auth::call(&app, &app.anonymous, reqwest::Method::POST, &format!("/v1/contests/{contest}/join"), Some(token), Some(json!({}))).await;
    assert_eq!(status, 201, "{joined}");
    let account = joined["accountId"].as_str().unwrap().to_owned();
    let user = ada["userId"].as_str().unwrap();
    for holder in [account.as_str(), user] {
        let (status, bought) = app.post("/v1/orders", json!({"userId": holder, "symbol": "MOCK", "quantity": "10", "side": "BUY", "type": "MARKET"})).await;
        assert_eq!(status, 202, "{bought}");
    }

    // The market's feed prices MOCK at 110 stamped a day ago (yesterday's close), then at
    // 120 now, at the last command applied; the next command moves the engine (and so the
    // read store) past them.
    let applied = app.log.end_offset("trade_orders", 0).unwrap() - 1;
    for (sequence, (price, stamped)) in [("110", now - 86_400_000), ("120", now)].into_iter().enumerate() {
        let tick = tradecraft_events::to_payload(&tradecraft_events::MarketDataTick {
            symbol: "MOCK".to_owned(),
            price: price.to_owned(),
            feed_timestamp: at(stamped),
        });
        let mut envelope =
            tradecraft_log::Envelope::new("market_data.tick", "test-feed", sequence as u64, tradecraft_types::Timestamp::from_millis(stamped), tick);
        envelope.command_offset = Some(applied);
        let record = tradecraft_log::Record { key: Some(b"MOCK".to_vec()), value: envelope.to_json(), timestamp_ms: stamped };
        app.log.append(tradecraft_events::MARKET_DATA, vec![record]).unwrap();
    }
    let (status, _) =
        app.post("/v1/orders", json!({"userId": user, "symbol": "MOCK", "quantity": "1", "side": "BUY", "type": "LIMIT", "limitPrice": "90"})).await;
    assert_eq!(status, 202);

    let (_, positions) = app.get_until(&format!("/v1/portfolio/positions?userId={account}"), |_, body| body["positions"][0]["lastPrice"] == "120").await;
    assert_eq!(positions["positions"][0]["marketValue"], "1200", "{positions}");
    let total = positions["totalValue"].as_str().unwrap().to_owned();
    assert_eq!(
        tradecraft_types::Money::parse(&total).unwrap(),
        tradecraft_types::Money::parse(positions["cashBalance"].as_str().unwrap())
            .unwrap()
            .checked_add(tradecraft_types::Money::parse("1200").unwrap())
            .unwrap()
    );
    let (_, performance) = app.get(&format!("/v1/portfolio/performance?userId={account}")).await;
    assert_eq!(performance["endValue"].as_str(), Some(total.as_str()), "{performance}");
    // The market data's latest price is that price too (its last trade was the purchase).
    let (_, ticker) = app.get("/v1/market/MOCK/ticker").await;
    assert_eq!((ticker["price"].as_str(), ticker["last"].as_str()), (Some("120"), Some("100.5")), "{ticker}");
    let (_, standings) = app.get(&format!("/v1/contests/{contest}/leaderboard")).await;
    assert_eq!(standings["standings"][0]["equity"].as_str(), Some(total.as_str()), "{standings}");

    // The default account, on `/v2`: the same price, and its profit is net of the opening
    // deposit (registered with 100,000 in the same minute as the trade).
    let as_ada = |path: &'static str| crate::auth::call(&app, &app.anonymous, reqwest::Method::GET, path, Some(token), None);
    let (_, positions) = as_ada("/v2/positions").await;
    assert_eq!(positions[0]["current_price"], "120", "{positions}");
    // The day's change is against yesterday's close; shares bought today gain from their cost.
    assert_eq!((positions[0]["lastday_price"].as_str(), positions[0]["change_today"].as_str()), (Some("110"), Some("0.09090909")), "{positions}");
    assert_eq!(positions[0]["unrealized_intraday_pl"], positions[0]["unrealized_pl"], "{positions}");
    let (_, native) = as_ada("/v1/portfolio/performance?period=1d").await;
    let (_, history) = as_ada("/v2/account/portfolio/history?period=1D").await;
    let money = |text: &Value| tradecraft_types::Money::parse(text.as_str().unwrap()).unwrap();
    let profit = money(&native["endValue"]).checked_sub(money(&native["startValue"])).unwrap().checked_sub(money(&native["netDeposits"])).unwrap();
    assert!(profit.is_positive(), "bought at 100.5, priced at 120: {profit}");
    assert_eq!(history["base_value"], 100_000.0, "{history}");
    assert_eq!(history["profit_loss"].as_array().unwrap().last().unwrap().as_f64(), profit.to_string().parse::<f64>().ok(), "{history} {native}");
    assert_eq!(history["profit_loss_pct"].as_array().unwrap().last().unwrap().as_f64(), native["totalReturn"].as_f64(), "{history} {native}");
    // The day's change a client shows (equity less last_equity) is that profit too.
    let (_, account) = as_ada("/v2/account").await;
    assert_eq!(money(&account["equity"]).checked_sub(money(&account["last_equity"])), Some(profit), "{account}");
}

/// An operator's halt: new orders and changes are refused with a reason that says what
/// still works, open orders can be cancelled, every listing says so (`/v2/assets`: not
/// tradable), and after the resume orders are taken again.
#[tokio::test]
async fn a_halted_symbol_refuses_orders_and_changes_but_lets_open_orders_be_cancelled() {
    let app = spawn_app().await;
    let user = app.account("100000").await;
    let limit = |price: &str| json!({"userId": user, "symbol": "MOCK", "quantity": "1", "side": "BUY", "type": "LIMIT", "limitPrice": price});
    let (status, resting) = app.post("/v1/orders", limit("90")).await;
    assert_eq!(status, 202, "{resting}");
    let resting = resting["orderId"].as_str().unwrap().to_owned();
    assert_eq!(app.post("/v1/instruments/MOCK/halt", json!({})).await.0, 200);

    let (status, refused) = app.post("/v1/orders", limit("91")).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (422, Some("instrument_halted")), "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("can still be cancelled"), "says what still works: {refused}");
    let (status, refused) = app.patch(&format!("/v1/orders/{resting}"), json!({"limitPrice": "92"})).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (422, Some("instrument_halted")), "{refused}");
    let (_, symbols) = app.get("/v1/market/symbols").await;
    let mock = symbols["symbols"].as_array().unwrap().iter().find(|symbol| symbol["symbol"] == "MOCK").unwrap();
    assert_eq!(mock["halted"], true, "{mock}");
    let (_, asset) = app.get("/v2/assets/MOCK").await;
    assert_eq!(asset["tradable"], false, "{asset}");
    let (status, cancelled) = app.delete(&format!("/v1/orders/{resting}")).await;
    assert_eq!((status, cancelled["status"].as_str()), (200, Some("CANCELLED")), "{cancelled}");

    assert_eq!(app.post("/v1/instruments/MOCK/resume", json!({})).await.0, 200);
    let (status, placed) = app.post("/v1/orders", limit("91")).await;
    assert_eq!(status, 202, "{placed}");
    let (_, asset) = app.get("/v2/assets/MOCK").await;
    assert_eq!(asset["tradable"], true, "{asset}");
}
