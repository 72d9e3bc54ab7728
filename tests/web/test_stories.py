"""Stories on the web page and API: a story's copies fold under it (`<details>`, no script),
`copies=1` lists them all, counts say they are stories, exports carry the story."""

from __future__ import annotations

import csv
import io

import httpx

from tests.web.archive import FixtureArchive

# the fixture archive's story "story-indiana": a lead from indystar and a copy from voa
QUERY = '"renews sister city ties"'


def test_a_story_shows_once_with_its_copy_folded(
    http: httpx.Client, archive: FixtureArchive
) -> None:
    page = http.get("/search", params={"q": QUERY}).text
    assert page.count('class="hit"') == 2  # the query corpus's own article and the story
    assert "<summary>+1 copy</summary>" in page
    details = page[page.index('<details class="copies">') :]
    details = details[: details.index("</details>")]
    assert f'href="/articles/{archive.copy_id}"' in details
    assert "Voice of &lt;b&gt;America&lt;/b&gt;" in details  # crawled markup stays text
    assert "stories (3 articles)" in page
    assert 'href="/search?q=' in page and "copies=1" in page  # the "show every copy" link


def test_copies_1_lists_every_article(http: httpx.Client) -> None:
    page = http.get("/search", params={"q": QUERY, "copies": "1"}).text
    assert page.count('class="hit"') == 3 and "<details" not in page
    assert "<strong>3</strong> articles" in page
    assert 'name="copies" value="1"' in page  # a new query keeps the choice
    assert "group copies by story" in page


def test_api_counts_stories_and_lists_copies(http: httpx.Client, archive: FixtureArchive) -> None:
    grouped = http.get("/api/search", params={"q": QUERY}).json()
    assert (grouped["unit"], grouped["total"], grouped["articles"]) == ("stories", 2, 3)
    story = next(h for h in grouped["hits"] if h["story_id"] == "story-indiana")
    assert story["copy_count"] == 1
    assert [c["id"] for c in story["copies"]] == [archive.copy_id]
    every = http.get("/api/search", params={"q": QUERY, "copies": "1"}).json()
    assert (every["unit"], every["total"], every["articles"]) == ("articles", 3, 3)
    assert len(every["hits"]) == 3
    # two indystar stories (the corpus's and the lead) and the voa copy's story; by article
    # the same: every outlet has one article per story here
    assert dict(grouped["facets"]["source"]) == {"indystar": 2, "voa": 1}
    assert dict(grouped["facets"]["country"])["CN"] == 2  # three articles, two stories
    assert dict(every["facets"]["country"])["CN"] == 3


def test_a_bad_copies_value_is_reported(http: httpx.Client) -> None:
    r = http.get("/api/search", params={"q": QUERY, "copies": "maybe"})
    assert r.status_code == 422  # FastAPI's own answer for a non-boolean
    page = http.get("/search", params={"q": QUERY, "copies": "maybe"}).text
    assert "Ignored copies: must be 1" in page


def test_exports_carry_the_story_and_its_copies(
    http: httpx.Client, archive: FixtureArchive
) -> None:
    rows = list(csv.DictReader(io.StringIO(http.get("/search.csv", params={"q": QUERY}).text)))
    story = next(r for r in rows if r["story_id"] == "story-indiana")
    assert story["copies"] == "1" and len(rows) == 2
    every = http.get("/search.csv", params={"q": QUERY, "copies": "1"}).text
    every_rows = list(csv.DictReader(io.StringIO(every)))
    assert len(every_rows) == 3 and {r["copies"] for r in every_rows} == {""}
    assert archive.copy_id in {r["id"] for r in every_rows}
    lines = http.get("/search.json", params={"q": QUERY}).text.splitlines()
    assert any('"copy_count": 1' in line and '"story-indiana"' in line for line in lines)
