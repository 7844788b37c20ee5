// A forgotten password: the code is mailed through a real SMTP conversation with a
// receiver this test starts, and spent in the app (typed in, or through the email's link).

import { rmSync } from "node:fs";
import { createServer } from "node:net";
import { expect, test } from "@playwright/test";
import { call, logIn, makeAdmin, register, url, watchConsole } from "./helpers";
import { freshDataDir, launch } from "./server";

/** An SMTP server on a free port that keeps every message it is given. */
async function smtpReceiver(): Promise<{ url: string; mails: string[]; close: () => void }> {
  const mails: string[] = [];
  const server = createServer((socket) => {
    socket.write("220 receiver ESMTP\r\n");
    let buffer = "";
    let data: string | null = null;
    socket.on("data", (chunk) => {
      buffer += chunk.toString();
      for (let end = buffer.indexOf("\r\n"); end >= 0; end = buffer.indexOf("\r\n")) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (data !== null) {
          if (line === ".") {
            mails.push(data);
            data = null;
            socket.write("250 OK queued\r\n");
          } else data += `${line}\n`;
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === "DATA") {
          data = "";
          socket.write("354 go on\r\n");
        } else if (verb === "QUIT") socket.end("221 bye\r\n");
        else socket.write(verb === "EHLO" || verb === "HELO" ? "250 receiver\r\n" : "250 OK\r\n");
      }
    });
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("no port");
  return { url: `smtp://127.0.0.1:${address.port}`, mails, close: () => server.close() };
}

function codeIn(mail: string): string {
  const code = /Your reset code: (\S+)/.exec(mail)?.[1];
  if (!code) throw new Error(`no code in ${mail}`);
  return code;
}

test("a trader who forgot the password gets a code by email and sets a new one, typed in or through the link", async ({ page }) => {
  const smtp = await smtpReceiver();
  const dataDir = freshDataDir();
  const server = await launch(dataDir, "127.0.0.1:0", "reset-server.log", ["--smtp-url", smtp.url, "--public-url", "https://trade.example.test"]);
  const post = (path: string, body: unknown) =>
    fetch(`${server.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  try {
    const errors = watchConsole(page);
    const address = `reset-${Date.now()}@example.com`;
    expect((await post("/v1/auth/register", { email: address, password: "the old password" })).status).toBe(201);

    await page.goto(`${server.url}/#/login`);
    await page.getByRole("link", { name: "Forgot your password?" }).click();
    await expect(page.getByRole("heading", { name: "Reset your password" })).toBeVisible();
    const ask = page.getByRole("form", { name: "Ask for a reset code" });
    await ask.getByLabel("Email").fill(address);
    await ask.getByRole("button", { name: "Email me a reset code" }).click();
    await expect(page.locator("main").getByRole("status")).toContainText("a reset code is on its way");
    await expect.poll(() => smtp.mails.length, { timeout: 10_000 }).toBe(1);
    const first = smtp.mails[0]!;
    expect(first).toContain(`https://trade.example.test/#/reset/${codeIn(first)}`);

    const set = page.getByRole("form", { name: "Set a new password" });
    await set.getByLabel("Reset code").fill("not-the-code");
    await set.getByLabel("New password").fill("a brand new password");
    await set.getByRole("button", { name: "Set the new password" }).click();
    await expect(page.locator("main").getByRole("alert")).toContainText("reset code is wrong, used or expired");
    await set.getByLabel("Reset code").fill(codeIn(first));
    await set.getByRole("button", { name: "Set the new password" }).click();
    await expect(page.locator(".toast")).toContainText("new password is set");
    await expect(page.getByRole("heading", { name: "Markets" })).toBeVisible();
    await expect(page.getByRole("button", { name: "Log out" })).toBeVisible();
    expect((await post("/v1/auth/login", { email: address, password: "the old password" })).status).toBe(401);
    expect((await post("/v1/auth/login", { email: address, password: "a brand new password" })).status).toBe(200);

    // The email's link opens the page with the code in it: only the new password is asked.
    await page.getByRole("button", { name: "Log out" }).click();
    expect((await post("/v1/auth/password/forgot", { email: address })).status).toBe(202);
    await expect.poll(() => smtp.mails.length, { timeout: 10_000 }).toBe(2);
    await page.goto(`${server.url}/#/reset/${codeIn(smtp.mails[1]!)}`);
    await expect(set.getByLabel("Reset code")).toHaveCount(0);
    await set.getByLabel("New password").fill("the third password");
    await set.getByRole("button", { name: "Set the new password" }).click();
    await expect(page.getByRole("heading", { name: "Markets" })).toBeVisible();
    expect((await post("/v1/auth/login", { email: address, password: "the third password" })).status).toBe(200);
    expect(errors).toEqual([]);
  } finally {
    await server.stop();
    smtp.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test("an admin makes a reset code for a student, who sets a new password with it from the log-in page", async ({ page, browser }) => {
  const errors = watchConsole(page);
  const admin = await makeAdmin(await register());
  const student = await register();
  await logIn(page, admin);
  await page.getByRole("link", { name: "Admin" }).click();
  await page.getByRole("tab", { name: "Users" }).click();
  // The admin finds the student by email rather than knowing the id.
  await page.getByLabel("Find by email or username").fill(student.email.toUpperCase());
  await page.getByRole("button", { name: "Find", exact: true }).click();
  const found = page.getByTestId("users");
  await expect(found.getByRole("row")).toHaveCount(2);
  await expect(found).toContainText(`#${student.userId}`);
  await found.getByRole("button", { name: `Choose ${student.email}` }).click();
  await expect(page.getByLabel("User id")).toHaveValue(student.userId);
  await page.getByRole("button", { name: "Make a password reset code" }).click();
  const shown = page.getByTestId("reset-code");
  await expect(shown).toContainText(`Give user ${student.userId} this code`);
  const code = (await shown.locator("code").textContent())!.trim();
  expect(code.length).toBeGreaterThan(20);

  // The student, in a browser of their own, enters it without asking for an email.
  const context = await browser.newContext();
  const theirs = await context.newPage();
  await theirs.goto(url("/#/login"));
  await theirs.getByRole("link", { name: "Forgot your password?" }).click();
  await theirs.getByRole("link", { name: "Enter it" }).click();
  const set = theirs.getByRole("form", { name: "Set a new password" });
  await set.getByLabel("Reset code").fill(code);
  await set.getByLabel("New password").fill("the student's new one");
  await set.getByRole("button", { name: "Set the new password" }).click();
  await expect(theirs.getByRole("heading", { name: "Markets" })).toBeVisible();
  await expect(theirs.getByRole("button", { name: "Log out" })).toBeVisible();
  await call("POST", "/v1/auth/login", { email: student.email, password: "the student's new one" });
  await context.close();
  expect(errors).toEqual([]);
});
