"""Match an article against every watchlist at once: presearch, exact evaluation, explanations.

Each distinct query is compiled once into its *necessary clauses* (`required_clauses`): sets
of features at least one of which must be present for the query to be true — a word or phrase
of the title/text, or a facet value such as `country=CN`. One pyahocorasick pass over the
article's folded tokens (plus its facet values) finds which features are present; the
rarest-looking clause of each query is its presearch key, and a keyed query is evaluated
exactly only if all its clauses are satisfied: compiled once into closures that read the
scan's findings (`_Compiler`), with the meaning of `crawler.query.evaluate`, and each distinct
phrase's highlights located once per article. Queries that can be true with no feature
(`NOT x`, pure ranges) are evaluated for every article. The presearch never drops a match, it
only skips queries that cannot be true (tests/alerts/test_matcher.py checks results against
naive evaluation of every watchlist)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from itertools import repeat
from operator import itemgetter
from typing import NamedTuple

import ahocorasick  # type: ignore[import-not-found]  # (a C extension without stubs)

from alerts.watchlist import Watchlist
from crawler.article import Article
from crawler.query import (
    AliasResolver,
    And,
    Explanation,
    Facet,
    MatchDocument,
    Not,
    Or,
    Query,
    Range,
    Text,
    evaluate,
    explain,
    find_hits,
    parse_query,
    resolve_aliases,
    to_query_text,
)
from crawler.query.evaluate import TextPresence, phrase_spans
from crawler.query.syntax import (
    TEXT_FIELDS,
    Exists,
    Near,
    Pattern,
    is_cjk_token,
    token_pattern,
    walk,
)
from crawler.records import MatchedTerm

# A feature is a string: text features are token patterns of the scan string (they start with
# a space); facet features are "field=value" (they never start with a space).
Feature = str
Clause = frozenset[Feature]

_FACET_FIELDS = ("country", "region", "event", "entity", "place", "source", "label", "language")

# Selectivity guesses for choosing which clause of a query the presearch keys on (lower =
# rarer = fewer candidates). They change speed only, never results. The crawler keeps only
# articles about local ties with China, so the DOMAIN.md cue words and the beat's everyday
# words are frequent in every article it matches.
_COMMON_WORDS = frozenset(
    """the a an and of in to for on with at by from as is was be it its that this said not
    china chinese beijing us u s united states state american america city cities county
    sister mayor mayors governor local government officials official trade visit visited
    relations cooperation friendship exchange province new twin delegation mission hosted
    memorandum understanding mou signed agreement letter intent investment factory plant tax
    incentives pension fund confucius institute classroom student students youth bill law ban
    restrict land purchases foreign adversary front influence operation espionage infiltrate
    terminated suspended cut ties closed withdrew university council chamber commerce
    legislature legislator lawmakers senate economic development consulate consul general
    port authority business partnership
    中 国 美 市 的 省 州 合 作 友 好 城 交 流 方 地 区 人 大 会 在 和 与 了 是 代 表 团 访
    问 协 议 签 署 投 资 工 厂 学 院 法 案 终 止 暂 停 统 战""".split()  # noqa: SIM905 (a word list)
)
# facet values: events are 8 labels, a handful per article; language and the big two
# countries tag most articles; places/entities/regions are many and specific.
# Labels are seven, and the default config gives most sources one of three.
_FACET_COST = {
    "event": 0.3,
    "language": 0.5,
    "label": 0.4,
    "source": 0.1,
    "region": 0.1,
    "country": 0.05,
}
_BROAD_COUNTRIES = frozenset({"CN", "US"})
# Clauses kept per OR when distributing it over its branches' clauses: each is one set test
# per candidate, and beyond a handful they rarely reject what the first ones let through.
_MAX_CLAUSES = 8


def facet_feature(field_name: str, value: str) -> Feature:
    return f"{field_name}={value}"


def scan_string(doc: MatchDocument) -> str:
    """The title's and the text's `joined` tokens, one string for one automaton pass.

    A phrase occurs in a field iff its `token_pattern` occurs here (the NUL between the two
    fields is not a token, so no pattern spans them).
    """
    return doc.title.joined + "\x00" + doc.text.joined


def doc_features(doc: MatchDocument) -> list[Feature]:
    """The facet features of an article (text features are found by scanning)."""
    out = [facet_feature("source", doc.source)]
    if doc.label:
        out.append(facet_feature("label", doc.label))
    if doc.language:
        out.append(facet_feature("language", doc.language))
    for name, values in (
        ("country", doc.countries),
        ("region", doc.regions),
        ("event", doc.events),
        ("entity", doc.entities),
        ("place", doc.places),
    ):
        out.extend(facet_feature(name, v) for v in values)
    return out


# -- required features ---------------------------------------------------------------------------


def _token_cost(token: str, prefix: bool) -> float:
    if token in _COMMON_WORDS:
        cost = 0.5
    elif is_cjk_token(token):
        cost = 0.1
    else:
        cost = min(0.3, 0.3 / max(1, len(token) - 2))  # longer words are rarer (Zipf)
    return min(1.0, cost * (3 if prefix else 1))


def _feature_cost(feature: Feature) -> float:
    if feature.startswith(" "):
        tokens = feature.split()
        prefix = not feature.endswith(" ")
        costs = [_token_cost(t, prefix and i == len(tokens) - 1) for i, t in enumerate(tokens)]
        return min(costs) * 0.5 ** (len(tokens) - 1)
    name, _, value = feature.partition("=")
    if name == "country" and value in _BROAD_COUNTRIES:
        return 0.6
    return _FACET_COST.get(name, 0.02)


def _clause_cost(clause: Clause) -> float:
    return sum(_feature_cost(f) for f in clause)


def required_clauses(query: Query) -> list[Clause] | None:
    """Necessary conditions in conjunctive form: every clause must have one of its features
    present for the query to be true. None when the query can be true with no feature at all.
    """
    if isinstance(query, Text):
        last = len(query.tokens) - 1
        # a `case:` clause needs at least its words in any case (the scan is case-folded)
        tokens = tuple(t.lower() for t in query.tokens) if query.cased else query.tokens
        if query.slop is None:
            return [frozenset({token_pattern(tokens, query.prefix)})]
        return [
            frozenset({token_pattern((t,), query.prefix and i == last)})
            for i, t in enumerate(tokens)
        ]
    if isinstance(query, Near):
        return [
            frozenset(token_pattern(t.tokens, t.prefix) for t in side)
            for side in (query.left, query.right)
        ]
    if isinstance(query, Pattern):
        if query.kind == "fuzzy":
            return None
        stem = re.split(r"[*?]", query.value, maxsplit=1)[0]  # the letters before a wildcard
        return [frozenset({token_pattern((stem,), prefix=True)})] if stem else None
    if isinstance(query, Exists):
        return None
    if isinstance(query, Facet):
        if query.field not in _FACET_FIELDS:
            return None
        return [frozenset(facet_feature(query.field, v) for v in query.values)]
    if isinstance(query, Range | Not):
        return None
    if isinstance(query, And):
        out: list[Clause] = []
        for child in query.children:
            out.extend(required_clauses(child) or [])
        return list(dict.fromkeys(out)) or None
    assert isinstance(query, Or)
    # (a1 AND a2) OR b  ==>  (a1 OR b) AND (a2 OR b): distribute, keeping every clause while
    # the product stays small, else only each branch's best clause.
    product: list[Clause] = [frozenset()]
    for child in query.children:
        clauses = required_clauses(child)
        if clauses is None:  # one branch needs nothing: the whole OR needs nothing
            return None
        if len(product) * len(clauses) > _MAX_CLAUSES:
            clauses = [_best_clause(clauses)]  # type: ignore[list-item]
        product = list(dict.fromkeys(p | c for p in product for c in clauses))
    return product


def required_features(query: Query) -> Clause | None:
    """A set of features at least one of which every matching article has; None if none is.

    Of the necessary clauses found, the one judged rarest (`_clause_cost`) is returned.
    """
    return _best_clause(required_clauses(query) or [])


def _best_clause(clauses: list[Clause]) -> Clause | None:
    if not clauses:
        return None
    return min(clauses, key=lambda c: (_clause_cost(c), sorted(c)))


def required_literals(query: Query) -> frozenset[str] | None:
    """The text part of `required_features` as readable words/phrases ("cit*" for a prefix).

    None when the query can match without any text literal (its key, if any, is a facet).
    """
    features = required_features(query)
    if features is None or not all(f.startswith(" ") for f in features):
        return None
    return frozenset(f.strip() + ("" if f.endswith(" ") else "*") for f in features)


# -- compiled evaluation -------------------------------------------------------------------------
#
# `crawler.query.evaluate` is the reference semantics; per candidate it walks the tree with
# isinstance dispatch and looks each phrase up again. At 100,000 watchlists an article has a few
# dozen candidate queries but hundreds of matching watchlists, so the matcher compiles each
# distinct query once into closures over one per-article `_Scan`: a phrase or facet clause is a
# set lookup in what the presearch already found, and the highlights of each distinct phrase
# clause are located once per article and shared by every query that contains it.


class _Scan:
    """What one article's presearch found, shared by every candidate query's evaluation.

    `found`: text patterns present in title or text, plus the article's facet features;
    `title`/`text`: the patterns present in each field; `spans`: highlight rows per phrase
    clause (by `_Compiler` leaf id), filled on first use.
    """

    __slots__ = ("doc", "found", "title", "text", "spans")

    def __init__(self, doc: MatchDocument, found: set[Feature], title: set[str], text: set[str]):
        self.doc = doc
        self.found = found
        self.title = title
        self.text = text
        self.spans: dict[int, tuple[list[_Row], list[MatchedTerm]]] = {}


Check = Callable[[_Scan], bool]
# Appends the ids of the phrase clauses that made a true query true (see evaluate._true_hits).
Collect = Callable[[_Scan, list[int]], None]
_FIELD_SET = frozenset(TEXT_FIELDS)
# A highlight: term as written, field, start, end (a `Hit` as a tuple).
_Row = tuple[str, str, int, int]


class _Compiler:
    """Turns query trees into `Check`/`Collect` closures with the same meaning as `evaluate`
    and `find_hits`; identical phrase clauses (same words, fields and spelling) share one id.
    """

    def __init__(self) -> None:
        self._ids: dict[tuple[Text | Pattern | Near, str], int] = {}
        self.leaves: list[Text | Pattern | Near] = []  # by id

    def leaf_id(self, leaf: Text | Pattern | Near) -> int:
        key = (leaf, leaf.source)  # the spelling is part of the highlight's term
        found = self._ids.get(key)
        if found is None:
            found = self._ids[key] = len(self.leaves)
            self.leaves.append(leaf)
        return found

    def check(self, query: Query) -> Check:
        if isinstance(query, Text) and not query.cased:
            return _text_check(query)
        if isinstance(query, Text | Pattern | Near | Exists):
            return lambda s: evaluate(query, s.doc)
        if isinstance(query, Facet):
            feats = frozenset(facet_feature(query.field, v) for v in query.values)
            if len(feats) == 1:
                (feat,) = feats
                return lambda s: feat in s.found
            return lambda s: not feats.isdisjoint(s.found)
        if isinstance(query, Range):
            return lambda s: evaluate(query, s.doc)
        if isinstance(query, Not):
            child = self.check(query.child)
            return lambda s: not child(s)
        kids = [self.check(c) for c in query.children]
        if isinstance(query, And):
            if len(kids) == 2:
                a, b = kids
                return lambda s: a(s) and b(s)
            return lambda s: all(k(s) for k in kids)
        if len(kids) == 2:
            a, b = kids
            return lambda s: a(s) or b(s)
        return lambda s: any(k(s) for k in kids)

    def collect(self, query: Query) -> Collect | None:
        """None when no phrase clause under `query` can contribute a highlight."""
        if isinstance(query, Text | Pattern | Near):
            i = self.leaf_id(query)
            return lambda s, out: out.append(i)
        if isinstance(query, And):
            parts = [c for c in map(self.collect, query.children) if c is not None]
            if not parts:
                return None
            if len(parts) == 1:
                return parts[0]

            def collect_and(s: _Scan, out: list[int]) -> None:
                for part in parts:
                    part(s, out)

            return collect_and
        if isinstance(query, Or):
            branches = [
                (self.check(c), part)
                for c in query.children
                if (part := self.collect(c)) is not None
            ]
            if not branches:
                return None

            def collect_or(s: _Scan, out: list[int]) -> None:
                for check, part in branches:
                    if check(s):
                        part(s, out)

            return collect_or
        return None  # NOT hides its subtree's words; facets and ranges have none


def _text_check(leaf: Text) -> Check:
    if leaf.slop is not None:
        return _near_check(leaf)
    pattern = leaf.pattern
    if leaf.fields == TEXT_FIELDS:
        return lambda s: pattern in s.found
    if leaf.fields == ("title",):
        return lambda s: pattern in s.title
    if leaf.fields == ("text",):
        return lambda s: pattern in s.text
    return lambda s: evaluate(leaf, s.doc)


def _near_check(leaf: Text) -> Check:
    """A proximity clause: token positions are only looked at in a field where the presearch
    found every one of its words (`_near_patterns`)."""
    patterns = _near_patterns(leaf)
    per_field = [(name, replace(leaf, fields=(name,))) for name in leaf.fields]

    def check(s: _Scan) -> bool:
        for name, one in per_field:
            present = s.title if name == "title" else s.text
            if all(p in present for p in patterns) and evaluate(one, s.doc):
                return True
        return False

    return check


def _near_patterns(leaf: Text) -> list[str]:
    last = len(leaf.tokens) - 1
    return [token_pattern((t,), leaf.prefix and i == last) for i, t in enumerate(leaf.tokens)]


def _leaf_rows(leaf: Text | Pattern | Near, s: _Scan) -> list[_Row]:
    """`find_hits(leaf)` as rows, for a clause known to be true; a phrase's fields are read
    from the presearch instead of being searched again."""
    if (
        not isinstance(leaf, Text)
        or leaf.slop is not None
        or leaf.cased
        or not set(leaf.fields) <= _FIELD_SET
    ):
        return [(h.term, h.field, h.start, h.end) for h in find_hits(leaf, s.doc)]
    doc = s.doc
    term = leaf.source or to_query_text(leaf)
    cache = doc.hit_cache
    rows: list[_Row] = []
    for name in leaf.fields:
        if leaf.pattern not in (s.title if name == "title" else s.text):
            continue
        key = (name, leaf.tokens, leaf.prefix)
        spans = cache.get(key)
        if spans is None:
            ft = doc.title if name == "title" else doc.text
            spans = cache[key] = phrase_spans(ft.folded, leaf.tokens, leaf.prefix)
        rows.extend([(term, name, a, b) for a, b in spans])
    if leaf.fields != TEXT_FIELDS and len(leaf.fields) > 1:
        rows.sort(key=lambda r: (r[1] != "title", r[2]))  # as `_text_hits` orders them
    return rows


def _row_order(row: _Row) -> tuple[bool, int, int]:
    return (row[1] != "title", row[2], row[3])


def _terms(s: _Scan, ids: list[int], leaves: list[Text | Pattern | Near]) -> list[MatchedTerm]:
    """The highlights of the given phrase clauses: deduplicated, title first, then by offset.

    Exactly `matched_terms`: one clause's hits are already unique and in that order; several
    are merged the way it does (a set of the same tuples a `Hit` hashes as, in the same
    insertion order, then a stable sort), so even ties come out in the same order. The
    MatchedTerm objects of a clause are built once per article and shared by every query
    that has the clause.
    """
    spans = s.spans
    if len(ids) == 1:
        return _clause_terms(spans, ids[0], leaves, s)[1]
    rows: list[_Row] = []
    made: dict[_Row, MatchedTerm] = {}
    for i in ids:
        got_rows, got_terms = _clause_terms(spans, i, leaves, s)
        rows += got_rows
        made.update(zip(got_rows, got_terms, strict=True))
    return list(map(made.__getitem__, sorted(set(rows), key=_row_order)))


def _clause_terms(
    spans: dict[int, tuple[list[_Row], list[MatchedTerm]]],
    i: int,
    leaves: list[Text | Pattern | Near],
    s: _Scan,
) -> tuple[list[_Row], list[MatchedTerm]]:
    got = spans.get(i)
    if got is None:
        rows = _leaf_rows(leaves[i], s)
        got = spans[i] = (rows, [MatchedTerm(*row) for row in rows])
    return got


# -- the matcher ---------------------------------------------------------------------------------


class WatchlistMatch(NamedTuple):
    """A watchlist that matched, with the query terms found (offsets into the original text).

    A named tuple rather than a dataclass: a broad query can match for hundreds of watchlists
    per article, and building these is then a measurable share of matching. For the same
    reason `terms` (and its MatchedTerm objects) is shared by every match of one article that
    highlights the same clauses: read it, copy it before changing it.
    """

    watchlist: Watchlist
    terms: list[MatchedTerm]


# _tuple_new(WatchlistMatch, (watchlist, terms)) builds a match without the Python-level
# __new__ of a named tuple: hundreds per article at 100,000 watchlists.
_tuple_new = tuple.__new__


@dataclass(slots=True)
class _Entry:
    """One distinct query text, shared by every watchlist that uses it."""

    query: Query
    targets: list[_Target]
    clauses: tuple[Clause, ...]  # all necessary clauses, rarest first, checked before evaluating
    features: Clause | None  # the clause the presearch is keyed on
    pair: tuple[Feature, Feature] | None = None  # or two facet values it needs together
    check: Check | None = None  # the query compiled (`_Compiler.check`)
    collect: Collect | None = None  # its highlight clauses (`_Compiler.collect`)
    rest: tuple[Clause, ...] = ()  # the clauses a presearch hit does not already satisfy
    # targets split once: orders and watchlists of those with no filter; the filtered rest
    orders: list[int] = field(default_factory=list)
    plain: list[Watchlist] = field(default_factory=list)
    filtered: list[_Target] = field(default_factory=list)

    @classmethod
    def compile(cls, query: Query) -> _Entry:
        clauses = sorted(required_clauses(query) or [], key=lambda c: (_clause_cost(c), sorted(c)))
        entry = cls(query, [], tuple(clauses), clauses[0] if clauses else None)
        # Facet values are few per article (~30), so pairs of them can be looked up directly:
        # `region:Indiana AND region:Hubei` is keyed on both, not on the commoner of the two.
        facets = [c for c in clauses if len(c) == 1 and not next(iter(c)).startswith(" ")]
        if len(facets) >= 2 and (
            _clause_cost(facets[0]) * _clause_cost(facets[1]) < _clause_cost(clauses[0])
        ):
            a, b = sorted((next(iter(facets[0])), next(iter(facets[1]))))
            entry.pair, entry.features = (a, b), facets[0] | facets[1]
            entry.rest = tuple(c for c in clauses if c not in (facets[0], facets[1]))
        else:
            entry.rest = tuple(clauses[1:])
        return entry


@dataclass(slots=True)
class MatchExplanation:
    """Why a watchlist did or did not match an article: filters, presearch and the query tree."""

    watchlist: str
    matched: bool
    filters: list[tuple[bool, str]]
    presearch: str
    query: Explanation | None

    def __str__(self) -> str:
        head = f"watchlist {self.watchlist!r}: {'MATCH' if self.matched else 'no match'}"
        lines = [head]
        lines += [f"  {'✓' if ok else '✗'} {text}" for ok, text in self.filters]
        lines.append(f"  presearch: {self.presearch}")
        if self.query is not None:
            lines.append("  query:")
            lines += ["    " + line for line in self.query.lines()]
        return "\n".join(lines)


def _filters(wl: Watchlist, doc: MatchDocument) -> list[tuple[bool, str]]:
    """The watchlist's own conditions besides its query, each with a verdict."""
    out = [(not wl.muted, "muted" if wl.muted else "not muted")]
    if wl.is_saved_search:
        out.append((False, "a saved search (delivery: none): never matched live"))
    if wl.languages:
        allowed = [lang.lower() for lang in wl.languages]
        out.append((doc.language in allowed, f"language {doc.language or 'unknown'} in {allowed}"))
    if wl.sources:
        out.append((doc.source in wl.sources, f"source {doc.source!r} in {wl.sources}"))
    if wl.min_relevance:
        rel = doc.relevance or 0.0
        out.append((rel >= wl.min_relevance, f"relevance {rel:.2f} >= {wl.min_relevance}"))
    return out


