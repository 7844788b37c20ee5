import { expect, type Page } from "@playwright/test";
import { ADMIN_KEY } from "./server";

export function url(path = "/"): string {
  const base = process.env.TRADECRAFT_E2E_URL;
  if (!base) throw new Error("TRADECRAFT_E2E_URL is not set: run through playwright (e2e/server.ts starts the server)");
  return base + path;
}

let counter = 0;
export function email(): string {
  counter += 1;
  return `e2e-${Date.now()}-${process.pid}-${counter}@example.com`;
}

export const PASSWORD = "correct horse battery";

/** Calls the API directly (another trader, or set-up the browser does not need to show). */
export async function call<T>(method: string, path: string, body?: unknown, token?: string, headers: Record<string, string> = {}): Promise<T> {
  const response = await fetch(url(path), {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return (text ? JSON.parse(text) : null) as T;
}

/** Runs `each` `count` times in turn, paced under the server's per-user rate limit. */
export async function paced(count: number, each: (index: number) => Promise<unknown>): Promise<void> {
  for (let index = 0; index < count; index++) {
    if (index > 0 && index % 40 === 0) await new Promise((done) => setTimeout(done, 1_000));
    await each(index);
  }
}

export interface Trader {
  email: string;
  userId: string;
  accessToken: string;
}

export async function register(): Promise<Trader> {
  const address = email();
  const tokens = await call<{ userId: string; accessToken: string }>("POST", "/v1/auth/register", { email: address, password: PASSWORD });
  return { email: address, userId: tokens.userId, accessToken: tokens.accessToken };
}

/** Makes `trader` an admin; the role change ends their sessions, so this logs in again. */
export async function makeAdmin(trader: Trader): Promise<Trader> {
  await call("PUT", `/v1/users/${trader.userId}/role`, { role: "admin" }, undefined, { "X-API-Key": ADMIN_KEY });
  const tokens = await call<{ accessToken: string }>("POST", "/v1/auth/login", { email: trader.email, password: PASSWORD });
  return { ...trader, accessToken: tokens.accessToken };
}

/** Logs in through the form (set-up for tests about other pages). */
export async function logIn(page: Page, trader: Trader): Promise<void> {
  await page.goto(url("/#/login"));
  await expect(page.getByRole("heading", { name: "Log in to TradeCraft" })).toBeVisible();
  await page.getByLabel("Email").fill(trader.email);
  await page.getByLabel("Password").fill(PASSWORD);
  const answered = (timeout: number) => page.waitForResponse((response) => response.url().endsWith("/v1/auth/login"), { timeout }).catch(() => null);
  let response = answered(5_000);
  await page.locator("main").getByRole("button", { name: "Log in" }).click();
  // Once, in a loaded CI run, a click on a filled form sent nothing; the form is then
  // submitted from the keyboard instead (what the set-up needs is the login).
  if (!(await response)) {
    response = answered(15_000);
    await page.getByLabel("Password").press("Enter");
    expect(await response, "the login form sent no request").not.toBeNull();
  }
  await expect(page.getByRole("heading", { name: "Markets" })).toBeVisible();
}

/** Fails the test on any error the page logs or throws (a blank page starts with one). */
export function watchConsole(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    // A refused request logs a network line in Chromium; the app shows those in words.
    if (message.type() === "error" && !/Failed to load resource/.test(message.text())) errors.push(message.text());
  });
  return errors;
}
