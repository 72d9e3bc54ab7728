"""Load: does the real service keep to a 1-minute schedule over many sources, and where does
it stop keeping up?

For each size (sources), a `FeedFarm` serves that many RSS feeds on loopback (10 per loopback
address, each answer after `--latency` seconds); the real service (`python -m watchdesk.cli
--config X run`) polls every one `every: 1m` with its default crawl settings, alerts going to a
JSON Lines sink. Most polls answer 304; `--new-share` of the sources (5%) get one new story per
minute, spread over the minute. The service runs `--minutes` whole intervals plus three quarters
of one (so the jitter of up to 6 s per interval that APScheduler adds stays inside the window),
then gets SIGTERM. Measured per size:

- polls done vs scheduled: per source, from the store's polls table (a source is scheduled at
  its start and once per interval: minutes + 1 polls in the window), the share of sources that
  got all their polls, and the gap between a source's consecutive polls (p50/p95/max);
- missed and coalesced polls: APScheduler's warnings in the service log ("Run time of job ...
  was missed by", "skipped: maximum number of running instances");
- poll duration (p50/p95, from the polls table), CPU seconds (user + system) and resident
  memory (peak, end) of the service process, sampled with psutil every 2 s.

A size keeps up when at least 98% of the scheduled polls were done and nothing was missed or
skipped. Sizes are stepped up (quick: 250, 500; `--full`: 250, 500, 1000, 2000 with 1,000 run
for 10 minutes, the others for 3) and stepping stops at the first size that falls behind: the
ceiling is the largest size that kept up. Each size also gives a CPU-bound estimate, the sources
per minute one core could poll at that size's CPU seconds per poll (the service's event loop is
one thread); the farm serving the feeds runs on the same cores, so the figures are a floor.

Writes benchmarks/results/load.json (or `--output`).
Run: `python benchmarks/load.py [--full] [--sizes 250,500] [--minutes 2]`.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.feedfarm import FeedFarm, service_env, start_publisher, write_config  # noqa: E402
from benchmarks.machine import machine_info  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "load.json"
INTERVAL_S = 60
# The window's tail past the last whole interval: APScheduler adds up to 6 s of jitter to every
# run of a 1-minute source (watchdesk.service.monitor.source_trigger), and it accumulates (each
# run is scheduled from the previous, jittered one): 10 intervals drift by ~30 s, rarely 45 s.
# On top, the service spreads first polls over the first interval (Monitor.serve), so a source
# may start up to a whole interval late.
TAIL_S = 45 + INTERVAL_S
# A size keeps up when at least this share of its scheduled polls was done (a few polls of the
# last round may still be in flight at SIGTERM).
KEEPS_UP = 0.98
# APScheduler's warnings name the job by its function: `Monitor._poll_job` for a source; the
# outbox (`_deliver_job`, every 10 s) has APScheduler's default grace of 1 s, so its "missed"
# lines say the event loop was that late, not that a poll was lost.
MISSED = re.compile(r'Run time of job "(\S+) \(.*?was missed by (\d+):(\d+):([\d.]+)')
SKIPPED = re.compile(r'Execution of job "(\S+) \(.*?skipped: maximum number of running')
POLL_JOB = "Monitor._poll_job"
QUICK_SIZES = (250, 500)
FULL_SIZES = (250, 500, 1000, 2000)
# --full: the headline size runs 10 minutes, the other steps 3 (quick: every size 2)
FULL_HEADLINE = 1000


def _polls(db: Path, since: datetime) -> list[tuple[str, datetime, str, float]]:
    """(source, at, status, duration) of every poll recorded at or after `since`."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        rows = conn.execute(
            "SELECT source, at, status, duration FROM polls WHERE at >= ? ORDER BY at",
            (since.astimezone(UTC).isoformat(timespec="seconds"),),
        ).fetchall()
    finally:
        conn.close()
    return [(s, _parse_at(at), status, float(d)) for s, at, status, d in rows]


def _parse_at(text: str) -> datetime:
    at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 3)


