"""Soak: the monitor's memory stays flat over thousands of poll cycles on a compressed clock.

A `FeedFarm` serves `--feeds` RSS feeds on loopback; most answer 304, and one new story (which
the demo watchlists match, so alerts flow to a JSON Lines sink) appears in a random feed every
`--publish-every` seconds. The monitor runs in its own process, so the farm's memory is not
counted, in one of two modes:

- `cycles` (default): one `Monitor` polls every feed with `Monitor.run_cycle()` back to back on
  the asyncio reactor (the path of `watchdesk run --once`, with no wait between cycles): a day
  of 15-minute cycles takes minutes. The process samples itself every `--sample-every` cycles:
  resident memory (/proc), live gc-tracked Python objects, open file descriptors, threads.
- `service`: the real service (`python -m watchdesk.cli --config X run`) with every source on a
  1-2 s interval, sampled from outside with psutil; its progress is counted in the store's
  polls table, and one "cycle" is one poll per source.

Reported: resident memory at the start (the first sample after warm-up), end and peak, and the
slope of a least-squares line through the post-warm-up samples in MB per 1,000 cycles (the
leak rate; a flat monitor is near 0), with the same for Python objects and descriptors. Quick
mode runs ~3 minutes, `--full` ~30 minutes (thousands of cycles in both `cycles` runs).
Writes benchmarks/results/soak.json (or `--output`); `--max-slope MB` exits 1 above it.

Run: `python benchmarks/soak.py [--full] [--mode cycles|service] [--feeds 8]`.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.feedfarm import FeedFarm, service_env, start_publisher, write_config  # noqa: E402
from benchmarks.machine import machine_info  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "soak.json"
SAMPLE_TAG = "SOAK "
# Warm-up excluded from the slope: imports settle, caches (lru, the story index's arrays, the
# SQLite page cache) fill and the allocator reaches its working set in the first cycles.
WARMUP_SHARE = 0.2
WARMUP_MIN_CYCLES = 20
# The service's first polls come seconds after its start (imports, gazetteer): its warm-up is
# counted from the first full round of polls.
SERVICE_WARMUP_CYCLES = 2


# -- the measured process (cycles mode) ------------------------------------------------------


def _self_figures() -> dict[str, Any]:
    """This process's resident MB, live gc-tracked objects, open descriptors and threads.

    Counted after a full collection: without it the count follows the collector's sawtooth
    (tens of thousands of objects of garbage), not what the monitor keeps.
    """
    import gc

    gc.collect()
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return {
        "rss_mb": round(pages * os.sysconf("SC_PAGE_SIZE") / 2**20, 2),
        "objects": len(gc.get_objects()),
        "fds": len(os.listdir("/proc/self/fd")),
        "threads": threading.active_count(),
    }


def child(config: str, cycles: int, seconds: float, sample_every: int) -> int:
    """Run `cycles` monitor cycles (or until `seconds` pass), printing a sample line every
    `sample_every` cycles: `SOAK {"cycle": n, "t": s, "rss_mb": ..., ...}`."""
    from spiders.runner import run_in_reactor
    from watchdesk.service.config import load_config
    from watchdesk.service.monitor import Monitor

    monitor = Monitor(load_config(Path(config)))
    started = time.monotonic()

    def sample(n: int, report: Any = None) -> None:
        row = {"cycle": n, "t": round(time.monotonic() - started, 2), **_self_figures()}
        if report is not None:
            row["stored"] = report.stats.get("article/stored", 0)
            row["alerts"] = report.stats.get("alert/sent/jsonl", 0)
        print(SAMPLE_TAG + json.dumps(row), flush=True)

    async def main() -> None:
        sample(0)
        for n in range(1, cycles + 1):
            report = await monitor.run_cycle()
            if n % sample_every == 0 or n == cycles:
                sample(n, report)
            if time.monotonic() - started > seconds:
                if n % sample_every:
                    sample(n, report)
                break

    try:
        run_in_reactor(main)
    finally:
        monitor.close()
    return 0


# -- the driver ------------------------------------------------------------------------------


def run_cycles(
    config: Path, cycles: int, seconds: float, sample_every: int, log: Path
) -> list[dict[str, Any]]:
    """Run the cycles child to completion; its samples."""
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        str(config),
        "--cycles",
        str(cycles),
        "--seconds",
        str(seconds),
        "--sample-every",
        str(sample_every),
    ]
    samples: list[dict[str, Any]] = []
    with log.open("wb") as errors:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=service_env(), stdout=subprocess.PIPE, stderr=errors, text=True
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith(SAMPLE_TAG):
                samples.append(json.loads(line[len(SAMPLE_TAG) :]))
        # the child stops itself after `seconds`; the grace covers one last slow cycle
        proc.wait(timeout=120)
    if proc.returncode != 0:
        tail = log.read_text("utf-8", "replace")[-3000:]
        raise RuntimeError(f"soak child exited {proc.returncode}:\n{tail}")
    return samples


def _polls(db: Path) -> int:
    """Polls recorded so far (0 before the store exists); read-only, never blocks the writer."""
    if not db.exists():
        return 0
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return int(conn.execute("SELECT count(*) FROM polls").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.OperationalError:  # the schema is being created
        return 0


def run_service(
    config: Path, feeds: int, seconds: float, sample_s: float, log: Path
) -> list[dict[str, Any]]:
    """Run `watchdesk run` for `seconds`, sampling it with psutil every `sample_s` seconds;
    a sample's `cycle` is the polls recorded so far divided by the number of sources."""
    import psutil

    db = config.parent / "watchdesk.db"
    cmd = [sys.executable, "-m", "watchdesk.cli", "-q", "--config", str(config), "run"]
    samples: list[dict[str, Any]] = []
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=service_env(), stdout=out, stderr=subprocess.STDOUT
        )
    service = psutil.Process(proc.pid)
    started = time.monotonic()
    try:
        while time.monotonic() - started < seconds:
            if proc.poll() is not None:
                raise RuntimeError(log.read_text("utf-8", "replace")[-3000:])
            with service.oneshot():
                row = {
                    "cycle": round(_polls(db) / feeds, 2),
                    "t": round(time.monotonic() - started, 2),
                    "rss_mb": round(service.memory_info().rss / 2**20, 2),
                    "fds": service.num_fds(),
                    "threads": service.num_threads(),
                    "cpu_s": round(sum(service.cpu_times()[:2]), 2),
                }
            samples.append(row)
            time.sleep(sample_s)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.returncode not in (0, -signal.SIGTERM):
        raise RuntimeError(log.read_text("utf-8", "replace")[-3000:])
    return samples


