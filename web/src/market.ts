// What every page shares about the market: the listed symbols (loaded once).

import { api } from "./api";
import * as D from "./decimal";
import { percent, percentTone } from "./format";
import type { Instrument, Ticker } from "./types";

/** A price change as shown: the percentage and its colour, which follows the percentage
 * shown (a fall that rounds to 0.00% is not red). */
export interface Change {
  text: string;
  tone: "up" | "down" | "";
}

/** The 24-hour change when the exchange has one, else the change from `first` to `last`. */
export function changeOf(ticker: Ticker | null | undefined, first: string | null, last: string | null): Change | null {
  let ratio: number | null = null;
  if (ticker?.change24h && ticker.changePercent24h) {
    ratio = Number(ticker.changePercent24h) / 100;
  } else {
    const from = D.parse(first);
    const to = D.parse(last);
    if (!from || !to || D.isZero(from)) return null;
    ratio = D.toNumber(D.div(D.sub(to, from), from, 8) ?? D.ZERO);
  }
  return { text: percent(ratio), tone: percentTone(ratio) };
}

let symbols: Promise<Instrument[]> | null = null;

export function loadSymbols(): Promise<Instrument[]> {
  symbols ??= api.get<{ symbols: Instrument[] }>("/v1/market/symbols").then(
    (answer) => answer.symbols,
    (error: unknown) => {
      symbols = null;
      throw error;
    },
  );
  return symbols;
}
