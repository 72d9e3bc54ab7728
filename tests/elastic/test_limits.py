"""The cluster's limits, kept by the compiled bodies and the shipped templates (no cluster).

Each test checks the property one hardening fix guarantees (issue 15), against the numbers and
shapes of the elasticsearch-specification (branches 8.19, 9.0, 9.1 and main, read at commit
9d9b9a5) and the Elasticsearch reference; `test_integration.py` runs the same fixes on a real
cluster when WATCHDESK_TEST_ES_URL is set.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pytest
from hypothesis import assume, given, settings

from crawler.config import ElasticsearchConfig
from crawler.query import QueryError, parse_query
from crawler.query.elasticsearch import (
    CLUSTER_MIN_CLAUSES,
    HIGHLIGHT_FIELDS,
    HIGHLIGHT_INDEX_MAX_ANALYZED_OFFSET,
    HIGHLIGHT_MAX_ANALYZED_OFFSET,
    INDEX_PREFIX_MAX_CHARS,
    INDEX_PREFIX_MIN_CHARS,
    SPAN_PREFIX_TERMS,
    compile_elasticsearch,
    compile_search,
)
from crawler.search.elastic import article_document, render_resources
from crawler.search.elastic.archive import keep_fixed_parameters
from crawler.search.elastic.results import hit_from_response
from crawler.textnorm import index_text
from tests.elastic.helpers import mapped_fields
from tests.query.corpus import ARTICLES, resolve_alias
from tests.query.strategies import queries

RES = render_resources(ElasticsearchConfig(url="http://127.0.0.1:9200"))
FIELDS = mapped_fields(RES.mappings_component["template"]["mappings"])

# -- 1. phrase prefixes: a bounded number of clauses -----------------------------------------


def clause_bound(node: Any) -> float:
    """The most clauses Lucene can rewrite a compiled query to: one per term-level leaf, N per
    span prefix rewritten `top_terms_*_N`, unbounded (inf) for a span prefix without one."""
    if isinstance(node, list):
        return sum(clause_bound(item) for item in node)
    if not isinstance(node, dict):
        return 0
    total: float = 0
    for key, value in node.items():
        if key == "span_multi":
            (spec,) = value["match"]["prefix"].values()
            rewrite = spec.get("rewrite", "")
            bounded = rewrite.startswith("top_terms_")
            total += int(rewrite.rsplit("_", 1)[1]) if bounded else math.inf
        elif key in ("span_term", "match_phrase", "term", "terms", "prefix", "wildcard", "fuzzy"):
            total += 1  # a term, or a multi-term query Elasticsearch rewrites to a bitset
        else:
            total += clause_bound(value)
    return total


@pytest.mark.parametrize(
    "text",
    [
        '"sister c*"',
        'title:"sister c*"',
        '"sister c*" OR "twin t*" OR "friendship ci*"',
        '"sister c*" AND NOT "trade d*"',
        "text:cit*",
    ],
)
def test_phrase_prefixes_have_a_bounded_clause_count(text: str) -> None:
    query = compile_elasticsearch(parse_query(text), aliases=resolve_alias)
    assert clause_bound(query) <= CLUSTER_MIN_CLAUSES


def test_a_phrase_prefix_shares_the_budget_between_title_and_text() -> None:
    query = compile_elasticsearch(parse_query('"sister c*"'))
    title, text = query["bool"]["should"]
    for clause, field in ((title, "title"), (text, "text")):
        prefix = clause["span_near"]["clauses"][-1]["span_multi"]["match"]["prefix"][field]
        assert prefix == {"value": "c", "rewrite": f"top_terms_boost_{SPAN_PREFIX_TERMS // 2}"}


@given(queries())
@settings(max_examples=200, deadline=None)
def test_no_random_query_expands_without_bound(text: str) -> None:
    try:
        query = compile_elasticsearch(parse_query(text), aliases=resolve_alias)
    except QueryError:
        assume(False)
    spans = _span_prefix_bounds(query)
    assert sum(spans) <= max(SPAN_PREFIX_TERMS, len(spans))
    assert clause_bound(query) < math.inf


def _span_prefix_bounds(node: Any) -> list[int]:
    if isinstance(node, list):
        return [n for item in node for n in _span_prefix_bounds(item)]
    if not isinstance(node, dict):
        return []
    out: list[int] = []
    for key, value in node.items():
        if key == "span_multi":
            (spec,) = value["match"]["prefix"].values()
            out.append(int(spec["rewrite"].removeprefix("top_terms_boost_")))
        else:
            out += _span_prefix_bounds(value)
    return out


def test_title_and_text_index_their_short_prefixes() -> None:
    # TextIndexPrefixes (9.0 types both as required); the reference bounds them:
    # min_chars > 0, max_chars < 20, min_chars <= max_chars
    for name in ("title", "text"):
        prefixes = FIELDS[name]["index_prefixes"]
        assert prefixes["min_chars"] == INDEX_PREFIX_MIN_CHARS
        assert prefixes["max_chars"] == INDEX_PREFIX_MAX_CHARS
        assert 0 < prefixes["min_chars"] <= prefixes["max_chars"] < 20
    # the shortest stem a query can end in is one character (a Chinese character, "c*")
    assert INDEX_PREFIX_MIN_CHARS == 1


def test_setup_adds_what_an_older_index_can_take_in_place() -> None:
    # an index created before index_prefixes and ignore_above, as get_mapping returns it
    older = {
        "title": {"type": "text", "analyzer": "watchdesk_text", "index_phrases": True},
        "source": {"type": "keyword"},
        "entities": {"properties": {"id": {"type": "keyword"}}},
    }
    new = RES.mappings_component["template"]["mappings"]["properties"]
    sent = keep_fixed_parameters(new, older)
    # index_prefixes cannot be added to an existing field: it waits for the next rollover
    assert "index_prefixes" not in sent["title"]
    assert sent["title"]["index_phrases"] is True and sent["title"]["fields"]
    # ignore_above is updatable in place, and new fields are added whole
    assert sent["source"] == {"type": "keyword", "ignore_above": 8191}
    assert sent["entities"]["properties"]["id"]["ignore_above"] == 8191
    assert sent["text"] == new["text"]
    # an index created from the new template keeps what it has
    assert keep_fixed_parameters(new, new) == new


# -- 2. highlighting a long text never fails the search ---------------------------------------


def test_highlight_analyses_no_more_than_the_index_allows() -> None:
    body = compile_search(parse_query("city"))
    offset = body["highlight"]["max_analyzed_offset"]
    index = RES.articles_template["template"]["settings"]["index"]
    assert index["highlight"]["max_analyzed_offset"] == HIGHLIGHT_INDEX_MAX_ANALYZED_OFFSET
    # positive (0 and values below -1 are refused) and not above the index setting, which
    # is what lets Elasticsearch cut instead of failing
    assert 0 < offset == HIGHLIGHT_MAX_ANALYZED_OFFSET < HIGHLIGHT_INDEX_MAX_ANALYZED_OFFSET
    assert isinstance(offset, int)


def _long_hit(marked_head: bool) -> dict[str, Any]:
    """A hit whose text passes the highlight limit, its only match beyond it."""
    article = dataclasses.replace(ARTICLES[0])
    filler = "word " * (HIGHLIGHT_MAX_ANALYZED_OFFSET // 5 + 10)
    article.text = filler + "the sister city delegation"
    folded = index_text(article.text)
    # what the highlighter gives back: the whole field, marks only in the analysed part
    marked = ("[[word]] " + folded[5:]) if marked_head else folded
    return {
        "_id": article.id,
        "_score": 1.0,
        "_source": {"article": article_document(article)["article"]},
        "highlight": {"text": [marked]},
    }


def test_a_match_past_the_highlight_limit_still_gets_its_snippet() -> None:
    hit = hit_from_response(_long_hit(marked_head=False), ["sister city"])
    assert "[[sister city]]" in hit.snippet
    assert hit.highlights == ["sister city"]


def test_marks_inside_the_limit_are_used_as_they_are() -> None:
    hit = hit_from_response(_long_hit(marked_head=True), ["sister city"])
    assert hit.snippet.startswith("[[word]]")


# -- 5. highlight.fields in the form the 9.1+ specification types ------------------------------

# specification/_global/search/_types/highlighting.ts (9.1, main): the properties of
# HighlightBase, of Highlight (encoder, fields) and of HighlightField (fragment_offset,
# matched_fields).
HIGHLIGHT_BASE = {
    "type",
    "boundary_chars",
    "boundary_max_scan",
    "boundary_scanner",
    "boundary_scanner_locale",
    "force_source",
    "fragmenter",
    "fragment_size",
    "highlight_filter",
    "highlight_query",
    "max_fragment_length",
    "max_analyzed_offset",
    "no_match_size",
    "number_of_fragments",
    "options",
    "order",
    "phrase_limit",
    "post_tags",
    "pre_tags",
    "require_field_match",
    "tags_schema",
}
HIGHLIGHT_KEYS = HIGHLIGHT_BASE | {"encoder", "fields"}
HIGHLIGHT_FIELD_KEYS = HIGHLIGHT_BASE | {"fragment_offset", "matched_fields"}


def parse_highlight(highlight: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Read a highlight as the 9.1+ types do: `fields` is a SingleKeyDictionary<Field,
    HighlightField> or an array of them; anything else raises ValueError."""
    unknown = set(highlight) - HIGHLIGHT_KEYS
    if unknown:
        raise ValueError(f"unknown highlight properties {sorted(unknown)}")
    fields = highlight["fields"]
    items = fields if isinstance(fields, list) else [fields]
    out: list[tuple[str, dict[str, Any]]] = []
    for item in items:
        if not isinstance(item, dict) or len(item) != 1:
            raise ValueError(f"not a single-key dictionary: {item!r}")
        ((name, spec),) = item.items()
        if not isinstance(spec, dict) or set(spec) - HIGHLIGHT_FIELD_KEYS:
            raise ValueError(f"{name}: not a HighlightField: {spec!r}")
        out.append((name, spec))
    return out


