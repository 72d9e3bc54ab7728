"""Query text -> watchdesk's query tree, with errors that point at the offending character.

The only module that imports luqum: its tree is converted to `syntax` dataclasses here and
never leaves. Every failure, luqum's included, becomes a `QueryError(message, position)`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import NoReturn

from luqum import tree as lq  # type: ignore[import-untyped]
from luqum.exceptions import IllegalCharacterError, ParseError  # type: ignore[import-untyped]
from luqum.thread import parse as _luqum_parse  # type: ignore[import-untyped]

from crawler.query.syntax import (
    DATE_FIELDS,
    DEFAULT_NEAR,
    EVENT_LABELS,
    EXISTS_FIELDS,
    FACET_FIELDS,
    KNOWN_FIELDS,
    MAX_FUZZY_EDITS,
    RANGE_FIELDS,
    TEXT_FIELDS,
    And,
    Bound,
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
    cased_fold,
    tokenize,
)
from crawler.textnorm import fold

# A watchlist or search query is a line or a paragraph; 10,000 characters is ~50 times the
# longest rule in the seed watchlists and keeps a pasted article from reaching the parser.
MAX_QUERY_CHARS = 10_000

_FIELD_LIST = ", ".join(KNOWN_FIELDS)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?$"
)
_DATE_MATH = re.compile(r"^now((?:[+-]\d+[yMwdhHms])*)(?:/([yMwdhHms]))?$")
_DATE_STEP = re.compile(r"([+-]\d+)([yMwdhHms])")
_ESCAPE = re.compile(r"\\(.)")
_LUQUM_POS = re.compile(r"position (\d+)")
_OPERATORS = ("AND", "OR", "NOT")
_FRACTIONAL_SLOP = re.compile(r"(?<!\\)(~[0-9]*\.)")
# The proximity operators pasted from Meltwater (NEAR, ONEAR) and LexisNexis/Westlaw (W/n,
# PRE/n): an infix word between two clauses.
_NEAR_OP = re.compile(r"^(NEAR|ONEAR|W|PRE)(?:/(\d+))?$", re.IGNORECASE)
_ORDERED_OPS = ("ONEAR", "PRE")
# The largest NEAR distance: Meltwater advises 10 or less; beyond 100 words AND says the same.
MAX_NEAR = 100
# Wildcard words: at least this many letters before the first * or ?, and at most this many
# wildcard characters, so that a pattern expands to a bounded set of words (Meltwater refuses
# short wildcard stems for the same reason; `*ing` would visit every word of the index).
MIN_WILDCARD_STEM = 2
MAX_WILDCARDS = 4
_OPERATOR_WORDS = ("AND", "OR", "NOT", "NEAR", "ONEAR")
_CURLY_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‟": '"', "″": '"'})


@dataclass(frozen=True, slots=True)
class QueryWarning:
    """Something accepted but worth telling the editor, with the character it points at."""

    message: str
    position: int = 0


class QueryError(ValueError):
    """A query that cannot be used; `position` is the 0-based character it points at."""

    def __init__(self, message: str, position: int = 0) -> None:
        self.message = message
        self.position = position
        super().__init__(f"position {position}: {message}")


def parse_query(text: str) -> Query:
    """Parse query text into a tree; raises QueryError with a position and a plain reason.

    Bare words are joined by AND; OR binds tighter than that implicit AND
    (`"sister city" China OR Chinese` = "sister city" AND (China OR Chinese)); explicit AND and
    OR mixed at one level without parentheses are refused (Lucene and boolean logic read them
    differently). `-x` is `NOT x` and `+x` is `x`. The reference is docs/queries.md.
    """
    return parse_query_with_warnings(text)[0]


def parse_query_with_warnings(text: str) -> tuple[Query, list[QueryWarning]]:
    """`parse_query`, with what was accepted but deserves a word (ignored punctuation, an
    implicit AND next to OR)."""
    # Typographic quotes pasted from help pages and word processors (“sister city”, ”GSW”)
    # are quotes: read as letters they would split a phrase into a word per side.
    text = text.translate(_CURLY_QUOTES)
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
    converter = _Converter()
    try:
        tree = converter.convert(_fix_minus_precedence(node), None)
    except RecursionError as exc:
        raise QueryError("query nests too deeply", 0) from exc
    return tree, converter.warnings


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


def _chars(value: str) -> list[tuple[str, bool]]:
    r"""The characters of a luqum value as (character, escaped): `cit\*` ends in a literal *."""
    out: list[tuple[str, bool]] = []
    i = 0
    while i < len(value):
        if value[i] == "\\" and i + 1 < len(value):
            out.append((value[i + 1], True))
            i += 2
        else:
            out.append((value[i], False))
            i += 1
    return out


def _is_wild(ch: tuple[str, bool]) -> bool:
    return not ch[1] and ch[0] in "*?"


def _near_word(node: lq.Item) -> tuple[str, int, bool] | None:
    """(operator, distance, ordered) when `node` is a NEAR-family operator word."""
    if not isinstance(node, lq.Word):
        return None
    found = _NEAR_OP.match(node.value)
    if found is None:
        return None
    name, number = found.group(1), found.group(2)
    if name.upper() in ("W", "PRE") and number is None:
        return None  # a bare "w" or "pre" is a word
    return (
        node.value,
        (DEFAULT_NEAR if number is None else int(number)),
        name.upper() in (_ORDERED_OPS),
    )


def _lucene_reading(node: lq.OrOperation) -> str:
    """How Lucene's classic parser (Elasticsearch query_string, default operator OR) reads a
    flat run of clauses joined by explicit AND and OR: AND makes both neighbours required
    (+), OR makes its left neighbour optional again; optional clauses beside a required one
    only rank."""
    seq: list[tuple[str, str]] = []  # (conjunction before, clause text)
    for i, child in enumerate(node.operands):
        parts = child.operands if isinstance(child, lq.AndOperation) else [child]
        for j, part in enumerate(parts):
            conj = "" if i == 0 and j == 0 else ("AND" if j else "OR")
            seq.append((conj, str(part).strip()))
    occur: list[str] = []
    for conj, _ in seq:
        if conj == "AND" and occur:
            occur[-1] = "+"
        if conj == "OR" and occur:
            occur[-1] = ""
        occur.append("+" if conj == "AND" else "")
    return " ".join(o + text for o, (_, text) in zip(occur, seq, strict=True))


class _Converter:
    """luqum tree -> syntax tree, checking every field, value and operator on the way."""

    def __init__(self) -> None:
        self.warnings: list[QueryWarning] = []
        self.cased = False

    def fail(self, message: str, node: lq.Item | None) -> NoReturn:
        raise QueryError(message, getattr(node, "pos", None) or 0)

    def warn(self, message: str, node: lq.Item | None) -> None:
        self.warnings.append(QueryWarning(message, getattr(node, "pos", None) or 0))

    def convert(self, node: lq.Item, fld: str | None) -> Query:
        if isinstance(node, lq.UnknownOperation):
            return self._implicit_and(node, fld)
        if isinstance(node, lq.AndOperation):
            for op in node.operands:
                if isinstance(op, lq.OrOperation):  # only after _fix_minus_precedence
                    self._mixed(op, node)
            return And(self._operands(node, fld), pos=node.pos or 0)
        if isinstance(node, lq.OrOperation):
            for op in node.operands:
                if isinstance(op, lq.Prohibit | lq.Plus):
                    self.fail(
                        f"'{op.op}' inside OR is ambiguous (Lucene reads it as required/excluded "
                        "for the whole group): write 'NOT term', or move it out of the OR",
                        op,
                    )
                if isinstance(op, lq.Not):
                    self.fail(
                        "NOT inside OR is ambiguous: Elasticsearch reads 'a OR NOT b' (and "
                        "'NOT b OR a') as 'a AND NOT b', boolean logic as 'a OR (NOT b)' (nearly "
                        "every article); write 'a AND NOT b', or 'a OR (NOT b)' with the "
                        "parentheses",
                        op,
                    )
                if isinstance(op, lq.AndOperation):
                    self._mixed(node, op)
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
            return self._boost(node, fld)
        if isinstance(node, lq.Fuzzy):
            return self._fuzzy(node, fld)
        if isinstance(node, lq.Regex):
            self.fail("regular expressions (/.../) are not supported", node)
        if _near_word(node) is not None:
            self.fail(f"'{node.value}' needs a clause on both sides", node)
        if fld in RANGE_FIELDS:
            return self._range(node, fld)
        if isinstance(node, lq.Range | lq.From | lq.To):
            self.fail(f"ranges only work on {', '.join(RANGE_FIELDS)}", node)
        if fld in FACET_FIELDS:
            return self._facet(node, fld)
        return self._text(node, fld)

    def _mixed(self, top: lq.OrOperation, inner: lq.AndOperation) -> NoReturn:
        ours = " OR ".join(
            f"({str(c).strip()})" if isinstance(c, lq.AndOperation) else str(c).strip()
            for c in top.operands
        )
        self.fail(
            "AND and OR mixed without parentheses: boolean precedence reads "
            f"'{ours}', Lucene and Elasticsearch read '{_lucene_reading(top)}' "
            "(+ = required, the rest only ranks); add parentheses to say which you mean",
            inner,
        )

    def _implicit_and(self, node: lq.UnknownOperation, fld: str | None) -> Query:
        items: list[lq.Item] = []
        for op in node.operands:
            if (
                isinstance(op, lq.Word)
                and not _chars(op.value)[0][1]
                and not any(ch.isalnum() for ch in _unescape(op.value))
                and _near_word(op) is None
                and op.value not in ("&&", "||")
                and not (op.value.startswith("!"))
            ):
                self.warn(f"{op.value!r} has no letters or digits: ignored", op)
                continue
            items.append(op)
        children: list[Query] = []
        i = 0
        while i < len(items):
            op = items[i]
            near = _near_word(op)
            if near is None:
                if i + 1 < len(items) and _near_word(items[i + 1]) is not None:
                    if i + 2 >= len(items):
                        self.fail(
                            f"'{items[i + 1].value}' needs a clause on both sides", items[i + 1]
                        )
                    if i + 3 < len(items) and _near_word(items[i + 3]) is not None:
                        self.fail(
                            "chained proximity (a NEAR b NEAR c) is ambiguous: write "
                            "(a NEAR/n b) AND (b NEAR/n c)",
                            items[i + 3],
                        )
                    children.append(self._near(op, items[i + 1], items[i + 2], fld))
                    i += 3
                    continue
                if isinstance(op, lq.OrOperation):
                    self._warn_implicit(node)
                children.append(self.convert(op, fld))
                i += 1
                continue
            self.fail(f"'{op.value}' needs a clause on both sides", op)
        if not children:
            self.fail("the query has no letters or digits to search for", node)
        flat: list[Query] = []
        for child in children:
            flat.extend(child.children if isinstance(child, And) else (child,))
        return flat[0] if len(flat) == 1 else And(tuple(flat), pos=node.pos or 0)

    def _warn_implicit(self, node: lq.UnknownOperation) -> None:
        parts = [
            f"({str(c).strip()})" if isinstance(c, lq.OrOperation) else str(c).strip()
            for c in node.operands
        ]
        self.warn(
            "a space (implicit AND) next to OR: read as "
            + " AND ".join(parts)
            + "; write the parentheses to make it explicit (Elasticsearch's default OR "
            "reads it as any of the words)",
            node,
        )

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
        if node.name == "case":
            if outer is not None and outer not in TEXT_FIELDS:
                self.fail(f"case: only works on text, not inside '{outer}'", node)
            was, self.cased = self.cased, True
            try:
                return self.convert(node.expr, outer)
            finally:
                self.cased = was
        if node.name == "_exists_":
            if outer is not None:
                self.fail(f"_exists_ inside field '{outer}': use it on its own", node)
            value = self._term_value(node.expr).lower()
            if value not in EXISTS_FIELDS:
                self.fail(f"_exists_ wants a field name (known fields: {_FIELD_LIST})", node)
            return Exists(value, pos=node.pos or 0, source=str(node).strip())
        if outer is not None:
            self.fail(f"field '{node.name}' inside field '{outer}': use one field per clause", node)
        if name not in KNOWN_FIELDS:
            self.fail(
                f"unknown field '{node.name}' (known fields: {_FIELD_LIST}, case, _exists_)", node
            )
        return self.convert(node.expr, name)

    # -- proximity, boosts, fuzzy ---------------------------------------------------------

    def _near(self, left: lq.Item, op: lq.Word, right: lq.Item, fld: str | None) -> Near:
        word, distance, ordered = _near_word(op)  # type: ignore[misc]
        if word != word.upper():
            self.fail(
                f"'{word}' would be searched as a word: write {word.upper()} for the operator",
                op,
            )
        if distance > MAX_NEAR:
            self.fail(f"{word}: at most {MAX_NEAR} words (beyond that, write AND)", op)
        sides = []
        for side in (left, right):
            if isinstance(side, lq.OrOperation | lq.AndOperation | lq.UnknownOperation):
                self.fail(f"put the clauses beside '{word}' in parentheses", side)
            sides.append(self._near_side(self.convert(side, fld), side, word))
        fields = {t.fields for t in sides[0] + sides[1]}
        if len(fields) > 1:
            self.fail(f"both sides of '{word}' must search the same field", op)
        for a in sides[0]:
            for b in sides[1]:
                self._check_apart(a, b, op)
        source = f"{str(left).strip()} {word} {str(right).strip()}"
        return Near(
            sides[0], sides[1], distance, ordered, fields.pop(), pos=left.pos or 0, source=source
        )

    def _near_side(self, query: Query, node: lq.Item, word: str) -> tuple[Text, ...]:
        alts = query.children if isinstance(query, Or) else (query,)
        for alt in alts:
            if not isinstance(alt, Text) or alt.slop is not None or alt.cased:
                self.fail(
                    f"'{word}' works between words, phrases, trailing-* words and OR-groups "
                    "of them",
                    node,
                )
        return tuple(alts)  # type: ignore[arg-type]

    def _check_apart(self, a: Text, b: Text, op: lq.Item) -> None:
        # The two sides must not be able to match the same word: span_near in Elasticsearch
        # would let one occurrence count for both, the matcher would not.
        for i, x in enumerate(a.tokens):
            for j, y in enumerate(b.tokens):
                px = a.prefix and i == len(a.tokens) - 1
                py = b.prefix and j == len(b.tokens) - 1
                if x == y or (px and y.startswith(x)) or (py and x.startswith(y)):
                    self.fail(
                        f"'{y}' could match the same word on both sides of '{op.value}'",
                        op,
                    )

    def _boost(self, node: lq.Boost, fld: str | None) -> Query:
        force = float(node.force)
        if node.implicit_force or force <= 0:
            self.fail("a boost needs a positive number: quick^2", node)
        return _boosted(self.convert(node.expr, fld), force)

    def _fuzzy(self, node: lq.Fuzzy, fld: str | None) -> Query:
        if fld is not None and fld not in TEXT_FIELDS:
            self.fail(f"fuzzy matching (~) only works on text, not on '{fld}'", node)
        if self.cased:
            self.fail("case: and fuzzy (~) do not combine", node)
        term = node.term
        if not isinstance(term, lq.Word):
            self.fail("fuzzy matching (~) works on one word", node)
        chars = _chars(term.value)
        if any(_is_wild(c) for c in chars):
            self.fail("a word cannot be both a wildcard and fuzzy", node)
        tokens = tokenize(fold("".join(c for c, _ in chars)))
        if len(tokens) != 1:
            self.fail("fuzzy matching (~) works on one word", node)
        token = tokens[0]
        if node._implicit_degree:
            # a bare ~ allows 2 edits, as Lucene's syntax page and Elasticsearch's
            # query string syntax page say (docs/queries.md notes query_string's AUTO setting)
            distance = MAX_FUZZY_EDITS
        else:
            degree = node.degree
            if int(degree) != degree or degree < 0:
                self.fail("fuzzy matching wants a whole number of edits: beijng~1", node)
            distance = int(degree)
            if distance > MAX_FUZZY_EDITS:
                self.fail(f"fuzzy matching allows at most {MAX_FUZZY_EDITS} edits", node)
        fields = (fld,) if fld else TEXT_FIELDS
        if distance == 0:
            return Text((token,), fields, pos=node.pos or 0, source=str(node).strip())
        return Pattern(
            "fuzzy", token, fields, distance, pos=node.pos or 0, source=str(node).strip()
        )

    # -- text ---------------------------------------------------------------------------------

    def _text(self, node: lq.Item, fld: str | None) -> Query:
        fields = (fld,) if fld else TEXT_FIELDS
        slop: int | None = None
        if isinstance(node, lq.Proximity):
            if node._implicit_degree:
                self.fail('proximity needs a number of words: "sister city"~3', node)
            slop = self._slop(node)
            node = node.term
        if isinstance(node, lq.Phrase):
            chars = _chars(node.value[1:-1])
            where = "inside quotes"
        elif isinstance(node, lq.Word):
            chars = _chars(node.value)
            where = "in a word"
            self._check_word(node.value, node)
        else:
            self.fail(f"unexpected {type(node).__name__} here", node)
        while chars and chars[-1][0].isspace() and not chars[-1][1]:
            chars.pop()
        prefix = bool(chars) and _is_wild(chars[-1]) and chars[-1][0] == "*"
        body = chars[:-1] if prefix else chars
        if any(_is_wild(c) for c in body):
            if where == "in a word" and slop is None:
                return self._wildcard(chars, fields, node)
            self.fail(f'wildcards work only as a trailing * {where} (cit*, "sister cit*")', node)
        text = "".join(c for c, _ in body)
        if prefix and (not text or not text[-1].isalnum()):
            self.fail("a trailing * must follow a letter or digit", node)
        folded = fold(text)
        tokens = tuple(tokenize(cased_fold(text, folded) if self.cased else folded))
        if not tokens:
            self.fail(f"{str(node)!r} has no letters or digits to search for", node)
        if slop is not None:
            if len(tokens) == 1:
                slop = None  # "city"~3 is just city
            else:
                self._check_distinct(tokens, prefix, node)
        return Text(
            tokens, fields, prefix, slop, self.cased, pos=node.pos or 0, source=str(node).strip()
        )

    def _wildcard(
        self, chars: list[tuple[str, bool]], fields: tuple[str, ...], node: lq.Item
    ) -> Pattern:
        if self.cased:
            self.fail("case: and wildcards (? or inner *) do not combine", node)
        stem = 0
        while stem < len(chars) and not _is_wild(chars[stem]):
            stem += 1
        if stem < MIN_WILDCARD_STEM:
            self.fail(
                f"a wildcard needs at least {MIN_WILDCARD_STEM} letters before the first * or ? "
                "(it would expand to too many words)",
                node,
            )
        if sum(_is_wild(c) for c in chars) > MAX_WILDCARDS:
            self.fail(f"at most {MAX_WILDCARDS} wildcard characters in one word", node)
        literal = "".join("" if _is_wild(c) else c[0] for c in chars)
        if not tokenize(fold(literal)) or not all(_is_wild(c) or c[0].isalnum() for c in chars):
            self.fail("a wildcard works inside one word of letters and digits (wom?n)", node)
        value = "".join(c if _is_wild((c, e)) else fold(c) for c, e in chars)
        if any(tokenize(part) != [part] for part in re.split(r"[*?]+", value) if part):
            self.fail("a wildcard works inside one word of letters and digits (wom?n)", node)
        return Pattern("wildcard", value, fields, pos=node.pos or 0, source=str(node).strip())

    def _check_word(self, raw: str, node: lq.Item) -> None:
        if raw in ("&&", "||"):
            self.fail(f"{raw!r} is not an operator here: write AND, OR, NOT", node)
        if raw.startswith("!"):
            self.fail(
                "'!' is not an operator here: write NOT (and case:word for a word that must "
                "match its capitals)",
                node,
            )
        word = _unescape(raw)
        if raw == word and word.upper() in _OPERATOR_WORDS and word != word.upper():
            self.fail(
                f"'{word}' would be searched as a word: write {word.upper()} for the "
                f'operator, or "{word}" in quotes for the word',
                node,
            )
        if raw in ("NEAR", "ONEAR"):
            self.fail(f"'{raw}' needs a clause on both sides", node)

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
        if self.cased:
            self.fail(f"case: only works on text, not on '{fld}'", node)
        value = self._term_value(node)
        if isinstance(node, lq.Word) and any(_is_wild(c) for c in _chars(node.value)):
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
        elif fld in ("language", "label"):
            # labels are lower-case words in the config (crawler.config.SourceLabel); an
            # unknown one is a `watchlist validate` warning, not an error, like a language
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
            self._check_order(low, high, node)
            return Range(fld, low, high, node.include_low, node.include_high, pos=pos, source=src)  # type: ignore[arg-type]
        if isinstance(node, lq.From):
            bound = self._bound(node.a, fld, open_ok=False)
            return Range(fld, bound, None, node.include, True, pos=pos, source=src)  # type: ignore[arg-type]
        if isinstance(node, lq.To):
            bound = self._bound(node.a, fld, open_ok=False)
            return Range(fld, None, bound, True, node.include, pos=pos, source=src)  # type: ignore[arg-type]
        if fld in DATE_FIELDS and isinstance(node, lq.Word | lq.Phrase):
            day = self._bound(node, fld, open_ok=False)
            return Range(fld, day, day, pos=pos, source=src)  # type: ignore[arg-type]
        example = (
            "relevance:>=0.5 or relevance:[0.3 TO 1]"
            if fld == "relevance"
            else (f"{fld}:>=2024-01-01, {fld}:[now-7d TO now] or {fld}:[2024-01-01 TO 2024-06-30]")
        )
        self.fail(f"'{fld}' wants a comparison or a range, e.g. {example}", node)

    def _check_order(self, low: Bound, high: Bound, node: lq.Item) -> None:
        if low is None or high is None or isinstance(low, DateMath) or isinstance(high, DateMath):
            return
        if isinstance(low, float) != isinstance(high, float):
            return
        a, b = low, high
        if not isinstance(a, float):  # dates and date-times: compare their first instants
            a, b = _instant(a), _instant(b)  # type: ignore[arg-type]
        if a > b:  # type: ignore[operator]
            self.fail(f"empty range: {low} is above {high}", node)

    def _bound(self, node: lq.Item, fld: str, open_ok: bool = True) -> Bound:
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
        want = (
            f"{fld} wants a date (YYYY-MM-DD), a date-time (YYYY-MM-DDTHH:MM:SS) or date math "
            "(now-7d, now/d)"
        )
        if negative:
            self.fail(f"{want}, not {'-' + value!r}", node)
        math = _DATE_MATH.match(value)
        if math:
            steps = tuple((int(a), u) for a, u in _DATE_STEP.findall(math.group(1)))
            return DateMath(value, steps, math.group(2))
        if "||" in value:
            self.fail(f"date math works from now only (now-7d), not from a date: {value!r}", node)
        if _DATETIME.match(value):
            try:
                at = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                self.fail(f"{value!r} is not a valid date-time", node)
            return at if at.tzinfo else at.replace(tzinfo=UTC)
        if not _DATE.match(value):
            self.fail(f"{want}, not {value!r}", node)
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not a calendar date", node)


def _instant(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def _boosted(query: Query, force: float) -> Query:
    """The query with every word clause's ranking weight multiplied by `force`."""
    if isinstance(query, Text | Pattern):
        return replace(query, boost=query.boost * force)
    if isinstance(query, Near):
        return replace(
            query,
            left=tuple(replace(t, boost=t.boost * force) for t in query.left),
            right=tuple(replace(t, boost=t.boost * force) for t in query.right),
        )
    if isinstance(query, And | Or):
        return replace(query, children=tuple(_boosted(c, force) for c in query.children))
    if isinstance(query, Not):
        return replace(query, child=_boosted(query.child, force))
    return query
