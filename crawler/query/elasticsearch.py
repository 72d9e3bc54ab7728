"""Compile a query to an Elasticsearch Query DSL `query` object, meaning what `evaluate` means.

The compiled queries assume the index holds articles the way the embedded store does: see
`ES_FIELDS` and `ES_TEXT_ANALYSIS`, which the index template must use. Nothing here talks to a
cluster.
"""

from __future__ import annotations

from typing import Any

from crawler.query.syntax import (
    AliasResolver,
    And,
    Facet,
    Not,
    Or,
    Query,
    Range,
    Text,
    day_bounds,
    resolve_aliases,
)

# The index fields and their Elasticsearch types. The document values must be normalised the
# way `MatchDocument.from_article` (and crawler/store.py's facets) normalise them:
# - title/text: `textnorm.index_text(original)` (folded, traditional->simplified, each Chinese
#   character spaced out), analysed with ES_TEXT_ANALYSIS; keep the originals in other,
#   non-indexed fields for display;
# - language lower case; countries upper-case ISO codes of the article and of every entity;
#   regions, entity_names, place_names folded (`textnorm.fold`);
# - relevance as float: 32-bit, so a bound like 0.3 compares against float32(0.3), a hair off
#   the float64 that SQLite and `evaluate` use (only a value exactly on a bound can differ).
ES_FIELDS: dict[str, str] = {
    "title": "text",
    "text": "text",
    "source": "keyword",
    "language": "keyword",
    "countries": "keyword",
    "regions": "keyword",
    "events": "keyword",
    "entity_ids": "keyword",
    "entity_names": "keyword",
    "place_ids": "keyword",
    "place_names": "keyword",
    "relevance": "float",
    "published": "date",
}

# Analysis settings for title/text: split on anything that is not a letter or digit, exactly
# like `syntax.TOKEN_RE` over index_text (where Chinese characters are already spaced out).
# The standard tokenizer would keep "u.s" or "don't" as one token and break the parity.
ES_TEXT_ANALYSIS: dict[str, Any] = {
    "analyzer": {
        "watchdesk_text": {
            "type": "custom",
            "tokenizer": "watchdesk_tokens",
            "filter": ["lowercase"],
        }
    },
    "tokenizer": {"watchdesk_tokens": {"type": "pattern", "pattern": "[^\\p{L}\\p{N}]+"}},
}

_FACET_FIELDS: dict[str, tuple[str, ...]] = {
    "source": ("source",),
    "language": ("language",),
    "country": ("countries",),
    "region": ("regions",),
    "event": ("events",),
    # ids and names live in two keyword fields; a value matches either (as in evaluate)
    "entity": ("entity_ids", "entity_names"),
    "place": ("place_ids", "place_names"),
}


def compile_elasticsearch(query: Query, aliases: AliasResolver | None = None) -> dict[str, Any]:
    """The Query DSL object (the value of a search request's "query" key)."""
    return _compile(resolve_aliases(query, aliases))


def _compile(query: Query) -> dict[str, Any]:
    if isinstance(query, And):
        must: list[dict[str, Any]] = []
        filters: list[dict[str, Any]] = []
        must_not: list[dict[str, Any]] = []
        for child in query.children:
            if isinstance(child, Not):
                must_not.append(_compile(child.child))
            elif isinstance(child, Facet | Range):
                filters.append(_compile(child))  # yes/no clauses: filter context, no scoring
            else:
                must.append(_compile(child))
        body: dict[str, Any] = {}
        if must:
            body["must"] = must
        if filters:
            body["filter"] = filters
        if must_not:
            body["must_not"] = must_not
        return {"bool": body}
    if isinstance(query, Or):
        return _should([_compile(c) for c in query.children])
    if isinstance(query, Not):
        return {"bool": {"must_not": [_compile(query.child)]}}
    if isinstance(query, Text):
        clauses = [_text(query, f) for f in query.fields]
        return clauses[0] if len(clauses) == 1 else _should(clauses)
    if isinstance(query, Facet):
        return _facet(query)
    return _range(query)


def _should(clauses: list[dict[str, Any]]) -> dict[str, Any]:
    return {"bool": {"should": clauses, "minimum_should_match": 1}}


def _text(leaf: Text, field: str) -> dict[str, Any]:
    tokens = leaf.tokens
    if leaf.slop is None and not leaf.prefix:
        # the search analyzer splits the spaced tokens back into exactly these tokens
        return {"match_phrase": {field: {"query": " ".join(tokens)}}}
    if leaf.slop is None and len(tokens) == 1:
        return {"prefix": {field: {"value": tokens[0]}}}
    # Phrases ending in a prefix and proximity use span queries: match_phrase_prefix stops
    # at max_expansions (50) and would silently miss words; span_near's slop is the number of
    # other tokens inside the window, the meaning `evaluate` gives to "a b"~n.
    clauses: list[dict[str, Any]] = [{"span_term": {field: t}} for t in tokens]
    if leaf.prefix:
        clauses[-1] = {"span_multi": {"match": {"prefix": {field: {"value": tokens[-1]}}}}}
    return {
        "span_near": {
            "clauses": clauses,
            "slop": 0 if leaf.slop is None else leaf.slop,
            "in_order": leaf.slop is None,
        }
    }


def _facet(leaf: Facet) -> dict[str, Any]:
    values = list(leaf.values)
    clauses = [
        {"term": {name: values[0]}} if len(values) == 1 else {"terms": {name: values}}
        for name in _FACET_FIELDS[leaf.field]
    ]
    return clauses[0] if len(clauses) == 1 else _should(clauses)


def _range(leaf: Range) -> dict[str, Any]:
    bounds: dict[str, Any] = {}
    if leaf.field == "published":
        start, stop = day_bounds(leaf)
        # explicit half-open bounds: no reliance on Elasticsearch's rounding of date-only values
        if start is not None:
            bounds["gte"] = start.isoformat()
        if stop is not None:
            bounds["lt"] = stop.isoformat()
        if bounds:
            bounds["format"] = "strict_date"
    else:
        if leaf.low is not None:
            bounds["gte" if leaf.include_low else "gt"] = leaf.low
        if leaf.high is not None:
            bounds["lte" if leaf.include_high else "lt"] = leaf.high
    if not bounds:
        return {"exists": {"field": leaf.field}}
    return {"range": {leaf.field: bounds}}


__all__ = ["ES_FIELDS", "ES_TEXT_ANALYSIS", "compile_elasticsearch"]
