//! `/v1/orders`: seed 000 6.1 status codes, idempotency, lookup and cancel.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

/// A registered trader calling the API with their own token.
struct Trader<'a> {
    app: &'a TestApp,
    token: String,
}

impl<'a> Trader<'a> {
    async fn register(app: &'a TestApp, email: &str) -> Self {
        let registered = crate::auth::register(app, email).await;
        Self { app, token: registered["accessToken"].as_str().unwrap().to_owned() }
    }

    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        crate::auth::call(self.app, &self.app.anonymous, method, path, Some(&self.token), body).await
    }

    async fn place(&self, body: Value) -> (u16, Value) {
        self.send(Method::POST, "/v1/orders", Some(body)).await
    }

    async fn patch(&self, order_id: &str, body: Value) -> (u16, Value) {
        self.send(Method::PATCH, &format!("/v1/orders/{order_id}"), Some(body)).await
    }
}

#[tokio::test]
async fn orders_get_the_seed_status_codes() {
    let app = spawn_app().await;
    let user = app.account("1000").await;
    let (status, body) = app.post("/v1/orders", json!({"userId": user, "symbol": "MOCK", "quantity": 2, "side": "BUY", "type": "MARKET"})).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["status"], "ACCEPTED");
    assert!(body["orderId"].as_str().unwrap().parse::<u64>().is_ok());
    let cases = [
        (json!({"userId": user, "symbol": "MOCK", "quantity": "100", "side": "BUY", "type": "LIMIT", "limitPrice": "99"}), 402, "insufficient_funds"),
        (json!({"userId": user, "symbol": "MOCK", "quantity": "5", "side": "SELL", "type": "LIMIT", "limitPrice": "100"}), 422, "insufficient_shares"),
        (json!({"userId": user, "symbol": "MOCK", "quantity": "1", "side": "BUY", "type": "LIMIT", "limitPrice": "99.00005"}), 400, "invalid_field"),
        (json!({"userId": user, "symbol": "MOCK", "quantity": "1", "side": "BUY", "type": "LIMIT", "limitPrice": "99.001"}), 400, "price_off_tick"),
        (json!({"userId": user, "symbol": "NOPE", "quantity": "1", "side": "BUY"}), 400, "unknown_symbol"),
        (json!({"userId": "424242", "symbol": "MOCK", "quantity": "1", "side": "BUY"}), 404, "unknown_account"),
        (json!({"userId": user, "symbol": "MOCK", "quantity": "1", "side": "HOLD"}), 400, "invalid_field"),
        (json!({"userId": user, "quantity": "1", "side": "BUY"}), 400, "invalid_field"),
        (json!({"userId": user, "symbol": "MOCK", "quantity": "1", "side": "BUY", "orderId": "5"}), 400, "invalid_field"),
        (json!({"userId": user, "symbol": "MOCK", "quantity": "1", "side": "BUY", "type": "LIMIT"}), 400, "invalid_field"),
    ];
    for (body, expected_status, expected_code) in cases {
        let (status, response) = app.post("/v1/orders", body.clone()).await;
        assert_eq!(status, expected_status, "{body} -> {response}");
        assert_eq!(response["error"]["code"], expected_code, "{body} -> {response}");
        assert!(response["error"]["message"].is_string());
        // Each refusal says why, not just its code again.
        let why = match expected_code {
            "price_off_tick" => "tick size",
            "insufficient_funds" => "not already reserved by its open buy orders",
            "insufficient_shares" => "no short selling",
            _ => "",
        };
        assert!(response["error"]["message"].as_str().unwrap().contains(why), "says why: {response}");
    }
    let (status, response) =
        app.post("/v1/orders", json!({"userId": user, "symbol": "MOCK", "quantity": "1.5", "side": "BUY", "type": "LIMIT", "limitPrice": "90"})).await;
    assert_eq!((status, response["error"]["code"].as_str()), (400, Some("quantity_off_lot")), "{response}");
    assert!(response["error"]["message"].as_str().unwrap().contains("lot size"), "says what grid: {response}");
    let (_, portfolio) = app.get(&format!("/v1/portfolio/{user}")).await;
    assert_eq!(portfolio["holdings"]["MOCK"], "2");
    assert_eq!(portfolio["cashBalance"], "799", "2 shares bought at the house ask of 100.50");
}

#[tokio::test]
async fn idempotency_keys_replay_the_first_answer() {
    let app = spawn_app().await;
    let user = app.account("1000").await;
    let order = json!({"userId": user, "symbol": "MOCK", "quantity": "1", "side": "BUY", "type": "LIMIT", "limitPrice": "90"});
    let first = app.post_with("/v1/orders", order.clone(), Some("key-1")).await;
    assert_eq!(first.0, 202);
    assert_eq!(app.post_with("/v1/orders", order.clone(), Some("key-1")).await, first, "same key, same body: same answer");
    let (_, portfolio) = app.get(&format!("/v1/portfolio/{user}")).await;
    assert_eq!(portfolio["openOrders"], 1, "the retry placed nothing");
    let other = json!({"userId": user, "symbol": "MOCK", "quantity": "2", "side": "BUY", "type": "LIMIT", "limitPrice": "90"});
    let (status, body) = app.post_with("/v1/orders", other, Some("key-1")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("idempotency_key_reused")));
    // A rejection is a final answer too.
    let broke = json!({"userId": user, "symbol": "MOCK", "quantity": "1000", "side": "BUY", "type": "LIMIT", "limitPrice": "90"});
    let rejected = app.post_with("/v1/orders", broke.clone(), Some("key-2")).await;
    assert_eq!(rejected.0, 402);
    assert_eq!(app.post_with("/v1/orders", broke, Some("key-2")).await, rejected);
}

#[tokio::test]
async fn orders_can_be_looked_up_and_cancelled() {
    let app = spawn_app().await;
    let user = app.account("100000").await;
    let (_, taken) =
        app.post("/v1/orders", json!({"userId": user, "symbol": "MOCK", "quantity": "150", "side": "BUY", "type": "LIMIT", "limitPrice": "101"})).await;
    let order_id = taken["orderId"].as_str().unwrap();
    let (status, order) = app.get(&format!("/v1/orders/{order_id}")).await;
    assert_eq!(status, 200);
    assert_eq!(order["status"], "FILLED");
    assert_eq!(order["filledQuantity"], "150");
    assert_eq!(order["fills"].as_array().unwrap().len(), 2, "100 at 100.50 then 50 at 101");
    assert_eq!(order["averagePrice"], "100.6667");
    let (_, resting) =
        app.post("/v1/orders", json!({"userId": user, "symbol": "MOCK", "quantity": "3", "side": "BUY", "type": "LIMIT", "limitPrice": "95"})).await;
    let resting_id = resting["orderId"].as_str().unwrap();
    let (status, order) = app.get(&format!("/v1/orders/{resting_id}")).await;
    assert_eq!((status, order["status"].as_str()), (200, Some("ACCEPTED")));
    let (status, body) = app.delete(&format!("/v1/orders/{resting_id}")).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("CANCELLED")));
    let (_, order) = app.get(&format!("/v1/orders/{resting_id}")).await;
    assert_eq!(order["status"], "CANCELLED");
    let (status, body) = app.delete(&format!("/v1/orders/{resting_id}")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("order_not_open")));
    assert_eq!(app.get("/v1/orders/123456789").await.0, 404);
    assert_eq!(app.get("/v1/orders/abc").await.0, 400);
    assert_eq!(app.delete("/v1/orders/123456789").await.0, 404);
}

