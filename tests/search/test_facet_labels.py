"""Facets an analyst reads (issue 18): names for codes, places apart from people and
organisations, exclusion, and the same labels in the CLI as on the web page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawler.search.elastic.archive import search_body
from crawler.search.embedded import EmbeddedArchive
from crawler.search.facet_labels import (
    ENTITY_BUCKETS,
    country_name,
    label_of,
    shown_facets,
    split_places,
    with_code,
)
from crawler.search.request import FACET_FIELDS, SearchRequest
from crawler.storage import Store
from tests.conftest import run_cli
from tests.query.corpus import ARTICLES


def test_codes_read_as_names() -> None:
    assert country_name("BD") == "Bangladesh" and country_name("cz") == "Czechia"
    assert country_name("TW") == "Taiwan" and country_name("XX") is None
    labels = {"region": {"hubei": "Hubei (CN)"}}
    assert label_of("country", "BD", {}, {}) == "Bangladesh"
    assert label_of("region", "hubei", labels, {}) == "Hubei (CN)"
    assert label_of("region", "new york", {}, {}) == "New York"  # no store: capitals back
    assert label_of("place", "geonames:1", {}, {"geonames:1": "Wuhan"}) == "Wuhan"
    assert with_code("country", "BD", "Bangladesh") == "Bangladesh (BD)"
    assert with_code("region", "hubei", "Hubei (CN)") == "Hubei (CN)"
    assert with_code("source", "voa", "voa") == "voa"


def test_places_and_countries_leave_the_entity_facet() -> None:
    counts = [
        ("country:CN", 9),
        ("geonames:1806949", 8),
        ("org:cpaffc", 7),
        ("iso3166-2:CN-HB", 6),
        ("person:zhou-zheng", 5),
    ]
    split = split_places({"entity": counts, "country": [("CN", 9)]}, size=1)
    assert split["entity"] == [("org:cpaffc", 7)]  # the size holds for each facet
    assert split["place"] == [("geonames:1806949", 8)]
    assert split["country"] == [("CN", 9)]


def test_the_place_facet_is_shown_after_the_regions_whatever_the_fields() -> None:
    assert (
        shown_facets(FACET_FIELDS).index("place") == shown_facets(FACET_FIELDS).index("region") + 1
    )
    # another facet added to the archive's list (a `label` facet) keeps its place
    with_label = (*FACET_FIELDS, "label")
    assert shown_facets(with_label)[-1] == "label" and "place" in shown_facets(with_label)


def test_excluding_a_value(corpus_archive: EmbeddedArchive) -> None:
    every = corpus_archive.search(SearchRequest(query="city", facets=True, limit=100))
    without = corpus_archive.search(
        SearchRequest(query="city", exclude=[("country", "TW")], facets=True, limit=100)
    )
    assert 0 < without.total < every.total
    assert all("TW" not in h.article.countries for h in without.hits)
    assert "TW" not in dict(without.facets["country"])


def test_elasticsearch_reads_enough_entities_to_fill_both_facets() -> None:
    request = SearchRequest(query="city", facets=True, facet_size=10)
    body = search_body(request, request.query_tree(), None)
    assert body["aggs"]["facet_entity"]["terms"]["size"] == 10 * ENTITY_BUCKETS
    assert body["aggs"]["facet_country"]["terms"]["size"] == 10


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("labels")
    (root / "watchdesk.yaml").write_text(
        "store: {path: var/watchdesk.db}\nsources: []\nwatchlists: []\n", encoding="utf-8"
    )
    with Store(root / "var" / "watchdesk.db") as store:
        for a in ARTICLES:
            store.save_article(a)
    return root / "watchdesk.yaml"


def test_the_cli_prints_the_labels_with_their_codes(config: Path) -> None:
    proc = run_cli("--config", str(config), "search", "event:sister_city", "--facets")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "China (CN)" in out and "Hubei (CN)" in out  # a country by name, a region with its
    assert "\nplace\n" in out and "Hubei (geonames:1806949)" in out
    entity = out[out.index("\nentity\n") :]
    assert "geonames:" not in entity and "country:" not in entity
    summary = json.loads(
        run_cli(
            "--config", str(config), "search", "event:sister_city", "--facets", "--json"
        ).stdout.splitlines()[-1]
    )
    assert summary["facet_labels"]["country"]["CN"] == "China"
    assert summary["facet_labels"]["region"]["hubei"] == "Hubei (CN)"
