"""Query text -> watchdesk's query tree, with errors that point at the offending character.

The only module that imports luqum: its tree is converted to `syntax` dataclasses here and
never leaves. Every failure, luqum's included, becomes a `QueryError(message, position)`.
"""

from __future__ import annotations

import re
from datetime import date
from typing import NoReturn

from luqum import tree as lq  # type: ignore[import-untyped]
from luqum.exceptions import IllegalCharacterError, ParseError  # type: ignore[import-untyped]
from luqum.thread import parse as _luqum_parse  # type: ignore[import-untyped]

from crawler.query.syntax import (
    EVENT_LABELS,
    FACET_FIELDS,
    KNOWN_FIELDS,
    RANGE_FIELDS,
    TEXT_FIELDS,
    And,
    Facet,
    Not,
    Or,
    Query,
    Range,
    Text,
    tokenize,
)
from crawler.textnorm import fold

# A watchlist or search query is a line or a paragraph; 10,000 characters is ~50 times the
# longest rule in the seed watchlists and keeps a pasted article from reaching the parser.
MAX_QUERY_CHARS = 10_000

_FIELD_LIST = ", ".join(KNOWN_FIELDS)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ESCAPE = re.compile(r"\\(.)")
_LUQUM_POS = re.compile(r"position (\d+)")
_OPERATORS = ("AND", "OR", "NOT")
_FRACTIONAL_SLOP = re.compile(r"(?<!\\)(~[0-9]*\.)")


class QueryError(ValueError):
    """A query that cannot be used; `position` is the 0-based character it points at."""

    def __init__(self, message: str, position: int = 0) -> None:
        self.message = message
        self.position = position
        super().__init__(f"position {position}: {message}")


def parse_query(text: str) -> Query:
    """Parse query text into a tree; raises QueryError with a position and a plain reason.

    Bare words are joined by AND; OR binds tighter than that implicit AND
    (`"sister city" China OR Chinese` = "sister city" AND (China OR Chinese)); explicit AND binds
    tighter than OR. `-x` is `NOT x` and `+x` is `x`.
    """
    if not text.strip():
        raise QueryError("empty query", 0)
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"query longer than {MAX_QUERY_CHARS} characters", MAX_QUERY_CHARS)
    _check_balance(text)
    try:
        node = _luqum_parse(text)
    except ParseError as exc:
        _raise_luqum_error(text, exc)
    except RecursionError as exc:
        raise QueryError("query nests too deeply", 0) from exc
    except Exception as exc:  # luqum/PLY internals: never let their tracebacks out
        bad_slop = _FRACTIONAL_SLOP.search(text)
        if bad_slop:  # luqum fails on "a b"~1.5 with a bare int()/Decimal error
            raise QueryError(
                'proximity needs a whole number of words: "sister city"~3', bad_slop.start(1)
            ) from exc
        raise QueryError(f"could not parse the query ({type(exc).__name__})", 0) from exc
    try:
        return _Converter().convert(_fix_minus_precedence(node), None)
    except RecursionError as exc:
        raise QueryError("query nests too deeply", 0) from exc


# -- syntax errors -------------------------------------------------------------------------------


def _check_balance(text: str) -> None:
    """Unclosed quotes and unbalanced parentheses, found before luqum so the position is right."""
    opens: list[int] = []
    quote_at: int | None = None
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            if i + 1 == len(text):
                raise QueryError("a backslash must be followed by the character it escapes", i)
            i += 2
            continue
        if quote_at is not None:
            if ch == '"':
                quote_at = None
        elif ch == '"':
            quote_at = i
        elif ch == "(":
            opens.append(i)
        elif ch == ")":
            if not opens:
                raise QueryError("')' without a matching '('", i)
            opens.pop()
        i += 1
    if quote_at is not None:
        raise QueryError("unclosed quote", quote_at)
    if opens:
        raise QueryError("'(' is never closed", opens[-1])


