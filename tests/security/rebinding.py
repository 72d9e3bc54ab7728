"""A test resolver that rebinds, and a crawl that uses it (run in a fresh process).

`lookup` answers a public address for `rebind.test` the first time it is asked and 127.0.0.2
(standing in for an internal address) every time after: a name checked while it looked public
must still never be connected to once it answers an internal address. Every other name goes
to the system resolver. The public address is only ever handed to the check made before the
request; the crawl must never connect to it, nor to 127.0.0.2.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Sequence
from typing import Any

from crawler.addresses import system_lookup

REBINDING_HOST = "rebind.test"
# a public address (example.com's, as in tests/crawler/test_urls.py): only ever checked, never
# connected to
PUBLIC_LOOKING = "93.184.216.34"

_lock = threading.Lock()
asked: list[tuple[str, str]] = []


def lookup(host: str) -> Sequence[str]:
    if host != REBINDING_HOST:
        return system_lookup(host)
    with _lock:
        answer = PUBLIC_LOOKING if not asked else "127.0.0.2"
        asked.append((host, answer))
    return (answer,)


class _Recorder:
    """Takes the fetched pages instead of the service's processor."""

    def __init__(self) -> None:
        self.pages: list[str] = []

    def process(self, page: Any) -> None:
        self.pages.append(page.final_url or page.url)


def main(feed_url: str, db: str) -> None:
    """Poll one feed once with `lookup` as the crawl's resolver; print what happened as JSON."""
    from scrapy.crawler import Crawler

    from crawler.config import CrawlConfig, SourceConfig
    from crawler.stats import Stats
    from crawler.storage import Store
    from spiders.address_policy import LOOKUP_SETTING
    from spiders.feed_spider import FeedSpider
    from spiders.runner import make_runner, run_in_reactor
    from spiders.settings import build_settings

    crawl = CrawlConfig()
    source = SourceConfig(name="feed", kind="feed", url=feed_url)
    store = Store(db)
    stats = Stats()
    recorder = _Recorder()

    async def crawl_once() -> Any:
        settings = build_settings(crawl, "ERROR", [source])
        settings[LOOKUP_SETTING] = "tests.security.rebinding.lookup"
        settings["RETRY_TIMES"] = 0
        crawler = Crawler(FeedSpider, settings)
        await make_runner(crawl).crawl(
            crawler, sources=[source], store=store, processor=recorder, stats=stats
        )

    run_in_reactor(crawl_once)
    store.close()
    # run as __main__, the crawl's look-ups went through the module imported by its name
    import tests.security.rebinding as resolver

    print(json.dumps({"asked": resolver.asked, "pages": recorder.pages, "stats": stats.snapshot()}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
