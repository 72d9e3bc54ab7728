"""Benchmark the results table's column sorts against `best` on the embedded archive.

A synthetic archive (benchmarks/synthetic.py) is searched with the page's request (page 2 of
20, facets and the day histogram, by story and by article) under each sort, over five queries
from narrow to "everything"; p50 and p95 in milliseconds per sort.
Run: `python benchmarks/column_sorts.py [N]` (default 20,000 articles).

Last run (2026-12-02, 20,000 articles, two shared cores; by story / by article, p50):
best 33 / 13 ms, date 34 / 11, title 39 / 12, -title 46 / 16, outlet 35 / 15, domain 31 / 12.
A column sort costs what `date` costs: tantivy orders by a fast field (`title_sort`,
`outlet_sort`, `relevance`, `published`) without scoring; the by-story window is the same.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.synthetic import build_store  # noqa: E402
from crawler.search.embedded import EmbeddedArchive  # noqa: E402
from crawler.search.request import SearchRequest  # noqa: E402

QUERIES = ['"sister city"', "china", "country:CN", "trade OR investment", ""]
SORTS = ["best", "date", "title", "-title", "outlet", "domain"]
ROUNDS = 8


def main(n: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="watchdesk-sorts-"))
    started = time.perf_counter()
    archive = EmbeddedArchive(build_store(folder / "store.db", n), index_path=folder / "index")
    print(f"{n:,} articles stored and indexed in {time.perf_counter() - started:.0f} s")
    for sort in SORTS:
        for by_story in (True, False):
            samples: list[float] = []
            for _ in range(ROUNDS):
                for query in QUERIES:
                    request = SearchRequest(
                        query=query,
                        sort=sort,  # type: ignore[arg-type]
                        limit=20,
                        offset=20,
                        facets=True,
                        histogram=True,
                        by_story=by_story,
                    )
                    began = time.perf_counter()
                    archive.search(request)
                    samples.append((time.perf_counter() - began) * 1000)
            samples.sort()
            p95 = samples[int(len(samples) * 0.95) - 1]
            unit = "stories " if by_story else "articles"
            median = statistics.median(samples)
            print(f"{sort:7s} {unit}  p50 {median:6.1f} ms  p95 {p95:6.1f} ms")
    archive.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
