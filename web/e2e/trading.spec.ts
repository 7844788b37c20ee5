import { expect, test } from "@playwright/test";
import { call, email, logIn, paced, PASSWORD, register, url, watchConsole } from "./helpers";
import { ADMIN_KEY } from "./server";

test("a trader signs up, watches prices move, buys, rests and cancels a limit order, is refused, and logs out", async ({ page }) => {
  const errors = watchConsole(page);
  await page.goto(url("/#/signup"));
  await page.getByLabel("Email").fill(email());
  await page.getByLabel("Password").fill(PASSWORD);
  await page.locator("main").getByRole("button", { name: "Sign up" }).click();
  await expect(page.getByRole("heading", { name: "Markets" })).toBeVisible();

  // Live prices move (the simulator ticks every second; pushed on prices:{SYM}).
  const last = page.locator('tr[data-symbol="MOCKAAPL"] [data-testid="last-price"]');
  await expect(last).not.toHaveText("—");
  const first = await last.textContent();
  await expect.poll(async () => last.textContent(), { timeout: 20_000 }).not.toBe(first);
  await expect(page.getByTestId("connection")).toHaveCount(0);
  // Starring a symbol moves it to the top of the watchlist, and it stays there.
  await page.getByRole("button", { name: "Add MOCKNFLX to the watchlist" }).click();
  await expect(page.locator("table.watchlist tbody tr").first()).toHaveAttribute("data-symbol", "MOCKNFLX");
  await page.reload();
  await expect(page.locator("table.watchlist tbody tr").first()).toHaveAttribute("data-symbol", "MOCKNFLX");

  // A market buy fills against the book.
  await page.getByRole("link", { name: "MOCKAAPL" }).click();
  await expect(page.getByRole("heading", { name: "MOCKAAPL" })).toBeVisible();
  await expect(page.getByTestId("buying-power")).toHaveText("100,000.00");
  await page.getByLabel("Quantity", { exact: true }).fill("5");
  await expect(page.getByTestId("estimate")).toContainText("Estimated cost");
  await page.getByRole("button", { name: "Buy MOCKAAPL" }).click();
  await expect(page.getByTestId("ticket-result")).toContainText("Filled 5 at");

  // The fill in the orders, the position in the portfolio.
  await page.getByRole("link", { name: "Orders" }).click();
  await page.getByRole("tab", { name: "Order history" }).click();
  await expect(page.getByTestId("order-history").locator("tr", { hasText: "MOCKAAPL" }).first()).toContainText("Filled");
  await page.getByRole("link", { name: "Portfolio" }).click();
  await expect(page.getByTestId("positions").locator('tr[data-symbol="MOCKAAPL"]')).toContainText("5");

  // A limit buy below the market rests on the book; cancelling it removes it.
  const book = await call<{ bids: { price: string }[] }>("GET", "/v1/market/MOCKAAPL/orderbook?depth=1");
  const below = (Math.floor(Number(book.bids[0]?.price ?? "100") * 97) / 100).toFixed(2);
  await page.goto(url("/#/symbol/MOCKAAPL"));
  await page.getByLabel("Order type").selectOption("LIMIT");
  await page.getByLabel("Quantity", { exact: true }).fill("2");
  await page.getByLabel("Limit price").fill(below);
  await page.getByRole("button", { name: "Buy MOCKAAPL" }).click();
  await expect(page.getByTestId("ticket-result")).toContainText("resting on the book");
  await page.getByRole("link", { name: "Orders" }).click();
  const resting = page.getByTestId("open-orders").locator("tr[data-order]", { hasText: "MOCKAAPL" });
  await expect(resting).toHaveCount(1);
  // Replace it: a new total quantity.
  await resting.getByRole("button", { name: "Replace" }).click();
  await page.getByLabel("New total quantity").fill("3");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(resting.locator("td").nth(2)).toHaveText("3");
  await resting.getByRole("button", { name: "Cancel MOCKAAPL order" }).click();
  await expect(page.getByText("No open orders.")).toBeVisible();

  // An order costing more than the cash is refused, in words.
  await page.goto(url("/#/symbol/MOCKAAPL"));
  await page.getByLabel("Quantity", { exact: true }).fill("100000");
  await expect(page.getByText("This costs more than your buying power")).toBeVisible();
  await page.getByRole("button", { name: "Buy MOCKAAPL" }).click();
  await expect(page.getByTestId("ticket-result")).toHaveText(/Refused: Not enough cash/);

  // An expired or revoked access token is replaced silently from the refresh token.
  await page.evaluate(() => {
    const session = JSON.parse(localStorage.getItem("tradecraft.session") ?? "{}") as Record<string, unknown>;
    localStorage.setItem("tradecraft.session", JSON.stringify({ ...session, accessToken: "expired.token.value", expiresAt: Date.now() + 600_000 }));
  });
  await page.goto(url("/#/portfolio"));
  await page.reload();
  await expect(page.getByTestId("positions").locator('tr[data-symbol="MOCKAAPL"]')).toContainText("5");
  expect(await page.evaluate(() => JSON.parse(localStorage.getItem("tradecraft.session") ?? "{}").accessToken)).not.toBe("expired.token.value");
  // Traders see no admin pages.
  await expect(page.getByRole("link", { name: "Admin" })).toHaveCount(0);

  // Logging out ends the session: private pages ask for a login.
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page.getByRole("heading", { name: "Log in to TradeCraft" })).toBeVisible();
  await page.goto(url("/#/portfolio"));
  await expect(page.getByRole("heading", { name: "Log in to TradeCraft" })).toBeVisible();
  expect(errors).toEqual([]);
});

