// The status endpoint a team would write instead of Ferry: Hono on Node, reading the job
// from BullMQ (`Queue.getJob`, then its state, progress and return value).
//
//   node status.mjs --redis redis://127.0.0.1:PORT --queue NAME [--port 0]
//
// Before it listens it adds one job and lets a worker take it and report 42 % progress, then
// keeps the job active for as long as the process lives: the same situation as Ferry's status
// benchmark (one job processing for the whole run). When it listens it prints one JSON line:
//   {"event":"ready","port":P,"jobId":"..."}
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { Queue, Worker } from 'bullmq';
import { parseArgs, fail, redisConnection, emit, log } from './common.mjs';

const USAGE = `usage: node status.mjs --redis redis://HOST:PORT --queue NAME [--port PORT]`;

const args = parseArgs(process.argv.slice(2), { usage: USAGE });
for (const required of ['redis', 'queue']) {
  if (args[required] === undefined) fail(`--${required} is required`, USAGE);
}
const port = Number(args.port ?? 0);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail('--port must be a port number', USAGE);

const queue = new Queue(args.queue, { connection: redisConnection(args.redis) });
queue.on('error', (err) => log(`queue error: ${err?.message ?? err}`));

const app = new Hono();

app.get('/v1/download/status/:id', async (c) => {
  const job = await queue.getJob(c.req.param('id'));
  if (!job) {
    return c.json({ error: 'not_found', message: 'There is no download with this id.' }, 404);
  }
  const state = await job.getState();
  return c.json({
    jobId: job.id,
    status: state,
    progress: typeof job.progress === 'number' ? job.progress : 0,
    result: job.returnvalue ?? null,
    failedReason: job.failedReason ?? null,
  });
});

/** One job, taken by a worker that reports progress and then never finishes. */
async function seedActiveJob() {
  let started;
  const active = new Promise((resolve) => { started = resolve; });
  const worker = new Worker(
    args.queue,
    async (job) => {
      await job.updateProgress(42);
      started(job.id);
      await new Promise(() => {});
    },
    { connection: redisConnection(args.redis, { forWorker: true }) },
  );
  worker.on('error', (err) => log(`worker error: ${err?.message ?? err}`));
  await queue.add('download', { fileIds: [12345], delayMs: 600000 });
  return active;
}

const jobId = await seedActiveJob();
const server = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, (info) => {
  emit({ event: 'ready', port: info.port, jobId });
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