def _raise_luqum_error(text: str, exc: ParseError) -> NoReturn:
    message = str(exc)
    found = _LUQUM_POS.search(message)
    if isinstance(exc, IllegalCharacterError):
        pos = int(found.group(1)) if found else 0
        raise QueryError(f"character {text[pos : pos + 1]!r} is not allowed here", pos) from None
    if found is None:  # luqum says "at the end"
        words = text.rstrip().split()
        last = words[-1] if words else ""
        pos = len(text.rstrip()) - len(last)
        if last in _OPERATORS or last in ("+", "-"):
            raise QueryError(f"'{last}' needs a term after it", pos) from None
        if last.endswith(":"):
            raise QueryError(f"field '{last[:-1]}' needs a value after ':'", pos) from None
        if "[" in text or "{" in text:
            raise QueryError("unfinished range: write [low TO high]", pos) from None
        raise QueryError("the query ends too early", len(text)) from None
    pos = int(found.group(1))
    word = text[pos:].split(None, 1)[0] if text[pos:].strip() else ""
    if word in ("AND", "OR"):
        raise QueryError(f"'{word}' needs a term on both sides", pos) from None
    raise QueryError(f"unexpected {word!r}", pos) from None


def _fix_minus_precedence(node: lq.Item) -> lq.Item:
    """Give `-x`/`+x` the precedence of `NOT x`.

    luqum ranks the +/- tokens above OR, so `a OR b -c` parses as `a OR (b -c)` while
    `a OR b NOT c` parses as `(a OR b) NOT c`. An implicit-AND node directly under an OR/AND
    (not in parentheses) only arises that way; lift it so the last operand rejoins its neighbours.
    """
    node.children = [_fix_minus_precedence(c) for c in node.children]
    if isinstance(node, lq.OrOperation | lq.AndOperation):
        last = node.operands[-1]
        if isinstance(last, lq.UnknownOperation):
            merged = type(node)(*node.operands[:-1], last.operands[0], pos=node.pos)
            return _fix_minus_precedence(
                lq.UnknownOperation(merged, *last.operands[1:], pos=node.pos)
            )
    return node


# -- conversion ----------------------------------------------------------------------------------


def _unescape(value: str) -> str:
    return _ESCAPE.sub(r"\1", value)


