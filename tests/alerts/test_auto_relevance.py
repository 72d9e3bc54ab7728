"""`min_relevance: auto`: the floor that keeps 95 % of a watchlist's judged-relevant alerts,
from real stored verdicts; the monitor applies it before matching and moves it when the
verdicts change; with too few verdicts there is no floor, and `watchlist stats`/`explain` and
the web page say why."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest

from alerts.auto_relevance import MIN_RELEVANT, AutoRelevance, auto_floor
from alerts.policy import alert_kind
from alerts.watchlist import Watchlist, WatchlistError, WatchlistSet, parse_watchlists
from crawler.article import Article
from crawler.storage import Store
from crawler.yamlfile import load_yaml
from tests.alerts.helpers import ingest, make_article
from tests.conftest import run_cli
from tests.web.conftest import running
from watchdesk.service.config import load_config
from watchdesk.service.monitor import Monitor
from watchdesk.web import create_app

WATCHLISTS = """\
watchlists:
  - name: auto
    query: '"sister city"'
    channel: "#desk"
    min_relevance: auto
  - name: fixed
    query: '"sister city"'
    channel: "#other"
    min_relevance: 0.25
"""
# 40 judged relevant at 0.30, 0.31, ... 0.69: keeping 95 % (38 of them) puts the floor at 0.32
SCORES = [round(0.30 + 0.01 * i, 2) for i in range(40)]


def _config(tmp_path: Path) -> Path:
    (tmp_path / "watchlists.yaml").write_text(WATCHLISTS, encoding="utf-8")
    path = tmp_path / "watchdesk.yaml"
    path.write_text(
        "store: {path: var/wd.db}\nalerts: {sink: terminal}\nwatchlists: watchlists.yaml\n",
        encoding="utf-8",
    )
    return path


def _judge(store: Store, scores: list[float], verdict: str = "relevant", start: int = 0) -> None:
    """Store one `auto` alert per score and the desk's verdict on it."""
    watchlists = WatchlistSet([Watchlist(name="auto", query='"sister city"')], [])
    for n, score in enumerate(scores, start):
        article = make_article(n, f"Sister city story {n}", relevance=score)
        ingest(store, watchlists, article)
        (alert,) = [a for a in store.list_alerts(limit=5) if a.article_id == article.id]
        assert alert.id is not None
        assert store.record_verdict(alert.id, "U0EDITOR1", verdict)  # type: ignore[arg-type]


def _alerted(monitor: Monitor, article: Article) -> set[str]:
    """The watchlists the monitor's processor alerts the article on (match, then the store
    step's own save)."""
    matches = monitor.processor.match(article)
    assert monitor.store.save_article(article, matches, alert_kind)
    return {a.watchlist for a in monitor.store.list_alerts(limit=10) if a.article_id == article.id}


def test_auto_is_accepted_and_anything_else_named(tmp_path: Path) -> None:
    path = tmp_path / "watchlists.yaml"
    path.write_text(WATCHLISTS.replace("0.25", "high"), encoding="utf-8")
    with pytest.raises(WatchlistError) as caught:
        parse_watchlists(load_yaml(path), str(path))
    (problem,) = caught.value.problems
    assert str(problem) == (
        f"{path}:9: watchlist 'fixed': min_relevance: must be a number from 0 to 1, or auto; "
        "not 'high'"
    )
    wl = parse_watchlists(load_yaml(_config(tmp_path).parent / "watchlists.yaml"), "w.yaml")
    auto, fixed = wl.watchlists
    assert auto.auto_relevance and auto.min_relevance == 0.0
    assert not fixed.auto_relevance and fixed.min_relevance == 0.25


def test_forty_judged_relevant_set_the_floor_that_keeps_95_percent(tmp_path: Path) -> None:
    with Store(tmp_path / "wd.db") as store:
        _judge(store, SCORES)
        # not-relevant verdicts, however high their score, do not move it
        _judge(store, [0.95] * 5, "not_relevant", start=100)
        floor = auto_floor(store, "auto")
    assert floor.learned and floor.relevant == 40
    assert floor.threshold == pytest.approx(0.32)
    assert floor.kept == 38 and floor.kept >= 0.95 * 40
    assert sum(s >= floor.threshold for s in SCORES) == 38
    assert floor.reason() == (
        "min_relevance auto: 0.32, keeps 38 of the 40 alerts judged relevant (95% wanted)"
    )


def test_the_monitor_alerts_above_the_floor_and_not_below(tmp_path: Path) -> None:
    config = _config(tmp_path)
    with Store(tmp_path / "var" / "wd.db") as store:
        _judge(store, SCORES)
    monitor = Monitor(load_config(config))
    try:
        below = make_article(200, "Sister city talks, low", relevance=0.31)
        above = make_article(201, "Sister city talks, high", relevance=0.33)
        assert _alerted(monitor, below) == {"fixed"}  # 0.31 >= the fixed 0.25, < the auto 0.32
        assert _alerted(monitor, above) == {"auto", "fixed"}
        assert monitor.loaded.watchlists.by_name("auto").min_relevance == pytest.approx(0.32)  # type: ignore[union-attr]
    finally:
        monitor.close()


