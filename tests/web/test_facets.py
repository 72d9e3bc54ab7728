"""Facets on the web page (issue 18): names with the code on hover, places in their own facet,
an "exclude" link beside each value that becomes a removable `not` chip."""

from __future__ import annotations

import httpx


def _facet(page: str, name: str) -> str:
    section = page[page.index(f'data-facet="{name}"') :]
    return section[: section.index("</section>")]


def test_values_read_as_names_with_the_code_on_hover(http: httpx.Client) -> None:
    page = http.get("/search", params={"q": "sister"}).text
    country = _facet(page, "country")
    assert 'title="country:CN">China</a>' in country
    assert 'title="country:TW">Taiwan</a>' in country
    region = _facet(page, "region")
    assert 'title="region:hubei">Hubei (CN)</a>' in region
    place = _facet(page, "place")
    assert 'title="place:geonames:1806949">Hubei</a>' in place
    assert "entity=geonames%3A1806949" in place  # a place filters as the entity it is
    assert "geonames:" not in _facet(page, "entity")
    api = http.get("/api/search", params={"q": "sister"}).json()
    assert api["facet_labels"]["country"]["TW"] == "Taiwan"
    assert api["facet_labels"]["region"]["hubei"] == "Hubei (CN)"
    assert "place" in api["facets"]


def test_exclude_a_value_and_take_it_back(http: httpx.Client) -> None:
    page = http.get("/search", params={"q": "sister"}).text
    country = _facet(page, "country")
    link = 'href="/search?q=sister&amp;exclude=country%3ATW"'
    assert f'<a class="exclude" {link} title="exclude: -country:TW"' in country
    excluded = http.get("/search", params={"q": "sister", "exclude": "country:TW"}).text
    chip = '<a class="chip not" href="/search?q=sister" title="stop excluding -country:TW">'
    assert chip + "not country: Taiwan ✕</a>" in excluded
    every = http.get("/api/search", params={"q": "sister"}).json()
    without = http.get("/api/search", params={"q": "sister", "exclude": "country:TW"}).json()
    assert 0 < without["total"] < every["total"]
    assert all("TW" not in h["countries"] for h in without["hits"])
    # excluding a value that is a filter drops the filter
    both = http.get("/search", params={"q": "sister", "country": "TW"}).text
    assert 'class="exclude" href="/search?q=sister&amp;exclude=country%3ATW"' in both


def test_excluding_a_place_reads_as_its_name(http: httpx.Client) -> None:
    page = http.get("/search", params={"q": "sister", "exclude": "entity:geonames:1806949"}).text
    assert "not entity: Hubei ✕" in page
    api = http.get("/api/search", params={"q": "sister", "exclude": "entity:geonames:1806949"})
    hits = api.json()["hits"]
    assert hits and all("geonames:1806949" not in {e["id"] for e in h["entities"]} for h in hits)


def test_a_bad_exclusion_is_reported(http: httpx.Client) -> None:
    page = http.get("/search", params={"q": "sister", "exclude": "colour:red"}).text
    assert "Ignored exclude: must be FILTER:VALUE" in page
    api = http.get("/api/search", params={"q": "sister", "exclude": "nocolon"})
    assert api.status_code == 400 and "exclude" in api.json()["problems"][0]
