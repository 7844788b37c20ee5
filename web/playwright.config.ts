import { defineConfig } from "@playwright/test";

// End-to-end tests in Debian's Chromium (`apt-get install chromium`; Playwright's own
// browser download cannot work on the project's machines) against a real TradeCraft
// server that e2e/server.ts starts on port 0 with this build of the app.
export default defineConfig({
  testDir: "e2e",
  timeout: 60_000,
  expect: { timeout: 15_000 },
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  globalSetup: "./e2e/server.ts",
  use: {
    browserName: "chromium",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-dev-shm-usage"],
    },
    trace: "off",
    screenshot: "only-on-failure",
  },
});
