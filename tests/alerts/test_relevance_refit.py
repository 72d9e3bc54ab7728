"""The learned relevance refitted on a schedule (`relevance: {learned: true, refit_every: 1d}`):
the job fits the desk's model from real stored verdicts, keeps it beside the store, logs one
line with its figures, and the next article is scored with it; too few verdicts keep the model
in force; the monitor schedules the job only when the learned relevance is on."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import numpy as np
import pytest

from alerts.learned_relevance import (
    LEARNED_MARK,
    MIN_VERDICTS,
    hand_set_score,
    load_model,
    model_path,
)
from alerts.policy import alert_kind
from benchmarks.learned_relevance import synthetic_desk
from crawler.article import Article, Page
from crawler.config import ConfigError
from crawler.records import StoryMatch
from crawler.storage import Store
from watchdesk.service.config import load_config
from watchdesk.service.monitor import Monitor

DESK = StoryMatch("desk", "#desk", [], False)


def _config(tmp_path: Path, relevance: str = "{learned: true, refit_every: 1d}") -> Path:
    path = tmp_path / "watchdesk.yaml"
    path.write_text(
        f"store: {{path: var/wd.db}}\nalerts: {{sink: terminal}}\nrelevance: {relevance}\n"
        "watchlists:\n  - {name: desk, query: '\"sister city\"', channel: '#desk'}\n",
        encoding="utf-8",
    )
    return path


def _judge(store: Store, judged: list[tuple[Article, bool]]) -> None:
    """Store each article with an alert of `desk`, and the desk's verdict on that alert."""
    for article, _ in judged:
        article.cluster_id = None  # one story each: every article gets its own alert
        assert store.save_article(article, [DESK], alert_kind)
    alerts = {a.article_id: a.id for a in store.list_alerts(limit=10_000)}
    for article, relevant in judged:
        alert_id = alerts[article.id]
        assert alert_id is not None
        verdict = "relevant" if relevant else "not_relevant"
        assert store.record_verdict(alert_id, "U0EDITOR1", verdict)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def desk() -> list[tuple[Article, bool]]:
    """300 judged alerts of the synthetic desk (the benchmark's stated rule, real scores)."""
    return synthetic_desk(300, 13)


def _page(article: Article) -> Page:
    body = "".join(f"<p>{p}</p>" for p in article.text.split("\n") if p.strip())
    html = (
        f"<html><head><title>{article.title}</title></head><body><article><h1>{article.title}"
        f"</h1>{body}</article></body></html>"
    )
    return Page(url="https://news.example/next/1", source="clarion", html=html)


def test_the_refit_job_fits_saves_and_scores_the_next_article(
    tmp_path: Path, desk: list[tuple[Article, bool]], caplog: pytest.LogCaptureFixture
) -> None:
    config = _config(tmp_path)
    with Store(tmp_path / "var" / "wd.db") as store:
        _judge(store, desk)
    monitor = Monitor(load_config(config))
    try:
        assert monitor.processor.learned is None  # nothing fitted yet: the hand-set score
        page = _page(desk[0][0])
        before = monitor.processor.preview(page).article
        assert not any(r.startswith(LEARNED_MARK) for r in before.relevance_reasons)

        with caplog.at_level(logging.INFO, logger="watchdesk"):
            fitted = monitor.refit_relevance()
        assert fitted is not None
        assert fitted.train + fitted.held_out == 300 and 60 <= fitted.held_out <= 120
        (line,) = [r.getMessage() for r in caplog.records if "refitted" in r.getMessage()]
        assert line.startswith("learned relevance refitted verdicts=300 train=")
        assert "learned precision=" in line and "hand-set precision=" in line
        assert [r.levelname for r in caplog.records if "refitted" in r.getMessage()] == ["INFO"]

        # kept beside the store, with its figures
        path = model_path(monitor.store.path)
        assert path is not None and path == tmp_path / "var" / "wd.db.learned.json"
        doc = json.loads(path.read_text(encoding="utf-8"))
        assert doc["train"] == fitted.train and doc["learned"]["precision"] == pytest.approx(
            fitted.learned.precision, abs=1e-4
        )
        saved = load_model(path)
        assert saved is not None
        assert np.allclose(saved.weights, fitted.model.weights, atol=1e-5)

        # the next scoring, through the service's own steps, is the learned one
        after = monitor.processor.preview(page).article
        assert after.relevance == pytest.approx(fitted.model.score(after), abs=1e-4)
        assert after.relevance_reasons[-1].startswith(LEARNED_MARK)
        assert hand_set_score(after) == pytest.approx(before.relevance)
        assert after.relevance != pytest.approx(before.relevance)
    finally:
        monitor.close()

    # a restart scores with the saved model from the first article on
    again = Monitor(load_config(config))
    try:
        assert again.processor.learned is not None
        assert np.allclose(again.processor.learned.weights, fitted.model.weights, atol=1e-5)
    finally:
        again.close()


