// The order ticket's rules, apart from the page: what the form becomes as a request to
// POST /v1/orders, what is wrong with it before it is sent, and what it should cost.

import * as D from "./decimal";
import type { Instrument } from "./types";

export type Side = "BUY" | "SELL";
export type OrderType = "MARKET" | "LIMIT" | "STOP" | "STOP_LIMIT" | "TRAILING_STOP";
export type TimeInForce = "GTC" | "DAY" | "IOC" | "FOK" | "OPG" | "CLS";

export const ORDER_TYPES: { value: OrderType; label: string }[] = [
  { value: "MARKET", label: "Market" },
  { value: "LIMIT", label: "Limit" },
  { value: "STOP", label: "Stop" },
  { value: "STOP_LIMIT", label: "Stop limit" },
  { value: "TRAILING_STOP", label: "Trailing stop" },
];

export const TIMES_IN_FORCE: { value: TimeInForce; label: string }[] = [
  { value: "GTC", label: "Good till cancelled" },
  { value: "DAY", label: "Day" },
  { value: "IOC", label: "Immediate or cancel" },
  { value: "FOK", label: "Fill or kill" },
  { value: "OPG", label: "At the open" },
  { value: "CLS", label: "At the close" },
];

/** Orders that wait for the session's open or close, then trade at once or not at all. */
export const waitsForSessionEdge = (timeInForce: TimeInForce): boolean => timeInForce === "OPG" || timeInForce === "CLS";

export interface TicketForm {
  side: Side;
  type: OrderType;
  /** Market orders: by quantity, or by cash amount. */
  sizing: "quantity" | "notional";
  quantity: string;
  notional: string;
  limitPrice: string;
  stopPrice: string;
  trailKind: "amount" | "percent";
  trail: string;
  timeInForce: TimeInForce;
  postOnly: boolean;
  /** Exits placed once the order fills (a bracket with both, OTO with one): the take
   *  profit's limit price and the stop loss's stop price. */
  takeProfit: string;
  stopLoss: string;
}

export const EMPTY_TICKET: TicketForm = {
  side: "BUY",
  type: "MARKET",
  sizing: "quantity",
  quantity: "",
  notional: "",
  limitPrice: "",
  stopPrice: "",
  trailKind: "amount",
  trail: "",
  timeInForce: "GTC",
  postOnly: false,
  takeProfit: "",
  stopLoss: "",
};

export interface Quote {
  bid?: string | null;
  ask?: string | null;
  last?: string | null;
}

export interface PlaceOrderRequest {
  symbol: string;
  side: Side;
  type: OrderType;
  quantity?: string;
  notional?: string;
  limitPrice?: string;
  stopPrice?: string;
  trailAmount?: string;
  trailPercent?: string;
  timeInForce: TimeInForce;
  postOnly?: boolean;
  orderClass?: "BRACKET" | "OTO";
  takeProfit?: { limitPrice: string };
  stopLoss?: { stopPrice: string };
}

/** Orders the ticket offers exits for: market and limit orders. */
export const takesExits = (type: OrderType): boolean => type === "MARKET" || type === "LIMIT";

export const needsLimit = (type: OrderType): boolean => type === "LIMIT" || type === "STOP_LIMIT";
export const needsStop = (type: OrderType): boolean => type === "STOP" || type === "STOP_LIMIT";
export const byNotional = (form: TicketForm): boolean => form.type === "MARKET" && form.sizing === "notional";

function positive(text: string, name: string): D.Decimal | string {
  const value = D.parse(text);
  if (!value) return `Enter the ${name} as a number.`;
  if (D.compare(value, D.ZERO) <= 0) return `The ${name} must be greater than zero.`;
  return value;
}

