"""Untrusted text to safe HTML: snippet markers, highlighted spans, the histogram's bars.

Everything crawled is escaped here before it meets markup; the templates receive either plain
strings (which Jinja2 autoescapes) or `Markup` built only by these functions, which escape every
piece of article text they wrap.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from markupsafe import Markup, escape

from crawler.search.facet_labels import label_of

_MARKERS = re.compile(r"\[\[(.*?)\]\]", re.DOTALL)


def snippet_html(snippet: str) -> Markup:
    """A `Hit.snippet` as HTML: `[[x]]` becomes `<mark>x</mark>`, everything else escaped."""
    out: list[str] = []
    pos = 0
    for m in _MARKERS.finditer(snippet):
        out.append(str(escape(snippet[pos : m.start()])))
        out.append(f"<mark>{escape(m.group(1))}</mark>")
        pos = m.end()
    out.append(str(escape(snippet[pos:])))
    return Markup("".join(out))


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of text to highlight: offsets into the text, a CSS class and a tooltip."""

    start: int
    end: int
    css: str
    label: str = ""


def highlight_html(text: str, spans: Iterable[Span]) -> Markup:
    """`text` escaped, with each span wrapped in `<mark class=...>`; paragraphs kept.

    Overlapping spans are resolved first come, first served after sorting by start (longest
    first), so the markup always nests correctly. Offsets outside the text are ignored.
    """
    chosen: list[Span] = []
    last_end = 0
    for span in sorted(spans, key=lambda s: (s.start, -(s.end - s.start))):
        if (
            span.start < last_end
            or span.start < 0
            or span.end > len(text)
            or span.end <= span.start
        ):
            continue
        chosen.append(span)
        last_end = span.end
    out: list[str] = []
    pos = 0
    for span in chosen:
        out.append(_paragraphs(text[pos : span.start]))
        title = f' title="{escape(span.label)}"' if span.label else ""
        out.append(
            f'<mark class="{escape(span.css)}"{title}>{_paragraphs(text[span.start : span.end])}'
            "</mark>"
        )
        pos = span.end
    out.append(_paragraphs(text[pos:]))
    return Markup("".join(out))


def _paragraphs(text: str) -> str:
    # blank lines separate paragraphs in extracted text; keep them visible without <p> nesting
    return str(escape(text)).replace("\n\n", "<br><br>").replace("\n", "<br>")


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar of the date histogram, laid out for an inline SVG (no script, no inline style)."""

    label: str  # the bucket: a day (YYYY-MM-DD) or a month (YYYY-MM)
    count: int
    since: str
    until: str
    x: float
    y: float
    width: float
    height: float


# Above this many days a daily histogram has bars thinner than a pixel on a phone (~360 px);
# months keep it readable for archives spanning years.
DAILY_MAX_DAYS = 120
HISTOGRAM_WIDTH = 600.0
HISTOGRAM_HEIGHT = 80.0


def histogram_bars(days: Sequence[tuple[str, int]]) -> list[Bar]:
    """Bars for `SearchResult.histogram` ((day, count), oldest first), by day or by month.

    Every day (or month) between the first and the last gets a bar, empty ones included, so
    the x axis is time and gaps show as gaps.
    """
    counts: dict[date, int] = {}
    for day, n in days:
        try:
            when = date.fromisoformat(day[:10])
        except ValueError:
            continue  # a malformed date in the store is not worth a broken page
        counts[when] = counts.get(when, 0) + n
    if not counts:
        return []
    first, last = min(counts), max(counts)
    buckets: list[tuple[str, int, str, str]] = []
    if (last - first).days > DAILY_MAX_DAYS:
        months: dict[tuple[int, int], int] = {}
        for when, n in counts.items():
            months[(when.year, when.month)] = months.get((when.year, when.month), 0) + n
        year, month = first.year, first.month
        while (year, month) <= (last.year, last.month):
            label = f"{year:04d}-{month:02d}"
            end = calendar.monthrange(year, month)[1]
            buckets.append(
                (label, months.get((year, month), 0), f"{label}-01", f"{label}-{end:02d}")
            )
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    else:
        when = first
        while when <= last:
            label = when.isoformat()
            buckets.append((label, counts.get(when, 0), label, label))
            when += timedelta(days=1)
    top = max(n for _, n, _, _ in buckets) or 1
    width = HISTOGRAM_WIDTH / len(buckets)
    bars = []
    for i, (label, n, since, until) in enumerate(buckets):
        h = max(1.0, HISTOGRAM_HEIGHT * n / top) if n else 0.0
        bars.append(
            Bar(
                label,
                n,
                since,
                until,
                round(i * width, 2),
                round(HISTOGRAM_HEIGHT - h, 2),
                round(max(width - 1, 0.5), 2),
                round(h, 2),
            )
        )
    return bars


def facet_label(
    name: str,
    value: str,
    entity_names: Mapping[str, str],
    labels: Mapping[str, Mapping[str, str]] | None = None,
) -> str:
    """How a facet value reads on the page (plain text; the template escapes it), as the CLI
    reads it (`crawler.search.facet_labels.label_of`): a country by its name, a region with
    its country (`Hubei (CN)`), an entity or place by its name, an event by its words; the
    value itself is the code, shown on hover."""
    return label_of(name, value, labels or {}, entity_names)
