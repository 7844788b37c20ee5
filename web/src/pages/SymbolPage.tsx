import { useCallback, useEffect, useState } from "react";
import { api } from "../api";
import { applyTrade, INTERVALS, type Interval } from "../candles";
import { CandleChart } from "../components/Charts";
import { ErrorNote, Loading, Head, Choice } from "../components/Common";
import { OrderTicket } from "../components/OrderTicket";
import * as D from "../decimal";
import { clock, price, quantity, time } from "../format";
import { useLoad, useThrottled } from "../hooks";
import { useChannel } from "../live";
import { changeOf, loadSymbols } from "../market";
import type { BookLevel, Candle, MarketTrade, OrderBook, Ticker } from "../types";

const DEPTH = 10;
const TRADES_SHOWN = 30;

export function SymbolPage({ symbol }: { symbol: string }) {
  const listed = useLoad(loadSymbols, []);
  const instrument = listed.data?.find((item) => item.symbol === symbol) ?? null;
  const [interval, setInterval] = useState<Interval>("1m");
  const [candles, setCandles] = useState<Candle[]>([]);
  const [chartError, setChartError] = useState<unknown>(null);
  const [trades, setTrades] = useState<MarketTrade[]>([]);
  const ticker = useLoad(() => api.get<Ticker>(`/v1/market/${symbol}/ticker`), [symbol]);
  const book = useLoad(() => api.get<OrderBook>(`/v1/market/${symbol}/orderbook`, { depth: DEPTH }), [symbol]);
  const [reference, setReference] = useState<string | null>(null);

  useEffect(() => {
    let current = true;
    setChartError(null);
    api
      .get<{ candles: Candle[] }>(`/v1/market/${symbol}/candles`, { interval, limit: 300 })
      .then((answer) => current && setCandles(answer.candles))
      .catch((error: unknown) => current && setChartError(error));
    return () => {
      current = false;
    };
  }, [symbol, interval]);

  useEffect(() => {
    let current = true;
    api
      .get<{ trades: MarketTrade[] }>(`/v1/market/${symbol}/trades`, { limit: TRADES_SHOWN })
      .then((answer) => current && setTrades(answer.trades))
      .catch(() => undefined);
    return () => {
      current = false;
    };
  }, [symbol]);

  // The ladder's depth is fetched again (at most 4 times a second) when the top moves or a trade prints.
  const refreshBook = useThrottled(book.reload, 250);
  const refreshTicker = useThrottled(ticker.reload, 1000);
  useChannel(`book:${symbol}`, "book_update", refreshBook);
  useChannel<{ price: string }>(`prices:${symbol}`, "price_update", (payload) => setReference(payload.price));
  useChannel<MarketTrade & { symbol: string }>(`trades:${symbol}`, "trade", (trade) => {
    setTrades((previous) => [trade, ...previous].slice(0, TRADES_SHOWN));
    setCandles((previous) => applyTrade(previous, trade, interval));
    refreshBook();
    refreshTicker();
  });

  const quote = { bid: book.data?.bids[0]?.price ?? ticker.data?.bid, ask: book.data?.asks[0]?.price ?? ticker.data?.ask, last: trades[0]?.price ?? ticker.data?.last ?? reference };
  const onInterval = useCallback((next: Interval) => setInterval(next), []);
  const today = ticker.data?.changePercent24h ? changeOf(ticker.data, null, null) : null;

  if (listed.error) return <ErrorNote error={listed.error} retry={listed.reload} />;
  if (!listed.data) return <Loading what={symbol} />;
  if (!instrument) return <p className="error">{symbol} is not listed.</p>;
  return (
    <section>
      <header className="symbol-header">
        <h1>{symbol}</h1>
        <span className="big" data-testid="symbol-last">
          {price(quote.last)}
        </span>
        {today && <span className={today.tone}>{today.text} today</span>}
        {instrument.halted && <span className="badge warning">Trading halted</span>}
        {!instrument.halted && instrument.sessionOpen === false && (
          <span className="badge warning" data-testid="session-closed">
            Market closed{instrument.nextOpen ? ` until ${time(instrument.nextOpen)}` : ""}: orders wait for the open
          </span>
        )}
        <span className="muted">
          Bid {price(quote.bid)} · Ask {price(quote.ask)} · Tick {instrument.tickSize} · Lot {instrument.lotSize}
        </span>
      </header>
      <div className="symbol-grid">
        <article className="chart-card">
          <Choice label="Candle interval" options={INTERVALS} value={interval} onChange={onInterval} />
          <ErrorNote error={chartError} />
          <CandleChart candles={candles} label={`${symbol} ${interval} candles`} />
          {candles.length === 0 && <p className="muted">No trades in {symbol} yet: the chart fills in as trades print.</p>}
        </article>
        <article>
          <h2>Order book</h2>
          <ErrorNote error={book.error} retry={book.reload} />
          {book.data && <Ladder book={book.data} />}
        </article>
        <article>
          <h2>Trade</h2>
          <OrderTicket instrument={instrument} quote={quote} />
        </article>
        <article>
          <h2>Recent trades</h2>
          <table className="compact" data-testid="recent-trades">
            <Head columns={["Time", "#Price", "#Qty"]} />
            <tbody>
              {trades.map((trade) => (
                <tr key={trade.tradeId}>
                  <td>{clock(trade.timestamp)}</td>
                  <td className={`number ${trade.takerSide === "BUY" ? "up" : "down"}`}>{price(trade.price)}</td>
                  <td className="number">{quantity(trade.quantity)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {trades.length === 0 && <p className="muted">No trades yet.</p>}
        </article>
      </div>
    </section>
  );
}

/** Depth 10 each side: asks above (best lowest), bids below, with size bars. */
function Ladder({ book }: { book: OrderBook }) {
  const largest = [...book.bids, ...book.asks].reduce((max, level) => Math.max(max, D.toNumber(D.of(level.quantity))), 0) || 1;
  const row = (level: BookLevel, side: "bid" | "ask") => (
    <tr key={`${side}${level.price}`} className={side}>
      <td className={`number ${side === "bid" ? "up" : "down"}`}>{price(level.price)}</td>
      <td className="number depth">
        <span className="bar" style={{ width: `${(D.toNumber(D.of(level.quantity)) / largest) * 100}%` }} />
        <span>{quantity(level.quantity)}</span>
      </td>
      <td className="number muted">{level.orders}</td>
    </tr>
  );
  return (
    <table className="compact ladder" data-testid="ladder" data-sequence={book.sequence}>
      <Head columns={["#Price", "#Size", "#Orders"]} />
      <tbody>
        {[...book.asks].reverse().map((level) => row(level, "ask"))}
        <tr className="spread">
          <td colSpan={3} className="muted">
            {book.asks[0] && book.bids[0] ? `Spread ${price(D.toText(D.sub(D.of(book.asks[0].price), D.of(book.bids[0].price))))}` : "One side is empty"}
          </td>
        </tr>
        {book.bids.map((level) => row(level, "bid"))}
      </tbody>
    </table>
  );
}
