"""The Slack sink: posts rendered messages with chat.postMessage (the only slack_sdk user).

Slack's answers are turned into `DeliveryResult`s here, at the edge: the rest of watchdesk never
sees a SlackResponse or a SlackApiError. The bot token is held by the WebClient (and privately
here, to redact it); it is never in this object's repr, in an error string or in a log line.

Every alert is posted with message metadata naming it (`watchdesk_alert`: alert id, watchlist,
kind), so that a post whose answer was lost (the process was killed while Slack handled it) can
be found again with conversations.history / conversations.replies instead of posted twice.
"""

from __future__ import annotations

import logging
import math
import re
import socket
from collections.abc import Callable, Iterator, Mapping
from http.client import HTTPException
from typing import Any, ClassVar
from urllib.error import URLError
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry import (
    ConnectionErrorRetryHandler,
    FixedValueRetryIntervalCalculator,
    HttpRequest,
    HttpResponse,
    RetryState,
)
from slack_sdk.web import SlackResponse

from alerts.sinks.base import DeliveryResult, ReconcileError
from crawler.records import Alert

log = logging.getLogger(__name__)

SLACK_BOT_TOKEN = "SLACK_BOT_TOKEN"
SLACK_API_URL = "SLACK_API_URL"

# Seconds to wait for Slack: chat.postMessage answers in well under a second; a call stuck for
# 10 s is better failed and retried by the outbox than left blocking the delivery loop.
DEFAULT_TIMEOUT = 10.0

# Errors where trying the same message again cannot help (https://docs.slack.dev/reference/
# methods/chat.postMessage, "Errors"): the channel or the token is wrong, or the message is.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_auth",
        "account_inactive",
        "not_authed",
        "token_revoked",
        "token_expired",
        "missing_scope",
        "no_permission",
        "restricted_action",
        "ekm_access_denied",
        "cannot_reply_to_message",
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "msg_blocks_too_long",
        "no_text",
        "invalid_arguments",
    }
)
# Every other error is retried: an alert marked permanent is lost, while a wrongly retried one
# only costs a few attempts before the outbox's `max_attempts` gives up on it.

# Answers after which the post may or may not have been made: Slack documents internal_error as
# "it's possible some aspect of the operation succeeded"; a 5xx says no more than that.
MAYBE_POSTED_ERRORS = frozenset({"internal_error", "fatal_error"})
# Errors of a read-back worth asking again later; any other one means "cannot tell" for good.
TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)

# The metadata event type every alert is posted with (https://docs.slack.dev/messaging/
# message-metadata); `find_delivered` looks for it.
METADATA_EVENT = "watchdesk_alert"
# Seconds around the recorded attempt time searched for an interrupted post: clock skew between
# this host and Slack, plus (after it) the client timeout during which the post could land.
RECONCILE_MARGIN = 300.0
# A read-back gives up (and the alert is posted again) after this many pages of messages:
# 20 x 200 messages within ten minutes of one post is a channel no desk reads anyway.
RECONCILE_PAGES = 20
RECONCILE_PAGE_SIZE = 200
# Conversation ids: C (public), G (private, legacy), D (direct message); names need a lookup.
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")

# Slack tokens: xoxb- (bot), xoxp- (user), xoxa-/xoxr- (app, refresh), xoxe- (rotating).
_TOKEN_SHAPE = re.compile(r"xox[a-z]-[A-Za-z0-9-]+")


class _RefusedConnectionRetryHandler(ConnectionErrorRetryHandler):
    """Retry once, after a short pause, only when the connection was refused.

    Any other error may come after Slack received the message (a reset, a timeout): retrying
    inside `deliver` could post it twice, and sleeping there would hold up the whole outbox.
    Those go back to the outbox, which schedules the retry (honouring Retry-After) and counts
    attempts. A refused connection is the one case where nothing can have been posted.
    """

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        reason = error.reason if isinstance(error, URLError) else error
        return isinstance(reason, ConnectionRefusedError)


