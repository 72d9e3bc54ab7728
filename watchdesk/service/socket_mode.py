"""The desk's Socket Mode connection: slack-sdk's own `SocketModeClient` (the built-in
implementation, which needs no extra package), started by `watchdesk run` when
SLACK_APP_TOKEN is set.

Socket Mode means no public URL: the app opens a websocket to Slack (`apps.connections.open`
with the app-level `xapp-` token) and Slack sends button clicks and slash commands down it as
envelopes. Each envelope is acknowledged first (Slack's 3 s), then handled: a click is
recorded (retrying while the store is busy, so an acknowledged click is not lost) and the
message updated with `chat.update`; a slash command is answered through its `response_url`,
ephemerally. The client reconnects on its own when the socket drops or Slack asks it to.
Tokens come only from the environment and are never logged.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import sqlite3
import threading
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web import WebClient
from slack_sdk.webhook import WebhookClient

from alerts.desk import CommandAnswer, Desk, triage
from crawler.stats import Stats

log = logging.getLogger("watchdesk.desk")

SLACK_APP_TOKEN = "SLACK_APP_TOKEN"
# Slack's built-in client pings every 5 s and calls a connection stale after 4 missed pongs;
# its default, kept.
PING_INTERVAL = 5.0
# How long an acknowledged click keeps trying to reach a busy store: the store's own
# busy_timeout is 10 s per attempt; a minute covers a long retention prune or backfill.
RECORD_RETRY_SECONDS = 60.0
# The hosts a response_url may point to: Slack's hooks host, and the configured Web API
# host (tests point SLACK_API_URL at a loopback stub). Anything else is not Slack.
SLACK_HOOKS_HOST = "hooks.slack.com"


class DeskSocket:
    """One Socket Mode connection serving one desk (`alerts.desk.Desk`)."""

    def __init__(
        self,
        desk: Desk,
        app_token: str,
        web: WebClient,
        stats: Stats,
        *,
        ping_interval: float = PING_INTERVAL,
    ) -> None:
        if not app_token.startswith("xapp-"):
            raise ValueError(f"{SLACK_APP_TOKEN} must be an app-level token (xapp-…)")
        self.desk = desk
        self.web = web
        self.stats = stats
        self._hosts = {SLACK_HOOKS_HOST, urlsplit(web.base_url).netloc}
        self.client = SocketModeClient(
            app_token=app_token,
            web_client=web,
            auto_reconnect_enabled=True,
            ping_interval=ping_interval,
            logger=logging.getLogger("watchdesk.desk.socket"),
        )
        self.client.socket_mode_request_listeners.append(self._on_request)
        self._closed = threading.Event()

    def start(self) -> None:
        """Open the connection (raises SlackApiError when Slack refuses the app token)."""
        self.client.connect()
        log.info("desk connected over Socket Mode")

    def close(self) -> None:
        """Stop reconnecting and close the connection. The socket is shut down first: the
        client's receive holds its lock for up to its 3 s read timeout, and closing would wait
        for it."""
        self._closed.set()
        self.client.auto_reconnect_enabled = False
        self.client.default_auto_reconnect_enabled = False
        session = self.client.current_session
        sock = session.sock if session is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self.client.close()

    # --- envelopes -------------------------------------------------------------------------

    def _on_request(self, client: Any, request: SocketModeRequest) -> None:
        # Acknowledge before anything else: Slack retries (and shows the user an error) when
        # the acknowledgement takes more than 3 seconds.
        client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id))
        payload = request.payload if isinstance(request.payload, Mapping) else {}
        try:
            if request.type == "interactive" and payload.get("type") == "block_actions":
                self.handle_click(payload)
            elif request.type == "slash_commands":
                self.handle_command(payload)
            else:
                self.stats.inc("desk/envelope/ignored")
        except Exception:  # one bad envelope must not stop the desk
            self.stats.inc("desk/envelope/crashed")
            log.exception("desk envelope crashed type=%s", request.type)

    def handle_click(self, payload: Mapping[str, Any]) -> None:
        result = self._retry_busy(lambda: self.desk.handle_click(payload))
        self.stats.inc(f"desk/click/{result.outcome}")
        if result.outcome == "refused":
            log.warning("desk click refused alert=%s reason=%s", result.alert_id, result.reason)
            if result.notice:
                self._respond(payload, CommandAnswer(result.notice).message())
            return
        if result.update is None:
            return
        try:
            self.web.chat_update(**result.update)
        except (SlackApiError, SlackClientError, OSError) as exc:
            # the verdict is recorded; only its display on the message failed
            self.stats.inc("desk/update/failed")
            log.warning("chat.update failed alert=%s: %s", result.alert_id, _describe(exc))

    def handle_command(self, payload: Mapping[str, Any]) -> None:
        try:
            answer = self._retry_busy(lambda: self.desk.handle_command(payload))
        except Exception:  # the user still gets an answer, never a traceback
            log.exception("desk command crashed")
            self.stats.inc("desk/command/crashed")
            answer = CommandAnswer("That went wrong on watchdesk's side; the error is in its log.")
        self.stats.inc("desk/command/answered")
        self._respond(payload, answer.message())
        if answer.announce:
            channel = str(payload.get("channel_id") or "")
            try:
                self.web.chat_postMessage(channel=channel, text=answer.announce, mrkdwn=True)
            except (SlackApiError, SlackClientError, OSError) as exc:
                log.warning("announcement failed: %s", _describe(exc))

    def _respond(self, payload: Mapping[str, Any], message: dict[str, Any]) -> None:
        url = str(payload.get("response_url") or "")
        if not url or urlsplit(url).netloc not in self._hosts:
            self.stats.inc("desk/respond/no_url")
            return
        try:
            WebhookClient(url, timeout=10).send_dict(message)
        except OSError as exc:
            log.warning("response_url failed: %s", _describe(exc))

    def _retry_busy(self, work: Any) -> Any:
        """Run `work`, retrying while SQLite says the database is locked (another process is
        writing), for up to RECORD_RETRY_SECONDS."""
        deadline = time.monotonic() + RECORD_RETRY_SECONDS
        pause = 0.1
        while True:
            try:
                return work()
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                self.stats.inc("desk/store/busy")
                if self._closed.wait(pause):
                    raise
                pause = min(pause * 2, 2.0)


def open_desk_socket(
    desk_for_team: Any,
    environ: Mapping[str, str],
    stats: Stats,
    *,
    explain_base: str = "",
    ping_interval: float = PING_INTERVAL,
) -> DeskSocket | None:
    """The desk's Socket Mode connection, started, when SLACK_APP_TOKEN is set; None without it.

    `desk_for_team(team_id)` builds the desk once the bot's workspace is known (`auth.test`
    with SLACK_BOT_TOKEN). SLACK_API_URL overrides the Web API base, and so where
    `apps.connections.open` is asked. Raises ValueError naming the variable that is missing
    or wrong.
    """
    app_token = environ.get(SLACK_APP_TOKEN, "").strip()
    if not app_token:
        return None
    bot_token = environ.get("SLACK_BOT_TOKEN", "").strip()
    if not bot_token:
        raise ValueError(f"{SLACK_APP_TOKEN} is set but SLACK_BOT_TOKEN is not (the bot token)")
    base_url = environ.get("SLACK_API_URL", "").strip() or WebClient.BASE_URL
    web = WebClient(token=bot_token, base_url=base_url, timeout=10)
    try:
        team_id = str(web.auth_test().get("team_id") or "")
    except SlackApiError as exc:
        raise ValueError(f"SLACK_BOT_TOKEN: auth.test failed: {_describe(exc)}") from None
    desk = DeskSocket(desk_for_team(team_id), app_token, web, stats, ping_interval=ping_interval)
    triage.enabled = True
    triage.explain_base = explain_base
    try:
        desk.start()
    except SlackApiError as exc:
        triage.enabled = False
        desk.close()
        raise ValueError(
            f"{SLACK_APP_TOKEN}: apps.connections.open failed: {_describe(exc)}"
        ) from None
    return desk


def close_desk_socket(desk: DeskSocket | None) -> None:
    """Take the buttons off new alerts and close the connection (None: nothing to do)."""
    if desk is None:
        return
    triage.enabled = False
    desk.close()


def _describe(exc: BaseException) -> str:
    """A token-free description: Slack's error code, or the exception's type."""
    if isinstance(exc, SlackApiError):
        data = exc.response.data if isinstance(exc.response.data, dict) else {}
        return str(data.get("error") or f"HTTP {exc.response.status_code}")
    return type(exc).__name__
