"""Benchmark the Redis scale-out: one polling cycle by one process against two sharing Redis.

The same loopback feed farm as `polling.py` (50 ms per answer; per round 10 % of the feeds
publish 3 new items, the rest answer 304). Each side has its own store, primed once; per round
the same items are published for both, and the sides run back to back, alternating which goes
first:

- one: `watchdesk run --once`;
- two: two `watchdesk run --once` at the same time with `WATCHDESK_REDIS_URL` set (leases on
  the polls, claims on the articles, one sender), against a `redis-server` started here on
  127.0.0.1 (Debian's package; the benchmark stops with a message without it).

Reports wall time (until the last process exits), CPU seconds (summed) and peak memory (summed)
per side, and the ratio. Writes benchmarks/results/scale_out.json.
Run: `python benchmarks/scale_out.py [--feeds 1000] [--rounds 2]`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.feedfarm import FeedFarm, write_config  # noqa: E402
from benchmarks.machine import machine_info  # noqa: E402
from benchmarks.polling import NEW_ITEMS_PER_FEED, run_child, stored_articles, usage_wrapper  # noqa: E402
from watchdesk.service.coordination import REDIS_URL_ENV  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "scale_out.json"


def start_redis(work: Path) -> tuple[subprocess.Popen[bytes], str]:
    server = shutil.which("redis-server")
    if server is None:
        raise SystemExit("redis-server not found: apt-get install redis-server")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [server, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--dir", str(work)],
        stdout=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    return proc, f"redis://127.0.0.1:{port}/0"


def once(config: Path) -> list[str]:
    return usage_wrapper(
        [sys.executable, "-m", "watchdesk.cli", "--config", str(config), "run", "--once"]
    )


def run_side(config: Path, processes: int, redis_url: str | None) -> dict[str, Any]:
    env = {REDIS_URL_ENV: redis_url} if redis_url else {}
    started = time.perf_counter()
    with ThreadPoolExecutor(processes) as pool:
        results = list(pool.map(lambda _: run_child(once(config), extra_env=env), range(processes)))
    wall = time.perf_counter() - started
    for r in results:
        if r["returncode"] != 0:
            raise RuntimeError(r["stderr_tail"])
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(sum(r["cpu_s"] for r in results), 2),
        "peak_rss_mb": round(sum(r["peak_rss_mb"] for r in results), 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    import redis

    rows = []
    with tempfile.TemporaryDirectory(prefix="watchdesk-scale-") as tmp:
        work = Path(tmp)
        server, url = start_redis(work)
        try:
            with FeedFarm(args.feeds) as farm:
                configs = {}
                for side in ("one", "two"):
                    (work / side).mkdir()
                    configs[side] = write_config(work / side, farm.urls())
                    primed = run_child(once(configs[side]))  # without Redis: no leases held
                    assert primed["returncode"] == 0, primed["stderr_tail"]
                farm.assign_kinds()
                farm.latency = args.latency
                new_feeds = [f.index for f in farm.feeds if f.kind == "new"]
                for r in range(args.rounds):
                    for i in new_feeds:
                        farm.publish(i, NEW_ITEMS_PER_FEED)
                    row: dict[str, Any] = {"round": r + 1}
                    for side in ["one", "two"] if r % 2 == 0 else ["two", "one"]:
                        redis.Redis.from_url(url).flushdb()  # the last round's poll leases
                        db = configs[side].parent / "watchdesk.db"
                        before = stored_articles(db)
                        n = 1 if side == "one" else 2
                        row[side] = run_side(configs[side], n, url if n > 1 else None)
                        row[side]["new_articles"] = stored_articles(db) - before
                        print(f"round {r + 1} {side}: {row[side]}", flush=True)
                    row["speedup"] = round(row["one"]["wall_s"] / row["two"]["wall_s"], 2)
                    rows.append(row)
        finally:
            server.terminate()
            server.wait(timeout=10)
    report = {
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python benchmarks/scale_out.py " + " ".join(argv or sys.argv[1:]),
        "machine": machine_info(),
        "feeds": args.feeds,
        "latency_s": args.latency,
        "rounds": rows,
        "speedup_median": statistics.median(r["speedup"] for r in rows),
    }
    args.output.write_text(json.dumps(report, indent=2) + "\n", "utf-8")
    print(f"two processes vs one: {report['speedup_median']}x (median wall ratio)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
