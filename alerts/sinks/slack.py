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
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
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
    RateLimitErrorRetryHandler,
    RetryState,
)
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler
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
# Of those, the ones no other message can get past either: the token is bad (every post fails)
# or the channel is (every post to it fails). The outbox stops the sink or the channel until
# `alerts retry`, instead of failing each alert separately.
TOKEN_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}
)
SCOPE_ERRORS = frozenset({"missing_scope"})
CHANNEL_ERRORS = frozenset({"channel_not_found", "not_in_channel", "is_archived"})
# Slack's documented posting pace: "chat.postMessage ... will generally allow an app to post 1
# message per second to a specific channel" (https://docs.slack.dev/apis/web-api/rate-limits,
# "Posting messages"); bursts above it meet 429s.
CHANNEL_INTERVAL = 1.0
# The bot token scopes watchdesk needs: to post, and to read its posts back (exactly-once after
# a crash, `find_delivered`) in public and private channels.
NEEDED_SCOPES = {
    "chat:write": "to post alerts",
    "channels:history": "to check, after a crash, whether a post reached a public channel",
}
PRIVATE_SCOPES = {
    "groups:history": "to check, after a crash, whether a post reached a private channel",
}
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


class _BoundedRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """slack-sdk's rate-limit handler (it sleeps Retry-After, then sends again), only while the
    wait fits in the time the caller allows (`SlackSink.allow_wait`).

    Safe for posts: a 429 means Slack did not post the message. A longer Retry-After goes back
    to the outbox, which pauses every send until then (the limit is the method's, not one
    message's) and records it.
    """

    def __init__(self, deadline: Callable[[], float]) -> None:
        super().__init__(max_retry_count=5)
        self._deadline = deadline

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        wait = _retry_after(response.headers)
        # slack-sdk sleeps int(Retry-After) plus up to one second of jitter
        needed = (wait if wait is not None else 1.0) + 1.0
        if time.monotonic() + needed > self._deadline():
            return False
        log.info("slack rate limited: waiting %.0fs (Retry-After) before sending again", needed)
        return True


