// One download watched by the page in Debian's Chromium, as a person would: open the page, start
// the download of one file, wait until its row shows Download Ready. bench/run.py reads what the
// page's polling cost off the server's /metrics around it.
//   node bench/polling.mjs <base URL> <file id> <timeout seconds>
import { createRequire } from "node:module";

const require = createRequire(new URL("../end2end/package.json", import.meta.url));
const { chromium } = require("@playwright/test");

const [base, fileId, timeoutSecs] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});
try {
  const page = await browser.newPage();
  await page.goto(`${base}/`);
  await page.locator("body[data-hydrated=true]").waitFor({ state: "attached" });
  await page.getByLabel("File ID").fill(fileId);
  const started = Date.now();
  await page.getByRole("button", { name: "Download", exact: true }).click();
  await page
    .getByRole("link", { name: "Download Ready" })
    .waitFor({ timeout: Number(timeoutSecs) * 1000 });
  console.log(JSON.stringify({ seconds: (Date.now() - started) / 1000 }));
} finally {
  await browser.close();
}
