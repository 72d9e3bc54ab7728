"""compile_search: the whole search request body (sort, page, highlights, aggregations)."""

from __future__ import annotations

from crawler.query import parse_query
from crawler.query.elasticsearch import TITLE_BOOST, compile_elasticsearch, compile_search

NEWEST = [
    {"published": {"order": "desc", "missing": "_last"}},
    {"fetched": {"order": "desc", "missing": "_last"}},
    {"id": "asc"},
]


def test_relevance_sort_page_and_highlights() -> None:
    body = compile_search(parse_query("city"), offset=40, limit=20)
    assert body["from"] == 40 and body["size"] == 20
    assert body["sort"] == ["_score", *NEWEST]
    assert body["track_total_hits"] is True
    assert body["collapse"] == {"field": "id"}
    assert body["highlight"] == {
        "pre_tags": ["[["],
        "post_tags": ["]]"],
        "require_field_match": True,
        "max_analyzed_offset": 999_999,
        "fields": [{"title": {"number_of_fragments": 0}}, {"text": {"number_of_fragments": 0}}],
    }
    assert "aggs" not in body and "track_scores" not in body


def test_title_clauses_weigh_more_but_match_the_same() -> None:
    body = compile_search(parse_query("city"))
    assert body["query"] == {
        "bool": {
            "should": [
                {"match_phrase": {"title": {"query": "city", "boost": TITLE_BOOST}}},
                {"match_phrase": {"text": {"query": "city"}}},
            ],
            "minimum_should_match": 1,
        }
    }
    prox = compile_elasticsearch(parse_query('title:"sister city"~2'), title_boost=2.0)
    assert prox["span_near"]["boost"] == 2.0
    assert compile_elasticsearch(parse_query("title:cit*"), title_boost=3.0) == {
        "prefix": {"title": {"value": "cit", "boost": 3.0}}
    }


def test_date_sort_keeps_scores() -> None:
    body = compile_search(parse_query("city"), sort="date")
    assert body["sort"] == NEWEST
    assert body["track_scores"] is True


def test_everything_is_newest_first_without_highlights() -> None:
    body = compile_search(None)
    assert body["query"] == {"match_all": {}}
    assert body["sort"] == NEWEST
    assert "highlight" not in body


def test_facets_and_histogram() -> None:
    body = compile_search(parse_query("country:CN"), facets=True, facet_size=5, histogram=True)
    order = [{"_count": "desc"}, {"_key": "asc"}]
    assert body["aggs"]["facet_entity"] == {
        "terms": {"field": "entity_ids", "size": 5, "order": order}
    }
    assert {k: v["terms"]["field"] for k, v in body["aggs"].items() if k != "histogram"} == {
        "facet_source": "source",
        "facet_label": "label",
        "facet_language": "language",
        "facet_event": "events",
        "facet_country": "countries",
        "facet_region": "regions",
        "facet_entity": "entity_ids",
    }
    assert body["aggs"]["histogram"] == {
        "date_histogram": {
            "field": "published",
            "calendar_interval": "day",
            "format": "yyyy-MM-dd",
            "min_doc_count": 1,
            "time_zone": "UTC",
        }
    }


# -- column sorts (the results table) ---------------------------------------------------------


def test_a_column_sort_is_a_sort_clause_on_its_field() -> None:
    from crawler.search.elastic.archive import search_body
    from crawler.search.request import SearchRequest

    def sort_of(**kw: object) -> list[object]:
        request = SearchRequest(query="city", **kw)  # type: ignore[arg-type]
        return list(search_body(request, request.query_tree(), None)["sort"])

    ties = [{"fetched": {"order": "desc", "missing": "_last"}}, {"id": "asc"}]
    newest = {"published": {"order": "desc", "missing": "_last"}}
    assert sort_of(sort="title") == [
        {"title_sort": {"order": "asc", "missing": "_last", "unmapped_type": "keyword"}},
        newest,
        *ties,
    ]
    keyword = {"missing": "_last", "unmapped_type": "keyword"}  # older indices lack the field
    assert sort_of(sort="title", order="desc")[0] == {"title_sort": {"order": "desc", **keyword}}
    assert sort_of(sort="-outlet")[0] == {"outlet_sort": {"order": "desc", **keyword}}
    assert sort_of(sort="domain")[0] == {"relevance": {"order": "desc", "missing": "_last"}}
    assert sort_of(sort="date", order="asc") == [
        {"published": {"order": "asc", "missing": "_last"}},
        *ties,
    ]
    assert sort_of(sort="date") == [newest, *ties]  # as before
    assert sort_of(sort="text")[0] == "_score"
    # by story, the collapse keeps each story's first copy under the column's order
    request = SearchRequest(query="city", sort="title", by_story=True)
    body = search_body(request, request.query_tree(), None)
    assert body["collapse"]["field"] == "story_id"
    assert body["sort"][0] == {"title_sort": {"order": "asc", **keyword}}
    assert body["track_scores"] is True
    assert "function_score" not in body["query"]  # the blend is `best`'s alone


def test_a_search_without_snippets_asks_for_no_highlights() -> None:
    from crawler.search.elastic.archive import search_body
    from crawler.search.request import SearchRequest

    for sort in ("best", "date"):
        request = SearchRequest(query='"sister city"', sort=sort)  # type: ignore[arg-type]
        assert "highlight" in search_body(request, request.query_tree(), None)
        request.snippets = False
        body = search_body(request, request.query_tree(), None)
        assert "highlight" not in body and body["query"]  # the same query, unmarked
