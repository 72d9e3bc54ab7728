"""Benchmark the `best` ranking against the text score alone: NDCG@10 on the judged set.

The judged set is `tests/fixtures/labelled/*.yaml`: news stories written or collected for the
beat, each judged `relevance: high` (a story the desk wants: US local actors and China) or
`low` (Japan, Taiwan, national-only, boilerplate mentions). Every story is enriched by the
service's own steps and stored in a real store; a set of analysts' queries is run with
`sort="text"` (BM25) and `sort="best"` (text × (BEST_FLOOR + relevance)), and each ranking
is scored as NDCG@10 with gain 1 for a `high` story and 0 for a `low` one (queries that match
no `high` or only `high` stories cannot tell rankings apart and are reported, not averaged).
The floor is swept too, which is how BEST_FLOOR was chosen. Caveat: the relevance scorer's
bands are checked on the same set (tests/enrich/test_labelled_set.py), so this is the blend's
effect given a scorer that agrees with the judges, not a measure of the scorer itself.

Results go to benchmarks/results/ranking.json.
Run: `python benchmarks/ranking.py`.

Last run (2026-12-02, 23 judged stories of which 15 high, 12 queries, 10 that tell rankings
apart): mean NDCG@10 0.774 for `text`, 0.917 for `best`; `best` better on 8 queries, worse on
none. Floor sweep: 0.05 → 0.926, 0.1 → 0.918, 0.25 → 0.917, 0.5 → 0.903, 1 → 0.889, 2 → 0.872,
5 → 0.833. BEST_FLOOR is 0.25 rather than the marginally better 0.05: below it the sort is
nearly the relevance score alone, and the words of the query stop mattering among stories of
equal relevance (23 stories cannot show that cost; an analyst would).
"""

from __future__ import annotations

import json
import math
import platform
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crawler.article import Article  # noqa: E402
from crawler.search.embedded import EmbeddedArchive  # noqa: E402
from crawler.search.request import BEST_FLOOR, SearchRequest  # noqa: E402
from crawler.storage import Store  # noqa: E402
from enrich.chain import run_enrichment_step  # noqa: E402
from enrich.extraction import extract_article  # noqa: E402
from watchdesk.service.config import enrich_context  # noqa: E402
from watchdesk.service.processor import ENRICHMENT_STEPS  # noqa: E402

LABELLED = ROOT / "tests" / "fixtures" / "labelled"
RESULTS = ROOT / "benchmarks" / "results" / "ranking.json"
K = 10
# What an analyst of this beat types: the words of the beat, broad and narrow.
QUERIES = [
    "China",
    "Chinese",
    '"sister city" OR "sister cities" OR 友好城市',
    "delegation",
    "mayor",
    "investment OR factory OR plant",
    "Confucius",
    "city",
    "governor",
    "agreement OR memorandum",
    "students OR exchange",
    "Beijing",
]
FLOORS = [0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0]


def load_judged() -> list[tuple[Article, int]]:
    """The judged stories as enriched articles, with their gain (1 high, 0 low)."""
    context = enrich_context(None)
    steps = [s for s in ENRICHMENT_STEPS if s is not extract_article]  # plain text, no HTML
    out = []
    for path in sorted(LABELLED.glob("*.yaml")):
        case = yaml.safe_load(path.read_text(encoding="utf-8"))
        url = f"https://judged.example/{path.stem}"
        article = Article(
            url=url,
            canonical_url=url,
            source=path.stem.split("-")[0],
            title=case.get("title", ""),
            text=case.get("text", ""),
            language_hint=case.get("language"),
            fetched=datetime.now(UTC),
        )
        for step in steps:
            run_enrichment_step(step, article, context)
        out.append((article, 1 if case["expected"]["relevance"] == "high" else 0))
    return out


def ndcg(gains: list[int], k: int = K) -> float:
    """NDCG@k of a ranked list of gains (binary: the ideal puts every 1 first)."""

    def dcg(values: list[int]) -> float:
        return sum(g / math.log2(i + 2) for i, g in enumerate(values[:k]))

    ideal = dcg(sorted(gains, reverse=True))
    return dcg(gains) / ideal if ideal else 0.0


def main() -> int:
    judged = load_judged()
    gain = {a.id: g for a, g in judged}
    relevance = {a.id: a.relevance for a, _ in judged}
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="watchdesk-ranking-") as tmp:
        store = Store(Path(tmp) / "judged.db")
        for article, _ in judged:
            store.save_article(article)
        archive = EmbeddedArchive(store)
        try:
            for query in QUERIES:
                text = archive.search(SearchRequest(query, sort="text", limit=100)).hits
                best = archive.search(SearchRequest(query, sort="best", limit=100)).hits
                gains_text = [gain[h.article.id] for h in text]
                row: dict[str, Any] = {
                    "query": query,
                    "matches": len(text),
                    "high": sum(gains_text),
                    "text": ndcg(gains_text),
                    "best": ndcg([gain[h.article.id] for h in best]),
                    "informative": 0 < sum(gains_text) < len(gains_text),
                }
                # the floor sweep, from the same text scores (best_score with another floor)
                for floor in FLOORS:
                    ranked = sorted(
                        text, key=lambda h: -h.score * (floor + relevance[h.article.id])
                    )
                    row[f"floor_{floor:g}"] = ndcg([gain[h.article.id] for h in ranked])
                rows.append(row)
        finally:
            archive.close()
    told = [r for r in rows if r["informative"]]
    mean = {
        key: sum(r[key] for r in told) / len(told) if told else 0.0
        for key in ["text", "best", *(f"floor_{f:g}" for f in FLOORS)]
    }
    print(f"NDCG@{K} on {len(judged)} judged stories ({sum(gain.values())} high), ", end="")
    print(f"{len(told)} of {len(rows)} queries tell rankings apart\n")
    print(f"{'query':48} {'n':>3} {'high':>4} {'text':>6} {'best':>6}")
    for r in rows:
        mark = "" if r["informative"] else "  (all one label: not averaged)"
        print(
            f"{r['query'][:48]:48} {r['matches']:3d} {r['high']:4d} "
            f"{r['text']:6.3f} {r['best']:6.3f}{mark}"
        )
    print(f"\n{'mean':48} {'':3} {'':4} {mean['text']:6.3f} {mean['best']:6.3f}")
    wins = sum(r["best"] > r["text"] + 1e-9 for r in told)
    losses = sum(r["best"] < r["text"] - 1e-9 for r in told)
    print(f"best better on {wins} queries, worse on {losses}, equal on {len(told) - wins - losses}")
    print("\nfloor sweep (best = text × (floor + relevance)), mean NDCG@10:")
    for f in FLOORS:
        chosen = "  <- BEST_FLOOR" if f == BEST_FLOOR else ""
        print(f"  floor {f:<5g} {mean[f'floor_{f:g}']:.3f}{chosen}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "benchmark": "ranking",
                "when": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": platform.platform(),
                "k": K,
                "judged": len(judged),
                "high": sum(gain.values()),
                "best_floor": BEST_FLOOR,
                "mean_ndcg": mean,
                "queries": rows,
            },
            indent=2,
            ensure_ascii=False,
        )
        + "\n",
        encoding="utf-8",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
