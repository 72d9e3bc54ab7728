"""The desk's verdicts feeding the editors: `watchlist test --query` says how a draft treats
the judged alerts, `watchlist stats` gives precision, `watchlist explain` shows the verdicts.
The real CLI in a subprocess, over a real SQLite store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alerts.backtest import backtest, draft_watchlist
from alerts.watchlist import Watchlist, WatchlistSet
from crawler.storage import Store
from tests.alerts.helpers import ingest, make_article
from tests.conftest import run_cli

DESK = Watchlist(name="desk", query='"sister city"', channel="#desk")
WATCHLISTS_YAML = """\
watchlists:
  - name: desk
    query: '"sister city"'
    channel: "#desk"
  - name: quiet
    query: Wuhan
    channel: "#other"
"""
# Ten judged alerts: six relevant (signings), four not relevant (three festivals, a review).
RELEVANT = [f"Oxford signs sister city agreement {n}" for n in range(6)]
NOT_RELEVANT = [f"Sister city festival parade {n}" for n in range(3)] + ["Sister city essay"]
DRAFT = '"sister city" AND NOT festival'


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("labelled")
    (root / "watchlists.yaml").write_text(WATCHLISTS_YAML, encoding="utf-8")
    path = root / "watchdesk.yaml"
    path.write_text("store: {path: var/wd.db}\nwatchlists: watchlists.yaml\n", encoding="utf-8")
    watchlists = WatchlistSet([DESK], [])
    with Store(root / "var" / "wd.db") as store:
        for n, title in enumerate(RELEVANT + NOT_RELEVANT):
            ingest(store, watchlists, make_article(n, title))
        ingest(store, watchlists, make_article(20, "Unjudged sister city story"))
        alerts = {a.article_id: a.id for a in store.list_alerts()}
        for n, title in enumerate(RELEVANT + NOT_RELEVANT):
            alert_id = alerts[make_article(n, title).id]
            assert alert_id is not None
            verdict = "relevant" if title in RELEVANT else "not_relevant"
            store.record_verdict(alert_id, "U0EDITOR1", verdict)  # type: ignore[arg-type]
    return path


def wd(config: Path, *args: str) -> tuple[int, str, str]:
    proc = run_cli("--config", str(config), "watchlist", *args)
    return proc.returncode, proc.stdout, proc.stderr


def test_a_draft_reports_how_it_treats_the_judged_alerts(config: Path) -> None:
    code, out, err = wd(config, "test", "desk", "--query", DRAFT)
    assert code == 0, err
    assert "desk verdicts: drops 3 of 4 marked not relevant, keeps 6 of 6 marked relevant" in out
    lost = [line for line in out.splitlines() if line.startswith("  drops (marked not relevant")]
    assert len(lost) == 3
    assert all("Sister city festival parade" in line for line in lost)

    code, out, err = wd(config, "test", "desk", "--query", DRAFT, "--json")
    labels = json.loads(out)["verdicts"]
    assert (labels["not_relevant_dropped"], labels["not_relevant"]) == (3, 4)
    assert (labels["relevant_kept"], labels["relevant"]) == (6, 6)
    assert {j["title"] for j in labels["lost"]} == set(NOT_RELEVANT[:3])


def test_a_draft_that_loses_judged_relevant_alerts_lists_them_first(config: Path) -> None:
    query = '"sister city" AND NOT (Oxford OR parade)'
    code, out, err = wd(config, "test", "desk", "--query", query)
    assert code == 0, err
    assert "drops 3 of 4 marked not relevant, keeps 0 of 6 marked relevant" in out
    lines = [line for line in out.splitlines() if line.startswith(("  loses", "  drops"))]
    assert [line.split()[0] for line in lines] == ["loses"] * 6 + ["drops"] * 3


def test_stats_gives_precision_per_watchlist(config: Path) -> None:
    code, out, err = wd(config, "stats", "--json")
    assert code == 0, err
    rows = {r["watchlist"]: r for r in json.loads(out)["watchlists"]}
    assert rows["desk"]["alerts"] == 11 and rows["desk"]["judged"] == 10
    assert rows["desk"]["precision"] == pytest.approx(0.6)
    assert rows["desk"]["judged_share"] == pytest.approx(10 / 11)
    assert rows["quiet"]["alerts"] == 0 and rows["quiet"]["precision"] is None
    # every judged-relevant article scores 0.7 (tests/alerts/helpers.py)
    assert rows["desk"]["min_relevance_keeping_95"] == pytest.approx(0.7)
    assert rows["quiet"]["min_relevance_keeping_95"] is None
    code, out, err = wd(config, "stats", "desk")
    assert code == 0, err
    assert "desk" in out and "10 (91%)" in out and "60%" in out
    code, _, err = wd(config, "stats", "nope")
    assert code == 2 and "no watchlist named 'nope'" in err


def test_explain_shows_the_verdicts_an_article_received(config: Path) -> None:
    article = make_article(6, NOT_RELEVANT[0])
    code, out, err = wd(config, "explain", "desk", article.url)
    assert code == 0, err
    assert "desk: marked not relevant by U0EDITOR1 on desk" in out
    code, out, err = wd(config, "explain", "desk", article.url, "--json")
    (verdict,) = json.loads(out)["verdicts"]
    assert verdict["verdict"] == "not_relevant" and verdict["user"] == "U0EDITOR1"


def test_the_labelled_backtest_in_the_library(config: Path) -> None:
    with Store(config.parent / "var" / "wd.db") as store:
        result = backtest(store, draft_watchlist(DRAFT, DESK), draft=True)
        assert result.labels is not None
        assert result.labels.summary() == (
            "drops 3 of 4 marked not relevant, keeps 6 of 6 marked relevant"
        )
        # a bare draft judges every judged article once
        bare = backtest(store, DRAFT, draft=True)
        assert bare.labels is not None and len(bare.labels.judged) == 10
