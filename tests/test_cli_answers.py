"""The CLI answers what it was asked, in people's words (issue 18's small contradictions).

A value that can select nothing is an error, not an empty result; `status` shows a source that
has never worked as such and counts alerts in words; `index status` works on the default
embedded store; flags show no `<bool>` type. Each runs the real CLI on a real SQLite store.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alerts.watchlist import Watchlist, WatchlistSet
from crawler.records import PollRecord
from crawler.storage import Store
from tests.alerts.helpers import ingest, make_article
from tests.conftest import run_cli

SISTER = Watchlist(name="sister-cities", query='"sister city"', channel="#sister")
RETIRED = Watchlist(name="retired", query='"sister city"', channel="#old")


@pytest.fixture()
def config(tmp_path: Path) -> Path:
    """Two sources (one never polled, one that failed and never succeeded), one watchlist in
    the file, and alerts in the outbox from it and from a watchlist since removed."""
    path = tmp_path / "watchdesk.yaml"
    path.write_text(
        "store: {path: var/watchdesk.db}\n"
        "watchlists: watchlists.yaml\n"
        "sources:\n"
        "  - {name: fresh-feed, kind: feed, url: 'http://127.0.0.1:9/fresh.xml'}\n"
        "  - {name: broken-feed, kind: feed, url: 'http://127.0.0.1:9/broken.xml'}\n",
        encoding="utf-8",
    )
    (tmp_path / "watchlists.yaml").write_text(
        "watchlists:\n  - {name: sister-cities, query: '\"sister city\"', channel: '#sister'}\n",
        encoding="utf-8",
    )
    with Store(tmp_path / "var" / "watchdesk.db") as store:
        ingest(store, WatchlistSet([SISTER, RETIRED], []), make_article(0, "A sister city"))
        store.record_poll(
            "http://127.0.0.1:9/broken.xml",
            PollRecord(source="broken-feed", status="error", error="connection refused"),
        )
    return path


def cli(config: Path, *args: str) -> tuple[int, str, str]:
    proc = run_cli("--config", str(config), *args, env={"COLUMNS": "200"})
    return proc.returncode, proc.stdout, proc.stderr


def test_an_unknown_alert_status_is_an_error_with_the_known_ones(config: Path) -> None:
    code, out, err = cli(config, "alerts", "list", "--status", "bogus")
    assert code == 2 and not out
    assert "--status 'bogus' is unknown" in err
    assert "pending, held, failed, delivered" in err
    code, _, err = cli(config, "alerts", "list", "--status", "faild")
    assert code == 2 and "did you mean 'failed'?" in err
    code, out, _ = cli(config, "alerts", "list", "--status", "pending", "--json")
    assert code == 0 and {json.loads(line)["status"] for line in out.splitlines()} == {"pending"}


def test_retrying_an_unknown_watchlist_is_an_error_but_a_removed_one_is_not(config: Path) -> None:
    code, out, err = cli(config, "alerts", "retry", "--watchlist", "nosuch")
    assert code == 2 and not out
    assert "--watchlist 'nosuch' is unknown" in err and "sister-cities" in err
    code, _, err = cli(config, "alerts", "retry", "--watchlist", "sister-citys")
    assert code == 2 and "did you mean 'sister-cities'?" in err
    # gone from the file, still in the outbox: its failed alerts can still be sent again
    code, out, err = cli(config, "alerts", "retry", "--watchlist", "retired")
    assert code == 0, err
    assert "queued again" in out


def test_status_shows_sources_that_never_worked_and_counts_alerts_in_words(config: Path) -> None:
    code, out, err = cli(config, "status")
    assert code == 0, err
    assert "alerts: 2 pending" in out and "{" not in out.split("\n", 1)[0]
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if "-feed" in line}
    assert "never polled" in rows["fresh-feed"] and " ok " not in rows["fresh-feed"]
    assert "no success yet" in rows["broken-feed"]
    code, out, _ = cli(config, "status", "--json")
    health = {s["source"]: s["health"] for s in json.loads(out)["sources"]}
    assert health == {"fresh-feed": "never polled", "broken-feed": "no success yet"}


def test_index_status_reports_the_embedded_index(config: Path) -> None:
    code, out, err = cli(config, "index", "status", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["target"] == "embedded" and report["state"].startswith("not built yet")
    assert report["articles"] == 1 and report["backlog"] == 1
    assert cli(config, "search", "sister")[0] == 0  # the first search builds the index
    code, out, err = cli(config, "index", "status")
    assert code == 0, err
    assert "up to date" in out and "0 of 1 articles not indexed yet" in out


def test_flags_show_no_bool_type_in_help(config: Path) -> None:
    for command in (["status"], ["search"], ["alerts", "list"]):
        code, out, _ = cli(config, *command, "--help")
        assert code == 0 and "--json" in out
        assert "<bool>" not in out, command
