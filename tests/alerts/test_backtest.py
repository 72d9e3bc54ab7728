"""Backtests and explanations over a real SQLite store holding the fixture corpus.

The reference for every backtest is the live matcher run article by article over the same
window (what live alerting would have done); the backtest must equal it, with or without its
SQL preselection.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from alerts.backtest import ArticleNotFound, backtest, explain_article, marked_snippet
from alerts.matcher import WatchlistMatcher
from alerts.policy import alert_kind
from alerts.watchlist import Watchlist
from crawler.article import Article
from crawler.query import QueryError
from crawler.records import StoryMatch
from crawler.search.tantivy_index import TantivyIndex
from crawler.storage import Store
from tests.query.corpus import ARTICLES, resolve_alias
from tests.query.strategies import queries

NOW = datetime(2024, 6, 20, 9, 30, tzinfo=UTC)


def _fetched(i: int) -> datetime:
    """Article i was fetched i % 40 days (and i hours) before NOW: some fall outside 30 days."""
    return NOW - timedelta(days=i % 40, hours=i % 24, minutes=5)


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, list[Article]]]:
    path = tmp_path_factory.mktemp("backtest") / "watchdesk.db"
    store = Store(path)
    articles = []
    for i, original in enumerate(ARTICLES):
        article = copy.deepcopy(original)
        article.fetched = _fetched(i * 3)
        articles.append(article)
    # Syndicated copies of article 0 (same story): one from another source, two from the same
    # other source (the second adds nothing to the thread), fetched later.
    lead = articles[0]
    lead.cluster_id = "story-1"
    assert lead.fetched is not None
    for n, source in enumerate(["voa", "scmp", "scmp"], start=1):
        dup = copy.deepcopy(lead)
        dup.url = dup.canonical_url = f"https://copies.example/{n}"
        dup.source = source
        dup.fetched = lead.fetched + timedelta(minutes=n)
        dup.is_cluster_lead = False
        articles.append(dup)
    for article in articles:
        assert store.save_article(article)
    yield store, articles
    store.close()


@pytest.fixture(scope="module")
def index(stored: tuple[Store, list[Article]]) -> TantivyIndex:
    """The store's full-text index (in memory), from which backtests may count."""
    return TantivyIndex(stored[0], None)


def live_alerts(
    articles: list[Article], wl: Watchlist, start: datetime | None, end: datetime
) -> list[str]:
    """Ids the live matcher accepts among the articles fetched in [start, end), oldest first."""
    matcher = WatchlistMatcher([wl.model_copy(update={"muted": False})], aliases=resolve_alias)
    window = [
        a
        for a in articles
        if a.fetched is not None and (start is None or a.fetched >= start) and a.fetched < end
    ]
    window.sort(key=lambda a: a.fetched or NOW)
    return [a.id for a in window if matcher.match(a)]


WATCHLISTS = [
    Watchlist(name="sister", query='"sister city" OR "sister-city" OR 友好城市'),
    Watchlist(name="sister-en", query='"sister city" OR 友好城市', languages=["EN"]),
    Watchlist(name="by-source", query="China OR Chinese OR 中国", sources=["voa", "scmp"]),
    Watchlist(name="relevant", query="country:CN", min_relevance=0.6),
    Watchlist(name="facets", query="country:US AND NOT event:termination"),
    Watchlist(name="entity", query="entity:cpaffc OR Wuhan"),
    Watchlist(name="muted", query="Wuhan OR 武汉", muted=True),
]


@pytest.mark.parametrize("wl", WATCHLISTS, ids=lambda w: w.name)
@pytest.mark.parametrize("how", ["sql", "all", "index"])
def test_backtest_equals_live_matching(
    stored: tuple[Store, list[Article]], index: TantivyIndex, wl: Watchlist, how: str
) -> None:
    store, articles = stored
    result = backtest(
        store,
        wl,
        aliases=resolve_alias,
        now=NOW,
        limit=1000,
        preselect=how != "all",
        index=index if how == "index" else None,
    )
    start = NOW - timedelta(days=30)
    expected = live_alerts(articles, wl, start, NOW)
    assert [h.article_id for h in reversed(result.hits)] == expected
    assert result.matches == len(expected)
    assert result.start == start and result.end == NOW
    assert result.watchlist.muted == wl.muted
    assert not result.truncated


