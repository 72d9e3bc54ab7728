"""index_templates/: valid JSON, and consistent with the code that writes and queries the index."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from fnmatch import fnmatch
from typing import Any

import pytest
from hypothesis import assume, given, settings

from alerts.percolator import percolator_document
from alerts.watchlist import Watchlist
from crawler.article import Article, Entity
from crawler.config import ElasticsearchConfig
from crawler.query import ES_FIELDS, ES_TEXT_ANALYSIS, QueryError, parse_query
from crawler.query.elasticsearch import ES_FACET_FIELDS, compile_search
from crawler.search.elastic import TEMPLATES_DIR, article_document, render_resources
from crawler.search.elastic.templates import content_hash, load_template
from tests.elastic.helpers import document_paths, mapped_fields
from tests.query.corpus import ARTICLES, resolve_alias
from tests.query.strategies import queries
from tests.query.test_sqlite import PARITY_QUERIES

CFG = ElasticsearchConfig(url="http://127.0.0.1:9200")
RES = render_resources(CFG)
MAPPING = RES.mappings_component["template"]["mappings"]
FIELDS = mapped_fields(MAPPING)
ANALYSIS = RES.analysis_component["template"]["settings"]["analysis"]


@pytest.mark.parametrize("path", sorted(TEMPLATES_DIR.glob("*.json")), ids=lambda p: p.name)
def test_every_file_is_a_json_object(path: Any) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict) and data


def test_every_template_file_is_used() -> None:
    used = {
        "analysis.component-template.json",
        "articles-mappings.component-template.json",
        "articles.index-template.json",
        "articles.ilm-policy.json",
        "watchlists.index-template.json",
    }
    assert {p.name for p in TEMPLATES_DIR.glob("*.json")} == used


def _analyzers_referenced(node: Any) -> set[str]:
    out: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("analyzer", "search_analyzer", "search_quote_analyzer"):
                out.add(value)
            out |= _analyzers_referenced(value)
    elif isinstance(node, list):
        for item in node:
            out |= _analyzers_referenced(item)
    return out


def test_every_analyzer_tokenizer_and_filter_referenced_exists() -> None:
    analyzers = ANALYSIS["analyzer"]
    referenced = _analyzers_referenced(MAPPING) | _analyzers_referenced(
        RES.watchlists_template["template"]["mappings"]
    )
    assert referenced and referenced <= set(analyzers)
    builtin_filters = {"lowercase"}
    for spec in analyzers.values():
        assert spec["tokenizer"] in ANALYSIS["tokenizer"]
        for name in spec["filter"]:
            assert name in builtin_filters or name in ANALYSIS["filter"]


def test_text_analysis_is_the_one_the_query_compiler_assumes() -> None:
    for section, entries in ES_TEXT_ANALYSIS.items():
        for name, spec in entries.items():
            assert ANALYSIS[section][name] == spec
    for name in ("title", "text"):
        assert FIELDS[name]["analyzer"] == "watchdesk_text"
        assert FIELDS[f"{name}.english"]["analyzer"] == "watchdesk_english"


def test_query_fields_are_mapped_with_their_declared_types() -> None:
    for name, es_type in ES_FIELDS.items():
        assert FIELDS[name]["type"] == es_type, name
        assert FIELDS[name].get("index", True) is not False, name


def _entity_rich_article() -> Article:
    art = Article(
        url="https://example.org/x?utm=1",
        canonical_url="https://example.org/x",
        source="indystar",
        title="Indiana and Hubei renew ties",
        text="Indianapolis hosted a delegation from Wuhan (武漢).",
        language="EN",
        published=datetime(2024, 5, 1, 12, tzinfo=UTC),
        fetched=datetime(2024, 5, 1, 13, tzinfo=UTC),
        relevance=0.7,
        relevance_reasons=["us_place", "cn_place"],
        countries=["us", "CN"],
        events=["delegation"],
        evidence={"delegation": ["hosted a delegation"]},
        cluster_id="c1",
    )
    art.entities = [
        Entity(
            "geonames:4259418",
            "Indianapolis",
            "place",
            "US",
            "Indiana",
            39.77,
            -86.16,
            2,
            [(0, 12)],
            "city",
        ),
        Entity("org:cpaffc", "CPAFFC", "org", "CN"),
    ]
    return art


def test_every_field_the_document_builder_writes_is_mapped() -> None:
    paths: set[str] = set()
    for article in [*ARTICLES, _entity_rich_article()]:
        paths |= document_paths(article_document(article, seq=7), stop=frozenset({"article"}))
    assert paths - set(FIELDS) == set()
    # and the mapping has no field nothing writes (dead mappings rot)
    assert {f for f in FIELDS if "." not in f or f.startswith("entities.")} - paths == set()
    assert FIELDS["entities.location"]["type"] == "geo_point"
    assert FIELDS["article"]["enabled"] is False


def test_mapping_is_strict() -> None:
    # a field the code forgot to map is a rejected document, not a silently guessed type
    assert MAPPING["dynamic"] == "strict"


def _referenced_fields(node: Any) -> set[str]:
    """Field names a query or search body refers to (queries, aggregations, sort, collapse)."""
    out: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("terms", "date_histogram", "exists", "collapse") and "field" in value:
                out.add(value["field"])  # aggregations, exists and collapse name a "field"
            elif key in ("match_phrase", "prefix", "span_term", "term", "terms", "range"):
                out |= set(value)
            elif key == "highlight":
                out |= {name for item in value["fields"] for name in item}
            elif key == "sort":
                for item in value:
                    out |= {item} if isinstance(item, str) else set(item)
                continue
            out |= _referenced_fields(value)
    elif isinstance(node, list):
        for item in node:
            out |= _referenced_fields(item)
    return out


def _search_body(text: str) -> dict[str, Any]:
    return compile_search(
        parse_query(text), aliases=resolve_alias, facets=True, histogram=True, sort="date"
    )


@pytest.mark.parametrize("text", PARITY_QUERIES)
def test_every_field_a_search_uses_is_mapped(text: str) -> None:
    used = _referenced_fields(_search_body(text)) - {"_score"}
    assert used and used <= set(FIELDS), used - set(FIELDS)


@given(queries())
@settings(max_examples=100, deadline=None)
def test_every_field_a_random_query_uses_is_mapped(text: str) -> None:
    try:
        body = _search_body(text)
    except QueryError:
        assume(False)
    assert _referenced_fields(body) - {"_score"} <= set(FIELDS)


def test_facets_sort_and_collapse_fields_are_keywords_or_dates() -> None:
    for field in ES_FACET_FIELDS.values():
        assert FIELDS[field]["type"] == "keyword"
    assert FIELDS["id"]["type"] == "keyword"  # collapse and tie-break need doc values
    assert FIELDS["published"]["type"] == FIELDS["fetched"]["type"] == "date"


def test_percolator_documents_fit_the_watchlists_mapping() -> None:
    template = RES.watchlists_template
    own = mapped_fields(template["template"]["mappings"])
    assert own["query"]["type"] == "percolator"
    wl = Watchlist(
        name="sister-cities",
        query='"sister city" AND entity:CPAFFC',
        languages=["EN"],
        sources=["indystar"],
        min_relevance=0.3,
    )
    doc = percolator_document(wl, 0, resolve_alias)
    assert document_paths(doc, stop=frozenset({"query"})) <= set(own)
    assert _referenced_fields(doc["query"]) <= set(FIELDS)
    # the watchlist's own conditions are part of the stored query
    text = json.dumps(doc["query"])
    for needle in ('"language": "en"', '"source": "indystar"', '"relevance"', "org:cpaffc"):
        assert needle in text


def test_names_patterns_and_aliases_fit_together() -> None:
    names = RES.names
    articles = RES.articles_template
    components = {names.analysis_component, names.mappings_component}
    assert set(articles["composed_of"]) == components
    assert set(RES.watchlists_template["composed_of"]) == components
    (pattern,) = articles["index_patterns"]
    assert fnmatch(names.first_index, pattern)
    assert fnmatch(names.first_index.replace("000001", "000002"), pattern)
    # a write to a missing alias must never auto-create an index from this template
    assert not fnmatch(names.write_alias, pattern)
    assert not fnmatch(names.read_alias, pattern)
    assert not fnmatch(names.watchlists_index, pattern)
    assert RES.watchlists_template["index_patterns"] == [names.watchlists_index]
    index_settings = articles["template"]["settings"]["index"]
    assert index_settings["lifecycle"] == {
        "name": names.ilm_policy,
        "rollover_alias": names.write_alias,
    }
    assert set(articles["template"]["aliases"]) == {names.read_alias}
    bodies = [
        RES.ilm_policy,
        RES.analysis_component,
        RES.mappings_component,
        articles,
        RES.watchlists_template,
    ]
    assert "{prefix}" not in json.dumps(bodies)


def test_file_defaults_equal_the_config_defaults() -> None:
    # the files are readable on their own: their numbers are the defaults the code applies
    policy = load_template("articles.ilm-policy.json")["policy"]
    rollover = policy["phases"]["hot"]["actions"]["rollover"]
    assert rollover["max_primary_shard_size"] == CFG.rollover_max_size
    assert rollover["max_age"] == CFG.rollover_max_age
    assert policy["phases"]["delete"]["min_age"] == CFG.retention
    index = load_template("articles.index-template.json")["template"]["settings"]["index"]
    assert (index["number_of_shards"], index["number_of_replicas"]) == (CFG.shards, CFG.replicas)


def test_config_values_are_rendered_and_change_the_hash() -> None:
    cfg = ElasticsearchConfig(
        url="http://127.0.0.1:9200",
        index_prefix="desk2",
        rollover_max_size="5gb",
        rollover_max_age="7d",
        retention="365d",
        shards=3,
        replicas=0,
    )
    res = render_resources(cfg)
    assert res.names.write_alias == "desk2-articles"
    rollover = res.ilm_policy["phases"]["hot"]["actions"]["rollover"]
    assert rollover == {"max_primary_shard_size": "5gb", "max_age": "7d"}
    assert res.ilm_policy["phases"]["delete"]["min_age"] == "365d"
    index = res.articles_template["template"]["settings"]["index"]
    assert (index["number_of_shards"], index["number_of_replicas"]) == (3, 0)
    assert res.articles_template["composed_of"] == ["desk2-analysis", "desk2-articles-mappings"]
    assert res.ilm_policy["_meta"]["watchdesk_hash"] != RES.ilm_policy["_meta"]["watchdesk_hash"]
    # rendering is deterministic: the same config gives the same hashes (setup is idempotent)
    again = render_resources(CFG)
    assert again.articles_template["_meta"] == RES.articles_template["_meta"]
    assert content_hash(RES.mappings_component) == RES.mappings_component["_meta"]["watchdesk_hash"]
