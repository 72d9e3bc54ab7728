"""One message per story per channel, digests too (issue 17): a digest does not list a story
its channel already has (an instant alert of another watchlist, an earlier digest, a copy of
a digested story), and the items it leaves out are settled, not held or lost. Real SQLite
outbox, the real slack-sdk client, the loopback Slack stub."""

from __future__ import annotations

from alerts.digest import next_digest_at
from alerts.outbox import ALREADY_IN_CHANNEL, Outbox
from alerts.sinks import SlackSink
from alerts.watchlist import Digest, Watchlist, WatchlistSet
from crawler.stats import Stats
from crawler.storage import Store
from tests.alerts.helpers import Clock, ingest, make_article
from tests.slack_stub import SlackStub, StubRequest

DESK = "#china-desk"
INSTANT = Watchlist(name="sister", query='"sister city"', channel=DESK)
MORNING = Watchlist(
    name="morning", query="Wuhan", channel=DESK, delivery=Digest(digest="0 8 * * *")
)
NOON = Watchlist(name="noon", query="Oxford", channel=DESK, delivery=Digest(digest="0 12 * * *"))
SKIPPED = "digest/skipped/already_in_channel"


def outbox(store: Store, stub: SlackStub, clock: Clock, *watchlists: Watchlist) -> Outbox:
    sink = SlackSink(stub.token, stub.base_url, timeout=2)
    return Outbox(
        store, sink, WatchlistSet(list(watchlists), []), clock=clock, pace=0.0, stats=Stats()
    )


def listed(message: StubRequest) -> list[str]:
    """The headlines a digest message lists."""
    return [
        line.split("|", 1)[1].split(">", 1)[0]
        for block in message.blocks or []
        if block["type"] == "section"
        for line in block["text"]["text"].split("\n")
        if line.startswith("• ")
    ]


def test_a_story_posted_as_an_instant_alert_is_not_listed_in_the_channels_digest(
    store: Store, stub: SlackStub, clock: Clock
) -> None:
    both = WatchlistSet([INSTANT, MORNING], [])
    story = make_article(1, "Oxford signs sister city pact")  # text names Wuhan: both match
    assert ingest(store, both, story) == 2
    other = make_article(2, "Wuhan trade fair", text="Wuhan hosts a trade fair.")
    assert ingest(store, both, other) == 1  # the digest's alone
    sender = outbox(store, stub, clock, INSTANT, MORNING)
    assert sender.deliver_due().delivered == 1
    [instant] = stub.messages()

    clock.now = next_digest_at(MORNING, clock.now)
    assert sender.send_due_digests() == ["morning"]
    _, digest = stub.messages()
    assert listed(digest) == ["Wuhan trade fair"]
    assert sender.stats.get(SKIPPED) == 1
    # the item left out is settled by the message the story is in, and says why
    [item] = [
        a for a in store.list_alerts() if (a.watchlist, a.article_id) == ("morning", story.id)
    ]
    assert (item.status, item.delivered_ts, item.last_error) == (
        "delivered",
        instant.ts,
        ALREADY_IN_CHANNEL,
    )
    assert store.held_digest_items("morning") == []


def test_a_digest_of_only_stories_already_posted_posts_nothing_and_holds_nothing(
    store: Store, stub: SlackStub, clock: Clock
) -> None:
    ingest(store, WatchlistSet([INSTANT, MORNING], []), make_article(1, "Sister city pact"))
    sender = outbox(store, stub, clock, INSTANT, MORNING)
    assert sender.deliver_due().delivered == 1
    fire = next_digest_at(MORNING, clock.now)
    clock.now = fire
    assert sender.send_due_digests() == []
    assert len(stub.messages()) == 1  # the instant alert only: no empty digest
    assert store.held_digest_items("morning") == []
    assert sender.stats.get(SKIPPED) == 1
    # the digest is not due again (no backoff, no retry): the next match waits for the next day
    clock.advance(minutes=5)
    assert sender.send_due_digests() == []
    ingest(store, WatchlistSet([MORNING], []), make_article(2, "Wuhan later", text="Wuhan."))
    clock.now = next_digest_at(MORNING, fire)
    assert sender.send_due_digests() == ["morning"]
    assert listed(stub.messages()[-1]) == ["Wuhan later"]


