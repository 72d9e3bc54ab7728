"""The `status` command: source health."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from crawler.cli.app import _load, app, out


@app.command()
def status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Source health: last attempt, last success, last error, failures, items in 24 h, and the
    links the address policy refused in 24 h."""
    from alerts.source_health import source_healths
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
                "health": healths[name][0],
                "health_reason": healths[name][1],
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
    for col in ("source", "health", "last success", "failures", "new 24h", "refused", "problem"):
        table.add_column(col, overflow="fold")
    for r in sorted(report, key=lambda r: (-int(r["consecutive_failures"] or 0), r["source"])):
        style = {"failing": "red", "silent": "yellow"}.get(r["health"])
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
