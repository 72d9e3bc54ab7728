"""In-process evaluation of a query over one article: the reference semantics, and "why".

`evaluate` answers yes/no; `explain` answers with a tree saying which clause was true or false
and where each text clause was found; `find_hits` gives the character spans of the terms that
made the query true (offsets into the ORIGINAL title/text: `fold` keeps lengths).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from crawler.article import Article
from crawler.query.syntax import (
    DATE_FIELDS,
    EXISTS_FIELDS,
    FACET_FIELDS,
    TEXT_FIELDS,
    AliasResolver,
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
    cased_fold,
    is_cjk_token,
    joined_tokens,
    resolve_aliases,
    time_span,
    to_query_text,
    token_pattern,
    tokenize,
)
from crawler.textnorm import fold, is_word_char


class FieldText:
    """One text field, folded and tokenised.

    `joined` (tokens single-spaced, see `syntax.joined_tokens`) answers phrase and prefix
    tests by substring search, and token positions (for proximity) by counting the spaces
    before each occurrence: no per-token Python work on the whole field.
    """

    __slots__ = ("original", "folded", "tokens", "joined", "_positions", "_cased", "_distinct")

    def __init__(self, original: str, folded: str | None = None) -> None:
        self.original = original
        self.folded = fold(original) if folded is None else folded
        self.tokens: list[str] = tokenize(self.folded)
        self.joined = joined_tokens(self.tokens)
        self._positions: dict[tuple[str, bool], list[int]] = {}
        self._cased: FieldText | None = None
        self._distinct: frozenset[str] | None = None

    def cased(self) -> FieldText:
        """The field folded in everything but case, for `case:` clauses (built on first use)."""
        if self._cased is None:
            cased = cased_fold(self.original, self.folded)
            self._cased = self if cased == self.folded else FieldText(self.original, cased)
        return self._cased

    def distinct(self) -> frozenset[str]:
        """The field's distinct tokens (what wildcard and fuzzy words are tried against)."""
        if self._distinct is None:
            self._distinct = frozenset(self.tokens)
        return self._distinct

    def starts(self, tokens: tuple[str, ...], prefix: bool) -> list[int]:
        """Ascending token positions where the token sequence starts."""
        if len(tokens) == 1:
            return self.positions(tokens[0], prefix)
        return self._scan(token_pattern(tokens, prefix))

    def token_spans(self, token: str, prefix: bool = False) -> dict[int, tuple[int, int]]:
        """Token position -> character span, for the occurrences of one token.

        `positions` and `phrase_spans` list the same occurrences in the same order, so they
        zip; no offsets are computed for the other tokens of the field.
        """
        spans = phrase_spans(self.folded, (token,), prefix)
        return dict(zip(self.positions(token, prefix), spans, strict=True))

    def positions(self, token: str, prefix: bool = False) -> list[int]:
        """Ascending token positions where `token` occurs (or, with `prefix`, starts a token)."""
        key = (token, prefix)
        found = self._positions.get(key)
        if found is None:
            found = self._positions[key] = self._scan(token_pattern((token,), prefix))
        return found

    def _scan(self, pattern: str) -> list[int]:
        # Each token is preceded by exactly one space in `joined`, so the token index of an
        # occurrence at `pos` is the number of spaces in joined[:pos + 1], minus one.
        joined = self.joined
        out: list[int] = []
        spaces = 0
        last = 0
        pos = joined.find(pattern)
        while pos != -1:
            spaces += joined.count(" ", last, pos + 1)
            last = pos + 1
            out.append(spaces - 1)
            pos = joined.find(pattern, pos + 1)
        return out


def _reuse_match_text(article: Article) -> tuple[str | None, str | None]:
    """fold(title) and fold(text) cut from `article.match_text` when it is there.

    The language step sets match_text = fold(title + "\\n" + text [+ "\\n" + comments]);
    fold is per character (its Chinese conversion never crosses the newline), so the cut
    equals folding each field, and folding 5 KB costs more than all of matching does.
    """
    mt, title, text = article.match_text, article.title, article.text
    end = len(title) + 1 + len(text)
    if len(mt) >= end and mt[len(title)] == "\n" and (len(mt) == end or mt[end] == "\n"):
        return mt[: len(title)], mt[len(title) + 1 : end]
    return None, None


