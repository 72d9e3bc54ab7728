"""The conformance suite (issue 16): 200+ query strings from outside the project.

Every accepted string is run, on documents generated from its own words, through the
in-process matcher (against the meaning its source gives it, or the documented watchdesk
reading), the embedded tantivy index and, where the Elasticsearch emulator is installed, the
compiled Elasticsearch query; every rejected one must fail with a message at its position.
`python -m tests.query.test_conformance` prints the issue's table.
"""

from __future__ import annotations

import random
import re
import zlib
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawler.article import Article
from crawler.config import ElasticsearchConfig
from crawler.query import MatchDocument, QueryError, compile_elasticsearch, evaluate, parse_query
from crawler.query.syntax import Near, Pattern, Text, walk
from crawler.search.elastic import ArchiveSync, ElasticsearchArchive
from crawler.search.embedded import EmbeddedArchive
from crawler.search.request import SearchRequest
from crawler.storage import Store
from tests.elastic.test_emulator import emulator_url
from tests.query.conformance import CASES, Case

__all__ = ["emulator_url"]  # the emulator fixture, shared with tests/elastic

DOCS_PER_CASE = 24
NOW = datetime.now(UTC).replace(microsecond=0)
REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "queries.md"


def _expansions(pattern: Pattern, rng: random.Random) -> list[str]:
    if pattern.kind == "fuzzy":
        w = pattern.value
        out = [w, w[1:], w[:-1] + "q", w + "s"]
        if len(w) > 2:
            out.append(w[1] + w[0] + w[2:])
            out.append(w[:1] + "zz" + w[3:])
        return out
    out = []
    for _ in range(4):
        word = ""
        for ch in pattern.value:
            if ch == "?":
                word += rng.choice("aeiou")
            elif ch == "*":
                word += rng.choice(["", "a", "iz", "ing"])
            else:
                word += ch
        out.append(word)
    return out


FILLER = ["the", "and", "news", "zebra", "kilometre", "xylophone"]


def vocabulary(case: Case, rng: random.Random) -> tuple[list[str], list[str]]:
    """(words, phrases) of the query and its meaning: each clause's words as written, and
    near misses (a prefix's longer words, a fuzzy word's neighbours, a wildcard's fillings, a
    word with one more letter)."""
    words: list[str] = []
    phrases: list[str] = []
    for text in (case.query, case.meaning or ""):
        try:
            tree = parse_query(text)
        except QueryError:
            continue
        for node in walk(tree):
            texts = node.left + node.right if isinstance(node, Near) else (node,)
            for leaf in texts:
                if isinstance(leaf, Text):
                    tokens = [t.lower() for t in leaf.tokens]
                    phrases.append(" ".join(tokens))
                    for t in tokens:
                        words += [t, t + "s"]
                    if leaf.prefix:
                        words += [tokens[-1] + "ing", tokens[-1] + "e"]
                        phrases.append(" ".join(tokens[:-1] + [tokens[-1] + "ing"]))
                elif isinstance(leaf, Pattern):
                    found = _expansions(leaf, rng)
                    words += found
                    phrases += found[:2]
    return sorted(set(words)), sorted(set(phrases))


def _draw(rng: random.Random, words: list[str], phrases: list[str], missing: int | None) -> str:
    """Phrases and words in random order: every phrase but `missing` of them (a random share
    when None), and a few other words."""
    if missing is None:
        items = rng.sample(phrases, rng.randint(0, len(phrases)))
    else:
        items = rng.sample(phrases, max(0, len(phrases) - missing))
    items += [rng.choice(words + FILLER) for _ in range(rng.randint(0, 3))]
    rng.shuffle(items)
    return " ".join(items)


def documents(index: int, case: Case) -> list[Article]:
    """Documents made of the query's own phrases and words: some hold every phrase, some a
    random share, in random order with other words between, in the title or the text."""
    rng = random.Random(zlib.crc32(case.query.encode()))
    words, phrases = vocabulary(case, rng)
    days = [None, NOW - timedelta(days=2), NOW - timedelta(days=9), NOW - timedelta(hours=3)]
    out = []
    for n in range(DOCS_PER_CASE):
        text = _draw(rng, words, phrases, n % 4 if n % 4 < 3 else None)
        title = _draw(rng, words, rng.sample(phrases, min(1, len(phrases))), None)
        url = f"https://conformance.example/{index}/{n}"
        article = Article(url=url, canonical_url=url, source=f"case{index}")
        article.title, article.text = title.capitalize(), text if n % 6 else ""
        article.published = rng.choice(days)
        article.fetched = rng.choice(days[1:])  # set, or the store would stamp it with now
        article.relevance = rng.choice([0.1, 0.5, 0.9])
        article.language = rng.choice(["en", None])
        article.countries = rng.sample(["CN", "US", "TW"], rng.randint(0, 2))
        article.events = rng.sample(["sister_city", "delegation", "agreement"], rng.randint(0, 2))
        article.label = ("state_media", "wire", "")[n % 3]  # no draw: the others stay as they were
        out.append(article)
    return out


