"""The embedded store's size on disk per 1,000 articles, and what retention gives back.

Stores synthetic ~3 KB news articles (title, text, places, one alert in ten) in a fresh SQLite
store, checkpoints the WAL and measures the file. The baseline, measured in the same run, is
the raw UTF-8 size of the same titles and texts: the ratio says what the index, facets and
metadata cost on top of the words themselves. Then prunes the older half (crawler/retention.py)
and measures again after VACUUM. Results: benchmarks/results/store_size.json.

Run: `python benchmarks/store_size.py [--articles 5000]`.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alerts.policy import alert_kind

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crawler.article import Article, Entity  # noqa: E402
from crawler.records import StoryMatch  # noqa: E402
from crawler.storage import Store  # noqa: E402
from crawler.storage.retention import prune  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "store_size.json"
_FILLER = (
    "council county mayor delegation trade port city farm budget school bridge water plant "
    "river harbor grant market rail board vote hearing senate bill report road office museum "
    "festival library college students exchange visit signed letter partner factory jobs tax "
    "land permit cargo airport clinic park police court survey grain soybean Hebei Iowa China "
    "sister friendship agreement memorandum investment province governor legislature"
)
WORDS = tuple(_FILLER.split(" "))
# ~3 KB of text: the median length of the 181 real article bodies of the extraction benchmark
# is about 3,000 characters (benchmarks/extraction_quality.py corpus).
TEXT_WORDS = 450


def make_article(n: int, fetched: datetime, rng: random.Random) -> Article:
    url = f"https://news{n % 50}.example/2024/{n}/story.html"
    art = Article(url=url, canonical_url=url, source=f"source-{n % 50}", fetched=fetched)
    art.title = " ".join(rng.choice(WORDS) for _ in range(10)).capitalize()
    art.text = " ".join(rng.choice(WORDS) for _ in range(TEXT_WORDS))
    art.published = fetched - timedelta(hours=1)
    art.language = "en"
    art.countries = ["US", "CN"]
    art.events = ["sister_city"]
    art.entities = [
        Entity(id="US-IA", name="Iowa", type="place", country="US", region="Iowa"),
        Entity(id="CN-HE", name="Hebei", type="place", country="CN", region="Hebei"),
    ]
    art.relevance = 0.7
    return art


def file_size(path: Path) -> int:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def run(count: int) -> dict[str, object]:
    rng = random.Random(9)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "size.db"
        store = Store(db)
        empty = file_size(db)
        start = datetime(2024, 1, 1, tzinfo=UTC)
        raw = 0
        began = time.perf_counter()
        for n in range(count):
            art = make_article(n, start + timedelta(minutes=10 * n), rng)
            raw += len(art.title.encode()) + len(art.text.encode())
            matches = [StoryMatch("desk", "#desk")] if n % 10 == 0 else []
            store.save_article(art, matches, alert_kind)
        write_s = time.perf_counter() - began
        full = file_size(db) - empty
        cutoff = start + timedelta(minutes=10 * (count // 2))
        for alert in store.list_alerts(status="pending", limit=count):
            store.mark_delivered(alert.id or 0, "ts")
        report = prune(store, cutoff)
        store.execute("SELECT 1")
        store.close()
        conn = sqlite3.connect(db)
        conn.execute("VACUUM")
        conn.close()
        after = file_size(db) - empty
    per_1000 = full / count * 1000
    result = {
        "articles": count,
        "store_bytes": full,
        "store_mb_per_1000_articles": round(per_1000 / 1e6, 2),
        "raw_text_mb_per_1000_articles": round(raw / count * 1000 / 1e6, 2),
        "ratio_to_raw_text": round(full / raw, 2),
        "writes_per_second": round(count / write_s),
        "pruned_articles": report.articles,
        "after_prune_and_vacuum_bytes": after,
        "after_prune_ratio": round(after / full, 2),
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=5000)
    args = parser.parse_args()
    result = run(args.articles)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
