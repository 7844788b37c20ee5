// The API's errors in words a trader reads: every error the app shows goes through here.

/** An error answer from the API (or the network failing under it). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown = null,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

// Keyed by the codes the API answers (crates/tradecraft/tests/api/web.rs holds each to one
// the server has); `network` is the app's own, for a fetch that failed.
const WORDS: Record<string, string> = {
  insufficient_funds: "Not enough cash: the order costs more than your buying power.",
  insufficient_shares: "Not enough shares: you cannot sell more than you hold (less what open orders reserve).",
  unknown_symbol: "That symbol is not listed.",
  unknown_order: "That order does not exist (or is not yours).",
  unknown_account: "That account does not exist.",
  invalid_quantity: "The quantity must be greater than zero.",
  quantity_off_lot: "The quantity must be a whole number of lots.",
  quantity_below_minimum: "The quantity is below the symbol's minimum.",
  invalid_price: "The price is not valid: prices must be above zero, and a take profit must lie beyond the order's price and a stop loss short of it.",
  price_off_tick: "The price must be on the symbol's tick grid.",
  notional_too_large: "The order is too large.",
  duplicate_client_order_id: "You already used that client order id.",
  idempotency_key_reused: "That request key was already used for a different request.",
  idempotency_key_in_use: "The same request is still being handled: try again in a moment.",
  idempotency_key_applied: "That request already took effect; it was not repeated.",
  instrument_halted: "Trading in this symbol is halted.",
  market_closed: "The market is closed: orders that must trade at once (IOC, FOK), post-only orders and orders by cash amount wait until it opens; orders good till cancelled or for the day are queued for the open.",
  post_only_would_cross: "A post-only order would have traded at once, so it was refused.",
  no_liquidity: "There is nothing on the other side of the book to trade with.",
  no_reference_price: "The symbol has no price yet to base this order on.",
  not_replaceable: "That order can no longer be changed.",
  invalid_credentials: "Wrong email or password.",
  email_taken: "An account with that email already exists.",
  username_taken: "That username is taken: choose another, or leave it empty to be given one.",
  webhook_exists: "You have a webhook for that URL already.",
  price_alert_exists: "You have that alert already, waiting: the same symbol, direction and price.",
  api_key_name_taken: "You have a key of that name already: give this one another name.",
  group_name_taken: "The organisation has a group of that name already.",
  organisation_name_taken: "An organisation of that name exists already.",
  already_shared: "You shared this already: delete that share from your feed in Community to share it again.",
  unauthorized: "Please log in again.",
  forbidden: "You are not allowed to do that.",
  too_many_requests: "Too many requests: wait a moment and try again.",
  recovering: "The exchange is starting up: try again in a moment.",
  unavailable: "The exchange cannot take this right now: try again in a moment.",
  network: "Cannot reach the exchange: check your connection.",
};

const LIMITS: Record<string, string> = {
  trading_disabled: "trading is switched off for you",
  max_order_quantity: "the order's quantity is above your limit",
  max_order_notional: "the order's value is above your limit",
  max_open_orders: "you have as many open orders as you may",
  max_position: "the position would be larger than your limit",
  max_gross_exposure: "your total exposure would be above your limit",
  max_daily_notional: "today's traded value would be above your limit",
  max_daily_loss: "you have reached today's loss limit",
  max_orders_per_minute: "you have placed as many orders this minute as you may",
  max_trades_per_day: "you have made as many trades today as you may",
  symbol_not_allowed: "you may not trade this symbol",
  symbol_blocked: "this symbol is blocked for you",
  order_type_not_allowed: "you may not use this order type",
  outside_trading_hours: "it is outside your trading hours",
  min_share_price: "the share price is below your minimum",
  max_symbol_share: "the position would be too large a share of your portfolio",
};

/** What went wrong, as a sentence. */
export function describe(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.code.startsWith("limit_")) {
      const limit = LIMITS[error.code.slice("limit_".length)];
      return `Refused by a trading limit: ${limit ?? error.code.slice(6).replaceAll("_", " ")}.`;
    }
    const words = WORDS[error.code];
    if (words) return words;
    if (error.message) return sentence(error.message);
    return `The exchange answered ${error.status}.`;
  }
  if (error instanceof Error && error.message) return sentence(error.message);
  return "Something went wrong.";
}

function sentence(text: string): string {
  const trimmed = text.trim();
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}
