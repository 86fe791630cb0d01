// The download manager as a person uses it: start, follow, download, retry, cancel, remove.
import {
  expect,
  openPage,
  progressOf,
  rowOf,
  savedJobIds,
  startDownload,
  test,
  unknownJobId,
  watchStatusRequests,
  zipEntryNames,
} from "./support";
import { PrivateFerry } from "./processes";

test("clicking Download shows progress, then a Download Ready link that serves the zip", async ({
  page,
}) => {
  await openPage(page);
  const { row } = await startDownload(page, "12345");

  const bar = row.getByRole("progressbar", { name: "Progress of File 12345" });
  await expect(bar).toHaveAttribute("aria-valuemin", "0");
  await expect(bar).toHaveAttribute("aria-valuemax", "100");
  // Progress rises while the worker prepares the file.
  await expect.poll(() => progressOf(row), { timeout: 20_000 }).toBeGreaterThan(0);
  await expect(row).toContainText(/Preparing… \d+ %|Ready/);

  const link = row.getByRole("link", { name: "Download Ready" });
  await expect(link).toBeVisible({ timeout: 30_000 });
  // The finished file's size comes with it (a 64 KiB simulated file zips to about 65.7 kB), and
  // until when it can be downloaded, in local time.
  await expect(row.locator(".download-state")).toHaveText(
    /^Ready · \d+\.\d kB · available until \d\d:\d\d (today|tomorrow)$/,
  );
  await expect(bar).toHaveAttribute("aria-valuenow", "100");
  await expect(row.getByRole("button", { name: "Cancel" })).toHaveCount(0);

  // Clicking the link downloads the zip in the browser.
  const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
  expect(download.suggestedFilename()).toBe("12345.zip");
  expect(zipEntryNames(await download.path())).toEqual(["file-12345.bin"]);
});

test("two downloads at once both reach Download Ready, then stop polling", async ({ page }) => {
  await openPage(page);
  const first = await startDownload(page, "10001");
  const second = await startDownload(page, "10002");
  // Newest first.
  await expect(page.locator("li.download").first()).toHaveAttribute("data-job-id", second.jobId);

  // The second was started while the first was still running: both make progress side by side.
  await expect(first.row).toHaveAttribute("data-status", /queued|processing/);
  for (const { row } of [first, second]) {
    await expect(row.getByRole("link", { name: "Download Ready" })).toBeVisible({
      timeout: 30_000,
    });
  }

  // A finished row asks nothing more (its link stays valid for an hour).
  const requests = [
    watchStatusRequests(page, first.jobId),
    watchStatusRequests(page, second.jobId),
  ];
  await page.waitForTimeout(5_000); // an observation window of two poll intervals, not a sync
  expect(requests.map((r) => r.length)).toEqual([0, 0]);
});

test("a reload mid-progress resumes both downloads", async ({ page }) => {
  await openPage(page);
  const first = await startDownload(page, "10003");
  const second = await startDownload(page, "10004");
  await expect(second.row).toHaveAttribute("data-status", "processing", { timeout: 20_000 });
  await expect(first.row).toHaveAttribute("data-status", /processing|completed/);
  expect(await savedJobIds(page)).toEqual([second.jobId, first.jobId]);

  await page.reload();
  await expect(page.locator("body[data-hydrated=true]")).toBeAttached();
  // Both rows come back, in the same order, with their live state.
  await expect(page.locator("li.download")).toHaveCount(2);
  await expect(page.locator("li.download").first()).toHaveAttribute("data-job-id", second.jobId);
  await expect(first.row).toContainText("File 10003");
  await expect(second.row).toContainText("File 10004");
  for (const { row } of [first, second]) {
    await expect(row.getByRole("link", { name: "Download Ready" })).toBeVisible({
      timeout: 30_000,
    });
    await expect(row.getByRole("progressbar")).toHaveAttribute("aria-valuenow", "100");
  }
});

test("a file that cannot be prepared shows Failed with the error, and Retry starts a new job", async ({
  page,
}) => {
  await openPage(page);
  const failing = await startDownload(page, "66666");
  await expect(failing.row).toContainText("Failed: File 66666 could not be fetched", {
    timeout: 45_000,
  });
  await expect(failing.row).toHaveAttribute("data-status", "failed");
  await expect(failing.row.getByRole("link", { name: "Download Ready" })).toHaveCount(0);
  await expect(failing.row.getByRole("button", { name: "Cancel" })).toHaveCount(0);
  // What support needs is one click away: the raw error, the job id and the request id.
  const details = failing.row.locator("details.failure-details");
  await expect(details.locator("pre")).toBeHidden();
  await details.getByText("Details for support").click();
  await expect(details.locator("pre")).toContainText(`Job id: ${failing.jobId}`);
  await expect(details.locator("pre")).toContainText(/Request id: [0-9a-f-]{36}/);
  await expect(details.locator("pre")).toContainText("Error: File 66666 could not be fetched");

  const [retried] = await Promise.all([
    page.waitForResponse(
      (r) => r.url().endsWith("/v1/download/initiate") && r.request().method() === "POST",
    ),
    failing.row.getByRole("button", { name: "Retry" }).click(),
  ]);
  expect(retried.status()).toBe(202);
  const { jobId: newJobId } = (await retried.json()) as { jobId: string };
  expect(newJobId).not.toBe(failing.jobId);

  // The new job replaces the old row, for the same file, and runs (and fails) again.
  const newRow = rowOf(page, newJobId);
  await expect(newRow).toContainText("File 66666");
  await expect(failing.row).toHaveCount(0);
  expect(await savedJobIds(page)).toEqual([newJobId]);
  await expect(newRow).toContainText("Failed: File 66666 could not be fetched", {
    timeout: 45_000,
  });
});

