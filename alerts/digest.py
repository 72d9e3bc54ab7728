"""When a digest watchlist's held matches are due: its cron schedule, read against the outbox.

Stateless on purpose: a digest is due when one of its scheduled times has passed since the
later of (its oldest held match, its last digest). So a process that was down at 08:00 sends
the digest when it comes back, a match that arrives after a digest waits for the next one, and
the same rule holds after a restart; `now` comes from the caller's clock (tests control it).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from apscheduler.triggers.cron import CronTrigger

from alerts.watchlist import Digest, Watchlist
from crawler.storage import Store

_TICK = timedelta(microseconds=1)


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def next_digest_at(watchlist: Watchlist, after: datetime) -> datetime:
    """The first scheduled digest time strictly after `after` (UTC)."""
    spec = watchlist.delivery
    if not isinstance(spec, Digest):
        raise ValueError(f"watchlist {watchlist.name!r} is not a digest")
    trigger = CronTrigger.from_crontab(spec.digest, timezone=spec.timezone)
    start = _utc(after) + _TICK
    fire = trigger.get_next_fire_time(None, start)
    if fire is None:  # a five-field cron always fires again; guard the library's Optional
        raise ValueError(f"watchlist {watchlist.name!r}: digest schedule never fires")
    return _utc(fire)


def digest_anchor(store: Store, watchlist: str) -> datetime | None:
    """Since when the held matches have been waiting: the later of the oldest held match and
    the last digest sent; None when nothing is held."""
    oldest, last_sent = store.digest_times(watchlist)
    if oldest is None:
        return None
    return max(oldest, last_sent) if last_sent is not None else oldest


def digest_due(store: Store, watchlist: Watchlist, now: datetime) -> datetime | None:
    """The scheduled time the watchlist's digest became due at, or None if it is not due."""
    if not watchlist.is_digest or watchlist.muted:
        return None
    anchor = digest_anchor(store, watchlist.name)
    if anchor is None:
        return None
    fire = next_digest_at(watchlist, anchor)
    return fire if fire <= _utc(now) else None


def period_label(watchlist: Watchlist, fire: datetime) -> str:
    """The digest's date in the watchlist's time zone, e.g. "2026-11-24"."""
    from zoneinfo import ZoneInfo

    spec = watchlist.delivery
    tz = ZoneInfo(spec.timezone) if isinstance(spec, Digest) else UTC
    return fire.astimezone(tz).strftime("%Y-%m-%d")


__all__ = ["digest_anchor", "digest_due", "next_digest_at", "period_label"]
