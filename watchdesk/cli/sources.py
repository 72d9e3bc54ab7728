"""The `sources` commands: `sources check NAME` fetches one source now, storing nothing."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from watchdesk.cli.app import _load, app, err, out

sources_app = typer.Typer(help="Check configured sources.", no_args_is_help=True)
app.add_typer(sources_app, name="sources")


@sources_app.command("check")
def check(
    name: Annotated[str, typer.Argument(help="The source's name in the config.")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Fetch one source now and show the links it would yield (new, already stored, refused,
    filtered); stores nothing, fetches no article. Exit 1 when the source fails."""
    from crawler.stats import Stats
    from crawler.storage import Store
    from spiders.runner import crawl_sources, make_runner, run_in_reactor

    loaded = _load()
    source = next((s for s in loaded.config.sources if s.name == name), None)
    if source is None:
        known = ", ".join(s.name for s in loaded.config.sources) or "none"
        err.print(f"error: no source named {escape(name)!r} (configured: {escape(known)})")
        raise typer.Exit(2)
    store = Store(loaded.store_path)

    async def main() -> Any:
        return await crawl_sources(
            make_runner(loaded.config.crawl),
            loaded.config.crawl,
            [source],
            store=store,
            processor=None,
            stats=Stats(),
            dry_run=True,
        )

    try:
        spiders = run_in_reactor(main)
    finally:
        store.close()
    spider = spiders[0]
    poll = spider.polls[0]
    found = spider.tallies[source.name].discoveries
    if as_json:
        print(
            json.dumps(
                {
                    "source": name,
                    "status": poll.status,
                    "http_status": poll.http_status,
                    "error": poll.error,
                    "refused": sum(d.outcome.startswith("refused") for d in found),
                    "links": [
                        {
                            "url": d.url,
                            "outcome": d.outcome,
                            "title": d.title,
                            "published": d.published.isoformat() if d.published else None,
                        }
                        for d in found
                    ],
                },
                ensure_ascii=False,
            )
        )
    else:
        new = sum(d.outcome == "new" for d in found)
        refused = sum(d.outcome.startswith("refused") for d in found)
        out.print(
            f"{escape(name)} ({source.kind}): {poll.status}, HTTP {poll.http_status or '-'}, "
            f"{len(found)} links, {new} new, {refused} refused"
            + (f"; error: {escape(poll.error)}" if poll.error else "")
        )
        table = Table()
        for col in ("outcome", "published", "title", "url"):
            table.add_column(col, overflow="fold")
        for d in found:
            table.add_row(
                d.outcome,
                d.published.isoformat(timespec="minutes") if d.published else "",
                escape(d.title[:80]),
                escape(d.url),
            )
        out.print(table)
    if poll.status == "error":
        raise typer.Exit(1)
