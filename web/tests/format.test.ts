import { describe, expect, it } from "vitest";
import { unescape } from "../src/format";

describe("unescape", () => {
  it("turns the server's HTML escapes back into the author's text", () => {
    expect(unescape("&lt;b&gt;Ada&lt;/b&gt; &amp; &quot;Bob&quot; &#x27;x&#x27;")).toBe(`<b>Ada</b> & "Bob" 'x'`);
  });
  it("undoes one level only", () => {
    expect(unescape("&amp;lt;")).toBe("&lt;");
    expect(unescape(null)).toBe("");
  });
});
