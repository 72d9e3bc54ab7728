"""Several crawler processes sharing the work through a real Redis server on 127.0.0.1.

Redis comes from Debian's `redis-server` package (`make test` installs it where it can, as it
does Chromium); without it these tests are skipped with the reason shown.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from alerts.watchlist import Watchlist, WatchlistSet
from benchmarks.feedfarm import FeedFarm, service_env, write_config
from crawler.coordination import LocalCoordinator
from crawler.storage import Store
from crawler.storage.engine import DB_URL_ENV
from tests.alerts.helpers import ingest, make_article
from tests.alerts.test_delivery import titles
from tests.conftest import ROOT
from tests.slack_stub import SlackStub
from watchdesk.service.coordination import REDIS_URL_ENV, RedisCoordinator, open_coordinator

NEW_ARTICLES = re.compile(r"cycle done: .*? (\d+) new articles")
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not os.path.exists(REDIS_SERVER):
        pytest.skip("no redis-server: `apt-get install redis-server` (make test does, as root)")
    port = free_port()
    work = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [REDIS_SERVER, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
         "--appendonly", "no", "--dir", str(work)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                RedisCoordinator(url).close()
                break
            except Exception:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_claims_are_taken_once_across_processes(redis_url: str) -> None:
    a, b = RedisCoordinator(redis_url, "t-claims"), RedisCoordinator(redis_url, "t-claims")
    assert a.claim(["x", "y", "x"]) == {"x", "y"}
    assert b.claim(["y", "z"]) == {"z"}  # y is a's
    assert "y" in b and "w" not in b
    a.release(["y"])
    assert b.claim(["y"]) == {"y"}
    other = RedisCoordinator(redis_url, "t-claims-other")  # another deployment: its own keys
    assert other.claim(["x", "y", "z"]) == {"x", "y", "z"}


def test_leases_are_exclusive_renewable_and_expire(redis_url: str) -> None:
    a, b = RedisCoordinator(redis_url, "t-lease"), RedisCoordinator(redis_url, "t-lease")
    assert a.lease("outbox", 0.5)
    assert not b.lease("outbox", 0.5)
    assert a.lease("outbox", 0.5)  # the holder renews
    b.release_lease("outbox")  # not b's to give back
    assert not b.lease("outbox", 0.5)
    a.release_lease("outbox")
    assert b.lease("outbox", 0.3)
    time.sleep(0.5)  # b died holding it: it expires
    assert a.lease("outbox", 5)


def test_without_redis_everything_is_local(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REDIS_URL_ENV, raising=False)
    local = open_coordinator()
    assert isinstance(local, LocalCoordinator)
    assert local.claim(["a", "b"]) == {"a", "b"} and local.claim(["b", "c"]) == {"c"}
    assert local.lease("outbox", 1) and local.lease("outbox", 1)


def test_unreachable_redis_is_a_clear_error_without_the_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = f"redis://:s3cret-pass@127.0.0.1:{free_port()}/0"  # nothing listens there
    monkeypatch.setenv(REDIS_URL_ENV, url)
    with pytest.raises(ConnectionError) as caught:
        open_coordinator()
    assert REDIS_URL_ENV in str(caught.value) and "s3cret" not in str(caught.value)


def _run_once(config: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "watchdesk.cli", "--config", str(config), "run", "--once"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_processes_share_one_cycle_without_doing_anything_twice(
    redis_url: str, tmp_path: Path
) -> None:
    """Two `run --once` over the same sources and store: every feed polled once, every article
    fetched and stored once, every alert delivered once, whichever process did the work."""
    with FeedFarm(40, feeds_per_host=10) as farm:
        config = write_config(tmp_path, farm.urls())
        # primes the store (every feed answers once, empty) without Redis: a poll lease is
        # held for most of an interval and would keep the next two runs off every source
        first = _run_once(config, service_env())
        _, err = first.communicate(timeout=180)
        assert first.returncode == 0, err[-3000:]
        env = service_env() | {REDIS_URL_ENV: redis_url}
        farm.take_counts()
        published = [item for i in range(0, 40, 2) for item in farm.publish(i, 2)]

        procs = [_run_once(config, env) for _ in range(2)]
        outputs = [p.communicate(timeout=240) for p in procs]
        for proc, (_, err) in zip(procs, outputs, strict=True):
            assert proc.returncode == 0, err[-3000:]
        counts = farm.take_counts()

    feed_requests = sum(n for what, n in counts.items() if what.startswith("feed/"))
    assert feed_requests == 40, counts  # each source polled by one process only
    assert counts["article"] == len(published) == 40, counts  # each page fetched once
    stored_by = [int(m.group(1)) for _, err in outputs for m in NEW_ARTICLES.finditer(err)]
    assert len(stored_by) == 2 and sum(stored_by) == len(published), stored_by
    conn = sqlite3.connect(tmp_path / "watchdesk.db")
    try:
        ids = [r[0] for r in conn.execute("SELECT id FROM articles")]
        alerts = dict(conn.execute("SELECT status, count(*) FROM alerts GROUP BY status"))
    finally:
        conn.close()
    assert len(ids) == len(set(ids)) == len(published)
    assert alerts and set(alerts) == {"delivered"}, alerts  # none left waiting
    lines = (tmp_path / "alerts.jsonl").read_text("utf-8").splitlines()
    sent = Counter(record["alert"]["id"] for record in map(json.loads, lines))
    assert sent and max(sent.values()) == 1  # never twice
    assert sum(sent.values()) == alerts["delivered"]


def test_three_hosts_share_one_postgres_store_without_doing_anything_twice(
    redis_url: str, postgres_store: str, tmp_path: Path
) -> None:
    """Three `run --once`, each in its own working directory (its own config, tantivy index and
    alerts file: no shared files), sharing only Postgres (WATCHDESK_DB_URL) and Redis: every
    feed polled once, every page fetched and stored once, every alert sent once (issue 15)."""
    feeds = 60
    with FeedFarm(feeds, feeds_per_host=10) as farm:
        hosts = []
        for h in range(3):
            home = tmp_path / f"host{h}"
            home.mkdir()
            config = write_config(home, farm.urls())
            # keys of its own: the test above leaves its sources' poll leases in this Redis
            text = config.read_text("utf-8").replace(
                'crawl: {user_agent: "watchdesk-bench/0.1"}',
                'crawl: {user_agent: "watchdesk-bench/0.1", redis_namespace: t-three-hosts}',
            )
            assert "t-three-hosts" in text
            config.write_text(text, "utf-8")
            hosts.append(config)
        base = service_env() | {DB_URL_ENV: postgres_store}
        first = _run_once(hosts[0], base)  # primes the shared store, as above
        _, err = first.communicate(timeout=180)
        assert first.returncode == 0, err[-3000:]
        env = base | {REDIS_URL_ENV: redis_url}
        farm.take_counts()
        published = [item for i in range(0, feeds, 2) for item in farm.publish(i, 2)]

        procs = [_run_once(config, env) for config in hosts]
        outputs = [p.communicate(timeout=300) for p in procs]
        for proc, (_, err) in zip(procs, outputs, strict=True):
            assert proc.returncode == 0, err[-3000:]
        counts = farm.take_counts()

    feed_requests = sum(n for what, n in counts.items() if what.startswith("feed/"))
    assert feed_requests == feeds, counts  # each source polled by one host only
    assert counts["article"] == len(published) == feeds, counts  # each page fetched once
    with Store(postgres_store) as store:
        ids = [r[0] for r in store.execute("SELECT id FROM articles")]
        alerts = store.alert_counts()
    assert len(ids) == len(set(ids)) == len(published)
    assert alerts and set(alerts) == {"delivered"}, alerts
    sent: Counter[int] = Counter()
    for config in hosts:
        jsonl = config.parent / "alerts.jsonl"
        if jsonl.exists():
            for record in map(json.loads, jsonl.read_text("utf-8").splitlines()):
                # one message for a story's alerts from several watchlists names them all
                sent.update(record["message"].get("alert_ids") or [record["alert"]["id"]])
    assert sent and max(sent.values()) == 1  # never twice, whichever host sent it
    assert sum(sent.values()) == alerts["delivered"]
    assert not (tmp_path / "host1" / "watchdesk.db").exists()  # the store is Postgres only


# The SIGKILL test's outbox: CHANNELS channels (a process paces each channel at Slack's 1 post
# per second: several channels keep the three senders busy at once), PER_CHANNEL alerts each.
CHANNELS, PER_CHANNEL = 6, 5
KILL_AFTER_POSTS = 8
DELIVERED_LOG = re.compile(r'alert delivered .*? title="([^"]*)"')


def _pid_of_port(port: int, pids: list[int]) -> int | None:
    """The process among `pids` owning the local TCP port `port` on 127.0.0.1 (Linux /proc):
    which sender a request the Slack stub saw came from."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(fields[9])
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    link = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if link.startswith("socket:[") and link[8:-1] in inodes:
                        return pid
    return None


