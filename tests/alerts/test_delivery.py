"""Delivery end to end: real SQLite outbox, real slack-sdk, the loopback Slack API stub.

Time is the outbox's controllable clock (`Clock`): backoff, Retry-After and an hour-long
outage run in milliseconds, with the same code the monitor runs.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from alerts.matcher import WatchlistMatcher
from alerts.message import render_copy, render_story
from alerts.outbox import Outbox
from alerts.sinks import SlackSink
from alerts.sinks.base import DeliveryResult
from alerts.watchlist import Watchlist, WatchlistSet
from crawler.records import Alert
from crawler.storage import Store
from tests.alerts.helpers import Clock, ingest, make_article
from tests.conftest import ROOT, run_cli
from tests.slack_stub import SlackStub, StubRequest

SISTER = Watchlist(name="sister", query='"sister city" AND Wuhan', channel="#sister")
WUHAN = Watchlist(name="wuhan", query="Wuhan", channel="C0WUHAN")


def make_outbox(
    store: Store, stub: SlackStub, clock: Clock, *watchlists: Watchlist, **kw: Any
) -> Outbox:
    sink = SlackSink(stub.token, stub.base_url, timeout=2)
    return Outbox(store, sink, WatchlistSet(list(watchlists or [SISTER]), []), clock=clock, **kw)


def all_texts(request: StubRequest) -> list[str]:
    """Every text Slack would render from a posted message: fallback and block texts."""
    out = [request.text or ""]
    for block in request.blocks or []:
        if isinstance(block.get("text"), dict):
            out.append(block["text"]["text"])
        out.extend(e["text"] for e in block.get("elements", []) if "text" in e)
    return out


def titles(requests: list[StubRequest]) -> list[str]:
    """The article titles of posted story messages, in posting order."""
    out = []
    for r in requests:
        m = re.search(r"\|([^>]*)>", r.text or "")
        out.append(m.group(1) if m else "")
    return out


# -- the message -----------------------------------------------------------------------------


def test_story_message_is_exact(store: Store, stub: SlackStub, clock: Clock) -> None:
    """The golden story message (issue #17): the headline first, bold and linked; the outlet
    as the source with the feed only "via"; the age flag; the passage; places and kind in
    words; the watchlist and relevance in small print."""
    article = make_article(1, "Oxford signs sister city pact")
    article.site_name = "The Oxford Eagle"
    assert ingest(store, WatchlistSet([SISTER], []), article) == 1
    report = make_outbox(store, stub, clock).deliver_due()
    assert report.delivered == 1 and not report.errors
    [posted] = stub.messages()
    assert posted.channel == "#sister"  # as written in the watchlist
    assert posted["unfurl_links"] is False and posted["unfurl_media"] is False
    link = "<https://news.example/clarion/1|Oxford signs sister city pact>"
    when = "<!date^1793628000^{date_short_pretty} {time}|2026-11-02 14:00 UTC>"
    [alert] = store.list_alerts()
    assert alert.created is not None
    days = (alert.created - datetime(2026, 11, 2, 14, 0, tzinfo=UTC)).days
    age = f":hourglass_flowing_sand: published {days} days ago"
    assert posted.text == f"{link} — The Oxford Eagle · high relevance · sister"
    facts = "*Places* Oxford, Mississippi ↔ Wuhan, Hubei\n*Exchange* sister-city ties"
    assert posted.blocks == [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{link}*"}},
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": f"*The Oxford Eagle* · via clarion · {when} · {age}"}
            ],
        },
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": "Oxford signs *sister city* pact. The *sister city* agreement with "
                "*Wuhan* was signed on Monday.",
            },
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": facts}},
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": "Watchlist: sister · Relevance: high"}],
        },
    ]
    [alert] = store.list_alerts()
    assert (alert.status, alert.delivered_ts, alert.attempts) == ("delivered", posted.ts, 1)


def test_hostile_title_and_snippet_cannot_ping_or_forge_links(
    store: Store, stub: SlackStub, clock: Clock
) -> None:
    article = make_article(
        1,
        "<!channel> sister city <https://evil.example|click> & <@U123>",
        "Wuhan <!here> sister city *bold* <https://evil.example|click here> <!subteam^S1>",
    )
    ingest(store, WatchlistSet([SISTER], []), article)
    make_outbox(store, stub, clock).deliver_due()
    [posted] = stub.messages()
    texts = all_texts(posted)
    joined = "\n".join(texts)
    for raw in ("<!channel>", "<!here>", "<@U123>", "<https://evil", "<!subteam"):
        assert raw not in joined
    assert "&lt;!channel&gt;" in joined and "&lt;!here&gt;" in joined
    assert "&lt;https://evil.example|click here&gt;" in joined
    # The only tokens Slack will act on are our own: the article link and date tokens.
    for text in texts:
        for token in re.findall(r"<([^<>]*)>", text):
            assert token.startswith(("https://news.example/clarion/1|", "!date^")), token


# -- threading of syndicated copies ------------------------------------------------------------


def test_syndicated_copy_is_a_threaded_reply_once_per_source(
    store: Store, stub: SlackStub, clock: Clock
) -> None:
    watchlists = WatchlistSet([SISTER], [])
    ingest(store, watchlists, make_article(0, "Oxford signs sister city pact", cluster="s1"))
    outbox = make_outbox(store, stub, clock)
    assert outbox.deliver_due().delivered == 1
    # Later copies: two from another source, one from the story's own source.
    ingest(store, watchlists, make_article(1, "Oxford pact (AP)", source="ap", cluster="s1"))
    ingest(store, watchlists, make_article(2, "Oxford pact again", source="ap", cluster="s1"))
    ingest(store, watchlists, make_article(3, "Oxford pact update", cluster="s1"))
    ingest(store, watchlists, make_article(4, "Other pact with Wuhan sister city", cluster="s2"))
    assert outbox.deliver_due().delivered == 2
    story, reply, other = stub.messages()
    assert reply.thread_ts == story.ts and story.thread_ts is None and other.thread_ts is None
    link = "<https://news.example/ap/1|Oxford pact (AP)>"
    assert reply.text == f"Also reported by ap: {link}"
    assert (reply.blocks or [])[0]["text"]["text"] == f"Also reported by *ap*: {link}"
    kinds = sorted((a.kind, a.status, a.thread_ts) for a in store.list_alerts())
    assert kinds == [
        ("copy", "delivered", story.ts),
        ("story", "delivered", ""),
        ("story", "delivered", ""),
    ]
    assert outbox.deliver_due().delivered == 0 and len(stub.messages()) == 3


def test_copy_waits_for_its_story_and_fails_with_it(
    store: Store, stub: SlackStub, clock: Clock
) -> None:
    watchlists = WatchlistSet([SISTER], [])
    ingest(store, watchlists, make_article(0, "Oxford signs sister city pact", cluster="s1"))
    ingest(store, watchlists, make_article(1, "Oxford pact (AP)", source="ap", cluster="s1"))
    outbox = make_outbox(store, stub, clock)
    # permanent for this message: the story fails (a bad channel would stop the channel
    # instead, and keep both pending: test_permanent_failures_stop_the_sink_out_loud)
    stub.api_error("msg_too_long")
    report = outbox.deliver_due()
    assert report.failed == 2 and not stub.messages()
    errors = {a.kind: a.last_error for a in store.list_alerts(status="failed")}
    assert errors["story"].startswith("slack: msg_too_long")
    assert errors["copy"] == "the story's first alert was not delivered"


# -- failures, backoff and Retry-After ---------------------------------------------------------


def _three_stories(store: Store) -> None:
    watchlists = WatchlistSet([SISTER], [])
    for n in range(3):
        ingest(store, watchlists, make_article(n, f"Story {n}: sister city with Wuhan"))


def test_rate_limit_honours_retry_after_for_every_alert(
    store: Store, stub: SlackStub, clock: Clock
) -> None:
    _three_stories(store)
    outbox = make_outbox(store, stub, clock)
    stub.rate_limit(retry_after=120)
    report = outbox.deliver_due()
    assert (report.delivered, report.retrying) == (0, 1)
    assert "ratelimited (HTTP 429), retry after 120s" in report.errors[0]
    assert len(stub.requests()) == 1
    clock.advance(seconds=119)
    assert outbox.deliver_due().delivered == 0
    assert len(stub.requests()) == 1  # nothing at all before Retry-After, not even alert 2
    clock.advance(seconds=1)
    assert outbox.deliver_due().delivered == 3
    assert titles(stub.messages()) == [f"Story {n}: sister city with Wuhan" for n in range(3)]
    first = store.list_alerts()[-1]
    assert first.attempts == 2


@pytest.mark.parametrize("failure", ["server_error", "drop"])
def test_server_errors_and_dropped_connections_back_off(
    store: Store, stub: SlackStub, clock: Clock, failure: str
) -> None:
    _three_stories(store)
    outbox = make_outbox(store, stub, clock)
    getattr(stub, failure)(2)
    assert outbox.deliver_due().retrying == 1
    [head] = [a for a in store.list_alerts() if a.attempts]
    expected = "internal_error (HTTP 500)" if failure == "server_error" else "connection error"
    assert expected in head.last_error
    clock.advance(seconds=29)
    assert outbox.deliver_due().delivered == 0 and len(stub.requests()) == 1
    clock.advance(seconds=1)  # first backoff: 30 s
    assert outbox.deliver_due().retrying == 1 and len(stub.requests()) == 2
    clock.advance(seconds=59)
    assert outbox.deliver_due().delivered == 0 and len(stub.requests()) == 2
    clock.advance(seconds=1)  # then 60 s
    assert outbox.deliver_due().delivered == 3
    assert titles(stub.messages()) == [f"Story {n}: sister city with Wuhan" for n in range(3)]
    assert [a.status for a in store.list_alerts()] == ["delivered"] * 3


def test_gives_up_after_max_attempts(store: Store, stub: SlackStub, clock: Clock) -> None:
    _three_stories(store)
    outbox = make_outbox(store, stub, clock, max_attempts=3)
    stub.server_error(3, method="chat.postMessage")  # not the read-backs before each retry
    for _ in range(3):
        outbox.deliver_due()
        clock.advance(hours=1)
    failed = store.list_alerts(status="failed")
    assert len(failed) == 1 and failed[0].attempts == 3
    # the others went out right after it failed: they are not held up by it
    assert titles(stub.messages()) == [f"Story {n}: sister city with Wuhan" for n in (1, 2)]
    assert store.retry_failed() == 1
    assert outbox.deliver_due().delivered == 1


def test_a_channel_backing_off_does_not_hold_up_another(
    store: Store, stub: SlackStub, clock: Clock
) -> None:
    watchlists = WatchlistSet([SISTER, WUHAN], [])
    ingest(store, watchlists, make_article(0, "First: sister city with Wuhan"))
    ingest(store, watchlists, make_article(1, "Second: Wuhan trade office"))
    outbox = make_outbox(store, stub, clock, SISTER, WUHAN)
    stub.server_error(1)  # the first alert (#sister) fails
    outbox.deliver_due()
    clock.advance(seconds=1)
    # C0WUHAN goes first, #sister's head waiting for its retry; the success says the sink is
    # back, so #sister's alerts are due at once (issue #17) and go too, in order
    assert outbox.deliver_due().delivered == 4
    assert stub.messages()[0].channel == "C0WUHAN"
    assert outbox.deliver_due().delivered == 0
    sister = [m for m in stub.messages() if m.channel == "#sister"]
    assert titles(sister) == ["First: sister city with Wuhan", "Second: Wuhan trade office"]


# -- a long outage -------------------------------------------------------------------------


def test_hour_long_outage_recovers_in_order_exactly_once(
    store: Store, stub: SlackStub, clock: Clock
) -> None:
    watchlists = WatchlistSet([SISTER, WUHAN], [])
    outbox = make_outbox(store, stub, clock, SISTER, WUHAN)
    found: list[str] = []  # titles in the order the crawler found them

    def find(n: int) -> None:
        title = f"Story {n}: sister city with Wuhan"
        ingest(store, watchlists, make_article(n, title))
        found.append(title)

    for n in range(3):
        find(n)
    stub.down()
    for tick in range(120):  # the monitor's outbox job, every 30 s, for an hour
        if tick % 40 == 20:
            find(3 + tick // 40)  # stories keep coming in during the outage
        report = outbox.deliver_due()
        assert report.delivered == 0
        clock.advance(seconds=30)
    attempts = sum(a.attempts for a in store.list_alerts(limit=100))
    assert 4 <= attempts <= 30  # backed off: about 8 tries per channel in the hour, not 240
    assert not store.list_alerts(status="failed")
    stub.up()
    for _ in range(70):  # at most the 30-minute backoff cap after Slack returns
        outbox.deliver_due()
        clock.advance(seconds=30)
    posted = stub.messages()
    assert len(posted) == 2 * len(found)  # each story once per watchlist
    for channel in ("#sister", "C0WUHAN"):
        assert titles([m for m in posted if m.channel == channel]) == found
    assert len({m.ts for m in posted}) == len(posted)
    assert {a.status for a in store.list_alerts(limit=100)} == {"delivered"}


# -- restarts ------------------------------------------------------------------------------


class _CrashingSink:
    """Slack, until the process "dies" just before the n-th send."""

    name = "slack"

    def __init__(self, inner: SlackSink, crash_at: int) -> None:
        self.inner, self.crash_at, self.calls = inner, crash_at, 0

    def deliver(self, alert: Alert, message: dict[str, Any]) -> DeliveryResult:
        self.calls += 1
        if self.calls == self.crash_at:
            raise SystemExit("killed")
        return self.inner.deliver(alert, message)


def _six_stories(path: str | Path) -> list[str]:
    found = []
    with Store(path) as store:
        for n in range(6):
            title = f"Story {n}: sister city with Wuhan"
            ingest(store, WatchlistSet([SISTER], []), make_article(n, title))
            found.append(title)
    return found


def test_restart_in_the_middle_of_a_batch(store_at: str, stub: SlackStub, clock: Clock) -> None:
    path = store_at
    found = _six_stories(path)
    store = Store(path)
    sink = _CrashingSink(SlackSink(stub.token, stub.base_url, timeout=2), crash_at=4)
    outbox = Outbox(store, sink, WatchlistSet([SISTER], []), clock=clock)
    with pytest.raises(SystemExit):
        outbox.deliver_due()
    store.close()
    assert len(stub.messages()) == 3
    # a new process: new Store and Outbox over the same file
    with Store(path) as again:
        assert make_outbox(again, stub, clock).deliver_due().delivered == 3
        assert make_outbox(again, stub, clock).deliver_due().delivered == 0
        assert titles(stub.messages()) == found
        assert {a.status for a in again.list_alerts()} == {"delivered"}


KILLED_OUTBOX = """
import os, signal, sys
from datetime import datetime
from alerts.outbox import Outbox
from alerts.sinks import SlackSink
from alerts.watchlist import Watchlist, WatchlistSet
from crawler.storage import Store

class KillingSink(SlackSink):
    calls = 0
    def deliver(self, alert, message):
        KillingSink.calls += 1
        if KillingSink.calls == int(sys.argv[3]):
            os.kill(os.getpid(), signal.SIGKILL)  # no cleanup, no rollback, no atexit
        return super().deliver(alert, message)

wl = Watchlist(name="sister", query='"sister city" AND Wuhan', channel="#sister")
store = Store(sys.argv[1])
sink = KillingSink("{token}", sys.argv[2], timeout=2)
Outbox(store, sink, WatchlistSet([wl], [])).deliver_due()
"""


def test_killed_process_loses_and_duplicates_nothing(
    tmp_path: Path, store_at: str, stub: SlackStub
) -> None:
    path = store_at
    found = _six_stories(path)
    script = tmp_path / "outbox.py"
    script.write_text(textwrap.dedent(KILLED_OUTBOX).replace("{token}", stub.token))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, str(script), str(path), stub.base_url, "5"],
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert len(stub.messages()) == 4
    with Store(path) as store:
        outbox = Outbox(
            store,
            SlackSink(stub.token, stub.base_url, timeout=2),
            WatchlistSet([SISTER], []),
        )
        assert outbox.deliver_due().delivered == 2
    assert titles(stub.messages()) == found


# -- the outbox commands -------------------------------------------------------------------


def test_alerts_list_and_retry_commands(tmp_path: Path, stub: SlackStub, clock: Clock) -> None:
    config = tmp_path / "watchdesk.yaml"
    config.write_text(
        "store: {path: wd.db}\nwatchlists:\n"
        "  - {name: sister, query: '\"sister city\" AND Wuhan', channel: '#sister'}\n",
        encoding="utf-8",
    )
    with Store(tmp_path / "wd.db") as store:
        ingest(
            store, WatchlistSet([SISTER], []), make_article(0, "<b>Oxford</b>\x1b[31m sister city")
        )
        ingest(store, WatchlistSet([SISTER], []), make_article(1, "Second sister city story"))
        stub.api_error("msg_too_long")
        make_outbox(store, stub, clock).deliver_due()
    proc = run_cli("--config", str(config), "alerts", "list", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(r["status"], r["title"]) for r in rows] == [
        ("delivered", "Second sister city story"),
        ("failed", "<b>Oxford</b>\x1b[31m sister city"),
    ]
    assert rows[1]["error"].startswith("slack: msg_too_long")
    assert rows[0]["message_id"] == stub.messages()[0].ts
    proc = run_cli("--config", str(config), "alerts", "list", "--status", "failed")
    assert proc.returncode == 0 and "msg_too_long" in proc.stdout
    assert "Oxford" in proc.stdout and "\x1b" not in proc.stdout  # a table: text wraps
    proc = run_cli("--config", str(config), "alerts", "retry", "--watchlist", "sister")
    assert proc.returncode == 0 and "1 failed alert(s) queued again" in proc.stdout
    with Store(tmp_path / "wd.db") as store:
        assert make_outbox(store, stub, Clock(datetime.now(UTC))).deliver_due().delivered == 1
    assert titles(stub.messages()) == [
        "Second sister city story",
        "&lt;b&gt;Oxford&lt;/b&gt;[31m sister city",
    ]


def test_rendering_matches_what_was_posted(store: Store, stub: SlackStub, clock: Clock) -> None:
    """The outbox posts exactly what `render_story` / `render_copy` produce."""
    watchlists = WatchlistSet([SISTER], [])
    lead = make_article(0, "Oxford signs sister city pact", cluster="s1")
    copy_ = make_article(1, "Oxford pact (AP)", source="ap", cluster="s1")
    for article in (lead, copy_):
        ingest(store, watchlists, article)
    make_outbox(store, stub, clock).deliver_due()
    story, reply = stub.messages()
    terms = WatchlistMatcher([SISTER]).match(lead)[0].terms
    expected = render_story(Alert("sister", lead.id, "#sister"), lead, SISTER, terms)
    assert {"text": story.text, "blocks": story.blocks} == expected
    expected_copy = render_copy(Alert("sister", copy_.id, "#sister"), copy_, SISTER)
    assert {"text": reply.text, "blocks": reply.blocks} == expected_copy


def test_an_alert_that_cannot_be_rendered_fails_without_blocking_the_queue(
    store_at: str, stub: SlackStub, clock: Clock
) -> None:
    path = store_at
    with Store(path) as store:
        _three_stories(store)
    with Store(path) as store, store._tx() as db:  # a row damaged by hand (or an old version)
        db.execute("UPDATE alerts SET terms = '[[\"x\"]]' WHERE id = 1")
    with Store(path) as store:
        report = make_outbox(store, stub, clock).deliver_due()
        assert (report.failed, report.delivered) == (1, 2)
        [failed] = store.list_alerts(status="failed")
        assert failed.last_error == "render failed: TypeError"
