"""The search page's URL state: parsing, links that change one thing, the archive request."""

from __future__ import annotations

from datetime import date
from urllib.parse import parse_qs, urlsplit

from watchdesk.web.state import MAX_PAGE, SearchState


def parse(query: str) -> tuple[SearchState, list[str]]:
    return SearchState.from_params(parse_qs(query, keep_blank_values=True))


def test_round_trip_of_every_parameter() -> None:
    query = (
        "q=%22sister+city%22&source=voa&source=scmp&label=state_media&country=CN&region=hubei&event=sister_city"
        "&entity=org%3Acpaffc&language=en&since=2024-01-01&until=2024-06-30&sort=date&page=3"
    )
    state, problems = parse(query)
    assert problems == []
    again, _ = parse(urlsplit(state.url()).query)
    assert again == state
    req = state.request(limit=20)
    assert req.query == '"sister city"'
    assert list(req.sources) == ["voa", "scmp"] and list(req.entities) == ["org:cpaffc"]
    assert list(req.labels) == ["state_media"]
    assert req.since == date(2024, 1, 1) and req.until == date(2024, 6, 30)
    assert (req.sort, req.offset, req.limit, req.facets, req.histogram) == (
        "date",
        40,
        20,
        True,
        True,
    )


def test_toggle_adds_and_removes_a_facet_value_and_resets_the_page() -> None:
    state, _ = parse("q=wuhan&country=CN&page=4")
    added, _ = parse(urlsplit(state.toggle("country", "US")).query)
    assert added.filters["country"] == ("CN", "US") and added.page == 1
    removed, _ = parse(urlsplit(state.toggle("country", "CN")).query)
    assert "country" not in removed.filters and removed.q == "wuhan"


def test_bad_values_are_dropped_with_a_message_naming_the_parameter() -> None:
    state, problems = parse(
        f"since=yesterday&sort=bogus&min_relevance=2&page={MAX_PAGE + 1}&until=2024-02-30"
    )
    assert (state.since, state.until, state.sort, state.page) == ("", "", "best", 1)
    assert state.min_relevance is None
    assert [p.split(":")[0] for p in problems] == [
        "since",
        "until",
        "sort",
        "min_relevance",
        "page",
    ]


def test_sorts_and_the_relevance_floor_round_trip() -> None:
    state, problems = parse("q=china&sort=text&min_relevance=0.5")
    assert not problems and (state.sort, state.min_relevance) == ("text", 0.5)
    assert state.url() == "/search?q=china&min_relevance=0.5&sort=text"
    request = state.request()
    assert (request.sort, request.min_relevance) == ("text", 0.5)
    # links written before the sorts were named: `relevance` was the default ranking
    old, problems = parse("q=china&sort=relevance")
    assert not problems and old.sort == "best" and old.url() == "/search?q=china"


def test_empty_state_links_to_the_bare_page() -> None:
    state, _ = parse("")
    assert state.is_empty and state.url() == "/search"
