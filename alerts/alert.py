"""Alert records and the sink interface every delivery channel implements.

An alert is written to the outbox in the same transaction as its article; a sink only ever sees
alerts that are already safely stored, and reports back what happened to each one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(slots=True)
class MatchedTerm:
    """A query term found in the article: the words, where (title/text) and the offsets."""

    term: str
    field: str  # "title" or "text"
    start: int
    end: int


@dataclass(slots=True)
class Alert:
    """One story for one watchlist, as kept in the outbox.

    `kind` is "story" (a new story), "copy" (a later syndicated copy, sent as a threaded reply
    to the story's message) or "digest" (a digest message gathering several stories).
    """

    watchlist: str
    article_id: str
    channel: str
    kind: str = "story"
    id: int | None = None
    cluster_id: str | None = None
    created: datetime | None = None
    status: str = "pending"  # pending, delivered, failed
    attempts: int = 0
    last_error: str = ""
    delivered_ts: str = ""  # Slack message ts (or another sink's message id)
    thread_ts: str = ""  # set for "copy" alerts: the ts of the story's first message
    payload: dict[str, Any] = field(default_factory=dict)  # rendered message, stored for audit


@dataclass(slots=True)
class DeliveryResult:
    """What a sink says about one alert."""

    ok: bool
    message_id: str = ""  # e.g. Slack ts
    error: str = ""
    retry_after: float | None = None  # seconds; set when the sink was rate limited
    permanent: bool = False  # True when retrying cannot help (bad channel, bad token)


class Sink(Protocol):
    """A delivery channel (Slack, terminal, JSON Lines file, webhook)."""

    name: str

    def deliver(self, alert: Alert, message: dict[str, Any]) -> DeliveryResult:
        """Send one rendered message; never raises for delivery failures."""
        ...
