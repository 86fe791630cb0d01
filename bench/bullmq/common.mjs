// Small helpers shared by queue.mjs and crash.mjs: CLI parsing, Redis
// connection options and stdout/stderr output.
import { writeSync } from 'node:fs';

/**
 * Parse `--key value` / `--key=value` pairs (and a leading positional list).
 * Returns { _: [positionals], key: value, ... }.
 */
export function parseArgs(argv, { usage } = {}) {
  const out = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-h' || arg === '--help') {
      if (usage) writeSync(2, usage.endsWith('\n') ? usage : usage + '\n');
      process.exit(0);
    }
    if (!arg.startsWith('--')) {
      out._.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    if (eq !== -1) {
      out[arg.slice(2, eq)] = arg.slice(eq + 1);
      continue;
    }
    const key = arg.slice(2);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) {
      fail(`missing value for --${key}`, usage);
    }
    out[key] = next;
    i++;
  }
  return out;
}

export function fail(message, usage) {
  writeSync(2, `error: ${message}\n`);
  if (usage) writeSync(2, usage.endsWith('\n') ? usage : usage + '\n');
  process.exit(2);
}

export function positiveInt(value, name, usage) {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) fail(`--${name} must be a positive integer, got ${JSON.stringify(value)}`, usage);
  return n;
}

/**
 * Turn redis://[user:pass@]host:port[/db] (or rediss://) into ioredis options.
 * `forWorker` adds maxRetriesPerRequest: null, which BullMQ requires for the
 * blocking connection a Worker uses.
 */
export function redisConnection(url, { forWorker = false } = {}) {
  let u;
  try {
    u = new URL(url);
  } catch {
    fail(`--redis is not a valid URL: ${JSON.stringify(url)}`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    fail(`--redis must start with redis:// or rediss://, got ${JSON.stringify(url)}`);
  }
  const conn = {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
  };
  if (u.username) conn.username = decodeURIComponent(u.username);
  if (u.password) conn.password = decodeURIComponent(u.password);
  const db = u.pathname.replace(/^\//, '');
  if (db) conn.db = Number(db);
  if (u.protocol === 'rediss:') conn.tls = {};
  if (forWorker) conn.maxRetriesPerRequest = null;
  return conn;
}

/** One JSON object per line on stdout, written synchronously (no buffering). */
export function emit(obj) {
  writeSync(1, JSON.stringify(obj) + '\n');
}

/** Diagnostics go to stderr, synchronously. */
export function log(...parts) {
  writeSync(2, parts.map((p) => (typeof p === 'string' ? p : String(p))).join(' ') + '\n');
}
