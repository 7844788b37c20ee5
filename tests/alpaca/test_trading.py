"""alpaca-py's TradingClient against TradeCraft's /v2, unchanged but for url_override."""

import time
import uuid
from decimal import Decimal

import pytest
from alpaca.common.exceptions import APIError
from alpaca.trading.enums import AssetClass, AssetExchange, AssetStatus, OrderSide, OrderStatus, OrderType, PositionIntent, QueryOrderStatus, TimeInForce
from alpaca.trading.requests import (
    ClosePositionRequest,
    GetAssetsRequest,
    GetCalendarRequest,
    GetOrdersRequest,
    LimitOrderRequest,
    MarketOrderRequest,
    ReplaceOrderRequest,
    StopLimitOrderRequest,
    StopOrderRequest,
    TrailingStopOrderRequest,
)


def best(trader, side):
    """The touch of MOCKAAPL's book through the native API (alpaca-py has no book call)."""
    from conftest import call
    book = call(trader.trading._base_url, "GET", "/v1/market/MOCKAAPL/orderbook?depth=1")
    return Decimal(book["asks" if side == "ask" else "bids"][0]["price"])


def test_account_assets_clock_and_calendar(trader):
    account = trader.trading.get_account()
    assert account.status.value == "ACTIVE"
    assert Decimal(account.cash) == Decimal("100000")
    assert Decimal(account.buying_power) == Decimal("100000")
    assert Decimal(account.equity) == Decimal("100000")
    assets = trader.trading.get_all_assets()
    symbols = {asset.symbol for asset in assets}
    assert "MOCKAAPL" in symbols and len(symbols) == 20
    # Filters are Alpaca's: each value the client names is taken (and matches or not); the
    # server refuses, rather than answers empty, a value Alpaca does not have.
    equities = trader.trading.get_all_assets(GetAssetsRequest(status=AssetStatus.ACTIVE, asset_class=AssetClass.US_EQUITY, exchange=AssetExchange.NASDAQ))
    assert {asset.symbol for asset in equities} == symbols
    for other in [GetAssetsRequest(asset_class=AssetClass.CRYPTO), GetAssetsRequest(status=AssetStatus.INACTIVE), GetAssetsRequest(exchange=AssetExchange.NYSE)]:
        assert trader.trading.get_all_assets(other) == []
    assert trader.trading.get_all_assets(GetAssetsRequest(attributes="ptp_no_exception,ipo")) == []
    with pytest.raises(APIError) as refused:
        trader.trading.get_all_assets(GetAssetsRequest(attributes="shiny"))
    assert refused.value.status_code == 422 and "attribute" in str(refused.value)
    apple = trader.trading.get_asset("MOCKAAPL")
    assert apple.asset_class == AssetClass.US_EQUITY and apple.tradable
    assert trader.trading.get_asset(str(apple.id)).symbol == "MOCKAAPL"
    clock = trader.trading.get_clock()
    assert clock.is_open and clock.next_close > clock.timestamp
    days = trader.trading.get_calendar(GetCalendarRequest(start="2026-12-01", end="2026-12-07"))
    assert [day.date.isoformat() for day in days][0] == "2026-12-01" and len(days) == 7


def test_a_market_buy_fills_at_the_book_and_becomes_a_position(trader):
    ask = best(trader, "ask")
    client_id = str(uuid.uuid4())  # what bots send: 36 characters
    order = trader.trading.submit_order(MarketOrderRequest(symbol="MOCKAAPL", qty=7, side=OrderSide.BUY, time_in_force=TimeInForce.DAY,
                                                           client_order_id=client_id))
    assert order.status == OrderStatus.FILLED
    assert Decimal(order.filled_qty) == 7
    assert Decimal(order.filled_avg_price) == ask
    assert order.client_order_id == client_id and order.order_type == OrderType.MARKET
    assert trader.trading.get_order_by_id(order.id).status == OrderStatus.FILLED
    assert trader.trading.get_order_by_client_id(client_id).id == order.id
    closed = trader.trading.get_orders(GetOrdersRequest(status=QueryOrderStatus.CLOSED))
    assert [found.id for found in closed] == [order.id]
    assert trader.trading.get_orders() == []  # nothing open
    # The read store follows the engine shortly after.
    for _ in range(100):
        positions = trader.trading.get_all_positions()
        if positions:
            break
        time.sleep(0.05)
    position = trader.trading.get_open_position("MOCKAAPL")
    assert Decimal(position.qty) == 7 and position.side.value == "long"
    assert Decimal(position.avg_entry_price) == ask
    account = trader.trading.get_account()
    assert Decimal(account.cash) == Decimal("100000") - 7 * ask


def test_a_buy_by_cash_amount(trader):
    order = trader.trading.submit_order(MarketOrderRequest(symbol="MOCKMSFT", notional=1000, side=OrderSide.BUY, time_in_force=TimeInForce.DAY))
    assert order.status == OrderStatus.FILLED
    assert Decimal(order.notional) == 1000
    assert Decimal(order.filled_qty) * Decimal(order.filled_avg_price) <= 1000