def test_comparisons_are_not_vacuous(stored: tuple[Store, list[Article]]) -> None:
    store, articles = stored
    counts = {
        wl.name: backtest(store, wl, aliases=resolve_alias, now=NOW).matches for wl in WATCHLISTS
    }
    assert all(n > 0 for n in counts.values()), counts
    everything = backtest(store, "country:CN OR (NOT country:CN)", now=NOW, since=None)
    assert everything.matches == len(articles)
    # the filters narrow what the bare query finds
    bare = backtest(store, WATCHLISTS[1].query, aliases=resolve_alias, now=NOW).matches
    assert counts["sister-en"] < bare


def test_preselection_checks_few_articles(stored: tuple[Store, list[Article]]) -> None:
    store, _ = stored
    narrow = backtest(store, '"sister city"', now=NOW)
    full = backtest(store, '"sister city"', now=NOW, preselect=False)
    assert narrow.matches == full.matches > 0
    assert narrow.candidates < full.candidates / 3


def test_every_day_of_the_window_is_counted(stored: tuple[Store, list[Article]]) -> None:
    store, _ = stored
    result = backtest(store, "country:CN", now=NOW, since=timedelta(days=10))
    days = [d.day for d in result.days]
    assert days == [date(2024, 6, 10) + timedelta(days=i) for i in range(11)]
    assert sum(d.matches for d in result.days) == result.matches
    assert sum(d.stories for d in result.days) == result.stories
    assert any(d.matches == 0 for d in result.days)  # zeros are listed, not skipped
    for hit in result.hits:
        assert hit.fetched is not None and hit.day == hit.fetched.date()
        assert next(d for d in result.days if d.day == hit.day).matches >= 1


def test_hits_are_newest_first_and_limited(stored: tuple[Store, list[Article]]) -> None:
    store, _ = stored
    full = backtest(store, "country:CN", now=NOW, limit=1000)
    short = backtest(store, "country:CN", now=NOW, limit=3)
    stamps = [h.fetched for h in full.hits]
    assert stamps == sorted(stamps, reverse=True)  # type: ignore[type-var]
    assert [h.article_id for h in short.hits] == [h.article_id for h in full.hits[:3]]
    assert short.truncated and short.matches == full.matches > 3
    assert short.days == full.days  # counts cover every match, not just those listed


def test_stories_copies_and_repeats_as_the_outbox_sends_them(
    stored: tuple[Store, list[Article]],
) -> None:
    store, articles = stored
    result = backtest(store, '"sister city"', now=NOW, since=None, limit=1000)
    story = [h for h in result.hits if h.cluster_id == "story-1"]
    # oldest first: the lead alerts, voa and the first scmp copy are threaded replies, the
    # second scmp copy adds nothing (at most one reply per source)
    assert [(h.source, h.kind) for h in reversed(story)] == [
        (articles[0].source, "story"),
        ("voa", "copy"),
        ("scmp", "copy"),
        ("scmp", "repeat"),
    ]
    assert result.copies == 2
    assert result.stories == len({h.cluster_id for h in result.hits})


def test_the_outbox_agrees_on_stories_and_copies(tmp_path: Path) -> None:
    """Storing the same articles with their live matches gives the backtest's alert kinds."""
    store = Store(tmp_path / "live.db")
    wl = Watchlist(name="sister", query='"sister city"', channel="#c")
    matcher = WatchlistMatcher([wl])
    lead = copy.deepcopy(ARTICLES[0])
    lead.cluster_id, lead.fetched = "s1", NOW - timedelta(hours=5)
    batch = [lead]
    for n, source in enumerate(["voa", "scmp", "scmp"], start=1):
        dup = copy.deepcopy(lead)
        dup.url = dup.canonical_url = f"https://copies.example/{n}"
        dup.source, dup.fetched = source, lead.fetched + timedelta(hours=n)
        batch.append(dup)
    for article in batch:
        matches = [StoryMatch(m.watchlist.name, "#c", m.terms) for m in matcher.match(article)]
        store.save_article(article, matches, alert_kind)
    kinds = {a.article_id: a.kind for a in store.list_alerts()}
    result = backtest(store, wl, now=NOW)
    assert {h.article_id: h.kind for h in result.hits if h.kind != "repeat"} == kinds
    assert len(kinds) == 3


