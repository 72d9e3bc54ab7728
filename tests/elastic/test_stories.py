"""Search by story compiled for Elasticsearch: field collapsing on `story_id` with the copies
as `inner_hits`, stories counted by `cardinality` (no server: the body and the reading of a
response shaped as Elasticsearch documents it; the real cluster is test_integration.py)."""

from __future__ import annotations

from typing import Any

from crawler.search.elastic import article_document
from crawler.search.elastic.archive import search_body
from crawler.search.elastic.results import result_from_response
from crawler.search.request import COPIES_SHOWN, SearchRequest
from tests.search.test_stories import COPIES, LEAD, OTHER


def _body(**kw: Any) -> dict[str, Any]:
    request = SearchRequest(query='"sister city"', **kw)
    return search_body(request, request.query_tree(), None)


def test_by_story_collapses_on_the_story_and_counts_stories() -> None:
    body = _body(by_story=True, facets=True)
    assert body["collapse"] == {
        "field": "story_id",
        "inner_hits": {
            "name": "copies",
            "size": COPIES_SHOWN + 1,
            "sort": [{"published": {"order": "asc", "missing": "_last"}}, {"id": "asc"}],
            "_source": {"includes": ["article"]},
            "collapse": {"field": "id"},
        },
    }
    assert body["aggs"]["stories"] == {"cardinality": {"field": "story_id"}}
    country = body["aggs"]["facet_country"]
    assert country["aggs"] == {"stories": {"cardinality": {"field": "story_id"}}}
    assert country["terms"]["order"] == [{"stories": "desc"}, {"_key": "asc"}]
    # the ranking is the request's own: the top hit of each story under it stands for it
    assert body["sort"] == _body()["sort"]
    assert "function_score" in body["query"]


def test_by_story_the_histogram_counts_stories_per_day() -> None:
    body = _body(by_story=True, histogram=True)
    stories = {"stories": {"cardinality": {"field": "story_id"}}}
    assert body["aggs"]["histogram"]["aggs"] == stories
    assert body["aggs"]["histogram_undated"]["aggs"]["days"]["aggs"] == stories
    assert "aggs" not in _body(histogram=True)["aggs"]["histogram"]
    day = {"key_as_string": "2026-05-01", "doc_count": 3, "stories": {"value": 2}}
    undated = {"key_as_string": "2026-05-02", "doc_count": 2, "stories": {"value": 1}}
    response = {
        "hits": {"total": {"value": 5, "relation": "eq"}, "hits": []},
        "aggregations": {
            "stories": {"value": 3},
            "histogram": {"buckets": [day]},
            "histogram_undated": {"doc_count": 2, "days": {"buckets": [undated]}},
        },
    }
    result = result_from_response(response, [], by_story=True)
    assert result.histogram == [("2026-05-01", 2), ("2026-05-02", 1)]
    assert result_from_response(response, []).histogram == [("2026-05-01", 3), ("2026-05-02", 2)]


def test_with_copies_hits_are_articles() -> None:
    body = _body(facets=True)
    assert body["collapse"] == {"field": "id"}
    assert "stories" not in body["aggs"]
    assert "aggs" not in body["aggs"]["facet_country"]


def test_every_document_has_a_story_id() -> None:
    assert article_document(LEAD)["story_id"] == LEAD.id  # never clustered: its own story
    assert article_document(COPIES[0])["story_id"] == LEAD.id


def _raw(article: Any, score: float) -> dict[str, Any]:
    return {"_id": article.id, "_score": score, "_source": article_document(article)}


def test_a_collapsed_response_reads_as_stories_with_copies() -> None:
    lead = _raw(LEAD, 3.0)
    lead["inner_hits"] = {
        "copies": {
            "hits": {
                "total": {"value": 3, "relation": "eq"},
                "hits": [_raw(LEAD, 3.0), _raw(COPIES[0], 2.9), _raw(COPIES[1], 2.9)],
            }
        }
    }
    other = _raw(OTHER, 1.0)
    other["inner_hits"] = {
        "copies": {"hits": {"total": {"value": 1, "relation": "eq"}, "hits": [_raw(OTHER, 1.0)]}}
    }
    response = {
        "hits": {"total": {"value": 4, "relation": "eq"}, "hits": [lead, other]},
        "aggregations": {
            "stories": {"value": 2},
            "facet_country": {
                "buckets": [
                    {"key": "CN", "doc_count": 3, "stories": {"value": 1}},
                    {"key": "TW", "doc_count": 1, "stories": {"value": 1}},
                ]
            },
        },
    }
    result = result_from_response(response, ["sister", "city"], by_story=True)
    assert (result.total, result.articles) == (2, 4)
    story, single = result.hits
    assert story.copy_count == 2 and [c.id for c in story.copies] == [c.id for c in COPIES]
    assert single.copy_count == 0 and single.copies == []
    assert result.facets["country"] == [("CN", 1), ("TW", 1)]