def run_size(n: int, minutes: int, latency: float, new_share: float, work: Path) -> dict:
    """Run the service over `n` feeds for `minutes` intervals (plus the tail); its figures."""
    import psutil

    work.mkdir(parents=True, exist_ok=True)
    window = minutes * INTERVAL_S + TAIL_S
    stop = threading.Event()
    samples: list[tuple[float, float, float]] = []  # (t, rss MB, cpu s)
    with FeedFarm(n, feeds_per_host=10, latency=latency, seed=n) as farm:
        config = write_config(
            work, farm.urls(), every=f"{INTERVAL_S}s", user_agent="watchdesk-load/0.1"
        )
        log = work / "service.log"
        started_at = datetime.now(UTC) - timedelta(seconds=1)  # the store's `at` has seconds
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "watchdesk.cli", "--config", str(config), "run"],
                cwd=ROOT,
                env={**service_env(), "COLUMNS": "250"},  # rich wraps log lines at the width
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        service = psutil.Process(proc.pid)
        start_publisher(farm, 60.0 / max(1, round(n * new_share)), stop, seed=n)
        t0 = time.monotonic()
        wall0 = datetime.now(UTC)
        try:
            while time.monotonic() - t0 < window:
                if proc.poll() is not None:
                    raise RuntimeError(log.read_text("utf-8", "replace")[-3000:])
                with service.oneshot():
                    cpu = sum(service.cpu_times()[:2])
                    rss = service.memory_info().rss / 2**20
                samples.append((round(time.monotonic() - t0, 1), round(rss, 1), round(cpu, 2)))
                time.sleep(2.0)
        finally:
            stop.set()
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        requests = farm.take_counts()
        published = len(farm.published)
    text = log.read_text("utf-8", "replace")
    polls = _polls(work / "watchdesk.db", started_at)
    steady = steady_cpu(polls, samples, wall0)
    return {
        **summarise(n, minutes, window, polls, samples, text, requests, published, proc),
        **steady,
    }


def steady_cpu(
    polls: list[tuple[str, datetime, str, float]],
    samples: list[tuple[float, float, float]],
    wall0: datetime,
) -> dict[str, Any]:
    """CPU per poll after the first interval (start-up, imports and the first round of full
    feed answers excluded), and the sources a minute one core could poll at that cost."""
    later = [s for s in samples if s[0] >= INTERVAL_S]
    if len(later) < 2:
        return {"cpu_s_per_poll": None, "cpu_bound_sources_per_minute": None}
    since = wall0 + timedelta(seconds=later[0][0])
    until = wall0 + timedelta(seconds=later[-1][0])
    n_polls = sum(since <= at < until for _s, at, _st, _d in polls)
    cpu = later[-1][2] - later[0][2]
    if not n_polls or cpu <= 0:
        return {"cpu_s_per_poll": None, "cpu_bound_sources_per_minute": None}
    return {
        "steady_cpu_s": round(cpu, 2),
        "steady_polls": n_polls,
        "cpu_s_per_poll": round(cpu / n_polls, 4),
        # sources a minute one core could poll at this cost per poll
        "cpu_bound_sources_per_minute": round(INTERVAL_S * n_polls / cpu),
    }


