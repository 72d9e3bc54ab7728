"""The `search` command: analysts search, filter, facet and export the archive.

A thin layer over `crawler.search.request`: options become a `SearchRequest`, the archive the config
names (`open_archive`) answers it, and the result is printed as a table, JSON Lines or CSV.
Crawled text is untrusted: escaped for the terminal (rich markup) here and for spreadsheets
(formula injection) by the one CSV writer of both exports, `crawler.search.export`.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from datetime import date
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from typer.core import TyperCommand

from crawler import timespan
from crawler.search.export import CSV_COLUMNS, TABLE_COLUMNS, csv_row, parse_columns
from crawler.search.facet_labels import label_of, shown_facets, with_code
from crawler.search.request import (
    FACET_FIELDS,
    ORDERS,
    SORTS,
    Hit,
    SearchRequest,
    SearchResult,
    parse_sort,
)
from watchdesk.cli.app import _load, app, err, out
from watchdesk.service.config import LoadedConfig

_MARKED = re.compile(r"\[\[(.*?)\]\]", re.DOTALL)


def parse_day(value: str, option: str, today: date | None = None) -> date:
    """`crawler.timespan.parse_day`, its ValueError turned into a usage error (exit 2) that
    names the option, as typer reports its own bad values."""
    try:
        return timespan.parse_day(value, today)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None


def outlet(publisher: str, via: str) -> str:
    """The source as people read it: the outlet, and the configured feed it came through."""
    if not publisher or publisher == via:
        return via
    return f"{publisher} (via {via})"


def _rich_snippet(snippet: str) -> Text:
    """The snippet as styled text: `[[ ]]` spans bold, everything else literal (never parsed
    as markup: the text is untrusted)."""
    text = Text()
    pos = 0
    for match in _MARKED.finditer(snippet):
        text.append(snippet[pos : match.start()])
        text.append(match.group(1), style="bold yellow")
        pos = match.end()
    text.append(snippet[pos:])
    return text


def copies_label(count: int) -> str:
    """ "+2 copies": the other articles of a hit's story, as the hit lists them."""
    return f"+{count} cop{'y' if count == 1 else 'ies'}" if count else ""


def counted(result: SearchResult) -> str:
    """The result's size in its own unit: "12 stories (19 articles)", or "19 articles"."""
    if result.articles is None:
        return f"{result.total} article{'' if result.total == 1 else 's'}"
    stories = f"{result.total} stor{'y' if result.total == 1 else 'ies'}"
    return f"{stories} ({result.articles} article{'' if result.articles == 1 else 's'})"


def table_cell(hit: Hit, column: str) -> Text | str:
    """One cell of a `--columns` table: crawled text as literal Text, never rich markup."""
    a = hit.article
    if column == "date":
        return a.published.date().isoformat() if a.published else "-"
    if column == "outlet":
        return Text(outlet(a.publisher, a.source))
    if column == "title":
        return _rich_snippet(hit.title_highlighted or a.title)
    if column == "places":
        return Text(", ".join(dict.fromkeys(e.name for e in a.places())))
    if column == "kinds":  # the event labels as the web page shows them
        return Text(", ".join(kind.replace("_", " ") for kind in a.events))
    if column == "relevance":
        return f"{a.relevance:.2f}"
    if column == "copies":
        return copies_label(hit.copy_count)
    raise ValueError(f"no table column {column!r}")


