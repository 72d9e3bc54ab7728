"""DNS rebinding: the address connected to is the address checked (spiders/address_policy.py's
resolver in a crawl, spiders/fetch.py's pinned connections outside one)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from crawler.addresses import AddressPolicy
from demo.site import FixtureServer
from spiders.fetch import fetch_page
from tests.conftest import ROOT
from tests.security.rebinding import PUBLIC_LOOKING, REBINDING_HOST


def test_a_name_rebound_to_an_internal_address_is_never_connected_to(tmp_path: Path) -> None:
    with FixtureServer() as feed_host, FixtureServer(host="127.0.0.2") as internal:
        internal.site.add("/secret/metadata", "<html><body>internal secret</body></html>")
        port = internal.base_url.rsplit(":", 1)[1]
        link = f"http://{REBINDING_HOST}:{port}/secret/metadata"
        feed_host.site.add(
            "/feed.xml",
            '<?xml version="1.0"?><rss version="2.0"><channel><title>f</title>'
            f"<item><title>rebound</title><link>{link}</link></item></channel></rss>",
            content_type="application/rss+xml",
        )
        db = tmp_path / "r.db"
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "tests.security.rebinding",
                f"{feed_host.base_url}/feed.xml",
                str(db),
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        assert internal.site.requests == []  # never connected to
    report = json.loads(result.stdout.strip().splitlines()[-1])
    answers = [answer for _host, answer in report["asked"]]
    # checked while it looked public, then asked again where the connection is made
    assert answers[0] == PUBLIC_LOOKING and "127.0.0.2" in answers[1:], answers
    assert report["pages"] == []  # nothing fetched, so nothing to store
    assert report["stats"].get("article/dropped/refused_address") == 1, report["stats"]
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT url, hop_url, reason FROM refusals").fetchall()
    conn.close()
    assert rows == [(link, link, "refused_address")]


def test_fetch_page_connects_to_the_address_it_checked() -> None:
    """Resolved once per hop: a name whose second answer differs is still connected to where
    the first (checked) answer pointed."""
    answers = iter(["127.0.0.1", "127.0.0.2"])

    def changing(host: str) -> Sequence[str]:
        return (next(answers),)

    with FixtureServer() as first:
        port = first.base_url.rsplit(":", 1)[1]
        second = FixtureServer(host="127.0.0.2", port=int(port)).__enter__()  # the same port
        first.site.add("/page", "<html><body>checked</body></html>")
        second.site.add("/page", "<html><body>rebound</body></html>")
        # allowed here (private addresses on) so that the test is where the connection goes
        page = fetch_page(
            f"http://changing.test:{port}/page", policy=AddressPolicy(True, lookup=changing)
        )
        second.__exit__()
        assert "checked" in page.text
        assert second.site.requests == []
