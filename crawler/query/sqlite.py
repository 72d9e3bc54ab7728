"""Compile a query to an SQL condition over the embedded store (articles + facets + FTS5).

Text clauses become FTS5 MATCH expressions over `articles_fts` (which indexes
`textnorm.index_text`), adjacent text-only AND/OR/NOT subtrees merged into one MATCH; facets are
`IN` lookups on `article_facets` that use its (field, value, seq) primary key; ranges compare
columns. The result means exactly what `evaluate` means, up to the gaps listed below.

Known gaps with `evaluate` (tests/query/test_sqlite.py checks parity on a fixture corpus):
- unicode61 knows Unicode 6.1 and treats private-use characters as letters; Python's `isalnum`
  knows a newer Unicode and does not. Words made of letters added after 6.1 or of private-use
  characters tokenise differently.
- unicode61 folds a few letters `textnorm.fold` keeps (e.g. ø, ł with remove_diacritics=2), on
  both the index and the query side: FTS5 can match "søren" for "soren" where `evaluate` does not.
- NEAR/ONEAR, wildcards and fuzzy words, `case:` terms, `_exists_` on text and facet fields and
  date-time or date-math ranges are not expressed: they compile to TRUE (or, under an odd number
  of NOTs, FALSE), so the condition selects a superset of the answer. The backtest uses it
  only to narrow candidates that the matcher then decides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from crawler.query.syntax import (
    TEXT_FIELDS,
    AliasResolver,
    And,
    Exists,
    Facet,
    Not,
    Or,
    Query,
    Range,
    Text,
    day_bounds,
    positive_leaves,
    resolve_aliases,
)

_FTS_IN = "articles.seq IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?)"
# facet fields stored in article_facets (the rest are columns of articles)
_FACET_TABLE_FIELDS = ("country", "region", "event", "entity", "place")


@dataclass(frozen=True, slots=True)
class SqlQuery:
    """`where`: SQL boolean over `articles` (bind `params` in order).

    `rank_match`: an FTS5 expression of the positive text terms, to rank with bm25()
    in a `... FROM articles_fts WHERE articles_fts MATCH ?` join; None when the query has none.
    """

    where: str
    params: list[Any] = field(default_factory=list)
    rank_match: str | None = None


def compile_sqlite(query: Query, aliases: AliasResolver | None = None) -> SqlQuery:
    """The SQL condition selecting exactly the articles `evaluate` accepts."""
    query = resolve_aliases(query, aliases)
    compiler = _SqlCompiler()
    where = compiler.sql(query)
    ranked = [fts_leaf(leaf) for leaf in positive_leaves(query) if isinstance(leaf, Text)]
    ranked = list(dict.fromkeys(ranked))
    rank_match = " OR ".join(f"({e})" for e in ranked) if ranked else None
    return SqlQuery(where, compiler.params, rank_match)


def fts_string(text: str) -> str:
    """An FTS5 string literal: double quotes, inner quotes doubled (never read as syntax)."""
    return '"' + text.replace('"', '""') + '"'


def fts_leaf(leaf: Text) -> str:
    """One text clause as FTS5: a phrase (`"sister city"`), a prefix phrase (`"sister cit" *`),
    or NEAR.

    Proximity: our slop counts the other tokens inside the window (Lucene's meaning); FTS5's
    NEAR(..., n) counts the tokens between the first phrase's end and the last one's start,
    which for k single tokens at distinct positions is slop + k - 2. The parser guarantees
    distinct positions (no repeated token, no prefix covering another token).
    """
    if leaf.slop is None:
        expr = fts_string(" ".join(leaf.tokens)) + (" *" if leaf.prefix else "")
    else:
        parts = [fts_string(t) for t in leaf.tokens]
        if leaf.prefix:
            parts[-1] += " *"
        expr = f"NEAR({' '.join(parts)}, {leaf.slop + len(leaf.tokens) - 2})"
    if leaf.fields == TEXT_FIELDS:
        return expr
    return f"{leaf.fields[0]} : {expr}"


def fts_expression(query: Query) -> str | None:
    """The query as one FTS5 expression, or None when it is not pure text.

    FTS5's NOT is binary (`a NOT b`), so a NOT is only expressible beside a positive sibling.
    """
    if isinstance(query, Text):
        return None if query.cased else fts_leaf(query)
    if isinstance(query, Or):
        parts = [fts_expression(c) for c in query.children]
        if any(p is None for p in parts):
            return None
        return " OR ".join(f"({p})" for p in parts)
    if isinstance(query, And):
        pos: list[str] = []
        neg: list[str] = []
        for child in query.children:
            expr = fts_expression(child)
            if expr is not None:
                pos.append(expr)
                continue
            inner = fts_expression(child.child) if isinstance(child, Not) else None
            if inner is None:
                return None
            neg.append(inner)
        return _and_not(pos, neg) if pos else None
    return None


def _and_not(pos: list[str], neg: list[str]) -> str:
    expr = " AND ".join(f"({p})" for p in pos)
    if neg:
        expr = f"({expr}) NOT ({' OR '.join(f'({n})' for n in neg)})"
    return expr


def _exact_sql(query: Query) -> bool:
    """Whether the compiler expresses the clause exactly (see the module's known gaps)."""
    if isinstance(query, Text):
        return not query.cased
    if isinstance(query, Exists):
        return query.field in ("published", "fetched", "relevance")
    if isinstance(query, Range):
        return all(v is None or type(v) in (float, int, date) for v in (query.low, query.high))
    return isinstance(query, Facet | And | Or | Not)


class _SqlCompiler:
    def __init__(self) -> None:
        self.params: list[Any] = []
        self.positive = True

    def match(self, fts: str) -> str:
        self.params.append(fts)
        return _FTS_IN

    def sql(self, query: Query) -> str:
        if not _exact_sql(query):
            return "1" if self.positive else "0"  # a superset of the answer (module docstring)
        if isinstance(query, Exists):
            return f"(articles.{query.field} IS NOT NULL)"
        fts = fts_expression(query)
        if fts is not None:
            return self.match(fts)
        if isinstance(query, And):
            return self._and(query)
        if isinstance(query, Or):
            texts = [e for e in (fts_expression(c) for c in query.children) if e is not None]
            rest = [c for c in query.children if fts_expression(c) is None]
            parts = []
            if texts:  # seq IN (MATCH a) OR seq IN (MATCH b) == seq IN (MATCH a OR b)
                parts.append(self.match(" OR ".join(f"({t})" for t in texts)))
            parts += [self.sql(c) for c in rest]
            return "(" + " OR ".join(parts) + ")"
        if isinstance(query, Not):
            self.positive = not self.positive
            try:
                return f"(NOT {self.sql(query.child)})"
            finally:
                self.positive = not self.positive
        if isinstance(query, Facet):
            return self._facet(query)
        assert isinstance(query, Range)
        return self._range(query)

    def _and(self, query: And) -> str:
        pos: list[str] = []
        neg: list[str] = []
        rest: list[Query] = []
        for child in query.children:
            expr = fts_expression(child)
            inner = fts_expression(child.child) if isinstance(child, Not) else None
            if expr is not None:
                pos.append(expr)
            elif inner is not None:
                neg.append(inner)
            else:
                rest.append(child)
        parts = []
        if pos:
            parts.append(self.match(_and_not(pos, neg)))
        elif neg:  # NOT a AND NOT b == NOT (a OR b): one MATCH
            parts.append(f"(NOT {self.match(' OR '.join(f'({n})' for n in neg))})")
        parts += [self.sql(c) for c in rest]
        return "(" + " AND ".join(parts) + ")"

    def _facet(self, query: Facet) -> str:
        marks = ", ".join("?" for _ in query.values)
        self.params.extend(query.values)
        if query.field in ("source", "label"):
            # IS (not IN): never NULL, so NOT source:x stays true for a missing source; a
            # label is "" when the source has none, a value the parser never produces
            column = f"articles.{query.field}"
            return (
                f"({column} IS {marks})"
                if len(query.values) == 1
                else (f"coalesce({column} IN ({marks}), 0)")
            )
        if query.field == "language":
            # evaluate lower-cases the article's language; there is no index to lose here
            return f"coalesce(lower(articles.language) IN ({marks}), 0)"
        assert query.field in _FACET_TABLE_FIELDS
        # A non-correlated IN subquery: SQLite runs it once, as a range search on the
        # (field, value, seq) primary key, and probes the resulting seq set per article.
        return (
            "articles.seq IN (SELECT seq FROM article_facets "
            f"WHERE field = '{query.field}' AND value IN ({marks}))"
        )

    def _range(self, query: Range) -> str:
        column = f"articles.{query.field}"
        conds = [f"{column} IS NOT NULL"]  # a NULL comparison would turn NOT x into NULL
        if query.field in ("published", "fetched"):
            start, stop = day_bounds(query)
            # stored as ISO 8601 UTC text: comparing with 'YYYY-MM-DD' is comparing days
            if start is not None:
                conds.append(f"{column} >= ?")
                self.params.append(start.isoformat())
            if stop is not None:
                conds.append(f"{column} < ?")
                self.params.append(stop.isoformat())
        else:
            if query.low is not None:
                conds.append(f"{column} {'>=' if query.include_low else '>'} ?")
                self.params.append(query.low)
            if query.high is not None:
                conds.append(f"{column} {'<=' if query.include_high else '<'} ?")
                self.params.append(query.high)
        return "(" + " AND ".join(conds) + ")"
