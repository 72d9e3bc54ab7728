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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

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
from alerts.triage import triage_blocks
from alerts.watchlist import Digest, Watchlist
from crawler.article import Article, Entity
from crawler.records import Alert, MatchedTerm
from crawler.storage.verdicts import VerdictCounts
from enrich.relevance import BANDS

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
#   characters (measured in slackapi/bolt-js#2509), and it has been reported at 11,341 (issue
#   #17). 10,000 UTF-16 units keeps a margin under both, however Slack counts.
MAX_TOTAL_BLOCK_TEXT = 10_000
# Slack documents its limits in "characters" without saying how it counts them; JavaScript
#   (and, by every report, Slack) counts UTF-16 code units, in which an emoji or a rare CJK
#   character is two. Everything here is counted that way (`slack_length`), and a digest's
#   sections are filled to 2,900 of the 3,000, for the entities Slack may expand.
SECTION_BUDGET = 2_900

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
# A story published more than this before its alert says how old it is ("published 6 days
# ago"): feeds re-list old stories, and a six-year-old story read as news misleads a desk.
STALE_AFTER = timedelta(days=1)
# The age flag's emoji, written by us (never passed through the escaper, whose `_` look-alike
# would break the code).
AGE_EMOJI = ":hourglass_flowing_sand:"
# The passage shown: the sentences around the rarest matched clause, up to this many characters.
PASSAGE_CHARS = 320
MAX_TERMS_LISTED = 8
# Digest: the watchlist's `delivery.max_stories` wins; this is for instant watchlists.
DEFAULT_DIGEST_STORIES = 20
DIGEST_TITLE = 150
DIGEST_TERMS = 3
# The window of the precision line in a digest's footer: the 30 days `watchlist stats`, the web
# watchlists page and `/watchdesk watchlists` count by default, so every face says one figure.
PRECISION_WINDOW = timedelta(days=30)

PLACE_SIDES = ("US", "CN")  # the two sides of the story; Taiwan (TW) is listed apart

_SPACES = re.compile(r"\s+")


@dataclass(slots=True)
class _Places:
    us: list[str]
    cn: list[str]
    tw: list[str]


# --- public API -----------------------------------------------------------------------------


