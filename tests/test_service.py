"""The long-running `watchdesk run`: sources polled on their schedules in one process, and a
clean stop on SIGTERM / Ctrl-C with the store consistent."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from demo.site import FixtureServer
from tests.conftest import ROOT


def start_service(config: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SLACK_BOT_TOKEN", "WATCHDESK_CONFIG")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.Popen(
        [sys.executable, "-m", "watchdesk.cli", "--config", str(config), "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_scheduled_polls_and_clean_stop(
    tmp_path: Path, site: FixtureServer, sig: signal.Signals
) -> None:
    base = site.base_url
    config = tmp_path / "watchdesk.yaml"
    config.write_text(
        f"""store: {{path: service.db}}
alerts: {{sink: jsonl, jsonl_path: alerts.jsonl, first_poll: alert, max_age: none}}
sources:
  - {{name: ledger, kind: feed, url: "{base}/feeds/ledger.xml", every: 2s}}
  - {{name: atom, kind: feed, url: "{base}/feeds/atom.xml", every: 3s}}
  - {{name: broken, kind: feed, url: "{base}/feeds/broken.xml", every: 2s}}
watchlists:
  - {{name: all-china, query: 'country:CN', channel: "#x"}}
""",
        encoding="utf-8",
    )
    proc = start_service(config)
    try:
        deadline = time.monotonic() + 60

        # wait until both feeds have been polled three times: first polls are spread over each
        # source's first interval and runs jitter, so the faster feed is not always ahead
        def polled(path: str) -> int:
            return len(site.site.hits(path))

        while (
            time.monotonic() < deadline
            and min(polled("/feeds/atom.xml"), polled("/feeds/ledger.xml")) < 3
        ):
            assert proc.poll() is None, proc.communicate()[1]
            time.sleep(0.2)
        assert len(site.site.hits("/feeds/atom.xml")) >= 3
        assert len(site.site.hits("/feeds/ledger.xml")) >= 3
        stopped_at = time.monotonic()
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    assert time.monotonic() - stopped_at < 10
    conn = sqlite3.connect(tmp_path / "service.db")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    n = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    assert n == len(site.articles)  # type: ignore[attr-defined]
    # every article page fetched once across all the polls
    for a in site.articles:  # type: ignore[attr-defined]
        assert len(site.site.hits(f"/articles/{a.slug}.html")) == 1
    # polls of one source never overlap: each poll of a feed is one request (plus retries)
    polls = conn.execute("SELECT source, count(*) FROM polls GROUP BY source").fetchall()
    assert dict(polls)["ledger"] >= 3
