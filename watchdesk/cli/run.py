"""The `run` command: the monitor, once or as a service.

`run --once` exits 0 when the cycle went through, 3 when a permanent failure stopped
deliveries (a bad token, an unknown channel: the log says the fix; `watchdesk alerts retry`
once fixed), 4 when every source failed to poll (4 wins when both hold).
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import typer
from rich.markup import escape

from watchdesk.cli.app import _load, app, err, state


@app.command()
def run(
    once: Annotated[
        bool, typer.Option("--once", help="Poll every source once, deliver, exit.")
    ] = False,
) -> None:
    """Run the monitor: every source on its schedule until Ctrl-C (or once with --once)."""
    from spiders.runner import run_in_reactor
    from watchdesk.service.monitor import Monitor, install_stop_signals

    loaded = _load()
    try:
        monitor = Monitor(loaded)
        already = {s.channel for s in monitor.store.sink_stops(monitor.sink.name)}
    except ConnectionError as exc:  # a shared Redis that cannot be reached (coordination.py)
        err.print(f"error: {exc}")
        raise typer.Exit(1) from None

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
    if once and report is not None and state.log_format != "json":
        # a summary for people; with --log-format json the monitor's `cycle` line carries it
        s = report.stats

        def polls(status: str) -> int:
            return sum(s.get(f"{kind}/{status}", 0) for kind in ("feed", "sitemap", "listing"))

        err.print(
            f"cycle done: {report.sources} sources, {polls('ok')} polled ok, "
            f"{polls('not_modified')} not modified, {polls('error')} failed; "
            f"{s.get('article/stored', 0)} new articles; {report.delivery.delivered} alerts sent, "
            f"{report.delivery.retrying} retrying, {report.delivery.failed} failed "
            f"({report.duration:.1f}s)"
        )
        for stop in report.stops:
            if stop.channel in already:  # new stops were logged by the outbox as they happened
                where = "all deliveries" if stop.channel == "*" else f"deliveries to {stop.channel}"
                err.print(
                    f"ERROR {stop.sink} {where} stopped since {stop.since:%Y-%m-%d %H:%M} UTC: "
                    f"{escape(stop.error)}. Fix: {escape(stop.remedy)}"
                    if stop.since
                    else f"ERROR {stop.sink} {where} stopped: {escape(stop.error)}"
                )
        if report.exit_code == 4:
            err.print(
                f"error: all {report.sources} sources failed to poll (see `watchdesk status`)"
            )
        raise typer.Exit(report.exit_code)
