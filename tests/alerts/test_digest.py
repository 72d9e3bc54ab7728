"""Digests on a controllable clock: held matches go out at the scheduled time, top stories
first and grouped by story, then nothing until the next period; real SQLite, real slack-sdk
against the loopback stub."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from alerts.digest import next_digest_at
from alerts.outbox import Outbox
from alerts.sinks import SlackSink
from alerts.watchlist import Digest, Watchlist, WatchlistSet
from crawler.storage import Store
from tests.alerts.helpers import Clock, ingest, make_article
from tests.slack_stub import SlackStub

NEW_YORK = ZoneInfo("America/New_York")
DAILY = Watchlist(
    name="daily",
    query='"sister city"',
    channel="#digest",
    delivery=Digest(digest="0 8 * * *", timezone="America/New_York"),
)
INSTANT = Watchlist(name="instant", query='"sister city"', channel="#instant")


def next_eight_am_new_york(after: datetime) -> datetime:
    """The reference: 08:00 New York time strictly after `after`, computed by hand."""
    local = after.astimezone(NEW_YORK)
    day = local.date()
    while True:
        candidate = datetime(day.year, day.month, day.day, 8, 0, tzinfo=NEW_YORK)
        if candidate > local:
            return candidate.astimezone(UTC)
        day += timedelta(days=1)


def outbox(store: Store, stub: SlackStub, clock: Clock, *watchlists: Watchlist) -> Outbox:
    sink = SlackSink(stub.token, stub.base_url, timeout=2)
    return Outbox(store, sink, WatchlistSet(list(watchlists or [DAILY, INSTANT]), []), clock=clock)


def section_lines(message: Any) -> list[str]:
    return [
        line
        for block in message.blocks
        if block["type"] == "section"
        for line in block["text"]["text"].split("\n")
    ]


def test_next_digest_time_follows_the_watchlists_time_zone() -> None:
    for start in (
        datetime(2026, 3, 7, 12, 59, tzinfo=UTC),  # around the spring DST change
        datetime(2026, 3, 8, 12, 0, tzinfo=UTC),
        datetime(2026, 11, 1, 11, 59, tzinfo=UTC),  # and the autumn one
        datetime(2026, 11, 23, 13, 0, tzinfo=UTC),  # exactly 08:00 EST: the next day's
    ):
        assert next_digest_at(DAILY, start) == next_eight_am_new_york(start)


def test_held_matches_go_out_at_the_scheduled_time_then_nothing_until_the_next(
    store: Store, stub: SlackStub, clock: Clock
) -> None:
    watchlists = WatchlistSet([DAILY, INSTANT], [])
    sender = outbox(store, stub, clock)
    ingest(store, watchlists, make_article(1, "Low sister city story", relevance=0.4))
    ingest(store, watchlists, make_article(2, "Top sister city story", relevance=0.9))
    ingest(store, watchlists, make_article(3, "Top story (AP)", source="ap", relevance=0.9))
    fire = next_eight_am_new_york(clock.now)

    # the instant watchlist alerts at once; the digest items are held
    assert sender.deliver_due().delivered == 3
    assert {m.channel for m in stub.messages()} == {"#instant"}
    clock.now = fire - timedelta(seconds=1)
    assert sender.send_due_digests() == []
    assert sender.deliver_due().delivered == 0
    assert {m.channel for m in stub.messages()} == {"#instant"}

    clock.now = fire
    assert sender.send_due_digests() == ["daily"]
    [digest] = [m for m in stub.messages() if m.channel == "#digest"]
    day = fire.astimezone(NEW_YORK).strftime("%Y-%m-%d")
    assert (digest.blocks or [])[0]["text"]["text"] == f"daily digest · {day}"
    lines = section_lines(digest)
    assert [line.split("|")[1].split(">")[0] for line in lines] == [
        "Top sister city story",
        "Top story (AP)",
        "Low sister city story",
    ]
    held = store.held_digest_items("daily")
    assert held == []
    delivered = [a for a in store.list_alerts() if a.watchlist == "daily"]
    assert {a.delivered_ts for a in delivered} == {digest.ts}

    # a match after the digest waits for the next period
    ingest(store, watchlists, make_article(4, "Late sister city story"))
    for offset in (timedelta(seconds=1), timedelta(hours=12), timedelta(hours=23, minutes=59)):
        clock.now = fire + offset
        assert sender.send_due_digests() == []
    clock.now = next_eight_am_new_york(fire)
    assert sender.send_due_digests() == ["daily"]
    second = [m for m in stub.messages() if m.channel == "#digest"][-1]
    assert [line.split("|")[1].split(">")[0] for line in section_lines(second)] == [
        "Late sister city story"
    ]
    assert sender.send_due_digests() == []  # and nothing again in the same period


def test_copies_are_grouped_under_their_story(store: Store, stub: SlackStub, clock: Clock) -> None:
    watchlists = WatchlistSet([DAILY], [])
    ingest(store, watchlists, make_article(0, "Oxford sister city pact", cluster="s1"))
    ingest(store, watchlists, make_article(1, "Oxford pact (AP)", source="ap", cluster="s1"))
    ingest(store, watchlists, make_article(2, "Oxford pact again (AP)", source="ap", cluster="s1"))
    ingest(store, watchlists, make_article(3, "Other sister city story", relevance=0.5))
    clock.now = next_eight_am_new_york(clock.now)
    assert outbox(store, stub, clock, DAILY).send_due_digests() == ["daily"]
    [digest] = stub.messages()
    lines = section_lines(digest)
    assert len(lines) == 2
    assert "Oxford sister city pact" in lines[0] and lines[0].endswith("+1 copy")
    assert "Other sister city story" in lines[1]
    assert (digest.blocks or [])[1]["elements"][0]["text"] == "2 stories (3 articles)"
    # a copy of an already digested story never comes back in a later digest
    ingest(store, watchlists, make_article(4, "Oxford pact (Reuters)", source="rt", cluster="s1"))
    assert store.held_digest_items("daily") == []


def test_restart_sends_a_missed_digest_once(tmp_path: Path, stub: SlackStub, clock: Clock) -> None:
    path = tmp_path / "watchdesk.db"
    with Store(path) as store:
        ingest(store, WatchlistSet([DAILY], []), make_article(1, "A sister city story"))
        fire = next_eight_am_new_york(clock.now)
    # the process was down at 08:00 and comes back at 11:00: the digest goes out then
    clock.now = fire + timedelta(hours=3)
    with Store(path) as store:
        assert outbox(store, stub, clock, DAILY).send_due_digests() == ["daily"]
    with Store(path) as store:  # and a restart after it does not send it again
        assert outbox(store, stub, clock, DAILY).send_due_digests() == []
    assert len(stub.messages()) == 1


def test_failed_digest_stays_held_and_backs_off(
    store: Store, stub: SlackStub, clock: Clock
) -> None:
    ingest(store, WatchlistSet([DAILY], []), make_article(1, "A sister city story"))
    sender = outbox(store, stub, clock, DAILY)
    clock.now = next_eight_am_new_york(clock.now)
    stub.server_error(1)
    assert sender.send_due_digests() == []
    assert len(store.held_digest_items("daily")) == 1
    clock.advance(seconds=10)
    assert sender.send_due_digests() == []
    assert len(stub.requests()) == 1  # backing off: not retried on every tick
    clock.advance(seconds=30)
    assert sender.send_due_digests() == ["daily"]
    assert len(stub.messages()) == 1 and store.held_digest_items("daily") == []


def test_muted_and_empty_digests_send_nothing(store: Store, stub: SlackStub, clock: Clock) -> None:
    muted = DAILY.model_copy(update={"muted": True})
    sender = outbox(store, stub, clock, muted)
    clock.now = next_eight_am_new_york(clock.now) + timedelta(days=2)
    assert sender.send_due_digests() == []
    assert stub.requests() == []
