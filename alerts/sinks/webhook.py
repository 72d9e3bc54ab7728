"""The webhook sink: POSTs each alert as JSON to a URL (stdlib urllib, no extra dependency).

The body is the rendered message (`text`, `blocks`, as a Slack incoming webhook expects) plus
an `alert` object with the alert's fields. Header values (e.g. an Authorization token) come from
environment variables named in the config and never appear in repr, errors or logs.

At-least-once: a receiver cannot be asked whether an alert already arrived, so an alert whose
send was interrupted (the process killed before the answer was recorded) is POSTed again after
a restart. Receivers that must not see duplicates should de-duplicate on `alert.id`.
"""

from __future__ import annotations

import json
import math
import re
import urllib.request
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http.client import HTTPException
from typing import Any, ClassVar
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit

from alerts.sinks.base import DeliveryResult
from alerts.sinks.jsonl import alert_dict
from crawler.records import Alert

# Seconds for connect + each read: a webhook receiver should answer at once and queue its work;
# 10 s is generous and keeps one slow receiver from stalling the outbox for long.
DEFAULT_TIMEOUT = 10.0
# Bytes of a response read, at most: enough for an id in a JSON answer, small enough that a
# misbehaving receiver cannot fill memory.
MAX_RESPONSE_BYTES = 64 * 1024
# Statuses worth retrying (RFC 9110): timeout, too early, rate limited, and server errors.
RETRYABLE_STATUSES = frozenset({408, 425, 429})
USER_AGENT = "watchdesk-alerts/0.1"

# RFC 9110 header field names are "tokens".
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is a configuration problem (and urllib would turn the POST into a GET):
    report it instead of following it."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class WebhookSink:
    """POSTs each alert to `url` with `headers` (header name -> value, already resolved)."""

    name: str = "webhook"
    option_types: ClassVar[Mapping[str, type]] = {"url": str, "headers": dict, "timeout": float}
    required_options: ClassVar[tuple[str, ...]] = ("url",)
    option_hints: ClassVar[Mapping[str, str]] = {
        "token": "put secrets in environment variables and name them in `headers`, "
        "e.g. headers: {Authorization: WEBHOOK_AUTH}",
    }

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            # urllib also opens file:// and ftp:// URLs: refuse anything but http(s).
            raise ValueError("option 'url' must be an http(s) URL")
        if timeout <= 0:
            raise ValueError("option 'timeout' must be positive")
        self.url = url
        self.timeout = timeout
        self._headers = dict(headers or {})
        self._opener = urllib.request.build_opener(_NoRedirects())

    @classmethod
    def from_options(cls, options: Mapping[str, Any], environ: Mapping[str, str]) -> WebhookSink:
        """`headers` maps a header name to the NAME of the environment variable holding its
        value (`{"Authorization": "WEBHOOK_AUTH"}`); every named variable must be set."""
        headers: dict[str, str] = {}
        for header, env_name in (options.get("headers") or {}).items():
            if not isinstance(header, str) or not _HEADER_NAME.match(header):
                raise ValueError(f"option 'headers': {header!r} is not a valid header name")
            if not isinstance(env_name, str) or not env_name:
                raise ValueError(f"option 'headers': {header!r} must name an environment variable")
            value = environ.get(env_name)
            if not value:
                raise ValueError(
                    f"environment variable {env_name} (for header {header!r}) is not set"
                )
            if "\n" in value or "\r" in value:
                raise ValueError(f"environment variable {env_name} holds a line break")
            headers[header] = value
        return cls(
            str(options["url"]),
            headers=headers,
            timeout=float(options.get("timeout", DEFAULT_TIMEOUT)),
        )

    def __repr__(self) -> str:
        # Header names only: their values are secrets.
        return f"WebhookSink(url={_safe_url(self.url)!r}, headers={sorted(self._headers)})"

    def deliver(self, alert: Alert, message: dict[str, Any]) -> DeliveryResult:
        """POST the alert; 2xx is ok, 408/425/429/5xx and network errors are retryable (with
        Retry-After when given), other statuses and redirects are permanent."""
        body = {**message, "alert": alert_dict(alert)}
        try:
            data = json.dumps(body, ensure_ascii=False, default=str).encode("utf-8", "replace")
        except (TypeError, ValueError) as exc:
            return DeliveryResult(ok=False, error=f"webhook: cannot encode: {exc}", permanent=True)
        request = urllib.request.Request(self.url, data=data, method="POST")
        request.add_header("Content-Type", "application/json; charset=utf-8")
        request.add_header("User-Agent", USER_AGENT)
        for header, value in self._headers.items():
            request.add_header(header, value)
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                payload = response.read(MAX_RESPONSE_BYTES)
        except HTTPError as exc:
            with exc:
                return self._http_error(exc)
        except (OSError, HTTPException) as exc:  # URLError, refused, reset, timeout
            reason = exc.reason if isinstance(exc, URLError) else exc
            what = "timed out" if isinstance(reason, TimeoutError) else f"{reason}"
            return DeliveryResult(ok=False, error=self._redact(f"webhook: {what}"))
        return DeliveryResult(ok=True, message_id=_message_id(payload))

    def _http_error(self, exc: HTTPError) -> DeliveryResult:
        status = exc.code
        error = f"webhook: HTTP {status}"
        if 300 <= status < 400:
            location = exc.headers.get("Location", "")
            return DeliveryResult(
                ok=False,
                error=self._redact(f"{error}: redirect to {_safe_url(location)} not followed"),
                permanent=True,
            )
        if status in RETRYABLE_STATUSES or status >= 500:
            retry_after = parse_retry_after(exc.headers.get("Retry-After"))
            if retry_after is not None:
                error += f", retry after {retry_after:g}s"
            return DeliveryResult(ok=False, error=error, retry_after=retry_after)
        return DeliveryResult(ok=False, error=error, permanent=True)

    def _redact(self, text: str) -> str:
        for value in self._headers.values():
            text = text.replace(value, "[redacted]")
        return text


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delay-seconds or an HTTP-date (RFC 9110
    section 10.2.3); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
        return max(seconds, 0.0)
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _message_id(payload: bytes) -> str:
    """An id from a JSON answer (`id`, or `ts` as Slack-like receivers send), else ""."""
    try:
        answer = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return ""
    if isinstance(answer, dict):
        for key in ("id", "ts", "message_id"):
            if isinstance(answer.get(key), str | int):
                return str(answer[key])
    return ""


def _safe_url(url: str) -> str:
    """Scheme and host only: webhook URLs often carry their secret in the path or query
    (Slack's are https://hooks.slack.com/services/T.../B.../<secret>)."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        return "(invalid URL)"
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    rest = "/…" if parts.path.strip("/") or parts.query else ""
    return f"{parts.scheme}://{host}{rest}"
