"""A loopback Slack Socket Mode for tests: the Web API stub answers `apps.connections.open`
with a `ws://127.0.0.1:<port>/link/?ticket=...` URL, and a real websocket server (RFC 6455,
written here on `socket`) listens there, greets each connection with `hello`, sends the
envelopes a test asks for (`interactive` block_actions, `slash_commands`) in Slack's documented
shapes, and records each acknowledgement with the time it arrived.

    with SocketModeStub() as slack:            # a DeskSlackStub (Web API) + the websocket
        env = slack.env()                      # SLACK_BOT_TOKEN, SLACK_APP_TOKEN, SLACK_API_URL
        envelope = slack.ws.send(block_actions(...))
        ack = slack.ws.wait_ack(envelope)      # raises unless acknowledged within 3 s
        slack.ws.drop()                        # the socket dies mid-session

Shapes: https://docs.slack.dev/apis/events-api/using-socket-mode/ ("hello", envelopes with
`envelope_id`, `payload`, `type`, `accepts_response_payload`; the app answers
`{"envelope_id": ..., "payload": ...}`), the block_actions and slash-command payload
references, and slack-sdk's own socket-mode tests (tests/slack_sdk/socket_mode/).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import json
import socket
import struct
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import pytest

from tests.slack_stub import SlackStub, _Answer, _Failure

APP_TOKEN = "xapp-1-A0WATCHDESK-0000000000-watchdesk-stub-app-token"
TEAM_ID = "T00000000"  # the stub workspace (auth.test's team_id)
APP_ID = "A0WATCHDESK"
# "Your app must respond ... within 3 seconds" (Slack's interactivity and slash-command docs;
# in Socket Mode, the envelope's acknowledgement is that response).
ACK_DEADLINE = 3.0
_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3


@dataclass(frozen=True, slots=True)
class Ack:
    """One acknowledgement the app sent: its envelope, optional payload, and how long after the
    envelope was sent it arrived (seconds)."""

    envelope_id: str
    payload: dict[str, Any] | None
    after: float


class _Link:
    """One websocket connection from the app."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.send_lock = threading.Lock()
        self.open = True
        self.ready = False  # the app answered our ping: its receive loop runs

    def send_frame(self, opcode: int, data: bytes) -> None:
        # server frames are not masked (RFC 6455 section 5.1)
        head = bytes([0x80 | opcode])
        n = len(data)
        if n < 126:
            head += bytes([n])
        elif n < 1 << 16:
            head += bytes([126]) + struct.pack("!H", n)
        else:
            head += bytes([127]) + struct.pack("!Q", n)
        with self.send_lock:
            self.sock.sendall(head + data)

    def send_json(self, message: dict[str, Any]) -> None:
        self.send_frame(0x1, json.dumps(message).encode())

    def read_frame(self) -> tuple[int, bytes]:
        b1, b2 = self._exact(2)
        opcode, n = b1 & 0x0F, b2 & 0x7F
        if n == 126:
            (n,) = struct.unpack("!H", self._exact(2))
        elif n == 127:
            (n,) = struct.unpack("!Q", self._exact(8))
        mask = self._exact(4) if b2 & 0x80 else b""
        data = self._exact(n)
        if mask:
            data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        return opcode, data

    def _exact(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
        return buf

    def close(self) -> None:
        self.open = False
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


class SocketModeServer:
    """The websocket end of Socket Mode on 127.0.0.1. Thread-safe."""

    def __init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(8)
        self.port = self._listener.getsockname()[1]
        self._cond = threading.Condition()
        self._links: list[_Link] = []
        self._sent: dict[str, float] = {}  # envelope_id -> monotonic time sent
        self._acks: dict[str, Ack] = {}
        self.handshakes: list[str] = []  # the request line of each handshake
        self._threads: list[threading.Thread] = []
        self._stopping = False

    def url(self, ticket: str) -> str:
        return f"ws://127.0.0.1:{self.port}/link/?ticket={ticket}&app_id={APP_ID}"

    def start(self) -> SocketModeServer:
        self._spawn(self._accept_loop)
        return self

    def stop(self) -> None:
        self._stopping = True
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._cond:
            links = list(self._links)
        for link in links:
            link.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def _spawn(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True, name="socket-mode-stub")
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        self._listener.settimeout(0.05)  # closing a socket does not wake a blocked accept()
        while not self._stopping:
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(None)
            self._spawn(self._serve, sock)

    def _serve(self, sock: socket.socket) -> None:
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = sock.recv(4096)
            if not chunk:
                sock.close()
                return
            request += chunk
        lines = request.decode("latin-1").split("\r\n")
        headers = {
            k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])
        }
        key = headers.get("sec-websocket-key", "")
        if headers.get("upgrade", "").lower() != "websocket" or not key:
            sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            sock.close()
            return
        accept = base64.b64encode(hashlib.sha1((key + _WS_GUID).encode()).digest()).decode()
        sock.sendall(
            (
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
            ).encode()
        )
        link = _Link(sock)
        with self._cond:
            self.handshakes.append(lines[0])
            self._links.append(link)
            n = len(self._links)
            self._cond.notify_all()
        link.send_json(
            {
                "type": "hello",
                "num_connections": 1,
                "debug_info": {
                    "host": "applink-watchdesk-stub",
                    "build_number": 1,
                    "approximate_connection_time": 18060,
                },
                "connection_info": {"app_id": APP_ID},
            }
        )
        del n
        # Slack pings its clients; the pong shows the app is reading this connection (slack-sdk
        # reads a new connection only once the old one's receive has timed out, up to 3 s)
        link.send_frame(0x9, b"watchdesk-stub")
        self._read(link)

    def _read(self, link: _Link) -> None:
        try:
            while link.open:
                opcode, data = link.read_frame()
                if opcode == 0x9:  # ping
                    link.send_frame(0xA, data)
                elif opcode == 0xA and data == b"watchdesk-stub":  # the pong to our ping
                    with self._cond:
                        link.ready = True
                        self._cond.notify_all()
                elif opcode == 0x8:  # close
                    with contextlib.suppress(OSError):
                        link.send_frame(0x8, data[:2])
                    break
                elif opcode == 0x1:
                    self._on_text(data.decode("utf-8"))
        except (OSError, ConnectionError, ValueError):
            pass
        finally:
            link.close()

    def _on_text(self, text: str) -> None:
        message = json.loads(text)
        envelope_id = message.get("envelope_id")
        with self._cond:
            sent = self._sent.get(envelope_id)
            if sent is None or envelope_id in self._acks:
                return  # not an answer to an envelope we sent (Slack ignores it too)
            payload = message.get("payload")
            self._acks[envelope_id] = Ack(envelope_id, payload, time.monotonic() - sent)
            self._cond.notify_all()

    # --- what a test does ----------------------------------------------------------------

    @property
    def connections(self) -> int:
        with self._cond:
            return len(self._links)

    def wait_connected(self, n: int = 1, timeout: float = 10.0) -> None:
        """Block until the app opened its `n`-th connection and reads it (it answered the
        ping sent after `hello`)."""
        with self._cond:
            ok = self._cond.wait_for(
                lambda: len(self._links) >= n and self._links[n - 1].ready, timeout
            )
            if not ok:
                raise TimeoutError(f"{len(self._links)} of {n} connections after {timeout}s")

    def send(
        self, envelope_type: str, payload: dict[str, Any], *, accepts_response_payload: bool
    ) -> str:
        """Send an envelope on the newest open connection; returns its envelope_id."""
        envelope_id = str(uuid.uuid4())
        with self._cond:
            links = [link for link in self._links if link.open]
            if not links:
                raise ConnectionError("the app is not connected")
            link = links[-1]
            self._sent[envelope_id] = time.monotonic()
        link.send_json(
            {
                "envelope_id": envelope_id,
                "payload": payload,
                "type": envelope_type,
                "accepts_response_payload": accepts_response_payload,
            }
        )
        return envelope_id

    def wait_ack(self, envelope_id: str, timeout: float = ACK_DEADLINE) -> Ack:
        """The acknowledgement of an envelope; raises TimeoutError unless it arrives within
        `timeout` (Slack's 3 s by default)."""
        with self._cond:
            if not self._cond.wait_for(lambda: envelope_id in self._acks, timeout):
                raise TimeoutError(f"envelope {envelope_id} not acknowledged within {timeout}s")
            return self._acks[envelope_id]

    def disconnect(self, reason: str = "refresh_requested") -> None:
        """Slack's own `disconnect` message: the app is to open a new connection."""
        with self._cond:
            links = [link for link in self._links if link.open]
        for link in links:
            link.send_json(
                {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-stub"}}
            )

    def drop(self) -> None:
        """The network drops every open connection, without a close frame."""
        with self._cond:
            links = [link for link in self._links if link.open]
        for link in links:
            link.close()


class DeskSlackStub(SlackStub):
    """The Web API stub plus the methods a two-way desk needs: `apps.connections.open` (with
    the app-level token), `chat.update`, `chat.postEphemeral`, and `response_url` hooks
    (`http://127.0.0.1:<port>/hooks/response.<n>`; recorded as requests of that method)."""

    def __init__(self, ws: SocketModeServer, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ws = ws
        self.app_token = APP_TOKEN
        self._tickets = itertools.count(1)
        self._hooks = itertools.count(1)

    def env(self) -> dict[str, str]:
        return {**super().env(), "SLACK_APP_TOKEN": self.app_token}

    def response_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/response.{next(self._hooks)}"

    def responses(self) -> list[dict[str, Any]]:
        """What the app posted to response_url hooks, in order."""
        return [r.params for r in self.requests() if r.method.startswith("response.")]

    def updates(self) -> list[Any]:
        return [r for r in self.requests() if r.method == "chat.update" and r.ok]

    def wait_for_method(self, method: str, n: int = 1, timeout: float = 5.0) -> list[Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [r for r in self.requests() if r.method == method]
            if len(found) >= n:
                return found
            time.sleep(0.01)
        raise TimeoutError(f"fewer than {n} {method} requests after {timeout}s")

    def _answer(
        self,
        method: str,
        params: dict[str, Any],
        headers: dict[str, str],
        failure: _Failure | None,
    ) -> _Answer:
        if failure is None and method.startswith("response."):
            # response_url: no token; "ok" as text in Slack, JSON here for the stub's parser
            if not params.get("text") and not params.get("blocks"):
                return _Answer(200, {"ok": False, "error": "no_text"})
            return _Answer(200, {"ok": True})
        if failure is None and method == "apps.connections.open":
            auth = headers.get("Authorization", "")
            token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else ""
            if not token:
                return _Answer(200, {"ok": False, "error": "not_authed"})
            if not token.startswith("xapp-"):
                return _Answer(200, {"ok": False, "error": "not_allowed_token_type"})
            if token != self.app_token:
                return _Answer(200, {"ok": False, "error": "invalid_auth"})
            return _Answer(200, {"ok": True, "url": self.ws.url(f"t{next(self._tickets)}")})
        answer = super()._answer(method, params, headers, failure)
        if (
            failure is not None
            or answer.body is None
            or answer.body.get("error") != "unknown_method"
        ):
            return answer
        if method == "chat.update":
            return _Answer(200, self._update(params))
        return answer

    def _update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(params.get("channel") or ""), str(params.get("ts") or "")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        posted = [m for m in self.messages() if self.channel_id(m.channel or "") == channel]
        if not any(m.ts == ts for m in posted):
            return {"ok": False, "error": "message_not_found"}
        if not params.get("text") and not params.get("blocks"):
            return {"ok": False, "error": "no_text"}
        message = {"text": params.get("text", ""), "blocks": params.get("blocks") or []}
        return {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "text": message["text"],
            "message": message,
        }


class SocketModeStub:
    """The Web API stub and the websocket server, started and stopped together."""

    def __init__(self) -> None:
        self.ws = SocketModeServer()
        self.api = DeskSlackStub(self.ws)

    def __enter__(self) -> SocketModeStub:
        self.ws.start()
        self.api.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.api.stop()
        self.ws.stop()

    def env(self) -> dict[str, str]:
        return self.api.env()


# --- payloads in Slack's documented shapes ----------------------------------------------------


def block_actions(
    *,
    action_id: str,
    value: str,
    channel_id: str,
    message_ts: str,
    user_id: str = "U0EDITOR1",
    team_id: str = TEAM_ID,
    response_url: str = "",
    channel_name: str = "desk",
) -> dict[str, Any]:
    """An `interactive` envelope's payload for a button click on a message
    (https://docs.slack.dev/reference/interaction-payloads/block_actions-payload)."""
    return {
        "type": "block_actions",
        "user": {"id": user_id, "username": "editor", "name": "editor", "team_id": team_id},
        "api_app_id": APP_ID,
        "token": "verification-token-unused-in-socket-mode",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        },
        "trigger_id": "1234567890.123456789.abcdef",
        "team": {"id": team_id, "domain": "watchdesk-stub"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": channel_name},
        "message": {"type": "message", "ts": message_ts, "text": "", "blocks": []},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": "watchdesk_triage",
                "text": {"type": "plain_text", "text": action_id, "emoji": True},
                "value": value,
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }


def slash_command(
    text: str,
    *,
    channel_id: str,
    response_url: str,
    user_id: str = "U0EDITOR1",
    team_id: str = TEAM_ID,
    channel_name: str = "desk",
) -> dict[str, Any]:
    """A `slash_commands` envelope's payload (the slash command's form fields, as JSON)."""
    return {
        "token": "verification-token-unused-in-socket-mode",
        "team_id": team_id,
        "team_domain": "watchdesk-stub",
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": "editor",
        "command": "/watchdesk",
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": "1234567890.123456789.abcdef",
    }


@pytest.fixture
def socket_mode() -> Iterator[SocketModeStub]:
    with SocketModeStub() as stub:
        yield stub
