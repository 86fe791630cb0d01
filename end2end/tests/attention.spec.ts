// A page a person keeps open in a background tab: the title, notifications, the live region,
// polling when the tab comes back, expired files prepared again, and Clear finished.
import type { Page } from "@playwright/test";
import { expect, openPage, rowOf, savedJobIds, startDownload, test } from "./support";
import { PrivateFerry } from "./processes";

/** Makes the page believe it is hidden or shown, as switching tabs does, and says so. */
async function setVisibility(page: Page, state: "hidden" | "visible"): Promise<void> {
  await page.evaluate((state) => {
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => state });
    Object.defineProperty(document, "hidden", { configurable: true, get: () => state === "hidden" });
    document.dispatchEvent(new Event("visibilitychange"));
  }, state);
}

test("the tab title says how the downloads stand", async ({ page }) => {
  await openPage(page);
  await expect(page).toHaveTitle("Ferry — downloads");
  const { row } = await startDownload(page, "10021");
  await expect(page).toHaveTitle(/^\(\d+ %\) Ferry$/);
  await expect(row).toHaveAttribute("data-status", "completed", { timeout: 30_000 });
  await expect(page).toHaveTitle("Ready — Ferry");
  const failing = await startDownload(page, "66666");
  await expect(failing.row).toHaveAttribute("data-status", "failed", { timeout: 45_000 });
  await expect(page).toHaveTitle("1 failed — Ferry");
});

test("the live region announces each download once, when it is ready or has failed", async ({
  page,
}) => {
  // Every text the status region ever held, in order.
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { announced: string[] }).announced = seen;
    new MutationObserver(() => {
      const region = document.querySelector('[role="status"]');
      const text = (region?.textContent ?? "").trim();
      if (text && seen[seen.length - 1] !== text) seen.push(text);
    }).observe(document, { subtree: true, childList: true, characterData: true });
  });
  await openPage(page);
  const ready = await startDownload(page, "10022");
  await expect(ready.row).toHaveAttribute("data-status", "completed", { timeout: 30_000 });
  await expect(page.getByRole("status")).toHaveText("File 10022 is ready to download.");
  const failing = await startDownload(page, "66666");
  await expect(failing.row).toHaveAttribute("data-status", "failed", { timeout: 45_000 });
  await expect(page.getByRole("status")).toContainText("File 66666 failed: File 66666 could not");
  const announced = await page.evaluate(
    () => (window as unknown as { announced: string[] }).announced,
  );
  expect(announced).toHaveLength(2);
  expect(announced.join(" ")).not.toContain("%");
  // The bar speaks in words too.
  await expect(ready.row.getByRole("progressbar")).toHaveAttribute("aria-valuetext", "100 %");
});

test("a notification comes for a download that finishes in a hidden tab, not in a visible one", async ({
  page,
  context,
  baseURL,
}) => {
  await context.grantPermissions(["notifications"], { origin: baseURL });
  // Records every notification the page creates (headless Chromium shows none).
  await page.addInitScript(() => {
    const Real = window.Notification;
    const shown: { title: string; body?: string }[] = [];
    (window as unknown as { notifications: typeof shown }).notifications = shown;
    class Recording extends Real {
      constructor(title: string, options?: NotificationOptions) {
        shown.push({ title, body: options?.body });
        super(title, options);
      }
    }
    window.Notification = Recording;
  });
  const notifications = () =>
    page.evaluate(
      () => (window as unknown as { notifications: { title: string; body?: string }[] }).notifications,
    );
  await openPage(page);
  const toggle = page.getByRole("button", { name: "Notify me when it's ready" });
  await expect(toggle).toHaveAttribute("aria-pressed", "false");
  await toggle.click();
  await expect(toggle).toHaveAttribute("aria-pressed", "true");

  const visible = await startDownload(page, "10023");
  await expect(visible.row).toHaveAttribute("data-status", "completed", { timeout: 30_000 });
  expect(await notifications(), "nothing while the person is looking").toEqual([]);

  const hidden = await startDownload(page, "10024");
  await expect(hidden.row).toHaveAttribute("data-status", /queued|processing/);
  await setVisibility(page, "hidden");
  await expect(hidden.row).toHaveAttribute("data-status", "completed", { timeout: 30_000 });
  expect(await notifications()).toEqual([
    { title: "Ferry", body: "File 10024 is ready to download." },
  ]);

  // The choice is remembered; turning it off stops them.
  await setVisibility(page, "visible");
  await page.reload();
  await expect(page.locator("body[data-hydrated=true]")).toBeAttached();
  await expect(toggle).toHaveAttribute("aria-pressed", "true");
  await toggle.click();
  await expect(toggle).toHaveAttribute("aria-pressed", "false");
});

