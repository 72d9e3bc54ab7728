"""`watchdesk sources check NAME` and `watchdesk status` against the loopback fixture site."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from demo.site import FixtureServer, listing_page
from tests.conftest import run_cli
from tests.spiders.cycle import run_once, write_config


def test_check_shows_what_a_source_would_yield_and_stores_nothing(
    tmp_path: Path, site: FixtureServer
) -> None:
    base = site.base_url
    arts = site.articles  # type: ignore[attr-defined]
    links = [(f"/articles/{a.slug}.html", a.title) for a in arts[:3]] + [("/about.html", "x")]
    site.site.add("/press/", listing_page(links))
    config = write_config(
        tmp_path,
        f'  - {{name: press, kind: listing, url: "{base}/press/", link_selector: "ul.news a",'
        ' deny: ["about"]}\n'
        f'  - {{name: broken, url: "{base}/feeds/broken.xml"}}',
    )
    result = run_cli("--config", str(config), "sources", "check", "press", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    outcomes = {d["url"].rsplit("/", 1)[1]: d["outcome"] for d in report["links"]}
    assert outcomes == {**{f"{a.slug}.html": "new" for a in arts[:3]}, "about.html": "filtered"}
    assert site.site.hits(f"/articles/{arts[0].slug}.html") == []  # no article fetched
    db = tmp_path / "test.db"
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM polls").fetchone()[0] == 0
    conn.close()

    failing = run_cli("--config", str(config), "sources", "check", "broken")
    assert failing.returncode == 1 and "HTTP 500" in failing.stdout
    assert run_cli("--config", str(config), "sources", "check", "nope").returncode == 2

    # after real polls: the broken feed fails twice and is marked failing in status
    run_once(config)
    run_once(config)
    status = run_cli("--config", str(config), "status", "--json")
    assert status.returncode == 0, status.stderr
    by_name = {s["source"]: s for s in json.loads(status.stdout)["sources"]}
    assert by_name["broken"]["health"] == "failing"
    assert by_name["press"]["health"] == "ok"
