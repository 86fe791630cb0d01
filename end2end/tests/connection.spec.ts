// The API going away and coming back for real: a private Ferry and its private Redis are stopped
// and started again while the page follows a download.
import type { Request } from "@playwright/test";
import { expect, progressOf, startDownload, test } from "./support";
import { PrivateFerry, PrivateRedis } from "./processes";

/** One status request: when it was sent, when its answer (or failure) came, and what it was. */
type Outcome = { sent: number; done: number; status: number | "unreachable" };

test("the API going away shows Connection lost, backs off, and recovers when it returns", async ({
  page,
}) => {
  test.setTimeout(120_000);
  const redis = await PrivateRedis.start();
  const ferry = await PrivateFerry.start({
    REDIS_URL: redis.url,
    QUEUE_PREFIX: "ferry-e2e-connection",
    DOWNLOAD_DELAY_MIN_MS: "12000",
    DOWNLOAD_DELAY_MAX_MS: "12000",
    // A lease the instance that comes back can reclaim quickly.
    LEASE_TTL_MS: "3000",
  });
  try {
    await page.goto(`${ferry.baseURL}/`);
    await expect(page.locator("body[data-hydrated=true]")).toBeAttached();
    const { jobId, row } = await startDownload(page, "10007");
    await expect.poll(() => progressOf(row), { timeout: 20_000 }).toBeGreaterThan(0);

    // Every status request of this row, and its answer (or lack of one), in order. Times come
    // from the browser's own timing of each request where it has one: this process may see an
    // event late while it starts or stops a server, the browser's clock does not.
    const outcomes: Outcome[] = [];
    const sentAt = new Map<Request, number>();
    const isStatus = (request: Request) => request.url().endsWith(`/v1/download/status/${jobId}`);
    const browserTimes = (request: Request, seenAt: number) => {
      const timing = request.timing();
      const sent = timing.startTime > 0 ? timing.startTime : (sentAt.get(request) ?? seenAt);
      // A refused connection fails within milliseconds of being sent and has no response time.
      const done = timing.responseEnd >= 0 ? timing.startTime + timing.responseEnd : sent;
      return { sent, done };
    };
    page.on("request", (request) => {
      if (isStatus(request)) sentAt.set(request, Date.now());
    });
    page.on("requestfinished", async (request) => {
      if (!isStatus(request)) return;
      const times = browserTimes(request, Date.now());
      const status = (await request.response())?.status() ?? "unreachable";
      outcomes.push({ ...times, status });
    });
    page.on("requestfailed", (request) => {
      if (!isStatus(request)) return;
      outcomes.push({ ...browserTimes(request, Date.now()), status: "unreachable" });
    });
    /** How long the row waited after `earlier`'s answer before sending `later`. */
    const waitBetween = (earlier: Outcome, later: Outcome) => later.sent - earlier.done;
    const failures = () => outcomes.filter((o) => o.status === "unreachable" || o.status >= 500);
    // A full answer, or a 304 saying the row's last one still holds.
    const answeredOk = (o: Outcome) => o.status === 200 || o.status === 304;

    // Redis goes down: the API is up but answers 503.
    await redis.stop();
    await expect(row.locator(".download-state")).toHaveText("Connection lost — retrying");
    await expect(row).toHaveAttribute("data-connection", "lost");
    expect(failures()[0]?.status).toBe(503);

    // Then Ferry itself goes away: connections are refused.
    await ferry.stop();
    await expect.poll(() => failures().length, { timeout: 20_000 }).toBeGreaterThanOrEqual(3);
    expect(failures()[2].status).toBe("unreachable");
    await expect(row.locator(".download-state")).toHaveText("Connection lost — retrying");

    // Both come back; the page finds the job again without a reload.
    await redis.startAgain();
    await ferry.startAgain();
    await expect(row).toHaveAttribute("data-connection", "live", { timeout: 15_000 });

    // While the API was away the waits doubled (2 s, 4 s, 8 s) …
    const [first, second, third] = failures();
    const recovered = outcomes.find((o) => o.sent > third.done && answeredOk(o))!;
    const backoff = [
      waitBetween(first, second),
      waitBetween(second, third),
      waitBetween(third, recovered),
    ];
    [2_000, 4_000, 8_000].forEach((nominal, i) => {
      expect(backoff[i], `waits while away: ${backoff}`).toBeGreaterThanOrEqual(nominal - 100);
      expect(backoff[i], `waits while away: ${backoff}`).toBeLessThan(nominal + 1_000);
    });
    // … and are back to 2 s now that it answers.
    const answered = () => outcomes.filter((o) => o.sent >= recovered.sent && answeredOk(o));
    await expect.poll(() => answered().length, { timeout: 15_000 }).toBeGreaterThanOrEqual(3);
    const [a, b, c] = answered();
    for (const wait of [waitBetween(a, b), waitBetween(b, c)]) {
      expect(wait, "wait after recovery").toBeGreaterThanOrEqual(1_900);
      expect(wait, "wait after recovery").toBeLessThan(3_000);
    }

    // The job survived both outages and finishes.
    await expect(row.getByRole("link", { name: "Download Ready" })).toBeVisible({
      timeout: 45_000,
    });
  } catch (error) {
    console.error(`--- log of the private Ferry ---\n${ferry.log()}`);
    throw error;
  } finally {
    await ferry.destroy();
    await redis.destroy();
  }
});
