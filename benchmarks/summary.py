"""The performance table: issue #8's targets against the latest results, as markdown.

Reads the results JSON under benchmarks/results/ and writes benchmarks/results/summary.md: one
row per target with the measured figure, its ratio to the baseline measured in the same run,
and pass or miss; then the side-by-side figures of each comparison and the machine. A result
that is missing says so in its row instead of failing the table.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class Row:
    """One target: what it asks, what was measured, against what, and whether it is met."""

    area: str
    target: str
    measured: str
    ratio: str
    met: bool | None  # None: not measured in this run
    verdict: str = ""  # says why when `met` is None

    def cells(self) -> list[str]:
        verdict = {True: "pass", False: "**miss**", None: self.verdict or "not run"}[self.met]
        return [self.area, self.target, self.measured, self.ratio, verdict]


def _load(results: Path, name: str) -> dict[str, Any] | None:
    path = results / name
    return json.loads(path.read_text("utf-8")) if path.exists() else None


def _missing(area: str, target: str, why: str) -> Row:
    return Row(area, target, why, "–", None)


def extraction_rows(results: Path) -> list[Row]:
    data = _load(results, "extraction.json")
    f1_target, speed_target = "F1 ≥ bare trafilatura's", "speed ≥ 0.9× trafilatura's"
    if not data:
        return [_missing("extraction", t, "no result") for t in (f1_target, speed_target)]
    w, t = data["extractors"]["watchdesk"], data["extractors"]["trafilatura"]
    diff = data["watchdesk_minus_trafilatura"]
    return [
        Row(
            "extraction",
            f1_target,
            f"F1 {w['f1']:.3f} vs {t['f1']:.3f} ({diff['f1']:+.3f} ± {diff.get('f1_ci', 0):.3f})",
            f"{w['f1'] / t['f1']:.3f}×",
            w["f1"] >= t["f1"],
        ),
        Row(
            "extraction",
            speed_target,
            f"{w['pages_per_s']:.1f} vs {t['pages_per_s']:.1f} pages/s (CPU)",
            f"{data['speed_ratio']:.2f}×",
            data["speed_ratio"] >= 0.9,
        ),
        *_snippet_rows(data),
    ]


def _snippet_rows(data: dict[str, Any]) -> list[Row]:
    """The snippet score of trafilatura's evaluation sample, when the run counted it."""
    snippets, verdicts = data.get("snippets"), data.get("snippets_at_least_trafilatura")
    if not snippets or not verdicts:
        return []
    w, t = snippets["watchdesk"], snippets["trafilatura"]
    measured = "; ".join(
        f"{key}: must-contain {w[key]['with_found']} vs {t[key]['with_found']}, "
        f"must-not {w[key]['without_kept_out']} vs {t[key]['without_kept_out']}"
        for key in ("all", "chinese")
        if key in w and key in t
    )
    ratio = w["all"]["with_found"] / max(1, t["all"]["with_found"])
    target = "snippets ≥ bare trafilatura's (its sample: all pages, Chinese apart)"
    return [Row("extraction", target, measured, f"{ratio:.3f}×", all(verdicts.values()))]


def enrichment_rows(results: Path) -> list[Row]:
    data = _load(results, "enrichment.json")
    target = "enrichment steps ≥ extraction's own throughput"
    if not data:
        return [_missing("enrichment", target, "no result")]
    return [
        Row(
            "enrichment",
            target,
            f"steps after extraction {data['after_extraction_articles_per_s']:.0f}/s vs "
            f"extraction {data['extraction_articles_per_s']:.0f}/s; whole chain "
            f"{data['chain_articles_per_s']:.0f}/s ({data['articles']:,} articles)",
            f"{data['after_extraction_vs_extraction']:.2f}× "
            f"(chain {data['chain_vs_extraction']:.2f}×)",
            data["after_extraction_vs_extraction"] >= 1,
        )
    ]


