// Shared helpers of the browser tests. The server under test runs with short simulated downloads
// (3–5 s) and file 66666 always failing; see scripts/test.
import AxeBuilder from "@axe-core/playwright";
import { test as base, expect, type Locator, type Page } from "@playwright/test";
import { execFileSync } from "node:child_process";

/**
 * The Playwright `test`, plus a check after every test that the page logged no error, no panic,
 * no unhandled rejection and no hydration warning. The browser's own "Failed to load resource"
 * lines are expected whenever the API answers 4xx/5xx or is unreachable, so they are not counted.
 */
export const test = base.extend<{ consoleProblems: string[] }>({
  consoleProblems: [
    async ({ page }, use) => {
      const problems: string[] = [];
      page.on("pageerror", (error) => problems.push(`uncaught: ${String(error)}`));
      page.on("console", (message) => {
        const text = message.text();
        if (message.type() === "error" && !text.startsWith("Failed to load resource")) {
          problems.push(text);
        }
        if (/hydrat/i.test(text) && message.type() !== "debug") problems.push(text);
      });
      await use(problems);
      expect(problems, "errors, panics or hydration warnings in the console").toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };

/** Fails with a readable list when axe finds WCAG 2.1 A/AA violations (contrast included). */
export async function expectAccessible(page: Page, where: string): Promise<void> {
  const results = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"])
    .analyze();
  const violations = results.violations.map((v) => ({
    rule: v.id,
    help: v.help,
    nodes: v.nodes.map((n) => n.target.join(" ")),
  }));
  expect(violations, `axe violations ${where}`).toEqual([]);
}

/** Opens the page and waits until the WASM bundle has made it interactive. */
export async function openPage(page: Page): Promise<void> {
  await page.goto("/");
  await expect(page.locator("body[data-hydrated=true]")).toBeAttached();
}

/** The row of one job. */
export function rowOf(page: Page, jobId: string): Locator {
  return page.locator(`li.download[data-job-id="${jobId}"]`);
}

/** Types `fileIds` into the field, clicks Download and returns the new job's id and row. */
export async function startDownload(
  page: Page,
  fileIds: string,
): Promise<{ jobId: string; row: Locator }> {
  await page.getByLabel("File ID").fill(fileIds);
  const [response] = await Promise.all([
    page.waitForResponse(
      (r) => r.url().endsWith("/v1/download/initiate") && r.request().method() === "POST",
    ),
    page.getByRole("button", { name: "Download", exact: true }).click(),
  ]);
  expect(response.status()).toBe(202);
  const { jobId } = (await response.json()) as { jobId: string };
  const row = rowOf(page, jobId);
  await expect(row).toBeVisible();
  return { jobId, row };
}

/** The progress bar's value, 0–100. */
export async function progressOf(row: Locator): Promise<number> {
  return Number(await row.getByRole("progressbar").getAttribute("aria-valuenow"));
}

/** The job ids the page keeps in `localStorage`, newest first. */
export async function savedJobIds(page: Page): Promise<string[]> {
  return page.evaluate(() => JSON.parse(localStorage.getItem("ferry.downloads") ?? "[]"));
}

/** Records the times of the page's status requests for one job. */
export function watchStatusRequests(page: Page, jobId: string): number[] {
  const times: number[] = [];
  page.on("request", (request) => {
    if (request.url().endsWith(`/v1/download/status/${jobId}`)) times.push(Date.now());
  });
  return times;
}

/**
 * The entry names of a zip file, read by Python's `zipfile` after it has checked every entry's
 * CRC: an independent reader, so a malformed archive fails the test.
 */
export function zipEntryNames(path: string): string[] {
  const script = [
    "import json, sys, zipfile",
    "archive = zipfile.ZipFile(sys.argv[1])",
    "bad = archive.testzip()",
    "assert bad is None, f'corrupt entry {bad}'",
    "print(json.dumps(archive.namelist()))",
  ].join("\n");
  return JSON.parse(execFileSync("python3", ["-c", script, path], { encoding: "utf8" }));
}

/** A job id the server has never issued (a valid ULID): it answers 404 for it. */
export function unknownJobId(): string {
  const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  let id = "01";
  for (let i = 0; i < 24; i++) id += alphabet[Math.floor(Math.random() * alphabet.length)];
  return id;
}
