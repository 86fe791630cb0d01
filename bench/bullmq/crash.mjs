// Crash-recovery helper for the BullMQ side of the queue benchmark.
//
//   node crash.mjs worker --redis redis://HOST:PORT --queue NAME --name A
//   node crash.mjs add    --redis redis://HOST:PORT --queue NAME
//
// 'worker' runs one BullMQ Worker with the DEFAULT lock/stall settings
// (lockDuration 30000 ms, stalledInterval 30000 ms, maxStalledCount 1),
// concurrency 1, whose processor waits 10 s. It runs until killed and prints
// one JSON object per line on stdout:
//   {"event":"ready","worker":"A","t":...}
//   {"event":"started","worker":"A","jobId":"1","attempt":1,"t":...}
//   {"event":"completed","worker":"A","jobId":"1","attempt":1,"t":...}
//   {"event":"failed",...,"error":"..."}
// 'add' adds one job and prints {"event":"added","jobId":"...","t":...}.
// t is Date.now() (ms since the epoch). Diagnostics go to stderr.
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue, Worker } from 'bullmq';
import { parseArgs, fail, redisConnection, emit, log } from './common.mjs';

const USAGE = `usage: node crash.mjs worker --redis redis://HOST:PORT --queue NAME --name A
       node crash.mjs add    --redis redis://HOST:PORT --queue NAME`;

const JOB_NAME = 'download';
const PROCESS_MS = 10_000;

const args = parseArgs(process.argv.slice(2), { usage: USAGE });
const [command, ...extra] = args._;
if (extra.length) fail(`unexpected argument ${JSON.stringify(extra[0])}`, USAGE);
for (const required of ['redis', 'queue']) {
  if (args[required] === undefined) fail(`--${required} is required`, USAGE);
}

const attemptOf = (job) => job.attemptsStarted ?? job.attemptsMade;

async function runWorker() {
  const name = args.name;
  if (name === undefined) fail('--name is required for worker', USAGE);

  const worker = new Worker(
    args.queue,
    async (job) => {
      emit({ event: 'started', worker: name, jobId: job.id, attempt: attemptOf(job), t: Date.now() });
      await sleep(PROCESS_MS);
      return { ok: true };
    },
    {
      connection: redisConnection(args.redis, { forWorker: true }),
      concurrency: 1,
      // lockDuration / stalledInterval / maxStalledCount deliberately left at
      // BullMQ's defaults: recovering from a crash is what is being measured.
    },
  );
  worker.on('completed', (job) => {
    emit({ event: 'completed', worker: name, jobId: job.id, attempt: attemptOf(job), t: Date.now() });
  });
  worker.on('failed', (job, err) => {
    emit({
      event: 'failed',
      worker: name,
      jobId: job?.id ?? null,
      attempt: job ? attemptOf(job) : null,
      error: String(err?.message ?? err),
      t: Date.now(),
    });
  });
  worker.on('stalled', (jobId) => log(`worker ${name}: job ${jobId} detected as stalled`));
  worker.on('error', (err) => log(`worker ${name} error: ${err?.message ?? err}`));

  // A polite stop (SIGINT/SIGTERM) lets the current job finish; a second
  // signal exits at once. kill -9 is the crash under test and bypasses this.
  let stopping = false;
  const stop = async (signal) => {
    if (stopping) process.exit(1);
    stopping = true;
    log(`worker ${name}: ${signal}, closing`);
    await worker.close();
    process.exit(0);
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  await worker.waitUntilReady();
  emit({ event: 'ready', worker: name, t: Date.now() });
}

async function addJob() {
  const queue = new Queue(args.queue, { connection: redisConnection(args.redis) });
  queue.on('error', (err) => log(`queue error: ${err?.message ?? err}`));
  try {
    const job = await queue.add(JOB_NAME, { fileIds: [12345], delayMs: PROCESS_MS });
    emit({ event: 'added', jobId: job.id, t: Date.now() });
  } finally {
    await queue.close();
  }
}

let main;
if (command === 'worker') main = runWorker;
else if (command === 'add') main = addJob;
else fail(command === undefined ? 'missing command' : `unknown command ${JSON.stringify(command)}`, USAGE);

main().catch((err) => {
  log(`error: ${err?.stack ?? err}`);
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 5000).unref();
});
