import { describe, expect, it } from "vitest";
import { applyTrade } from "../src/candles";
import type { Candle } from "../src/types";

const candle = (start: string, close: string): Candle => ({ start, open: close, high: close, low: close, close, volume: "10", trades: 1 });

describe("live candles", () => {
  it("updates the candle a trade falls in", () => {
    const candles = [candle("2026-11-30T10:00:00.000Z", "100")];
    const next = applyTrade(candles, { price: "101.5", quantity: "2", timestamp: "2026-11-30T10:00:42.123Z" }, "1m");
    expect(next).toEqual([{ start: "2026-11-30T10:00:00.000Z", open: "100", high: "101.5", low: "100", close: "101.5", volume: "12", trades: 2 }]);
    const lower = applyTrade(next, { price: "99", quantity: "0.5", timestamp: "2026-11-30T10:00:59.999Z" }, "1m");
    expect(lower[0]).toMatchObject({ high: "101.5", low: "99", close: "99", volume: "12.5", trades: 3 });
  });

  it("opens a new candle in a new interval", () => {
    const candles = [candle("2026-11-30T10:00:00.000Z", "100")];
    const next = applyTrade(candles, { price: "102", quantity: "1", timestamp: "2026-11-30T10:05:01.000Z" }, "5m");
    expect(next).toHaveLength(2);
    expect(next[1]).toEqual({ start: "2026-11-30T10:05:00.000Z", open: "102", high: "102", low: "102", close: "102", volume: "1", trades: 1 });
    const daily = applyTrade([], { price: "7", quantity: "1", timestamp: "2026-11-30T23:59:59.000Z" }, "1d");
    expect(daily[0]?.start).toBe("2026-11-30T00:00:00.000Z");
  });

  it("ignores a trade older than the last candle and a bad timestamp", () => {
    const candles = [candle("2026-11-30T10:05:00.000Z", "100")];
    expect(applyTrade(candles, { price: "1", quantity: "1", timestamp: "2026-11-30T10:01:00.000Z" }, "1m")).toBe(candles);
    expect(applyTrade(candles, { price: "1", quantity: "1", timestamp: "yesterday" }, "1m")).toBe(candles);
  });
});
