"""Rendering of alerts into Slack messages (`{"text": fallback, "blocks": [...]}`).

A story alert says at a glance why it fired: the matched terms in bold in a snippet, the places
on both sides ("Oxford, Mississippi ↔ Wuhan, Hubei"), the kinds of exchange and the relevance.
Every piece of crawled text goes through `alerts.mrkdwn`, and every message is cut to fit
Slack's documented limits, so a hostile or huge article can neither ping a channel nor be
rejected by the API. The sinks that are not Slack (terminal, JSON Lines, webhook) get the same
dict.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from alerts.desk import triage_blocks
from alerts.mrkdwn import (
    ELLIPSIS,
    bold,
    date_token,
    escape_mrkdwn,
    link,
    strip_control,
    truncate_mrkdwn,
    truncate_plain,
)
from alerts.watchlist import Digest, Watchlist
from crawler.article import Article, Entity
from crawler.records import Alert, MatchedTerm

# --- Slack's limits -------------------------------------------------------------------------
# "You can include up to 50 blocks in each message"
#   (https://docs.slack.dev/reference/block-kit/blocks).
MAX_BLOCKS = 50
# Section block `text`: "Maximum length for the text in this field is 3000 characters"
#   (https://docs.slack.dev/reference/block-kit/blocks/section-block).
MAX_SECTION_TEXT = 3000
# Header block `text`: "Maximum length for the text in this field is 150 characters"
#   (https://docs.slack.dev/reference/block-kit/blocks/header-block).
MAX_HEADER_TEXT = 150
# Context block: "Maximum number of items is 10"; each element is a text object, whose text is
#   capped at 3,000 characters (https://docs.slack.dev/reference/block-kit/blocks/context-block).
MAX_CONTEXT_ELEMENTS = 10
# Top-level `text`: "For best results, limit the number of characters in the text field to 4,000
#   characters" (https://docs.slack.dev/reference/methods/chat.postMessage, "Truncating
#   content"; Slack itself truncates at 40,000). Kept a little under, since Slack's way of
#   counting characters (entities, UTF-16) is not documented.
MAX_FALLBACK_TEXT = 3900
# Not documented: Slack answers `msg_blocks_too_long` once all block text reaches about 13,000
#   characters (measured in slackapi/bolt-js#2509), far below 50 blocks x 3,000. 12,000 keeps
#   a margin.
MAX_TOTAL_BLOCK_TEXT = 12_000

# --- Editorial sizes (not Slack limits) -----------------------------------------------------
# "a snippet (~300 chars) around the first match": enough for a sentence either side.
SNIPPET_CHARS = 300
# How far before the first match the snippet starts: a third of it, so the match leads.
SNIPPET_LEAD = SNIPPET_CHARS // 3
# A title longer than this is cut: a headline runs 60-120 characters; longer "titles" are
# usually a first paragraph picked up by the extractor.
MAX_TITLE = 250
MAX_PLACES_PER_SIDE = 4
# One place name, event label or matched term: real ones are short ("Oxford, Mississippi");
# anything longer is an extraction accident and must not crowd out the rest of its line.
MAX_LABEL = 80
MAX_REASONS = 3
MAX_TERMS_LISTED = 8
# Digest: the watchlist's `delivery.max_stories` wins; this is for instant watchlists.
DEFAULT_DIGEST_STORIES = 20
DIGEST_TITLE = 150
DIGEST_TERMS = 3

PLACE_SIDES = ("US", "CN")  # the two sides of the story; Taiwan (TW) is listed apart

_SPACES = re.compile(r"\s+")


@dataclass(slots=True)
class _Places:
    us: list[str]
    cn: list[str]
    tw: list[str]


# --- public API -----------------------------------------------------------------------------


def render_story(
    alert: Alert, article: Article, watchlist: Watchlist, matched_terms: Sequence[MatchedTerm]
) -> dict[str, Any]:
    """The message announcing a new story to a watchlist's channel.

    Returns `{"text": fallback, "blocks": [...]}`: a header with the watchlist name, the linked
    title with source and time, a snippet around the first match with the matched terms in bold,
    places on both sides, exchange kinds, relevance with its top reasons, and the matched terms.
    Within every limit above, whatever the article holds.
    """
    places = _places(article)
    facts = _facts_lines(article, places)
    snippet = _snippet(article, matched_terms)
    terms = _term_list(article, matched_terms)

    blocks: list[dict[str, Any]] = [
        _header(watchlist.name),
        _section(f"*{_title_link(article)}*\n{_byline(article)}"),
    ]
    if snippet:
        blocks.append(_section(snippet))
    if facts:
        blocks.append(_section("\n".join(facts)))
    if terms:
        blocks.append(_context([f"Matched: {terms}"]))
    blocks.extend(triage_blocks(alert))  # the desk's buttons (alerts/desk.py), when listening

    text = f"[{escape_mrkdwn(watchlist.name)}] {_title_link(article)}"
    if article.source:
        text += f" — {_label(article.source, MAX_LABEL * 2)}"
    if facts:
        text += "\n" + "\n".join(facts)
    return _message(text, blocks)


def render_copy(
    alert: Alert,
    article: Article,
    watchlist: Watchlist,
    matched_terms: Sequence[MatchedTerm] | None = None,
) -> dict[str, Any]:
    """The threaded reply for a later syndicated copy: "Also reported by <source>: <title>".

    Short on purpose: the story's message above it already explains why it fired.
    """
    del alert, watchlist, matched_terms  # the reply names the copy only
    source = _label(article.source or article.site_name or "another source", MAX_LABEL * 2)
    line = f"Also reported by *{source}*: {_title_link(article)}"
    blocks = [_section(line)]
    when = article.published or article.fetched
    if when is not None:
        blocks.append(_context([date_token(when)]))
    return _message(f"Also reported by {source}: {_title_link(article)}", blocks)


def render_digest(
    watchlist: Watchlist,
    items: Sequence[tuple[Article, Sequence[MatchedTerm]]],
    period_label: str = "",
) -> dict[str, Any]:
    """One message gathering a watchlist's held matches, top stories first.

    Articles of one cluster are one story (its lead, or its most relevant article), shown with
    "+N copies"; stories are ordered by relevance, then newest first; one line each. What does
    not fit the watchlist's `max_stories` or Slack's limits is counted in "and N more".
    """
    stories = _group_stories(items)
    n_articles = sum(1 + len(copies) for _, _, copies in stories)
    delivery = watchlist.delivery
    max_stories = delivery.max_stories if isinstance(delivery, Digest) else DEFAULT_DIGEST_STORIES

    title = f"{watchlist.name} digest"
    if period_label.strip():
        title += f" · {period_label.strip()}"
    header = _header(title)
    summary = f"{_count(len(stories), 'story', 'stories')} ({_count(n_articles, 'article')})"
    blocks: list[dict[str, Any]] = [header, _context([escape_mrkdwn(summary)])]
    if not stories:
        blocks.append(_section("No new stories."))
        return _message(f"{_label(title, MAX_HEADER_TEXT)}: no new stories", blocks)

    # Room left for story lines: the footer ("and N more") takes one block and a few characters.
    used = _block_text_size(blocks) + 100
    lines_shown: list[str] = []
    section_lines: list[str] = []
    sections: list[dict[str, Any]] = []
    for article, terms, copies in stories[:max_stories]:
        line = _digest_line(article, terms, len(copies))
        candidate = "\n".join([*section_lines, line])
        if len(candidate) > MAX_SECTION_TEXT:
            if len(blocks) + len(sections) + 2 > MAX_BLOCKS:
                break
            sections.append(_section("\n".join(section_lines)))
            section_lines = []
        if used + len(line) + 1 > MAX_TOTAL_BLOCK_TEXT:
            break
        section_lines.append(line)
        lines_shown.append(line)
        used += len(line) + 1
    if section_lines:
        sections.append(_section("\n".join(section_lines)))
    blocks.extend(sections)
    more = len(stories) - len(lines_shown)
    if more:
        blocks.append(_context([f"and {more} more"]))

    text = f"{_label(title, MAX_HEADER_TEXT)}: {escape_mrkdwn(summary)}"
    # The fallback (notifications, screen readers) names the top few stories only.
    for line in lines_shown[:5]:
        text += "\n" + line
    not_named = len(stories) - min(len(lines_shown), 5)
    if not_named:
        text += f"\nand {not_named} more"
    return _message(text, blocks)


# --- pieces ---------------------------------------------------------------------------------


def _clean(text: str) -> str:
    """Untrusted text on one line: controls removed, runs of whitespace made one space."""
    return _SPACES.sub(" ", strip_control(text)).strip()


def _label(text: str, limit: int = MAX_LABEL) -> str:
    """A short piece of untrusted text as mrkdwn, at most `limit` characters once escaped."""
    return truncate_mrkdwn(escape_mrkdwn(_clean(text)), limit)


def _title_link(article: Article, limit: int = MAX_TITLE) -> str:
    title = truncate_plain(_clean(article.title) or _clean(article.url) or "(untitled)", limit)
    return link(article.canonical_url or article.url, title)


def _byline(article: Article) -> str:
    parts = []
    source = _clean(article.source or article.site_name)
    if source:
        parts.append(_label(source, MAX_LABEL * 2))
    when = article.published or article.fetched
    if when is not None:
        parts.append(date_token(when))
    return " · ".join(parts)


def _valid_spans(text: str, terms: Sequence[MatchedTerm], field: str) -> list[tuple[int, int]]:
    """(start, end) of the terms in `field`, dropping offsets that do not fit the text."""
    spans = [
        (t.start, t.end)
        for t in terms
        if t.field == field and 0 <= t.start < t.end <= len(text) and text[t.start : t.end].strip()
    ]
    return sorted(set(spans))


def _spans_in_text(article: Article, terms: Sequence[MatchedTerm]) -> list[tuple[int, int]]:
    spans = _valid_spans(article.text, terms, "text")
    if spans:
        return spans
    # Only the title matched: highlight the same words where the text repeats them.
    lowered = article.text.lower()
    found = []
    for start, end in _valid_spans(article.title, terms, "title"):
        needle = article.title[start:end].strip().lower()
        pos = lowered.find(needle) if needle else -1
        if pos >= 0:
            found.append((pos, pos + len(needle)))
    return sorted(set(found))


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _snippet(article: Article, terms: Sequence[MatchedTerm]) -> str:
    """~SNIPPET_CHARS of the text around the first match, matched words in bold (mrkdwn)."""
    text = article.text
    if not text.strip():
        return ""
    spans = _spans_in_text(article, terms)
    anchor = spans[0] if spans else (0, 0)
    start = max(0, anchor[0] - SNIPPET_LEAD)
    end = min(len(text), start + SNIPPET_CHARS)
    start = max(0, min(start, end - SNIPPET_CHARS))
    # Snap to word boundaries so the snippet neither starts nor ends in half a word.
    if start > 0:
        gap = _SPACES.search(text, start, min(anchor[0], start + 30))
        if gap:
            start = gap.end()
    if end < len(text):
        gaps = list(_SPACES.finditer(text, max(anchor[1], end - 30), end))
        if gaps:
            end = gaps[-1].start()

    pieces: list[str] = [ELLIPSIS] if start > 0 else []
    pos = start
    for s, e in _merge([(max(s, start), min(e, end)) for s, e in spans if s < end and e > start]):
        pieces.append(escape_mrkdwn(text[pos:s]))
        pieces.append(bold(text[s:e], before=text[s - 1 : s] if s else "", after=text[e : e + 1]))
        pos = e
    pieces.append(escape_mrkdwn(text[pos:end]))
    if end < len(text):
        pieces.append(ELLIPSIS)
    snippet = _SPACES.sub(" ", "".join(pieces)).strip()
    return truncate_mrkdwn(snippet, MAX_SECTION_TEXT)


def _place_label(entity: Entity) -> str:
    name = _clean(entity.name)
    region = _clean(entity.region or "")
    if region and region.lower() != name.lower():
        return f"{name}, {region}"
    return name


def _key(name: str | None) -> str:
    return _clean(name or "").lower()


def _side(entities: list[Entity]) -> list[str]:
    """Place labels of one side, most mentioned first; a state or province is left out when a
    place inside it is listed ("Oxford, Mississippi" makes "Mississippi" redundant)."""
    ordered = sorted(entities, key=lambda e: -e.mentions)
    inner_regions = {_key(e.region) for e in ordered if e.region and _key(e.region) != _key(e.name)}
    labels: list[str] = []
    for e in ordered:
        is_region = not e.region or _key(e.region) == _key(e.name)
        if is_region and _key(e.name) in inner_regions:
            continue
        label = _place_label(e)
        if label and label not in labels:
            labels.append(label)
    return labels


def _places(article: Article) -> _Places:
    by_country: dict[str, list[Entity]] = {"US": [], "CN": [], "TW": []}
    countries: dict[str, list[Entity]] = {"US": [], "CN": [], "TW": []}
    for e in article.entities:
        code = (e.country or "").upper()
        if code not in by_country:
            continue
        if e.type == "place":
            by_country[code].append(e)
        elif e.type == "country":
            countries[code].append(e)
    sides = {}
    for code in by_country:
        labels = _side(by_country[code]) or [_clean(e.name) for e in countries[code][:1]]
        sides[code] = labels
    return _Places(us=sides["US"], cn=sides["CN"], tw=sides["TW"])


def _join_places(labels: list[str]) -> str:
    shown = "; ".join(_label(label) for label in labels[:MAX_PLACES_PER_SIDE])
    if len(labels) > MAX_PLACES_PER_SIDE:
        shown += f" +{len(labels) - MAX_PLACES_PER_SIDE} more"
    return shown


def _places_line(places: _Places) -> str:
    if not places.us and not places.cn:
        return ""
    return f"{_join_places(places.us) or '—'} ↔ {_join_places(places.cn) or '—'}"


def _event_label(event: str) -> str:
    return _clean(event.replace("_", " "))


def _facts_lines(article: Article, places: _Places) -> list[str]:
    lines = []
    both_sides = _places_line(places)
    if both_sides:
        lines.append(f"*Places* {both_sides}")
    if places.tw:
        lines.append(f"*Taiwan* {_join_places(places.tw)}")
    events = [_event_label(e) for e in article.events if _event_label(e)]
    if events:
        lines.append(f"*Exchange* {', '.join(_label(e) for e in dict.fromkeys(events))}")
    relevance = f"*Relevance* {article.relevance:.2f}"
    reasons = [_label(r, MAX_LABEL * 2) for r in article.relevance_reasons if _clean(r)]
    if reasons:
        relevance += " · " + "; ".join(reasons[:MAX_REASONS])
    lines.append(relevance)
    # Each line is short by construction; cut anyway so a pathological entity list cannot
    # push the section over its limit.
    return [truncate_mrkdwn(line, MAX_SECTION_TEXT // 4) for line in lines]


def _matched_words(article: Article, terms: Sequence[MatchedTerm]) -> list[str]:
    """The matched words as they appear in the article (title first), then any terms whose
    offsets did not fit the text; case-insensitively unique."""
    candidates: list[str] = []
    placed: set[tuple[str, int, int]] = set()
    for field in ("title", "text"):
        source = article.title if field == "title" else article.text
        spans = _valid_spans(source, terms, field)
        placed.update((field, s, e) for s, e in spans)
        candidates.extend(source[s:e] for s, e in spans)
    # A term is listed as written in the query only when none of its spans fit the article
    # (e.g. offsets from an older version of the text): listing both would repeat it.
    shown_terms = {t.term for t in terms if (t.field, t.start, t.end) in placed}
    candidates.extend(t.term for t in terms if t.term not in shown_terms)
    seen: dict[str, str] = {}
    for word in map(_clean, candidates):
        if word and word.lower() not in seen:
            seen[word.lower()] = word
    return list(seen.values())


def _term_list(
    article: Article, terms: Sequence[MatchedTerm], limit: int = MAX_TERMS_LISTED
) -> str:
    words = _matched_words(article, terms)
    shown = ", ".join(bold(truncate_plain(w, MAX_LABEL)) for w in words[:limit])
    if len(words) > limit:
        shown += f" +{len(words) - limit} more"
    return shown


def _group_stories(
    items: Sequence[tuple[Article, Sequence[MatchedTerm]]],
) -> list[tuple[Article, Sequence[MatchedTerm], list[Article]]]:
    """(lead, its terms, copies) per story, top stories first."""
    groups: dict[str, list[tuple[Article, Sequence[MatchedTerm]]]] = {}
    for article, terms in items:
        key = f"cluster:{article.cluster_id}" if article.cluster_id else f"article:{article.id}"
        groups.setdefault(key, []).append((article, terms))
    stories = []
    for members in groups.values():
        lead, terms = max(members, key=lambda m: (m[0].is_cluster_lead, m[0].relevance))
        copies = [a for a, _ in members if a is not lead]
        stories.append((lead, terms, copies))

    def rank(story: tuple[Article, Sequence[MatchedTerm], list[Article]]) -> tuple[float, float]:
        lead, _, copies = story
        best = max([lead.relevance, *(c.relevance for c in copies)])
        when = lead.published or lead.fetched
        return (-best, -(_timestamp(when)))

    return sorted(stories, key=rank)


def _timestamp(when: datetime | None) -> float:
    if when is None:
        return 0.0
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def _digest_line(article: Article, terms: Sequence[MatchedTerm], n_copies: int) -> str:
    parts = [f"• *{_title_link(article, DIGEST_TITLE)}*"]
    source = _clean(article.source or article.site_name)
    if source:
        parts.append(_label(source))
    parts.append(f"{article.relevance:.2f}")
    events = list(dict.fromkeys(_event_label(e) for e in article.events if _event_label(e)))
    if events:
        parts.append(", ".join(_label(e) for e in events[:3]))
    places = _places(article)
    if places.us or places.cn:
        us = _label(places.us[0]) if places.us else "—"
        cn = _label(places.cn[0]) if places.cn else "—"
        parts.append(f"{us} ↔ {cn}")
    matched = _term_list(article, terms, DIGEST_TERMS)
    if matched:
        parts.append(matched)
    if n_copies:
        parts.append(f"+{_count(n_copies, 'copy', 'copies')}")
    return truncate_mrkdwn(" · ".join(parts), MAX_SECTION_TEXT // 3)


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


# --- blocks and limits ----------------------------------------------------------------------


def _header(text: str) -> dict[str, Any]:
    # plain_text is not parsed for mentions, links or entities, so it needs no escaping; it
    # only needs to lose control characters and fit.
    plain = truncate_plain(_clean(text) or "watchdesk", MAX_HEADER_TEXT)
    return {"type": "header", "text": {"type": "plain_text", "text": plain, "emoji": False}}


def _section(mrkdwn: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn}}


def _context(elements: list[str]) -> dict[str, Any]:
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": e} for e in elements[:MAX_CONTEXT_ELEMENTS]],
    }


def _texts(block: dict[str, Any]) -> list[dict[str, Any]]:
    """The text objects of a block (the ones the limits apply to)."""
    objs = []
    if isinstance(block.get("text"), dict):
        objs.append(block["text"])
    objs.extend(e for e in block.get("elements", []) if isinstance(e, dict) and "text" in e)
    return objs


def _block_text_size(blocks: list[dict[str, Any]]) -> int:
    return sum(len(t["text"]) for b in blocks for t in _texts(b))


def _fit_blocks(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Last guard: every text within its limit, at most MAX_BLOCKS blocks and
    MAX_TOTAL_BLOCK_TEXT characters in all; later blocks are cut first."""
    blocks = blocks[:MAX_BLOCKS]
    for block in blocks:
        for obj in _texts(block):
            limit = MAX_HEADER_TEXT if block["type"] == "header" else MAX_SECTION_TEXT
            if obj["type"] == "mrkdwn":
                obj["text"] = truncate_mrkdwn(obj["text"], limit)
            else:
                obj["text"] = truncate_plain(obj["text"], limit)
    while len(blocks) > 1 and _block_text_size(blocks) > MAX_TOTAL_BLOCK_TEXT:
        last = blocks[-1]
        excess = _block_text_size(blocks) - MAX_TOTAL_BLOCK_TEXT
        texts = [t for t in _texts(last) if t["type"] == "mrkdwn"]
        if texts and len(texts[0]["text"]) - excess > 200:
            texts[0]["text"] = truncate_mrkdwn(texts[0]["text"], len(texts[0]["text"]) - excess)
        else:
            blocks.pop()
    return blocks


def _message(text: str, blocks: list[dict[str, Any]]) -> dict[str, Any]:
    return {"text": truncate_mrkdwn(text, MAX_FALLBACK_TEXT), "blocks": _fit_blocks(blocks)}
