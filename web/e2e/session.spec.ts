// Market hours: a market outside its session says so, and says when it opens (a server of
// this test's own, whose session is one minute a week on a day that is not today).

import { expect, test } from "@playwright/test";
import { rmSync } from "node:fs";
import { freshDataDir, launch } from "./server";
import { PASSWORD, watchConsole } from "./helpers";
import type { Instrument } from "../src/types";

const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

test("a closed market shows when it opens, on the markets list and the symbol's page", async ({ page }) => {
  // Two days on (UTC), 00:00 to 00:01: closed now, whatever the time the test runs.
  const opening = new Date();
  opening.setUTCHours(0, 0, 0, 0);
  opening.setUTCDate(opening.getUTCDate() + 2);
  const dataDir = freshDataDir();
  const server = await launch(dataDir, "127.0.0.1:0", "session-server.log", ["--session", `${DAYS[opening.getUTCDay()]} 00:00-00:01`]);
  try {
    const errors = watchConsole(page);
    // The market role lists the symbols on its first tick, a moment after the server starts.
    const listed = async () => ((await (await fetch(`${server.url}/v1/market/symbols`)).json()) as { symbols: Instrument[] }).symbols;
    await expect.poll(async () => (await listed()).find((symbol) => symbol.symbol === "MOCKAAPL")?.nextOpen).toBe(opening.toISOString());
    await expect.poll(async () => (await listed())[0]?.sessionOpen).toBe(false);

    await page.goto(`${server.url}/#/markets`);
    const badge = page.locator('tr[data-symbol="MOCKAAPL"] .badge');
    await expect(badge).toHaveText("Closed");
    const shown = await page.evaluate((iso) => new Date(iso).toLocaleString(), opening.toISOString());
    await expect(badge).toHaveAttribute("title", `Opens ${shown}`);

    await page.goto(`${server.url}/#/symbol/MOCKAAPL`);
    await expect(page.getByTestId("session-closed")).toHaveText(`Market closed until ${shown}: orders wait for the open`);

    // Signed in, an order that lasts is taken and waits for the open; one that must trade
    // at once is refused, in words.
    const email = "closed-market@example.com";
    await fetch(`${server.url}/v1/auth/register`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ email, password: PASSWORD }) });
    await page.goto(`${server.url}/#/login`);
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.locator("main").getByRole("button", { name: "Log in" }).click();
    await expect(page.getByRole("heading", { name: "Markets" })).toBeVisible();
    await page.goto(`${server.url}/#/symbol/MOCKAAPL`);
    await page.getByLabel("Order type").selectOption("LIMIT");
    await page.getByLabel("Quantity", { exact: true }).fill("1");
    await page.getByLabel("Limit price").fill("100");
    await page.getByRole("button", { name: "Buy MOCKAAPL" }).click();
    await expect(page.getByTestId("ticket-result")).toHaveText("Order placed: it waits for the market to open (Limit).");
    await page.getByLabel("Time in force").selectOption("IOC");
    await page.getByRole("button", { name: "Buy MOCKAAPL" }).click();
    await expect(page.getByTestId("ticket-result")).toContainText("Refused: The market is closed");
    expect(errors).toEqual([]);
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
