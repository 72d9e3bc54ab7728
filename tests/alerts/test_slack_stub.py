"""The loopback Slack API stub behaves like the parts of Slack that watchdesk relies on."""

from __future__ import annotations

import json
import socket
import threading
import urllib.parse
import urllib.request
from http.client import RemoteDisconnected
from urllib.error import HTTPError, URLError

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from tests.slack_stub import SlackStub, StubRequest
from tests.slack_stub import slack_stub as slack_stub  # the exported fixture, used below


def _client(stub: SlackStub, token: str | None = None) -> WebClient:
    # No retry handlers: these tests look at what the stub does to each single request.
    return WebClient(token=token or stub.token, base_url=stub.base_url, retry_handlers=[])


def _post_form(stub: SlackStub, method: str, data: dict[str, str], token: str) -> dict:
    body = urllib.parse.urlencode(data).encode()
    req = urllib.request.Request(stub.base_url + method, data=body, method="POST")
    req.add_header("Authorization", f"Bearer {token}")
    req.add_header("Content-Type", "application/x-www-form-urlencoded")
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read())


def test_fixture_is_a_started_stub(slack_stub: SlackStub) -> None:
    assert slack_stub.base_url.startswith("http://127.0.0.1:")
    assert slack_stub.base_url.endswith("/api/")
    assert _client(slack_stub).auth_test()["ok"] is True


def test_auth_test_checks_the_bearer_token() -> None:
    with SlackStub() as stub:
        assert _client(stub).auth_test()["team"] == "watchdesk-stub"
        with pytest.raises(SlackApiError) as err:
            _client(stub, "xoxb-wrong").auth_test()
        assert err.value.response["error"] == "invalid_auth"
        assert [r.method for r in stub.requests()] == ["auth.test", "auth.test"]


def test_post_message_records_json_body_and_headers() -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    with SlackStub() as stub:
        resp = _client(stub).chat_postMessage(
            channel="#desk", text="hi", blocks=blocks, thread_ts="1.000001", unfurl_links=False
        )
        (req,) = stub.requests()
    assert resp["ok"] and resp["channel"] == stub.channel_id("#desk") and resp["ts"] == req.ts
    assert (req.method, req.channel, req.text) == ("chat.postMessage", "#desk", "hi")
    assert req.blocks == blocks
    assert req.thread_ts == "1.000001"
    assert req.params["unfurl_links"] is False
    assert req.headers["Authorization"] == f"Bearer {stub.token}"
    assert stub.messages() == [req]


def test_form_encoded_body_is_parsed_with_json_blocks() -> None:
    blocks = [{"type": "divider"}]
    with SlackStub() as stub:
        answer = _post_form(
            stub,
            "chat.postMessage",
            {"channel": "C1", "text": "x", "blocks": json.dumps(blocks), "unfurl_links": "0"},
            stub.token,
        )
        (req,) = stub.requests()
    assert answer["ok"] is True
    assert req.blocks == blocks and req.params["unfurl_links"] is False


def test_ts_are_unique_and_increasing_across_threads() -> None:
    with SlackStub() as stub:
        client = _client(stub)

        def post(i: int) -> None:
            client.chat_postMessage(channel="#desk", text=f"m{i}")

        threads = [threading.Thread(target=post, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        requests = stub.wait_for(16)
    ts = [r.ts for r in requests]
    assert len(set(ts)) == 16
    assert sorted(ts, key=float) == sorted(ts)  # equal-length strings sort like numbers
    assert {r.text for r in requests} == {f"m{i}" for i in range(16)}


def test_programmed_failures_apply_in_order_then_normal_answers() -> None:
    with SlackStub() as stub:
        stub.rate_limit(retry_after=7)
        stub.server_error(status=503)
        stub.api_error("is_archived")
        client = _client(stub)
        with pytest.raises(SlackApiError) as e429:
            client.chat_postMessage(channel="#d", text="1")
        assert e429.value.response.status_code == 429
        assert e429.value.response.headers["Retry-After"] == "7"
        with pytest.raises(SlackApiError) as e503:
            client.chat_postMessage(channel="#d", text="2")
        assert e503.value.response.status_code == 503
        with pytest.raises(SlackApiError) as archived:
            client.chat_postMessage(channel="#d", text="3")
        assert archived.value.response["error"] == "is_archived"
        assert client.chat_postMessage(channel="#d", text="4")["ok"]
        statuses = [(r.status, r.error) for r in stub.requests()]
    assert statuses == [
        (429, "ratelimited"),
        (503, "internal_error"),
        (200, "is_archived"),
        (200, ""),
    ]


def test_drop_closes_the_connection_without_an_answer() -> None:
    with SlackStub() as stub:
        stub.drop()
        with pytest.raises((RemoteDisconnected, ConnectionError, URLError)):
            _client(stub).chat_postMessage(channel="#d", text="x")
        (req,) = stub.requests()
    assert req.status == 0 and req.text == "x"  # the request was read, then dropped


def test_down_refuses_connections_and_up_listens_again_on_the_same_port() -> None:
    with SlackStub() as stub:
        port = stub.port
        stub.down()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        stub.up()
        assert stub.port == port
        assert _client(stub).chat_postMessage(channel="#d", text="back")["ok"]


def test_known_channels_answer_channel_not_found_for_others() -> None:
    with SlackStub(channels={"#desk"}) as stub:
        client = _client(stub)
        assert client.chat_postMessage(channel="#desk", text="x")["ok"]
        with pytest.raises(SlackApiError) as err:
            client.chat_postMessage(channel="#nope", text="x")
    assert err.value.response["error"] == "channel_not_found"


def test_context_manager_stops_listening() -> None:
    with SlackStub() as stub:
        port = stub.port
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_missing_token_is_not_authed() -> None:
    with SlackStub() as stub:
        req = urllib.request.Request(stub.base_url + "auth.test", data=b"", method="POST")
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert json.loads(resp.read()) == {"ok": False, "error": "not_authed"}


def test_wait_for_times_out() -> None:
    with SlackStub() as stub, pytest.raises(TimeoutError):
        stub.wait_for(1, timeout=0.1)


def test_unknown_method_and_reset() -> None:
    with SlackStub() as stub:
        with pytest.raises(SlackApiError) as err:
            _client(stub).api_call("conversations.nope")
        assert err.value.response["error"] == "unknown_method"
        stub.rate_limit()
        stub.reset()
        assert stub.requests() == []
        assert _client(stub).auth_test()["ok"]  # the failure was forgotten too


def test_stub_request_is_a_plain_record() -> None:
    req = StubRequest("chat.postMessage", {"channel": "C1"}, {}, 200, "", "1.000001")
    assert req.ok and req.channel == "C1" and req.text is None and req.blocks is None


def test_http_errors_are_real_http_statuses() -> None:
    with SlackStub() as stub:
        stub.server_error(status=502)
        with pytest.raises(HTTPError) as err:
            _post_form(stub, "auth.test", {}, stub.token)
        assert err.value.code == 502
