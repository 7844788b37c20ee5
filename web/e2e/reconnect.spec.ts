// The live connection drops when the server dies; the app says so, and comes back by
// itself when the server returns (a server of this test's own, killed and restarted).

import { expect, test } from "@playwright/test";
import { rmSync } from "node:fs";
import { freshDataDir, launch } from "./server";
import { watchConsole } from "./helpers";

test("the app says when the live connection drops and reconnects by itself", async ({ page }) => {
  const dataDir = freshDataDir();
  let server = await launch(dataDir, "127.0.0.1:0", "reconnect-server.log");
  const address = new URL(server.url).host;
  try {
    const errors = watchConsole(page);
    await page.goto(`${server.url}/#/markets`);
    const last = page.locator('tr[data-symbol="MOCKAAPL"] [data-testid="last-price"]');
    await expect(last).not.toHaveText("—");
    await expect(page.getByTestId("connection")).toHaveCount(0);

    await server.stop("SIGKILL");
    await expect(page.getByTestId("connection")).toHaveText(/Live connection lost: reconnecting/);

    // Back on the same address, with the same data: the socket reconnects and prices move.
    server = await launch(dataDir, address, "reconnect-server.log");
    await expect(page.getByTestId("connection")).toHaveCount(0, { timeout: 20_000 });
    const before = await last.textContent();
    await expect.poll(async () => last.textContent(), { timeout: 20_000 }).not.toBe(before);
    // The browser logs the refused socket while the server is down; nothing else.
    expect(errors.filter((error) => !/WebSocket connection/.test(error))).toEqual([]);
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
