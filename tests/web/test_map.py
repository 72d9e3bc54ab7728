"""Places on a map: the shipped base map, the counts of a result set (stories, not copies), the
SVG (each expected state and province, the pairs as lines, names escaped) and the page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from defusedxml import ElementTree

from crawler.article import Article, Entity
from crawler.storage import Store
from tests.web.conftest import running
from watchdesk.service.config import load_config
from watchdesk.web import create_app
from watchdesk.web.basemap import DATA, load
from watchdesk.web.mapview import map_svg, pair_rows, places_of
from watchdesk.web.security import CSP

SVG = "{http://www.w3.org/2000/svg}"
INDIANA = Entity("geonames:4921868", "Indiana", "place", "US", "Indiana", 40.0, -86.3)
INDY = Entity("geonames:4259418", "Indianapolis", "place", "US", "Indiana", 39.77, -86.16)
ZHEJIANG = Entity("iso3166-2:CN-ZJ", "Zhejiang", "place", "CN", "Zhejiang", 29.2, 120.5)
HANGZHOU = Entity("geonames:1808926", "杭州", "place", "CN", "Zhejiang", 30.29, 120.16)
OHIO = Entity("geonames:5165418", "Ohio", "place", "US", "Ohio", 40.25, -83.0)
TIBET = Entity("iso3166-2:CN-XZ", "Tibet", "place", "CN", "Tibet", 31.0, 88.0)
HOSTILE = Entity("place:oh-x", "<script>x</script> & Town", "place", "US", "Ohio", 40.1, -82.9)
TAIPEI = Entity("geonames:1668341", "Taipei", "place", "TW", "Taipei", 25.05, 121.53)


def _article(n: int, *places: Entity, story: str | None = None) -> Article:
    url = f"https://ledger.example/{n}"
    a = Article(url=url, canonical_url=url, source="ledger")
    a.title, a.text, a.language = f"Sister city story {n}", f"A sister city story, {n}.", "en"
    a.published = a.fetched = datetime(2026, 3, n + 1, 12, tzinfo=UTC)
    a.entities, a.cluster_id = list(places), story
    return a


ARTICLES = [
    # one story in three copies: Indiana ↔ Zhejiang counts once
    _article(0, INDIANA, INDY, ZHEJIANG, story="s1"),
    _article(1, INDY, HANGZHOU, story="s1"),
    _article(2, INDIANA, ZHEJIANG, story="s1"),
    _article(3, OHIO, ZHEJIANG, TIBET),
    _article(4, HOSTILE, TAIPEI),
    _article(5, INDIANA, HANGZHOU),
]


def test_the_shipped_base_map() -> None:
    base = load()
    assert len([r for r in base.regions if r.country == "US"]) == 51  # the states and DC
    assert len([r for r in base.regions if r.country == "CN"]) == 31
    assert DATA.stat().st_size < 300_000
    assert (DATA.parent / "README.md").read_text().count("public domain") >= 1
    assert "Natural Earth" in base.source
    # the gazetteer's names (Entity.region) and the aliases both find their region
    for country, name, code in [
        ("US", "Indiana", "US-IN"),
        ("US", "District of Columbia", "US-DC"),
        ("CN", "Inner Mongolia", "CN-NM"),
        ("CN", "Tibet", "CN-XZ"),
        ("CN", "Xizang", "CN-XZ"),
        ("CN", "浙江省", "CN-ZJ"),
        ("cn", "zhejiang", "CN-ZJ"),
    ]:
        region = base.region(country, name)
        assert region is not None and region.code == code, name
    assert base.region("TW", "Taipei") is None and base.region("US", None) is None


def test_every_region_the_gazetteer_gives_is_on_the_map() -> None:
    from enrich.gazetteer import build_gazetteer_data

    base = load()
    regions = {(p.country, p.region) for p in build_gazetteer_data().places if p.region}
    missing = [
        f"{c}: {r}"
        for c, r in sorted(regions)  # type: ignore[type-var]
        if c in ("US", "CN") and base.region(c, r) is None
    ]
    # the SARs have no admin-1 polygon at 1:50m; the territories are not states
    assert missing == [
        "CN: Hong Kong",
        "CN: Macau",
        "US: American Samoa",
        "US: Guam",
        "US: Northern Mariana Islands",
        "US: Puerto Rico",
        "US: Virgin Islands",
    ]


def test_stories_not_copies() -> None:
    counts = places_of(ARTICLES)
    assert counts.stories == 4  # s1, the Ohio story, the Ohio town's, the second Indiana one
    assert counts.regions["US-IN"] == 2 and counts.regions["CN-ZJ"] == 3
    assert counts.regions["US-OH"] == 2 and counts.regions["CN-XZ"] == 1
    assert pair_rows(counts) == [
        ("Indiana", "Zhejiang", 2),
        ("Ohio", "Tibet", 1),
        ("Ohio", "Zhejiang", 1),
    ]
    assert counts.places["geonames:4259418"].stories == 1  # Indianapolis: one story, 2 copies
    assert "geonames:1668341" not in counts.places  # Taiwan is not on this map


def test_the_svg() -> None:
    svg = ElementTree.fromstring(str(map_svg(places_of(ARTICLES))))
    regions = {p.get("data-code"): p for p in svg.iter(f"{SVG}path")}
    assert len(regions) == 82
    titles = {code: p.findtext(f"{SVG}title") for code, p in regions.items()}
    assert titles["US-IN"] == "Indiana: 2 stories"
    assert titles["CN-ZJ"] == "Zhejiang: 3 stories"
    assert titles["CN-XZ"] == "Tibet: 1 story"
    assert titles["CN-GD"] == "Guangdong: 0 stories"
    assert regions["CN-GD"].get("fill") != regions["CN-ZJ"].get("fill")
    lines = [ln.findtext(f"{SVG}title") for ln in svg.iter(f"{SVG}line")]
    assert lines == [
        "Indiana ↔ Zhejiang: 2 stories",
        "Ohio ↔ Tibet: 1 story",
        "Ohio ↔ Zhejiang: 1 story",
    ]
    widths = [float(ln.get("stroke-width", 0)) for ln in svg.iter(f"{SVG}line")]
    assert widths[0] > widths[1]
    places = [c.findtext(f"{SVG}title") for c in svg.iter(f"{SVG}circle")]
    assert "<script>x</script> & Town (Ohio): 1 story" in places  # parsed back from escapes
    assert "杭州 (Zhejiang): 2 stories" in places
    assert "<script>" not in str(map_svg(places_of(ARTICLES)))


@pytest.fixture(scope="module")
def http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    folder = Path(tmp_path_factory.mktemp("map"))
    (folder / "watchdesk.yaml").write_text("store: {path: store.db}\n", encoding="utf-8")
    with Store(folder / "store.db") as store:
        for article in ARTICLES:
            store.save_article(article)
    app = create_app(load_config(folder / "watchdesk.yaml"))
    with running(app) as base, httpx.Client(base_url=base) as client:
        yield client


def test_the_page(http: httpx.Client) -> None:
    page = http.get("/map", params={"q": '"sister city"'})
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["content-security-policy"] == CSP
    svg = re.search(r"<svg .*?</svg>", page.text, re.DOTALL)
    assert svg and len(ElementTree.fromstring(svg.group(0)).findall(f"{SVG}line")) == 3
    assert "<strong>4</strong> stories naming a US state or a Chinese province" in page.text
    assert "<td>Indiana</td><td>↔</td><td>Zhejiang</td><td>2</td>" in page.text
    assert "&lt;script&gt;x&lt;/script&gt; &amp; Town" in page.text
    narrowed = http.get("/map", params={"q": '"sister city"', "region": "Tibet"})
    assert "<strong>1</strong> story naming" in narrowed.text
    assert http.get("/map", params={"q": "sister AND ("}).status_code == 400
    # the search page links to it with its state
    search = http.get("/search", params={"q": "sister"})
    assert '<a href="/map?q=sister">map</a>' in search.text
