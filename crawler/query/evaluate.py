"""In-process evaluation of a query over one article: the reference semantics, and "why".

`evaluate` answers yes/no; `explain` answers with a tree saying which clause was true or false
and where each text clause was found; `find_hits` gives the character spans of the terms that
made the query true (offsets into the ORIGINAL title/text: `fold` keeps lengths).
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import UTC, datetime
from heapq import merge

from crawler.article import Article
from crawler.query.syntax import (
    TEXT_FIELDS,
    TOKEN_RE,
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
    to_query_text,
    tokenize,
)
from crawler.textnorm import fold


class FieldText:
    """One text field, folded and tokenised; positions and offsets are computed on first use."""

    __slots__ = ("original", "folded", "tokens", "_spans", "_index", "_vocab")

    def __init__(self, original: str, folded: str | None = None) -> None:
        self.original = original
        self.folded = fold(original) if folded is None else folded
        self.tokens: list[str] = tokenize(self.folded)
        self._spans: list[tuple[int, int]] | None = None
        self._index: dict[str, list[int]] | None = None
        self._vocab: list[str] | None = None

    @property
    def spans(self) -> list[tuple[int, int]]:
        """(start, end) character offsets of each token, parallel to `tokens`."""
        if self._spans is None:
            self._spans = [m.span() for m in TOKEN_RE.finditer(self.folded)]
        return self._spans

    def positions(self, token: str) -> list[int]:
        """Token positions where `token` occurs, ascending."""
        if self._index is None:
            index: dict[str, list[int]] = {}
            for i, tok in enumerate(self.tokens):
                index.setdefault(tok, []).append(i)
            self._index = index
        return self._index.get(token, [])

    def prefix_positions(self, prefix: str) -> list[int]:
        """Token positions of every token starting with `prefix`, ascending."""
        if self._vocab is None:
            self.positions("")  # builds the index
            assert self._index is not None
            self._vocab = sorted(self._index)
        assert self._index is not None
        lists = []
        i = bisect_left(self._vocab, prefix)
        while i < len(self._vocab) and self._vocab[i].startswith(prefix):
            lists.append(self._index[self._vocab[i]])
            i += 1
        if len(lists) == 1:
            return lists[0]
        return list(merge(*lists))


@dataclass(slots=True)
class MatchDocument:
    """What a query can see of an article, normalised once and shared by every query.

    The sets hold the same values the store writes to `article_facets` (see crawler/store.py):
    countries upper-case (the article's and every entity's), regions and names folded, entity
    and place sets holding both ids and folded names.
    """

    title: FieldText
    text: FieldText
    source: str = ""
    language: str | None = None
    countries: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    events: frozenset[str] = frozenset()
    entities: frozenset[str] = frozenset()
    places: frozenset[str] = frozenset()
    relevance: float | None = None
    published: datetime | None = None

    @classmethod
    def from_article(cls, article: Article) -> MatchDocument:
        """Precompute everything queries look at.

        Entity aliases are resolved on the query side (`resolve_aliases`), not here, so that
        this document holds exactly what the store indexes and every backend agrees.
        """
        countries = {c.upper() for c in article.countries}
        regions: set[str] = set()
        entities: set[str] = set()
        places: set[str] = set()
        for ent in article.entities:
            if ent.country:
                countries.add(ent.country.upper())
            if ent.region:
                regions.add(fold(ent.region))
            keys = {ent.id, fold(ent.name)}
            entities |= keys
            if ent.type == "place":
                places |= keys
        published = article.published
        if published is not None and published.tzinfo is None:
            published = published.replace(tzinfo=UTC)  # the store's rule: naive means UTC
        return cls(
            title=FieldText(article.title),
            text=FieldText(article.text),
            source=article.source,
            language=article.language.lower() if article.language else None,
            countries=frozenset(countries),
            regions=frozenset(regions),
            events=frozenset(article.events),
            entities=frozenset(entities),
            places=frozenset(places),
            relevance=article.relevance,
            published=published,
        )

    def field_text(self, name: str) -> FieldText:
        return self.title if name == "title" else self.text

    def facet(self, name: str) -> frozenset[str]:
        """The article's values for a facet field."""
        if name == "source":
            return frozenset((self.source,))
        if name == "language":
            return frozenset((self.language,)) if self.language else frozenset()
        return {
            "country": self.countries,
            "region": self.regions,
            "event": self.events,
            "entity": self.entities,
            "place": self.places,
        }[name]