def slope_per_1000(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of y over x, times 1,000 (None with fewer than 3 distinct x)."""
    if len({x for x, _ in points}) < 3:
        return None
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    sxy = sum((x - mx) * (y - my) for x, y in points)
    return round(1000 * sxy / sxx, 3)


def summarise(samples: list[dict[str, Any]], warmup_min: float) -> dict[str, Any]:
    """Start/end/peak and per-1,000-cycle slopes over the samples past the warm-up (the first
    `WARMUP_SHARE` of the cycles, at least `warmup_min`)."""
    if not samples:
        raise RuntimeError("no samples")
    last = samples[-1]["cycle"]
    warmup = max(warmup_min, WARMUP_SHARE * last)
    steady = [s for s in samples if s["cycle"] >= warmup] or samples[-3:]
    out: dict[str, Any] = {
        "cycles": last,
        "seconds": samples[-1]["t"],
        "cycles_per_s": round(last / samples[-1]["t"], 2) if samples[-1]["t"] else None,
        "warmup_cycles": round(warmup, 1),
        "rss_mb": {
            "first": samples[0]["rss_mb"],
            "start": steady[0]["rss_mb"],
            "end": steady[-1]["rss_mb"],
            "peak": max(s["rss_mb"] for s in samples),
            "growth_after_warmup": round(steady[-1]["rss_mb"] - steady[0]["rss_mb"], 2),
            "slope_per_1000_cycles": slope_per_1000([(s["cycle"], s["rss_mb"]) for s in steady]),
        },
    }
    for key in ("objects", "fds", "threads"):
        if key in steady[0]:
            out[key] = {
                "start": steady[0][key],
                "end": steady[-1][key],
                "slope_per_1000_cycles": slope_per_1000([(s["cycle"], s[key]) for s in steady]),
            }
    for key in ("stored", "alerts"):
        if key in samples[-1]:
            out[key] = samples[-1][key]
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="~30 minutes instead of ~3")
    parser.add_argument("--mode", choices=("cycles", "service"), default="cycles")
    parser.add_argument("--feeds", type=int, default=8, help="loopback feeds polled per cycle")
    parser.add_argument("--minutes", type=float, help="run time (default 3, or 30 with --full)")
    parser.add_argument("--cycles", type=int, help="stop after this many cycles (cycles mode)")
    parser.add_argument("--sample-every", type=int, default=25, help="cycles between samples")
    parser.add_argument("--publish-every", type=float, default=2.0, help="s between stories")
    parser.add_argument("--every", default="1s", help="source interval in service mode")
    parser.add_argument("--max-slope", type=float, help="exit 1 above this MB per 1,000 cycles")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child, args.cycles or 10**9, args.seconds or 1e9, args.sample_every)

    minutes = args.minutes if args.minutes is not None else (30.0 if args.full else 3.0)
    cycles = args.cycles or 10**9
    stop = threading.Event()
    with tempfile.TemporaryDirectory(prefix="watchdesk-soak-") as tmp:
        work = Path(tmp)
        # 2 feeds per loopback host, like separate small sites
        with FeedFarm(args.feeds, feeds_per_host=2) as farm:
            config = write_config(
                work, farm.urls(), every=args.every, user_agent="watchdesk-soak/0.1"
            )
            start_publisher(farm, args.publish_every, stop)
            try:
                if args.mode == "cycles":
                    samples = run_cycles(
                        config, cycles, minutes * 60, args.sample_every, work / "soak.log"
                    )
                else:
                    samples = run_service(config, args.feeds, minutes * 60, 2.0, work / "soak.log")
            finally:
                stop.set()
            requests = farm.take_counts()
            published = len(farm.published)
    summary = summarise(
        samples, WARMUP_MIN_CYCLES if args.mode == "cycles" else SERVICE_WARMUP_CYCLES
    )
    if args.mode == "service":
        summary["polls"] = round(summary["cycles"] * args.feeds)
    report = {
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python benchmarks/soak.py " + " ".join(argv),
        "machine": machine_info(),
        "mode": args.mode,
        "feeds": args.feeds,
        "publish_every_s": args.publish_every,
        "stories_published": published,
        "farm_requests": requests,
        **summary,
        "samples": samples,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=1) + "\n", "utf-8")
    rss = summary["rss_mb"]
    print(
        f"soak ({args.mode}): {summary['cycles']:g} cycles over {args.feeds} feeds in "
        f"{summary['seconds']:.0f} s; RSS start {rss['start']:.1f} MB (after "
        f"{summary['warmup_cycles']:g} warm-up cycles), end {rss['end']:.1f}, peak "
        f"{rss['peak']:.1f}; slope {rss['slope_per_1000_cycles']} MB per 1,000 cycles"
    )
    for key in ("objects", "fds", "threads"):
        if key in summary:
            s = summary[key]
            print(f"  {key}: {s['start']} -> {s['end']} ({s['slope_per_1000_cycles']} / 1,000)")
    slope = rss["slope_per_1000_cycles"]
    if args.max_slope is not None and slope is not None and slope > args.max_slope:
        print(f"FAIL: RSS slope {slope} MB per 1,000 cycles > {args.max_slope}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
