"""alpaca-py's StockHistoricalDataClient against TradeCraft's /v2/stocks, unchanged but for
url_override: bars are TradeCraft's candles, trades its prints, quotes its book."""

import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from alpaca.common.exceptions import APIError
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


def raw_get(server, trader, query):
    """A GET with the trader's key pair: (status, JSON body), refusals included."""
    import json
    import urllib.error
    import urllib.request
    request = urllib.request.Request(f"{server}{query}", headers={"APCA-API-KEY-ID": trader.key_id, "APCA-API-SECRET-KEY": trader.secret})
    try:
        with urllib.request.urlopen(request) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as refused:
        return refused.code, json.load(refused)


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
    # A window that ends before it starts is refused, as Alpaca refuses it, not answered empty.
    with pytest.raises(APIError) as backwards:
        client.get_stock_bars(StockBarsRequest(symbol_or_symbols="MOCKJPM", timeframe=TimeFrame.Minute, start=start, end=start - timedelta(hours=1)))
    assert backwards.value.status_code == 422 and "end should not be before start" in str(backwards.value)

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


def test_trades_quotes_and_bars_arrive_on_the_data_stream(server, trader):
    """StockDataStream speaks MessagePack: trades, quotes, the minute bar so far (u), the
    day's (d), and each minute's bar (b) once that minute is over."""
    import queue
    import threading
    import time

    from alpaca.data.live.stock import StockDataStream

    received = queue.Queue()
    stream = StockDataStream(trader.key_id, trader.secret, url_override=server.replace("http://", "ws://") + "/v2/iex")

    async def on(kind, item):
        received.put((kind, item))

    async def on_trade(trade):
        await on("trade", trade)

    async def on_quote(quote):
        await on("quote", quote)

    async def on_bar(bar):
        await on("bar", bar)

    async def on_updated(bar):
        await on("updated", bar)

    async def on_daily(bar):
        await on("daily", bar)

    stream.subscribe_trades(on_trade, "MOCKPG")
    stream.subscribe_quotes(on_quote, "MOCKPG")
    stream.subscribe_bars(on_bar, "MOCKPG")
    stream.subscribe_updated_bars(on_updated, "MOCKPG")
    stream.subscribe_daily_bars(on_daily, "MOCKPG")
    thread = threading.Thread(target=stream.run, daemon=True)
    thread.start()
    seen = {}
    try:
        # Trade until the stream has said something for our trades (it subscribes once connected).
        order = None
        for _ in range(40):
            order = trader.trading.submit_order(MarketOrderRequest(symbol="MOCKPG", qty=5, side=OrderSide.BUY, time_in_force=TimeInForce.DAY))
            deadline = time.monotonic() + 0.5
            while time.monotonic() < deadline:
                try:
                    kind, item = received.get(timeout=0.1)
                except queue.Empty:
                    continue
                seen.setdefault(kind, []).append(item)
            if "trade" in seen:
                break
        trade = seen["trade"][-1]
        assert trade.symbol == "MOCKPG" and trade.size == 5 and trade.price == float(order.filled_avg_price)
        assert abs((datetime.now(timezone.utc) - trade.timestamp).total_seconds()) < 60
        assert seen["updated"][-1].close == trade.price and seen["daily"][-1].volume >= 5
        # The house re-quotes each tick by cancelling its ladder, then placing the new one,
        # command by command: the quotes in between have an empty side (0), as a book does.
        assert "quote" in seen and any(quote.bid_price > 0 and quote.ask_price > quote.bid_price for quote in seen["quote"]), seen["quote"][-3:]
        # The minute bar of the trade's minute comes once that minute is over.
        minute = trade.timestamp.replace(second=0, microsecond=0)
        deadline = time.monotonic() + 75
        bar = None
        while bar is None and time.monotonic() < deadline:
            try:
                kind, item = received.get(timeout=0.5)
            except queue.Empty:
                continue
            if kind == "bar" and item.timestamp == minute:
                bar = item
        assert bar is not None, "no minute bar after the minute ended"
        assert bar.volume >= 5 and bar.close == seen["updated"][-1].close
    finally:
        stream.stop()
        thread.join(timeout=10)


