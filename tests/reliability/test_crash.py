"""Crash safety, counted: the real service (`watchdesk run`) is SIGKILLed at random points while
it polls, fetches, extracts, writes and sends alerts to the loopback Slack stub, then restarted,
over and over. After every kill the store passes `PRAGMA integrity_check`, keeps everything it
had committed, and holds each article once with its index entry; at the end every story is
stored and every alert was posted to Slack exactly once (lost = 0, duplicated = 0).

10 kills in the default run; `make test-slow` runs 50 (`WATCHDESK_CRASH_KILLS` overrides both,
`WATCHDESK_CRASH_SEED` replays a run).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from crawler.storage.engine import is_postgres_url
from tests.reliability.sitegen import (
    STORY,
    NewsSite,
    SlowServer,
    integrity,
    read_db,
    start_cli,
    store_consistency,
    store_exists,
    write_config,
)
from tests.slack_stub import SlackStub

# One kill in five lands while the service starts (it needs ~2.5 s: imports, gazetteer);
# the others within a few poll cycles (every 2 s) after its first feed request.
STARTUP_SHARE = 0.2
KILL_AFTER_START = (0.3, 2.5)
KILL_AFTER_FIRST_POLL = (0.0, 3.0)


def _snapshot(site: NewsSite, stub: SlackStub, db: Path | str) -> tuple[int, int, int, int]:
    feeds = len(site.server.site.hits("/feeds/local.xml")) + len(
        site.server.site.hits("/feeds/wire.xml")
    )
    with site.server.site.lock:
        pages = sum(1 for r in site.server.site.requests if r["path"].startswith("/articles/"))
    stored = sum(r[0] for r in read_db(db, "SELECT count(*) FROM articles"))
    return feeds, pages, stored, len(stub.requests())


def _wait_first_poll(
    site: NewsSite, stub: SlackStub, db: Path | str, proc: subprocess.Popen[str], feeds: int
) -> None:
    limit = time.monotonic() + 60
    while _snapshot(site, stub, db)[0] == feeds and time.monotonic() < limit:
        assert proc.poll() is None, "the service died on its own"
        time.sleep(0.02)


def _phase(before: tuple[int, ...], after: tuple[int, ...]) -> str:
    """What the service was doing in the last moments before the kill (best effort)."""
    feeds, pages, stored, posts = (a - b for a, b in zip(after, before, strict=True))
    if stored:
        return "writing"
    if posts:
        return "sending"
    if pages:
        return "fetching"
    if feeds:
        return "polling"
    return "starting/idle"


def crash_loop(tmp: Path, kills: int, seed: int, store_url: str | None = None) -> dict[str, object]:
    """`store_url`: a Postgres store instead of the SQLite file in `var/`."""
    rng = random.Random(seed)
    db: Path | str = store_url or tmp / "var" / "watchdesk.db"
    phases: Counter[str] = Counter()
    in_flight_at_kill: set[int] = set()
    with SlowServer() as server, SlackStub() as stub:
        site = NewsSite(server)
        config = write_config(tmp / "watchdesk.yaml", site.base, store_url=store_url)
        env = stub.env()
        for _ in range(kills):
            # Some rounds publish nothing: the feeds then answer 304 to a poll that carries
            # the validators of the last one, which must not hide stories it never stored.
            if rng.random() < 0.6 or not site.published:
                site.publish(rng.randint(1, 4))
            server.site.article_delay = rng.choice([0.0, 0.0, 0.1, 0.4])
            if rng.random() < 0.5:  # widen the window between a post and its "ok"
                stub.delay(rng.uniform(0.05, 0.5), n=rng.randint(1, 3))
            feeds_before = _snapshot(site, stub, db)[0]
            proc = start_cli(config, "run", env=env)
            try:
                if rng.random() < STARTUP_SHARE:
                    deadline = time.monotonic() + rng.uniform(*KILL_AFTER_START)
                else:
                    _wait_first_poll(site, stub, db, proc, feeds_before)
                    deadline = time.monotonic() + rng.uniform(*KILL_AFTER_FIRST_POLL)
                while time.monotonic() < deadline - 0.3:
                    assert proc.poll() is None, (tmp / "service.log").read_text()[-3000:]
                    time.sleep(0.05)
                before = _snapshot(site, stub, db)
                committed = {r[0] for r in read_db(db, "SELECT id FROM articles")}
                delivered = {
                    r[0] for r in read_db(db, "SELECT id FROM alerts WHERE status='delivered'")
                }
                time.sleep(max(0.0, deadline - time.monotonic()))
                phases[_phase(before, _snapshot(site, stub, db))] += 1
            finally:
                posts_before = len(stub.requests())
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=30)
            # A post the stub answers after the kill was in flight: Slack has the message, the
            # service never heard back (the stub's programmed delays are at most 0.5 s).
            time.sleep(0.6)
            for request in stub.requests()[posts_before:]:
                found = STORY.search(str(request.text or ""))
                if request.method == "chat.postMessage" and request.ok and found:
                    in_flight_at_kill.add(int(found.group(1)))
            if not store_exists(db):
                continue  # killed before the store was created
            assert integrity(db) == "ok"
            assert store_consistency(db) == []
            after = {r[0] for r in read_db(db, "SELECT id FROM articles")}
            assert committed <= after, "a committed article vanished after SIGKILL"
            still = {r[0] for r in read_db(db, "SELECT id FROM alerts WHERE status='delivered'")}
            assert delivered <= still, "a delivered alert went back to pending after SIGKILL"

        # Restart without killing until everything published is stored and sent.
        server.site.article_delay = 0.0
        for _ in range(4):
            proc = start_cli(config, "run", "--once", env=env)
            assert proc.wait(timeout=180) == 0, (tmp / "service.log").read_text()[-3000:]
            stored_ids = {r[0] for r in read_db(db, "SELECT id FROM articles")}
            pending = read_db(db, "SELECT count(*) FROM alerts WHERE status != 'delivered'")
            if set(site.story_ids()) <= stored_ids and pending[0][0] == 0:
                break

        assert integrity(db) == "ok"
        assert store_consistency(db) == []
        published = site.story_ids()
        stored_ids = {r[0] for r in read_db(db, "SELECT id FROM articles")}
        lost_articles = sorted(n for aid, n in published.items() if aid not in stored_ids)
        expected = {n for n in published.values() if n % 2 == 0}
        posted: Counter[int] = Counter()
        for message in stub.messages():
            found = STORY.search(str(message.text))
            assert found, f"unrecognised message: {message.text!r}"
            posted[int(found.group(1))] += 1
        lost_alerts = sorted(expected - set(posted))
        duplicated = sum(c - 1 for c in posted.values() if c > 1)
        duplicated_stories = {n for n, c in posted.items() if c > 1}
        unexpected = sorted(set(posted) - expected)
        log = (tmp / "service.log").read_text(encoding="utf-8", errors="replace")
    return {
        "kills": kills,
        "seed": seed,
        "phases": dict(phases),
        "stories": len(published),
        "stored": len(stored_ids),
        "lost_articles": lost_articles,
        "alerts_expected": len(expected),
        "alerts_posted": sum(posted.values()),
        "lost_alerts": lost_alerts,
        "duplicated": duplicated,
        "duplicated_stories": sorted(duplicated_stories),
        "duplicated_in_flight": sorted(duplicated_stories & in_flight_at_kill),
        "in_flight_at_kill": len(in_flight_at_kill),
        "unexpected": unexpected,
        "tracebacks": log.count("Traceback"),
    }


def _kills(default: int) -> int:
    return int(os.environ.get("WATCHDESK_CRASH_KILLS", default))


def _check(result: dict[str, object]) -> None:
    print(
        f"\ncrash safety: {result['kills']} SIGKILLs survived (seed {result['seed']}, at "
        f"{result['phases']}); {result['stories']} stories published, {result['stored']} "
        f"stored, lost {len(result['lost_articles'])}; alerts expected "  # type: ignore[arg-type]
        f"{result['alerts_expected']}, posted {result['alerts_posted']}, lost "
        f"{len(result['lost_alerts'])}, duplicated {result['duplicated']} "  # type: ignore[arg-type]
        f"({result['in_flight_at_kill']} posts were in flight to Slack at a kill)"
    )
    assert result["lost_articles"] == [], "stories never stored"
    assert result["lost_alerts"] == [], "alerts never posted"
    # Including a kill while Slack is processing a post: the outbox marked the alert
    # `sending` before posting and, after the restart, finds the message by its metadata
    # (conversations.history) instead of posting it again.
    assert result["duplicated"] == 0, (
        f"alerts posted twice: stories {result['duplicated_stories']}"
        f" (of them in flight at a kill: {result['duplicated_in_flight']})"
    )
    assert result["unexpected"] == []
    assert result["tracebacks"] == 0


def test_sigkill_loop(tmp_path: Path, store_at: str) -> None:
    seed = int(os.environ.get("WATCHDESK_CRASH_SEED", random.randrange(1 << 30)))
    url = store_at if is_postgres_url(store_at) else None
    _check(crash_loop(tmp_path, _kills(10), seed, url))


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_sigkill_loop_long(tmp_path: Path, store_at: str) -> None:
    seed = int(os.environ.get("WATCHDESK_CRASH_SEED", random.randrange(1 << 30)))
    url = store_at if is_postgres_url(store_at) else None
    _check(crash_loop(tmp_path, _kills(50), seed, url))