def matching_rows(results: Path) -> list[Row]:
    data = _load(results, "matching.json")
    t1, t2 = "10,000 watchlists ≥ 0.5× the throughput of 100", "≥ 1,000 articles/s at 100,000"
    if not data:
        return [_missing("matching", t, "no result") for t in (t1, t2)]
    rows = {r["watchlists"]: r for r in data["rows"]}
    out = []
    if 100 in rows and 10_000 in rows:
        ratio = rows[10_000]["articles_per_s"] / rows[100]["articles_per_s"]
        out.append(
            Row(
                "matching",
                t1,
                f"{rows[10_000]['articles_per_s']:,.0f} vs {rows[100]['articles_per_s']:,.0f} "
                f"articles/s",
                f"{ratio:.2f}×",
                ratio >= 0.5,
            )
        )
    else:
        out.append(_missing("matching", t1, "sizes not measured"))
    big = rows.get(100_000)
    if big:
        out.append(
            Row(
                "matching",
                t2,
                f"{big['articles_per_s']:,.0f} articles/s; bare Aho-Corasick scan "
                f"{big['bare_scan_articles_per_s']:,.0f}/s",
                f"{1 / big['matcher_vs_bare_scan']:.3f}× the bare scan",
                big["articles_per_s"] >= 1000,
            )
        )
    else:
        out.append(_missing("matching", t2, "full mode only (`make bench FULL=1`)"))
    return out


def polling_rows(results: Path) -> list[Row]:
    data = _load(results, "polling.json")
    target = "1,000 mostly-304 feeds ≥ 10× faster than a sequential loop"
    if not data:
        return [_missing("polling", target, "no result")]
    by_size = {s["feeds"]: s for s in data["sizes"]}
    size = by_size.get(1000) or max(data["sizes"], key=lambda s: s["feeds"])
    m = size["median"]
    cycle = size.get("speedup_cycle_only_median")
    return [
        Row(
            "polling",
            target,
            f"{size['feeds']:,} feeds: {m['watchdesk']['wall_s']:.1f} s vs "
            f"{m['baseline']['wall_s']:.1f} s wall, "
            f"at {data['latency_s'] * 1000:.0f} ms per answer",
            f"{size['speedup_wall_median']:.1f}×"
            + (f" ({cycle:.1f}× without process start)" if cycle else ""),
            size["feeds"] >= 1000 and size["speedup_wall_median"] >= 10,
        )
    ]


def search_rows(results: Path) -> list[Row]:
    """Search p95 from benchmarks/search.py: the embedded archive (tantivy) answering a page of
    results with facet counts, at the largest corpus measured, against FTS5 in the same run."""
    target = "search p95 < 50 ms at 200,000 articles"
    data = _load(results, "search.json")
    if not data or not data.get("sizes"):
        return [_missing("search", target, "no result (benchmarks/search.py)")]
    try:
        size = max(int(n) for n in data["sizes"])
        figures = data["sizes"][str(size)]
        mode = "page+facets" if "page+facets" in figures else "page"
        product, baseline = figures[mode]["tantivy"], figures[mode]["fts5"]
    except (KeyError, ValueError, TypeError):
        return [_missing("search", target, "see benchmarks/results/search.json")]
    return [
        Row(
            "search",
            target,
            f"p50 {product['p50']:.1f} ms, p95 {product['p95']:.1f} ms at {size:,} articles "
            f"({mode}); FTS5 p95 {baseline['p95']:.1f} ms",
            f"{product['p95'] / 50:.2f}× the limit; {baseline['p95'] / product['p95']:.1f}× "
            "faster than FTS5",
            product["p95"] < 50 if size >= 200_000 else None,
            "" if size >= 200_000 else "200,000 in full mode only",
        )
    ]


def end_to_end_rows(results: Path) -> list[Row]:
    data = _load(results, "end_to_end.json")
    t1, t2 = "pipeline latency p95 < 2 s", "service memory < 400 MB"
    if not data:
        return [_missing("end to end", t, "no result") for t in (t1, t2)]
    lat = data["latency"]
    p = lat["pipeline_latency_s"]
    out = [
        Row(
            "end to end",
            t1,
            f"p50 {p['p50']:.2f} s, p95 {p['p95']:.2f} s over {lat['items']} items "
            f"(with the wait for the {lat['poll_every_s']} s poll: p95 "
            f"{lat['end_to_end_s']['p95']:.2f} s)",
            f"{p['p95'] / 2:.2f}× the limit",
            p["p95"] < 2,
        )
    ]
    memory = data.get("memory")
    if memory:
        rss = memory["rss_mb"]
        out.append(
            Row(
                "end to end",
                t2,
                f"peak {rss['peak']:.0f} MB, last cycle {rss['median_last_cycle']:.0f} MB "
                f"(after the first {rss.get('end_of_first_cycle', 0):.0f} MB); "
                f"{memory['sources']} sources × {memory['cycles']} polls each",
                f"{rss['peak'] / 400:.2f}× the limit",
                rss["peak"] < 400,
            )
        )
    else:
        out.append(_missing("end to end", t2, "memory phase not run"))
    return out


