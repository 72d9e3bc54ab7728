"""Source-health events reach the desk: real SQLite, real slack-sdk, the loopback Slack stub.

A source that starts failing is announced once (not on every check), a transition whose message
could not be delivered is announced at the next check, and a recovery is announced too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alerts.sinks import SlackSink
from alerts.source_health import SourceHealthNotifier
from crawler.config import SourceConfig
from crawler.records import PollRecord
from crawler.schedule import FAILING_AFTER
from crawler.storage import Store
from tests.slack_stub import SlackStub

SOURCE = SourceConfig(name="gov-press", kind="feed", url="http://127.0.0.1:9/feed.xml", every="15m")


def _poll(store: Store, at: datetime, *, ok: bool, new: int = 0) -> None:
    record = (
        PollRecord(SOURCE.name, "ok", 200, items=5, new=new)
        if ok
        else PollRecord(SOURCE.name, "error", 503, error="HTTP 503 <b>Service Unavailable</b>")
    )
    store.record_poll(SOURCE.url, record, at=at)


def test_failing_then_recovered_is_announced_once_each(stub: SlackStub, store: Store) -> None:
    notifier = SourceHealthNotifier(
        store, SlackSink(stub.token, stub.base_url, timeout=2), "#desk-health"
    )
    start = datetime.now(UTC) - timedelta(days=1)
    _poll(store, start, ok=True, new=3)
    t = start
    for _ in range(FAILING_AFTER + 8):  # failing for two hours, four times the rhythm
        t += timedelta(minutes=15)
        _poll(store, t, ok=False)

    stub.down()  # Slack unreachable: nothing is marked announced
    assert notifier.check([SOURCE], now=t) == 0
    assert stub.messages() == []
    stub.up()

    assert notifier.check([SOURCE], now=t) == 1
    assert notifier.check([SOURCE], now=t + timedelta(minutes=5)) == 0  # said once
    [failing] = stub.messages()
    assert failing.channel == "#desk-health"
    assert "gov-press" in (failing.text or "")
    assert "failing" in (failing.text or "").lower()
    # the error text comes from the remote server: escaped, never markup in Slack
    for part in (str(failing.blocks), failing.text or ""):
        assert "<b>" not in part and "&lt;b&gt;" in part

    t += timedelta(minutes=15)
    _poll(store, t, ok=True, new=2)
    assert notifier.check([SOURCE], now=t) == 1
    recovered = stub.messages()[-1]
    assert len(stub.messages()) == 2
    assert "gov-press" in (recovered.text or "")
    assert "recovered" in (recovered.text or "") and "was failing" in (recovered.text or "")
