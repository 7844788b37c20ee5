import { expect, test } from "@playwright/test";
import { call, logIn, makeAdmin, paced, register, watchConsole } from "./helpers";
import { ADMIN_KEY } from "./server";

test("a trader follows another, likes and comments on a shared order, hears of a new follower, and joins a contest and trades in it", async ({ page }) => {
  const errors = watchConsole(page);
  const author = await register();
  const reader = await register();
  // The author trades, goes public and shares the order (with text that must not become HTML).
  await call("PUT", "/v1/me/profile", { displayName: "Ada <b>Lovelace</b>", bio: "Large caps.", public: true }, author.accessToken);
  const placed = await call<{ orderId: string }>("POST", "/v1/orders", { symbol: "MOCKAAPL", side: "BUY", type: "MARKET", quantity: "2" }, author.accessToken);
  await expect.poll(async () => (await fetch(`${process.env.TRADECRAFT_E2E_URL}/v1/orders/${placed.orderId}`, { headers: { authorization: `Bearer ${author.accessToken}` } })).status).toBe(200);
  await call("POST", `/v1/orders/${placed.orderId}/share`, { comment: "Buying the <i>dip</i> & holding" }, author.accessToken);

  await logIn(page, reader);
  await page.getByRole("link", { name: "Community" }).click();
  await expect(page.getByRole("heading", { name: "Community" })).toBeVisible();
  await expect(page.getByText("Nothing in your feed yet.")).toBeVisible();
  await page.getByLabel("Trader id").fill(author.userId);
  await page.getByRole("button", { name: "Look up" }).click();
  const found = page.getByTestId("found-profile");
  await expect(found).toContainText("Ada <b>Lovelace</b>");
  await found.getByRole("button", { name: "Follow" }).click();
  await expect(found.getByRole("button", { name: "Unfollow" })).toBeVisible();

  const share = page.getByTestId("feed").locator("li.share").first();
  await expect(share).toContainText("Bought 2 MOCKAAPL");
  await expect(share).toContainText("Buying the <i>dip</i> & holding");
  await share.getByRole("button", { name: "♥ 0" }).click();
  await expect(share.getByRole("button", { name: "♥ 1" })).toHaveAttribute("aria-pressed", "true");
  await share.getByRole("button", { name: "Comments (0)" }).click();
  await share.getByLabel("Comment").fill("Nice entry");
  await share.getByRole("button", { name: "Post" }).click();
  await expect(share.locator(".comments li")).toContainText("Nice entry");
  await expect(share.getByRole("button", { name: "Comments (1)" })).toBeVisible();

  // The author hears of it; the reader hears, live, of a follower of their own.
  const told = await call<{ notifications: { kind: string }[] }>("GET", "/v1/notifications", undefined, author.accessToken);
  expect(told.notifications.map((item) => item.kind).sort()).toEqual(expect.arrayContaining(["COMMENT", "LIKE", "NEW_FOLLOWER"]));
  await call("PUT", "/v1/me/profile", { displayName: "Reader", public: true }, reader.accessToken);
  await call("POST", `/v1/users/${reader.userId}/follow`, undefined, author.accessToken);
  await expect(page.getByTestId("notifications-link")).toContainText("1", { timeout: 10_000 });
  await page.getByTestId("notifications-link").click();
  await expect(page.getByTestId("notifications").locator('li[data-kind="NEW_FOLLOWER"]')).toContainText("follows you");
  await page.getByRole("button", { name: "Mark all 1 read" }).click();
  await expect(page.getByRole("button", { name: /Mark all/ })).toHaveCount(0);

  // A running contest open for registration: joining opens its account, which the header
  // then switches to; the ticket trades in it and the portfolio shows it.
  const now = Date.now();
  const cup = `E2E cup ${now % 100_000}`;
  await call(
    "POST",
    "/v1/contests",
    {
      name: cup, description: "A week.", startingCash: "5000",
      registrationStart: new Date(now - 60_000).toISOString(), registrationEnd: new Date(now + 86_400_000).toISOString(),
      tradingStart: new Date(now - 30_000).toISOString(), tradingEnd: new Date(now + 8 * 86_400_000).toISOString(),
    },
    undefined,
    { "X-API-Key": ADMIN_KEY },
  );
  await page.getByRole("link", { name: "Contests" }).click();
  await page.getByRole("button", { name: `Join ${cup}` }).click();
  await expect(page.getByTestId("contests").locator("tr", { hasText: cup })).toContainText("Your account #");
  await expect(page.getByTestId("paper-accounts").locator("tr", { hasText: cup })).toContainText("Contest");
  await expect(page.getByTestId("paper-accounts").locator("tr", { hasText: cup })).toContainText("5,000.00");
  await page.getByRole("link", { name: "Markets" }).click();
  await page.getByTestId("account-switch").selectOption({ label: cup });
  await page.goto(`${process.env.TRADECRAFT_E2E_URL}/#/symbol/MOCKAAPL`);
  await expect(page.getByTestId("buying-power")).toHaveText("5,000.00");
  await page.getByLabel("Quantity", { exact: true }).fill("1");
  await page.getByRole("button", { name: "Buy MOCKAAPL" }).click();
  await expect(page.getByTestId("ticket-result")).toContainText("Filled 1 at");
  await page.getByTestId("notifications-link").click();
  await expect(page.getByTestId("notifications").locator('li[data-kind="ORDER_FILLED"]')).toContainText("Bought 1 MOCKAAPL");
  await page.getByRole("link", { name: "Portfolio" }).click();
  await expect(page.getByTestId("positions").locator('tr[data-symbol="MOCKAAPL"]')).toContainText("1");
  await page.getByTestId("account-switch").selectOption({ label: "Main account" });
  await expect(page.getByTestId("positions").locator('tr[data-symbol="MOCKAAPL"]')).toHaveCount(0);
  expect(errors).toEqual([]);
});

