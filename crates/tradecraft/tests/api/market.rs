//! `/v1/market`: symbols, order book, ticker, trades and candles.

use serde_json::json;

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
