"""A source down for days: polled less and less often (never given up: at least four times a
day), reported by `watchdesk status`, and recovered by the running service on its own once it
answers again. The days pass on a simulated clock (`Store.record_poll(at=...)`); the recovery
is the real service polling the real loopback site."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alerts.sinks.jsonl import JsonlSink
from crawler.records import PollRecord
from crawler.storage import Store
from tests.conftest import ROOT
from tests.reliability.sitegen import NewsSite, SlowServer, cli_env, read_db, start_cli
from watchdesk.service.config import load_config
from watchdesk.service.monitor import BACKOFF_CAP, Monitor

DAYS_DOWN = 3


def _config(tmp: Path, base: str) -> Path:
    path = tmp / "watchdesk.yaml"
    path.write_text(
        f"""store: {{path: var/watchdesk.db}}
alerts: {{sink: jsonl, jsonl_path: alerts.jsonl, first_poll: alert, max_age: none}}
sources:
  - {{name: local, kind: feed, url: "{base}/feeds/local.xml", every: 15m}}
  - {{name: wire, kind: feed, url: "{base}/feeds/wire.xml", every: 15m}}
watchlists:
  - {{name: kestrel, query: 'title:kestrel', channel: "#kestrel"}}
""",
        encoding="utf-8",
    )
    return path


def _status(config: Path) -> dict[str, dict[str, object]]:
    out = subprocess.run(
        [sys.executable, "-m", "watchdesk.cli", "--config", str(config), "status", "--json"],
        cwd=ROOT,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return {s["source"]: s for s in json.loads(out.stdout)["sources"]}


def test_source_down_for_days_backs_off_is_reported_and_recovers(tmp_path: Path) -> None:
    with SlowServer() as server:
        site = NewsSite(server)
        site.publish(4)
        config = _config(tmp_path, site.base)
        loaded = load_config(config)
        local, wire = loaded.config.sources
        monitor = Monitor(loaded, sink=JsonlSink(tmp_path / "alerts.jsonl"))
        # -- the outage, on a simulated clock: the scheduler ticks every 15 minutes and the
        # monitor's backoff decides whether the tick polls
        now = datetime.now(UTC).replace(microsecond=0)
        start = now - timedelta(days=DAYS_DOWN, hours=7)
        attempts: list[datetime] = []
        skipped = 0
        t = start
        while t < start + timedelta(days=DAYS_DOWN):
            until = monitor.backoff_until(local)
            if until is not None and until > t:
                skipped += 1
            else:
                down = PollRecord("local", "error", 503, error="HTTP 503")
                monitor.store.record_poll(local.url, down, at=t)
                attempts.append(t)
            t += local.interval
        # the other source went down an hour ago and is deep in its backoff
        for k in range(30):
            at = now - timedelta(hours=1) - timedelta(hours=6) * (29 - k)
            wire_down = PollRecord("wire", "error", None, error="ConnectionRefusedError")
            monitor.store.record_poll(wire.url, wire_down, at=at)
        assert (monitor.backoff_until(wire) or now) > now + timedelta(hours=4)
        monitor.close()

        gaps = [b - a for a, b in zip(attempts, attempts[1:], strict=False)]
        ticks = len(attempts) + skipped
        assert max(gaps) <= BACKOFF_CAP + local.interval  # never given up: 4+ tries a day
        assert gaps == sorted(gaps)  # backing off, never speeding up during the outage
        late = [a for a in attempts if a >= start + timedelta(days=1)]
        assert len(late) <= 4 * (DAYS_DOWN - 1) + 1

        health = _status(config)
        assert health["local"]["consecutive_failures"] == len(attempts)
        assert health["local"]["last_error"] == "HTTP 503"
        assert health["wire"]["consecutive_failures"] == 30

        # -- the site answers again: the running service recovers the source on its own, and
        # leaves alone the one still backing off
        proc = start_cli(config, "run")
        try:
            limit = time.monotonic() + 90
            while time.monotonic() < limit:
                stored = read_db(tmp_path / "var" / "watchdesk.db", "SELECT id FROM articles")
                local_ids = {k for k, n in site.story_ids().items() if n % 2 == 0 or n % 3 == 0}
                if local_ids <= {r[0] for r in stored}:
                    break
                assert proc.poll() is None, (tmp_path / "service.log").read_text()[-2000:]
                time.sleep(0.2)
            else:
                raise AssertionError("the source did not recover within 90 s")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        assert site.server.site.hits("/feeds/wire.xml") == []  # still backing off
        health = _status(config)
        assert health["local"]["consecutive_failures"] == 0
        assert health["local"]["last_error"] is None
        assert health["local"]["new_24h"] == len(local_ids)
        assert health["wire"]["consecutive_failures"] == 30
    print(
        f"\nsource down {DAYS_DOWN} days: {len(attempts)} polls in {ticks} scheduled ticks "
        f"({len(late)} after the first day, longest gap {max(gaps)}); reported with "
        f"{len(attempts)} consecutive failures; recovered by the service without intervention"
    )


def test_store_reports_health_of_a_source_that_never_answered(store_at: str) -> None:
    store = Store(store_at)
    at = datetime(2025, 1, 1, tzinfo=UTC)
    for k in range(5):
        store.record_poll(
            "http://127.0.0.1:9/feed",
            PollRecord("gone", "error", None, error="ConnectionRefusedError"),
            at=at + timedelta(hours=k),
        )
    (row,) = store.source_health(now=at + timedelta(hours=5))
    assert row["consecutive_failures"] == 5 and row["last_success"] is None
    assert row["last_error"] == "ConnectionRefusedError"
    store.close()
