"""What the shipped config's first day sends to Slack: its sources replayed from their recorded
formats (tests/fixtures/feeds/) on loopback, every item dated within the hour, the starter
watchlists. With the shipped `alerts` settings the first poll seeds: 0 alerts."""

from __future__ import annotations

import html
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import urljoin

import yaml
from parsel import Selector

from demo.site import FixtureArticle, FixtureServer, FixtureSite, article_page
from spiders.feed_parser import parse_feed
from spiders.listing import extract_links
from tests.conftest import ROOT, run_cli
from tests.spiders.test_default_sources import DEFAULTS, FIXTURES, FORMATS

_DATE = re.compile(r"<pubDate>[^<]*</pubDate>")


def replay(site: FixtureSite, base: str) -> list[dict[str, object]]:
    """Serve every default source's fixture on `base`, its item links pointing at article pages
    served there too; returns the sources as config entries (`aggregator: none`: the links are
    the articles)."""
    now = datetime.now(UTC) - timedelta(hours=1)
    sources: list[dict[str, object]] = []
    n = 0
    for source in DEFAULTS:
        path = f"/{source.name}"
        fixture = (FIXTURES / FORMATS[source.name]).read_bytes()
        entry: dict[str, object] = {"name": source.name, "kind": source.kind, "url": base + path}
        if source.kind == "listing":
            entry.update(link_selector=source.link_selector, timezone=source.timezone)
            text = fixture.decode("utf-8")
            page = Selector(text=text, base_url=base + path + "/")
            links = [
                (urljoin(base + path + "/", h), t)
                for h, t in extract_links(page, source.link_selector or "a")
            ]
            site.add(path + "/", text)
            entry["url"] = base + path + "/"
            items = [(link, title, "") for link, title in links]
        else:
            feed = parse_feed(fixture, source.url)
            encoding = "gb2312" if b'encoding="gb2312"' in fixture else "utf-8"
            text = fixture.decode(encoding)
            items = []
            for e in feed.entries:
                n += 1
                local = f"{base}/a/{n}.html"
                for form in (e.link, html.escape(e.link), e.link.replace("&", "&amp;")):
                    text = text.replace(form, local)
                items.append((local, e.title, e.summary))
            text = _DATE.sub(f"<pubDate>{format_datetime(now)}</pubDate>", text)
            site.add(path, text.encode(encoding), content_type="application/rss+xml")
            entry["aggregator"] = "none"
        for link, title, summary in items:
            article = FixtureArticle(
                link.rsplit("/", 1)[1], title, now, "Staff", [title, summary or title]
            )
            site.add(link.replace(base, ""), article_page(article, base))
        sources.append(entry)
    return sources


def first_day(tmp_path: Path, site: FixtureServer, alerts: dict[str, object]) -> tuple[int, int]:
    sources = replay(site.site, site.base_url)
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "watchlists.yaml").write_text(
        (ROOT / "watchlists.yaml").read_text("utf-8"), "utf-8"
    )
    config = tmp_path / "watchdesk.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "store": {"path": "first-day.db"},
                "alerts": {"sink": "jsonl", "jsonl_path": "alerts.jsonl", **alerts},
                "sources": sources,
                "watchlists": "watchlists.yaml",
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    result = run_cli("--config", str(config), "run", "--once")
    assert result.returncode == 0, result.stderr
    conn = sqlite3.connect(tmp_path / "first-day.db")
    try:
        stored = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
        alerted = conn.execute("SELECT count(*) FROM alerts").fetchone()[0]
    finally:
        conn.close()
    return stored, alerted


def test_the_shipped_first_day_sends_nothing(tmp_path: Path, site: FixtureServer) -> None:
    shipped = yaml.safe_load((ROOT / "watchdesk.yaml").read_text("utf-8"))["alerts"]
    stored, alerted = first_day(tmp_path / "seed", site, shipped)
    _, without_seed = first_day(tmp_path / "alert", site, {**shipped, "first_poll": "alert"})
    print(
        f"\nfirst day of the shipped config: {stored} stored, {alerted} alerts "
        f"({without_seed} with first_poll: alert)"
    )
    assert stored > 20
    assert alerted == 0
    assert without_seed > 0  # the same day without the seed would have alerted
