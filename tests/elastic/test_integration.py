"""Against a real Elasticsearch cluster: set WATCHDESK_TEST_ES_URL (credentials, if any, in
WATCHDESK_ES_API_KEY or WATCHDESK_ES_USERNAME/WATCHDESK_ES_PASSWORD). Without it every test
here is skipped with that reason. Each run works under its own index prefix and removes it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import NotFoundError

from alerts.matcher import WatchlistMatcher
from alerts.percolator import PercolatorMatcher
from alerts.watchlist import Watchlist
from crawler.article import Article, Entity
from crawler.config import ElasticsearchConfig
from crawler.query import MatchDocument, compile_elasticsearch, evaluate, parse_query
from crawler.query.elasticsearch import compile_search
from crawler.query.syntax import resolve_aliases
from crawler.search.elastic import ArchiveSync, ElasticsearchArchive, article_document
from crawler.search.embedded import EmbeddedArchive
from crawler.search.request import SearchRequest
from crawler.storage import Store
from tests.query.corpus import ARTICLES, resolve_alias
from tests.query.test_sqlite import PARITY_QUERIES

ES_URL = os.environ.get("WATCHDESK_TEST_ES_URL", "")

pytestmark = [
    pytest.mark.elasticsearch,
    pytest.mark.skipif(
        not ES_URL,
        reason="no Elasticsearch cluster: set WATCHDESK_TEST_ES_URL=http://host:9200 to run",
    ),
]


def _cleanup(archive: ElasticsearchArchive) -> None:
    es, names = archive.client, archive.names
    # by name: clusters refuse wildcard deletes by default (action.destructive_requires_name)
    found = es.options(ignore_status=404).indices.get(index=f"{names.prefix}-*")
    for index in found.body if isinstance(found.body, dict) else {}:
        es.options(ignore_status=404).indices.delete(index=index)
    for template in (names.articles_template, names.watchlists_template):
        es.options(ignore_status=404).indices.delete_index_template(name=template)
    for component in (names.analysis_component, names.mappings_component):
        es.options(ignore_status=404).cluster.delete_component_template(name=component)
    es.options(ignore_status=404).ilm.delete_lifecycle(name=names.ilm_policy)


@pytest.fixture(scope="module")
def archive() -> Iterator[ElasticsearchArchive]:
    cfg = ElasticsearchConfig(url=ES_URL, index_prefix=f"wdtest-{uuid.uuid4().hex[:8]}", replicas=0)
    arch = ElasticsearchArchive.from_config(cfg, aliases=resolve_alias)
    try:
        yield arch
    finally:
        _cleanup(arch)
        arch.close()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    with Store(Path(tmp_path_factory.mktemp("es")) / "watchdesk.db") as s:
        for article in ARTICLES:
            s.save_article(article)
        yield s


@pytest.fixture(scope="module")
def indexed(archive: ElasticsearchArchive, store: Store) -> ElasticsearchArchive:
    first = archive.setup()
    assert {c.action for c in first} == {"created"}, first
    report = ArchiveSync(store, archive, batch=7).sync()
    assert report.ok, report
    assert report.indexed == len(ARTICLES) and report.backlog == 0
    archive.refresh()
    return archive


def test_setup_is_idempotent(indexed: ElasticsearchArchive) -> None:
    again = indexed.setup()
    assert {c.action for c in again} == {"unchanged"}, again


def test_count_get_and_aliases(indexed: ElasticsearchArchive) -> None:
    assert indexed.count() == len(ARTICLES)
    art = ARTICLES[0]
    got = indexed.get_article(art.id)
    assert got is not None and got.title == art.title and got.text == art.text
    assert indexed.get_article("0" * 16) is None
    names = indexed.names
    aliases = indexed.client.indices.get_alias(name=names.write_alias)
    assert aliases[names.first_index]["aliases"][names.write_alias]["is_write_index"] is True
    settings = indexed.client.indices.get_settings(index=names.first_index)
    lifecycle = settings[names.first_index]["settings"]["index"]["lifecycle"]
    assert lifecycle["name"] == names.ilm_policy


def _es_ids(archive: ElasticsearchArchive, text: str) -> set[str]:
    query = compile_elasticsearch(parse_query(text), aliases=resolve_alias)
    resp = archive.client.search(
        index=archive.names.read_alias, query=query, size=len(ARTICLES) + 10, source=False
    )
    return {hit["_id"] for hit in resp["hits"]["hits"]}


def _eval_ids(text: str) -> set[str]:
    query = resolve_aliases(parse_query(text), resolve_alias)
    return {a.id for a in ARTICLES if evaluate(query, MatchDocument.from_article(a))}


@pytest.mark.parametrize("text", PARITY_QUERIES)
def test_parity_with_the_in_process_matcher(indexed: ElasticsearchArchive, text: str) -> None:
    assert _es_ids(indexed, text) == _eval_ids(text)


@pytest.mark.parametrize(
    "text", ["city", '"sister city" AND country:CN', "友好城市", "", "label:state_media"]
)
def test_search_agrees_with_the_embedded_backend(
    indexed: ElasticsearchArchive, store: Store, text: str
) -> None:
    request = SearchRequest(query=text, limit=100, facets=True, histogram=True)
    es_result = indexed.search(request)
    embedded = EmbeddedArchive(store, aliases=resolve_alias).search(request)
    assert es_result.total == embedded.total
    assert {h.article.id for h in es_result.hits} == {h.article.id for h in embedded.hits}
    assert es_result.histogram == embedded.histogram
    for name, counts in embedded.facets.items():
        assert dict(es_result.facets[name]) == dict(counts), name


def test_highlights_are_marked_in_the_original_text(indexed: ElasticsearchArchive) -> None:
    result = indexed.search(SearchRequest(query='"sister city" OR 友好城市', limit=50))
    assert result.hits
    # every hit says what matched; the snippet is cut from the text, as the embedded one is
    assert all(hit.highlights for hit in result.hits)
    assert sum("[[" in hit.snippet for hit in result.hits) >= len(result.hits) - 1
    dated = indexed.search(SearchRequest(query="city", sort="date", limit=50))
    published = [h.article.published for h in dated.hits if h.article.published]
    assert published == sorted(published, reverse=True)


def test_filters_and_paging(indexed: ElasticsearchArchive) -> None:
    all_cn = indexed.search(SearchRequest(countries=["CN"], limit=100))
    assert all_cn.total == len(_eval_ids("country:CN"))
    page1 = indexed.search(SearchRequest(countries=["CN"], limit=3, sort="date"))
    page2 = indexed.search(SearchRequest(countries=["CN"], limit=3, offset=3, sort="date"))
    assert not {h.article.id for h in page1.hits} & {h.article.id for h in page2.hits}


def test_percolator_matches_like_the_in_process_matcher(indexed: ElasticsearchArchive) -> None:
    watchlists = [
        Watchlist(name=f"wl-{i}", query=q, channel="#t") for i, q in enumerate(PARITY_QUERIES)
    ]
    watchlists.append(Watchlist(name="filtered", query="city", languages=["en"], min_relevance=0.4))
    watchlists.append(Watchlist(name="muted", query="city", muted=True))
    perc = PercolatorMatcher(indexed.client, indexed.cfg, watchlists, resolve_alias)
    counts = perc.sync_watchlists()
    assert counts["stored"] == len(watchlists) - 1
    local = WatchlistMatcher(watchlists, aliases=resolve_alias)
    for article in ARTICLES:
        want = [(m.watchlist.name, m.terms) for m in local.match(article)]
        got = [(m.watchlist.name, m.terms) for m in perc.match(article)]
        assert got == want, article.id


def test_rejected_documents_are_held_and_indexed_when_the_cluster_accepts(
    indexed: ElasticsearchArchive, store: Store
) -> None:
    es, names = indexed.client, indexed.names
    extra = Article(
        url="https://example.org/held",
        canonical_url="https://example.org/held",
        source="indystar",
        title="Held article about a sister city",
        text="Kept in the store while the index refuses writes.",
        language="en",
    )
    store.save_article(extra)
    sync = ArchiveSync(store, indexed)
    es.indices.put_settings(index=names.first_index, settings={"index.blocks.write": True})
    try:
        report = sync.sync()
        assert report.error is not None or report.rejected, report
        assert report.backlog == 1
    finally:
        es.indices.put_settings(index=names.first_index, settings={"index.blocks.write": None})
    report = sync.sync()
    assert report.ok and report.backlog == 0, report
    indexed.refresh()
    assert indexed.get_article(extra.id) is not None
    assert indexed.delete_articles([extra.id]) == 1
    with pytest.raises(NotFoundError):
        es.get(index=names.first_index, id=extra.id)


def test_search_by_story_agrees_with_the_embedded_backend(
    indexed: ElasticsearchArchive, tmp_path: Path
) -> None:
    """Issue 18's stories on the cluster: three copies of one story and another story are
    two hits, the first with +2 copies, and two stories (four articles) counted."""
    from tests.search.test_stories import COPIES, LEAD, OTHER

    stories = [LEAD, *COPIES, OTHER]
    assert indexed.index_articles(stories) == len(stories)
    indexed.refresh()
    try:
        with Store(tmp_path / "stories.db") as store:
            for article in stories:
                store.save_article(article)
            outlets = sorted({a.source for a in stories})
            request = SearchRequest('"sister city"', sources=outlets, by_story=True, facets=True)
            es_result = indexed.search(request)
            embedded = EmbeddedArchive(store).search(request)
        assert (es_result.total, es_result.articles) == (2, 4)
        assert (es_result.total, es_result.articles) == (embedded.total, embedded.articles)
        es_copies = {h.story_id: h.copy_count for h in es_result.hits}
        assert es_copies == {h.story_id: h.copy_count for h in embedded.hits}
        assert es_copies[LEAD.id] == 2
        assert dict(es_result.facets["country"]) == dict(embedded.facets["country"])
    finally:
        indexed.delete_articles(a.id for a in stories)


# -- issue 15: the hardening, one test per fix (the rollover one last: it rolls the index) ---


def _extra(slug: str, title: str, text: str, **fields: Any) -> Article:
    url = fields.pop("url", f"https://example.org/{slug}")
    return Article(
        url=url,
        canonical_url=fields.pop("canonical_url", url),
        source="indystar",
        title=title,
        text=text,
        language="en",
        **fields,
    )


def test_a_short_phrase_prefix_does_not_hit_the_clause_limit(indexed: ElasticsearchArchive) -> None:
    # 5,000 distinct words starting with "cz": far past the lowest clause limit (1024)
    words = " ".join(f"cz{i:05d}x" for i in range(5000))
    extra = _extra("prefixes", "Many c words", f"sister czech {words}")
    assert not indexed.bulk_index([(extra, None)]).failed
    indexed.refresh()
    try:
        for text in ('"sister c*"', '"sister cz*"', '"sister czec*"', '"sister czech cz0000*"'):
            # `AND czech` singles the article out; the prefix clause is evaluated all the same
            result = indexed.search(SearchRequest(query=f"{text} AND czech", limit=5))
            assert [h.article.id for h in result.hits] == [extra.id], text
    finally:
        indexed.delete_articles([extra.id])


def test_a_text_past_the_highlight_limit_is_found_and_snippeted(
    indexed: ElasticsearchArchive,
) -> None:
    filler = "word " * 210_000  # 1,050,000 characters
    extra = _extra("long", "A very long page", filler + "the sister city delegation")
    assert not indexed.bulk_index([(extra, None)]).failed
    indexed.refresh()
    try:
        result = indexed.search(SearchRequest(query='"sister city" AND delegation', limit=50))
        hit = next(h for h in result.hits if h.article.id == extra.id)
        assert "[[sister city]]" in hit.snippet
    finally:
        indexed.delete_articles([extra.id])


def test_long_keywords_are_kept_and_unparsable_documents_rejected_for_good(
    indexed: ElasticsearchArchive, store: Store
) -> None:
    long_url = "https://example.org/" + "x" * 40_000  # past Lucene's 32,766-byte term
    long_one = _extra("long-url", "Long address", "A sister city page.", url=long_url)
    bad = _extra("bad-geo", "Bad place", "A sister city page.")
    bad.entities = [Entity("geonames:1", "Nowhere", "place", "US", None, 123.0, 10.0, 1)]
    for article in (long_one, bad):
        store.save_article(article)
    sync = ArchiveSync(store, indexed)
    report = sync.sync()
    assert [f.article_id for f in report.rejected] == [bad.id], report
    (failure,) = report.rejected
    assert failure.permanent and failure.status == 400, failure
    assert [r.article_id for r in sync.state.rejected()] == [bad.id]
    assert report.backlog == 0 and sync.state.pending() == []
    again = sync.sync()
    assert again.ok and again.indexed == 0  # not sent again
    indexed.refresh()
    assert indexed.get_article(long_one.id) is not None
    indexed.delete_articles([long_one.id])


def test_highlight_fields_array_and_index_prefixes_are_what_the_cluster_has(
    indexed: ElasticsearchArchive,
) -> None:
    body = compile_search(parse_query('"sister city"'), aliases=resolve_alias, limit=50)
    assert isinstance(body["highlight"]["fields"], list)
    resp = indexed.client.search(index=indexed.names.read_alias, body=body)
    assert resp["hits"]["hits"] and all("highlight" in h for h in resp["hits"]["hits"])
    mapping = indexed.client.indices.get_mapping(index=indexed.names.first_index)
    properties = mapping[indexed.names.first_index]["mappings"]["properties"]
    assert properties["title"]["index_prefixes"] == {"min_chars": 1, "max_chars": 5}
    assert properties["source"]["ignore_above"] == 8191


def test_after_a_rollover_a_resent_article_exists_once(
    indexed: ElasticsearchArchive, store: Store
) -> None:
    es, names = indexed.client, indexed.names
    es.indices.rollover(alias=names.write_alias)
    article = ARTICLES[0]
    (seq,) = [
        r["seq"] for r in store.execute("SELECT seq FROM articles WHERE id = ?", (article.id,))
    ]
    assert indexed.locate([article.id]) == {article.id: [names.first_index]}
    report = indexed.bulk_index([(article, seq)])
    assert report.indexed == [article.id]
    indexed.refresh()
    assert indexed.count() == len(ARTICLES)
    resp = es.search(index=names.read_alias, query={"ids": {"values": [article.id]}})
    assert [h["_index"] for h in resp["hits"]["hits"]] == [names.first_index]
    # a copy left in the new index by an older watchdesk is removed on the next resend
    second = names.first_index.replace("000001", "000002")
    es.index(index=second, id=article.id, document=article_document(article, seq), refresh=True)
    indexed.bulk_index([(article, seq)])
    indexed.refresh()
    assert indexed.count() == len(ARTICLES)
    # totals count documents, not collapsed hits: a second copy would show here
    assert indexed.search(SearchRequest(query="", limit=1)).total == len(ARTICLES)
