"""Benchmark the watchlist matcher: articles/s at 100 ... 100,000 watchlists, on one core.

Generates realistic watchlists (phrases, booleans, field clauses, entities, over the domain's
vocabulary plus generated US/Chinese place, organisation and people names) and ~5 KB synthetic
articles, then measures:
- `WatchlistMatcher.match` (presearch + exact evaluation);
- naive evaluation of every watchlist (only up to 1,000 watchlists: it is slow);
- a bare pyahocorasick scan of the same articles' scan strings with the same patterns (the floor).
Results go to benchmarks/results/matching.json. Run: `python benchmarks/matching.py [--quick]`.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import resource
import sys
import time
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import ahocorasick  # type: ignore[import-not-found]  # noqa: E402

from alerts.matcher import WatchlistMatcher, scan_string  # noqa: E402
from alerts.watchlist import Watchlist  # noqa: E402
from benchmarks.machine import machine_info  # noqa: E402
from crawler.article import Article, Entity  # noqa: E402
from crawler.query import EVENT_LABELS, MatchDocument, evaluate, parse_query  # noqa: E402
from crawler.textnorm import fold  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "matching.json"

# -- vocabulary ----------------------------------------------------------------------------------

EN_PHRASES = [
    "sister city",
    "sister cities",
    "friendship city",
    "sister state",
    "sister province",
    "delegation",
    "trade mission",
    "memorandum of understanding",
    "letter of intent",
    "cooperation agreement",
    "Confucius Institute",
    "student exchange",
    "tax incentives",
    "foreign adversary",
    "land purchases",
    "united front",
    "influence operation",
    "consulate",
    "pension fund",
    "battery plant",
    "economic development",
    "mayor",
    "governor",
    "state legislature",
    "city council",
    "bill",
    "investment",
    "factory",
    "espionage",
]
ZH_PHRASES = [
    "友好城市",
    "姐妹城市",
    "友城",
    "代表团",
    "访问",
    "谅解备忘录",
    "合作协议",
    "签署",
    "投资",
    "工厂",
    "孔子学院",
    "留学生",
    "青年交流",
    "法案",
    "统战",
    "终止",
    "暂停",
    "友好省州",
]
FILLER = [
    "officials said the talks covered trade, education and tourism",
    "the meeting, held at city hall, drew business leaders and students",
    "critics questioned the timing; supporters pointed to jobs",
    "the agreement has no binding force, according to a spokesperson",
    "residents were invited to comment before the vote next month",
    "the state’s economy relies on exports of soybeans, machinery and aircraft parts",
    "“we want good relations,” she said",
]
ZH_FILLER = [
    "双方表示将进一步加强经贸合作。",
    "会议在市政厅举行，多位企业代表出席。",
    "市长表示欢迎更多交流。",
    "該協議不具法律約束力。",
]
US_STATES = [
    "Indiana",
    "Ohio",
    "Iowa",
    "Missouri",
    "Texas",
    "California",
    "Michigan",
    "Illinois",
    "Wisconsin",
    "Minnesota",
    "Kentucky",
    "Tennessee",
    "Georgia",
    "Arizona",
    "Utah",
    "Oregon",
]
CN_PROVINCES = [
    "Hubei",
    "Hebei",
    "Sichuan",
    "Guangdong",
    "Zhejiang",
    "Jiangsu",
    "Shandong",
    "Henan",
    "Hunan",
    "Fujian",
    "Yunnan",
    "Shaanxi",
    "Liaoning",
    "Jilin",
    "Anhui",
    "Jiangxi",
]
BROAD_QUERIES = [
    '"sister city" AND (china OR chinese)',
    '"friendship city" OR 友好城市 OR 姐妹城市',
    '"Confucius Institute" OR 孔子学院',
    '"united front" OR 统战',
    "delegation AND country:CN",
    '"memorandum of understanding" AND china',
    '"land purchases" AND chinese',
    '"sister city" AND event:termination',
    '"foreign adversary" AND bill',
    "event:influence AND relevance:>=0.7",
    '"trade mission" AND china',
    '"student exchange" OR 留学生',
]
EVENTS = list(EVENT_LABELS)
_EN_SYL = [
    "spring",
    "lake",
    "oak",
    "river",
    "green",
    "mill",
    "fair",
    "west",
    "north",
    "clear",
    "stone",
    "maple",
    "cedar",
    "brook",
    "pine",
    "red",
    "silver",
    "elm",
    "ash",
    "bay",
]
_EN_END = [
    "field",
    "port",
    "ville",
    "ton",
    "burg",
    "wood",
    "dale",
    "view",
    "ford",
    "haven",
    "mont",
    "crest",
    "side",
    "land",
    "bridge",
]
_PINYIN = [
    "xin",
    "bao",
    "yang",
    "zhou",
    "an",
    "ning",
    "hai",
    "tian",
    "jin",
    "lin",
    "shan",
    "he",
    "qing",
    "hua",
    "long",
    "feng",
    "ping",
    "chang",
    "dong",
    "nan",
    "yun",
    "jia",
]
_HANZI = "新宝阳州安宁海天津林山河青华龙丰平昌东南云嘉"
_FIRST = [
    "John",
    "Mary",
    "Wei",
    "Li",
    "James",
    "Linda",
    "Ming",
    "Susan",
    "David",
    "Xiu",
    "Robert",
    "Hong",
    "Karen",
    "Jian",
    "Paul",
    "Mei",
    "Eric",
    "Ann",
    "Tao",
    "Lisa",
]
_LAST = [
    "Smith",
    "Zhang",
    "Johnson",
    "Wang",
    "Brown",
    "Chen",
    "Miller",
    "Liu",
    "Davis",
    "Huang",
    "Wilson",
    "Zhao",
    "Moore",
    "Wu",
    "Taylor",
    "Zhou",
    "Clark",
    "Sun",
    "Hall",
]
_ORG_KIND = [
    "Chamber of Commerce",
    "Friendship Association",
    "Trade Council",
    "University",
    "Economic Development Corporation",
    "Port Authority",
    "Sister Cities Committee",
]


@dataclass
class Names:
    us_places: list[str]
    cn_places: list[tuple[str, str]]  # (pinyin, hanzi)
    orgs: list[str]
    people: list[tuple[str, str]]  # (name, slug)


def make_names(rng: random.Random, n: int) -> Names:
    """Generated names: enough of each that watchlists rarely share them (like real users')."""

    def unique(make: Any, count: int) -> list[Any]:
        seen: dict[Any, None] = {}
        while len(seen) < count:
            seen[make()] = None
        return list(seen)

    def us() -> str:
        name = rng.choice(_EN_SYL).title() + rng.choice(_EN_SYL) + rng.choice(_EN_END)
        suffix = rng.choice(["Falls", "City", "Heights", "Springs"])
        return name if rng.random() < 0.6 else f"{name} {suffix}"

    def cn() -> tuple[str, str]:
        k = rng.choice([2, 3, 3])
        idx = [rng.randrange(len(_PINYIN)) for _ in range(k)]
        return "".join(_PINYIN[i] for i in idx).title(), "".join(_HANZI[i] for i in idx)

    def person() -> str:
        initial = chr(ord("A") + rng.randrange(26))
        return f"{rng.choice(_FIRST)} {initial}. {rng.choice(_LAST)}-{rng.choice(_LAST)}"

    # the pools are far from exhausting their name spaces (30,000 US places, 10,648
    # Chinese, 187,720 people), so `unique` finishes quickly
    us_places = unique(us, 20_000)
    cn_places = unique(cn, 8_000)
    orgs = unique(lambda: f"{rng.choice(us_places)} {rng.choice(_ORG_KIND)}", n)
    people = unique(person, n)
    slugs = [(p, p.lower().replace(". ", "-").replace(" ", "-")) for p in people]
    return Names(us_places, cn_places, orgs, slugs)


# -- watchlists ----------------------------------------------------------------------------------


def make_query(rng: random.Random, names: Names, broad_share: float) -> str:
    if rng.random() < broad_share:
        # broad topic watchlists: desks copy the same few, so they come from a short list
        return rng.choice(BROAD_QUERIES)
    us = rng.choice(names.us_places)
    cn, cn_zh = rng.choice(names.cn_places)
    org = rng.choice(names.orgs)
    person, slug = rng.choice(names.people)
    phrase = rng.choice(EN_PHRASES)
    zh = rng.choice(ZH_PHRASES)
    kind = rng.random()
    if kind < 0.18:
        q = f'"{us}" AND ("sister city" OR "friendship city" OR {zh})'
    elif kind < 0.30:
        q = f'entity:"{org}" OR "{org}"'
    elif kind < 0.42:
        q = f'entity:person:{slug} OR "{person}"'
    elif kind < 0.54:
        state = rng.choice(US_STATES)
        q = f'("{us}" OR region:{state}) AND ("{cn}" OR {cn_zh}) AND (delegation OR visit*)'
    elif kind < 0.62:
        q = f'place:"{cn}" AND event:{rng.choice(EVENTS)}'
    elif kind < 0.72:
        q = f'"{phrase} {us.split()[0]}"~3 OR title:"{us}"'
    elif kind < 0.80:
        q = f'title:"{cn}" AND NOT "{rng.choice(names.us_places)}"'
    elif kind < 0.86:
        q = f'"{org}" AND ("{phrase}" OR {zh}) AND country:CN'
    elif kind < 0.90:
        us_state, province = rng.choice(US_STATES), rng.choice(CN_PROVINCES)
        q = f"region:{us_state} AND region:{province} AND event:{rng.choice(EVENTS)}"
    elif kind < 0.95:
        q = f'"{cn}" -"{phrase}" relevance:>=0.{rng.randint(3, 8)}'
    else:
        q = f'"{person}" AND published:>=2024-0{rng.randint(1, 9)}-01'
    return q


def make_watchlists(
    rng: random.Random, names: Names, n: int, broad_share: float
) -> list[Watchlist]:
    out = []
    for i in range(n):
        extra: dict[str, Any] = {}
        roll = rng.random()
        if roll < 0.1:
            extra["languages"] = ["en"]
        elif roll < 0.15:
            extra["min_relevance"] = 0.5
        # model_construct: the queries are parsed (and so validated) by the matcher itself;
        # pydantic's validator would parse every query a second time.
        out.append(
            Watchlist.model_construct(
                name=f"wl-{i}",
                query=make_query(rng, names, broad_share),
                description="",
                channel="",
                languages=extra.get("languages", []),
                sources=[],
                min_relevance=extra.get("min_relevance", 0.0),
                delivery="instant",
                muted=False,
            )
        )
    return out


# -- articles ------------------------------------------------------------------------------------


def make_articles(rng: random.Random, names: Names, n: int, size: int = 5000) -> list[Article]:
    """~`size` characters each: filler sentences with domain phrases and a handful of names."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        us_names = rng.sample(names.us_places, 4)
        cn_names = rng.sample(names.cn_places, 3)
        mention = [
            *us_names,
            *(c for c, _ in cn_names),
            rng.choice(names.orgs),
            rng.choice(names.people)[0],
        ]
        parts: list[str] = []
        length = 0
        while length < size:
            roll = rng.random()
            if roll < 0.25:
                s = f"The {rng.choice(EN_PHRASES)} with {rng.choice(mention)} was discussed."
            elif roll < 0.33:
                s = rng.choice(ZH_FILLER) + rng.choice(ZH_PHRASES) + rng.choice(cn_names)[1] + "。"
            else:
                s = rng.choice(FILLER).capitalize() + "."
            parts.append(s)
            length += len(s) + 1
        entities = [
            Entity(f"geonames:{zlib.crc32(u.encode())}", u, "place", "US", rng.choice(US_STATES))
            for u in us_names[:2]
        ] + [
            Entity(f"geonames:{zlib.crc32(c.encode())}", c, "place", "CN", rng.choice(CN_PROVINCES))
            for c, _ in cn_names[:2]
        ]
        article = Article(
            url=f"https://example.org/{i}",
            canonical_url=f"https://example.org/{i}",
            source=rng.choice(["voa", "scmp", "xinhua", "indystar", "axios"]),
            title=f"{us_names[0]} and {cn_names[0][0]} discuss {rng.choice(EN_PHRASES)}",
            text=" ".join(parts),
            language=rng.choice(["en", "en", "en", "zh"]),
            entities=entities,
            countries=["US", "CN"],
            events=rng.sample(EVENTS, rng.randint(0, 3)),
            relevance=round(rng.random(), 2),
            published=start + timedelta(hours=i),
        )
        # as enrich/language.py sets it before matching: MatchDocument reuses it
        article.match_text = fold(article.title + "\n" + article.text)
        out.append(article)
    return out


# -- measurements --------------------------------------------------------------------------------


def time_matcher(
    matcher: WatchlistMatcher, articles: list[Article], repeat: int = 3
) -> tuple[float, int]:
    """Best of `repeat` passes (like timeit): the VM's timer noise only ever adds time."""
    best = float("inf")
    matched = 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        matched = sum(len(matcher.match(a)) for a in articles)
        best = min(best, time.perf_counter() - t0)
    return best, matched


def time_phases(matcher: WatchlistMatcher, articles: list[Article]) -> dict[str, float]:
    """ms per article of each phase of `match`, one pass each (so roughly; the total is exact).

    document: MatchDocument.from_article; presearch: automaton scan, keys, clause checks;
    evaluate+output: exact evaluation of candidates, matched terms, per-watchlist filters and
    WatchlistMatch objects.
    """
    t0 = time.perf_counter()
    docs = [MatchDocument.from_article(a) for a in articles]
    t1 = time.perf_counter()
    for doc in docs:
        matcher.candidates(doc)
    t2 = time.perf_counter()
    for doc in docs:
        matcher.match_document(doc)  # runs the presearch again
    t3 = time.perf_counter()
    n = len(articles) / 1000
    return {
        "document_ms": round((t1 - t0) / n, 3),
        "presearch_ms": round((t2 - t1) / n, 3),
        "evaluate_and_output_ms": round((t3 - t2 - (t2 - t1)) / n, 3),
    }


def time_naive(watchlists: list[Watchlist], articles: list[Article]) -> tuple[float, int]:
    queries = [parse_query(w.query) for w in watchlists]
    t0 = time.perf_counter()
    matched = 0
    for article in articles:
        doc = MatchDocument.from_article(article)
        for wl, query in zip(watchlists, queries, strict=True):
            if wl.languages and doc.language not in wl.languages:
                continue
            if (doc.relevance or 0.0) < wl.min_relevance:
                continue
            matched += evaluate(query, doc)
    return time.perf_counter() - t0, matched


def time_bare_scan(matcher: WatchlistMatcher, articles: list[Article]) -> float:
    """pyahocorasick alone: the same patterns over precomputed scan strings (no fold, no eval)."""
    automaton = ahocorasick.Automaton()
    patterns = matcher.text_patterns
    for i, pattern in enumerate(patterns):
        automaton.add_word(pattern, i)
    automaton.make_automaton()
    scans = [scan_string(MatchDocument.from_article(a)) for a in articles]
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for s in scans:
            for _ in automaton.iter(s):
                pass
        best = min(best, time.perf_counter() - t0)
    return best


def time_document(articles: list[Article]) -> float:
    """Building MatchDocuments alone (tokenise; fold reused from match_text): the floor."""
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for a in articles:
            scan_string(MatchDocument.from_article(a))
        best = min(best, time.perf_counter() - t0)
    return best


def time_fold(articles: list[Article]) -> float:
    """textnorm.fold of title and text: what matching would add without match_text."""
    t0 = time.perf_counter()
    for a in articles:
        fold(a.title)
        fold(a.text)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="stop at 10,000 watchlists")
    parser.add_argument("--articles", type=int, default=0, help="articles per measurement")
    parser.add_argument(
        "--sizes",
        default="",
        help="comma-separated watchlist counts to measure instead of the default list, first "
        "one the baseline, e.g. 100,10000,100000 (for iterating; targets need 100 and 10,000)",
    )
    parser.add_argument("--seed", type=int, default=20240501)
    parser.add_argument(
        "--broad-share",
        type=float,
        default=0.01,
        help="share of watchlists that are broad topic queries (one of BROAD_QUERIES), which "
        "match most articles: they set how many matches each article has",
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    sizes = [100, 1_000, 10_000] if args.quick else [100, 1_000, 10_000, 100_000]
    if args.sizes:
        sizes = [int(x) for x in args.sizes.split(",")]
    n_articles = args.articles or (300 if args.quick else 1_000)
    rng = random.Random(args.seed)
    names = make_names(rng, 40_000)
    articles = make_articles(rng, names, n_articles)
    all_watchlists = make_watchlists(rng, names, sizes[-1], args.broad_share)
    avg_chars = sum(len(a.title) + len(a.text) for a in articles) / len(articles)
    doc_s = time_document(articles)
    fold_s = time_fold(articles)
    print(
        f"{len(articles)} articles of ~{avg_chars:.0f} chars; MatchDocument alone: "
        f"{len(articles) / doc_s:,.0f} articles/s; textnorm.fold alone: "
        f"{len(articles) / fold_s:,.0f} articles/s"
    )

    rows = []
    base_cost = None
    for n in sizes:
        watchlists = all_watchlists[:n]
        t0 = time.perf_counter()
        matcher = WatchlistMatcher(watchlists)
        compile_s = time.perf_counter() - t0
        match_s, matched = time_matcher(matcher, articles)
        per_article = match_s / len(articles)
        base_cost = base_cost or per_article
        candidates = sum(
            len(matcher.candidates(MatchDocument.from_article(a))) for a in articles[:100]
        ) / min(100, len(articles))
        row: dict[str, Any] = {
            "watchlists": n,
            "compile_s": round(compile_s, 2),
            "articles_per_s": round(len(articles) / match_s, 1),
            "ms_per_article": round(per_article * 1000, 3),
            "cost_vs_100": round(per_article / base_cost, 2),
            "matches_per_article": round(matched / len(articles), 2),
            "candidates_per_article": round(candidates, 1),
            **{k: v for k, v in matcher.stats.items() if k != "watchlists"},
        }
        row.update(time_phases(matcher, articles))
        bare_s = time_bare_scan(matcher, articles)
        row["bare_scan_articles_per_s"] = round(len(articles) / bare_s, 1)
        row["matcher_vs_bare_scan"] = round(match_s / bare_s, 1)
        if n <= 1_000:
            naive_s, naive_matched = time_naive(watchlists, articles)
            assert naive_matched == matched, (naive_matched, matched)
            row["naive_articles_per_s"] = round(len(articles) / naive_s, 1)
            row["speedup_vs_naive"] = round(naive_s / match_s, 1)
        rows.append(row)
        print(json.dumps(row))

    by_size = {row["watchlists"]: row for row in rows}
    at_100, at_10k, at_100k = (by_size.get(n) for n in (100, 10_000, 100_000))
    result = {
        "command": "python benchmarks/matching.py"
        + (" --quick" if args.quick else "")
        + (f" --sizes {args.sizes}" if args.sizes else "")
        + (f" --articles {args.articles}" if args.articles else "")
        + (f" --broad-share {args.broad_share}" if args.broad_share != 0.01 else ""),
        "broad_share": args.broad_share,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": machine_info(),
        "articles": len(articles),
        "avg_article_chars": round(avg_chars),
        "match_document_articles_per_s": round(len(articles) / doc_s, 1),
        "fold_articles_per_s": round(len(articles) / fold_s, 1),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "rows": rows,
        # issue #8's form of the first target: throughput at 10,000 over throughput at 100
        "throughput_10k_vs_100": (
            round(at_10k["articles_per_s"] / at_100["articles_per_s"], 3)
            if at_100 and at_10k
            else None
        ),
        "targets": {
            "10k_cost_under_2x_100": (
                at_10k["ms_per_article"] < 2 * at_100["ms_per_article"]
                if at_100 and at_10k
                else None
            ),
            "1000_articles_per_s_at_100k": at_100k["articles_per_s"] >= 1000 if at_100k else None,
        },
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"written {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
