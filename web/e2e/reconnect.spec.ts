// The live connection: it drops when the server dies, the app says so and comes back by
// itself when the server returns (a server of this test's own, killed and restarted); and
// the app says it is live only once every channel it needs is joined.

import { expect, test } from "@playwright/test";
import { rmSync } from "node:fs";
import { freshDataDir, launch } from "./server";
import { call, logIn, register, url, watchConsole } from "./helpers";
import { ADMIN_KEY } from "./server";

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

test("after logging in the app is shown live only once the user's channels are joined, and then misses no push", async ({ page }) => {
  const errors = watchConsole(page);
  const trader = await register();
  await call("PUT", `/v1/limits/users/${trader.userId}`, { maxOrderQuantity: "10" }, undefined, { "X-API-Key": ADMIN_KEY });
  // Two slow answers from the server, each leaving a moment when an alert pushed on
  // alerts:{userId} would be lost, so the app must not say it is live then:
  // - the first (anonymous) connection's close takes 2 s: the join the app sends on it as
  //   the login lands is refused, and its channel rejoins only on the new connection;
  // - on the logged-in connection, the answer to that join is held back for 3 s.
  const topic = JSON.stringify(`alerts:${trader.userId}`);
  let connections = 0;
  let joined = false;
  await page.routeWebSocket(/\/v1\/marketdata\/websocket/, (socket) => {
    connections += 1;
    const anonymous = connections === 1;
    const server = socket.connectToServer();
    server.onMessage((message) => {
      const text = message.toString();
      if (!anonymous && text.includes(topic) && text.includes('"phx_reply"')) {
        setTimeout(() => {
          joined = true;
          socket.send(message);
        }, 3_000);
      } else socket.send(message);
    });
    socket.onClose((code, reason) => setTimeout(() => server.close({ code, reason }), anonymous ? 2_000 : 0));
  });
  await logIn(page, trader);
  // Whenever the app says it is live, the join has been answered.
  await expect(page.getByTestId("connection")).toHaveCount(0);
  expect(joined).toBe(true);

  await page.goto(url("/#/symbol/MOCKAAPL"));
  await expect(page.getByTestId("connection")).toHaveCount(0);
  await page.getByLabel("Quantity", { exact: true }).fill("11");
  await page.getByRole("button", { name: "Buy MOCKAAPL" }).click();
  await expect(page.getByTestId("ticket-result")).toContainText("Refused");
  await expect(page.locator(".toast.error")).toContainText("Alert: Order refused");
  expect(errors).toEqual([]);
});
