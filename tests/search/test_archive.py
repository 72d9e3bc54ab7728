"""The embedded archive on a real store: facets, histogram, sort, pages, snippets, Chinese."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from crawler.article import Article, Entity
from crawler.query import MatchDocument, evaluate, parse_query, resolve_aliases
from crawler.search.embedded import EmbeddedArchive
from crawler.search.facet_labels import is_country, is_place
from crawler.search.request import Archive, SearchRequest
from crawler.search.snippets import mark_spans
from crawler.storage import Store
from tests.query.corpus import ARTICLES, resolve_alias


def accepted(text: str) -> list[Article]:
    tree = resolve_aliases(parse_query(text), resolve_alias)
    return [a for a in ARTICLES if evaluate(tree, MatchDocument.from_article(a))]


def article(n: int, title: str, text: str, **kw: object) -> Article:
    url = f"https://example.org/t/{n}"
    return Article(url=url, canonical_url=url, title=title, text=text, **kw)  # type: ignore[arg-type]


def test_is_an_archive(corpus_archive: EmbeddedArchive) -> None:
    assert isinstance(corpus_archive, Archive)
    assert corpus_archive.count() == len(ARTICLES)
    assert corpus_archive.get_article(ARTICLES[0].id) is not None


def test_facet_counts_match_the_result_set(corpus_archive: EmbeddedArchive) -> None:
    text = "city OR 友好城市 OR country:TW"
    result = corpus_archive.search(SearchRequest(query=text, facets=True, facet_size=50))
    want: dict[str, Counter[str]] = {n: Counter() for n in ("source", "label", "language")}
    want |= {"event": Counter(), "country": Counter(), "region": Counter(), "entity": Counter()}
    want["place"] = Counter()
    for a in accepted(text):
        doc = MatchDocument.from_article(a)
        for name in ("source", "label", "language", "event", "country", "region"):
            want[name].update(doc.facet(name))
        # places have their own facet, countries are the country facet's
        ids = {e.id for e in a.entities}
        want["entity"].update(i for i in ids if not is_place(i) and not is_country(i))
        want["place"].update(i for i in ids if is_place(i))
    for name, counts in want.items():
        assert dict(result.facets[name]) == dict(counts), name
        shown = [n for _, n in result.facets[name]]
        assert shown == sorted(shown, reverse=True), f"{name} not most frequent first"


def test_entity_facet_is_ids_with_display_names(corpus_archive: EmbeddedArchive) -> None:
    result = corpus_archive.search(SearchRequest(query="event:sister_city", facets=True))
    ids = [value for value, _ in result.facets["entity"]]
    places = [value for value, _ in result.facets["place"]]
    assert "org:cpaffc" in ids and "geonames:1806949" in places
    assert "geonames:1806949" not in ids, "places have their own facet"
    assert not any(i.startswith("country:") for i in ids), "countries are the country facet's"
    assert all(":" in value for value in ids + places), "facets hold ids, not names"
    assert result.facet_labels["place"]["geonames:1806949"] == "Hubei"
    assert result.facet_labels["entity"]["org:cpaffc"].startswith("Chinese People's Association")
    # countries by their names, regions with their country (codes stay the keys)
    assert result.facet_labels["country"]["CN"] == "China"
    assert result.facet_labels["region"]["hubei"] == "Hubei (CN)"


def test_facet_size_limits_each_facet(corpus_archive: EmbeddedArchive) -> None:
    result = corpus_archive.search(SearchRequest(query="", facets=True, facet_size=2))
    assert all(len(v) <= 2 for v in result.facets.values())
    assert len(result.facets["source"]) == 2


def test_histogram_counts_days_of_the_whole_result(corpus_archive: EmbeddedArchive) -> None:
    text = "city OR china"
    result = corpus_archive.search(SearchRequest(query=text, histogram=True, limit=1))
    days = Counter(
        a.published.astimezone(UTC).date().isoformat() for a in accepted(text) if a.published
    )
    assert result.histogram == sorted(days.items())
    assert result.total == len(accepted(text))


def test_sort_by_date_is_newest_first_undated_last(corpus_archive: EmbeddedArchive) -> None:
    result = corpus_archive.search(SearchRequest(query="", sort="date", limit=100))
    dates = [h.article.published for h in result.hits]
    dated = [d for d in dates if d is not None]
    assert dated == sorted(dated, reverse=True)
    assert dates[-1] is None and None not in dates[:-1]


def test_pages_are_disjoint_and_cover_the_result(corpus_archive: EmbeddedArchive) -> None:
    for sort in ("relevance", "date"):
        seen: list[str] = []
        for page in range(4):
            req = SearchRequest(query="city OR china", sort=sort, limit=4, offset=page * 4)  # type: ignore[arg-type]
            result = corpus_archive.search(req)
            assert result.total == len(accepted("city OR china"))
            seen += [h.article.id for h in result.hits]
        assert len(seen) == len(set(seen)) == min(16, len(accepted("city OR china")))


def test_title_match_outranks_body_match(tmp_path: Path) -> None:
    filler = "The council met on Tuesday to discuss the budget and the new library. " * 3
    store = Store(tmp_path / "w.db")
    store.save_article(article(1, "Council news", filler + "It named a delegation."))
    store.save_article(article(2, "Delegation heads to Wuhan", filler))
    store.save_article(article(3, "Budget news", filler))
    with Store(tmp_path / "w.db") as store:
        archive = EmbeddedArchive(store)
        hits = archive.search(SearchRequest(query="delegation")).hits
        assert [h.article.url[-1] for h in hits] == ["2", "1"]
        assert hits[0].score > hits[1].score > 0


def test_snippets_mark_phrases_prefixes_and_not_negated_terms(
    corpus_archive: EmbeddedArchive,
) -> None:
    hit = corpus_archive.search(SearchRequest(query='"sister city" AND NOT ethnicity')).hits[0]
    assert "[[sister city]]" in hit.snippet.lower() or "[[sister-city]]" in hit.snippet.lower()
    for h in corpus_archive.search(SearchRequest(query="cit* NOT festival", limit=50)).hits:
        assert "[[" in h.snippet + h.title_highlighted
        assert "[[festival" not in h.snippet.lower()
    cities = corpus_archive.search(SearchRequest(query="text:citi*")).hits
    assert cities
    for h in cities:  # a prefix marks the whole word it starts
        assert re.search(r"\[\[citi\w+\]\]", h.snippet.lower()), h.snippet
    assert any("[[cities]]" in h.snippet.lower() for h in cities)


def test_chinese_traditional_query_finds_and_marks_simplified(
    corpus_archive: EmbeddedArchive,
) -> None:
    result = corpus_archive.search(SearchRequest(query="代表團"))
    assert result.total == len(accepted("代表團")) >= 2
    assert all("[[代表团]]" in h.snippet or "[[代表團]]" in h.snippet for h in result.hits)
    # a Chinese phrase is a sequence of characters: no false hit on the characters apart
    assert corpus_archive.search(SearchRequest(query='"城市友好"')).total == len(
        accepted('"城市友好"')
    )


def test_hit_json_has_highlights_and_enrichment(corpus_archive: EmbeddedArchive) -> None:
    data = corpus_archive.search(SearchRequest(query="wuhan")).hits[0].to_dict()
    for key in ("id", "url", "title", "source", "published", "score", "snippet", "highlights"):
        assert key in data
    assert {"entities", "countries", "events", "relevance"} <= set(data)
    assert "text" not in data
    assert data["highlights"] and all("[[" not in w for w in data["highlights"])


def test_mark_spans_merges_overlaps_and_cuts_at_words() -> None:
    text = "one two three four five"
    assert mark_spans(text, [(4, 7), (4, 13)]) == "one [[two three]] four five"
    window = mark_spans("word " * 100 + "target" + " word" * 100, [(500, 506)], 60)
    assert window.startswith("…") and window.endswith("…") and "[[target]]" in window
    assert window[1:].split(" ")[0] == "word"


def test_everything_query_is_newest_first(corpus_archive: EmbeddedArchive) -> None:
    result = corpus_archive.search(SearchRequest(query="", limit=3))
    assert result.total == len(ARTICLES)
    assert result.hits[0].article.published == max(
        a.published for a in ARTICLES if a.published is not None
    )


def test_filters_and_dates(corpus_archive: EmbeddedArchive) -> None:
    req = SearchRequest(since=date(2024, 5, 1), until=date(2024, 5, 2), countries=["CN"])
    got = {h.article.id for h in corpus_archive.search(req).hits}
    want = {
        a.id
        for a in ARTICLES
        if a.published
        and date(2024, 5, 1) <= a.published.astimezone(UTC).date() <= date(2024, 5, 2)
        and "CN" in MatchDocument.from_article(a).countries
    }
    assert got == want and want


def test_articles_stored_later_are_found(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    archive = EmbeddedArchive(store)
    assert archive.search(SearchRequest(query="delegation")).total == 0
    # the pipeline writes to the store directly; the next search indexes the new articles
    store.save_article(article(1, "Delegation visits Des Moines", "A delegation arrived."))
    assert archive.search(SearchRequest(query="delegation")).total == 1
    assert archive.index_articles([article(2, "Second delegation", "Another.")]) == 1
    assert archive.index_articles([article(2, "Second delegation", "Another.")]) == 0
    assert archive.search(SearchRequest(query="delegation")).total == 2


def test_delete_articles_removes_from_store_and_index(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    archive = EmbeddedArchive(store)
    a1, a2 = article(1, "Sister city", "x"), article(2, "Sister city too", "y")
    archive.index_articles([a1, a2])
    assert archive.delete_articles([a1.id, "nosuchid"]) == 1
    result = archive.search(SearchRequest(query='"sister city"'))
    assert [h.article.id for h in result.hits] == [a2.id] and result.total == 1
    assert archive.get_article(a1.id) is None
    archive.close()
    # and the FTS5 table no longer holds it either
    with Store(tmp_path / "w.db") as store:
        rows = store.execute("SELECT rowid FROM articles_fts WHERE articles_fts MATCH 'sister'")
        assert len(rows) == 1


def test_entity_filter_by_name_uses_aliases(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    cpaffc = Entity("org:cpaffc", "Chinese People's Association for Friendship", "org", "CN")
    store.save_article(article(1, "Friendship group visit", "text", entities=[cpaffc]))
    archive = EmbeddedArchive(store, aliases=resolve_alias)
    assert archive.search(SearchRequest(entities=["对外友协"])).total == 1
    assert EmbeddedArchive(store).search(SearchRequest(entities=["对外友协"])).total == 0


@pytest.mark.parametrize("published", [datetime(2024, 1, 31, 23, 59, tzinfo=UTC)])
def test_until_includes_the_whole_day(tmp_path: Path, published: datetime) -> None:
    store = Store(tmp_path / "w.db")
    store.save_article(article(1, "Late story", "t", published=published))
    archive = EmbeddedArchive(store)
    assert archive.search(SearchRequest(until=date(2024, 1, 31))).total == 1
    assert archive.search(SearchRequest(since=date(2024, 2, 1))).total == 0


def test_fts5_baseline_answers_the_same_set(corpus_archive: EmbeddedArchive) -> None:
    """The benchmark's FTS5 baseline must find what the archive finds (like for like)."""
    from crawler.search.embedded import Fts5Search
    from tests.search.parity_queries import PARITY_QUERIES

    baseline = Fts5Search(corpus_archive.store, aliases=resolve_alias)
    for text in PARITY_QUERIES:
        request = SearchRequest(query=text, limit=100)
        want = {h.article.id for h in corpus_archive.search(request).hits}
        assert {h.article.id for h in baseline.search(request).hits} == want, text
