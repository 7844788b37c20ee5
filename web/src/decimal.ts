// Exact decimals for money, prices and quantities: the API sends them as strings and the
// app never does money arithmetic in floating point. A value is an integer count of
// 10^-scale units (BigInt).

export interface Decimal {
  readonly units: bigint;
  readonly scale: number;
}

const PATTERN = /^(-)?(\d+)(?:\.(\d+))?$/;

/** Parses decimal text ("12", "-0.5", "190.10"); `null` for anything else. */
export function parse(text: string | null | undefined): Decimal | null {
  if (text == null) return null;
  const match = PATTERN.exec(text.trim());
  if (!match) return null;
  const [, sign, whole, fraction = ""] = match;
  const units = BigInt(`${whole}${fraction}`);
  return { units: sign ? -units : units, scale: fraction.length };
}

function rescale(value: Decimal, scale: number): bigint {
  return value.units * 10n ** BigInt(scale - value.scale);
}

export function add(a: Decimal, b: Decimal): Decimal {
  const scale = Math.max(a.scale, b.scale);
  return { units: rescale(a, scale) + rescale(b, scale), scale };
}

export function sub(a: Decimal, b: Decimal): Decimal {
  return add(a, { units: -b.units, scale: b.scale });
}

export function mul(a: Decimal, b: Decimal): Decimal {
  return { units: a.units * b.units, scale: a.scale + b.scale };
}

/** `a / b` to `scale` places, rounded half away from zero; `null` when `b` is zero. */
export function div(a: Decimal, b: Decimal, scale: number): Decimal | null {
  if (b.units === 0n) return null;
  // a/b = (a.units / 10^a.scale) / (b.units / 10^b.scale); scaled by 10^scale.
  const numerator = a.units * 10n ** BigInt(scale + b.scale);
  const denominator = b.units * 10n ** BigInt(a.scale);
  const negative = numerator < 0n !== denominator < 0n;
  const n = numerator < 0n ? -numerator : numerator;
  const d = denominator < 0n ? -denominator : denominator;
  let quotient = n / d;
  if ((n % d) * 2n >= d) quotient += 1n;
  return { units: negative ? -quotient : quotient, scale };
}

export function compare(a: Decimal, b: Decimal): number {
  const scale = Math.max(a.scale, b.scale);
  const difference = rescale(a, scale) - rescale(b, scale);
  return difference < 0n ? -1 : difference > 0n ? 1 : 0;
}

export function isZero(value: Decimal): boolean {
  return value.units === 0n;
}

/** Rounds to `places` decimals, half away from zero. */
export function round(value: Decimal, places: number): Decimal {
  if (value.scale <= places) return { units: rescale(value, places), scale: places };
  const factor = 10n ** BigInt(value.scale - places);
  const negative = value.units < 0n;
  const magnitude = negative ? -value.units : value.units;
  let units = magnitude / factor;
  if ((magnitude % factor) * 2n >= factor) units += 1n;
  return { units: negative ? -units : units, scale: places };
}

/** Plain text: no exponent, no trailing zeros beyond `minPlaces`. */
export function toText(value: Decimal, minPlaces = 0): string {
  const negative = value.units < 0n;
  const digits = (negative ? -value.units : value.units).toString().padStart(value.scale + 1, "0");
  const whole = value.scale ? digits.slice(0, -value.scale) : digits;
  let fraction = value.scale ? digits.slice(-value.scale).replace(/0+$/, "") : "";
  if (fraction.length < minPlaces) fraction = fraction.padEnd(minPlaces, "0");
  const text = fraction ? `${whole}.${fraction}` : whole;
  return negative ? `-${text}` : text;
}

/** With thousands separators and exactly `places` decimals (money: 2). */
export function format(value: Decimal, places = 2): string {
  const text = toText(round(value, places), places);
  const [whole = "0", fraction] = text.replace("-", "").split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const sign = text.startsWith("-") ? "-" : "";
  return fraction ? `${sign}${grouped}.${fraction}` : `${sign}${grouped}`;
}

/** A display-only float (chart coordinates); never used for money arithmetic. */
export function toNumber(value: Decimal): number {
  return Number(toText(value));
}

export const ZERO: Decimal = { units: 0n, scale: 0 };

/** `parse` or zero. */
export function of(text: string | null | undefined): Decimal {
  return parse(text) ?? ZERO;
}

/** Whether `value` is a whole number of `step`s (a tick or lot grid). */
export function onGrid(value: Decimal, step: Decimal): boolean {
  if (isZero(step)) return true;
  const scale = Math.max(value.scale, step.scale);
  return rescale(value, scale) % rescale(step, scale) === 0n;
}
