import { describe, expect, it } from "vitest";
import { rankedTrader, returnPercent, returnTone, trail, unescape } from "../src/format";

describe("unescape", () => {
  it("turns the server's HTML escapes back into the author's text", () => {
    expect(unescape("&lt;b&gt;Ada&lt;/b&gt; &amp; &quot;Bob&quot; &#x27;x&#x27;")).toBe(`<b>Ada</b> & "Bob" 'x'`);
  });
  it("undoes one level only", () => {
    expect(unescape("&amp;lt;")).toBe("&lt;");
    expect(unescape(null)).toBe("");
  });
});

describe("rankedTrader", () => {
  it("names the caller, a public profile, an id an organiser sees, and hides a private profile", () => {
    expect(rankedTrader({ userId: "7", displayName: "Me &amp; Co" }, "7", "You")).toBe("You");
    expect(rankedTrader({ userId: "8", displayName: "Ada &lt;3" }, "7", "You")).toBe("Ada <3");
    expect(rankedTrader({ userId: "9", displayName: null }, "7", "You")).toBe("Trader #9");
    expect(rankedTrader({ userId: null, displayName: null }, "7", "You")).toBe("A private trader");
    expect(rankedTrader({ userId: null }, undefined, "You")).toBe("A private trader");
  });
});

describe("trail", () => {
  it("names a trailing stop's trail by amount or by percent, exactly as given", () => {
    expect(trail({ trailAmount: "2" })).toBe(" (trails 2.00)");
    expect(trail({ trailPercent: "1.25" })).toBe(" (trails 1.25 %)");
  });
  it("is empty for an order without one", () => {
    expect(trail({})).toBe("");
  });
});

describe("returnPercent", () => {
  it("shows two places", () => {
    expect(returnPercent(0.0123)).toBe("1.23%");
    expect(returnPercent(-0.5)).toBe("-50.00%");
    expect(returnPercent(0)).toBe("0.00%");
    expect(returnPercent(null)).toBe("—");
    expect(returnPercent(Number.NaN)).toBe("—");
  });
  it("gives a small non-zero return the places its first two digits need, not 0.00%", () => {
    expect(returnPercent(-1.72e-5)).toBe("-0.0017%");
    expect(returnPercent(4.4e-5)).toBe("0.0044%");
    expect(returnPercent(5.5e-5)).toBe("0.01%");
    expect(returnPercent(1e-4)).toBe("0.01%");
    expect(returnPercent(-0.00123)).toBe("-0.12%");
    expect(returnPercent(-4e-5)).toBe("-0.0040%");
    expect(returnPercent(1e-7)).toBe("0.000010%");
    expect(returnTone(-1.72e-5)).toBe("down");
    expect(returnTone(4.4e-5)).toBe("up");
  });
  it("shows what is below a millionth of a percent as none, without a sign", () => {
    expect(returnPercent(-1e-12)).toBe("0.00%");
    expect(returnTone(-1e-12)).toBe("");
  });
});
