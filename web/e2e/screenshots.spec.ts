// Screenshots of every page at desktop and phone width, written to docs/screenshots/ (the
// README shows them). Each page is also checked to render without an error.

import { expect, test, type Page } from "@playwright/test";
import { join, resolve } from "node:path";
import { call, logIn, makeAdmin, register, url, watchConsole } from "./helpers";

const OUT = resolve(import.meta.dirname, "..", "..", "docs", "screenshots");

const PAGES: { name: string; path: string; ready: (page: Page) => Promise<void> }[] = [
  { name: "markets", path: "/#/markets", ready: async (page) => expect(page.locator('tr[data-symbol="MOCKAAPL"] [data-testid="last-price"]')).not.toHaveText("—") },
  { name: "symbol", path: "/#/symbol/MOCKAAPL", ready: async (page) => expect(page.getByTestId("ladder")).toBeVisible() },
  { name: "portfolio", path: "/#/portfolio", ready: async (page) => expect(page.getByTestId("positions")).toBeVisible() },
  { name: "orders", path: "/#/orders", ready: async (page) => expect(page.getByTestId("open-orders")).toBeVisible() },
  { name: "leaderboard", path: "/#/leaderboard", ready: async (page) => expect(page.getByRole("heading", { name: "Leaderboard" })).toBeVisible() },
  { name: "alerts", path: "/#/alerts", ready: async (page) => expect(page.getByTestId("limits")).toBeVisible() },
  { name: "community", path: "/#/community", ready: async (page) => expect(page.getByTestId("feed").locator("li.share").first()).toBeVisible() },
  { name: "contests", path: "/#/contests", ready: async (page) => expect(page.getByTestId("paper-accounts")).toBeVisible() },
  { name: "notifications", path: "/#/notifications", ready: async (page) => expect(page.getByTestId("notifications").locator("li").first()).toBeVisible() },
  { name: "api-keys", path: "/#/keys", ready: async (page) => expect(page.getByRole("heading", { name: "API keys" })).toBeVisible() },
  { name: "admin", path: "/#/admin", ready: async (page) => expect(page.getByTestId("organisations")).toContainText("Riverside High") },
];

