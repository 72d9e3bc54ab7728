"""The outbox sender: delivers stored alerts through a sink, in order, with retries.

Alerts are written to the store with their article (one transaction); this module only reads
them back, renders them, sends them and records the outcome. A failed send is retried with
backoff (honouring the sink's Retry-After); a rate limit or an outage stops the batch, so that
alerts arrive in the order their stories were found once the sink is back.

Exactly once: each alert is marked `sending` (committed) before the sink is called, and the
mark is cleared when the outcome is recorded. A mark found at the next attempt (the process was
killed mid-send, or the answer was lost) means the message may already be there: the sink is
asked first (`Reconcilable.find_delivered`) and the alert is sent again only if it is not.
Sinks that cannot be asked (webhook, terminal) deliver at least once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from alerts.digest import digest_due
from alerts.digest import period_label as digest_period
from alerts.message import render_copy, render_digest, render_story
from alerts.sinks.base import DeliveryResult, ReconcileError, Sink
from alerts.watchlist import Watchlist, WatchlistSet
from crawler.backoff import exponential_backoff
from crawler.dates import utcnow
from crawler.records import Alert, MatchedTerm
from crawler.stats import Stats
from crawler.storage import Store

log = logging.getLogger("watchdesk.alerts")

# Backoff for transient failures: 30 s doubling up to 30 min. Slack outages are usually
# minutes long (status.slack.com history); 30 min keeps a long outage from hammering it while
# still delivering within half an hour of its return.
_BACKOFF_START = 30.0
_BACKOFF_CAP = 1800.0


@dataclass
class DeliveryReport:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    waiting: int = 0
    errors: list[str] = field(default_factory=list)


def backoff_seconds(attempts: int, retry_after: float | None = None) -> float:
    if retry_after is not None and retry_after > 0:
        return min(retry_after, _BACKOFF_CAP)
    return exponential_backoff(_BACKOFF_START, attempts, _BACKOFF_CAP)


def _terms(alert: Alert) -> list[MatchedTerm]:
    return [MatchedTerm(*t) for t in alert.payload.get("terms", [])]


class Outbox:
    """Sends due alerts; safe to call repeatedly (from the scheduler or after each cycle)."""

    def __init__(
        self,
        store: Store,
        sink: Sink,
        watchlists: WatchlistSet,
        stats: Stats | None = None,
        clock: Callable[[], datetime] = utcnow,
        max_attempts: int = 50,
    ) -> None:
        self.store = store
        self.sink = sink
        self.watchlists = watchlists
        self.stats = stats or Stats()
        self.clock = clock
        self.max_attempts = max_attempts
        # Set by a rate limit: no request at all before then (Slack's Retry-After applies to
        # the method, not to the one message), so later alerts do not hit the limit again.
        self.paused_until: datetime | None = None
        # Set when the process is stopping: the send in progress completes and is recorded,
        # the rest stay pending for the next start (graceful shutdown, issue #9).
        self.stopping = threading.Event()
        self._last_retry_after: float | None = None
        self._digest_failures: dict[str, tuple[int, datetime]] = {}  # name -> (failures, retry at)
        self._reconcile_warned: set[str] = set()

    def _watchlist(self, name: str) -> Watchlist | None:
        return self.watchlists.by_name(name)

    def deliver_due(self, limit: int = 200) -> DeliveryReport:
        """Send every due alert, oldest first; stop at the first transient failure.

        Within a channel, an alert never overtakes an older one that is waiting for a retry
        (`Store.due_alerts`); after a rate limit nothing is sent before its Retry-After.
        """
        report = DeliveryReport()
        now = self.clock()
        if self.paused_until is not None and now < self.paused_until:
            return report
        self.paused_until = None
        for alert in self.store.due_alerts(now, limit):
            if self.stopping.is_set():
                break
            outcome = self._deliver_one(alert)
            if outcome == "delivered":
                report.delivered += 1
            elif outcome == "failed":
                report.failed += 1
            elif outcome == "waiting":
                report.waiting += 1
            else:
                report.retrying += 1
                report.errors.append(outcome)
                # Later alerts would fail the same way, and sending them now would break the order.
                break
        return report

    def _deliver_one(self, alert: Alert) -> str:
        assert alert.id is not None
        article = self.store.get_article(alert.article_id)
        watchlist = self._watchlist(alert.watchlist)
        if article is None or watchlist is None:
            why = "article missing" if article is None else "watchlist no longer configured"
            self.store.mark_failed(alert.id, why)
            self.stats.inc("alert/failed/orphan")
            return "failed"
        if alert.kind == "copy":
            story = self.store.story_alert(alert.watchlist, alert.cluster_id or "")
            if story is None or story.status == "failed":
                self.store.mark_failed(alert.id, "the story's first alert was not delivered")
                self.stats.inc("alert/failed/no_story")
                return "failed"
            if story.status != "delivered":
                return "waiting"
            alert.thread_ts = story.delivered_ts
            self.store.set_thread(alert.id, story.delivered_ts)
        try:
            if alert.kind == "copy":
                message = render_copy(alert, article, watchlist)
            else:
                message = render_story(alert, article, watchlist, _terms(alert))
        except Exception as exc:  # a bug meeting odd data must not block the queue behind it
            log.exception("alert render failed watchlist=%s id=%s", alert.watchlist, alert.id)
            self.store.mark_failed(alert.id, f"render failed: {type(exc).__name__}")
            self.stats.inc("alert/failed/render")
            return "failed"
        if not alert.channel:
            alert.channel = watchlist.channel
        if alert.sending_at is not None:
            try:
                found = self.find_delivered(alert)
            except ReconcileError as exc:
                if alert.attempts + 1 < self.max_attempts:
                    failed = DeliveryResult(False, error=exc.reason, retry_after=exc.retry_after)
                    return self._retry(alert, failed, keep_mark=True)
                found = None  # asked for long enough: sending again beats never sending
            if found:
                self.store.mark_delivered(alert.id, found, self.clock())
                self.stats.inc(f"alert/reconciled/{self.sink.name}")
                return "delivered"
        # Wall clock, not self.clock: the sink compares it with its own clock (Slack's ts).
        self.store.mark_sending([alert.id], utcnow())
        result = self.sink.deliver(alert, message)
        if result.ok:
            self.store.mark_delivered(alert.id, result.message_id, self.clock())
            self.stats.inc(f"alert/sent/{self.sink.name}")
            return "delivered"
        if result.permanent or alert.attempts + 1 >= self.max_attempts:
            self.store.mark_failed(alert.id, result.error)
            self.stats.inc(f"alert/failed/{self.sink.name}")
            log.warning(
                "alert failed watchlist=%s id=%s error=%s", alert.watchlist, alert.id, result.error
            )
            return "failed"
        return self._retry(alert, result, keep_mark=result.maybe_sent)

    def _retry(self, alert: Alert, result: DeliveryResult, keep_mark: bool) -> str:
        assert alert.id is not None
        delay = backoff_seconds(alert.attempts, result.retry_after)
        retry_at = self.clock() + timedelta(seconds=delay)
        if result.retry_after is not None:
            self.paused_until = retry_at
        self.store.mark_retry(alert.id, result.error, retry_at, maybe_sent=keep_mark)
        self.stats.inc(f"alert/retry/{self.sink.name}")
        log.info(
            "alert retry watchlist=%s id=%s in=%.0fs error=%s",
            alert.watchlist,
            alert.id,
            delay,
            result.error,
        )
        return result.error or "retry"

    def find_delivered(self, alert: Alert) -> str | None:
        """The message id of `alert` if its last, unrecorded send reached the sink; None when
        it did not, or when the sink cannot tell (it is then sent again, and the log says so).
        Raises ReconcileError when the sink should be asked again later."""
        finder = getattr(self.sink, "find_delivered", None)
        if finder is None:
            log.info(
                "alert may have been sent already watchlist=%s id=%s: sending again "
                "(the %s sink cannot be checked: at-least-once)",
                alert.watchlist,
                alert.id,
                self.sink.name,
            )
            return None
        try:
            found: str | None = finder(alert)
        except ReconcileError as exc:
            if exc.retryable:
                raise
            if exc.reason not in self._reconcile_warned:  # once per cause, not per alert
                self._reconcile_warned.add(exc.reason)
                log.warning(
                    "cannot check whether alerts interrupted mid-send reached %s (%s): "
                    "sending them again, which may post duplicates",
                    self.sink.name,
                    exc.reason,
                )
            return None
        if found:
            log.info(
                "alert found already delivered watchlist=%s id=%s message=%s",
                alert.watchlist,
                alert.id,
                found,
            )
        return found

    def send_due_digests(self) -> list[str]:
        """Post the digest of every digest watchlist whose scheduled time has come (by the
        outbox clock); returns the names sent. Safe to call often: see `alerts.digest`."""
        sent: list[str] = []
        now = self.clock()
        if self.paused_until is not None and now < self.paused_until:
            return sent
        for watchlist in self.watchlists.watchlists:
            failures, retry_at = self._digest_failures.get(watchlist.name, (0, now))
            if now < retry_at:
                continue  # backing off after a failed post
            fire = digest_due(self.store, watchlist, now)
            if fire is None:
                continue
            if self.send_digest(watchlist, digest_period(watchlist, fire)):
                sent.append(watchlist.name)
                self._digest_failures.pop(watchlist.name, None)
            else:
                wait = backoff_seconds(failures, self._last_retry_after)
                self._digest_failures[watchlist.name] = (
                    failures + 1,
                    now + timedelta(seconds=wait),
                )
        return sent

    def send_digest(self, watchlist: Watchlist, period_label: str = "") -> bool:
        """Post one digest of the watchlist's held matches; False when there was nothing to send
        or the sink failed (the items stay held and go in the next digest)."""
        items = self.store.held_digest_items(watchlist.name)
        if not items:
            return False
        in_flight = [i for i in items if i.sending_at is not None]
        if in_flight:  # the last digest's send was interrupted: did it arrive?
            try:
                found = self.find_delivered(_digest_alert(watchlist, in_flight))
            except ReconcileError as exc:
                self._last_retry_after = exc.retry_after
                log.warning("digest check failed watchlist=%s error=%s", watchlist.name, exc)
                return False
            if found:
                ids = [i.id for i in in_flight if i.id is not None]
                self.store.release_digest(watchlist.name, ids, found, self.clock())
                self.stats.inc(f"digest/reconciled/{self.sink.name}")
                return True
        stories = []
        for item in items:
            article = self.store.get_article(item.article_id)
            if article is not None:
                stories.append((article, _terms(item)))
        message = render_digest(watchlist, stories, period_label)
        ids = [i.id for i in items if i.id is not None]
        self.store.mark_sending(ids, utcnow())
        result = self.sink.deliver(_digest_alert(watchlist, items), message)
        self._last_retry_after = result.retry_after
        if not result.ok:
            if not result.maybe_sent:
                self.store.mark_sending(ids, None)
            if result.retry_after is not None:
                self.paused_until = self.clock() + timedelta(
                    seconds=backoff_seconds(0, result.retry_after)
                )
            self.stats.inc(f"digest/failed/{self.sink.name}")
            log.warning("digest failed watchlist=%s error=%s", watchlist.name, result.error)
            return False
        self.store.release_digest(watchlist.name, ids, result.message_id, self.clock())
        self.stats.inc(f"digest/sent/{self.sink.name}")
        return True


def _digest_alert(watchlist: Watchlist, items: list[Alert]) -> Alert:
    """The alert a digest is sent as: it takes the id of its first item (an item is never sent
    on its own), so an interrupted digest can be found again by that id."""
    return Alert(
        watchlist=watchlist.name,
        article_id="",
        channel=watchlist.channel,
        kind="digest",
        id=items[0].id,
        sending_at=max((i.sending_at for i in items if i.sending_at), default=None),
    )
