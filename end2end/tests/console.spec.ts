// The operator console (/admin) against a private Ferry with ADMIN_TOKEN set: signing in (a wrong
// token refused, the right one accepted, by keyboard only), the overview's counts and charts for
// jobs this test made, a failed job retried from its page until it completes, and cancel and
// pause/resume as the page shows them. Accessible at desktop size and at 375 px; screenshots saved.
import type { APIRequestContext, Page } from "@playwright/test";
import path from "node:path";
import { PrivateFerry, SlowOrigin, originContent } from "./processes";
import { expect, expectAccessible, test } from "./support";

const screenshots = path.join(__dirname, "..", "screenshots");
const TOKEN = "console-token-for-the-browser-tests";

/** Starts a job through the API; returns its id. */
async function initiate(request: APIRequestContext, baseURL: string, fileId: number): Promise<string> {
  const response = await request.post(`${baseURL}/v1/download/initiate`, { data: { file_id: fileId } });
  expect(response.status()).toBe(202);
  return ((await response.json()) as { jobId: string }).jobId;
}

/** Waits until the job's status is `status`; returns the status body. */
async function waitForStatus(
  request: APIRequestContext,
  baseURL: string,
  jobId: string,
  status: string,
): Promise<Record<string, unknown>> {
  let body: Record<string, unknown> = {};
  await expect
    .poll(
      async () => {
        body = (await (await request.get(`${baseURL}/v1/download/status/${jobId}`)).json()) as Record<string, unknown>;
        return body.status;
      },
      { timeout: 30_000 },
    )
    .toBe(status);
  return body;
}

/** Opens the console and signs in with the token by typing it. */
async function signIn(page: Page, baseURL: string): Promise<void> {
  await page.goto(`${baseURL}/admin`);
  await expect(page.locator("body[data-hydrated=true]")).toBeAttached();
  await page.getByLabel("Admin token").fill(TOKEN);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Queue" })).toBeVisible();
}

const count = (page: Page, name: string) => page.locator(`dd[data-count="${name}"]`);

test("signing in refuses a wrong token and takes the right one; the overview counts and charts this test's jobs", async ({
  page,
}) => {
  test.setTimeout(120_000);
  const ferry = await PrivateFerry.start({
    ADMIN_TOKEN: TOKEN,
    WORKER_CONCURRENCY: "2",
    DOWNLOAD_DELAY_MIN_MS: "1000",
    DOWNLOAD_DELAY_MAX_MS: "1000",
    SIMULATED_FAILURE_FILE_IDS: "66666",
    JOB_MAX_ATTEMPTS: "1",
  });
  try {
    const jobs = [];
    for (const fileId of [12345, 23456, 66666]) jobs.push(await initiate(page.request, ferry.baseURL, fileId));
    await waitForStatus(page.request, ferry.baseURL, jobs[0], "completed");
    await waitForStatus(page.request, ferry.baseURL, jobs[1], "completed");
    await waitForStatus(page.request, ferry.baseURL, jobs[2], "failed");

    await page.goto(`${ferry.baseURL}/admin`);
    await expect(page.locator("body[data-hydrated=true]")).toBeAttached();
    // Keyboard only: Tab to the token field, type, Enter.
    const token = page.getByLabel("Admin token");
    for (let presses = 0; presses < 10 && !(await token.evaluate((el) => el === document.activeElement)); presses++) {
      await page.keyboard.press("Tab");
    }
    await expect(token).toBeFocused();
    await page.keyboard.type("not-the-token-at-all");
    await page.keyboard.press("Enter");
    await expect(page.getByRole("alert").filter({ hasText: "not this deployment's admin token" })).toBeVisible();
    await expect(token).toHaveAttribute("aria-invalid", "true");
    await token.fill("");
    await page.keyboard.type(TOKEN);
    await page.keyboard.press("Enter");
    await expect(page.getByRole("status")).toHaveText("Signed in.");
    await expect(page.getByRole("button", { name: "Sign out" })).toBeVisible();

    await expect(count(page, "completed")).toHaveText("2");
    await expect(count(page, "failed")).toHaveText("1");
    await expect(count(page, "queued")).toHaveText("0");
    await expect(count(page, "processing")).toHaveText("0");
    // The throughput chart has bars for the finished jobs; the depth chart the heartbeat's samples.
    const throughput = page.locator('svg[data-chart="throughput"]');
    await expect(throughput.getByText(/2 jobs completed and 1 failed/)).toBeAttached();
    const bars = await throughput.locator("rect.bar-completed").evaluateAll((rects) =>
      rects.map((r) => Number(r.getAttribute("height"))).filter((h) => h > 0),
    );
    expect(bars.length).toBeGreaterThan(0);
    await expect(page.locator('svg[data-chart="depth"] circle.depth-dot').first()).toBeAttached();
    await expect(page.getByTestId("instances").locator("tbody tr")).toHaveCount(1);
    await expect(page.getByTestId("health")).toContainText("answering");
    // The job list holds the three, the failed one with its reason.
    const rows = page.locator("table.jobs tbody tr");
    await expect(rows).toHaveCount(3);
    await expect(page.locator(`tr[data-job="${jobs[2]}"]`)).toContainText("failed");
    await page.getByLabel("State").selectOption("completed");
    await page.getByRole("button", { name: "Show jobs" }).click();
    await expect(rows).toHaveCount(2);

    // Keyboard only: Tab reaches every control in order, and Enter on a job's link opens it.
    await page.getByRole("heading", { name: "Ferry console" }).click();
    const reached: string[] = [];
    for (let presses = 0; presses < 40; presses++) {
      await page.keyboard.press("Tab");
      reached.push(
        await page.evaluate(() => {
          const el = document.activeElement as HTMLElement | null;
          return el ? (el.getAttribute("aria-label") ?? el.id ?? "") + "|" + (el.textContent ?? "").trim() : "";
        }),
      );
      const onJobLink = await page.evaluate(
        (ids) => document.activeElement?.tagName === "A" && ids.includes(document.activeElement.textContent?.trim() ?? ""),
        jobs,
      );
      if (onJobLink) break;
    }
    for (const control of ["Sign out", "Pause queue", "Retry all failed", "job-search|", "filter-state|", "Show jobs"]) {
      expect(reached.some((name) => name.includes(control)), `Tab reaches ${control}: ${reached.join(" → ")}`).toBe(true);
    }
    const focusedJob = await page.evaluate(() => document.activeElement?.textContent?.trim() ?? "");
    expect(jobs).toContain(focusedJob);
    await page.keyboard.press("Enter");
    await expect(page).toHaveURL(new RegExp(`/admin/jobs/${focusedJob}$`));
    await expect(page.locator('dd[data-fact="phase"]')).toHaveText("completed");
    await page.goBack();
    await expect(page.getByRole("heading", { name: "Queue" })).toBeVisible();
    await page.getByLabel("State").selectOption("completed");
    await page.getByRole("button", { name: "Show jobs" }).click();
    await expect(rows).toHaveCount(2);

    await expectAccessible(page, "on a desktop");
    await page.screenshot({ path: path.join(screenshots, "console-desktop.png"), fullPage: true });
    await page.setViewportSize({ width: 375, height: 812 });
    await expectAccessible(page, "at 375 px");
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(overflow, "the page itself does not scroll sideways at 375 px").toBeLessThanOrEqual(375);
    await page.screenshot({ path: path.join(screenshots, "console-375.png"), fullPage: true });
  } finally {
    await ferry.destroy();
  }
});