def test_too_few_verdicts_keep_the_model_in_force(
    tmp_path: Path, desk: list[tuple[Article, bool]], caplog: pytest.LogCaptureFixture
) -> None:
    config = _config(tmp_path)
    with Store(tmp_path / "var" / "wd.db") as store:
        _judge(store, desk)
    monitor = Monitor(load_config(config))
    try:
        fitted = monitor.refit_relevance()
        assert fitted is not None
    finally:
        monitor.close()
    path = tmp_path / "var" / "wd.db.learned.json"
    saved = path.read_text(encoding="utf-8")

    # another desk's store, with a handful of verdicts, beside the same model file
    (tmp_path / "var" / "wd.db").unlink()
    for suffix in ("-wal", "-shm"):
        (tmp_path / "var" / f"wd.db{suffix}").unlink(missing_ok=True)
    with Store(tmp_path / "var" / "wd.db") as store:
        _judge(store, synthetic_desk(30, 7))
    monitor = Monitor(load_config(config))
    try:
        model = monitor.processor.learned
        assert model is not None
        with caplog.at_level(logging.INFO, logger="watchdesk"):
            assert monitor.refit_relevance() is None
        assert monitor.processor.learned is model
        assert path.read_text(encoding="utf-8") == saved
        assert (
            f"learned relevance not refitted: 30 judged article(s), {MIN_VERDICTS} needed; "
            "keeping the model in force"
        ) in caplog.text
    finally:
        monitor.close()


def test_a_model_of_other_features_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "var" / "wd.db.learned.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"features": ["old"], "weights": [1.0], "bias": 0}), "utf-8")
    with pytest.raises(ValueError, match="wd.db.learned.json: features: fitted on other"):
        load_model(path)
    assert load_model(tmp_path / "none.json") is None


def _jobs(config: Path) -> dict[str, object]:
    """The scheduler's jobs of a monitor serving `config`, read while it runs."""
    monitor = Monitor(load_config(config))

    async def serve() -> dict[str, object]:
        stop = asyncio.Event()
        task = asyncio.create_task(monitor.serve(stop))
        for _ in range(200):
            if monitor._scheduler is not None and monitor._scheduler.running:
                break
            await asyncio.sleep(0.01)
        jobs = {job.id: job.trigger for job in monitor._scheduler.get_jobs()}
        stop.set()
        await task
        return jobs

    try:
        return asyncio.run(serve())
    finally:
        monitor.close()


def test_the_monitor_schedules_the_refit_only_when_learned(tmp_path: Path) -> None:
    on = tmp_path / "on"
    on.mkdir()
    jobs = _jobs(_config(on, "{learned: true, refit_every: 12h}"))
    assert "relevance-refit" in jobs
    assert jobs["relevance-refit"].interval.total_seconds() == 12 * 3600  # type: ignore[attr-defined]
    off = tmp_path / "off"
    off.mkdir()
    assert "relevance-refit" not in _jobs(_config(off, "{learned: false}"))
    assert "outbox" in _jobs(_config(off, "{}"))


def test_a_bad_refit_every_names_the_file_line_and_field(tmp_path: Path) -> None:
    config = _config(tmp_path, "{learned: true, refit_every: sometimes}")
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    (problem,) = caught.value.problems
    assert problem.startswith(f"{config}:3: relevance.refit_every: ")
