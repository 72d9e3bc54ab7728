"""The web page over real HTTP (uvicorn on 127.0.0.1): pages, the JSON API, exports, metrics,
the security headers and the token check."""

from __future__ import annotations

import csv
import html
import io
import json
import re

import httpx
import pytest

from alerts.backtest import backtest
from crawler.query import QueryError, parse_query
from crawler.search.export import CSV_COLUMNS
from crawler.storage import Store
from tests.web.archive import XSS_TITLE, FixtureArchive
from tests.web.conftest import LiveServer, running
from watchdesk.web import create_app
from watchdesk.web.security import CSP

PAGES = ["/", "/search?q=sister", "/watchlists", "/sources", "/alerts"]


def _store(archive: FixtureArchive) -> Store:
    return Store(archive.loaded.store_path)


@pytest.mark.parametrize("path", PAGES)
def test_every_page_has_the_security_headers_and_no_script(http: httpx.Client, path: str) -> None:
    r = http.get(path)
    assert r.status_code == 200
    assert r.headers["content-security-policy"] == CSP
    assert "default-src 'self'" in CSP and "unsafe-inline" not in CSP
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-type"].startswith("text/html")
    # no script of our own, no inline handlers, nothing from another origin
    assert "<script" not in r.text.lower()
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", r.text, re.I)
    assert not re.search(r'(src|href)="(https?:)?//', r.text)


def test_hostile_headline_and_body_are_text(http: httpx.Client, archive: FixtureArchive) -> None:
    for path in ("/search?q=mayor", f"/articles/{archive.xss_id}", "/alerts", "/watchlists"):
        page = http.get(path).text
        assert "<script>window.__pwned" not in page, path
        assert "<img src=x" not in page, path
    article = http.get(f"/articles/{archive.xss_id}").text
    assert html.escape(XSS_TITLE, quote=False) in article.replace("&#34;", '"')
    assert "&lt;img src=x onerror=" in article
    assert "US place &lt;Indianapolis&gt;" in article  # relevance reasons escaped too
    assert "signed an MOU &lt;with&gt; Wuhan" in article  # and evidence


def test_search_shows_hits_facets_histogram_and_pages(http: httpx.Client) -> None:
    r = http.get("/search", params={"q": "sister"})
    api = http.get("/api/search", params={"q": "sister"}).json()
    counted = f"<strong>{api['total']}</strong> stories ({api['articles']} articles)"
    assert api["unit"] == "stories" and counted in r.text
    assert api["total"] > 5
    assert "<mark>sister</mark>" in r.text.lower() or "<mark>Sister</mark>" in r.text
    for facet in ("source", "language", "event", "country"):
        assert f'data-facet="{facet}"' in r.text
    assert (
        r.text.count("<rect ") == len({d for d, _ in api["histogram"][:120]}) or "<rect" in r.text
    )
    # a facet link filters: country TW leaves only Taiwanese stories
    assert 'href="/search?q=sister&amp;country=TW"' in r.text
    tw = http.get("/api/search", params={"q": "sister", "country": "TW"}).json()
    assert tw["total"] >= 1 and all("TW" in h["countries"] for h in tw["hits"])
    page = http.get("/search", params={"q": "sister", "country": "TW"}).text
    assert 'class="chip" href="/search?q=sister"' in page  # the filter can be removed
    assert f"<strong>{tw['total']}</strong> stor" in page