ACCEPTED = [(i, c) for i, c in enumerate(CASES) if c.outcome != "rejected"]
DOCUMENTS = {i: documents(i, c) for i, c in ACCEPTED}


def _ids(case: Case) -> str:
    return re.sub(r"\s+", " ", case.query)[:60]


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedArchive]:
    store = Store(tmp_path_factory.mktemp("conformance") / "watchdesk.db")
    for articles in DOCUMENTS.values():
        for article in articles:
            store.save_article(article)
    arch = EmbeddedArchive(store)
    yield arch
    arch.close()


@pytest.fixture(scope="module")
def es_archive(
    emulator_url: str, archive: EmbeddedArchive, tmp_path_factory: pytest.TempPathFactory
) -> ElasticsearchArchive:
    """The same documents in the Elasticsearch emulator (skipped where it is not installed)."""
    cfg = ElasticsearchConfig(url=emulator_url, index_prefix="conformance", replicas=0)
    arch = ElasticsearchArchive.from_config(cfg)
    arch.setup(with_ilm=False)
    report = ArchiveSync(archive.store, arch, batch=500).sync()
    assert report.ok and report.backlog == 0
    arch.refresh()
    return arch


def matched(query: str, articles: list[Article]) -> set[str]:
    tree = parse_query(query)
    return {a.id for a in articles if evaluate(tree, MatchDocument.from_article(a))}


def test_the_suite_is_large_and_sourced() -> None:
    assert len(CASES) >= 200
    assert len({c.query for c in CASES}) == len(CASES), "a string listed twice"
    assert all(c.source for c in CASES)


@pytest.mark.parametrize("case", [c for c in CASES if c.outcome == "rejected"], ids=_ids)
def test_rejected_with_a_message_at_its_position(case: Case) -> None:
    with pytest.raises(QueryError) as exc:
        parse_query(case.query)
    assert exc.value.position == case.position
    assert len(exc.value.message) > 10


@pytest.mark.parametrize(("index", "case"), ACCEPTED, ids=[_ids(c) for _, c in ACCEPTED])
def test_accepted_with_the_stated_meaning(archive: EmbeddedArchive, index: int, case: Case) -> None:
    assert case.meaning is not None
    articles = DOCUMENTS[index]
    want = matched(case.meaning, articles)
    assert matched(case.query, articles) == want, "the matcher reads it otherwise"
    request = SearchRequest(query=case.query, sources=[f"case{index}"], limit=DOCS_PER_CASE + 1)
    found = {h.article.id for h in archive.search(request).hits}
    assert found == want, "the embedded index reads it otherwise"


@pytest.mark.parametrize(("index", "case"), ACCEPTED, ids=[_ids(c) for _, c in ACCEPTED])
def test_the_elasticsearch_query_means_the_same(
    es_archive: ElasticsearchArchive, index: int, case: Case
) -> None:
    assert case.meaning is not None
    articles = DOCUMENTS[index]
    query = {
        "bool": {
            "must": [compile_elasticsearch(parse_query(case.query))],
            "filter": [{"term": {"source": f"case{index}"}}],
        }
    }
    resp = es_archive.client.search(
        index=es_archive.names.read_alias, query=query, size=DOCS_PER_CASE + 1, source=False
    )
    assert {h["_id"] for h in resp["hits"]["hits"]} == matched(case.meaning, articles)


def test_documented_differences_name_a_section_of_the_reference() -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    headings = {line.lstrip("#").strip() for line in text.splitlines() if line.startswith("#")}
    for case in CASES:
        if case.outcome == "differs":
            assert case.section in headings, case.section


def test_meanings_are_not_trivial() -> None:
    # a meaning true (or false) on every generated document would check nothing
    sizes = [
        len(matched(c.meaning or "", DOCUMENTS[i]))
        for i, c in ACCEPTED
        if "_exists_" not in c.query
    ]
    trivial = sum(1 for s in sizes if s in (0, DOCS_PER_CASE))
    assert trivial <= 0.1 * len(sizes)


def table() -> dict[str, int]:
    """The issue's table over the suite (the fourth row is what the tests forbid)."""
    counts = Counter(c.outcome for c in CASES)
    return {
        "accepted with the same meaning": counts["same"],
        "accepted with a documented difference": counts["differs"],
        "rejected with a message": counts["rejected"],
        "accepted with an undocumented different meaning": 0,
    }


if __name__ == "__main__":
    for label, count in table().items():
        print(f"| {label} | {count} |")
    print(f"| total | {len(CASES)} |")
