"""Graceful shutdown: SIGTERM or Ctrl-C (SIGINT) with slow sources in flight, or with an alert
being posted, stops the service within 10 s; the store is whole, the alert being sent is
recorded as sent, the others stay pending in the outbox, and the next start loses nothing and
posts nothing twice."""

from __future__ import annotations

import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.reliability.sitegen import (
    STORY,
    NewsSite,
    SlowServer,
    integrity,
    read_db,
    start_cli,
    store_consistency,
    write_config,
)
from tests.slack_stub import SlackStub

STOP_WITHIN = 10.0


def _wait(predicate, what: str, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    limit = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < limit, f"timed out waiting for {what}"
        time.sleep(0.05)


def _stop(proc, sig: signal.Signals) -> float:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    proc.send_signal(sig)
    try:
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    took = time.monotonic() - started
    assert code == 0, f"exit code {code}"
    return took


def _posts(stub: SlackStub) -> Counter[int]:
    out: Counter[int] = Counter()
    for m in stub.messages():
        found = STORY.search(str(m.text))
        assert found
        out[int(found.group(1))] += 1
    return out


@pytest.mark.parametrize(
    "sig", [signal.SIGTERM, pytest.param(signal.SIGINT, marks=pytest.mark.slow)]
)
def test_stop_with_slow_sources_in_flight(tmp_path: Path, sig: signal.Signals) -> None:
    with SlowServer() as server, SlackStub() as stub:
        site = NewsSite(server)
        site.publish(6)
        server.site.article_delay = 20.0  # every article page hangs far past the stop bound
        config = write_config(tmp_path / "watchdesk.yaml", site.base)
        proc = start_cli(config, "run", env=stub.env())
        pages = lambda: sum(  # noqa: E731
            1 for r in list(server.site.requests) if r["path"].startswith("/articles/")
        )
        _wait(lambda: pages() >= 2, "article fetches in flight")
        took = _stop(proc, sig)
        db = tmp_path / "var" / "watchdesk.db"
        assert took < STOP_WITHIN, f"took {took:.1f}s to stop"
        assert integrity(db) == "ok" and store_consistency(db) == []
        stored_before = read_db(db, "SELECT count(*) FROM articles")[0][0]

        # the interrupted poll must not hide its stories from the next one
        server.site.article_delay = 0.0
        assert start_cli(config, "run", "--once", env=stub.env()).wait(timeout=120) == 0
        stored = {r[0] for r in read_db(db, "SELECT id FROM articles")}
        assert set(site.story_ids()) <= stored
        posts = _posts(stub)
        assert set(posts) == {n for n in site.published if n % 2 == 0}
        assert max(posts.values()) == 1
    log = (tmp_path / "service.log").read_text()
    assert "Traceback" not in log, log[-3000:]
    print(
        f"\nshutdown ({sig.name}) with slow sources in flight: stopped in {took:.1f}s; "
        f"{stored_before} stored before, {len(stored)} after the next run, none lost"
    )


def test_stop_while_an_alert_is_being_posted(tmp_path: Path) -> None:
    with SlowServer() as server, SlackStub() as stub:
        site = NewsSite(server)
        site.publish(8)  # four stories alert
        config = write_config(tmp_path / "watchdesk.yaml", site.base)
        db = tmp_path / "var" / "watchdesk.db"
        # Slack takes 4 s over the first post (not the start-up `slack check` calls)
        stub.delay(4.0, n=1, method="chat.postMessage")
        proc = start_cli(config, "run", env=stub.env())
        _wait(
            lambda: (read_db(db, "SELECT count(*) FROM alerts") or [(0,)])[0][0] >= 4,
            "alerts queued",
        )
        time.sleep(1.0)  # the first post is now inside Slack's 4 s
        took = _stop(proc, signal.SIGTERM)
        assert took < STOP_WITHIN, f"took {took:.1f}s to stop"
        assert integrity(db) == "ok" and store_consistency(db) == []
        rows = read_db(db, "SELECT status, delivered_ts FROM alerts ORDER BY id")
        statuses = Counter(r[0] for r in rows)
        # the post Slack accepted is recorded as sent (its ts), nothing was marked failed
        sent_ts = {m.ts for m in stub.messages()}
        assert sent_ts == {r[1] for r in rows if r[0] == "delivered"}
        assert statuses["failed"] == 0
        assert statuses["pending"] >= 1, "the alerts not yet sent stay in the outbox"

        assert start_cli(config, "run", "--once", env=stub.env()).wait(timeout=120) == 0
        posts = _posts(stub)
        assert set(posts) == {n for n in site.published if n % 2 == 0}
        assert max(posts.values()) == 1, f"posted twice: {posts}"
    print(
        f"\nshutdown during a Slack post: stopped in {took:.1f}s, {statuses['delivered']} sent "
        f"and recorded, {statuses['pending']} left pending; after restart each posted once"
    )
