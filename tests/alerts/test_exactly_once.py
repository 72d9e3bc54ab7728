"""Exactly-once delivery across lost answers and SIGKILL (issue #9): an alert is marked
`sending` before the sink is called, and a send whose outcome was never recorded is looked up
in the sink (Slack: conversations.history/replies by message metadata; JSON Lines: the file's
tail) before anything is sent again. Real SQLite, real slack-sdk, the loopback Slack stub,
real subprocesses killed with SIGKILL.
"""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console

from alerts.outbox import Outbox
from alerts.sinks import JsonlSink, SlackSink, TerminalSink
from alerts.watchlist import Digest, Watchlist, WatchlistSet
from crawler.storage import Store
from tests.alerts.helpers import Clock, ingest, make_article
from tests.conftest import ROOT
from tests.slack_stub import SlackStub, StubRequest

SISTER = Watchlist(name="sister", query='"sister city" AND Wuhan', channel="#sister")
BY_ID = Watchlist(name="byid", query='"sister city" AND Wuhan', channel="C0SISTER")
DAILY = Watchlist(
    name="daily",
    query='"sister city"',
    channel="#digest",
    delivery=Digest(digest="0 8 * * *", timezone="America/New_York"),
)


def slack(stub: SlackStub) -> SlackSink:
    return SlackSink(stub.token, stub.base_url, timeout=2)


def stories(path: str | Path, n: int, watchlist: Watchlist = SISTER) -> list[str]:
    found = []
    with Store(path) as store:
        for i in range(n):
            title = f"Story {i}: sister city with Wuhan"
            ingest(store, WatchlistSet([watchlist], []), make_article(i, title))
            found.append(title)
    return found


def titles(messages: list[StubRequest]) -> list[str]:
    return [(m.text or "").split("|", 1)[1].split(">", 1)[0] for m in messages]


def posts(stub: SlackStub) -> list[StubRequest]:
    return [r for r in stub.requests() if r.method == "chat.postMessage"]


def alerts_by_id(store: Store) -> dict[int, object]:
    return {a.id: a for a in store.list_alerts(limit=100)}


# -- Slack: the post is made, its answer is lost ----------------------------------------------


@pytest.mark.parametrize("restart", [False, True], ids=["same-process", "after-restart"])
def test_post_made_but_answer_lost_is_found_not_posted_again(
    store_at: str, stub: SlackStub, clock: Clock, restart: bool
) -> None:
    path = store_at
    found = stories(path, 2)
    store = Store(path)
    outbox = Outbox(store, slack(stub), WatchlistSet([SISTER], []), clock=clock)
    stub.accept_then_drop()
    report = outbox.deliver_due()
    assert (report.delivered, report.retrying) == (0, 1)
    [made] = stub.messages()  # Slack has the message; the outbox never heard its ts
    assert made.metadata == {
        "event_type": "watchdesk_alert",
        "event_payload": {"alert_id": 1, "watchlist": "sister", "kind": "story"},
    }
    first = store.list_alerts()[-1]
    assert first.status == "pending" and first.sending_at is not None
    if restart:  # a new process: new store, new sink (no channel ids learnt yet)
        store.close()
        store = Store(path)
        outbox = Outbox(store, slack(stub), WatchlistSet([SISTER], []), clock=clock)
    clock.advance(seconds=30)
    assert outbox.deliver_due().delivered == 2
    assert titles(stub.messages()) == found  # each once, in order
    assert len(posts(stub)) == 2
    reads = [r for r in stub.requests() if r.method.startswith("conversations.")]
    assert [r.method for r in reads][-1] == "conversations.history"
    assert reads[-1]["include_all_metadata"] is True
    first = alerts_by_id(store)[1]
    assert (first.status, first.delivered_ts, first.sending_at) == ("delivered", made.ts, None)
    store.close()


def test_post_that_never_reached_slack_is_sent_again(
    store_at: str, stub: SlackStub, clock: Clock
) -> None:
    path = store_at
    found = stories(path, 1)
    with Store(path) as store:
        outbox = Outbox(store, slack(stub), WatchlistSet([SISTER], []), clock=clock)
        stub.drop(method="chat.postMessage")  # read, then dropped before Slack did anything
        assert outbox.deliver_due().retrying == 1
        assert stub.messages() == []
        clock.advance(seconds=30)
        assert outbox.deliver_due().delivered == 1
        assert titles(stub.messages()) == found
        [alert] = store.list_alerts()
        assert alert.delivered_ts == stub.messages()[0].ts