def summarise(
    n: int,
    minutes: int,
    window: float,
    polls: list[tuple[str, datetime, str, float]],
    samples: list[tuple[float, float, float]],
    log_text: str,
    requests: dict[str, int],
    published: int,
    proc: subprocess.Popen[bytes],
) -> dict[str, Any]:
    """The figures of one size from its polls, process samples and log."""
    per_source: dict[str, list[datetime]] = defaultdict(list)
    for source, at, _status, _duration in polls:
        per_source[source].append(at)
    scheduled_each = minutes + 1
    done = [min(len(per_source.get(f"feed-{i}", [])), scheduled_each) for i in range(n)]
    gaps = [
        (b - a).total_seconds()
        for times in per_source.values()
        for a, b in zip(times, times[1:], strict=False)
    ]
    durations = [d for *_, d in polls]
    statuses: dict[str, int] = defaultdict(int)
    for _s, _at, status, _d in polls:
        statuses[status] += 1
    cpu_s = samples[-1][2] if samples else None
    missed_by: dict[str, list[float]] = defaultdict(list)
    for job, h, m, sec in MISSED.findall(log_text):
        missed_by[job].append(int(h) * 3600 + int(m) * 60 + float(sec))
    skipped_jobs: dict[str, int] = defaultdict(int)
    for job in SKIPPED.findall(log_text):
        skipped_jobs[job] += 1
    missed = len(missed_by.get(POLL_JOB, []))
    skipped = skipped_jobs.get(POLL_JOB, 0)
    ratio = sum(done) / (n * scheduled_each)
    keeps_up = ratio >= KEEPS_UP and missed == 0 and skipped == 0
    # the second round (every source's second poll): how many seconds hold 90% of it
    second = sorted(times[1].timestamp() for times in per_source.values() if len(times) > 1)
    burst = (
        round(second[int(0.95 * (len(second) - 1))] - second[int(0.05 * (len(second) - 1))], 1)
        if len(second) > 1
        else None
    )
    return {
        "sources": n,
        "interval_s": INTERVAL_S,
        "minutes": minutes,
        "window_s": window,
        "polls_scheduled": n * scheduled_each,
        "polls_done": sum(done),
        "polls_recorded": len(polls),
        "done_ratio": round(ratio, 4),
        "sources_all_polls": sum(d == scheduled_each for d in done),
        "sources_never_polled": sum(d == 0 for d in done),
        "poll_status": dict(statuses),
        "missed_logged": missed,
        "skipped_logged": skipped,
        # other jobs' late runs (the outbox's, by how many seconds at most): event-loop lag
        "other_jobs_missed": {
            job: {"count": len(v), "max_late_s": round(max(v), 2)}
            for job, v in missed_by.items()
            if job != POLL_JOB
        },
        "other_jobs_skipped": {j: c for j, c in skipped_jobs.items() if j != POLL_JOB},
        # all sources are started within 2 s and jittered by at most 6 s a minute, so a round
        # of polls arrives as a burst; its 90% span, in seconds
        "second_round_span_s": burst,
        "gap_s": {
            "p50": _pct(gaps, 0.5),
            "p95": _pct(gaps, 0.95),
            "max": round(max(gaps), 1) if gaps else None,
        },
        "poll_duration_s": {"p50": _pct(durations, 0.5), "p95": _pct(durations, 0.95)},
        "cpu_s": cpu_s,
        "cpu_share_of_one_core": round(cpu_s / samples[-1][0], 3) if cpu_s else None,
        "rss_mb": {
            "peak": max(r for _, r, _ in samples) if samples else None,
            "end": samples[-1][1] if samples else None,
            "median": statistics.median(r for _, r, _ in samples) if samples else None,
        },
        "stories_published": published,
        "farm_requests": requests,
        "exit_code": proc.returncode,
        "tracebacks": log_text.count("Traceback"),
        "log_lines": log_text.count("\n"),
        "log_warnings": log_text.count("WARNING"),
        "keeps_up": keeps_up,
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="250-2,000 sources, 1,000 for 10 min")
    parser.add_argument("--sizes", help="comma-separated source counts (overrides the mode's)")
    parser.add_argument("--minutes", type=int, help="intervals per size (overrides the mode's)")
    parser.add_argument("--latency", type=float, default=0.05, help="s every answer waits")
    parser.add_argument("--new-share", type=float, default=0.05, help="new stories/min/source")
    parser.add_argument("--keep-going", action="store_true", help="step on after a failure")
    parser.add_argument("--keep", type=Path, help="keep each size's store and log here")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    if args.sizes:
        sizes = [int(s) for s in args.sizes.split(",") if s]
    else:
        sizes = list(FULL_SIZES if args.full else QUICK_SIZES)

    def minutes_for(n: int) -> int:
        if args.minutes is not None:
            return int(args.minutes)
        if not args.full:
            return 2
        return 10 if n == FULL_HEADLINE else 3

    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="watchdesk-load-") as tmp:
        base = args.keep or Path(tmp)
        for n in sizes:
            result = run_size(n, minutes_for(n), args.latency, args.new_share, base / str(n))
            results.append(result)
            print(
                f"{n:>5} sources every {INTERVAL_S}s for {result['minutes']} min: "
                f"{result['polls_done']}/{result['polls_scheduled']} polls "
                f"({100 * result['done_ratio']:.1f}%), missed {result['missed_logged']}, "
                f"skipped {result['skipped_logged']} (other jobs late: "
                f"{sum(v['count'] for v in result['other_jobs_missed'].values())}), "
                f"round span {result['second_round_span_s']} s, "
                f"gap p95 {result['gap_s']['p95']} s, "
                f"poll p95 {result['poll_duration_s']['p95']} s, CPU {result['cpu_s']} s "
                f"({100 * (result['cpu_share_of_one_core'] or 0):.0f}% of a core), "
                f"RSS peak {result['rss_mb']['peak']} MB -> "
                f"{'keeps up' if result['keeps_up'] else 'FALLS BEHIND'}",
                file=sys.stderr,
                flush=True,
            )
            if not result["keeps_up"] and not args.keep_going:
                break
    kept = [r["sources"] for r in results if r["keeps_up"]]
    behind = [r["sources"] for r in results if not r["keeps_up"]]
    estimates = [r["cpu_bound_sources_per_minute"] for r in results]
    ceiling = {
        "largest_keeping_up": max(kept) if kept else None,
        "smallest_falling_behind": min(behind) if behind else None,
        "cpu_bound_estimate_sources_per_minute": min(e for e in estimates if e)
        if any(estimates)
        else None,
    }
    report = {
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python benchmarks/load.py " + " ".join(argv),
        "machine": machine_info(),
        "latency_s": args.latency,
        "new_share": args.new_share,
        "keeps_up_rule": f"done >= {KEEPS_UP:.0%} of scheduled, no missed or skipped runs",
        "sizes": results,
        "ceiling": ceiling,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n", "utf-8")
    top = ceiling["largest_keeping_up"]
    low = ceiling["smallest_falling_behind"]
    print(
        "ceiling: "
        + (f"keeps up with {top} sources a minute" if top else "kept up with no size")
        + (f", falls behind at {low}" if low else " (not reached)")
        + f"; CPU-bound estimate {ceiling['cpu_bound_estimate_sources_per_minute']} "
        "sources a minute on one core"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
