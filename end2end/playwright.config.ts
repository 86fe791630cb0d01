import { defineConfig } from "@playwright/test";

// The server is started by `cargo leptos end-to-end` before this runs; globalSetup waits for it.
const baseURL = process.env.FERRY_BASE_URL ?? "http://127.0.0.1:3000";

export default defineConfig({
  testDir: "./tests",
  // scripts/test runs one test again against S3 by setting this.
  grep: process.env.FERRY_E2E_GREP ? new RegExp(process.env.FERRY_E2E_GREP) : undefined,
  globalSetup: "./global-setup.ts",
  timeout: 90_000,
  expect: { timeout: 30_000 },
  fullyParallel: true,
  workers: 2,
  retries: 0,
  reporter: process.env.CI ? "list" : [["list"], ["html", { open: "never" }]],
  use: {
    baseURL,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
  },
  projects: [
    {
      name: "chromium",
      use: {
        browserName: "chromium",
        launchOptions: {
          // Debian's Chromium: Playwright cannot download its own browser here.
          executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
          args: [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
          ],
        },
      },
    },
  ],
});