def _print_table(
    result: SearchResult, page: int, limit: int, columns: list[str] | None = None
) -> None:
    if not result.hits:
        err.print("no articles found" if result.total == 0 else f"page {page} is past the end")
    elif columns:
        table = Table(show_lines=True)
        for column in columns:
            wide = column in ("title", "places")
            table.add_column(column, overflow="fold", ratio=2 if wide else None)
        for hit in result.hits:
            table.add_row(*(table_cell(hit, c) for c in columns))
        out.print(table)
    else:
        table = Table(show_lines=True)
        table.add_column("title", overflow="fold", ratio=2)
        table.add_column("source", overflow="fold")
        table.add_column("date", no_wrap=True)
        table.add_column("snippet", overflow="fold", ratio=4)
        for hit in result.hits:
            a = hit.article
            title = _rich_snippet(hit.title_highlighted or a.title)
            if hit.copy_count:
                title.append(f"\n{copies_label(hit.copy_count)}", style="dim")
            table.add_row(
                title,
                Text(outlet(a.publisher, a.source)),
                a.published.date().isoformat() if a.published else "-",
                _rich_snippet(hit.snippet),
            )
        out.print(table)
    pages = max(1, -(-result.total // limit))
    out.print(f"{counted(result)}, page {page} of {pages} ({result.took_ms:.0f} ms)")


def _print_facets(result: SearchResult) -> None:
    labels = result.facet_labels
    approx = "≈" if result.facet_sample < 1 else ""
    if result.by_story:
        out.print("[dim]facet counts are stories (copies of a story count once)[/dim]")
    if approx:
        share = f"{result.facet_sample:.0%}"
        out.print(f"[dim]facet counts estimated from a {share} sample of the matches[/dim]")
    for name in shown_facets(FACET_FIELDS):
        counts = result.facets.get(name, [])
        if not counts:
            continue
        table = Table(title=name, title_justify="left", show_header=False, box=None)
        table.add_column("value")
        table.add_column("count", justify="right")
        for value, count in counts:
            # the page's labels, with the code a filter takes beside them (no hover here)
            shown = with_code(name, value, label_of(name, value, labels, {}))
            table.add_row(Text(shown), f"{approx}{count}")
        out.print(table)


class QueryCommand(TyperCommand):
    """A command whose one argument is a query that may start with `-` (`'-taiwan'`).

    A word starting with `-` that names no option of the command is the query, not an
    unknown option: it is moved behind `--`, so `watchdesk search '-taiwan' --limit 5`
    works as `watchdesk search --limit 5 -- '-taiwan'`.
    """

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, query_last(self, args))


def query_last(command: Any, args: list[str]) -> list[str]:
    """`args` with a query that looks like an option moved behind `--` (see QueryCommand)."""
    takes_value: set[str] = set()
    flags: set[str] = {"--help"}
    for param in command.params:
        # typer vendors its own click: options are told by their kind, not their class
        if getattr(param, "param_type_name", "") == "option":
            names = set(param.opts) | set(param.secondary_opts)
            (flags if param.is_flag or param.count else takes_value).update(names)
    kept: list[str] = []
    query: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            query.extend(args[i + 1 :])
            break
        name = arg.split("=", 1)[0]
        if arg.startswith("-") and len(arg) > 1 and name not in takes_value | flags:
            query.append(arg)
        else:
            kept.append(arg)
            if name in takes_value and "=" not in arg and i + 1 < len(args):
                kept.append(args[i + 1])
                i += 1
        i += 1
    return kept + (["--", *query] if query else [])


QUERY_HELP = (
    "Query, e.g. '\"sister city\" AND country:CN' ('' = all); it may start with '-' "
    "('-taiwan'). Every operator, with examples and the differences from Elasticsearch, "
    "Lucene and Meltwater: docs/queries.md."
)


@app.command(cls=QueryCommand)
def search(
    query: Annotated[str, typer.Argument(help=QUERY_HELP)] = "",
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="From this day: YYYY-MM-DD, today, yesterday, or a span back from now: "
            "12h, 30d, 2w, 6mo (30 days), 1y (365 days).",
        ),
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Up to this day, included (same forms).")
    ] = None,
    source: Annotated[list[str] | None, typer.Option("--source", help="Source name.")] = None,
    label: Annotated[
        list[str] | None,
        typer.Option("--label", help="Source label: state_media, wire, official, ..."),
    ] = None,
    country: Annotated[list[str] | None, typer.Option("--country", help="ISO code.")] = None,
    region: Annotated[list[str] | None, typer.Option("--region", help="State/province.")] = None,
    event: Annotated[list[str] | None, typer.Option("--event", help="Exchange kind.")] = None,
    entity: Annotated[list[str] | None, typer.Option("--entity", help="Id or name.")] = None,
    language: Annotated[list[str] | None, typer.Option("--language", help="e.g. en, zh.")] = None,
    min_relevance: Annotated[
        float | None,
        typer.Option(
            "--min-relevance",
            min=0.0,
            max=1.0,
            help="Only articles whose domain relevance (0..1, as `extract` shows) is at least "
            "this.",
        ),
    ] = None,
    sort: Annotated[
        str,
        typer.Option(
            "--sort",
            help="best (text score blended with the domain relevance), text (text score "
            "alone), or a column: date (newest first), title, outlet (A to Z), domain (the "
            "domain relevance, highest first); '-title' or --order reverses a column.",
        ),
    ] = "best",
    order: Annotated[
        str | None,
        typer.Option(
            "--order",
            metavar="asc|desc",
            help="Direction of a column sort (date, title, outlet, domain); each has its own "
            "by default.",
        ),
    ] = None,
    columns: Annotated[
        str | None,
        typer.Option(
            "--columns",
            metavar="COLS",
            help=f"The table's columns, comma-separated, from {','.join(TABLE_COLUMNS)} "
            "(e.g. date,outlet,title). By default: title, source, date and snippet.",
        ),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=10000)] = 20,
    page: Annotated[int, typer.Option("--page", min=1)] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV on stdout, for export.")] = False,
    facets: Annotated[bool, typer.Option("--facets", help="Print facet counts too.")] = False,
    copies: Annotated[
        bool,
        typer.Option(
            "--copies",
            help="List every article. By default syndicated copies are grouped under their "
            "story (one hit per story, '+N copies'; totals and facets count stories).",
        ),
    ] = False,
    save: Annotated[
        str | None,
        typer.Option(
            "--save",
            metavar="NAME",
            help="Also save this search (query and filters, not dates) as NAME: a watchlist "
            "with `delivery: none` appended to the watchlists file, which never alerts.",
        ),
    ] = None,
    saved: Annotated[
        str | None,
        typer.Option(
            "--saved",
            metavar="NAME",
            help="Run the saved search (or watchlist) NAME: its query and filters; a query "
            "and options given too narrow it (--language/--source replace its own).",
        ),
    ] = None,
) -> None:
    """Search the archive. Every filter option repeats (OR within one option, AND between).

    The query language is documented in docs/queries.md.
    """
    from crawler.query import QueryError
    from crawler.query.parser import parse_query_with_warnings

    loaded = _load()
    if save and saved:
        err.print("error: choose one of --save and --saved")
        raise typer.Exit(2)
    if saved:
        base = loaded.watchlists.by_name(saved)
        if base is None:
            names = [w.name for w in loaded.watchlists.watchlists if w.is_saved_search]
            known = f"; saved searches: {', '.join(names)}" if names else ""
            err.print(f"error: --saved: no watchlist named {escape(saved)!r}{escape(known)}")
            raise typer.Exit(2)
        query = f"({base.query}) AND ({query})" if query.strip() else base.query
        language = language or list(base.languages) or None
        source = source or list(base.sources) or None
        if base.min_relevance:
            min_relevance = max(min_relevance or 0.0, base.min_relevance)

    try:
        sort, order = parse_sort(sort, order)
    except ValueError as exc:
        err.print(f"error: --sort: {exc} (sorts: {', '.join(SORTS)}; orders: {', '.join(ORDERS)})")
        raise typer.Exit(2) from None
    chosen: list[str] | None = None
    if columns is not None:
        chosen, unknown = parse_columns(columns)
        if unknown:
            err.print(
                f"error: --columns: no column {escape(', '.join(unknown))}; "
                f"columns: {', '.join(TABLE_COLUMNS)}"
            )
            raise typer.Exit(2)
    if as_json and as_csv:
        err.print("error: choose one of --json and --csv")
        raise typer.Exit(2)
    if as_csv and facets:
        err.print("error: --facets prints a table; it does not go into --csv")
        raise typer.Exit(2)
    if query.strip():
        try:
            _, warnings = parse_query_with_warnings(query)
        except QueryError as exc:
            err.print(f"error: bad query: {escape(str(exc))}")
            err.print(f"  {query}\n  {' ' * exc.position}^", markup=False)
            raise typer.Exit(2) from None
        for warning in warnings:
            err.print(f"warning: {escape(warning.message)}")
            err.print(f"  {query}\n  {' ' * warning.position}^", markup=False)
    request = SearchRequest(
        query=query,
        since=parse_day(since, "--since") if since else None,
        until=parse_day(until, "--until") if until else None,
        sources=source or (),
        labels=label or (),
        languages=language or (),
        countries=country or (),
        regions=region or (),
        events=event or (),
        entities=entity or (),
        min_relevance=min_relevance,
        sort=sort,  # type: ignore[arg-type]
        order=order,  # type: ignore[arg-type]  # one of ORDERS or None (parse_sort)
        limit=limit,
        offset=(page - 1) * limit,
        facets=facets,
        by_story=not copies,
    )
    try:
        request.query_tree()
    except QueryError as exc:  # a filter value the query language refuses
        err.print(f"error: bad filter: {escape(str(exc))}")
        raise typer.Exit(2) from None
    if save:
        _save(loaded, save, request)
    result = _run(loaded, request)
    if as_json:
        for hit in result.hits:
            print(json.dumps(hit.to_dict(), ensure_ascii=False))
        if facets:
            summary: dict[str, Any] = {"total": result.total, "facets": result.facets}
            # by story, total and facets count stories; `articles` is how many they hold
            summary["unit"] = "stories" if result.by_story else "articles"
            summary["articles"] = result.articles if result.by_story else result.total
            summary["facet_sample"] = result.facet_sample
            summary["facet_labels"] = result.facet_labels
            print(json.dumps(summary, ensure_ascii=False))
    elif as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        writer.writerows(csv_row(hit, result.by_story) for hit in result.hits)
    else:
        _print_table(result, page, limit, chosen)
        if facets:
            _print_facets(result)


