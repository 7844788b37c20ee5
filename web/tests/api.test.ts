import { describe, expect, it } from "vitest";
import { Client, needsRefresh, sessionOf, withQuery } from "../src/api";
import { ApiError, describe as words } from "../src/errors";
import { parseRoute } from "../src/router";

class MemoryStorage {
  readonly items = new Map<string, string>();
  getItem(key: string) {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string) {
    this.items.set(key, value);
  }
  removeItem(key: string) {
    this.items.delete(key);
  }
}

const tokens = (access: string, refresh: string, expiresIn = 900) => ({ userId: "7", role: "trader", tokenType: "Bearer", accessToken: access, expiresIn, refreshToken: refresh });
const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

/** A fetch that answers from `routes` and records what it was asked. */
function server(routes: (path: string, init: RequestInit) => Response) {
  const calls: { path: string; authorization: string | null; body: unknown }[] = [];
  const fetcher = (async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const path = String(input);
    const headers = (init.headers ?? {}) as Record<string, string>;
    calls.push({ path, authorization: headers.authorization ?? null, body: init.body ? JSON.parse(String(init.body)) : null });
    return routes(path, init);
  }) as typeof fetch;
  return { fetcher, calls };
}

describe("API client", () => {
  it("logs in, keeps the session and sends the token", async () => {
    const { fetcher, calls } = server((path) => (path === "/v1/auth/login" ? json(200, tokens("a1", "r1")) : json(200, { ok: true })));
    const storage = new MemoryStorage();
    const client = new Client("", storage, fetcher);
    await client.login("t@example.com", "password1");
    await client.get("/v1/portfolio/7");
    expect(calls[1]).toMatchObject({ path: "/v1/portfolio/7", authorization: "Bearer a1" });
    expect(new Client("", storage, fetcher).current()?.accessToken).toBe("a1");
  });

  it("refreshes once on a 401 and retries with the new token", async () => {
    let refreshed = 0;
    const { fetcher, calls } = server((path, init) => {
      const auth = (init.headers as Record<string, string>).authorization;
      if (path === "/v1/auth/login") return json(200, tokens("old", "r1"));
      if (path === "/v1/auth/refresh") {
        refreshed += 1;
        return json(200, tokens("new", "r2"));
      }
      return auth === "Bearer new" ? json(200, { value: 1 }) : json(401, { error: { code: "unauthorized", message: "expired" } });
    });
    const client = new Client("", new MemoryStorage(), fetcher);
    await client.login("t@example.com", "password1");
    const [a, b] = await Promise.all([client.get<{ value: number }>("/v1/a"), client.get<{ value: number }>("/v1/b")]);
    expect(a.value + b.value).toBe(2);
    expect(refreshed).toBe(1);
    expect(client.current()?.refreshToken).toBe("r2");
    expect(calls.find((call) => call.path === "/v1/auth/refresh")?.body).toEqual({ refreshToken: "r1" });
  });

  it("ends the session when the refresh token is refused", async () => {
    const { fetcher } = server((path) => {
      if (path === "/v1/auth/login") return json(200, tokens("old", "r1"));
      return json(401, { error: { code: "unauthorized", message: "no" } });
    });
    const client = new Client("", new MemoryStorage(), fetcher);
    await client.login("t@example.com", "password1");
    await expect(client.get("/v1/a")).rejects.toMatchObject({ status: 401 });
    expect(client.current()).toBeNull();
  });

  it("refreshes before use when the token is about to expire", () => {
    const session = sessionOf(tokens("a", "r", 900), "t@example.com", 0);
    expect(needsRefresh(session, 0)).toBe(false);
    expect(needsRefresh(session, 850_000)).toBe(true);
  });

  it("turns error bodies and network failures into ApiErrors in words", async () => {
    const { fetcher } = server(() => json(402, { error: { code: "insufficient_funds", message: "rejected: insufficient funds" } }));
    const client = new Client("", new MemoryStorage(), fetcher);
    const error = await client.post("/v1/orders", {}).catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(ApiError);
    expect(words(error)).toMatch(/Not enough cash/);
    const offline = new Client("", new MemoryStorage(), (async () => {
      throw new TypeError("fetch failed");
    }) as typeof fetch);
    expect(words(await offline.get("/v1/x").catch((failure: unknown) => failure))).toMatch(/Cannot reach the exchange/);
    expect(words(new ApiError(403, "limit_max_open_orders", "rejected"))).toBe("Refused by a trading limit: you have as many open orders as you may.");
    expect(words(new ApiError(400, "invalid_field", "quantity: must be positive"))).toBe("Quantity: must be positive.");
    expect(words(new ApiError(500, "http_500", ""))).toBe("The exchange answered 500.");
    expect(words(new ApiError(429, "too_many_requests", "too many requests; retry in 1 s"))).toBe("Too many requests: wait a moment and try again.");
    expect(words(new ApiError(409, "idempotency_key_reused", "this X-Idempotency-Key was used for another request"))).toMatch(/already used for a different request/);
  });

  it("builds query strings without empty parameters", () => {
    expect(withQuery("/v1/orders", { status: "OPEN", symbol: "", limit: 25, pageToken: null })).toBe("/v1/orders?status=OPEN&limit=25");
    expect(withQuery("/v1/x")).toBe("/v1/x");
  });

  it("routes by the fragment", () => {
    expect(parseRoute("")).toEqual({ page: "markets", parameter: null });
    expect(parseRoute("#/symbol/MOCKAAPL")).toEqual({ page: "symbol", parameter: "MOCKAAPL" });
    expect(parseRoute("#/orders")).toEqual({ page: "orders", parameter: null });
  });
});

describe("formatting", async () => {
  const { percent, percentTone, money, signed } = await import("../src/format");
  const D = await import("../src/decimal");
  it("never shows a negative zero and keeps money exact", () => {
    expect(percent(-0.000001)).toBe("0.00%");
    expect(percent(-0.0123)).toBe("-1.23%");
    expect(percent(null)).toBe("—");
    // Coloured as shown: a loss that rounds to 0.00% is neither red nor green.
    expect(percentTone(-0.000001)).toBe("");
    expect(percentTone(-0.0123)).toBe("down");
    expect(percentTone(0.0001)).toBe("up");
    expect(percentTone(null)).toBe("");
    expect(money("1234567.005")).toBe("1,234,567.01");
    expect(money(null)).toBe("—");
    expect(signed(D.of("12.5"))).toBe("+12.50");
    expect(signed(D.of("-0.01"))).toBe("-0.01");
  });
});

describe("price changes", async () => {
  const { changeOf } = await import("../src/market");
  const ticker = (change24h: string, changePercent24h: string) => ({ symbol: "MOCKMETA", volume24h: "0", change24h, changePercent24h });
  it("are coloured as the percentage shown, on the markets list and a symbol's page alike", () => {
    // 500.16 to 500.15 is -0.002%: shown 0.00%, neither red nor green.
    expect(changeOf(null, "500.16", "500.15")).toEqual({ text: "0.00%", tone: "" });
    expect(changeOf(ticker("-0.01", "-0.0019994"), null, null)).toEqual({ text: "0.00%", tone: "" });
    expect(changeOf(ticker("0.01", "0.0019994"), null, null)).toEqual({ text: "0.00%", tone: "" });
    expect(changeOf(ticker("-0.19", "-0.1"), null, null)).toEqual({ text: "-0.10%", tone: "down" });
    expect(changeOf(null, "100", "101.5")).toEqual({ text: "1.50%", tone: "up" });
    expect(changeOf(null, null, "101.5")).toBeNull();
    expect(changeOf(null, "0", "101.5")).toBeNull();
  });
});