test("a failed job retried from its page completes; cancel and pause show on the page", async ({ page }) => {
  test.setTimeout(120_000);
  // The origin does not have file 40001 at first: the job fails at once (a missing file is final).
  const files: Record<number, { content: Buffer; name: string }> = {};
  const origin = await SlowOrigin.start(files, 4, 100);
  const ferry = await PrivateFerry.start({
    ADMIN_TOKEN: TOKEN,
    ORIGIN: "http",
    ORIGIN_URL_TEMPLATE: origin.urlTemplate,
    WORKER_CONCURRENCY: "1",
    JOB_MAX_ATTEMPTS: "2",
  });
  try {
    const failing = await initiate(page.request, ferry.baseURL, 40001);
    await waitForStatus(page.request, ferry.baseURL, failing, "failed");
    await signIn(page, ferry.baseURL);

    // Open the job by its id from the search box.
    await page.getByLabel("Open a job by id").fill(failing);
    await page.getByLabel("Open a job by id").press("Enter");
    await expect(page).toHaveURL(new RegExp(`/admin/jobs/${failing}$`));
    const phase = page.locator('dd[data-fact="phase"]');
    await expect(phase).toHaveText("failed");
    const attempts = page.getByTestId("attempts").locator("tbody tr");
    await expect(attempts).toHaveCount(1);
    await expect(attempts.first()).toContainText("failed");

    // The file appears at the origin; retrying runs a new attempt of the same job, which completes.
    files[40001] = { content: originContent(40001, 200_000), name: "found.csv" };
    await page.getByRole("button", { name: "Retry", exact: true }).click();
    await expect(page.getByRole("status")).toHaveText(`Job ${failing} retried.`);
    await expect(phase).toHaveText("completed", { timeout: 30_000 });
    await expect(attempts).toHaveCount(2);
    await expect(attempts.nth(1)).toContainText("completed");
    await expect(page.getByTestId("job-facts")).toContainText("downloads/40001.zip");
    await page.screenshot({ path: path.join(screenshots, "console-job.png"), fullPage: true });
    await waitForStatus(page.request, ferry.baseURL, failing, "completed");

    // Pause: the page says so, a new job waits (its status says why), and it can be cancelled.
    await page.getByRole("link", { name: "← All jobs" }).click();
    const pause = page.getByRole("button", { name: "Pause queue" });
    await pause.click();
    await expect(page.getByText("Paused: workers start no new job")).toBeVisible();
    await expect(page.getByRole("button", { name: "Resume queue" })).toHaveAttribute("aria-pressed", "true");
    files[40002] = { content: originContent(40002, 1_000), name: "later.csv" };
    const held = await initiate(page.request, ferry.baseURL, 40002);
    const status = await waitForStatus(page.request, ferry.baseURL, held, "queued");
    expect(status.paused).toBe(true);
    await expect(count(page, "queued")).toHaveText("1", { timeout: 15_000 });
    await page.goto(`${ferry.baseURL}/admin/jobs/${held}`);
    await expect(phase).toHaveText("queued");
    await page.getByRole("button", { name: "Cancel job" }).click();
    await expect(phase).toHaveText("cancelled");
    await waitForStatus(page.request, ferry.baseURL, held, "cancelled");

    // Resume: the notice goes, and a new job runs.
    await page.getByRole("link", { name: "Overview and jobs" }).click();
    await page.getByRole("button", { name: "Resume queue" }).click();
    await expect(page.getByText("Paused: workers start no new job")).toHaveCount(0);
    await expect(page.getByRole("status")).toHaveText("The queue is running again.");
    const after = await initiate(page.request, ferry.baseURL, 40002);
    await waitForStatus(page.request, ferry.baseURL, after, "completed");
  } finally {
    await ferry.destroy();
    await origin.stop();
  }
});