@dataclass(frozen=True, slots=True)
class Hit:
    """Where a text clause was found: `term` as written in the query, field, character span."""

    term: str
    field: str
    start: int
    end: int


# -- text matching -------------------------------------------------------------------------------


def _phrase_starts(leaf: Text, ft: FieldText, first_only: bool) -> list[int]:
    toks = leaf.tokens
    n = len(toks)
    last = n - 1
    if n == 1:
        return ft.prefix_positions(toks[0]) if leaf.prefix else ft.positions(toks[0])
    doc = ft.tokens
    out = []
    for p in ft.positions(toks[0]):
        if p + n > len(doc):
            break
        if all(doc[p + i] == toks[i] for i in range(1, last)) and (
            doc[p + last].startswith(toks[last]) if leaf.prefix else doc[p + last] == toks[last]
        ):
            out.append(p)
            if first_only:
                break
    return out


def _near_windows(leaf: Text, ft: FieldText, first_only: bool) -> list[list[int]]:
    """Token positions of each window holding every token with at most `slop` others inside.

    Sliding window over the merged positions; a width test on the shortest window ending at
    each position is enough, since any wider window holding the same tokens is worse.
    """
    k = len(leaf.tokens)
    last = k - 1
    lists = [
        ft.prefix_positions(t) if leaf.prefix and i == last else ft.positions(t)
        for i, t in enumerate(leaf.tokens)
    ]
    if any(not lst for lst in lists):
        return []
    events = sorted((p, i) for i, lst in enumerate(lists) for p in lst)
    counts = [0] * k
    have = 0
    left = 0
    windows: list[list[int]] = []
    assert leaf.slop is not None
    for right, (p, i) in enumerate(events):
        counts[i] += 1
        if counts[i] == 1:
            have += 1
        while have == k:
            lp, li = events[left]
            if counts[li] == 1:  # cannot shrink further without losing a token
                if (p - lp + 1) - k <= leaf.slop:
                    windows.append([q for q, _ in events[left : right + 1]])
                    if first_only:
                        return windows
                break
            counts[li] -= 1
            left += 1
    return windows


def _text_true(leaf: Text, doc: MatchDocument) -> bool:
    for name in leaf.fields:
        ft = doc.field_text(name)
        if leaf.slop is None:
            if _phrase_starts(leaf, ft, first_only=True):
                return True
        elif _near_windows(leaf, ft, first_only=True):
            return True
    return False


def _text_hits(leaf: Text, doc: MatchDocument) -> list[Hit]:
    term = leaf.source or to_query_text(leaf)
    hits: list[Hit] = []
    for name in leaf.fields:
        ft = doc.field_text(name)
        spans = ft.spans
        if leaf.slop is None:
            n = len(leaf.tokens)
            for p in _phrase_starts(leaf, ft, first_only=False):
                hits.append(Hit(term, name, spans[p][0], spans[p + n - 1][1]))
        else:
            seen: set[int] = set()
            for window in _near_windows(leaf, ft, first_only=False):
                for p in window:
                    if p not in seen:
                        seen.add(p)
                        hits.append(Hit(term, name, spans[p][0], spans[p][1]))
    hits.sort(key=lambda h: (h.field != "title", h.start))
    return hits


# -- other leaves ----------------------------------------------------------------------------


def _range_true(leaf: Range, doc: MatchDocument) -> bool:
    if leaf.field == "published":
        if doc.published is None:
            return False
        day = doc.published.astimezone(UTC).date()
        start, stop = day_bounds(leaf)
        return (start is None or day >= start) and (stop is None or day < stop)
    value = doc.relevance
    if value is None:
        return False
    low, high = leaf.low, leaf.high
    assert not isinstance(low, datetime) and not isinstance(high, datetime)
    if low is not None and (value < low if leaf.include_low else value <= low):  # type: ignore[operator]
        return False
    return not (
        high is not None and (value > high if leaf.include_high else value >= high)  # type: ignore[operator]
    )


def _leaf_true(leaf: Query, doc: MatchDocument) -> bool:
    if isinstance(leaf, Text):
        return _text_true(leaf, doc)
    if isinstance(leaf, Facet):
        have = doc.facet(leaf.field)
        return any(v in have for v in leaf.values)
    assert isinstance(leaf, Range)
    return _range_true(leaf, doc)