TARGETS: list[Callable[[Path], list[Row]]] = [
    extraction_rows,
    enrichment_rows,
    matching_rows,
    polling_rows,
    search_rows,
    end_to_end_rows,
]


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---" for _ in header) + " |",
        *("| " + " | ".join(r) + " |" for r in rows),
    ]


def details(results: Path) -> list[str]:
    """The side-by-side figures behind the targets."""
    out: list[str] = []
    ex = _load(results, "extraction.json")
    if ex:
        out += ["", f"Extraction, {ex['pages']} pages, same run:", ""]
        out += _table(
            ["extractor", "precision", "recall", "F1", "pages/s", "median ms/page"],
            [
                [
                    name,
                    f"{m['precision']:.3f}",
                    f"{m['recall']:.3f}",
                    f"{m['f1']:.3f} ± {m.get('f1_ci', 0):.3f}",
                    f"{m['pages_per_s']:.1f}",
                    f"{m['median_ms_per_page']:.1f}" if "median_ms_per_page" in m else "–",
                ]
                for name, m in ex["extractors"].items()
            ],
        )
        for missing in ex.get("missing_baselines", []):
            out.append(f"\nNot compared: {missing}.")
    po = _load(results, "polling.json")
    if po:
        out += [
            "",
            f"Polling, one cycle, {po['latency_s'] * 1000:.0f} ms per answer (medians):",
            "",
        ]
        rows = []
        for s in po["sizes"]:
            for side, label in (
                ("watchdesk", "watchdesk run --once"),
                ("baseline", "sequential loop"),
            ):
                m = s["median"][side]
                rows.append(
                    [
                        f"{s['feeds']:,}",
                        label,
                        f"{m['wall_s']:.1f}",
                        f"{m['cpu_s']:.1f}",
                        f"{m['peak_rss_mb']:.0f}",
                    ]
                )
        out += _table(["feeds", "side", "wall s", "CPU s", "peak MB"], rows)
    ma = _load(results, "matching.json")
    if ma:
        out += [
            "",
            f"Matching, {ma['articles']:,} articles of ~{ma['avg_article_chars']:,} chars:",
            "",
        ]
        out += _table(
            ["watchlists", "articles/s", "bare AC scan/s", "matcher / scan time", "vs naive"],
            [
                [
                    f"{r['watchlists']:,}",
                    f"{r['articles_per_s']:,.0f}",
                    f"{r['bare_scan_articles_per_s']:,.0f}",
                    f"{r['matcher_vs_bare_scan']:.1f}×",
                    f"{r['speedup_vs_naive']:.1f}× faster" if "speedup_vs_naive" in r else "–",
                ]
                for r in ma["rows"]
            ],
        )
    return out


def machine_line(results: Path) -> str:
    for name in ("end_to_end.json", "polling.json", "enrichment.json", "matching.json"):
        data = _load(results, name)
        if data and isinstance(data.get("machine"), dict):
            m = data["machine"]
            return (
                f"Machine: {m['cpu']}, {m['cores']} cores, {m.get('memory_gb')} GB, "
                f"Python {m['python']}, {m['system']} (shared; load {m.get('load_1m')})."
            )
    return "Machine: unknown."


def build_summary(results: Path = RESULTS, command: str = "make bench") -> str:
    rows = [row for make in TARGETS for row in make(results)]
    lines = [
        "| area | target | measured | ratio | result |",
        "| --- | --- | --- | --- | --- |",
        *("| " + " | ".join(r.cells()) + " |" for r in rows),
        "",
        machine_line(results) + f" Reproduce: `{command}`.",
        *details(results),
    ]
    return "\n".join(lines) + "\n"


def write_summary(results: Path = RESULTS, command: str = "make bench") -> Path:
    path = results / "summary.md"
    path.write_text(build_summary(results, command), "utf-8")
    return path
