"""PNG plots of the benchmark results (matplotlib, no display needed).

Each function reads one results JSON (as written by its benchmark) and writes one PNG next to
it; a missing or older-format result is skipped, never fatal, so one failed benchmark does not
cost the others their plots.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: the benchmarks run on machines without a display

import matplotlib.pyplot as plt  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def _load(name: str, results: Path) -> dict[str, Any] | None:
    path = results / name
    return json.loads(path.read_text("utf-8")) if path.exists() else None


def plot_matching(results: Path) -> Path | None:
    """articles/s against watchlist count, log-log: matcher, bare Aho-Corasick scan, naive."""
    data = _load("matching.json", results)
    if not data:
        return None
    rows = data["rows"]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    n = [r["watchlists"] for r in rows]
    ax.plot(n, [r["articles_per_s"] for r in rows], "o-", label="watchdesk matcher")
    ax.plot(
        n,
        [r["bare_scan_articles_per_s"] for r in rows],
        "s--",
        label="bare pyahocorasick scan (floor)",
    )
    naive = [r for r in rows if "naive_articles_per_s" in r]
    if naive:
        ax.plot(
            [r["watchlists"] for r in naive],
            [r["naive_articles_per_s"] for r in naive],
            "^:",
            label="each watchlist evaluated on its own",
        )
    ax.axhline(1000, color="grey", lw=0.8, ls="-.", label="target at 100,000: 1,000/s")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="watchlists",
        ylabel="articles per second (one core)",
        title=f"Watchlist matching, ~{data['avg_article_chars']:,} chars/article",
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, results / "matching.png")


def plot_search(results: Path) -> Path | None:
    """p50/p95 search latency against corpus size, log-log: tantivy (page, page + facets)
    and SQLite FTS5 on the same queries; the 50 ms target as a line."""
    data = _load("search.json", results)
    if not data or not data.get("sizes"):
        return None
    sizes = sorted(data["sizes"], key=int)
    n = [int(k) for k in sizes]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    series = [
        ("page+facets", "tantivy", "o-", "watchdesk (tantivy), page + facets"),
        ("page", "tantivy", "o--", "watchdesk (tantivy), page"),
        ("page+facets", "fts5", "s-", "SQLite FTS5, page + facets"),
        ("page", "fts5", "s--", "SQLite FTS5, page"),
    ]
    for mode, engine, style, label in series:
        rows = [data["sizes"][k].get(mode, {}).get(engine) for k in sizes]
        if all(rows):
            ax.plot(n, [r["p95"] for r in rows], style, label=f"{label}: p95")
    ax.axhline(50, color="grey", lw=0.8, ls="-.", label="target: p95 < 50 ms at 200,000")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="articles in the archive",
        ylabel="ms per search (p95)",
        title="Search latency, 20 analyst queries",
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    return _save(fig, results / "search.png")


def plot_extraction(results: Path) -> Path | None:
    """F1 against pages/s, one point per extractor, with the F1 interval."""
    data = _load("extraction.json", results)
    if not data:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for name, m in data["extractors"].items():
        ax.errorbar(m["pages_per_s"], m["f1"], yerr=m.get("f1_ci", 0), fmt="o", capsize=3)
        ax.annotate(name, (m["pages_per_s"], m["f1"]), textcoords="offset points", xytext=(6, 4))
    ax.set(
        xlabel="pages per second (CPU, one core)",
        ylabel="token F1 (4-shingles)",
        title=f"Extraction on {data['pages']} pages of the article-extraction benchmark",
    )
    ax.grid(True, alpha=0.3)
    return _save(fig, results / "extraction.png")


def plot_enrichment(results: Path) -> Path | None:
    """articles/s of each enrichment step (log scale), extraction alone for reference."""
    data = _load("enrichment.json", results)
    if not data:
        return None
    steps = data["per_step_articles_per_s"]
    names = [*steps, "whole chain"]
    values = [*steps.values(), data["chain_articles_per_s"]]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.barh(names, values, color=["C0"] * len(steps) + ["C1"])
    ax.axvline(
        data["extraction_articles_per_s"], color="C3", ls="--", label="extraction alone (baseline)"
    )
    ax.set(xscale="log", xlabel="articles per second (CPU, one core)", title="Enrichment steps")
    ax.invert_yaxis()
    ax.legend(fontsize=8)
    return _save(fig, results / "enrichment.png")


def plot_polling(results: Path) -> Path | None:
    """Wall time of one cycle per feed count: watchdesk against the sequential loop."""
    data = _load("polling.json", results)
    if not data:
        return None
    sizes = data["sizes"]
    x = range(len(sizes))
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    wd = [s["median"]["watchdesk"]["wall_s"] for s in sizes]
    base = [s["median"]["baseline"]["wall_s"] for s in sizes]
    ax.bar([i - 0.2 for i in x], wd, 0.4, label="watchdesk run --once")
    ax.bar([i + 0.2 for i in x], base, 0.4, label="sequential requests + feedparser")
    for i, s in enumerate(sizes):
        ax.annotate(f"{s['speedup_wall_median']:.1f}x", (i - 0.2, wd[i]), ha="center", va="bottom")
    ax.set_xticks(list(x), [f"{s['feeds']:,} feeds" for s in sizes])
    ax.set(
        ylabel="seconds per cycle (wall)",
        title=f"One polling cycle, {data['latency_s'] * 1000:.0f} ms per answer, 90% 304",
    )
    ax.legend(fontsize=8)
    return _save(fig, results / "polling.png")


def plot_end_to_end(results: Path) -> Path | None:
    """Pipeline latency distribution and the service's memory over the compressed hour."""
    data = _load("end_to_end.json", results)
    if not data or "latency" not in data:
        return None
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.6, 3.8))
    samples = data["latency"].get("pipeline_samples_s", [])
    if samples:
        left.plot(samples, [(i + 1) / len(samples) for i in range(len(samples))])
        left.axvline(2.0, color="grey", ls="--", label="target p95: 2 s")
        left.set(
            xlabel="seconds from the feed answer to the Slack post",
            ylabel="share of items",
            title=f"Pipeline latency, {len(samples)} items",
        )
        left.legend(fontsize=8)
        left.grid(True, alpha=0.3)
    memory = data.get("memory")
    if memory:
        t, mb = zip(*memory["samples"], strict=True)
        right.plot(t, mb)
        right.axhline(400, color="grey", ls="--", label="target: 400 MB")
        for end in memory.get("cycle_ends_s", []):  # every source polled once more
            right.axvline(end, color="C2", lw=0.6, ls=":")
        right.set(
            xlabel="seconds of service time (dotted: each source polled once more)",
            ylabel="resident memory (MB)",
            title=f"watchdesk run, {memory['sources']} sources",
            ylim=(0, max(450, max(mb) * 1.1)),
        )
        right.legend(fontsize=8)
        right.grid(True, alpha=0.3)
    return _save(fig, results / "end_to_end.png")


PLOTS: list[Callable[[Path], Path | None]] = [
    plot_extraction,
    plot_enrichment,
    plot_matching,
    plot_polling,
    plot_end_to_end,
    plot_search,
]


def draw_all(results: Path = RESULTS) -> list[Path]:
    """Every plot whose results exist; returns the files written."""
    written = []
    for plot in PLOTS:
        try:
            path = plot(results)
        except (KeyError, TypeError, ValueError) as exc:  # an older result format
            print(f"plot {plot.__name__} skipped: {exc!r}")
            continue
        if path is not None:
            written.append(path)
    return written


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
