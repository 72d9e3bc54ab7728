"""The feed's title wins over a generic page title (issue 12)."""

from __future__ import annotations

import pytest

from enrich.extraction import choose_title

FEED = "Carmel council reviews sister-city tie with Xiangyang"


@pytest.mark.parametrize(
    ("page", "site", "expected"),
    [
        ("Google News", "", FEED),  # an aggregator's interstitial
        ("Heartland Ledger", "Heartland Ledger", FEED),  # the site's own name
        ("Carmel council reviews", "", FEED),  # shorter and contained in the feed's title
        ("", "", FEED),
        ("Carmel council reviews sister-city tie with Xiangyang, China", "", None),
        ("A different, longer headline on the same page", "", None),
    ],
)
def test_generic_page_titles_give_way(page: str, site: str, expected: str | None) -> None:
    assert choose_title(page, FEED, site) == (expected or page)


def test_without_a_feed_title_the_page_title_stays() -> None:
    assert choose_title("Google News", "") == "Google News"