def test_estimated_facet_counts_are_marked(
    http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crawler.search import tantivy_index as search_index

    exact = http.get("/api/search", params={"q": "sister OR delegation"}).json()
    assert exact["facet_sample"] == 1.0
    assert "Counts estimated" not in http.get("/search", params={"q": "sister OR delegation"}).text
    # as if this result were too large to count: facets come from a sample and say so
    monkeypatch.setattr(search_index, "FACET_SAMPLE_ABOVE", 1)
    monkeypatch.setattr(search_index, "FACET_SAMPLE_SIZE", 1)
    params = {"q": "delegation OR sister"}
    api = http.get("/api/search", params=params).json()
    assert 0 < api["facet_sample"] < 1 and api["total"] == exact["total"]
    page = http.get("/search", params=params).text
    assert re.search(r"Counts estimated from a \d+ % sample of the [\d,]+ matches", page)


def test_pagination_and_sort_links(http: httpx.Client) -> None:
    everything = http.get("/api/search").json()
    assert everything["total"] > 20  # the fixture archive spans two pages
    first = http.get("/search").text
    assert 'rel="next" href="/search?page=2"' in first
    second = http.get("/api/search", params={"page": 2}).json()
    ids_1 = {h["id"] for h in everything["hits"]}
    assert ids_1.isdisjoint({h["id"] for h in second["hits"]})
    dated = http.get("/api/search", params={"q": "sister", "sort": "date"}).json()["hits"]
    days = [h["published"] or "" for h in dated]
    assert days == sorted(days, reverse=True)


@pytest.mark.parametrize("query", ["wuhan AND (", '"sister', "published:[2024 TO"])
def test_query_errors_point_at_their_position(http: httpx.Client, query: str) -> None:
    with pytest.raises(QueryError) as expected:
        parse_query(query)
    pos = expected.value.position
    r = http.get("/search", params={"q": query})
    assert r.status_code == 400
    assert f"position {pos}:" in r.text
    shown = query[pos : pos + 1] or " "
    assert f'<mark class="err">{html.escape(shown, quote=True).replace("&quot;", "&#34;")}' in (
        r.text
    )
    api = http.get("/api/search", params={"q": query})
    assert api.status_code == 400 and api.json()["position"] == pos


def test_bad_dates_are_reported_not_fatal(http: httpx.Client) -> None:
    r = http.get("/search", params={"q": "sister", "since": "last week"})
    assert r.status_code == 200 and "Ignored since: not a date" in r.text
    assert http.get("/api/search", params={"since": "last week"}).status_code == 400


def test_date_filter_and_histogram_bars_link_to_their_day(http: httpx.Client) -> None:
    narrowed = http.get("/api/search", params={"since": "2024-05-01", "until": "2024-05-02"})
    hits = narrowed.json()["hits"]
    assert hits and all("2024-05-01" <= h["published"][:10] <= "2024-05-02" for h in hits)
    page = http.get("/search", params={"q": "sister"}).text
    assert re.search(r'<a href="/search\?q=sister&amp;since=[\d-]+&amp;until=[\d-]+"><rect', page)


def test_article_page(
    http: httpx.Client, archive: FixtureArchive, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHDESK_SLACK_WORKSPACE_URL", "https://desk.slack.com")
    page = http.get(f"/articles/{archive.story_id}").text
    assert '<a href="/articles/' + archive.copy_id + '">Copy: Indiana renews' in page
    assert "https://desk.slack.com/archives/C0SISTERS/p1716900000000100" in page
    assert "channel_not_found: &lt;#C0SISTERS&gt;" in page  # the copy's failed alert
    assert "another copy" in page and "this article" in page
    assert "30.5833, 114.2667" not in page  # the corpus Wuhan has no coordinates
    # the outlet is the source people read, the configured feed is "via"; both escaped
    copy = http.get(f"/articles/{archive.copy_id}").text
    assert "Voice of &lt;b&gt;America&lt;/b&gt;</span>" in copy and "via voa" in copy
    xss = http.get(f"/articles/{archive.xss_id}").text
    assert (
        '<mark class="ent ent-place" title="Indianapolis (Indiana, US)">Indianapolis</mark>' in xss
    )
    assert re.search(
        r'<mark class="term" title="watchlist sister-cities: [^"]+">sister city</mark>', xss
    )
    assert "30.5833, 114.2667" in xss
    assert 'href="https://evil.example/story?&lt;x&gt;"' in xss  # escaped, http(s) only
    assert http.get("/articles/0000000000000000").status_code == 404


def test_article_api(http: httpx.Client, archive: FixtureArchive) -> None:
    data = http.get(f"/api/articles/{archive.story_id}").json()
    assert data["id"] == archive.story_id
    assert [c["id"] for c in data["copies"]] == [archive.copy_id]
    assert {(a["status"], a["same_article"]) for a in data["alerts"]} == {
        ("delivered", True),
        ("failed", False),
    }
    assert "sister-cities" in {w["watchlist"] for w in data["watchlists"]}
    assert http.get("/api/articles/nope").status_code == 404


def test_watchlists_overview_agrees_with_the_exact_backtest(
    http: httpx.Client, archive: FixtureArchive
) -> None:
    data = {w["name"]: w for w in http.get("/api/watchlists").json()["watchlists"]}
    assert set(data) == {"sister-cities", "wuhan-daily"}
    with _store(archive) as store:
        for wl in archive.loaded.watchlists.watchlists:
            # the page asks the archive; the backtest replays the live matcher: same answer
            expected = backtest(store, wl, date_field="published")
            shown = data[wl.name]
            assert shown["matches_30d"] == expected.matches, wl.name
            assert len(shown["days"]) == 30
            assert sum(d["matches"] for d in shown["days"]) == expected.matches
            per_day = {d.day.isoformat(): d.matches for d in expected.days if d.matches}
            assert {d["day"]: d["matches"] for d in shown["days"] if d["matches"]} == per_day
            assert {h["id"] for h in shown["latest"]} == {h.article_id for h in expected.hits[:5]}
    assert data["sister-cities"]["matches_30d"] >= 3
    page = http.get("/watchlists").text
    assert "digest 0 8 * * * (America/New_York)" in page
    total = data["sister-cities"]["matches_30d"]
    assert f"{total} matches published in the last 30 days" in page


def test_draft_backtest_and_explain(http: httpx.Client, archive: FixtureArchive) -> None:
    with _store(archive) as store:
        expected = backtest(store, "mayor AND MOU")
    page = http.get("/watchlists", params={"draft": "mayor AND MOU", "days": 30}).text
    assert f"<strong>{expected.matches}</strong> matching article" in page
    assert expected.matches >= 1
    assert f"/watchlists/explain?query=mayor%20AND%20MOU&amp;article={archive.xss_id}" in page
    bad = http.get("/watchlists", params={"draft": "mayor AND ("})
    assert bad.status_code == 400 and "position 10" in bad.text
    api = http.get("/api/backtest", params={"q": "mayor AND MOU"}).json()
    assert api["matches"] == expected.matches and api["draft"] is True
    why = http.get(
        "/watchlists/explain", params={"watchlist": "sister-cities", "article": archive.xss_id}
    ).text
    assert '<h2 class="yes">Match: watchlist sister-cities</h2>' in why
    not_why = http.get(
        "/watchlists/explain", params={"query": "Taipei", "article": archive.xss_id}
    ).text
    assert '<h2 class="no">No match: draft query</h2>' in not_why
    missing = http.get("/watchlists/explain", params={"query": "x", "article": "nope"})
    assert missing.status_code == 404


def test_sources_failing_and_silent_first(http: httpx.Client) -> None:
    data = http.get("/api/sources").json()
    states = [(s["name"], s["state"]) for s in data["sources"]]
    assert states[:3] == [("voa", "failing"), ("quiet", "silent"), ("newfeed", "never polled")]
    assert {n for n, s in states[3:]} == {"indystar", "xinhua"}
    voa = data["sources"][0]
    assert voa["consecutive_failures"] == 3 and voa["last_error"] == "HTTP 500 <html>"
    page = http.get("/sources").text
    assert page.index(">voa<") < page.index(">quiet<") < page.index(">indystar<")
    assert "HTTP 500 &lt;html&gt;" in page


def test_alerts_page(http: httpx.Client) -> None:
    page = http.get("/alerts").text
    assert "<code>1716900000.000100</code>" in page  # no workspace URL: the ts
    assert "channel_not_found: &lt;#C0SISTERS&gt;" in page
    failed = http.get("/alerts", params={"status": "failed"}).text
    assert "1716900000.000100" not in failed and "channel_not_found" in failed
    api = http.get("/api/alerts", params={"status": "pending"}).json()["alerts"]
    assert api and all(a["status"] == "pending" for a in api)


def test_exports(http: httpx.Client) -> None:
    total = http.get("/api/search", params={"q": "mayor OR sister"}).json()["total"]
    r = http.get("/search.csv", params={"q": "mayor OR sister"})
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.text)))
    # the one column list of both exports (the CLI's `search --csv` too)
    assert rows[0] == list(CSV_COLUMNS) and {"text", "canonical_url"} <= set(rows[0])
    assert len(rows) - 1 == total
    cells = [c for row in rows[1:] for c in row]
    assert not any(c.startswith(("=", "+", "-", "@")) for c in cells)
    assert any(c.startswith("'=HYPERLINK") or "=HYPERLINK" in c for c in cells)
    lines = http.get("/search.json", params={"q": "mayor OR sister"}).text.splitlines()
    assert len(lines) == total and all(json.loads(line)["id"] for line in lines)