def _save(loaded: LoadedConfig, name: str, request: SearchRequest) -> None:
    """Append the search to the watchlists file as a saved search; exit 2 when it cannot be."""
    from alerts.saved_searches import SaveError, append_watchlist, saved_search_query

    fields = [
        ("country", request.countries),
        ("region", request.regions),
        ("event", request.events),
        ("entity", request.entities),
    ]
    query = saved_search_query(request.query, fields)
    if not query:
        err.print("error: --save: nothing to save: give a query or a filter")
        raise typer.Exit(2)
    entry: dict[str, Any] = {"name": name, "query": query}
    if request.languages:
        entry["languages"] = list(request.languages)
    if request.sources:
        entry["sources"] = list(request.sources)
    if request.min_relevance:
        entry["min_relevance"] = request.min_relevance
    entry["delivery"] = "none"
    inline = not isinstance(loaded.config.watchlists, str)
    path = loaded.path if inline else loaded.resolve(str(loaded.config.watchlists))
    try:
        append_watchlist(path, entry, inline=inline)
    except SaveError as exc:
        err.print(f"error: --save: {escape(str(exc))}")
        raise typer.Exit(2) from None
    if request.since or request.until:
        err.print("note: the dates are not saved: give --since/--until when you run it")
    err.print(
        f"saved search {escape(name)!r} added to {escape(str(path))} (delivery: none); run it "
        f"with `watchdesk search --saved {escape(name)}`, make it a watchlist by giving it a "
        "channel and `delivery: instant`"
    )


def _run(loaded: LoadedConfig, request: SearchRequest) -> SearchResult:
    from crawler.search.backends import open_archive
    from enrich.entities import EntityMatcher

    watched = [e.model_dump() for e in loaded.watchlists.entities]
    entities = EntityMatcher.load(watched, list(loaded.config.organisations))
    archive = open_archive(loaded, aliases=entities.ids_for_name)
    try:
        return archive.search(request)
    finally:
        archive.close()
