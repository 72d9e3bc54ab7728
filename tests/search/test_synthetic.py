"""The synthetic corpus that benchmarks build on: deterministic, enriched, on the beat."""

from __future__ import annotations

from pathlib import Path

from benchmarks.synthetic import build_store, generate_articles
from crawler.query import EVENT_LABELS


def test_same_seed_same_articles_other_seed_other_ids() -> None:
    first = [a.to_dict() for a in generate_articles(50, seed=3)]
    assert first == [a.to_dict() for a in generate_articles(50, seed=3)]
    assert {a["id"] for a in first}.isdisjoint(a.id for a in generate_articles(50, seed=4))


def test_articles_are_enriched_and_mixed() -> None:
    articles = list(generate_articles(400))
    assert len({a.id for a in articles}) == 400
    languages = {a.language for a in articles}
    assert languages == {"en", "zh"}
    zh = sum(a.language == "zh" for a in articles) / len(articles)
    assert 0.08 < zh < 0.25
    for a in articles:
        assert a.title and len(a.text) > 500 and a.source
        assert set(a.events) <= set(EVENT_LABELS) and a.events
        assert {"US"} <= set(a.countries) and a.entities
        assert all(e.id and e.name for e in a.entities)
    assert any("TW" in a.countries for a in articles)


def test_build_store_is_idempotent(tmp_path: Path) -> None:
    store = build_store(tmp_path / "s.db", 30)
    assert store.count_articles() == 30
    store.close()
    with build_store(tmp_path / "s.db", 30) as again:
        assert again.count_articles() == 30