test("the chart, the ladder and the trades update live without a reload", async ({ page }) => {
  const errors = watchConsole(page);
  await page.goto(url("/#/symbol/MOCKMSFT"));
  const ladder = page.getByTestId("ladder");
  await expect(ladder).toBeVisible();
  const chart = page.getByTestId("candle-chart");
  // A marker on the window: gone if the page reloads.
  await page.evaluate(() => Object.assign(window, { stayed: true }));
  const sequence = await ladder.getAttribute("data-sequence");
  const bars = Number((await chart.getAttribute("data-bars")) ?? "0");

  // Another trader buys through the API: the page sees the trade pushed.
  const other = await register();
  const accepted = await call<{ orderId: string }>("POST", "/v1/orders", { symbol: "MOCKMSFT", side: "BUY", type: "MARKET", quantity: "7" }, other.accessToken);
  const order = await call<{ status: string; fills: { price: string }[] }>("GET", `/v1/orders/${accepted.orderId}`, undefined, other.accessToken);
  expect(order.status).toBe("FILLED");
  const price = order.fills[order.fills.length - 1]?.price ?? "";

  await expect(page.getByTestId("recent-trades").locator("tbody tr").first()).toContainText("7");
  await expect(chart).toHaveAttribute("data-last-close", price);
  expect(Number(await chart.getAttribute("data-bars"))).toBeGreaterThanOrEqual(Math.max(1, bars));
  await expect.poll(async () => ladder.getAttribute("data-sequence")).not.toBe(sequence);
  expect(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(true);
  expect(errors).toEqual([]);
});

test("a limit breach is refused in words, raised as a live alert, listed and acknowledged", async ({ page }) => {
  const errors = watchConsole(page);
  const trader = await register();
  await call("PUT", `/v1/limits/users/${trader.userId}`, { maxOrderQuantity: "10" }, undefined, { "X-API-Key": ADMIN_KEY });
  await logIn(page, trader);
  await page.goto(url("/#/alerts"));
  await expect(page.getByTestId("limits")).toContainText("Largest order quantity");
  await expect(page.getByTestId("limits")).toContainText("10");

  await page.goto(url("/#/symbol/MOCKAAPL"));
  // The alert is pushed once: the live connection (which joins alerts:{userId}) is open first.
  await expect(page.getByTestId("connection")).toHaveCount(0);
  await page.getByLabel("Quantity", { exact: true }).fill("11");
  await page.getByRole("button", { name: "Buy MOCKAAPL" }).click();
  await expect(page.getByTestId("ticket-result")).toHaveText("Refused: Refused by a trading limit: the order's quantity is above your limit.");
  // The alert is pushed on alerts:{userId} and shown as a toast on whatever page is open.
  await expect(page.locator(".toast.error")).toContainText("Alert: Order refused");

  await page.getByRole("link", { name: "Alerts" }).click();
  const alert = page.getByTestId("alerts").locator("li").first();
  await expect(alert).toContainText("Order refused");
  await alert.getByRole("button", { name: "Acknowledge" }).click();
  await expect(alert).toContainText("acknowledged");
  expect(errors).toEqual([]);
});

test("more alerts and notifications than a page: each list says how many it shows and shows the rest on asking", async ({ page }) => {
  const errors = watchConsole(page);
  const trader = await register();
  await call("PUT", `/v1/limits/users/${trader.userId}`, { maxOrderQuantity: "1" }, undefined, { "X-API-Key": ADMIN_KEY });
  // 101 refusals by the limit (paced under the per-user rate limit): an alert and a
  // notification each.
  await paced(101, () => expect(call("POST", "/v1/orders", { symbol: "MOCKMSFT", side: "BUY", type: "LIMIT", quantity: "2", limitPrice: "1" }, trader.accessToken)).rejects.toThrow(/ 403 /));
  await expect
    .poll(async () => (await call<{ notifications: unknown[] }>("GET", "/v1/notifications?limit=1000", undefined, trader.accessToken)).notifications.length)
    .toBe(101);
  await logIn(page, trader);
  await page.goto(url("/#/alerts"));
  const alerts = page.getByTestId("alerts").locator("li");
  await expect(alerts).toHaveCount(100);
  await expect(page.getByText("The newest 100 alerts are shown.")).toBeVisible();
  await page.getByRole("button", { name: "Show 100 more" }).click();
  await expect(alerts).toHaveCount(101);
  await expect(page.getByRole("button", { name: "Show 100 more" })).toHaveCount(0);

  // The badge says there are more unread than it counted.
  await expect(page.getByTestId("notifications-link")).toContainText("100+");
  await page.getByTestId("notifications-link").click();
  const notes = page.getByTestId("notifications").locator("li");
  await expect(notes).toHaveCount(100);
  await expect(page.getByText("The newest 100 notifications are shown.")).toBeVisible();
  await page.getByRole("button", { name: "Show 100 more" }).click();
  await expect(notes).toHaveCount(101);
  await page.getByRole("button", { name: "Mark all 101 read" }).click();
  await expect(page.getByRole("button", { name: /Mark all/ })).toHaveCount(0);
  await expect(page.getByTestId("notifications-link")).not.toContainText("1");
  expect(errors).toEqual([]);
});

test("a bracket buy fills and leaves its take profit and stop loss working; a bad bracket is explained before sending", async ({ page }) => {
  const errors = watchConsole(page);
  const trader = await register();
  await logIn(page, trader);
  await page.goto(url("/#/symbol/MOCKAAPL"));
  const book = await call<{ bids: { price: string }[]; asks: { price: string }[] }>("GET", "/v1/market/MOCKAAPL/orderbook?depth=1");
  const ask = Number(book.asks[0]?.price ?? "100");
  const [above, below] = [(Math.ceil(ask * 110) / 100).toFixed(2), (Math.floor(ask * 90) / 100).toFixed(2)];
  await page.getByLabel("Quantity", { exact: true }).fill("4");
  await page.getByText("Exits (take profit, stop loss)").click();
  await page.getByLabel("Take profit").fill(below);
  await page.getByLabel("Stop loss").fill(above);
  await page.getByRole("button", { name: "Buy MOCKAAPL" }).click();
  await expect(page.getByRole("alert")).toHaveText("After a buy, the take profit must be above the stop loss.");
  await page.getByLabel("Take profit").fill(above);
  await page.getByLabel("Stop loss").fill(below);
  await page.getByRole("button", { name: "Buy MOCKAAPL" }).click();
  await expect(page.getByTestId("ticket-result")).toContainText("Filled 4 at");
  await expect(page.getByTestId("ticket-result")).toContainText(`Exits: take profit at ${Number(above)}, stop loss at ${Number(below)}.`);
  await page.getByRole("link", { name: "Orders" }).click();
  const working = page.getByTestId("open-orders").locator("tr[data-order]", { hasText: "MOCKAAPL" });
  await expect(working).toHaveCount(2);
  await expect(working.filter({ hasText: "Limit" })).toContainText("4");
  await expect(working.filter({ hasText: "Stop" })).toContainText("4");
  expect(errors).toEqual([]);
});

test("at phone width the menu folds and still reaches every page", async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  const trader = await register();
  await logIn(page, trader);
  await expect(page.getByRole("link", { name: "Portfolio" })).toBeHidden();
  await page.getByRole("button", { name: "Menu" }).click();
  await page.getByRole("link", { name: "Portfolio" }).click();
  await expect(page.getByRole("heading", { name: "Portfolio" })).toBeVisible();
  await expect(page.getByRole("link", { name: "Orders" })).toBeHidden();
});