def test_window_by_published_date(stored: tuple[Store, list[Article]]) -> None:
    store, articles = stored
    until = datetime(2024, 5, 3, tzinfo=UTC)
    result = backtest(
        store, "country:CN", since=timedelta(days=7), until=until, date_field="published"
    )
    expected = {
        a.id
        for a in articles
        if "CN" in {e.country for e in a.entities} | set(a.countries)
        and until - timedelta(days=7) <= (a.published or a.fetched or NOW) < until
    }
    assert {h.article_id for h in result.hits} == expected
    assert len(expected) >= 2
    shown = [h.published or h.fetched for h in result.hits]
    assert shown == sorted(shown, reverse=True)  # type: ignore[type-var]  # newest published first
    assert result.days[-1].day == date(2024, 5, 2)  # `until` is exclusive at midnight


def test_terms_and_snippet(stored: tuple[Store, list[Article]]) -> None:
    store, _ = stored
    result = backtest(store, '"sister city" AND Wuhan', now=NOW, since=None)
    hit = next(h for h in result.hits if h.kind == "story")
    assert hit.matched_words == ['"sister city"', "Wuhan"]
    assert "[[sister city]]" in hit.snippet and "[[Wuhan]]" in hit.snippet
    assert hit.to_dict()["terms"] == ['"sister city"', "Wuhan"]


def test_snippet_only_marks_what_matched_and_cuts_long_text() -> None:
    article = Article(
        url="u", canonical_url="u", title="t", text="x " * 400 + "Wuhan " + "y " * 400
    )
    from crawler.records import MatchedTerm

    start = article.text.index("Wuhan")
    snippet = marked_snippet(article, [MatchedTerm("Wuhan", "text", start, start + 5)])
    assert snippet.startswith("…") and snippet.endswith("…")
    assert snippet.count("[[") == 1 and "[[Wuhan]]" in snippet
    assert marked_snippet(article, []).endswith("…")  # title-only match: the start of the text


def test_draft_query_and_draft_with_a_watchlists_filters(
    stored: tuple[Store, list[Article]],
) -> None:
    store, articles = stored
    draft = backtest(store, "友好城市", now=NOW, since=None)
    assert draft.draft and draft.watchlist.name == "draft" and draft.matches >= 2
    base = Watchlist(name="sister-en", query="x", languages=["en"])
    tuned = backtest(store, base.model_copy(update={"query": "友好城市"}), now=NOW, since=None)
    assert tuned.matches == 0  # the Chinese articles fail the watchlist's language filter
    assert tuned.to_dict()["languages"] == ["en"]


@pytest.mark.parametrize(
    ("text", "position"), [("sister AND (city OR", 11), ('"sister city', 0), ("foo:bar", 0)]
)
def test_bad_draft_query_raises_with_position(
    stored: tuple[Store, list[Article]], text: str, position: int
) -> None:
    store, _ = stored
    with pytest.raises(QueryError) as info:
        backtest(store, text, now=NOW)
    assert info.value.position == position


def test_json_shape(stored: tuple[Store, list[Article]]) -> None:
    store, _ = stored
    data = backtest(store, WATCHLISTS[0], now=NOW, limit=2).to_dict()
    assert data["watchlist"] == "sister" and data["draft"] is False
    assert len(data["days"]) == 31 and data["days"][0] == {
        "day": "2024-05-21",
        "matches": data["days"][0]["matches"],
        "stories": data["days"][0]["stories"],
    }
    assert set(data["hits"][0]) >= {"id", "url", "title", "source", "kind", "terms", "snippet"}


# -- explanations ----------------------------------------------------------------------------