/** The request the form makes, or the first thing wrong with it in words. */
export function toRequest(form: TicketForm, instrument: Instrument): { request: PlaceOrderRequest } | { error: string } {
  const request: PlaceOrderRequest = { symbol: instrument.symbol, side: form.side, type: form.type, timeInForce: form.timeInForce };
  if (byNotional(form)) {
    const notional = positive(form.notional, "amount");
    if (typeof notional === "string") return { error: notional };
    request.notional = D.toText(notional);
  } else {
    const quantity = positive(form.quantity, "quantity");
    if (typeof quantity === "string") return { error: quantity };
    const lot = D.of(instrument.lotSize);
    if (!D.onGrid(quantity, lot)) return { error: `The quantity must be a multiple of the lot size, ${instrument.lotSize}.` };
    if (D.compare(quantity, D.of(instrument.minQuantity)) < 0) return { error: `The smallest quantity is ${instrument.minQuantity}.` };
    request.quantity = D.toText(quantity);
  }
  const tick = D.of(instrument.tickSize);
  const price = (text: string, name: string): string | { error: string } => {
    const value = positive(text, name);
    if (typeof value === "string") return { error: value };
    if (!D.onGrid(value, tick)) return { error: `The ${name} must be a multiple of the tick size, ${instrument.tickSize}.` };
    return D.toText(value);
  };
  if (needsLimit(form.type)) {
    const limit = price(form.limitPrice, "limit price");
    if (typeof limit !== "string") return limit;
    request.limitPrice = limit;
  }
  if (needsStop(form.type)) {
    const stop = price(form.stopPrice, "stop price");
    if (typeof stop !== "string") return stop;
    request.stopPrice = stop;
  }
  if (form.type === "TRAILING_STOP") {
    if (form.trailKind === "amount") {
      const trail = price(form.trail, "trail amount");
      if (typeof trail !== "string") return trail;
      request.trailAmount = trail;
    } else {
      const trail = positive(form.trail, "trail percentage");
      if (typeof trail === "string") return { error: trail };
      if (D.compare(trail, D.of("100")) >= 0) return { error: "The trail percentage must be below 100." };
      request.trailPercent = D.toText(trail);
    }
  }
  if (waitsForSessionEdge(form.timeInForce)) {
    if (form.type !== "MARKET" && form.type !== "LIMIT") return { error: "Only market and limit orders can wait for the open or close." };
    if (byNotional(form)) return { error: "An order for the open or close is sized by quantity." };
    if (form.postOnly) return { error: "An order for the open or close cannot be post-only." };
  }
  if (form.postOnly) {
    if (form.type !== "LIMIT") return { error: "Only a limit order can be post-only." };
    request.postOnly = true;
  }
  const [takeText, stopText] = [form.takeProfit.trim(), form.stopLoss.trim()];
  if (takeText || stopText) {
    if (!takesExits(form.type)) return { error: "Exits go with a market or limit order." };
    if (byNotional(form)) return { error: "An order with exits is sized by quantity." };
    if (waitsForSessionEdge(form.timeInForce)) return { error: "An order for the open or close cannot have exits." };
    if (takeText) {
      const take = price(takeText, "take-profit price");
      if (typeof take !== "string") return take;
      request.takeProfit = { limitPrice: take };
    }
    if (stopText) {
      const stop = price(stopText, "stop-loss price");
      if (typeof stop !== "string") return stop;
      request.stopLoss = { stopPrice: stop };
    }
    if (request.takeProfit && request.stopLoss) {
      // The exits sell after a buy (take profit above the stop) and buy after a sell.
      const above = D.compare(D.of(request.takeProfit.limitPrice), D.of(request.stopLoss.stopPrice)) > 0;
      if (form.side === "BUY" && !above) return { error: "After a buy, the take profit must be above the stop loss." };
      if (form.side === "SELL" && above) return { error: "After a sell, the take profit must be below the stop loss." };
    }
    if (request.limitPrice) {
      // And on either side of the entry's limit: a buy's take profit above it, its stop
      // loss below; a sell's the other way round.
      const limit = D.of(request.limitPrice);
      const way = form.side === "BUY" ? 1 : -1;
      const [profit, loss] = form.side === "BUY" ? ["above", "below"] : ["below", "above"];
      if (request.takeProfit && Math.sign(D.compare(D.of(request.takeProfit.limitPrice), limit)) !== way) {
        return { error: `The take profit must be ${profit} the limit price, ${request.limitPrice}.` };
      }
      if (request.stopLoss && Math.sign(D.compare(limit, D.of(request.stopLoss.stopPrice))) !== way) {
        return { error: `The stop loss must be ${loss} the limit price, ${request.limitPrice}.` };
      }
    }
    request.orderClass = request.takeProfit && request.stopLoss ? "BRACKET" : "OTO";
  }
  return { request };
}

/** The price an order is likely to trade at, for the estimate. */
export function estimatePrice(form: TicketForm, quote: Quote): D.Decimal | null {
  switch (form.type) {
    case "LIMIT":
    case "STOP_LIMIT":
      return D.parse(form.limitPrice);
    case "STOP":
      return D.parse(form.stopPrice);
    default: {
      // A market or trailing order pays the other side of the book.
      const touch = form.side === "BUY" ? quote.ask : quote.bid;
      return D.parse(touch) ?? D.parse(quote.last);
    }
  }
}

export interface Estimate {
  /** What a buy costs or a sell brings in, before fees. */
  amount: D.Decimal;
  /** Buying power after a buy (less for a buy; unchanged by a sell until it fills). */
  buyingPowerAfter: D.Decimal;
  /** The buy costs more than the buying power. */
  exceeds: boolean;
}

/** The estimate shown before submitting; `null` until the form has what it needs. */
export function estimate(form: TicketForm, quote: Quote, buyingPower: D.Decimal): Estimate | null {
  let amount: D.Decimal | null;
  if (byNotional(form)) {
    amount = D.parse(form.notional);
  } else {
    const quantity = D.parse(form.quantity);
    const price = estimatePrice(form, quote);
    amount = quantity && price ? D.mul(quantity, price) : null;
  }
  if (!amount || D.compare(amount, D.ZERO) <= 0) return null;
  const buyingPowerAfter = form.side === "BUY" ? D.sub(buyingPower, amount) : buyingPower;
  return { amount, buyingPowerAfter, exceeds: form.side === "BUY" && D.compare(amount, buyingPower) > 0 };
}
