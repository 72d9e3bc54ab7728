"""robots.txt, obeyed for every request waiting on it (a fix over Scrapy's middleware).

Scrapy 2.19's RobotsTxtMiddleware makes the requests that arrive while a host's robots.txt is
being fetched wait on one Deferred, awaited through `Deferred.asFuture`; its callback returns
None, so only the first waiter gets the parser and every other one sees "no robots.txt" and is
let through. Found by tests/spiders/test_politeness.py: a disallowed feed was fetched when
three sources on one host started together. Here a waiter that got None looks again at the
parser the middleware stored for the host.
"""

from __future__ import annotations

from typing import Any

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.http import Request
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred


class SharedRobotsTxtMiddleware(RobotsTxtMiddleware):
    """RobotsTxtMiddleware whose concurrent waiters all get the host's parser."""

    async def robot_parser(self, request: Request) -> Any:
        parser = await super().robot_parser(request)
        if parser is None:
            stored = self._parsers.get(urlparse_cached(request).netloc)
            if stored is not None and not isinstance(stored, Deferred):
                return stored
        return parser