def test_explain_says_which_clause_failed(stored: tuple[Store, list[Article]]) -> None:
    store, articles = stored
    wl = Watchlist(name="tw", query='"sister city" AND country:TW')
    why = explain_article(store, wl, articles[0].url, resolve_alias)
    assert not why.matched and not why.query_matched
    assert why.presearch.startswith("skipped")
    phrase, facet = why.query.children
    assert phrase.value and [h.field for h in phrase.hits] == ["title", "text"]
    assert not facet.value and "CN" in facet.detail
    data = why.to_dict()
    assert data["tree"]["children"][0]["hits"][0]["words"] == "sister city"
    assert data["relevance"] == articles[0].relevance
    text = str(why)
    assert "✗ country:TW" in text and '✓ "sister city"' in text


def test_explain_filters_and_matches(stored: tuple[Store, list[Article]]) -> None:
    store, articles = stored
    zh = next(a for a in articles if a.language == "zh" and "友好城市" in a.text)
    wl = Watchlist(name="en-only", query="友好城市", languages=["en"], min_relevance=0.1)
    why = explain_article(store, wl, zh.id, resolve_alias)
    assert why.query_matched and not why.matched
    assert why.failed_filters() == ["language zh in ['en']"]
    ok = explain_article(store, "友好城市", zh.id)
    assert (
        ok.matched and ok.draft and {(t.term, t.field) for t in ok.terms} >= {("友好城市", "text")}
    )


def test_explain_by_url_with_tracking_parameters_and_not_found(
    stored: tuple[Store, list[Article]],
) -> None:
    store, articles = stored
    why = explain_article(store, "Wuhan", articles[0].url + "?utm_source=x", resolve_alias)
    assert why.article.id == articles[0].id and why.matched
    with pytest.raises(ArticleNotFound):
        explain_article(store, "Wuhan", "https://nowhere.example/1")


def test_explain_shows_the_outbox_record(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    article = copy.deepcopy(ARTICLES[0])
    store.save_article(article, [StoryMatch("sister", "#c")], alert_kind)
    wl = Watchlist(name="sister", query='"sister city"')
    why = explain_article(store, wl, article.id)
    assert [(a["kind"], a["status"]) for a in why.alerts] == [("story", "pending")]
    assert "outbox: story alert pending" in str(why)


@given(queries(max_leaves=4))
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_random_queries_backtest_like_live_matching(
    stored: tuple[Store, list[Article]], text: str
) -> None:
    store, articles = stored
    try:
        wl = Watchlist(name="random", query=text)
    except ValueError:
        return
    result = backtest(store, wl, aliases=resolve_alias, since=None, now=NOW, limit=1000)
    assert [h.article_id for h in reversed(result.hits)] == live_alerts(articles, wl, None, NOW)


@pytest.mark.parametrize("wl", WATCHLISTS, ids=lambda w: w.name)
@pytest.mark.parametrize("by", ["fetched", "published"])
def test_counting_from_the_index_gives_the_same_backtest(
    stored: tuple[Store, list[Article]], index: TantivyIndex, wl: Watchlist, by: str
) -> None:
    """Counts, days, stories, the listed hits with their terms and snippets: all the same."""
    store, _ = stored
    # the corpus was published over years; fetched within the last 40 days
    since = timedelta(days=30 if by == "fetched" else 3650)
    args = {"aliases": resolve_alias, "now": NOW, "limit": 5, "date_field": by, "since": since}
    exact = backtest(store, wl, **args).to_dict()  # type: ignore[arg-type]
    counted = backtest(store, wl, index=index, **args).to_dict()  # type: ignore[arg-type]
    assert counted["candidates"] == counted["matches"] <= exact["candidates"]
    del exact["candidates"], counted["candidates"]
    assert counted == exact
    assert exact["matches"] > 0


def test_a_query_the_index_only_approximates_is_checked_article_by_article(
    stored: tuple[Store, list[Article]], index: TantivyIndex
) -> None:
    store, articles = stored
    wl = Watchlist(name="near", query='"sister city agreement"~5 OR "city sister signed"~4')
    assert index.matching_seqs(None, "fetched", None, NOW) is not None
    from crawler.query import parse_query

    assert index.matching_seqs(parse_query(wl.query), "fetched", None, NOW) is None
    result = backtest(store, wl, aliases=resolve_alias, since=None, now=NOW, index=index)
    assert [h.article_id for h in reversed(result.hits)] == live_alerts(articles, wl, None, NOW)