@dataclass(slots=True)
class TextPresence:
    """Phrase patterns already looked up in this article (by the watchlist matcher's scan).

    For a pattern in `known`, membership of `title`/`text` answers "does it occur in that
    field" without another substring search of the field.
    """

    known: frozenset[str]
    title: set[str]
    text: set[str]


@dataclass(slots=True)
class MatchDocument:
    """What a query can see of an article, normalised once and shared by every query.

    The sets hold the same values the store writes to `article_facets` (crawler/storage/store.py):
    countries upper-case (the article's and every entity's), regions and names folded, entity
    and place sets holding both ids and folded names.
    """

    title: FieldText
    text: FieldText
    source: str = ""
    # the source's label (`crawler.config.SourceLabel`) as stored with the article; "" = none
    label: str = ""
    language: str | None = None
    countries: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    events: frozenset[str] = frozenset()
    entities: frozenset[str] = frozenset()
    places: frozenset[str] = frozenset()
    relevance: float | None = None
    published: datetime | None = None
    fetched: datetime | None = None
    presence: TextPresence | None = field(default=None, repr=False, compare=False)
    # spans of text clauses already located in this article: many watchlists share clauses
    hit_cache: dict[tuple[str, tuple[str, ...], bool], list[tuple[int, int]]] = field(
        default_factory=dict, repr=False, compare=False
    )
    # field -> character spans of capitalised occurrences of a person's name (the proper-noun
    # guard, `name_guard=True`): empty for search and backtests, which have no such rule
    guards: dict[str, list[tuple[int, int]]] = field(
        default_factory=dict, repr=False, compare=False
    )
    # the folded words of those names: only clauses holding one of them can be set aside
    guard_words: frozenset[str] = field(default=frozenset(), repr=False, compare=False)
    # this document without the guard, for clauses under NOT (built on first use)
    plain: MatchDocument | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_article(cls, article: Article, name_guard: bool = False) -> MatchDocument:
        """Precompute everything queries look at.

        Entity aliases are resolved on the query side (`resolve_aliases`), not here, so that
        this document holds exactly what the store indexes and every backend agrees.
        `name_guard` (the alert matcher's): hits of lower-case terms inside a watched or
        tagged person's name, capitalised mid-sentence, do not count (see `guarded_hit`).
        """
        doc = cls._build(article)
        if name_guard:
            doc.guards = _person_name_spans(article, doc)
            if doc.guards:
                doc.guard_words = frozenset(
                    t
                    for e in article.entities
                    if e.type == "person" and e.name
                    for t in tokenize(fold(e.name))
                )
        return doc

    @classmethod
    def _build(cls, article: Article) -> MatchDocument:
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
        published = _utc(article.published)  # the store's rule: naive means UTC
        title_folded, text_folded = _reuse_match_text(article)
        return cls(
            title=FieldText(article.title, title_folded),
            text=FieldText(article.text, text_folded),
            source=article.source,
            label=article.label,
            language=article.language.lower() if article.language else None,
            countries=frozenset(countries),
            regions=frozenset(regions),
            events=frozenset(article.events),
            entities=frozenset(entities),
            places=frozenset(places),
            relevance=article.relevance,
            published=published,
            fetched=_utc(article.fetched),
        )

    def field_text(self, name: str, cased: bool = False) -> FieldText:
        ft = self.title if name == "title" else self.text
        return ft.cased() if cased else ft

    def facet(self, name: str) -> frozenset[str]:
        """The article's values for a facet field."""
        if name == "source":
            return frozenset((self.source,))
        if name == "label":
            return frozenset((self.label,)) if self.label else frozenset()
        if name == "language":
            return frozenset((self.language,)) if self.language else frozenset()
        return {
            "country": self.countries,
            "region": self.regions,
            "event": self.events,
            "entity": self.entities,
            "place": self.places,
        }[name]


