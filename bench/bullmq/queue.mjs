// Throughput runner for the BullMQ side of the queue benchmark.
//
//   node queue.mjs --redis redis://127.0.0.1:PORT --queue NAME \
//     --scenario add-one|add-bulk|fill|process --jobs N \
//     [--concurrency C] [--bulk-size 1000] [--timeout 600] [--rate R]
//
// Prints exactly one JSON line on stdout when done:
//   {"impl":"bullmq","scenario":"...","jobs":N,"concurrency":C|null,"seconds":S,"cpuSeconds":X}
// (pickup: {"impl":"bullmq","scenario":"pickup","jobs":N,"rate":R,"p50Ms":..,"p99Ms":..,"maxMs":..})
// Everything else goes to stderr. Exit code is non-zero on any failure.
import { Queue, Worker } from 'bullmq';
import { parseArgs, fail, positiveInt, redisConnection, emit, log } from './common.mjs';

const USAGE = `usage: node queue.mjs --redis redis://HOST:PORT --queue NAME \\
         --scenario add-one|add-bulk|fill|process --jobs N \\
         [--concurrency C] [--bulk-size 1000] [--timeout SECONDS] [--rate R]

  add-one   N sequential awaited queue.add calls (timed)
  add-bulk  queue.addBulk in chunks of --bulk-size, one after another (timed)
  fill      same as add-bulk; the setup step for 'process'
  process   a Worker with a no-op processor and --concurrency C (default 1)
            consumes N jobs previously added by 'fill' (timed from just
            before the Worker is created until N 'completed' events)
  pickup    a Worker (default options) and N adds: one at a time (--rate 0, the
            default: the next add waits for the last job's 'completed') or R a
            second on a fixed schedule; reports the time from just before each add
            until the processor starts the job (p50, p99, max)
  --timeout only for 'process': give up (exit 1) after this many seconds (default 600)`;

const SCENARIOS = new Set(['add-one', 'add-bulk', 'fill', 'process', 'pickup']);
const JOB_NAME = 'download';

const args = parseArgs(process.argv.slice(2), { usage: USAGE });
if (args._.length) fail(`unexpected argument ${JSON.stringify(args._[0])}`, USAGE);
for (const required of ['redis', 'queue', 'scenario', 'jobs']) {
  if (args[required] === undefined) fail(`--${required} is required`, USAGE);
}
const scenario = args.scenario;
if (!SCENARIOS.has(scenario)) fail(`unknown --scenario ${JSON.stringify(scenario)}`, USAGE);
const jobs = positiveInt(args.jobs, 'jobs', USAGE);
const bulkSize = positiveInt(args['bulk-size'] ?? 1000, 'bulk-size', USAGE);
const timeoutSeconds = positiveInt(args.timeout ?? 600, 'timeout', USAGE);
if (scenario !== 'process' && args.concurrency !== undefined) {
  log(`note: --concurrency is ignored for scenario ${scenario}`);
}
const concurrency = scenario === 'process' ? positiveInt(args.concurrency ?? 1, 'concurrency', USAGE) : null;
const queueName = args.queue;
const redisUrl = args.redis;

const jobData = (i) => ({ fileIds: [10000 + i], delayMs: 0 });

/** Start a measurement; the returned function stops it and gives the numbers. */
function startClock() {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  return () => {
    const t1 = process.hrtime.bigint();
    const cpu = process.cpuUsage(cpu0);
    return {
      seconds: Number(t1 - t0) / 1e9,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
    };
  };
}

async function addOne(queue) {
  const stop = startClock();
  for (let i = 0; i < jobs; i++) {
    await queue.add(JOB_NAME, jobData(i));
  }
  return stop();
}

async function addBulk(queue) {
  const stop = startClock();
  for (let start = 0; start < jobs; start += bulkSize) {
    const end = Math.min(start + bulkSize, jobs);
    const chunk = [];
    for (let i = start; i < end; i++) chunk.push({ name: JOB_NAME, data: jobData(i) });
    await queue.addBulk(chunk);
  }
  return stop();
}

