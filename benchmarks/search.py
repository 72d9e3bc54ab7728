"""Benchmark the embedded archive: indexing throughput and search latency, tantivy vs FTS5.

Builds synthetic stores (benchmarks/synthetic.py) of each size, then in the same process:
- index throughput: articles/s into the store (`Store.save_article`: SQLite row, facets and
  FTS5 entry in one transaction) and articles/s into the tantivy side index (a full sync);
- search latency p50/p95/p99 over a fixed set of analyst queries (phrases, booleans, field
  filters, Chinese, date ranges, proximity), each run as a page of 20 with its total, and again
  with facet counts and the date histogram, on `EmbeddedArchive` (tantivy) and on `Fts5Search`
  (the FTS5 first version), queries interleaved so both engines see the same machine load.

    python benchmarks/search.py            # 10,000 and 50,000 articles
    python benchmarks/search.py --full     # 10,000, 100,000 and 200,000 articles

Stores are kept in --work (default: watchdesk-bench in the system temp folder)
and reused across runs.
Results go to benchmarks/results/search.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH_WORK = Path(tempfile.gettempdir()) / "watchdesk-bench"
sys.path.insert(0, str(ROOT))

from benchmarks.synthetic import generate_articles  # noqa: E402
from crawler.query.syntax import tokenize  # noqa: E402
from crawler.search import tantivy_index as search_index  # noqa: E402
from crawler.search.embedded import EmbeddedArchive, Fts5Search  # noqa: E402
from crawler.search.request import SearchRequest  # noqa: E402
from crawler.search.tantivy_index import TantivyIndex  # noqa: E402
from crawler.storage import Store  # noqa: E402

# What analysts type (DOMAIN.md): phrases, booleans, field filters, facets, Chinese, dates.
QUERIES: list[tuple[str, dict[str, Any]]] = [
    ('"sister city"', {}),
    ("delegation", {}),
    ('"sister city" AND NOT terminated', {}),
    ('"Confucius Institute" AND (closed OR suspended)', {}),
    ('("sister city" OR "friendship city") AND country:CN AND country:US', {}),
    ('"memorandum of understanding" AND region:sichuan', {}),
    ("farmland AND event:legislation", {"since": "2024-01-01"}),
    ("united front OR espionage", {"sort": "date"}),
    ("mayor AND delegation", {"countries": ["CN"], "events": ["delegation"]}),
    ("title:governor", {"sources": ["indystar", "voa"]}),
    ("deleg*", {}),
    ('"trade mission"~3', {}),
    ("entity:org:cpaffc", {}),
    ('entity:"Zhou Zheng" OR entity:org:ufwd', {"min_relevance": 0.5}),
    ("友好城市", {}),
    ("孔子学院 AND 关闭", {}),
    ("代表团 访问", {"languages": ["zh"]}),
    ("", {"countries": ["TW"], "since": "2023-06-01", "until": "2023-12-31"}),
    ("investment AND NOT (factory OR plant)", {}),
    ("published:[2024-03-01 TO 2024-03-31] AND sister*", {}),
]
# Proximity over three or more words: the index returns candidates that the matcher checks
# (crawler/search/tantivy_query.py), a slow path measured apart from the analyst set.
SLOW_QUERIES: list[tuple[str, dict[str, Any]]] = [
    ('"governor jobs security"~4', {}),
    ('"友好 关系"~3', {}),
]


SAMPLE_ABOVE = search_index.FACET_SAMPLE_ABOVE


def request_for(query: str, options: dict[str, Any], facets: bool) -> SearchRequest:
    options = dict(options)
    for key in ("since", "until"):
        if key in options:
            options[key] = date.fromisoformat(options[key])
    return SearchRequest(query=query, limit=20, facets=facets, histogram=facets, **options)


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    qs = statistics.quantiles(ordered, n=100, method="inclusive")
    return {
        "p50": round(qs[49], 2),
        "p95": round(qs[94], 2),
        "p99": round(qs[98], 2),
        "max": round(ordered[-1], 2),
        "mean": round(statistics.fmean(ordered), 2),
    }


def build(path: Path, n: int, keep_index: bool = False) -> dict[str, Any]:
    """The store of n articles (built once, timed when built) and a fresh side index (timed;
    with `keep_index`, an existing index is only brought up to date)."""
    out: dict[str, Any] = {}
    if not path.exists():
        # the first articles of a larger corpus are the smaller corpus (same seed): start from
        # the largest smaller store already built
        smaller = sorted(
            (int(p.stem.split("-")[1]), p)
            for p in path.parent.glob("search-*.db")
            if int(p.stem.split("-")[1]) < n
        )
        if smaller:
            shutil.copyfile(smaller[-1][1], path)
    store = Store(path)
    have = store.count_articles()
    if have < n:
        started = time.perf_counter()
        added = 0
        for i, article in enumerate(generate_articles(n)):
            if i >= have:
                added += store.save_article(article)
        elapsed = time.perf_counter() - started
        out["store_articles_per_s"] = round(added / elapsed, 1)
    store.close()
    index_dir = path.with_name(path.name + ".index")
    if not keep_index:
        shutil.rmtree(index_dir, ignore_errors=True)
    store = Store(path)
    started = time.perf_counter()
    index = TantivyIndex(store, index_dir)
    elapsed = time.perf_counter() - started
    if not keep_index:
        out["index_articles_per_s"] = round(index.count() / elapsed, 1)
    out["index_mb"] = round(sum(f.stat().st_size for f in index_dir.iterdir()) / 1e6, 1)
    out["sqlite_mb"] = round(path.stat().st_size / 1e6, 1)
    store.close()
    return out


def measure(path: Path, rounds: int, fts5_rounds: int) -> dict[str, Any]:
    store = Store(path)
    archive = EmbeddedArchive(store)
    engines: dict[str, Any] = {"tantivy": archive, "fts5": Fts5Search(store)}
    out: dict[str, Any] = {}
    per_query: dict[str, dict[str, list[float]]] = {}
    # "page+facets" is what the product does: facets of more than FACET_SAMPLE_ABOVE matches
    # are estimated from a sample. "page+exact facets" counts every match (tantivy only).
    modes = [
        ("page", False, False),
        ("page+facets", True, False),
        ("page+exact facets", True, True),
    ]
    for mode, facets, exact in modes:
        sides = {"tantivy": archive} if exact else engines
        search_index.FACET_SAMPLE_ABOVE = 10**12 if exact else SAMPLE_ABOVE
        samples: dict[str, list[float]] = {name: [] for name in sides}
        for engine in sides.values():  # warm-up: caches, first-use costs
            for query, options in QUERIES:
                engine.search(request_for(query, options, facets))
        for r in range(max(rounds, fts5_rounds)):
            for query, options in QUERIES:
                for name, engine in sides.items():
                    if r >= (rounds if name == "tantivy" else fts5_rounds):
                        continue
                    started = time.perf_counter()
                    result = engine.search(request_for(query, options, facets))
                    ms = (time.perf_counter() - started) * 1000
                    samples[name].append(ms)
                    key = f"{mode} {query} {options or ''}".strip()
                    per_query.setdefault(key, {}).setdefault(name, []).append(ms)
                    per_query[key].setdefault("total", [result.total])
        out[mode] = {name: percentiles(s) for name, s in samples.items()}
        if "fts5" in sides:
            out[mode]["fts5/tantivy p95"] = round(
                out[mode]["fts5"]["p95"] / out[mode]["tantivy"]["p95"], 1
            )
    search_index.FACET_SAMPLE_ABOVE = SAMPLE_ABOVE
    slow: dict[str, Any] = {}
    for query, options in SLOW_QUERIES:
        times = []
        for _ in range(2):
            started = time.perf_counter()
            result = archive.search(request_for(query, options, False))
            times.append((time.perf_counter() - started) * 1000)
        slow[query] = {"tantivy_ms": round(min(times), 1), "total": result.total}
    out["slow_path"] = slow
    out["per_query_median_ms"] = {
        key: {
            name: (round(statistics.median(v), 2) if name != "total" else v[0])
            for name, v in values.items()
        }
        for key, values in per_query.items()
    }
    store.close()
    return out


CHINESE_PHRASES = ["友好城市", "孔子学院", "代表团", "谅解备忘录", "访问", "统战工作", "土地"]


def measure_chinese(n: int, rounds: int = 20) -> dict[str, Any]:
    """Chinese tokenisation: one token per character (what watchdesk indexes) vs overlapping
    bigrams, on the Chinese articles among `n`: raw index time per phrase query, index size.

    Both are exact for phrases (a bigram phrase of a word is its characters in sequence);
    jieba segmentation is not measured: a word split differently in the query and the text
    would be missed, and the in-process matcher, which must agree, works on characters.
    """
    import tantivy

    from crawler.search.tantivy_index import TOKENIZER
    from crawler.textnorm import fold

    texts = [fold(a.title + " " + a.text) for a in generate_articles(n) if a.language == "zh"]

    def unigrams(text: str) -> list[str]:
        return tokenize(text)

    def bigrams(text: str) -> list[str]:
        toks = tokenize(text)
        return [a + b for a, b in zip(toks, toks[1:], strict=False)] or toks

    out: dict[str, Any] = {"articles": len(texts)}
    for name, split in (("unigram", unigrams), ("bigram", bigrams)):
        sb = tantivy.SchemaBuilder()
        sb.add_text_field("text", tokenizer_name=TOKENIZER, index_option="position")
        schema = sb.build()
        directory = BENCH_WORK / f"zh-{name}"
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        index = tantivy.Index(schema, path=str(directory))
        index.register_tokenizer(
            TOKENIZER, tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build()
        )
        writer = index.writer(64_000_000, 1)
        started = time.perf_counter()
        for text in texts:
            doc = tantivy.Document()
            doc.add_text("text", " ".join(split(text)))
            writer.add_document(doc)
        writer.commit()
        writer.wait_merging_threads()
        build_s = time.perf_counter() - started
        index.reload()
        searcher = index.searcher()
        samples = []
        for _ in range(rounds):
            for phrase in CHINESE_PHRASES:
                words = list[str | tuple[int, str]](split(phrase))
                query = (
                    tantivy.Query.term_query(schema, "text", words[0])
                    if len(words) == 1
                    else tantivy.Query.phrase_query(schema, "text", words)
                )
                started = time.perf_counter()
                searcher.search(query, 20, count=True)
                samples.append((time.perf_counter() - started) * 1000)
        out[name] = {
            **percentiles(samples),
            "index_mb": round(sum(f.stat().st_size for f in directory.iterdir()) / 1e6, 1),
            "articles_per_s": round(len(texts) / build_s, 1),
        }
        shutil.rmtree(directory, ignore_errors=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--full", action="store_true", help="10k, 100k and 200k articles")
    parser.add_argument("--sizes", type=int, nargs="*", help="override the corpus sizes")
    parser.add_argument("--rounds", type=int, default=10, help="passes over the query set")
    parser.add_argument("--fts5-rounds", type=int, default=3, help="passes for FTS5 (slow)")
    parser.add_argument(
        "--keep-index", action="store_true", help="reuse built indexes (no indexing figures)"
    )
    parser.add_argument("--work", type=Path, default=BENCH_WORK)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/search.json")
    args = parser.parse_args()
    sizes = args.sizes or ([10_000, 100_000, 200_000] if args.full else [10_000, 50_000])
    args.work.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "queries": [[q, o] for q, o in QUERIES],
        "sizes": {},
    }
    for n in sizes:
        path = args.work / f"search-{n}.db"
        print(f"== {n:,} articles ({path})", flush=True)
        figures = build(path, n, args.keep_index)
        print(f"   build: {figures}", flush=True)
        figures.update(measure(path, args.rounds, args.fts5_rounds))
        report["sizes"][str(n)] = figures
        for mode in ("page", "page+facets"):
            row = figures[mode]
            print(
                f"   {mode:12} tantivy p50 {row['tantivy']['p50']:8.2f} p95 "
                f"{row['tantivy']['p95']:8.2f} p99 {row['tantivy']['p99']:8.2f} ms | fts5 p50 "
                f"{row['fts5']['p50']:8.2f} p95 {row['fts5']['p95']:8.2f} p99 "
                f"{row['fts5']['p99']:8.2f} ms | fts5/tantivy p95 {row['fts5/tantivy p95']}x",
                flush=True,
            )
        exact = figures["page+exact facets"]["tantivy"]
        print(f"   page+exact facets tantivy p50 {exact['p50']:8.2f} p95 {exact['p95']:8.2f}")
        print(f"   slow path: {figures['slow_path']}", flush=True)
    zh_n = max(sizes)
    print(f"== Chinese tokenisation, Chinese articles among {zh_n:,}", flush=True)
    report["chinese_tokens"] = measure_chinese(zh_n)
    print(f"   {report['chinese_tokens']}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
