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

Pacing and waiting: posts to one channel are spaced by the sink's `channel_interval` (Slack's
one message per second per channel), across watchlists, while other channels go on. A caller
that exits afterwards (`run --once`) passes `wait`: rate limits and short backoffs that end
within it are waited out, so a one-second Retry-After costs a second, not a cron interval.

Out loud: a permanent failure that stops every message of a sink or a channel (a bad token, an
unknown channel) stops that sink or channel (stored, so `watchdesk status` shows it) with one
ERROR line saying what to do; its alerts stay pending until `watchdesk alerts retry`. When a
send succeeds after failures, every pending alert becomes due at once: the sink is back.

One message per story per channel: the story alerts of several watchlists for one story and
one channel go out as one message naming them all; a watchlist matching the story after it was
posted there gets a threaded reply under it. Digests the same: a story is listed once across
the watchlists whose digests go out together, and a held item whose story already reached the
channel (an instant alert, an earlier digest) is not listed again (`alerts.policy.
digest_listing`), but settled as delivered by that message and counted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from alerts.clause_counts import ClauseCounts
from alerts.digest import digest_due
from alerts.digest import period_label as digest_period
from alerts.message import (
    MAX_TOTAL_BLOCK_TEXT,
    PRECISION_WINDOW,
    render_also_matched,
    render_copy,
    render_digest_parts,
    render_story,
)
from alerts.policy import digest_listing
from alerts.sinks.base import DeliveryResult, ReconcileError, Sink
from alerts.watchlist import Watchlist, WatchlistSet
from crawler.backoff import exponential_backoff
from crawler.dates import utcnow
from crawler.records import Alert, MatchedTerm, StoryHistory
from crawler.stats import Stats
from crawler.storage import Store

log = logging.getLogger("watchdesk.alerts")

# Backoff for transient failures: 30 s doubling up to 30 min. Slack outages are usually
# minutes long (status.slack.com history); 30 min keeps a long outage from hammering it while
# still delivering within half an hour of its return.
_BACKOFF_START = 30.0
_BACKOFF_CAP = 1800.0


# Slack's answers to a message it finds too big or malformed: a digest is split and sent again
# (https://docs.slack.dev/reference/methods/chat.postMessage, "Errors").
SPLIT_ERRORS = frozenset({"msg_blocks_too_long", "invalid_blocks", "msg_too_long"})
# Stop key of a whole sink (a bad token), beside per-channel stops.
ALL_CHANNELS = "*"
# Why a held digest item was settled without being listed (`alerts list` shows it).
ALREADY_IN_CHANNEL = "not listed: the story was already in the channel"

# What sending a digest came to: posted, nothing to post (nothing held, or every item was
# already in the channel), or failed (the items stay held and back off).
DigestOutcome = Literal["sent", "nothing", "failed", "taken"]


@dataclass
class DeliveryReport:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    waiting: int = 0
    # alerts held back because a permanent failure stopped their sink or channel
    stopped: int = 0
    errors: list[str] = field(default_factory=list)
    # the alerts this sender delivered (other senders sharing the outbox deliver the rest)
    delivered_ids: set[int] = field(default_factory=set)

    def add(self, other: DeliveryReport) -> None:
        self.delivered += other.delivered
        self.delivered_ids |= other.delivered_ids
        self.retrying += other.retrying
        self.failed += other.failed
        self.waiting += other.waiting
        self.stopped += other.stopped
        self.errors.extend(other.errors)


def backoff_seconds(attempts: int, retry_after: float | None = None) -> float:
    if retry_after is not None and retry_after > 0:
        return min(retry_after, _BACKOFF_CAP)
    return exponential_backoff(_BACKOFF_START, attempts, _BACKOFF_CAP)


def _terms(alert: Alert) -> list[MatchedTerm]:
    return [MatchedTerm(*t) for t in alert.payload.get("terms", [])]


