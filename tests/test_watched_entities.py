"""Watched people alert in the running service, as `watchdesk extract` promises: an entity-only
watchlist (`entity:<id>` with the id as written in the watchlists file) fires through `run
--once` and through the long-running `run`, also for a person added by a hot reload."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from demo.site import FixtureServer, rss_feed
from tests.conftest import run_cli
from tests.test_service import start_service

ZHOU = """\
entities:
  - {id: zhou-zheng, name: Zhou Zheng, type: person, aliases: [周正]}
watchlists:
  - {name: zhou, query: 'entity:zhou-zheng', channel: "#people"}
"""
# the hot reload adds a person and a watchlist on that person alone
ZHOU_AND_NINA = """\
entities:
  - {id: zhou-zheng, name: Zhou Zheng, type: person, aliases: [周正]}
  - {id: nina-hachigian, name: Nina Hachigian, type: person, country: US}
watchlists:
  - {name: zhou, query: 'entity:zhou-zheng', channel: "#people"}
  - {name: nina, query: 'entity:nina-hachigian', channel: "#people"}
"""


def _config(tmp_path: Path, feed_url: str, every: str = "15m") -> Path:
    (tmp_path / "watchlists.yaml").write_text(ZHOU, encoding="utf-8")
    config = tmp_path / "watchdesk.yaml"
    config.write_text(
        f"""store: {{path: people.db}}
alerts: {{sink: jsonl, jsonl_path: alerts.jsonl, first_poll: alert, max_age: none}}
sources:
  - {{name: ledger, kind: feed, url: "{feed_url}", every: {every}}}
watchlists: watchlists.yaml
""",
        encoding="utf-8",
    )
    return config


def _alerts(tmp_path: Path) -> list[tuple[str, str]]:
    """(watchlist, article url path) of every alert the JSON Lines sink delivered."""
    path = tmp_path / "alerts.jsonl"
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            alert = json.loads(line)["alert"]
            out.append((alert["watchlist"], alert["article_id"]))
    return out


def _feed(site: FixtureServer, slugs: list[str]) -> None:
    chosen = [a for a in site.articles if a.slug in slugs]  # type: ignore[attr-defined]
    site.site.add("/feeds/people.xml", rss_feed(chosen, site.base_url))


def _article_id(site: FixtureServer, slug: str) -> str:
    from crawler.article import article_id
    from crawler.urls import canonicalize_url

    return article_id(canonicalize_url(f"{site.base_url}/articles/{slug}.html"))


def test_extract_and_run_once_agree_on_a_watched_person(
    tmp_path: Path, site: FixtureServer
) -> None:
    _feed(site, ["mayors-delegation-heartland", "land-bill-texas"])
    config = _config(tmp_path, f"{site.base_url}/feeds/people.xml")
    page = f"{site.base_url}/articles/mayors-delegation-heartland.html"

    shown = run_cli("--config", str(config), "extract", page, "--json")
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert "person:zhou-zheng" in {e["id"] for e in data["entities"]}
    assert [m["watchlist"] for m in data["watchlists"]] == ["zhou"]

    once = run_cli("--config", str(config), "run", "--once")
    assert once.returncode == 0, once.stderr
    # the stored copy carries the same entity, and the entity-only watchlist fired for it alone
    assert _alerts(tmp_path) == [("zhou", _article_id(site, "mayors-delegation-heartland"))]
    explained = run_cli(
        "--config",
        str(config),
        "watchlist",
        "explain",
        "zhou",
        _article_id(site, "mayors-delegation-heartland"),
    )
    assert explained.returncode == 0, explained.stderr
    assert "no entity" not in explained.stdout


def test_running_service_alerts_on_a_person_added_by_hot_reload(
    tmp_path: Path, site: FixtureServer
) -> None:
    _feed(site, ["mayors-delegation-heartland"])
    config = _config(tmp_path, f"{site.base_url}/feeds/people.xml", every="2s")
    zhou = ("zhou", _article_id(site, "mayors-delegation-heartland"))
    nina = ("nina", _article_id(site, "local-diplomacy-state-dept"))
    proc = start_service(config)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and zhou not in _alerts(tmp_path):
            assert proc.poll() is None, proc.communicate()[1]
            time.sleep(0.2)
        assert _alerts(tmp_path) == [zhou]

        # add a person while the service runs, then publish a story that names her
        wl = tmp_path / "watchlists.yaml"
        wl.write_text(ZHOU_AND_NINA, encoding="utf-8")
        later = time.time() + 2  # a visible change even within the file system's mtime tick
        os.utime(wl, (later, later))
        polls = len(site.site.hits("/feeds/people.xml"))
        # the reload happens at the next delivery tick after a poll: wait for two more polls
        while time.monotonic() < deadline and len(site.site.hits("/feeds/people.xml")) < polls + 2:
            time.sleep(0.2)
        _feed(site, ["mayors-delegation-heartland", "local-diplomacy-state-dept"])
        while time.monotonic() < deadline and nina not in _alerts(tmp_path):
            assert proc.poll() is None, proc.communicate()[1]
            time.sleep(0.2)
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=20)
    assert _alerts(tmp_path) == [zhou, nina], stderr
    assert "watchlists reloaded" in stderr
