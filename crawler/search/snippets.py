"""Snippets and highlights cut from an article's original text, for every archive backend."""

from __future__ import annotations

import json
from collections.abc import Sequence

from crawler.article import Article
from crawler.query import MatchDocument, Query, find_hits
from crawler.search.request import Hit
from crawler.textnorm import at_word_boundary, fold

# Characters of body text around the first match: about three lines of a terminal table and
# what fits under a result title on the web page.
SNIPPET_CHARS = 240


def mark_spans(text: str, spans: Sequence[tuple[int, int]], width: int | None = None) -> str:
    """`text` (or a `width` window around its first span) with spans wrapped in `[[` `]]`.

    Overlapping spans are merged; newlines become spaces; an ellipsis marks a cut.
    """
    ordered: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if ordered and start < ordered[-1][1]:  # overlapping: one mark
            ordered[-1] = (ordered[-1][0], max(end, ordered[-1][1]))
        else:
            ordered.append((start, end))
    lo, hi = 0, len(text)
    if width is not None:
        first = ordered[0][0] if ordered else 0
        lo = max(0, first - width // 3) if ordered else 0
        hi = min(len(text), lo + width)
        # do not start or end inside a word
        while lo > 0 and not text[lo - 1].isspace() and lo > first - width // 2:
            lo -= 1
    out: list[str] = []
    pos = lo
    for start, end in ordered:
        start = max(start, pos)
        if start >= end or start >= hi:
            continue
        end = min(end, hi)
        out.append(text[pos:start])
        out.append("[[" + text[start:end] + "]]")
        pos = end
    out.append(text[pos:hi])
    body = " ".join("".join(out).split())
    return ("…" if lo > 0 else "") + body + ("…" if hi < len(text) else "")


def make_snippet(text: str, terms: list[str], width: int = SNIPPET_CHARS) -> tuple[str, list[str]]:
    """A window of `text` around the first whole-word match of any literal term, and the terms
    found (for backends that only know the query's words, not their positions)."""
    folded = fold(text)
    spans: list[tuple[int, int]] = []
    found: list[str] = []
    for term in terms:
        t = fold(term)
        start = folded.find(t) if t else -1
        while start != -1:
            end = start + len(t)
            if at_word_boundary(folded, start, end):
                spans.append((start, end))
                if term not in found:
                    found.append(term)
            start = folded.find(t, end)
    return mark_spans(text, spans, width), found


def highlight(
    tree: Query | None, article: Article, doc: MatchDocument | None = None
) -> tuple[str, str, list[str]]:
    """(snippet of the text, title, distinct matched words) with `[[ ]]` around every match.

    Spans come from `find_hits`, the matcher's own reading of the query: only terms that made
    the article match are marked (none under NOT), phrases whole, prefixes to the word's end.
    """
    if tree is None:
        return mark_spans(article.text or article.title, [], SNIPPET_CHARS), article.title, []
    doc = doc or MatchDocument.from_article(article)
    hits = find_hits(tree, doc)
    title_spans = [(h.start, h.end) for h in hits if h.field == "title"]
    text_spans = [(h.start, h.end) for h in hits if h.field == "text"]
    words: dict[str, str] = {}
    for h in hits:
        original = (article.title if h.field == "title" else article.text)[h.start : h.end]
        words.setdefault(fold(" ".join(original.split())), " ".join(original.split()))
    body = article.text or article.title
    snippet_spans = text_spans if article.text else title_spans
    return (
        mark_spans(body, snippet_spans, SNIPPET_CHARS),
        mark_spans(article.title, title_spans),
        list(words.values()),
    )


def hit_json(hit: Hit) -> str:
    return json.dumps(hit.to_dict(), ensure_ascii=False)
