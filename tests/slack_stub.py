"""A loopback Slack Web API for tests: a real HTTP server on 127.0.0.1 speaking the methods
watchdesk uses (`chat.postMessage` with message metadata, `auth.test`, and for reading posts
back `conversations.history`, `conversations.replies`, `conversations.list`), recording every
request, with failures on demand (429 + Retry-After, 5xx, dropped connections, Slack errors,
slow answers, down/up, a post accepted and then its connection dropped, missing scopes).

    with SlackStub() as stub:                 # or the `slack_stub` pytest fixture
        sink = SlackSink(stub.token, stub.base_url)
        stub.rate_limit(retry_after=7)        # the next request answers 429
        stub.accept_then_drop()               # the next post is made, its answer never sent
        ...
        assert stub.messages()[0].channel == "#desk"     # or ["channel"]

Point slack_sdk at `stub.base_url` (`http://127.0.0.1:<port>/api/`), or set the environment
from `stub.env()` (`SLACK_BOT_TOKEN`, `SLACK_API_URL`).
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

DEFAULT_TOKEN = "xoxb-0000000000-watchdesk-stub-token"

# The scope each method needs (public channels; the stub has no private ones).
METHOD_SCOPES = {
    "chat.postMessage": "chat:write",
    "conversations.history": "channels:history",
    "conversations.replies": "channels:history",
    "conversations.list": "channels:read",
    "conversations.info": "channels:read",
}
# The scopes of a token installed from docs/slack-app-manifest.yaml: what the stub's token has
# when a test does not say otherwise (and what `x-oauth-scopes` then lists).
MANIFEST_SCOPES = frozenset(
    {"chat:write", "channels:history", "groups:history", "channels:read", "groups:read"}
)
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")


@dataclass(frozen=True, slots=True)
class StubRequest:
    """One request as the stub saw it, and what it answered.

    `status` is the HTTP status sent (0 when the connection was dropped); `error` the Slack
    error code answered ("" for an ok answer); `ts` the ts given to a posted message (also
    when the post was accepted and its answer dropped: the message is in the channel).
    """

    method: str  # Slack API method, e.g. "chat.postMessage"
    params: dict[str, Any]
    headers: dict[str, str]
    status: int
    error: str = ""
    ts: str = ""
    peer: int = 0  # the client's port: which process sent it (tests map it to a pid)

    @property
    def channel(self) -> str | None:
        return self.params.get("channel")

    @property
    def text(self) -> str | None:
        return self.params.get("text")

    @property
    def blocks(self) -> list[dict[str, Any]] | None:
        return self.params.get("blocks")

    @property
    def thread_ts(self) -> str | None:
        return self.params.get("thread_ts")

    @property
    def metadata(self) -> dict[str, Any] | None:
        """The message metadata posted (`event_type`, `event_payload`), if any."""
        return self.params.get("metadata")

    @property
    def ok(self) -> bool:
        return self.status == 200 and not self.error

    @property
    def posted(self) -> bool:
        """True for a chat.postMessage that made a message (answered or not)."""
        return self.method == "chat.postMessage" and bool(self.ts) and not self.error

    def __getitem__(self, key: str) -> Any:
        """`request["channel"]`: indexing reads the posted API arguments, like `params`."""
        return self.params[key]


@dataclass(slots=True)
class _Failure:
    kind: str  # "status", "drop", "error", "delay", "slow_answer", "accept_drop"
    status: int = 200
    error: str = ""
    retry_after: float | None = None
    delay: float = 0.0
    method: str | None = None  # only requests of this method; None: any


@dataclass(slots=True)
class _Answer:
    status: int
    body: dict[str, Any] | None  # None: drop the connection
    headers: dict[str, str] = field(default_factory=dict)


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a hung handler must not keep the test process alive
    # socketserver's default backlog of 5 drops connections when a test posts from many
    # threads at once, and the client's SYN retry then costs a full second.
    request_queue_size = 128
    stub: SlackStub


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    # HTTP/1.0: one request per connection, so "drop" and "down" act on the next request.
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests read `stub.requests`, not stderr

    def do_POST(self) -> None:
        self.server.stub._handle(self)

    do_GET = do_POST  # Slack accepts GET for read methods; slack_sdk always POSTs


class SlackStub:
    """The loopback Slack API. Thread-safe; start with `start()` or `with SlackStub() as s:`.

    `channels`, when given, is the set of channels that exist: posting elsewhere answers
    `channel_not_found`, as Slack does. `members`, when given, is the set of channels the bot
    is a member of: posting to another answers `not_in_channel`; `archived` channels answer
    `is_archived`. Every authenticated answer carries the token's scopes in the
    `x-oauth-scopes` header, as Slack's do. Channels are named like `#desk` (or given by an id such
    as `C0WUHAN`); the stub gives each name an id (`channel_id`), answers posts with it and
    reads history by it, as Slack does. `scopes`, when given, are the token's scopes: a method
    needing another (`METHOD_SCOPES`) answers `missing_scope` with `needed`. Programmed
    failures apply to the next requests (of any method, unless `method=` is given), in the
    order they were programmed.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        channels: set[str] | None = None,
        scopes: set[str] | None = None,
        members: set[str] | None = None,
        archived: set[str] | None = None,
    ) -> None:
        self.token = token
        self.channels = channels
        self.scopes = scopes
        self.members = members
        self.archived = archived or set()
        self._channel_ids: dict[str, str] = {}  # name as posted ("#desk") -> id
        self._last_ts = 0  # microseconds
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._requests: list[StubRequest] = []
        self._failures: deque[_Failure] = deque()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> SlackStub:
        """Listen on 127.0.0.1 (an ephemeral port the first time, the same port after down())."""
        if self._server is not None:
            return self
        self._stopping.clear()
        server = _Server(("127.0.0.1", self.port), _Handler)
        server.stub = self
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name=f"slack-stub-{self.port}",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening: connections to the port are refused until `start()`/`up()`."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()  # wakes handlers sleeping in a "delay" failure
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def down(self) -> None:
        """Simulate Slack unreachable: the port stops listening (connection refused)."""
        self.stop()

    def up(self) -> None:
        """Listen again on the same port after `down()`."""
        self.start()

    def __enter__(self) -> SlackStub:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """The Web API root for slack_sdk's `WebClient(base_url=...)`."""
        return f"http://127.0.0.1:{self.port}/api/"

    def env(self) -> dict[str, str]:
        """Environment for watchdesk's Slack sink factory, pointing at this stub."""
        return {"SLACK_BOT_TOKEN": self.token, "SLACK_API_URL": self.base_url}

    # --- programmed failures -------------------------------------------------------------

    def rate_limit(self, n: int = 1, *, retry_after: float = 30, method: str | None = None) -> None:
        """The next `n` requests answer HTTP 429 `ratelimited` with `Retry-After`."""
        self._program(n, _Failure("status", 429, "ratelimited", retry_after, method=method))

    def server_error(
        self,
        n: int = 1,
        *,
        status: int = 500,
        method: str | None = None,
        error: str = "internal_error",
    ) -> None:
        """The next `n` requests answer with an HTTP 5xx (or any) status."""
        self._program(n, _Failure("status", status, error, method=method))

    def clear_failures(self) -> None:
        """Forget the failures not yet used (Slack is back), keeping the recorded requests."""
        with self._lock:
            self._failures.clear()

    def drop(self, n: int = 1, *, method: str | None = None) -> None:
        """The next `n` requests are read, then the connection is closed with no answer (and
        nothing done: a post makes no message)."""
        self._program(n, _Failure("drop", method=method))

    def accept_then_drop(self, n: int = 1, *, method: str = "chat.postMessage") -> None:
        """The next `n` posts are made (the message is in the channel, with its ts), then the
        connection is closed with no answer: the client never learns the ts, as when it is
        killed while Slack handles the post."""
        self._program(n, _Failure("accept_drop", method=method))

    def api_error(
        self, error: str = "channel_not_found", n: int = 1, *, method: str | None = None
    ) -> None:
        """The next `n` requests answer HTTP 200 `{"ok": false, "error": error}`."""
        self._program(n, _Failure("error", error=error, method=method))

    def delay(self, seconds: float, n: int = 1, *, method: str | None = None) -> None:
        """The next `n` requests are answered (normally) only after `seconds`."""
        self._program(n, _Failure("delay", delay=seconds, method=method))

    def slow_answer(self, seconds: float, n: int = 1, *, method: str | None = None) -> None:
        """The next `n` requests are handled at once (a post is in the channel) and answered
        only after `seconds`: a sender killed meanwhile never learns that its post arrived."""
        self._program(n, _Failure("slow_answer", delay=seconds, method=method))

    def _program(self, n: int, failure: _Failure) -> None:
        with self._lock:
            self._failures.extend([failure] * n)

    def _next_failure(self, method: str) -> _Failure | None:
        with self._lock:
            for failure in self._failures:
                if failure.method in (None, method):
                    self._failures.remove(failure)  # the first equal one: this one
                    return failure
        return None

    def reset(self) -> None:
        """Forget recorded requests and pending failures."""
        with self._lock:
            self._requests.clear()
            self._failures.clear()

    # --- what happened -------------------------------------------------------------------

    def requests(self) -> list[StubRequest]:
        """Every request received so far (a snapshot), in arrival order."""
        with self._lock:
            return list(self._requests)

    def messages(self) -> list[StubRequest]:
        """The posts that made a message (the messages "in Slack"), in order: those answered
        ok and those accepted before their connection was dropped (`accept_then_drop`)."""
        return [r for r in self.requests() if r.posted]

    def channel_id(self, channel: str) -> str:
        """The id the stub gives a channel name (an id is its own id)."""
        if _CHANNEL_ID.match(channel):
            return channel
        with self._lock:
            if channel not in self._channel_ids:
                self._channel_ids[channel] = f"C{len(self._channel_ids) + 1:08d}"
            return self._channel_ids[channel]

    def wait_for(self, n: int, timeout: float = 5.0) -> list[StubRequest]:
        """Block until at least `n` requests arrived; raises TimeoutError otherwise."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._requests) >= n, timeout):
                raise TimeoutError(f"{len(self._requests)} of {n} requests after {timeout}s")
            return list(self._requests)

    # --- the API -------------------------------------------------------------------------

    def _handle(self, handler: _Handler) -> None:
        url = urlsplit(handler.path)
        method = url.path.rsplit("/", 1)[-1]
        headers = {k: v for k, v in handler.headers.items()}
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        params = _parse_params(url.query, handler.headers.get("Content-Type", ""), raw)

        failure = self._next_failure(method)
        if failure is not None and failure.kind == "delay":
            self._stopping.wait(failure.delay)
            failure = None
        slow = failure.delay if failure is not None and failure.kind == "slow_answer" else 0.0
        if slow:
            failure = None
        accept_drop = failure is not None and failure.kind == "accept_drop"
        answer = self._answer(method, params, headers, None if accept_drop else failure)

        ts = str(answer.body.get("ts", "")) if answer.body else ""
        error = str(answer.body.get("error", "")) if answer.body else ""
        status = answer.status if answer.body is not None else 0
        if accept_drop:  # done, but the answer is never sent
            answer, status = _Answer(0, None), 0
        peer = int(handler.client_address[1])
        record = StubRequest(method, params, headers, status, error, ts, peer)
        with self._changed:
            self._requests.append(record)
            self._changed.notify_all()
        if slow:
            self._stopping.wait(slow)

        if answer.body is None:
            handler.close_connection = True
            with contextlib.suppress(OSError):  # the client may be gone already
                handler.connection.shutdown(socket.SHUT_RDWR)
            return
        payload = json.dumps(answer.body).encode()
        try:
            handler.send_response(answer.status)
            handler.send_header("Content-Type", "application/json; charset=utf-8")
            handler.send_header("Content-Length", str(len(payload)))
            for name, value in answer.headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(payload)
        except OSError:  # the client gave up (timeout): nothing to answer to
            pass

    def _answer(
        self,
        method: str,
        params: dict[str, Any],
        headers: dict[str, str],
        failure: _Failure | None,
    ) -> _Answer:
        if failure is not None:
            if failure.kind == "drop":
                return _Answer(0, None)
            if failure.kind == "error":
                return _Answer(200, {"ok": False, "error": failure.error})
            extra = {}
            if failure.retry_after is not None:
                extra["Retry-After"] = f"{failure.retry_after:g}"
            return _Answer(failure.status, {"ok": False, "error": failure.error}, extra)

        auth = headers.get("Authorization", "")
        token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else params.get("token")
        if not token:
            return _Answer(200, {"ok": False, "error": "not_authed"})
        if token != self.token:
            return _Answer(200, {"ok": False, "error": "invalid_auth"})
        scopes = MANIFEST_SCOPES if self.scopes is None else self.scopes
        # Slack lists the token's scopes on every answer to an authenticated call.
        granted = {"x-oauth-scopes": ",".join(sorted(scopes))}
        answer = self._authed_answer(method, params, scopes)
        answer.headers.update(granted)
        return answer

    def _authed_answer(self, method: str, params: dict[str, Any], scopes: Any) -> _Answer:
        needed = METHOD_SCOPES.get(method)
        if needed is not None and needed not in scopes:
            provided = ",".join(sorted(scopes))
            body = {"ok": False, "error": "missing_scope", "needed": needed, "provided": provided}
            return _Answer(200, body)

        if method == "auth.test":
            return _Answer(
                200,
                {
                    "ok": True,
                    "url": "https://watchdesk-stub.slack.com/",
                    "team": "watchdesk-stub",
                    "user": "watchdesk",
                    "team_id": "T00000000",
                    "user_id": "U00000000",
                    "bot_id": "B00000000",
                },
            )
        if method == "chat.postMessage":
            channel = params.get("channel")
            if not channel:
                return _Answer(200, {"ok": False, "error": "channel_not_found"})
            if self.channels is not None and channel not in self.channels:
                return _Answer(200, {"ok": False, "error": "channel_not_found"})
            if channel in self.archived:
                return _Answer(200, {"ok": False, "error": "is_archived"})
            if self.members is not None and channel not in self.members:
                return _Answer(200, {"ok": False, "error": "not_in_channel"})
            if not params.get("text") and not params.get("blocks"):
                return _Answer(200, {"ok": False, "error": "no_text"})
            ts = self._next_ts()
            message = {"type": "message", "text": params.get("text", ""), "ts": ts}
            if params.get("thread_ts"):
                message["thread_ts"] = params["thread_ts"]
            answer = {"ok": True, "channel": self.channel_id(channel), "ts": ts}
            return _Answer(200, {**answer, "message": message})
        if method == "conversations.list":
            return _Answer(200, self._list_channels(params))
        if method == "conversations.info":
            wanted = str(params.get("channel") or "")
            for info in self._channel_objects():
                if info["id"] == wanted:
                    return _Answer(200, {"ok": True, "channel": info})
            return _Answer(200, {"ok": False, "error": "channel_not_found"})
        if method in ("conversations.history", "conversations.replies"):
            return _Answer(200, self._read_history(method, params))
        return _Answer(200, {"ok": False, "error": "unknown_method"})

    def _next_ts(self) -> str:
        # Slack ts: "<seconds>.<6 digits>" of the time posted, unique per channel and
        # increasing (equal-length strings that sort as numbers).
        with self._lock:
            self._last_ts = max(time.time_ns() // 1000, self._last_ts + 1)
            seconds, micro = divmod(self._last_ts, 1_000_000)
            return f"{seconds}.{micro:06d}"

    # --- reading back ----------------------------------------------------------------------

    def _known_channels(self) -> dict[str, str]:
        """id -> name of every channel that exists or was posted to."""
        names = set(self.channels or ()) | {r.channel for r in self.messages() if r.channel}
        if self.channels is None:  # no list of channels: those the test named exist
            names |= set(self.members or ()) | self.archived
        return {self.channel_id(n): n.removeprefix("#").lower() for n in sorted(names)}

    def _channel_objects(self) -> list[dict[str, Any]]:
        """Conversation objects as conversations.info/list give them (the fields watchdesk
        reads: id, name, is_private, is_archived, is_member)."""
        archived = {self.channel_id(c) for c in self.archived}
        members = None if self.members is None else {self.channel_id(c) for c in self.members}
        return [
            {
                "id": cid,
                "name": name,
                "is_channel": True,
                "is_private": False,
                "is_archived": cid in archived,
                "is_member": members is None or cid in members,
            }
            for cid, name in self._known_channels().items()
        ]

    def _list_channels(self, params: dict[str, Any]) -> dict[str, Any]:
        channels = self._channel_objects()
        if params.get("exclude_archived") is True:
            channels = [c for c in channels if not c["is_archived"]]
        page, cursor = _page(channels, params, default_limit=100)
        return {"ok": True, "channels": page, "response_metadata": {"next_cursor": cursor}}

    def _read_history(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """conversations.history (top-level messages, newest first) or .replies (a thread,
        oldest first), within oldest/latest; metadata only with include_all_metadata."""
        channel = str(params.get("channel") or "")
        if channel not in self._known_channels():
            return {"ok": False, "error": "channel_not_found"}
        posted = [m for m in self.messages() if self.channel_id(m.channel or "") == channel]
        if method == "conversations.replies":
            parent = str(params.get("ts") or "")
            if not any(m.ts == parent for m in posted):
                return {"ok": False, "error": "thread_not_found"}
            posted = [m for m in posted if parent in (m.ts, m.thread_ts)]
        else:
            posted = [m for m in posted if not m.thread_ts or m.params.get("reply_broadcast")]
            posted.reverse()
        oldest = float(params.get("oldest") or 0)
        latest = float(params.get("latest") or time.time() + 1)
        inclusive = params.get("inclusive") is True
        messages = []
        for m in posted:
            ts = float(m.ts)
            if ts < oldest or ts > latest or (not inclusive and ts in (oldest, latest)):
                continue
            message: dict[str, Any] = {
                "type": "message",
                "ts": m.ts,
                "text": m.text or "",
                "bot_id": "B00000000",
            }
            if m.thread_ts:
                message["thread_ts"] = m.thread_ts
            if params.get("include_all_metadata") is True and m.metadata:
                message["metadata"] = m.metadata
            messages.append(message)
        page, cursor = _page(messages, params, default_limit=100)
        return {
            "ok": True,
            "messages": page,
            "has_more": bool(cursor),
            "response_metadata": {"next_cursor": cursor},
        }


def _page(
    items: list[dict[str, Any]], params: dict[str, Any], default_limit: int
) -> tuple[list[dict[str, Any]], str]:
    """One page of `items` from `cursor` (the stub's cursors are "next:<offset>")."""
    cursor = str(params.get("cursor") or "")
    start = int(cursor.removeprefix("next:")) if cursor.startswith("next:") else 0
    limit = int(params.get("limit") or default_limit)
    end = start + limit
    return items[start:end], (f"next:{end}" if end < len(items) else "")


def _parse_params(query: str, content_type: str, raw: bytes) -> dict[str, Any]:
    """Slack accepts query strings, form bodies and JSON bodies; `blocks` may be JSON text."""
    params: dict[str, Any] = {k: v[-1] for k, v in parse_qs(query).items()}
    if raw:
        if content_type.startswith("application/json"):
            try:
                body = json.loads(raw.decode("utf-8"))
            except ValueError:  # recorded as-is; Slack would answer invalid_json
                body = {"_raw": raw.decode("utf-8", "replace")}
            if isinstance(body, dict):
                params.update(body)
        elif content_type.startswith("application/x-www-form-urlencoded"):
            form = parse_qs(raw.decode("utf-8"), keep_blank_values=True)
            params.update({k: v[-1] for k, v in form.items()})
    for key in ("blocks", "attachments", "metadata"):
        if isinstance(params.get(key), str):
            with contextlib.suppress(ValueError):  # kept as text when it is not JSON
                params[key] = json.loads(params[key])
    bools = ("unfurl_links", "unfurl_media", "reply_broadcast", "inclusive", "exclude_archived")
    for key in (*bools, "include_all_metadata"):
        if isinstance(params.get(key), str):  # form bodies carry booleans as "1"/"0"/"true"
            params[key] = params[key].lower() in ("1", "true")
    return params


@pytest.fixture
def slack_stub() -> Iterator[SlackStub]:
    """A started SlackStub, stopped after the test (import this name into a conftest)."""
    with SlackStub() as stub:
        yield stub
