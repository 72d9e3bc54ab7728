"""Relevance: components, caps and bands on short article literals."""

from __future__ import annotations

from collections.abc import Callable

from crawler.article import Article
from enrich.relevance import BANDS, CAPS, WEIGHTS, band


def test_weights_and_caps_are_consistent() -> None:
    assert abs(sum(WEIGHTS.values()) - WEIGHTS["cn_country"] - 1.0) < 1e-9  # max is 1.0
    assert all(cap < BANDS[1][1] for cap in CAPS.values())  # any cap keeps a story low
    assert band(0.7) == "high" and band(0.69) == "medium" and band(0.1) == "low"


def test_local_actor_china_and_exchange_tied_is_high(tag: Callable[..., Article]) -> None:
    a = tag(
        "Iowa governor leads delegation to Hebei",
        "Gov. Kim Reynolds led a trade delegation to Shijiazhuang, Hebei, where Iowa "
        "signed a memorandum of understanding with the provincial government.",
    )
    assert band(a.relevance) == "high", a.relevance_reasons
    assert any("tied in one passage" in r for r in a.relevance_reasons)


def test_national_news_is_capped_low(tag: Callable[..., Article]) -> None:
    a = tag(
        "Tariffs rise",
        "The United States raised tariffs on Chinese goods; Beijing "
        "vowed to retaliate against the investment curbs.",
    )
    assert band(a.relevance) == "low"
    assert any("national news" in r for r in a.relevance_reasons)


def test_china_the_town_is_low(tag: Callable[..., Article]) -> None:
    a = tag(
        "Town meeting",
        "China, Maine, residents approved a bill on solar farms. The "
        "mayor of China said the town would invest in roads.",
    )
    assert band(a.relevance) == "low"
    assert any("no Chinese actor" in r for r in a.relevance_reasons)


def test_taiwan_partner_is_low(tag: Callable[..., Article]) -> None:
    a = tag(
        "Sister city",
        "Phoenix signed a sister-city agreement with Taipei, Taiwan. The "
        "mayor said China had objected.",
    )
    assert band(a.relevance) == "low"
    assert any("partner is elsewhere" in r for r in a.relevance_reasons)


def test_china_only_in_boilerplate_is_low(tag: Callable[..., Article]) -> None:
    body = (
        "The Dayton city council approved a new park and a delegation of residents "
        "thanked the mayor. "
    ) * 8 + "\nRelated: China trade news."
    a = tag("Council approves park", body)
    assert band(a.relevance) == "low"
    assert any("boilerplate" in r for r in a.relevance_reasons)


def test_reasons_explain_the_score(tag: Callable[..., Article]) -> None:
    a = tag("Oxford and Wuhan", "Oxford, Mississippi, signed a sister-city agreement with Wuhan.")
    assert a.relevance_reasons[0].startswith("+0.30 US local actor: Oxford")
    assert 0.0 <= a.relevance <= 1.0
