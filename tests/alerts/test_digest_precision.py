"""Each digest's footer says how the desk judged each of its watchlists: one context line per
watchlist with judged alerts, from the store's own `verdict_counts` (as `watchlist stats`),
valid Block Kit within Slack's limits, also when the digest runs to several messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk.models.blocks import Block

from alerts.digest import next_digest_at
from alerts.message import (
    MAX_BLOCKS,
    MAX_TOTAL_BLOCK_TEXT,
    PRECISION_WINDOW,
    render_digest_parts,
    slack_length,
)
from alerts.outbox import Outbox
from alerts.sinks import SlackSink
from alerts.watchlist import Digest, Watchlist, WatchlistSet
from crawler.records import MatchedTerm
from crawler.stats import Stats
from crawler.storage import Store
from tests.alerts.helpers import Clock, ingest, make_article
from tests.slack_stub import SlackStub

LAND = Watchlist(
    name="land-laws", query='"sister city"', channel="#desk", delivery=Digest(digest="0 8 * * *")
)
QUIET = Watchlist(name="quiet", query="Wuhan", channel="#desk", delivery=Digest(digest="0 8 * * *"))
FOOTER = "land-laws: 7 of 9 judged relevant (78%), 9 of 40 alerts judged (22%), last 30 days"


def _judge(store: Store, relevant: int, not_relevant: int) -> None:
    """Verdicts on the first alerts of land-laws: `relevant` then `not_relevant` of them."""
    alerts = [a for a in store.list_alerts(limit=10_000) if a.watchlist == LAND.name]
    verdicts = ["relevant"] * relevant + ["not_relevant"] * not_relevant
    for alert, verdict in zip(alerts, verdicts, strict=False):
        assert alert.id is not None
        assert store.record_verdict(alert.id, "U0EDITOR1", verdict)  # type: ignore[arg-type]


def _items(store: Store, watchlist: Watchlist) -> list[tuple[Any, list[MatchedTerm]]]:
    out = []
    for alert in store.list_alerts(limit=10_000):
        article = store.get_article(alert.article_id)
        if alert.watchlist == watchlist.name and article is not None:
            out.append((article, []))
    return out


def _contexts(message: dict[str, Any]) -> list[str]:
    return [e["text"] for b in message["blocks"] if b["type"] == "context" for e in b["elements"]]


def _valid(message: dict[str, Any]) -> None:
    blocks = message["blocks"]
    assert 0 < len(blocks) <= MAX_BLOCKS
    total = 0
    for block in blocks:
        Block.parse(block).validate_json()  # type: ignore[union-attr]  # slack-sdk's own checks
        for obj in [block.get("text"), *block.get("elements", [])]:
            if isinstance(obj, dict):
                total += slack_length(obj["text"])
    assert total <= MAX_TOTAL_BLOCK_TEXT


def test_the_footer_gives_each_watchlists_precision_from_stored_verdicts(store: Store) -> None:
    watchlists = WatchlistSet([LAND, QUIET], [])
    for n in range(40):
        ingest(store, watchlists, make_article(n, f"Oxford signs sister city pact {n}"))
    _judge(store, relevant=7, not_relevant=2)
    precision = store.verdict_counts(since=datetime.now(UTC) - PRECISION_WINDOW)
    groups = [(LAND, _items(store, LAND)[:5]), (QUIET, [])]
    (part,) = render_digest_parts(groups, "2026-11-03", precision=precision)
    _valid(part.message)
    assert part.message["blocks"][-1]["type"] == "context"
    # quiet matched the same 40 articles but nothing of it was judged: no line for it
    assert part.message["blocks"][-1]["elements"] == [{"type": "mrkdwn", "text": FOOTER}]


def test_no_footer_when_nothing_was_judged(store: Store) -> None:
    watchlists = WatchlistSet([LAND], [])
    for n in range(3):
        ingest(store, watchlists, make_article(n, f"Oxford signs sister city pact {n}"))
    precision = store.verdict_counts(since=datetime.now(UTC) - PRECISION_WINDOW)
    assert precision[LAND.name].judged == 0
    (part,) = render_digest_parts([(LAND, _items(store, LAND))], precision=precision)
    assert not any("judged" in text for text in _contexts(part.message))
    # and verdicts older than the window are not counted
    _judge(store, relevant=2, not_relevant=1)
    future = store.verdict_counts(since=datetime.now(UTC) + timedelta(days=1))
    (part,) = render_digest_parts([(LAND, _items(store, LAND))], precision=future)
    assert not any("judged" in text for text in _contexts(part.message))


def test_a_long_digest_keeps_the_footer_for_its_last_message_within_limits(store: Store) -> None:
    big = LAND.model_copy(update={"delivery": Digest(digest="0 8 * * *", max_stories=500)})
    watchlists = WatchlistSet([big], [])
    title = "Oxford signs sister city pact " + "with a long headline 🐉 " * 6
    for n in range(300):
        ingest(store, watchlists, make_article(n, f"{title}{n}"))
    _judge(store, relevant=30, not_relevant=10)
    precision = store.verdict_counts(since=datetime.now(UTC) - PRECISION_WINDOW)
    parts = render_digest_parts([(big, _items(store, big))], precision=precision)
    assert len(parts) > 1
    for part in parts:
        _valid(part.message)
    footers = [[t for t in _contexts(p.message) if "judged relevant" in t] for p in parts]
    assert footers[:-1] == [[]] * (len(parts) - 1)
    assert footers[-1] == [
        "land-laws: 30 of 40 judged relevant (75%), 40 of 300 alerts judged (13%), last 30 days"
    ]
    assert sum(len(p.article_ids) for p in parts) == 300


def test_a_digest_sent_through_the_outbox_ends_with_the_precision_footer(
    store: Store, stub: SlackStub, clock: Clock
) -> None:
    watchlists = WatchlistSet([LAND], [])
    for n in range(40):
        ingest(store, watchlists, make_article(n, f"Oxford signs sister city pact {n}"))
    _judge(store, relevant=7, not_relevant=2)
    sink = SlackSink(stub.token, stub.base_url, timeout=2)
    sender = Outbox(store, sink, watchlists, clock=clock, pace=0.0, stats=Stats())
    clock.now = next_digest_at(LAND, clock.now)
    assert sender.send_due_digests() == ["land-laws"]
    last = stub.messages()[-1]
    assert last.blocks is not None
    assert last.blocks[-1] == {"type": "context", "elements": [{"type": "mrkdwn", "text": FOOTER}]}
