"""Facet counts of very large result sets are estimated from a sample, and say so."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.synthetic import build_store
from crawler.search import tantivy_index as search_index
from crawler.search.embedded import EmbeddedArchive, Fts5Search
from crawler.search.request import SearchRequest
from crawler.storage import Store

ARTICLES = 1_200


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path: Path = tmp_path_factory.mktemp("sample") / "s.db"
    with build_store(path, ARTICLES) as built:
        yield built


def request(query: str) -> SearchRequest:
    return SearchRequest(query=query, limit=5, facets=True, histogram=True)


def test_small_results_are_counted_exactly(store: Store) -> None:
    archive = EmbeddedArchive(store)
    exact = Fts5Search(store).search(request("delegation"))
    got = archive.search(request("delegation"))
    assert got.facet_sample == 1.0
    assert got.total == exact.total
    for name in ("source", "country", "event"):
        assert dict(got.facets[name]) == dict(exact.facets[name])


def test_large_results_are_estimated_from_a_stable_sample(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = EmbeddedArchive(store)
    exact = archive.search(request(""))
    assert exact.facet_sample == 1.0 and exact.total == ARTICLES
    # every article is on the histogram: undated ones on the day they were fetched (issue 18)
    dated = ARTICLES
    assert sum(n for _, n in exact.histogram) == dated
    # as if 1,200 articles were a result too large to count: a sample of ~300
    monkeypatch.setattr(search_index, "FACET_SAMPLE_ABOVE", 500)
    monkeypatch.setattr(search_index, "FACET_SAMPLE_SIZE", 300)
    got = archive.search(request(""))
    assert got.total == ARTICLES  # the total is always exact
    assert got.facet_sample == search_index.sample_buckets(ARTICLES) / 64 < 0.5
    assert [h.article.id for h in got.hits] == [h.article.id for h in exact.hits]
    assert archive.search(request("")).facets == got.facets  # same sample every time
    # every value holding a tenth of the articles is estimated within 35 % (n ≈ 300)
    for name in ("language", "country", "event"):
        estimated = dict(got.facets[name])
        for value, count in exact.facets[name]:
            if count >= ARTICLES / 10:
                assert estimated[value] == pytest.approx(count, rel=0.35), (name, value)
    assert sum(n for _, n in got.histogram) == pytest.approx(dated, rel=0.25)


def test_every_bucket_is_used(store: Store) -> None:
    rows = store.execute("SELECT id FROM articles")
    buckets = {search_index.sample_bucket(r[0]) for r in rows}
    assert buckets == set(range(search_index.SAMPLE_BUCKETS))
    assert search_index.sample_buckets(search_index.FACET_SAMPLE_ABOVE) == 64
    assert search_index.sample_buckets(10**9) == 1


def test_a_histogram_alone_is_always_exact(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """The watchlists page asks only for days: those counts stay exact at any size."""
    archive = EmbeddedArchive(store)
    days = SearchRequest(query="", limit=1, histogram=True)
    exact = archive.search(days)
    monkeypatch.setattr(search_index, "FACET_SAMPLE_ABOVE", 10)
    got = archive.search(days)
    assert got.facet_sample == 1.0 and got.histogram == exact.histogram