@dataclass(frozen=True, slots=True)
class SlackFinding:
    """One line of `watchdesk slack check`: what was checked, whether it is fine, the fix."""

    subject: str  # "token", "scope chat:write", "channel #desk"
    ok: bool
    detail: str
    fix: str = ""


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
        # Until when (time.monotonic) slack-sdk may wait out a rate limit inside a call: set by
        # the outbox (`allow_wait`) for `run --once`; 0 in the service, whose outbox tick
        # retries instead of holding the sending thread.
        self._wait_deadline = 0.0
        self.channel_interval = CHANNEL_INTERVAL
        rate_limit = _BoundedRateLimitRetryHandler(lambda: self._wait_deadline)
        # 0.25 s: long enough for a restarting local proxy, short for the delivery loop.
        refused = _RefusedConnectionRetryHandler(
            max_retry_count=1, interval_calculator=FixedValueRetryIntervalCalculator(0.25)
        )
        # Posts: only the retries that cannot post twice (a 429 or a refused connection made no
        # message); a 5xx or a reset goes back to the outbox, which checks before resending.
        self._client = WebClient(
            token=token,
            base_url=self.base_url,
            timeout=timeout,  # type: ignore[arg-type]  # urllib takes float seconds
            retry_handlers=[rate_limit, refused],
        )
        # Read-backs after a lost answer: the outbox schedules their retries (and counts them),
        # so only the rate limit is waited out here.
        self._reader = WebClient(
            token=token,
            base_url=self.base_url,
            timeout=timeout,  # type: ignore[arg-type]
            retry_handlers=[rate_limit, refused],
        )
        # The set-up check (auth.test, conversations.info/list) changes nothing and has no
        # outbox behind it: slack-sdk's own server-error and connection-error handlers repeat
        # a call that met a 500/503 or a dropped connection, after their backoff.
        self._checker = WebClient(
            token=token,
            base_url=self.base_url,
            timeout=timeout,  # type: ignore[arg-type]
            retry_handlers=[
                RateLimitErrorRetryHandler(max_retry_count=2),
                ServerErrorRetryHandler(max_retry_count=2),
                ConnectionErrorRetryHandler(max_retry_count=2),
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

    def allow_wait(self, deadline: float) -> None:
        """Let slack-sdk wait out a Retry-After inside a call until `deadline` (monotonic)."""
        self._wait_deadline = deadline

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
                metadata=_metadata(alert, message.get("alert_ids")),
            )
        except SlackApiError as exc:
            return self._api_error(exc.response, channel)
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
        read: Callable[..., Any] = self._reader.conversations_history
        if alert.thread_ts:  # a reply is only listed in its thread
            read, args["ts"] = self._reader.conversations_replies, alert.thread_ts
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
        for page in self._pages(self._reader.conversations_list, args):
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
            response = self._checker.auth_test()
        except SlackApiError as exc:
            return self._api_error(exc.response)
        except (OSError, HTTPException) as exc:
            return DeliveryResult(ok=False, error=self._redact(f"slack: {_describe(exc)}"))
        except SlackClientError as exc:
            return DeliveryResult(
                ok=False, error=self._redact(f"slack: {type(exc).__name__}: {exc}"), permanent=True
            )
        return DeliveryResult(ok=True, message_id=f"{response.get('team')}/{response.get('user')}")

    def check_setup(self, channels: Iterable[str]) -> list[SlackFinding]:
        """`watchdesk slack check`: the token works (auth.test), it has the scopes watchdesk
        needs (Slack lists a token's scopes in the `x-oauth-scopes` header of every answer),
        and every channel exists, is not archived and has the bot as a member
        (conversations.info for an id, conversations.list for a name). One finding per
        check, each failed one with its fix; never raises."""
        findings: list[SlackFinding] = []
        try:
            auth = self._checker.auth_test()
        except SlackApiError as exc:
            failed = self._api_error(exc.response)
            fix = failed.remedy or "check SLACK_BOT_TOKEN and SLACK_API_URL"
            return [SlackFinding("token", False, failed.error, fix)]
        except (OSError, HTTPException, SlackClientError) as exc:
            detail = self._redact(
                f"slack: {_describe(exc) if isinstance(exc, OSError | HTTPException) else exc}"
            )
            return [SlackFinding("token", False, detail, "check the network and SLACK_API_URL")]
        team, user = auth.get("team"), auth.get("user")
        findings.append(SlackFinding("token", True, f"works: bot {user} in workspace {team}"))
        scopes = _scopes(auth.headers)
        channel_infos = [(name, self._channel_info(name)) for name in dict.fromkeys(channels)]
        needed = dict(NEEDED_SCOPES)
        if any(info.get("is_private") for _, info in channel_infos if isinstance(info, dict)):
            needed.update(PRIVATE_SCOPES)
        for scope, why in needed.items():
            if scopes is None:
                findings.append(SlackFinding(f"scope {scope}", True, "not listed by Slack"))
            elif scope in scopes:
                findings.append(SlackFinding(f"scope {scope}", True, f"granted ({why})"))
            else:
                findings.append(
                    SlackFinding(
                        f"scope {scope}",
                        False,
                        f"missing: needed {why}",
                        f"add the bot scope {scope} under OAuth & Permissions (or update the "
                        "app from docs/slack-app-manifest.yaml) and reinstall the app",
                    )
                )
        for name, info in channel_infos:
            findings.append(_channel_finding(name, info))
        return findings

    def _channel_info(self, channel: str) -> dict[str, Any] | str:
        """The conversation object of a channel given by id or name, or the error why not."""
        try:
            if _CHANNEL_ID.match(channel):
                answer = self._checker.conversations_info(channel=channel)
                info = answer.get("channel")
                return dict(info) if isinstance(info, dict) else "channel_not_found"
            name = channel.removeprefix("#")
            args = {"types": "public_channel,private_channel", "limit": 1000}
            for page in self._pages(self._checker.conversations_list, args):
                for conversation in page.get("channels") or []:
                    if conversation.get("name") == name:
                        return dict(conversation)
            return "channel_not_found"
        except SlackApiError as exc:
            data = exc.response.data if isinstance(exc.response.data, dict) else {}
            code = str(data.get("error") or f"http_{exc.response.status_code}")
            if data.get("needed"):
                code += f" (needs {data['needed']})"
            return code
        except ReconcileError as exc:
            return exc.reason
        except (OSError, HTTPException) as exc:
            return self._redact(f"slack: {_describe(exc)}")
        except SlackClientError as exc:
            return self._redact(f"slack: {type(exc).__name__}: {exc}")

    def _api_error(self, response: SlackResponse, channel: str = "") -> DeliveryResult:
        status = response.status_code
        data = response.data if isinstance(response.data, dict) else {}
        code = str(data.get("error") or f"http_{status}")
        error = self._redact(f"slack: {code} (HTTP {status})")
        if status == 429 or code == "ratelimited":
            retry_after = _retry_after(response.headers)
            if retry_after is not None:
                error += f", retry after {retry_after:g}s"
            return DeliveryResult(ok=False, error=error, retry_after=retry_after)
        stops, remedy = _stop_and_remedy(code, channel, data)
        return DeliveryResult(
            ok=False,
            error=error,
            permanent=code in PERMANENT_ERRORS,
            maybe_sent=status >= 500 or code in MAYBE_POSTED_ERRORS,
            stops=stops,
            remedy=remedy,
            code=code,
        )

    def _redact(self, text: str) -> str:
        """Belt and braces: no error string may carry the token, whatever an exception said."""
        return _TOKEN_SHAPE.sub("[redacted]", text.replace(self._token, "[redacted]"))


def _scopes(headers: Mapping[str, Any]) -> set[str] | None:
    """The token's scopes from an answer's `x-oauth-scopes` header ("chat:write,..."), or None
    when the header is absent."""
    for key, value in headers.items():
        if key.lower() == "x-oauth-scopes":
            if isinstance(value, list | tuple):
                value = ",".join(str(v) for v in value)
            return {s.strip() for s in str(value).split(",") if s.strip()}
    return None


def _channel_finding(channel: str, info: dict[str, Any] | str) -> SlackFinding:
    subject = f"channel {channel}"
    if isinstance(info, str):
        if info.startswith("channel_not_found"):
            return SlackFinding(
                subject,
                False,
                "not found",
                f"create {channel} or fix the watchlist's `channel`; a private channel is "
                "only visible to the bot once it is invited (/invite @watchdesk)",
            )
        if info.startswith("missing_scope"):
            return SlackFinding(
                subject,
                False,
                f"cannot be looked up: {info}",
                "add the bot scopes channels:read and groups:read and reinstall the app",
            )
        return SlackFinding(subject, False, f"cannot be looked up: {info}", "try again later")
    if info.get("is_archived"):
        return SlackFinding(
            subject, False, "is archived", "unarchive it or point the watchlist elsewhere"
        )
    if not info.get("is_member"):
        return SlackFinding(
            subject,
            False,
            "the bot is not a member",
            f"invite the bot: type /invite @watchdesk in {channel}",
        )
    kind = "private" if info.get("is_private") else "public"
    return SlackFinding(subject, True, f"{kind}, the bot is a member")


def _stop_and_remedy(code: str, channel: str, data: Mapping[str, Any]) -> tuple[str, str]:
    """What a permanent Slack error stops ("sink", "channel" or nothing) and its fix."""
    where = channel if channel.startswith("#") or _CHANNEL_ID.match(channel) else f"#{channel}"
    if code in TOKEN_ERRORS:
        return "sink", (
            f"the bot token in {SLACK_BOT_TOKEN} is not accepted ({code}): install the app "
            "(docs/slack-app-manifest.yaml), set its Bot User OAuth Token (xoxb-...), then run "
            "`watchdesk slack check` and `watchdesk alerts retry`"
        )
    if code in SCOPE_ERRORS:
        needed = str(data.get("needed") or "chat:write")
        return "sink", (
            f"the token lacks {needed}: add the scope under OAuth & Permissions, reinstall "
            "the app, then run `watchdesk alerts retry`"
        )
    if code == "not_in_channel":
        return "channel", f"invite the bot to {where} (/invite @watchdesk), then `alerts retry`"
    if code == "channel_not_found":
        return "channel", (
            f"{where} does not exist or the bot cannot see it: fix the watchlist's `channel` "
            "or, for a private channel, invite the bot; then `watchdesk alerts retry`"
        )
    if code == "is_archived":
        return "channel", (
            f"{where} is archived: unarchive it or point the watchlist at another channel; "
            "then `watchdesk alerts retry`"
        )
    return "", ""


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


def _metadata(alert: Alert, alert_ids: Any = None) -> dict[str, Any] | None:
    """Message metadata naming the alert (and, for one post settling several watchlists'
    alerts of one story, all their ids); None for messages the outbox does not track."""
    if alert.id is None:
        return None
    payload: dict[str, Any] = {"alert_id": alert.id, "watchlist": alert.watchlist}
    payload["kind"] = alert.kind
    if isinstance(alert_ids, list) and len(alert_ids) > 1:
        payload["alert_ids"] = [int(i) for i in alert_ids]
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
