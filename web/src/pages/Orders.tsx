import { useEffect, useState, type FormEvent } from "react";
import { useAccount } from "../account";
import { api, firstPages } from "../api";
import { Empty, ErrorNote, Pager, Head, ShowMore } from "../components/Common";
import { describe } from "../errors";
import { money, price, quantity, time, trail, words } from "../format";
import { useLoad } from "../hooks";
import { useChannel } from "../live";
import { TIMES_IN_FORCE } from "../ticket";
import { toast } from "../toasts";
import type { Order, OrderList, TradePage } from "../types";

type Tab = "open" | "history" | "trades";

export function Orders() {
  const [tab, setTab] = useState<Tab>("open");
  return (
    <section>
      <h1>Orders</h1>
      <div role="tablist" aria-label="Orders" className="tabs">
        {(
          [
            ["open", "Open orders"],
            ["history", "Order history"],
            ["trades", "Trade search"],
          ] as const
        ).map(([value, label]) => (
          <button key={value} type="button" role="tab" aria-selected={tab === value} className={tab === value ? "" : "outline secondary"} onClick={() => setTab(value)}>
            {label}
          </button>
        ))}
      </div>
      {tab === "open" && <OpenOrders />}
      {tab === "history" && <History />}
      {tab === "trades" && <TradeSearch />}
    </section>
  );
}

/** Open orders shown per page of the list. */
const OPEN_PAGE = 100;

/** The first `pages` pages of an account's open orders, and whether more are left. */
const openOrders = (userId: string, pages: number) =>
  firstPages(pages, async (pageToken) => {
    const list = await api.get<OrderList>("/v1/orders", { userId, status: "OPEN", limit: OPEN_PAGE, pageToken });
    return { items: list.orders, next: list.pagination.nextPageToken };
  });

function OpenOrders() {
  const userId = useAccount();
  // Every open order is reachable: a page at a time, the pages shown staying in view as
  // the list reloads on each update.
  const [pages, setPages] = useState(1);
  useEffect(() => setPages(1), [userId]);
  const open = useLoad(() => openOrders(userId, pages), [userId, pages]);
  useChannel(`orders:${userId}`, "order_update", open.reload);
  if (open.error) return <ErrorNote error={open.error} retry={open.reload} />;
  if (!open.data) return <p aria-busy="true">Loading open orders…</p>;
  if (open.data.items.length === 0) return <Empty>No open orders.</Empty>;
  return (
    <div className="scroll">
      <table className="striped" data-testid="open-orders">
        <Head columns={["Symbol", "Side", "Type", "#Quantity", "#Filled", "#Limit", "#Stop", "Lasts", "Placed", "Actions"]} />
        <tbody>
          {open.data.items.map((order) => (
            <OpenOrder key={order.orderId} order={order} changed={open.reload} />
          ))}
        </tbody>
      </table>
      {open.data?.more && <ShowMore shown={open.data.items.length} what="open orders" page={OPEN_PAGE} loading={open.loading} onMore={() => setPages((shown) => shown + 1)} />}
    </div>
  );
}