def test_read_back_outage_waits_instead_of_posting(
    store_at: str, stub: SlackStub, clock: Clock
) -> None:
    path = store_at
    stories(path, 2, BY_ID)
    with Store(path) as store:
        outbox = Outbox(store, slack(stub), WatchlistSet([BY_ID], []), clock=clock)
        stub.accept_then_drop()
        outbox.deliver_due()
        stub.server_error(method="conversations.history")
        clock.advance(seconds=30)
        report = outbox.deliver_due()
        assert (report.delivered, report.retrying) == (0, 1)  # could not tell: sent nothing
        assert len(posts(stub)) == 1
        clock.advance(seconds=60)
        assert outbox.deliver_due().delivered == 2
        assert len(stub.messages()) == 2 and len(posts(stub)) == 2


def test_copy_in_a_thread_is_found_in_the_thread(
    store_at: str, stub: SlackStub, clock: Clock
) -> None:
    path = store_at
    watchlists = WatchlistSet([SISTER], [])
    with Store(path) as store:
        ingest(store, watchlists, make_article(0, "Sister city with Wuhan", cluster="c1"))
        outbox = Outbox(store, slack(stub), watchlists, clock=clock)
        assert outbox.deliver_due().delivered == 1
        copy = make_article(1, "Sister city with Wuhan (AP)", source="ap", cluster="c1")
        ingest(store, watchlists, copy)
        stub.accept_then_drop()
        assert outbox.deliver_due().retrying == 1
        clock.advance(seconds=30)
        assert outbox.deliver_due().delivered == 1
        story, reply = stub.messages()
        assert reply.thread_ts == story.ts and len(posts(stub)) == 2
        assert [r.method for r in stub.requests()][-1] == "conversations.replies"
        kinds = {a.kind: a.delivered_ts for a in store.list_alerts()}
        assert kinds == {"story": story.ts, "copy": reply.ts}


def test_digest_whose_answer_was_lost_is_found(
    store_at: str, stub: SlackStub, clock: Clock
) -> None:
    path = store_at
    watchlists = WatchlistSet([DAILY], [])
    with Store(path) as store:
        for i in range(2):
            ingest(store, watchlists, make_article(i, f"Sister city story {i}"))
        outbox = Outbox(store, slack(stub), watchlists, clock=clock)
        stub.accept_then_drop()
        assert outbox.send_digest(DAILY, "today") is False
        [digest] = stub.messages()
        assert digest.metadata["event_payload"]["kind"] == "digest"  # type: ignore[index]
        ingest(store, watchlists, make_article(5, "Sister city story, later"))
        assert outbox.send_digest(DAILY, "today") is True  # found: not posted again
        assert stub.messages() == [digest] and len(posts(stub)) == 1
        delivered = {a.article_id: a.delivered_ts for a in store.list_alerts()}
        assert sorted(delivered.values()).count(digest.ts) == 2
        # the later match was not in that digest: it waits for the next one
        assert [a.article_id for a in store.held_digest_items("daily")] == [make_article(5, "x").id]


# -- Slack: the read-back is not allowed -------------------------------------------------------


