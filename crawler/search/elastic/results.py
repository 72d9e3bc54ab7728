"""Elasticsearch search responses to watchdesk's SearchResult, with snippets cut from the original.

Elasticsearch highlights the indexed (folded, Chinese spaced out) form of the text. Folding keeps
offsets and `index_text` only adds spaces around Chinese characters, so every highlighted span
maps back to exact offsets in the article as written; the snippet is then cut around the first
match the same way as the embedded backend's (`crawler.search.make_snippet`).
"""

from __future__ import annotations

from typing import Any

from crawler.article import Article
from crawler.query.elasticsearch import (
    HIGHLIGHT_MAX_ANALYZED_OFFSET,
    HIGHLIGHT_POST,
    HIGHLIGHT_PRE,
)
from crawler.query.syntax import is_cjk_token
from crawler.search.elastic.document import article_from_source
from crawler.search.request import COPIES_SHOWN, FACET_FIELDS, Copy, Hit, SearchResult
from crawler.search.snippets import SNIPPET_CHARS, make_snippet, mark_spans
from crawler.textnorm import fold, index_text

Span = tuple[int, int]


def index_offsets(original: str) -> list[int] | None:
    """For each character of `index_text(original)`, its offset in `original`.

    None if the index form is not the expected one (a future change to index_text): callers
    then fall back to matching the query terms in the original text.
    """
    folded = fold(original)
    built: list[str] = []
    offsets: list[int] = []
    has_cjk = any(is_cjk_token(ch) for ch in folded)
    for i, ch in enumerate(folded):
        if has_cjk and is_cjk_token(ch):
            built += [" ", ch, " "]
            offsets += [i, i, i + 1]
        else:
            built.append(ch)
            offsets.append(i)
    if "".join(built) != index_text(original):
        return None
    return offsets


def marked_spans(marked: str) -> tuple[str, list[Span]] | None:
    """The text of a highlighted field without its markers, and the marked spans in it."""
    plain: list[str] = []
    spans: list[Span] = []
    length = 0
    pos = 0
    while True:
        start = marked.find(HIGHLIGHT_PRE, pos)
        if start == -1:
            plain.append(marked[pos:])
            break
        end = marked.find(HIGHLIGHT_POST, start + len(HIGHLIGHT_PRE))
        if end == -1:
            return None
        before = marked[pos:start]
        inner = marked[start + len(HIGHLIGHT_PRE) : end]
        plain += [before, inner]
        length += len(before)
        spans.append((length, length + len(inner)))
        length += len(inner)
        pos = end + len(HIGHLIGHT_POST)
    return "".join(plain), spans


def original_spans(original: str, marked: str) -> list[Span] | None:
    """Spans of `original` that Elasticsearch highlighted in its index form `marked`.

    None when they cannot be mapped exactly: the original itself contains a marker (crawled
    text is untrusted), or the highlighted text is not the whole index form.
    """
    if HIGHLIGHT_PRE in original or HIGHLIGHT_POST in original:
        return None
    parsed = marked_spans(marked)
    offsets = index_offsets(original)
    if parsed is None or offsets is None:
        return None
    plain, spans = parsed
    if plain != index_text(original):
        return None
    out: list[Span] = []
    for start, end in spans:
        # a marked span may include the padding spaces around a Chinese character
        while start < end and plain[start] == " ":
            start += 1
        while end > start and plain[end - 1] == " ":
            end -= 1
        if start < end:
            out.append((offsets[start], offsets[end - 1] + 1))
    return _merge(out)


def _merge(spans: list[Span]) -> list[Span]:
    """Sorted spans, overlapping or touching ones merged (adjacent Chinese characters of a
    phrase come back as separate marks)."""
    out: list[Span] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def snippet_from_spans(text: str, spans: list[Span], width: int = SNIPPET_CHARS) -> str:
    """A window of `text` around the first span, spans wrapped in `[[` `]]`: the embedded
    backend's own snippet (`crawler.search.mark_spans`), so both backends cut alike."""
    return mark_spans(text, spans, width)