test("every page renders at desktop and phone width", async ({ page }) => {
  test.setTimeout(120_000);
  const errors = watchConsole(page);
  const trader = await makeAdmin(await register());
  // Some history to show: fills in three symbols, a resting order, a key.
  for (const [symbol, quantity] of [
    ["MOCKAAPL", "10"],
    ["MOCKMSFT", "6"],
    ["MOCKNVDA", "4"],
  ] as const) {
    await call("POST", "/v1/orders", { symbol, side: "BUY", type: "MARKET", quantity }, trader.accessToken);
  }
  await call("POST", "/v1/orders", { symbol: "MOCKAAPL", side: "SELL", type: "MARKET", quantity: "3" }, trader.accessToken);
  const book = await call<{ bids: { price: string }[] }>("GET", "/v1/market/MOCKAAPL/orderbook?depth=1");
  const below = (Math.floor(Number(book.bids[0]?.price ?? "100") * 97) / 100).toFixed(2);
  await call("POST", "/v1/orders", { symbol: "MOCKAAPL", side: "BUY", type: "LIMIT", quantity: "2", limitPrice: below }, trader.accessToken);
  await call("POST", "/v1/api-keys", { name: "my bot", scopes: ["read", "trade"] }, trader.accessToken);
  // A public profile sharing an order, a contest joined, a price alert.
  await call("PUT", "/v1/me/profile", { displayName: "Ada Lovelace", bio: "Momentum, mostly large caps.", public: true }, trader.accessToken);
  const orders = await call<{ orders: { orderId: string }[] }>("GET", "/v1/orders?status=FILLED&limit=5", undefined, trader.accessToken);
  const first = orders.orders[0]?.orderId;
  if (first) await call("POST", `/v1/orders/${first}/share`, { comment: "Adding on the pullback." }, trader.accessToken);
  const now = Date.now();
  const contest = await call<{ contestId: string }>(
    "POST",
    "/v1/contests",
    {
      name: "Autumn cup", description: "Large caps only, two weeks.", startingCash: "25000",
      registrationStart: new Date(now - 60_000).toISOString(), registrationEnd: new Date(now + 7 * 86_400_000).toISOString(),
      tradingStart: new Date(now + 86_400_000).toISOString(), tradingEnd: new Date(now + 15 * 86_400_000).toISOString(),
    },
    trader.accessToken,
  );
  await call("POST", `/v1/contests/${contest.contestId}/join`, {}, trader.accessToken);
  await call("POST", "/v1/price-alerts", { symbol: "MOCKAAPL", direction: "ABOVE", price: "500" }, trader.accessToken);
  // A school with a class, for the Admin page's list of organisations.
  const school = await call<{ organisationId: string }>("POST", "/v1/organisations", { name: "Riverside High" }, trader.accessToken);
  await call("POST", `/v1/organisations/${school.organisationId}/groups`, { name: "Year 10 economics" }, trader.accessToken);
  await call("PUT", `/v1/organisations/${school.organisationId}/members/${trader.userId}`, { role: "org_admin" }, trader.accessToken);

  await logIn(page, trader);
  for (const [width, height, label] of [
    [1280, 860, "desktop"],
    [390, 844, "phone"],
  ] as const) {
    await page.setViewportSize({ width, height });
    for (const shot of PAGES) {
      await page.goto(url(shot.path));
      await shot.ready(page);
      // Let live prices tick (the simulator moves every second) and charts settle.
      await page.waitForTimeout(shot.name === "markets" ? 5_000 : 600);
      await page.screenshot({ path: join(OUT, `${shot.name}-${label}.png`), fullPage: label === "desktop" });
    }
  }
  // And one page in the dark theme.
  await page.setViewportSize({ width: 1280, height: 860 });
  await page.goto(url("/#/symbol/MOCKAAPL"));
  await page.getByRole("button", { name: "Use the dark theme" }).click();
  await page.reload();
  await expect(page.getByTestId("ladder")).toBeVisible();
  await page.waitForTimeout(600);
  await page.screenshot({ path: join(OUT, "symbol-dark.png"), fullPage: true });
  // And, logged out, the page that sets a forgotten password with a reset code.
  await page.getByRole("button", { name: "Use the light theme" }).click();
  await page.getByRole("button", { name: "Log out" }).click();
  // Logging out ends on the log-in page once the server has answered: wait for it, or it
  // would move the page away from the one opened next.
  await expect(page).toHaveURL(/#\/login$/);
  for (const [width, height, label] of [
    [1280, 860, "desktop"],
    [390, 844, "phone"],
  ] as const) {
    await page.setViewportSize({ width, height });
    await page.goto(url("/#/reset"));
    await expect(page.getByRole("form", { name: "Set a new password" })).toBeVisible();
    await expect(page.getByTestId("connection")).toHaveCount(0, { timeout: 15_000 });
    await page.screenshot({ path: join(OUT, `reset-${label}.png`) });
  }
  expect(errors).toEqual([]);
});

test("the app says when the exchange refuses, and works from the keyboard", async ({ page }) => {
  const errors = watchConsole(page);
  await page.goto(url("/#/login"));
  await page.getByLabel("Email").fill("nobody@example.com");
  await page.getByLabel("Password").fill("wrong password");
  await page.locator("main").getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("alert")).toContainText("Wrong email or password");
  // Keyboard: the skip link and the navigation are reachable with Tab.
  await page.goto(url("/#/markets"));
  await page.reload();
  await expect(page.getByRole("heading", { name: "Markets" })).toBeVisible();
  await page.keyboard.press("Tab");
  await expect(page.getByText("Skip to content")).toBeFocused();
  await page.keyboard.press("Tab");
  await expect(page.getByRole("link", { name: /TradeCraft/ })).toBeFocused();
  expect(errors).toEqual([]);
});
