"""Benchmark search by story against search by article on the embedded archive.

A synthetic store (benchmarks/synthetic.py) in which about a third of the articles are
syndicated copies of another (stories of 2 to 4 copies) is searched with benchmarks/search.py's
analyst queries, a page of 20, by article (`by_story=False`, `--copies`) and by story (the
default of the CLI and the web page), with and without facets and the date histogram, the two
interleaved so that both see the same machine load; then an export of 10,000 hits each way.

Run: `python benchmarks/stories.py [--size 20000]`; the store is kept in the system temp
folder and reused. Results go to benchmarks/results/stories.json.

Last run (2026-12-02, 20,000 articles of which 11,589 match "sister city" in 9,257 stories;
2 shared cores; `python benchmarks/stories.py`): p50/p95 by article 5.2/8.3 ms, by story
6.2/10.1 ms; with facets and the histogram 9.4/13.6 ms by article, 11.8/19.9 ms by story (each
facet counts stories with a cardinality sub-aggregation); an export of 10,000 hits 1,478 ms by
article, 1,522 ms by story.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.search import QUERIES  # noqa: E402
from benchmarks.synthetic import generate_articles  # noqa: E402
from crawler.search.embedded import EmbeddedArchive  # noqa: E402
from crawler.search.request import SearchRequest  # noqa: E402
from crawler.storage import Store  # noqa: E402

# Share of articles that start a story with copies, and how many copies follow each.
STORY_SHARE = 0.15
COPIES = (1, 3)
CASES = (("articles", False, False), ("stories", True, False))
CASES_FACETS = (("articles+facets", False, True), ("stories+facets", True, True))


def build(path: Path, size: int) -> Store:
    """The store at `path`, filled with `size` synthetic articles and their copies if new."""
    fresh = not path.exists()
    store = Store(path)
    if fresh:
        rnd = random.Random(1)
        lead: str | None = None
        left = 0
        for article in generate_articles(size):
            if left and lead is not None:
                article.cluster_id = lead
                left -= 1
            elif rnd.random() < STORY_SHARE:
                lead = article.cluster_id = article.id
                left = rnd.randint(*COPIES)
            store.save_article(article)
    return store


def requests(by_story: bool, facets: bool) -> list[SearchRequest]:
    out = []
    for query, options in QUERIES:
        kw: dict[str, Any] = dict(options)
        for name in ("since", "until"):
            if name in kw:
                kw[name] = date.fromisoformat(kw[name])
        out.append(
            SearchRequest(query=query, by_story=by_story, facets=facets, histogram=facets, **kw)
        )
    return out


def timed(archive: EmbeddedArchive, request: SearchRequest) -> float:
    started = time.perf_counter()
    archive.search(request)
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/stories.json")
    args = parser.parse_args()
    path = Path(tempfile.gettempdir()) / "watchdesk-bench" / f"stories-{args.size}.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    archive = EmbeddedArchive(build(path, args.size))
    results: dict[str, Any] = {"size": args.size}
    for group in (CASES, CASES_FACETS):
        plans = {name: requests(by_story, facets) for name, by_story, facets in group}
        for reqs in plans.values():  # warm the index and the page cache
            for request in reqs:
                archive.search(request)
        times: dict[str, list[float]] = {name: [] for name in plans}
        for _ in range(args.rounds):
            for i in range(len(QUERIES)):
                for name, reqs in plans.items():
                    times[name].append(timed(archive, reqs[i]))
        for name, xs in times.items():
            xs.sort()
            p50, p95 = statistics.median(xs), xs[int(0.95 * len(xs)) - 1]
            results[name] = {"p50_ms": round(p50, 1), "p95_ms": round(p95, 1)}
            print(f"{name:16} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms")
    one = archive.search(SearchRequest(query='"sister city"', by_story=True))
    results["sister_city"] = {"stories": one.total, "articles": one.articles}
    print(f'"sister city": {one.total} stories of {one.articles} articles')
    for name, by_story in (("export_articles", False), ("export_stories", True)):
        request = SearchRequest(query='"sister city"', by_story=by_story, limit=10_000)
        best = min(timed(archive, request) for _ in range(3))
        results[name] = {"best_of_3_ms": round(best)}
        print(f"{name}: {best:.0f} ms (best of 3)")
    archive.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
