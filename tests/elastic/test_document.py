"""Article <-> Elasticsearch document: normalised like the embedded store, reversible."""

from __future__ import annotations

import json

import pytest

from crawler.query import MatchDocument
from crawler.search.elastic import article_document, article_from_source
from crawler.textnorm import index_text
from tests.elastic.test_templates import _entity_rich_article
from tests.query.corpus import ARTICLES


@pytest.mark.parametrize("article", [*ARTICLES, _entity_rich_article()], ids=lambda a: a.id)
def test_round_trip_through_json(article) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads(json.dumps(article_document(article, seq=3), ensure_ascii=False))
    back = article_from_source(doc)
    expected = article.to_dict()
    got = back.to_dict()
    for name in ("published", "fetched"):
        want, have = getattr(article, name), getattr(back, name)
        # second precision, naive read as UTC: the store's rule
        assert have == (want.replace(microsecond=0) if want else None), name
        expected.pop(name), got.pop(name)
    assert got == expected


@pytest.mark.parametrize("article", ARTICLES, ids=lambda a: a.id)
def test_indexed_values_are_what_queries_see(article) -> None:  # type: ignore[no-untyped-def]
    doc = article_document(article)
    md = MatchDocument.from_article(article)
    assert doc["title"] == index_text(article.title)
    assert doc["text"] == index_text(article.text)
    assert set(doc["countries"]) == md.countries
    assert set(doc["regions"]) == md.regions
    assert set(doc["events"]) == md.events
    assert set(doc["entity_ids"]) | set(doc["entity_names"]) == md.entities
    assert set(doc["place_ids"]) | set(doc["place_names"]) == md.places
    assert doc["language"] == md.language
    assert doc["source"] == md.source
    # no label: no value (`_exists_:label` false, as in the embedded index)
    assert {doc["label"]} - {None} == md.facet("label")
    assert "seq" not in doc


def test_places_carry_a_geo_point() -> None:
    doc = article_document(_entity_rich_article())
    city = next(e for e in doc["entities"] if e["id"] == "geonames:4259418")
    assert city["location"] == {"lat": 39.77, "lon": -86.16}
    org = next(e for e in doc["entities"] if e["id"] == "org:cpaffc")
    assert "location" not in org
    assert doc["published"] == "2024-05-01T12:00:00+00:00"