class _Converter:
    """luqum tree -> syntax tree, checking every field, value and operator on the way."""

    def fail(self, message: str, node: lq.Item | None) -> NoReturn:
        raise QueryError(message, getattr(node, "pos", None) or 0)

    def convert(self, node: lq.Item, fld: str | None) -> Query:
        if isinstance(node, lq.UnknownOperation | lq.AndOperation):
            return And(self._operands(node, fld), pos=node.pos or 0)
        if isinstance(node, lq.OrOperation):
            for op in node.operands:
                if isinstance(op, lq.Prohibit | lq.Plus):
                    self.fail(
                        f"'{op.op}' inside OR is ambiguous (Lucene reads it as required/excluded "
                        "for the whole group): write 'NOT term', or move it out of the OR",
                        op,
                    )
            return Or(self._operands(node, fld), pos=node.pos or 0)
        if isinstance(node, lq.Not | lq.Prohibit):
            return Not(self.convert(node.a, fld), pos=node.pos or 0)
        if isinstance(node, lq.Plus):
            return self.convert(node.a, fld)
        if isinstance(node, lq.Group | lq.FieldGroup):
            return self.convert(node.expr, fld)
        if isinstance(node, lq.SearchField):
            return self._search_field(node, fld)
        if isinstance(node, lq.Boost):
            self.fail("boosts (^) only change scores and are not supported here", node)
        if isinstance(node, lq.Fuzzy):
            self.fail(
                "fuzzy matching (word~N) is not supported; for words near each other "
                'write "word1 word2"~N',
                node,
            )
        if isinstance(node, lq.Regex):
            self.fail("regular expressions (/.../) are not supported", node)
        if fld in RANGE_FIELDS:
            return self._range(node, fld)
        if isinstance(node, lq.Range | lq.From | lq.To):
            self.fail(f"ranges only work on {' and '.join(RANGE_FIELDS)}", node)
        if fld in FACET_FIELDS:
            return self._facet(node, fld)
        return self._text(node, fld)

    def _operands(self, node: lq.BaseOperation, fld: str | None) -> tuple[Query, ...]:
        out: list[Query] = []
        for op in node.operands:
            child = self.convert(op, fld)
            # flatten: (a AND b) AND c is one conjunction, for explanations and backends alike
            same = And if isinstance(node, lq.UnknownOperation | lq.AndOperation) else Or
            if isinstance(child, same):
                out.extend(child.children)
            else:
                out.append(child)
        return tuple(out)

    def _search_field(self, node: lq.SearchField, outer: str | None) -> Query:
        name = node.name.lower()
        if outer in ("entity", "place") and isinstance(node.expr, lq.Term):
            # entity:org:cpaffc -> luqum sees field "org" inside field "entity": it is an id
            value = f"{_unescape(node.name)}:{self._term_value(node.expr)}"
            return self._facet_value(outer, value, node)
        if outer is not None:
            self.fail(f"field '{node.name}' inside field '{outer}': use one field per clause", node)
        if name not in KNOWN_FIELDS:
            self.fail(f"unknown field '{node.name}' (known fields: {_FIELD_LIST})", node)
        return self.convert(node.expr, name)

    # -- text ---------------------------------------------------------------------------------

    def _text(self, node: lq.Item, fld: str | None) -> Text:
        fields = (fld,) if fld else TEXT_FIELDS
        slop: int | None = None
        if isinstance(node, lq.Proximity):
            slop = self._slop(node)
            node = node.term
        if isinstance(node, lq.Phrase):
            raw = _unescape(node.value[1:-1])
            where = "inside quotes"
        elif isinstance(node, lq.Word):
            raw = _unescape(node.value)
            where = "in a word"
            self._check_word(raw, node)
        else:
            self.fail(f"unexpected {type(node).__name__} here", node)
        prefix = raw.rstrip().endswith("*")
        body = raw.rstrip()[:-1] if prefix else raw
        if "*" in body or "?" in body:
            self.fail(f'wildcards work only as a trailing * {where} (cit*, "sister cit*")', node)
        if prefix and (not body or not body[-1].isalnum()):
            self.fail("a trailing * must follow a letter or digit", node)
        tokens = tuple(tokenize(fold(body)))
        if not tokens:
            self.fail(f"{str(node)!r} has no letters or digits to search for", node)
        if slop is not None:
            if len(tokens) == 1:
                slop = None  # "city"~3 is just city
            else:
                self._check_distinct(tokens, prefix, node)
        return Text(tokens, fields, prefix, slop, pos=node.pos or 0, source=str(node).strip())

    def _check_word(self, raw: str, node: lq.Item) -> None:
        if raw in ("&&", "||") or raw.startswith("!"):
            self.fail(f"{raw[:2]!r} is not an operator here: write AND, OR, NOT", node)
        if raw in ("and", "or", "not"):
            self.fail(
                f"lowercase '{raw}' would be searched as a word: write {raw.upper()} for the "
                f'operator, or "{raw}" in quotes for the word',
                node,
            )

    def _slop(self, node: lq.Proximity) -> int:
        degree = node.degree
        if degree is None or int(degree) != degree or degree < 0:
            self.fail('proximity needs a whole number of words: "sister city"~3', node)
        return int(degree)

    def _check_distinct(self, tokens: tuple[str, ...], prefix: bool, node: lq.Item) -> None:
        # Word-proximity clauses must not let two of their words match the same word of the
        # article: SQLite's NEAR allows it, Lucene's span_near does not (see sqlite.py).
        last = len(tokens) - 1
        for i, a in enumerate(tokens):
            for j, b in enumerate(tokens):
                if i < j and (a == b or (prefix and j == last and a.startswith(b))):
                    self.fail(
                        f"'{b}' would match the same word twice in a proximity clause; "
                        "use different words (or AND)",
                        node,
                    )

    # -- facets -------------------------------------------------------------------------------

    def _term_value(self, node: lq.Item) -> str:
        if isinstance(node, lq.Phrase):
            return _unescape(node.value[1:-1])
        if isinstance(node, lq.Word):
            return _unescape(node.value)
        self.fail(f"expected a value, found {str(node).strip()!r}", node)

    def _facet(self, node: lq.Item, fld: str) -> Query:
        if isinstance(node, lq.Proximity):
            self.fail(f"proximity (~) only works on text, not on '{fld}'", node)
        value = self._term_value(node)
        if isinstance(node, lq.Word) and ("*" in value or "?" in value):
            self.fail(f"wildcards only work on text fields, not on '{fld}'", node)
        return self._facet_value(fld, value, node)

    def _facet_value(self, fld: str, value: str, node: lq.Item) -> Facet:
        value = value.strip()
        if not value:
            self.fail(f"empty value for '{fld}'", node)
        values: tuple[str, ...]
        if fld == "country":
            if not (len(value) == 2 and value.isascii() and value.isalpha()):
                self.fail(f"country wants a two-letter ISO code (CN, US, TW), not {value!r}", node)
            values = (value.upper(),)
        elif fld == "language":
            values = (value.lower(),)
        elif fld == "event":
            label = value.lower()
            if label not in EVENT_LABELS:
                self.fail(
                    f"unknown event '{value}' (known events: {', '.join(EVENT_LABELS)})", node
                )
            values = (label,)
        elif fld == "region":
            values = (fold(value),)
        elif fld in ("entity", "place"):
            # an id as written (org:cpaffc) or a name, folded like the article side
            values = tuple(dict.fromkeys((value, fold(value))))
        else:  # source: exact name
            values = (value,)
        return Facet(fld, values, pos=node.pos or 0, source=str(node).strip())

    # -- ranges -------------------------------------------------------------------------------

    def _range(self, node: lq.Item, fld: str) -> Range:
        src = str(node).strip()
        pos = node.pos or 0
        if isinstance(node, lq.Range):
            low = self._bound(node.low, fld)
            high = self._bound(node.high, fld)
            if low is not None and high is not None and low > high:  # type: ignore[operator]
                self.fail(f"empty range: {low} is above {high}", node)
            return Range(fld, low, high, node.include_low, node.include_high, pos=pos, source=src)  # type: ignore[arg-type]
        if isinstance(node, lq.From):
            bound = self._bound(node.a, fld, open_ok=False)
            return Range(fld, bound, None, node.include, True, pos=pos, source=src)  # type: ignore[arg-type]
        if isinstance(node, lq.To):
            bound = self._bound(node.a, fld, open_ok=False)
            return Range(fld, None, bound, True, node.include, pos=pos, source=src)  # type: ignore[arg-type]
        if fld == "published" and isinstance(node, lq.Word):
            day = self._bound(node, fld, open_ok=False)
            return Range(fld, day, day, pos=pos, source=src)  # type: ignore[arg-type]
        example = (
            "relevance:>=0.5 or relevance:[0.3 TO 1]"
            if fld == "relevance"
            else ("published:>=2024-01-01 or published:[2024-01-01 TO 2024-06-30]")
        )
        self.fail(f"'{fld}' wants a comparison or a range, e.g. {example}", node)

    def _bound(self, node: lq.Item, fld: str, open_ok: bool = True) -> float | date | None:
        negative = False
        if isinstance(node, lq.Prohibit):  # luqum reads [-1 TO 1] as a prohibited term
            negative, node = True, node.a
        value = self._term_value(node).strip()
        if value == "*" and open_ok and not negative:
            return None
        if fld == "relevance":
            try:
                number = float(value)
            except ValueError:
                self.fail(f"relevance wants a number, not {value!r}", node)
            if number != number or number in (float("inf"), float("-inf")):
                self.fail(f"relevance wants a finite number, not {value!r}", node)
            return -number if negative else number
        if negative or not _DATE.match(value):
            self.fail(f"published wants a date as YYYY-MM-DD, not {value!r}", node)
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not a calendar date", node)
