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
from datetime import date, timedelta
from typing import Literal

from crawler.textnorm import fold

# The fields a query may name. Text fields are searched word by word; facet fields compare a
# whole value; range fields compare numbers or dates.
TEXT_FIELDS: tuple[str, ...] = ("title", "text")
FACET_FIELDS: tuple[str, ...] = (
    "source",
    "language",
    "entity",
    "place",
    "country",
    "region",
    "event",
)
RANGE_FIELDS: tuple[str, ...] = ("relevance", "published")
KNOWN_FIELDS: tuple[str, ...] = TEXT_FIELDS + FACET_FIELDS + RANGE_FIELDS

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
    - `prefix`: the last token only has to start a word (`cit*` finds city, cities).
    """

    tokens: tuple[str, ...]
    fields: tuple[str, ...] = TEXT_FIELDS
    prefix: bool = False
    slop: int | None = None
    pos: int = _field(default=0, compare=False)
    source: str = _field(default="", compare=False)  # as the user wrote it, for explanations
    # derived once (matching tests them for every candidate article)
    pattern: str = _field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pattern", token_pattern(self.tokens, self.prefix))


@dataclass(frozen=True, slots=True)
class Facet:
    """A whole-value field: true when the article's set for `field` holds any of `values`.

    Values are normalised by the parser the way the article side is (country upper case,
    language lower case, region/entity/place names folded); entity and place keep the value as
    written too, since it may be an id such as `org:cpaffc`.
    """

    field: str
    values: tuple[str, ...]
    pos: int = _field(default=0, compare=False)
    source: str = _field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class Range:
    """`relevance` (float bounds) or `published` (whole UTC days); None = open end."""

    field: Literal["relevance", "published"]
    low: float | date | None
    high: float | date | None
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


Query = Text | Facet | Range | And | Or | Not
Leaf = Text | Facet | Range


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
        if isinstance(leaf, Text):
            literal = join_tokens(leaf.tokens)
            if literal not in out:
                out.append(literal)
    return out


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


def _text_str(q: Text) -> str:
    body = " ".join(q.tokens)
    single = len(q.tokens) == 1 and q.slop is None
    if single and _BARE.match(body) and body not in _OPERATOR_WORDS:
        out = body + ("*" if q.prefix else "")
    else:
        out = _quote(body + ("*" if q.prefix else ""))
        if q.slop is not None:
            out += f"~{q.slop}"
    return out if q.fields == TEXT_FIELDS else f"{q.fields[0]}:{out}"


def _bound(value: float | date | None) -> str:
    if value is None:
        return "*"
    if isinstance(value, date):
        return value.isoformat()
    return repr(value)


def to_query_text(query: Query) -> str:
    """Canonical query text that parses back to an equal tree (used by tests and explanations)."""
    if isinstance(query, Text):
        return _text_str(query)
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


def day_bounds(query: Range) -> tuple[date | None, date | None]:
    """A `published` range as a half-open span of whole UTC days: [start, stop).

    `published:[2024-01-01 TO 2024-01-31]` takes all of 31 January, like Elasticsearch's
    rounding of date-only bounds; `>2024-01-01` starts on 2 January.
    """
    start = query.low
    stop = query.high
    assert start is None or isinstance(start, date)
    assert stop is None or isinstance(stop, date)
    if start is not None and not query.include_low:
        start = start + timedelta(days=1)
    if stop is not None and query.include_high:
        stop = stop + timedelta(days=1)
    return start, stop