class SlackSink:
    """Posts each alert to its channel; a copy alert goes in the story's thread.

    `base_url` is the Web API root (`https://slack.com/api/` by default; tests point it at
    `tests.slack_stub`). `default_channel` is used for an alert that has no channel (a
    watchlist without `channel:`). `deliver` never raises for a delivery failure.

    Bot token scopes: `chat:write` to post. For exactly-once delivery across crashes,
    `find_delivered` reads recent messages back: `channels:history` (public channels) and
    `groups:history` (private ones), with the bot a member of the channel; a channel given by
    name (`#desk`) rather than id (`C0123ABCD`) also needs `channels:read` / `groups:read` to
    look its id up. Without them an interrupted post is posted again (at-least-once) and the
    outbox logs why, once. Slack rate-limits conversations.history hard for commercially
    distributed apps outside the Marketplace: the outbox then waits (Retry-After) and asks again.
    """

    name: str = "slack"
    option_types: ClassVar[Mapping[str, type]] = {
        "base_url": str,
        "timeout": float,
        "default_channel": str,
    }
    required_options: ClassVar[tuple[str, ...]] = ()
    option_hints: ClassVar[Mapping[str, str]] = {
        "token": f"the bot token is read only from the {SLACK_BOT_TOKEN} environment variable",
        "channel": "each alert goes to its watchlist's `channel`, else to `default_channel`",
    }

    def __init__(
        self,
        token: str,
        base_url: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        default_channel: str = "",
    ) -> None:
        if not token:
            raise ValueError("the Slack token is empty")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self._token = token
        self.base_url = base_url or WebClient.BASE_URL
        self.timeout = timeout
        self.default_channel = default_channel
        self._channel_ids: dict[str, str] = {}  # channel name -> id, learnt from Slack
        self._client = WebClient(
            token=token,
            base_url=self.base_url,
            timeout=timeout,  # type: ignore[arg-type]  # urllib takes float seconds
            retry_handlers=[
                # 0.25 s: long enough for a restarting local proxy, short for the delivery loop.
                _RefusedConnectionRetryHandler(
                    max_retry_count=1,
                    interval_calculator=FixedValueRetryIntervalCalculator(0.25),
                )
            ],
        )

    @classmethod
    def from_options(cls, options: Mapping[str, Any], environ: Mapping[str, str]) -> SlackSink:
        """Build from config options and the environment: the token ONLY from SLACK_BOT_TOKEN;
        SLACK_API_URL, when set, overrides the `base_url` option."""
        token = environ.get(SLACK_BOT_TOKEN, "").strip()
        if not token:
            raise ValueError(f"environment variable {SLACK_BOT_TOKEN} is not set (the bot token)")
        base_url = environ.get(SLACK_API_URL, "").strip() or options.get("base_url")
        if base_url is not None:
            parts = urlsplit(base_url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                origin = SLACK_API_URL if environ.get(SLACK_API_URL) else "option 'base_url'"
                raise ValueError(f"{origin} must be an http(s) URL like https://slack.com/api/")
        timeout = float(options.get("timeout", DEFAULT_TIMEOUT))
        if timeout <= 0:
            raise ValueError("option 'timeout' must be positive")
        default_channel = str(options.get("default_channel") or "").strip()
        return cls(token, base_url, timeout=timeout, default_channel=default_channel)

    def __repr__(self) -> str:
        return (
            f"SlackSink(base_url={self.base_url!r}, timeout={self.timeout}, "
            f"default_channel={self.default_channel!r})"
        )

    __str__ = __repr__

    def deliver(self, alert: Alert, message: dict[str, Any]) -> DeliveryResult:
        """Post `message` (`text` + `blocks`) to `alert.channel` as written (else the default
        channel), in `alert.thread_ts`'s thread when set; `message_id` is the message's ts."""
        channel = alert.channel or self.default_channel
        if not channel:
            return DeliveryResult(
                ok=False, error="slack: no channel (alert or default_channel)", permanent=True
            )
        try:
            response = self._client.chat_postMessage(
                channel=channel,
                text=message.get("text") or "",
                blocks=message.get("blocks") or None,
                thread_ts=alert.thread_ts or None,
                # The alert already shows title, snippet and places; a link preview would
                # double its height and fetch the (possibly hostile) page from Slack's side.
                unfurl_links=False,
                unfurl_media=False,
                metadata=_metadata(alert),
            )
        except SlackApiError as exc:
            return self._api_error(exc.response)
        except (OSError, HTTPException) as exc:  # refused, reset, dropped, timed out, DNS
            return DeliveryResult(
                ok=False,
                error=self._redact(f"slack: {_describe(exc)}"),
                maybe_sent=_maybe_sent(exc),
            )
        except SlackClientError as exc:  # e.g. SlackRequestError for a bad base URL: config
            return DeliveryResult(
                ok=False, error=self._redact(f"slack: {type(exc).__name__}: {exc}"), permanent=True
            )
        if isinstance(response.get("channel"), str) and response["channel"] != channel:
            self._channel_ids[channel] = response["channel"]
        return DeliveryResult(ok=True, message_id=str(response.get("ts") or ""))

    def find_delivered(self, alert: Alert) -> str | None:
        """The ts of the message posted for `alert` (found by its metadata) around
        `alert.sending_at`, in its channel or, for a copy, in the story's thread; None if
        there is none. Raises ReconcileError when Slack cannot be asked (see the class doc)."""
        if alert.id is None or alert.sending_at is None:
            return None  # never marked as sent, so never posted with an id to look for
        channel = self._channel_id(alert.channel or self.default_channel)
        since = alert.sending_at.timestamp()
        args: dict[str, Any] = {
            "channel": channel,
            "oldest": f"{since - RECONCILE_MARGIN:.6f}",
            "latest": f"{since + self.timeout + RECONCILE_MARGIN:.6f}",
            "inclusive": True,
            "include_all_metadata": True,
            "limit": RECONCILE_PAGE_SIZE,
        }
        read: Callable[..., Any] = self._client.conversations_history
        if alert.thread_ts:  # a reply is only listed in its thread
            read, args["ts"] = self._client.conversations_replies, alert.thread_ts
        for page in self._pages(read, args):
            for message in page.get("messages") or []:
                if _is_alert_message(message, alert):
                    return str(message.get("ts") or "") or None
        return None

    def _channel_id(self, channel: str) -> str:
        """The id conversations.history needs for a channel given by id or by name."""
        if not channel:
            raise ReconcileError("slack: no channel to read back", retryable=False)
        if _CHANNEL_ID.match(channel):
            return channel
        if channel in self._channel_ids:
            return self._channel_ids[channel]
        name = channel.removeprefix("#")
        args = {"types": "public_channel,private_channel", "exclude_archived": True, "limit": 1000}
        for page in self._pages(self._client.conversations_list, args):
            for conversation in page.get("channels") or []:
                if conversation.get("name") == name and conversation.get("id"):
                    self._channel_ids[channel] = str(conversation["id"])
                    return self._channel_ids[channel]
        raise ReconcileError(f"slack: channel {channel} not found by name", retryable=False)

    def _pages(
        self, method: Callable[..., SlackResponse], args: dict[str, Any]
    ) -> Iterator[SlackResponse]:
        """Call a paginated read method, yielding each page; errors become ReconcileError."""
        cursor = None
        for _ in range(RECONCILE_PAGES):
            try:
                page = method(**args, cursor=cursor)
            except SlackApiError as exc:
                raise self._reconcile_error(exc.response) from None
            except (OSError, HTTPException) as exc:
                reason = self._redact(f"slack: {_describe(exc)}")
                raise ReconcileError(reason, retryable=True) from None
            except SlackClientError as exc:
                reason = self._redact(f"slack: {type(exc).__name__}: {exc}")
                raise ReconcileError(reason, retryable=False) from None
            yield page
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return
        raise ReconcileError(
            f"slack: more than {RECONCILE_PAGES} pages to read back", retryable=False
        )

    def _reconcile_error(self, response: SlackResponse) -> ReconcileError:
        failed = self._api_error(response)
        data = response.data if isinstance(response.data, dict) else {}
        code = str(data.get("error") or "")
        reason = failed.error
        if data.get("needed"):  # missing_scope names the scope the token lacks
            reason += f", needs scope {data['needed']}"
        retryable = response.status_code >= 500 or failed.retry_after is not None
        return ReconcileError(
            self._redact(reason),
            retryable=retryable or code in TRANSIENT_ERRORS,
            retry_after=failed.retry_after,
        )

    def check(self) -> DeliveryResult:
        """Call `auth.test`: ok when the token works (message_id is "team/user")."""
        try:
            response = self._client.auth_test()
        except SlackApiError as exc:
            return self._api_error(exc.response)
        except (OSError, HTTPException) as exc:
            return DeliveryResult(ok=False, error=self._redact(f"slack: {_describe(exc)}"))
        except SlackClientError as exc:
            return DeliveryResult(
                ok=False, error=self._redact(f"slack: {type(exc).__name__}: {exc}"), permanent=True
            )
        return DeliveryResult(ok=True, message_id=f"{response.get('team')}/{response.get('user')}")

    def _api_error(self, response: SlackResponse) -> DeliveryResult:
        status = response.status_code
        data = response.data if isinstance(response.data, dict) else {}
        code = str(data.get("error") or f"http_{status}")
        error = self._redact(f"slack: {code} (HTTP {status})")
        if status == 429 or code == "ratelimited":
            retry_after = _retry_after(response.headers)
            if retry_after is not None:
                error += f", retry after {retry_after:g}s"
            return DeliveryResult(ok=False, error=error, retry_after=retry_after)
        return DeliveryResult(
            ok=False,
            error=error,
            permanent=code in PERMANENT_ERRORS,
            maybe_sent=status >= 500 or code in MAYBE_POSTED_ERRORS,
        )

    def _redact(self, text: str) -> str:
        """Belt and braces: no error string may carry the token, whatever an exception said."""
        return _TOKEN_SHAPE.sub("[redacted]", text.replace(self._token, "[redacted]"))


def _retry_after(headers: Mapping[str, Any]) -> float | None:
    """Seconds from a Retry-After header (Slack sends whole seconds); None when absent/bad."""
    for key, value in headers.items():
        if key.lower() == "retry-after":
            if isinstance(value, list | tuple):
                value = value[0] if value else ""
            try:
                seconds = float(str(value).strip())
            except ValueError:
                return None
            return seconds if math.isfinite(seconds) and seconds >= 0 else None
    return None


def _metadata(alert: Alert) -> dict[str, Any] | None:
    """Message metadata naming the alert; None for messages the outbox does not track."""
    if alert.id is None:
        return None
    payload = {"alert_id": alert.id, "watchlist": alert.watchlist, "kind": alert.kind}
    return {"event_type": METADATA_EVENT, "event_payload": payload}


def _is_alert_message(message: Mapping[str, Any], alert: Alert) -> bool:
    metadata = message.get("metadata")
    if not isinstance(metadata, Mapping) or metadata.get("event_type") != METADATA_EVENT:
        return False
    payload = metadata.get("event_payload")
    if not isinstance(payload, Mapping):
        return False
    # str(): the id comes back as the number it was posted as, but compare leniently.
    return (
        str(payload.get("alert_id")) == str(alert.id)
        and payload.get("watchlist") == alert.watchlist
        and payload.get("kind", alert.kind) == alert.kind
    )


def _maybe_sent(exc: BaseException) -> bool:
    """False when the request cannot have reached Slack (refused, unresolvable name)."""
    reason = exc.reason if isinstance(exc, URLError) else exc
    return not isinstance(reason, ConnectionRefusedError | socket.gaierror)


def _describe(exc: BaseException) -> str:
    """A short, secret-free description of a transport error."""
    reason = exc.reason if isinstance(exc, URLError) else exc
    if isinstance(reason, TimeoutError):
        return "timed out"
    text = str(reason) or type(reason).__name__
    return f"connection error: {type(reason).__name__}: {text}"