def test_a_sender_killed_mid_post_is_finished_by_the_others_and_nothing_is_sent_twice(
    postgres_store: str, slack_stub: SlackStub, tmp_path: Path
) -> None:
    """Three `run --once` sharing a Postgres outbox with no Redis (on Postgres the senders need
    no lease: each alert is claimed, FOR UPDATE SKIP LOCKED). One is SIGKILLed while Slack
    holds its post (the message is in the channel, the answer not yet sent): the others free
    its claims, find its message by its metadata instead of posting it again, and send the
    rest; the Slack stub's record shows every alert posted exactly once (issue 15)."""
    watchlists = [
        Watchlist(name=f"w{c}", query='"sister city"', channel=f"#desk-{c}")
        for c in range(CHANNELS)
    ]
    with Store(postgres_store) as store:
        for c, watchlist in enumerate(watchlists):
            for n in range(PER_CHANNEL):
                i = c * PER_CHANNEL + n
                ingest(
                    store, WatchlistSet([watchlist], []), make_article(i, f"Story {i}: sister city")
                )
    total = CHANNELS * PER_CHANNEL
    slack_stub.slow_answer(0.4, n=10 * total, method="chat.postMessage")
    yaml = "watchlists:\n" + "".join(
        f'  - {{name: {w.name}, query: \'"sister city"\', channel: "{w.channel}"}}\n'
        for w in watchlists
    )
    with FeedFarm(1, feeds_per_host=1) as farm:
        env = service_env() | slack_stub.env() | {DB_URL_ENV: postgres_store}
        procs = []
        for h in range(3):
            home = tmp_path / f"host{h}"
            home.mkdir()
            config = write_config(
                home, farm.urls(), alerts="{sink: slack, max_age: none}", watchlists=yaml
            )
            procs.append(_run_once(config, env))
        pids = [p.pid for p in procs]
        deadline = time.monotonic() + 120
        killed = None
        while killed is None and time.monotonic() < deadline:
            posts = [r for r in slack_stub.requests() if r.posted]
            if len(posts) >= KILL_AFTER_POSTS:
                killed = _pid_of_port(posts[-1].peer, pids)  # its answer is 0.4 s away
                if killed is not None:
                    os.kill(killed, signal.SIGKILL)
                    in_flight = posts[-1]
            time.sleep(0.01)
        assert killed is not None, "no post in flight was seen"
        outputs = {p.pid: p.communicate(timeout=180) for p in procs}

    for proc in procs:
        if proc.pid == killed:
            assert proc.returncode == -signal.SIGKILL
        else:
            assert proc.returncode == 0, outputs[proc.pid][1][-3000:]
    posted = Counter(titles(slack_stub.messages()))
    assert set(posted) == {f"Story {i}: sister city" for i in range(total)}, posted
    assert max(posted.values()) == 1, posted.most_common(3)  # nothing twice
    assert posted[titles([in_flight])[0]] == 1  # the killed post was found, not sent again
    assert any(r.method == "conversations.history" for r in slack_stub.requests())
    # each process logs the alerts it delivered, not the ones its neighbours did
    logged = Counter(m.group(1) for _, err in outputs.values() for m in DELIVERED_LOG.finditer(err))
    assert logged and max(logged.values()) == 1, logged.most_common(3)
    with Store(postgres_store) as store:
        assert store.alert_counts() == {"delivered": total}
    senders = {r.peer for r in slack_stub.messages()}
    assert len(senders) > 3  # several connections (senders) posted; not one alone