@dataclass(frozen=True, slots=True)
class _Target:
    """A watchlist with its filters normalised for the per-candidate check."""

    order: int
    watchlist: Watchlist
    languages: frozenset[str] | None
    sources: frozenset[str] | None
    min_relevance: float
    unfiltered: bool

    @classmethod
    def of(cls, order: int, wl: Watchlist) -> _Target:
        langs = frozenset(x.lower() for x in wl.languages) if wl.languages else None
        sources = frozenset(wl.sources) if wl.sources else None
        unfiltered = langs is None and sources is None and not wl.min_relevance
        return cls(order, wl, langs, sources, wl.min_relevance, unfiltered)

    def passes(self, doc: MatchDocument) -> bool:
        if self.languages is not None and doc.language not in self.languages:
            return False
        if self.sources is not None and doc.source not in self.sources:
            return False
        return not (self.min_relevance and (doc.relevance or 0.0) < self.min_relevance)


class WatchlistMatcher:
    """All watchlists compiled once; `match` finds those an article satisfies.

    `aliases` resolves entity/place names to ids (the enrichment step's `ids_for_name`).
    Muted watchlists and saved searches (`delivery: none`) are compiled (so `explain` can
    talk about them) but never match, so they never reach the outbox.
    """

    def __init__(
        self, watchlists: Sequence[Watchlist], aliases: AliasResolver | None = None
    ) -> None:
        self.watchlists = list(watchlists)
        self._entries: list[_Entry] = []
        self._by_name: dict[str, tuple[Watchlist, _Entry]] = {}
        by_text: dict[str, _Entry] = {}
        for order, wl in enumerate(self.watchlists):
            entry = by_text.get(wl.query)
            if entry is None:
                entry = _Entry.compile(resolve_aliases(parse_query(wl.query), aliases))
                by_text[wl.query] = entry
                self._entries.append(entry)
            self._by_name[wl.name] = (wl, entry)
            if not (wl.muted or wl.is_saved_search):
                entry.targets.append(_Target.of(order, wl))
        compiler = _Compiler()
        for entry in self._entries:
            if entry.targets:
                entry.check = compiler.check(entry.query)
                entry.collect = compiler.collect(entry.query)
                entry.orders = [t.order for t in entry.targets if t.unfiltered]
                entry.plain = [t.watchlist for t in entry.targets if t.unfiltered]
                entry.filtered = [t for t in entry.targets if not t.unfiltered]
        self._leaves = compiler.leaves
        self._words: dict[int, frozenset[str]] = {}
        self._build_index()

    def _build_index(self) -> None:
        self._always: list[int] = []
        self._postings: dict[Feature, list[int]] = {}  # key features -> entries
        self._pair_postings: dict[tuple[Feature, Feature], list[int]] = {}
        self._pair_features: set[Feature] = set()  # facet features some pair key names
        patterns: set[Feature] = set()  # every text feature of every clause
        for eid, entry in enumerate(self._entries):
            if not entry.targets:
                continue  # all its watchlists are muted
            if entry.features is None:
                self._always.append(eid)
                continue
            if entry.pair is not None:
                self._pair_postings.setdefault(entry.pair, []).append(eid)
                self._pair_features.update(entry.pair)
            else:
                for feat in entry.features:
                    self._postings.setdefault(feat, []).append(eid)
            for clause in entry.clauses:
                patterns.update(f for f in clause if f.startswith(" "))
        # Every phrase of every candidate query is scanned for too (NOT clauses and OR branches
        # included), so that evaluation reads presence from the scan instead of searching
        # each field again (see TextPresence).
        for eid in self._always:
            patterns.update(_leaf_patterns(self._entries[eid].query))
        for entry in self._entries:
            if entry.targets and entry.features is not None:
                patterns.update(_leaf_patterns(entry.query))
        self._patterns = frozenset(patterns)
        self.text_patterns: list[str] = sorted(patterns)  # for tools and benchmarks
        self._automaton: ahocorasick.Automaton | None = None
        if patterns:
            automaton = ahocorasick.Automaton()
            for pattern in self.text_patterns:
                automaton.add_word(pattern, pattern)
            automaton.make_automaton()
            self._automaton = automaton

    @property
    def stats(self) -> dict[str, int]:
        """Sizes, for `watchdesk status` and benchmarks."""
        return {
            "watchlists": len(self.watchlists),
            "queries": len(self._entries),
            "always_candidates": len(self._always),
            "text_patterns": len(self.text_patterns),
            "key_features": len(self._postings),
            "key_pairs": len(self._pair_postings),
        }

    def features_present(self, doc: MatchDocument) -> set[Feature]:
        """The text features of any watchlist found in the article, and its facet features.

        Also records, on `doc.presence`, which phrase patterns occur in which field.
        """
        return self._scan(doc).found

    def _scan(self, doc: MatchDocument) -> _Scan:
        """One automaton pass over each field; sets `doc.presence` for the reference
        evaluator (proximity clauses, highlights) to reuse."""
        found: set[Feature] = set(doc_features(doc))
        automaton = self._automaton
        if automaton is None:
            return _Scan(doc, found, set(), set())
        # The title and the text are scanned separately: a pattern never spans the two (the
        # scan string joins them with NUL), and no per-hit test of which side it fell on.
        pattern_of = itemgetter(1)
        title = set(map(pattern_of, automaton.iter(doc.title.joined)))
        text = set(map(pattern_of, automaton.iter(doc.text.joined)))
        doc.presence = TextPresence(self._patterns, title, text)
        found |= title
        found |= text
        return _Scan(doc, found, title, text)

    def _candidate_ids(self, scan: _Scan) -> list[int]:
        """`candidates` for an article already scanned."""
        found = scan.found
        postings = self._postings
        keyed: set[int] = set()
        for feat in found:
            eids = postings.get(feat)
            if eids:
                keyed.update(eids)
        pairs = self._pair_postings
        if pairs:
            facets = sorted(self._pair_features & found)
            for i, a in enumerate(facets):
                for b in facets[i + 1 :]:
                    eids = pairs.get((a, b))
                    if eids:
                        keyed.update(eids)
        out = list(self._always)
        entries = self._entries
        for eid in keyed:
            for clause in entries[eid].rest:
                if clause.isdisjoint(found):
                    break
            else:
                out.append(eid)
        return out

    def _query_words(self, eid: int) -> frozenset[str]:
        """The words of an entry's text clauses (lower-cased), computed on first use."""
        found = self._words.get(eid)
        if found is None:
            words: set[str] = set()
            for node in walk(self._entries[eid].query):
                if isinstance(node, Text):
                    words.update(t.lower() for t in node.tokens)
            found = self._words[eid] = frozenset(words)
        return found

    def candidates(self, doc: MatchDocument) -> list[int]:
        """Ids of the distinct queries to evaluate exactly: those whose presearch key is
        present and all of whose necessary clauses are satisfied, plus those that need none.
        """
        return self._candidate_ids(self._scan(doc))

    def match(self, article: Article) -> list[WatchlistMatch]:
        """The watchlists the article matches, in watchlist order, with their matched terms.

        With the proper-noun guard: a lower-case term's hit inside a person's name that the
        article capitalises mid-sentence does not count (docs/queries.md, "Case").
        """
        return self.match_document(MatchDocument.from_article(article, name_guard=True))

    def match_document(self, doc: MatchDocument) -> list[WatchlistMatch]:
        """`match` for an already built MatchDocument (lets callers share one per article)."""
        scan = self._scan(doc)
        entries = self._entries
        leaves = self._leaves
        # A broad query matches for hundreds of watchlists per article: their matches are
        # built in C (`_new_match` over zip) and put in watchlist order by sorting the orders.
        orders: list[int] = []
        matches: list[WatchlistMatch] = []
        chunks = 0
        guard_words = doc.guard_words  # a person's name in capitals: see below
        for eid in self._candidate_ids(scan):
            entry = entries[eid]
            passing = [t for t in entry.filtered if t.passes(doc)] if entry.filtered else None
            check = entry.check
            assert check is not None  # compiled for every entry that has targets
            if not (entry.plain or passing):
                continue
            # a query with a word of such a name takes the reference path, which applies the
            # proper-noun guard; the others cannot be affected by it
            if guard_words and not guard_words.isdisjoint(self._query_words(eid)):
                if not evaluate(entry.query, doc):
                    continue
                terms = matched_terms(entry.query, doc)
            else:
                if not check(scan):
                    continue
                ids: list[int] = []
                if entry.collect is not None:
                    entry.collect(scan, ids)
                terms = _terms(scan, ids, leaves) if ids else []
            orders += entry.orders
            matches += map(_tuple_new, repeat(WatchlistMatch), zip(entry.plain, repeat(terms)))
            if passing:
                orders += [t.order for t in passing]
                matches += [WatchlistMatch(t.watchlist, terms) for t in passing]
                chunks += 1
            chunks += 1
        if chunks < 2:
            return matches
        return list(map(matches.__getitem__, sorted(range(len(orders)), key=orders.__getitem__)))

    def explain(self, watchlist: Watchlist | str, article: Article) -> MatchExplanation:
        """Why `watchlist` did or did not match `article` (filters, presearch, query tree)."""
        name = watchlist if isinstance(watchlist, str) else watchlist.name
        if name not in self._by_name:
            raise KeyError(f"no watchlist named {name!r} in this matcher")
        wl, entry = self._by_name[name]
        doc = MatchDocument.from_article(article, name_guard=True)
        filters = _filters(wl, doc)
        if entry.features is None:
            presearch = "always a candidate (the query can match without any word or facet)"
        else:
            found = self.features_present(doc)
            missing = [c for c in entry.clauses if c.isdisjoint(found)]
            if missing:
                shown = "; no ".join(_show_clause(c) for c in missing)
                presearch = f"skipped: the article has no {shown}"
            else:
                hits = sorted(entry.features & found)
                presearch = f"candidate: found {', '.join(_show_feature(f) for f in hits)}"
        tree = explain(entry.query, doc)
        matched = tree.value and all(ok for ok, _ in filters)
        return MatchExplanation(name, matched, filters, presearch, tree)


def _leaf_patterns(query: Query) -> list[str]:
    """The substring patterns of every phrase/word/prefix clause of a query, and each word of
    its proximity clauses."""
    out: list[str] = []
    for node in walk(query):
        if isinstance(node, Text) and not node.cased:
            out.extend(_near_patterns(node) if node.slop is not None else [node.pattern])
    return out


def matched_terms(query: Query, doc: MatchDocument) -> list[MatchedTerm]:
    """The terms that made `query` true, as alert highlights: title first, then by offset."""
    hits = sorted(set(find_hits(query, doc)), key=lambda h: (h.field != "title", h.start, h.end))
    return [MatchedTerm(h.term, h.field, h.start, h.end) for h in hits]


def _show_clause(clause: Clause) -> str:
    return " or ".join(_show_feature(f) for f in sorted(clause))


def _show_feature(feature: Feature) -> str:
    if feature.startswith(" "):
        return repr(feature.strip() + ("" if feature.endswith(" ") else "*"))
    return feature


__all__ = [
    "MatchExplanation",
    "WatchlistMatch",
    "WatchlistMatcher",
    "matched_terms",
    "required_clauses",
    "required_features",
    "required_literals",
]
