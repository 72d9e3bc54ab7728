"""The query language's abstract syntax: the one meaning that every backend compiles from.

`parser.py` builds these trees from query text; `evaluate.py`, `sqlite.py` and `elasticsearch.py`
each read them. Text is held as tokens of folded text (`tokenize`), the unit every backend agrees
on: a run of letters/digits in alphabetic scripts, a single character in Chinese.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from dataclasses import field as _field  # `field` is also an attribute name below
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from crawler.textnorm import fold

# The fields a query may name. Text fields are searched word by word; facet fields compare a
# whole value; range fields compare numbers or dates.
TEXT_FIELDS: tuple[str, ...] = ("title", "text")
FACET_FIELDS: tuple[str, ...] = (
    "source",
    "label",
    "language",
    "entity",
    "place",
    "country",
    "region",
    "event",
)
RANGE_FIELDS: tuple[str, ...] = ("relevance", "published", "fetched")
DATE_FIELDS: tuple[str, ...] = ("published", "fetched")
KNOWN_FIELDS: tuple[str, ...] = TEXT_FIELDS + FACET_FIELDS + RANGE_FIELDS
# What `_exists_:field` may name: every field of an article.
EXISTS_FIELDS: tuple[str, ...] = KNOWN_FIELDS

# Meltwater's bare NEAR/ONEAR: "no more than 4 words between each other"
# (help.meltwater.com, "How to Master Boolean Search 2/3").
DEFAULT_NEAR = 4
# Fuzzy terms: at most two edits, Lucene's and Elasticsearch's own maximum (FuzzyQuery).
MAX_FUZZY_EDITS = 2

# The exchange kinds of DOMAIN.md; the enrichment step assigns these labels.
EVENT_LABELS: tuple[str, ...] = (
    "sister_city",
    "delegation",
    "agreement",
    "investment",
    "education",
    "legislation",
    "influence",
    "termination",
)

# A resolver from a folded entity name or alias to the ids of the entities it names
# (the enrichment step's `EntityMatcher.ids_for_name`).
AliasResolver = Callable[[str], "set[str] | frozenset[str]"]

# CJK ideographs are tokens on their own (Chinese has no spaces); every other run of letters and
# digits is one token. This is the tokenisation SQLite's unicode61 applies to
# `textnorm.index_text`, written for Python: same ranges as textnorm's CJK fold.
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
TOKEN_RE = re.compile(f"[{_CJK}]|[^\\W_{_CJK}]+")
_CJK_CHAR = re.compile(f"[{_CJK}]")


def cased_fold(original: str, folded: str | None = None) -> str:
    """`fold(original)` with the original's capitals put back: what `case:` terms compare.

    fold keeps lengths, so the two line up character by character.
    """
    folded = fold(original) if folded is None else folded
    if original.islower() or not any(c.isupper() for c in original):
        return folded
    out = []
    for o, f in zip(original, folded, strict=True):
        up = f.upper()
        out.append(up if o.isupper() and len(up) == 1 else f)
    return "".join(out)


def tokenize(folded: str) -> list[str]:
    """The tokens of already folded text, in order (see TOKEN_RE)."""
    return TOKEN_RE.findall(folded)


def is_cjk_token(token: str) -> bool:
    return _CJK_CHAR.match(token) is not None


def joined_tokens(tokens: list[str]) -> str:
    """Tokens single-spaced with a space at each end: " sister city ... ".

    A token sequence occurs in a text iff its `token_pattern` is a substring of this string,
    whatever punctuation or spacing separated the words: phrase tests become one C-speed
    substring search, and the watchlist presearch scans the same string.
    """
    return " " + " ".join(tokens) + " "


def token_pattern(tokens: tuple[str, ...] | list[str], prefix: bool = False) -> str:
    """What a phrase (last token a prefix if `prefix`) looks like inside `joined_tokens`."""
    return " " + " ".join(tokens) + ("" if prefix else " ")


@dataclass(frozen=True, slots=True)
class Text:
    """Words of the title and/or text.

    - `slop is None`: the tokens occur consecutively, in order (a word is a one-token phrase);
    - `slop == n`: every token occurs, in any order, inside a window holding at most `n` other
      tokens (Lucene's "intervening unmatched positions"); the parser keeps the tokens of such a
      clause distinct, so no two can match the same word;
    - `prefix`: the last token only has to start a word (`cit*` finds city, cities);
    - `cased`: the tokens keep their capitals (`case:Bill`): they are compared with the
      article's tokens folded in everything but case (`cased_fold`);
    - `boost`: a ranking weight (`quick^2`); it never changes what matches.
    """

    tokens: tuple[str, ...]
    fields: tuple[str, ...] = TEXT_FIELDS
    prefix: bool = False
    slop: int | None = None
    cased: bool = False
    boost: float = _field(default=1.0, compare=False)
    pos: int = _field(default=0, compare=False)
    source: str = _field(default="", compare=False)  # as the user wrote it, for explanations
    # derived once (matching tests them for every candidate article)
    pattern: str = _field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pattern", token_pattern(self.tokens, self.prefix))


@dataclass(frozen=True, slots=True)
class Pattern:
    """One word given by a pattern: a wildcard (`wom?n`, `organi*ation`: `?` one character,
    `*` any run) or a fuzzy word (`beijng~1`: within `distance` edits, a transposition of two
    neighbours counting as one, as Lucene's FuzzyQuery). `value` is folded like the article's
    tokens; the pattern is matched against whole tokens.
    """

    kind: Literal["wildcard", "fuzzy"]
    value: str
    fields: tuple[str, ...] = TEXT_FIELDS
    distance: int = 0
    boost: float = _field(default=1.0, compare=False)
    pos: int = _field(default=0, compare=False)
    source: str = _field(default="", compare=False)
    regex: re.Pattern[str] | None = _field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        rx = None
        if self.kind == "wildcard":
            body = "".join(
                "." if ch == "?" else ".*" if ch == "*" else re.escape(ch) for ch in self.value
            )
            rx = re.compile(body, re.DOTALL)
        object.__setattr__(self, "regex", rx)

    def matches(self, token: str) -> bool:
        """Whether one (folded) token of an article is a word of this pattern."""
        if self.regex is not None:
            return self.regex.fullmatch(token) is not None
        return edit_distance(self.value, token, self.distance) <= self.distance


def edit_distance(a: str, b: str, bound: int) -> int:
    """Optimal-string-alignment distance (a swap of neighbours is one edit), capped at bound+1.

    The distance Lucene's fuzzy automata accept with transpositions on (Elasticsearch's
    default `transpositions: true`).
    """
    if abs(len(a) - len(b)) > bound:
        return bound + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > bound:
            return bound + 1
        prev2, prev = prev, cur
    return prev[-1]


@dataclass(frozen=True, slots=True)
class Near:
    """Two clauses close together in one text field: `a NEAR/n b`, `a ONEAR/n b`.

    Each side is a list of alternatives (words, phrases, prefixes: an OR-group); true when an
    occurrence of one alternative of each side, not sharing a word, has at most `distance`
    words between them (Meltwater's count), the left one first when `ordered`.
    """

    left: tuple[Text, ...]
    right: tuple[Text, ...]
    distance: int
    ordered: bool
    fields: tuple[str, ...] = TEXT_FIELDS
    pos: int = _field(default=0, compare=False)
    source: str = _field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class Exists:
    """`_exists_:field`: the article has a value for the field (a text field: a word)."""

    field: str
    pos: int = _field(default=0, compare=False)
    source: str = _field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class DateMath:
    """Elasticsearch date math relative to the time of the search: `now-7d`, `now/d`.

    `offsets` are (amount, unit) steps applied in order, `round_to` the unit rounded to
    (units: y M w d h H m s, as Elasticsearch). Resolved when a query runs, never at parse
    time, so a watchlist's `now` moves with the clock.
    """

    expr: str
    offsets: tuple[tuple[int, str], ...] = ()
    round_to: str | None = None

    def moment(self, now: datetime) -> datetime:
        at = now.astimezone(UTC)
        for amount, unit in self.offsets:
            at = _shift(at, amount, unit)
        return at


def _shift(at: datetime, amount: int, unit: str) -> datetime:
    if unit in ("y", "M"):
        months = at.month - 1 + amount * (12 if unit == "y" else 1)
        year, month = at.year + months // 12, months % 12 + 1
        day = min(at.day, _month_days(year, month))
        return at.replace(year=year, month=month, day=day)
    seconds = {"w": 604800, "d": 86400, "h": 3600, "H": 3600, "m": 60, "s": 1}[unit]
    return at + timedelta(seconds=amount * seconds)


def _month_days(year: int, month: int) -> int:
    nxt = date(year + month // 12, month % 12 + 1, 1)
    return (nxt - timedelta(days=1)).day


def _floor(at: datetime, unit: str) -> datetime:
    if unit == "y":
        return at.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    if unit == "M":
        return at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if unit == "w":  # ISO weeks start on Monday, as Elasticsearch's rounding
        day = at.replace(hour=0, minute=0, second=0, microsecond=0)
        return day - timedelta(days=day.weekday())
    if unit == "d":
        return at.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit in ("h", "H"):
        return at.replace(minute=0, second=0, microsecond=0)
    if unit == "m":
        return at.replace(second=0, microsecond=0)
    return at.replace(microsecond=0)


@dataclass(frozen=True, slots=True)
class Facet:
    """A whole-value field: true when the article's set for `field` holds any of `values`.

    Values are normalised by the parser the way the article side is (country upper case,
    language and label lower case, region/entity/place names folded); entity and place keep
    the value as written too, since it may be an id such as `org:cpaffc`.
    """

    field: str
    values: tuple[str, ...]
    pos: int = _field(default=0, compare=False)
    source: str = _field(default="", compare=False)


Bound = float | date | datetime | DateMath | None


@dataclass(frozen=True, slots=True)
class Range:
    """`relevance` (float bounds) or `published`/`fetched` (a date = the whole UTC day, a
    date-time = that instant, or date math); None = open end."""

    field: Literal["relevance", "published", "fetched"]
    low: Bound
    high: Bound
    include_low: bool = True
    include_high: bool = True
    pos: int = _field(default=0, compare=False)
    source: str = _field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Query, ...]
    pos: int = _field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Query, ...]
    pos: int = _field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Not:
    child: Query
    pos: int = _field(default=0, compare=False)


Query = Text | Pattern | Near | Exists | Facet | Range | And | Or | Not
Leaf = Text | Pattern | Near | Exists | Facet | Range


def walk(query: Query) -> Iterator[Query]:
    """Every node of the tree, parents before children."""
    yield query
    if isinstance(query, And | Or):
        for child in query.children:
            yield from walk(child)
    elif isinstance(query, Not):
        yield from walk(query.child)


def positive_leaves(query: Query) -> Iterator[Leaf]:
    """Leaves not under any NOT: the clauses whose presence can make the query true."""
    if isinstance(query, And | Or):
        for child in query.children:
            yield from positive_leaves(child)
    elif not isinstance(query, Not):
        yield query


def positive_literals(query: Query) -> list[str]:
    """The words and phrases of positive text clauses, as plain folded strings, deduplicated.

    For highlighting by substring search; a prefix clause gives its stem (`cit*` -> "cit").
    Chinese tokens are joined without spaces, so "友好城市" stays findable in folded text.
    """
    out: list[str] = []
    for leaf in positive_leaves(query):
        texts: tuple[Text, ...] = (leaf,) if isinstance(leaf, Text) else ()
        if isinstance(leaf, Near):
            texts = leaf.left + leaf.right
        for text in texts:
            literal = join_tokens(text.tokens)
            if text.cased:
                literal = literal.lower()
            if literal not in out:
                out.append(literal)
    return out


def has_text_clause(query: Query) -> bool:
    """Whether a positive clause searches words (something to rank by)."""
    return any(isinstance(leaf, Text | Pattern | Near) for leaf in positive_leaves(query))


def join_tokens(tokens: tuple[str, ...] | list[str]) -> str:
    """Tokens back to readable text: spaces between words, none between Chinese characters."""
    out = ""
    for i, tok in enumerate(tokens):
        if i and not (is_cjk_token(tok) and is_cjk_token(tokens[i - 1])):
            out += " "
        out += tok
    return out


def resolve_aliases(query: Query, aliases: AliasResolver | None) -> Query:
    """The query with every entity/place value extended by the ids its name resolves to.

    Done once per query (compile time), so each backend sees plain value alternatives.
    """
    if aliases is None:
        return query
    if isinstance(query, Facet):
        if query.field not in ("entity", "place"):
            return query
        extra: set[str] = set()
        for value in query.values:
            extra.update(aliases(fold(value)))
        new = tuple(sorted(extra - set(query.values)))
        return replace(query, values=query.values + new) if new else query
    if isinstance(query, And | Or):
        return replace(query, children=tuple(resolve_aliases(c, aliases) for c in query.children))
    if isinstance(query, Not):
        return replace(query, child=resolve_aliases(query.child, aliases))
    return query


# -- canonical text ----------------------------------------------------------------------------

_BARE = re.compile(r"^[^\W_]+$")
_OPERATOR_WORDS = {"and", "or", "not", "to"}


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text_str(q: Text, with_field: bool = True) -> str:
    body = " ".join(q.tokens)
    single = len(q.tokens) == 1 and q.slop is None
    if single and _BARE.match(body) and body.lower() not in _OPERATOR_WORDS:
        out = body + ("*" if q.prefix else "")
    else:
        out = _quote(body + ("*" if q.prefix else ""))
        if q.slop is not None:
            out += f"~{q.slop}"
    if q.cased:
        out = "case:" + out
    return out if q.fields == TEXT_FIELDS or not with_field else f"{q.fields[0]}:{out}"


def _side_str(alternatives: tuple[Text, ...]) -> str:
    parts = [_text_str(t, with_field=False) for t in alternatives]
    return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"


def _near_str(q: Near) -> str:
    op = "ONEAR" if q.ordered else "NEAR"
    out = f"{_side_str(q.left)} {op}/{q.distance} {_side_str(q.right)}"
    return out if q.fields == TEXT_FIELDS else f"{q.fields[0]}:({out})"


def _pattern_str(q: Pattern) -> str:
    out = q.value if q.kind == "wildcard" else f"{q.value}~{q.distance}"
    return out if q.fields == TEXT_FIELDS else f"{q.fields[0]}:{out}"


def _bound(value: Bound) -> str:
    if value is None:
        return "*"
    if isinstance(value, DateMath):
        return value.expr
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return repr(value)


def to_query_text(query: Query) -> str:
    """Canonical query text that parses back to an equal tree (used by tests and explanations)."""
    if isinstance(query, Text):
        return _text_str(query)
    if isinstance(query, Pattern):
        return _pattern_str(query)
    if isinstance(query, Near):
        return _near_str(query)
    if isinstance(query, Exists):
        return f"_exists_:{query.field}"
    if isinstance(query, Facet):
        return f"{query.field}:{_quote(query.values[0])}"
    if isinstance(query, Range):
        lo = "[" if query.include_low else "{"
        hi = "]" if query.include_high else "}"
        return f"{query.field}:{lo}{_bound(query.low)} TO {_bound(query.high)}{hi}"
    if isinstance(query, Not):
        inner = to_query_text(query.child)
        return f"NOT ({inner})" if isinstance(query.child, And | Or) else f"NOT {inner}"
    op = " AND " if isinstance(query, And) else " OR "
    parts = []
    for child in query.children:
        text = to_query_text(child)
        parts.append(f"({text})" if isinstance(child, And | Or) else text)
    return op.join(parts)


@dataclass(frozen=True, slots=True)
class TimeSpan:
    """A date range as instants: `start` (inclusive unless `start_open`) to `stop`
    (exclusive unless `stop_closed`); None = open end."""

    start: datetime | None
    stop: datetime | None
    start_open: bool = False
    stop_closed: bool = False

    def contains(self, at: datetime) -> bool:
        if self.start is not None and (at <= self.start if self.start_open else at < self.start):
            return False
        return not (
            self.stop is not None and (at > self.stop if self.stop_closed else at >= self.stop)
        )


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


_UNIT_STEP = {"y": (1, "y"), "M": (1, "M"), "w": (7, "d"), "d": (1, "d"), "h": (1, "h"),
              "H": (1, "h"), "m": (1, "m"), "s": (1, "s")}  # fmt: skip


def _bound_edges(value: Bound, now: datetime) -> tuple[datetime, datetime] | None:
    """(first instant, first instant after) of a bound: a date or a rounded date math value
    spans a whole unit, a date-time or unrounded date math is one instant (both equal)."""
    if value is None:
        return None
    if isinstance(value, DateMath):
        at = value.moment(now)
        if value.round_to is None:
            return at, at
        low = _floor(at, value.round_to)
        amount, unit = _UNIT_STEP[value.round_to]
        return low, _shift(low, amount, unit)
    if isinstance(value, datetime):
        at = value if value.tzinfo else value.replace(tzinfo=UTC)
        return at, at
    assert isinstance(value, date)
    return _day_start(value), _day_start(value + timedelta(days=1))


def time_span(query: Range, now: datetime | None = None) -> TimeSpan:
    """A `published`/`fetched` range as a span of instants, with Elasticsearch's rounding.

    A date or a rounded value (`now/d`) covers its whole unit: `>=` and `<` take its first
    instant, `>` and `<=` its end (`published:[2024-01-01 TO 2024-01-31]` takes all of
    31 January, `>2024-01-01` starts on 2 January), as Elasticsearch rounds date math in
    ranges (gt/lte round up, gte/lt round down). A date-time is that instant.
    """
    now = now or datetime.now(UTC)
    low = _bound_edges(query.low, now)
    high = _bound_edges(query.high, now)
    start = stop = None
    start_open = stop_closed = False
    if low is not None:
        first, after = low
        if first == after:
            start, start_open = first, not query.include_low
        else:
            start = first if query.include_low else after
    if high is not None:
        first, after = high
        if first == after:
            stop, stop_closed = first, query.include_high
        else:
            stop = after if query.include_high else first
    return TimeSpan(start, stop, start_open, stop_closed)


def day_bounds(query: Range) -> tuple[date | None, date | None]:
    """A `published` range as a half-open span of whole UTC days: [start, stop).

    `published:[2024-01-01 TO 2024-01-31]` takes all of 31 January, like Elasticsearch's
    rounding of date-only bounds; `>2024-01-01` starts on 2 January.
    """
    start = query.low
    stop = query.high
    assert start is None or type(start) is date
    assert stop is None or type(stop) is date
    if start is not None and not query.include_low:
        start = start + timedelta(days=1)
    if stop is not None and query.include_high:
        stop = stop + timedelta(days=1)
    return start, stop