def test_metrics_match_the_store(http: httpx.Client, archive: FixtureArchive) -> None:
    r = http.get("/metrics")
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    values = {}
    for line in r.text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    with _store(archive) as store:
        assert values["watchdesk_articles_stored"] == store.count_articles()
        counts = store.alert_counts()
    for status in ("pending", "delivered", "failed"):
        assert values[f'watchdesk_alerts{{status="{status}"}}'] == counts.get(status, 0)
    assert values['watchdesk_source_polls_total{source="voa"}'] == 3
    assert values['watchdesk_source_poll_failures_total{source="voa"}'] == 3
    assert values['watchdesk_source_poll_failures_total{source="indystar"}'] == 0
    assert values["watchdesk_sources_failing"] == 1
    assert http.get("/healthz").json()["status"] == "ok"


def test_openapi_describes_the_api_and_no_cdn_docs(http: httpx.Client) -> None:
    spec = http.get("/api/openapi.json").json()
    for path in ("/api/search", "/api/articles/{article_id}", "/api/watchlists", "/api/sources"):
        assert path in spec["paths"]
    params = {p["name"] for p in spec["paths"]["/api/search"]["get"]["parameters"]}
    assert {"q", "source", "country", "since", "sort", "page"} <= params
    assert http.get("/docs").status_code == 404