def test_a_halt_and_resume_arrive_as_trading_statuses(server, trader):
    import queue
    import threading
    import time

    from alpaca.data.live.stock import StockDataStream

    from conftest import ADMIN_KEY, call

    statuses = queue.Queue()
    stream = StockDataStream(trader.key_id, trader.secret, url_override=server.replace("http://", "ws://") + "/v2/iex")

    async def on_status(status):
        statuses.put(status)

    async def on_trade(trade):
        statuses.put(trade)

    stream.subscribe_trading_statuses(on_status, "MOCKHD")
    stream.subscribe_trades(on_trade, "MOCKHD")
    thread = threading.Thread(target=stream.run, daemon=True)
    thread.start()
    admin = {"X-API-Key": ADMIN_KEY}
    try:
        # Trade until the stream shows it is subscribed (a trade arrives).
        for _ in range(40):
            trader.trading.submit_order(MarketOrderRequest(symbol="MOCKHD", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY))
            try:
                statuses.get(timeout=0.5)
                break
            except queue.Empty:
                continue
        halted = call(server, "POST", "/v1/instruments/MOCKHD/halt", None, admin)
        assert halted["halted"] is True
        try:
            trader.trading.submit_order(MarketOrderRequest(symbol="MOCKHD", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY))
            raise AssertionError("a halted symbol takes no orders")
        except APIError as refused:
            assert refused.status_code == 422
        assert not trader.trading.get_asset("MOCKHD").tradable
        call(server, "POST", "/v1/instruments/MOCKHD/resume", None, admin)
        seen = []
        deadline = time.monotonic() + 10
        while len(seen) < 2 and time.monotonic() < deadline:
            try:
                item = statuses.get(timeout=0.2)
            except queue.Empty:
                continue
            if hasattr(item, "status_code"):
                seen.append(item.status_code)
        assert seen == ["H", "T"]
        assert trader.trading.get_asset("MOCKHD").tradable
    finally:
        stream.stop()
        thread.join(timeout=10)


def test_every_feed_and_adjustment_alpaca_py_names_is_taken_and_others_are_refused(server, trader):
    from alpaca.data.enums import Adjustment, DataFeed
    import json
    import urllib.error
    import urllib.request

    trader.trading.submit_order(MarketOrderRequest(symbol="MOCKPG", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY))
    client = data_client(server, trader)
    start = datetime.now(timezone.utc) - timedelta(hours=1)
    # One market here: each feed and adjustment the client can name gives the same bars.
    answers = {
        (feed, adjustment): [bar.volume for bar in client.get_stock_bars(
            StockBarsRequest(symbol_or_symbols="MOCKPG", timeframe=TimeFrame.Minute, start=start, feed=feed, adjustment=adjustment))["MOCKPG"]]
        for feed in DataFeed for adjustment in Adjustment
    }
    assert len(set(map(tuple, answers.values()))) == 1 and sum(next(iter(answers.values()))) >= 1
    assert client.get_stock_latest_trade(StockLatestTradeRequest(symbol_or_symbols="MOCKPG", feed=DataFeed.SIP))["MOCKPG"].size >= 1

    def status(query):
        return raw_get(server, trader, query)

    for query, word in [
        ("/v2/stocks/bars?symbols=MOCKPG&timeframe=1Min&feed=xyz", "feed"),
        ("/v2/stocks/bars?symbols=MOCKPG&timeframe=1Min&adjustment=weird", "adjustment"),
        ("/v2/stocks/trades?symbols=MOCKPG&currency=JPY", "currency"),
        ("/v2/stocks/quotes?symbols=MOCKPG&asof=yesterday", "asof"),
        ("/v2/stocks/trades/latest?symbols=MOCKPG&feed=nasdaq", "feed"),
        ("/v2/stocks/MOCKPG/snapshot?feed=nasdaq", "feed"),
    ]:
        code, body = status(query)
        assert code == 422 and word in body["message"], (query, code, body)
    code, _ = status("/v2/stocks/bars?symbols=MOCKPG&timeframe=1Min&adjustment=split,dividend&currency=USD&asof=2026-01-02")
    assert code == 200


def test_single_symbol_routes_answer_as_alpacas_do(server, trader):
    """The one-symbol forms older SDKs and scripts call (`/v2/stocks/{symbol}/bars` and
    the rest) answer with `symbol` and the bare list or item, the same data as the
    several-symbols forms."""
    order = trader.trading.submit_order(MarketOrderRequest(symbol="MOCKXOM", qty=3, side=OrderSide.BUY, time_in_force=TimeInForce.DAY))
    price = float(order.filled_avg_price)
    start = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat().replace("+00:00", "Z")

    def get(query):
        return raw_get(server, trader, query)

    code, bars = get(f"/v2/stocks/mockxom/bars?timeframe=1Min&start={start}")
    assert code == 200 and bars["symbol"] == "MOCKXOM" and bars["next_page_token"] is None
    assert sum(bar["v"] for bar in bars["bars"]) >= 3 and bars["bars"][-1]["c"] == price
    _, several = get(f"/v2/stocks/bars?symbols=MOCKXOM&timeframe=1Min&start={start}")
    assert bars["bars"] == several["bars"]["MOCKXOM"]
    code, trades = get(f"/v2/stocks/MOCKXOM/trades?start={start}&limit=1&sort=desc")
    assert code == 200 and trades["symbol"] == "MOCKXOM" and [trade["p"] for trade in trades["trades"]] == [price]
    code, quotes = get("/v2/stocks/MOCKXOM/quotes")
    assert code == 200 and len(quotes["quotes"]) == 1 and quotes["quotes"][0]["ap"] > quotes["quotes"][0]["bp"] > 0
    code, latest = get("/v2/stocks/MOCKXOM/trades/latest")
    assert code == 200 and latest["symbol"] == "MOCKXOM" and latest["trade"]["p"] == price and latest["trade"]["s"] >= 3
    code, quote = get("/v2/stocks/MOCKXOM/quotes/latest?feed=iex")
    assert code == 200 and quote["quote"]["ap"] > quote["quote"]["bp"] > 0
    code, bar = get("/v2/stocks/MOCKXOM/bars/latest")
    assert code == 200 and bar["symbol"] == "MOCKXOM" and bar["bar"]["c"] == price
    # A symbol that has not traded has no latest trade yet; an unknown one, or a bad option, is refused.
    code, untraded = get("/v2/stocks/MOCKWMT/trades/latest")
    assert code == 200 and untraded == {"symbol": "MOCKWMT", "trade": None}
    for query in ["/v2/stocks/NOPE/bars?timeframe=1Min", "/v2/stocks/MOCKXOM/bars?timeframe=7Min", "/v2/stocks/MOCKXOM/trades/latest?feed=nasdaq"]:
        code, body = get(query)
        assert code == 422 and body["code"] == 42210000, (query, body)


