"""The feed spider: RSS 0.9x/1.0/2.0 and Atom sources, polled with conditional GET.

Each feed is requested with the ETag and Last-Modified it answered last time (spiders/base.py);
a feed that is not a feed (HTML, JSON) is an error of its source; a malformed feed still yields
whatever entries feedparser recovered, the problem logged once per feed, not per poll.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from scrapy.http import Response

from crawler.config import SourceConfig
from spiders.base import SourceProblem, SourceSpider, content_type, describe_failure, log_poll
from spiders.feed_parser import parse_feed

__all__ = ["FeedSpider", "describe_failure", "log_poll"]

log = logging.getLogger("watchdesk.poll")


class FeedSpider(SourceSpider):
    """Polls `kind: feed` sources once (arguments: see SourceSpider)."""

    name = "feeds"
    kind = "feed"

    def parse_source(self, response: Response, source: SourceConfig) -> Iterable[Any]:
        ctype = content_type(response) or None
        parsed = parse_feed(response.body, response.url, ctype)
        tally = self.tallies[source.name]
        if not parsed.is_feed:
            raise SourceProblem(f"not a feed ({ctype or 'no content type'})")
        tally.ttl_minutes = parsed.ttl_minutes
        if parsed.bozo:
            self.wd_stats.inc("feed/bozo")
            # logged once per feed (and again only if the complaint changes), not on every poll
            if parsed.bozo != self.states[source.name].bozo_reported:
                log.warning("malformed feed source=%s problem=%r", source.name, parsed.bozo)
                tally.bozo = parsed.bozo
        return self.follow(source, response.url, parsed.entries[: self.max_entries])