def test_too_few_verdicts_mean_no_floor_until_they_come(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = _config(tmp_path)
    with Store(tmp_path / "var" / "wd.db") as store:
        _judge(store, SCORES[:12])
    monitor = Monitor(load_config(config))
    try:
        floor = monitor.auto_relevance.floors["auto"]
        assert not floor.learned and floor.threshold == 0.0
        assert floor.reason() == (
            "min_relevance auto: no floor (0.00) yet: 12 alert(s) judged relevant, 20 needed"
        )
        assert _alerted(monitor, make_article(300, "Sister city, faint", relevance=0.05)) == {
            "auto"
        }
        # no new verdict: one cheap query, nothing recompiled
        matcher = monitor.processor.matcher
        assert not monitor.refresh_auto_relevance()
        assert monitor.processor.matcher is matcher
        # the desk judges the rest: the next tick sets the floor, and says so
        _judge(monitor.store, SCORES[12:], start=12)
        with caplog.at_level(logging.INFO, logger="watchdesk.watchlists"):
            monitor.deliver()
        assert monitor.auto_relevance.floors["auto"].threshold == pytest.approx(0.32)
        assert "watchlist auto: min_relevance auto: 0.32, keeps 38 of the 40" in caplog.text
        assert _alerted(monitor, make_article(301, "Sister city, faint", relevance=0.05)) == set()
    finally:
        monitor.close()


def test_stats_explain_and_the_web_page_show_the_floor_and_why(tmp_path: Path) -> None:
    config = _config(tmp_path)
    with Store(tmp_path / "var" / "wd.db") as store:
        _judge(store, SCORES[: MIN_RELEVANT - 1])
    proc = run_cli("--config", str(config), "watchlist", "stats", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = {r["watchlist"]: r for r in json.loads(proc.stdout)["watchlists"]}
    assert rows["auto"]["min_relevance_auto"] is True and rows["auto"]["min_relevance"] == 0.0
    assert rows["auto"]["min_relevance_reason"] == (
        "min_relevance auto: no floor (0.00) yet: 19 alert(s) judged relevant, 20 needed"
    )
    assert rows["fixed"]["min_relevance"] == 0.25 and rows["fixed"]["min_relevance_auto"] is False
    proc = run_cli("--config", str(config), "watchlist", "stats")
    assert "auto -" in proc.stdout and "19 alert(s) judged relevant, 20 needed" in proc.stdout

    with Store(tmp_path / "var" / "wd.db") as store:
        _judge(store, SCORES[MIN_RELEVANT - 1 :], start=MIN_RELEVANT - 1)
    proc = run_cli("--config", str(config), "watchlist", "stats", "auto")
    assert proc.returncode == 0, proc.stderr
    assert "auto 0.32" in proc.stdout
    assert "auto: min_relevance auto: 0.32, keeps 38 of the 40" in proc.stdout
    low = make_article(5, "Sister city story 5")  # judged relevant at 0.35
    proc = run_cli("--config", str(config), "watchlist", "explain", "auto", low.url)
    assert proc.returncode == 0, proc.stderr
    assert "relevance 0.35 >= 0.32" in proc.stdout
    assert "min_relevance auto: 0.32, keeps 38 of the 40" in proc.stdout

    from watchdesk.web.desk import Desk

    desk = Desk.open(load_config(config))
    try:
        views = {v.watchlist.name: v for v in desk.watchlist_overview()}
        doc = views["auto"].to_dict()
        assert doc["min_relevance"] == pytest.approx(0.32)
        assert doc["min_relevance_auto"].startswith("min_relevance auto: 0.32")
        assert views["fixed"].to_dict()["min_relevance_auto"] is None
    finally:
        desk.close()
    with running(create_app(load_config(config))) as url:
        page = httpx.get(f"{url}/watchlists", timeout=30).text
    assert "relevance ≥ 0.32 (auto)" in page and "relevance ≥ 0.25" in page
    assert "min_relevance auto: 0.32, keeps 38 of the 40 alerts judged relevant" in page


def test_a_floor_that_does_not_move_recompiles_nothing(tmp_path: Path) -> None:
    with Store(tmp_path / "wd.db") as store:
        _judge(store, SCORES)
        auto = AutoRelevance(store)
        watchlists = parse_watchlists(load_yaml(_config(tmp_path).parent / "watchlists.yaml"), "w")
        first = auto.refresh(watchlists)
        assert first is not None and first.by_name("auto").min_relevance == pytest.approx(0.32)  # type: ignore[union-attr]
        assert auto.refresh(first) is None  # same verdicts
        _judge(store, [0.9], "not_relevant", start=500)  # a click that moves no floor
        assert auto.refresh(first) is None
        assert auto.refresh(first, force=True) is not None
