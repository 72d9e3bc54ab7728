"""The safe first day (issue 12): a source's backlog is seeded without alerts, old articles
never alert, and `watchdesk run` polls never-polled sources within its first minute."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from demo.site import FixtureArticle, FixtureServer, article_page, rss_feed
from tests.conftest import ROOT, run_cli

WATCHLIST = """watchlists:
  - {name: sister, query: '"sister city"', channel: "#sister"}
"""


def backlog_site(site: FixtureServer, total: int = 100, recent: int = 10) -> None:
    """A feed of `total` items, the first `recent` published within the last two days, the
    rest 20 to 120 days ago; every article mentions a sister city."""
    now = datetime.now(UTC).replace(microsecond=0)
    articles = []
    for i in range(total):
        age = timedelta(hours=4 * i) if i < recent else timedelta(days=20 + i)
        articles.append(
            FixtureArticle(
                f"story-{i}",
                f"Town {i} weighs a sister city tie with a Chinese city",
                now - age,
                "Staff",
                _distinct_story(i),
            )
        )
    for a in articles:
        site.site.add(f"/articles/{a.slug}.html", article_page(a, site.base_url))
    site.site.add(
        "/feeds/backlog.xml",
        rss_feed(articles, site.base_url, title="Backlog"),
        content_type="application/rss+xml",
    )


_WORDS = [
    "harbor",
    "orchard",
    "museum",
    "rail",
    "bridge",
    "choir",
    "festival",
    "library",
    "tractor",
    "soybean",
    "clinic",
    "canal",
    "stadium",
    "ferry",
    "vineyard",
    "bakery",
    "glassworks",
    "robotics",
    "pottery",
    "lantern",
    "marathon",
    "garden",
]


def _distinct_story(i: int) -> list[str]:
    """Two paragraphs no other story shares (so none is taken for a syndicated copy)."""
    rng = [_WORDS[(i * 7 + k * 3) % len(_WORDS)] for k in range(12)]
    return [
        f"Council {i} of the county debated a sister city agreement with Wuhan, China, "
        f"covering the {rng[0]}, the {rng[1]} and the {rng[2]} projects, officials said.",
        f"Story {i}: residents discussed the {rng[3]} {rng[4]} plan, the {rng[5]} fund "
        f"and a {rng[6]} {rng[7]} exchange; the {rng[8]} and {rng[9]} groups number {i * 13}.",
        f"A vote on the {rng[10]} {rng[11]} proposal number {i} is expected in {1990 + i}.",
    ]


def write(tmp_path: Path, base: str, alerts: str) -> Path:
    config = tmp_path / "watchdesk.yaml"
    config.write_text(
        f"""store: {{path: test.db}}
alerts: {{sink: jsonl, jsonl_path: alerts.jsonl{alerts}}}
sources:
  - {{name: backlog, url: "{base}/feeds/backlog.xml", every: 1h}}
{WATCHLIST}""",
        encoding="utf-8",
    )
    return config


def counts(config: Path) -> tuple[int, int]:
    conn = sqlite3.connect(config.parent / "test.db")
    try:
        articles = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
        alerts = conn.execute("SELECT count(*) FROM alerts").fetchone()[0]
    finally:
        conn.close()
    return articles, alerts


def test_first_poll_seeds_the_backlog_without_alerts(tmp_path: Path, site: FixtureServer) -> None:
    backlog_site(site)
    config = write(tmp_path, site.base_url, "")  # the defaults: first_poll seed, max_age 7d
    result = run_cli("--config", str(config), "run", "--once")
    assert result.returncode == 0, result.stderr
    assert counts(config) == (100, 0)
    assert "seeded 100 items from backlog, no alerts" in result.stderr
    assert not (tmp_path / "alerts.jsonl").exists() or not (tmp_path / "alerts.jsonl").read_text()


def test_first_poll_alert_sends_only_what_is_within_max_age(
    tmp_path: Path, site: FixtureServer
) -> None:
    backlog_site(site)
    config = write(tmp_path, site.base_url, ", first_poll: alert")
    result = run_cli("--config", str(config), "run", "--once")
    assert result.returncode == 0, result.stderr
    assert counts(config) == (100, 10)
    sent = (tmp_path / "alerts.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(sent) == 10
    # one line per delivered alert, with the watchlist, the channel and the latency
    delivered = [line for line in result.stderr.splitlines() if "alert delivered" in line]
    assert len(delivered) == 10
    assert all("watchlist=sister" in line and "latency=" in line for line in delivered)


def test_run_polls_a_new_source_within_the_first_minute(
    tmp_path: Path, site: FixtureServer
) -> None:
    backlog_site(site, total=3, recent=3)
    config = write(tmp_path, site.base_url, "")
    env = {k: v for k, v in os.environ.items() if k not in ("SLACK_BOT_TOKEN", "WATCHDESK_CONFIG")}
    env["PYTHONPATH"] = str(ROOT)
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "watchdesk.cli", "--config", str(config), "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        while time.monotonic() - started < 60 and not site.site.hits("/feeds/backlog.xml"):
            assert proc.poll() is None, proc.communicate()[1]
            time.sleep(0.2)
        polled_after = time.monotonic() - started
        assert site.site.hits("/feeds/backlog.xml"), "no first poll within a minute"
        # the source is hourly: the first poll came within seconds, not spread over the hour
        assert polled_after < 30
        time.sleep(2)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    assert "poll source=backlog" in stderr

    # started again at once, a source polled a moment ago waits for its turn
    before = len(site.site.hits("/feeds/backlog.xml"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "watchdesk.cli", "--config", str(config), "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(8)
        assert proc.poll() is None, proc.communicate()[1]
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert len(site.site.hits("/feeds/backlog.xml")) == before
