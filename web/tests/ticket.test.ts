import { describe, expect, it } from "vitest";
import * as D from "../src/decimal";
import { EMPTY_TICKET, estimate, toRequest, type TicketForm } from "../src/ticket";
import type { Instrument } from "../src/types";

const AAPL: Instrument = { symbol: "MOCKAAPL", tickSize: "0.01", lotSize: "1", minQuantity: "1", halted: false, sessionOpen: true };
const form = (change: Partial<TicketForm>): TicketForm => ({ ...EMPTY_TICKET, ...change });

describe("order ticket", () => {
  it("makes a market buy by quantity", () => {
    expect(toRequest(form({ quantity: "10" }), AAPL)).toEqual({ request: { symbol: "MOCKAAPL", side: "BUY", type: "MARKET", quantity: "10", timeInForce: "GTC" } });
  });

  it("makes a market buy by cash amount", () => {
    expect(toRequest(form({ sizing: "notional", notional: "2500.50", timeInForce: "IOC" }), AAPL)).toEqual({
      request: { symbol: "MOCKAAPL", side: "BUY", type: "MARKET", notional: "2500.5", timeInForce: "IOC" },
    });
  });

  it("makes every priced type with the prices it needs", () => {
    expect(toRequest(form({ type: "LIMIT", quantity: "3", limitPrice: "189.50", postOnly: true }), AAPL)).toEqual({
      request: { symbol: "MOCKAAPL", side: "BUY", type: "LIMIT", quantity: "3", limitPrice: "189.5", timeInForce: "GTC", postOnly: true },
    });
    expect(toRequest(form({ side: "SELL", type: "STOP_LIMIT", quantity: "3", stopPrice: "180", limitPrice: "179.5" }), AAPL)).toMatchObject({
      request: { type: "STOP_LIMIT", stopPrice: "180", limitPrice: "179.5" },
    });
    expect(toRequest(form({ side: "SELL", type: "TRAILING_STOP", quantity: "3", trailKind: "percent", trail: "2.5" }), AAPL)).toMatchObject({
      request: { type: "TRAILING_STOP", trailPercent: "2.5" },
    });
    expect(toRequest(form({ side: "SELL", type: "TRAILING_STOP", quantity: "3", trail: "1.25" }), AAPL)).toMatchObject({ request: { trailAmount: "1.25" } });
  });

  it("adds exits: a bracket with both, OTO with one, checked before sending", () => {
    expect(toRequest(form({ quantity: "5", takeProfit: "210", stopLoss: "180.5" }), AAPL)).toEqual({
      request: {
        symbol: "MOCKAAPL", side: "BUY", type: "MARKET", quantity: "5", timeInForce: "GTC",
        orderClass: "BRACKET", takeProfit: { limitPrice: "210" }, stopLoss: { stopPrice: "180.5" },
      },
    });
    expect(toRequest(form({ type: "LIMIT", limitPrice: "190", quantity: "5", stopLoss: "185" }), AAPL)).toMatchObject({
      request: { orderClass: "OTO", stopLoss: { stopPrice: "185" } },
    });
    const error = (change: Partial<TicketForm>) => {
      const built = toRequest(form({ quantity: "5", ...change }), AAPL);
      return "error" in built ? built.error : null;
    };
    expect(error({ takeProfit: "180", stopLoss: "185" })).toMatch(/above the stop loss/);
    expect(error({ side: "SELL", takeProfit: "190", stopLoss: "185" })).toMatch(/below the stop loss/);
    expect(error({ takeProfit: "210.001" })).toMatch(/tick size/);
    expect(error({ sizing: "notional", notional: "100", takeProfit: "210" })).toMatch(/sized by quantity/);
    expect(error({ type: "STOP", stopPrice: "200", takeProfit: "210" })).toMatch(/market or limit/);
    expect(error({ type: "LIMIT", limitPrice: "190", takeProfit: "190", stopLoss: "180" })).toBe("The take profit must be above the limit price, 190.");
    expect(error({ type: "LIMIT", limitPrice: "190", stopLoss: "191" })).toBe("The stop loss must be below the limit price, 190.");
    expect(error({ side: "SELL", type: "LIMIT", limitPrice: "190", takeProfit: "195" })).toBe("The take profit must be below the limit price, 190.");
    expect(error({ side: "SELL", type: "LIMIT", limitPrice: "190", takeProfit: "180", stopLoss: "190" })).toBe("The stop loss must be above the limit price, 190.");
    expect(error({ side: "SELL", type: "LIMIT", limitPrice: "190", takeProfit: "180", stopLoss: "200" })).toBeNull();
  });

  it("says in words what is wrong before sending", () => {
    const error = (change: Partial<TicketForm>) => {
      const built = toRequest(form(change), AAPL);
      return "error" in built ? built.error : null;
    };
    expect(error({ quantity: "" })).toMatch(/quantity as a number/);
    expect(error({ quantity: "0" })).toMatch(/greater than zero/);
    expect(error({ quantity: "1.5" })).toMatch(/lot size/);
    expect(error({ type: "LIMIT", quantity: "1", limitPrice: "190.001" })).toMatch(/tick size, 0.01/);
    expect(error({ type: "LIMIT", quantity: "1" })).toMatch(/limit price/);
    expect(error({ type: "STOP", quantity: "1", stopPrice: "-3" })).toMatch(/stop price/);
    expect(error({ type: "TRAILING_STOP", quantity: "1", trailKind: "percent", trail: "100" })).toMatch(/below 100/);
    expect(error({ type: "STOP", quantity: "1", stopPrice: "5", postOnly: true })).toMatch(/post-only/);
    expect(error({ quantity: "1e3" })).toMatch(/as a number/);
    expect(error({ type: "STOP", quantity: "1", stopPrice: "5", timeInForce: "OPG" })).toMatch(/market and limit orders/);
    expect(error({ sizing: "notional", notional: "100", timeInForce: "CLS" })).toMatch(/sized by quantity/);
  });

  it("makes orders for the open and the close", () => {
    expect(toRequest(form({ quantity: "2", timeInForce: "OPG" }), AAPL)).toEqual({
      request: { symbol: "MOCKAAPL", side: "BUY", type: "MARKET", quantity: "2", timeInForce: "OPG" },
    });
    expect(toRequest(form({ type: "LIMIT", quantity: "1", limitPrice: "190", timeInForce: "CLS" }), AAPL)).toMatchObject({ request: { timeInForce: "CLS" } });
  });

  it("estimates the cost from the right price and compares it with buying power", () => {
    const quote = { bid: "189.90", ask: "190.10", last: "190" };
    const power = D.of("1000");
    const market = estimate(form({ quantity: "5" }), quote, power)!;
    expect(D.toText(market.amount)).toBe("950.5");
    expect(D.toText(market.buyingPowerAfter)).toBe("49.5");
    expect(market.exceeds).toBe(false);
    const sell = estimate(form({ side: "SELL", quantity: "5" }), quote, power)!;
    expect(D.toText(sell.amount)).toBe("949.5");
    expect(D.toText(sell.buyingPowerAfter)).toBe("1000");
    const limit = estimate(form({ type: "LIMIT", quantity: "6", limitPrice: "180" }), quote, power)!;
    expect(D.toText(limit.amount)).toBe("1080");
    expect(limit.exceeds).toBe(true);
    expect(D.toText(estimate(form({ sizing: "notional", notional: "250" }), quote, power)!.amount)).toBe("250");
    expect(estimate(form({ quantity: "" }), quote, power)).toBeNull();
    expect(estimate(form({ quantity: "5" }), {}, power)).toBeNull();
  });
});
