"""The `watchlist` commands: validate, list, backtest (`test`), explain, and the desk's
`stats`.

`test` and `explain` are thin layers over `alerts.backtest`; a draft rule is given with
`--query` (alone, or with a NAME whose filters it borrows).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.markup import escape

from alerts.mrkdwn import strip_control
from crawler import timespan
from crawler.config import ConfigError, config_path
from watchdesk.cli.app import _load, err, out, state, watchlist_app
from watchdesk.service.config import LoadedConfig, load_config

if TYPE_CHECKING:
    from alerts.auto_relevance import AutoFloor
    from alerts.backtest import Backtest, BacktestHit
    from alerts.backtest_diff import BacktestComparison
    from alerts.lint import LintWarning
    from alerts.watchlist import Watchlist
    from crawler.article import Article
    from crawler.query import AliasResolver, QueryError
    from crawler.storage import Store


@watchlist_app.command("validate")
def watchlist_validate(
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 on warnings too (for CI).")
    ] = False,
) -> None:
    """Check the config's watchlists: exit 0, or 1 with every error (file:line, watchlist).

    Also warns, exit status 0 unless --strict, about what can never match: an entity no
    `entities:` entry or organisation defines, a source the config lacks, a language, country
    or region no article is tagged with, a channel that is neither #name nor an id."""
    path = config_path(state.config)
    if not path.exists():
        err.print(f"error: config file not found: {path}")
        raise typer.Exit(2)
    try:
        loaded = load_config(path)
    except ConfigError as exc:
        for problem in exc.problems:
            err.print(escape(problem))
        err.print(f"{len(exc.problems)} problem(s)")
        raise typer.Exit(1) from None
    remarks = query_warnings(loaded)  # accepted queries with a remark (each says "warning:")
    for remark in remarks:
        err.print(escape(remark))
    warnings: list[object] = [*_lint(loaded)]
    for warning in warnings:
        err.print(f"warning: {escape(str(warning))}")
    warnings += remarks
    n = len(loaded.watchlists.watchlists)
    summary = f"{n} watchlist(s), {len(loaded.watchlists.entities)} watched entit(ies)"
    if warnings:
        err.print(f"{len(warnings)} warning(s): {summary}")
        if strict:
            raise typer.Exit(1)
        return
    out.print(f"ok: {summary}")


def _lint(loaded: LoadedConfig) -> list[LintWarning]:
    """The never-matching values of the watchlists (alerts.lint), against what this config's
    articles can be tagged with."""
    from alerts.lint import Vocabulary, lint_watchlists, watchlists_yaml
    from crawler.textnorm import fold
    from enrich.entities import EntityMatcher
    from enrich.gazetteer import build_gazetteer_data
    from enrich.language import known_languages

    watched = [e.model_dump() for e in loaded.watchlists.entities]
    entities = EntityMatcher.load(watched=watched, extra=loaded.config.organisations)
    places = build_gazetteer_data().places
    vocabulary = Vocabulary(
        sources={s.name for s in loaded.config.sources},
        languages=known_languages(),
        countries={p.country.upper() for p in places if p.country},
        regions={fold(p.region) for p in places if p.region},
        entity_ids=entities.ids_for_name,
        entity_keys={e.id for e in entities.entities},
        labels={s.label for s in loaded.config.sources if s.label},
    )
    path, root = watchlists_yaml(loaded)
    return lint_watchlists(loaded.watchlists, vocabulary, path, root)


def query_warnings(loaded: LoadedConfig) -> list[str]:
    """`file:line: watchlist 'name': query: warning: ...` for every query the parser accepted
    with a remark (an implicit AND next to OR, ignored punctuation); the exit code stays 0."""
    from crawler.query.parser import parse_query_with_warnings
    from crawler.yamlfile import YamlError, line_of, load_yaml

    source = loaded.config.watchlists
    path = loaded.path
    if isinstance(source, str):
        path = Path(source) if Path(source).is_absolute() else loaded.path.parent / source
    try:
        root = load_yaml(path)
    except (OSError, YamlError):
        root = None
    items = root.get("watchlists") if isinstance(root, dict) else root
    base: tuple[str, ...] = ("watchlists",) if isinstance(root, dict) else ()
    lines: dict[str, int | None] = {}
    for i, raw in enumerate(items if isinstance(items, list) else []):
        if isinstance(raw, dict) and isinstance(raw.get("name"), str):
            lines[raw["name"]] = line_of(root, (*base, i, "query"))
    out_lines: list[str] = []
    for wl in loaded.watchlists.watchlists:
        _, warnings = parse_query_with_warnings(wl.query)
        line = lines.get(wl.name)
        where = f"{path}:{line}" if line else str(path)
        for warning in warnings:
            out_lines.append(
                f"{where}: watchlist '{wl.name}': query: warning: {warning.message} "
                f"(character {warning.position})"
            )
    return out_lines


