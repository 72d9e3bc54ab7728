"""The watchdesk query language: one Lucene-style syntax for watchlists, search and Elasticsearch.

`parse_query` turns text into a tree (`syntax`); `evaluate`/`explain` run it over one article
in-process (the reference semantics); `compile_sqlite` and `compile_elasticsearch` translate it
for the two stores, meaning the same thing.
"""

from crawler.query.elasticsearch import ES_FIELDS, ES_TEXT_ANALYSIS, compile_elasticsearch
from crawler.query.evaluate import Explanation, Hit, MatchDocument, evaluate, explain, find_hits
from crawler.query.parser import QueryError, parse_query
from crawler.query.sqlite import SqlQuery, compile_sqlite
from crawler.query.syntax import (
    EVENT_LABELS,
    KNOWN_FIELDS,
    AliasResolver,
    And,
    Facet,
    Not,
    Or,
    Query,
    Range,
    Text,
    positive_literals,
    resolve_aliases,
    to_query_text,
)

__all__ = [
    "ES_FIELDS",
    "ES_TEXT_ANALYSIS",
    "EVENT_LABELS",
    "KNOWN_FIELDS",
    "AliasResolver",
    "And",
    "Explanation",
    "Facet",
    "Hit",
    "MatchDocument",
    "Not",
    "Or",
    "Query",
    "QueryError",
    "Range",
    "SqlQuery",
    "Text",
    "compile_elasticsearch",
    "compile_sqlite",
    "evaluate",
    "explain",
    "find_hits",
    "parse_query",
    "positive_literals",
    "resolve_aliases",
    "to_query_text",
]
