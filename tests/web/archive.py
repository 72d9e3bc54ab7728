"""A fixture archive for the web page: the query corpus plus stories, copies, hostile text,
alerts in every state and sources in every health state, in a real SQLite store."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alerts.policy import alert_kind
from crawler.article import Article, Entity
from crawler.records import MatchedTerm, PollRecord, StoryMatch
from crawler.storage import Store
from tests.query.corpus import ARTICLES, HUBEI, INDIANA, WUHAN
from watchdesk.service.config import LoadedConfig, load_config

XSS_TITLE = "<script>window.__pwned = 1</script> Mayor <b>signs</b> MOU"
XSS_TEXT = (
    'The mayor of Indianapolis signed an MOU with Wuhan. <img src=x onerror="window.__pwned=2"> '
    'Officials called it a sister city milestone. =HYPERLINK("http://evil")'
)

CONFIG = """\
store: {path: store.db}
sources:
  - {name: indystar, kind: feed, url: "http://127.0.0.1:9/indystar.xml"}
  - {name: voa, kind: feed, url: "http://127.0.0.1:9/voa.xml"}
  - {name: xinhua, kind: feed, url: "http://127.0.0.1:9/xinhua.xml"}
  - {name: quiet, kind: feed, url: "http://127.0.0.1:9/quiet.xml", silent_after: 1h}
  - {name: newfeed, kind: feed, url: "http://127.0.0.1:9/new.xml"}
watchlists:
  - name: sister-cities
    description: Sister- and friendship-city ties
    query: '("sister city" OR "sister-city" OR 友好城市) AND country:CN'
    channel: "C0SISTERS"
  - name: wuhan-daily
    query: 'Wuhan OR 武汉'
    channel: "#wuhan"
    delivery: {digest: "0 8 * * *", timezone: America/New_York}
"""


@dataclass
class FixtureArchive:
    loaded: LoadedConfig
    xss_id: str
    story_id: str
    copy_id: str


def _xss_article() -> Article:
    text = XSS_TEXT
    start = text.index("Indianapolis")
    wuhan = text.index("Wuhan")
    return Article(
        url="https://evil.example/story?<x>",
        canonical_url="https://evil.example/story",
        source="indystar",
        title=XSS_TITLE,
        text=text,
        language="en",
        entities=[
            Entity(
                "geonames:4259418",
                "Indianapolis",
                "place",
                "US",
                "Indiana",
                39.7684,
                -86.1580,
                1,
                [(start, start + len("Indianapolis"))],
                "city",
            ),
            Entity(
                "geonames:1791247",
                "Wuhan",
                "place",
                "CN",
                "Hubei",
                30.5833,
                114.2667,
                1,
                [(wuhan, wuhan + 5)],
                "city",
            ),
        ],
        countries=["US", "CN"],
        events=["agreement", "sister_city"],
        evidence={"agreement": ["signed an MOU <with> Wuhan"], "sister_city": ["sister city"]},
        relevance=0.77,
        relevance_reasons=["US place <Indianapolis> and Chinese place Wuhan"],
        published=datetime.now(UTC) - timedelta(days=2),
        cluster_id="story-xss",
    )


def build_archive(folder: Path) -> FixtureArchive:
    """Write the config and fill the store under `folder`; returns the loaded config and ids."""
    (folder / "watchdesk.yaml").write_text(CONFIG, encoding="utf-8")
    loaded = load_config(folder / "watchdesk.yaml")
    with Store(loaded.store_path) as store:
        for article in ARTICLES:
            store.save_article(copy.deepcopy(article))
        xss = _xss_article()
        store.save_article(
            xss,
            [StoryMatch("sister-cities", "C0SISTERS", [MatchedTerm("sister city", "text", 0, 1)])],
            decide=alert_kind,
        )
        # a story and a syndicated copy of it from another source, both alerted
        lead = copy.deepcopy(ARTICLES[0])
        lead.url = lead.canonical_url = "https://indystar.example/sister-city-renewed"
        lead.cluster_id = "story-indiana"
        lead.published = datetime.now(UTC) - timedelta(days=1)
        lead.entities = [INDIANA, WUHAN, HUBEI]
        dupe = copy.deepcopy(lead)
        dupe.url = dupe.canonical_url = "https://voa.example/indiana-wuhan"
        dupe.source = "voa"
        dupe.publisher = "Voice of <b>America</b>"  # the outlet, from crawled markup
        dupe.title = "Copy: " + lead.title
        match = StoryMatch("sister-cities", "C0SISTERS", [])
        store.save_article(lead, [match], alert_kind)
        store.save_article(dupe, [match], alert_kind)
        alerts = {a.article_id: a for a in store.list_alerts(limit=100)}
        store.mark_delivered(alerts[lead.id].id or 0, "1716900000.000100")
        store.mark_failed(alerts[dupe.id].id or 0, "channel_not_found: <#C0SISTERS>")
        # source health: ok with news, failing, silent, never polled (newfeed)
        now = datetime.now(UTC)
        store.record_poll(
            "http://127.0.0.1:9/indystar.xml",
            PollRecord("indystar", "ok", 200, items=12, new=3, duration=0.4),
            now - timedelta(hours=1),
        )
        for i in range(3):
            store.record_poll(
                "http://127.0.0.1:9/voa.xml",
                PollRecord("voa", "error", 500, error="HTTP 500 <html>", duration=1.5),
                now - timedelta(minutes=30 - i),
            )
        store.record_poll(
            "http://127.0.0.1:9/quiet.xml",
            PollRecord("quiet", "not_modified", 304, duration=0.1),
            now - timedelta(hours=2),
        )
        store.record_poll(
            "http://127.0.0.1:9/xinhua.xml",
            PollRecord("xinhua", "ok", 200, items=5, new=1, duration=0.9),
            now - timedelta(hours=3),
        )
    return FixtureArchive(loaded, xss.id, lead.id, dupe.id)
