"""Parity: the embedded archive finds exactly the articles the in-process matcher accepts."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings

from crawler.query import MatchDocument, QueryError, evaluate, parse_query, resolve_aliases
from crawler.search.embedded import EmbeddedArchive
from crawler.search.request import Hit, SearchRequest, outlet_of, sort_key
from tests.query.corpus import ARTICLES, resolve_alias
from tests.query.strategies import extended_queries, queries
from tests.search.parity_queries import (
    FETCHED_QUERIES,
    OPERATOR_QUERIES,
    PARITY_FILTERS,
    PARITY_QUERIES,
)

DOCS = [(a.id, MatchDocument.from_article(a)) for a in ARTICLES]
_STORED: list[tuple[str, MatchDocument]] = []


def expected_ids(request: SearchRequest, archive: EmbeddedArchive | None = None) -> set[str]:
    """What the matcher accepts; with `archive`, over the articles as stored (the store sets
    `fetched`, which `fetched:` ranges read)."""
    tree = request.query_tree()
    if tree is None:
        return {a.id for a in ARTICLES}
    tree = resolve_aliases(tree, resolve_alias)
    docs = DOCS
    if archive is not None:
        if not _STORED:
            for a in ARTICLES:
                stored = archive.get_article(a.id)
                assert stored is not None
                _STORED.append((a.id, MatchDocument.from_article(stored)))
        docs = _STORED
    return {i for i, doc in docs if evaluate(tree, doc)}


def found_ids(archive: EmbeddedArchive, request: SearchRequest) -> set[str]:
    request.limit = len(ARTICLES) + 5
    result = archive.search(request)
    ids = [h.article.id for h in result.hits]
    assert len(ids) == len(set(ids)), "an article returned twice"
    assert result.total == len(ids)
    return set(ids)


@pytest.mark.parametrize("text", PARITY_QUERIES + OPERATOR_QUERIES + FETCHED_QUERIES)
def test_query_finds_what_the_matcher_accepts(corpus_archive: EmbeddedArchive, text: str) -> None:
    request = SearchRequest(query=text)
    assert found_ids(corpus_archive, request) == expected_ids(request, corpus_archive)


@pytest.mark.parametrize(("text", "filters"), PARITY_FILTERS)
def test_filters_find_what_the_matcher_accepts(
    corpus_archive: EmbeddedArchive, text: str, filters: dict[str, Any]
) -> None:
    request = SearchRequest(query=text, **filters)
    assert found_ids(corpus_archive, request) == expected_ids(request)


@pytest.mark.parametrize(
    "sort", ["best", "text", "date", "-date", "title", "-title", "outlet", "domain"]
)
def test_parity_holds_for_every_sort(corpus_archive: EmbeddedArchive, sort: str) -> None:
    order = "asc" if sort == "-date" else None  # "-date" is newest first already: the reverse
    sort = sort.replace("-date", "date")
    for text in ('"sister city"', "NOT city", '"友好 协议"~5', "country:CN"):
        request = SearchRequest(query=text, sort=sort, order=order)  # type: ignore[arg-type]
        assert found_ids(corpus_archive, request) == expected_ids(request), text


@pytest.mark.parametrize("sort", ["title", "-title", "outlet", "domain"])
def test_column_sorts_order_the_hits(corpus_archive: EmbeddedArchive, sort: str) -> None:
    # an exact index answer and a checked one (the proximity clause) alike
    for text in ("city OR 城市", '"友好 协议"~5'):
        request = SearchRequest(query=text, sort=sort, limit=len(ARTICLES))  # type: ignore[arg-type]
        assert_column_order(corpus_archive.search(request).hits, request)


def assert_column_order(hits: list[Hit], request: SearchRequest) -> None:
    """The hits are in the order of the request's column sort (title, outlet or domain)."""
    keys: list[object] = [
        h.article.relevance
        if request.sort == "domain"
        else sort_key(h.article.title if request.sort == "title" else outlet_of(h.article))
        for h in hits
    ]
    # an untitled article has nothing to sort by: it comes last either way
    valued = [k for k in keys if k != ""]
    assert keys == valued + [""] * (len(keys) - len(valued)), (request.query, keys)
    assert valued == sorted(valued, reverse=request.descending), (request.query, keys)  # type: ignore[type-var]


def test_parity_queries_are_not_trivial() -> None:
    # parity over queries that match nothing (or everything) would prove nothing
    listed = PARITY_QUERIES + OPERATOR_QUERIES
    sizes = [len(expected_ids(SearchRequest(query=q))) for q in listed]
    assert sum(1 for s in sizes if 0 < s < len(ARTICLES)) >= 0.9 * len(listed)


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
    assert found_ids(corpus_archive, request) == expected_ids(request, corpus_archive), text


@given(extended_queries())
@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_random_new_operator_queries_parity(corpus_archive: EmbeddedArchive, text: str) -> None:
    try:
        parse_query(text)
    except QueryError:
        assume(False)
    request = SearchRequest(query=text)
    assert found_ids(corpus_archive, request) == expected_ids(request, corpus_archive), text


def test_without_snippets_the_same_hits_come_unmarked(corpus_archive: EmbeddedArchive) -> None:
    marked = corpus_archive.search(SearchRequest(query="city OR 城市", limit=50))
    plain = corpus_archive.search(SearchRequest(query="city OR 城市", limit=50, snippets=False))
    assert [h.article.id for h in plain.hits] == [h.article.id for h in marked.hits]
    assert any("[[" in h.snippet for h in marked.hits)
    assert all(h.snippet == h.title_highlighted == "" and not h.highlights for h in plain.hits)