def render_story(
    alert: Alert,
    article: Article,
    watchlist: Watchlist,
    matched_terms: Sequence[MatchedTerm],
    *,
    also: Sequence[Watchlist] = (),
    base_url: str = "",
    now: datetime | None = None,
    clause_counts: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """The message announcing a new story, laid out for a journalist scanning a busy channel.

    Returns `{"text": fallback, "blocks": [...]}`, read top down:
    1. the headline, bold and linked (and the English title under a Chinese one, if known);
    2. the outlet, "via" the feed it came from, the time (in each reader's time zone) and,
       for a story published more than a day before the alert, how old it is;
    3. the passage that made it match: the sentences around its rarest matched clause (by
       `clause_counts`, how many archived articles each clause matches:
       `alerts.clause_counts`), the matched terms in bold;
    4. the places on both sides (Taiwan shown as Taiwan) and the kind of exchange, in words;
    5. small print: the watchlist(s) (`also`: other watchlists sending this story to the same
       channel in this one message), relevance as high/medium/low, and an "Explain" link to
       the web page when `base_url` (`web.base_url`) is set.
    The fallback `text` says the same in one line. Within every limit above.
    """
    when = alert.created or now
    watchlists = [watchlist, *[w for w in also if w.name != watchlist.name]]
    blocks: list[dict[str, Any]] = [_section(_headline(article))]
    byline = _byline(article, when)
    if byline:
        blocks.append(_context([byline]))
    passage = _snippet(article, matched_terms, clause_counts)
    if passage:
        blocks.append(_section(passage))
    facts = _facts_lines(article, _places(article))
    if facts:
        blocks.append(_section("\n".join(facts)))
    blocks.append(_context([_small_print(article, watchlists, base_url)]))
    blocks.extend(triage_blocks(alert))  # the desk's buttons (alerts/triage.py), when listening

    text = f"{_title_link(article)} — {_outlet_label(article)}"
    band = relevance_band(article.relevance)
    names = ", ".join(escape_mrkdwn(w.name) for w in watchlists)
    text += f" · {band} relevance · {names}"
    return _message(text, blocks)


def render_also_matched(
    article: Article, watchlists: Sequence[Watchlist], matched_terms: Sequence[MatchedTerm]
) -> dict[str, Any]:
    """The threaded reply when another watchlist matches a story already posted in the
    channel: one short line naming the watchlist(s), not the story again."""
    del matched_terms
    names = ", ".join(f"*{escape_mrkdwn(w.name)}*" for w in watchlists)
    line = f"Also matches {names}"
    return _message(
        f"Also matches {', '.join(escape_mrkdwn(w.name) for w in watchlists)}: "
        f"{_title_link(article)}",
        [_context([line])],
    )


def render_copy(
    alert: Alert,
    article: Article,
    watchlist: Watchlist,
    matched_terms: Sequence[MatchedTerm] | None = None,
) -> dict[str, Any]:
    """The threaded reply for a later syndicated copy: "Also reported by <outlet>: <title>".

    Short on purpose: the story's message above it already explains why it fired.
    """
    del alert, watchlist, matched_terms  # the reply names the copy only
    source = _outlet_label(article) or "another source"
    line = f"Also reported by *{source}*: {_title_link(article)}"
    blocks = [_section(line)]
    when = article.published or article.fetched
    if when is not None:
        blocks.append(_context([date_token(when)]))
    return _message(f"Also reported by {source}: {_title_link(article)}", blocks)


@dataclass(slots=True)
class DigestPart:
    """One message of a digest and the articles it lists (their items are released with it)."""

    message: dict[str, Any]
    article_ids: list[str]


DigestGroup = tuple[Watchlist, Sequence[tuple[Article, Sequence[MatchedTerm]]]]


def render_digest(
    watchlist: Watchlist,
    items: Sequence[tuple[Article, Sequence[MatchedTerm]]],
    period_label: str = "",
    *,
    base_url: str = "",
) -> dict[str, Any]:
    """The first message of `render_digest_parts` for one watchlist (the whole digest when it
    fits one message)."""
    return render_digest_parts([(watchlist, items)], period_label, base_url=base_url)[0].message


def render_digest_parts(
    groups: Sequence[DigestGroup],
    period_label: str = "",
    *,
    base_url: str = "",
    budget: int | None = None,
    continued: bool = False,
    precision: Mapping[str, VerdictCounts] | None = None,
) -> list[DigestPart]:
    """A digest of one or more watchlists sharing a channel, as one or more messages.

    One line per story (its lead or most relevant article, "+N copies"): headline, date,
    outlet, places and kind; grouped by watchlist, top stories first, a story listed once
    (under the first watchlist that has it). Each watchlist shows at most its `max_stories`,
    the rest counted in "and N more" (linked to the web search when `base_url` is set). Every
    message stays within Slack's limits counted in UTF-16 units with a margin; past them
    (50 blocks, `budget` units of block text) the digest continues in another message,
    headed "(continued)" (as is the first one when `continued`: the rest of a digest).

    `precision`: the desk's verdicts per watchlist over `PRECISION_WINDOW` (the store's
    `verdict_counts`); the last message ends with one footer line per watchlist of the digest
    that has judged alerts (`precision_line`), its room kept in every message's budget.
    """
    budget = budget or MAX_TOTAL_BLOCK_TEXT
    footer = _precision_footer([w for w, _ in groups], precision or {})
    # room for the footer in every message: which one is the last is known only at the end
    reserved_blocks = 1 if footer else 0
    budget -= _block_text_size([footer]) if footer else 0
    names = ", ".join(w.name for w, _ in groups) or "watchdesk"
    title = f"{names} digest"
    if period_label.strip():
        title += f" · {period_label.strip()}"
    seen: set[str] = set()
    lines: list[tuple[str, str | None]] = []  # (mrkdwn line, article id) ; id None: a heading
    n_stories = n_articles = 0
    for watchlist, items in groups:
        stories = [st for st in _group_stories(items) if _story_key(st[0]) not in seen]
        seen.update(_story_key(st[0]) for st in stories)
        n_stories += len(stories)
        n_articles += sum(1 + len(c) for _, _, c in stories)
        delivery = watchlist.delivery
        limit = delivery.max_stories if isinstance(delivery, Digest) else DEFAULT_DIGEST_STORIES
        if len(groups) > 1 and stories:
            lines.append((f"*{escape_mrkdwn(watchlist.name)}*", None))
        for article, _terms, copies in stories[:limit]:
            lines.append((_digest_line(article, len(copies)), article.id))
            for copy in copies:
                lines.append(("", copy.id))  # released with its story, not shown
        more = len(stories) - min(len(stories), limit)
        if more:
            lines.append((_more_line(more, watchlist, base_url), None))
    summary = f"{_count(n_stories, 'story', 'stories')} ({_count(n_articles, 'article')})"
    if not n_stories:
        blocks = [_header(title), _context([escape_mrkdwn(summary)]), _section("No new stories.")]
        if footer:
            blocks.append(footer)
        return [
            DigestPart(_message(f"{_label(title, MAX_HEADER_TEXT)}: no new stories", blocks), [])
        ]

    parts: list[DigestPart] = []
    first = 1 if continued else 0
    blocks = _digest_start(title, summary, first)
    ids: list[str] = []
    section: list[str] = []
    shown: list[str] = []

    def close_section() -> None:
        if section:
            blocks.append(_section("\n".join(section)))
            section.clear()

    def close_part(last: bool = False) -> None:
        close_section()
        if last and footer:
            blocks.append(footer)
        text = f"{_label(title, MAX_HEADER_TEXT)}: {escape_mrkdwn(summary)}"
        for line in shown[:5]:
            text += "\n" + line
        if len(shown) > 5:
            text += f"\nand {len(shown) - 5} more in this message"
        parts.append(DigestPart(_message(text, blocks), list(ids)))

    for line, article_id in lines:
        if not line:
            if article_id is not None:
                ids.append(article_id)
            continue
        if article_id is None and line.startswith(MORE_MARK):  # "and N more": small print
            close_section()
            blocks.append(_context([line.removeprefix(MORE_MARK)]))
            continue
        candidate = "\n".join([*section, line])
        if section and slack_length(candidate) > SECTION_BUDGET:
            close_section()
        size = _block_text_size(blocks) + sum(slack_length(x) + 1 for x in section)
        full = (
            len(blocks) + 1 + reserved_blocks >= MAX_BLOCKS - 1
            or size + slack_length(line) > budget
        )
        if full and (ids or section):
            close_part()
            blocks = _digest_start(title, summary, first + len(parts))
            ids, shown = [], []
            section.clear()
        section.append(line)
        if article_id is not None:
            ids.append(article_id)
            shown.append(line)
    close_part(last=True)
    return parts


def precision_line(counts: VerdictCounts, window: str = "last 30 days") -> str | None:
    """The footer line of one watchlist: "land-laws: 7 of 9 judged relevant (78%), 9 of 40
    alerts judged (22%), last 30 days" (mrkdwn, the name escaped); None when nothing was judged."""
    if counts.precision is None:
        return None
    line = (
        f"{escape_mrkdwn(counts.watchlist)}: {counts.relevant} of {counts.judged} judged "
        f"relevant ({counts.precision:.0%}), "
        f"{counts.judged} of {_count(counts.alerts, 'alert')} judged"
    )
    if counts.judged_share is not None:
        line += f" ({counts.judged_share:.0%})"
    line += f", {window}"
    return fit_mrkdwn(line, MAX_SECTION_TEXT // MAX_CONTEXT_ELEMENTS)


def _precision_footer(
    watchlists: Sequence[Watchlist], precision: Mapping[str, VerdictCounts]
) -> dict[str, Any] | None:
    """The footer's context block: one element per watchlist with judged alerts (a context
    block holds at most 10 elements, so the tenth carries the rest); None without any."""
    days = PRECISION_WINDOW.days
    lines = [
        line
        for w in dict.fromkeys(w.name for w in watchlists)
        if (counts := precision.get(w)) is not None
        and (line := precision_line(counts, f"last {days} days")) is not None
    ]
    if not lines:
        return None
    keep = MAX_CONTEXT_ELEMENTS - 1
    if len(lines) > MAX_CONTEXT_ELEMENTS:
        rest = fit_mrkdwn("\n".join(lines[keep:]), MAX_SECTION_TEXT // 2)
        lines = [*lines[:keep], rest]
    return _context(lines)


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


def _headline(article: Article) -> str:
    """The headline, bold and linked; a non-English headline keeps its original, with the
    English title under it when the page or feed gave one (`title_en`)."""
    line = f"*{_title_link(article)}*"
    english = _clean(str(getattr(article, "title_en", "") or ""))
    if english and english.lower() != _clean(article.title).lower():
        line += f"\n{_label(english, MAX_TITLE)}"
    return line


def outlet_name(article: Article) -> str:
    """Who published the story: the gathering side's `publisher` when the article has one,
    else the site's own name, else the feed's configured name."""
    publisher = _clean(str(getattr(article, "publisher", "") or ""))
    return publisher or _clean(article.site_name) or _clean(article.source)


def _outlet_label(article: Article) -> str:
    outlet = outlet_name(article)
    return _label(outlet, MAX_LABEL * 2) if outlet else ""


def _age(published: datetime, when: datetime) -> str:
    """ "published 6 days ago" when the story is more than STALE_AFTER older than `when`."""
    published = published if published.tzinfo else published.replace(tzinfo=UTC)
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    age = when - published
    if age <= STALE_AFTER:
        return ""
    days = age.days
    if days >= 730:
        amount = _count(days // 365, "year")
    elif days >= 60:
        amount = _count(days // 30, "month")
    else:
        amount = _count(days, "day")
    return f"{AGE_EMOJI} published {amount} ago"


def _byline(article: Article, when: datetime | None = None) -> str:
    """Outlet · via feed · local time · age flag (each part only when known)."""
    parts = []
    outlet = _outlet_label(article)
    if outlet:
        parts.append(f"*{outlet}*")
    feed = _clean(article.source)
    if feed and feed.lower() != outlet_name(article).lower():
        parts.append(f"via {_label(feed)}")
    published = article.published or article.fetched
    if published is not None:
        parts.append(date_token(published))
        if article.published is not None:
            age = _age(article.published, when or datetime.now(UTC))
            if age:
                parts.append(age)
    return " · ".join(parts)


def relevance_band(relevance: float) -> str:
    """high / medium / low, by the bands the relevance scorer is calibrated on."""
    for band, floor in BANDS:
        if relevance >= floor:
            return band
    return BANDS[-1][0]


def _small_print(article: Article, watchlists: Sequence[Watchlist], base_url: str) -> str:
    names = ", ".join(escape_mrkdwn(w.name) for w in watchlists)
    label = "Watchlists" if len(watchlists) > 1 else "Watchlist"
    line = f"{label}: {names} · Relevance: {relevance_band(article.relevance)}"
    explain = explain_url(base_url, article, watchlists[0].name) if watchlists else None
    if explain:
        line += f" · {link(explain, 'Explain')}"
    return line


def explain_url(base_url: str, article: Article, watchlist: str) -> str | None:
    """The web page explaining why `watchlist` matched `article`, when the web UI's public
    address (`web.base_url`) is configured."""
    base = base_url.strip().rstrip("/")
    if not base:
        return None
    query = urlencode({"article": article.id, "watchlist": watchlist})
    return f"{base}/watchlists/explain?{query}"


def _valid_spans(text: str, terms: Sequence[MatchedTerm], field: str) -> list[tuple[int, int]]:
    """(start, end) of the terms in `field`, dropping offsets that do not fit the text."""
    spans = [
        (t.start, t.end)
        for t in terms
        if t.field == field and 0 <= t.start < t.end <= len(text) and text[t.start : t.end].strip()
    ]
    return sorted(set(spans))


Span = tuple[int, int]


def _clause_at(terms: Sequence[MatchedTerm], field: str) -> dict[Span, str]:
    """The query clause (`MatchedTerm.term`) each span of `field` is a hit of."""
    return {(t.start, t.end): t.term for t in terms if t.field == field}


def _spans_in_text(article: Article, terms: Sequence[MatchedTerm]) -> dict[Span, str]:
    """The matched spans of the text, each with its clause, in text order."""
    spans = _valid_spans(article.text, terms, "text")
    if spans:
        clauses = _clause_at(terms, "text")
        return {sp: clauses[sp] for sp in spans}
    # Only the title matched: highlight the same words where the text repeats them.
    lowered = article.text.lower()
    clauses = _clause_at(terms, "title")
    found: dict[Span, str] = {}
    for start, end in _valid_spans(article.title, terms, "title"):
        needle = article.title[start:end].strip().lower()
        pos = lowered.find(needle) if needle else -1
        if pos >= 0:
            found.setdefault((pos, pos + len(needle)), clauses[(start, end)])
    return dict(sorted(found.items()))


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _rarest_span(
    text: str, spans: Mapping[Span, str], archive: Mapping[str, int] | None = None
) -> Span:
    """The span of the rarest matched clause: the one fewest archived articles match
    (`archive`: clause -> document count, `alerts.clause_counts`), so the passage shows
    "farmland" rather than "Chinese". A clause without a count ranks after those with one;
    then (and when there are no counts at all) the clause the text repeats least, the longer
    hit, the earlier one."""
    archive = archive or {}
    in_text: dict[str, int] = {}
    for s, e in spans:
        word = text[s:e].lower()
        in_text[word] = in_text.get(word, 0) + 1

    def rank(sp: Span) -> tuple[float, int, int, Span]:
        known = archive.get(spans[sp])
        return (
            float("inf") if known is None else float(known),
            in_text[text[sp[0] : sp[1]].lower()],
            -(sp[1] - sp[0]),
            sp,
        )

    return min(spans, key=rank)


# A sentence ends at . ! ? before a capital, a digit or a quote (so a dateline such as
# "CARMEL, Ind. — The" stays whole), or right after Chinese full-width punctuation.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"“‘(])|(?<=[。！？])")


def _sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """The sentence(s) holding [start, end) with a sentence either side while the passage stays
    under PASSAGE_CHARS, or a window of PASSAGE_CHARS around the span in a run-on text."""
    cuts = [0, *(m.end() for m in _SENTENCE_END.finditer(text)), len(text)]
    left = max(c for c in cuts if c <= start)
    right = min(c for c in cuts if c >= end)
    # one sentence either side, while the passage stays short: the context of the match,
    # not a second paragraph
    before = [c for c in cuts if c < left]
    if before and right - before[-1] <= PASSAGE_CHARS:
        left = before[-1]
    after = [c for c in cuts if c > right]
    if after and after[0] - left <= PASSAGE_CHARS:
        right = after[0]
    if right - left > PASSAGE_CHARS:  # one long sentence: a window centred on the match
        left = max(left, start - PASSAGE_CHARS // 3)
        right = min(right, left + PASSAGE_CHARS)
        if left > 0:
            gap = _SPACES.search(text, left, max(left, min(start, left + 30)))
            if gap:
                left = gap.end()
        if right < len(text):
            gaps = list(_SPACES.finditer(text, max(end, right - 30), right))
            if gaps:
                right = gaps[-1].start()
    return left, right


def _snippet(
    article: Article, terms: Sequence[MatchedTerm], archive: Mapping[str, int] | None = None
) -> str:
    """The passage that made the article match: the sentence(s) around its rarest matched
    clause (by `archive` counts, see `_rarest_span`; not the lead), every matched term in it
    in bold (mrkdwn)."""
    text = article.text
    if not text.strip():
        return ""
    spans = _spans_in_text(article, terms)
    anchor = _rarest_span(text, spans, archive) if spans else (0, 0)
    start, end = _sentence_bounds(text, *anchor)
    while end > start and text[end - 1].isspace():
        end -= 1

    pieces: list[str] = [ELLIPSIS] if start > 0 else []
    pos = start
    for s, e in _merge([(max(s, start), min(e, end)) for s, e in spans if s < end and e > start]):
        pieces.append(escape_mrkdwn(text[pos:s]))
        pieces.append(bold(text[s:e], before=text[s - 1 : s] if s else "", after=text[e : e + 1]))
        pos = e
    pieces.append(escape_mrkdwn(text[pos:end]))
    if end < len(text.rstrip()):
        pieces.append(ELLIPSIS)
    snippet = _SPACES.sub(" ", "".join(pieces)).strip()
    return fit_mrkdwn(snippet, MAX_SECTION_TEXT)


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
    # Taiwan is not China (DOMAIN.md): its places say so, and they are never dropped.
    sides["TW"] = [
        label if "taiwan" in label.lower() else f"{label}, Taiwan" for label in sides["TW"]
    ]
    return _Places(us=sides["US"], cn=sides["CN"], tw=sides["TW"])


def _join_places(labels: list[str], limit: int = MAX_PLACES_PER_SIDE) -> str:
    shown = "; ".join(_label(label) for label in labels[:limit])
    if len(labels) > limit:
        shown += f" +{len(labels) - limit} more"
    return shown


def _places_line(places: _Places, limit: int = MAX_PLACES_PER_SIDE) -> str:
    """ "Carmel, Indiana ↔ Jiaxing, Zhejiang"; the partner side lists Chinese places, then
    Taiwanese ones (as "…, Taiwan"); "—" for a side with none."""
    partner = [*places.cn, *places.tw]
    if not places.us and not partner:
        return ""
    return f"{_join_places(places.us, limit) or '—'} ↔ {_join_places(partner, limit) or '—'}"


# The exchange kinds (enrich/data/events.yaml labels) in words a desk reads at a glance.
EVENT_WORDS = {
    "sister_city": "sister-city ties",
    "delegation": "delegation visit",
    "agreement": "agreement or MOU",
    "investment": "investment",
    "education": "education exchange",
    "legislation": "legislation",
    "influence": "influence allegations",
    "termination": "ties ended or suspended",
}


def _event_label(event: str) -> str:
    return EVENT_WORDS.get(event) or _clean(event.replace("_", " "))


def _events_text(article: Article, limit: int = 4) -> str:
    events = list(dict.fromkeys(_event_label(e) for e in article.events if _event_label(e)))
    return ", ".join(_label(e) for e in events[:limit])


def _facts_lines(article: Article, places: _Places) -> list[str]:
    lines = []
    both_sides = _places_line(places)
    if both_sides:
        lines.append(f"*Places* {both_sides}")
    events = _events_text(article)
    if events:
        lines.append(f"*Exchange* {events}")
    # Each line is short by construction; cut anyway so a pathological entity list cannot
    # push the section over its limit.
    return [fit_mrkdwn(line, MAX_SECTION_TEXT // 4) for line in lines]


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


def _story_key(article: Article) -> str:
    return article.cluster_id or article.id


def _short_date(when: datetime | None) -> str:
    if when is None:
        return ""
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return f"<!date^{int(when.timestamp())}^{{date_short}}|{when.astimezone(UTC):%Y-%m-%d}>"


def _digest_line(article: Article, n_copies: int) -> str:
    """• *headline* · date · outlet · places · kind (+N copies)."""
    parts = [f"• *{_title_link(article, DIGEST_TITLE)}*"]
    when = _short_date(article.published or article.fetched)
    if when:
        parts.append(when)
    outlet = _outlet_label(article)
    if outlet:
        parts.append(_label(outlet_name(article)))
    places = _places_line(_places(article), limit=1)
    if places:
        parts.append(places)
    events = _events_text(article, 2)
    if events:
        parts.append(events)
    if n_copies:
        parts.append(f"+{_count(n_copies, 'copy', 'copies')}")
    return fit_mrkdwn(" · ".join(parts), SECTION_BUDGET // 3)


MORE_MARK = "\x00more:"  # marks an "and N more" line (never in rendered text: controls are cut)


def _more_line(more: int, watchlist: Watchlist, base_url: str) -> str:
    text = f"and {more} more"
    base = base_url.strip().rstrip("/")
    if base:
        text = link(f"{base}/search?q={quote(watchlist.query)}", text)
    return MORE_MARK + text


def _digest_start(title: str, summary: str, n: int) -> list[dict[str, Any]]:
    if n == 0:
        return [_header(title), _context([escape_mrkdwn(summary)])]
    suffix = " (continued)"
    return [_header(_fit_plain(_clean(title), MAX_HEADER_TEXT - len(suffix)) + suffix)]


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


# --- blocks and limits ----------------------------------------------------------------------


def _header(text: str) -> dict[str, Any]:
    # plain_text is not parsed for mentions, links or entities, so it needs no escaping; it
    # only needs to lose control characters and fit.
    plain = _fit_plain(_clean(text) or "watchdesk", MAX_HEADER_TEXT)
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
    # context elements are text objects themselves; an actions block's buttons hold theirs
    # (plain text of their own, within the button's limit) and are not counted here
    objs.extend(
        e
        for e in block.get("elements", [])
        if isinstance(e, dict) and isinstance(e.get("text"), str)
    )
    return objs


def slack_length(text: str) -> int:
    """Length as Slack may count it: UTF-16 code units (an emoji or a rare CJK character is 2)."""
    return len(text.encode("utf-16-le")) // 2


def fit_mrkdwn(text: str, limit: int) -> str:
    """`truncate_mrkdwn` to at most `limit` UTF-16 units."""
    while slack_length(text) > limit:
        over = slack_length(text) - limit
        text = truncate_mrkdwn(text, max(1, len(text) - max(over, 1)))
    return text


def _fit_plain(text: str, limit: int) -> str:
    while slack_length(text) > limit:
        text = truncate_plain(text, max(1, len(text) - (slack_length(text) - limit)))
    return text


def _block_text_size(blocks: list[dict[str, Any]]) -> int:
    return sum(slack_length(t["text"]) for b in blocks for t in _texts(b))


def _fit_blocks(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Last guard: every text within its limit, at most MAX_BLOCKS blocks and
    MAX_TOTAL_BLOCK_TEXT UTF-16 units in all; later blocks are cut first."""
    blocks = blocks[:MAX_BLOCKS]
    for block in blocks:
        for obj in _texts(block):
            limit = MAX_HEADER_TEXT if block["type"] == "header" else MAX_SECTION_TEXT
            if obj["type"] == "mrkdwn":
                obj["text"] = fit_mrkdwn(obj["text"], limit)
            else:
                obj["text"] = _fit_plain(obj["text"], limit)
    while len(blocks) > 1 and _block_text_size(blocks) > MAX_TOTAL_BLOCK_TEXT:
        last = blocks[-1]
        excess = _block_text_size(blocks) - MAX_TOTAL_BLOCK_TEXT
        texts = [t for t in _texts(last) if t["type"] == "mrkdwn"]
        if texts and slack_length(texts[0]["text"]) - excess > 200:
            texts[0]["text"] = fit_mrkdwn(texts[0]["text"], slack_length(texts[0]["text"]) - excess)
        else:
            blocks.pop()
    return blocks


def _message(text: str, blocks: list[dict[str, Any]]) -> dict[str, Any]:
    return {"text": fit_mrkdwn(text, MAX_FALLBACK_TEXT), "blocks": _fit_blocks(blocks)}
