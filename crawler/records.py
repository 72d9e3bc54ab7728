"""The records that cross a stage boundary, besides the article itself (`crawler.article`).

An alert is written to the outbox in the same transaction as its article; a sink only ever sees
alerts that are already safely stored. Poll records and source state are what the spiders hand
to the store about each source. Every field of these records is plain data: no stage's code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

AlertKind = Literal["story", "copy", "digest_item", "digest", "source_health"]
AlertStatus = Literal["pending", "held", "delivered", "failed"]


@dataclass(slots=True)
class MatchedTerm:
    """A query term found in the article: the words, where (title/text) and the offsets."""

    term: str
    field: str  # "title" or "text"
    start: int
    end: int


# The outbox's statuses, in the order a desk reads them (see `Alert`).
ALERT_STATUSES = ("pending", "held", "failed", "delivered")


@dataclass(slots=True)
class Alert:
    """One story for one watchlist, as kept in the outbox.

    `kind` is "story" (a new story), "copy" (a later syndicated copy, sent as a threaded reply
    to the story's message), "digest_item" (a story held for the watchlist's next digest),
    "digest" (the digest message gathering them) or "source_health" (a source started failing
    or went silent, or recovered). `status` is "pending" (due to be sent), "held" (a digest
    item waiting for its digest), "delivered" or "failed" (for good, until `alerts retry`).
    """

    watchlist: str
    article_id: str
    channel: str
    kind: AlertKind = "story"
    id: int | None = None
    cluster_id: str | None = None
    created: datetime | None = None
    status: AlertStatus = "pending"
    attempts: int = 0
    last_error: str = ""
    delivered_ts: str = ""  # Slack message ts (or another sink's message id)
    thread_ts: str = ""  # set for "copy" alerts: the ts of the story's first message
    payload: dict[str, Any] = field(default_factory=dict)  # rendered message, stored for audit
    # When the last send started, if its outcome was never recorded (a crash, a lost answer):
    # the message may be in the sink, so the outbox asks it (`Reconcilable`) before resending.
    sending_at: datetime | None = None
    # Delivery times shown by `alerts list`: the last attempt, the next one (pending alerts),
    # and when it was delivered.
    last_attempt: datetime | None = None
    next_attempt: datetime | None = None
    delivered_at: datetime | None = None


@dataclass(slots=True)
class SinkStop:
    """A sink, or one channel of it (`channel` "*" for the whole sink), stopped by a permanent
    failure (a bad token, an unknown channel) until `alerts retry`: what failed, the fix, since
    when."""

    sink: str
    channel: str
    error: str
    remedy: str
    since: datetime | None = None


@dataclass(slots=True)
class StoryMatch:
    """A watchlist that matched an article, with the terms to highlight."""

    watchlist: str
    channel: str
    terms: list[MatchedTerm] = field(default_factory=list)
    digest: bool = False


@dataclass(slots=True)
class SourceState:
    name: str
    url: str
    moved_to: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    last_attempt: datetime | None = None
    last_success: datetime | None = None
    last_new: datetime | None = None
    last_error: str | None = None
    last_status: int | None = None
    consecutive_failures: int = 0
    bozo_reported: str | None = None
    ttl_minutes: int | None = None  # the feed's own polling hint, from its last good poll
    health: str = "ok"  # last announced source health: ok, failing, silent
    health_since: datetime | None = None


@dataclass(slots=True)
class PollRecord:
    """The outcome of one poll of one source (one structured log line, one row)."""

    source: str
    status: str  # ok, not_modified, error
    http_status: int | None = None
    items: int = 0
    new: int = 0
    duration: float = 0.0
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    moved_to: str | None = None
    bozo: str | None = None
    ttl_minutes: int | None = None


@dataclass(slots=True)
class PollSummary:
    """One row of a source's poll history (what adaptive polling and health checks read)."""

    at: datetime
    status: str
    items: int
    new: int


@dataclass(slots=True)
class StoryHistory:
    """What the outbox already holds for one story (cluster) on one watchlist.

    The store reads it inside the transaction that saves an article, and `alerts.policy`
    decides from it whether a match becomes a story, a copy, a digest item or nothing; the
    outbox reads `in_channel` when it sends a digest, and the policy decides from it whether a
    held item is listed.
    """

    story: bool = False  # a top-level story alert exists
    sources: set[str] = field(default_factory=set)  # sources with any alert for this story
    released: bool = False  # any alert for this story has left the digest hold
    muted: bool = False  # the desk muted this story in the watchlist's channel (Slack button)
    paused: bool = False  # the desk paused the watchlist's instant alerts (`/watchdesk mute`)
    # the message (Slack ts) by which the story already reached the watchlist's channel: any
    # watchlist's story alert there, or a digest there that listed it; "" when it has not
    in_channel: str = ""