def test_highlight_fields_are_an_array_of_single_key_objects() -> None:
    body = compile_search(parse_query('"sister city"'))
    fields = body["highlight"]["fields"]
    assert isinstance(fields, list)
    parsed = parse_highlight(body["highlight"])
    assert [name for name, _ in parsed] == list(HIGHLIGHT_FIELDS) == ["title", "text"]
    assert all(spec == {"number_of_fragments": 0} for _, spec in parsed)
    assert all(name in FIELDS for name, _ in parsed)


def test_the_spec_reader_refuses_the_two_key_object_form() -> None:
    # what the compiler sent before: one object with two keys, which 9.1+ types refuse
    with pytest.raises(ValueError, match="single-key"):
        parse_highlight({"fields": {"title": {}, "text": {}}})


# -- 3. keyword values past Lucene's term limit ----------------------------------------------

LUCENE_MAX_TERM_BYTES = 32_766


@pytest.mark.parametrize(
    "mappings",
    [
        RES.mappings_component["template"]["mappings"],
        RES.watchlists_template["template"]["mappings"],
    ],
    ids=["articles", "watchlists"],
)
def test_every_keyword_is_bounded_below_the_term_limit(mappings: dict[str, Any]) -> None:
    keywords = {p: m for p, m in mapped_fields(mappings).items() if m.get("type") == "keyword"}
    assert keywords
    for path, mapping in keywords.items():
        # a UTF-8 character is at most 4 bytes
        assert 0 < mapping.get("ignore_above", math.inf) * 4 <= LUCENE_MAX_TERM_BYTES, path
