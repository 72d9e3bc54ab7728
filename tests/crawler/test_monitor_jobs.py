"""The jobs `watchdesk run` schedules: a cron source waits for its time (scheduled, not
paused)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from watchdesk.service.config import load_config
from watchdesk.service.monitor import Monitor


def test_a_cron_source_is_scheduled_not_paused(tmp_path: Path) -> None:
    # found while adding the refit job: `next_run_time=None` adds an APScheduler job paused
    config = tmp_path / "watchdesk.yaml"
    config.write_text(
        "store: {path: var/wd.db}\nalerts: {sink: terminal}\nsources:\n"
        "  - {name: morning, kind: feed, url: 'http://127.0.0.1:9/feed.xml', cron: '0 8 * * *'}\n",
        encoding="utf-8",
    )
    monitor = Monitor(load_config(config))

    async def serve() -> object:
        stop = asyncio.Event()
        task = asyncio.create_task(monitor.serve(stop))
        while monitor._scheduler is None or not monitor._scheduler.running:
            await asyncio.sleep(0.01)
        job = monitor._scheduler.get_job("source:morning")
        stop.set()
        await task
        return job.next_run_time

    try:
        next_run = asyncio.run(serve())
    finally:
        monitor.close()
    assert next_run is not None
    assert next_run.hour == 8 and next_run.minute == 0  # type: ignore[attr-defined]
