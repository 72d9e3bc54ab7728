"""Compile a query to an Elasticsearch Query DSL `query` object, meaning what `evaluate` means.

The compiled queries assume the index holds articles the way the embedded store does: see
`ES_FIELDS` and `ES_TEXT_ANALYSIS`, which the index template must use. Nothing here talks to a
cluster.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

from crawler.query.syntax import (
    DATE_FIELDS,
    AliasResolver,
    And,
    DateMath,
    Exists,
    Facet,
    Near,
    Not,
    Or,
    Pattern,
    Query,
    Range,
    Text,
    day_bounds,
    resolve_aliases,
)

# The index fields and their Elasticsearch types. The document values must be normalised the
# way `MatchDocument.from_article` (and crawler/storage/store.py's facets) normalise them:
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
    # the words with their capitals kept, for `case:` (analyzer watchdesk_cased); written
    # as `" ".join(tokenize(cased_fold(original)))`
    "title_cased": "text",
    "text_cased": "text",
    # the names of the fields the article has a value for (`_exists_:`), as
    # `evaluate.present_fields`
    "present": "keyword",
    "source": "keyword",
    # the source's label, absent when it has none (as `MatchDocument.facet("label")`)
    "label": "keyword",
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
    "fetched": "date",
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
        },
        # the same split with the capitals kept, for the `*_cased` fields (`case:` terms)
        "watchdesk_cased": {"type": "custom", "tokenizer": "watchdesk_tokens", "filter": []},
    },
    "tokenizer": {"watchdesk_tokens": {"type": "pattern", "pattern": "[^\\p{L}\\p{N}]+"}},
}

_FACET_FIELDS: dict[str, tuple[str, ...]] = {
    "source": ("source",),
    "label": ("label",),
    "language": ("language",),
    "country": ("countries",),
    "region": ("regions",),
    "event": ("events",),
    # ids and names live in two keyword fields; a value matches either (as in evaluate)
    "entity": ("entity_ids", "entity_names"),
    "place": ("place_ids", "place_names"),
}


# Facet name (backend.FACET_FIELDS) -> the keyword field its terms aggregation counts. The
# entity facet counts ids only (the embedded store keeps only `kind:id` values in that facet).
ES_FACET_FIELDS: dict[str, str] = {
    "source": "source",
    "label": "label",
    "language": "language",
    "event": "events",
    "country": "countries",
    "region": "regions",
    "entity": "entity_ids",
}

# Highlight markers: the same plain-text `[[` `]]` the embedded snippets use (no HTML, the
# text is untrusted); front ends render them.
HIGHLIGHT_PRE = "[["
HIGHLIGHT_POST = "]]"

# Fuzzy terms: the closest words Elasticsearch expands one to (its default is 50, which would
# silently drop matches on a large index); Lucene's old boolean clause limit.
FUZZY_MAX_EXPANSIONS = 1024

# Title clauses weigh three times text clauses, as crawler/search/embedded.py's BM25 column weights.
TITLE_BOOST = 3.0

# A phrase ending in a prefix ("sister c*") is a span_multi over a prefix query, which Lucene
# expands to one span clause per matching term and fails past the cluster's clause limit
# (`indices.query.bool.max_clause_count`) on a short stem. Two bounds, both from the
# span_multi reference: `title`/`text` index their 1..INDEX_PREFIX_MAX_CHARS-character prefixes
# (`index_prefixes`, index_templates/articles-mappings), so such a prefix is one term; a longer
# one (few words share it) expands to its highest-weighted terms only (a `top_terms_boost_N`
# rewrite, N whatever the index holds). Lucene counts the leaf clauses of the whole query
# against the limit, which 8.x/9.x clusters compute from heap and search threads, never below
# 1024; one query's span prefixes share half of that, SPAN_PREFIX_TERMS, leaving the other
# half to its other clauses: `"sister c*"` on title and text gets 256 terms per field.
INDEX_PREFIX_MIN_CHARS = 1
INDEX_PREFIX_MAX_CHARS = 5
CLUSTER_MIN_CLAUSES = 1024
SPAN_PREFIX_TERMS = CLUSTER_MIN_CLAUSES // 2

# Whole-field highlighting re-analyses the field; Elasticsearch refuses (fails the whole
# search) for a hit whose field passes `index.highlight.max_analyzed_offset` (1,000,000
# characters by default) unless the request sets `max_analyzed_offset` no higher than it: then
# only that many characters are highlighted and longer texts are tolerated. The index
# template sets the index side to HIGHLIGHT_INDEX_MAX_ANALYZED_OFFSET explicitly, the request
# asks one less (as Jackrabbit Oak does: equal is accepted, but one below is safe against a
# strict comparison on any version).
HIGHLIGHT_INDEX_MAX_ANALYZED_OFFSET = 1_000_000
HIGHLIGHT_MAX_ANALYZED_OFFSET = HIGHLIGHT_INDEX_MAX_ANALYZED_OFFSET - 1
# The fields highlighted, in this order.
HIGHLIGHT_FIELDS = ("title", "text")


def compile_elasticsearch(
    query: Query, aliases: AliasResolver | None = None, *, title_boost: float | None = None
) -> dict[str, Any]:
    """The Query DSL object (the value of a search request's "query" key).

    `title_boost` weighs title clauses for ranking; it never changes what matches. Every
    span prefix carries a `top_terms_boost_N` rewrite, the Ns summing to at most
    SPAN_PREFIX_TERMS, so that the query's clause count is bounded whatever the index holds.
    """
    body = _compile(resolve_aliases(query, aliases), title_boost)
    prefixes = list(_span_prefixes(body))
    for prefix in prefixes:
        prefix["rewrite"] = f"top_terms_boost_{max(1, SPAN_PREFIX_TERMS // len(prefixes))}"
    return body


def _span_prefixes(node: Any) -> Iterator[dict[str, Any]]:
    """The `{"value": ...}` objects of every prefix under a span_multi in a compiled query."""
    if isinstance(node, list):
        for item in node:
            yield from _span_prefixes(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "span_multi":
                yield from value["match"]["prefix"].values()
            else:
                yield from _span_prefixes(value)


def compile_search(
    query: Query | None,
    *,
    aliases: AliasResolver | None = None,
    sort: str = "relevance",
    offset: int = 0,
    limit: int = 20,
    facets: bool = False,
    facet_size: int = 10,
    histogram: bool = False,
    highlight: bool = True,
) -> dict[str, Any]:
    """A whole search request body: query, sort, page, highlights and aggregations.

    Mirrors the embedded search (crawler/search/embedded.py): relevance ties and "everything" (no
    query) go newest first; date sort is newest first; facets count the whole result set,
    most frequent first then by value; the histogram counts UTC days that have articles.
    Hits are collapsed on `id`, so a copy left in an older index after a rollover is shown
    once.
    """
    newest = {"published": {"order": "desc", "missing": "_last"}}
    tie = [newest, {"fetched": {"order": "desc", "missing": "_last"}}, {"id": "asc"}]
    body: dict[str, Any] = {
        "query": (
            {"match_all": {}}
            if query is None
            else compile_elasticsearch(query, aliases, title_boost=TITLE_BOOST)
        ),
        "from": offset,
        "size": limit,
        "track_total_hits": True,
        "sort": (["_score", *tie] if sort == "relevance" and query is not None else tie),
        "collapse": {"field": "id"},
        "_source": {"includes": ["article", "seq"]},
    }
    if sort == "date" and query is not None:
        body["track_scores"] = True  # hits sorted by date still report their relevance
    if highlight and query is not None:
        body["highlight"] = highlight_body()
    aggs: dict[str, Any] = {}
    if facets:
        for name, field in ES_FACET_FIELDS.items():
            aggs[f"facet_{name}"] = {
                "terms": {
                    "field": field,
                    "size": facet_size,
                    "order": [{"_count": "desc"}, {"_key": "asc"}],
                }
            }
    if histogram:
        aggs["histogram"] = {
            "date_histogram": {
                "field": "published",
                "calendar_interval": "day",
                "format": "yyyy-MM-dd",
                "min_doc_count": 1,
                "time_zone": "UTC",
            }
        }
    if aggs:
        body["aggs"] = aggs
    return body


def highlight_body() -> dict[str, Any]:
    """The `highlight` of a search: whole fields marked with `[[` `]]`, analysed up to
    HIGHLIGHT_MAX_ANALYZED_OFFSET characters (marks past it are not made, and the search never
    fails for a long text).

    number_of_fragments 0: the whole field comes back marked, so every mark maps back to exact
    offsets in the original text (the indexed text is its folded form). `fields` is the array
    of single-key objects that the 9.1+ specification types (`SingleKeyDictionary<Field,
    HighlightField>[]`); every server version parses it (the array form keeps field order),
    while the object form with two keys is not what the 9.1+ typed clients accept.
    """
    return {
        "pre_tags": [HIGHLIGHT_PRE],
        "post_tags": [HIGHLIGHT_POST],
        "require_field_match": True,
        "max_analyzed_offset": HIGHLIGHT_MAX_ANALYZED_OFFSET,
        "fields": [{name: {"number_of_fragments": 0}} for name in HIGHLIGHT_FIELDS],
    }


def _compile(query: Query, title_boost: float | None) -> dict[str, Any]:
    if isinstance(query, And):
        must: list[dict[str, Any]] = []
        filters: list[dict[str, Any]] = []
        must_not: list[dict[str, Any]] = []
        for child in query.children:
            if isinstance(child, Not):
                must_not.append(_compile(child.child, title_boost))
            elif isinstance(child, Facet | Range):
                filters.append(
                    _compile(child, title_boost)
                )  # yes/no clauses: filter context, no scoring
            else:
                must.append(_compile(child, title_boost))
        body: dict[str, Any] = {}
        if must:
            body["must"] = must
        if filters:
            body["filter"] = filters
        if must_not:
            body["must_not"] = must_not
        return {"bool": body}
    if isinstance(query, Or):
        return _should([_compile(c, title_boost) for c in query.children])
    if isinstance(query, Not):
        return {"bool": {"must_not": [_compile(query.child, title_boost)]}}
    if isinstance(query, Text | Pattern | Near):
        clauses = [_word(query, f, title_boost if f == "title" else None) for f in query.fields]
        return clauses[0] if len(clauses) == 1 else _should(clauses)
    if isinstance(query, Exists):
        return {"term": {"present": query.field}}
    if isinstance(query, Facet):
        return _facet(query)
    return _range(query)


def _should(clauses: list[dict[str, Any]]) -> dict[str, Any]:
    return {"bool": {"should": clauses, "minimum_should_match": 1}}


def _weight(title_boost: float | None, boost: float) -> float | None:
    if title_boost is None and boost == 1.0:
        return None
    return (title_boost or 1.0) * boost


def _word(leaf: Text | Pattern | Near, field: str, title_boost: float | None) -> dict[str, Any]:
    if isinstance(leaf, Near):
        boost = max(t.boost for t in leaf.left + leaf.right)
        weight = _weight(title_boost, boost)
        body: dict[str, Any] = {
            "clauses": [_span_side(leaf.left, field), _span_side(leaf.right, field)],
            "slop": leaf.distance,
            "in_order": leaf.ordered,
        }
        if weight is not None:
            body["boost"] = weight
        return {"span_near": body}
    weight = _weight(title_boost, leaf.boost)
    extra: dict[str, Any] = {} if weight is None else {"boost": weight}
    if isinstance(leaf, Pattern):
        if leaf.kind == "wildcard":
            return {"wildcard": {field: {"value": leaf.value, **extra}}}
        return {
            "fuzzy": {
                field: {
                    "value": leaf.value,
                    "fuzziness": leaf.distance,
                    "prefix_length": 0,
                    "transpositions": True,
                    "max_expansions": FUZZY_MAX_EXPANSIONS,
                    **extra,
                }
            }
        }
    return _text(leaf, field + "_cased" if leaf.cased else field, weight)


def _span_side(alternatives: tuple[Text, ...], field: str) -> dict[str, Any]:
    spans = [_span(t, field) for t in alternatives]
    return spans[0] if len(spans) == 1 else {"span_or": {"clauses": spans}}


def _span(leaf: Text, field: str) -> dict[str, Any]:
    clauses: list[dict[str, Any]] = [{"span_term": {field: t}} for t in leaf.tokens]
    if leaf.prefix:
        clauses[-1] = _span_prefix(field, leaf.tokens[-1])
    if len(clauses) == 1:
        return clauses[0]
    return {"span_near": {"clauses": clauses, "slop": 0, "in_order": True}}


def _text(leaf: Text, field: str, boost: float | None = None) -> dict[str, Any]:
    tokens = leaf.tokens
    extra: dict[str, Any] = {} if boost is None else {"boost": boost}
    if leaf.slop is None and not leaf.prefix:
        # the search analyzer splits the spaced tokens back into exactly these tokens
        return {"match_phrase": {field: {"query": " ".join(tokens), **extra}}}
    if leaf.slop is None and len(tokens) == 1:
        return {"prefix": {field: {"value": tokens[0], **extra}}}
    # Phrases ending in a prefix and proximity use span queries: match_phrase_prefix stops
    # at max_expansions (50) and would silently miss words; span_near's slop is the number of
    # other tokens inside the window, the meaning `evaluate` gives to "a b"~n.
    clauses: list[dict[str, Any]] = [{"span_term": {field: t}} for t in tokens]
    if leaf.prefix:
        clauses[-1] = _span_prefix(field, tokens[-1])
    return {
        "span_near": {
            "clauses": clauses,
            "slop": 0 if leaf.slop is None else leaf.slop,
            "in_order": leaf.slop is None,
            **extra,
        }
    }


def _span_prefix(field: str, value: str) -> dict[str, Any]:
    """A prefix as a span clause (`compile_elasticsearch` bounds its rewrite)."""
    return {"span_multi": {"match": {"prefix": {field: {"value": value}}}}}


def _facet(leaf: Facet) -> dict[str, Any]:
    values = list(leaf.values)
    clauses = [
        {"term": {name: values[0]}} if len(values) == 1 else {"terms": {name: values}}
        for name in _FACET_FIELDS[leaf.field]
    ]
    return clauses[0] if len(clauses) == 1 else _should(clauses)


def _date_value(value: object) -> str:
    if isinstance(value, DateMath):
        return value.expr
    assert isinstance(value, datetime)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _range(leaf: Range) -> dict[str, Any]:
    bounds: dict[str, Any] = {}
    plain_days = all(v is None or type(v) is date for v in (leaf.low, leaf.high))
    if leaf.field in DATE_FIELDS and not plain_days:
        # date math and date-times as Elasticsearch reads them: gt/lte round a rounded value
        # (now/d) up, gte/lt down, the same rule `syntax.time_span` applies; a date stays a day
        for value, inclusive, ops in (
            (leaf.low, leaf.include_low, ("gte", "gt")),
            (leaf.high, leaf.include_high, ("lte", "lt")),
        ):
            if value is None:
                continue
            op = ops[0] if inclusive else ops[1]
            if type(value) is date:
                value = DateMath(value.isoformat() + "||/d", (), "d")
                bounds[op] = value.expr
            else:
                bounds[op] = _date_value(value)
        bounds["format"] = "strict_date_optional_time"
        bounds["time_zone"] = "UTC"
        return {"range": {leaf.field: bounds}}
    if leaf.field in DATE_FIELDS:
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


__all__ = [
    "CLUSTER_MIN_CLAUSES",
    "ES_FACET_FIELDS",
    "ES_FIELDS",
    "ES_TEXT_ANALYSIS",
    "HIGHLIGHT_FIELDS",
    "HIGHLIGHT_INDEX_MAX_ANALYZED_OFFSET",
    "HIGHLIGHT_MAX_ANALYZED_OFFSET",
    "HIGHLIGHT_POST",
    "HIGHLIGHT_PRE",
    "INDEX_PREFIX_MAX_CHARS",
    "INDEX_PREFIX_MIN_CHARS",
    "SPAN_PREFIX_TERMS",
    "TITLE_BOOST",
    "compile_elasticsearch",
    "compile_search",
    "highlight_body",
]
