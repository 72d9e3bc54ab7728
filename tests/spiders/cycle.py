"""Helpers for spider tests: a config around some sources, one `watchdesk run --once`, and
what the store holds afterwards."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from crawler.article import article_id
from crawler.urls import canonicalize_url
from demo.site import FixtureServer, FixtureSite
from tests.conftest import run_cli


def write_config(tmp_path: Path, sources: str, crawl: str = "{}") -> Path:
    """A config with the given `sources:` YAML lines, a JSON Lines alert sink, no watchlists."""
    config = tmp_path / "watchdesk.yaml"
    config.write_text(
        f"""store: {{path: test.db}}
crawl: {crawl}
alerts: {{sink: jsonl, jsonl_path: alerts.jsonl, first_poll: alert, max_age: none}}
sources:
{sources}
watchlists: []
""",
        encoding="utf-8",
    )
    return config


def run_once(config: Path) -> str:
    """One cycle through the real CLI (a fresh process: Scrapy's reactor runs once per
    process); returns its stderr, failing the test on a non-zero exit."""
    result = run_cli("--config", str(config), "-v", "run", "--once")
    assert result.returncode == 0, result.stderr
    return result.stderr


def stored_ids(config: Path) -> set[str]:
    conn = sqlite3.connect(config.parent / "test.db")
    try:
        return {r[0] for r in conn.execute("SELECT id FROM articles")}
    finally:
        conn.close()


def polls(config: Path, source: str) -> list[tuple[str, int, int, str | None]]:
    """(status, items, new, error) of each poll of `source`, oldest first."""
    conn = sqlite3.connect(config.parent / "test.db")
    try:
        return conn.execute(
            "SELECT status, items, new, error FROM polls WHERE source = ? ORDER BY id", (source,)
        ).fetchall()
    finally:
        conn.close()


def aid(url: str) -> str:
    return article_id(canonicalize_url(url))


@contextmanager
def other_loopback_server() -> Iterator[FixtureServer]:
    """A second site on 127.0.0.2: a different origin whose name resolves to loopback, so
    links to it found inside a source must be refused (and never requested)."""
    with FixtureServer(FixtureSite(), host="127.0.0.2") as server:
        server.site.add("/articles/internal.html", "<html><body>internal</body></html>")
        yield server