def _person_name_spans(article: Article, doc: MatchDocument) -> dict[str, list[tuple[int, int]]]:
    """Where the article's people's names occur capitalised, per field."""
    names = {fold(e.name) for e in article.entities if e.type == "person" and e.name}
    out: dict[str, list[tuple[int, int]]] = {}
    for name in names:
        tokens = tuple(tokenize(name))
        if len(tokens) < 2:
            continue  # a one-word name: a hit can never be a strict part of it
        for field_name in TEXT_FIELDS:
            ft = doc.field_text(field_name)
            for start, end in phrase_spans(ft.folded, tokens, False):
                if ft.original[start : start + 1].isupper():
                    out.setdefault(field_name, []).append((start, end))
    return out


# What ends a sentence: a capital after one of these says nothing about a proper noun.
_SENTENCE_END = ".!?\n\r"
_OPENERS = " \t\"'“‘(«「『-—–"


def _sentence_start(text: str, start: int) -> bool:
    i = start - 1
    while i >= 0 and text[i] in _OPENERS:
        i -= 1
    return i < 0 or text[i] in _SENTENCE_END


def guard_applies(leaf: Text) -> bool:
    """The proper-noun guard concerns words and phrases written in lower case."""
    written = leaf.source or to_query_text(leaf)
    return not leaf.cased and leaf.slop is None and not any(c.isupper() for c in written)


def guarded_hit(hit: Hit, doc: MatchDocument) -> bool:
    """A hit that does not count: capitalised, not at a sentence start, and a strict part of
    a person's name occurring there ("Bill" of "said Bill Clinton" for the term `bill`)."""
    spans = doc.guards.get(hit.field)
    if not spans:
        return False
    original = doc.field_text(hit.field).original
    if not original[hit.start : hit.start + 1].isupper() or _sentence_start(original, hit.start):
        return False
    return any(a <= hit.start and hit.end <= b and (hit.start, hit.end) != (a, b) for a, b in spans)


def _utc(at: datetime | None) -> datetime | None:
    if at is not None and at.tzinfo is None:
        return at.replace(tzinfo=UTC)
    return at


@dataclass(frozen=True, slots=True)
class Hit:
    """Where a text clause was found: `term` as written in the query, field, character span."""

    term: str
    field: str
    start: int
    end: int


# -- text matching -------------------------------------------------------------------------------


def _near_windows(leaf: Text, ft: FieldText, first_only: bool) -> list[list[int]]:
    """Token positions of each window holding every token with at most `slop` others inside.

    Sliding window over the merged positions; a width test on the shortest window ending at
    each position is enough, since any wider window holding the same tokens is worse.
    """
    k = len(leaf.tokens)
    last = k - 1
    assert leaf.slop is not None
    width = leaf.slop + k - 1  # the widest a window may span, in positions
    prefixes = [leaf.prefix and i == last for i in range(k)]
    # The longest word is likely the rarest: where it occurs only a few times, the other words
    # are looked for next to it instead of everywhere in the field (`_events_near`).
    rarest = max(range(k), key=lambda i: len(leaf.tokens[i]))
    anchors = ft.positions(leaf.tokens[rarest], prefixes[rarest])
    if not anchors:
        return []
    if len(anchors) * (2 * width + 1) <= _NEAR_LIMIT:
        events = _events_near(leaf, ft, prefixes, anchors, width)
    else:
        lists = [ft.positions(t, p) for t, p in zip(leaf.tokens, prefixes, strict=True)]
        events = sorted((p, i) for i, lst in enumerate(lists) for p in lst)
    counts = [0] * k
    have = 0
    left = 0
    windows: list[list[int]] = []
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


# Positions `_events_near` may look at before locating every word in the field is cheaper.
_NEAR_LIMIT = 120