#[tokio::test]
async fn orders_can_be_replaced() {
    let app = spawn_app().await;
    let user = app.account("20000").await;
    let (_, placed) =
        app.post("/v1/orders", json!({"userId": user, "symbol": "MOCK", "quantity": "10", "side": "BUY", "type": "LIMIT", "limitPrice": "95"})).await;
    let order_id = placed["orderId"].as_str().unwrap();
    let patch = |body: serde_json::Value| {
        let client = app.client.clone();
        let url = app.url(&format!("/v1/orders/{order_id}"));
        async move {
            let response = client.patch(url).json(&body).send().await.unwrap();
            (response.status().as_u16(), response.json::<serde_json::Value>().await.unwrap())
        }
    };
    let (status, body) = patch(json!({"quantity": 4})).await;
    assert_eq!((status, body["quantity"].as_str(), body["priorityKept"].as_bool()), (200, Some("4"), Some(true)));
    let (status, body) = patch(json!({"limitPrice": "96"})).await;
    assert_eq!((status, body["priorityKept"].as_bool()), (200, Some(false)));
    let (_, portfolio) = app.get(&format!("/v1/portfolio/{user}")).await;
    assert_eq!(portfolio["reservedCash"], "384", "4 at 96");
    assert_eq!(patch(json!({"quantity": "1000"})).await.0, 402);
    assert_eq!(patch(json!({"limitPrice": "96.001"})).await.0, 400);
    assert_eq!(patch(json!({"side": "SELL"})).await.0, 400);
    // Crossing the house ask fills it; then it is no longer open.
    let (status, body) = patch(json!({"limitPrice": "100.5"})).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("FILLED")));
    assert_eq!(patch(json!({"quantity": "2"})).await.0, 409);

    // A refusal says what can be replaced: a market order waiting for the open cannot, nor
    // an OPG order's time in force, and a partly filled order's new total must exceed what has filled (96 of the house's 100
    // left at 100.50).
    let replace = |order_id: String, body: Value| {
        let client = app.client.clone();
        let url = app.url(&format!("/v1/orders/{order_id}"));
        async move {
            let response = client.patch(url).json(&body).send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };
    let (_, waiting) = app
        .post(
            "/v1/orders",
            json!({"userId": user, "symbol": "MOCK", "quantity": "1", "side": "BUY", "type": "LIMIT", "limitPrice": "90", "timeInForce": "OPG"}),
        )
        .await;
    // An OPG limit order takes a new size and price, and keeps its time in force.
    let waiting = waiting["orderId"].as_str().unwrap().to_owned();
    let (status, replaced) = replace(waiting.clone(), json!({"quantity": "2", "limitPrice": "91"})).await;
    assert_eq!(
        (status, replaced["quantity"].as_str(), replaced["limitPrice"].as_str(), replaced["timeInForce"].as_str()),
        (200, Some("2"), Some("91"), Some("OPG")),
        "{replaced}"
    );
    let (status, refused) = replace(waiting, json!({"timeInForce": "GTC"})).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (422, Some("not_replaceable")), "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("OPG LIMIT order"), "{refused}");
    let (_, at_open) =
        app.post("/v1/orders", json!({"userId": user, "symbol": "MOCK", "quantity": "1", "side": "BUY", "type": "MARKET", "timeInForce": "OPG"})).await;
    let (status, refused) = replace(at_open["orderId"].as_str().unwrap().to_owned(), json!({"quantity": "2"})).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (422, Some("not_replaceable")), "{refused}");
    let (_, partly) =
        app.post("/v1/orders", json!({"userId": user, "symbol": "MOCK", "quantity": "97", "side": "BUY", "type": "LIMIT", "limitPrice": "100.5"})).await;
    let partly = partly["orderId"].as_str().unwrap().to_owned();
    let (_, order) = app.get(&format!("/v1/orders/{partly}")).await;
    assert_eq!((order["status"].as_str(), order["filledQuantity"].as_str()), (Some("PARTIALLY_FILLED"), Some("96")), "{order}");
    let (status, refused) = replace(partly, json!({"quantity": "96"})).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (400, Some("invalid_quantity")), "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("the 96 already filled"), "{refused}");
}

