"""Boosts (`quick^2`) change the order of search results, never the set (issue 16)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.article import Article
from crawler.query import compile_elasticsearch, parse_query
from crawler.search.embedded import EmbeddedArchive
from crawler.search.request import SearchRequest
from crawler.storage import Store


def _article(n: int, text: str) -> Article:
    url = f"https://boost.example/{n}"
    a = Article(url=url, canonical_url=url, source="s")
    a.title, a.text, a.language = "", text, "en"
    return a


QUICK = _article(1, "the quick report")
FOX = _article(2, "the fox report")


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[EmbeddedArchive]:
    store = Store(tmp_path / "watchdesk.db")
    for a in (QUICK, FOX):
        store.save_article(a)
    arch = EmbeddedArchive(store)
    yield arch
    arch.close()


def _order(archive: EmbeddedArchive, query: str) -> list[str]:
    return [h.article.id for h in archive.search(SearchRequest(query=query)).hits]


def test_a_boost_ranks_its_clause_first(archive: EmbeddedArchive) -> None:
    assert _order(archive, "quick^10 OR fox") == [QUICK.id, FOX.id]
    assert _order(archive, "quick OR fox^10") == [FOX.id, QUICK.id]


def test_a_boost_never_changes_the_set(archive: EmbeddedArchive) -> None:
    assert set(_order(archive, "quick^10 OR fox")) == set(_order(archive, "quick OR fox"))
    assert _order(archive, "quick^0.1") == [QUICK.id]


def test_the_elasticsearch_query_carries_the_boost() -> None:
    dsl = compile_elasticsearch(parse_query("text:quick^2"))
    assert dsl == {"match_phrase": {"text": {"query": "quick", "boost": 2.0}}}
