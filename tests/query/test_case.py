"""Case and names (issue 17): `case:` terms, and the proper-noun guard of the alert matcher,
from the desk's example: a `land-laws` alert fired on "Bill", which was Bill Clinton."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alerts.matcher import WatchlistMatcher
from alerts.watchlist import Watchlist
from crawler.article import Article, Entity
from crawler.query import MatchDocument, QueryError, evaluate, explain, parse_query

CLINTON = Entity("person:bill-clinton", "Bill Clinton", "person", "US")
# the demo's land-laws watchlist (demo/watchlists.yaml)
LAND_LAWS = "(bill OR law OR 法案) AND (land OR farmland) AND Chinese"


def article(text: str, title: str = "", people: tuple[Entity, ...] = (CLINTON,)) -> Article:
    a = Article(url="https://example.org/x", canonical_url="https://example.org/x", source="s")
    a.title, a.text, a.entities, a.language = title, text, list(people), "en"
    return a


def matcher(query: str) -> WatchlistMatcher:
    return WatchlistMatcher([Watchlist(name="land-laws", query=query)])


CLINTON_STORY = article(
    "Chinese investors bought farmland in Arkansas, where former president Bill Clinton "
    "once governed, the paper said."
)
BILL_STORY = article(
    "A bill to ban Chinese purchases of farmland passed; it was praised by Bill Clinton."
)


def test_a_name_is_not_the_word() -> None:
    assert not matcher(LAND_LAWS).match(CLINTON_STORY)
    # without the guard (search, backtests) the word is found as written
    assert evaluate(parse_query(LAND_LAWS), MatchDocument.from_article(CLINTON_STORY))


def test_the_word_still_counts_beside_the_name() -> None:
    (found,) = matcher(LAND_LAWS).match(BILL_STORY)
    bills = [t for t in found.terms if t.term == "bill"]
    assert [BILL_STORY.text[t.start : t.end] for t in bills] == ["bill"]  # not "Bill" Clinton


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('"bill clinton" AND farmland', True),  # the whole name, as written
        ("Bill AND farmland", True),  # capitalised: the editor means the name
        ("clinton AND farmland", False),  # a lower-case part of the name
        ("Clinton AND farmland", True),
        ("entity:person:bill-clinton AND farmland", True),
        ("case:bill AND farmland", False),
        ("case:Bill AND farmland", True),
    ],
)
def test_how_to_match_the_person(query: str, expected: bool) -> None:
    assert bool(matcher(query).match(CLINTON_STORY)) is expected


def test_a_capital_at_a_sentence_start_is_no_evidence() -> None:
    story = article("Bill Clinton spoke. Chinese farmland was the topic.")
    assert matcher(LAND_LAWS).match(story)  # "Bill" opens the sentence: the word may be meant


def test_only_people_s_names_guard() -> None:
    story = article(
        "Chinese farmland rules: lawmakers cited Bill Clinton.", people=()
    )  # no person tagged: nothing to guard
    assert matcher(LAND_LAWS).match(story)


def test_explain_says_what_was_set_aside() -> None:
    m = matcher(LAND_LAWS)
    why = m.explain("land-laws", CLINTON_STORY)
    assert not why.matched
    assert "set aside as part of a person's name: 'Bill'" in str(why)


# -- case: ---------------------------------------------------------------------------------


def doc(text: str, title: str = "") -> MatchDocument:
    return MatchDocument.from_article(article(text, title, people=()))


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("case:Bill", "said Bill", True),
        ("case:Bill", "the bill", False),
        ("case:bill", "the bill", True),
        ("case:bill", "said Bill", False),
        ("case:US", "US trade", True),
        ("case:US", "let us trade", False),
        ('case:"Bill Clinton"', "Bill Clinton said", True),
        ('case:"Bill Clinton"', "bill clinton said", False),
        ('case:"Bill Clinton"', "Bill and clinton", False),
        ("case:Bil*", "Billy", True),
        ("case:Bil*", "billy", False),
        ("case:Québec", "Quebec city", True),  # accents still folded, case kept
        ("case:Québec", "quebec city", False),
        ("title:case:Bill", "Bill", False),
        ("case:(Bill OR Hillary)", "Hillary", True),
    ],
)
def test_case_terms(query: str, text: str, expected: bool) -> None:
    assert evaluate(parse_query(query), doc(text)) is expected


@pytest.mark.parametrize("query", ["case:bil?", "case:bill~1", "case:country:US", "!Bill"])
def test_case_refusals(query: str) -> None:
    with pytest.raises(QueryError):
        parse_query(query)


def test_case_hits_highlight_the_cased_word() -> None:
    d = doc("the bill and Bill")
    tree = explain(parse_query("case:Bill"), d)
    (hit,) = tree.hits
    assert d.text.original[hit.start : hit.end] == "Bill" and hit.start == 13


def test_the_guard_never_lets_an_excluded_name_through() -> None:
    # under NOT the word counts as search finds it: excluding `clinton` excludes the person
    assert not matcher("farmland AND NOT clinton").match(CLINTON_STORY)
    assert not matcher("farmland -(bill OR clinton)").match(CLINTON_STORY)


def test_a_backtest_sets_aside_what_live_alerting_would(tmp_path: Path) -> None:
    from alerts.backtest import backtest
    from crawler.search.tantivy_index import TantivyIndex
    from crawler.storage import Store

    store = Store(tmp_path / "watchdesk.db")
    for i, story in enumerate((CLINTON_STORY, BILL_STORY)):
        copy = article(story.text)
        copy.url = copy.canonical_url = f"https://example.org/{i}"
        store.save_article(copy)
    wl = Watchlist(name="land-laws", query=LAND_LAWS)
    later = datetime.now(UTC) + timedelta(minutes=1)  # the store stamps `fetched` with now
    exact = backtest(store, wl, since=None, now=later)
    counted = backtest(store, wl, since=None, now=later, index=TantivyIndex(store, None))
    assert exact.matches == counted.matches == 1
    (hit,) = exact.hits
    assert "passed" in (store.get_article(hit.article_id) or CLINTON_STORY).text
    store.close()
