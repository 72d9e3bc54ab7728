"""Every hop obeys the address policy: item links that redirect (301/302/303/307/308, and a chain
of two allowed hops first), meta refreshes and `rel=canonical` pointing at 127.0.0.2 (standing in
for an internal address), and a configured source that redirects there. Never requested (the
127.0.0.2 server's request log stays empty, robots.txt included), never stored or searchable,
recorded as refused with the hop's URL and counted in `watchdesk status`."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from demo.site import FixtureArticle, FixtureServer, article_page
from tests.conftest import run_cli

REDIRECT_CODES = (301, 302, 303, 307, 308)


@dataclass
class Run:
    base: str  # the trusted source's origin (127.0.0.1)
    internal: str  # 127.0.0.2
    internal_requests: list[dict[str, object]]
    config: Path
    stderr: str

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.config.parent / "c.db")


def _rss(links: list[str]) -> str:
    items = "".join(
        f"<item><title>t{i}</title><link>{u}</link></item>" for i, u in enumerate(links)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>f</title>{items}</channel></rss>'
    )


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    tmp = tmp_path_factory.mktemp("hops")
    with FixtureServer() as host, FixtureServer(host="127.0.0.2") as internal:
        base, secret = host.base_url, internal.base_url
        for path in (
            "/secret/metadata",
            "/secret/refresh",
            "/secret/canonical",
            "/secret/feed.xml",
        ):
            internal.site.add(path, "<html><body><p>internal secret token</p></body></html>")
        links = []
        for code in REDIRECT_CODES:
            host.site.add(
                f"/r{code}", "", status=code, headers={"Location": f"{secret}/secret/metadata"}
            )
            links.append(f"{base}/r{code}")
        # a chain: two allowed hops (the source's own origin) before the internal one
        host.site.add("/chain1", "", status=302, headers={"Location": f"{base}/chain2"})
        host.site.add("/chain2", "", status=301, headers={"Location": f"{base}/chain3"})
        host.site.add("/chain3", "", status=307, headers={"Location": f"{secret}/secret/metadata"})
        links.append(f"{base}/chain1")
        host.site.add(
            "/refresh.html",
            '<html><head><meta http-equiv="refresh" content="0; url='
            f'{secret}/secret/refresh"></head><body><p>moved</p></body></html>',
        )
        links.append(f"{base}/refresh.html")
        story = FixtureArticle(
            "canon",
            "Sister city delegation visits Hebei",
            datetime(2024, 6, 1, tzinfo=UTC),
            "x",
            ["Iowa and Hebei renewed their sister-state ties this week."] * 3,
        )
        page = article_page(story, base).replace(
            "<head>", f'<head><link rel="canonical" href="{secret}/secret/canonical">', 1
        )
        host.site.add("/canon.html", page)
        links.append(f"{base}/canon.html")
        host.site.add("/feed.xml", _rss(links), content_type="application/rss+xml")
        # a configured source whose own URL redirects to another origin: checked like a link
        host.site.add(
            "/moved.xml", "", status=301, headers={"Location": f"{secret}/secret/feed.xml"}
        )
        config = tmp / "c.yaml"
        config.write_text(
            f"""store: {{path: c.db}}
alerts: {{sink: jsonl, jsonl_path: a.jsonl}}
sources:
  - {{name: feed, kind: feed, url: "{base}/feed.xml"}}
  - {{name: moved, kind: feed, url: "{base}/moved.xml"}}
""",
            encoding="utf-8",
        )
        result = run_cli("--config", str(config), "-v", "run", "--once")
        assert result.returncode == 0, result.stderr[-3000:]
        yield Run(base, secret, list(internal.site.requests), config, result.stderr)


def test_internal_host_never_requested_robots_included(run: Run) -> None:
    assert run.internal_requests == []


def test_redirected_links_are_recorded_as_refused_with_the_hop(run: Run) -> None:
    with run.db() as db:
        rows = dict(
            (
                (url, (hop, reason))
                for url, hop, reason in db.execute(
                    "SELECT url, hop_url, reason FROM refusals WHERE source = 'feed'"
                )
            )
        )
    assert len(rows) == 7, (rows, run.stderr[-4000:])
    for code in REDIRECT_CODES:
        assert rows[f"{run.base}/r{code}"] == (f"{run.internal}/secret/metadata", "refused_address")
    assert rows[f"{run.base}/chain1"] == (f"{run.internal}/secret/metadata", "refused_address")
    assert rows[f"{run.base}/refresh.html"] == (f"{run.internal}/secret/refresh", "refused_address")
    assert f"{run.base}/canon.html" not in rows
    assert run.stderr.count("refused hop source=feed") == 7, run.stderr[-3000:]


def test_nothing_internal_is_stored_or_searchable(run: Run) -> None:
    with run.db() as db:
        stored = db.execute("SELECT url, canonical_url, text FROM articles").fetchall()
    # only the page with the internal canonical link, under its own URL
    assert [(u, c) for u, c, _ in stored] == [(f"{run.base}/canon.html",) * 2]
    assert all("internal secret" not in text for _, _, text in stored)
    found = run_cli("--config", str(run.config), "search", "secret", "--json")
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == ""


def test_status_counts_refusals_and_the_refused_source_redirect(run: Run) -> None:
    status = json.loads(run_cli("--config", str(run.config), "status", "--json").stdout)
    by_name = {s["source"]: s for s in status["sources"]}
    assert by_name["feed"]["refused_24h"] == 7
    assert {r["hop_url"] for r in by_name["feed"]["refused"]} == {
        f"{run.internal}/secret/metadata",
        f"{run.internal}/secret/refresh",
    }
    moved = by_name["moved"]
    assert moved["consecutive_failures"] == 1
    assert moved["last_error"].startswith(f"refused_address: {run.internal}/secret/feed.xml")
    assert moved["refused_24h"] == 1
    table = run_cli("--config", str(run.config), "status").stdout
    assert "refused" in table


def test_sources_check_counts_refused_links(tmp_path: Path) -> None:
    with FixtureServer() as host, FixtureServer(host="127.0.0.2") as internal:
        links = [f"{internal.base_url}/secret/metadata", f"{host.base_url}/fine.html"]
        host.site.add("/feed.xml", _rss(links), content_type="application/rss+xml")
        config = tmp_path / "c.yaml"
        config.write_text(
            f"""store: {{path: c.db}}
alerts: {{sink: jsonl, jsonl_path: a.jsonl}}
sources:
  - {{name: feed, kind: feed, url: "{host.base_url}/feed.xml"}}
""",
            encoding="utf-8",
        )
        checked = run_cli("--config", str(config), "sources", "check", "feed", "--json")
        text = run_cli("--config", str(config), "sources", "check", "feed")
        assert internal.site.requests == []
    assert checked.returncode == 0, checked.stderr
    report = json.loads(checked.stdout)
    assert report["refused"] == 1
    assert [link["outcome"] for link in report["links"]] == ["refused:refused_address", "new"]
    assert "1 refused" in text.stdout