def _events_near(
    leaf: Text, ft: FieldText, prefixes: list[bool], anchors: list[int], width: int
) -> list[tuple[int, int]]:
    """(position, token index) of every occurrence within `width` positions of an anchor (the
    occurrences of one of the words), in order.

    Every event of a window that passes the width test is that close to the anchor inside it,
    and the shortest window ending at such an event is the same over these events as over all
    of them: the windows found are exactly those of the full merge, without locating every
    occurrence of a common word ("of") in the whole field.
    """
    tokens = ft.tokens
    whole: dict[str, list[int]] = {}  # words matched exactly -> their indexes
    prefixed: list[tuple[int, str]] = []  # (index, stem) of a prefix word
    for i, (want, prefix) in enumerate(zip(leaf.tokens, prefixes, strict=True)):
        if prefix:
            prefixed.append((i, want))
        else:
            whole.setdefault(want, []).append(i)
    events: list[tuple[int, int]] = []
    done = 0  # positions below this are already looked at
    for anchor in anchors:
        for q in range(max(done, anchor - width), min(len(tokens), anchor + width + 1)):
            tok = tokens[q]
            found = whole.get(tok)
            if prefixed:
                more = [i for i, stem in prefixed if tok.startswith(stem)]
                if more:
                    found = sorted((found or []) + more)
            if found:
                events.extend((q, i) for i in found)
        done = max(done, anchor + width + 1)
    return events


def _text_true(leaf: Text, doc: MatchDocument) -> bool:
    if doc.guards and guard_applies(leaf):
        return bool(_text_hits(leaf, doc))
    if leaf.slop is None:
        pattern = leaf.pattern
        presence = doc.presence
        if presence is not None and not leaf.cased and pattern in presence.known:
            return any(
                pattern in (presence.title if name == "title" else presence.text)
                for name in leaf.fields
            )
        return any(pattern in doc.field_text(name, leaf.cased).joined for name in leaf.fields)
    return any(_near_windows(leaf, doc.field_text(name, leaf.cased), True) for name in leaf.fields)


def _pattern_tokens(leaf: Pattern, ft: FieldText) -> list[str]:
    return [t for t in ft.distinct() if leaf.matches(t)]


def _occurrences(alts: tuple[Text, ...], ft: FieldText) -> list[tuple[int, list[int]]]:
    """(length in tokens, ascending start positions) of each alternative of a NEAR side."""
    return [(len(t.tokens), ft.starts(t.tokens, t.prefix)) for t in alts]


def _near_pairs(leaf: Near, ft: FieldText, first_only: bool) -> list[tuple[int, int, int, int]]:
    """(start, end, start, end) token positions of the left and right occurrences that are
    close enough (at most `distance` words between them, left first when ordered)."""
    n = leaf.distance
    left = _occurrences(leaf.left, ft)
    right = _occurrences(leaf.right, ft)
    out: list[tuple[int, int, int, int]] = []
    for a_len, a_starts in left:
        if not a_starts:
            continue
        for b_len, b_starts in right:
            if not b_starts:
                continue
            for a in a_starts:
                a_end = a + a_len - 1
                # right after: b starts within n words after a ends
                lo = bisect_left(b_starts, a_end + 1)
                hi = bisect_right(b_starts, a_end + 1 + n)
                for b in b_starts[lo:hi]:
                    out.append((a, a_end, b, b + b_len - 1))
                    if first_only:
                        return out
                if leaf.ordered:
                    continue
                # right before: b ends within n words before a starts
                lo = bisect_left(b_starts, a - 1 - n - (b_len - 1))
                hi = bisect_right(b_starts, a - 1 - (b_len - 1))
                for b in b_starts[lo:hi]:
                    out.append((a, a_end, b, b + b_len - 1))
                    if first_only:
                        return out
    return out


def present_fields(doc: MatchDocument) -> list[str]:
    """The fields `_exists_:` is true for in this article (what an index records)."""
    return [name for name in EXISTS_FIELDS if _exists_true(Exists(name), doc)]


def _exists_true(leaf: Exists, doc: MatchDocument) -> bool:
    name = leaf.field
    if name in TEXT_FIELDS:
        return bool(doc.field_text(name).tokens)
    if name in FACET_FIELDS:
        return any(v for v in doc.facet(name))
    value = {"published": doc.published, "fetched": doc.fetched, "relevance": doc.relevance}
    return value[name] is not None


def phrase_spans(folded: str, tokens: tuple[str, ...], prefix: bool) -> list[tuple[int, int]]:
    """Character spans of every occurrence of a token sequence in folded text.

    `str.find` locates the first token; where a token starts there, the following characters
    are walked the way TOKEN_RE splits them to check the rest: exactly the token semantics,
    without tokenising (or compiling a regex for) the whole field. A prefix match extends to
    the end of its word.
    """
    out: list[tuple[int, int]] = []
    first = tokens[0]
    cjk = [is_cjk_token(t) for t in tokens]
    pos = folded.find(first)
    while pos != -1:
        if cjk[0] or pos == 0 or not is_word_char(folded[pos - 1]):
            end = _match_from(folded, pos, tokens, cjk, prefix)
            if end is not None:
                out.append((pos, end))
        pos = folded.find(first, pos + 1)
    return out