def test_read_only_every_route_is_a_get(live_server: LiveServer, http: httpx.Client) -> None:
    app = create_app(live_server.archive.loaded)
    for route in app.routes:
        methods = getattr(route, "methods", None)
        if methods:
            assert methods <= {"GET", "HEAD"}, route
    assert http.post("/search", data={"q": "x"}).status_code == 405


def test_token_is_checked_on_every_request(archive: FixtureArchive) -> None:
    with (
        running(create_app(archive.loaded, token="s3cret-token")) as url,
        httpx.Client(base_url=url, timeout=30) as c,
    ):
        for path in ("/", "/api/search", "/static/style.css", "/metrics", "/healthz"):
            r = c.get(path)
            assert r.status_code == 401, path
            assert r.headers["content-security-policy"] == CSP
        assert c.get("/", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.get("/", params={"token": "wrong"}).status_code == 401
        ok = c.get("/api/search", headers={"Authorization": "Bearer s3cret-token"})
        assert ok.status_code == 200
        r = c.get("/search", params={"q": "wuhan", "token": "s3cret-token"})
        assert r.status_code == 303
        assert r.headers["location"] == "/search?q=wuhan"
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert c.get("/search", params={"q": "wuhan"}).status_code == 200  # the cookie
        c.cookies.clear()
        assert c.get("/search").status_code == 401


def test_label_facet_filters_like_the_others(http: httpx.Client) -> None:
    """The label facet: on the page, in the API with the same name, and a click adds the
    `label` filter (a `label:` clause) that the API takes too."""
    api = http.get("/api/search", params={"q": "sister"}).json()
    counts = dict(api["facets"]["label"])
    assert counts["state_media"] >= 1 and "" not in counts
    page = http.get("/search", params={"q": "sister"}).text
    assert 'data-facet="label"' in page
    link = (
        '<a href="/search?q=sister&amp;label=state_media" title="label:state_media">state media</a>'
    )
    assert link in page
    narrowed = http.get("/api/search", params={"q": "sister", "label": "state_media"}).json()
    assert narrowed["total"] == counts["state_media"]
    assert {h["label"] for h in narrowed["hits"]} == {"state_media"}
    assert {h["source"] for h in narrowed["hits"]} <= {"voa", "xinhua"}
    same = http.get("/api/search", params={"q": "sister AND label:state_media"}).json()
    assert same["total"] == narrowed["total"]
    clicked = http.get("/search", params={"q": "sister", "label": "state_media"}).text
    assert f"<strong>{narrowed['total']}</strong> stor" in clicked  # stories (articles)
    assert 'class="chip" href="/search?q=sister"' in clicked  # the filter can be removed
    assert "label: state media ✕" in clicked


def test_entity_facets_show_names_and_filter_by_id(http: httpx.Client) -> None:
    api = http.get("/api/search", params={"q": "sister"}).json()
    names = {e["id"]: e["name"] for h in api["hits"] for e in h["entities"]}
    page = http.get("/search", params={"q": "sister"}).text
    shown = [v for v, _ in api["facets"]["entity"] if v in names]
    assert shown
    for value in shown:
        link = f'href="/search?q=sister&amp;entity={value.replace(":", "%3A")}" '
        link += f'title="entity:{value}">'  # the code, on hover
        assert link + html.escape(names[value], quote=False) + "</a>" in page.replace("&#39;", "'")
    narrowed = http.get("/api/search", params={"q": "sister", "entity": shown[0]}).json()
    assert narrowed["total"] >= 1
    assert all(shown[0] in {e["id"] for e in h["entities"]} for h in narrowed["hits"])


def test_article_highlights_have_a_colour_per_kind_and_each_can_be_turned_off(
    http: httpx.Client, archive: FixtureArchive
) -> None:
    page = http.get(f"/articles/{archive.xss_id}").text
    assert '<mark class="ent ent-place" title="Indianapolis (Indiana, US)">' in page
    assert re.search(r'<mark class="term" title="watchlist sister-cities', page)
    # the legend links to the page with one kind toggled; countries are not coloured as people
    for kind in ("term", "place", "country", "org", "person"):
        assert f'href="?hide={kind}"' in page, kind
    css = http.get("/static/style.css").text
    assert "mark.ent-country { background: var(--country); }" in css
    hidden = http.get(f"/articles/{archive.xss_id}", params={"hide": "place,term,bogus"}).text
    assert 'class="ent ent-place"' not in hidden.split('<div class="text">', 1)[1]
    assert '<mark class="term"' not in hidden.split('<div class="text">', 1)[1]
    assert "Indianapolis" in hidden  # the text stays, unmarked
    # turning one back on keeps the other off; the unknown kind is dropped
    assert 'class="off" href="?hide=term"' in hidden
    assert 'class="off" href="?hide=place"' in hidden