def _past_highlighting(text: str) -> bool:
    """Whether part of `text`'s index form lies past what the highlighter analyses."""
    return len(text) > HIGHLIGHT_MAX_ANALYZED_OFFSET // 3 and (
        len(index_text(text)) > HIGHLIGHT_MAX_ANALYZED_OFFSET
    )


def hit_from_response(raw: dict[str, Any], terms: list[str]) -> Hit:
    """One hit; `terms` (the query's positive literals) serve when highlights can't be mapped."""
    article: Article = article_from_source(raw["_source"])
    highlight = raw.get("highlight") or {}
    body = article.text or article.title
    field = "text" if article.text else "title"
    marked = (highlight.get(field) or [None])[0]
    spans = original_spans(body, marked) if marked is not None else []
    if spans is None or (not spans and _past_highlighting(body)):
        # marks that cannot be mapped, or none because the matches lie past the characters
        # Elasticsearch highlights (HIGHLIGHT_MAX_ANALYZED_OFFSET): find the terms ourselves
        snippet, found = make_snippet(body, terms)
    else:
        snippet = snippet_from_spans(body, spans)
        found = []
        for name, value in (("title", article.title), ("text", article.text)):
            value_marked = (highlight.get(name) or [None])[0]
            value_spans = original_spans(value, value_marked) if value_marked else []
            for s, e in value_spans or []:
                if value[s:e] not in found:
                    found.append(value[s:e])
    score = raw.get("_score")
    return Hit(article, float(score) if score is not None else 0.0, snippet, found)


def _total(part: dict[str, Any]) -> int:
    total = part.get("total") or {}
    return int(total.get("value", 0)) if isinstance(total, dict) else int(total)


def _copies(hit: Hit, raw: dict[str, Any]) -> None:
    """The copies of a collapsed hit's story from its `inner_hits` (archive.by_story)."""
    inner = ((raw.get("inner_hits") or {}).get("copies") or {}).get("hits") or {}
    hit.copy_count = max(_total(inner) - 1, 0)
    others = [
        article_from_source(h["_source"])
        for h in inner.get("hits") or []
        if h.get("_id") != raw.get("_id")
    ]
    hit.copies = [Copy.of(a) for a in others[:COPIES_SHOWN]]


def result_from_response(
    response: dict[str, Any], terms: list[str], by_story: bool = False
) -> SearchResult:
    """The whole SearchResult of a response to a `compile_search` body (`by_story`: to one
    made by `archive.by_story`, whose totals and facets count stories)."""
    hits_part = response.get("hits") or {}
    hits = []
    for raw in hits_part.get("hits") or []:
        hit = hit_from_response(raw, terms)
        if by_story:
            _copies(hit, raw)
        hits.append(hit)
    result = SearchResult(hits, _total(hits_part))
    aggs = response.get("aggregations") or {}
    if by_story:
        result.articles = result.total
        result.total = int((aggs.get("stories") or {}).get("value") or 0)
    for name in FACET_FIELDS:
        agg = aggs.get(f"facet_{name}")
        if agg is not None:
            result.facets[name] = [
                (str(b["key"]), int(b["stories"]["value"] if by_story else b["doc_count"]))
                for b in agg["buckets"]
            ]
    if "histogram" in aggs:
        per_day: dict[str, int] = {}
        undated = (aggs.get("histogram_undated") or {}).get("days") or {}
        # published days plus the fetch days of undated articles (archive.undated_histogram)
        for b in [*aggs["histogram"]["buckets"], *undated.get("buckets", [])]:
            if b["doc_count"]:
                day = str(b["key_as_string"])
                n = b["stories"]["value"] if by_story else b["doc_count"]
                per_day[day] = per_day.get(day, 0) + int(n)
        result.histogram = sorted(per_day.items())
    result.took_ms = float(response.get("took", 0))
    return result


__all__ = [
    "hit_from_response",
    "index_offsets",
    "marked_spans",
    "original_spans",
    "result_from_response",
    "snippet_from_spans",
]