@watchlist_app.command("test")
def watchlist_test(
    name: Annotated[
        str | None,
        typer.Argument(help="A configured watchlist (optional with --query: borrows its filters)."),
    ] = None,
    query: Annotated[
        str | None, typer.Option("--query", help="A draft query to try instead of the saved one.")
    ] = None,
    since: Annotated[
        str,
        typer.Option(
            "--since",
            help="How far back: 12h, 30d, 2w, 6mo (30 days), 1y (365 days), or 'all'.",
        ),
    ] = "30d",
    by: Annotated[
        str,
        typer.Option(
            "--by",
            help="Date to count by: published (fetched for undated articles, as search and the "
            "web page count) or fetched (when live alerting would have sent it).",
        ),
    ] = "published",
    limit: Annotated[int, typer.Option("--limit", "-n", min=0, help="Articles listed.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
) -> None:
    """Run a watchlist over the stored archive: what it would have alerted, and counts per day.

    With NAME and --query, the draft is also compared with NAME's saved query over the same
    window: the stories it gains, loses and keeps."""
    from alerts.backtest import backtest
    from alerts.backtest_diff import compare_backtests
    from crawler.query import QueryError
    from crawler.search.embedded import default_index_path
    from crawler.search.tantivy_index import TantivyIndex
    from crawler.storage import Store

    if by not in ("fetched", "published"):
        _usage("--by must be 'fetched' or 'published'")
    window = _parse_since(since)
    loaded = _load()
    target = _target(loaded, name, query)
    with Store(loaded.store_path) as store:
        target, floor = _in_force(store, target)
        # the side index the service keeps beside an embedded store counts the matches fast
        path = loaded.index_path or default_index_path(store)
        index = TantivyIndex(store, path) if path is not None and path.exists() else None
        try:
            result = backtest(
                store,
                target,
                since=window,
                aliases=_aliases(loaded),
                limit=limit,
                date_field=by,  # type: ignore[arg-type]  # checked above
                draft=query is not None,
                index=index,
            )
        except QueryError as exc:
            _bad_query(query or "", exc)
        comparison: BacktestComparison | None = None
        saved = loaded.watchlists.by_name(name) if name is not None and query is not None else None
        if saved is not None:
            saved_in_force, _ = _in_force(store, saved)
            saved_result = backtest(
                store,
                saved_in_force,
                since=window,
                until=result.end,  # the same window as the draft's
                aliases=_aliases(loaded),
                limit=0,
                date_field=by,  # type: ignore[arg-type]  # checked above
                index=index,
            )
            comparison = compare_backtests(store, result, saved_result)
    if as_json:
        doc = result.to_dict()
        if comparison is not None:
            doc["compare"] = comparison.to_dict()
        print(json.dumps(doc, ensure_ascii=False))
        return
    _print_backtest(result, by, floor)
    if comparison is not None:
        _print_comparison(comparison, by)


def _print_comparison(comparison: BacktestComparison, by: str) -> None:
    out.print(
        f"\n[bold]vs saved[/bold] {escape(repr(comparison.saved))} "
        f"({escape(comparison.saved_query)}): {comparison.summary()}"
    )
    for label, hits, total in (
        ("gained", comparison.gained_hits, comparison.gained),
        ("lost", comparison.lost_hits, comparison.lost),
    ):
        if not total:
            continue
        shown = f"newest {len(hits)} of {total}" if len(hits) < total else str(total)
        out.print(f"[bold]{label}[/bold] ({shown}):")
        for hit in hits:
            sign = "+" if label == "gained" else "-"
            title, source = _safe(hit.title), _safe(hit.source)
            out.print(f"  {sign} {_stamp(hit, by)}  [bold]{title}[/bold]  ({source})")
            out.print(f"      {_safe(hit.url)}")


def _stamp(hit: BacktestHit, by: str) -> str:
    when = hit.fetched if by == "fetched" else (hit.published or hit.fetched)
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if when else "-"


def _print_backtest(result: Backtest, by: str, floor: AutoFloor | None) -> None:
    wl = result.watchlist
    title = "draft query" if result.draft else f"watchlist {wl.name!r}"
    # `--since all`: the window starts at the first matching article's day, said as a date
    first_day = result.days[0].day.isoformat() if result.days else result.end.date().isoformat()
    start = result.start.date().isoformat() if result.start else first_day
    out.print(f"[bold]{escape(title)}[/bold]: {escape(wl.query)}")
    if wl.muted:
        out.print("[yellow]muted: live alerting sends nothing; shown as if unmuted[/yellow]")
    if floor is not None:
        out.print(escape(floor.reason()))
    if wl.is_saved_search:
        out.print(
            "[yellow]a saved search (delivery: none): it never alerts; shown as the alerts it "
            "would send as an instant watchlist[/yellow]"
        )
    out.print(
        f"{start} → {result.end.date().isoformat()} (by {by} date): "
        f"{result.matches} matching article(s), {result.stories} alert(s), "
        f"{result.copies} threaded cop(ies), {result.candidates} candidate(s) checked"
    )
    labels = result.labels
    if labels is not None:
        out.print(f"desk verdicts: {labels.summary()}")
        for judged in labels.lost:
            word = "relevant" if judged.verdict == "relevant" else "not relevant"
            out.print(
                f"  {'loses' if judged.verdict == 'relevant' else 'drops'} "
                f"(marked {word}, alert #{judged.alert_id}): [bold]{_safe(judged.title)}[/bold]"
            )
            out.print(f"    {_safe(judged.url)}")
    peak = max((d.matches for d in result.days), default=0)
    for day in result.days:
        bar = "█" * round(20 * day.matches / peak) if peak else ""
        out.print(f"  {day.day.isoformat()}  {day.matches:4d} {day.stories:4d}  {bar}")
    if not result.hits:
        err.print("no matching articles in the window")
        return
    out.print(f"\n[bold]newest {len(result.hits)} of {result.matches}[/bold]")
    for hit in result.hits:
        first = "DIGEST" if wl.is_digest else "ALERT"  # a digest lists the story instead
        kind = {"story": first, "copy": "reply", "repeat": "-"}[hit.kind]
        stamp = _stamp(hit, by)
        out.print(f"{stamp}  {kind:6}  [bold]{_safe(hit.title)}[/bold]  ({_safe(hit.source)})")
        out.print(f"    {_safe(hit.url)}")
        out.print(f"    terms: {_safe(', '.join(hit.matched_words)) or '-'}")
        out.print(f"    {_bold_markers(hit.snippet)}")


@watchlist_app.command("stats")
def watchlist_stats(
    name: Annotated[str | None, typer.Argument(help="One watchlist (default: all).")] = None,
    since: Annotated[
        str, typer.Option("--since", help="How far back: 12h, 30d, 2w, 6mo, 1y, or 'all'.")
    ] = "30d",
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
) -> None:
    """The desk's verdicts per watchlist: alerts, judged share, precision (relevant / judged),
    the min_relevance that would keep 95% of the alerts judged relevant, and the min_relevance
    in force (for `min_relevance: auto`, the floor its verdicts set, with the reason)."""
    from crawler.storage import Store

    window = _parse_since(since)
    loaded = _load()
    names = [w.name for w in loaded.watchlists.watchlists]
    if name is not None and name not in names:
        _usage(f"no watchlist named {name!r}; the watchlists are: {', '.join(names) or '(none)'}")
    from alerts.auto_relevance import resolve_auto_relevance
    from alerts.learned_relevance import threshold_keeping
    from crawler.storage.verdicts import VerdictCounts

    start = datetime.now(UTC) - window if window else None
    chosen = [name] if name else names
    keep_at: dict[str, float | None] = {}
    with Store(loaded.store_path) as store:
        counts = store.verdict_counts(since=start)
        for n in chosen:
            # the min_relevance that keeps 95 % of the judged relevant (the hand-set score)
            scores = store.judged_relevant_scores(n, since=start)
            keep_at[n] = threshold_keeping(scores) if scores else None
        # the floors in force: auto ones from all of the verdicts, as the service sets them
        in_force, floors = resolve_auto_relevance(loaded.watchlists, store)
    floor_of = {w.name: w.min_relevance for w in in_force.watchlists}
    rows = [counts.get(n) or VerdictCounts(n, 0, 0, 0) for n in chosen]
    if as_json:
        doc = [
            {
                "watchlist": c.watchlist,
                "alerts": c.alerts,
                "judged": c.judged,
                "relevant": c.relevant,
                "not_relevant": c.not_relevant,
                "precision": c.precision,
                "judged_share": c.judged_share,
                "min_relevance_keeping_95": keep_at[c.watchlist],
                "min_relevance": floor_of[c.watchlist],
                "min_relevance_auto": c.watchlist in floors,
                "min_relevance_reason": (
                    floors[c.watchlist].reason() if c.watchlist in floors else None
                ),
            }
            for c in rows
        ]
        print(json.dumps({"since": since, "watchlists": doc}, ensure_ascii=False))
        return
    out.print(
        f"{'watchlist':24} {'alerts':>6} {'judged':>12} {'relevant':>8} {'precision':>9} "
        f"{'keeps 95% at':>12} {'min_relevance':>13}"
    )
    for c in rows:
        share = f"{c.judged} ({c.judged_share:.0%})" if c.judged_share is not None else "0"
        precision = f"{c.precision:.0%}" if c.precision is not None else "-"
        at = keep_at[c.watchlist]
        keep = f"≥ {at:.2f}" if at is not None else "-"
        floor = f"{floor_of[c.watchlist]:.2f}"
        if c.watchlist in floors:
            floor = f"auto {floor}" if floors[c.watchlist].learned else "auto -"
        out.print(
            f"{escape(c.watchlist):24} {c.alerts:6d} {share:>12} {c.relevant:8d} {precision:>9} "
            f"{keep:>12} {floor:>13}"
        )
    for n in chosen:
        if n in floors:
            out.print(f"{escape(n)}: {escape(floors[n].reason())}")


@watchlist_app.command("explain")
def watchlist_explain(
    args: Annotated[
        list[str],
        typer.Argument(
            metavar="NAME URL_OR_ID",
            help="A watchlist and an article id or URL (only the article with --query).",
        ),
    ],
    query: Annotated[
        str | None, typer.Option("--query", help="A draft query to explain instead.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
) -> None:
    """Why an article did or did not match: filters, clause by clause, terms found, relevance."""
    from alerts.backtest import ArticleNotFound, explain_article
    from crawler.query import QueryError
    from crawler.storage import Store

    if len(args) == 2:
        name, url_or_id = args
    elif len(args) == 1 and query is not None:
        name, url_or_id = None, args[0]
    else:
        _usage("give NAME and URL_OR_ID (or --query '...' and URL_OR_ID)")
    loaded = _load()
    target = _target(loaded, name, query)
    with Store(loaded.store_path) as store:
        target, floor = _in_force(store, target)
        unstored = None
        if url_or_id.startswith(("http://", "https://")) and store.find_article(url_or_id) is None:
            unstored = _fetch_article(loaded, url_or_id)
        try:
            why = explain_article(
                store,
                target,
                url_or_id,
                _aliases(loaded),
                draft=query is not None,
                article=unstored,
            )
        except QueryError as exc:
            _bad_query(query or "", exc)
        except ArticleNotFound as exc:
            err.print(f"error: {escape(str(exc))}")
            raise typer.Exit(1) from None
    if as_json:
        doc = why.to_dict()
        if floor is not None:
            doc["min_relevance_auto"] = floor.reason()
        print(json.dumps(doc, ensure_ascii=False))
        return
    for line in why.lines():
        out.print(_safe(line))
    if floor is not None:
        out.print(escape(floor.reason()))
    if _has_boost(query if query is not None else _query_of(target)):
        out.print("note: boosts (^) only rank search results; they never change what matches")


def _query_of(target: Watchlist | str) -> str:
    return target if isinstance(target, str) else target.query


def _has_boost(text: str) -> bool:
    from crawler.query import QueryError, parse_query
    from crawler.query.syntax import Near, Pattern, Text, walk

    try:
        tree = parse_query(text)
    except QueryError:
        return False
    for node in walk(tree):
        words = node.left + node.right if isinstance(node, Near) else (node,)
        if any(isinstance(w, Text | Pattern) and w.boost != 1.0 for w in words):
            return True
    return False


# -- helpers ---------------------------------------------------------------------------------


def _in_force(store: Store, target: Watchlist | str) -> tuple[Watchlist | str, AutoFloor | None]:
    """A `min_relevance: auto` watchlist (or a draft on it) at the floor the desk's verdicts
    set, as the service runs it, with that floor; anything else as it is."""
    from alerts.auto_relevance import auto_floor

    if isinstance(target, str) or not target.auto_relevance:
        return target, None
    floor = auto_floor(store, target.name)
    return target.model_copy(update={"min_relevance": floor.threshold}), floor


def _fetch_article(loaded: LoadedConfig, url: str) -> Article:
    """An unstored URL fetched under the address policy (as `extract` does) and enriched."""
    from crawler.article import Page
    from crawler.storage import Store
    from watchdesk.cli.extract import fetch_for_cli
    from watchdesk.service.config import enrich_context
    from watchdesk.service.processor import Processor

    html, final_url = fetch_for_cli(
        url, loaded.config.crawl, failed="no stored article with that URL, and fetching it failed: "
    )
    # the service's own steps, as `extract` runs them: enriched, nothing stored
    processor = Processor(Store(":memory:"), enrich_context(loaded), loaded.watchlists)
    page = Page(url=url, source="cli", html=html, final_url=final_url)
    return processor.preview(page).article


def _usage(message: str) -> NoReturn:
    err.print(f"error: {escape(message)}")
    raise typer.Exit(2)


def _parse_since(text: str) -> timedelta | None:
    """A `crawler.timespan` span, or None for 'all' (no lower limit)."""
    if text.strip().lower() == "all":
        return None
    try:
        span = timespan.parse_span(text)
    except ValueError as exc:
        _usage(f"--since: {exc}; or 'all' for no limit")
    # The backtest starts its window at now - span: a span past the year 1 would fail there
    # with a traceback, and 'all' is what such a span means anyway.
    if span > datetime.now(UTC) - datetime.min.replace(tzinfo=UTC):
        _usage(f"--since {text!r} reaches back before the year 1; use 'all' for no limit")
    return span


def _target(loaded: LoadedConfig, name: str | None, query: str | None) -> Watchlist | str:
    """The configured watchlist, a draft query, or a draft with a watchlist's filters."""
    from alerts.backtest import draft_watchlist
    from crawler.query import QueryError

    base = None
    if name is not None:
        base = loaded.watchlists.by_name(name)
        if base is None:
            names = ", ".join(w.name for w in loaded.watchlists.watchlists) or "(none configured)"
            _usage(f"no watchlist named {name!r}; the watchlists are: {names}")
    if query is None:
        if base is None:
            _usage("give a watchlist NAME or --query '...'")
        return base
    try:
        return draft_watchlist(query, base) if base is not None else draft_watchlist(query)
    except QueryError as exc:
        _bad_query(query, exc)


def _bad_query(query: str, exc: QueryError) -> NoReturn:
    err.print(f"error: bad query: {escape(exc.message)} (at position {exc.position})")
    err.print(f"  {escape(query)}\n  {' ' * exc.position}^")
    raise typer.Exit(2)


def _aliases(loaded: LoadedConfig) -> AliasResolver:
    """Entity names → ids, as the live matcher resolves them (organisations + watched)."""
    from enrich.entities import EntityMatcher

    watched = [e.model_dump() for e in loaded.watchlists.entities]
    matcher = EntityMatcher.load(watched=watched, extra=loaded.config.organisations)
    return matcher.ids_for_name


def _safe(text: str) -> str:
    """Untrusted text for the terminal: no control sequences (an ESC in a crawled title could
    recolour or rewrite the screen), no Rich markup."""
    return escape(strip_control(text))


def _bold_markers(snippet: str) -> str:
    """Rich markup for a `[[match]]`-marked plain snippet; everything else escaped."""
    parts = re.split(r"\[\[|\]\]", snippet)
    return "".join(
        f"[bold yellow]{_safe(p)}[/]" if i % 2 else _safe(p) for i, p in enumerate(parts)
    )


@watchlist_app.command("list")
def watchlist_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    saved: Annotated[
        bool, typer.Option("--saved", help="Only the saved searches (delivery: none).")
    ] = False,
) -> None:
    """List the watchlists and saved searches (`delivery: none`: searched by name with
    `watchdesk search --saved NAME`, never alerting) of the config."""
    from rich.table import Table
    from rich.text import Text

    loaded = _load()
    chosen = [w for w in loaded.watchlists.watchlists if w.is_saved_search or not saved]
    if as_json:
        for wl in chosen:
            row = wl.model_dump(mode="json")
            row["saved_search"] = wl.is_saved_search
            print(json.dumps(row, ensure_ascii=False))
        return
    if not chosen:
        err.print("no saved searches" if saved else "no watchlists")
        return
    table = Table(show_lines=False)
    for column in ("name", "delivery", "channel", "query"):
        table.add_column(column, overflow="fold")
    for wl in chosen:
        delivery = wl.delivery_label + (", muted" if wl.muted else "")
        channel = "" if wl.is_saved_search else wl.channel or "(default)"
        table.add_row(Text(wl.name), Text(delivery), Text(channel), Text(wl.query))
    out.print(table)
    searches = sum(1 for w in chosen if w.is_saved_search)
    out.print(f"{len(chosen) - searches} watchlist(s), {searches} saved search(es)")
