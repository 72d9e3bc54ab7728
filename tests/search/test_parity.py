"""Parity: the embedded archive finds exactly the articles the in-process matcher accepts."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings

from crawler.query import MatchDocument, QueryError, evaluate, parse_query, resolve_aliases
from crawler.search.embedded import EmbeddedArchive
from crawler.search.request import SearchRequest
from tests.query.corpus import ARTICLES, resolve_alias
from tests.query.strategies import queries
from tests.search.parity_queries import PARITY_FILTERS, PARITY_QUERIES

DOCS = [(a.id, MatchDocument.from_article(a)) for a in ARTICLES]


def expected_ids(request: SearchRequest) -> set[str]:
    tree = request.query_tree()
    if tree is None:
        return {a.id for a in ARTICLES}
    tree = resolve_aliases(tree, resolve_alias)
    return {i for i, doc in DOCS if evaluate(tree, doc)}


def found_ids(archive: EmbeddedArchive, request: SearchRequest) -> set[str]:
    request.limit = len(ARTICLES) + 5
    result = archive.search(request)
    ids = [h.article.id for h in result.hits]
    assert len(ids) == len(set(ids)), "an article returned twice"
    assert result.total == len(ids)
    return set(ids)


@pytest.mark.parametrize("text", PARITY_QUERIES)
def test_query_finds_what_the_matcher_accepts(corpus_archive: EmbeddedArchive, text: str) -> None:
    request = SearchRequest(query=text)
    assert found_ids(corpus_archive, request) == expected_ids(request)


@pytest.mark.parametrize(("text", "filters"), PARITY_FILTERS)
def test_filters_find_what_the_matcher_accepts(
    corpus_archive: EmbeddedArchive, text: str, filters: dict[str, Any]
) -> None:
    request = SearchRequest(query=text, **filters)
    assert found_ids(corpus_archive, request) == expected_ids(request)


@pytest.mark.parametrize("sort", ["best", "text", "date"])
def test_parity_holds_for_every_sort(corpus_archive: EmbeddedArchive, sort: str) -> None:
    for text in ('"sister city"', "NOT city", '"友好 协议"~5', "country:CN"):
        request = SearchRequest(query=text, sort=sort)  # type: ignore[arg-type]
        assert found_ids(corpus_archive, request) == expected_ids(request), text


def test_parity_queries_are_not_trivial() -> None:
    # parity over queries that match nothing (or everything) would prove nothing
    sizes = [len(expected_ids(SearchRequest(query=q))) for q in PARITY_QUERIES]
    assert sum(1 for s in sizes if 0 < s < len(ARTICLES)) >= 0.9 * len(PARITY_QUERIES)


@given(queries())
@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_random_queries_parity(corpus_archive: EmbeddedArchive, text: str) -> None:
    try:
        parse_query(text)
    except QueryError:
        assume(False)
    request = SearchRequest(query=text)
    assert found_ids(corpus_archive, request) == expected_ids(request), text
