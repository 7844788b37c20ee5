// The account's own credentials: changing the password ends the other logins.

import { expect, test } from "@playwright/test";
import { call, email, logIn, PASSWORD, register, url, watchConsole } from "./helpers";

test("a trader changes the password: a wrong current one is refused in words, other logins end, this one goes on", async ({ page }) => {
  const errors = watchConsole(page);
  const trader = await register();
  const elsewhere = await call<{ refreshToken: string }>("POST", "/v1/auth/login", { email: trader.email, password: PASSWORD });
  await logIn(page, trader);
  await page.getByRole("link", { name: "Keys and password" }).click();
  const form = page.getByRole("form", { name: "Change password" });
  await form.getByLabel("Current password").fill("not the password");
  await form.getByLabel("New password").fill("a new battery staple");
  await form.getByRole("button", { name: "Change password" }).click();
  await expect(form.getByRole("alert")).toContainText("current password is wrong");
  await form.getByLabel("Current password").fill(PASSWORD);
  await form.getByRole("button", { name: "Change password" }).click();
  await expect(page.locator(".toast")).toContainText("Password changed");
  // The other login is over; the new password logs in; this page's session goes on, live.
  const refused = await fetch(url("/v1/auth/refresh"), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ refreshToken: elsewhere.refreshToken }) });
  expect(refused.status).toBe(401);
  await call("POST", "/v1/auth/login", { email: trader.email, password: "a new battery staple" });
  await page.getByRole("link", { name: "Orders" }).click();
  await expect(page.getByTestId("connection")).toHaveCount(0);
  await expect(page.getByRole("heading", { name: "Orders" })).toBeVisible();
  expect(errors).toEqual([]);
});

test("signing up with a username someone has is refused in words; another name goes through", async ({ page }) => {
  const errors = watchConsole(page);
  const name = `taken_${Date.now()}`;
  await call("POST", "/v1/auth/register", { email: email(), password: PASSWORD, username: name });
  await page.goto(url("/#/signup"));
  await page.getByLabel("Email").fill(email());
  await page.getByLabel("Username").fill(name.toUpperCase());
  await page.getByLabel("Password").fill(PASSWORD);
  await page.locator("main").getByRole("button", { name: "Sign up" }).click();
  await expect(page.getByText("That username is taken: choose another, or leave it empty to be given one.")).toBeVisible();
  await page.getByLabel("Username").fill(`${name}_2`);
  await page.locator("main").getByRole("button", { name: "Sign up" }).click();
  await expect(page.getByRole("heading", { name: "Markets" })).toBeVisible();
  expect(errors).toEqual([]);
});