function OpenOrder({ order, changed }: { order: Order; changed: () => void }) {
  const [editing, setEditing] = useState(false);
  const [newQuantity, setNewQuantity] = useState(order.quantity ?? "");
  const [newLimit, setNewLimit] = useState(order.limitPrice ?? "");
  const [newStop, setNewStop] = useState(order.stopPrice ?? "");
  // A waiting stop's trigger can move; a trailing stop's follows its trail, which can.
  const movableStop = order.stopPrice && (order.type === "STOP" || order.type === "STOP_LIMIT");
  const trailField = order.trailPercent ? "trailPercent" : "trailAmount";
  const [newTrail, setNewTrail] = useState(order.trailPercent ?? order.trailAmount ?? "");
  const trailing = order.type === "TRAILING_STOP";
  const replaceable = order.type === "LIMIT" || movableStop || trailing;
  // A resting order can change how long it lasts: good till cancelled, or the day.
  const retimable = order.timeInForce === "GTC" || order.timeInForce === "DAY";
  const [newTimeInForce, setNewTimeInForce] = useState(order.timeInForce);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function cancel() {
    setBusy(true);
    setError(null);
    try {
      await api.delete(`/v1/orders/${order.orderId}`);
      toast("info", `Cancelled ${words(order.side)} ${order.symbol}.`);
      changed();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }

  async function replace(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body: Record<string, string> = {};
      if (newQuantity && newQuantity !== order.quantity) body.quantity = newQuantity;
      if (newLimit && newLimit !== order.limitPrice) body.limitPrice = newLimit;
      if (movableStop && newStop && newStop !== order.stopPrice) body.stopPrice = newStop;
      if (trailing && newTrail && newTrail !== order[trailField]) body[trailField] = newTrail;
      if (retimable && newTimeInForce !== order.timeInForce) body.timeInForce = newTimeInForce;
      if (Object.keys(body).length === 0) {
        setError(new Error("Nothing to change: give a new quantity, price or time in force."));
        return;
      }
      await api.patch(`/v1/orders/${order.orderId}`, body);
      toast("info", `Replaced ${order.symbol} order.`);
      setEditing(false);
      changed();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <tr data-order={order.orderId}>
        <th scope="row">{order.symbol}</th>
        <td className={order.side === "BUY" ? "up" : "down"}>{words(order.side)}</td>
        <td>
          {words(order.type)}
          {trail(order)}
        </td>
        <td className="number">{quantity(order.quantity)}</td>
        <td className="number">{quantity(order.filledQuantity)}</td>
        <td className="number">{price(order.limitPrice)}</td>
        <td className="number">{price(order.stopPrice)}</td>
        <td>
          {lasts(order.timeInForce)}
          {order.queued && <small className="muted"> (waits for the open)</small>}
        </td>
        <td>{time(order.createdAt)}</td>
        <td className="actions">
          {replaceable && (
            <button type="button" className="outline secondary" onClick={() => setEditing(!editing)} disabled={busy}>
              Replace
            </button>
          )}
          <button type="button" className="outline contrast" onClick={cancel} disabled={busy} aria-label={`Cancel ${order.symbol} order`}>
            Cancel
          </button>
        </td>
      </tr>
      {(editing || error) && (
        <tr>
          <td colSpan={10}>
            {editing && (
              <form onSubmit={replace} className="inline" aria-label="Replace order">
                <label>
                  New total quantity
                  <input inputMode="decimal" value={newQuantity} onChange={(event) => setNewQuantity(event.target.value)} />
                </label>
                {order.limitPrice && (
                  <label>
                    New limit price
                    <input inputMode="decimal" value={newLimit} onChange={(event) => setNewLimit(event.target.value)} />
                  </label>
                )}
                {movableStop && (
                  <label>
                    New stop price
                    <input inputMode="decimal" value={newStop} onChange={(event) => setNewStop(event.target.value)} />
                  </label>
                )}
                {trailing && (
                  <label>
                    {trailField === "trailPercent" ? "New trail (%)" : "New trail (price)"}
                    <input inputMode="decimal" value={newTrail} onChange={(event) => setNewTrail(event.target.value)} />
                  </label>
                )}
                {retimable && (
                  <label>
                    Lasts
                    <select value={newTimeInForce} onChange={(event) => setNewTimeInForce(event.target.value)}>
                      {TIMES_IN_FORCE.filter((item) => item.value === "GTC" || item.value === "DAY").map((item) => (
                        <option key={item.value} value={item.value}>
                          {item.label}
                        </option>
                      ))}
                    </select>
                  </label>
                )}
                <button type="submit" aria-busy={busy}>
                  Save
                </button>
              </form>
            )}
            {error ? <p className="error" role="alert">{describe(error)}</p> : null}
          </td>
        </tr>
      )}
    </>
  );
}

const ORDER_STATUSES = ["", "ACCEPTED", "PARTIALLY_FILLED", "FILLED", "CANCELLED", "EXPIRED", "HELD", "OPEN"];

/** How long an order lasts, in the ticket's words. */
const lasts = (timeInForce: string): string => TIMES_IN_FORCE.find((item) => item.value === timeInForce)?.label ?? timeInForce;

function History() {
  const userId = useAccount();
  const [status, setStatus] = useState("");
  const [symbol, setSymbol] = useState("");
  const [tokens, setTokens] = useState<(string | null)[]>([null]);
  const token = tokens[tokens.length - 1] ?? null;
  const orders = useLoad(() => api.get<OrderList>("/v1/orders", { userId, status, symbol: symbol.toUpperCase(), limit: 25, pageToken: token }), [userId, status, symbol, token]);
  const filter = (apply: () => void) => {
    apply();
    setTokens([null]);
  };
  return (
    <>
      <div className="grid filters">
        <label>
          Status
          <select value={status} onChange={(event) => filter(() => setStatus(event.target.value))}>
            {ORDER_STATUSES.map((item) => (
              <option key={item} value={item}>
                {item ? words(item) : "Any"}
              </option>
            ))}
          </select>
        </label>
        <label>
          Symbol
          <input value={symbol} placeholder="Any" onChange={(event) => filter(() => setSymbol(event.target.value))} />
        </label>
      </div>
      <ErrorNote error={orders.error} retry={orders.reload} />
      {orders.data && orders.data.orders.length === 0 && <Empty>No orders match.</Empty>}
      {orders.data && orders.data.orders.length > 0 && (
        <div className="scroll">
          <table className="striped" data-testid="order-history">
            <Head columns={["Placed", "Symbol", "Side", "Type", "#Quantity", "#Filled", "#Average price", "Status", ""]} />
            <tbody>
              {orders.data.orders.map((order) => (
                <tr key={order.orderId} data-order={order.orderId}>
                  <td>{time(order.createdAt)}</td>
                  <th scope="row">{order.symbol}</th>
                  <td className={order.side === "BUY" ? "up" : "down"}>{words(order.side)}</td>
                  <td>{words(order.type)}</td>
                  <td className="number">{order.quantity ? quantity(order.quantity) : `${money(order.notional)} cash`}</td>
                  <td className="number">{quantity(order.filledQuantity)}</td>
                  <td className="number">{price(order.averagePrice)}</td>
                  <td>
                    {words(order.status)}
                    {order.reason && order.status !== "FILLED" ? <small className="muted"> ({words(order.reason)})</small> : null}
                  </td>
                  <td>
                    <button type="button" className="link" aria-label={`Share ${order.symbol} order`} onClick={() => void shareOrder(order.orderId, order.symbol)}>
                      Share
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {orders.data && <Pager next={orders.data.pagination.nextPageToken} tokens={tokens} onPage={setTokens} />}
    </>
  );
}

const TRADE_STATUSES = ["", "EXECUTED", "FAILED_INSUFFICIENT_FUNDS", "FAILED_INSUFFICIENT_SHARES", "FAILED_OTHER"];

function TradeSearch() {
  const userId = useAccount();
  const [filters, setFilters] = useState({ symbol: "", side: "", status: "", startDate: "", endDate: "", q: "" });
  const [tokens, setTokens] = useState<(string | null)[]>([null]);
  const token = tokens[tokens.length - 1] ?? null;
  const trades = useLoad(
    () =>
      api.get<TradePage>("/v1/trades/search", {
        userId,
        symbol: filters.symbol.toUpperCase(),
        side: filters.side,
        status: filters.status,
        startDate: filters.startDate ? new Date(`${filters.startDate}T00:00:00`).toISOString() : "",
        endDate: filters.endDate ? new Date(`${filters.endDate}T23:59:59.999`).toISOString() : "",
        q: filters.q,
        limit: 25,
        pageToken: token,
      }),
    [userId, JSON.stringify(filters), token],
  );
  const set = (change: Partial<typeof filters>) => {
    setFilters((previous) => ({ ...previous, ...change }));
    setTokens([null]);
  };
  return (
    <>
      <div className="grid filters">
        <label>
          Symbol
          <input value={filters.symbol} placeholder="Any" onChange={(event) => set({ symbol: event.target.value })} />
        </label>
        <label>
          Side
          <select value={filters.side} onChange={(event) => set({ side: event.target.value })}>
            <option value="">Any</option>
            <option value="BUY">Buy</option>
            <option value="SELL">Sell</option>
          </select>
        </label>
        <label>
          Status
          <select value={filters.status} onChange={(event) => set({ status: event.target.value })}>
            {TRADE_STATUSES.map((item) => (
              <option key={item} value={item}>
                {item ? words(item) : "Any"}
              </option>
            ))}
          </select>
        </label>
        <label>
          From
          <input type="date" value={filters.startDate} onChange={(event) => set({ startDate: event.target.value })} />
        </label>
        <label>
          To
          <input type="date" value={filters.endDate} onChange={(event) => set({ endDate: event.target.value })} />
        </label>
        <label>
          Search
          <input type="search" value={filters.q} placeholder="Words in a failure reason" onChange={(event) => set({ q: event.target.value })} />
        </label>
      </div>
      <ErrorNote error={trades.error} retry={trades.reload} />
      {trades.data && (
        <>
          <p className="muted">{trades.data.pagination.totalCount} matching</p>
          <div className="scroll">
            <table className="striped compact" data-testid="trade-search">
              <Head columns={["When", "Symbol", "Side", "#Quantity", "#Price", "#Fee", "Status"]} />
              <tbody>
                {trades.data.trades.map((trade) => (
                  <tr key={trade.eventId}>
                    <td>{time(trade.executionTimestamp)}</td>
                    <th scope="row">{trade.symbol}</th>
                    <td className={trade.side === "BUY" ? "up" : "down"}>{words(trade.side)}</td>
                    <td className="number">{quantity(trade.quantity)}</td>
                    <td className="number">{price(trade.executionPrice)}</td>
                    <td className="number">{money(trade.fee)}</td>
                    <td>{words(trade.status)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager next={trades.data.pagination.nextPageToken} tokens={tokens} onPage={setTokens} />
        </>
      )}
    </>
  );
}

/** Shares an order with the user's followers, with a comment they may write. */
async function shareOrder(orderId: string, symbol: string): Promise<void> {
  const comment = window.prompt(`Share your ${symbol} order with your followers. A comment (optional):`);
  if (comment === null) return;
  try {
    await api.post(`/v1/orders/${orderId}/share`, comment.trim() ? { comment: comment.trim() } : {});
    toast("success", `Shared your ${symbol} order: see it in Community.`);
  } catch (failure) {
    toast("error", describe(failure));
  }
}
