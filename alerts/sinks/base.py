"""The interface every delivery channel implements, and what a sink reports back.

A sink only ever sees alerts that are already safely stored in the outbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from crawler.records import Alert


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
    # For a permanent failure that no other message can get past either: "sink" (the token is
    # bad or lacks a scope: nothing can be sent) or "channel" (this channel is unknown, archived
    # or without the bot). The outbox then stops that sink or channel, not each alert
    # separately, until `alerts retry`; `remedy` says what the user has to do.
    stops: str = ""
    remedy: str = ""
    code: str = ""  # the sink's own error code (Slack's `error`), when it gave one


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
