"""compile_elasticsearch: the Query DSL for representative queries (no cluster needed)."""

from __future__ import annotations

from typing import Any

from hypothesis import assume, given, settings

from crawler.query import (
    ES_FIELDS,
    ES_TEXT_ANALYSIS,
    QueryError,
    compile_elasticsearch,
    parse_query,
)
from tests.query.corpus import resolve_alias
from tests.query.strategies import queries


def es(text: str) -> dict[str, Any]:
    return compile_elasticsearch(parse_query(text), aliases=resolve_alias)


def both(clause_title: dict[str, Any], clause_text: dict[str, Any]) -> dict[str, Any]:
    return {"bool": {"should": [clause_title, clause_text], "minimum_should_match": 1}}


def test_word_and_phrase_search_title_or_text() -> None:
    assert es("City") == both(
        {"match_phrase": {"title": {"query": "city"}}},
        {"match_phrase": {"text": {"query": "city"}}},
    )
    assert es('title:"Sister City"') == {"match_phrase": {"title": {"query": "sister city"}}}


def test_chinese_phrase_is_a_phrase_of_characters() -> None:
    assert es("text:友好城市") == {"match_phrase": {"text": {"query": "友 好 城 市"}}}


def test_prefix() -> None:
    assert es("title:cit*") == {"prefix": {"title": {"value": "cit"}}}
    assert es('text:"sister cit*"') == {
        "span_near": {
            "clauses": [
                {"span_term": {"text": "sister"}},
                {
                    "span_multi": {
                        "match": {
                            "prefix": {"text": {"value": "cit", "rewrite": "top_terms_boost_512"}}
                        }
                    }
                },
            ],
            "slop": 0,
            "in_order": True,
        }
    }


def test_proximity_is_unordered_span_near() -> None:
    assert es('text:"sister city"~3') == {
        "span_near": {
            "clauses": [{"span_term": {"text": "sister"}}, {"span_term": {"text": "city"}}],
            "slop": 3,
            "in_order": False,
        }
    }


def test_boolean_structure() -> None:
    assert es('"sister city" AND country:cn AND NOT event:termination') == {
        "bool": {
            "must": [
                both(
                    {"match_phrase": {"title": {"query": "sister city"}}},
                    {"match_phrase": {"text": {"query": "sister city"}}},
                )
            ],
            "filter": [{"term": {"countries": "CN"}}],
            "must_not": [{"term": {"events": "termination"}}],
        }
    }
    assert es("title:a OR title:b") == {
        "bool": {
            "should": [
                {"match_phrase": {"title": {"query": "a"}}},
                {"match_phrase": {"title": {"query": "b"}}},
            ],
            "minimum_should_match": 1,
        }
    }
    assert es("NOT language:EN") == {"bool": {"must_not": [{"term": {"language": "en"}}]}}


def test_entities_match_ids_or_names_with_aliases() -> None:
    values = ["对外友协", "org:cpaffc"]
    assert es("entity:对外友协") == {
        "bool": {
            "should": [{"terms": {"entity_ids": values}}, {"terms": {"entity_names": values}}],
            "minimum_should_match": 1,
        }
    }
    assert es('place:"Hong Kong"')["bool"]["should"][0] == {
        "terms": {"place_ids": ["Hong Kong", "hong kong"]}
    }
    assert es("region:Québec") == {"term": {"regions": "quebec"}}
    assert es("source:VOA") == {"term": {"source": "VOA"}}
    assert es("label:STATE_MEDIA") == {"term": {"label": "state_media"}}
    assert es("label:(wire OR official)") == {
        "bool": {
            "should": [{"term": {"label": "wire"}}, {"term": {"label": "official"}}],
            "minimum_should_match": 1,
        }
    }


def test_ranges() -> None:
    assert es("relevance:>=0.5") == {"range": {"relevance": {"gte": 0.5}}}
    assert es("relevance:{0.3 TO 1]") == {"range": {"relevance": {"gt": 0.3, "lte": 1.0}}}
    # whole UTC days as explicit half-open bounds
    assert es("published:[2024-01-01 TO 2024-01-31]") == {
        "range": {"published": {"gte": "2024-01-01", "lt": "2024-02-01", "format": "strict_date"}}
    }
    assert es("published:>2024-01-01") == {
        "range": {"published": {"gte": "2024-01-02", "format": "strict_date"}}
    }
    assert es("published:[* TO *]") == {"exists": {"field": "published"}}


def _fields_used(node: Any) -> set[str]:
    out: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("match_phrase", "prefix", "span_term", "term", "terms", "range"):
                out |= set(value)
            elif key == "exists":
                out.add(value["field"])
            out |= _fields_used(value)
    elif isinstance(node, list):
        for item in node:
            out |= _fields_used(item)
    return out


@given(queries())
@settings(max_examples=150, deadline=None)
def test_every_field_used_is_declared(text: str) -> None:
    try:
        dsl = es(text)
    except QueryError:
        assume(False)
    assert _fields_used(dsl) <= set(ES_FIELDS)


def test_field_types() -> None:
    # the case-kept copies serve `case:` terms (issue 17)
    texts = {"title", "text", "title_cased", "text_cased"}
    assert {k for k, v in ES_FIELDS.items() if v == "text"} == texts
    assert ES_FIELDS["relevance"] == "float" and ES_FIELDS["published"] == "date"
    assert ES_TEXT_ANALYSIS["analyzer"]["watchdesk_text"]["tokenizer"] == "watchdesk_tokens"
