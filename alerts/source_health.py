"""Source-health events: a source that starts failing, goes silent, or recovers, told to the desk.

The health of each source is assessed from the store (crawler.schedule.assess_health); when it
differs from the state last announced (kept in the store, so restarts do not repeat it), one
message goes to `alerts.source_health_channel` through the configured sink. The new state is
remembered only once the sink has taken the message, so each transition is announced at most
once when delivery works, and again at the next check when it did not.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from alerts.mrkdwn import escape_mrkdwn, strip_control, truncate_plain
from alerts.sinks.base import Sink
from crawler.config import SourceConfig
from crawler.records import Alert
from crawler.schedule import Health, assess_health
from crawler.stats import Stats
from crawler.storage import Store

log = logging.getLogger("watchdesk.health")

# The poll history read to learn a source's rhythm: two weeks covers weekly press pages.
HISTORY = timedelta(days=14)
HISTORY_POLLS = 2000
# Slack section text limit is 3000 characters; an error message never needs more than this.
REASON_CHARS = 500


@dataclass(slots=True)
class HealthEvent:
    """A change of one source's health."""

    source: str
    url: str
    before: str
    after: Health
    reason: str
    at: datetime


def source_healths(
    store: Store, sources: Iterable[SourceConfig], now: datetime | None = None
) -> dict[str, tuple[Health, str]]:
    """Every source's current health and the reason, assessed from the store."""
    now = now or datetime.now(UTC)
    result = {}
    for source in sources:
        state = store.source_state(source.name, source.url)
        polls = store.recent_polls(source.name, HISTORY_POLLS, since=now - HISTORY)
        result[source.name] = assess_health(source, state, polls, now)
    return result


# What `status` and the web page show besides the three judged states, before a source has
# proved itself: a source never polled, or polled with no success yet, is not "ok" (issue 18).
NEVER_POLLED = "never polled"
NO_SUCCESS_YET = "no success yet"
SHOWN_RANK = {"failing": 0, "silent": 1, NO_SUCCESS_YET: 2, NEVER_POLLED: 3, "ok": 4}


def shown_health(
    health: str, reason: str, last_attempt: object, last_success: object
) -> tuple[str, str]:
    """The state a person is shown for a source, and why, from its judged health.

    The judgement (`assess_health`, which the announcements follow) calls a new source ok until
    it has failed for longer than its rhythm; shown as "ok", that hides a source that has never
    worked. A failing or silent source keeps its state.
    """
    if health != "ok":
        return health, reason
    if not last_attempt:
        return NEVER_POLLED, reason or "not polled yet"
    if not last_success:
        return NO_SUCCESS_YET, reason or "no poll has succeeded yet"
    return health, reason


def render_event(event: HealthEvent) -> dict[str, Any]:
    """The Slack message (text + blocks) for a health change; crawled text is escaped."""
    name = escape_mrkdwn(strip_control(event.source))
    reason = escape_mrkdwn(truncate_plain(strip_control(event.reason), REASON_CHARS))
    url = escape_mrkdwn(strip_control(event.url))
    if event.after == "ok":
        head = f":white_check_mark: Source *{name}* recovered (was {event.before})"
        plain = f"Source {name} recovered (was {event.before})"
    elif event.after == "failing":
        head = f":warning: Source *{name}* is failing: {reason}"
        plain = f"Source {name} is failing: {reason}"
    else:
        head = f":mute: Source *{name}* has gone silent: {reason}"
        plain = f"Source {name} has gone silent: {reason}"
    return {
        # the notification text is mrkdwn too: it gets the same escaping as the blocks
        "text": plain,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": head}},
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"{url} · `watchdesk status`"}],
            },
        ],
    }


class SourceHealthNotifier:
    """Detects health transitions from the store and sends each once through `sink`."""

    def __init__(self, store: Store, sink: Sink, channel: str, stats: Stats | None = None) -> None:
        self.store = store
        self.sink = sink
        self.channel = channel
        self.stats = stats or Stats()

    def transitions(
        self, sources: Iterable[SourceConfig], now: datetime | None = None
    ) -> list[HealthEvent]:
        """The sources whose health differs from what was last announced."""
        now = now or datetime.now(UTC)
        events = []
        by_name = {s.name: s for s in sources}
        for name, (health, reason) in source_healths(self.store, by_name.values(), now).items():
            state = self.store.source_state(name, by_name[name].url)
            if state.last_attempt is None or health == state.health:
                continue
            events.append(HealthEvent(name, by_name[name].url, state.health, health, reason, now))
        return events

    def check(self, sources: Iterable[SourceConfig], now: datetime | None = None) -> int:
        """Announce every transition; returns how many were delivered."""
        sent = 0
        for event in self.transitions(sources, now):
            alert = Alert(
                watchlist="source-health",
                article_id=f"source:{event.source}",
                channel=self.channel,
                kind="source_health",
                created=event.at,
            )
            result = self.sink.deliver(alert, render_event(event))
            if not result.ok:
                self.stats.inc("source_health/failed")
                log.warning(
                    "source-health message not delivered source=%s error=%s",
                    event.source,
                    result.error,
                )
                continue
            self.store.set_source_health(event.source, event.after, event.at)
            self.stats.inc(f"source_health/{event.after}")
            log.info("source health source=%s %s -> %s", event.source, event.before, event.after)
            sent += 1
        return sent