async function processJobs(queue) {
  // Sanity check outside the timed section: 'fill' must have run before.
  const counts = await queue.getJobCounts('wait', 'prioritized', 'delayed', 'active', 'completed', 'failed');
  log(`queue ${queueName} before process: ${JSON.stringify(counts)}`);
  if (counts.wait + counts.prioritized < jobs) {
    throw new Error(`only ${counts.wait + counts.prioritized} jobs waiting, need ${jobs}; run --scenario fill first`);
  }

  let completed = 0;
  let failed = 0;
  let result = null;
  let worker;
  let timer;

  const done = new Promise((resolve, reject) => {
    const stop = startClock();
    worker = new Worker(queueName, async () => {}, {
      connection: redisConnection(redisUrl, { forWorker: true }),
      concurrency,
    });
    worker.on('completed', () => {
      completed++;
      if (completed === jobs && result === null) {
        result = stop();
        resolve();
      }
    });
    worker.on('failed', (job, err) => {
      failed++;
      log(`job ${job?.id} failed: ${err?.message ?? err}`);
      reject(new Error(`job ${job?.id} failed`));
    });
    worker.on('error', (err) => log(`worker error: ${err?.message ?? err}`));
    timer = setTimeout(
      () => reject(new Error(`timed out after ${timeoutSeconds}s with ${completed}/${jobs} completed`)),
      timeoutSeconds * 1000,
    );
  });

  try {
    await done;
  } finally {
    clearTimeout(timer);
    await worker.close();
  }
  if (failed > 0 || completed < jobs) {
    throw new Error(`${completed}/${jobs} completed, ${failed} failed`);
  }
  return result;
}

/** Percentile `q` (0..1] of sorted `values`, nearest rank. */
function percentile(values, q) {
  return values[Math.min(values.length, Math.max(1, Math.ceil(values.length * q))) - 1];
}

async function pickup(queue, rate) {
  const added = new Array(jobs);
  const waited = new Array(jobs);
  let completed = 0;
  let onCompleted = () => {};
  const worker = new Worker(queueName, async (job) => {
    const index = job.data.index;
    waited[index] = Number(process.hrtime.bigint() - added[index]) / 1e6;
  }, { connection: redisConnection(redisUrl, { forWorker: true }) });
  worker.on('completed', () => { completed++; onCompleted(); });
  worker.on('failed', (job, err) => log(`job ${job?.id} failed: ${err?.message ?? err}`));
  await worker.waitUntilReady();
  await new Promise((resolve) => setTimeout(resolve, 200));
  const allDone = (count) => new Promise((resolve) => {
    onCompleted = () => { if (completed >= count) resolve(); };
    onCompleted();
  });
  const add = (i) => {
    added[i] = process.hrtime.bigint();
    return queue.add(JOB_NAME, { ...jobData(i), index: i });
  };
  if (rate === 0) {
    for (let i = 0; i < jobs; i++) {
      const done = allDone(i + 1);
      await add(i);
      await done;
    }
  } else {
    const start = process.hrtime.bigint();
    const period = 1e9 / rate;
    const adds = [];
    for (let i = 0; i < jobs; i++) {
      const due = start + BigInt(Math.round(i * period));
      const wait = Number(due - process.hrtime.bigint()) / 1e6;
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      adds.push(add(i));
    }
    await Promise.all(adds);
    await allDone(jobs);
  }
  await worker.close();
  const sorted = waited.slice().sort((a, b) => a - b);
  return {
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    maxMs: sorted[sorted.length - 1],
  };
}

async function main() {
  const queue = new Queue(queueName, { connection: redisConnection(redisUrl) });
  queue.on('error', (err) => log(`queue error: ${err?.message ?? err}`));
  let measured;
  try {
    await queue.waitUntilReady();
    if (scenario === 'pickup') {
      const rate = Number(args.rate ?? 0);
      if (!Number.isInteger(rate) || rate < 0) fail('--rate must be a whole number of jobs a second', USAGE);
      const latency = await pickup(queue, rate);
      emit({ impl: 'bullmq', scenario, jobs, rate, ...latency });
      return;
    }
    if (scenario === 'add-one') measured = await addOne(queue);
    else if (scenario === 'add-bulk' || scenario === 'fill') measured = await addBulk(queue);
    else measured = await processJobs(queue);
  } finally {
    await queue.close();
  }
  emit({
    impl: 'bullmq',
    scenario,
    jobs,
    concurrency,
    seconds: Number(measured.seconds.toFixed(6)),
    cpuSeconds: Number(measured.cpuSeconds.toFixed(6)),
  });
  log(`${scenario}: ${jobs} jobs in ${measured.seconds.toFixed(3)} s = ${(jobs / measured.seconds).toFixed(0)} jobs/s, client cpu ${measured.cpuSeconds.toFixed(3)} s`);
}

main().catch((err) => {
  log(`error: ${err?.stack ?? err}`);
  process.exitCode = 1;
  // If a connection refuses to close, do not hang the benchmark driver.
  setTimeout(() => process.exit(1), 5000).unref();
});
