"""Attention over time on Elasticsearch: the compiled body (no server needed) and, against a
real cluster (WATCHDESK_TEST_ES_URL), the same counts as the embedded archive."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.config import ElasticsearchConfig
from crawler.query import parse_query
from crawler.query.elasticsearch import compile_search
from crawler.search.attention import Interval, StoryCounts
from crawler.search.elastic import ArchiveSync, ElasticsearchArchive
from crawler.search.elastic.attention import (
    DAY_FIELD,
    RUNTIME_MAPPINGS,
    STORY_FIELD,
    counts_from_response,
    story_counts_body,
)
from crawler.search.embedded import EmbeddedArchive
from crawler.search.request import SearchRequest
from crawler.storage import Store
from tests.search.attention_corpus import FIRST, LAST, build_store, expected

ES_URL = os.environ.get("WATCHDESK_TEST_ES_URL", "")


def test_a_date_histogram_with_a_cardinality_of_the_story() -> None:
    request = StoryCounts(SearchRequest(query='"sister city"'), FIRST, LAST, "week")
    body = story_counts_body(request, aliases=None)
    assert body["size"] == 0 and body["track_total_hits"] is False
    agg = body["aggs"]["attention"]
    assert agg["date_histogram"] == {
        "field": DAY_FIELD,
        "calendar_interval": "week",
        "time_zone": "UTC",
        "min_doc_count": 1,
        "format": "yyyy-MM-dd",
    }
    assert agg["aggs"]["stories"]["cardinality"]["field"] == STORY_FIELD == "story_id"
    assert agg["aggs"]["stories"]["cardinality"]["precision_threshold"] == 40_000
    # the query is the one search compiles; the window is whole UTC days, `last` included
    search = compile_search(parse_query('"sister city"'), limit=0, highlight=False)
    assert body["query"]["bool"]["must"] == [search["query"]]
    window = body["query"]["bool"]["filter"][0]["range"][DAY_FIELD]
    assert window == {"gte": "2026-01-31T00:00:00+00:00", "lt": "2026-04-01T00:00:00+00:00"}
    assert body["runtime_mappings"] == RUNTIME_MAPPINGS


def test_the_runtime_fields_state_the_date_basis_and_the_story() -> None:
    day = RUNTIME_MAPPINGS[DAY_FIELD]
    assert day["type"] == "date"
    # published first, fetched for an undated article
    source = day["script"]["source"]
    assert source.index("doc['published']") < source.index("doc['fetched']")
    story = RUNTIME_MAPPINGS[STORY_FIELD]
    assert story["type"] == "keyword"
    assert "doc['cluster_id']" in story["script"]["source"]
    assert "doc['id']" in story["script"]["source"]


def test_filters_and_everything() -> None:
    request = StoryCounts(SearchRequest(sources=["wire"], min_relevance=0.5), FIRST, LAST)
    body = story_counts_body(request, aliases=None)
    assert body["aggs"]["attention"]["date_histogram"]["calendar_interval"] == "day"
    text = str(body["query"])
    assert "'source'" in text and "'wire'" in text and "relevance" in text
    everything = story_counts_body(StoryCounts(SearchRequest(), FIRST, LAST), aliases=None)
    assert everything["query"]["bool"]["must"] == [{"match_all": {}}]


def test_a_search_requests_own_dates_are_not_the_window() -> None:
    dated = SearchRequest(query="city", since=LAST, until=LAST)
    body = story_counts_body(StoryCounts(dated, FIRST, LAST), aliases=None)
    assert "published" not in str(body["query"]["bool"]["must"])


def test_counts_from_a_response() -> None:
    response = {
        "aggregations": {
            "attention": {
                "buckets": [
                    {
                        "key_as_string": "2026-03-30",
                        "key": 0,
                        "doc_count": 7,
                        "stories": {"value": 3},
                    },
                    {
                        "key_as_string": "2026-03-31",
                        "key": 0,
                        "doc_count": 0,
                        "stories": {"value": 0},
                    },
                    {"key": 1775001600000, "doc_count": 2, "stories": {"value": 2}},
                ]
            }
        }
    }
    got = counts_from_response(response)
    assert {d.isoformat(): n for d, n in got.items()} == {"2026-03-30": 3, "2026-04-01": 2}
    assert counts_from_response({}) == {}


# -- against a real cluster ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def stores(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Store, ElasticsearchArchive]]:
    from tests.elastic.test_integration import _cleanup

    folder = Path(tmp_path_factory.mktemp("es-attention"))
    build_store(folder)
    store = Store(folder / "store.db")
    cfg = ElasticsearchConfig(url=ES_URL, index_prefix=f"wdtest-{uuid.uuid4().hex[:8]}", replicas=0)
    arch = ElasticsearchArchive.from_config(cfg)
    try:
        arch.setup()
        assert ArchiveSync(store, arch, batch=50).sync().ok
        arch.refresh()
        yield store, arch
    finally:
        _cleanup(arch)
        arch.close()
        store.close()


@pytest.mark.elasticsearch
@pytest.mark.skipif(
    not ES_URL, reason="no Elasticsearch cluster: set WATCHDESK_TEST_ES_URL=http://host:9200 to run"
)
@pytest.mark.parametrize("interval", ["day", "week"])
def test_the_cluster_counts_what_the_embedded_archive_counts(
    stores: tuple[Store, ElasticsearchArchive], interval: Interval
) -> None:
    store, es = stores
    request = StoryCounts(SearchRequest(query='"sister city"'), FIRST, LAST, interval)
    got = es.story_counts(request)
    assert got == expected("sister city", interval)
    assert got == EmbeddedArchive(store).story_counts(request)
