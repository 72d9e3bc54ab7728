"""The delivery sinks against real endpoints: the Slack stub, files, a loopback HTTP server."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from alerts.message import render_story
from alerts.sinks import (
    SINKS,
    JsonlSink,
    SinkConfigError,
    SlackSink,
    TerminalSink,
    WebhookSink,
    build_sink,
)
from alerts.sinks.base import DeliveryResult
from alerts.sinks.terminal import message_lines
from alerts.sinks.webhook import parse_retry_after
from alerts.watchlist import Watchlist
from crawler.article import Article, Entity
from crawler.records import Alert
from tests.slack_stub import SlackStub

MESSAGE: dict[str, Any] = {
    "text": "[desk] <https://example.com/a|Oxford reviews sister city tie>",
    "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": "desk"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*Places* Oxford ↔ Wuhan"}},
    ],
}


def _alert(**kw: Any) -> Alert:
    fields = {"watchlist": "desk", "article_id": "a1", "channel": "#china-desk", "id": 7}
    return Alert(**{**fields, **kw})


@pytest.fixture
def sink(stub: SlackStub) -> SlackSink:
    return SlackSink(stub.token, stub.base_url, timeout=2)


# --- Slack ------------------------------------------------------------------------------------


def test_story_is_posted_with_exact_shape(stub: SlackStub, sink: SlackSink) -> None:
    article = Article(
        url="https://example.com/a?x=1&y=2",
        canonical_url="https://example.com/a?x=1&y=2",
        source="Oxford Eagle",
        title="Oxford <!channel> reviews sister city tie",
        text="Oxford reviews its sister city agreement with Wuhan.",
        published=datetime(2024, 5, 1, 14, 3, tzinfo=UTC),
        entities=[
            Entity("g:1", "Oxford", "place", country="US", region="Mississippi"),
            Entity("g:2", "Wuhan", "place", country="CN", region="Hubei"),
        ],
    )
    watchlist = Watchlist.model_construct(name="desk", query="x", delivery="instant")
    message = render_story(_alert(), article, watchlist, [])
    result = sink.deliver(_alert(), message)

    (req,) = stub.requests()
    assert result == DeliveryResult(ok=True, message_id=req.ts)
    assert req.method == "chat.postMessage"
    assert req.channel == "#china-desk"  # as written in the alert
    assert req.text == message["text"]
    assert req.blocks == message["blocks"]
    assert req.thread_ts is None
    assert req.params["unfurl_links"] is False and req.params["unfurl_media"] is False
    assert "<!channel>" not in json.dumps(req.params)  # escaped on the wire too
    assert req.headers["Authorization"] == f"Bearer {stub.token}"


def test_copy_is_posted_in_the_story_thread(stub: SlackStub, sink: SlackSink) -> None:
    first = sink.deliver(_alert(), MESSAGE)
    reply = sink.deliver(_alert(kind="copy", thread_ts=first.message_id), MESSAGE)
    assert reply.ok and reply.message_id != first.message_id
    assert [r.thread_ts for r in stub.requests()] == [None, first.message_id]


def test_rate_limit_gives_retry_after_without_sleeping(stub: SlackStub, sink: SlackSink) -> None:
    stub.rate_limit(retry_after=7)
    started = time.monotonic()
    result = sink.deliver(_alert(), MESSAGE)
    assert time.monotonic() - started < 2  # slack_sdk did not wait the 7 s itself
    assert (result.ok, result.permanent, result.retry_after) == (False, False, 7.0)
    assert "ratelimited" in result.error
    assert len(stub.requests()) == 1


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retryable(stub: SlackStub, sink: SlackSink, status: int) -> None:
    stub.server_error(status=status)
    result = sink.deliver(_alert(), MESSAGE)
    assert not result.ok and not result.permanent and result.retry_after is None
    assert f"HTTP {status}" in result.error
    assert len(stub.requests()) == 1


def test_dropped_connection_is_retryable_and_not_retried_inside(
    stub: SlackStub, sink: SlackSink
) -> None:
    stub.drop()
    result = sink.deliver(_alert(), MESSAGE)
    assert not result.ok and not result.permanent
    assert "connection" in result.error
    # The request reached the server: retrying inside deliver could post it twice.
    assert len(stub.requests()) == 1


def test_slack_down_is_retryable_and_quick(stub: SlackStub, sink: SlackSink) -> None:
    stub.down()
    started = time.monotonic()
    result = sink.deliver(_alert(), MESSAGE)
    assert time.monotonic() - started < 2
    assert not result.ok and not result.permanent
    assert "refused" in result.error.lower()


def test_refused_connection_is_retried_once_inside(stub: SlackStub, sink: SlackSink) -> None:
    stub.down()
    threading.Timer(0.05, stub.up).start()  # back before the 0.25 s retry
    result = sink.deliver(_alert(), MESSAGE)
    assert result.ok, result.error


def test_timeout_is_retryable(stub: SlackStub) -> None:
    stub.delay(3)
    sink = SlackSink(stub.token, stub.base_url, timeout=0.3)
    started = time.monotonic()
    result = sink.deliver(_alert(), MESSAGE)
    assert time.monotonic() - started < 2
    assert not result.ok and not result.permanent
    assert "timed out" in result.error


@pytest.mark.parametrize(
    "error",
    ["channel_not_found", "not_in_channel", "invalid_auth", "account_inactive", "is_archived"],
)
def test_permanent_slack_errors(stub: SlackStub, sink: SlackSink, error: str) -> None:
    stub.api_error(error)
    result = sink.deliver(_alert(), MESSAGE)
    assert (result.ok, result.permanent) == (False, True)
    assert error in result.error


def test_unknown_slack_error_is_retryable(stub: SlackStub, sink: SlackSink) -> None:
    stub.api_error("fatal_error")
    result = sink.deliver(_alert(), MESSAGE)
    assert not result.ok and not result.permanent


def test_wrong_token_is_permanent(stub: SlackStub) -> None:
    result = SlackSink("xoxb-not-the-right-one", stub.base_url).deliver(_alert(), MESSAGE)
    assert result.permanent and "invalid_auth" in result.error


def test_alert_without_channel_is_permanent_and_not_sent(stub: SlackStub, sink: SlackSink) -> None:
    result = sink.deliver(_alert(channel=""), MESSAGE)
    assert result.permanent and stub.requests() == []


def test_alert_without_channel_goes_to_the_default_channel(stub: SlackStub) -> None:
    sink = build_sink("slack", environ=stub.env(), default_channel="#watchdesk")
    assert sink.deliver(_alert(channel=""), MESSAGE).ok
    assert sink.deliver(_alert(channel="C0123"), MESSAGE).ok
    assert [r["channel"] for r in stub.messages()] == ["#watchdesk", "C0123"]


def test_check_calls_auth_test(stub: SlackStub, sink: SlackSink) -> None:
    assert sink.check() == DeliveryResult(ok=True, message_id="watchdesk-stub/watchdesk")
    assert SlackSink("xoxb-bad", stub.base_url).check().permanent


def test_token_never_in_logs_errors_or_repr(
    stub: SlackStub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # slack_sdk logs requests and responses at DEBUG
    token = "xoxb-1234567890-SECRETSECRET"
    stub.token = token
    sink = SlackSink(token, stub.base_url, timeout=0.3)
    results = [sink.deliver(_alert(), MESSAGE)]
    for program in (
        lambda: stub.rate_limit(retry_after=1),
        stub.server_error,
        stub.drop,
        lambda: stub.api_error("invalid_auth"),
        lambda: stub.delay(1),
    ):
        program()
        results.append(sink.deliver(_alert(), MESSAGE))
    stub.down()
    results.append(sink.deliver(_alert(), MESSAGE))
    results.append(SlackSink(token, "ftp://nowhere/").deliver(_alert(), MESSAGE))

    assert results[0].ok and not any(r.ok for r in results[1:])
    assert caplog.records, "slack_sdk logged nothing: the test would prove nothing"
    assert token not in caplog.text
    assert "SECRETSECRET" not in caplog.text
    for r in results:
        assert token not in r.error and "SECRETSECRET" not in r.error
    assert token not in repr(sink) and token not in str(sink)


def test_build_slack_sink_reads_token_and_url_from_env(stub: SlackStub) -> None:
    sink = build_sink("slack", environ=stub.env(), base_url="https://slack.com/api/")
    assert isinstance(sink, SlackSink)
    assert sink.base_url == stub.base_url  # SLACK_API_URL overrides the option
    assert sink.deliver(_alert(), MESSAGE).ok


def test_build_slack_sink_without_token_names_the_variable() -> None:
    with pytest.raises(SinkConfigError, match="SLACK_BOT_TOKEN"):
        build_sink("slack", environ={})


def test_build_slack_sink_refuses_a_token_option_without_echoing_it() -> None:
    with pytest.raises(SinkConfigError) as err:
        build_sink("slack", environ={"SLACK_BOT_TOKEN": "xoxb-1"}, token="xoxb-in-config")
    assert "SLACK_BOT_TOKEN" in str(err.value) and "xoxb-in-config" not in str(err.value)


# --- the registry -----------------------------------------------------------------------------


def test_registry_names() -> None:
    assert sorted(SINKS) == ["jsonl", "slack", "terminal", "webhook"]


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("email", {}, "unknown sink 'email' (known: jsonl, slack, terminal, webhook)"),
        ("jsonl", {}, "sink 'jsonl': missing required option 'path'"),
        ("webhook", {}, "sink 'webhook': missing required option 'url'"),
        ("jsonl", {"path": "x", "colour": True}, "sink 'jsonl': unknown option 'colour'"),
        ("terminal", {"color": "yes"}, "sink 'terminal': option 'color' must be bool, not str"),
        ("webhook", {"url": "http://h/", "timeout": True}, "option 'timeout' must be float"),
        ("webhook", {"url": "file:///etc/passwd"}, "option 'url' must be an http(s) URL"),
        ("webhook", {"url": "http://h/", "timeout": -1}, "option 'timeout' must be positive"),
        (
            "webhook",
            {"url": "http://h/", "headers": {"Authorization": "HOOK_AUTH"}},
            "environment variable HOOK_AUTH (for header 'Authorization') is not set",
        ),
        ("slack", {"base_url": "slack.com"}, "option 'base_url' must be an http(s) URL"),
    ],
)
def test_build_sink_errors_name_the_problem(name: str, options: dict, message: str) -> None:
    with pytest.raises(SinkConfigError) as err:
        build_sink(name, environ={"SLACK_BOT_TOKEN": "xoxb-1"}, **options)
    assert message in str(err.value)


def test_build_sink_ignores_none_options(tmp_path: Path) -> None:
    sink = build_sink("jsonl", environ={}, path=str(tmp_path / "a.jsonl"), fsync=None)
    assert isinstance(sink, JsonlSink) and sink.fsync


# --- JSON Lines -------------------------------------------------------------------------------


def test_jsonl_appends_one_object_per_line(tmp_path: Path) -> None:
    path = tmp_path / "out" / "alerts.jsonl"
    path.parent.mkdir()
    path.write_text('{"earlier": true}\n')
    sink = build_sink("jsonl", environ={}, path=str(path))
    created = datetime(2024, 5, 1, tzinfo=UTC)
    hostile = {"text": "Wuhan 武汉 \ud800 <!channel>", "blocks": []}
    r1 = sink.deliver(_alert(created=created), MESSAGE)
    r2 = sink.deliver(_alert(kind="copy", thread_ts="1.000001"), hostile)

    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3 and json.loads(lines[0]) == {"earlier": True}
    first, second = (json.loads(line) for line in lines[1:])
    assert r1.ok and first["message_id"] == r1.message_id
    assert first["message"] == MESSAGE
    assert first["alert"]["channel"] == "#china-desk"
    assert first["alert"]["created"] == "2024-05-01T00:00:00+00:00"
    assert "payload" not in first["alert"]
    assert r2.ok and second["alert"]["thread_ts"] == "1.000001"
    assert "武汉" in lines[2]  # readable UTF-8, not \u escapes


def test_jsonl_creates_parent_directories(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "alerts.jsonl"
    assert JsonlSink(path).deliver(_alert(), MESSAGE).ok
    assert path.exists()


def test_jsonl_write_failure_is_a_result_not_an_exception(tmp_path: Path) -> None:
    result = JsonlSink(tmp_path).deliver(_alert(), MESSAGE)  # a directory, not a file
    assert not result.ok and not result.permanent and "jsonl:" in result.error


def test_jsonl_concurrent_writers_do_not_interleave(tmp_path: Path) -> None:
    path = tmp_path / "alerts.jsonl"
    sinks = [JsonlSink(path, fsync=False) for _ in range(4)]
    big = {"text": "x" * 20_000, "blocks": []}

    def write(sink: JsonlSink) -> None:
        for _ in range(10):
            assert sink.deliver(_alert(), big).ok

    threads = [threading.Thread(target=write, args=(s,)) for s in sinks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = path.read_text().splitlines()
    assert len(lines) == 40 and all(json.loads(line)["message"] == big for line in lines)


# --- webhook ----------------------------------------------------------------------------------


class _Receiver:
    """A loopback webhook receiver answering from a queue of (status, headers, body)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.answers: list[tuple[int, dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append((self.path, dict(self.headers.items()), body))
                status, headers, payload = (
                    receiver.answers.pop(0) if receiver.answers else (200, {}, b'{"id": "r-1"}')
                )
                if status == -1:
                    time.sleep(1)
                    status = 200
                with contextlib.suppress(OSError):  # the client may have timed out
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook/secret-path"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    r = _Receiver()
    yield r
    r.close()


def test_webhook_posts_json_with_headers_from_env(receiver: _Receiver) -> None:
    sink = build_sink(
        "webhook",
        environ={"HOOK_AUTH": "Bearer hook-secret"},
        url=receiver.url,
        headers={"Authorization": "HOOK_AUTH"},
    )
    result = sink.deliver(_alert(), MESSAGE)
    assert result == DeliveryResult(ok=True, message_id="r-1")
    ((path, headers, body),) = receiver.requests
    assert path == "/hook/secret-path"
    assert headers["Authorization"] == "Bearer hook-secret"
    assert headers["Content-Type"].startswith("application/json")
    sent = json.loads(body)
    assert sent["text"] == MESSAGE["text"] and sent["blocks"] == MESSAGE["blocks"]
    assert sent["alert"]["watchlist"] == "desk" and sent["alert"]["channel"] == "#china-desk"
    assert "hook-secret" not in repr(sink) and "secret-path" not in repr(sink)


@pytest.mark.parametrize(
    ("answer", "permanent", "retry_after"),
    [
        ((429, {"Retry-After": "12"}, b""), False, 12.0),
        ((503, {}, b"busy"), False, None),
        ((500, {"Retry-After": "3"}, b""), False, 3.0),
        ((408, {}, b""), False, None),
        ((400, {}, b"bad"), True, None),
        ((404, {}, b""), True, None),
        ((302, {"Location": "http://elsewhere.example/x?key=1"}, b""), True, None),
    ],
)
def test_webhook_status_mapping(
    receiver: _Receiver,
    answer: tuple[int, dict[str, str], bytes],
    permanent: bool,
    retry_after: float | None,
) -> None:
    receiver.answers.append(answer)
    result = WebhookSink(receiver.url).deliver(_alert(), MESSAGE)
    assert (result.ok, result.permanent, result.retry_after) == (False, permanent, retry_after)
    assert f"HTTP {answer[0]}" in result.error
    assert len(receiver.requests) == 1  # redirects are not followed


def test_webhook_error_never_quotes_header_values(receiver: _Receiver) -> None:
    receiver.answers.append((401, {}, b"bad token Bearer hook-secret"))
    sink = WebhookSink(receiver.url, headers={"Authorization": "Bearer hook-secret"})
    result = sink.deliver(_alert(), MESSAGE)
    assert result.permanent and "hook-secret" not in result.error


def test_webhook_connection_refused_and_timeout_are_retryable(receiver: _Receiver) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    refused = WebhookSink(f"http://127.0.0.1:{port}/").deliver(_alert(), MESSAGE)
    assert not refused.ok and not refused.permanent

    receiver.answers.append((-1, {}, b"{}"))  # answer after 1 s
    slow = WebhookSink(receiver.url, timeout=0.2).deliver(_alert(), MESSAGE)
    assert not slow.ok and not slow.permanent and "timed out" in slow.error


def test_parse_retry_after() -> None:
    now = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Wed, 01 May 2024 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("Wed, 01 May 2024 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-5") is None
    assert parse_retry_after(None) is None


# --- terminal ---------------------------------------------------------------------------------


def test_terminal_prints_plain_text_without_control_characters() -> None:
    out = io.StringIO()
    sink = TerminalSink(Console(file=out, width=120, color_system=None))
    message = {
        "text": "fallback",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "desk\x1b]0;pwned\x07"}},
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "*<https://e.com/a?x=1&amp;y=2"
                    "|Red \x1b[31m[bold]alert[/bold] &lt;!channel&gt;>*",
                },
            },
            {"type": "section", "text": {"type": "mrkdwn", "text": "*Places* Oxford ↔ Wuhan"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "Matched: *Wuhan*"}]},
        ],
    }
    result = sink.deliver(_alert(), message)
    printed = out.getvalue()
    assert result.ok and result.message_id == "terminal-1"
    assert "\x1b" not in printed and "\x07" not in printed
    assert "Red [31m[bold]alert[/bold] <!channel> (https://e.com/a?x=1&y=2)" in printed
    assert "Places Oxford ↔ Wuhan" in printed
    assert "Matched: Wuhan" in printed
    assert "desk · story → #china-desk" in printed


def test_terminal_falls_back_to_text_without_blocks() -> None:
    assert message_lines({"text": "a &amp; b\nc"}) == ["a & b", "c"]


def test_build_terminal_sink() -> None:
    assert isinstance(build_sink("terminal", environ={}, color=False), TerminalSink)
