"""Stories published over 60 days, with copies, for the attention-over-time tests.

Every day has one "sister city" story carried by 1 to 3 outlets (copies share a cluster id);
every fourth day a second story with no cluster id (its own id is its story); one story has a
late copy on the next day (it counts on both days); one article is undated (it counts on the
day it was fetched); "trade mission" stories run on even days only. `expected` states by hand
what each bucket must count.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from crawler.article import Article
from crawler.search.attention import Interval, bucket_of
from crawler.storage import Store

LAST = date(2026, 3, 31)
DAYS = 60
FIRST = LAST - timedelta(days=DAYS - 1)
FETCHED = datetime(2026, 4, 1, 9, tzinfo=UTC)  # a fresh import: every article fetched today
UNDATED_FETCHED = datetime(2026, 3, 20, 8, tzinfo=UTC)
SOURCES = ("ledger", "courier", "wire")


def _article(url: str, title: str, text: str, **fields: object) -> Article:
    a = Article(url=url, canonical_url=url, source=str(fields.pop("source", "ledger")))
    a.title, a.text, a.language = title, text, "en"
    a.fetched = FETCHED
    for name, value in fields.items():
        setattr(a, name, value)
    return a


def articles() -> list[Article]:
    out: list[Article] = []
    for i in range(DAYS):
        day = LAST - timedelta(days=i)
        at = datetime(day.year, day.month, day.day, 10 + i % 5, tzinfo=UTC)
        story = f"sister-{i}"
        for copy in range(1 + i % 3):
            out.append(
                _article(
                    f"https://{SOURCES[copy]}.example/sister/{i}",
                    f"Sister city visit {i}",
                    f"The sister city delegation of day {i} met the mayor.",
                    source=SOURCES[copy],
                    published=at + timedelta(minutes=copy),
                    cluster_id=story,
                )
            )
        if i % 4 == 0:  # a story of one article with no cluster id: its id is its story
            out.append(
                _article(
                    f"https://ledger.example/sister-note/{i}",
                    f"Sister city note {i}",
                    f"A note on the sister city tie, day {i}.",
                    published=at,
                )
            )
        if i % 2 == 0:
            out.append(
                _article(
                    f"https://courier.example/trade/{i}",
                    f"Trade mission {i}",
                    f"A trade mission left for Zhejiang on day {i}.",
                    source="courier",
                    published=at,
                )
            )
    # a late copy of day 10's story, published the next day: the story counts on both days
    late = LAST - timedelta(days=9)
    out.append(
        _article(
            "https://wire.example/sister/10-late",
            "Sister city visit 10",
            "The sister city delegation of day 10 met the mayor.",
            source="wire",
            published=datetime(late.year, late.month, late.day, 3, tzinfo=UTC),
            cluster_id="sister-10",
        )
    )
    out.append(
        _article(
            "https://ledger.example/undated",
            "Undated sister city item",
            "A sister city item without a date.",
            fetched=UNDATED_FETCHED,
        )
    )
    return out


def expected(query: str, interval: Interval) -> dict[date, int]:
    """The stories per bucket the chart must show for "sister city" or "trade mission"."""
    stories: set[tuple[date, str]] = set()
    for i in range(DAYS):
        day = LAST - timedelta(days=i)
        if query == "sister city":
            stories.add((day, f"sister-{i}"))
            if i % 4 == 0:
                stories.add((day, f"note-{i}"))
        elif i % 2 == 0:
            stories.add((day, f"trade-{i}"))
    if query == "sister city":
        stories.add((LAST - timedelta(days=9), "sister-10"))
        stories.add((UNDATED_FETCHED.date(), "undated"))
    counts: dict[date, int] = {}
    for day, _ in {(bucket_of(d, interval), s) for d, s in stories}:
        counts[day] = counts.get(day, 0) + 1
    return counts


def build_store(folder: Path) -> Path:
    """A config and its store holding `articles()`; returns the config's path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "watchdesk.yaml").write_text("store: {path: store.db}\n", encoding="utf-8")
    with Store(folder / "store.db") as store:
        for article in articles():
            assert store.save_article(article)
    return folder / "watchdesk.yaml"
