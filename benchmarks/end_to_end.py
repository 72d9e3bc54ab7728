"""Benchmark the whole service: item in a feed -> alert in Slack, and memory over an hour.

Two phases, each against the real `watchdesk run` service in its own process, real feeds on
loopback (`FeedFarm`) and real slack-sdk posting to the loopback Slack API stub:

1. **Pipeline latency.** 20 feeds polled every 2 s; 200 items are published one by one at
   random moments into random feeds; each matches one watchlist, so each must reach Slack.
   For each item: *end to end* is from its publication to its alert arriving at the stub; the
   *pipeline* latency is from the feed answer that first listed it (so the wait for the next
   poll, up to one interval, is subtracted) to the alert. p50/p95/p99/max over the 200.
2. **Memory.** 500 feeds on a 15 s schedule (15 minutes on a 60x compressed clock) until each
   was polled `--hour-cycles` times (4: one hour of 15-minute polls; if the machine cannot keep
   the pace, the run takes longer, never fewer polls), 10% of the feeds publishing one new item
   every interval; the service's resident memory is sampled every half second (psutil).

Writes benchmarks/results/end_to_end.json.
Run: `python benchmarks/end_to_end.py [--items 200] [--sources 500] [--hour-cycles 4]`.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import signal
import statistics
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

import psutil  # noqa: E402

from benchmarks.feedfarm import FeedFarm, service_env, write_config  # noqa: E402
from benchmarks.machine import machine_info  # noqa: E402
from tests.slack_stub import SlackStub, StubRequest  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "end_to_end.json"
# the targets of issue #8
TARGET_P95_S = 2.0
TARGET_MEMORY_MB = 400.0
ITEM_TAG = re.compile(r"\((\d+-\d+)\)")  # "(feed-number)" at the end of every farm title
WATCHLIST = """watchlists:
  - name: sister-cities
    query: '"sister city" AND country:CN'
    channel: "#sister-cities"
"""


def start_service(config: Path, stub: SlackStub, log: Path) -> subprocess.Popen[bytes]:
    env = {**service_env(), **stub.env()}
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "watchdesk.cli", "-q", "--config", str(config), "run"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def stop_service(proc: subprocess.Popen[bytes], log: Path) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.returncode != 0:
        tail = log.read_text("utf-8", "replace")[-3000:]
        raise RuntimeError(f"watchdesk run exited {proc.returncode}:\n{tail}")


class Arrivals:
    """Timestamps every request the Slack stub receives, as it arrives (a watcher thread)."""

    def __init__(self, stub: SlackStub) -> None:
        self.stub = stub
        self.seen: list[tuple[float, StubRequest]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                requests = self.stub.wait_for(len(self.seen) + 1, timeout=0.2)
            except TimeoutError:
                continue
            now = time.monotonic()
            self.seen.extend((now, r) for r in requests[len(self.seen) :])

    def alerts(self) -> dict[str, float]:
        """Item tag ("feed-number") -> when its first message arrived."""
        out: dict[str, float] = {}
        for at, request in self.seen:
            if request.method != "chat.postMessage" or not request.ok:
                continue
            found = ITEM_TAG.search(json.dumps(request.params, ensure_ascii=False))
            if found:
                out.setdefault(found.group(1), at)
        return out

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 3)

    return {
        "p50": round(statistics.median(ordered), 3),
        "p95": pct(0.95),
        "p99": pct(0.99),
        "max": round(ordered[-1], 3),
    }


def wait_until(condition: Any, timeout: float, proc: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.1)
    return bool(condition())


def latency_phase(items: int, feeds: int, every_s: int, mean_gap: float, work: Path) -> dict:
    """Phase 1: publish `items` items and time each one's way to the Slack stub."""
    rng = random.Random(20240601)
    with FeedFarm(feeds) as farm, SlackStub() as stub:
        config = write_config(
            work,
            farm.urls(),
            every=f"{every_s}s",
            alerts="{sink: slack, first_poll: alert, max_age: none}",
            watchlists=WATCHLIST,
        )
        log = work / "latency.log"
        proc = start_service(config, stub, log)
        arrivals = Arrivals(stub)
        try:
            # the first polls (empty feeds) and the service's start, before any item appears
            if not wait_until(lambda: farm.counts["feed/200"] >= feeds, 120, proc):
                raise RuntimeError("the service did not poll every feed within 120 s")
            published = []
            for _ in range(items):
                time.sleep(rng.expovariate(1 / mean_gap))
                published.extend(farm.publish(rng.randrange(feeds)))
            tags = {f"{i.feed}-{i.slug.split('-', 1)[1]}": i for i in published}
            done = wait_until(lambda: len(arrivals.alerts().keys() & tags) >= len(tags), 120, proc)
        finally:
            arrivals.close()
            stop_service(proc, log)
        alerts = arrivals.alerts()
        missing = sorted(tags.keys() - alerts.keys())
        if missing or not done:
            raise RuntimeError(f"{len(missing)} of {len(tags)} items never alerted: {missing[:5]}")
        end_to_end = [alerts[t] - i.appeared for t, i in tags.items()]
        pipeline = [alerts[t] - farm.first_served[i.slug] for t, i in tags.items()]
    return {
        "items": len(tags),
        "feeds": feeds,
        "poll_every_s": every_s,
        "mean_gap_s": mean_gap,
        "pipeline_latency_s": percentiles(pipeline),
        "end_to_end_s": percentiles(end_to_end),
        "slack_requests": len(stub.requests()),
        "pipeline_samples_s": sorted(round(x, 4) for x in pipeline),
    }