def test_missing_history_scope_falls_back_to_resending_and_says_so_once(
    store_at: str, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    path = store_at
    stories(path, 3, BY_ID)
    with SlackStub(scopes={"chat:write"}) as stub, Store(path) as store:
        outbox = Outbox(store, slack(stub), WatchlistSet([BY_ID], []), clock=clock)
        caplog.set_level(logging.INFO, logger="watchdesk.alerts")
        for _ in range(2):  # story 0 is posted and its answer lost, twice
            stub.accept_then_drop()
            outbox.deliver_due()
            clock.advance(seconds=60)  # past the backoff (30 s, then 60 s)
        assert outbox.deliver_due().delivered == 3
        # at-least-once without the scope: each failed read-back meant one more post
        assert titles(stub.messages()) == [
            f"Story {i}: sister city with Wuhan" for i in (0, 0, 0, 1, 2)
        ]
        assert {a.status for a in store.list_alerts()} == {"delivered"}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert "missing_scope" in warnings[0] and "channels:history" in warnings[0]
    assert stub.token not in caplog.text


# -- Slack: the process is SIGKILLed while Slack handles the post ------------------------------

OUTBOX_SCRIPT = """
import sys
from alerts.outbox import Outbox
from alerts.sinks import SlackSink
from alerts.watchlist import Watchlist, WatchlistSet
from crawler.storage import Store

wl = Watchlist(name="sister", query='"sister city" AND Wuhan', channel="#sister")
sink = SlackSink("{token}", sys.argv[2], timeout=30)
Outbox(Store(sys.argv[1]), sink, WatchlistSet([wl], [])).deliver_due()
"""


def test_sigkill_while_slack_handles_the_post(
    tmp_path: Path, store_at: str, stub: SlackStub
) -> None:
    path = store_at
    found = stories(path, 5)
    script = tmp_path / "outbox.py"
    script.write_text(textwrap.dedent(OUTBOX_SCRIPT).replace("{token}", stub.token))
    # Posts 1 and 2 answer at once; Slack takes 3 s over post 3: the kill lands in there.
    stub.delay(0, n=2, method="chat.postMessage")
    stub.delay(3.0, method="chat.postMessage")
    proc = subprocess.Popen(
        [sys.executable, str(script), str(path), stub.base_url],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not _marked_sending(path, alert_id=3):
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "the third alert was never sent"
            time.sleep(0.02)
        time.sleep(0.3)  # the request is on its way to / inside the stub's 3 s
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    stub.wait_for(3, timeout=10)  # Slack finishes the post the process never hears about
    made = stub.messages()[2]
    with Store(path) as store:
        assert alerts_by_id(store)[3].status == "pending"
        outbox = Outbox(store, slack(stub), WatchlistSet([SISTER], []))
        assert outbox.deliver_due().delivered == 3
        assert titles(stub.messages()) == found  # each once, in order
        third = alerts_by_id(store)[3]
        assert (third.status, third.delivered_ts) == ("delivered", made.ts)


def _marked_sending(path: str, alert_id: int) -> bool:
    with Store(path) as store:
        rows = store.execute("SELECT sending_at FROM alerts WHERE id = ?", (alert_id,))
    return bool(rows and rows[0][0])


# -- JSON Lines -----------------------------------------------------------------------------

JSONL_SCRIPT = """
import os, signal, sys
from alerts.outbox import Outbox
from alerts.sinks import JsonlSink
from alerts.watchlist import Watchlist, WatchlistSet
from crawler.storage import Store

class DyingSink(JsonlSink):
    calls = 0
    def deliver(self, alert, message):
        DyingSink.calls += 1
        if DyingSink.calls == 3 and sys.argv[3] == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        result = super().deliver(alert, message)
        if DyingSink.calls == 3:  # written and fsynced, not yet recorded in the outbox
            os.kill(os.getpid(), signal.SIGKILL)
        return result

wl = Watchlist(name="sister", query='"sister city" AND Wuhan', channel="#sister")
Outbox(Store(sys.argv[1]), DyingSink(sys.argv[2]), WatchlistSet([wl], [])).deliver_due()
"""


@pytest.mark.parametrize("when", ["before", "after"], ids=["killed-before-write", "after-write"])
def test_jsonl_alert_written_before_a_kill_is_not_written_again(
    tmp_path: Path, store_at: str, when: str
) -> None:
    path, out = store_at, tmp_path / "alerts.jsonl"
    found = stories(path, 5)
    script = tmp_path / "outbox.py"
    script.write_text(textwrap.dedent(JSONL_SCRIPT))
    proc = subprocess.run(
        [sys.executable, str(script), str(path), str(out), when],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == (2 if when == "before" else 3)
    with Store(path) as store:
        assert Outbox(store, JsonlSink(out), WatchlistSet([SISTER], [])).deliver_due().delivered
        lines = [json.loads(line) for line in out.read_text().splitlines()]
        assert [rec["alert"]["id"] for rec in lines] == [1, 2, 3, 4, 5]  # each once
        assert [titles_of(rec) for rec in lines] == found
        delivered = {a.id: a.delivered_ts for a in store.list_alerts()}
        assert delivered == {rec["alert"]["id"]: rec["message_id"] for rec in lines}


def titles_of(record: dict[str, object]) -> str:
    text = str(record["message"]["text"])  # type: ignore[index]
    return text.split("|", 1)[1].split(">", 1)[0]


# -- sinks that cannot be asked ---------------------------------------------------------------


def test_terminal_sink_prints_an_interrupted_alert_again(
    store_at: str, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    path = store_at
    stories(path, 1)
    screen = io.StringIO()
    with Store(path) as store:
        store.mark_sending([1], datetime.now(UTC))  # as a crash mid-print leaves it
        sink = TerminalSink(Console(file=screen, width=120, color_system=None))
        caplog.set_level(logging.INFO, logger="watchdesk.alerts")
        assert Outbox(store, sink, WatchlistSet([SISTER], []), clock=clock).deliver_due().delivered
        assert store.list_alerts()[0].sending_at is None
    assert "Story 0: sister city with Wuhan" in screen.getvalue()
    assert "at-least-once" in caplog.text
