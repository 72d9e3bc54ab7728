"""The two-way desk end to end: real slack-sdk (its built-in SocketModeClient and WebClient)
against the loopback Socket Mode stand-in, real SQLite, the real outbox posting the alerts.

Each test posts story alerts through the outbox (so the buttons and the message ts are what
Slack would hold), then plays Slack: envelopes down the websocket, acknowledgements checked
within 3 s, chat.update and response_url answers read back from the Web API stub.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from alerts.desk import (
    ACTION_EXPLAIN,
    ACTION_MUTE_STORY,
    ACTION_NOT_RELEVANT,
    ACTION_RELEVANT,
    Desk,
    triage,
)
from alerts.outbox import Outbox
from alerts.sinks import SlackSink
from alerts.watchlist import Watchlist, WatchlistSet
from crawler.search.embedded import EmbeddedArchive
from crawler.stats import Stats
from crawler.storage import Store
from tests.alerts.helpers import ingest, make_article
from tests.socket_mode_stub import (
    ACK_DEADLINE,
    TEAM_ID,
    SocketModeStub,
    block_actions,
    slash_command,
)
from watchdesk.service.socket_mode import DeskSocket, close_desk_socket, open_desk_socket

DESK = Watchlist(name="sister-cities", query='"sister city"', channel="#desk")
OTHER = Watchlist(name="confucius", query='"Confucius Institute"', channel="#education")
WATCHLISTS = WatchlistSet([DESK, OTHER], [])


@dataclass
class Rig:
    slack: SocketModeStub
    store: Store
    socket: DeskSocket
    outbox: Outbox
    stats: Stats

    def post(self, n: int, title: str, **kw: Any) -> int:
        """Ingest an article and deliver its alerts; returns the story alert's id."""
        ingest(self.store, WATCHLISTS, make_article(n, title, **kw))
        # waits out the 1-per-second pacing of posts to one channel (issue 17)
        self.outbox.deliver_due(wait=3.0)
        alert = self.store.list_alerts(limit=1)[0]
        assert alert.id is not None and alert.status == "delivered", alert
        return alert.id

    def click(
        self, alert_id: int, action: str, *, user: str = "U0EDITOR1", **overrides: Any
    ) -> str:
        alert = self.store.alert_by_id(alert_id)
        assert alert is not None
        fields: dict[str, Any] = {
            "action_id": action,
            "value": str(alert_id),
            "channel_id": self.slack.api.channel_id(alert.channel),
            "message_ts": alert.delivered_ts,
            "user_id": user,
            "response_url": self.slack.api.response_url(),
        }
        fields.update(overrides)
        envelope = self.slack.ws.send(
            "interactive", block_actions(**fields), accepts_response_payload=False
        )
        self.slack.ws.wait_ack(envelope)  # within Slack's 3 s, or TimeoutError
        return envelope

    def command(self, text: str, *, channel: str = "#desk", **overrides: Any) -> dict[str, Any]:
        """Send `/watchdesk TEXT`; returns what was posted to its response_url."""
        before = len(self.slack.api.responses())
        payload = slash_command(
            text,
            channel_id=self.slack.api.channel_id(channel),
            channel_name=channel.removeprefix("#"),
            response_url=self.slack.api.response_url(),
        )
        payload.update(overrides)
        envelope = self.slack.ws.send("slash_commands", payload, accepts_response_payload=True)
        self.slack.ws.wait_ack(envelope)
        deadline = time.monotonic() + ACK_DEADLINE
        while time.monotonic() < deadline:
            responses = self.slack.api.responses()
            if len(responses) > before:
                return responses[before]
            time.sleep(0.01)
        raise TimeoutError(f"no response_url answer to /watchdesk {text}")


