"""Place tagging: gazetteer coverage, context rules, offsets and load/tag speed."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from crawler.article import Article, Entity
from enrich.context import EnrichContext
from enrich.places import Gazetteer, tag_places
from tests.enrich.conftest import make_article


def places_of(context: EnrichContext, title: str, text: str) -> Article:
    article = make_article(title, text)
    tag_places(article, context)
    return article


def by_name(article: Article, name: str) -> Entity:
    return next(e for e in article.entities if e.name == name)


def test_countries_and_stand_ins(context: EnrichContext) -> None:
    a = places_of(
        context,
        "",
        "The PRC and the U.S. talked. The People's Republic of China, "
        "美国 and 中国. Chinese investors came to America.",
    )
    assert a.countries == ["CN", "US"]
    assert by_name(a, "China").mentions == 4  # PRC, People's Republic of China, 中国, Chinese
    assert by_name(a, "United States").mentions == 3  # U.S., 美国, America


def test_lowercase_china_and_us_are_not_places(context: EnrichContext) -> None:
    a = places_of(context, "", "Let us buy fine china for the dinner.")
    assert a.entities == [] and a.countries == []


def test_us_state_and_city_carry_region_coordinates_and_ids(context: EnrichContext) -> None:
    a = places_of(context, "", "Officials from Mississippi met the mayor of Houston.")
    ms, houston = by_name(a, "Mississippi"), by_name(a, "Houston")
    assert (ms.kind, ms.country, ms.region, ms.id) == (
        "state",
        "US",
        "Mississippi",
        "geonames:4436296",
    )
    assert ms.lat is not None and 31 < ms.lat < 35
    assert (houston.kind, houston.region) == ("city", "Texas")
    assert houston.id.startswith("geonames:")


def test_chinese_provinces_cities_and_sars(context: EnrichContext) -> None:
    a = places_of(context, "", "Delegates from Hubei Province, Wuhan, Hong Kong and Macau.")
    hubei = by_name(a, "Hubei")
    assert (hubei.kind, hubei.country, hubei.id) == ("province", "CN", "iso3166-2:CN-HB")
    assert by_name(a, "Wuhan").region == "Hubei"
    hk = by_name(a, "Hong Kong")
    assert (hk.country, hk.region, hk.kind) == ("CN", "Hong Kong", "sar")


def test_chinese_script_traditional_and_simplified(context: EnrichContext) -> None:
    a = places_of(context, "", "湖北省与密西西比州。武漢市和武汉。湖北")
    assert by_name(a, "Hubei").mentions == 2
    assert by_name(a, "Wuhan").mentions == 2  # 武漢 folds to 武汉
    assert by_name(a, "Mississippi").kind == "state"


def test_taiwan_is_tw(context: EnrichContext) -> None:
    a = places_of(context, "", "Taichung and Kaohsiung, Taiwan; 臺中市 and 台北.")
    assert a.countries == ["TW"]
    assert by_name(a, "Taichung").mentions == 2


@pytest.mark.parametrize(
    ("text", "name", "region"),
    [
        ("She grew up in Oxford, Mississippi.", "Oxford", "Mississippi"),
        ("The Carmel, Indiana council met.", "Carmel", "Indiana"),
        ("Canton, Ohio approved the plant.", "Canton", "Ohio"),
        (
            "Rochester, a town of about 120,000 people in southern Minnesota, voted.",
            "Rochester",
            "Minnesota",
        ),
        ("OXFORD, Miss. — The board met.", "Oxford", "Mississippi"),
        ("The mayor of Rochester, MN said so.", "Rochester", "Minnesota"),
        ("Canton (Ohio) officials", "Canton", "Ohio"),
    ],
)
def test_context_resolves_us_places(
    context: EnrichContext, text: str, name: str, region: str
) -> None:
    a = places_of(context, "", text)
    assert by_name(a, name).region == region
    assert "CN" not in a.countries


def test_china_maine_is_the_town_not_the_country(context: EnrichContext) -> None:
    a = places_of(context, "", "China, Maine, held its town meeting. China voters agreed.")
    china = by_name(a, "China")
    assert (china.country, china.region, china.mentions) == ("US", "Maine", 2)
    assert a.countries == ["US"]


def test_towns_missing_from_the_gazetteer(context: EnrichContext) -> None:
    a = places_of(context, "", "Peking, Illinois and Shanghai, West Virginia are small.")
    ids = {e.id for e in a.entities}
    assert {"place:us-il-peking", "place:us-wv-shanghai"} <= ids
    shanghai = next(e for e in a.entities if e.id == "place:us-wv-shanghai")
    assert (shanghai.region, shanghai.kind, shanghai.lat) == ("West Virginia", "town", None)
    assert "CN" not in a.countries


def test_a_list_of_places_is_not_a_town(context: EnrichContext) -> None:
    a = places_of(context, "", "Trade between China, Ohio and Michigan grew.")
    assert "CN" in a.countries
    assert not any(e.id.startswith("place:") for e in a.entities)


def test_old_romanisations(context: EnrichContext) -> None:
    a = places_of(context, "", "Canton, Peking and Nanking were treaty ports.")
    assert {e.name for e in a.entities if e.type == "place"} == {"Guangzhou", "Beijing", "Nanjing"}


def test_washington_is_the_government_unless_the_state_is_meant(
    context: EnrichContext,
) -> None:
    a = places_of(context, "", "Washington is wary of Beijing.")
    assert [e.id for e in a.entities] == ["country:US", "country:CN"]
    b = places_of(context, "", "Washington state and Spokane, Washington signed.")
    state = by_name(b, "Washington")
    assert (state.kind, state.mentions) == ("state", 2)
    c = places_of(context, "", "WASHINGTON, D.C. - Senators wrote.")
    assert by_name(c, "Washington").region == "District of Columbia"


def test_beijing_the_city_and_beijing_the_government(context: EnrichContext) -> None:
    a = places_of(context, "", "Beijing sees a threat. He flew to Beijing. Beijing's plan.")
    city = by_name(a, "Beijing")
    assert (city.kind, city.mentions) == ("municipality", 1)
    assert by_name(a, "China").mentions == 2


@pytest.mark.parametrize("word", ["Georgia", "Jersey", "Oxford", "Rochester"])
def test_ambiguous_names_alone_are_not_tagged(context: EnrichContext, word: str) -> None:
    a = places_of(context, "", f"{word} was mentioned once.")
    assert a.entities == []


def test_georgia_is_the_state_among_us_places(context: EnrichContext) -> None:
    a = places_of(context, "", "Lawmakers in Atlanta said Georgia would act.")
    assert by_name(a, "Georgia").kind == "state"


@pytest.mark.parametrize(
    "text",
    [
        "Mobile phones are banned.",
        "Independence Day parade.",
        "Normal business resumed.",
        "Surprise visit by Liberty staff.",
        "Paul Allen and Sam Houston were there.",
    ],
)
def test_common_words_and_names_are_not_places(context: EnrichContext, text: str) -> None:
    a = places_of(context, "", text)
    assert a.entities == []


def test_common_word_with_its_state_is_a_place(context: EnrichContext) -> None:
    a = places_of(context, "", "A new port in Mobile, Alabama.")
    assert by_name(a, "Mobile").region == "Alabama"


def test_offsets_point_into_the_text_and_title_mentions_have_none(
    context: EnrichContext,
) -> None:
    text = "Wuhan officials came. Later, in Wuhan, more."
    a = places_of(context, "Wuhan delegation", text)
    wuhan = by_name(a, "Wuhan")
    assert wuhan.mentions == 3
    assert [text[s:e] for s, e in wuhan.offsets] == ["Wuhan", "Wuhan"]


def test_offsets_are_capped(context: EnrichContext) -> None:
    a = places_of(context, "", "Wuhan. " * 30)
    wuhan = by_name(a, "Wuhan")
    assert (wuhan.mentions, len(wuhan.offsets)) == (30, 10)


def test_tagging_twice_gives_the_same_entities(context: EnrichContext) -> None:
    a = places_of(context, "", "Oxford, Mississippi and Wuhan.")
    first = [e.to_dict() for e in a.entities]
    tag_places(a, context)
    assert [e.to_dict() for e in a.entities] == first


def test_gazetteer_loads_within_budget() -> None:
    # budget from the brief: < 2 s once per process; measured 1.35-1.4 s of CPU on the dev
    # machine, up to 2.1 s when its 2 cores are shared with other jobs. The gate is twice the
    # budget: it catches a regression (a json.load of the 60 MB dump costs 2.5 s more), not
    # noise; benchmarks/enrichment_tagging.py reports the real figure.
    started = time.process_time()
    Gazetteer.load()
    assert time.process_time() - started < 4.0


def test_tagging_is_fast(context: EnrichContext, tag: Callable[..., Article]) -> None:
    text = (
        "Officials from Oxford, Mississippi met a delegation from Wuhan, Hubei, to discuss "
        "a sister-city agreement and a Chinese battery factory. "
    ) * 40  # ~5 KB
    article = make_article("Mayors visit China", text)
    started = time.process_time()
    for _ in range(50):
        tag_places(article, context)
    per_article = (time.process_time() - started) / 50
    # brief: well over 200 articles/s for all four steps; places measured 2.4 ms on this dense
    # text (a place every 60 characters), 5.5 ms on a busy machine; the gate (10 ms) catches a
    # regression such as one regex per name, not noise
    assert per_article < 0.010
