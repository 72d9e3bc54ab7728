"""AutoThrottle that keeps each source's own `delay` as a floor for its host.

Scrapy's AutoThrottle adapts a host's delay to its latency but lets it fall to the global
DOWNLOAD_DELAY; a source that asks for `delay: 5` (a small official site) must never be hit
faster than that, however quickly it answers.
"""

from __future__ import annotations

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.extensions.throttle import AutoThrottle
from scrapy.http import Response


class SourceAutoThrottle(AutoThrottle):
    """AutoThrottle, with DOWNLOAD_SLOTS' per-host `delay` as a lower bound."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        slots = crawler.settings.getdict("DOWNLOAD_SLOTS")
        self.floors = {key: float(conf.get("delay", 0.0)) for key, conf in slots.items()}

    def _response_downloaded(self, response: Response, request: Request, spider: Spider) -> None:
        super()._response_downloaded(response, request, spider)
        key, slot = self._get_slot(request, spider)
        floor = self.floors.get(key or "", 0.0)
        if slot is not None and slot.delay < floor:
            slot.delay = floor
