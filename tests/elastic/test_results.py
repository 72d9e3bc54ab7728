"""Mapping Elasticsearch highlights (on the folded index form) back to the original text.

The marked strings are built here the way the unified highlighter marks whole tokens of the
indexed field; the mapping functions are pure, no server is involved.
"""

from __future__ import annotations

import re

import pytest

from crawler.query import parse_query
from crawler.query.elasticsearch import compile_search
from crawler.query.syntax import TOKEN_RE
from crawler.search.elastic import article_document
from crawler.search.elastic.archive import undated_histogram
from crawler.search.elastic.results import (
    hit_from_response,
    index_offsets,
    original_spans,
    result_from_response,
    snippet_from_spans,
)
from crawler.search.snippets import make_snippet
from crawler.textnorm import fold, index_text
from tests.query.corpus import ARTICLES


def marked(original: str, tokens: set[str]) -> str:
    """index_text(original) with every token in `tokens` wrapped in [[ ]]."""
    indexed = index_text(original)
    return TOKEN_RE.sub(
        lambda m: f"[[{m.group(0)}]]" if m.group(0) in tokens else m.group(0), indexed
    )


def test_offsets_map_every_index_character_back() -> None:
    original = "Indiana 與湖北 sign"
    offsets = index_offsets(original)
    indexed = index_text(original)
    assert offsets is not None and len(offsets) == len(indexed)
    for j, ch in enumerate(indexed):
        if ch != " ":
            assert fold(original[offsets[j]]) == ch


def test_latin_words_map_to_the_words_as_written() -> None:
    text = "The Sister-City pact: Québec and QUEBEC city."
    spans = original_spans(text, marked(text, {"sister", "city", "quebec"}))
    assert [text[s:e] for s, e in spans or []] == ["Sister", "City", "Québec", "QUEBEC", "city"]
    assert snippet_from_spans(text, spans or []).startswith("The [[Sister]]-[[City]] pact")


def test_chinese_characters_merge_into_the_phrase_as_written() -> None:
    text = "印第安納州與武漢市締結友好城市。"
    spans = original_spans(text, marked(text, {"武", "汉", "友", "好", "城", "市"}))
    # 市 of 武漢市 touches 武漢: one span; traditional characters are shown as written
    assert [text[s:e] for s, e in spans or []] == ["武漢市", "友好城市"]


def test_markers_in_the_crawled_text_are_not_trusted() -> None:
    text = "A [[forged]] highlight about city ties"
    assert original_spans(text, marked(text, {"city"})) is None
    # the hit falls back to matching the query's terms in the original text
    art = ARTICLES[0]
    art_doc = article_document(art)
    art_doc["article"]["text"] = text
    hit = hit_from_response(
        {"_source": art_doc, "_score": 1.5, "highlight": {"text": [marked(text, {"city"})]}},
        ["city"],
    )
    assert hit.snippet == make_snippet(text, ["city"])[0]
    assert hit.score == 1.5


def test_a_highlight_that_is_not_the_whole_field_falls_back() -> None:
    text = "Sister city ties between Indiana and Hubei"
    assert original_spans(text, "[[sister]] city ties") is None


CITY = re.compile(r"(?<!\w)city(?!\w)")


@pytest.mark.parametrize("article", [a for a in ARTICLES if CITY.search(fold(a.text))][:8])
def test_snippet_window_is_the_embedded_one(article) -> None:  # type: ignore[no-untyped-def]
    text = article.text
    spans = [(m.start(), m.end()) for m in CITY.finditer(fold(text))]
    embedded, _ = make_snippet(text, ["city"])
    assert snippet_from_spans(text, spans) == embedded
    assert original_spans(text, marked(text, {"city"})) == spans


def test_response_to_result_with_facets_and_histogram() -> None:
    art = next(a for a in ARTICLES if a.text and "city" in fold(a.text))
    response = {
        "took": 4,
        "hits": {
            "total": {"value": 31, "relation": "eq"},
            "hits": [
                {
                    "_source": {"article": article_document(art)["article"], "seq": 9},
                    "_score": 2.0,
                    "highlight": {"text": [marked(art.text, {"city"})]},
                }
            ],
        },
        "aggregations": {
            "facet_country": {"buckets": [{"key": "CN", "doc_count": 12}]},
            "facet_label": {"buckets": [{"key": "state_media", "doc_count": 9}]},
            "histogram": {"buckets": [{"key_as_string": "2024-05-01", "doc_count": 3}]},
        },
    }
    result = result_from_response(response, ["city"])
    assert result.total == 31
    (hit,) = result.hits
    assert hit.article.id == art.id and hit.score == 2.0
    assert "[[" in hit.snippet and {h.lower() for h in hit.highlights} <= {"city"}
    assert result.facets == {"country": [("CN", 12)], "label": [("state_media", 9)]}
    assert hit.article.label == art.label != ""
    assert result.histogram == [("2024-05-01", 3)]


def test_undated_articles_count_on_their_fetch_day() -> None:
    """The one date basis (issue 18): the published-day buckets plus the fetch-day buckets of
    the undated matches, as Elasticsearch answers the two aggregations of one request."""
    body = compile_search(parse_query("city"), histogram=True)
    undated = undated_histogram(body["aggs"]["histogram"])
    assert undated["filter"] == {"bool": {"must_not": [{"exists": {"field": "published"}}]}}
    assert undated["aggs"]["days"]["date_histogram"] == {
        **body["aggs"]["histogram"]["date_histogram"],
        "field": "fetched",
    }
    response = {
        "hits": {"total": {"value": 6, "relation": "eq"}, "hits": []},
        "aggregations": {
            "histogram": {
                "buckets": [
                    {"key_as_string": "2024-05-01", "doc_count": 3},
                    {"key_as_string": "2024-05-03", "doc_count": 1},
                ]
            },
            "histogram_undated": {
                "doc_count": 2,
                "days": {
                    "buckets": [
                        {"key_as_string": "2024-05-02", "doc_count": 1},
                        {"key_as_string": "2024-05-03", "doc_count": 1},
                    ]
                },
            },
        },
    }
    result = result_from_response(response, [])
    assert result.histogram == [("2024-05-01", 3), ("2024-05-02", 1), ("2024-05-03", 2)]
