"""The attention chart as SVG, drawn on the server, and its series as CSV.

Hand-written SVG rather than a plotting library: a few lines, axes and a legend are a page of
code, render in every browser with no script (the CSP allows none inline) and cost well under
a millisecond. Colours are SVG presentation attributes, not `style=` attributes (which the CSP
forbids), so the SVG also stands alone when saved. Every label is a user's query string:
each is escaped here, and the function returns `Markup` built only from escaped pieces.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from datetime import date

from markupsafe import Markup, escape

from crawler.search.attention import Interval, Series, series_rows
from crawler.search.export import csv_cell

# Okabe and Ito's palette: told apart with every common colour-vision deficiency.
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00")
WIDTH = 760
PLOT_HEIGHT = 240
LEFT, RIGHT, TOP, BOTTOM = 44, 16, 12, 24
LEGEND_LINE = 20
LEGEND_CHARS = 80  # a longer query is cut in the legend; its <title> keeps all of it
X_LABELS = 6
Y_TICKS = 5
# Above this many buckets per series the points get no markers (the line alone reads better).
MARKERS_MAX = 120


def nice_step(top: int, ticks: int = Y_TICKS) -> int:
    """A round step (1, 2 or 5 times a power of ten) giving at most `ticks` steps up to `top`."""
    if top <= ticks:
        return 1
    raw = top / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * power >= raw:
            return int(factor * power)
    return int(10 * power)  # pragma: no cover - the loop always returns


def bucket_label(bucket: date, interval: Interval) -> str:
    return bucket.isoformat() if interval == "day" else f"week of {bucket.isoformat()}"


def chart_svg(series: Sequence[Series], interval: Interval) -> Markup:
    """The series as one SVG line chart: one `<path>` per series, y = stories per bucket,
    a legend naming each series by its label (escaped), a `<title>` on each point."""
    n = len(series[0].points) if series else 0
    top = max((s.peak for s in series), default=0)
    step = nice_step(top)
    y_max = max(step * math.ceil(top / step), 1)
    plot_w = WIDTH - LEFT - RIGHT
    height = TOP + PLOT_HEIGHT + BOTTOM + LEGEND_LINE * len(series) + 8

    def x(i: int) -> float:
        return LEFT + (plot_w * (i + 0.5) / n if n else 0.0)

    def y(value: int) -> float:
        return TOP + PLOT_HEIGHT * (1 - value / y_max)

    unit = "day" if interval == "day" else "week"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="attention" viewBox="0 0 {WIDTH} '
        f'{height}" width="{WIDTH}" height="{height}" role="img" '
        f'aria-label="stories per {unit}" font-family="sans-serif" font-size="12">'
    ]
    # grid and y axis labels
    for value in range(0, y_max + 1, step):
        yy = y(value)
        parts.append(
            f'<line x1="{LEFT}" y1="{yy:.1f}" x2="{WIDTH - RIGHT}" y2="{yy:.1f}" '
            f'stroke="#ddd" stroke-width="1"/>'
            f'<text x="{LEFT - 6}" y="{yy + 4:.1f}" text-anchor="end" fill="#555">{value}</text>'
        )
    # x axis labels: a few buckets spread over the window, the first and the last included
    if n:
        every = max(1, math.ceil(n / X_LABELS))
        shown = sorted({*range(0, n, every), n - 1})
        if len(shown) > 2 and shown[-1] - shown[-2] < every:
            shown.pop(-2)  # the last label would overlap the one before it
        for i in shown:
            anchor = "start" if i == 0 and n > 1 else ("end" if i == n - 1 and n > 1 else "middle")
            label = series[0].points[i][0].isoformat()
            parts.append(
                f'<text x="{x(i):.1f}" y="{TOP + PLOT_HEIGHT + 16}" text-anchor="{anchor}" '
                f'fill="#555">{label}</text>'
            )
    for k, s in enumerate(series):
        colour = COLOURS[k % len(COLOURS)]
        label = escape(s.label)
        d = " ".join(
            f"{'M' if i == 0 else 'L'}{x(i):.1f},{y(v):.1f}" for i, (_, v) in enumerate(s.points)
        )
        parts.append(
            f'<path class="series" d="{d}" fill="none" stroke="{colour}" stroke-width="2" '
            f'stroke-linejoin="round"><title>{label}</title></path>'
        )
        if n <= MARKERS_MAX:
            for i, (bucket, v) in enumerate(s.points):
                stories = "1 story" if v == 1 else f"{v} stories"
                tip = f"{label} · {bucket_label(bucket, interval)}: {stories}"
                parts.append(
                    f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="2.5" fill="{colour}">'
                    f"<title>{tip}</title></circle>"
                )
        ly = TOP + PLOT_HEIGHT + BOTTOM + LEGEND_LINE * k + 14
        shown_label = s.label if len(s.label) <= LEGEND_CHARS else s.label[: LEGEND_CHARS - 1] + "…"
        parts.append(
            f'<g class="chart-key"><line x1="{LEFT}" y1="{ly - 4}" x2="{LEFT + 24}" y2="{ly - 4}" '
            f'stroke="{colour}" stroke-width="3"/><text x="{LEFT + 32}" y="{ly}" fill="#222">'
            f"{escape(shown_label)}<title>{label}</title></text></g>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def series_csv(series: Sequence[Series], interval: Interval) -> str:
    """The series as CSV (`crawler.search.attention.series_rows`), each cell defused for
    spreadsheets: a query like `-taiwan` or `=1+1` stays text."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerows([csv_cell(v) for v in row] for row in series_rows(series, interval))
    return buf.getvalue()
