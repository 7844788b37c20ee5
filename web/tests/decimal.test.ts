import { describe, expect, it } from "vitest";
import * as D from "../src/decimal";

const d = (text: string) => {
  const value = D.parse(text);
  if (!value) throw new Error(`not a decimal: ${text}`);
  return value;
};

describe("decimal", () => {
  it("parses what the API sends and nothing else", () => {
    expect(D.toText(d("190.10"))).toBe("190.1");
    expect(D.toText(d("-0.5"))).toBe("-0.5");
    expect(D.toText(d("0"))).toBe("0");
    for (const bad of ["", "1e5", "1.", ".5", "abc", "1,000", "--1", null, undefined]) expect(D.parse(bad as string)).toBeNull();
  });

  it("adds money exactly where floating point does not", () => {
    expect(0.1 + 0.2).not.toBe(0.3);
    expect(D.toText(D.add(d("0.1"), d("0.2")))).toBe("0.3");
    expect(D.toText(D.sub(d("100000"), d("99999.99")))).toBe("0.01");
    expect(D.toText(D.mul(d("190.06"), d("37")))).toBe("7032.22");
    expect(D.toText(D.mul(d("0.1"), d("3")))).toBe("0.3");
  });

  it("divides and rounds half away from zero", () => {
    expect(D.toText(D.div(d("10"), d("4"), 2)!)).toBe("2.5");
    expect(D.toText(D.div(d("2"), d("3"), 4)!)).toBe("0.6667");
    expect(D.toText(D.div(d("-2"), d("3"), 4)!)).toBe("-0.6667");
    expect(D.div(d("1"), d("0"), 2)).toBeNull();
    expect(D.toText(D.round(d("2.345"), 2))).toBe("2.35");
    expect(D.toText(D.round(d("-2.345"), 2))).toBe("-2.35");
  });

  it("formats with separators and fixed places", () => {
    expect(D.format(d("1234567.891"), 2)).toBe("1,234,567.89");
    expect(D.format(d("-1234.5"), 2)).toBe("-1,234.50");
    expect(D.format(d("0.004"), 2)).toBe("0.00");
    expect(D.format(d("999.999"), 2)).toBe("1,000.00");
  });

  it("compares and checks grids", () => {
    expect(D.compare(d("1.50"), d("1.5"))).toBe(0);
    expect(D.compare(d("-1"), d("0.001"))).toBe(-1);
    expect(D.onGrid(d("190.05"), d("0.01"))).toBe(true);
    expect(D.onGrid(d("190.055"), d("0.01"))).toBe(false);
    expect(D.onGrid(d("15"), d("5"))).toBe(true);
    expect(D.onGrid(d("12"), d("5"))).toBe(false);
  });
});
