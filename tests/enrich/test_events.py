"""Exchange kinds: cue phrases, their guards, and the evidence kept."""

from __future__ import annotations

import pytest

from crawler.article import Article
from enrich.context import EnrichContext
from enrich.events import classify_events, evidence_snippet
from enrich.places import tag_places
from tests.enrich.conftest import make_article


def events_of(context: EnrichContext, text: str, title: str = "") -> Article:
    article = make_article(title, text)
    tag_places(article, context)  # `before_place` cues read the places
    classify_events(article, context)
    return article


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("The city signed a sister-city agreement.", "sister_city"),
        ("湖北省与密西西比州结为友好省州。", "sister_city"),
        ("A trade delegation arrived.", "delegation"),
        ("The governor visited China last year.", "delegation"),
        ("They signed a memorandum of understanding.", "agreement"),
        ("双方签署谅解备忘录。", "agreement"),
        ("A $2 billion factory with tax incentives.", "investment"),
        ("The Confucius Institute hosts exchange students.", "education"),
        ("The bill would restrict Chinese land purchases.", "legislation"),
        ("Experts warned of united front work and espionage.", "influence"),
        ("The council terminated the sister-city relationship.", "termination"),
        ("学校宣布关闭孔子学院。", "termination"),
    ],
)
def test_cues(context: EnrichContext, text: str, label: str) -> None:
    assert label in events_of(context, text).events


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Bill Clinton visited Arkansas.", "legislation"),  # a name, not a bill
        ("Ban Ki-moon spoke.", "legislation"),  # a name, not a ban
        ("She bought bananas at the bank.", "legislation"),  # "ban" inside words
        ("Water the plant twice a week in the garden.", "investment"),  # gardening
        ("The road was closed for repairs.", "termination"),  # not a tie
        ("She visited the dentist on Tuesday.", "delegation"),  # no place after the visit
        ("The law enforcement officers arrived.", "legislation"),
        ("Talks were held behind closed doors, closed-door meetings.", "termination"),
        ("He withdrew his candidacy.", "termination"),
    ],
)
def test_guards_keep_false_positives_out(context: EnrichContext, text: str, label: str) -> None:
    assert label not in events_of(context, text).events


def test_several_labels_sorted_with_evidence(context: EnrichContext) -> None:
    a = events_of(
        context,
        "Carmel suspended its sister-city ties with Xiangyang after a "
        "state bill targeted Chinese investment.",
        title="Carmel suspends sister city",
    )
    assert a.events == ["investment", "legislation", "sister_city", "termination"]
    assert list(a.evidence) == a.events
    assert any("sister-city" in s for s in a.evidence["sister_city"])
    assert all(len(s) <= 120 for snippets in a.evidence.values() for s in snippets)


def test_evidence_is_capped_and_unique(context: EnrichContext) -> None:
    a = events_of(context, " ".join(f"Delegation number {i} came." for i in range(10)))
    assert len(a.evidence["delegation"]) == 3


def test_evidence_snippet_cuts_to_words() -> None:
    text = "alpha beta gamma delta sister city epsilon zeta eta theta iota kappa lambda mu"
    start = text.index("sister city")
    snippet = evidence_snippet(text, start, start + len("sister city"))
    assert snippet.startswith("alpha") and "sister city" in snippet
    assert not snippet.endswith(" ")
