#!/usr/bin/env python3
"""Instructions per request of the HTTP hot paths, counted by callgrind: repeatable on a shared
machine where req/s moves by ±20 % between runs, so it tells whether a change costs the status or
initiate route anything.

    python3 bench/instructions.py target/release/server               # one build
    python3 bench/instructions.py OLD/server target/release/server    # two builds, side by side
    python3 bench/instructions.py target/release/server --profile status  # where they go

Each build runs under `valgrind --tool=callgrind` with the Redis queue (a private redis-server)
and no workers; one keep-alive connection sends N requests. The instructions of a run with N
requests minus those of a run with none, divided by N, are one request's: start-up and shut-down
cancel out. The server needs the site beside it as for `./bench/run` (target/site, and hash.txt
next to the binary).
"""

import argparse
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402  (the benchmarks' Redis and settings)


def instructions(binary, redis, route, requests, keep=None):
    """Instructions the server executed from start to exit, having answered `requests`; with
    `keep`, callgrind's output file is copied there."""
    redis.flush()
    with tempfile.TemporaryDirectory() as storage:
        port = bench.free_port()
        env = {
            "PATH": os.environ["PATH"], "LEPTOS_OUTPUT_NAME": "ferry",
            "LEPTOS_SITE_ROOT": str(bench.TARGET / "site"), "LEPTOS_SITE_ADDR": f"127.0.0.1:{port}",
            "LOCAL_STORAGE_DIR": f"{storage}/results", "REDIS_URL": redis.url,
            "WORKER_CONCURRENCY": "0", "RUST_LOG": "warn", "MAX_QUEUE_DEPTH": "100000000",
            "RATE_LIMIT_MAX_REQUESTS": "1000000000", **bench.UNLIMITED_CLIENT,
        }
        server = subprocess.Popen(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={storage}/callgrind.out",
             str(binary)],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True)
        deadline = time.monotonic() + 120
        while True:
            try:
                probe = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                probe.request("GET", "/health")
                probe.getresponse().read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    server.kill()
                    raise
                time.sleep(0.5)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        json_body = {"content-type": "application/json"}
        connection.request("POST", "/v1/download/initiate", body=b'{"file_id": 12345}',
                           headers=json_body)
        job_id = json.loads(connection.getresponse().read())["jobId"]
        for i in range(requests):
            if route == "status":
                connection.request("GET", f"/v1/download/status/{job_id}")
            else:
                body = json.dumps({"file_id": 20_000 + i}).encode()
                connection.request("POST", "/v1/download/initiate", body=body, headers=json_body)
            response = connection.getresponse()
            response.read()
            assert response.status in (200, 202), f"{route} answered {response.status}"
        server.send_signal(signal.SIGTERM)
        _, log = server.communicate(timeout=120)
        if keep:
            Path(keep).write_bytes(Path(f"{storage}/callgrind.out").read_bytes())
        return int(re.search(r"Collected : (\d+)", log).group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("binaries", nargs="+", type=Path)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--profile", choices=("status", "initiate"),
                        help="instead: the functions that executed the most instructions"
                        " (self cost) while one build answered the route's requests")
    parser.add_argument("--out", type=Path,
                        help="with --profile: keep callgrind's output file here (for"
                        " callgrind_annotate --tree=caller, or KCachegrind)")
    args = parser.parse_args()
    redis = bench.Redis()
    try:
        if args.profile:
            with tempfile.TemporaryDirectory() as folder:
                out = args.out or Path(folder) / "callgrind.out"
                instructions(args.binaries[0], redis, args.profile, args.requests, keep=out)
                print(subprocess.run(["callgrind_annotate", str(out)],
                                     check=True, capture_output=True, text=True).stdout)
            return
        for route in ("status", "initiate"):
            for binary in args.binaries:
                idle = instructions(binary, redis, route, 0)
                busy = instructions(binary, redis, route, args.requests)
                print(f"{route:8} {str(binary):40} {(busy - idle) / args.requests:10,.0f}"
                      f" instructions per request", flush=True)
    finally:
        redis.stop()


if __name__ == "__main__":
    main()
