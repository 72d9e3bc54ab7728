"""The `chart` command: attention over time, stories per day or week for up to five queries.

The series come from the archive the config names (`crawler.search.attention`), the same ones
the web page's `/chart` draws; `--csv` writes them as the page's CSV does, `--out` as a PNG of
PNG_WIDTH × PNG_HEIGHT pixels, and with neither a table is printed.

Why matplotlib, as an optional extra (`pip install 'watchdesk[chart]'`), for the PNG: the field's
well-kept plotting library already draws the benchmarks' figures (the `bench` extra), and a PNG
needs text (axes, dates, queries in any script) rasterised with real fonts, which the
alternatives here would rebuild by hand: no SVG rasteriser (cairosvg, resvg) is installed, and
a PNG encoder of our own would still need a font renderer. It is an extra, not a runtime
dependency, because it is large for one command: about 96 MB installed with its dependencies
(fontTools, Pillow, kiwisolver, contourpy; 4 s to install from wheels), against a service that
never draws. The web page needs none of it (its SVG is hand-written, `watchdesk.web.chart`).
Without it, `--out` says so in one line naming the install command and exits 1.
"""

from __future__ import annotations

import sys
import warnings
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, cast

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from crawler.query import QueryError, parse_query
from crawler.search.attention import INTERVALS, MAX_QUERIES, Interval, Series, attention
from crawler.search.request import SearchRequest
from watchdesk.cli.app import _load, app, err, out
from watchdesk.cli.search import QueryCommand, parse_day
from watchdesk.web.chart import COLOURS, series_csv

PNG_WIDTH, PNG_HEIGHT = 1200, 600
PNG_DPI = 100
INSTALL = "pip install 'watchdesk[chart]'"
# Fonts with Chinese glyphs, tried after matplotlib's default (DejaVu Sans has none): the first
# installed one draws the characters the default lacks (Debian: fonts-noto-cjk).
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC", "WenQuanYi Zen Hei")


@app.command(cls=QueryCommand)
def chart(
    queries: Annotated[
        list[str],
        typer.Argument(
            help=f"Up to {MAX_QUERIES} queries, a line of the chart each ('' = everything)."
        ),
    ],
    out_png: Annotated[
        Path | None,
        typer.Option("--out", help=f"Write the chart as a PNG ({PNG_WIDTH}×{PNG_HEIGHT})."),
    ] = None,
    csv_path: Annotated[
        Path | None, typer.Option("--csv", help="Write the series as CSV ('-' for stdout).")
    ] = None,
    interval: Annotated[str, typer.Option("--interval", help="day or week.")] = "day",
    since: Annotated[
        str,
        typer.Option(
            "--since",
            help="From this day: YYYY-MM-DD, today, yesterday, or a span back from --until: "
            "30d, 2w, 6mo (30 days), 1y (365 days).",
        ),
    ] = "90d",
    until: Annotated[
        str, typer.Option("--until", help="Up to this day, included (same forms).")
    ] = "today",
    source: Annotated[list[str] | None, typer.Option("--source", help="Source name.")] = None,
    country: Annotated[list[str] | None, typer.Option("--country", help="ISO code.")] = None,
    region: Annotated[list[str] | None, typer.Option("--region", help="State/province.")] = None,
    language: Annotated[list[str] | None, typer.Option("--language", help="e.g. en, zh.")] = None,
    min_relevance: Annotated[
        float | None,
        typer.Option("--min-relevance", min=0.0, max=1.0, help="Domain relevance floor (0..1)."),
    ] = None,
) -> None:
    """Attention over time: stories per day or week for each query, syndicated copies counted
    once, on the day published (or fetched, when undated). Filters apply to every query."""
    if len(queries) > MAX_QUERIES:
        err.print(f"error: at most {MAX_QUERIES} queries on one chart, not {len(queries)}")
        raise typer.Exit(2)
    if interval not in INTERVALS:
        err.print(f"error: --interval: must be one of {', '.join(INTERVALS)}, not {interval!r}")
        raise typer.Exit(2)
    step = cast(Interval, interval)
    if out_png is not None:
        _matplotlib()  # before any work: a missing extra is said at once
    last = parse_day(until, "--until")
    first = parse_day(since, "--since", last)
    if first > last:
        err.print(f"error: --since {first} is after --until {last}")
        raise typer.Exit(2)
    filters = SearchRequest(
        sources=source or (),
        countries=country or (),
        regions=region or (),
        languages=language or (),
        min_relevance=min_relevance,
    )
    series = _series(queries, first=first, last=last, interval=step, filters=filters)
    if csv_path is not None:
        text = series_csv(series, step)
        if str(csv_path) == "-":
            sys.stdout.write(text)
        else:
            csv_path.write_text(text, encoding="utf-8")
            err.print(f"wrote {csv_path} ({len(series[0].points) if series else 0} rows)")
    if out_png is not None:
        write_png(series, step, out_png)
        err.print(f"wrote {out_png} ({PNG_WIDTH}×{PNG_HEIGHT})")
    if out_png is None and csv_path is None:
        _print_table(series, step)