/// A waiting stop's trigger, a stop-limit's prices and either's quantity can be replaced:
/// the reservation follows, every surface (`/v1`, `/v2`, the read store's export) reads
/// the new prices, a price the order's type does not have is refused by name, and a stop
/// moved to a trigger the last trade has reached triggers at once (then it is a limit).
#[tokio::test]
async fn a_waiting_stop_is_replaced_and_reads_back_everywhere() {
    let app = spawn_app().await;
    let trader = Trader::register(&app, "stops@example.com").await;
    let token = trader.token.as_str();
    // Two shares at the house's ask, 100.50: the last price.
    let (status, bought) = trader.place(json!({"symbol": "MOCK", "side": "BUY", "type": "MARKET", "quantity": "2"})).await;
    assert_eq!(status, 202, "{bought}");
    let (status, stop) = trader.place(json!({"symbol": "MOCK", "side": "BUY", "type": "STOP", "quantity": "2", "stopPrice": "110"})).await;
    assert_eq!(status, 202, "{stop}");
    let stop = stop["orderId"].as_str().unwrap().to_owned();
    let buying_power = || async {
        let (_, account) = trader.send(Method::GET, "/v2/account", None).await;
        account["buying_power"].as_str().unwrap().to_owned()
    };
    let at_110 = buying_power().await;

    let (status, moved) = trader.patch(&stop, json!({"stopPrice": "111"})).await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!((moved["stopPrice"].as_str(), moved["limitPrice"].as_str(), moved["priorityKept"].as_bool()), (Some("111"), None, Some(false)), "{moved}");
    let at_111 = buying_power().await;
    // 100,000 less 201 spent, less 2 x the band cap (5 % over the stop): 115.50, then 116.55.
    assert_eq!((at_110.as_str(), at_111.as_str()), ("99568", "99565.9"), "the reservation follows the stop's band cap");
    let (status, shrunk) = trader.patch(&stop, json!({"quantity": "1"})).await;
    assert_eq!((status, shrunk["quantity"].as_str(), shrunk["priorityKept"].as_bool()), (200, Some("1"), Some(true)), "{shrunk}");
    let (status, refused) = trader.patch(&stop, json!({"limitPrice": "112"})).await;
    assert_eq!((status, refused["error"]["details"]["field"].as_str()), (400, Some("limitPrice")), "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("a STOP order has no limit price"), "{refused}");
    assert_eq!(trader.patch(&stop, json!({"stopPrice": "111.001"})).await.0, 400, "off the tick grid");
    assert_eq!(trader.patch(&stop, json!({"stopPrice": "0"})).await.0, 400);

    // Alpaca's replace takes stop_price too, and reads the order back the same.
    let (status, alpaca) = trader.send(Method::PATCH, &format!("/v2/orders/{stop}"), Some(json!({"stop_price": "112.5"}))).await;
    assert_eq!((status, alpaca["stop_price"].as_str(), alpaca["limit_price"].as_str()), (200, Some("112.5"), None), "{alpaca}");
    let (_, alpaca) = trader.send(Method::GET, &format!("/v2/orders/{stop}"), None).await;
    assert_eq!((alpaca["stop_price"].as_str(), alpaca["qty"].as_str()), (Some("112.5"), Some("1")), "{alpaca}");
    let (status, refused) = trader.send(Method::PATCH, &format!("/v2/orders/{stop}"), Some(json!({"limit_price": "113"}))).await;
    assert_eq!(status, 422, "{refused}");

    // A stop-limit sell: new stop, limit and quantity at once.
    let (status, stop_limit) =
        trader.place(json!({"symbol": "MOCK", "side": "SELL", "type": "STOP_LIMIT", "quantity": "2", "stopPrice": "90", "limitPrice": "89"})).await;
    assert_eq!(status, 202, "{stop_limit}");
    let stop_limit = stop_limit["orderId"].as_str().unwrap().to_owned();
    let (status, moved) = trader.patch(&stop_limit, json!({"stopPrice": "95", "limitPrice": "94.5", "quantity": "1"})).await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(
        (moved["stopPrice"].as_str(), moved["limitPrice"].as_str(), moved["quantity"].as_str(), moved["status"].as_str()),
        (Some("95"), Some("94.5"), Some("1"), Some("ACCEPTED")),
        "{moved}"
    );
    // A trailing stop's trail: its trigger recomputed from the price it has trailed
    // (100.50), 5 % under it rounded up onto the tick grid, then 3 % through Alpaca's
    // `trail`, which is in the kind the order was placed with.
    let (status, trailing) = trader.place(json!({"symbol": "MOCK", "side": "SELL", "type": "TRAILING_STOP", "quantity": "1", "trailAmount": "2"})).await;
    assert_eq!(status, 202, "{trailing}");
    let trailing = trailing["orderId"].as_str().unwrap().to_owned();
    let (status, moved) = trader.patch(&trailing, json!({"trailPercent": "5"})).await;
    assert_eq!(status, 200, "{moved}");
    let trail = |order: &Value| ["trailAmount", "trailPercent", "stopPrice", "watermark"].map(|field| order[field].as_str().map(str::to_owned));
    assert_eq!(trail(&moved), [None, Some("5"), Some("95.48"), Some("100.5")].map(|value| value.map(str::to_owned)), "{moved}");
    let (status, refused) = trader.patch(&trailing, json!({"stopPrice": "96"})).await;
    assert_eq!((status, refused["error"]["details"]["field"].as_str()), (400, Some("stopPrice")), "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("its trail (trailAmount or trailPercent) can change"), "{refused}");
    let (status, alpaca) = trader.send(Method::PATCH, &format!("/v2/orders/{trailing}"), Some(json!({"trail": "3"}))).await;
    assert_eq!(status, 200, "{alpaca}");
    assert_eq!(
        ["trail_percent", "trail_price", "stop_price", "hwm"].map(|field| alpaca[field].as_str().map(str::to_owned)),
        [Some("3"), None, Some("97.49"), Some("100.5")].map(|value| value.map(str::to_owned)),
        "{alpaca}"
    );
    let (status, refused) = trader.send(Method::PATCH, &format!("/v2/orders/{stop}"), Some(json!({"trail": "1"}))).await;
    assert_eq!(status, 422, "a stop has no trail: {refused}");

    let (_, limit) = trader.place(json!({"symbol": "MOCK", "side": "BUY", "type": "LIMIT", "quantity": "1", "limitPrice": "80"})).await;
    let (status, refused) = trader.patch(limit["orderId"].as_str().unwrap(), json!({"stopPrice": "81"})).await;
    assert_eq!((status, refused["error"]["details"]["field"].as_str()), (400, Some("stopPrice")), "{refused}");

    // The read store has the new prices (the export reads it).
    let stored = |_: u16, export: &Value| {
        let orders = export["orders"].as_array();
        let has = |order_id: &str, field: &str, value: &str| {
            orders.is_some_and(|orders| orders.iter().any(|order| order["orderId"] == order_id && order[field] == value))
        };
        has(&stop_limit, "stopPrice", "95") && has(&trailing, "trailPercent", "3")
    };
    let (_, export) = app.get_until_as(token, "/v1/me/export", stored).await;
    let exported = |order_id: &str| {
        let order = export["orders"].as_array().unwrap().iter().find(|order| order["orderId"] == order_id).unwrap().clone();
        ["stopPrice", "limitPrice", "quantity"].map(|field| order[field].as_str().map(str::to_owned))
    };
    assert_eq!(exported(&stop), [Some("112.5"), None, Some("1")].map(|value| value.map(str::to_owned)), "{export}");
    assert_eq!(exported(&stop_limit), [Some("95"), Some("94.5"), Some("1")].map(|value| value.map(str::to_owned)), "{export}");
    // A trailing stop's trigger moves with each trade: the store keeps its trail, not a stop.
    assert_eq!(exported(&trailing), [None, None, Some("1")].map(|value| value.map(str::to_owned)), "{export}");

    // Moved to a trigger the last trade (100.50) has passed, it triggers now and rests as a
    // limit at 120 (above the house's bids): no stop price to change any more.
    let (status, triggered) = trader.patch(&stop_limit, json!({"stopPrice": "101", "limitPrice": "120"})).await;
    assert_eq!((status, triggered["status"].as_str()), (200, Some("ACCEPTED")), "{triggered}");
    let (_, book) = app.get("/v1/market/MOCK/orderbook").await;
    assert!(book["asks"].as_array().unwrap().iter().any(|level| level["price"] == "120"), "{book}");
    let (status, refused) = trader.patch(&stop_limit, json!({"stopPrice": "102"})).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (400, Some("invalid_order")), "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("has been triggered"), "{refused}");
    assert_eq!(trader.patch(&stop_limit, json!({"limitPrice": "121"})).await.0, 200, "a limit now");
}

#[tokio::test]
async fn orders_are_listed_with_filters_and_pages() {
    let app = spawn_app().await;
    let user = app.account("100000").await;
    let other = app.account("100000").await;
    for price in ["90", "91", "92", "93", "94"] {
        app.post("/v1/orders", json!({"userId": user, "symbol": "MOCK", "quantity": "1", "side": "BUY", "type": "LIMIT", "limitPrice": price})).await;
    }
    app.post("/v1/orders", json!({"userId": other, "symbol": "MOCK", "quantity": "1", "side": "BUY", "type": "MARKET"})).await;
    let (status, first) = app.get(&format!("/v1/orders?userId={user}&limit=2")).await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = first["orders"].as_array().unwrap().iter().map(|order| order["orderId"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 2);
    let token = first["pagination"]["nextPageToken"].as_str().unwrap();
    let (_, second) = app.get(&format!("/v1/orders?userId={user}&limit=2&pageToken={token}")).await;
    let (_, third) = app.get(&format!("/v1/orders?userId={user}&limit=2&pageToken={}", second["pagination"]["nextPageToken"].as_str().unwrap())).await;
    assert_eq!(third["orders"].as_array().unwrap().len(), 1);
    assert!(third["pagination"]["nextPageToken"].is_null());
    let (_, filled) = app.get("/v1/orders?status=FILLED").await;
    assert_eq!(filled["orders"].as_array().unwrap().len(), 1);
    assert_eq!(filled["orders"][0]["userId"], other.as_str());
    let (_, open) = app.get(&format!("/v1/orders?userId={user}&status=OPEN&symbol=MOCK")).await;
    assert_eq!(open["orders"].as_array().unwrap().len(), 5);
    let (_, none) = app.get(&format!("/v1/orders?userId={user}&endDate=2000-01-01")).await;
    assert_eq!(none["orders"].as_array().unwrap().len(), 0);
    for bad in ["status=DONE", "startDate=yesterday", "limit=0", "pageToken=x", "userId=me"] {
        assert_eq!(app.get(&format!("/v1/orders?{bad}")).await.0, 400, "{bad}");
    }
}

/// Newest first means by time, on `/v1` and `/v2`: a contingent order's exit legs follow
/// it, wherever their ids (which carry the leg's role in their top bits) would sort, and
/// pages walk the same order.
#[tokio::test]
async fn lists_put_exit_legs_after_their_order_not_before_every_newer_one() {
    let app = spawn_app().await;
    let ada = crate::auth::register(&app, "ada@example.com").await;
    let token = ada["accessToken"].as_str().unwrap().to_owned();
    let send = |method: reqwest::Method, path: String, body: Option<Value>| {
        let (app, token) = (&app, token.clone());
        async move { crate::auth::call(app, &app.anonymous, method, &path, Some(&token), body).await }
    };
    let limit = |price: &str| json!({"symbol": "MOCK", "quantity": "1", "side": "BUY", "type": "LIMIT", "limitPrice": price});
    let (_, older) = send(reqwest::Method::POST, "/v1/orders".into(), Some(limit("80"))).await;
    let mut bracket = limit("81");
    bracket["orderClass"] = json!("BRACKET");
    bracket["takeProfit"] = json!({"limitPrice": "120"});
    bracket["stopLoss"] = json!({"stopPrice": "70"});
    let (status, entry) = send(reqwest::Method::POST, "/v1/orders".into(), Some(bracket)).await;
    assert_eq!(status, 202, "{entry}");
    let (_, newer) = send(reqwest::Method::POST, "/v1/orders".into(), Some(limit("82"))).await;
    let legs: Vec<&str> = entry["legs"].as_array().unwrap().iter().map(|leg| leg["orderId"].as_str().unwrap()).collect();
    let id = |body: &Value| body["orderId"].as_str().unwrap().to_owned();
    let expected = [id(&newer), id(&entry), legs[0].to_owned(), legs[1].to_owned(), id(&older)];

    let (_, listed) = send(reqwest::Method::GET, "/v1/orders".into(), None).await;
    let ids: Vec<String> = listed["orders"].as_array().unwrap().iter().map(id).collect();
    assert_eq!(ids, expected, "{listed}");
    let mut paged = Vec::new();
    let mut page_token = String::new();
    loop {
        let (_, page) = send(reqwest::Method::GET, format!("/v1/orders?limit=2{page_token}"), None).await;
        paged.extend(page["orders"].as_array().unwrap().iter().map(id));
        match page["pagination"]["nextPageToken"].as_str() {
            Some(next) => page_token = format!("&pageToken={next}"),
            None => break,
        }
    }
    assert_eq!(paged, expected, "pages of two walk the same list");

    // Alpaca's list: newest first by default, oldest first asked; legs after their order.
    for (direction, order) in [("desc", expected.to_vec()), ("asc", vec![id(&older), id(&entry), legs[0].to_owned(), legs[1].to_owned(), id(&newer)])] {
        let (status, alpaca) = send(reqwest::Method::GET, format!("/v2/orders?status=all&direction={direction}"), None).await;
        assert_eq!(status, 200, "{alpaca}");
        let tradecraft_ids: Vec<String> = alpaca.as_array().unwrap().iter().map(|order| tradecraft_id(order["id"].as_str().unwrap())).collect();
        assert_eq!(tradecraft_ids, order, "{direction}: {alpaca}");
    }
}

/// The TradeCraft order id inside an Alpaca order UUID (its last 16 hex digits).
fn tradecraft_id(uuid: &str) -> String {
    let hex: String = uuid.chars().filter(char::is_ascii_hexdigit).collect();
    u64::from_str_radix(&hex[hex.len() - 16..], 16).unwrap().to_string()
}

#[tokio::test]
async fn the_house_quotes_are_not_kept_as_orders_but_its_trades_are() {
    let app = spawn_app().await;
    // The set-up rests three house orders on MOCK; a user's market buy takes one.
    let user = app.account("100000").await;
    let (status, _) = app.post("/v1/orders", json!({"userId": user, "symbol": "MOCK", "quantity": "1", "side": "BUY", "type": "MARKET"})).await;
    assert_eq!(status, 202);
    let (status, house) = app.get(&format!("/v1/orders?userId={}", crate::helpers::HOUSE)).await;
    assert_eq!(status, 200, "{house}");
    assert_eq!(house["orders"].as_array().unwrap().len(), 0, "house quotes are not kept: {house}");
    let (_, all) = app.get("/v1/orders").await;
    let accounts: Vec<&str> = all["orders"].as_array().unwrap().iter().map(|order| order["userId"].as_str().unwrap()).collect();
    assert_eq!(accounts, [user.as_str()], "only the user's order is listed");
    let (_, trades) = app.get("/v1/market/MOCK/trades").await;
    assert!(!trades["trades"].as_array().unwrap().is_empty(), "the trade with the house is a market trade: {trades}");
}

/// A buy sized by cash amount says what was asked (the cash) and what it bought (the
/// shares), never a quantity of 0 beside shares filled; the read store keeps both too.
#[tokio::test]
async fn a_buy_by_cash_amount_shows_the_amount_asked_and_the_shares_bought() {
    let app = spawn_app().await;
    let user = app.account("100000").await;
    // Asks 100 at 100.50: 1,005 buys 10 shares.
    let (status, placed) = app.post("/v1/orders", json!({"userId": user, "symbol": "MOCK", "side": "BUY", "type": "MARKET", "notional": "1005"})).await;
    assert_eq!(status, 202, "{placed}");
    let id = placed["orderId"].as_str().unwrap();
    let (_, order) = app.get(&format!("/v1/orders/{id}")).await;
    assert_eq!(
        (&order["quantity"], order["notional"].as_str(), order["filledQuantity"].as_str(), order["status"].as_str()),
        (&Value::Null, Some("1005"), Some("10"), Some("FILLED")),
        "{order}"
    );
    let (_, listed) = app.get(&format!("/v1/orders?userId={user}")).await;
    assert_eq!(listed["orders"][0]["notional"], "1005");
}

#[tokio::test]
async fn bracket_oto_and_oco_orders_place_their_exits_as_the_entry_fills() {
    let app = spawn_app().await;
    let user = app.account("10000").await;
    // A bracket market buy fills against the house at once: both exits work, sharing the shares.
    let bracket = json!({"userId": user, "symbol": "MOCK", "quantity": "2", "side": "BUY", "type": "MARKET", "orderClass": "BRACKET",
        "takeProfit": {"limitPrice": "200"}, "stopLoss": {"stopPrice": "50"}});
    let (status, placed) = app.post("/v1/orders", bracket).await;
    assert_eq!(status, 202, "{placed}");
    let entry = placed["orderId"].as_str().unwrap().to_owned();
    let legs: Vec<(String, String)> =
        placed["legs"].as_array().unwrap().iter().map(|leg| (leg["orderId"].as_str().unwrap().to_owned(), leg["role"].as_str().unwrap().to_owned())).collect();
    assert_eq!(legs.iter().map(|(_, role)| role.as_str()).collect::<Vec<_>>(), ["TAKE_PROFIT", "STOP_LOSS"]);
    let (take_profit, stop_loss) = (legs[0].0.clone(), legs[1].0.clone());
    let (_, order) = app.get(&format!("/v1/orders/{entry}")).await;
    assert_eq!((order["status"].as_str(), order["orderClass"].as_str()), (Some("FILLED"), Some("BRACKET")));
    assert_eq!(order["legs"], json!([take_profit, stop_loss]));
    for (leg, kind) in [(&take_profit, "LIMIT"), (&stop_loss, "STOP")] {
        let (_, order) = app.get(&format!("/v1/orders/{leg}")).await;
        assert_eq!(order["status"], "ACCEPTED", "{order}");
        assert_eq!((order["type"].as_str(), order["side"].as_str(), order["quantity"].as_str()), (Some(kind), Some("SELL"), Some("2")));
        assert_eq!(order["parentOrderId"], entry.as_str());
    }
    // One reservation for both exits: the two shares are held once.
    let (_, portfolio) = app.get(&format!("/v1/portfolio/{user}")).await;
    assert_eq!(portfolio["holdings"]["MOCK"], "2", "{portfolio}");
    assert_eq!(portfolio["openOrders"], 2, "{portfolio}");
    // A quantity change would break the pair; cancelling one exit ends the other.
    let (status, body) = app.patch(&format!("/v1/orders/{take_profit}"), json!({"quantity": "1"})).await;
    assert!(status == 409 || status == 422, "{status} {body}");
    let (status, _) = app.delete(&format!("/v1/orders/{take_profit}")).await;
    assert_eq!(status, 200);
    let (_, order) = app.get(&format!("/v1/orders/{stop_loss}")).await;
    assert_eq!(order["status"], "CANCELLED", "{order}");

    // An OTO limit buy below the market rests; its exit is held until it fills, and
    // cancelling the entry cancels the held exit.
    let oto = json!({"userId": user, "symbol": "MOCK", "quantity": "1", "side": "BUY", "type": "LIMIT", "limitPrice": "90", "orderClass": "OTO",
        "stopLoss": {"stopPrice": "80", "limitPrice": "79"}});
    let (status, placed) = app.post("/v1/orders", oto).await;
    assert_eq!(status, 202, "{placed}");
    let (entry, held) = (placed["orderId"].as_str().unwrap().to_owned(), placed["legs"][0]["orderId"].as_str().unwrap().to_owned());
    let (_, order) = app.get(&format!("/v1/orders/{held}")).await;
    assert_eq!((order["status"].as_str(), order["type"].as_str(), order["stopPrice"].as_str()), (Some("HELD"), Some("STOP_LIMIT"), Some("80")));
    let (_, open) = app.get(&format!("/v1/orders?userId={user}&status=OPEN")).await;
    assert!(open["orders"].as_array().unwrap().iter().any(|order| order["orderId"] == held.as_str()), "held legs are open: {open}");
    app.delete(&format!("/v1/orders/{entry}")).await;
    let (_, order) = app.get(&format!("/v1/orders/{held}")).await;
    assert_eq!(order["status"], "CANCELLED", "{order}");

    // OCO: a limit sell of the two shares and its stop loss, both working at once.
    let oco = json!({"userId": user, "symbol": "MOCK", "quantity": "2", "side": "SELL", "type": "LIMIT", "limitPrice": "150", "orderClass": "OCO",
        "stopLoss": {"stopPrice": "60"}});
    let (status, placed) = app.post("/v1/orders", oco).await;
    assert_eq!(status, 202, "{placed}");
    let (_, order) = app.get(&format!("/v1/orders/{}", placed["legs"][0]["orderId"].as_str().unwrap())).await;
    assert_eq!((order["status"].as_str(), order["side"].as_str()), (Some("ACCEPTED"), Some("SELL")), "{order}");

    // Shapes the class does not allow are 400s naming the field; exits on the wrong side
    // of each other are the engine's 400.
    let base = json!({"userId": user, "symbol": "MOCK", "quantity": "1", "side": "BUY", "type": "LIMIT", "limitPrice": "90"});
    let with = |extra: Value| {
        let mut body = base.clone();
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    let cases = [
        (json!({"takeProfit": {"limitPrice": "120"}}), "takeProfit"),
        (json!({"orderClass": "BRACKET", "takeProfit": {"limitPrice": "120"}}), "stopLoss"),
        (json!({"orderClass": "OTO", "takeProfit": {"limitPrice": "120"}, "stopLoss": {"stopPrice": "80"}}), "takeProfit"),
        (json!({"orderClass": "OCO", "takeProfit": {"limitPrice": "120"}, "stopLoss": {"stopPrice": "80"}}), "takeProfit"),
        (json!({"orderClass": "BRACKET", "takeProfit": {"limitPrice": "-1"}, "stopLoss": {"stopPrice": "80"}}), "takeProfit.limitPrice"),
        (json!({"orderClass": "SIDEWAYS"}), "orderClass"),
    ];
    for (extra, field) in cases {
        let (status, body) = app.post("/v1/orders", with(extra.clone())).await;
        assert_eq!((status, body["error"]["details"]["field"].as_str()), (400, Some(field)), "{extra} -> {body}");
    }
    // So are exits on the wrong side of the entry's price (90): a take profit at or below
    // it, a stop loss at or above it.
    for exits in [
        json!({"orderClass": "BRACKET", "takeProfit": {"limitPrice": "80"}, "stopLoss": {"stopPrice": "85"}}),
        json!({"orderClass": "BRACKET", "takeProfit": {"limitPrice": "89"}, "stopLoss": {"stopPrice": "80"}}),
        json!({"orderClass": "BRACKET", "takeProfit": {"limitPrice": "120"}, "stopLoss": {"stopPrice": "95"}}),
        json!({"orderClass": "OTO", "takeProfit": {"limitPrice": "90"}}),
        json!({"orderClass": "OTO", "stopLoss": {"stopPrice": "90", "limitPrice": "89"}}),
    ] {
        let (status, body) = app.post("/v1/orders", with(exits.clone())).await;
        assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_price")), "{exits} -> {body}");
        assert!(body["error"]["message"].as_str().unwrap().contains("a stop loss short of it"), "the message says why: {body}");
    }
    let (_, portfolio) = app.get(&format!("/v1/portfolio/{user}")).await;
    assert_eq!(portfolio["openOrders"], 2, "refused orders left nothing behind: {portfolio}");
}

/// An order reads back as it was placed on every surface (`/v1` and `/v2`, one order and
/// the lists, the export read from the store): a trailing stop with its trail by amount
/// or by percent and, while it waits, the trigger price and the watermark the engine has
/// moved them to with the trades since; a post-only order with its flag and self-trade
/// prevention.
#[tokio::test]
async fn an_order_reads_back_as_placed_on_every_surface() {
    use crate::auth::{call, register};
    use reqwest::Method;
    let app = spawn_app().await;
    let seller = register(&app, "trailing@example.com").await;
    let (user, token) = (seller["userId"].as_str().unwrap().to_owned(), seller["accessToken"].as_str().unwrap().to_owned());
    let token = token.as_str();
    let place = |body: Value| call(&app, &app.anonymous, Method::POST, "/v1/orders", Some(token), Some(body));
    // Three shares at the house's ask, 100.50: the last price.
    let (status, bought) = place(json!({"symbol": "MOCK", "side": "BUY", "type": "MARKET", "quantity": "3"})).await;
    assert_eq!(status, 202, "{bought}");
    let (status, by_amount) = place(json!({"symbol": "MOCK", "side": "SELL", "type": "TRAILING_STOP", "quantity": "1", "trailAmount": "2"})).await;
    assert_eq!(status, 202, "{by_amount}");
    let (status, by_percent) = place(json!({"symbol": "MOCK", "side": "SELL", "type": "TRAILING_STOP", "quantity": "1", "trailPercent": "5"})).await;
    assert_eq!(status, 202, "{by_percent}");
    let (by_amount, by_percent) = (by_amount["orderId"].as_str().unwrap().to_owned(), by_percent["orderId"].as_str().unwrap().to_owned());
    let (_, order) = call(&app, &app.anonymous, Method::GET, &format!("/v1/orders/{by_amount}"), Some(token), None).await;
    let read =
        |order: &Value| ["type", "trailAmount", "trailPercent", "stopPrice", "watermark", "status"].map(|field| order[field].as_str().map(str::to_owned));
    let text = |values: [Option<&str>; 6]| values.map(|value| value.map(str::to_owned));
    assert_eq!(read(&order), text([Some("TRAILING_STOP"), Some("2"), None, Some("98.5"), Some("100.5"), Some("ACCEPTED")]), "{order}");

    // Trades at 101 and then 103 (the bidder takes every house ask, then bids 103 for the
    // seller's third share) move both stops up.
    let bidder = app.account("50000").await;
    let (status, sweep) =
        app.post("/v1/orders", json!({"userId": bidder, "symbol": "MOCK", "side": "BUY", "type": "LIMIT", "quantity": "300", "limitPrice": "101"})).await;
    assert_eq!(status, 202, "{sweep}");
    let (status, bid) =
        app.post("/v1/orders", json!({"userId": bidder, "symbol": "MOCK", "side": "BUY", "type": "LIMIT", "quantity": "1", "limitPrice": "103"})).await;
    assert_eq!(status, 202, "{bid}");
    let (status, sold) = place(json!({"symbol": "MOCK", "side": "SELL", "type": "MARKET", "quantity": "1"})).await;
    assert_eq!(status, 202, "{sold}");
    let expected = [
        (by_amount.as_str(), text([Some("TRAILING_STOP"), Some("2"), None, Some("101"), Some("103"), Some("ACCEPTED")])),
        (by_percent.as_str(), text([Some("TRAILING_STOP"), None, Some("5"), Some("97.85"), Some("103"), Some("ACCEPTED")])),
    ];
    let (_, listed) = call(&app, &app.anonymous, Method::GET, "/v1/orders?status=OPEN", Some(token), None).await;
    for (order_id, wanted) in &expected {
        let (_, order) = call(&app, &app.anonymous, Method::GET, &format!("/v1/orders/{order_id}"), Some(token), None).await;
        assert_eq!(&read(&order), wanted, "{order}");
        let in_list = listed["orders"].as_array().unwrap().iter().find(|order| order["orderId"] == *order_id).unwrap();
        assert_eq!(&read(in_list), wanted, "{listed}");
    }

    // Alpaca's fields: trail_price, trail_percent, hwm and stop_price.
    let alpaca = |order: &Value| ["type", "trail_price", "trail_percent", "stop_price", "hwm", "status"].map(|field| order[field].as_str().map(str::to_owned));
    let alpaca_expected = [
        (by_amount.as_str(), text([Some("trailing_stop"), Some("2"), None, Some("101"), Some("103"), Some("new")])),
        (by_percent.as_str(), text([Some("trailing_stop"), None, Some("5"), Some("97.85"), Some("103"), Some("new")])),
    ];
    let (_, open) = call(&app, &app.anonymous, Method::GET, "/v2/orders?status=open", Some(token), None).await;
    for (order_id, wanted) in &alpaca_expected {
        let (status, order) = call(&app, &app.anonymous, Method::GET, &format!("/v2/orders/{order_id}"), Some(token), None).await;
        assert_eq!(status, 200, "{order}");
        assert_eq!(&alpaca(&order), wanted, "{order}");
        let in_list = open.as_array().unwrap().iter().find(|listed| listed["id"] == order["id"]).unwrap();
        assert_eq!(&alpaca(in_list), wanted, "{open}");
    }

    let (status, maker) = place(
        json!({"symbol": "MOCK", "side": "BUY", "type": "LIMIT", "quantity": "1", "limitPrice": "90", "postOnly": true, "selfTradePrevention": "CANCEL_BOTH"}),
    )
    .await;
    assert_eq!(status, 202, "{maker}");
    let maker = maker["orderId"].as_str().unwrap().to_owned();
    let flags = |order: &Value| (order["postOnly"].as_bool(), order["selfTradePrevention"].as_str().map(str::to_owned));
    let (_, order) = call(&app, &app.anonymous, Method::GET, &format!("/v1/orders/{maker}"), Some(token), None).await;
    assert_eq!(flags(&order), (Some(true), Some("CANCEL_BOTH".to_owned())), "{order}");
    let (_, order) = call(&app, &app.anonymous, Method::GET, &format!("/v1/orders/{by_amount}"), Some(token), None).await;
    assert_eq!(flags(&order), (Some(false), None), "{order}");

    // The export reads the orders from the read store: placed as they were.
    let stored = |_: u16, export: &Value| export["orders"].as_array().is_some_and(|orders| orders.len() == 5);
    let (_, export) = app.get_until_as(token, "/v1/me/export", stored).await;
    let exported = |order_id: &str| {
        let order = export["orders"].as_array().unwrap().iter().find(|order| order["orderId"] == order_id).unwrap().clone();
        ["type", "trailAmount", "trailPercent", "timeInForce"].map(|field| order[field].as_str().map(str::to_owned))
    };
    assert_eq!(exported(&by_amount), [Some("TRAILING_STOP"), Some("2"), None, Some("GTC")].map(|value| value.map(str::to_owned)), "{export}");
    assert_eq!(exported(&by_percent), [Some("TRAILING_STOP"), None, Some("5"), Some("GTC")].map(|value| value.map(str::to_owned)), "{export}");
    let exported_maker = export["orders"].as_array().unwrap().iter().find(|order| order["orderId"] == maker.as_str()).unwrap();
    assert_eq!(flags(exported_maker), (Some(true), Some("CANCEL_BOTH".to_owned())), "{export}");
    assert_eq!((exported_maker["type"].as_str(), exported_maker["limitPrice"].as_str()), (Some("LIMIT"), Some("90")), "{export}");
    assert_eq!(user, export["profile"]["userId"].as_str().unwrap_or(&user));
}

/// Alpaca's `position_intent` gives an order its side (a cash account's buy opens and its
/// sell closes); it reads back on the order, and a short's intent or a side it contradicts
/// is refused.
#[tokio::test]
async fn an_alpaca_order_takes_its_side_from_a_position_intent() {
    let app = spawn_app().await;
    let trader = Trader::register(&app, "intents@example.com").await;
    let order = |intent: Option<&str>, side: Option<&str>| {
        let mut body = json!({"symbol": "MOCK", "qty": "2", "type": "market", "time_in_force": "day"});
        if let Some(intent) = intent {
            body["position_intent"] = json!(intent);
        }
        if let Some(side) = side {
            body["side"] = json!(side);
        }
        let trader = &trader;
        async move { trader.send(Method::POST, "/v2/orders", Some(body)).await }
    };
    let (status, bought) = order(Some("buy_to_open"), None).await;
    assert_eq!(
        (status, bought["side"].as_str(), bought["position_intent"].as_str(), bought["status"].as_str()),
        (200, Some("buy"), Some("buy_to_open"), Some("filled")),
        "{bought}"
    );
    let (status, sold) = order(Some("sell_to_close"), Some("sell")).await;
    assert_eq!(
        (status, sold["side"].as_str(), sold["position_intent"].as_str(), sold["filled_qty"].as_str()),
        (200, Some("sell"), Some("sell_to_close"), Some("2")),
        "{sold}"
    );
    for (intent, side, field) in [
        (None, None, "side"),
        (Some("sell_to_open"), None, "position_intent"),
        (Some("buy_to_close"), Some("buy"), "position_intent"),
        (Some("buy_to_open"), Some("sell"), "position_intent"),
        (Some("to_the_moon"), None, "position_intent"),
    ] {
        let (status, refused) = order(intent, side).await;
        assert_eq!(status, 422, "{intent:?} {side:?}: {refused}");
        assert!(refused["message"].as_str().unwrap().starts_with(field), "{intent:?} {side:?} names {field}: {refused}");
    }
    let (_, orders) = trader.send(Method::GET, "/v2/orders?status=all", None).await;
    assert_eq!(orders.as_array().map(Vec::len), Some(2), "nothing refused was placed: {orders}");
}

/// A replace gives an open order a new client order id and time in force (alone they keep
/// its place); every surface reads them back, the old id is free, another open order's is
/// refused, and the new time in force holds: a day order expires at the session's end.
#[tokio::test]
async fn a_replace_renames_an_order_and_changes_its_time_in_force() {
    let app = spawn_app().await;
    let trader = Trader::register(&app, "renames@example.com").await;
    let token = trader.token.as_str();
    let app = &app;
    let limit =
        |client: &str, price: &str| json!({"symbol": "MOCK", "side": "BUY", "type": "LIMIT", "quantity": "1", "limitPrice": price, "clientOrderId": client});
    let (_, first) = trader.place(limit("first", "90")).await;
    let first = first["orderId"].as_str().unwrap().to_owned();
    let (_, second) = trader.place(limit("second", "89")).await;
    let second = second["orderId"].as_str().unwrap().to_owned();

    let (status, renamed) = trader.patch(&first, json!({"clientOrderId": "renamed", "timeInForce": "DAY"})).await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(
        (renamed["clientOrderId"].as_str(), renamed["timeInForce"].as_str(), renamed["priorityKept"].as_bool(), renamed["limitPrice"].as_str()),
        (Some("renamed"), Some("DAY"), Some(true), Some("90")),
        "{renamed}"
    );
    let (_, alpaca) = trader.send(Method::GET, "/v2/orders:by_client_order_id?client_order_id=renamed", None).await;
    assert_eq!((alpaca["time_in_force"].as_str(), alpaca["limit_price"].as_str()), (Some("day"), Some("90")), "{alpaca}");
    let (status, _) = trader.send(Method::GET, "/v2/orders:by_client_order_id?client_order_id=first", None).await;
    assert_eq!(status, 404, "the old client order id names no order");
    let (status, reused) = trader.place(limit("first", "88")).await;
    assert_eq!(status, 202, "the old client order id is free again: {reused}");
    // /v1 lists an order by its client order id too.
    let listed = |client: &'static str| {
        let trader = &trader;
        async move {
            let (status, list) = trader.send(Method::GET, &format!("/v1/orders?clientOrderId={client}"), None).await;
            assert_eq!(status, 200, "{list}");
            list["orders"].as_array().unwrap().iter().map(|order| order["orderId"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
        }
    };
    assert_eq!(listed("renamed").await, std::slice::from_ref(&first));
    assert_eq!(listed("first").await, [reused["orderId"].as_str().unwrap().to_owned()]);
    assert_eq!(trader.send(Method::GET, "/v1/orders?clientOrderId=", None).await.0, 400, "an empty client order id");

    // Another open order's id: 409 on /v1, 422 on /v2; a time in force a resting order
    // cannot have: 400, 422. Nothing changes.
    let (status, refused) = trader.patch(&second, json!({"clientOrderId": "renamed"})).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (409, Some("duplicate_client_order_id")), "{refused}");
    assert_eq!(trader.patch(&second, json!({"timeInForce": "IOC"})).await.0, 400);
    let (status, refused) = trader.send(Method::PATCH, &format!("/v2/orders/{second}"), Some(json!({"client_order_id": "renamed"}))).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(trader.send(Method::PATCH, &format!("/v2/orders/{second}"), Some(json!({"time_in_force": "ioc"}))).await.0, 422);
    // Alpaca's replace renames, with a new price at once.
    let (status, alpaca) = trader
        .send(Method::PATCH, &format!("/v2/orders/{second}"), Some(json!({"client_order_id": "moved", "limit_price": "89.5", "time_in_force": "day"})))
        .await;
    assert_eq!(status, 200, "{alpaca}");
    assert_eq!(
        (alpaca["client_order_id"].as_str(), alpaca["time_in_force"].as_str(), alpaca["limit_price"].as_str()),
        (Some("moved"), Some("day"), Some("89.5")),
        "{alpaca}"
    );
    let (_, native) = trader.send(Method::GET, &format!("/v1/orders/{second}"), None).await;
    assert_eq!((native["clientOrderId"].as_str(), native["timeInForce"].as_str()), (Some("moved"), Some("DAY")), "{native}");

    // The read store has them (the export reads it).
    let stored = |_: u16, export: &Value| {
        export["orders"].as_array().is_some_and(|orders| {
            orders.iter().any(|order| order["orderId"] == first.as_str() && order["clientOrderId"] == "renamed" && order["timeInForce"] == "DAY")
                && orders.iter().any(|order| order["orderId"] == second.as_str() && order["clientOrderId"] == "moved" && order["timeInForce"] == "DAY")
        })
    };
    app.get_until_as(token, "/v1/me/export", stored).await;

    // The session's end expires the two day orders, not the GTC one placed with "first".
    let (status, _) = app.post("/v1/instruments/MOCK/close", json!({})).await;
    assert_eq!(status, 200);
    for (order_id, expected) in [(first.as_str(), "EXPIRED"), (second.as_str(), "EXPIRED"), (reused["orderId"].as_str().unwrap(), "ACCEPTED")] {
        let (_, order) = trader.send(Method::GET, &format!("/v1/orders/{order_id}"), None).await;
        assert_eq!(order["status"], expected, "{order}");
    }
    app.post("/v1/instruments/MOCK/open", json!({})).await;
}

/// Each process serving the API keeps every open order and the newest finished ones
/// (`--orders-kept`, here 6); an older order is still its owner's: looked up, listed page
/// by page, named by its client order id, shared, on `/v1` and `/v2` alike and reading as
/// it did, and an old order still open is still cancellable.
#[tokio::test]
async fn orders_past_what_a_process_keeps_are_read_back_from_the_store() {
    let app = crate::helpers::spawn_app_with(|config| config.orders_kept = 6).await;
    let trader = Trader::register(&app, "keeper@example.com").await;
    let limit = |price: &str| json!({"symbol": "MOCK", "quantity": "1", "side": "BUY", "type": "LIMIT", "limitPrice": price});
    let id = |body: &Value| body["orderId"].as_str().unwrap().to_owned();
    let (status, resting) = trader.place(limit("50")).await;
    assert_eq!(status, 202, "{resting}");
    let (status, filled) = trader.place(json!({"symbol": "MOCK", "quantity": "2", "side": "BUY", "type": "MARKET", "clientOrderId": "first-fill"})).await;
    assert_eq!(status, 202, "{filled}");
    let mut bracket = limit("51");
    bracket["orderClass"] = json!("BRACKET");
    bracket["takeProfit"] = json!({"limitPrice": "120"});
    bracket["stopLoss"] = json!({"stopPrice": "40"});
    let (status, entry) = trader.place(bracket).await;
    assert_eq!(status, 202, "{entry}");
    let legs: Vec<String> = entry["legs"].as_array().unwrap().iter().map(id).collect();
    assert_eq!(trader.send(Method::DELETE, &format!("/v1/orders/{}", id(&entry)), None).await.0, 200);
    let (resting, filled, entry) = (id(&resting), id(&filled), id(&entry));
    // As they read while the process still keeps them (the fill projected).
    let trader = &trader;
    let read = |path: String| async move { trader.send(Method::GET, &path, None).await };
    let mut before = Value::Null;
    for _ in 0..100 {
        before = read(format!("/v1/orders/{filled}")).await.1;
        let (_, trades) = read("/v1/trades/search".to_owned()).await;
        if before["status"] == "FILLED" && !trades["trades"].as_array().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(before["status"], "FILLED", "{before}");
    let entry_before = read(format!("/v1/orders/{entry}")).await.1;
    let (_, alpaca_before) = read(format!("/v2/orders/{filled}")).await;
    let (_, nested_before) = read(format!("/v2/orders/{entry}")).await;
    assert_eq!(nested_before["legs"].as_array().map(Vec::len), Some(2), "{nested_before}");

    // Eight newer finished orders: the process forgets the older finished ones.
    let mut newer = Vec::new();
    for _ in 0..8 {
        let (status, placed) = trader.place(limit("45")).await;
        assert_eq!(status, 202, "{placed}");
        assert_eq!(trader.send(Method::DELETE, &format!("/v1/orders/{}", id(&placed)), None).await.0, 200);
        newer.insert(0, id(&placed));
    }
    assert_eq!(read(format!("/v1/orders/{filled}")).await, (200, before.clone()));
    assert_eq!(read(format!("/v1/orders/{entry}")).await, (200, entry_before));
    assert_eq!(read(format!("/v2/orders/{filled}")).await, (200, alpaca_before.clone()));
    assert_eq!(read(format!("/v2/orders/{entry}")).await, (200, nested_before));
    assert_eq!(read(format!("/v1/orders/{}", legs[1])).await.1["status"], "CANCELLED");
    assert_eq!(read("/v2/orders:by_client_order_id?client_order_id=first-fill".to_owned()).await, (200, alpaca_before.clone()));

    // Lists walk every order, newest first, the kept and the forgotten, page by page.
    let mut expected = newer.clone();
    expected.extend([entry.clone(), legs[0].clone(), legs[1].clone(), filled.clone(), resting.clone()]);
    let mut paged = Vec::new();
    let mut page_token = String::new();
    loop {
        let (status, page) = read(format!("/v1/orders?limit=3{page_token}")).await;
        assert_eq!(status, 200, "{page}");
        paged.extend(page["orders"].as_array().unwrap().iter().map(id));
        match page["pagination"]["nextPageToken"].as_str() {
            Some(next) => page_token = format!("&pageToken={next}"),
            None => break,
        }
    }
    assert_eq!(paged, expected);
    // An admin's list of everyone's orders walks them too.
    let (status, everyone) = app.get("/v1/orders?limit=100").await;
    assert_eq!(status, 200, "{everyone}");
    assert_eq!(everyone["orders"].as_array().unwrap().iter().map(id).collect::<Vec<_>>(), expected);
    let (_, only_filled) = read("/v1/orders?status=FILLED".to_owned()).await;
    assert_eq!(only_filled["orders"], json!([before]));
    let alpaca_ids = |body: &Value| body.as_array().unwrap().iter().map(|order| tradecraft_id(order["id"].as_str().unwrap())).collect::<Vec<_>>();
    let (_, oldest_first) = read("/v2/orders?status=all&direction=asc&limit=3".to_owned()).await;
    assert_eq!(alpaca_ids(&oldest_first), [resting.clone(), filled.clone(), entry.clone()]);
    let (_, closed) = read("/v2/orders?status=closed&nested=true&limit=500".to_owned()).await;
    let mut closed_expected = newer.clone();
    closed_expected.extend([entry.clone(), filled.clone()]);
    assert_eq!(alpaca_ids(&closed), closed_expected);
    assert_eq!(closed.as_array().unwrap().last().unwrap(), &alpaca_before);
    assert_eq!(closed[8]["legs"].as_array().map(Vec::len), Some(2), "{closed}");
    let (status, shared) = trader.send(Method::POST, &format!("/v1/orders/{filled}/share"), Some(json!({}))).await;
    assert_eq!(status, 201, "{shared}");

    // Alpaca's trade events replay every order's events since a time, the forgotten ones'
    // from the store: the fill of the oldest filled order, the oldest's acceptance, each
    // newer order's cancel; and from a later time, none of the old ones.
    let app = &app;
    let replay = |since: &'static str| async move {
        let url = app.url(&format!("/v2/events/trades?since={since}&until=2100-01-01T00:00:00Z"));
        let response = app.anonymous.get(url).bearer_auth(&trader.token).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let text = response.text().await.unwrap();
        text.lines()
            .filter_map(|line| line.strip_prefix("data:"))
            .map(|data| {
                let event: Value = serde_json::from_str(data.trim()).unwrap();
                (tradecraft_id(event["order"]["id"].as_str().unwrap()), event["event"].as_str().unwrap().to_owned())
            })
            .collect::<Vec<_>>()
    };
    let replayed = replay("2000-01-01T00:00:00Z").await;
    for (order, event) in [(&filled, "fill"), (&resting, "new"), (&entry, "canceled"), (&newer[7], "canceled"), (&newer[0], "canceled")] {
        assert!(replayed.contains(&(order.clone(), event.to_owned())), "{order} {event}: {replayed:?}");
    }
    assert!(replay("2099-01-01T00:00:00Z").await.is_empty());

    // The oldest order is still open: kept, listed as open, cancellable.
    let (_, open) = read("/v2/orders".to_owned()).await;
    assert_eq!(alpaca_ids(&open), std::slice::from_ref(&resting));
    assert_eq!(trader.send(Method::DELETE, &format!("/v1/orders/{resting}"), None).await.0, 200);
}
