"""The outbox sender: delivers stored alerts through a sink, in order, with retries.

Alerts are written to the store with their article (one transaction); this module only reads
them back, renders them, sends them and records the outcome. A failed send is retried with
backoff (honouring the sink's Retry-After); a rate limit or an outage stops the batch, so that
alerts arrive in the order their stories were found once the sink is back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from alerts.alert import Alert, MatchedTerm, Sink
from alerts.message import render_copy, render_digest, render_story
from alerts.watchlist import Watchlist, WatchlistSet
from crawler.stats import Stats
from crawler.store import Store, utcnow

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
    return min(_BACKOFF_START * (2 ** max(attempts, 0)), _BACKOFF_CAP)


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

    def _watchlist(self, name: str) -> Watchlist | None:
        return self.watchlists.by_name(name)

    def deliver_due(self, limit: int = 200) -> DeliveryReport:
        """Send every due alert, oldest first; stop at the first transient failure."""
        report = DeliveryReport()
        for alert in self.store.due_alerts(self.clock(), limit):
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
            message = render_copy(alert, article, watchlist)
        else:
            message = render_story(alert, article, watchlist, _terms(alert))
        if not alert.channel:
            alert.channel = watchlist.channel
        result = self.sink.deliver(alert, message)
        if result.ok:
            self.store.mark_delivered(alert.id, result.message_id)
            self.stats.inc(f"alert/sent/{self.sink.name}")
            return "delivered"
        if result.permanent or alert.attempts + 1 >= self.max_attempts:
            self.store.mark_failed(alert.id, result.error)
            self.stats.inc(f"alert/failed/{self.sink.name}")
            log.warning(
                "alert failed watchlist=%s id=%s error=%s", alert.watchlist, alert.id, result.error
            )
            return "failed"
        delay = backoff_seconds(alert.attempts, result.retry_after)
        self.store.mark_retry(alert.id, result.error, self.clock() + timedelta(seconds=delay))
        self.stats.inc(f"alert/retry/{self.sink.name}")
        log.info(
            "alert retry watchlist=%s id=%s in=%.0fs error=%s",
            alert.watchlist,
            alert.id,
            delay,
            result.error,
        )
        return result.error or "retry"

    def send_digest(self, watchlist: Watchlist, period_label: str = "") -> bool:
        """Post one digest of the watchlist's held matches; False when there was nothing to send
        or the sink failed (the items stay held and go in the next digest)."""
        items = self.store.held_digest_items(watchlist.name)
        if not items:
            return False
        stories = []
        for item in items:
            article = self.store.get_article(item.article_id)
            if article is not None:
                stories.append((article, _terms(item)))
        message = render_digest(watchlist, stories, period_label)
        digest_alert = Alert(
            watchlist=watchlist.name, article_id="", channel=watchlist.channel, kind="digest"
        )
        result = self.sink.deliver(digest_alert, message)
        if not result.ok:
            self.stats.inc(f"digest/failed/{self.sink.name}")
            log.warning("digest failed watchlist=%s error=%s", watchlist.name, result.error)
            return False
        self.store.release_digest(
            watchlist.name, [i.id for i in items if i.id is not None], result.message_id
        )
        self.stats.inc(f"digest/sent/{self.sink.name}")
        return True