def test_the_screener_finds_the_days_most_active_symbols_and_its_movers(server, trader):
    """ScreenerClient: most actives of the UTC day by volume or by trades (only symbols that
    traded), movers against the last close before today (none on a server started today)."""
    from alpaca.data.enums import MarketType, MostActivesBy
    from alpaca.data.historical.screener import ScreenerClient
    from alpaca.data.requests import MarketMoversRequest, MostActivesRequest
    for _ in range(3):
        trader.trading.submit_order(MarketOrderRequest(symbol="MOCKMA", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY))
    trader.trading.submit_order(MarketOrderRequest(symbol="MOCKV", qty=20, side=OrderSide.BUY, time_in_force=TimeInForce.DAY))
    screener = ScreenerClient(trader.key_id, trader.secret, url_override=server)

    def ranked(by):
        actives = screener.get_most_actives(MostActivesRequest(by=by, top=100)).most_actives
        assert all(active.trade_count > 0 for active in actives)
        return {active.symbol: (index, active.volume, active.trade_count) for index, active in enumerate(actives)}

    by_volume, by_trades = ranked(MostActivesBy.VOLUME), ranked(MostActivesBy.TRADES)
    assert by_volume["MOCKMA"][1:] == (3, 3) and by_volume["MOCKV"][1:] == (20, 1)
    assert by_volume["MOCKV"][0] < by_volume["MOCKMA"][0] and by_trades["MOCKMA"][0] < by_trades["MOCKV"][0]
    assert "MOCKBRKB" not in by_volume, "a symbol that has not traded today is not active"
    assert len(screener.get_most_actives(MostActivesRequest(top=1)).most_actives) == 1

    movers = screener.get_market_movers(MarketMoversRequest(market_type=MarketType.STOCKS, top=50))
    assert movers.market_type == MarketType.STOCKS
    for side, sign in [(movers.gainers, 1), (movers.losers, -1)]:
        for mover in side:
            close = mover.price - mover.change
            assert mover.change * sign > 0 and abs(mover.percent_change - mover.change / close * 100) < 0.01, mover
    # One figure on both surfaces: a symbol without a close before today has not moved,
    # as its position's change_today says (a server started today has no such close).
    position = trader.trading.get_open_position("MOCKMA")
    if float(position.change_today) == 0:
        assert "MOCKMA" not in [mover.symbol for mover in movers.gainers + movers.losers]
    with pytest.raises(APIError) as refused:
        screener.get_market_movers(MarketMoversRequest(market_type=MarketType.CRYPTO))
    assert refused.value.status_code == 422 and "stocks" in str(refused.value)


def test_the_data_stream_ends_when_its_key_is_revoked(server, trader):
    """A revoked key (or a deleted user) stops the market data it opened, as it stops the
    trading stream: an auth error, then the socket closes with 1008."""
    import asyncio
    import json
    import urllib.request
    import websockets
    from conftest import call

    async def run():
        async with websockets.connect(server.replace("http://", "ws://") + "/v2/iex") as stream:
            assert json.loads(await stream.recv())[0]["msg"] == "connected"
            await stream.send(json.dumps({"action": "auth", "key": trader.key_id, "secret": trader.secret}))
            assert json.loads(await stream.recv())[0]["msg"] == "authenticated"
            await stream.send(json.dumps({"action": "subscribe", "quotes": ["*"]}))
            assert json.loads(await stream.recv())[0]["quotes"] == ["*"]
            login = call(server, "POST", "/v1/auth/login", {"email": trader.email, "password": "correct horse"})
            urllib.request.urlopen(urllib.request.Request(server + f"/v1/api-keys/{trader.key_id}", method="DELETE",
                                                          headers={"authorization": f"Bearer {login['accessToken']}"}))
            # Quotes already on their way may come first; then, within 10 s, the error and the close.
            said, deadline = None, time.monotonic() + 10
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while time.monotonic() < deadline:
                    said = json.loads(await asyncio.wait_for(stream.recv(), 10))
            assert said == [{"T": "error", "code": 402, "msg": "auth failed"}]
            assert closed.value.rcvd.code == 1008
    asyncio.run(run())
