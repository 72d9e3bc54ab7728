"""The `status` command: source health and the state of alert delivery."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from watchdesk.cli.app import _load, app, out


@app.command()
def status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Source health (last attempt, last success, last error, failures, items in 24 h, the links
    the address policy refused in 24 h) and delivery: ok, backing off, or stopped by a permanent
    failure (with the fix)."""
    from alerts.source_health import SHOWN_RANK, shown_health, source_healths
    from crawler.dates import utcnow
    from crawler.storage import Store

    loaded = _load()
    configured = {s.name: s for s in loaded.config.sources}
    with Store(loaded.store_path) as store:
        rows = {r["name"]: r for r in store.source_health()}
        healths = source_healths(store, configured.values())
        counts = store.alert_counts()
        articles = store.count_articles()
        refusals = store.recent_refusals(utcnow() - timedelta(hours=24))
        refused = store.refused_counts()
        stops = store.sink_stops()
        backing_off = store.backing_off_count()
        last = store.list_alerts("delivered", 1)
    report = []
    for name, src in configured.items():
        r = rows.get(name, {})
        health, reason = shown_health(*healths[name], r.get("last_attempt"), r.get("last_success"))
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
                # links (or a hop they led to: redirect, meta refresh) the address policy refused
                "refused_24h": len(refusals.get(name, [])),
                "refused": [
                    {k: x[k] for k in ("url", "hop_url", "reason", "at")}
                    for x in refusals.get(name, [])[:10]
                ],
                # links it listed that watchdesk refused (robots.txt, the address policy):
                # `sources check NAME` lists them with their reasons
                "refused_links": refused.get(name, 0),
                "label": src.label,
                # failing, or answering with nothing new for longer than its rhythm
                "health": health,
                "health_reason": reason,
            }
        )
    delivery = {
        # "stopped": a permanent failure stops deliveries until `alerts retry`; "backing off":
        # alerts wait for a retry after transient failures; else "ok"
        "state": "stopped" if stops else ("backing off" if backing_off else "ok"),
        "stops": [
            {
                "sink": s.sink,
                "channel": s.channel,
                "error": s.error,
                "fix": s.remedy,
                "since": s.since.isoformat() if s.since else None,
            }
            for s in stops
        ],
        "backing_off": backing_off,
        "last_delivered": last[0].delivered_at.isoformat()
        if last and last[0].delivered_at
        else None,
    }
    if as_json:
        print(
            json.dumps(
                {"articles": articles, "alerts": counts, "delivery": delivery, "sources": report},
                ensure_ascii=False,
            )
        )
        return
    out.print(f"articles: {articles:,}   alerts: {alert_counts_line(counts)}")
    line = f"delivery: {delivery['state']}"
    if backing_off:
        line += f", {backing_off} alert(s) backing off"
    line += f", last delivered {delivery['last_delivered'] or 'never'}"
    out.print(line, style="red" if stops else None)
    for s in stops:
        where = "all channels" if s.channel == "*" else s.channel
        out.print(
            f"  {escape(s.sink)} stopped for {escape(where)} since {s.since:%Y-%m-%d %H:%M} UTC: "
            f"{escape(s.error)}. Fix: {escape(s.remedy)}"
            if s.since
            else f"  {escape(s.sink)} stopped",
            style="red",
        )
    table = Table()
    for col in ("source", "health", "last success", "failures", "new 24h", "refused", "problem"):
        table.add_column(col, overflow="fold")
    for r in sorted(
        report,
        key=lambda r: (
            SHOWN_RANK[r["health"]],
            -int(r["consecutive_failures"] or 0),
            r["source"],
        ),
    ):
        style = {"failing": "red", "silent": "yellow", "no success yet": "yellow"}.get(r["health"])
        table.add_row(
            escape(r["source"]),
            r["health"],
            r["last_success"] or "never",
            str(r["consecutive_failures"]),
            f"{r['new_24h']}/{r['items_24h']}",
            str(r["refused_24h"]),
            escape(r["health_reason"] or r["last_error"] or ""),
            style=style,
        )
    out.print(table)


def alert_counts_line(counts: dict[str, int]) -> str:
    """`{'delivered': 11, 'failed': 1}` as people read it: "1 failed, 11 delivered"."""
    if not counts:
        return "none"
    from crawler.records import ALERT_STATUSES

    order = {s: i for i, s in enumerate(ALERT_STATUSES)}
    ranked = sorted(counts.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))
    return ", ".join(f"{n:,} {escape(status)}" for status, n in ranked)
