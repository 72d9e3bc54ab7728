"""One Aho-Corasick pass over folded text: the phrase matcher every tagging step shares.

Phrases are folded with `crawler.textnorm.fold` when added and searched in folded text, so a
match is case-, accent- and traditional/simplified-insensitive; because `fold` preserves length,
a hit's (start, end) are also offsets into the original text, where the checks that need case
(acronyms, capitalised names) are made. Latin-script hits must sit on word boundaries; Chinese
has no spaces, so a CJK edge always counts as one. Overlapping hits resolve leftmost-longest.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

import ahocorasick

from crawler.textnorm import fold, is_word_char

T = TypeVar("T")

# Spelling variants generated for every phrase so that data files list each phrase once:
# typographic apostrophes and dashes are what real copy (and the seed articles) use.
_VARIANTS: tuple[tuple[str, str], ...] = (("'", "\u2019"), ("-", "\u2013"))


@dataclass(frozen=True, slots=True)
class Hit(Generic[T]):
    """A phrase found in the text: [start, end) offsets and the payloads that passed checks."""

    start: int
    end: int
    payloads: tuple[T, ...]


@dataclass(frozen=True, slots=True)
class _Entry(Generic[T]):
    payload: T | None  # None marks a blocker: it consumes its span and yields nothing
    surface: str  # the phrase as written in the data, for case-sensitive checks
    case_sensitive: bool
    capitalised: bool


def _word(ch: str) -> bool:
    # textnorm.is_word_char with an ASCII fast path: this runs for every raw hit
    return ch.isalnum() if ch < "\x80" else is_word_char(ch)


def _by_span(candidate: tuple[int, int, object]) -> tuple[int, int]:
    return candidate[0], candidate[1]


def spelling_variants(phrase: str) -> list[str]:
    """The phrase plus its typographic variants (' and ’, - and –)."""
    out = [phrase]
    if "'" not in phrase and "-" not in phrase:
        return out
    for plain, fancy in _VARIANTS:
        out += [v.replace(plain, fancy) for v in out if plain in v]
    return out


def is_latin_start(phrase: str) -> bool:
    """True when the phrase starts with a letter that has case (Latin script)."""
    return bool(phrase) and phrase[0].isalpha() and phrase[0].lower() != phrase[0].upper()


class PhraseMatcher(Generic[T]):
    """Leftmost-longest, boundary-checked phrase search over folded text with one automaton.

    `capitalised=True` demands an upper-case first letter in the original (a lowercase "china"
    is porcelain, not a country); `case_sensitive=True` demands the exact original spelling
    (acronyms: "US" but not "us"). Build with `add`/`add_blocker`, then `freeze`, then `find`.
    """

    def __init__(self) -> None:
        self._entries: dict[str, list[_Entry[T]]] = {}
        self._automaton: ahocorasick.Automaton | None = None

    def __len__(self) -> int:
        return len(self._entries)

    def add(
        self,
        phrase: str,
        payload: T,
        *,
        case_sensitive: bool = False,
        capitalised: bool = False,
    ) -> None:
        for variant in spelling_variants(phrase.strip()):
            self._add(variant, payload, case_sensitive, capitalised)

    def add_folded(
        self,
        key: str,
        surface: str,
        payload: T,
        *,
        case_sensitive: bool = False,
        capitalised: bool = False,
    ) -> None:
        """Like `add` for a phrase already folded by the caller (`key == fold(surface)`)."""
        if self._automaton is not None:
            raise RuntimeError("PhraseMatcher is frozen")
        variants = spelling_variants(surface)
        self._entries.setdefault(key, []).append(
            _Entry(payload, surface, case_sensitive, capitalised)
        )
        for variant in variants[1:]:
            self._add(variant, payload, case_sensitive, capitalised)

    def add_blocker(self, phrase: str) -> None:
        """A phrase that wins over shorter ones inside it but yields nothing ("Bank of America")."""
        for variant in spelling_variants(phrase.strip()):
            self._add(variant, None, False, False)

    def _add(self, surface: str, payload: T | None, case_sensitive: bool, capital: bool) -> None:
        if not surface:
            return
        if self._automaton is not None:
            raise RuntimeError("PhraseMatcher is frozen")
        key = fold(surface)
        self._entries.setdefault(key, []).append(_Entry(payload, surface, case_sensitive, capital))

    def freeze(self) -> PhraseMatcher[T]:
        automaton = ahocorasick.Automaton()
        for key, entries in self._entries.items():
            # per key, what `find` needs without looking anything up: its length, whether
            # its edges are word characters (then the neighbours are checked), and, when no
            # entry needs the original text, the payloads outright
            unchecked = not any(e.case_sensitive or e.capitalised for e in entries)
            blocked = any(e.payload is None for e in entries)
            ready = (
                ((None,) if blocked else tuple(e.payload for e in entries)) if unchecked else None
            )
            automaton.add_word(key, (len(key), _word(key[0]), _word(key[-1]), entries, ready))
        if len(self._entries):
            automaton.make_automaton()
        self._automaton = automaton
        return self

    def keys(self) -> Iterable[str]:
        return self._entries.keys()

    def find(self, original: str, folded: str) -> list[Hit[T]]:
        """All non-overlapping hits, leftmost-longest, blockers removed, in text order.

        `folded` must be `fold(original)` (same length); offsets index both.
        """
        if self._automaton is None:
            raise RuntimeError("PhraseMatcher.freeze() was not called")
        if not len(self._entries):
            return []
        candidates: list[tuple[int, int, tuple[T | None, ...]]] = []
        n = len(folded)
        passing = self._passing
        for last, (size, word_start, word_end, entries, ready) in self._automaton.iter(folded):
            end = last + 1
            start = end - size
            # word boundaries (textnorm.at_word_boundary's contract; CJK edges always pass)
            if word_start and start > 0 and _word(folded[start - 1]):
                continue
            if word_end and end < n and _word(folded[end]):
                continue
            passed = ready if ready is not None else passing(entries, original[start:end])
            if passed:
                candidates.append((start, -end, passed))
        # leftmost-longest: by start, then longest first; keep what does not overlap
        candidates.sort(key=_by_span)
        hits: list[Hit[T]] = []
        cursor = 0
        for start, neg_end, payloads in candidates:
            if start < cursor:
                continue
            cursor = -neg_end
            kept = tuple(p for p in payloads if p is not None)
            if kept:
                hits.append(Hit(start, -neg_end, kept))
        return hits

    @staticmethod
    def _passing(entries: list[_Entry[T]], surface: str) -> tuple[T | None, ...]:
        out: list[T | None] = []
        blocked = False
        for e in entries:
            if e.case_sensitive and surface != e.surface:
                continue
            if e.capitalised and is_latin_start(surface) and not surface[0].isupper():
                continue
            if e.payload is None:
                blocked = True
            else:
                out.append(e.payload)
        # a blocker that matches hides every payload of the same phrase
        return (None,) if blocked else tuple(out)
