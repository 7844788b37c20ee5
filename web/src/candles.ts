// Candles from trades as they arrive, the way the server makes them: each trade lands in
// the interval that holds its timestamp.

import * as D from "./decimal";
import type { Candle } from "./types";

export const INTERVALS = ["1m", "5m", "15m", "1h", "1d"] as const;
export type Interval = (typeof INTERVALS)[number];

export const INTERVAL_MS: Record<Interval, number> = { "1m": 60_000, "5m": 300_000, "15m": 900_000, "1h": 3_600_000, "1d": 86_400_000 };

export interface TradePrint {
  price: string;
  quantity: string;
  timestamp: string;
}

/** `candles` (oldest first) with `trade` applied: the last candle updated, or a new one. */
export function applyTrade(candles: Candle[], trade: TradePrint, interval: Interval): Candle[] {
  const at = Date.parse(trade.timestamp);
  if (Number.isNaN(at)) return candles;
  const start = new Date(Math.floor(at / INTERVAL_MS[interval]) * INTERVAL_MS[interval]).toISOString();
  const last = candles[candles.length - 1];
  const price = D.of(trade.price);
  if (last && Date.parse(last.start) === Date.parse(start)) {
    const updated: Candle = {
      ...last,
      high: D.compare(price, D.of(last.high)) > 0 ? trade.price : last.high,
      low: D.compare(price, D.of(last.low)) < 0 ? trade.price : last.low,
      close: trade.price,
      volume: D.toText(D.add(D.of(last.volume), D.of(trade.quantity))),
      trades: last.trades + 1,
    };
    return [...candles.slice(0, -1), updated];
  }
  if (last && Date.parse(last.start) > Date.parse(start)) return candles; // an old trade: already counted
  return [...candles, { start, open: trade.price, high: trade.price, low: trade.price, close: trade.price, volume: trade.quantity, trades: 1 }];
}