def test_a_story_pending_as_an_instant_alert_is_still_listed(
    store: Store, stub: SlackStub, clock: Clock
) -> None:
    """Only a delivered message counts: the instant alert may still fail for good."""
    ingest(store, WatchlistSet([INSTANT, MORNING], []), make_article(1, "Sister city pact"))
    sender = outbox(store, stub, clock, INSTANT, MORNING)
    clock.now = next_digest_at(MORNING, clock.now)
    assert sender.send_due_digests() == ["morning"]  # before the instant alert went out
    [digest] = stub.messages()
    assert listed(digest) == ["Sister city pact"]
    assert sender.stats.get(SKIPPED) == 0


def test_a_copy_of_a_digested_story_is_not_listed_by_the_next_digest(
    store: Store, stub: SlackStub, clock: Clock
) -> None:
    """Two digests in a row to one channel; between them a copy of a story the first one
    listed arrives: the second digest (the same watchlist or another) does not list it."""
    watchlists = WatchlistSet([MORNING, NOON], [])
    first = make_article(0, "Oxford and Wuhan sister city pact")  # both match
    ingest(store, WatchlistSet([MORNING], []), first)  # NOON was added later, say
    sender = outbox(store, stub, clock, MORNING, NOON)
    clock.now = next_digest_at(MORNING, clock.now)
    assert sender.send_due_digests() == ["morning"]
    [morning] = stub.messages()
    assert listed(morning) == ["Oxford and Wuhan sister city pact"]

    copy = make_article(1, "Oxford-Wuhan pact (AP)", source="ap", cluster=first.id)
    fresh = make_article(2, "Oxford council meets", text="Oxford council meets on Monday.")
    assert ingest(store, watchlists, copy) == 2
    assert ingest(store, watchlists, fresh) == 1
    assert store.held_digest_items("morning") == []  # it listed the story: a copy never joins
    assert len(store.held_digest_items("noon")) == 2  # the copy is new to this watchlist

    clock.now = next_digest_at(NOON, clock.now)
    assert sender.send_due_digests() == ["noon"]
    noon = stub.messages()[-1]
    assert listed(noon) == ["Oxford council meets"]
    assert "+1 copy" not in str(noon.blocks)
    [item] = [a for a in store.list_alerts() if a.article_id == copy.id]
    assert (item.watchlist, item.status, item.delivered_ts) == ("noon", "delivered", morning.ts)
    assert store.held_digest_items("noon") == store.held_digest_items("morning") == []
    assert sender.stats.get(SKIPPED) == 1

    # and the morning digest after that has nothing of it either
    clock.now = next_digest_at(MORNING, clock.now)
    assert sender.send_due_digests() == []
    assert len(stub.messages()) == 2


def test_the_same_story_on_two_channels_goes_to_both(
    store: Store, stub: SlackStub, clock: Clock
) -> None:
    elsewhere = MORNING.model_copy(update={"name": "morning-b", "channel": "#other-desk"})
    instant_b = INSTANT.model_copy(update={"name": "sister-b", "channel": "#third-desk"})
    watchlists = WatchlistSet([INSTANT, MORNING, elsewhere, instant_b], [])
    assert ingest(store, watchlists, make_article(1, "Oxford signs sister city pact")) == 4
    sender = outbox(store, stub, clock, *watchlists.watchlists)
    assert sender.deliver_due().delivered == 2
    clock.now = next_digest_at(MORNING, clock.now)
    assert sorted(sender.send_due_digests()) == ["morning-b"]  # #china-desk has it already
    by_channel = {m.channel: m for m in stub.messages()}
    assert set(by_channel) == {DESK, "#third-desk", "#other-desk"}
    assert listed(by_channel["#other-desk"]) == ["Oxford signs sister city pact"]
    assert {a.status for a in store.list_alerts()} == {"delivered"}
