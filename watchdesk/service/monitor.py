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
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alerts.auto_relevance import AutoRelevance
from alerts.learned_relevance import Refit, desk_verdicts, load_model, model_path, refit, save_model
from alerts.outbox import DeliveryReport, Outbox
from alerts.reload import WatchlistReloader
from alerts.sinks.base import Sink
from alerts.source_health import SourceHealthNotifier
from alerts.watchlist import WatchlistSet
from crawler.backoff import exponential_backoff
from crawler.config import SourceConfig
from crawler.coordination import Coordinator
from crawler.records import PollRecord, SinkStop
from crawler.schedule import next_interval
from crawler.stats import Stats
from crawler.storage import Store
from enrich.context import EnrichContext
from spiders.runner import crawl_sources, make_runner
from watchdesk.service.config import LoadedConfig, enrich_context
from watchdesk.service.coordination import open_coordinator
from watchdesk.service.processor import Processor
from watchdesk.service.socket_mode import DeskSocket, close_desk_socket, open_desk_socket

if TYPE_CHECKING:
    from crawler.storage.retention import PruneReport

log = logging.getLogger("watchdesk")

# How many recent stories warm the near-duplicate index at start: syndicated copies arrive
# within days of the original; 20,000 covers weeks of a busy deployment at a few MB of memory.
STORY_INDEX_WARM = 20_000
# Outbox check interval in the long-running service: alerts wait at most this long after a
# cycle's own delivery attempt fails, unless backing off.
OUTBOX_EVERY_SECONDS = 10
BACKOFF_CAP = timedelta(hours=6)
# Silence is checked for every source this often (failures are checked after each poll); a
# source counts as silent after hours, so five minutes late is on time.
HEALTH_EVERY_SECONDS = 300
# How long a stopping monitor waits for the alert being sent: above the Slack sink's 10 s
# request timeout would break the "stops within 10 s" promise, so a little under it.
SEND_WAIT_SECONDS = 8.0
# With several processes (crawler/coordination.py): the outbox sender holds its lease across
# a few ticks, so a lost tick does not hand sending to another process mid-stream; `run
# --once` waits this long at the end for the lease, so its alerts go out before it exits.
OUTBOX_LEASE_SECONDS = 3 * OUTBOX_EVERY_SECONDS
ONCE_LEASE_WAIT_SECONDS = 60.0


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
    # sources whose poll failed this cycle, and the sink stops in force after delivery
    sources_failed: int = 0
    stops: list[SinkStop] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """`run --once`'s exit status: 4 when every source failed, 3 when a permanent failure
        stopped deliveries (a bad token, an unknown channel), else 0."""
        if self.sources and self.sources_failed >= self.sources:
            return 4
        if self.stops:
            return 3
        return 0


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
        # Rows stored before their source had a label get it from the config where the search
        # archive is opened: the embedded one in `open_archive`, which re-reads them into its
        # index; with Elasticsearch here, sent again on the next sync (below). Labelling them
        # here for the embedded index would leave its entries stale.
        labelled: list[int] = []
        if self.config.store.elasticsearch is not None:
            labelled = self.store.backfill_labels(self.config.source_labels())
        self.context = context or enrich_context(loaded, self.stats)
        self.context.stats = self.stats
        self.context.stories.load(self.store.story_index_rows(STORY_INDEX_WARM))
        alerts = self.config.alerts
        self.processor = Processor(
            self.store,
            self.context,
            loaded.watchlists,
            self.stats,
            max_age=alerts.max_age_delta,
            seed_first_poll=alerts.first_poll == "seed",
        )
        self.sink = sink or build_sink(loaded)
        self.outbox = Outbox(
            self.store,
            self.sink,
            loaded.watchlists,
            self.stats,
            max_attempts=self.config.alerts.max_attempts,
            base_url=self.config.web.base_url,
        )
        self._runner: Any = None
        # claims on articles being fetched and leases on source polls and the outbox: in this
        # process, or shared with other `watchdesk run` processes through Redis
        self.coordinator: Coordinator = open_coordinator(self.config.crawl.redis_namespace)
        self.health = build_health_notifier(loaded, self.store, self.sink, self.stats)
        self._scheduler: Any = None
        self._intervals: dict[str, timedelta] = {}
        # One sender at a time: every poll job and the outbox job deliver from executor threads,
        # and two threads reading the same pending alert would post it twice (found by
        # tests/reliability/test_crash.py). `close` takes it too, so a send in progress is
        # recorded before the store closes, instead of being sent again after a restart.
        self._send_lock = threading.Lock()
        self.reloader = WatchlistReloader.for_config(
            loaded, aliases_for=lambda _: self.context.entities.ids_for_name
        )
        self.index_sync = build_index_sync(loaded, self.store)
        if labelled and self.index_sync is not None:
            self.index_sync.resend(labelled, "label set from the config")
        self._index_error: str | None = None
        if self.config.alerts.matcher == "percolator":
            self._use_percolator(loaded.watchlists)
        # `min_relevance: auto` floors, in force before the first poll matches anything
        self.auto_relevance = AutoRelevance(self.store)
        self.refresh_auto_relevance(force=True)
        # `relevance.learned`: the desk's model as last fitted, until the first refit
        self.learned_path = model_path(self.store.path) if self.config.relevance.learned else None
        if self.learned_path is not None:
            self._load_learned(self.learned_path)

    def close(self, wait: float = SEND_WAIT_SECONDS) -> None:
        """Close the store, after the send in progress (if any) is recorded, waiting at most
        `wait` seconds for it."""
        self.outbox.stopping.set()
        got = self._send_lock.acquire(timeout=wait)
        try:
            self.store.close()
        finally:
            if got:
                self._send_lock.release()
        # handed on at once rather than when they expire: another process takes over sending
        for name in ("outbox", "health"):
            try:
                self.coordinator.release_lease(name)
            except Exception as exc:  # Redis gone: the leases expire by themselves
                log.warning("could not release lease %s: %s", name, type(exc).__name__)
        self.coordinator.close()

    @property
    def sources(self) -> list[SourceConfig]:
        return [s for s in self.config.sources if s.enabled]

    def _crawler_runner(self) -> Any:
        if self._runner is None:
            self._runner = make_runner(self.config.crawl)
        return self._runner

    async def poll(self, sources: list[SourceConfig]) -> list[PollRecord]:
        """Poll the given sources once, storing and matching everything new they link to.

        One crawl per kind of source, run side by side; returns one PollRecord per source.
        A source whose poll lease another process holds (it is polling it) is left to it.
        """
        sources = [s for s in sources if self._lease_poll(s)]
        if not sources:
            return []
        spiders = await crawl_sources(
            self._crawler_runner(),
            self.config.crawl,
            sources,
            store=self.store,
            processor=self.processor,
            stats=self.stats,
            in_flight=self.coordinator,
        )
        polls = [p for spider in spiders for p in spider.polls]
        for source in sources:
            seeded = self.processor.seeded.pop(source.name, 0)
            if seeded:
                log.info("seeded %d items from %s, no alerts", seeded, source.name)
        if self.health is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.check_health, sources)
        return polls

    def _lease_poll(self, source: SourceConfig) -> bool:
        if not self.coordinator.shared:
            return True  # alone: no lease to take, and no interval to look up for it
        # held for most of one interval: the process that polled a source at its due time
        # keeps it until shortly before the next one, when whoever is first takes it
        seconds = max(1.0, 0.8 * self.interval_for(source).total_seconds())
        return self.coordinator.lease(f"poll:{source.name}", seconds)

    def check_health(self, sources: list[SourceConfig] | None = None) -> int:
        """Announce sources that started failing, went silent or recovered; never raises.

        With several processes, only the one holding the health lease announces."""
        if self.health is None:
            return 0
        if not self.coordinator.lease("health", 2 * HEALTH_EVERY_SECONDS):
            return 0
        try:
            return self.health.check(self.sources if sources is None else sources)
        except Exception:
            log.exception("source-health check crashed")
            return 0

    def deliver(self, lease_wait: float = 0.0, wait: float = 0.0) -> DeliveryReport:
        """Pick up watchlist edits, send due alerts and digests, ship new articles to the
        search cluster (when there is one). Runs on the outbox tick and after every poll.

        With several processes, alerts are sent by the one holding the outbox lease; the
        others leave theirs in the shared outbox for it (waiting up to `lease_wait` seconds
        to become the sender). `wait`: seconds the outbox may wait out rate limits and short
        backoffs (`run --once`, which exits afterwards)."""
        if not self.reload_watchlists():
            self.refresh_auto_relevance()
        report = DeliveryReport()
        if self._lease_outbox(lease_wait):
            with self._send_lock:
                started = datetime.now(UTC)
                report = self.outbox.deliver_due(wait=wait)
                self.outbox.send_due_digests()
                mine = report.delivered_ids | self.outbox.released_ids
                if mine:
                    # its own: another process sharing the outbox logs what it sent
                    delivered = self.store.delivered_since(started)
                    log_delivered([r for r in delivered if r["id"] in mine])
        if self.index_sync is not None:
            sync = self.index_sync.sync()
            # logged when the state changes, not on every 10 s tick of a long outage
            if sync.error != self._index_error:
                if sync.error:
                    log.warning("search index unreachable, articles queued: %s", sync.error)
                else:
                    log.info("search index reachable again")
                self._index_error = sync.error
        return report

    def _lease_outbox(self, wait: float) -> bool:
        deadline = time.monotonic() + wait
        while not self.coordinator.lease("outbox", OUTBOX_LEASE_SECONDS):
            if time.monotonic() >= deadline or self.outbox.stopping.is_set():
                return False
            time.sleep(0.2)
        return True

    def sink_channels(self) -> list[str]:
        return self.channels_of(self.loaded)

    @staticmethod
    def channels_of(loaded: LoadedConfig) -> list[str]:
        """Every channel alerts may go to: the watchlists', the default, source health's."""
        channels = [w.channel for w in loaded.watchlists.watchlists if w.channel]
        channels.append(loaded.config.slack.default_channel or "")
        channels.append(loaded.config.alerts.source_health_channel or "")
        return [c for c in dict.fromkeys(channels) if c]

    def check_sink(self) -> bool:
        """The start-up check of the sink (`watchdesk slack check` for Slack): each problem is
        logged with its fix, and the service runs on (alerts wait in the outbox); True when
        there was none or the sink has no check. Never raises."""
        check = getattr(self.sink, "check_setup", None)
        if check is None:
            return True
        try:
            findings = check(self.sink_channels())
        except Exception:
            log.exception("%s check crashed", self.sink.name)
            return False
        problems = [f for f in findings if not f.ok]
        for f in problems:
            log.error("%s check: %s: %s. Fix: %s", self.sink.name, f.subject, f.detail, f.fix)
        if not problems:
            log.info("%s check passed (%d checks)", self.sink.name, len(findings))
        return not problems

    def reload_watchlists(self) -> bool:
        """Recompile the watchlists if their file changed and is valid; True if it did.

        An invalid edit is logged with file:line by the reloader and the running set is kept.
        """
        try:
            reload = self.reloader.check()
        except Exception:
            log.exception("watchlist reload crashed; keeping the running watchlists")
            return False
        if reload is None:
            return False
        new = reload.watchlists
        if reload.entities_changed:
            from enrich.entities import EntityMatcher

            self.context.entities = EntityMatcher.load(
                watched=[e.model_dump() for e in new.entities],
                extra=self.config.organisations,
            )
        self.loaded.watchlists = new
        # the new set goes in with its floors: no tick matches an auto watchlist without one
        if not self.refresh_auto_relevance(force=True):
            self._set_watchlists(new)
        log.info("watchlists reloaded count=%d", len(new.watchlists))
        return True

    def refresh_auto_relevance(self, force: bool = False) -> bool:
        """Set the `min_relevance: auto` floors from the desk's verdicts when they changed
        (one cheap query when they did not; `force` after a reload); True when a floor
        moved. A failure is logged and the floors in force stay."""
        try:
            resolved = self.auto_relevance.refresh(self.loaded.watchlists, force=force)
        except Exception:
            log.exception("min_relevance auto: floors not recomputed; keeping those in force")
            return False
        if resolved is None:
            return False
        self._set_watchlists(resolved)
        return True

    def _load_learned(self, path: Path) -> None:
        try:
            self.processor.learned = load_model(path)
        except ValueError as exc:
            log.warning("learned relevance not loaded: %s; the hand-set score until a refit", exc)
            return
        if self.processor.learned is None:
            log.info("learned relevance: no model yet at %s; hand-set score until a refit", path)

    def refit_relevance(self) -> Refit | None:
        """Refit the desk's learned relevance from the stored verdicts (the scheduled job),
        keep it beside the store and score with it from the next article on; one INFO line
        with the fit's size and held-out figures. With too few verdicts, or when the fit
        fails, the model in force stays (logged); never raises."""
        if self.learned_path is None:
            return None
        try:
            fitted = refit(desk_verdicts(self.store))
        except ValueError as exc:
            log.warning("learned relevance not refitted: %s; keeping the model in force", exc)
            return None
        except Exception:
            log.exception("learned relevance refit crashed; keeping the model in force")
            return None
        try:
            save_model(self.learned_path, fitted)
        except OSError as exc:  # scored with it anyway; the next refit tries to save again
            log.warning("learned relevance not saved to %s: %s", self.learned_path, exc)
        self.processor.learned = fitted.model
        log.info("learned relevance refitted %s", fitted.summary())
        return fitted

    async def _refit_job(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.refit_relevance)

    def _set_watchlists(self, new: WatchlistSet) -> None:
        self.loaded.watchlists = new
        self.outbox.watchlists = new
        if self.config.alerts.matcher == "percolator":
            self._use_percolator(new)
        else:
            self.processor.set_watchlists(new)

    def _use_percolator(self, watchlists: WatchlistSet) -> None:
        """Match on the Elasticsearch cluster: the stored percolator queries are replaced by
        the current watchlists, and the processor asks the cluster for matches."""
        from alerts.percolator import PercolatorMatcher

        es = self.config.store.elasticsearch
        if es is None:
            raise ValueError("alerts.matcher: percolator needs store.elasticsearch")
        self.processor.set_watchlists(watchlists)
        matcher = PercolatorMatcher.from_config(
            es, watchlists.watchlists, aliases=self.context.entities.ids_for_name
        )
        matcher.sync_watchlists()
        self.processor.matcher = matcher  # type: ignore[assignment]

    async def run_cycle(self) -> CycleReport:
        """Poll every enabled source once, then deliver due alerts.

        The alerts backing off from an earlier run are due at once: a one-off run is started
        by cron, whose interval was their wait. Rate limits and backoffs that end within
        `alerts.once_wait` seconds are then waited out before the cycle ends."""
        started = time.monotonic()
        polls = await self.poll(self.sources)
        failed = len({p.source for p in polls if p.status == "error"})
        self.store.make_pending_due()
        delivery = await asyncio.get_running_loop().run_in_executor(
            None, self.deliver, ONCE_LEASE_WAIT_SECONDS, self.config.alerts.once_wait
        )
        # a one-off run hands the sending on: another process's alerts may still be waiting
        self.coordinator.release_lease("outbox")
        await self._prune_job()
        report = CycleReport(
            len(self.sources),
            time.monotonic() - started,
            delivery,
            self.stats.snapshot(),
            sources_failed=failed,
            stops=self.store.sink_stops(self.sink.name),
        )
        self.store.record_cycle(
            report.duration,
            report.sources,
            self.stats.get("article/stored"),
            delivery.delivered,
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

        scheduler = AsyncIOScheduler(event_loop=asyncio.get_running_loop(), timezone="UTC")
        self._scheduler = scheduler
        first_polls = first_poll_times(self.sources, self.store)
        for source in self.sources:
            interval = self.interval_for(source)
            self._intervals[source.name] = interval
            # cron sources wait for their time (the trigger's own next time: APScheduler takes
            # an explicit `next_run_time=None` as "paused", which never polls); a source never
            # polled, or overdue, is polled within seconds of the start; one polled recently
            # waits for its turn
            first = {} if source.cron else {"next_run_time": first_polls[source.name]}
            scheduler.add_job(
                self._poll_job,
                source_trigger(source, interval),
                args=[source],
                id=f"source:{source.name}",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=max(1, int(interval.total_seconds())),
                **first,
            )
        if self.health is not None:
            scheduler.add_job(
                self._health_job,
                "interval",
                seconds=HEALTH_EVERY_SECONDS,
                id="source-health",
                max_instances=1,
                coalesce=True,
            )
        scheduler.add_job(
            self._deliver_job,
            "interval",
            seconds=OUTBOX_EVERY_SECONDS,
            id="outbox",
            max_instances=1,
            coalesce=True,
            # a busy event loop starting the tick late is not a missed delivery
            misfire_grace_time=OUTBOX_EVERY_SECONDS,
        )
        # Digests go out from the outbox tick (`deliver`), by the outbox clock: a cron job of
        # its own could post the same digest as the tick from another thread, and would miss
        # a digest whose time passed while the process was down.
        if self.config.store.retention:
            # once a day is plenty for a period counted in days; the first run soon after start
            scheduler.add_job(
                self._prune_job,
                "interval",
                hours=24,
                id="retention",
                max_instances=1,
                coalesce=True,
                next_run_time=_soon(),
            )
        if self.learned_path is not None:
            # no model yet: the first fit soon after start, not a whole period later
            first = {} if self.processor.learned is not None else {"next_run_time": _soon()}
            scheduler.add_job(
                self._refit_job,
                "interval",
                seconds=self.config.relevance.refit_every_delta.total_seconds(),
                id="relevance-refit",
                max_instances=1,
                coalesce=True,
                **first,
            )
        scheduler.start()
        await asyncio.get_running_loop().run_in_executor(None, self.check_sink)
        desk_socket = self.open_desk()
        log.info(
            "watchdesk running sources=%d watchlists=%d store=%s",
            len(self.sources),
            len(self.loaded.watchlists.watchlists),
            self.store.path,  # the URL with its password masked
        )
        try:
            await stop.wait()
        finally:
            scheduler.shutdown(wait=False)
            close_desk_socket(desk_socket)
            log.info("watchdesk stopping")

    def open_desk(self, environ: Mapping[str, str] | None = None) -> DeskSocket | None:
        """The desk's Socket Mode connection when SLACK_APP_TOKEN is set (else None); a
        token Slack refuses is logged and the monitor runs on without it."""
        from alerts.desk import Desk
        from crawler.search.backends import open_archive

        archives: list[Any] = []

        def archive() -> Any:
            if not archives:
                archives.append(
                    open_archive(self.loaded, self.store, self.context.entities.ids_for_name)
                )
            return archives[0]

        def desk_for(team_id: str) -> Desk:
            return Desk(
                store=self.store,
                watchlists=lambda: self.loaded.watchlists,
                team_id=team_id,
                archive=archive,
                aliases=self.context.entities.ids_for_name,
            )

        try:
            return open_desk_socket(
                desk_for,
                os.environ if environ is None else environ,
                self.stats,
                explain_base=self.config.web.base_url,
            )
        except ValueError as exc:
            log.error("desk not started: %s", exc)
            return None

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
        if source.is_adaptive:
            self._adapt(source)
        await self._deliver_job()

    def interval_for(self, source: SourceConfig) -> timedelta:
        """The source's current polling interval (adaptive ones read their poll history)."""
        if not source.is_adaptive:
            return source.interval
        state = self.store.source_state(source.name, source.url)
        return next_interval(source, self.store.recent_polls(source.name), state.ttl_minutes)

    def _adapt(self, source: SourceConfig) -> None:
        interval = self.interval_for(source)
        before = self._intervals.get(source.name)
        if self._scheduler is None or before == interval:
            return
        self._intervals[source.name] = interval
        log.info(
            "adaptive polling source=%s every=%ds (was %ds)",
            source.name,
            interval.total_seconds(),
            before.total_seconds() if before else 0,
        )
        self._scheduler.reschedule_job(
            f"source:{source.name}", trigger=source_trigger(source, interval)
        )

    async def _health_job(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.check_health, None)

    def prune(self) -> PruneReport | None:
        """Apply `store.retention` (see crawler.storage.retention); None when it is not set."""
        from crawler.storage.retention import prune, retention_cutoff

        cutoff = retention_cutoff(self.config.store.retention)
        return prune(self.store, cutoff) if cutoff is not None else None

    async def _prune_job(self) -> None:
        if not self.config.store.retention:
            return
        try:
            report = await asyncio.get_running_loop().run_in_executor(None, self.prune)
        except Exception:  # a failed prune is retried tomorrow; it must not stop the monitor
            log.exception("retention prune failed")
            return
        if report is not None:
            self.stats.inc("retention/pruned", report.articles)

    async def _deliver_job(self) -> None:
        try:
            await asyncio.get_running_loop().run_in_executor(None, self.deliver)
        except Exception:
            log.exception("delivery crashed")


def source_trigger(source: SourceConfig, interval: timedelta) -> Any:
    """The APScheduler trigger of a source: its cron line in its time zone, or an interval.

    Jitter of 10 % of the interval (at most a minute) spreads 500 sources over time instead
    of firing them in the same second.
    """
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    jitter = min(60, max(1, int(interval.total_seconds() * 0.1)))
    if source.cron:
        trigger = CronTrigger.from_crontab(source.cron, timezone=source.timezone)
        trigger.jitter = jitter
        return trigger
    return IntervalTrigger(seconds=interval.total_seconds(), jitter=jitter, timezone="UTC")


def build_index_sync(loaded: LoadedConfig, store: Store) -> Any:
    """The shipper of stored articles to Elasticsearch, or None for the embedded index."""
    es = loaded.config.store.elasticsearch
    if es is None:
        return None
    from crawler.search.elastic import ArchiveSync, ElasticsearchArchive

    return ArchiveSync(store, ElasticsearchArchive.from_config(es))


def build_health_notifier(
    loaded: LoadedConfig, store: Store, sink: Sink, stats: Stats
) -> SourceHealthNotifier | None:
    """The source-health announcer when `alerts.source_health_channel` is set, else None."""
    channel = loaded.config.alerts.source_health_channel
    if not channel:
        return None
    return SourceHealthNotifier(store, sink, channel, stats)


def source_backoff(interval: timedelta, failures: int) -> timedelta:
    """How long a source that failed `failures` times in a row waits past its last attempt.

    Doubles with each failure from one interval, capped at 6 hours: a feed down for days is
    still tried four times a day, so it recovers on its own (feed readers that give up after
    a few errors are a common complaint), without hammering a site that is down.
    """
    if failures <= 1:
        return timedelta(0)
    cap = max(interval, BACKOFF_CAP)
    seconds = exponential_backoff(interval.total_seconds(), failures - 1, cap.total_seconds())
    return timedelta(seconds=seconds)


# A source never polled (or overdue) is polled within this many seconds of `watchdesk run`,
# spread so that a big config does not fire as one burst (benchmarks/load.py: 1,000 sources
# started within a minute kept every poll on time). 30 s: a newcomer sees the first outcomes
# well within the first minute (issue 12).
FIRST_POLL_SPREAD_SECONDS = 30.0


def first_poll_times(sources: list[SourceConfig], store: Store) -> dict[str, datetime]:
    """When each source is first polled after a start: within `FIRST_POLL_SPREAD_SECONDS` for
    one never polled or overdue (spread by a fraction of a second per source), at its next
    due time for one polled recently."""
    now = datetime.now(UTC)
    out: dict[str, datetime] = {}
    spread = min(FIRST_POLL_SPREAD_SECONDS, 0.25 * max(1, len(sources)))
    for source in sources:
        state = store.source_state(source.name, source.url)
        nxt = state.last_attempt + source.interval if state.last_attempt is not None else None
        if nxt is None or nxt <= now:
            out[source.name] = now + timedelta(seconds=random.uniform(0, spread))
        else:
            out[source.name] = nxt
    return out


def log_delivered(rows: list[dict[str, Any]]) -> None:
    """One line per delivered alert: watchlist, channel, kind, latency since publication."""
    now = datetime.now(UTC)
    for row in rows:
        published = row.get("published")
        latency = f"{(now - published).total_seconds():.0f}s" if published else "-"
        log.info(
            'alert delivered watchlist=%s channel=%s kind=%s latency=%s title="%s"',
            row["watchlist"],
            row["channel"],
            row["kind"],
            latency,
            " ".join(str(row.get("title") or "").split())[:120].replace('"', "'"),
        )


def _soon(within: float = 2.0) -> Any:
    return datetime.now(UTC) + timedelta(seconds=random.uniform(0, within))


def install_stop_signals(stop: asyncio.Event) -> None:
    """SIGINT and SIGTERM set `stop`: the current write finishes, pending alerts stay queued."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