def _series(queries: list[str], **window: Any) -> list[Series]:
    from crawler.search.backends import open_archive
    from watchdesk.cli.watchlist import _aliases

    loaded = _load()
    archive = open_archive(loaded, aliases=_aliases(loaded))
    try:
        return attention(archive, queries, **window)
    except QueryError as exc:  # which query: the first that does not parse on its own
        failed = next((q for q in queries if _fails(q)), "")
        err.print(f"error: bad query: {escape(exc.message)} (at position {exc.position})")
        if failed:
            err.print(f"  {failed}\n  {' ' * exc.position}^", markup=False)
        raise typer.Exit(2) from None
    finally:
        archive.close()


def _fails(query: str) -> bool:
    try:
        parse_query(query)
    except QueryError:
        return True
    return False


def _matplotlib() -> Any:
    """matplotlib's Figure and Agg canvas, or a one-line error naming the install (exit 1)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        err.print(f"error: --out needs matplotlib, which is not installed: {INSTALL}", markup=False)
        raise typer.Exit(1) from None
    return Figure, FigureCanvasAgg


def _plain(label: str) -> str:
    """A query as matplotlib text: `$` would start mathtext, so it is escaped."""
    return label.replace("$", r"\$")


def write_png(series: list[Series], interval: Interval, path: Path) -> None:
    """The series as a line chart in a PNG of PNG_WIDTH × PNG_HEIGHT pixels."""
    figure_cls, canvas_cls = _matplotlib()
    from matplotlib import dates, font_manager, rc_context

    installed = {f.name for f in font_manager.fontManager.ttflist}
    fallback = [name for name in CJK_FONTS if name in installed]
    labels = "".join(s.label for s in series)
    if not fallback and not labels.isascii() and any("\u4e00" <= c <= "\u9fff" for c in labels):
        err.print("warning: no Chinese font installed (fonts-noto-cjk): such text shows as boxes")
    with rc_context({"font.family": ["DejaVu Sans", *fallback]}), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        _draw(series, interval, path, figure_cls, canvas_cls, dates)


def _draw(
    series: list[Series],
    interval: Interval,
    path: Path,
    figure_cls: Any,
    canvas_cls: Any,
    dates: Any,
) -> None:
    fig = figure_cls(figsize=(PNG_WIDTH / PNG_DPI, PNG_HEIGHT / PNG_DPI), dpi=PNG_DPI)
    canvas_cls(fig)
    ax = fig.add_subplot()
    lines = []
    for k, s in enumerate(series):
        days = [d for d, _ in s.points]
        (line,) = ax.plot(
            days, [n for _, n in s.points], color=COLOURS[k % len(COLOURS)], linewidth=2
        )
        lines.append(line)
    # below the plot, clear of the lines; handles given explicitly: a label starting with `_`
    # would otherwise be left out
    ax.legend(
        lines,
        [_plain(s.label) for s in series],
        loc="upper left",
        bbox_to_anchor=(0.0, -0.1),
        ncol=min(len(series), 2) or 1,
        frameon=False,
    )
    fig.subplots_adjust(left=0.07, right=0.97, top=0.9, bottom=0.26)
    locator = dates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(dates.ConciseDateFormatter(locator))
    ax.set_ylabel(f"stories per {interval}")
    ax.set_ylim(bottom=0)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.grid(axis="y", color="#dddddd")
    ax.spines[["top", "right"]].set_visible(False)
    if series and series[0].points:
        first, last = series[0].points[0][0], series[0].points[-1][0]
        ax.set_xlim(first, last + timedelta(days=0 if first != last else 1))
        ax.set_title(f"Attention over time, {first} to {last}", loc="left")
    fig.savefig(path, format="png", dpi=PNG_DPI)  # no bbox_inches: the size stays exact


def _print_table(series: list[Series], interval: Interval) -> None:
    table = Table()
    table.add_column(interval, no_wrap=True)
    for s in series:
        table.add_column(Text(s.label), justify="right")  # Text: a query is never markup
    for i, (bucket, _) in enumerate(series[0].points if series else []):
        table.add_row(bucket.isoformat(), *(str(s.points[i][1]) for s in series))
    out.print(table)
