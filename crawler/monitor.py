"""The monitor: wires config, store, enrichment, matching and delivery, and runs poll cycles.

Why crawls run in-process: Scrapy's `AsyncCrawlerRunner` on the asyncio reactor can run crawl
after crawl in one process (no ReactorNotRestartable), and APScheduler's `AsyncIOScheduler` runs
on that same event loop. Measured here (issue #2): about 1 s per repeated crawl with flat memory
over 50 runs, against about 2 s per cycle for a child process per crawl, which would also have
to reload the gazetteer and the watchlist automaton every time.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import signal
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from alerts.alert import Sink
from alerts.outbox import DeliveryReport, Outbox
from crawler.config import LoadedConfig, SourceConfig
from crawler.pipeline import Processor
from crawler.stats import Stats
from crawler.store import Store
from enrich.chain import EnrichContext, build_context

log = logging.getLogger("watchdesk")

# How many recent stories warm the near-duplicate index at start: syndicated copies arrive
# within days of the original; 20,000 covers weeks of a busy deployment at a few MB of memory.
STORY_INDEX_WARM = 20_000
# Outbox check interval in the long-running service: alerts wait at most this long after a
# cycle's own delivery attempt fails, unless backing off.
OUTBOX_EVERY_SECONDS = 10
BACKOFF_CAP = timedelta(hours=6)


def build_sink(loaded: LoadedConfig) -> Sink:
    """Slack when SLACK_BOT_TOKEN is set (or asked for), else the terminal; or as configured."""
    from alerts.sinks import build_sink as make

    cfg = loaded.config.alerts
    kind = cfg.sink
    if kind == "auto":
        kind = "slack" if os.environ.get("SLACK_BOT_TOKEN") else "terminal"
    if kind == "jsonl":
        return make("jsonl", path=str(loaded.resolve(cfg.jsonl_path)))
    if kind == "webhook":
        return make("webhook", url=cfg.webhook_url)
    if kind == "slack":
        return make("slack", default_channel=loaded.config.slack.default_channel)
    return make("terminal")


@dataclass
class CycleReport:
    sources: int
    duration: float
    delivery: DeliveryReport
    stats: dict[str, int]


class Monitor:
    """Everything one watchdesk process needs, built once and reused across cycles."""

    def __init__(
        self,
        loaded: LoadedConfig,
        sink: Sink | None = None,
        context: EnrichContext | None = None,
    ) -> None:
        self.loaded = loaded
        self.config = loaded.config
        self.stats = Stats()
        self.store = Store(loaded.store_path)
        watched = [e.model_dump() for e in loaded.watchlists.entities]
        self.context = context or build_context(
            watched_entities=watched,
            extra_organisations=self.config.organisations,
            stats=self.stats,
        )
        self.context.stats = self.stats
        self.context.stories.load(self.store.story_index_rows(STORY_INDEX_WARM))
        self.processor = Processor(self.store, self.context, loaded.watchlists, self.stats)
        self.sink = sink or build_sink(loaded)
        self.outbox = Outbox(
            self.store,
            self.sink,
            loaded.watchlists,
            self.stats,
            max_attempts=self.config.alerts.max_attempts,
        )
        self._runner: Any = None
        self.in_flight: set[str] = set()

    def close(self) -> None:
        self.store.close()

    @property
    def sources(self) -> list[SourceConfig]:
        return [s for s in self.config.sources if s.enabled]

    def _crawler_runner(self) -> Any:
        if self._runner is None:
            from scrapy.crawler import AsyncCrawlerRunner

            from spiders.settings import build_settings

            level = logging.getLevelName(logging.getLogger().getEffectiveLevel())
            scrapy_level = "ERROR" if level not in ("DEBUG",) else "INFO"
            self._runner = AsyncCrawlerRunner(build_settings(self.config.crawl, scrapy_level))
        return self._runner

    async def poll(self, sources: list[SourceConfig]) -> None:
        """Poll the given sources once, storing and matching everything new they link to."""
        from spiders.feed import FeedSpider

        feeds = [s for s in sources if s.kind == "feed"]
        for other in sources:
            if other.kind != "feed":
                log.warning(
                    "source=%s kind=%s is not supported yet; skipped", other.name, other.kind
                )
        if not feeds:
            return
        runner = self._crawler_runner()
        crawler = runner.create_crawler(FeedSpider)
        await runner.crawl(
            crawler,
            sources=feeds,
            store=self.store,
            processor=self.processor,
            stats=self.stats,
            allow_private=self.config.crawl.allow_private_addresses,
            max_entries=self.config.crawl.max_entries_per_feed,
            in_flight=self.in_flight,
        )

    def deliver(self) -> DeliveryReport:
        return self.outbox.deliver_due()

    async def run_cycle(self) -> CycleReport:
        """Poll every enabled source once, then deliver due alerts."""
        started = time.monotonic()
        await self.poll(self.sources)
        delivery = await asyncio.get_running_loop().run_in_executor(None, self.deliver)
        report = CycleReport(
            len(self.sources), time.monotonic() - started, delivery, self.stats.snapshot()
        )
        log.info(
            "cycle sources=%d stored=%d alerts_sent=%d duration=%.1fs",
            report.sources,
            self.stats.get("article/stored"),
            delivery.delivered,
            report.duration,
        )
        return report

    # -- the long-running service -------------------------------------------------------------

    async def serve(self, stop: asyncio.Event) -> None:
        """Run every source on its own schedule until `stop` is set."""
        from apscheduler.schedulers.asyncio import AsyncIOScheduler
        from apscheduler.triggers.cron import CronTrigger

        scheduler = AsyncIOScheduler(event_loop=asyncio.get_running_loop(), timezone="UTC")
        for source in self.sources:
            seconds = source.interval.total_seconds()
            scheduler.add_job(
                self._poll_job,
                "interval",
                args=[source],
                seconds=seconds,
                id=f"source:{source.name}",
                # 10 % of the interval (at most a minute) spreads 500 feeds over time instead
                # of firing them in the same second.
                jitter=min(60, max(1, int(seconds * 0.1))),
                max_instances=1,
                coalesce=True,
                misfire_grace_time=int(seconds),
                next_run_time=_soon(),
            )
        scheduler.add_job(
            self._deliver_job,
            "interval",
            seconds=OUTBOX_EVERY_SECONDS,
            id="outbox",
            max_instances=1,
            coalesce=True,
        )
        for wl in self.loaded.watchlists.watchlists:
            if wl.is_digest and not wl.muted:
                spec = wl.delivery
                scheduler.add_job(
                    self._digest_job,
                    CronTrigger.from_crontab(spec.digest, timezone=spec.timezone),  # type: ignore[union-attr]
                    args=[wl.name],
                    id=f"digest:{wl.name}",
                    max_instances=1,
                    coalesce=True,
                )
        scheduler.start()
        log.info(
            "watchdesk running sources=%d watchlists=%d store=%s",
            len(self.sources),
            len(self.loaded.watchlists.watchlists),
            self.loaded.store_path,
        )
        try:
            await stop.wait()
        finally:
            scheduler.shutdown(wait=False)
            log.info("watchdesk stopping")

    def backoff_until(self, source: SourceConfig) -> datetime | None:
        """When a failing source may be polled again, or None if it is healthy."""
        state = self.store.source_state(source.name, source.url)
        if not state.consecutive_failures or state.last_attempt is None:
            return None
        return state.last_attempt + source_backoff(source.interval, state.consecutive_failures)

    async def _poll_job(self, source: SourceConfig) -> None:
        until = self.backoff_until(source)
        if until is not None and until > datetime.now(UTC):
            self.stats.inc("source/backing_off")
            return
        try:
            await self.poll([source])
        except Exception:
            log.exception("poll crashed source=%s", source.name)
        await self._deliver_job()

    async def _deliver_job(self) -> None:
        try:
            await asyncio.get_running_loop().run_in_executor(None, self.deliver)
        except Exception:
            log.exception("delivery crashed")

    async def _digest_job(self, name: str) -> None:
        wl = self.loaded.watchlists.by_name(name)
        if wl is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.outbox.send_digest, wl)


def source_backoff(interval: timedelta, failures: int) -> timedelta:
    """How long a source that failed `failures` times in a row waits past its last attempt.

    Doubles with each failure from one interval, capped at 6 hours: a feed down for days is
    still tried four times a day, so it recovers on its own (feed readers that give up after
    a few errors are a common complaint), without hammering a site that is down.
    """
    if failures <= 1:
        return timedelta(0)
    cap = max(interval, BACKOFF_CAP)
    # past 2**20 intervals the cap has long been reached; keeps the multiplication small
    return min(interval * (2 ** min(failures - 1, 20)), cap)


def _soon() -> Any:
    return datetime.now(UTC) + timedelta(seconds=random.uniform(0, 2))


def run_in_reactor(main: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    """Run a coroutine on Scrapy's asyncio reactor, to completion; returns its result.

    The reactor can run once per process, which is all the CLI needs.
    """
    from scrapy.utils.reactor import install_reactor

    from spiders.settings import REACTOR

    install_reactor(REACTOR)
    from twisted.internet import reactor
    from twisted.internet.defer import Deferred

    outcome: dict[str, Any] = {}

    def start() -> None:
        task = asyncio.ensure_future(main())
        d = Deferred.fromFuture(task)

        def done(result: Any) -> None:
            outcome["result"] = result

        def failed(failure: Any) -> None:
            outcome["error"] = failure.value

        d.addCallbacks(done, failed)
        d.addBoth(lambda _: reactor.stop())  # type: ignore[attr-defined]

    reactor.callWhenRunning(start)  # type: ignore[attr-defined]
    reactor.run(installSignalHandlers=False)  # type: ignore[attr-defined]
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("result")


def install_stop_signals(stop: asyncio.Event) -> None:
    """SIGINT and SIGTERM set `stop`: the current write finishes, pending alerts stay queued."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
