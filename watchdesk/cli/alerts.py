"""The `alerts` commands: inspect and retry the outbox."""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import datetime
from typing import Annotated, NoReturn

import typer
from rich.markup import escape
from rich.table import Table

from alerts.mrkdwn import strip_control
from watchdesk.cli.app import _load, alerts_app, err, out


@alerts_app.command("list")
def alerts_list(
    status: Annotated[
        str | None, typer.Option("--status", help="pending, held, failed or delivered")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n")] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show the outbox: pending, delivered and failed alerts, newest first."""
    from crawler.records import ALERT_STATUSES
    from crawler.storage import Store

    if status is not None and status not in ALERT_STATUSES:
        _refuse("--status", status, ALERT_STATUSES)
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
                        "created": _iso(a.created),
                        "last_attempt": _iso(a.last_attempt),
                        "next_attempt": _iso(a.next_attempt) if a.status == "pending" else None,
                        "delivered": _iso(a.delivered_at),
                        "message_id": a.delivered_ts,
                        "article_id": a.article_id,
                        "title": art.title if art else None,
                    },
                    ensure_ascii=False,
                )
            )
        return
    table = Table()
    for col in ("id", "watchlist → channel", "status", "tries", "times (UTC)", "title"):
        table.add_column(col, overflow="fold")
    table.add_column("error", overflow="fold", min_width=16)  # Slack's codes run to 15
    for a in alerts:
        art = titles.get(a.article_id)
        times = [f"created {_short(a.created)}"]
        if a.last_attempt:
            times.append(f"last try {_short(a.last_attempt)}")
        if a.status == "pending" and a.next_attempt:
            times.append(f"next try {_short(a.next_attempt)}")
        if a.delivered_at:
            times.append(f"delivered {_short(a.delivered_at)}")
        table.add_row(
            str(a.id),
            f"{escape(a.watchlist)} → {escape(a.channel or '(default)')}",
            f"{a.status} {a.kind}",
            str(a.attempts),
            "\n".join(times),
            escape(strip_control(art.title if art else "?")),
            escape(strip_control(a.last_error)),
        )
    out.print(table)


def _refuse(option: str, value: str, known: Collection[str]) -> NoReturn:
    """Exit 2 on a value that can select nothing, naming the known ones (a typo is not "0")."""
    from alerts.lint import suggestion

    listed = ", ".join(known) if known else "none yet"
    err.print(
        f"error: {option} {escape(value)!r} is unknown{escape(suggestion(value, known))}; "
        f"known: {escape(listed)}"
    )
    raise typer.Exit(2)


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when else None


def _short(when: datetime | None) -> str:
    return f"{when:%m-%d %H:%M:%S}" if when else ""


@alerts_app.command("retry")
def alerts_retry(
    watchlist: Annotated[
        str | None, typer.Option("--watchlist", help="Only this watchlist.")
    ] = None,
) -> None:
    """Send again: failed alerts back in the outbox, backing-off ones due now, and deliveries
    stopped by a permanent failure (bad token, unknown channel) resumed. The next cycle (or
    `run`) sends them; run `watchdesk slack check` first to see the cause is fixed."""
    from crawler.storage import Store

    loaded = _load()
    with Store(loaded.store_path) as store:
        if watchlist is not None:
            # a watchlist removed from the file may still have failed alerts to send
            known = {w.name for w in loaded.watchlists.watchlists} | store.outbox_watchlists()
            if watchlist not in known:
                _refuse("--watchlist", watchlist, sorted(known))
        stops = store.sink_stops()
        failed, waiting = store.requeue_alerts(watchlist)
    out.print(f"{failed} failed alert(s) queued again, {waiting} backing-off alert(s) due now")
    for stop in stops:
        where = "all deliveries" if stop.channel == "*" else f"deliveries to {stop.channel}"
        out.print(
            f"{escape(stop.sink)}: {escape(where)} resumed (were stopped: {escape(stop.error)})"
        )
