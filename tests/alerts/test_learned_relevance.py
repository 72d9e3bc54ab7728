"""Learned relevance: the features are the hand-set score's own (read back from the reasons
the real `score_relevance` writes), the fit recovers a planted rule, and the threshold keeps
95 % of the judged relevant."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from alerts.learned_relevance import (
    EVENT_KINDS,
    FEATURES,
    REASON_FEATURES,
    compare,
    features,
    fit,
    threshold_keeping,
)
from crawler.article import Article
from crawler.query import EVENT_LABELS
from tests.enrich.conftest import TAGGING_STEPS, make_article

LABELLED = Path(__file__).parents[1] / "fixtures" / "labelled"


@pytest.fixture(scope="module")
def scored() -> list[Article]:
    """The labelled set through the real tagging steps (places, entities, events, score)."""
    from crawler.stats import Stats
    from enrich.context import EnrichContext, EnrichOptions
    from enrich.entities import EntityMatcher
    from enrich.places import Gazetteer
    from tests.enrich.conftest import WATCHED

    context = EnrichContext(
        gazetteer=Gazetteer.load(),
        entities=EntityMatcher.load(watched=list(WATCHED), extra=[]),
        stories=None,  # type: ignore[arg-type]
        options=EnrichOptions(),
        stats=Stats(),
    )
    out = []
    for path in sorted(LABELLED.glob("*.yaml")):
        case = yaml.safe_load(path.read_text(encoding="utf-8"))
        article = make_article(case["title"], case["text"], case.get("language", "en"))
        for step in TAGGING_STEPS:
            step(article, context)
        out.append(article)
    return out


def test_every_reason_the_score_writes_is_a_feature(scored: list[Article]) -> None:
    seen: set[str] = set()
    for article in scored:
        for reason in article.relevance_reasons:
            names = [name for marker, name in REASON_FEATURES if marker in reason]
            assert len(names) == 1, f"reason {reason!r} maps to {names}"
            seen.update(names)
    # the labelled set exercises every component and penalty but the boilerplate cap's rival
    assert {"us_local", "cn_specific", "exchange", "no_us_local", "partner_elsewhere"} <= seen
    assert set(EVENT_KINDS) == set(EVENT_LABELS)


def test_features_of_an_article(scored: list[Article]) -> None:
    oxford = next(a for a in scored if a.title.startswith("Oxford aldermen"))
    row = dict(zip(FEATURES, features(oxford).tolist(), strict=True))
    assert row["us_local"] == row["cn_specific"] == row["exchange"] == 1.0
    assert row["event:sister_city"] == row["event:legislation"] == 1.0
    assert row["no_us_local"] == row["language:zh"] == 0.0


def test_fit_recovers_a_planted_rule() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 2, size=(400, len(FEATURES))).astype(float)
    legislation = FEATURES.index("event:legislation")
    y = x[:, legislation].copy()  # the desk follows legislation, nothing else
    model = fit(x, y)
    strongest, weight = model.explain()[0]
    assert strongest == "event:legislation" and weight > 2
    assert ((model.scores(x) >= 0.5) == (y == 1)).all()
    with pytest.raises(ValueError, match="both relevant and not-relevant"):
        fit(x, np.ones(len(x)))


def test_threshold_keeps_95_percent_of_the_judged_relevant() -> None:
    scores = [i / 100 for i in range(1, 101)]  # 0.01 .. 1.00
    threshold = threshold_keeping(scores)
    assert sum(s >= threshold for s in scores) == 95
    assert threshold_keeping([]) == 0.0


def test_compare_scores_both_on_the_same_held_out_verdicts(scored: list[Article]) -> None:
    judged = [(a, a.relevance >= 0.7) for a in scored] * 4
    hand, learned, _ = compare(judged[:40], judged[40:])
    assert hand.name == "hand-set" and learned.name == "learned"
    assert 0.0 <= learned.precision <= 1.0 and learned.kept > 0