test("a trailing stop shows its trail and the trigger it has reached among the open orders", async ({ page }) => {
  const errors = watchConsole(page);
  const trader = await register();
  await call("POST", "/v1/orders", { symbol: "MOCKAAPL", side: "BUY", type: "MARKET", quantity: "2" }, trader.accessToken);
  await logIn(page, trader);
  await page.goto(url("/#/symbol/MOCKAAPL"));
  await page.getByRole("button", { name: "Sell", exact: true }).click();
  await page.getByLabel("Order type").selectOption("TRAILING_STOP");
  await page.getByLabel("Quantity", { exact: true }).fill("2");
  await page.getByLabel("Trail by").selectOption("percent");
  await page.getByLabel("Trail", { exact: true }).fill("5");
  await page.getByRole("button", { name: "Sell MOCKAAPL" }).click();
  await expect(page.getByTestId("ticket-result")).toBeVisible();
  await page.getByRole("link", { name: "Orders" }).click();
  const trailing = page.getByTestId("open-orders").locator("tr[data-order]", { hasText: "MOCKAAPL" });
  await expect(trailing).toHaveCount(1);
  await expect(trailing.locator("td").nth(1)).toHaveText("Trailing stop (trails 5 %)");
  // Its stop column shows where the engine has the trigger now: 5 % under the best price since.
  const [order] = (await call<{ orders: { stopPrice: string; watermark: string }[] }>("GET", "/v1/orders?status=OPEN", undefined, trader.accessToken)).orders;
  if (!order) throw new Error("the trailing stop is not open");
  expect(Math.abs(Number(order.stopPrice) - Number(order.watermark) * 0.95)).toBeLessThan(0.011);
  await expect(trailing.locator("td").nth(5)).not.toHaveText("—");
  expect(errors).toEqual([]);
});