def memory_phase(sources: int, every_s: int, cycles: int, work: Path) -> dict:
    """Phase 2: the service over `sources` feeds until each was polled `cycles` times.

    The hour is counted in polls, not seconds: when the machine cannot poll every source
    within the compressed interval, the run lasts longer rather than covering fewer cycles.
    Every `every_s` seconds 10% of the feeds publish one new item. RSS is sampled throughout;
    the cycle boundaries (every `sources` polls) are recorded with the samples.
    """
    rng = random.Random(7)
    with FeedFarm(sources) as farm, SlackStub() as stub:
        config = write_config(
            work,
            farm.urls(),
            every=f"{every_s}s",
            alerts="{sink: slack, first_poll: alert, max_age: none}",
            watchlists=WATCHLIST,
        )
        log = work / "memory.log"
        started = time.monotonic()
        proc = start_service(config, stub, log)
        service = psutil.Process(proc.pid)
        samples: list[tuple[float, float]] = []
        boundaries: list[float] = []  # when each cycle's worth of polls was complete
        published = 0
        next_news = started
        deadline = started + max(600, 6 * cycles * every_s)

        def polls() -> int:
            return farm.counts["feed/200"] + farm.counts["feed/304"]

        try:
            while len(boundaries) < cycles:
                now = time.monotonic()
                if now > deadline:
                    raise RuntimeError(f"only {polls()} polls of {sources * cycles} in time")
                if proc.poll() is not None:
                    raise RuntimeError(log.read_text("utf-8", "replace")[-3000:])
                if now >= next_news:  # one interval's news: 10% of the feeds get an item
                    for i in rng.sample(range(sources), max(1, sources // 10)):
                        farm.publish(i)
                        published += 1
                    next_news += every_s
                if polls() >= sources * (len(boundaries) + 1):
                    boundaries.append(round(now - started, 1))
                samples.append((round(now - started, 1), service.memory_info().rss / 2**20))
                time.sleep(0.5)
            # let the last items reach Slack before stopping
            wait_until(lambda: len(stub.messages()) >= published, 60, proc)
            samples.append(
                (round(time.monotonic() - started, 1), service.memory_info().rss / 2**20)
            )
        finally:
            stop_service(proc, log)
        counts = farm.take_counts()
    rss = [mb for _, mb in samples]
    last_cycle = [mb for t, mb in samples if t >= boundaries[-2]] if cycles > 1 else rss
    first_cycle_end = [mb for t, mb in samples if t <= boundaries[0]]
    elapsed = samples[-1][0]
    return {
        "sources": sources,
        "poll_every_s": every_s,
        "cycles": cycles,
        "cycle_ends_s": boundaries,
        # how much faster than real time the hour ran (a 15-minute schedule)
        "compression": round(cycles * 900 / elapsed, 1),
        "items_published": published,
        "alerts_delivered": len(stub.messages()),
        "feed_requests": counts.get("feed/200", 0) + counts.get("feed/304", 0),
        "rss_mb": {
            "peak": round(max(rss), 1),
            "median_last_cycle": round(statistics.median(last_cycle), 1),
            "end_of_first_cycle": round(first_cycle_end[-1], 1),
            "end": round(rss[-1], 1),
        },
        "samples": [(t, round(mb, 1)) for t, mb in samples[::4]],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--feeds", type=int, default=20, help="feeds of the latency phase")
    parser.add_argument("--every", type=int, default=2, help="poll interval (s), latency phase")
    parser.add_argument("--gap", type=float, default=0.3, help="mean seconds between items")
    parser.add_argument("--sources", type=int, default=500, help="feeds of the memory phase")
    parser.add_argument("--memory-every", type=int, default=15, help="poll interval (s)")
    parser.add_argument("--hour-cycles", type=int, default=4, help="poll cycles (4 = 1 h of 15m)")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    report: dict[str, Any] = {
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python benchmarks/end_to_end.py " + " ".join(argv or sys.argv[1:]),
        "machine": machine_info(),
    }
    with tempfile.TemporaryDirectory(prefix="watchdesk-e2e-") as tmp:
        (Path(tmp) / "latency").mkdir()
        report["latency"] = latency_phase(
            args.items, args.feeds, args.every, args.gap, Path(tmp) / "latency"
        )
        brief = {k: v for k, v in report["latency"].items() if k != "pipeline_samples_s"}
        print(json.dumps(brief), file=sys.stderr, flush=True)
        if not args.skip_memory:
            (Path(tmp) / "memory").mkdir()
            report["memory"] = memory_phase(
                args.sources, args.memory_every, args.hour_cycles, Path(tmp) / "memory"
            )
    targets = {
        "pipeline_p95_under_2s": report["latency"]["pipeline_latency_s"]["p95"] < TARGET_P95_S
    }
    if "memory" in report:
        peak = report["memory"]["rss_mb"]["peak"]
        targets["service_memory_under_400mb"] = peak < TARGET_MEMORY_MB
    report["targets"] = targets
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n", "utf-8")
    for phase in ("latency", "memory"):
        if phase in report:
            brief = {k: v for k, v in report[phase].items() if not k.endswith("samples_s")}
            print(phase, json.dumps({k: v for k, v in brief.items() if k != "samples"}))
    print("targets", json.dumps(targets))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
