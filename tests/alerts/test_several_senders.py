"""Several outbox senders sharing one Postgres store (issue 15): each alert is posted once.

Real Postgres (the session's throwaway cluster), real slack-sdk, the loopback Slack stub. A
sender claims each alert before sending it (`Store.claim_alerts`: FOR UPDATE SKIP LOCKED), so
two senders running at once take different alerts, neither waits for the other, and a dead
sender's alerts are free for the others at once.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import TypeVar

import psycopg
import pytest

from alerts.watchlist import WatchlistSet
from crawler.storage import Store
from tests.alerts.helpers import Clock, ingest, make_article
from tests.alerts.test_delivery import SISTER, make_outbox, titles
from tests.alerts.test_digest import DAILY, next_eight_am_new_york, section_lines
from tests.slack_stub import SlackStub

STORIES = 40
T = TypeVar("T")


@pytest.fixture
def stored(postgres_store: str) -> Iterator[str]:
    """A Postgres store holding STORIES pending alerts to one channel."""
    with Store(postgres_store) as store:
        for n in range(STORIES):
            ingest(store, WatchlistSet([SISTER], []), make_article(n, f"Story {n}: sister city"))
    yield postgres_store


def race(url: str, send: Callable[[Store], T]) -> list[T]:
    """What `send` returned in each of two senders started at the same moment, each with its
    own store (its own connection and database session)."""
    start = threading.Barrier(2)
    results: list[T] = []

    def sender() -> None:
        with Store(url) as store:
            start.wait()
            results.append(send(store))

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_two_senders_racing_post_each_alert_once(
    stored: str, stub: SlackStub, clock: Clock
) -> None:
    stub.delay(0.02, n=2 * STORIES)  # each post takes a while: the senders overlap throughout
    reports = race(stored, lambda store: make_outbox(store, stub, clock, pace=0).deliver_due())
    posted = Counter(titles(stub.messages()))
    assert len(posted) == STORIES and set(posted.values()) == {1}, posted.most_common(3)
    assert sum(r.delivered for r in reports) == STORIES
    assert all(r.delivered > 0 for r in reports), "the senders did not run at the same time"
    with Store(stored) as store:
        assert store.alert_counts() == {"delivered": STORIES}


def test_a_claim_skips_alerts_another_sender_is_claiming_without_waiting(stored: str) -> None:
    with psycopg.connect(stored) as other:  # a sender in the middle of its claim
        other.execute("SELECT id FROM alerts WHERE id = 1 FOR UPDATE")
        got: list[set[int]] = []
        with Store(stored) as store:
            claimer = threading.Thread(target=lambda: got.append(store.claim_alerts([1, 2, 3])))
            claimer.start()
            claimer.join(timeout=5)
            waited = claimer.is_alive()
            other.rollback()  # let a blocked claim (no SKIP LOCKED) finish before the close
            claimer.join(timeout=30)
        assert not waited, "the claim waited for the other sender's row lock"
        assert got == [{2, 3}]


def test_a_dead_senders_claims_are_free_at_once(stored: str) -> None:
    a, b = Store(stored), Store(stored)
    try:
        assert a.claim_alerts([1, 2]) == {1, 2}
        assert b.claim_alerts([1, 2, 3]) == {3}  # 1 and 2 are a's while a lives
        assert a.claim_alerts([1]) == {1}  # a holds them already
        b.release_claims([3])
        a.close()  # the process died: its database session ended
        assert b.claim_alerts([1, 2, 3]) == {1, 2, 3}
    finally:
        b.close()


def test_two_senders_racing_post_a_digest_once(
    postgres_store: str, stub: SlackStub, clock: Clock
) -> None:
    """Digest items are claimed like instant alerts: the sender that holds them posts the
    digest, the other stays out of it whole (without the claim both post it: two digests)."""
    with Store(postgres_store) as store:
        for n in range(5):
            ingest(store, WatchlistSet([DAILY], []), make_article(n, f"Story {n}: sister city"))
    clock.now = next_eight_am_new_york(clock.now)
    stub.delay(0.5, n=2)  # the first post is slow: the second sender comes while it is out
    sent = race(
        postgres_store, lambda store: make_outbox(store, stub, clock, DAILY).send_due_digests()
    )
    [digest] = stub.messages()
    assert len(section_lines(digest)) == 5
    assert sorted(sent) == [[], ["daily"]]
    with Store(postgres_store) as store:
        assert store.held_digest_items("daily") == []
        assert store.alert_counts() == {"delivered": 5}
