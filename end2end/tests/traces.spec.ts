// Traces as a person meets them: a private Ferry exporting to a real OTLP/HTTP receiver (which
// decodes the protobuf). The click on Download starts the trace the browser sends in
// `traceparent`, and the row's polls send it too (after a reload as well); the row's details show
// that trace id, copyable and linked to the trace UI; the server exported the initiate request,
// the job's attempt and the row's polls in that very trace; and the console's job page shows it.
import { OtlpReceiver, PrivateFerry } from "./processes";
import { expect, expectAccessible, startDownload, test } from "./support";

const TOKEN = "trace-token-for-the-browser-tests";
const TRACE_UI = "http://localhost:16686/trace/{traceId}";

test("the trace id a row shows is the trace the server exported for that click", async ({
  page,
  context,
}) => {
  test.setTimeout(90_000);
  const receiver = await OtlpReceiver.start();
  const ferry = await PrivateFerry.start({
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    OTEL_BSP_SCHEDULE_DELAY: "100",
    TRACE_UI_URL_TEMPLATE: TRACE_UI,
    ADMIN_TOKEN: TOKEN,
    WORKER_CONCURRENCY: "1",
    DOWNLOAD_DELAY_MIN_MS: "2000",
    DOWNLOAD_DELAY_MAX_MS: "2000",
  });
  try {
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: ferry.baseURL });
    await page.goto(ferry.baseURL);
    await expect(page.locator("body[data-hydrated=true]")).toBeAttached();
    const initiate = page.waitForRequest((r) => r.url().endsWith("/v1/download/initiate"));
    // Listening before the click: the row's first poll follows the answer at once.
    const firstPoll = page.waitForRequest((r) => r.url().includes("/v1/download/status/"));
    const { jobId, row } = await startDownload(page, "12345");
    const sent = (await initiate).headers()["traceparent"] ?? "";
    expect(sent, "the click starts a trace").toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    const [, clickTrace, clickSpan] = sent.split("-");

    // The row's polls, from the first, send the click's trace context: each is a child of it.
    const poll = await firstPoll;
    expect(poll.url()).toContain(jobId);
    expect(poll.headers()["traceparent"]).toBe(sent);

    // The row's details name the trace, copyably, with a link to the trace UI.
    await row.getByText("Details", { exact: true }).click();
    const shown = row.getByTestId("trace-id");
    await expect(shown).toHaveText(clickTrace);
    await expect(row.getByRole("link", { name: "Open the trace" })).toHaveAttribute(
      "href",
      TRACE_UI.replace("{traceId}", clickTrace),
    );
    await row.getByRole("button", { name: "Copy the trace id" }).click();
    await expect(row.getByRole("status").filter({ hasText: "Copied." })).toBeVisible();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(clickTrace);
    await expectAccessible(page, "a row's details with its trace");
    await expect(row).toHaveAttribute("data-status", "completed", { timeout: 30_000 });

    // What the server exported for this click: the initiate request under the click's span, the
    // attempt under the request, and the polls.
    const requests = () => receiver.spans(clickTrace).filter((s) => s.name === "request");
    await expect
      .poll(() => requests().find((s) => s.attributes.path === "/v1/download/initiate")?.parentSpanId)
      .toBe(clickSpan);
    const initiateSpan = requests().find((s) => s.attributes.path === "/v1/download/initiate")!;
    await expect
      .poll(() => receiver.spans(clickTrace).find((s) => s.name === "job attempt")?.parentSpanId)
      .toBe(initiateSpan.spanId);
    await expect
      .poll(() => requests().filter((s) => s.attributes.path === `/v1/download/status/${jobId}`).length)
      .toBeGreaterThan(0);
    for (const pollSpan of requests().filter((s) => s.attributes.path === `/v1/download/status/${jobId}`)) {
      expect(pollSpan.parentSpanId).toBe(clickSpan);
    }

    // After a reload the row still polls in the click's trace.
    const again = page.waitForRequest((r) => r.url().endsWith(`/v1/download/status/${jobId}`));
    await page.reload();
    expect((await again).headers()["traceparent"]).toBe(sent);

    // The console's page of the job shows the same trace.
    const signIn = await page.request.post(`${ferry.baseURL}/admin/api/session`, { data: { token: TOKEN } });
    expect(signIn.ok()).toBe(true);
    await page.goto(`${ferry.baseURL}/admin/jobs/${jobId}`);
    await expect(page.locator('[data-fact="trace"] [data-testid="trace-id"]')).toHaveText(clickTrace);
  } finally {
    await ferry.destroy();
    await receiver.stop();
  }
});
