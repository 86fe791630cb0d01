// The page itself: server rendering, keyboard use, accessibility, small screens, and a look at
// every state a row can be in.
import path from "node:path";
import { PrivateFerry } from "./processes";
import { expect, expectAccessible, openPage, progressOf, rowOf, startDownload, test, unknownJobId } from "./support";

const screenshots = path.join(__dirname, "..", "screenshots");

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("the server-rendered page shows the form, the list skeleton and why nothing moves", async ({
    page,
  }) => {
    await page.goto("/");
    await expect(page.getByRole("heading", { name: "Ferry", level: 1 })).toBeVisible();
    await expect(page.getByLabel("File ID")).toBeVisible();
    await expect(page.getByRole("button", { name: "Download", exact: true })).toBeVisible();
    await expect(page.getByRole("heading", { name: "Your downloads" })).toBeVisible();
    await expect(page.getByText("Loading your downloads…")).toBeVisible();
    // Playwright's text matching skips <noscript>; a CSS locator reaches its content.
    await expect(page.locator("noscript > p.noscript")).toBeVisible();
    await expect(page.locator("noscript > p.noscript")).toContainText(
      "Ferry needs JavaScript and WebAssembly",
    );
    await expect(page.locator("body[data-hydrated]")).toHaveCount(0);
  });
});

test("the keyboard alone starts a download, and focus is always visible", async ({ page }) => {
  await openPage(page);
  const field = page.getByLabel("File ID");
  await page.keyboard.press("Tab");
  await expect(field).toBeFocused();
  await page.keyboard.type("10008");
  const [initiated] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith("/v1/download/initiate")),
    page.keyboard.press("Enter"),
  ]);
  expect(initiated.status()).toBe(202);
  const { jobId } = (await initiated.json()) as { jobId: string };
  await expect(rowOf(page, jobId)).toBeVisible();
  await expect(field).toHaveValue("");

  const focusRing = () =>
    page.evaluate(() => {
      const style = getComputedStyle(document.activeElement as Element);
      return { style: style.outlineStyle, width: parseFloat(style.outlineWidth) };
    });
  await expect(field).toBeFocused();
  expect(await focusRing()).toEqual({ style: "solid", width: 3 });
  await page.keyboard.press("Tab");
  await expect(page.getByRole("button", { name: "Download", exact: true })).toBeFocused();
  expect(await focusRing()).toEqual({ style: "solid", width: 3 });
  await page.keyboard.press("Tab");
  await expect(page.getByRole("button", { name: "Notify me when it's ready" })).toBeFocused();
  expect(await focusRing()).toEqual({ style: "solid", width: 3 });
  await page.keyboard.press("Tab");
  await expect(rowOf(page, jobId).getByRole("button", { name: "Cancel" })).toBeFocused();
  expect(await focusRing()).toEqual({ style: "solid", width: 3 });
  // Space on the focused button cancels, like a click.
  await page.keyboard.press("Space");
  await expect(rowOf(page, jobId)).toHaveAttribute("data-status", "cancelled");
});

