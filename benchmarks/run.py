"""Run the whole benchmark suite: `make bench` (quick) or `make bench FULL=1` (`--full`).

Each benchmark is its own script, run here in its own process (so one's memory, imports and
Scrapy reactor never colour another's figures), in a fixed order; each writes its JSON under
benchmarks/results/. Then the plots are drawn and the performance table is written to
benchmarks/results/summary.md and printed. A benchmark that fails is reported and the suite
goes on; the exit status is 1 if any failed.

    python benchmarks/run.py [--full] [--only NAME ...] [--skip NAME ...] [--summary-only]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.machine import machine_info  # noqa: E402
from benchmarks.plots import draw_all  # noqa: E402
from benchmarks.summary import RESULTS, write_summary  # noqa: E402


@dataclass(frozen=True)
class Benchmark:
    """One script of the suite, with its arguments in quick and in full mode."""

    name: str
    script: str
    quick: tuple[str, ...]
    full: tuple[str, ...]
    what: str
    # False: only with `--only NAME` (long runs that answer other issues than #8's table)
    default: bool = True


# Quick mode keeps every comparison but with fewer passes and smaller sizes where the target
# does not depend on them; the sizes a target names (1,000 feeds, 200 items, 500 sources) stay.
SUITE = [
    Benchmark(
        "extraction",
        "extraction_quality.py",
        ("--repeat", "1", "--n-bootstrap", "300", "--snippets"),
        ("--repeat", "3", "--snippets"),
        "extraction quality and speed vs trafilatura, readability-lxml, newspaper4k",
    ),
    Benchmark(
        "enrichment",
        "enrichment.py",
        ("--articles", "1000", "--repeat", "1"),
        ("--articles", "1000", "--repeat", "3"),
        "all enrichment steps vs extraction alone, 1,000 real pages",
    ),
    Benchmark(
        "matching",
        "matching.py",
        ("--quick",),
        (),
        "watchlist matching at 100..10,000 (full: 100,000) watchlists vs naive and bare scan",
    ),
    Benchmark(
        "polling",
        "polling.py",
        ("--sizes", "200,1000", "--rounds", "1"),
        ("--sizes", "200,1000", "--rounds", "3"),
        "one polling cycle over 200 and 1,000 loopback feeds vs a sequential loop",
    ),
    Benchmark(
        "search",
        "search.py",
        ("--sizes", "10000", "20000", "--rounds", "5"),
        ("--full",),
        "indexing and search latency, embedded archive vs FTS5",
    ),
    Benchmark(
        "web",
        "web.py",
        ("--quick",),
        (),
        "web page render times",
    ),
    Benchmark(
        "end_to_end",
        "end_to_end.py",
        ("--items", "200", "--sources", "500", "--hour-cycles", "4"),
        ("--items", "200", "--sources", "500", "--hour-cycles", "4"),
        "feed item to Slack alert latency; service memory over an hour-equivalent",
    ),
    Benchmark("soak", "soak.py", (), ("--full",), "memory over thousands of cycles", False),
    Benchmark("load", "load.py", (), ("--full",), "keeping a 1-minute schedule", False),
    Benchmark(
        "scale_out",
        "scale_out.py",
        ("--feeds", "1000", "--rounds", "1"),
        ("--feeds", "1000", "--rounds", "3"),
        "one polling cycle: one process vs two sharing Redis (needs redis-server)",
        False,
    ),
    Benchmark(
        "scale_out_postgres",
        "scale_out.py",
        ("--feeds", "1000", "--rounds", "1", "--processes", "3", "--postgres"),
        ("--feeds", "1000", "--rounds", "3", "--processes", "3", "--postgres"),
        "one polling cycle: one process vs three sharing Postgres and Redis",
        False,
    ),
    Benchmark(
        "store_engines",
        "store_engines.py",
        ("--articles", "2000", "--alerts", "500"),
        ("--articles", "10000", "--alerts", "2000"),
        "articles/s stored and alerts/s delivered, SQLite vs Postgres (needs postgresql)",
        False,
    ),
]


def run_one(bench: Benchmark, full: bool) -> dict[str, object]:
    """Run one benchmark script to completion, its output passed through; how it went."""
    script = ROOT / "benchmarks" / bench.script
    if not script.exists():
        print(f"== {bench.name}: {bench.script} not present, skipped", flush=True)
        return {"status": "absent"}
    args = bench.full if full else bench.quick
    command = [sys.executable, str(script), *args]
    print(f"== {bench.name}: {bench.what}\n   $ {' '.join(command[1:])}", flush=True)
    t0 = time.perf_counter()
    code = subprocess.run(command, cwd=ROOT, check=False).returncode
    seconds = round(time.perf_counter() - t0, 1)
    print(f"== {bench.name}: exit {code} after {seconds} s", flush=True)
    return {"status": "ok" if code == 0 else f"failed (exit {code})", "seconds": seconds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="the full sizes and repeats")
    parser.add_argument("--only", nargs="*", default=[], help="run only these benchmarks")
    parser.add_argument("--skip", nargs="*", default=[], help="do not run these benchmarks")
    parser.add_argument(
        "--summary-only", action="store_true", help="redraw plots and table from stored results"
    )
    args = parser.parse_args(argv)
    known = {b.name for b in SUITE}
    unknown = sorted(set(args.only + args.skip) - known)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(known)}")

    runs: dict[str, dict[str, object]] = {}
    started = time.perf_counter()
    if not args.summary_only:
        for bench in SUITE:
            wanted = bench.name in args.only if args.only else bench.default
            if not wanted or bench.name in args.skip:
                continue
            runs[bench.name] = run_one(bench, args.full)
    RESULTS.mkdir(parents=True, exist_ok=True)
    if runs:
        (RESULTS / "run.json").write_text(
            json.dumps(
                {
                    "generated": datetime.now(UTC).isoformat(timespec="seconds"),
                    "mode": "full" if args.full else "quick",
                    "machine": machine_info(),
                    "seconds": round(time.perf_counter() - started, 1),
                    "benchmarks": runs,
                },
                indent=2,
            )
            + "\n",
            "utf-8",
        )
    plots = draw_all(RESULTS)
    summary = write_summary(RESULTS, "make bench FULL=1" if args.full else "make bench")
    print()
    print(summary.read_text("utf-8"))
    print(f"plots: {', '.join(p.name for p in plots)}; table: {summary}")
    failed = [name for name, r in runs.items() if str(r["status"]).startswith("failed")]
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
