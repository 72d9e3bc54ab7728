"""Translate a parsed watchdesk query into a tantivy query over the side index.

Built from the tree (never through tantivy's string parser, whose `a AND NOT b` returns
nothing). Every node becomes a query selecting exactly the articles `crawler.query.evaluate`
accepts, with one exception: a proximity clause of three or more tokens, whose window rule
tantivy's sloppy phrase does not implement (measured: it misses windows whose gaps add up to
the slop). Such a tree is compiled to a superset of its answer and marked `exact=False`; the
caller checks the candidates with `evaluate` (see `crawler/search/embedded.py`).

Text leaves score (BM25, title weighted above text); facet and range leaves are filters with a
constant score of zero, so they select without changing the order.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import tantivy

from crawler.query.syntax import (
    DATE_FIELDS,
    And,
    Exists,
    Facet,
    Near,
    Not,
    Or,
    Pattern,
    Query,
    Range,
    Text,
    time_span,
)

# BM25 weight of a title match against a body match: a term in the headline says more about
# what the story is about; 3:1 is the usual newsroom weighting (Elasticsearch `title^3`).
TITLE_WEIGHT = 3.0

# Facet fields of the query language -> index field holding the same values as MatchDocument.
FACET_INDEX_FIELDS = (
    "source",
    "label",
    "language",
    "country",
    "region",
    "event",
    "entity",
    "place",
)


# The field listing which of the article's fields have a value (`_exists_:field`).
PRESENT_FIELD = "present"


def cased_field(name: str) -> str:
    """The index field holding the distinct case-kept tokens of text field `name` (`case:`)."""
    return name + "_cased"


def pairs_field(name: str) -> str:
    """The index field holding the adjacent-token pairs of text field `name`."""
    return name + "_pairs"


def token_pairs(tokens: Sequence[str]) -> list[str]:
    """Each token joined to the next by "_" (tokens never hold one: `syntax.TOKEN_RE`)."""
    return [a + "_" + b for a, b in itertools.pairwise(tokens)]


@dataclass(frozen=True, slots=True)
class CompiledQuery:
    """`query` selects the articles (a superset of them when `exact` is False)."""

    query: tantivy.Query
    exact: bool


def compile_tantivy(tree: Query | None, schema: tantivy.Schema) -> CompiledQuery:
    """The tantivy query for a parsed tree (None = every article)."""
    if tree is None:
        return CompiledQuery(tantivy.Query.all_query(), True)
    builder = _Builder(schema)
    return CompiledQuery(builder.build(tree, positive=True), builder.exact)


def _filter(query: tantivy.Query) -> tantivy.Query:
    return tantivy.Query.const_score_query(query, 0.0)


def _all_but(query: tantivy.Query) -> tantivy.Query:
    return tantivy.Query.boolean_query(
        [(tantivy.Occur.Must, _filter(tantivy.Query.all_query())), (tantivy.Occur.MustNot, query)]
    )


class _Builder:
    def __init__(self, schema: tantivy.Schema) -> None:
        self.schema = schema
        self.exact = True

    def build(self, node: Query, positive: bool) -> tantivy.Query:
        """A query for `node`; `positive` is False under an odd number of NOTs.

        Polarity matters only for approximations: under a NOT, a superset of the child would
        make a subset of the whole, so an inexact child is replaced there by a subset.
        """
        Q, Occur = tantivy.Query, tantivy.Occur
        if isinstance(node, Text | Pattern | Near):
            return self._text(node, positive)
        if isinstance(node, Exists):
            return _filter(Q.term_query(self.schema, PRESENT_FIELD, node.field, "basic"))
        if isinstance(node, Facet):
            return _filter(self._facet(node))
        if isinstance(node, Range):
            return _filter(self._range(node))
        if isinstance(node, Not):
            return _all_but(self.build(node.child, not positive))
        if isinstance(node, And):
            clauses = []
            for child in node.children:
                if isinstance(child, Not):
                    clauses.append((Occur.MustNot, self.build(child.child, not positive)))
                else:
                    clauses.append((Occur.Must, self.build(child, positive)))
            if all(occur == Occur.MustNot for occur, _ in clauses):
                clauses.append((Occur.Must, _filter(Q.all_query())))
            return Q.boolean_query(clauses)
        assert isinstance(node, Or)
        return Q.boolean_query([(Occur.Should, self.build(c, positive)) for c in node.children])

    # -- text ------------------------------------------------------------------------------

    def _text(self, leaf: Text | Pattern | Near, positive: bool) -> tantivy.Query:
        per_field = [(name, self._word_in(leaf, name, positive)) for name in leaf.fields]
        if len(per_field) == 1:
            return per_field[0][1]
        return tantivy.Query.boolean_query(
            [
                (
                    tantivy.Occur.Should,
                    tantivy.Query.boost_query(q, TITLE_WEIGHT) if name == "title" else q,
                )
                for name, q in per_field
            ]
        )

    def _word_in(self, leaf: Text | Pattern | Near, name: str, positive: bool) -> tantivy.Query:
        if isinstance(leaf, Near):
            return self._near_in(leaf, name, positive)
        if isinstance(leaf, Pattern):
            query = self._pattern_in(leaf, name)
        elif leaf.cased:
            query = self._cased_in(leaf, name, positive)
        else:
            query = self._text_in(leaf, name, positive)
        return query if leaf.boost == 1.0 else tantivy.Query.boost_query(query, leaf.boost)

    def _inexact(self, positive: bool, superset: tantivy.Query) -> tantivy.Query:
        """A superset of the clause (the caller checks candidates), or under NOT a subset."""
        self.exact = False
        return superset if positive else tantivy.Query.empty_query()

    def _pattern_in(self, leaf: Pattern, name: str) -> tantivy.Query:
        Q = tantivy.Query
        if leaf.kind == "fuzzy":
            # transpositions cost one edit, as Lucene's and Elasticsearch's fuzzy default
            return Q.fuzzy_term_query(self.schema, name, leaf.value, leaf.distance, True)
        regex = "".join(
            "." if ch == "?" else ".*" if ch == "*" else re.escape(ch) for ch in leaf.value
        )
        return Q.regex_query(self.schema, name, regex)

    def _cased_in(self, leaf: Text, name: str, positive: bool) -> tantivy.Query:
        Q, Occur = tantivy.Query, tantivy.Occur
        field = cased_field(name)
        if len(leaf.tokens) == 1 and leaf.slop is None:
            if leaf.prefix:
                return Q.regex_query(self.schema, field, _prefix_regex(leaf.tokens[0]))
            return Q.term_query(self.schema, field, leaf.tokens[0], "basic")
        # A cased phrase: the folded phrase, and every cased word somewhere in the field.
        folded = Text(tuple(t.lower() for t in leaf.tokens), (name,), leaf.prefix, leaf.slop)
        clauses = [(Occur.Must, self._text_in(folded, name, positive))]
        last = len(leaf.tokens) - 1
        for i, token in enumerate(leaf.tokens):
            word = (
                Q.regex_query(self.schema, field, _prefix_regex(token))
                if leaf.prefix and i == last
                else Q.term_query(self.schema, field, token, "basic")
            )
            clauses.append((Occur.Must, _filter(word)))
        return self._inexact(positive, Q.boolean_query(clauses))

    def _near_in(self, leaf: Near, name: str, positive: bool) -> tantivy.Query:
        Q, Occur = tantivy.Query, tantivy.Occur
        sides = [leaf.left, leaf.right]
        if all(len(t.tokens) == 1 for side in sides for t in side):
            # one regex per side, each alternative a word or a prefix; tantivy's sloppy phrase
            # over [left, right] finds right within `distance` words after left (and left
            # right after right when distance >= 2: a reversal costs it two, as in Lucene)
            left, right = (
                "|".join(
                    _prefix_regex(t.tokens[0]) if t.prefix else re.escape(t.tokens[0]) for t in side
                )
                for side in sides
            )
            ahead = Q.regex_phrase_query(self.schema, name, [left, right], leaf.distance)
            if leaf.ordered:
                if leaf.distance < 2:
                    return ahead
                return self._inexact(positive, ahead)
            behind = Q.regex_phrase_query(self.schema, name, [right, left], leaf.distance)
            return Q.boolean_query([(Occur.Should, ahead), (Occur.Should, behind)])
        # phrases on a side: both sides present in the field, the candidates checked
        both = [
            (
                Occur.Must,
                Q.boolean_query([(Occur.Should, self._text_in(t, name, True)) for t in side]),
            )
            for side in sides
        ]
        return self._inexact(positive, Q.boolean_query(both))

    def _text_in(self, leaf: Text, name: str, positive: bool) -> tantivy.Query:
        Q, schema = tantivy.Query, self.schema
        tokens = list(leaf.tokens)
        if leaf.slop is None:
            if len(tokens) == 1:
                if leaf.prefix:
                    return Q.regex_query(schema, name, _prefix_regex(tokens[0]))
                return Q.term_query(schema, name, tokens[0])
            if leaf.prefix:
                # regex phrase, not phrase_prefix_query: that one stops after 50 expansions
                words: list[str | tuple[int, str]] = [re.escape(t) for t in tokens[:-1]]
                words.append(_prefix_regex(tokens[-1]))
                return Q.regex_phrase_query(schema, name, words)
            # pairs at consecutive positions are exactly the tokens at consecutive positions
            adjacent = token_pairs(tokens)
            if len(adjacent) == 1:
                return Q.term_query(schema, pairs_field(name), adjacent[0])
            phrase: list[str | tuple[int, str]] = list(adjacent)
            return Q.phrase_query(schema, pairs_field(name), phrase)
        if len(tokens) == 2:
            # Two tokens inside a window with at most `slop` others, in either order: exactly
            # the union of tantivy's sloppy phrase over both orders (checked against the
            # in-process matcher in tests/search/test_parity.py).
            return Q.boolean_query(
                [
                    (tantivy.Occur.Should, self._sloppy(leaf, name, order))
                    for order in itertools.permutations(range(2))
                ]
            )
        self.exact = False
        if not positive:
            return Q.empty_query()  # a subset of the clause: the NOT above becomes a superset
        # A window of len(tokens) + slop positions holds every pair of its tokens within a
        # two-token window with slop + len(tokens) - 2 others (exact, see above): requiring
        # every pair is a superset of the clause, tight enough that few candidates are checked.
        last = len(tokens) - 1
        pairs = [
            Q.boolean_query(
                [
                    (tantivy.Occur.Should, self._sloppy_pair(name, a, b, last, leaf)),
                    (tantivy.Occur.Should, self._sloppy_pair(name, b, a, last, leaf)),
                ]
            )
            for a, b in itertools.combinations(range(len(tokens)), 2)
        ]
        return Q.boolean_query([(tantivy.Occur.Must, q) for q in pairs])

    def _sloppy_pair(self, name: str, a: int, b: int, last: int, leaf: Text) -> tantivy.Query:
        assert leaf.slop is not None
        slop = leaf.slop + len(leaf.tokens) - 2
        if not (leaf.prefix and last in (a, b)):
            pair: list[str | tuple[int, str]] = [leaf.tokens[a], leaf.tokens[b]]
            return tantivy.Query.phrase_query(self.schema, name, pair, slop)
        words: list[str | tuple[int, str]] = [
            _prefix_regex(leaf.tokens[i]) if i == last else re.escape(leaf.tokens[i])
            for i in (a, b)
        ]
        return tantivy.Query.regex_phrase_query(self.schema, name, words, slop)

    def _sloppy(self, leaf: Text, name: str, order: tuple[int, ...]) -> tantivy.Query:
        assert leaf.slop is not None
        last = len(leaf.tokens) - 1
        words: list[str | tuple[int, str]]
        if leaf.prefix:
            words = [
                _prefix_regex(leaf.tokens[i]) if i == last else re.escape(leaf.tokens[i])
                for i in order
            ]
            return tantivy.Query.regex_phrase_query(self.schema, name, words, leaf.slop)
        words = [leaf.tokens[i] for i in order]
        return tantivy.Query.phrase_query(self.schema, name, words, leaf.slop)

    # -- filters ---------------------------------------------------------------------------

    def _facet(self, leaf: Facet) -> tantivy.Query:
        values = list(dict.fromkeys(leaf.values))
        if len(values) == 1:
            return tantivy.Query.term_query(self.schema, leaf.field, values[0], "basic")
        return tantivy.Query.term_set_query(self.schema, leaf.field, values)

    def _range(self, leaf: Range) -> tantivy.Query:
        Q = tantivy.Query
        if leaf.field in DATE_FIELDS:
            span = time_span(leaf)
            if span.start is None and span.stop is None:
                return Q.exists_query(leaf.field)
            return Q.range_query(
                self.schema,
                leaf.field,
                tantivy.FieldType.Date,
                span.start,
                span.stop,
                include_lower=not span.start_open,
                include_upper=span.stop is None or span.stop_closed,
            )
        low = None if leaf.low is None else float(leaf.low)  # type: ignore[arg-type]
        high = None if leaf.high is None else float(leaf.high)  # type: ignore[arg-type]
        if low is None and high is None:
            return Q.exists_query("relevance")
        return Q.range_query(
            self.schema,
            "relevance",
            tantivy.FieldType.Float,
            low,
            high,
            include_lower=leaf.include_low or low is None,
            include_upper=leaf.include_high or high is None,
        )


def _prefix_regex(token: str) -> str:
    # tokens are runs of letters/digits or one ideograph; escape anyway, the regex is ours
    return re.escape(token) + ".*"
