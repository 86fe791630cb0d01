// Real files from an HTTP origin: a private Ferry with ORIGIN=http in front of a slow file server
// the test starts. The row shows bytes and the time left while the file streams, then the link;
// a file the origin does not have fails at once, with no retry countdown.
import type { Response } from "@playwright/test";
import { expect, progressOf, startDownload, test } from "./support";
import { PrivateFerry, SlowOrigin, originContent } from "./processes";

test("a file from an HTTP origin shows its bytes and time left, then the link; a missing one fails at once", async ({
  page,
}) => {
  test.setTimeout(90_000);
  const size = 6_000_000;
  // About 8 s of streaming: long enough for several polls and a rate.
  const origin = await SlowOrigin.start({ 40001: { content: originContent(40001, size), name: "survey.csv" } }, 32, 250);
  const ferry = await PrivateFerry.start({
    ORIGIN: "http",
    ORIGIN_URL_TEMPLATE: origin.urlTemplate,
    RATE_LIMIT_MAX_REQUESTS: "100000",
    INITIATE_RATE_LIMIT_MAX_REQUESTS: "100000",
    JOB_MAX_ATTEMPTS: "3",
    RETRY_BACKOFF_BASE_MS: "500",
  });
  try {
    await page.goto(`${ferry.baseURL}/`);
    await expect(page.locator("body[data-hydrated=true]")).toBeAttached();

    const { row } = await startDownload(page, "40001");
    const transfer = row.locator(".download-transfer");
    await expect(transfer).toHaveText(/^\d+\.\d (kB|MB) of 6\.0 MB · about \d+ s left$/, {
      timeout: 20_000,
    });
    await expect.poll(() => progressOf(row)).toBeGreaterThan(0);
    await row.screenshot({ path: "screenshots/origin-streaming.png" });
    await expect(row.getByRole("link", { name: "Download Ready" })).toBeVisible({ timeout: 30_000 });
    await expect(row.locator(".download-state")).toHaveText(/^Ready · 6\.0 MB · available until /);
    await expect(transfer).toBeEmpty();

    const statuses: string[] = [];
    const { jobId, row: missing } = await startDownload(page, "40404");
    page.on("response", async (response: Response) => {
      if (response.url().endsWith(`/v1/download/status/${jobId}`) && response.ok()) {
        statuses.push(((await response.json()) as { status: string }).status);
      }
    });
    await expect(missing.locator(".download-state")).toHaveText("Failed: File 40404 does not exist.", {
      timeout: 20_000,
    });
    await missing.screenshot({ path: "screenshots/origin-missing.png" });
    expect(statuses).not.toContain("retrying");
    const final = (await (await page.request.get(`${ferry.baseURL}/v1/download/status/${jobId}`)).json()) as {
      attempt: number;
    };
    expect(final.attempt).toBe(1);
  } finally {
    await ferry.destroy();
    await origin.stop();
  }
});
