"""The address policy in a crawl: every request checked before it is sent, and every connection
checked where it is made.

One policy (`crawler.addresses`), enforced twice:

- `AddressPolicyMiddleware`, the first downloader middleware (before robots.txt), checks every
  request that reaches the downloader: the spiders' own, and those Scrapy makes for them
  (robots.txt, redirects, meta refreshes). `PolicyRedirectMiddleware` and
  `PolicyMetaRefreshMiddleware`, Scrapy's two redirect middlewares in their places, check a
  target before it is even scheduled (where a duplicate would be dropped without a word). A
  request to the origin of the configured source it was made for passes; anything else needs a
  host whose every address is allowed. A refused request is never sent, so a refused host's
  robots.txt is never requested either: it fails with `HopRefused` (the hop's URL and the
  reason), which the spider records.
- `PolicyResolver`, installed as the reactor's name resolver, resolves each connection's host
  afresh and checks the answer before Twisted connects to it. A name that answered a public
  address to the first check and answers an internal one at connection time (DNS rebinding)
  gets no address: Twisted reports a failed look-up, which `RefusedConnectionMiddleware` turns
  back into `HopRefused` before the retry middleware sees it. Hosts of configured sources are
  trusted here as in the check before.

Not covered: with an HTTP proxy configured (`http_proxy`), the proxy resolves the names; only the
check before the request applies then.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware, RedirectMiddleware
from scrapy.exceptions import CannotResolveHostError, IgnoreRequest
from scrapy.http import Request
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import load_object
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import IHostnameResolver, IResolutionReceiver
from twisted.internet.threads import deferToThreadPool
from zope.interface import implementer

from crawler.addresses import (
    AddressPolicy,
    AddressRefused,
    Lookup,
    ip_literal,
    origin,
    same_origin,
    system_lookup,
)

# Scrapy settings read here (spiders/settings.py sets the first from the config; tests set the
# second to a resolver of their own)
ALLOW_PRIVATE_SETTING = "WATCHDESK_ALLOW_PRIVATE_ADDRESSES"
LOOKUP_SETTING = "WATCHDESK_DNS_LOOKUP"

# How long the resolver reuses an answer whose every address is public: checked, so what it
# connects to is what was checked; 60 s is a common floor for public DNS TTLs.
_PUBLIC_ANSWER_TTL = 60.0


class HopRefused(IgnoreRequest):
    """A request of the crawl that the address policy refused: `url` is the hop (the link, a
    redirect or a refresh target, a robots.txt), `reason` why, `address` what it resolved to."""

    def __init__(self, url: str, reason: str, address: str | None = None) -> None:
        super().__init__(str(AddressRefused(url, reason, address)))
        self.url = url
        self.reason = reason
        self.address = address


def crawl_policy(crawler: Crawler) -> AddressPolicy:
    """The crawl's one `AddressPolicy` (its look-up answers remembered for the crawl)."""
    policy = getattr(crawler, "_watchdesk_address_policy", None)
    if policy is None:
        lookup_setting = crawler.settings.get(LOOKUP_SETTING)
        lookup: Lookup = load_object(lookup_setting) if lookup_setting else system_lookup
        allow = crawler.settings.getbool(ALLOW_PRIVATE_SETTING) or bool(
            getattr(crawler.spider, "allow_private", False)
        )
        policy = AddressPolicy(allow_private=allow, lookup=lookup)
        crawler._watchdesk_address_policy = policy  # type: ignore[attr-defined]
    return policy


def _trusted_urls(request: Request, spider: Any) -> list[str]:
    """The configured URLs a request was made for: its source's, or (robots.txt, which Scrapy
    requests without the spider's meta) every source of the crawl."""
    source = request.meta.get("source")
    if source is not None:
        return [source.url]
    return [s.url for s in getattr(spider, "sources", ())]


class AddressPolicyMiddleware:
    """Checks every request before it is sent (see the module docstring)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.resolver = install_policy_resolver()
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AddressPolicyMiddleware:
        return cls(crawler)

    def spider_opened(self, spider: Any) -> None:
        hosts = {origin(s.url)[1] for s in getattr(spider, "sources", ())}
        self.resolver.register(self, hosts, crawl_policy(self.crawler))

    def spider_closed(self, spider: Any) -> None:
        self.resolver.unregister(self)

    def process_request(self, request: Request) -> None:
        check_request(self.crawler, request)


def _same_origin(a: str, b: str) -> bool:
    try:
        return same_origin(a, b)
    except ValueError:  # a port that is not a number: not the source's origin
        return False


def check_request(crawler: Crawler, request: Request) -> None:
    """Raise HopRefused unless `request` goes to its source's origin or to allowed addresses."""
    spider = crawler.spider
    if any(_same_origin(request.url, url) for url in _trusted_urls(request, spider)):
        return
    try:
        crawl_policy(crawler).check(request.url, None, fresh=False)
    except AddressRefused as refused:
        stats = getattr(spider, "wd_stats", None)
        if stats is not None:
            stats.inc(f"hop/refused/{refused.reason}")
        raise HopRefused(refused.url, refused.reason, refused.address) from None


class _CheckedRedirects:
    """Checks a redirect's target before it is scheduled: refused there, it ends the fetch with
    HopRefused (an errback), where a request left to the scheduler could instead be dropped
    silently as a duplicate of another link's redirect to the same URL."""

    crawler: Crawler

    def _redirect(self, redirected: Request, request: Request, reason: Any) -> Request:
        check_request(self.crawler, redirected)
        return super()._redirect(redirected, request, reason)  # type: ignore[misc,no-any-return]


