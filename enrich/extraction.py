"""Main text and metadata of a fetched page: the one module that imports trafilatura and htmldate.

`extract_page` turns HTML into a `PageExtraction` (never raises); the chain step `extract_article`
copies it onto the article, falling back to the feed entry's summary when the page yields too
little. The extraction settings were chosen on `benchmarks/extraction_quality.py` (181 real news
pages of the Zyte article-extraction benchmark, scored as its own evaluate.py scores them); the
figures quoted below are from that run and from the 98-page trafilatura evaluation sample.
"""

from __future__ import annotations

import html as htmllib
import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

import htmldate
import lxml.html
from lxml import etree
from trafilatura import bare_extraction, extract_metadata
from trafilatura.settings import Document

from crawler.article import Article, FeedEntry
from crawler.stats import Stats
from crawler.urls import same_site
from enrich.context import EnrichContext, EnrichOptions

log = logging.getLogger(__name__)

EXTRACTOR_TRAFILATURA = "trafilatura"
EXTRACTOR_FEED_SUMMARY = "feed_summary"
EXTRACTOR_NONE = "none"

# First pass: trafilatura's fast mode (no readability/jusText comparison) favouring precision.
# Measured on the Zyte benchmark (F1; bare `trafilatura.extract` defaults: 0.953): this pass
# alone 0.946 (precise, but it collapses to a teaser on a few pages); fast balanced 0.961; full
# (non-fast) precision mode 0.964 but, with watchdesk's metadata on top, at ~0.77x the speed of
# the bare defaults, which fails the >= 0.9x speed budget.
_PRECISION_PASS: dict[str, Any] = {"fast": True, "favor_precision": True}
# Second pass, only when the first yields fewer than RETRY_BELOW_CHARS: trafilatura's default
# balanced mode with its fallback extractors. Retrying below 500 characters re-runs 7 of 181
# benchmark pages and lifts F1 to 0.969 at 0.93x the defaults' speed (the plateau is 350-500;
# at 1,000, F1 0.965 for 21 retries). On the trafilatura sample's snippets it found 263/285
# must-contain (defaults 269) and kept out 271/302 must-not-contain (defaults 266); with the
# short-lines retry and the standfirst below, 269 (268 in the text, one headline being in the
# title) and 273.
_RETRY_PASS: dict[str, Any] = {}
RETRY_BELOW_CHARS = 500
# The retry threshold counts a Chinese/Japanese character as this many Latin ones: a Chinese
# text runs about a third of the characters of its English version (UN parallel texts), so a
# full 240-character Xinhua-style report is not "too short". Counted as one, it was retried,
# and the balanced pass ran its paragraphs into one line with the byline inside (issue 18).
CJK_CHAR_WEIGHT = 3
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# The precision pass is also retried when no line of its text reaches this weight: a text of
# short lines only is page furniture (subscription offers, copyright lines, teaser lists), not
# an article. On the Spiegel page of the trafilatura sample it kept 869 characters of such
# lines and missed the 15,000-character story; the rule re-runs 4 more of the 279 pages of
# both corpora, leaves the Zyte F1 as it was and finds 2 more must-contain snippets (issue 18).
# Over 200 it starts retrying pages whose precise text was right (must-not-contain 273 -> 269).
RETRY_BELOW_LINE_CHARS = 150
# The standfirst (the dek under the headline) is the page's meta description when the page
# also shows it as an element's whole text. Precision mode drops the page's <header>, where
# most sites put it, so it is put back under the headline. It is the article's own summary and
# what the watch desk reads first; on the trafilatura sample it restores 3 must-contain
# snippets. Zyte's annotators leave deks out of the body: there it costs 0.003 F1 (0.9706 ->
# 0.9675, bare trafilatura 0.9525), a cost taken for the passages matching can see.
STANDFIRST_MAX_CHARS = 400
# A byline is a short line of its own right under the headline: "By Jane Doe", "By Staff ·
# 2024-06-03", or the page's author alone. Longer lines are text, whatever they start with.
BYLINE_MAX_CHARS = 120
_BYLINE = re.compile(r"^(by|von|par|por)\s+\S", re.IGNORECASE)

