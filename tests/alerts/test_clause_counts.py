"""The passage around the rarest matched clause (issue 17), rarest by the archive's document
counts: the desk's `land-laws` example, where "Chinese" is everywhere and "farmland" is not.
Real SQLite (its FTS5 index counts), the real matcher with its proper-noun guard, the real
slack-sdk client against the loopback stub."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from alerts.clause_counts import ClauseCounts, watchlist_clauses
from alerts.message import render_story
from alerts.outbox import Outbox
from alerts.sinks import SlackSink
from alerts.watchlist import Watchlist, WatchlistSet
from crawler.article import Entity
from crawler.records import Alert, MatchedTerm
from crawler.storage import Store
from tests.alerts.helpers import ingest, make_article
from tests.slack_stub import SlackStub

CLINTON = Entity("person:bill-clinton", "Bill Clinton", "person", "US")
# the demo's land-laws watchlist (demo/watchlists.yaml)
LAND_LAWS = Watchlist(
    name="land-laws",
    query="(bill OR law OR 法案) AND (land OR farmland) AND Chinese",
    channel="#land",
)
# The archive: "Chinese" in every article, "law" in ten, "farmland" in two, "bill" in one.
ARCHIVE = (
    [f"Chinese trade delegation number {i} visited the state." for i in range(30)]
    + [f"The law on Chinese imports, part {i}." for i in range(10)]
    + ["Chinese buyers and Iowa farmland.", "Farmland prices in Ohio."]
    + ["A bill on roads."]
)
# The article: "Chinese" once in the lead, "law" once, "farmland" twice further on, and the
# name "Bill Clinton" mid-sentence. By the text alone "Chinese" looks as rare as "law" and
# longer; by the archive "farmland" is the rarest matched clause ("bill", rarer still, is
# only in the name, which the proper-noun guard sets aside).
TEXT = (
    "Chinese investors were in the news again on Monday, the county said. "
    "Former president Bill Clinton once spoke at the same fairground, the paper noted. "
    "The weather was mild and the fair drew a crowd of several thousand visitors. "
    "Vendors sold sweet corn, pies and lemonade until late in the evening. "
    "Lawmakers in Des Moines then filed a law to stop foreign buyers from acquiring farmland "
    "near military bases. Farmland near the base sold for a record price last year."
)
# what the archive above counts (checked in the first test)
COUNTS = {"Chinese": 41, "law": 10, "farmland": 2, "bill": 1}
FARMLAND_SENTENCE = "filed a *law* to stop foreign buyers from acquiring *farmland*"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A SQLite store: the counts come from its FTS5 index. A Postgres store has none and
    counts nothing (`test_a_store_without_full_text_counts_nothing`)."""
    with Store(tmp_path / "watchdesk.db") as s:
        yield s


def test_a_store_without_full_text_counts_nothing(postgres_store: str) -> None:
    with Store(postgres_store) as pg:
        archive(pg)
        assert pg.text_match_counts(watchlist_clauses(WatchlistSet([LAND_LAWS], [])).values()) == {}
        # so the passage falls back on the text's own ranking, and the alert still goes out
        assert ClauseCounts(pg).counts(WatchlistSet([LAND_LAWS], [])) == {}


def archive(store: Store) -> None:
    for i, text in enumerate(ARCHIVE):
        assert store.save_article(make_article(100 + i, f"Archive story {i}", text, source="arc"))


def story() -> Alert:
    return Alert(watchlist="land-laws", article_id="a", channel="#land")


def passage(message: dict[str, object]) -> str:
    blocks = message["blocks"]
    assert isinstance(blocks, list)
    return str(blocks[2]["text"]["text"])