class PolicyRedirectMiddleware(_CheckedRedirects, RedirectMiddleware):
    """Scrapy's RedirectMiddleware (3xx + Location), each target checked first."""


class PolicyMetaRefreshMiddleware(_CheckedRedirects, MetaRefreshMiddleware):
    """Scrapy's MetaRefreshMiddleware (`<meta http-equiv="refresh">`), each target checked first."""


class RefusedConnectionMiddleware:
    """Names a connection the resolver refused (Twisted reports it as a failed look-up) as the
    `HopRefused` it is; placed after the retry middlewares so a refusal is not retried."""

    def __init__(self) -> None:
        self.resolver = install_policy_resolver()

    def process_exception(self, request: Request, exception: Exception) -> None:
        if not isinstance(exception, (CannotResolveHostError, DNSLookupError)):
            return None
        refused = self.resolver.refusal(urlparse_cached(request).hostname or "")
        if refused is None:
            return None
        raise HopRefused(request.url, refused.reason, refused.address)


@dataclass
class _Registration:
    hosts: set[str]
    policy: AddressPolicy


@implementer(IHostnameResolver)
class PolicyResolver:
    """The reactor's name resolver while watchdesk crawls: resolves, checks, then answers.

    A name may resolve to a non-public address only when it is the host of a configured source
    of a running crawl, or when every running crawl allows private addresses. Shared by the
    crawls of the process (each registers its sources while it runs).
    """

    def __init__(self, reactor: Any) -> None:
        self.reactor = reactor
        self._crawls: dict[int, _Registration] = {}
        self._public: dict[str, tuple[float, tuple[str, ...]]] = {}
        self._refused: dict[str, AddressRefused] = {}

    def register(self, key: object, hosts: Iterable[str], policy: AddressPolicy) -> None:
        self._crawls[id(key)] = _Registration(set(hosts), policy)

    def unregister(self, key: object) -> None:
        self._crawls.pop(id(key), None)

    def refusal(self, host: str) -> AddressRefused | None:
        """The last refusal of `host`, until it resolves to allowed addresses again."""
        return self._refused.get(host.lower().rstrip("."))

    def _lookup(self) -> Lookup:
        regs = list(self._crawls.values())
        return regs[-1].policy.lookup if regs else system_lookup

    def _permitted(self, host: str, addresses: tuple[str, ...]) -> AddressRefused | None:
        regs = list(self._crawls.values())
        if any(host in r.hosts for r in regs):
            return None
        allow_private = bool(regs) and all(r.policy.allow_private for r in regs)
        policy = AddressPolicy(allow_private=allow_private)
        if not addresses:
            return None  # unresolvable: Twisted's own DNSLookupError says so
        for address in addresses:
            if not policy.address_allowed(address):
                return AddressRefused(host, "refused_address", address)
        return None

    def resolve(self, host: str) -> tuple[str, ...]:
        """The addresses a connection to `host` may use (blocking: run in a thread)."""
        host = host.lower().rstrip(".")
        literal = ip_literal(host)
        cached = self._public.get(host)
        if literal is None and cached and cached[0] > time.monotonic():
            return cached[1]
        addresses = (literal,) if literal is not None else tuple(self._lookup()(host))
        refused = self._permitted(host, addresses)
        if refused is not None:
            self._refused[host] = refused
            if len(self._refused) > 4096:
                self._refused.pop(next(iter(self._refused)))
            return ()
        self._refused.pop(host, None)
        if (
            literal is None
            and addresses
            and all(AddressPolicy().address_allowed(a) for a in addresses)
        ):
            self._public[host] = (time.monotonic() + _PUBLIC_ANSWER_TTL, addresses)
        return addresses

    def resolveHostName(  # noqa: N802 - Twisted's interface
        self,
        resolutionReceiver: IResolutionReceiver,
        hostName: str,
        portNumber: int = 0,
        addressTypes: Any = None,
        transportSemantics: str = "TCP",
    ) -> IResolutionReceiver:
        from twisted.internet._resolver import HostResolution

        # zope interfaces read as unbound methods to mypy; the receiver is Twisted's object
        receiver: Any = resolutionReceiver
        name = hostName.decode("idna") if isinstance(hostName, bytes) else hostName
        receiver.resolutionBegan(HostResolution(name))

        def answer(addresses: tuple[str, ...]) -> None:
            for address in addresses:
                kind = IPv6Address if ":" in address else IPv4Address
                receiver.addressResolved(kind("TCP", address, portNumber))
            receiver.resolutionComplete()

        def failed(_failure: Any) -> None:
            receiver.resolutionComplete()  # no address: Twisted fails the connection

        d = deferToThreadPool(self.reactor, self.reactor.getThreadPool(), self.resolve, name)
        d.addCallbacks(answer, failed)
        return resolutionReceiver


def install_policy_resolver() -> PolicyResolver:
    """Install the `PolicyResolver` on the running reactor (once per process) and return it."""
    from twisted.internet import reactor

    current = reactor.nameResolver  # type: ignore[attr-defined]
    if isinstance(current, PolicyResolver):
        return current
    resolver = PolicyResolver(reactor)
    reactor.installNameResolver(resolver)  # type: ignore[attr-defined]
    return resolver
