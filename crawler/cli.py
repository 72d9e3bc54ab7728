"""The `watchdesk` command line: each command is a thin layer over a library function.

Exit codes: 0 success, 1 a check failed (watchlist errors, nothing found where asked),
2 bad usage or an invalid config.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import urllib.request
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.table import Table

from crawler.config import ConfigError, LoadedConfig, config_path, load_config

app = typer.Typer(
    help="watchdesk: monitor coverage of US state and local ties with China, and alert on it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
watchlist_app = typer.Typer(help="Check, backtest and explain watchlists.", no_args_is_help=True)
alerts_app = typer.Typer(help="Inspect and retry the alert outbox.", no_args_is_help=True)
app.add_typer(watchlist_app, name="watchlist")
app.add_typer(alerts_app, name="alerts")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class State:
    config: str | None = None
    verbose: int = 0


state = State()


@app.callback()
def main_options(
    config: Annotated[
        str | None,
        typer.Option(
            "--config", "-c", help="Config file (default: $WATCHDESK_CONFIG or ./watchdesk.yaml)."
        ),
    ] = None,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More logging (-vv for debug).")
    ] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only warnings and errors.")] = False,
) -> None:
    state.config = config
    level = logging.WARNING if quiet else (logging.INFO if verbose < 2 else logging.DEBUG)
    if verbose == 0 and not quiet:
        level = logging.INFO
    logging.basicConfig(
        level=level,
        format="%(name)s %(message)s",
        handlers=[RichHandler(console=err, show_path=False, markup=False, rich_tracebacks=False)],
        force=True,
    )
    # third-party libraries are noisy at INFO; their warnings still show
    for noisy in (
        "scrapy",
        "twisted",
        "apscheduler",
        "trafilatura",
        "htmldate",
        "urllib3",
        "slack_sdk",
        "elastic_transport",
        "py.warnings",
        "asyncio",
    ):
        logging.getLogger(noisy).setLevel(logging.WARNING if verbose < 2 else logging.INFO)


def _load() -> LoadedConfig:
    path = config_path(state.config)
    if not path.exists():
        err.print(f"error: config file not found: {path}")
        raise typer.Exit(2)
    try:
        return load_config(path)
    except ConfigError as exc:
        err.print("error: invalid config")
        for problem in exc.problems:
            err.print(f"  {escape(problem)}")
        raise typer.Exit(2) from None


# -- run -------------------------------------------------------------------------------------


@app.command()
def run(
    once: Annotated[
        bool, typer.Option("--once", help="Poll every source once, deliver, exit.")
    ] = False,
) -> None:
    """Run the monitor: every source on its schedule until Ctrl-C (or once with --once)."""
    from crawler.monitor import Monitor, install_stop_signals, run_in_reactor

    loaded = _load()
    monitor = Monitor(loaded)

    async def main() -> Any:
        if once:
            return await monitor.run_cycle()
        stop = asyncio.Event()
        install_stop_signals(stop)
        await monitor.serve(stop)
        return None

    try:
        report = run_in_reactor(main)
    finally:
        monitor.close()
    if once and report is not None:
        s = report.stats
        err.print(
            f"cycle done: {report.sources} sources, {s.get('feed/ok', 0)} polled ok, "
            f"{s.get('feed/not_modified', 0)} not modified, {s.get('feed/error', 0)} failed; "
            f"{s.get('article/stored', 0)} new articles; {report.delivery.delivered} alerts sent, "
            f"{report.delivery.retrying} retrying, {report.delivery.failed} failed "
            f"({report.duration:.1f}s)"
        )


# -- search ----------------------------------------------------------------------------------


def _bold_markers(snippet: str) -> str:
    return escape(snippet).replace("[[", "[bold yellow]").replace("]]", "[/]")


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="Query, e.g. '\"sister city\" AND country:CN'.")],
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=10000)] = 20,
    page: Annotated[int, typer.Option("--page", min=1)] = 1,
    sort: Annotated[str, typer.Option("--sort", help="relevance or date")] = "relevance",
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Full-text search of the archive."""
    from crawler.query import QueryError
    from crawler.search import hit_json
    from crawler.search import search as do_search
    from crawler.store import Store

    if sort not in ("relevance", "date"):
        err.print("error: --sort must be 'relevance' or 'date'")
        raise typer.Exit(2)
    loaded = _load()
    with Store(loaded.store_path) as store:
        try:
            hits = do_search(store, query, limit=limit, offset=(page - 1) * limit, sort=sort)
        except QueryError as exc:
            err.print(f"error: bad query: {escape(str(exc))}")
            err.print(f"  {escape(query)}\n  {' ' * exc.position}^")
            raise typer.Exit(2) from None
    if as_json:
        for hit in hits:
            print(hit_json(hit))
        return
    if not hits:
        err.print("no articles found")
        return
    table = Table(show_lines=True)
    for col in ("title", "source", "published", "snippet"):
        table.add_column(col, overflow="fold")
    for hit in hits:
        a = hit.article
        table.add_row(
            escape(a.title),
            escape(a.source),
            a.published.date().isoformat() if a.published else "-",
            _bold_markers(hit.snippet),
        )
    out.print(table)


