// What every page shares about the market: the listed symbols (loaded once).

import { api } from "./api";
import type { Instrument } from "./types";

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
