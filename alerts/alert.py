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
    # When the last send started, if its outcome was never recorded (a crash, a lost answer):
    # the message may be in the sink, so the outbox asks it (`Reconcilable`) before resending.
    sending_at: datetime | None = None


@dataclass(slots=True)
class DeliveryResult:
    """What a sink says about one alert."""

    ok: bool
    message_id: str = ""  # e.g. Slack ts
    error: str = ""
    retry_after: float | None = None  # seconds; set when the sink was rate limited
    permanent: bool = False  # True when retrying cannot help (bad channel, bad token)
    # True when the request may have reached the sink but its answer was lost (connection
    # dropped or timed out after sending, HTTP 5xx): the outbox checks before sending again.
    maybe_sent: bool = False


class ReconcileError(Exception):
    """The sink could not tell whether an earlier send of an alert arrived.

    `retryable`: asking again later may work (outage, rate limit: the outbox waits and asks
    again); otherwise (a missing scope, nothing to ask) the outbox sends the alert again.
    """

    def __init__(self, reason: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after


class Sink(Protocol):
    """A delivery channel (Slack, terminal, JSON Lines file, webhook)."""

    name: str

    def deliver(self, alert: Alert, message: dict[str, Any]) -> DeliveryResult:
        """Send one rendered message; never raises for delivery failures."""
        ...


class Reconcilable(Protocol):
    """A sink that can say whether an alert already reached it (optional, beside `Sink`).

    The outbox marks an alert `sending` (committed) before each send; an alert still marked
    at its next attempt (the process was killed mid-send, or the answer was lost) is looked up
    with `find_delivered` before it is sent again, which makes delivery exactly-once. Sinks
    without it (webhook, terminal) get the alert again: at-least-once.
    """

    def find_delivered(self, alert: Alert) -> str | None:
        """The message id of `alert` (matched by `alert.id`, `kind` and `watchlist`) if it was
        delivered since about `alert.sending_at`, else None. Raises ReconcileError when the
        sink cannot tell."""
        ...