# -- extract ---------------------------------------------------------------------------------


def _read_page(path_or_url: str, user_agent: str) -> tuple[str, str]:
    if path_or_url.startswith(("http://", "https://")):
        req = urllib.request.Request(path_or_url, headers={"User-Agent": user_agent})
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - http(s) only, checked above
            charset = resp.headers.get_content_charset() or "utf-8"
            return resp.read().decode(charset, errors="replace"), resp.geturl()
    p = Path(path_or_url)
    if not p.exists():
        err.print(f"error: no such file: {p}")
        raise typer.Exit(2)
    return p.read_text(encoding="utf-8", errors="replace"), p.resolve().as_uri()


@app.command()
def extract(
    path_or_url: Annotated[str, typer.Argument(help="An HTML file or an http(s) URL.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the enriched article as JSON.")
    ] = False,
    source: Annotated[
        str, typer.Option("--source", help="Source name to attribute it to.")
    ] = "cli",
) -> None:
    """Extract and enrich one page and print what watchdesk sees in it (nothing is stored)."""
    from crawler.article import Page
    from crawler.config import DEFAULT_USER_AGENT
    from crawler.pipeline import article_from_page
    from enrich.chain import build_context, enrich

    path = config_path(state.config)
    loaded = _load() if path.exists() else None
    ua = loaded.config.crawl.user_agent if loaded else DEFAULT_USER_AGENT
    html, url = _read_page(path_or_url, ua)
    watched = [e.model_dump() for e in loaded.watchlists.entities] if loaded else []
    extra = loaded.config.organisations if loaded else []
    context = build_context(watched_entities=watched, extra_organisations=extra)
    article = enrich(article_from_page(Page(url=url, source=source, html=html)), context)
    matches: list[dict[str, Any]] = []
    if loaded:
        from alerts.matcher import WatchlistMatcher

        matcher = WatchlistMatcher(
            loaded.watchlists.watchlists, aliases=context.entities.ids_for_name
        )
        matches = [
            {"watchlist": m.watchlist.name, "terms": sorted({t.term for t in m.terms})}
            for m in matcher.match(article)
        ]
    data = article.to_dict()
    data["watchlists"] = matches
    if as_json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return
    out.print(f"[bold]{escape(article.title)}[/bold]")
    out.print(f"url: {escape(article.url)}")
    for key in (
        "published",
        "author",
        "site_name",
        "language",
        "extractor",
        "relevance",
        "cluster_id",
    ):
        out.print(f"{key}: {escape(str(data[key]))}")
    out.print(f"countries: {', '.join(article.countries) or '-'}")
    out.print(f"events: {escape(json.dumps(article.evidence, ensure_ascii=False))}")
    out.print(f"relevance reasons: {escape('; '.join(article.relevance_reasons))}")
    for ent in article.entities:
        where = (
            f" ({ent.region}, {ent.country})"
            if ent.region
            else (f" ({ent.country})" if ent.country else "")
        )
        out.print(
            f"  {ent.type:7} {escape(ent.name)}{escape(where)} ×{ent.mentions}  [{escape(ent.id)}]"
        )
    out.print(f"watchlists: {escape(', '.join(m['watchlist'] for m in matches)) or '-'}")
    out.print(f"\n{escape(article.text[:1500])}{'…' if len(article.text) > 1500 else ''}")


