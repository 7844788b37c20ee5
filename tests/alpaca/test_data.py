"""alpaca-py's StockHistoricalDataClient against TradeCraft's /v2/stocks, unchanged but for
url_override: bars are TradeCraft's candles, trades its prints, quotes its book."""

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from alpaca.data.historical.stock import StockHistoricalDataClient
from alpaca.data.requests import (
    StockBarsRequest,
    StockLatestBarRequest,
    StockLatestQuoteRequest,
    StockLatestTradeRequest,
    StockQuotesRequest,
    StockSnapshotRequest,
    StockTradesRequest,
)
from alpaca.data.timeframe import TimeFrame
from alpaca.trading.enums import OrderSide, TimeInForce
from alpaca.trading.requests import MarketOrderRequest


def data_client(server, trader):
    return StockHistoricalDataClient(trader.key_id, trader.secret, url_override=server)


def test_bars_trades_quotes_and_snapshots_come_from_the_book(server, trader):
    fills = []
    for quantity in (2, 3, 4):
        order = trader.trading.submit_order(MarketOrderRequest(symbol="MOCKJPM", qty=quantity, side=OrderSide.BUY, time_in_force=TimeInForce.DAY))
        fills.append((quantity, float(order.filled_avg_price)))
    client = data_client(server, trader)
    start = datetime.now(timezone.utc) - timedelta(hours=1)

    bars = client.get_stock_bars(StockBarsRequest(symbol_or_symbols=["MOCKJPM"], timeframe=TimeFrame.Minute, start=start))
    minute = bars["MOCKJPM"]
    assert sum(bar.volume for bar in minute) == 9 and sum(bar.trade_count for bar in minute) == 3
    assert minute[-1].close == fills[-1][1]

    daily = client.get_stock_bars(StockBarsRequest(symbol_or_symbols="MOCKJPM", timeframe=TimeFrame.Day, start=start - timedelta(days=2)))
    assert daily["MOCKJPM"][-1].volume == 9

    trades = client.get_stock_trades(StockTradesRequest(symbol_or_symbols="MOCKJPM", start=start))["MOCKJPM"]
    assert [trade.size for trade in trades] == [2, 3, 4]
    assert [trade.price for trade in trades] == [price for _, price in fills]

    latest = client.get_stock_latest_trade(StockLatestTradeRequest(symbol_or_symbols="MOCKJPM"))["MOCKJPM"]
    assert latest.size == 4 and latest.price == fills[-1][1]

    quote = client.get_stock_latest_quote(StockLatestQuoteRequest(symbol_or_symbols=["MOCKJPM", "MOCKAAPL"]))
    assert quote["MOCKJPM"].ask_price > quote["MOCKJPM"].bid_price > 0
    assert quote["MOCKAAPL"].bid_size > 0
    quotes = client.get_stock_quotes(StockQuotesRequest(symbol_or_symbols="MOCKJPM", start=start))["MOCKJPM"]
    assert len(quotes) == 1 and quotes[0].ask_price == quote["MOCKJPM"].ask_price

    latest_bar = client.get_stock_latest_bar(StockLatestBarRequest(symbol_or_symbols="MOCKJPM"))["MOCKJPM"]
    assert latest_bar.close == fills[-1][1]

    snapshot = client.get_stock_snapshot(StockSnapshotRequest(symbol_or_symbols=["MOCKJPM", "MOCKKO"]))
    assert snapshot["MOCKJPM"].latest_trade.price == fills[-1][1]
    assert snapshot["MOCKJPM"].daily_bar.volume == 9
    assert snapshot["MOCKKO"].latest_quote.bid_price > 0


def test_pages_follow_next_page_token(server, trader):
    for _ in range(5):
        trader.trading.submit_order(MarketOrderRequest(symbol="MOCKKO", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY))
    client = data_client(server, trader)
    start = datetime.now(timezone.utc) - timedelta(hours=1)
    # alpaca-py asks for pages of at most `limit` and follows next_page_token itself;
    # the raw API gives 2 per page here.
    import json
    import urllib.request
    token, sizes = None, []
    while True:
        url = f"{server}/v2/stocks/trades?symbols=MOCKKO,MOCKPG&limit=2&start={start.isoformat().replace('+00:00', 'Z')}"
        if token:
            url += f"&page_token={token}"
        request = urllib.request.Request(url, headers={"APCA-API-KEY-ID": trader.key_id, "APCA-API-SECRET-KEY": trader.secret})
        page = json.load(urllib.request.urlopen(request))
        sizes.append(sum(len(items) for items in page["trades"].values()))
        token = page["next_page_token"]
        if token is None:
            break
    assert sum(sizes) >= 5 and max(sizes) <= 2
    every = client.get_stock_trades(StockTradesRequest(symbol_or_symbols=["MOCKKO"], start=start))["MOCKKO"]
    assert len(every) == sum(sizes) - 0 or len(every) >= 5
    assert [trade.id for trade in every] == sorted(trade.id for trade in every)
