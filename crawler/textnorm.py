"""Text normalisation shared by tagging, watchlist matching and the search index.

One definition of "the same word" for the whole product: case-insensitive, accent-insensitive,
traditional Chinese folded to simplified. `fold` keeps the string's length, so offsets found in
the folded text point at the same characters of the original (needed to highlight matches).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import opencc


def _t2s_table() -> dict[int, str]:
    """OpenCC's traditional->simplified character table (its first choice per character).

    Character by character on purpose: the fold must keep the text's length (offsets point
    into the original), and a `str.translate` table is ~100x faster than OpenCC's Python
    phrase converter, which cost ~6 ms per Chinese article. Both sides of every comparison
    (watchlists, queries, articles, the index) go through this one table, so they agree.
    """
    table: dict[int, str] = {}
    path = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    for line in path.read_text(encoding="utf-8").splitlines():
        trad, _, simp = line.partition("\t")
        first = simp.split(" ")[0] if simp else ""
        if len(trad) == 1 and len(first) == 1 and first != trad:
            table[ord(trad)] = first
    return table


_T2S = _t2s_table()

# CJK Unified Ideographs (+ extension A) and the CJK compatibility block: what the
# traditional->simplified fold and per-character tokenisation apply to.
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_CJK_CHAR = re.compile(r"([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])")


# Typographic punctuation that news CMSs substitute for the plain one ("China’s", "U.S.–China"):
# folded so that a watchlist typed with plain quotes and hyphens matches either.
_PUNCT = {
    "\u2019": "'",
    "\u2018": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2010": "-",
    "\u2011": "-",
    "\u00a0": " ",
}


@lru_cache(maxsize=65536)
def _fold_char(ch: str) -> str:
    if ch in _PUNCT:
        return _PUNCT[ch]
    low = ch.lower()
    if len(low) != 1:  # e.g. "İ".lower() is two code points: keep length
        low = ch
    if low.isascii():
        return low
    decomposed = unicodedata.normalize("NFKD", low)
    base = "".join(c for c in decomposed if not unicodedata.combining(c))
    if len(base) == 1:
        return base
    return low


def fold(text: str) -> str:
    """Lowercase, strip accents, traditional->simplified; `len(fold(s)) == len(s)` always."""
    if text.isascii():
        return text.lower()
    return "".join(_fold_char(c) for c in text).translate(_T2S)


def has_cjk(text: str) -> bool:
    return _CJK_RUN.search(text) is not None


def is_word_char(ch: str) -> bool:
    """True for characters that continue a Latin-script word (letters, digits, underscore)."""
    return ch.isalnum() and not _CJK_RUN.match(ch)


def at_word_boundary(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] stands as whole words.

    Latin-script edges need a non-word neighbour; Chinese has no spaces, so an edge made of a
    CJK character always counts as a boundary.
    """
    if start > 0 and is_word_char(text[start]) and is_word_char(text[start - 1]):
        return False
    return not (end < len(text) and is_word_char(text[end - 1]) and is_word_char(text[end]))


def index_text(text: str) -> str:
    """Folded text with every CJK character as its own token, for the full-text index.

    SQLite's unicode61 tokenizer would take a whole run of Chinese as one token; single
    characters make a Chinese phrase query a phrase of characters, which finds it anywhere.
    """
    folded = fold(text)
    if not _CJK_RUN.search(folded):
        return folded
    return _CJK_CHAR.sub(r" \1 ", folded)
