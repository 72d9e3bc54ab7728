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

`--postgres --processes 3` (issue 15): each side's store is a Postgres database on a throwaway
cluster from Debian's package (fsync on; tests/postgres_server.py), the processes share it
through WATCHDESK_DB_URL, and the other side is one process over Postgres. Writes
benchmarks/results/scale_out_postgres.json.
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
from crawler.storage.engine import DB_URL_ENV  # noqa: E402
from watchdesk.service.coordination import REDIS_URL_ENV  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "scale_out.json"
RESULTS_POSTGRES = ROOT / "benchmarks" / "results" / "scale_out_postgres.json"


def _stored(db: Path | str) -> int:
    """Articles in a side's store: its SQLite file, or its Postgres database."""
    if isinstance(db, Path):
        return stored_articles(db)
    from crawler.storage import Store

    with Store(db) as store:
        return store.count_articles()


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


def run_side(
    config: Path, processes: int, redis_url: str | None, store_env: dict[str, str]
) -> dict[str, Any]:
    env = ({REDIS_URL_ENV: redis_url} if redis_url else {}) | store_env
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
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument("--processes", type=int, default=2, help="processes on the shared side")
    parser.add_argument("--postgres", action="store_true", help="stores in Postgres")
    args = parser.parse_args(argv)
    output = args.output or (RESULTS_POSTGRES if args.postgres else RESULTS)
    many = {2: "two", 3: "three"}.get(args.processes, f"x{args.processes}")
    import redis

    cluster = None
    if args.postgres:
        from tests.postgres_server import PostgresCluster

        # its own folder under /tmp: the server runs as the `postgres` user when we are root
        cluster = PostgresCluster(Path(tempfile.mkdtemp(prefix="watchdesk-scale-pg-")))
        cluster.start(durable=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="watchdesk-scale-") as tmp:
        work = Path(tmp)
        server, url = start_redis(work)
        try:
            with FeedFarm(args.feeds) as farm:
                configs, stores = {}, {}
                for side in ("one", many):
                    (work / side).mkdir()
                    configs[side] = write_config(work / side, farm.urls())
                    stores[side] = {DB_URL_ENV: cluster.fresh_database()} if cluster else {}
                    primed = run_child(once(configs[side]), extra_env=stores[side])  # no Redis
                    assert primed["returncode"] == 0, primed["stderr_tail"]
                farm.assign_kinds()
                farm.latency = args.latency
                new_feeds = [f.index for f in farm.feeds if f.kind == "new"]
                for r in range(args.rounds):
                    for i in new_feeds:
                        farm.publish(i, NEW_ITEMS_PER_FEED)
                    row: dict[str, Any] = {"round": r + 1}
                    for side in ["one", many] if r % 2 == 0 else [many, "one"]:
                        redis.Redis.from_url(url).flushdb()  # the last round's poll leases
                        db = stores[side].get(DB_URL_ENV) or configs[side].parent / "watchdesk.db"
                        before = _stored(db)
                        n = 1 if side == "one" else args.processes
                        row[side] = run_side(configs[side], n, url if n > 1 else None, stores[side])
                        row[side]["new_articles"] = _stored(db) - before
                        print(f"round {r + 1} {side}: {row[side]}", flush=True)
                    row["speedup"] = round(row["one"]["wall_s"] / row[many]["wall_s"], 2)
                    rows.append(row)
        finally:
            server.terminate()
            server.wait(timeout=10)
            if cluster is not None:
                cluster.stop()
                shutil.rmtree(cluster.data.parent, ignore_errors=True)
    report = {
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python benchmarks/scale_out.py " + " ".join(argv or sys.argv[1:]),
        "machine": machine_info(),
        "feeds": args.feeds,
        "processes": args.processes,
        "store": "postgresql" if args.postgres else "sqlite",
        "latency_s": args.latency,
        "rounds": rows,
        "speedup_median": statistics.median(r["speedup"] for r in rows),
    }
    output.write_text(json.dumps(report, indent=2) + "\n", "utf-8")
    print(f"{many} processes vs one: {report['speedup_median']}x (median wall ratio)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