# -- watchlists ------------------------------------------------------------------------------


@watchlist_app.command("validate")
def watchlist_validate() -> None:
    """Check the config's watchlists: exit 0, or 1 with every error (file:line, watchlist)."""
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
    n = len(loaded.watchlists.watchlists)
    out.print(f"ok: {n} watchlist(s), {len(loaded.watchlists.entities)} watched entit(ies)")


# -- alerts ----------------------------------------------------------------------------------


@alerts_app.command("list")
def alerts_list(
    status: Annotated[
        str | None, typer.Option("--status", help="pending, delivered, failed, held")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n")] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show the outbox: pending, delivered and failed alerts, newest first."""
    from crawler.store import Store

    loaded = _load()
    with Store(loaded.store_path) as store:
        alerts = store.list_alerts(status, limit)
        titles = {a.article_id: (store.get_article(a.article_id) or None) for a in alerts}
    if as_json:
        for a in alerts:
            art = titles.get(a.article_id)
            print(
                json.dumps(
                    {
                        "id": a.id,
                        "watchlist": a.watchlist,
                        "kind": a.kind,
                        "status": a.status,
                        "channel": a.channel,
                        "attempts": a.attempts,
                        "error": a.last_error,
                        "message_id": a.delivered_ts,
                        "article_id": a.article_id,
                        "title": art.title if art else None,
                    },
                    ensure_ascii=False,
                )
            )
        return
    table = Table()
    for col in ("id", "watchlist", "kind", "status", "attempts", "title", "error"):
        table.add_column(col, overflow="fold")
    for a in alerts:
        art = titles.get(a.article_id)
        table.add_row(
            str(a.id),
            escape(a.watchlist),
            a.kind,
            a.status,
            str(a.attempts),
            escape(art.title if art else "?"),
            escape(a.last_error),
        )
    out.print(table)


@alerts_app.command("retry")
def alerts_retry(
    watchlist: Annotated[
        str | None, typer.Option("--watchlist", help="Only this watchlist.")
    ] = None,
) -> None:
    """Put failed alerts back in the outbox; the next cycle (or `run`) sends them."""
    from crawler.store import Store

    loaded = _load()
    with Store(loaded.store_path) as store:
        n = store.retry_failed(watchlist)
    out.print(f"{n} failed alert(s) queued again")


# -- status ----------------------------------------------------------------------------------


@app.command()
def status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Source health: last attempt, last success, last error, failures, items in 24 h."""
    from crawler.store import Store

    loaded = _load()
    configured = {s.name: s for s in loaded.config.sources}
    with Store(loaded.store_path) as store:
        rows = {r["name"]: r for r in store.source_health()}
        counts = store.alert_counts()
        articles = store.count_articles()
    report = []
    for name, src in configured.items():
        r = rows.get(name, {})
        report.append(
            {
                "source": name,
                "kind": src.kind,
                "url": src.url,
                "enabled": src.enabled,
                "last_attempt": r.get("last_attempt"),
                "last_success": r.get("last_success"),
                "last_error": r.get("last_error"),
                "consecutive_failures": r.get("consecutive_failures", 0),
                "items_24h": r.get("items_24h", 0),
                "new_24h": r.get("new_24h", 0),
            }
        )
    if as_json:
        print(
            json.dumps(
                {"articles": articles, "alerts": counts, "sources": report}, ensure_ascii=False
            )
        )
        return
    out.print(f"articles: {articles}   alerts: {counts or '{}'}")
    table = Table()
    for col in ("source", "last success", "failures", "items 24h", "new 24h", "last error"):
        table.add_column(col, overflow="fold")
    for r in sorted(report, key=lambda r: (-int(r["consecutive_failures"] or 0), r["source"])):
        style = "red" if r["consecutive_failures"] else None
        table.add_row(
            escape(r["source"]),
            r["last_success"] or "never",
            str(r["consecutive_failures"]),
            str(r["items_24h"]),
            str(r["new_24h"]),
            escape(r["last_error"] or ""),
            style=style,
        )
    out.print(table)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
