import { describe, expect, it } from "vitest";
import { rankedTrader, trail, unescape } from "../src/format";

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