test("Cancel moves a running download to Cancelled, and Remove drops it", async ({ page }) => {
  await openPage(page);
  const { jobId, row } = await startDownload(page, "10005");
  await expect(row).toHaveAttribute("data-status", "processing", { timeout: 20_000 });

  await row.getByRole("button", { name: "Cancel" }).click();
  await expect(row).toHaveAttribute("data-status", "cancelled");
  await expect(row.locator(".download-state")).toHaveText("Cancelled");
  await expect(row.getByRole("button", { name: "Cancel" })).toHaveCount(0);
  await expect(row.getByRole("button", { name: "Retry" })).toBeVisible();
  await expect(row.getByRole("link", { name: "Download Ready" })).toHaveCount(0);

  // The server agrees.
  const status = await page.request.get(`/v1/download/status/${jobId}`);
  expect((await status.json()).status).toBe("cancelled");

  await row.getByRole("button", { name: "Remove" }).click();
  await expect(row).toHaveCount(0);
  expect(await savedJobIds(page)).toEqual([]);
  await expect(page.getByText("No downloads yet.")).toBeVisible();
});

test("a bundle of three ids downloads one zip with three entries", async ({ page }) => {
  await openPage(page);
  const { row } = await startDownload(page, "12345, 23456, 34567");
  await expect(row.locator(".download-name")).toHaveText("3 files (12345, 23456, 34567)");
  await expect(
    row.getByRole("progressbar", { name: "Progress of 3 files (12345, 23456, 34567)" }),
  ).toBeVisible();

  const link = row.getByRole("link", { name: "Download Ready" });
  await expect(link).toBeVisible({ timeout: 30_000 });
  const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
  expect(download.suggestedFilename()).toMatch(/\.zip$/);
  expect(zipEntryNames(await download.path())).toEqual([
    "file-12345.bin",
    "file-23456.bin",
    "file-34567.bin",
  ]);
});

test("a download the server no longer knows says so and can be removed", async ({ page }) => {
  const gone = unknownJobId();
  await page.addInitScript((id) => {
    if (!sessionStorage.getItem("seeded")) {
      localStorage.setItem("ferry.downloads", JSON.stringify([id]));
      sessionStorage.setItem("seeded", "1");
    }
  }, gone);
  await openPage(page);
  const row = rowOf(page, gone);
  await expect(row).toContainText("Expired: the server no longer has this download");
  await expect(row).toHaveAttribute("data-connection", "expired");
  await expect(row.getByRole("button", { name: "Cancel" })).toHaveCount(0);
  await row.getByRole("button", { name: "Remove" }).click();
  await expect(row).toHaveCount(0);
  expect(await savedJobIds(page)).toEqual([]);
});

test("a Download Ready click after the first signature expired still downloads", async ({
  page,
}) => {
  // A server of its own whose signed links live 2 s, so the first one expires at once.
  const ferry = await PrivateFerry.start({
    DOWNLOAD_DELAY_MIN_MS: "1000",
    DOWNLOAD_DELAY_MAX_MS: "1000",
    PRESIGN_TTL_SECS: "2",
  });
  try {
    await page.goto(`${ferry.baseURL}/`);
    await expect(page.locator("body[data-hydrated=true]")).toBeAttached();
    const { jobId, row } = await startDownload(page, "10009");
    const link = row.getByRole("link", { name: "Download Ready" });
    await expect(link).toBeVisible({ timeout: 20_000 });
    // The button is the job's stable address, not the signed link of the last answer…
    expect(await link.getAttribute("href")).toBe(`${ferry.baseURL}/v1/download/${jobId}/file`);
    const status = await (
      await page.request.get(`${ferry.baseURL}/v1/download/status/${jobId}`)
    ).json();
    // …whose signature expires.
    await expect
      .poll(async () => (await page.request.get(status.url)).status(), { timeout: 10_000 })
      .toBe(403);

    const polls = watchStatusRequests(page, jobId);
    const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
    expect(polls.length, "the click needs no status request").toBe(0);
    expect(download.url()).not.toBe(status.url);
    expect(download.suggestedFilename()).toBe("10009.zip");
    expect(zipEntryNames(await download.path())).toEqual(["file-10009.bin"]);
  } catch (error) {
    console.error(`--- log of the private Ferry ---\n${ferry.log()}`);
    throw error;
  } finally {
    await ferry.destroy();
  }
});

test("an invalid file id is explained before anything is sent", async ({ page }) => {
  await openPage(page);
  let initiated = 0;
  page.on("request", (r) => {
    if (r.url().endsWith("/v1/download/initiate")) initiated += 1;
  });
  await page.getByLabel("File ID").fill("42");
  await page.getByRole("button", { name: "Download", exact: true }).click();
  await expect(page.getByRole("alert")).toContainText(
    "Check the file ids: file id 42 is out of range",
  );
  await expect(page.getByLabel("File ID")).toHaveAttribute("aria-invalid", "true");
  await page.getByLabel("File ID").fill("10010-10005");
  await page.getByRole("button", { name: "Download", exact: true }).click();
  await expect(page.getByRole("alert")).toContainText("runs backwards");
  await expect(page.locator("li.download")).toHaveCount(0);
  expect(initiated).toBe(0);
});