def test_clauses_are_counted_by_document_frequency_once_per_watchlist_set(store: Store) -> None:
    archive(store)
    watchlists = WatchlistSet([LAND_LAWS], [])
    assert set(watchlist_clauses(watchlists)) == {
        "bill",
        "law",
        "法案",
        "land",
        "farmland",
        "Chinese",
    }
    clock = [0.0]
    counts = ClauseCounts(store, refresh=3600, clock=lambda: clock[0])
    got = counts.counts(watchlists)
    assert {k: got.get(k) for k in ("Chinese", "law", "farmland", "bill", "land")} == {
        "Chinese": 41,
        "law": 10,
        "farmland": 2,
        "bill": 1,
        "land": 0,  # a word, not a prefix: "farmland" is not "land"
    }
    # cached: more articles change nothing until the hour is up or the watchlists change
    store.save_article(make_article(999, "More farmland", "Farmland again.", source="arc"))
    assert counts.counts(watchlists)["farmland"] == 2
    clock[0] = 3601.0
    assert counts.counts(watchlists)["farmland"] == 3
    store.save_article(make_article(998, "Even more farmland", "Farmland.", source="arc"))
    reloaded = WatchlistSet([LAND_LAWS], [])  # what a reload swaps in
    assert counts.counts(reloaded)["farmland"] == 4


def test_the_passage_is_around_the_rarest_clause_in_the_archive_not_the_commonest(
    store: Store, stub: SlackStub
) -> None:
    archive(store)
    article = make_article(1, "Iowa lawmakers move on land sales", TEXT)
    article.entities = [*article.entities, CLINTON]
    watchlists = WatchlistSet([LAND_LAWS], [])
    assert ingest(store, watchlists, article) == 1
    [alert] = store.list_alerts()
    matched = [article.text[s:e] for _, field, s, e in alert.payload["terms"] if field == "text"]
    assert "Bill" not in matched  # the proper-noun guard: the name is not the word `bill`

    sink = SlackSink(stub.token, stub.base_url, timeout=2)
    outbox = Outbox(store, sink, watchlists, pace=0.0)
    assert outbox.deliver_due().delivered == 1
    [post] = stub.messages()
    shown = post.blocks[2]["text"]["text"]  # type: ignore[index]
    assert FARMLAND_SENTENCE in shown
    assert "Clinton" not in shown and "Chinese" not in shown


def test_without_counts_the_text_alone_decides() -> None:
    """The fallback (no archive counts, or none for these clauses): the clause the text
    repeats least, then the longer one: here "Chinese", the lead."""
    article = make_article(1, "Iowa lawmakers move on land sales", TEXT)
    terms = [
        MatchedTerm(word, "text", TEXT.index(word), TEXT.index(word) + len(word))
        for word in ("Chinese", "law", "farmland")
    ]
    farmland2 = TEXT.index("Farmland near")
    terms.append(MatchedTerm("farmland", "text", farmland2, farmland2 + len("Farmland")))
    watchlist = LAND_LAWS
    assert passage(render_story(story(), article, watchlist, terms)).startswith(
        "*Chinese* investors"
    )
    assert passage(render_story(story(), article, watchlist, terms, clause_counts={})).startswith(
        "*Chinese* investors"
    )
    counted = COUNTS
    assert FARMLAND_SENTENCE in passage(
        render_story(story(), article, watchlist, terms, clause_counts=counted)
    )
    # a clause without a count ranks after the counted ones
    assert FARMLAND_SENTENCE in passage(
        render_story(story(), article, watchlist, terms, clause_counts={"farmland": 2})
    )


def test_a_name_the_guard_set_aside_would_have_taken_the_passage() -> None:
    """Why the guard matters here: had "Bill" of Bill Clinton counted as the clause `bill`
    (the rarest in the archive), the passage would be about Clinton."""
    article = make_article(1, "Iowa lawmakers move on land sales", TEXT)
    bill = TEXT.index("Bill")
    farmland = TEXT.index("farmland")
    terms = [
        MatchedTerm("bill", "text", bill, bill + 4),
        MatchedTerm("farmland", "text", farmland, farmland + 8),
    ]
    shown = passage(render_story(story(), article, LAND_LAWS, terms, clause_counts=COUNTS))
    assert "*Bill* Clinton" in shown and FARMLAND_SENTENCE not in shown
