"""One relevance (issue 18): `best` blends the text score with watchdesk's own domain
relevance, so a local–China story outranks a Taiwan story that out-scores it on words alone;
`text` is the text score alone; `min_relevance` filters by the domain score. The articles are
enriched by the service's own pipeline, so their relevance is the one the product computes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from alerts.watchlist import WatchlistSet
from crawler.article import Article, Page
from crawler.query import parse_query
from crawler.search.elastic.archive import search_body
from crawler.search.embedded import EmbeddedArchive
from crawler.search.request import BEST_FLOOR, SearchRequest, best_score
from crawler.storage import Store
from watchdesk.service.config import enrich_context
from watchdesk.service.processor import Processor

# Five "sister city" mentions, but the partner is in Taiwan: watchdesk scores it 0.15.
TAIWAN = """<html><head><title>Columbus and Taichung mark 40 years as sister cities</title>
</head><body><article><h1>Columbus and Taichung mark 40 years as sister cities</h1>
<p>Columbus, Ohio, and Taichung, Taiwan, marked forty years as sister cities on Saturday. The
sister city tie began in 1984, and the sister city committee hosted a dinner for the Taichung
delegation.</p>
<p>The committee said the sister city exchange of students and artists would continue, and a
new sister city garden would open next spring near the Scioto river.</p>
</article></body></html>"""
# One mention, a US city and a Chinese province: the story the desk is for.
LOCAL_CHINA = """<html><head><title>Indianapolis renews ties with Hangzhou</title></head>
<body><article><h1>Indianapolis renews ties with Hangzhou</h1>
<p>Indianapolis Mayor Joe Hogsett signed a memorandum with a delegation from Hangzhou, in
China's Zhejiang province, on Tuesday, renewing a sister city agreement first signed in
2008.</p>
<p>The Chinese delegation toured the Indiana statehouse and a factory in Marion County;
officials from both cities said student exchanges and investment in electric vehicles would
follow the signing.</p>
</article></body></html>"""


def _enriched(url: str, html: str) -> Article:
    processor = Processor(Store(":memory:"), enrich_context(None), WatchlistSet([], []))
    return processor.preview(Page(url=url, source="ledger", html=html)).article


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedArchive]:
    store = Store(Path(tmp_path_factory.mktemp("ranking")) / "rank.db")
    store.save_article(_enriched("https://ledger.example/taichung", TAIWAN))
    store.save_article(_enriched("https://ledger.example/hangzhou", LOCAL_CHINA))
    archive = EmbeddedArchive(store)
    yield archive
    archive.close()


def _titles(archive: EmbeddedArchive, **kwargs: object) -> list[str]:
    result = archive.search(SearchRequest(query='"sister city"', **kwargs))  # type: ignore[arg-type]
    return [h.article.title for h in result.hits]


def test_the_corpus_is_a_real_disagreement(archive: EmbeddedArchive) -> None:
    hits = archive.search(SearchRequest(query='"sister city"', sort="text")).hits
    by_title = {h.article.title: h for h in hits}
    taiwan = by_title["Columbus and Taichung mark 40 years as sister cities"]
    local = by_title["Indianapolis renews ties with Hangzhou"]
    assert taiwan.score > local.score  # more words: the text score prefers the Taiwan story
    assert taiwan.article.relevance < 0.3 < 0.7 < local.article.relevance


def test_best_puts_the_local_china_story_first_and_text_does_not(
    archive: EmbeddedArchive,
) -> None:
    assert _titles(archive)[0] == "Indianapolis renews ties with Hangzhou"  # best, the default
    assert _titles(archive, sort="best")[0] == "Indianapolis renews ties with Hangzhou"
    assert _titles(archive, sort="text")[0].startswith("Columbus and Taichung")
    # the score reported for best is the blend itself
    text = {
        h.article.id: h for h in archive.search(SearchRequest('"sister city"', sort="text")).hits
    }
    for hit in archive.search(SearchRequest('"sister city"', sort="best")).hits:
        expected = best_score(text[hit.article.id].score, hit.article.relevance)
        assert hit.score == pytest.approx(expected)


def test_min_relevance_is_the_domain_score(archive: EmbeddedArchive) -> None:
    assert _titles(archive, min_relevance=0.5) == ["Indianapolis renews ties with Hangzhou"]


def test_the_old_sort_name_is_the_default_ranking() -> None:
    assert SearchRequest(sort="relevance").sort == "best"  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="best, text, date"):
        SearchRequest(sort="bm25")  # type: ignore[arg-type]


def test_elasticsearch_body_blends_with_a_function_score() -> None:
    tree = parse_query('"sister city"')
    best = search_body(SearchRequest('"sister city"', sort="best"), tree, None)
    text = search_body(SearchRequest('"sister city"', sort="text"), tree, None)
    scored = best["query"]["function_score"]
    # text score × (BEST_FLOOR + relevance): the embedded archive's formula
    assert scored["query"] == text["query"]
    assert scored["functions"] == [
        {"weight": BEST_FLOOR},
        {"field_value_factor": {"field": "relevance", "factor": 1.0, "missing": 0.0}},
    ]
    assert (scored["score_mode"], scored["boost_mode"]) == ("sum", "multiply")
    assert best["sort"][0] == "_score" and best["sort"] == text["sort"]
    # marks come from the text query, not from the scoring wrapper
    assert best["highlight"]["highlight_query"] == text["query"]
    assert "function_score" not in text["query"]
    dated = search_body(SearchRequest('"sister city"', sort="date"), tree, None)
    assert "function_score" not in dated["query"] and dated["sort"][0] != "_score"
    # a query of filters alone has no text score to blend (the embedded archive sorts it by date)
    only = search_body(SearchRequest("country:CN"), parse_query("country:CN"), None)
    assert "function_score" not in only["query"]
