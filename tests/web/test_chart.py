"""The attention chart page (`/chart`) and its CSV (`/chart.csv`) over a real store, served by
uvicorn on 127.0.0.1: stories per day/week as server-side SVG, labels escaped, CSP unchanged."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from defusedxml import ElementTree

from tests.search.attention_corpus import FIRST, LAST, build_store, expected
from tests.web.conftest import running
from watchdesk.service.config import load_config
from watchdesk.web import create_app
from watchdesk.web.desk import Desk
from watchdesk.web.security import CSP

SVG = "{http://www.w3.org/2000/svg}"
SISTER = '"sister city"'
TRADE = '"trade mission"'
HOSTILE = '"sister city" OR "<script>alert(1)</script>" OR R&D'
WINDOW = {"since": FIRST.isoformat(), "until": LAST.isoformat()}


@pytest.fixture(scope="module")
def http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    loaded = load_config(build_store(tmp_path_factory.mktemp("chart")))
    desk = Desk.open(loaded)
    desk.clock = lambda: datetime(LAST.year, LAST.month, LAST.day, 12, tzinfo=UTC)
    with running(create_app(loaded, desk=desk)) as base, httpx.Client(base_url=base) as client:
        yield client
    desk.close()


def _svg(html: str) -> ElementTree.Element:
    match = re.search(r"<svg .*?</svg>", html, re.DOTALL)
    assert match, "no SVG in the page"
    return ElementTree.fromstring(match.group(0))


def test_two_queries_two_lines(http: httpx.Client) -> None:
    page = http.get("/chart", params={"q": [SISTER, TRADE], **WINDOW})
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["content-security-policy"] == CSP
    svg = _svg(page.text)
    paths = svg.findall(f"{SVG}path")
    assert len(paths) == 2
    assert [p.findtext(f"{SVG}title") for p in paths] == [SISTER, TRADE]
    legend = [t.text for t in svg.iter(f"{SVG}text") if t.text and '"' in t.text]
    assert legend == [SISTER, TRADE]
    # one marker per day per line, each telling its count: the embedded archive's stories
    tips = [c.findtext(f"{SVG}title") or "" for c in svg.iter(f"{SVG}circle")]
    assert len(tips) == 2 * 60
    want = expected("sister city", "day")
    day = LAST - timedelta(days=9)  # two stories: its own and day 10's late copy
    assert f"{SISTER} · {day}: 2 stories" in tips
    counted = {
        t.split(" · ")[1].split(":")[0]: int(t.rsplit(": ", 1)[1].split()[0]) for t in tips[:60]
    }
    assert {d: n for d, n in counted.items() if n} == {d.isoformat(): n for d, n in want.items()}


def test_labels_are_escaped(http: httpx.Client) -> None:
    page = http.get("/chart", params={"q": HOSTILE, **WINDOW})
    assert page.status_code == 200
    assert "<script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text and "R&amp;D" in page.text
    svg = _svg(page.text)  # parses as XML: every & is an entity
    assert svg.find(f"{SVG}path").findtext(f"{SVG}title") == HOSTILE  # type: ignore[union-attr]


def test_by_week(http: httpx.Client) -> None:
    page = http.get("/chart", params={"q": SISTER, "interval": "week", **WINDOW})
    assert page.status_code == 200
    tips = [c.findtext(f"{SVG}title") or "" for c in _svg(page.text).iter(f"{SVG}circle")]
    want = expected("sister city", "week")
    assert len(tips) == len(want)  # every week of the window has stories
    for monday, n in want.items():
        assert f"{SISTER} · week of {monday}: {n} stories" in tips


def test_the_csv_of_the_series(http: httpx.Client) -> None:
    resp = http.get("/chart.csv", params={"q": [SISTER, "-taiwan"], **WINDOW})
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(resp.text)))
    assert rows[0] == ["day", SISTER, "'-taiwan"]  # a label a spreadsheet would run is text
    assert len(rows) == 1 + 60
    assert [r[0] for r in rows[1:]] == [(FIRST + timedelta(days=i)).isoformat() for i in range(60)]
    want = expected("sister city", "day")
    assert {r[0]: int(r[1]) for r in rows[1:] if int(r[1])} == {
        d.isoformat(): n for d, n in want.items()
    }
    weekly = http.get("/chart.csv", params={"q": SISTER, "interval": "week", **WINDOW})
    rows = list(csv.reader(io.StringIO(weekly.text)))
    assert rows[0] == ["week", SISTER] and len(rows) == 1 + len(expected("sister city", "week"))


def test_spans_like_the_command_line(http: httpx.Client) -> None:
    # `since=7d` from the desk's today (LAST): eight days, today included
    rows = list(
        csv.reader(io.StringIO(http.get("/chart.csv", params={"q": SISTER, "since": "7d"}).text))
    )
    assert [r[0] for r in rows[1:]] == [
        (LAST - timedelta(days=7 - i)).isoformat() for i in range(8)
    ]


def test_bad_input_is_named(http: httpx.Client) -> None:
    bad = http.get("/chart", params={"q": [SISTER, "mayor AND ("]})
    assert bad.status_code == 400
    assert "Bad query at position" in bad.text and "mayor AND (" in bad.text
    assert http.get("/chart.csv", params={"q": "mayor AND ("}).status_code == 400
    many = http.get("/chart", params={"q": [f"word{i}" for i in range(7)], **WINDOW})
    assert many.status_code == 200
    assert "at most 5 queries" in many.text
    assert len(_svg(many.text).findall(f"{SVG}path")) == 5
    odd = http.get("/chart", params={"q": SISTER, "interval": "month", "since": "soon"})
    assert odd.status_code == 200
    assert "interval: must be one of day, week" in odd.text and "since: &#39;soon&#39;" in odd.text


def test_the_search_page_links_to_its_chart(http: httpx.Client) -> None:
    page = http.get("/search", params={"q": SISTER, "source": "wire"})
    link = re.search(r'href="(/chart\?[^"]+)">chart this query<', page.text)
    assert link, "no chart link"
    chart = http.get(link.group(1).replace("&amp;", "&"))
    assert chart.status_code == 200
    assert "source: wire" in chart.text  # the search's filters apply to the chart