def test_every_resting_order_type_is_taken_replaced_and_cancelled(trader):
    trader.trading.submit_order(MarketOrderRequest(symbol="MOCKAAPL", qty=10, side=OrderSide.BUY, time_in_force=TimeInForce.GTC))
    bid = best(trader, "bid")
    low = (bid * Decimal("0.95")).quantize(Decimal("0.01"))
    limit = trader.trading.submit_order(LimitOrderRequest(symbol="MOCKAAPL", qty=2, side=OrderSide.BUY, time_in_force=TimeInForce.GTC, limit_price=float(low)))
    assert limit.status == OrderStatus.NEW and Decimal(limit.limit_price) == low
    stop = trader.trading.submit_order(StopOrderRequest(symbol="MOCKAAPL", qty=1, side=OrderSide.SELL, time_in_force=TimeInForce.GTC, stop_price=float(low)))
    stop_limit = trader.trading.submit_order(StopLimitOrderRequest(symbol="MOCKAAPL", qty=1, side=OrderSide.SELL, time_in_force=TimeInForce.GTC,
                                                                   stop_price=float(low), limit_price=float(low - 1)))
    trailing = trader.trading.submit_order(TrailingStopOrderRequest(symbol="MOCKAAPL", qty=1, side=OrderSide.SELL, time_in_force=TimeInForce.GTC, trail_percent=5))
    for order, kind in [(stop, OrderType.STOP), (stop_limit, OrderType.STOP_LIMIT), (trailing, OrderType.TRAILING_STOP)]:
        assert order.status == OrderStatus.NEW and order.order_type == kind
    # A trailing stop reads back with its trail, the watermark it trails and its trigger now.
    again = trader.trading.get_order_by_id(trailing.id)
    assert Decimal(again.trail_percent) == 5 and again.trail_price is None
    assert Decimal(again.hwm) > 0 and abs(Decimal(again.stop_price) - Decimal(again.hwm) * Decimal("0.95")) < Decimal("0.01")
    assert {order.id for order in trader.trading.get_orders()} == {limit.id, stop.id, stop_limit.id, trailing.id}

    replaced = trader.trading.replace_order_by_id(limit.id, ReplaceOrderRequest(qty=3))
    assert Decimal(replaced.qty) == 3 and replaced.status == OrderStatus.NEW
    # A new client order id and time in force, as a bot tracking its orders by its own ids does.
    tag = f"bot-{uuid.uuid4().hex[:8]}"
    renamed = trader.trading.replace_order_by_id(limit.id, ReplaceOrderRequest(client_order_id=tag, time_in_force=TimeInForce.DAY))
    assert (renamed.client_order_id, renamed.time_in_force, Decimal(renamed.qty)) == (tag, TimeInForce.DAY, 3)
    assert trader.trading.get_order_by_client_id(tag).id == limit.id
    with pytest.raises(APIError) as taken:
        trader.trading.replace_order_by_id(stop.id, ReplaceOrderRequest(client_order_id=tag))
    assert taken.value.status_code == 422
    # A waiting stop's trigger moves; a stop-limit's trigger and limit move together.
    lower = low - 1
    moved = trader.trading.replace_order_by_id(stop.id, ReplaceOrderRequest(stop_price=float(lower)))
    assert Decimal(moved.stop_price) == lower and moved.limit_price is None and moved.status == OrderStatus.NEW
    moved = trader.trading.replace_order_by_id(stop_limit.id, ReplaceOrderRequest(stop_price=float(lower), limit_price=float(lower - 1), qty=2))
    assert (Decimal(moved.stop_price), Decimal(moved.limit_price), Decimal(moved.qty)) == (lower, lower - 1, 2)
    assert Decimal(trader.trading.get_order_by_id(stop.id).stop_price) == lower
    with pytest.raises(APIError) as refused:
        trader.trading.replace_order_by_id(stop.id, ReplaceOrderRequest(limit_price=float(lower)))
    assert refused.value.status_code == 422 and "no limit price" in str(refused.value)
    # A trailing stop's trail, in the kind it was placed with (a percent here).
    moved = trader.trading.replace_order_by_id(trailing.id, ReplaceOrderRequest(trail=3))
    assert Decimal(moved.trail_percent) == 3 and abs(Decimal(moved.stop_price) - Decimal(moved.hwm) * Decimal("0.97")) < Decimal("0.01")
    # A refusal names the order by the id the client knows it by: one waiting for the open
    # keeps its time in force.
    waiting = trader.trading.submit_order(LimitOrderRequest(symbol="MOCKAAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.OPG, limit_price=float(low)))
    with pytest.raises(APIError) as refused:
        trader.trading.replace_order_by_id(waiting.id, ReplaceOrderRequest(time_in_force=TimeInForce.GTC))
    assert refused.value.status_code == 422 and f"order {waiting.id} cannot be replaced" in str(refused.value)
    trader.trading.cancel_order_by_id(waiting.id)
    trader.trading.cancel_order_by_id(limit.id)
    assert trader.trading.get_order_by_id(limit.id).status == OrderStatus.CANCELED
    with pytest.raises(APIError) as refused:
        trader.trading.cancel_order_by_id(limit.id)
    assert refused.value.status_code == 422

    cancelled = trader.trading.cancel_orders()
    assert {str(answer.id) for answer in cancelled} == {str(stop.id), str(stop_limit.id), str(trailing.id)}
    assert all(answer.status == 200 for answer in cancelled)
    assert trader.trading.get_orders() == []


def test_positions_close_by_quantity_percentage_and_all(trader):
    for symbol in ["MOCKAAPL", "MOCKGOOG"]:
        trader.trading.submit_order(MarketOrderRequest(symbol=symbol, qty=10, side=OrderSide.BUY, time_in_force=TimeInForce.DAY))
    for _ in range(100):
        if len(trader.trading.get_all_positions()) == 2:
            break
        time.sleep(0.05)
    sold = trader.trading.close_position("MOCKAAPL", ClosePositionRequest(qty="4"))
    assert sold.side == OrderSide.SELL and Decimal(sold.filled_qty) == 4
    half = trader.trading.close_position("MOCKGOOG", ClosePositionRequest(percentage="50"))
    assert Decimal(half.filled_qty) == 5
    # 30 % of the 5 left is 1.5 shares: rounded down to the whole share that can be sold.
    some = trader.trading.close_position("MOCKGOOG", ClosePositionRequest(percentage="30"))
    assert Decimal(some.filled_qty) == 1
    with pytest.raises(APIError) as too_little:
        trader.trading.close_position("MOCKGOOG", ClosePositionRequest(percentage="10"))
    assert too_little.value.status_code == 422 and "less than one lot" in str(too_little.value)
    for _ in range(100):
        if Decimal(trader.trading.get_open_position("MOCKAAPL").qty) == 6:
            break
        time.sleep(0.05)
    closed = trader.trading.close_all_positions(cancel_orders=True)
    assert len(closed) == 2 and all(answer.status == 200 for answer in closed)
    for _ in range(100):
        if not trader.trading.get_all_positions():
            break
        time.sleep(0.05)
    assert trader.trading.get_all_positions() == []
    with pytest.raises(APIError) as missing:
        trader.trading.get_open_position("MOCKAAPL")
    assert missing.value.status_code == 404


def test_refusals_come_back_as_alpacas_errors(trader):
    with pytest.raises(APIError) as poor:
        trader.trading.submit_order(MarketOrderRequest(symbol="MOCKAAPL", qty=100000, side=OrderSide.BUY, time_in_force=TimeInForce.DAY))
    assert poor.value.status_code == 403 and poor.value.code == 40310000
    with pytest.raises(APIError) as short:
        trader.trading.submit_order(MarketOrderRequest(symbol="MOCKAAPL", qty=1, side=OrderSide.SELL, time_in_force=TimeInForce.DAY))
    assert short.value.status_code == 422
    with pytest.raises(APIError) as unknown:
        trader.trading.submit_order(MarketOrderRequest(symbol="NOSUCH", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY))
    assert unknown.value.status_code in (404, 422)
    with pytest.raises(APIError) as missing:
        trader.trading.get_order_by_id(uuid.uuid4())
    assert missing.value.status_code == 404
    with pytest.raises(APIError) as stop_at_open:
        trader.trading.submit_order(StopOrderRequest(symbol="MOCKAAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.OPG, stop_price=1))
    assert stop_at_open.value.status_code == 422
    # Extended hours are for day limit orders only, as on Alpaca; one such is taken.
    for request in (
        MarketOrderRequest(symbol="MOCKAAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY, extended_hours=True),
        LimitOrderRequest(symbol="MOCKAAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.GTC, limit_price=1, extended_hours=True),
    ):
        with pytest.raises(APIError) as extended:
            trader.trading.submit_order(request)
        assert extended.value.status_code == 422 and "extended_hours" in str(extended.value), extended.value
    taken = trader.trading.submit_order(LimitOrderRequest(symbol="MOCKAAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY, limit_price=1, extended_hours=True))
    trader.trading.cancel_order_by_id(taken.id)
    # A position intent is a cash account's (a buy opens, a sell closes) and agrees with the side.
    for side, intent in ((OrderSide.SELL, PositionIntent.SELL_TO_OPEN), (OrderSide.BUY, PositionIntent.BUY_TO_CLOSE), (OrderSide.BUY, PositionIntent.SELL_TO_CLOSE)):
        with pytest.raises(APIError) as intended:
            trader.trading.submit_order(LimitOrderRequest(symbol="MOCKAAPL", qty=1, side=side, time_in_force=TimeInForce.GTC, limit_price=1, position_intent=intent))
        assert intended.value.status_code == 422 and "position_intent" in str(intended.value), intended.value
    opened = trader.trading.submit_order(LimitOrderRequest(symbol="MOCKAAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.GTC, limit_price=1, position_intent=PositionIntent.BUY_TO_OPEN))
    assert trader.trading.get_order_by_id(opened.id).position_intent == PositionIntent.BUY_TO_OPEN
    trader.trading.cancel_order_by_id(opened.id)


def test_opg_and_cls_orders_wait_for_the_open_and_the_close(trader):
    # The mock market trades around the clock: the next open and close are at UTC midnight.
    for time_in_force in [TimeInForce.OPG, TimeInForce.CLS]:
        order = trader.trading.submit_order(MarketOrderRequest(symbol="MOCKAAPL", qty=1, side=OrderSide.BUY, time_in_force=time_in_force))
        assert order.status == OrderStatus.NEW and order.time_in_force == time_in_force and Decimal(order.filled_qty) == 0
        trader.trading.cancel_order_by_id(order.id)
        assert trader.trading.get_order_by_id(order.id).status == OrderStatus.CANCELED


def test_orders_placed_while_the_market_is_closed_are_queued_for_the_open(server, trader):
    # As Alpaca queues orders placed outside market hours: a gtc or day order is taken and
    # enters the market when it opens; one that must trade at once is refused.
    from conftest import ADMIN_KEY, call
    admin = {"X-API-Key": ADMIN_KEY}
    call(server, "POST", "/v1/instruments/MOCKMSFT/close", None, admin)
    try:
        queued = trader.trading.submit_order(LimitOrderRequest(symbol="MOCKMSFT", qty=2, side=OrderSide.BUY, time_in_force=TimeInForce.DAY, limit_price=1))
        # Alpaca's `accepted`: taken, not yet sent to the market.
        assert queued.status == OrderStatus.ACCEPTED and Decimal(queued.filled_qty) == 0
        assert trader.trading.get_order_by_id(queued.id).status == OrderStatus.ACCEPTED
        assert [found.status for found in trader.trading.get_orders() if found.id == queued.id] == [OrderStatus.ACCEPTED]
        with pytest.raises(APIError) as refused:
            trader.trading.submit_order(LimitOrderRequest(symbol="MOCKMSFT", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.IOC, limit_price=1))
        assert refused.value.status_code == 422 and "closed" in str(refused.value)
        book = call(server, "GET", "/v1/market/MOCKMSFT/orderbook?depth=100")
        assert all(level["price"] != "1" for level in book["bids"]), "a queued order is not on the book yet"
        # An order for the open takes a new size and price and stays one.
        at_open = trader.trading.submit_order(LimitOrderRequest(symbol="MOCKMSFT", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.OPG, limit_price=1))
        moved = trader.trading.replace_order_by_id(at_open.id, ReplaceOrderRequest(qty=3, limit_price=1.5))
        assert (Decimal(moved.qty), Decimal(moved.limit_price), moved.time_in_force) == (3, Decimal("1.5"), TimeInForce.OPG)
    finally:
        call(server, "POST", "/v1/instruments/MOCKMSFT/open", None, admin)
    book = call(server, "GET", "/v1/market/MOCKMSFT/orderbook?depth=100")
    assert any(level["price"] == "1" and level["quantity"] == "2" for level in book["bids"]), book
    assert trader.trading.get_order_by_id(queued.id).status == OrderStatus.NEW
    trader.trading.cancel_order_by_id(queued.id)
    assert trader.trading.get_order_by_id(queued.id).status == OrderStatus.CANCELED


def test_another_users_orders_are_not_found(server, trader):
    from conftest import Trader
    other = Trader(server)
    order = other.trading.submit_order(MarketOrderRequest(symbol="MOCKAAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY))
    with pytest.raises(APIError) as hidden:
        trader.trading.get_order_by_id(order.id)
    assert hidden.value.status_code == 404
    with pytest.raises(APIError) as hidden:
        trader.trading.cancel_order_by_id(order.id)
    assert hidden.value.status_code == 404


def test_a_wrong_secret_is_refused(server, trader):
    from alpaca.trading.client import TradingClient
    stranger = TradingClient(trader.key_id, "tc_not-a-real-secret", paper=True, url_override=server)
    with pytest.raises(APIError) as refused:
        stranger.get_account()
    assert refused.value.status_code == 401 and refused.value.code == 40110000



def test_a_key_id_must_name_the_key_of_its_secret(server, trader):
    """The secret is the credential, but the pair must be one key's: another key's id (or
    any text) beside a valid secret is refused, over REST and on both streams."""
    import asyncio
    import json as json_module
    import websockets
    from alpaca.trading.client import TradingClient
    from conftest import Trader
    other = Trader(server)
    for key_id in [other.key_id, "not-a-key-id"]:
        mixed = TradingClient(key_id, trader.secret, paper=True, url_override=server)
        with pytest.raises(APIError) as refused:
            mixed.get_account()
        assert refused.value.status_code == 401 and refused.value.code == 40110000
    assert TradingClient(other.key_id, other.secret, paper=True, url_override=server).get_account().status.value == "ACTIVE"

    async def run():
        async with websockets.connect(server.replace("http://", "ws://") + "/stream") as stream:
            await stream.send(json_module.dumps({"action": "authenticate", "data": {"key_id": other.key_id, "secret_key": trader.secret}}))
            assert json_module.loads(await stream.recv())["data"]["status"] == "unauthorized"
            await stream.send(json_module.dumps({"action": "authenticate", "data": {"key_id": trader.key_id, "secret_key": trader.secret}}))
            assert json_module.loads(await stream.recv())["data"]["status"] == "authorized"
        async with websockets.connect(server.replace("http://", "ws://") + "/v2/iex") as stream:
            json_module.loads(await stream.recv())  # connected
            await stream.send(json_module.dumps({"action": "auth", "key": other.key_id, "secret": trader.secret}))
            assert json_module.loads(await stream.recv())[0]["T"] == "error"
            await stream.send(json_module.dumps({"action": "auth", "key": trader.key_id, "secret": trader.secret}))
            assert json_module.loads(await stream.recv())[0]["msg"] == "authenticated"
    asyncio.run(run())

def event_of(update):
    """The update's event name (alpaca-py types it as TradeEvent or str)."""
    return getattr(update.event, "value", update.event)


def updates_of(updates, order_id, count):
    """The next `count` stream updates of one order (others are passed over), waiting at most 5 s."""
    import queue

    events = []
    deadline = time.monotonic() + 5
    while len(events) < count and time.monotonic() < deadline:
        try:
            update = updates.get(timeout=0.2)
        except queue.Empty:
            continue
        if update.order.id == order_id:
            events.append(update)
    return events


def test_trade_updates_arrive_on_the_trading_stream(server, trader):
    import queue
    import threading

    from alpaca.trading.stream import TradingStream

    updates = queue.Queue()
    stream = TradingStream(trader.key_id, trader.secret, paper=True, url_override=server.replace("http://", "ws://") + "/stream")

    async def on_update(update):
        updates.put(update)

    stream.subscribe_trade_updates(on_update)
    thread = threading.Thread(target=stream.run, daemon=True)
    thread.start()
    try:
        # The stream listens once it has authenticated: order until its updates arrive.
        seen = {}
        for _ in range(40):
            order = trader.trading.submit_order(MarketOrderRequest(symbol="MOCKAAPL", qty=3, side=OrderSide.BUY, time_in_force=TimeInForce.DAY))
            deadline = time.monotonic() + 0.5
            while time.monotonic() < deadline:
                try:
                    update = updates.get(timeout=0.1)
                except queue.Empty:
                    continue
                seen.setdefault(update.order.id, []).append(update)
            if [event_of(update) for update in seen.get(order.id, [])] == ["new", "fill"]:
                break
        new, fill = seen[order.id]
        assert new.order.status == OrderStatus.NEW and fill.order.status == OrderStatus.FILLED
        assert fill.qty == 3 and fill.price == float(order.filled_avg_price)
        assert fill.position_qty >= 3 and fill.execution_id is not None
        assert Decimal(fill.order.filled_qty) == 3

        # A resting order replaced, then cancelled: new, replaced (with the new quantity), canceled.
        low = (best(trader, "bid") * Decimal("0.9")).quantize(Decimal("0.01"))
        resting = trader.trading.submit_order(LimitOrderRequest(symbol="MOCKAAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.GTC, limit_price=float(low)))
        trader.trading.replace_order_by_id(resting.id, ReplaceOrderRequest(qty=2))
        trader.trading.cancel_order_by_id(resting.id)
        events = updates_of(updates, resting.id, 3)
        assert [event_of(update) for update in events] == ["new", "replaced", "canceled"]
        assert Decimal(events[1].order.qty) == 2

        # Taken while its market is closed: accepted; let in at the open: new.
        from conftest import ADMIN_KEY, call
        admin = {"X-API-Key": ADMIN_KEY}
        call(server, "POST", "/v1/instruments/MOCKNVDA/close", None, admin)
        try:
            queued = trader.trading.submit_order(LimitOrderRequest(symbol="MOCKNVDA", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.GTC, limit_price=1))
        finally:
            call(server, "POST", "/v1/instruments/MOCKNVDA/open", None, admin)
        events = updates_of(updates, queued.id, 2)
        assert [event_of(update) for update in events] == ["accepted", "new"]
        assert [update.order.status for update in events] == [OrderStatus.ACCEPTED, OrderStatus.NEW]
        trader.trading.cancel_order_by_id(queued.id)
    finally:
        stream.stop()
        thread.join(timeout=10)


def test_activities_portfolio_history_and_configurations(server, trader):
    import json
    import urllib.request

    from alpaca.trading.requests import GetPortfolioHistoryRequest

    bought = trader.trading.submit_order(MarketOrderRequest(symbol="MOCKAAPL", qty=2, side=OrderSide.BUY, time_in_force=TimeInForce.DAY))
    sold = trader.trading.submit_order(MarketOrderRequest(symbol="MOCKAAPL", qty=1, side=OrderSide.SELL, time_in_force=TimeInForce.DAY))
    headers = {"APCA-API-KEY-ID": trader.key_id, "APCA-API-SECRET-KEY": trader.secret}

    def get(path):
        return json.load(urllib.request.urlopen(urllib.request.Request(server + path, headers=headers)))

    for _ in range(100):
        fills = get("/v2/account/activities/FILL")
        if len(fills) == 2:
            break
        time.sleep(0.05)
    assert [fill["order_id"] for fill in fills] == [str(sold.id), str(bought.id)]  # newest first
    assert [fill["side"] for fill in fills] == ["sell", "buy"] and fills[1]["qty"] == "2" and fills[1]["cum_qty"] == "2"
    assert fills[1]["type"] == "fill" and fills[1]["leaves_qty"] == "0" and Decimal(fills[1]["price"]) == Decimal(bought.filled_avg_price)
    deposits = get("/v2/account/activities?activity_types=CSD")
    assert len(deposits) == 1 and Decimal(deposits[0]["net_amount"]) == 100000
    everything = get("/v2/account/activities?direction=asc&page_size=2")
    assert [activity["activity_type"] for activity in everything] == ["CSD", "FILL"]
    rest = get(f"/v2/account/activities?direction=asc&page_size=2&page_token={everything[-1]['id']}")
    assert [activity["activity_type"] for activity in rest] == ["FILL"]

    history = trader.trading.get_portfolio_history(GetPortfolioHistoryRequest(period="1W"))
    assert len(history.timestamp) == len(history.equity) >= 1
    assert abs(history.equity[-1] - float(trader.trading.get_account().equity)) < 1.0

    configuration = trader.trading.get_account_configurations()
    assert configuration.no_shorting and not configuration.suspend_trade
    request = urllib.request.Request(server + "/v2/account/configurations", method="PATCH", data=json.dumps({"no_shorting": False}).encode(),
                                     headers={**headers, "content-type": "application/json"})
    try:
        urllib.request.urlopen(request)
        raise AssertionError("shorting cannot be switched on")
    except urllib.error.HTTPError as refused:
        assert refused.code == 422 and json.load(refused)["code"] == 42210000


def test_watchlists(server, trader):
    from alpaca.trading.requests import CreateWatchlistRequest, UpdateWatchlistRequest

    created = trader.trading.create_watchlist(CreateWatchlistRequest(name="tech", symbols=["MOCKAAPL", "mockmsft"]))
    assert created.name == "tech" and [asset.symbol for asset in created.assets] == ["MOCKAAPL", "MOCKMSFT"]
    assert [watchlist.id for watchlist in trader.trading.get_watchlists()] == [created.id]
    added = trader.trading.add_asset_to_watchlist_by_id(created.id, "MOCKNVDA")
    assert [asset.symbol for asset in added.assets] == ["MOCKAAPL", "MOCKMSFT", "MOCKNVDA"]
    removed = trader.trading.remove_asset_from_watchlist_by_id(created.id, "MOCKMSFT")
    assert [asset.symbol for asset in removed.assets] == ["MOCKAAPL", "MOCKNVDA"]
    trader.trading.update_watchlist_by_id(created.id, UpdateWatchlistRequest(name="ai", symbols=["MOCKNVDA"]))
    # A field left out stays: a rename keeps the symbols, new symbols keep the name.
    only_name = trader.trading.update_watchlist_by_id(created.id, UpdateWatchlistRequest(name="ai-2"))
    assert only_name.name == "ai-2" and [asset.symbol for asset in only_name.assets] == ["MOCKNVDA"]
    only_symbols = trader.trading.update_watchlist_by_id(created.id, UpdateWatchlistRequest(symbols=["MOCKNVDA", "MOCKAAPL"]))
    assert only_symbols.name == "ai-2" and [asset.symbol for asset in only_symbols.assets] == ["MOCKNVDA", "MOCKAAPL"]
    renamed = trader.trading.update_watchlist_by_id(created.id, UpdateWatchlistRequest(name="ai", symbols=["MOCKNVDA"]))
    assert renamed.name == "ai" and [asset.symbol for asset in trader.trading.get_watchlist_by_id(created.id).assets] == ["MOCKNVDA"]
    with pytest.raises(APIError) as unlisted:
        trader.trading.create_watchlist(CreateWatchlistRequest(name="bad", symbols=["NOSUCH"]))
    assert unlisted.value.status_code == 422
    with pytest.raises(APIError) as taken:
        trader.trading.create_watchlist(CreateWatchlistRequest(name="ai", symbols=[]))
    assert taken.value.status_code == 422
    from conftest import Trader
    other = Trader(server)
    with pytest.raises(APIError) as hidden:
        other.trading.get_watchlist_by_id(created.id)
    assert hidden.value.status_code == 404
    trader.trading.delete_watchlist_by_id(created.id)
    assert trader.trading.get_watchlists() == []


def test_watchlists_by_name(server, trader):
    """Alpaca's /v2/watchlists:by_name?name= does by name what /v2/watchlists/{id} does by id."""
    from alpaca.trading.requests import CreateWatchlistRequest

    created = trader.trading.create_watchlist(CreateWatchlistRequest(name="tech & co", symbols=["MOCKAAPL"]))
    found = trader.trading.get("/watchlists:by_name", {"name": "tech & co"})
    assert found["id"] == str(created.id) and [asset["symbol"] for asset in found["assets"]] == ["MOCKAAPL"]
    added = trader.trading.post("/watchlists:by_name?name=tech%20%26%20co", {"symbol": "MOCKNVDA"})
    assert [asset["symbol"] for asset in added["assets"]] == ["MOCKAAPL", "MOCKNVDA"]
    renamed = trader.trading.put("/watchlists:by_name?name=tech%20%26%20co", {"name": "ai", "symbols": ["MOCKNVDA"]})
    assert renamed["id"] == str(created.id) and renamed["name"] == "ai"
    with pytest.raises(APIError) as gone:
        trader.trading.get("/watchlists:by_name", {"name": "tech & co"})
    assert gone.value.status_code == 404
    from conftest import Trader
    with pytest.raises(APIError) as hidden:
        Trader(server).trading.get("/watchlists:by_name", {"name": "ai"})
    assert hidden.value.status_code == 404
    trader.trading.delete("/watchlists:by_name?name=ai")
    assert trader.trading.get_watchlists() == []


def test_trade_events_replay_and_follow_as_server_sent_events(server, trader):
    import json

    import requests

    headers = {"APCA-API-KEY-ID": trader.key_id, "APCA-API-SECRET-KEY": trader.secret}
    low = (best(trader, "bid") * Decimal("0.9")).quantize(Decimal("0.01"))
    resting = trader.trading.submit_order(LimitOrderRequest(symbol="MOCKAAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.GTC, limit_price=float(low)))
    trader.trading.cancel_order_by_id(resting.id)
    bought = trader.trading.submit_order(MarketOrderRequest(symbol="MOCKAAPL", qty=2, side=OrderSide.BUY, time_in_force=TimeInForce.DAY))

    def events(response, count):
        found = []
        for line in response.iter_lines(decode_unicode=True):
            if line.startswith("data:"):
                found.append(json.loads(line[5:]))
                if len(found) == count:
                    break
        return found

    # Replay: everything since a time, oldest first, then the stream ends (until given).
    since, until = "2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z"
    with requests.get(f"{server}/v2/events/trades", params={"since": since, "until": until}, headers=headers, stream=True, timeout=10) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        replayed = events(response, 4)
    assert [(event["order"]["id"], event["event"]) for event in replayed] == [
        (str(resting.id), "new"), (str(resting.id), "canceled"), (str(bought.id), "new"), (str(bought.id), "fill"),
    ]
    ids = [event["event_id"] for event in replayed]
    assert ids == sorted(ids)

    # Resume after the second event: only what came after it, up to the last.
    with requests.get(f"{server}/v2/events/trades", params={"since_id": ids[1], "until_id": ids[-1]}, headers=headers, stream=True, timeout=10) as response:
        assert [event["event_id"] for event in events(response, 2)] == ids[2:]

    # Alpaca's rules: until needs since, until_id needs since_id, since and since_id do not
    # go together.
    for bad in [{"until": until}, {"until_id": ids[-1]}, {"since": since, "since_id": ids[0]}, {"since_id": ids[0], "until": until}]:
        refused = requests.get(f"{server}/v2/events/trades", params=bad, headers=headers, timeout=10)
        assert refused.status_code == 422, (bad, refused.text)

    # An id that is not one of this stream's is refused, not compared as text.
    for bad in [{"since_id": "abc"}, {"since_id": ids[0], "until_id": ids[0][:-1]}, {"since_id": "01HZY3V3N5Q8F6K9W2X4T7R1MB"}]:
        refused = requests.get(f"{server}/v2/events/trades", params=bad, headers=headers, timeout=10)
        assert refused.status_code == 422 and "event_id" in refused.json()["message"], (bad, refused.text)

    # Live: an open stream without since receives no history, only a new order's events.
    with requests.get(f"{server}/v2/events/trades", headers=headers, stream=True, timeout=10) as response:
        sold = trader.trading.submit_order(MarketOrderRequest(symbol="MOCKAAPL", qty=1, side=OrderSide.SELL, time_in_force=TimeInForce.DAY))
        live = events(response, 2)
    assert [(event["order"]["id"], event["event"]) for event in live] == [(str(sold.id), "new"), (str(sold.id), "fill")]
    assert Decimal(live[1]["position_qty"]) == 1


def test_bracket_oco_and_oto_orders_work_their_exits(trader):
    from alpaca.trading.enums import OrderClass
    from alpaca.trading.requests import StopLossRequest, TakeProfitRequest
    ask = best(trader, "ask")
    high, low = float((ask * Decimal("1.5")).quantize(Decimal("0.01"))), float((ask * Decimal("0.5")).quantize(Decimal("0.01")))
    # A bracket market buy fills at once; its two exits then work, sharing the five shares.
    bracket = trader.trading.submit_order(MarketOrderRequest(symbol="MOCKAAPL", qty=5, side=OrderSide.BUY, time_in_force=TimeInForce.GTC,
                                                             order_class=OrderClass.BRACKET, take_profit=TakeProfitRequest(limit_price=high),
                                                             stop_loss=StopLossRequest(stop_price=low)))
    assert bracket.status == OrderStatus.FILLED and bracket.order_class == OrderClass.BRACKET
    take_profit, stop_loss = bracket.legs
    assert (take_profit.order_type, stop_loss.order_type) == (OrderType.LIMIT, OrderType.STOP)
    for leg in bracket.legs:
        assert leg.status == OrderStatus.NEW and leg.side == OrderSide.SELL and Decimal(leg.qty) == 5
    nested = trader.trading.get_orders(GetOrdersRequest(status=QueryOrderStatus.OPEN, nested=True))
    assert [order.id for order in nested] == [bracket.id] and len(nested[0].legs) == 2
    assert {order.id for order in trader.trading.get_orders()} == {take_profit.id, stop_loss.id}
    # Cancelling one exit cancels the other.
    trader.trading.cancel_order_by_id(take_profit.id)
    assert trader.trading.get_order_by_id(stop_loss.id).status == OrderStatus.CANCELED

    # OCO: a limit sell and a stop sell of the same five shares, both working.
    oco = trader.trading.submit_order(LimitOrderRequest(symbol="MOCKAAPL", qty=5, side=OrderSide.SELL, time_in_force=TimeInForce.GTC,
                                                        order_class=OrderClass.OCO, take_profit=TakeProfitRequest(limit_price=high),
                                                        stop_loss=StopLossRequest(stop_price=low)))
    assert oco.order_class == OrderClass.OCO and oco.status == OrderStatus.NEW and Decimal(oco.limit_price) == Decimal(str(high))
    (oco_stop,) = oco.legs
    assert oco_stop.status == OrderStatus.NEW and oco_stop.order_type == OrderType.STOP
    trader.trading.cancel_order_by_id(oco.id)
    assert trader.trading.get_order_by_id(oco_stop.id).status == OrderStatus.CANCELED

    # OTO: a limit buy below the market; its stop-limit exit is held until it fills.
    bid = best(trader, "bid")
    below = float((bid * Decimal("0.9")).quantize(Decimal("0.01")))
    oto = trader.trading.submit_order(LimitOrderRequest(symbol="MOCKAAPL", qty=2, side=OrderSide.BUY, time_in_force=TimeInForce.GTC, limit_price=below,
                                                        order_class=OrderClass.OTO,
                                                        stop_loss=StopLossRequest(stop_price=low, limit_price=float(Decimal(str(low)) - 1))))
    (held,) = oto.legs
    assert oto.status == OrderStatus.NEW and held.status == OrderStatus.HELD and held.order_type == OrderType.STOP_LIMIT
    trader.trading.cancel_order_by_id(oto.id)
    assert trader.trading.get_order_by_id(held.id).status == OrderStatus.CANCELED

    # Exits on the wrong side of each other are refused with Alpaca's 422.
    with pytest.raises(APIError) as crossed:
        trader.trading.submit_order(MarketOrderRequest(symbol="MOCKAAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.GTC,
                                                       order_class=OrderClass.BRACKET, take_profit=TakeProfitRequest(limit_price=low),
                                                       stop_loss=StopLossRequest(stop_price=high)))
    assert crossed.value.status_code == 422
    # So are exits on the wrong side of the entry's price: a limit buy's take profit below
    # its limit, a market buy's stop loss above the ask.
    limit = float((ask * Decimal("0.9")).quantize(Decimal("0.01")))
    wrong_side = [
        LimitOrderRequest(symbol="MOCKAAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.GTC, limit_price=limit, order_class=OrderClass.BRACKET,
                          take_profit=TakeProfitRequest(limit_price=float(Decimal(str(limit)) - 1)), stop_loss=StopLossRequest(stop_price=low)),
        MarketOrderRequest(symbol="MOCKAAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.GTC, order_class=OrderClass.BRACKET,
                           take_profit=TakeProfitRequest(limit_price=high * 2), stop_loss=StopLossRequest(stop_price=float(Decimal(str(high)) + 1))),
    ]
    for request in wrong_side:
        with pytest.raises(APIError) as refused:
            trader.trading.submit_order(request)
        assert refused.value.status_code == 422, request


def test_portfolio_history_has_one_point_per_timeframe_and_refuses_unknown_ones(server, trader):
    from alpaca.trading.requests import GetPortfolioHistoryRequest
    from conftest import call
    trader.trading.submit_order(MarketOrderRequest(symbol="MOCKAAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY))
    hourly = trader.trading.get_portfolio_history(GetPortfolioHistoryRequest(period="1W", timeframe="1H"))
    assert hourly.timestamp and all(stamp % 3600 == 0 for stamp in hourly.timestamp)
    assert hourly.timestamp == sorted(set(hourly.timestamp))
    assert abs(hourly.equity[-1] - float(trader.trading.get_account().equity)) < 1.0
    keys = {"APCA-API-KEY-ID": trader.key_id, "APCA-API-SECRET-KEY": trader.secret}
    assert call(server, "GET", "/v2/account/portfolio/history?period=1W", headers=keys)["timeframe"] == "15Min"
    daily = call(server, "GET", "/v2/account/portfolio/history?period=1D", headers=keys)
    assert daily["timeframe"] == "1Min"
    # The same return as the native performance over the same day (the opening deposit and
    # the first trade fall in one minute: the base is still the deposit, not 0 % profit).
    native = call(server, "GET", "/v1/portfolio/performance?period=1d", headers=keys)
    assert daily["base_value"] == 100000.0
    assert abs(daily["profit_loss_pct"][-1] - native["totalReturn"]) < 1e-9, (daily, native)
    with pytest.raises(APIError) as refused:
        trader.trading.get_portfolio_history(GetPortfolioHistoryRequest(period="1W", timeframe="7Min"))
    assert refused.value.status_code == 422 and "timeframe" in str(refused.value)


def test_a_retried_submit_with_the_same_client_order_id_places_one_order(trader):
    client_id = str(uuid.uuid4())
    request = LimitOrderRequest(symbol="MOCKAAPL", qty=3, side=OrderSide.BUY, time_in_force=TimeInForce.GTC, limit_price=1,
                                client_order_id=client_id)
    first = trader.trading.submit_order(request)
    again = trader.trading.submit_order(request)  # a bot retrying after a timeout
    assert again.id == first.id and again.client_order_id == client_id
    with pytest.raises(APIError) as taken:
        trader.trading.submit_order(LimitOrderRequest(symbol="MOCKAAPL", qty=4, side=OrderSide.BUY, time_in_force=TimeInForce.GTC,
                                                      limit_price=1, client_order_id=client_id))
    assert taken.value.status_code == 422 and "client_order_id must be unique" in str(taken.value)
    assert [order.id for order in trader.trading.get_orders()] == [first.id]


def test_client_order_ids_alpaca_makes_up_or_takes_find_their_orders(trader):
    # Placed without one: the order's client order id is made up, and finds the order.
    unnamed = trader.trading.submit_order(MarketOrderRequest(symbol="MOCKAAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY))
    assert unnamed.client_order_id and trader.trading.get_order_by_client_id(unnamed.client_order_id).id == unnamed.id
    # Alpaca takes up to 128 characters: a strategy's tag before a UUID fits.
    long_id = f"momentum-{'x' * 82}-{uuid.uuid4()}"
    assert len(long_id) == 128
    named = trader.trading.submit_order(LimitOrderRequest(symbol="MOCKAAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.GTC,
                                                          limit_price=1, client_order_id=long_id))
    assert named.client_order_id == long_id
    assert trader.trading.get_order_by_client_id(long_id).id == named.id
    with pytest.raises(APIError) as refused:
        trader.trading.submit_order(LimitOrderRequest(symbol="MOCKAAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.GTC,
                                                      limit_price=1, client_order_id=long_id + "z"))
    assert refused.value.status_code == 400 and "client_order_id: at most 128" in str(refused.value)


def test_the_trading_stream_ends_when_its_key_is_revoked(server, trader):
    import asyncio
    import json as json_module
    import urllib.request
    import websockets
    from conftest import call

    async def run():
        async with websockets.connect(server.replace("http://", "ws://") + "/stream") as stream:
            await stream.send(json_module.dumps({"action": "auth", "key": trader.key_id, "secret": trader.secret}))
            assert json_module.loads(await stream.recv())["data"]["status"] == "authorized"
            await stream.send(json_module.dumps({"action": "listen", "data": {"streams": ["trade_updates"]}}))
            assert json_module.loads(await stream.recv())["data"]["streams"] == ["trade_updates"]
            # The key is revoked (with a login of the key's owner, as the web app does).
            login = call(server, "POST", "/v1/auth/login", {"email": trader.email, "password": "correct horse"})
            request = urllib.request.Request(server + f"/v1/api-keys/{trader.key_id}", method="DELETE",
                                             headers={"authorization": f"Bearer {login['accessToken']}"})
            urllib.request.urlopen(request)
            said = json_module.loads(await asyncio.wait_for(stream.recv(), 10))
            assert said["data"]["status"] == "unauthorized"
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(stream.recv(), 10)
            assert closed.value.rcvd.code == 1008
    asyncio.run(run())


def test_a_trading_stream_authenticated_again_follows_its_new_key(server, trader):
    """A second authenticate moves the stream to the account of its new key (listening on
    it, if it was listening): the first account's updates stop, the second's arrive; a
    refused key leaves it with none."""
    import asyncio
    import json as json_module

    import websockets
    from conftest import Trader

    other = Trader(server)

    async def updates_until(stream, order_id, seconds=10):
        """The order ids of the trade updates that came before `order_id`'s (or all, if it never came)."""
        seen = []
        deadline = asyncio.get_running_loop().time() + seconds
        while (left := deadline - asyncio.get_running_loop().time()) > 0:
            try:
                said = json_module.loads(await asyncio.wait_for(stream.recv(), left))
            except asyncio.TimeoutError:
                break
            if said["stream"] == "trade_updates":
                seen.append(said["data"]["order"]["id"])
                if said["data"]["order"]["id"] == order_id:
                    break
        return seen

    def buy(who):
        return str(who.trading.submit_order(MarketOrderRequest(symbol="MOCKAAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY)).id)

    async def run():
        async with websockets.connect(server.replace("http://", "ws://") + "/stream") as stream:
            async def authenticate(who, secret):
                await stream.send(json_module.dumps({"action": "auth", "key": who.key_id, "secret": secret}))
                while (said := json_module.loads(await asyncio.wait_for(stream.recv(), 10)))["stream"] != "authorization":
                    pass  # the first account's updates still on their way
                return said["data"]["status"]
            assert await authenticate(trader, trader.secret) == "authorized"
            await stream.send(json_module.dumps({"action": "listen", "data": {"streams": ["trade_updates"]}}))
            assert json_module.loads(await stream.recv())["data"]["streams"] == ["trade_updates"]
            first = buy(trader)
            assert first in await updates_until(stream, first)

            assert await authenticate(other, other.secret) == "authorized"
            theirs, mine = buy(trader), buy(other)
            seen = await updates_until(stream, mine)
            assert mine in seen, "the new key's account is listened on"
            assert theirs not in seen, "the first key's account is no longer"

            assert await authenticate(other, "tc_wrong") == "unauthorized"
            refused = buy(other)
            assert await updates_until(stream, refused, 3) == [], "a refused key hears nothing"
    asyncio.run(run())


def test_the_trade_events_stream_ends_when_its_key_is_revoked(server, trader):
    """Server-Sent Events outlive nothing the sockets do not: once the key that opened the
    stream is revoked, the server ends it (within seconds, not at the client's leisure)."""
    import time as clock
    import urllib.request

    import requests
    from conftest import call

    headers = {"APCA-API-KEY-ID": trader.key_id, "APCA-API-SECRET-KEY": trader.secret}
    with requests.get(f"{server}/v2/events/trades", headers=headers, stream=True, timeout=10) as response:
        assert response.status_code == 200
        login = call(server, "POST", "/v1/auth/login", {"email": trader.email, "password": "correct horse"})
        urllib.request.urlopen(urllib.request.Request(server + f"/v1/api-keys/{trader.key_id}", method="DELETE",
                                                      headers={"authorization": f"Bearer {login['accessToken']}"}))
        revoked = clock.monotonic()
        # The read ends when the server closes the stream; a stream left open would time out.
        lines = list(response.iter_lines(decode_unicode=True))
        assert clock.monotonic() - revoked < 8 and not any(line.startswith("data:") for line in lines), lines
