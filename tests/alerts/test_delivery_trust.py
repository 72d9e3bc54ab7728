"""Delivery a desk can trust (issue #17), at the outbox: rate limits waited out by slack-sdk's
own handler, per-channel pacing, permanent failures that stop the sink out loud, recovery,
one message per story per channel, digests split when Slack finds them too long.

Real SQLite outbox, the real slack-sdk client, the loopback Slack stub. Waiting and pacing
are real time here (short: Retry-After of 1 s, pacing of 0.2 s).
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from alerts.outbox import ALL_CHANNELS, Outbox
from alerts.sinks import SlackSink
from alerts.watchlist import Digest, Watchlist, WatchlistSet
from crawler.storage import Store
from tests.alerts.helpers import Clock, ingest, make_article
from tests.slack_stub import SlackStub

SISTER = Watchlist(name="sister", query='"sister city" AND Wuhan', channel="#sister")
LAND = Watchlist(name="land-laws", query="Wuhan", channel="#sister")  # same channel
WUHAN = Watchlist(name="wuhan", query="Wuhan", channel="C0WUHAN")


def outbox_for(
    store: Store, stub: SlackStub, *watchlists: Watchlist, token: str | None = None, **kw: Any
) -> Outbox:
    sink = SlackSink(token or stub.token, stub.base_url, timeout=2)
    kw.setdefault("pace", 0.0)
    return Outbox(store, sink, WatchlistSet(list(watchlists or [SISTER]), []), **kw)


def stories(store: Store, n: int, *watchlists: Watchlist, start: int = 0) -> None:
    for i in range(start, start + n):
        ingest(store, WatchlistSet(list(watchlists or [SISTER]), []), make_article(i, f"Story {i}"))


def posted_titles(stub: SlackStub, channel: str | None = None) -> list[str]:
    out = []
    for m in stub.messages():
        if channel is None or m.channel == channel:
            out.append((m.text or "").split("|", 1)[1].split(">", 1)[0])
    return out


# -- rate limits and pacing ------------------------------------------------------------------


def test_short_retry_after_is_waited_out_within_the_wait(store: Store, stub: SlackStub) -> None:
    stories(store, 3)
    stub.rate_limit(2, retry_after=1, method="chat.postMessage")
    started = time.monotonic()
    report = outbox_for(store, stub).deliver_due(wait=20)
    elapsed = time.monotonic() - started
    assert report.delivered == 3 and not report.errors
    assert posted_titles(stub) == ["Story 0", "Story 1", "Story 2"]  # each once, in order
    # slack-sdk slept out both Retry-Afters (1 s plus its jitter of up to 1 s each)
    assert 2.0 <= elapsed < 8.0
    assert [r.status for r in stub.requests()] == [429, 429, 200, 200, 200]


def test_retry_after_beyond_the_wait_goes_back_to_the_outbox(store: Store, stub: SlackStub) -> None:
    stories(store, 2)
    stub.rate_limit(1, retry_after=30, method="chat.postMessage")
    started = time.monotonic()
    report = outbox_for(store, stub).deliver_due(wait=5)
    assert time.monotonic() - started < 3  # not slept: 30 s is past the wait
    assert (report.delivered, report.retrying) == (0, 1)
    assert "retry after 30s" in report.errors[0]


def test_no_wait_in_the_service_a_rate_limit_pauses(store: Store, stub: SlackStub) -> None:
    stories(store, 2)
    stub.rate_limit(1, retry_after=1, method="chat.postMessage")
    outbox = outbox_for(store, stub, clock=Clock(datetime.now(UTC)))
    report = outbox.deliver_due()  # wait=0: the sending thread is never held by a sleep
    assert report.retrying == 1 and len(stub.requests()) == 1


def test_posts_to_one_channel_are_paced_other_channels_go_on(store: Store, stub: SlackStub) -> None:
    watchlists = [Watchlist(name=f"w{i}", query="Wuhan", channel=f"#c{i}") for i in range(5)]
    one = [Watchlist(name="one", query="Wuhan", channel="#one")]
    stories(store, 5, *one)
    started = time.monotonic()
    assert outbox_for(store, stub, *one, pace=0.25).deliver_due().delivered == 5
    one_channel = time.monotonic() - started
    assert one_channel >= 4 * 0.25  # four gaps of 0.25 s
    assert posted_titles(stub, "#one") == [f"Story {i}" for i in range(5)]
    for i in range(5):  # the story i for watchlist w{i} only: five channels, one post each
        ingest(store, WatchlistSet([watchlists[i]], []), make_article(10 + i, f"Story {10 + i}"))
    started = time.monotonic()
    assert outbox_for(store, stub, *watchlists, pace=0.25).deliver_due().delivered == 5
    assert time.monotonic() - started < 0.25 * 2  # no channel waited for another


def test_slack_sink_paces_at_one_message_per_second_per_channel() -> None:
    sink = SlackSink("xoxb-1", "http://127.0.0.1:9/api/")
    assert sink.channel_interval == 1.0  # https://docs.slack.dev/apis/web-api/rate-limits


# -- permanent failures: out loud, once, nothing lost ------------------------------------------


def test_bad_token_stops_the_sink_with_one_error_and_keeps_alerts(
    store: Store, stub: SlackStub, caplog: pytest.LogCaptureFixture
) -> None:
    stories(store, 4)
    caplog.set_level(logging.INFO, logger="watchdesk.alerts")
    report = outbox_for(store, stub, token="xoxb-wrong").deliver_due()
    assert report.delivered == 0 and report.stopped == 4
    assert len(stub.requests()) == 1  # stopped at the first answer, not once per alert
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    line = errors[0].getMessage()
    assert "invalid_auth" in line and "SLACK_BOT_TOKEN" in line and "alerts retry" in line
    assert [s.channel for s in store.sink_stops()] == [ALL_CHANNELS]
    assert {a.status for a in store.list_alerts()} == {"pending"}  # none lost or failed
    # a second pass does not ask Slack again, nor log again
    assert outbox_for(store, stub, token="xoxb-wrong").deliver_due().stopped == 4
    assert len(stub.requests()) == 1
    # fixed: `alerts retry` lifts the stop; everything goes, once
    assert store.requeue_alerts() == (0, 0)
    assert not store.sink_stops()
    assert outbox_for(store, stub).deliver_due().delivered == 4
    assert posted_titles(stub) == [f"Story {i}" for i in range(4)]


@pytest.mark.parametrize(
    ("error", "stub_kw", "remedy"),
    [
        ("channel_not_found", {"channels": {"#sister"}}, "does not exist"),
        ("not_in_channel", {"members": {"#sister"}}, "invite the bot to C0WUHAN"),
        ("is_archived", {"archived": {"C0WUHAN"}}, "is archived"),
    ],
)
def test_bad_channel_stops_that_channel_only(
    store: Store, caplog: pytest.LogCaptureFixture, error: str, stub_kw: dict[str, Any], remedy: str
) -> None:
    with SlackStub(**stub_kw) as stub:
        stories(store, 3, SISTER, WUHAN)
        caplog.set_level(logging.INFO, logger="watchdesk.alerts")
        report = outbox_for(store, stub, SISTER, WUHAN).deliver_due()
        assert (report.delivered, report.stopped) == (3, 3)  # three held for C0WUHAN
        assert {m.channel for m in stub.messages()} == {"#sister"}
        [line] = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
        assert error in line and remedy in line and "C0WUHAN" in line
        [stop] = store.sink_stops()
        assert (stop.channel, stop.remedy) == ("C0WUHAN", stop.remedy) and remedy in stop.remedy
        pending = store.list_alerts("pending")
        assert len(pending) == 3 and {a.channel for a in pending} == {"C0WUHAN"}
        stub.channels, stub.members, stub.archived = None, None, set()  # the desk fixed it
        assert store.requeue_alerts() == (0, 0)
        assert outbox_for(store, stub, SISTER, WUHAN).deliver_due().delivered == 3
        assert posted_titles(stub, "C0WUHAN") == ["Story 0", "Story 1", "Story 2"]


def test_a_success_after_failures_makes_every_pending_alert_due(
    store: Store, stub: SlackStub
) -> None:
    stories(store, 3)
    clock = Clock(datetime.now(UTC))
    outbox = outbox_for(store, stub, clock=clock)
    stub.server_error(1, status=503, method="chat.postMessage")
    assert outbox.deliver_due().retrying == 1
    assert store.backing_off_count(clock()) == 1
    clock.advance(seconds=31)
    assert outbox.deliver_due().delivered == 3
    assert posted_titles(stub) == ["Story 0", "Story 1", "Story 2"]


def test_requeue_counts_failed_and_backing_off(store: Store, stub: SlackStub) -> None:
    stories(store, 3)
    clock = Clock(datetime.now(UTC))
    stub.api_error("msg_too_long", method="chat.postMessage")  # the first alert fails for good
    stub.server_error(1, method="chat.postMessage")  # the next backs off, the third behind it
    outbox_for(store, stub, clock=clock).deliver_due()
    statuses = sorted(a.status for a in store.list_alerts())
    assert statuses == ["failed", "pending", "pending"]
    failed, waiting = store.requeue_alerts()
    assert (failed, waiting) == (1, 1)


# -- one message per story per channel -------------------------------------------------------


def test_two_watchlists_one_channel_one_story_one_post(store: Store, stub: SlackStub) -> None:
    watchlists = WatchlistSet([SISTER, LAND], [])
    assert ingest(store, watchlists, make_article(0, "Oxford signs sister city pact")) == 2
    report = outbox_for(store, stub, SISTER, LAND).deliver_due()
    assert report.delivered == 2
    [post] = stub.messages()
    small = post.blocks[-1]["elements"][0]["text"]  # type: ignore[index]
    assert small.startswith("Watchlists: sister, land-laws")
    payload = post.metadata["event_payload"]  # type: ignore[index]
    alerts = store.list_alerts()
    assert sorted(payload["alert_ids"]) == sorted(a.id for a in alerts)
    assert {(a.status, a.delivered_ts) for a in alerts} == {("delivered", post.ts)}


def test_a_later_watchlist_threads_under_the_story_already_posted(
    store: Store, stub: SlackStub
) -> None:
    ingest(store, WatchlistSet([SISTER], []), make_article(0, "Oxford signs sister city pact"))
    assert outbox_for(store, stub, SISTER, LAND).deliver_due().delivered == 1
    article = make_article(1, "Oxford pact, more", cluster=make_article(0, "x").id)
    ingest(store, WatchlistSet([LAND], []), article)
    assert outbox_for(store, stub, SISTER, LAND).deliver_due().delivered == 1
    story, reply = stub.messages()
    assert reply.thread_ts == story.ts and story.thread_ts is None
    assert reply.blocks[0]["elements"][0]["text"] == "Also matches *land-laws*"  # type: ignore[index]


# -- digests: split, never failed for being long -----------------------------------------------

DAILY = Watchlist(
    name="daily",
    query="Wuhan",
    channel="#digest",
    delivery=Digest(digest="0 8 * * *", max_stories=100),
)


@pytest.mark.parametrize("error", ["msg_blocks_too_long", "invalid_blocks"])
def test_digest_slack_finds_too_long_is_split_and_sent(
    store: Store, stub: SlackStub, error: str
) -> None:
    stories(store, 40, DAILY)
    stub.api_error(error, method="chat.postMessage")
    outbox = outbox_for(store, stub, DAILY)
    assert outbox.send_digest(DAILY, "today") is True
    posts = stub.messages()
    assert len(posts) >= 2  # split in smaller messages after Slack's refusal
    listed = " ".join(p.text or "" for p in posts)
    assert "digest" in listed
    assert {a.status for a in store.list_alerts()} == {"delivered"}
    assert len({a.delivered_ts for a in store.list_alerts()}) == len(posts)