def _match_from(
    folded: str, pos: int, tokens: tuple[str, ...], cjk: list[bool], prefix: bool
) -> int | None:
    """End offset of the phrase when its first token starts at `pos`, else None.

    Walks the characters the way TOKEN_RE splits them (letters/digits runs; each Chinese
    character alone; everything else separates), without a regex per step: this runs for
    every occurrence of every highlighted term.
    """
    size = len(folded)
    last = len(tokens) - 1
    cur = pos
    for i, want in enumerate(tokens):
        if i:
            while cur < size and not folded[cur].isalnum():  # separators: not tokens
                cur += 1
        if not folded.startswith(want, cur):
            return None
        end = cur + len(want)
        if not cjk[i]:
            if prefix and i == last:
                while end < size and is_word_char(folded[end]):
                    end += 1
            elif end < size and is_word_char(folded[end]):
                return None  # `want` is only the start of a longer word
        cur = end
    return cur


def _spans_at(ft: FieldText, tokens: tuple[str, ...], prefix: bool) -> dict[int, tuple[int, int]]:
    """Start position -> character span of every occurrence of a token sequence."""
    return dict(
        zip(ft.starts(tokens, prefix), phrase_spans(ft.folded, tokens, prefix), strict=False)
    )


def _other_hits(leaf: Pattern | Near, doc: MatchDocument) -> list[Hit]:
    term = leaf.source or to_query_text(leaf)
    hits: list[Hit] = []
    for name in leaf.fields:
        ft = doc.field_text(name)
        if isinstance(leaf, Pattern):
            for token in _pattern_tokens(leaf, ft):
                hits.extend(Hit(term, name, a, b) for a, b in ft.token_spans(token).values())
            continue
        pairs = _near_pairs(leaf, ft, first_only=False)
        if not pairs:
            continue
        spans: dict[int, tuple[int, int]] = {}
        for alt in leaf.left + leaf.right:
            for start, span in _spans_at(ft, alt.tokens, alt.prefix).items():
                spans.setdefault(start, span)
        seen: set[int] = set()
        for a, _, b, _ in pairs:
            for p in (a, b):
                if p not in seen and p in spans:
                    seen.add(p)
                    hits.append(Hit(term, name, *spans[p]))
    hits.sort(key=lambda h: (h.field != "title", h.start))
    return hits


def _text_hits(leaf: Text, doc: MatchDocument) -> list[Hit]:
    term = leaf.source or to_query_text(leaf)
    hits: list[Hit] = []
    for name in leaf.fields:
        ft = doc.field_text(name, leaf.cased)
        if leaf.slop is None:
            key = (name + ("#cased" if leaf.cased else ""), leaf.tokens, leaf.prefix)
            found = doc.hit_cache.get(key)
            if found is None:
                found = doc.hit_cache[key] = (
                    phrase_spans(ft.folded, leaf.tokens, leaf.prefix)
                    if leaf.pattern in ft.joined
                    else []
                )
            hits.extend(Hit(term, name, start, end) for start, end in found)
        else:
            windows = _near_windows(leaf, ft, first_only=False)
            last = len(leaf.tokens) - 1
            spans: dict[int, tuple[int, int]] = {}
            if windows:
                for i, tok in enumerate(leaf.tokens):
                    spans.update(ft.token_spans(tok, leaf.prefix and i == last))
            for window in windows:
                for p in window:
                    spans_p = spans.pop(p, None)  # each word once, even in several windows
                    if spans_p is not None:
                        hits.append(Hit(term, name, *spans_p))
    hits.sort(key=lambda h: (h.field != "title", h.start))
    if doc.guards and guard_applies(leaf):
        hits = [h for h in hits if not guarded_hit(h, doc)]
    return hits


# -- other leaves ----------------------------------------------------------------------------