test("a waiting stop's trigger and a trailing stop's trail are moved from the open orders", async ({ page }) => {
  const errors = watchConsole(page);
  const trader = await register();
  await call("POST", "/v1/orders", { symbol: "MOCKAAPL", side: "BUY", type: "MARKET", quantity: "3" }, trader.accessToken);
  const book = await call<{ bids: { price: string }[] }>("GET", "/v1/market/MOCKAAPL/orderbook?depth=1");
  const bid = Number(book.bids[0]?.price ?? "100");
  const [stop, moved] = [(Math.floor(bid * 80) / 100).toFixed(2), (Math.floor(bid * 85) / 100).toFixed(2)];
  await call("POST", "/v1/orders", { symbol: "MOCKAAPL", side: "SELL", type: "STOP", quantity: "2", stopPrice: stop }, trader.accessToken);
  await call("POST", "/v1/orders", { symbol: "MOCKAAPL", side: "SELL", type: "TRAILING_STOP", quantity: "1", trailPercent: "5" }, trader.accessToken);
  await logIn(page, trader);
  await page.goto(url("/#/orders"));
  const open = page.getByTestId("open-orders").locator("tr[data-order]", { hasText: "MOCKAAPL" });
  await expect(open).toHaveCount(2);
  const waiting = open.filter({ hasNotText: "trails" });
  await waiting.getByRole("button", { name: "Replace" }).click();
  // A stop (market) order has a stop price to move and no limit price.
  await expect(page.getByLabel("New limit price")).toHaveCount(0);
  await page.getByLabel("New stop price").fill(moved);
  await page.getByRole("button", { name: "Save" }).click();
  await expect(waiting.locator("td").nth(5)).toHaveText(moved);
  const { orders } = await call<{ orders: { stopPrice: string; type: string }[] }>("GET", "/v1/orders?status=OPEN", undefined, trader.accessToken);
  expect(orders.find((order) => order.type === "STOP")?.stopPrice).toBe(String(Number(moved)));
  // A trailing stop's trail, in the kind it was placed with: a percent.
  const trailing = open.filter({ hasText: "trails" });
  await trailing.getByRole("button", { name: "Replace" }).click();
  await expect(page.getByLabel("New stop price")).toHaveCount(0);
  await page.getByLabel("New trail (%)").fill("8");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(trailing.locator("td").nth(1)).toHaveText("Trailing stop (trails 8 %)");
  expect(errors).toEqual([]);
});

