"""Organisations and watched entities: exact, case-aware, explainable matches."""

from __future__ import annotations

import pytest

from crawler.article import Article
from enrich.context import EnrichContext
from enrich.entities import EntityDataError, EntityMatcher, tag_entities
from tests.enrich.conftest import make_article


def entities_of(context: EnrichContext, text: str, title: str = "") -> Article:
    article = make_article(title, text)
    tag_entities(article, context)
    return article


def ids(article: Article) -> set[str]:
    return {e.id for e in article.entities}


def test_seed_organisations_in_english_and_chinese(context: EnrichContext) -> None:
    a = entities_of(
        context,
        "The Chinese People’s Association for Friendship with Foreign "
        "Countries (对外友协) met the US–China Business Council and the "
        "U.S. Conference of Mayors. 中共中央统战部 and 孔子学院.",
    )
    assert ids(a) == {
        "org:cpaffc",
        "org:uscbc",
        "org:us-conference-of-mayors",
        "org:ufwd",
        "org:confucius-institute",
    }
    cpaffc = next(e for e in a.entities if e.id == "org:cpaffc")
    assert (cpaffc.mentions, cpaffc.country, cpaffc.kind) == (2, "CN", "cn_party_state")


def test_acronyms_match_with_their_case_only(context: EnrichContext) -> None:
    assert ids(entities_of(context, "The CPAFFC and the UFWD.")) == {"org:cpaffc", "org:ufwd"}
    assert ids(entities_of(context, "cpaffc ufwd ccp in lowercase")) == set()


def test_word_boundaries(context: EnrichContext) -> None:
    assert ids(entities_of(context, "CCPs and the XCCP are not the party.")) == set()


def test_offsets_into_text_and_title_mentions(context: EnrichContext) -> None:
    text = "She leads the Confucius Institute. The Confucius Institute closed."
    a = entities_of(context, text, title="Confucius Institute closes")
    ci = next(e for e in a.entities if e.id == "org:confucius-institute")
    assert ci.mentions == 3
    assert [text[s:e] for s, e in ci.offsets] == ["Confucius Institute"] * 2


def test_watched_people_and_extra_organisations() -> None:
    matcher = EntityMatcher.load(
        watched=[
            {
                "id": "zhou-zheng",
                "name": "Zhou Zheng",
                "type": "person",
                "aliases": ["周正"],
                "country": "CN",
            },
            {"id": "Kim Norton", "name": "Kim Norton", "type": "person", "country": "US"},
        ],
        extra=[
            {
                "id": "gotion",
                "name": "Gotion High-Tech",
                "country": "CN",
                "kind": "cn_company",
                "aliases": ["Gotion", "国轩高科"],
            }
        ],
    )
    found = matcher.find(
        "Zhou Zheng met Kim Norton; 周正 and Gotion.", "zhou zheng met kim norton; 周正 and gotion."
    )
    assert [(e.id, s) for e, s, _ in found] == [
        ("person:zhou-zheng", 0),
        ("person:kim-norton", 15),
        ("person:zhou-zheng", 27),
        ("org:gotion", 34),
    ]
    assert matcher.ids_for_name("ZHOU zheng") == {"person:zhou-zheng"}
    assert matcher.ids_for_name("对外友协") == {"org:cpaffc"}
    assert matcher.ids_for_name("CPAFFC") == {"org:cpaffc"}
    assert matcher.ids_for_name("nobody") == set()
    # the id as the watchlists file writes it (`entity:zhou-zheng`) names the tagged entity
    assert matcher.ids_for_name("zhou-zheng") == {"person:zhou-zheng"}
    assert matcher.ids_for_name("person:zhou-zheng") == {"person:zhou-zheng"}
    assert matcher.ids_for_name("gotion") == {"org:gotion"}


def test_one_word_alias_must_be_capitalised() -> None:
    matcher = EntityMatcher.load(watched=[], extra=[{"id": "hope", "name": "Hope", "aliases": []}])
    assert [e.id for e, _, _ in matcher.find("Hope", "hope")] == ["org:hope"]
    assert matcher.find("we hope so", "we hope so") == []


@pytest.mark.parametrize(
    "bad",
    [
        {"name": "no id"},
        {"id": "x"},
        {"id": "x", "name": "X", "type": "planet"},
        {"id": "x", "name": "X", "aliases": "not a list"},
    ],
)
def test_malformed_entries_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(EntityDataError):
        EntityMatcher.load(watched=[bad], extra=[])


def test_rerun_replaces_own_entities_and_keeps_places(context: EnrichContext) -> None:
    a = entities_of(context, "The CCP and the CPAFFC.")
    a.entities.insert(0, a.entities[0].__class__(id="country:CN", name="China", type="country"))
    tag_entities(a, context)
    assert [e.id for e in a.entities] == ["country:CN", "org:ccp", "org:cpaffc"]