def evaluate(query: Query, doc: MatchDocument, aliases: AliasResolver | None = None) -> bool:
    """Whether the article matches the query (short-circuits; no offsets computed).

    `aliases` resolves entity/place names; callers evaluating one query many times resolve
    once with `resolve_aliases` and leave it None here.
    """
    if aliases is not None:
        query = resolve_aliases(query, aliases)
    return _eval(query, doc)


def _eval(query: Query, doc: MatchDocument) -> bool:
    if isinstance(query, And):
        return all(_eval(c, doc) for c in query.children)
    if isinstance(query, Or):
        return any(_eval(c, doc) for c in query.children)
    if isinstance(query, Not):
        return not _eval(query.child, doc)
    return _leaf_true(query, doc)


# -- explanations --------------------------------------------------------------------------------


@dataclass(slots=True)
class Explanation:
    """One node of "why (not)": its verdict, what it tested, and its children's explanations.

    `str()` gives an indented tree for editors, one line per clause.
    """

    value: bool
    kind: str  # and, or, not, text, facet, range
    label: str
    detail: str = ""
    hits: list[Hit] = field(default_factory=list)
    children: list[Explanation] = field(default_factory=list)

    def lines(self, depth: int = 0) -> list[str]:
        mark = "✓" if self.value else "✗"
        line = f"{'  ' * depth}{mark} {self.label}"
        if self.detail:
            line += f" — {self.detail}"
        out = [line]
        for child in self.children:
            out.extend(child.lines(depth + 1))
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def matched_hits(self) -> list[Hit]:
        """Hits of the text clauses that made this node true (none under NOT, none if false)."""
        if not self.value or self.kind == "not":
            return []
        out = list(self.hits)
        for child in self.children:
            out.extend(child.matched_hits())
        return out


def _describe_hits(hits: list[Hit], doc: MatchDocument) -> str:
    if not hits:
        return "not found"
    parts = []
    for h in hits[:3]:
        words = doc.field_text(h.field).original[h.start:h.end]
        parts.append(f"{h.field}[{h.start}:{h.end}] {words!r}")
    more = f" (+{len(hits) - 3} more)" if len(hits) > 3 else ""
    return "found at " + ", ".join(parts) + more


def explain(query: Query, doc: MatchDocument, aliases: AliasResolver | None = None) -> Explanation:
    """The full evaluation tree (no short-circuit), with text hits, for "why did it (not) match"."""
    if aliases is not None:
        query = resolve_aliases(query, aliases)
    return _explain(query, doc)


def _explain(query: Query, doc: MatchDocument) -> Explanation:
    if isinstance(query, And | Or):
        kids = [_explain(c, doc) for c in query.children]
        if isinstance(query, And):
            value = all(k.value for k in kids)
            detail = f"{sum(not k.value for k in kids)} of {len(kids)} clauses false"
            detail = "" if value else detail
            return Explanation(value, "and", "AND (all of)", detail, children=kids)
        value = any(k.value for k in kids)
        detail = "" if value else "no clause true"
        return Explanation(value, "or", "OR (any of)", detail, children=kids)
    if isinstance(query, Not):
        kid = _explain(query.child, doc)
        return Explanation(not kid.value, "not", "NOT", children=[kid])
    label = to_query_text(query)
    if query.source:  # as the editor wrote it
        label = query.source if isinstance(query, Text) else f"{query.field}:{query.source}"
    if isinstance(query, Text):
        hits = _text_hits(query, doc)
        where = "" if query.fields == TEXT_FIELDS else f" (in {query.fields[0]} only)"
        return Explanation(bool(hits), "text", label + where, _describe_hits(hits, doc), hits=hits)
    if isinstance(query, Facet):
        have = doc.facet(query.field)
        value = any(v in have for v in query.values)
        shown = ", ".join(sorted(have)[:8]) or "none"
        return Explanation(value, "facet", label, f"article {query.field}: {shown}")
    value = _range_true(query, doc)
    have = doc.published.isoformat() if query.field == "published" and doc.published else (
        doc.relevance if query.field == "relevance" else None
    )
    shown_value = "none" if have is None else str(have)
    return Explanation(value, "range", label, f"article {query.field}: {shown_value}")


def find_hits(query: Query, doc: MatchDocument, aliases: AliasResolver | None = None) -> list[Hit]:
    """Spans of the text terms that made the query true; empty when it does not match."""
    return explain(query, doc, aliases).matched_hits()
