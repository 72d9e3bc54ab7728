"""Memory stays flat: the monitor over hundreds of poll cycles keeps its memory, its live
Python objects, its file descriptors and its threads level (`benchmarks/soak.py`, short).

The slow test runs `benchmarks/soak.py` for up to 600 cycles of `Monitor.run_cycle()` over 4
loopback feeds (mostly 304, a new story every 2 s, alerts to a JSON Lines file) in its own
process, and checks the growth after warm-up against bounds far below what a leak would show
but well above the noise of a flat monitor. The full soak (thousands of cycles) is
`python benchmarks/soak.py [--full]`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

SOAK = ROOT / "benchmarks" / "soak.py"
# A flat monitor measured 0.3 MB per 1,000 cycles after warm-up (issue #9, 4 feeds); 10 MB
# is a leak of 10 KB per cycle, e.g. one response body or one crawler's stats kept per poll.
MAX_RSS_SLOPE_MB = 10.0
# Live objects after a full collection varied by a few hundred around a flat line; keeping
# five objects per cycle (one small record per poll of 4 feeds) would cross this.
MAX_OBJECT_SLOPE = 5_000
# Fewer cycles than this and the slope says little (a loaded machine runs fewer in the time).
MIN_CYCLES = 150


def _line(xs: list[float], slope: float) -> list[dict[str, float]]:
    """Samples on a straight line of `slope` MB per 1,000 cycles."""
    return [{"cycle": x, "t": x / 10, "rss_mb": 300 + slope * x / 1000} for x in xs]


def test_slope_and_warmup_are_computed_past_the_warmup() -> None:
    """The soak's summary ignores the warm-up and recovers a known growth rate."""
    from benchmarks.soak import summarise

    samples = _line([0, 10, 20], 5000.0)  # a steep warm-up ...
    samples += _line([float(x) for x in range(100, 1001, 50)], 2.0)  # ... then 2 MB/1k
    for s in samples[:3]:
        s["rss_mb"] -= 150  # memory before warm-up is far lower
    summary = summarise(samples, warmup_min=20)
    assert summary["warmup_cycles"] == 200
    assert summary["rss_mb"]["slope_per_1000_cycles"] == pytest.approx(2.0, abs=0.01)
    assert summary["rss_mb"]["peak"] == max(s["rss_mb"] for s in samples)
    assert summary["rss_mb"]["start"] < summary["rss_mb"]["end"]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_memory_flat_over_hundreds_of_cycles(tmp_path: Path) -> None:
    out = tmp_path / "soak.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(SOAK),
            "--feeds",
            "4",
            "--cycles",
            "600",
            "--minutes",
            "3",
            "--sample-every",
            "20",
            "--output",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=480,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text("utf-8"))
    rss, objects = report["rss_mb"], report["objects"]
    print(
        f"\nsoak: {report['cycles']} cycles, {report['stored']} stories stored, "
        f"{report['alerts']} alerts; RSS {rss['start']} -> {rss['end']} MB (peak {rss['peak']}), "
        f"{rss['slope_per_1000_cycles']} MB and {objects['slope_per_1000_cycles']} objects "
        f"per 1,000 cycles; fds {report['fds']['start']} -> {report['fds']['end']}"
    )
    assert report["cycles"] >= MIN_CYCLES
    # the cycles did real work: new stories were stored and alerted, not just 304s
    assert report["stored"] > 0 and report["alerts"] > 0
    assert report["farm_requests"].get("feed/304", 0) > report["cycles"]
    assert rss["slope_per_1000_cycles"] < MAX_RSS_SLOPE_MB
    assert rss["growth_after_warmup"] < MAX_RSS_SLOPE_MB
    assert objects["slope_per_1000_cycles"] < MAX_OBJECT_SLOPE
    assert report["fds"]["end"] <= report["fds"]["start"]
    assert report["threads"]["end"] <= report["threads"]["start"]