def wait_until(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        time.sleep(0.01)


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    stats = Stats()
    with SocketModeStub() as slack, Store(tmp_path / "watchdesk.db") as store:

        def desk_for(team_id: str) -> Desk:
            return Desk(
                store=store,
                watchlists=lambda: WATCHLISTS,
                team_id=team_id,
                archive=lambda: EmbeddedArchive(store),
            )

        socket = open_desk_socket(
            desk_for,
            slack.env(),
            stats,
            explain_base="http://127.0.0.1:8080/",
            ping_interval=2.0,  # stale after 8 s, so a dropped socket is noticed within a test
        )
        assert socket is not None
        slack.ws.wait_connected(1)
        sink = SlackSink(slack.api.token, slack.api.base_url, timeout=2)
        # the real clock: pacing posts to one channel (issue 17) takes real seconds
        outbox = Outbox(store, sink, WATCHLISTS, stats)
        try:
            yield Rig(slack, store, socket, outbox, stats)
        finally:
            close_desk_socket(socket)
    assert not triage.enabled


def test_story_alerts_carry_the_triage_buttons_and_the_explain_link(rig: Rig) -> None:
    alert_id = rig.post(1, "Oxford sister city signed")
    (posted,) = rig.slack.api.messages()
    (actions,) = [b for b in posted.blocks or [] if b["type"] == "actions"]
    ids = [e["action_id"] for e in actions["elements"]]
    assert ids == [ACTION_RELEVANT, ACTION_NOT_RELEVANT, ACTION_MUTE_STORY, ACTION_EXPLAIN]
    assert {e["value"] for e in actions["elements"]} == {str(alert_id)}
    explain = actions["elements"][-1]["url"]
    assert explain.startswith("http://127.0.0.1:8080/watchlists/explain?watchlist=sister-cities")
    # the app token went to apps.connections.open only, never to the other methods
    opens = [r for r in rig.slack.api.requests() if r.method == "apps.connections.open"]
    assert opens and all(r.headers["Authorization"].startswith("Bearer xapp-") for r in opens)
    others = [r for r in rig.slack.api.requests() if r.method != "apps.connections.open"]
    assert all("xapp-" not in r.headers.get("Authorization", "") for r in others)


def test_each_click_is_recorded_shown_escaped_and_a_second_click_replaces_the_first(
    rig: Rig,
) -> None:
    alert_id = rig.post(1, "<!channel> *Oxford* sister city signed")
    rig.click(alert_id, ACTION_RELEVANT)
    wait_until(lambda: len(rig.slack.api.updates()) == 1)
    assert [(v.user, v.verdict) for v in rig.store.alert_verdicts(alert_id)] == [
        ("U0EDITOR1", "relevant")
    ]
    (update,) = rig.slack.api.updates()
    posted = rig.slack.api.messages()[0]
    assert update.params["ts"] == posted.ts
    assert update.params["channel"] == rig.slack.api.channel_id("#desk")
    marker = update.blocks[-1]["elements"][0]["text"]
    assert marker == "marked relevant by <@U0EDITOR1>"
    # the crawled title stays inert in the updated message too
    assert "<!channel>" not in update.params["text"] and "&lt;!channel&gt;" in update.params["text"]

    rig.click(alert_id, ACTION_NOT_RELEVANT)
    wait_until(lambda: len(rig.slack.api.updates()) == 2)
    assert [(v.user, v.verdict) for v in rig.store.alert_verdicts(alert_id)] == [
        ("U0EDITOR1", "not_relevant")
    ]
    marker = rig.slack.api.updates()[-1].blocks[-1]["elements"][0]["text"]
    assert marker == "marked not relevant by <@U0EDITOR1>"

    rig.click(alert_id, ACTION_RELEVANT, user="U0EDITOR2")
    wait_until(lambda: len(rig.slack.api.updates()) == 3)
    marker = rig.slack.api.updates()[-1].blocks[-1]["elements"][0]["text"]
    assert marker == "marked not relevant by <@U0EDITOR1> · marked relevant by <@U0EDITOR2>"
    assert rig.stats.get("desk/click/recorded") == 3


def test_clicks_from_another_channel_or_workspace_are_refused(rig: Rig) -> None:
    alert_id = rig.post(1, "Oxford sister city signed")
    # the desk's own message ts, but the envelope says another channel
    rig.click(alert_id, ACTION_NOT_RELEVANT, channel_id="C0ELSEWHERE", channel_name="elsewhere")
    # the right channel, but another message (a forged value naming this alert)
    rig.click(alert_id, ACTION_NOT_RELEVANT, message_ts="1700000000.000100")
    # another workspace
    rig.click(alert_id, ACTION_NOT_RELEVANT, team_id="T0OTHERTEAM")
    wait_until(lambda: rig.stats.get("desk/click/refused") == 3)
    wait_until(lambda: len(rig.slack.api.responses()) == 2)  # answered after the count
    time.sleep(0.2)  # nothing more arrives
    assert rig.store.alert_verdicts(alert_id) == []
    assert rig.slack.api.updates() == []
    notices = rig.slack.api.responses()
    assert len(notices) == 2  # the user is told; the other workspace is not answered
    assert all(n["response_type"] == "ephemeral" for n in notices)
    assert "nothing recorded" in notices[0]["text"]


def test_mute_story_stops_the_next_syndicated_copy_thread_reply(rig: Rig) -> None:
    alert_id = rig.post(0, "Oxford sister city signed", cluster="story-1")
    rig.click(alert_id, ACTION_MUTE_STORY)
    wait_until(lambda: len(rig.slack.api.updates()) == 1)
    marker = rig.slack.api.updates()[0].blocks[-1]["elements"][0]["text"]
    assert marker == "story muted in this channel"
    ingest(
        rig.store,
        WATCHLISTS,
        make_article(1, "Oxford sister city", source="gazette", cluster="story-1"),
    )
    rig.outbox.deliver_due()
    assert [m.thread_ts for m in rig.slack.api.messages()] == [None]
    # another story still alerts
    rig.post(2, "Another sister city", source="gazette", cluster="story-2")
    assert len(rig.slack.api.messages()) == 2


def test_the_socket_drops_mid_session_and_the_next_click_is_recorded(rig: Rig) -> None:
    alert_id = rig.post(1, "Oxford sister city signed")
    rig.slack.ws.drop()
    rig.slack.ws.wait_connected(2, timeout=20)
    rig.click(alert_id, ACTION_RELEVANT)
    wait_until(lambda: len(rig.store.alert_verdicts(alert_id)) == 1)
    opens = [r for r in rig.slack.api.requests() if r.method == "apps.connections.open"]
    assert len(opens) == 2  # a fresh URL for the new connection


def test_slacks_disconnect_message_makes_a_new_connection(rig: Rig) -> None:
    alert_id = rig.post(1, "Oxford sister city signed")
    rig.slack.ws.disconnect()  # "refresh_requested", as Slack sends every few hours
    rig.slack.ws.wait_connected(2, timeout=20)
    rig.click(alert_id, ACTION_NOT_RELEVANT)
    wait_until(lambda: len(rig.store.alert_verdicts(alert_id)) == 1)


def test_a_click_while_another_process_writes_is_acknowledged_and_not_lost(
    rig: Rig, tmp_path: Path
) -> None:
    alert_id = rig.post(1, "Oxford sister city signed")
    writer = sqlite3.connect(
        tmp_path / "watchdesk.db", isolation_level=None, check_same_thread=False
    )
    writer.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    released = threading.Timer(4.0, lambda: writer.execute("COMMIT"))
    released.start()
    try:
        started = time.monotonic()
        rig.click(alert_id, ACTION_RELEVANT)  # acknowledged within 3 s all the same
        assert time.monotonic() - started < ACK_DEADLINE
        wait_until(lambda: len(rig.store.alert_verdicts(alert_id)) == 1, timeout=15)
    finally:
        released.join()
        writer.close()


def test_slash_search_answers_the_top_hits_ephemerally(rig: Rig) -> None:
    for n in range(7):
        rig.post(n, f"Sister city story {n}", cluster=f"s{n}")
    answer = rig.command('search "sister city"')
    assert answer["response_type"] == "ephemeral"
    text = answer["text"]
    assert text.startswith("Top 5 of 7 stories")
    assert text.count("• <https://news.example/clarion/") == 5
    assert "Oxford" in text and "clarion" in text and "<!date^" in text
    assert len(answer["blocks"]) == 1 and len(answer["blocks"][0]["text"]["text"]) <= 3000


def test_slash_search_answers_stories_not_copies(rig: Rig) -> None:
    for n in range(3):  # one story syndicated three times, and one story alone
        rig.post(n, "Sister city pact signed", cluster="pact")
    rig.post(3, "Sister city review", cluster="review")
    text = rig.command('search "sister city"')["text"]
    assert text.startswith("Top 2 of 2 stories")
    assert text.count("• <https://news.example/clarion/") == 2
    assert text.count("+2 copies") == 1


def test_slash_search_with_a_bad_query_answers_the_caret_message(rig: Rig) -> None:
    answer = rig.command('search "sister city')
    assert answer["response_type"] == "ephemeral"
    assert answer["text"].startswith("Bad query:")
    assert "^" in answer["text"] and "Traceback" not in answer["text"]


def test_slash_explain_watchlists_and_mute(rig: Rig) -> None:
    alert_id = rig.post(1, "Oxford sister city signed")
    rig.post(2, "Sister city review", cluster="s2")
    rig.click(alert_id, ACTION_RELEVANT)
    wait_until(lambda: len(rig.store.alert_verdicts(alert_id)) == 1)

    url = "https://news.example/clarion/1"
    explain = rig.command(f"explain <{url}>")
    assert explain["text"].splitlines()[0].startswith("*sister-cities*: matched")
    assert "verdict on sister-cities: relevant by <@U0EDITOR1>" in explain["text"]
    assert "confucius" not in explain["text"]  # another channel's watchlist

    listed = rig.command("watchlists")["text"]
    assert "*sister-cities*: 2 alert(s), precision 100% (1/1 judged)" in listed

    answer = rig.command("mute sister-cities 2h")
    assert answer["text"] == "Paused sister-cities."
    announced = rig.slack.api.wait_for_method("chat.postMessage", n=3)[-1]
    assert announced.channel == rig.slack.api.channel_id("#desk")
    assert "paused the instant alerts of *sister-cities*" in announced.text
    assert rig.store.paused_until("sister-cities") is not None
    ingest(rig.store, WATCHLISTS, make_article(3, "Sister city during the pause", cluster="s3"))
    assert len(rig.store.list_alerts()) == 2
    # a watchlist of another channel cannot be paused from here
    refused = rig.command("mute confucius 2h")
    assert refused["text"].startswith("No watchlist confucius posts to this channel")
    assert rig.command("mute sister-cities 3mo")["text"].startswith("At most 7d")
    assert rig.command("frobnicate")["text"].startswith("Usage:")


def test_a_command_from_another_workspace_is_not_served(rig: Rig) -> None:
    answer = rig.command("watchlists", team_id="T0OTHERTEAM")
    assert answer["text"] == "This workspace is not the one watchdesk posts to."
    assert TEAM_ID != "T0OTHERTEAM"


def test_a_command_that_crashes_still_answers_without_a_traceback(rig: Rig) -> None:
    def broken() -> Any:
        raise RuntimeError("the index is gone")

    rig.socket.desk.archive = broken
    answer = rig.command("search Wuhan")
    assert answer["response_type"] == "ephemeral"
    assert answer["text"].startswith("That went wrong on watchdesk's side")
    assert "index is gone" not in answer["text"] and "Traceback" not in answer["text"]
    assert rig.stats.get("desk/command/crashed") == 1
