"""How often to poll a source, and how long it may stay quiet before someone should look.

Pure functions over a source's recent poll history (crawler.records.PollSummary), so that the
service, `watchdesk status` and the tests all read the same rules, and a restart loses nothing:
the history is in the store.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal

from crawler.config import SourceConfig
from crawler.records import PollSummary, SourceState

# A poll that brought nothing new stretches the interval by half; one that was mostly new
# halves it. Asymmetric on purpose: a source that wakes up (breaking news) is caught within two
# polls, while a quiet one drifts from 5 minutes to 4 hours over about ten empty polls.
GROW = 1.5
SHRINK = 0.5
# "Mostly new": at least half of the items a poll saw were not stored yet.
MOSTLY_NEW = 0.5
# How many past polls adaptive polling reads: enough to walk the whole min..max range.
HISTORY = 20

# A source answering with nothing new is "silent" after this many of its usual gaps between
# new items (learnt from history), never sooner than SILENT_FLOOR nor 4 polls: weekly press
# pages and hourly wires both get a warning that means something.
SILENT_GAPS = 3
SILENT_POLLS = 4
SILENT_FLOOR = timedelta(hours=12)
# With no history to learn from, a news source that brought nothing new in a day is worth a look.
SILENT_DEFAULT = timedelta(hours=24)
# Failing: at least this many failed polls in a row (one failure is a blip) ...
FAILING_AFTER = 2
# ... and no success for this many of the source's intervals.
FAILING_INTERVALS = 2

Health = Literal["ok", "failing", "silent"]


def _clamp(value: timedelta, low: timedelta, high: timedelta) -> timedelta:
    return max(low, min(value, high))


def adaptive_interval(
    polls: Sequence[PollSummary],
    min_every: timedelta,
    max_every: timedelta,
    hint: timedelta | None = None,
) -> timedelta:
    """The next interval of an `every: auto` source, from its recent polls (oldest first).

    Starts between the bounds (their geometric mean), then for each poll: nothing new (or 304)
    -> longer, mostly new -> shorter, failures -> unchanged (failure backoff is separate).
    The feed's own hint (RSS `ttl`, `sy:updatePeriod`) raises the lower bound: a feed that says
    "refreshed hourly" is not polled every five minutes, but never beyond `max_every`.
    """
    low = min(max(min_every, hint), max_every) if hint else min_every
    seconds = math.sqrt(min_every.total_seconds() * max_every.total_seconds())
    interval = _clamp(timedelta(seconds=seconds), low, max_every)
    for poll in polls[-HISTORY:]:
        if poll.status == "not_modified" or (poll.status == "ok" and poll.new == 0):
            interval = interval * GROW
        elif poll.status == "ok" and poll.items and poll.new / poll.items >= MOSTLY_NEW:
            interval = interval * SHRINK
        interval = _clamp(interval, low, max_every)
    return interval


def next_interval(
    source: SourceConfig, polls: Sequence[PollSummary], ttl_minutes: int | None = None
) -> timedelta:
    """The interval before the source's next poll: fixed, or adaptive for `every: auto`."""
    if not source.is_adaptive:
        return source.interval
    hint = timedelta(minutes=ttl_minutes) if ttl_minutes else None
    return adaptive_interval(polls, source.min_interval, source.max_interval, hint)


def silent_after(source: SourceConfig, polls: Sequence[PollSummary]) -> timedelta:
    """How long the source may answer with nothing new before it counts as silent.

    The source's `silent_after` when set; else SILENT_GAPS times its median gap between polls
    that found something new (at least 3 such polls), else SILENT_DEFAULT; never less than
    SILENT_FLOOR (unless configured) nor SILENT_POLLS polling intervals.
    """
    if source.silent_after:
        from crawler.config import parse_interval

        return parse_interval(source.silent_after)
    fruitful = [p.at for p in polls if p.status == "ok" and p.new > 0]
    gaps = [(b - a).total_seconds() for a, b in zip(fruitful, fruitful[1:], strict=False)]
    if len(gaps) >= 2:
        learnt = timedelta(seconds=statistics.median(gaps) * SILENT_GAPS)
    else:
        learnt = SILENT_DEFAULT
    return max(learnt, SILENT_FLOOR, source.interval * SILENT_POLLS)


def assess_health(
    source: SourceConfig,
    state: SourceState,
    polls: Sequence[PollSummary],
    now: datetime,
) -> tuple[Health, str]:
    """The source's health now, and why: failing (errors for longer than its rhythm), silent
    (answering, but nothing new for longer than `silent_after`), or ok."""
    if state.last_attempt is None:
        return "ok", "not polled yet"
    if state.consecutive_failures >= FAILING_AFTER:
        since = state.last_success
        limit = source.interval * FAILING_INTERVALS
        if since is None or now - since > limit:
            return "failing", (
                f"{state.consecutive_failures} failed polls in a row"
                f" (last error: {state.last_error or 'unknown'})"
            )
    if state.last_success is not None and state.consecutive_failures == 0:
        # nothing new since the last new item, or since polling began
        first = polls[0].at if polls else state.last_success
        quiet_since = state.last_new or first
        allowed = silent_after(source, polls)
        if now - quiet_since > allowed:
            hours = (now - quiet_since).total_seconds() / 3600
            return "silent", f"nothing new for {hours:.1f} h (expected within {_human(allowed)})"
    return "ok", ""


def _human(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} d"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"
