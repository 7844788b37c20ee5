// How numbers and times read on screen. Money and quantities stay exact (decimal text).

import * as D from "./decimal";

export function money(text: string | null | undefined, places = 2): string {
  const value = D.parse(text);
  return value ? D.format(value, places) : "—";
}

/** A price as the exchange states it, at least 2 places. */
export function price(text: string | null | undefined): string {
  const value = D.parse(text);
  if (!value) return "—";
  return D.format(value, Math.max(2, Math.min(value.scale, 8)));
}

export function quantity(text: string | null | undefined): string {
  const value = D.parse(text);
  return value ? D.format(value, Math.min(value.scale, 8)) : "—";
}

/** A signed amount: "+1,234.50" or "-12.00". */
export function signed(value: D.Decimal | null): string {
  if (!value) return "—";
  const text = D.format(value, 2);
  return value.units > 0n ? `+${text}` : text;
}

/** A ratio (0.0123) as a percentage ("1.23%"); figures such as returns are not money. */
export function percent(ratio: number | null | undefined, places = 2): string {
  if (ratio == null || !Number.isFinite(ratio)) return "—";
  const text = (ratio * 100).toFixed(places);
  // A tiny loss rounds to zero: no "-0.00%".
  return `${/^-0\.?0*$/.test(text) ? text.slice(1) : text}%`;
}

/** The colour of a ratio as `percent` shows it: a loss that rounds to 0.00% is not red. */
export function percentTone(ratio: number | null | undefined, places = 2): "up" | "down" | "" {
  const shown = percent(ratio, places);
  return shown === "—" ? "" : tone(shown.slice(0, -1));
}

/** The most places `returnPercent` gives (a cent in a million is 0.000001%). */
const RETURN_PLACES_MAX = 6;

/** A return or drawdown as a percentage: two places, or, for one that is not zero but
 * would show as 0.00%, the places its first two significant digits need (-0.0017%, up to
 * six), so a small loss or gain is not shown as none and two rows of a ranking can be
 * told apart. (A price's change keeps two places, as brokers show it: `percent`.) */
export function returnPercent(ratio: number | null | undefined): string {
  if (ratio == null || !Number.isFinite(ratio)) return "—";
  const value = Math.abs(ratio * 100);
  if (value === 0 || Number(value.toFixed(2)) !== 0) return percent(ratio);
  const needed = Math.min(RETURN_PLACES_MAX, 1 - Math.floor(Math.log10(value)));
  return percent(ratio, Number(value.toFixed(needed)) === 0 ? 2 : needed);
}

/** The colour of a return as `returnPercent` shows it. */
export function returnTone(ratio: number | null | undefined): "up" | "down" | "" {
  const shown = returnPercent(ratio);
  return shown === "—" ? "" : tone(shown.slice(0, -1));
}

export function ratio(value: number | null | undefined): string {
  return value == null || !Number.isFinite(value) ? "—" : value.toFixed(2);
}

export function time(iso: string | null | undefined): string {
  if (!iso) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

export function clock(iso: string | null | undefined): string {
  if (!iso) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleTimeString();
}

/** Upper-case API words as people write them: "PARTIALLY_FILLED" -> "Partially filled". */
export function words(text: string | null | undefined): string {
  if (!text) return "—";
  const lower = text.replaceAll("_", " ").toLowerCase();
  return lower.charAt(0).toUpperCase() + lower.slice(1);
}

/** Which way a signed decimal points, for colouring. */
export function tone(text: string | null | undefined | D.Decimal): "up" | "down" | "" {
  const value = typeof text === "object" && text !== null ? text : D.parse(text as string | null | undefined);
  if (!value || value.units === 0n) return "";
  return value.units > 0n ? "up" : "down";
}

/** Text the server HTML-escaped (user-written text), back to what its author wrote;
 * React escapes it again when rendering. */
export function unescape(text: string | null | undefined): string {
  if (!text) return "";
  return text.replace(/&(lt|gt|quot|#x27|amp);/g, (_, entity: string) => ({ lt: "<", gt: ">", quot: '"', "#x27": "'", amp: "&" })[entity] ?? "");
}

/**
 * Who a ranked line is, as the server lets the caller see it: `you` for the caller's own,
 * a public profile's display name, `Trader #id` where only the id is shown (an organiser's
 * view), and "A private trader" for someone else's private profile (no id, no name).
 */
export function rankedTrader(line: { userId: string | null; displayName?: string | null }, me: string | undefined, you: string): string {
  if (line.userId !== null && line.userId === me) return you;
  if (line.displayName) return unescape(line.displayName);
  return line.userId === null ? "A private trader" : `Trader #${line.userId}`;
}

/** A trailing stop's trail as placed, for beside its type: " (trails 2.00)" or " (trails 5 %)"; "" for any other order. */
export function trail(order: { trailAmount?: string; trailPercent?: string }): string {
  if (order.trailAmount) return ` (trails ${price(order.trailAmount)})`;
  if (order.trailPercent) return ` (trails ${quantity(order.trailPercent)} %)`;
  return "";
}
