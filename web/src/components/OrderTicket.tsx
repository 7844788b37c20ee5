import { useState, type FormEvent } from "react";
import { useAccount } from "../account";
import { api } from "../api";
import * as D from "../decimal";
import { describe } from "../errors";
import { money, quantity, words } from "../format";
import { useLoad } from "../hooks";
import { useChannel } from "../live";
import { toast } from "../toasts";
import { EMPTY_TICKET, ORDER_TYPES, TIMES_IN_FORCE, byNotional, estimate, needsLimit, needsStop, takesExits, toRequest, type Quote, type TicketForm } from "../ticket";
import type { Instrument, Order, OrderAccepted, Portfolio } from "../types";

/** Places any order the engine has, showing the cost and buying power first and the
 *  engine's answer (or refusal, in words) after. */
export function OrderTicket({ instrument, quote }: { instrument: Instrument; quote: Quote }) {
  const session = api.current();
  const [form, setForm] = useState<TicketForm>(EMPTY_TICKET);
  const [problem, setProblem] = useState<string | null>(null);
  const [result, setResult] = useState<{ tone: "success" | "error"; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const account = useAccount();
  const portfolio = useLoad(() => (session && account ? api.get<Portfolio>(`/v1/portfolio/${account}`) : Promise.resolve(null)), [account]);
  useChannel(session && account ? `orders:${account}` : null, "order_update", portfolio.reload);

  if (!session) {
    return (
      <p>
        <a href="#/login">Log in</a> or <a href="#/signup">sign up</a> to trade.
      </p>
    );
  }
  const buyingPower = D.of(portfolio.data?.availableCash);
  const held = D.of(portfolio.data?.holdings[instrument.symbol]);
  const reservedShares = D.of(portfolio.data?.reservedHoldings[instrument.symbol]);
  const sellable = D.sub(held, reservedShares);
  const guess = estimate(form, quote, buyingPower);
  const set = (change: Partial<TicketForm>) => {
    setForm((previous) => ({ ...previous, ...change }));
    setProblem(null);
  };

  async function submit(event: FormEvent) {
    event.preventDefault();
    setResult(null);
    const built = toRequest(form, instrument);
    if ("error" in built) {
      setProblem(built.error);
      return;
    }
    setBusy(true);
    try {
      // One key per submission: a retry of this request can never place a second order.
      const accepted = await api.post<OrderAccepted>("/v1/orders", { ...built.request, userId: account }, { "X-Idempotency-Key": crypto.randomUUID() });
      const order = await api.get<Order>(`/v1/orders/${accepted.orderId}`).catch(() => null);
      const exits = [built.request.takeProfit && `take profit at ${built.request.takeProfit.limitPrice}`, built.request.stopLoss && `stop loss at ${built.request.stopLoss.stopPrice}`]
        .filter(Boolean)
        .join(", ");
      const text = (order ? summary(order, instrument.sessionOpen !== false) : `Order ${accepted.orderId} accepted.`) + (exits ? ` Exits: ${exits}.` : "");
      setResult({ tone: "success", text });
      toast("success", `${instrument.symbol}: ${text}`);
      portfolio.reload();
    } catch (failure) {
      setResult({ tone: "error", text: `Refused: ${describe(failure)}` });
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} className="ticket" aria-label={`Order ticket for ${instrument.symbol}`}>
      <div role="group" aria-label="Side">
        {(["BUY", "SELL"] as const).map((side) => (
          <button key={side} type="button" className={form.side === side ? (side === "BUY" ? "buy" : "sell") : "outline secondary"} aria-pressed={form.side === side} onClick={() => set({ side })}>
            {side === "BUY" ? "Buy" : "Sell"}
          </button>
        ))}
      </div>
      <label>
        Order type
        <select name="type" value={form.type} onChange={(event) => set({ type: event.target.value as TicketForm["type"], postOnly: false })}>
          {ORDER_TYPES.map((type) => (
            <option key={type.value} value={type.value}>
              {type.label}
            </option>
          ))}
        </select>
      </label>
      {form.type === "MARKET" && (
        <fieldset>
          <legend>Size by</legend>
          <label>
            <input type="radio" name="sizing" checked={form.sizing === "quantity"} onChange={() => set({ sizing: "quantity" })} /> By quantity
          </label>
          <label>
            <input type="radio" name="sizing" checked={form.sizing === "notional"} onChange={() => set({ sizing: "notional" })} /> By cash amount
          </label>
        </fieldset>
      )}
      {byNotional(form) ? (
        <label>
          Amount
          <input name="notional" inputMode="decimal" value={form.notional} onChange={(event) => set({ notional: event.target.value })} placeholder="1000" />
        </label>
      ) : (
        <label>
          Quantity
          <input name="quantity" inputMode="decimal" value={form.quantity} onChange={(event) => set({ quantity: event.target.value })} placeholder={instrument.minQuantity} />
        </label>
      )}
      {needsStop(form.type) && (
        <label>
          Stop price
          <input name="stopPrice" inputMode="decimal" value={form.stopPrice} onChange={(event) => set({ stopPrice: event.target.value })} />
        </label>
      )}
      {needsLimit(form.type) && (
        <label>
          Limit price
          <input name="limitPrice" inputMode="decimal" value={form.limitPrice} onChange={(event) => set({ limitPrice: event.target.value })} />
        </label>
      )}
      {form.type === "TRAILING_STOP" && (
        <div className="grid">
          <label>
            Trail by
            <select name="trailKind" value={form.trailKind} onChange={(event) => set({ trailKind: event.target.value as TicketForm["trailKind"] })}>
              <option value="amount">Amount</option>
              <option value="percent">Percent</option>
            </select>
          </label>
          <label>
            Trail
            <input name="trail" inputMode="decimal" value={form.trail} onChange={(event) => set({ trail: event.target.value })} />
          </label>
        </div>
      )}
      <label>
        Time in force
        <select name="timeInForce" value={form.timeInForce} onChange={(event) => set({ timeInForce: event.target.value as TicketForm["timeInForce"] })}>
          {TIMES_IN_FORCE.map((item) => (
            <option key={item.value} value={item.value}>
              {item.label}
            </option>
          ))}
        </select>
      </label>
      {takesExits(form.type) && !byNotional(form) && (
        <details open={Boolean(form.takeProfit || form.stopLoss)}>
          <summary>Exits (take profit, stop loss)</summary>
          <div className="grid">
            <label>
              Take profit
              <input name="takeProfit" inputMode="decimal" value={form.takeProfit} onChange={(event) => set({ takeProfit: event.target.value })} placeholder="limit price" />
            </label>
            <label>
              Stop loss
              <input name="stopLoss" inputMode="decimal" value={form.stopLoss} onChange={(event) => set({ stopLoss: event.target.value })} placeholder="stop price" />
            </label>
          </div>
          <small className="muted">Placed once the order fills, for the quantity filled; the first to fill or trigger cancels the other.</small>
        </details>
      )}
      {form.type === "LIMIT" && (
        <label>
          <input type="checkbox" role="switch" name="postOnly" checked={form.postOnly} onChange={(event) => set({ postOnly: event.target.checked })} /> Post only (rest on the book, never take)
        </label>
      )}
      <dl className="estimate" data-testid="estimate">
        <dt>{form.side === "BUY" ? "Estimated cost" : "Estimated proceeds"}</dt>
        <dd>{guess ? money(D.toText(guess.amount)) : "—"}</dd>
        <dt>Buying power</dt>
        <dd data-testid="buying-power">{portfolio.data ? money(portfolio.data.availableCash) : "—"}</dd>
        {form.side === "BUY" ? (
          <>
            <dt>Buying power after</dt>
            <dd className={guess?.exceeds ? "down" : ""}>{guess ? money(D.toText(guess.buyingPowerAfter)) : "—"}</dd>
          </>
        ) : (
          <>
            <dt>Shares you can sell</dt>
            <dd>{quantity(D.toText(sellable))}</dd>
          </>
        )}
      </dl>
      {guess?.exceeds && <p className="warning">This costs more than your buying power: the exchange will refuse it.</p>}
      {problem && (
        <p className="error" role="alert">
          {problem}
        </p>
      )}
      <button type="submit" className={form.side === "BUY" ? "buy" : "sell"} aria-busy={busy} disabled={busy || instrument.halted}>
        {form.side === "BUY" ? "Buy" : "Sell"} {instrument.symbol}
      </button>
      {result && (
        <p className={result.tone} role={result.tone === "error" ? "alert" : "status"} data-testid="ticket-result">
          {result.text}
        </p>
      )}
    </form>
  );
}

/** The engine's answer in words; `open`: the market was open when the order was placed. */
function summary(order: Order, open: boolean): string {
  const filled = D.of(order.filledQuantity);
  if (order.status === "FILLED") return `Filled ${quantity(order.filledQuantity)} at ${money(order.averagePrice)}.`;
  if (!D.isZero(filled)) return `${words(order.status)}: ${quantity(order.filledQuantity)} filled at ${money(order.averagePrice)}.`;
  if (order.status === "ACCEPTED" && order.timeInForce === "CLS") return `Order placed: it trades at the close (${words(order.type)}).`;
  if (order.status === "ACCEPTED" && (order.timeInForce === "OPG" || !open)) return `Order placed: it waits for the market to open (${words(order.type)}).`;
  if (order.status === "ACCEPTED") return `Order placed and resting on the book (${words(order.type)}).`;
  return `${words(order.status)}${order.reason ? ` (${words(order.reason)})` : ""}.`;
}