def _range_true(leaf: Range, doc: MatchDocument) -> bool:
    if leaf.field in DATE_FIELDS:
        at = doc.published if leaf.field == "published" else doc.fetched
        return at is not None and time_span(leaf).contains(at)
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
    if isinstance(leaf, Pattern):
        return any(
            any(leaf.matches(t) for t in doc.field_text(name).distinct()) for name in leaf.fields
        )
    if isinstance(leaf, Near):
        return any(_near_pairs(leaf, doc.field_text(name), True) for name in leaf.fields)
    if isinstance(leaf, Exists):
        return _exists_true(leaf, doc)
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
        return not _eval(query.child, _unguarded(doc))
    return _leaf_true(query, doc)


def _unguarded(doc: MatchDocument) -> MatchDocument:
    """The document as search sees it, for clauses under NOT: the proper-noun guard only
    keeps a word from making a query true, never from excluding an article (`bill AND NOT
    clinton` still leaves out "said Bill Clinton")."""
    if not doc.guards:
        return doc
    if doc.plain is None:
        doc.plain = replace(doc, guards={}, guard_words=frozenset(), plain=None)
    return doc.plain


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
        words = doc.field_text(h.field).original[h.start : h.end]
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
        kid = _explain(query.child, _unguarded(doc))
        return Explanation(not kid.value, "not", "NOT", children=[kid])
    label = to_query_text(query)
    if query.source:  # as the editor wrote it
        label = (
            query.source
            if isinstance(query, Text | Pattern | Near | Exists)
            else f"{query.field}:{query.source}"
        )
    if isinstance(query, Pattern | Near):
        hits = _other_hits(query, doc)
        where = "" if query.fields == TEXT_FIELDS else f" (in {query.fields[0]} only)"
        return Explanation(bool(hits), "text", label + where, _describe_hits(hits, doc), hits=hits)
    if isinstance(query, Exists):
        value = _exists_true(query, doc)
        return Explanation(value, "facet", label, "has a value" if value else "no value")
    if isinstance(query, Text):
        hits = _text_hits(query, doc)
        where = "" if query.fields == TEXT_FIELDS else f" (in {query.fields[0]} only)"
        detail = _describe_hits(hits, doc)
        if doc.guards and guard_applies(query):
            unguarded = MatchDocument(doc.title, doc.text)
            aside = [h for h in _text_hits(query, unguarded) if guarded_hit(h, doc)]
            if aside:
                words = ", ".join(
                    repr(doc.field_text(h.field).original[h.start : h.end]) for h in aside[:3]
                )
                detail += f"; set aside as part of a person's name: {words}"
        return Explanation(bool(hits), "text", label + where, detail, hits=hits)
    if isinstance(query, Facet):
        have = doc.facet(query.field)
        value = any(v in have for v in query.values)
        shown = ", ".join(sorted(have)[:8]) or "none"
        return Explanation(value, "facet", label, f"article {query.field}: {shown}")
    value = _range_true(query, doc)
    at = doc.fetched if query.field == "fetched" else doc.published
    actual: object = at.isoformat() if at else None
    if query.field == "relevance":
        actual = doc.relevance
    shown_value = "none" if actual is None else str(actual)
    return Explanation(value, "range", label, f"article {query.field}: {shown_value}")


def find_hits(query: Query, doc: MatchDocument, aliases: AliasResolver | None = None) -> list[Hit]:
    """Spans of the text terms that made the query true; empty when it does not match.

    The same hits as `explain(...).matched_hits()`, without building the explanation.
    """
    if aliases is not None:
        query = resolve_aliases(query, aliases)
    return _true_hits(query, doc) if _eval(query, doc) else []


def _true_hits(query: Query, doc: MatchDocument) -> list[Hit]:
    """Hits under a node already known to be true (NOT subtrees and false branches skipped)."""
    if isinstance(query, Text):
        return _text_hits(query, doc)
    if isinstance(query, Pattern | Near):
        return _other_hits(query, doc)
    out: list[Hit] = []
    if isinstance(query, And):
        for child in query.children:
            out.extend(_true_hits(child, doc))
    elif isinstance(query, Or):
        for child in query.children:
            if _eval(child, doc):
                out.extend(_true_hits(child, doc))
    return out