# The largest of 279 real pages in the two benchmark corpora is 1.49 M characters; past twice
# that, scripts and styles are dropped and the rest cut, which keeps a 20 MB page under ~3 s
# instead of ~20 s (measured) while no real article loses its body.
MAX_HTML_CHARS = 3_000_000
_SCRIPT_STYLE = re.compile(r"<(script|style|noscript|svg)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)

# Publication dates outside [1995-01-01, now + 2 days] are markup accidents (epoch zeros,
# "9999" sentinels, template years); htmldate uses the same lower bound for the web.
MIN_PUBLISHED = datetime(1995, 1, 1, tzinfo=UTC)
MAX_FUTURE = timedelta(days=2)
# htmldate with a time-bearing format: gives "2024-05-01T14:30:00-0400" when the page has a
# time and a zone, "2024-05-01T00:00:00" when it only has a day.
_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"

_BLOCK_TAGS = frozenset(
    {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6"}
    | {"blockquote", "tr", "table", "section", "article", "pre"}
)
_WS = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


@dataclass(slots=True)
class PageExtraction:
    """What trafilatura/htmldate found in one page, as watchdesk's own record.

    `published` is timezone-aware UTC or None; `notes` names what happened on the way
    (`truncated`, `retried`, `standfirst`, `error`), each counted as `extract/<note>` by the
    step.
    """

    text: str = ""
    comments: str = ""
    title: str = ""
    author: str = ""
    site_name: str = ""
    published: datetime | None = None
    published_has_time: bool = False
    notes: tuple[str, ...] = ()


# -- dates ----------------------------------------------------------------------------------


def as_utc(value: datetime) -> datetime:
    """The same instant in UTC; a naive datetime is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def plausible_date(value: datetime | None, now: datetime | None = None) -> bool:
    """Whether `value` can be a publication date: from 1995 to two days after `now`."""
    if value is None:
        return False
    now = as_utc(now) if now is not None else datetime.now(UTC)
    return MIN_PUBLISHED <= as_utc(value) <= now + MAX_FUTURE


def parse_page_date(value: str | None) -> tuple[datetime | None, bool]:
    """(UTC datetime, whether it has a time of day) from htmldate's output, or (None, False)."""
    if not value:
        return None, False
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None, False
    has_time = parsed.tzinfo is not None or (parsed.hour, parsed.minute, parsed.second) != (0, 0, 0)
    return as_utc(parsed), has_time


def choose_published(
    page_date: datetime | None,
    page_has_time: bool,
    feed_date: datetime | None,
    now: datetime | None = None,
) -> datetime | None:
    """The article's publication date: the page's, else the feed's; absurd dates are dropped.

    A page often gives only a day while the feed gives a time: when the two agree within a day
    (the width of every time zone), the feed's timestamp is the more precise of the two.
    """
    page = page_date if plausible_date(page_date, now) else None
    feed = as_utc(feed_date) if feed_date is not None and plausible_date(feed_date, now) else None
    if page is None:
        return feed
    if (
        feed is not None
        and not page_has_time
        and abs(feed.date() - page.date()) <= timedelta(days=1)
    ):
        return feed
    return page


def _date_params(now: datetime) -> dict[str, Any]:
    # Built per call: trafilatura freezes max_date when its options are built, which would go
    # stale in a long-running monitor.
    return {
        "original_date": True,  # the publication date, not the last update
        "extensive_search": False,  # markup only here; the free-text search runs only if needed
        "outputformat": _DATE_FORMAT,
        "min_date": MIN_PUBLISHED.strftime("%Y-%m-%d"),
        "max_date": (now + MAX_FUTURE).strftime("%Y-%m-%d"),
    }


def _find_date_extensively(html: str, url: str | None, now: datetime) -> str | None:
    """htmldate's free-text date search, for pages whose markup has no date.

    On the 74 dated pages of the trafilatura sample: markup-only search 65 right, 3 missing;
    with this second step 67 right, none missing (7 wrong either way).
    """
    params = _date_params(now) | {"extensive_search": True}
    try:
        return htmldate.find_date(html, url=url, **params)
    except Exception as exc:  # htmldate on hostile markup: a missing date, not a failed article
        log.debug("htmldate failed on %s: %r", url, exc)
        return None


# -- html -----------------------------------------------------------------------------------


def _sanitize(html: str) -> tuple[str, list[str]]:
    """HTML that lxml accepts and that is small enough to parse in bounded time."""
    notes: list[str] = []
    if "\x00" in html:
        html = html.replace("\x00", "")
    try:
        html.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from a bad decode: lxml drops the whole text
        html = html.encode("utf-8", "replace").decode("utf-8")
    if len(html) > MAX_HTML_CHARS:
        notes.append("truncated")
        html = _SCRIPT_STYLE.sub("", html)
        if len(html) > MAX_HTML_CHARS:
            html = html[:MAX_HTML_CHARS]
    return html, notes


def _run(html: str, url: str | None, **options: Any) -> Document | None:
    """trafilatura's extraction as a Document (None when it discards the page)."""
    doc = bare_extraction(html, url=url, include_comments=True, **options)
    return doc if isinstance(doc, Document) else None


def _nfc(value: str | None) -> str:
    # bare_extraction skips the NFC step trafilatura.extract applies to its output: without it
    # a Bengali or Devanagari page keeps precomposed nukta letters (U+09DC) that no NFC query
    # or quoted passage ever equals.
    return unicodedata.normalize("NFC", value or "").strip()


def _text(doc: Document | None) -> str:
    return _nfc(doc.text) if doc is not None else ""


def _comments(doc: Document | None) -> str:
    return _nfc(doc.comments) if doc is not None else ""


def extract_page(html: str, url: str | None = None, now: datetime | None = None) -> PageExtraction:
    """Main text, reader comments, title, author, site name and date of one page.

    Never raises: unparsable, binary, truncated, huge or hostile HTML gives an empty or partial
    result, with `error` among the notes when a library raised.
    """
    now = as_utc(now) if now is not None else datetime.now(UTC)
    if not html or not html.strip():
        return PageExtraction()
    html, notes = _sanitize(html)
    result = PageExtraction()
    try:
        params = _date_params(now)
        doc = _run(html, url, with_metadata=True, date_extraction_params=params, **_PRECISION_PASS)
        result.text, result.comments = _text(doc), _comments(doc)
        if needs_retry(result.text):
            retry = _run(html, url, **_RETRY_PASS)
            if len(_text(retry)) > len(result.text):
                notes.append("retried")
                result.text, result.comments = _text(retry), _comments(retry)
        # a discarded page still has a title and a date worth keeping
        meta = doc if doc is not None else extract_metadata(html, url, params)
        result.title = _nfc(meta.title)
        standfirst = shown_standfirst(html, _nfc(meta.description), result.text)
        if standfirst:
            notes.append("standfirst")
            result.text = with_standfirst(result.text, standfirst, result.title)
        result.author = _nfc(meta.author)
        result.site_name = _nfc(meta.sitename)
        date_str = meta.date
    except Exception as exc:  # bad HTML must cost the article its text, never the pipeline
        log.warning("extraction failed on %s: %r", url, exc)
        notes.append("error")
        date_str = None
    if not date_str:
        date_str = _find_date_extensively(html, url, now)
    published, has_time = parse_page_date(date_str)
    if plausible_date(published, now):
        result.published, result.published_has_time = published, has_time
    result.notes = tuple(notes)
    return result


def text_weight(text: str) -> int:
    """The length of `text` with each CJK character counted CJK_CHAR_WEIGHT times."""
    return len(text) + (CJK_CHAR_WEIGHT - 1) * len(_CJK.findall(text))


def needs_retry(text: str) -> bool:
    """Whether the precision pass's text is too little to be the article.

    Too short in all (RETRY_BELOW_CHARS), or made of short lines only (RETRY_BELOW_LINE_CHARS).
    """
    if text_weight(text) < RETRY_BELOW_CHARS:
        return True
    return all(text_weight(line.strip()) < RETRY_BELOW_LINE_CHARS for line in text.split("\n"))


def shown_standfirst(html: str, description: str, text: str) -> str:
    """The page's description when it is a standfirst the extracted text lacks, else "".

    A standfirst is shown on the page: the description is the whole text of one element of
    the body (`>description<` once entities are decoded), not only a `<meta>` for search engines
    or share cards, which often say something else.
    """
    if not description or len(description) > STANDFIRST_MAX_CHARS or description in text:
        return ""
    head_end = html.find("</head>")
    body = html[head_end:] if head_end != -1 else html
    if "&" in body:
        body = htmllib.unescape(body)
    return description if f">{description}<" in body else ""


def with_standfirst(text: str, standfirst: str, title: str) -> str:
    """`text` with `standfirst` under its headline line (or first, when it has none)."""
    lines = text.split("\n")
    if title and lines and _squash(lines[0]) == _squash(title):
        return "\n".join([lines[0], standfirst, *lines[1:]])
    return f"{standfirst}\n{text}" if text else standfirst


def _squash(value: str) -> str:
    return " ".join(value.split()).casefold()


def clean_body(text: str, title: str, author: str = "") -> str:
    """The body text without the headline and byline the page repeats above it.

    Both stay as fields (`title`, `author`); in the text they made every snippet and Slack
    message start with the headline a second time. Only whole first lines are dropped: the
    headline when it equals the title (case and spacing aside), then one byline (a short
    line, not a sentence, starting "By ..." or with the author's name, a date or not). Datelines
    ("AUSTIN, Texas — ...") are the first sentence's beginning and stay: they name a place.
    """
    lines = text.split("\n")
    if title and lines and _squash(lines[0]) == _squash(title):
        lines = lines[1:]
    if lines:
        first = lines[0].strip()
        plain_author = author and _squash(first).startswith(_squash(author))
        # a sentence ("By the river, the mayor spoke.") is text, not a byline
        sentence = first.endswith((".", "!", "?", "。", "！", "？", ":"))
        short = len(first) <= BYLINE_MAX_CHARS and not sentence
        if short and (_BYLINE.match(first) or plain_author):
            lines = lines[1:]
    body = "\n".join(lines).strip()
    return body or text  # a page that is all headline keeps it as its text


def find_canonical_link(html: str, base_url: str) -> str | None:
    """The page's `<link rel="canonical">` as an absolute URL, when it points to the same site.

    A canonical link to another site is ignored: it is a publisher's claim that the crawler
    cannot verify (and a way to steal another article's id). Never raises.
    """
    if not html:
        return None
    head_end = html.find("</head>")
    head = html[: head_end + 7] if head_end != -1 else html[:200_000]
    try:
        tree = lxml.html.document_fromstring(
            head.encode("utf-8", "replace"), parser=lxml.html.HTMLParser(encoding="utf-8")
        )
    except (etree.ParserError, ValueError):
        return None
    for link in tree.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        href = (link.get("href") or "").strip()
        if "canonical" not in rel or not href:
            continue
        try:
            absolute = urljoin(base_url, href)
            if urlsplit(absolute).scheme not in ("http", "https"):
                return None
            return absolute if same_site(absolute, base_url) else None
        except ValueError:  # malformed port or IPv6 literal
            return None
    return None


def summary_text(summary: str) -> str:
    """A feed summary as plain text: tags dropped, blocks on their own lines, entities decoded."""
    if not summary or not summary.strip():
        return ""
    if "<" not in summary:
        text = htmllib.unescape(summary)
    else:
        try:
            root = lxml.html.fragment_fromstring(summary, create_parent="div")
        except (etree.ParserError, ValueError):
            return _WS.sub(" ", re.sub(r"<[^>]*>", " ", htmllib.unescape(summary))).strip()
        for bad in root.xpath(".//script|.//style"):
            bad.drop_tree()
        parts: list[str] = []
        for node in root.iter():
            if not isinstance(node.tag, str):  # comments, processing instructions
                if node.tail:
                    parts.append(node.tail)
                continue
            if node.tag in _BLOCK_TAGS:
                parts.append("\n")
            if node.text:
                parts.append(node.text)
            if node is not root and node.tail:
                parts.append(node.tail)
        text = "".join(parts)
    lines = (_WS.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n", "\n".join(line for line in lines if line)).strip()


# Titles an aggregator's interstitial or a site's shell page carry instead of the headline.
_GENERIC_TITLES = frozenset({"google news", "bing", "bing news", "google alerts", "msn", "yahoo"})


def choose_title(page_title: str, feed_title: str, site_name: str = "") -> str:
    """The page's title, unless it is generic, when the feed's title is used instead.

    Generic (issue 12): empty, equal to the site's name or an aggregator's, or shorter than
    the feed's title and contained in it (a truncated or shell title).
    """
    page_title, feed_title = page_title.strip(), feed_title.strip()
    if not feed_title:
        return page_title
    low = page_title.casefold()
    if (
        not page_title
        or low in _GENERIC_TITLES
        or (site_name and low == site_name.strip().casefold())
        or (len(page_title) < len(feed_title) and low in feed_title.casefold())
    ):
        return feed_title
    return page_title


# -- the chain step -------------------------------------------------------------------------


def extract_into(
    article: Article, options: EnrichOptions, stats: Stats, now: datetime | None = None
) -> None:
    """Fill the article's extraction fields from its HTML, or from its feed entry.

    Text comes from the page when it gives at least `options.min_text_chars` characters, else
    from the feed summary when that is longer (`fallback` set), else from whatever the page
    gave. Counts `extract/trafilatura`, `extract/fallback_summary` or `extract/empty`, plus
    `extract/truncated`, `extract/retried`, `extract/standfirst` and `extract/error` when they
    happen.
    """
    page = extract_page(article.html, article.url or None, now)
    for note in page.notes:
        stats.inc(f"extract/{note}")
    entry: FeedEntry | None = article.entry
    summary = summary_text(entry.summary) if entry is not None else ""

    article.comments = page.comments
    page.text = clean_body(page.text, page.title, page.author)
    if len(page.text) >= options.min_text_chars or (page.text and len(summary) <= len(page.text)):
        article.text, article.extractor, article.fallback = page.text, EXTRACTOR_TRAFILATURA, False
        stats.inc("extract/trafilatura")
    elif summary:
        article.text, article.extractor, article.fallback = summary, EXTRACTOR_FEED_SUMMARY, True
        stats.inc("extract/fallback_summary")
    else:
        article.text, article.extractor, article.fallback = "", EXTRACTOR_NONE, False
        stats.inc("extract/empty")

    feed_title = summary_text(entry.title) if entry is not None else ""
    article.title = choose_title(page.title, feed_title, page.site_name)
    article.author = page.author or (entry.author.strip() if entry is not None else "")
    article.site_name = page.site_name
    article.published = choose_published(
        page.published, page.published_has_time, entry.published if entry else None, now
    )


def extract_article(article: Article, context: EnrichContext) -> None:
    """Chain step: title, text, comments, author, site name, date (see `extract_into`)."""
    extract_into(article, context.options, context.stats)


def extract_from_html(
    html: str,
    url: str,
    *,
    entry: FeedEntry | None = None,
    options: EnrichOptions | None = None,
    stats: Stats | None = None,
) -> Article:
    """A new article extracted from one page (only this step: no tagging, no clustering).

    For tools and benchmarks that want watchdesk's extraction without building a context.
    """
    article = Article(url=url, canonical_url=url, html=html, entry=entry)
    extract_into(article, options or EnrichOptions(), stats or Stats())
    return article