test("a row waiting for a distant retry polls at once when the tab is shown again", async ({
  page,
}) => {
  // A retry 40 s away: the server says so in Retry-After and the row waits that long.
  const ferry = await PrivateFerry.start({
    DOWNLOAD_DELAY_MIN_MS: "1000",
    DOWNLOAD_DELAY_MAX_MS: "1000",
    SIMULATED_FAILURE_FILE_IDS: "66666",
    JOB_MAX_ATTEMPTS: "2",
    RETRY_BACKOFF_BASE_MS: "40000",
  });
  try {
    await page.goto(`${ferry.baseURL}/`);
    await expect(page.locator("body[data-hydrated=true]")).toBeAttached();
    const { jobId, row } = await startDownload(page, "66666");
    await expect(row).toHaveAttribute("data-status", "retrying", { timeout: 20_000 });
    const polls: number[] = [];
    page.on("request", (r) => {
      if (r.url().endsWith(`/v1/download/status/${jobId}`)) polls.push(Date.now());
    });
    // The hint is honoured: no poll in the next 5 s (2 s without it).
    await page.waitForTimeout(5_000);
    expect(polls, "polls while a retry is 40 s away").toEqual([]);
    await setVisibility(page, "hidden");
    await setVisibility(page, "visible");
    const shownAt = Date.now();
    await expect.poll(() => polls.length, { timeout: 3_000 }).toBe(1);
    expect(polls[0] - shownAt).toBeLessThan(1_500);
  } catch (error) {
    console.error(`--- log of the private Ferry ---\n${ferry.log()}`);
    throw error;
  } finally {
    await ferry.destroy();
  }
});

test("an expired download says when it expired and Prepare again makes it anew", async ({
  page,
}) => {
  // Files kept 3 s: the row turns from Ready to Expired while the page watches.
  const ferry = await PrivateFerry.start({
    DOWNLOAD_DELAY_MIN_MS: "1000",
    DOWNLOAD_DELAY_MAX_MS: "1000",
    RESULT_TTL_SECS: "3",
    FINISHED_RECORD_TTL_SECS: "3",
  });
  try {
    await page.goto(`${ferry.baseURL}/`);
    await expect(page.locator("body[data-hydrated=true]")).toBeAttached();
    const { jobId, row } = await startDownload(page, "10025");
    await expect(row).toHaveAttribute("data-status", "completed", { timeout: 20_000 });
    await expect(row).toHaveAttribute("data-status", "expired", { timeout: 10_000 });
    await expect(row.locator(".download-state")).toHaveText(
      /^Expired on \d{1,2} [A-Z][a-z]{2} at \d\d:\d\d: the file was removed\. Prepare it again to download it\.$/,
    );
    await expect(row.getByRole("link", { name: "Download Ready" })).toHaveCount(0);
    const status = await (
      await page.request.get(`${ferry.baseURL}/v1/download/status/${jobId}`)
    ).json();
    expect(status.status).toBe("expired");

    const [again] = await Promise.all([
      page.waitForResponse(
        (r) => r.url().endsWith("/v1/download/initiate") && r.request().method() === "POST",
      ),
      row.getByRole("button", { name: "Prepare again" }).click(),
    ]);
    const { jobId: newJobId } = (await again.json()) as { jobId: string };
    expect(newJobId).not.toBe(jobId);
    await expect(row).toHaveCount(0);
    const newRow = rowOf(page, newJobId);
    await expect(newRow).toContainText("File 10025");
    await expect(newRow.getByRole("link", { name: "Download Ready" })).toBeVisible({
      timeout: 20_000,
    });
    expect(await savedJobIds(page)).toEqual([newJobId]);
  } catch (error) {
    console.error(`--- log of the private Ferry ---\n${ferry.log()}`);
    throw error;
  } finally {
    await ferry.destroy();
  }
});

test("Clear finished removes every finished row at once and keeps the others", async ({
  page,
}) => {
  await openPage(page);
  const clear = page.getByRole("button", { name: "Clear finished" });
  await expect(clear).toHaveCount(0);
  const done = await startDownload(page, "10026");
  await expect(done.row).toHaveAttribute("data-status", "completed", { timeout: 30_000 });
  const cancelled = await startDownload(page, "10027");
  await cancelled.row.getByRole("button", { name: "Cancel" }).click();
  await expect(cancelled.row).toHaveAttribute("data-status", "cancelled");
  const running = await startDownload(page, "10028");
  await expect(running.row).toHaveAttribute("data-status", /queued|processing/);

  await clear.click();
  await expect(done.row).toHaveCount(0);
  await expect(cancelled.row).toHaveCount(0);
  await expect(running.row).toBeVisible();
  expect(await savedJobIds(page)).toEqual([running.jobId]);
  await expect(clear).toHaveCount(0);
});
