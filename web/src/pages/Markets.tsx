import { useEffect, useState } from "react";
import { api } from "../api";
import { Sparkline } from "../components/Charts";
import { ErrorNote, Loading, Head } from "../components/Common";
import * as D from "../decimal";
import { price, time } from "../format";
import { useLoad } from "../hooks";
import { useChannel } from "../live";
import { changeOf, loadSymbols } from "../market";
import { href } from "../router";
import type { Candle, Instrument, Ticker } from "../types";

/** Points kept per sparkline. */
const SPARK_POINTS = 60;

interface Row {
  instrument: Instrument;
  ticker: Ticker | null;
  /** The latest price: a trade's, else the simulator's reference price. */
  last: string | null;
  /** The first price seen, for the change when there is no 24-hour figure. */
  first: string | null;
  spark: number[];
}

/** The watchlist: every listed symbol with its last price, change and a sparkline, live. */
const WATCHLIST_KEY = "tradecraft.watchlist";

function savedWatchlist(): string[] {
  try {
    const saved: unknown = JSON.parse(localStorage.getItem(WATCHLIST_KEY) ?? "[]");
    return Array.isArray(saved) ? saved.filter((item): item is string => typeof item === "string") : [];
  } catch {
    return [];
  }
}

export function Markets() {
  const listed = useLoad(loadSymbols, []);
  const [rows, setRows] = useState<Record<string, Row>>({});
  // Starred symbols come first (kept in this browser).
  const [starred, setStarred] = useState<string[]>(savedWatchlist);
  const toggle = (symbol: string) =>
    setStarred((previous) => {
      const next = previous.includes(symbol) ? previous.filter((item) => item !== symbol) : [...previous, symbol];
      localStorage.setItem(WATCHLIST_KEY, JSON.stringify(next));
      return next;
    });

  useEffect(() => {
    if (!listed.data) return;
    let current = true;
    for (const instrument of listed.data) {
      Promise.all([
        api.get<Ticker>(`/v1/market/${instrument.symbol}/ticker`).catch(() => null),
        api.get<{ candles: Candle[] }>(`/v1/market/${instrument.symbol}/candles`, { interval: "5m", limit: SPARK_POINTS }).catch(() => null),
      ]).then(([ticker, candles]) => {
        if (!current) return;
        const spark = (candles?.candles ?? []).map((candle) => D.toNumber(D.of(candle.close)));
        const mid = ticker?.bid && ticker.ask ? D.toText(D.round(D.div(D.add(D.of(ticker.bid), D.of(ticker.ask)), D.of("2"), 4) ?? D.ZERO, 4)) : null;
        const last = ticker?.price ?? ticker?.last ?? instrument.lastPrice ?? mid;
        setRows((previous) => ({
          ...previous,
          [instrument.symbol]: { instrument, ticker, last: previous[instrument.symbol]?.last ?? last, first: last, spark: previous[instrument.symbol]?.spark.length ? previous[instrument.symbol]!.spark : spark },
        }));
      });
    }
    return () => {
      current = false;
    };
  }, [listed.data]);

  if (listed.error) return <ErrorNote error={listed.error} retry={listed.reload} />;
  if (!listed.data) return <Loading what="markets" />;
  return (
    <section>
      <h1>Markets</h1>
      <p className="muted">Star a symbol to keep it at the top of your watchlist.</p>
      <table className="striped watchlist">
        <Head columns={["Symbol", "#Last", "#Change", "Trend"]} />
        <tbody>
          {[...listed.data.filter((item) => starred.includes(item.symbol)), ...listed.data.filter((item) => !starred.includes(item.symbol))].map((instrument) => (
            <MarketRow
              key={instrument.symbol}
              instrument={instrument}
              row={rows[instrument.symbol]}
              starred={starred.includes(instrument.symbol)}
              onStar={() => toggle(instrument.symbol)}
              onPrice={(symbol, text) => setRows((previous) => moved(previous, symbol, text))}
            />
          ))}
        </tbody>
      </table>
    </section>
  );
}

function moved(rows: Record<string, Row>, symbol: string, text: string): Record<string, Row> {
  const row = rows[symbol];
  if (!row) return rows;
  const spark = [...row.spark, D.toNumber(D.of(text))].slice(-SPARK_POINTS);
  return { ...rows, [symbol]: { ...row, last: text, first: row.first ?? text, spark } };
}

function MarketRow({
  instrument,
  row,
  starred,
  onStar,
  onPrice,
}: {
  instrument: Instrument;
  row: Row | undefined;
  starred: boolean;
  onStar: () => void;
  onPrice: (symbol: string, price: string) => void;
}) {
  useChannel<{ price: string }>(`prices:${instrument.symbol}`, "price_update", (payload) => onPrice(instrument.symbol, payload.price));
  useChannel<{ price: string }>(`trades:${instrument.symbol}`, "trade", (payload) => onPrice(instrument.symbol, payload.price));
  const change = row ? changeOf(row.ticker, row.first, row.last) : null;
  return (
    <tr data-symbol={instrument.symbol}>
      <th scope="row">
        <button type="button" className="star" aria-pressed={starred} aria-label={`${starred ? "Remove" : "Add"} ${instrument.symbol} ${starred ? "from" : "to"} the watchlist`} onClick={onStar}>
          {starred ? "★" : "☆"}
        </button>
        <a href={href("symbol", instrument.symbol)}>{instrument.symbol}</a>
        {instrument.halted && <span className="badge warning">Halted</span>}
        {!instrument.halted && instrument.sessionOpen === false && (
          <span className="badge warning" title={instrument.nextOpen ? `Opens ${time(instrument.nextOpen)}` : undefined}>
            Closed
          </span>
        )}
      </th>
      <td className="number" data-testid="last-price">
        {price(row?.last)}
      </td>
      <td className={`number ${change?.tone ?? ""}`}>{change?.text ?? "—"}</td>
      <td className="hide-narrow">
        <Sparkline values={row?.spark ?? []} />
      </td>
    </tr>
  );
}