test("a student accepts a class's invitation from the notifications page and comes under its limits", async ({ page }) => {
  const errors = watchConsole(page);
  const student = await register();
  const operator = { "X-API-Key": ADMIN_KEY };
  const name = `Class ${Date.now() % 100_000}`;
  const organisation = await call<{ organisationId: string }>("POST", "/v1/organisations", { name }, undefined, operator);
  await call("PUT", `/v1/limits/organisations/${organisation.organisationId}`, { maxOrderQuantity: "5" }, undefined, operator);
  await call("POST", `/v1/organisations/${organisation.organisationId}/invitations`, { userId: student.userId }, undefined, operator);

  await logIn(page, student);
  await page.getByTestId("notifications-link").click();
  const invitations = page.getByTestId("invitations");
  await expect(invitations).toContainText(`${name} invites you to join as a member`);
  await expect(page.getByTestId("notifications").locator('li[data-kind="ORG_INVITATION"]')).toContainText(name);
  await invitations.getByRole("button", { name: `Accept ${name}` }).click();
  await expect(invitations.getByRole("status")).toHaveText(`You joined ${name}: its trading limits apply to you now.`);
  await expect(invitations.getByRole("button", { name: `Accept ${name}` })).toHaveCount(0);
  const seen = await call<{ members: { userId: string }[] }>("GET", `/v1/organisations/${organisation.organisationId}`, undefined, undefined, operator);
  expect(seen.members.map((member) => member.userId)).toContain(student.userId);
  // The class's limit now holds the student's orders.
  const refused = await fetch(`${process.env.TRADECRAFT_E2E_URL}/v1/orders`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${student.accessToken}` },
    body: JSON.stringify({ symbol: "MOCKAAPL", side: "BUY", type: "LIMIT", quantity: "6", limitPrice: "1" }),
  });
  expect(refused.status).toBe(403);
  expect(errors).toEqual([]);
});

test("an admin finds a class in the list of organisations, opens it and adds a group, and the list counts it", async ({ page }) => {
  const errors = watchConsole(page);
  const admin = await makeAdmin(await register());
  const operator = { "X-API-Key": ADMIN_KEY };
  const name = `Listed class ${Date.now() % 100_000}`;
  const organisation = await call<{ organisationId: string }>("POST", "/v1/organisations", { name }, undefined, operator);
  const student = await register();
  await call("PUT", `/v1/organisations/${organisation.organisationId}/members/${student.userId}`, { role: "member" }, undefined, operator);

  // More than a page of organisations (the others after the rest by name): the admin pages on, and finds it by name.
  for (let index = 0; index < 51; index += 1) {
    await call("POST", "/v1/organisations", { name: `Zzz filler ${Date.now() % 100_000} ${index}` }, undefined, operator);
  }

  await logIn(page, admin);
  await page.getByRole("link", { name: "Admin" }).click();
  const list = page.getByTestId("organisations");
  await expect(list.getByRole("row")).toHaveCount(51); // a header and a page of 50
  await page.getByRole("navigation", { name: "Pages" }).getByRole("button", { name: "Next ›" }).click();
  await expect(page.getByText("Page 2")).toBeVisible();
  await page.getByRole("form", { name: "Find organisations" }).getByLabel("Find by name").fill(name.toUpperCase());
  await page.getByRole("button", { name: "Find", exact: true }).click();
  await expect(list.getByRole("row")).toHaveCount(2);
  const row = list.getByRole("row", { name: new RegExp(name) });
  await expect(row).toContainText(`#${organisation.organisationId}`);
  await expect(row.getByRole("cell").nth(0)).toHaveText("1");
  await expect(row.getByRole("cell").nth(1)).toHaveText("0");
  await row.getByRole("button", { name: `Open ${name}` }).click();
  await expect(page.getByRole("heading", { name: new RegExp(name) })).toBeVisible();
  // The admin sees who the member is, not only an id.
  await expect(page.getByRole("rowheader", { name: new RegExp(`#${student.userId}`) })).toContainText(student.email.split("@")[0]!);
  await page.getByRole("form", { name: "Add a group" }).getByLabel("New group").fill("Set 2");
  await page.getByRole("button", { name: "Add group" }).click();
  await expect(page.getByText("Added group Set 2.")).toBeVisible();
  await expect(row.getByRole("cell").nth(1)).toHaveText("1");
  expect(errors).toEqual([]);
});

test("a trader with a private profile sees the picture they upload, and removes it", async ({ page }) => {
  const errors = watchConsole(page);
  const trader = await register();
  await logIn(page, trader);
  await page.getByRole("link", { name: "Community" }).click();
  const picture = page.getByTestId("own-picture");
  await expect(picture.locator(".avatar.placeholder")).toBeVisible();
  await expect(picture.getByRole("button", { name: "Remove picture" })).toHaveCount(0);
  // A 1x1 PNG: the profile stays private, and its owner still sees the picture.
  const png = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64");
  await page.getByLabel("Picture (PNG, JPEG, GIF or WebP, up to 64 KiB)").setInputFiles({ name: "me.png", mimeType: "image/png", buffer: png });
  await expect(page.getByText("Picture saved.")).toBeVisible();
  await expect(picture.locator("img.avatar")).toHaveAttribute("src", /^blob:/);
  await expect.poll(() => picture.locator("img.avatar").evaluate((image: HTMLImageElement) => image.complete && image.naturalWidth)).toBe(1);
  await picture.getByRole("button", { name: "Remove picture" }).click();
  await expect(page.getByText("Picture removed.")).toBeVisible();
  await expect(picture.locator(".avatar.placeholder")).toBeVisible();
  await expect(picture.locator("img.avatar")).toHaveCount(0);
  expect(errors).toEqual([]);
});

test("the leaderboard names public traders, marks the caller's row, and ranks private profiles without saying whose", async ({ page }) => {
  const errors = watchConsole(page);
  const named = await register();
  const quiet = await register();
  const me = await register();
  await call("PUT", "/v1/me/profile", { displayName: "Open Book", public: true }, named.accessToken);
  await call("PUT", "/v1/me/profile", { displayName: "Quiet One", public: false }, quiet.accessToken);
  // A share bought across the spread: a loss of a few cents, far below 0.01%.
  await call("POST", "/v1/orders", { symbol: "MOCKAAPL", side: "BUY", type: "MARKET", quantity: "1" }, me.accessToken);
  // Ranked once the read store has their deposits (and the caller's trade).
  await expect
    .poll(async () => {
      const board = await call<{ entries: { userId: string | null; totalReturn: number }[] }>("GET", "/v1/leaderboard?period=7d&limit=500", undefined, undefined, {
        "x-api-key": ADMIN_KEY,
      });
      const ranked = [named, quiet, me].every((trader) => board.entries.some((entry) => entry.userId === trader.userId));
      return ranked && board.entries.some((entry) => entry.userId === me.userId && entry.totalReturn < 0);
    })
    .toBe(true);

  await logIn(page, me);
  await page.getByRole("link", { name: "Leaderboard" }).click();
  const seen: string[] = [];
  let myReturn = "";
  for (let number = 1; ; number++) {
    // The page's rows, not the last page's still shown while it loads: 25 a page.
    await expect(page.getByTestId("leaderboard").locator("tbody tr").first().locator("td").first()).toHaveText(`${(number - 1) * 25 + 1}`);
    seen.push(...(await page.getByTestId("leaderboard").locator("tbody th").allInnerTexts()));
    const mine = page.getByTestId("leaderboard").locator("tbody tr.mine");
    if ((await mine.count()) > 0) myReturn = await mine.locator("td").nth(1).innerText();
    const next = page.getByRole("button", { name: "Next ›" });
    if (await next.isDisabled()) break;
    await next.click();
  }
  expect(seen).toContain("Open Book");
  expect(seen).toContain(`You (#${me.userId})`);
  // The small loss is shown, not rounded away to 0.00%.
  expect(myReturn).toMatch(/^-0\.0+[1-9]\d%$/);
  expect(seen).toContain("A private trader");
  expect(seen.filter((name) => name.includes(quiet.userId) || name.includes("Quiet One"))).toEqual([]);
  expect(errors).toEqual([]);
});

test("a contest's standings are paged: a trader ranked past the first page finds their line on the next", async ({ page }) => {
  const errors = watchConsole(page);
  const now = Date.now();
  const cup = `Paged cup ${now % 100_000}`;
  const contest = await call<{ contestId: string }>(
    "POST",
    "/v1/contests",
    {
      name: cup, description: "Many entrants.", startingCash: "1000",
      registrationStart: new Date(now - 60_000).toISOString(), registrationEnd: new Date(now + 86_400_000).toISOString(),
      tradingStart: new Date(now - 30_000).toISOString(), tradingEnd: new Date(now + 8 * 86_400_000).toISOString(),
    },
    undefined,
    { "X-API-Key": ADMIN_KEY },
  );
  // 26 entrants, all even: ranked in the order they joined, the last one 26th.
  let last = await register();
  for (let entrant = 0; entrant < 26; entrant++) {
    if (entrant > 0) last = await register();
    await call("POST", `/v1/contests/${contest.contestId}/join`, {}, last.accessToken);
  }
  await logIn(page, last);
  await page.getByRole("link", { name: "Contests" }).click();
  await page.getByTestId("contests").getByRole("link", { name: cup }).click();
  const standings = page.getByTestId("standings").locator("tbody tr");
  await expect(standings).toHaveCount(25);
  await expect(standings.filter({ hasText: "You" })).toHaveCount(0);
  await page.getByRole("button", { name: "Next ›" }).click();
  await expect(standings).toHaveCount(1);
  await expect(standings.first()).toContainText("26");
  await expect(standings.first()).toContainText("You");
  expect(errors).toEqual([]);
});

test("a share with more comments than a page: the rest come on asking, and a new comment shows at the end", async ({ page }) => {
  const errors = watchConsole(page);
  const author = await register();
  await call("PUT", "/v1/me/profile", { displayName: "Popular", public: true }, author.accessToken);
  const placed = await call<{ orderId: string }>("POST", "/v1/orders", { symbol: "MOCKAAPL", side: "BUY", type: "MARKET", quantity: "1" }, author.accessToken);
  await expect.poll(async () => (await fetch(`${process.env.TRADECRAFT_E2E_URL}/v1/orders/${placed.orderId}`, { headers: { authorization: `Bearer ${author.accessToken}` } })).status).toBe(200);
  const share = await call<{ shareId: string }>("POST", `/v1/orders/${placed.orderId}/share`, {}, author.accessToken);
  // 101 comments from eleven readers (ten a minute each at most).
  for (let written = 0; written < 101; ) {
    const commenter = await register();
    for (let own = 0; own < 10 && written < 101; own++, written++) {
      await call("POST", `/v1/shares/${share.shareId}/comment`, { text: `comment ${written + 1}` }, commenter.accessToken);
    }
  }
  const reader = await register();
  await call("POST", `/v1/users/${author.userId}/follow`, undefined, reader.accessToken);

  await logIn(page, reader);
  await page.getByRole("link", { name: "Community" }).click();
  const shown = page.getByTestId("feed").locator("li.share").first();
  await shown.getByRole("button", { name: "Comments (101)" }).click();
  const comments = shown.locator(".comments li");
  await expect(comments).toHaveCount(100);
  await shown.getByLabel("Comment").fill("the newest");
  await shown.getByRole("button", { name: "Post" }).click();
  await expect(comments).toHaveCount(102);
  await expect(comments.last()).toContainText("the newest");
  await expect(shown.getByRole("button", { name: "Comments (102)" })).toBeVisible();
  await expect(shown.getByRole("button", { name: "Show more comments" })).toHaveCount(0);
  // Opened again: the first page, then the rest on asking.
  await shown.getByRole("button", { name: "Comments (102)" }).click();
  await shown.getByRole("button", { name: "Comments (102)" }).click();
  await expect(comments).toHaveCount(100);
  await shown.getByRole("button", { name: "Show more comments" }).click();
  await expect(comments).toHaveCount(102);
  expect(errors).toEqual([]);
});

test("an admin reads a trader's whole audit trail, a hundred entries a page", async ({ page }) => {
  const errors = watchConsole(page);
  const trader = await register();
  // 101 orders, each in the trail (paced under the per-user rate limit), and the registration.
  await paced(101, () => call("POST", "/v1/orders", { symbol: "MOCKMSFT", side: "BUY", type: "LIMIT", quantity: "1", limitPrice: "1" }, trader.accessToken));
  const operator = { "X-API-Key": ADMIN_KEY };
  await expect
    .poll(async () => (await call<{ entries: unknown[] }>("GET", `/v1/audit?subject=user:${trader.userId}&limit=1000`, undefined, undefined, operator)).entries.length)
    .toBe(102);
  const admin = await makeAdmin(await register());
  await logIn(page, admin);
  await page.getByRole("link", { name: "Admin" }).click();
  await page.getByRole("tab", { name: "Audit" }).click();
  await page.getByLabel("Subject").fill(`user:${trader.userId}`);
  await page.getByRole("button", { name: "Find" }).click();
  const rows = page.getByTestId("audit").locator("tbody tr");
  await expect(rows).toHaveCount(100);
  await expect(rows.first()).toContainText("order.accepted");
  await page.getByRole("button", { name: "Next ›" }).click();
  await expect(rows).toHaveCount(2);
  await expect(rows.last()).toContainText("user.registered");
  await expect(page.getByRole("button", { name: "Next ›" })).toBeDisabled();
  expect(errors).toEqual([]);
});
