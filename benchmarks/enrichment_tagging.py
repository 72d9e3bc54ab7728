"""Benchmark the tagging steps (places, entities, events, relevance): articles/s on one core.

Builds 1,000 synthetic ~5 KB English articles (with a Chinese-language one every tenth) from
the domain's vocabulary and gazetteer names, then times each step separately and the four
together, after measuring the one-off load of the gazetteer and the matchers.
Results go to benchmarks/results/enrichment_tagging.json.
Run: `python benchmarks/enrichment_tagging.py [--articles N] [--seed S]`.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crawler.article import Article  # noqa: E402
from crawler.stats import Stats  # noqa: E402
from crawler.textnorm import fold  # noqa: E402
from enrich.context import EnrichContext, EnrichOptions  # noqa: E402
from enrich.entities import EntityMatcher, tag_entities  # noqa: E402
from enrich.events import classify_events, get_classifier  # noqa: E402
from enrich.places import Gazetteer, tag_places  # noqa: E402
from enrich.relevance import score_relevance  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "enrichment_tagging.json"
ARTICLE_CHARS = 5_000  # the brief's article size

US_PLACES = [
    "Oxford, Mississippi",
    "Carmel, Indiana",
    "Rochester, Minnesota",
    "Canton, Ohio",
    "Seattle",
    "Houston",
    "Los Angeles",
    "Chicago",
    "Des Moines, Iowa",
    "Texas",
    "California",
    "Georgia",
    "Washington state",
    "China, Maine",
    "Mobile, Alabama",
]
CN_PLACES = [
    "Wuhan",
    "Hubei",
    "Shanghai",
    "Guangzhou",
    "Chengdu, Sichuan",
    "Xiangyang",
    "Beijing",
    "Hangzhou",
    "Shenzhen",
    "Taichung, Taiwan",
    "Canton",
    "Hong Kong",
]
ORGS = [
    "the CPAFFC",
    "the United Front Work Department",
    "a Confucius Institute",
    "the U.S. Conference of Mayors",
    "the National Governors Association",
    "the Chinese Consulate General in Chicago",
    "Sister Cities International",
]
CLAUSES = [
    "signed a sister-city agreement with",
    "sent a trade delegation to",
    "signed a memorandum of understanding with",
    "approved tax incentives for a factory owned by investors from",
    "closed the Confucius Institute linked to",
    "passed a bill to restrict land purchases by companies from",
    "warned of united front influence operations by",
    "suspended ties with",
    "met officials from",
    "reported on weather in",
]
FILLER = [
    "The council meets again next month.",
    "Residents asked questions about parking.",
    "Bill Clinton once visited the region.",
    "The plant nursery opened on Main Street.",
    "Officials said the budget would be balanced.",
    "Mobile phones were banned in class.",
    "Local schools reopened after the holiday.",
    "The mayor thanked volunteers.",
]
ZH = (
    "湖北省与美国密西西比州签署友好省州关系谅解备忘录。代表团访问武汉，考察了一家工厂。"
    "双方将扩大青年交流和留学生往来。中美地方合作前景广阔。"
)


def make_articles(n: int, seed: int) -> list[Article]:
    rng = random.Random(seed)
    out: list[Article] = []
    for i in range(n):
        if i % 10 == 9:
            text = ZH * (ARTICLE_CHARS // (len(ZH) * 3))  # ~5 KB of UTF-8
            title = "湖北与密西西比州结为友好省州"
        else:
            parts: list[str] = []
            while sum(len(p) + 1 for p in parts) < ARTICLE_CHARS:
                if rng.random() < 0.4:
                    parts.append(
                        f"{rng.choice(US_PLACES)} {rng.choice(CLAUSES)} "
                        f"{rng.choice(CN_PLACES)}, according to {rng.choice(ORGS)}."
                    )
                else:
                    parts.append(rng.choice(FILLER))
            text = " ".join(parts)[:ARTICLE_CHARS]
            title = f"{rng.choice(US_PLACES)} and {rng.choice(CN_PLACES)} talk ties"
        a = Article(
            url=f"https://example.org/{i}",
            canonical_url=f"https://example.org/{i}",
            title=title,
            text=text,
        )
        a.match_text = fold(title + "\n" + text)
        out.append(a)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    started = time.perf_counter()
    gazetteer = Gazetteer.load()
    load_gazetteer = time.perf_counter() - started
    started = time.perf_counter()
    entities = EntityMatcher.load(watched=[], extra=[])
    get_classifier()
    load_matchers = time.perf_counter() - started
    context = EnrichContext(
        gazetteer=gazetteer,
        entities=entities,
        stories=None,  # type: ignore[arg-type]  # not used by these steps
        options=EnrichOptions(),
        stats=Stats(),
    )
    articles = make_articles(args.articles, args.seed)
    # warm-up: first calls fill caches (fold's per-character cache, the actor matcher)
    for step in (tag_places, tag_entities, classify_events, score_relevance):
        step(articles[0], context)

    per_step: dict[str, float] = {}
    for step in (tag_places, tag_entities, classify_events, score_relevance):
        t0 = time.process_time()
        for a in articles:
            step(a, context)
        per_step[step.__name__] = len(articles) / (time.process_time() - t0)
    t0 = time.process_time()
    for a in articles:
        for step in (tag_places, tag_entities, classify_events, score_relevance):
            step(a, context)
    total = len(articles) / (time.process_time() - t0)

    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "articles": len(articles),
        "mean_chars": round(sum(len(a.text) for a in articles) / len(articles)),
        "load_seconds": {
            "gazetteer": round(load_gazetteer, 3),
            "entities_and_events": round(load_matchers, 3),
        },
        "articles_per_second": {k: round(v, 1) for k, v in per_step.items()}
        | {"all_four_steps": round(total, 1)},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