test("a resting order is made to last the day from the open orders, and a replace that changes nothing says so", async ({ page }) => {
  const errors = watchConsole(page);
  const trader = await register();
  const book = await call<{ bids: { price: string }[] }>("GET", "/v1/market/MOCKAAPL/orderbook?depth=1");
  const below = (Math.floor(Number(book.bids[0]?.price ?? "100") * 50) / 100).toFixed(2);
  await call("POST", "/v1/orders", { symbol: "MOCKAAPL", side: "BUY", type: "LIMIT", quantity: "1", limitPrice: below }, trader.accessToken);
  await logIn(page, trader);
  await page.goto(url("/#/orders"));
  const resting = page.getByTestId("open-orders").locator("tr[data-order]", { hasText: "MOCKAAPL" });
  await expect(resting.locator("td").nth(6)).toHaveText("Good till cancelled");
  await resting.getByRole("button", { name: "Replace" }).click();
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("alert")).toHaveText("Nothing to change: give a new quantity, price or time in force.");
  await page.getByLabel("Lasts").selectOption("DAY");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(resting.locator("td").nth(6)).toHaveText("Day");
  const { orders } = await call<{ orders: { timeInForce: string; limitPrice: string }[] }>("GET", "/v1/orders?status=OPEN", undefined, trader.accessToken);
  expect(orders.map((order) => [order.timeInForce, order.limitPrice])).toEqual([["DAY", String(Number(below))]]);
  expect(errors).toEqual([]);
});

test("an order placed while its market is closed says it waits for the open, until the open lets it in", async ({ page }) => {
  const errors = watchConsole(page);
  const trader = await register();
  const admin = { "X-API-Key": ADMIN_KEY };
  await call("POST", "/v1/instruments/MOCKKO/close", {}, undefined, admin);
  try {
    await call("POST", "/v1/orders", { symbol: "MOCKKO", side: "BUY", type: "LIMIT", quantity: "1", limitPrice: "1", timeInForce: "GTC" }, trader.accessToken);
    await logIn(page, trader);
    await page.goto(url("/#/orders"));
    const waiting = page.getByTestId("open-orders").locator("tr[data-order]", { hasText: "MOCKKO" });
    await expect(waiting.locator("td").nth(6)).toHaveText("Good till cancelled (waits for the open)");
    // Live (every channel joined) before the market opens, so the release is not missed.
    await expect(page.getByTestId("connection")).toHaveCount(0);
  } finally {
    await call("POST", "/v1/instruments/MOCKKO/open", {}, undefined, admin);
  }
  // The open releases it into the book: the row says so without a reload.
  const resting = page.getByTestId("open-orders").locator("tr[data-order]", { hasText: "MOCKKO" });
  await expect(resting.locator("td").nth(6)).toHaveText("Good till cancelled");
  expect(errors).toEqual([]);
});

test("more open orders than a page: the list says how many it shows and shows the rest on asking", async ({ page }) => {
  const errors = watchConsole(page);
  const trader = await register();
  // 101 resting buys far below the market (paced under the per-user rate limit).
  await paced(101, () => call("POST", "/v1/orders", { symbol: "MOCKMSFT", side: "BUY", type: "LIMIT", quantity: "1", limitPrice: "1" }, trader.accessToken));
  await logIn(page, trader);
  await page.goto(url("/#/orders"));
  const rows = page.getByTestId("open-orders").locator("tr[data-order]");
  await expect(rows).toHaveCount(100);
  await expect(page.getByText("The newest 100 open orders are shown.")).toBeVisible();
  await page.getByRole("button", { name: "Show 100 more" }).click();
  await expect(rows).toHaveCount(101);
  await expect(page.getByRole("button", { name: "Show 100 more" })).toHaveCount(0);
  expect(errors).toEqual([]);
});
