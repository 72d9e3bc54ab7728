"""The `alerts` commands: inspect and retry the outbox."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from alerts.mrkdwn import strip_control
from crawler.cli.app import _load, alerts_app, out


@alerts_app.command("list")
def alerts_list(
    status: Annotated[
        str | None, typer.Option("--status", help="pending, delivered, failed, held")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n")] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show the outbox: pending, delivered and failed alerts, newest first."""
    from crawler.storage import Store

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
            escape(strip_control(art.title if art else "?")),
            escape(strip_control(a.last_error)),
        )
    out.print(table)


@alerts_app.command("retry")
def alerts_retry(
    watchlist: Annotated[
        str | None, typer.Option("--watchlist", help="Only this watchlist.")
    ] = None,
) -> None:
    """Put failed alerts back in the outbox; the next cycle (or `run`) sends them."""
    from crawler.storage import Store

    loaded = _load()
    with Store(loaded.store_path) as store:
        n = store.retry_failed(watchlist)
    out.print(f"{n} failed alert(s) queued again")
