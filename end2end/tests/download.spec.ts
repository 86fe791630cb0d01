import { expect, test, type Page } from "@playwright/test";

// The server under test runs with short simulated downloads (3–5 s) and file 66666 always
// failing; see scripts/test.

async function openPage(page: Page): Promise<void> {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(String(error)));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  await page.goto("/");
  // The WASM bundle marks the body once the page is interactive.
  await expect(page.locator("body[data-hydrated=true]")).toBeAttached();
  test.info().annotations.push({ type: "console-errors", description: "checked after test" });
  (page as unknown as { ferryErrors: string[] }).ferryErrors = errors;
}

function consoleErrors(page: Page): string[] {
  return (page as unknown as { ferryErrors: string[] }).ferryErrors;
}

async function startDownload(page: Page, fileIds: string): Promise<void> {
  await page.getByLabel("File ID").fill(fileIds);
  await page.getByRole("button", { name: "Download" }).click();
}

test("clicking Download shows progress, then a Download Ready link that serves the zip", async ({
  page,
  request,
}) => {
  await openPage(page);
  await startDownload(page, "12345");

  const row = page.locator("li.download").first();
  const bar = row.getByRole("progressbar", { name: "Progress of File 12345" });
  await expect(bar).toBeVisible();
  // Progress rises while the worker prepares the file.
  await expect
    .poll(async () => Number(await bar.getAttribute("aria-valuenow")), { timeout: 20_000 })
    .toBeGreaterThan(0);
  await expect(row).toContainText(/Preparing… \d+ %|Ready/);

  const link = row.getByRole("link", { name: "Download Ready" });
  await expect(link).toBeVisible({ timeout: 30_000 });
  await expect(row).toContainText("Ready");
  await expect(bar).toHaveAttribute("aria-valuenow", "100");

  const href = await link.getAttribute("href");
  expect(href).toBeTruthy();
  const response = await request.get(href!);
  expect(response.status()).toBe(200);
  expect(response.headers()["content-type"]).toBe("application/zip");
  const body = await response.body();
  expect(body.subarray(0, 4).toString("binary")).toBe("PK\u0003\u0004");

  // Clicking the link downloads the file in the browser too.
  const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
  expect(download.suggestedFilename()).toBe("12345.zip");

  expect(consoleErrors(page)).toEqual([]);
});

test("a file that cannot be prepared shows the error and a Retry button", async ({ page }) => {
  await openPage(page);
  await startDownload(page, "66666");
  const row = page.locator("li.download").first();
  await expect(row).toContainText("Failed: file 66666 could not be fetched", { timeout: 45_000 });
  await expect(row.getByRole("button", { name: "Retry" })).toBeVisible();
  await expect(row.getByRole("link", { name: "Download Ready" })).toHaveCount(0);
  expect(consoleErrors(page)).toEqual([]);
});

test("a reload picks the download up again", async ({ page }) => {
  await openPage(page);
  await startDownload(page, "23456");
  const row = page.locator("li.download").first();
  await expect(row.getByRole("progressbar")).toBeVisible();
  await page.reload();
  await expect(page.locator("body[data-hydrated=true]")).toBeAttached();
  const restored = page.locator("li.download").first();
  await expect(restored).toContainText("File 23456");
  await expect(restored.getByRole("link", { name: "Download Ready" })).toBeVisible({
    timeout: 30_000,
  });
});

test("an invalid file id is explained before anything is sent", async ({ page }) => {
  await openPage(page);
  await startDownload(page, "42");
  await expect(page.getByRole("alert")).toContainText("Check the file ids: file id 42 is out of range");
  await expect(page.locator("li.download")).toHaveCount(0);
});