class Outbox:
    """Sends due alerts; safe to call repeatedly (from the scheduler or after each cycle).

    `pace`: seconds between two posts to one channel; by default the sink's `channel_interval`
    (1 s for Slack, none for the others).
    """

    def __init__(
        self,
        store: Store,
        sink: Sink,
        watchlists: WatchlistSet,
        stats: Stats | None = None,
        clock: Callable[[], datetime] = utcnow,
        max_attempts: int = 50,
        pace: float | None = None,
        base_url: str = "",
    ) -> None:
        self.store = store
        self.sink = sink
        self.watchlists = watchlists
        self.stats = stats or Stats()
        self.clock = clock
        self.max_attempts = max_attempts
        self.base_url = base_url  # the web UI's public address, for "Explain" links
        self.pace = float(getattr(sink, "channel_interval", 0.0) if pace is None else pace)
        # Set by a rate limit: no request at all before then (Slack's Retry-After applies to
        # the method, not to the one message), so later alerts do not hit the limit again.
        self.paused_until: datetime | None = None
        # Set when the process is stopping: the send in progress completes and is recorded,
        # the rest stay pending for the next start (graceful shutdown, issue #9).
        self.stopping = threading.Event()
        # the digest items the last `send_due_digests` settled (delivered or listed elsewhere)
        self.released_ids: set[int] = set()
        self._last_retry_after: float | None = None
        self._digest_failures: dict[str, tuple[int, datetime]] = {}  # name -> (failures, retry at)
        self._reconcile_warned: set[str] = set()
        self._last_post: dict[str, float] = {}  # channel -> time.monotonic() of the last post
        self._failing = False  # a send failed since the last success: the next success recovers
        # how common each watchlist clause is in the archive: a story's passage is around its
        # rarest matched clause (counted per watchlist set, not per message)
        self.clause_counts = ClauseCounts(store)

    def _watchlist(self, name: str) -> Watchlist | None:
        return self.watchlists.by_name(name)

    # -- stops ----------------------------------------------------------------------------

    def stopped_channels(self) -> list[str]:
        """The channels (or ALL_CHANNELS) a permanent failure stopped for this sink."""
        return [s.channel for s in self.store.sink_stops(self.sink.name)]

    def _stop(self, alert: Alert, result: DeliveryResult) -> str:
        """A permanent failure that stops the sink or the alert's channel: the alert stays
        pending, and the stop is recorded and logged once (with the fix)."""
        assert alert.id is not None
        self.store.mark_retry(alert.id, result.error, self.clock())
        self._record_stop(alert.channel, result)
        self.stats.inc(f"alert/stopped/{self.sink.name}")
        return "stopped"

    def _record_stop(self, channel: str, result: DeliveryResult) -> None:
        channel = ALL_CHANNELS if result.stops == "sink" else channel
        if self.store.stop_sink(self.sink.name, channel, result.error, result.remedy):
            where = "all deliveries" if channel == ALL_CHANNELS else f"deliveries to {channel}"
            log.error(
                "%s stopped %s: %s. Fix: %s",
                self.sink.name,
                where,
                result.error,
                result.remedy or "see the error, then run `watchdesk alerts retry`",
            )

    # -- waiting and pacing ----------------------------------------------------------------

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.stopping.wait(seconds)

    def _wait_for_channel(self, channel: str) -> None:
        """Space posts to one channel by `pace` seconds."""
        if self.pace <= 0:
            return
        last = self._last_post.get(channel)
        if last is not None:
            self._sleep(last + self.pace - time.monotonic())

    def _ready_at(self, channel: str) -> float:
        last = self._last_post.get(channel)
        return 0.0 if last is None or self.pace <= 0 else last + self.pace

    def deliver_due(self, limit: int = 200, wait: float = 0.0) -> DeliveryReport:
        """Send every due alert, oldest first per channel, paced per channel.

        Within a channel, an alert never overtakes an older one that is waiting for a retry
        (`Store.due_alerts`); after a rate limit nothing is sent before its Retry-After. With
        `wait` > 0 (seconds), Retry-After pauses and backoffs that end within it are waited
        out (slack-sdk waits out short rate limits itself, see `SlackSink.allow_wait`), so
        that a caller about to exit delivers what it can first.
        """
        deadline = time.monotonic() + max(0.0, wait)
        allow = getattr(self.sink, "allow_wait", None)
        if allow is not None:
            allow(deadline if wait > 0 else 0.0)
        report = DeliveryReport()
        try:
            while not self.stopping.is_set():
                now = self.clock()
                if self.paused_until is not None and now < self.paused_until:
                    pause = (self.paused_until - now).total_seconds()
                    if time.monotonic() + pause > deadline:
                        break
                    self._sleep(pause)
                    continue
                self.paused_until = None
                stops = self.stopped_channels()
                if ALL_CHANNELS in stops:
                    break
                due = self.store.due_alerts(now, limit, skip_channels=stops)
                if not due:
                    later = self.store.next_attempt_at(skip_channels=stops)
                    if later is None or wait <= 0:
                        break
                    pause = max(0.0, (later - now).total_seconds())
                    if time.monotonic() + pause > deadline:
                        break
                    self._sleep(pause + 0.01)
                    continue
                batch = self._deliver_batch(due)
                report.add(batch)
                if not (batch.delivered or batch.failed or batch.stopped) and wait <= 0:
                    break
                if not (batch.delivered or batch.failed or batch.stopped or batch.retrying):
                    break  # only alerts waiting for their story: nothing more to do now
        finally:
            if allow is not None:
                allow(0.0)
        report.stopped = self._held_by_stops()
        return report

    def _held_by_stops(self) -> int:
        """How many due alerts a stopped sink or channel holds back."""
        stops = set(self.stopped_channels())
        if not stops:
            return 0
        due = self.store.due_alerts(self.clock(), 100_000)
        return sum(1 for a in due if ALL_CHANNELS in stops or a.channel in stops)

    def _deliver_batch(self, due: list[Alert]) -> DeliveryReport:
        """Deliver `due` (oldest first): the first alert whose channel is ready goes next, so
        pacing one channel does not hold up the others; stops at the first transient failure
        (later alerts would fail the same way, and sending them now would break the order)."""
        report = DeliveryReport()
        queue = list(due)
        done: set[int] = set()
        while queue and not self.stopping.is_set():
            now = time.monotonic()
            pick = next((i for i, a in enumerate(queue) if self._ready_at(a.channel) <= now), None)
            if pick is None:
                self._sleep(min(self._ready_at(a.channel) for a in queue) - now)
                continue
            alert = queue.pop(pick)
            if alert.id in done:
                continue
            outcome, handled = self._deliver_one(alert)
            done.update(handled)
            if outcome == "delivered":
                report.delivered += len(handled) or 1
                report.delivered_ids.update(handled)
                if (
                    self._failing or alert.attempts > 0
                ):  # the sink is back: whatever waited for it is due now
                    self._failing = False
                    moved = self.store.make_pending_due(self.clock())
                    if moved:
                        log.info("%s is back: %d pending alert(s) due now", self.sink.name, moved)
                        break  # fetch again, with the alerts that were backing off
            elif outcome == "failed":
                report.failed += 1
            elif outcome == "waiting":
                report.waiting += 1
            elif outcome == "taken":
                continue  # another sender is sending it
            elif outcome == "stopped":
                report.stopped += 1  # (the caller reports how many stay held, at the end)
                stops = set(self.stopped_channels())
                if ALL_CHANNELS in stops:
                    break
                queue = [a for a in queue if a.channel not in stops]
            else:
                self._failing = True
                report.retrying += 1
                report.errors.append(outcome)
                break
        return report

    def _deliver_one(self, alert: Alert) -> tuple[str, list[int]]:
        """Deliver one alert (with the other watchlists' alerts of its story to its channel);
        returns the outcome and the ids of the alerts it settled.

        The alerts are claimed first (`Store.claim_alerts`: on Postgres, several senders may
        share the outbox): one another sender holds is "taken" and left to it."""
        assert alert.id is not None
        if not self.store.claim_alerts([alert.id]):
            return "taken", []
        held = [alert.id]
        try:
            # As stored now, not as listed: a sender killed mid-post since the due list was
            # read left its `sending` mark, which says to ask the sink before posting again.
            now = self.store.alerts_by_id([alert.id]).get(alert.id)
            if now is None or now.status != "pending":
                return "taken", []
            return self._deliver_claimed(now, held)
        finally:
            self.store.release_claims(held)

    def _deliver_claimed(self, alert: Alert, held: list[int]) -> tuple[str, list[int]]:
        assert alert.id is not None
        article = self.store.get_article(alert.article_id)
        watchlist = self._watchlist(alert.watchlist)
        if article is None or watchlist is None:
            why = "article missing" if article is None else "watchlist no longer configured"
            self.store.mark_failed(alert.id, why)
            self.stats.inc("alert/failed/orphan")
            return "failed", [alert.id]
        if not alert.channel:
            alert.channel = watchlist.channel
        group = [alert]
        if alert.kind in ("story", "copy") and alert.cluster_id:
            mates = [
                a for a in self.store.pending_story_group(alert) if self._watchlist(a.watchlist)
            ]
            claimed = self.store.claim_alerts([a.id for a in mates if a.id is not None])
            held += claimed
            group += [a for a in mates if a.id in claimed]
        others = [w for a in group[1:] if (w := self._watchlist(a.watchlist)) is not None]
        if alert.kind == "copy":
            story = self.store.story_alert(alert.watchlist, alert.cluster_id or "")
            if story is None or story.status == "failed":
                self.store.mark_failed(alert.id, "the story's first alert was not delivered")
                self.stats.inc("alert/failed/no_story")
                return "failed", [alert.id]
            if story.status != "delivered":
                return "waiting", [alert.id]
            alert.thread_ts = story.thread_ts or story.delivered_ts
            self.store.set_thread(alert.id, alert.thread_ts)
        elif alert.kind == "story" and alert.cluster_id:
            # Another watchlist already posted this story to this channel: thread under it.
            posted = self.store.channel_story_message(alert.cluster_id, alert.channel)
            if posted is not None and posted.watchlist != alert.watchlist:
                alert.thread_ts = posted.thread_ts or posted.delivered_ts
                self.store.set_thread(alert.id, alert.thread_ts)
        try:
            if alert.kind == "copy":
                message = render_copy(alert, article, watchlist)
            elif alert.thread_ts:
                message = render_also_matched(article, [watchlist, *others], _terms(alert))
            else:
                message = render_story(
                    alert,
                    article,
                    watchlist,
                    _terms(alert),
                    also=others,
                    base_url=self.base_url,
                    clause_counts=self.clause_counts.counts(self.watchlists),
                )
        except Exception as exc:  # a bug meeting odd data must not block the queue behind it
            log.exception("alert render failed watchlist=%s id=%s", alert.watchlist, alert.id)
            self.store.mark_failed(alert.id, f"render failed: {type(exc).__name__}")
            self.stats.inc("alert/failed/render")
            return "failed", [alert.id]
        ids = [a.id for a in group if a.id is not None]
        if len(ids) > 1:  # one post for several alerts: the sink names them all (metadata)
            message["alert_ids"] = ids
        if alert.sending_at is not None:
            try:
                found = self.find_delivered(alert)
            except ReconcileError as exc:
                if alert.attempts + 1 < self.max_attempts:
                    failed = DeliveryResult(False, error=exc.reason, retry_after=exc.retry_after)
                    return self._retry(alert, failed, keep_mark=True), [alert.id]
                found = None  # asked for long enough: sending again beats never sending
            if found:
                for i in ids:
                    self.store.mark_delivered(i, found, self.clock())
                self.stats.inc(f"alert/reconciled/{self.sink.name}")
                return "delivered", ids
        self._wait_for_channel(alert.channel)
        # Wall clock, not self.clock: the sink compares it with its own clock (Slack's ts).
        self.store.mark_sending(ids, utcnow())
        result = self.sink.deliver(alert, message)
        self._last_post[alert.channel] = time.monotonic()
        if result.ok:
            for i in ids:
                self.store.mark_delivered(i, result.message_id, self.clock())
                if alert.thread_ts and i != alert.id:
                    self.store.set_thread(i, alert.thread_ts)
            self.stats.inc(f"alert/sent/{self.sink.name}")
            return "delivered", ids
        if len(ids) > 1 and not result.maybe_sent:
            self.store.mark_sending(ids[1:], None)  # only the head keeps a mark, if any
        if result.stops:
            self._failing = True
            return self._stop(alert, result), [alert.id]
        if result.permanent or alert.attempts + 1 >= self.max_attempts:
            self.store.mark_failed(alert.id, result.error)
            self.stats.inc(f"alert/failed/{self.sink.name}")
            log.warning(
                "alert failed watchlist=%s id=%s error=%s", alert.watchlist, alert.id, result.error
            )
            return "failed", [alert.id]
        return self._retry(alert, result, keep_mark=result.maybe_sent), [alert.id]

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
        outbox clock); returns the names sent. Digests due together for one channel go out as
        one digest (a story listed once). Safe to call often: see `alerts.digest`."""
        sent: list[str] = []
        self.released_ids = set()
        now = self.clock()
        if self.paused_until is not None and now < self.paused_until:
            return sent
        stops = set(self.stopped_channels())
        if ALL_CHANNELS in stops:
            return sent
        by_channel: dict[str, list[tuple[Watchlist, str]]] = {}
        for watchlist in self.watchlists.watchlists:
            failures, retry_at = self._digest_failures.get(watchlist.name, (0, now))
            if now < retry_at:
                continue  # backing off after a failed post
            if watchlist.channel in stops:
                continue
            fire = digest_due(self.store, watchlist, now)
            if fire is None:
                continue
            label = digest_period(watchlist, fire)
            by_channel.setdefault(watchlist.channel, []).append((watchlist, label))
        for due in by_channel.values():
            watchlists = [w for w, _ in due]
            outcome = self._send_digests(watchlists, due[0][1])
            if outcome != "failed":
                if outcome == "sent":
                    sent.extend(w.name for w in watchlists)
                for w in watchlists:
                    self._digest_failures.pop(w.name, None)
            else:
                for w in watchlists:
                    failures, _ = self._digest_failures.get(w.name, (0, now))
                    wait = backoff_seconds(failures, self._last_retry_after)
                    self._digest_failures[w.name] = (failures + 1, now + timedelta(seconds=wait))
        return sent

    def send_digest(self, watchlist: Watchlist, period_label: str = "") -> bool:
        """Post one digest of the watchlist's held matches; False when there was nothing to send
        or the sink failed (the items stay held and go in the next digest)."""
        return self._send_digests([watchlist], period_label) == "sent"

    def _send_digests(self, watchlists: Sequence[Watchlist], period_label: str) -> DigestOutcome:
        """Post the held matches of `watchlists` (one channel) as one digest, in as many
        messages as Slack's limits need ("sent" when all of it went out), less the items whose
        story is already in the channel (settled, not listed)."""
        held = {w.name: self.store.held_digest_items(w.name) for w in watchlists}
        items = [i for w in watchlists for i in held[w.name]]
        if not items:
            return "nothing"
        # Claimed as instant alerts are (`Store.claim_alerts`): a digest is one message, so
        # when another sender holds any of its items it is sending this digest, and this one
        # stays out of it whole (the items it missed go in the next digest, not in a second
        # message now).
        ids = [i.id for i in items if i.id is not None]
        claimed = self.store.claim_alerts(ids, held=True)
        try:
            if len(claimed) < len(ids):
                return "taken"
            # as stored now: the `sending` marks of a sender killed since the first read
            items = [
                i for w in watchlists for i in self.store.held_digest_items(w.name)
                if i.id in claimed
            ]  # fmt: skip
            return self._send_claimed_digest(watchlists, items, period_label)
        finally:
            self.store.release_claims(list(claimed))

    def _send_claimed_digest(
        self, watchlists: Sequence[Watchlist], items: list[Alert], period_label: str
    ) -> DigestOutcome:
        in_flight = [i for i in items if i.sending_at is not None]
        if in_flight:  # the last digest's send was interrupted: did it arrive?
            try:
                found = self.find_delivered(_digest_alert(in_flight))
            except ReconcileError as exc:
                self._last_retry_after = exc.retry_after
                log.warning(
                    "digest check failed watchlist=%s error=%s", in_flight[0].watchlist, exc
                )
                return "failed"
            if found:
                self._release(in_flight, found)
                self.stats.inc(f"digest/reconciled/{self.sink.name}")
                # that digest went out; what was held since waits for the next one
                return "sent"
        items = self._without_stories_in_channel(watchlists[0].channel, items)
        if not items:
            return "nothing"
        groups = []
        for w in watchlists:
            stories = []
            for item in (i for i in items if i.watchlist == w.name):
                article = self.store.get_article(item.article_id)
                if article is not None:
                    stories.append((article, _terms(item)))
            groups.append((w, stories))
        budget: int | None = None
        pending = list(items)
        # the desk's verdicts, for the footer's precision line per watchlist
        precision = self.store.verdict_counts(since=self.clock() - PRECISION_WINDOW)
        while pending:
            parts = render_digest_parts(
                groups,
                period_label,
                base_url=self.base_url,
                budget=budget,
                continued=len(pending) < len(items),
                precision=precision,
            )
            part = parts[0]
            wanted = set(part.article_ids)
            batch = [i for i in pending if i.article_id in wanted] or pending
            ids = [i.id for i in batch if i.id is not None]
            self.store.mark_sending(ids, utcnow())
            result = self.sink.deliver(_digest_alert(batch), part.message)
            self._last_retry_after = result.retry_after
            if result.ok:
                self._release(batch, result.message_id)
                self.stats.inc(f"digest/sent/{self.sink.name}")
                sent = {i.id for i in batch}
                pending = [i for i in pending if i.id not in sent]
                groups = [(w, [st for st in g if st[0].id not in wanted]) for w, g in groups]
                continue
            if not result.maybe_sent:
                self.store.mark_sending(ids, None)
            if result.code in SPLIT_ERRORS and len(part.article_ids) > 1:
                # Slack counts differently than documented: smaller messages, never a failure.
                budget = max(500, (budget or MAX_TOTAL_BLOCK_TEXT) // 2)
                log.info("digest too long for Slack (%s): splitting it further", result.code)
                continue
            if result.code in SPLIT_ERRORS:  # one story that Slack still refuses: plain text
                plain = {"text": part.message.get("text") or "digest"}
                fallback = self.sink.deliver(_digest_alert(batch), plain)
                if fallback.ok:
                    self._release(batch, fallback.message_id)
                    pending = [i for i in pending if i.id not in set(ids)]
                    groups = [(w, [st for st in g if st[0].id not in wanted]) for w, g in groups]
                    continue
                result = fallback
            if result.stops:
                self._record_stop(watchlists[0].channel, result)
            if result.retry_after is not None:
                self.paused_until = self.clock() + timedelta(
                    seconds=backoff_seconds(0, result.retry_after)
                )
            self.stats.inc(f"digest/failed/{self.sink.name}")
            log.warning("digest failed watchlist=%s error=%s", watchlists[0].name, result.error)
            return "failed"
        return "sent"

    def _without_stories_in_channel(self, channel: str, items: list[Alert]) -> list[Alert]:
        """The items to list: those whose story is already in `channel` are settled as
        delivered by the message it is in (`digest_listing`), and counted."""
        reached = self.store.channel_story_messages(channel, [i.cluster_id or "" for i in items])
        keep: list[Alert] = []
        for item in items:
            history = StoryHistory(in_channel=reached.get(item.cluster_id or "", ""))
            listing = digest_listing(history)
            if listing == "listed":
                keep.append(item)
                continue
            self._release([item], history.in_channel, note=ALREADY_IN_CHANNEL)
            self.stats.inc(f"digest/skipped/{listing}")
            log.info(
                "digest item not listed watchlist=%s id=%s: story already in %s (message %s)",
                item.watchlist,
                item.id,
                channel or "the default channel",
                history.in_channel,
            )
        return keep

    def _release(self, items: Sequence[Alert], message_id: str, note: str = "") -> None:
        for name in dict.fromkeys(i.watchlist for i in items):
            ids = [i.id for i in items if i.watchlist == name and i.id is not None]
            self.released_ids.update(ids)
            self.store.release_digest(name, ids, message_id, self.clock(), note=note)


def _digest_alert(items: Sequence[Alert]) -> Alert:
    """The alert a digest message is sent as: it takes the id and watchlist of its first item
    (an item is never sent on its own), so an interrupted digest can be found again by them."""
    head = items[0]
    return Alert(
        watchlist=head.watchlist,
        article_id="",
        channel=head.channel,
        kind="digest",
        id=head.id,
        sending_at=max((i.sending_at for i in items if i.sending_at), default=None),
    )