test("rows in every state: accessible on desktop and at 375 px, and saved as screenshots", async ({
  page,
}) => {
  test.setTimeout(120_000);
  // A server of its own, so the states can be arranged: two workers, 8 s downloads, and two
  // failing files whose second attempt waits 12–18 s.
  const ferry = await PrivateFerry.start({
    WORKER_CONCURRENCY: "2",
    DOWNLOAD_DELAY_MIN_MS: "8000",
    DOWNLOAD_DELAY_MAX_MS: "8000",
    JOB_MAX_ATTEMPTS: "2",
    RETRY_BACKOFF_BASE_MS: "15000",
    SIMULATED_FAILURE_FILE_IDS: "66666,77777",
  });
  try {
    const expired = unknownJobId();
    await page.addInitScript((id) => {
      if (!localStorage.getItem("ferry.downloads")) {
        localStorage.setItem("ferry.downloads", JSON.stringify([id]));
      }
    }, expired);
    await page.setViewportSize({ width: 1100, height: 900 });
    await page.goto(`${ferry.baseURL}/`);
    await expect(page.locator("body[data-hydrated=true]")).toBeAttached();
    await expect(rowOf(page, expired)).toHaveAttribute("data-connection", "expired");

    // Failed (both attempts), Ready, and a Cancelled one that was waiting for a worker.
    const failed = await startDownload(page, "66666");
    const ready = await startDownload(page, "12345");
    const cancelled = await startDownload(page, "23456");
    await expect(cancelled.row).toHaveAttribute("data-status", "queued");
    await cancelled.row.getByRole("button", { name: "Cancel" }).click();
    await expect(cancelled.row).toHaveAttribute("data-status", "cancelled");
    await expect(ready.row).toHaveAttribute("data-status", "completed", { timeout: 20_000 });
    await expect(failed.row).toHaveAttribute("data-status", "failed", { timeout: 40_000 });

    // Retrying, two Preparing (both workers busy), one Queued behind them, and one whose
    // status requests the network refuses.
    const retrying = await startDownload(page, "77777");
    await expect(retrying.row).toHaveAttribute("data-status", "retrying", { timeout: 20_000 });
    const bundle = await startDownload(page, "34567, 45678, 56789");
    const processing = await startDownload(page, "67890");
    const queued = await startDownload(page, "78901");
    const unreachable = await startDownload(page, "89012");
    await page.route(`**/v1/download/status/${unreachable.jobId}`, (route) =>
      route.abort("connectionrefused"),
    );
    await expect.poll(() => progressOf(bundle.row), { timeout: 10_000 }).toBeGreaterThan(0);
    await expect.poll(() => progressOf(processing.row), { timeout: 10_000 }).toBeGreaterThan(0);
    await expect(queued.row).toHaveAttribute("data-status", "queued");
    await expect(unreachable.row.locator(".download-state")).toHaveText(
      "Connection lost — retrying",
    );
    await expect(retrying.row.locator(".download-state")).toHaveText(
      /^Retrying \(attempt 2 of 2\) in \d+ s$/,
    );
    await expect(failed.row.locator(".download-state")).toHaveText(
      /^Failed: File 66666 could not be fetched/,
    );
    await expect(ready.row.locator(".download-state")).toHaveText(/^Ready · \d+\.\d kB · available until /);
    await expect(queued.row.locator(".download-state")).toHaveText("Queued");
    await expect(bundle.row.locator(".download-state")).toHaveText(/^Preparing… \d+ %$/);

    await expectAccessible(page, "on a desktop");
    await page.screenshot({ path: path.join(screenshots, "rows-desktop.png"), fullPage: true });

    await page.setViewportSize({ width: 375, height: 812 });
    await expectAccessible(page, "at 375 px");
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow, "horizontal scrolling at 375 px").toBe(0);
    await page.screenshot({ path: path.join(screenshots, "rows-375px.png"), fullPage: true });
  } catch (error) {
    console.error(`--- log of the private Ferry ---\n${ferry.log()}`);
    throw error;
  } finally {
    await ferry.destroy();
  }
});

test("the Content-Security-Policy lets the page hydrate and work, and refuses scripts it did not send", async ({
  page,
  consoleProblems,
}) => {
  // Collected before any of the page's own scripts run.
  await page.addInitScript(() => {
    const w = window as unknown as { cspViolations: string[] };
    w.cspViolations = [];
    document.addEventListener("securitypolicyviolation", (event) => {
      w.cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
    });
  });
  const response = await page.goto("/");
  const policy = response?.headers()["content-security-policy"] ?? "";
  expect(policy).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9_-]{16,}' 'wasm-unsafe-eval';/);
  expect(policy).toContain("frame-ancestors 'none'");
  expect(policy).not.toContain("unsafe-inline");
  await expect(page.locator("body[data-hydrated=true]")).toBeAttached();

  // The page works under it: a download starts and its row follows the job.
  const { row } = await startDownload(page, "10011");
  await expect(row.getByRole("progressbar")).toBeVisible();

  const violations = () =>
    page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations);
  expect(await violations(), "nothing the page itself does is refused").toEqual([]);

  // A script injected into the page (what an XSS would do) does not run.
  await page.evaluate(() => {
    const script = document.createElement("script");
    script.textContent = "window.injectedRan = true";
    document.body.appendChild(script);
  });
  expect(await page.evaluate(() => (window as unknown as { injectedRan?: boolean }).injectedRan)).toBeUndefined();
  await expect.poll(violations).toEqual(["script-src-elem inline"]);
  // The browser reports that refusal in the console: the one console error this test expects.
  await expect.poll(() => consoleProblems.length).toBe(1);
  expect(consoleProblems.splice(0)[0]).toMatch(/^Executing inline script violates .*Content Security Policy/);

  // Each response draws its own nonce.
  const nonces = new Set<string>();
  for (let i = 0; i < 2; i += 1) {
    const again = await page.request.get("/", { headers: { accept: "text/html" } });
    nonces.add(again.headers()["content-security-policy"].match(/'nonce-([^']+)'/)?.[1] ?? "");
  }
  expect(nonces.size).toBe(2);
});
