"""The address policy: which hosts a request made on the crawler's behalf may reach.

Configured sources are trusted wherever they live. Everything they lead to (a link found in a
feed, a redirect, a meta refresh, a canonical URL, a robots.txt) may go to the source's own
origin or to hosts whose every address is public; loopback, private, link-local, reserved and
multicast destinations are refused unless `crawl.allow_private_addresses` is true. The names are
resolved through one `Lookup`, so the Scrapy resolver (`spiders/address_policy.py`) and the
one-page fetcher (`spiders/fetch.py`) check the very addresses they connect to.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

# host name -> its addresses (IPv4/IPv6 text); empty when the name does not resolve
Lookup = Callable[[str], Sequence[str]]

# Prefixes that carry an IPv4 address inside an IPv6 one, which a gateway on the path may turn
# back into that IPv4 address: NAT64's well-known prefix (RFC 6052) and its local-use one
# (RFC 8215). 6to4 and Teredo are unwrapped by `ipaddress` itself (`sixtofour`, `teredo`).
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))

# Why a URL is refused: the values that `link/refused/<reason>` counters, `sources check` and the
# refusal records carry.
REFUSED_ADDRESS = "refused_address"


def system_lookup(host: str) -> tuple[str, ...]:
    """Every address the system resolver gives for `host` (IPv4 and IPv6), or ()."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, OSError):
        return ()
    return tuple(dict.fromkeys(str(info[4][0]) for info in infos))


def _embedded_ipv4(addr: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if addr.ipv4_mapped:
        return addr.ipv4_mapped
    if addr.sixtofour:
        return addr.sixtofour
    if addr.teredo:
        return addr.teredo[1]  # the client's own address; the server is public by design
    if any(addr in net for net in _NAT64):
        return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    return None


def is_public_ip(ip: str) -> bool:
    """True only for globally routable unicast addresses, also when an internal IPv4 address is
    wrapped in IPv6 (mapped, 6to4, Teredo, NAT64)."""
    try:
        addr = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address):
        inner = _embedded_ipv4(addr)
        if inner is not None:
            return inner.is_global and not inner.is_multicast
    return addr.is_global and not addr.is_multicast


def ip_literal(host: str) -> str | None:
    """The host as an address when it is an IP literal (brackets of IPv6 URLs removed)."""
    text = host.strip("[]")
    try:
        return str(ipaddress.ip_address(text.split("%", 1)[0]))
    except ValueError:
        return None


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with default ports made explicit, for same-origin checks; raises
    ValueError for a port that is not a number."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower().rstrip("."), port


def same_origin(a: str, b: str) -> bool:
    return origin(a) == origin(b)


class AddressRefused(Exception):
    """A request the address policy refuses: `url` is the hop that was refused (the link itself,
    a redirect or refresh target), `reason` one of scheme, bad_url, no_host, unresolvable,
    refused_address, `address` the internal address it resolved to, when there was one, and
    `via` the URL whose redirect led there."""

    def __init__(
        self, url: str, reason: str, address: str | None = None, via: str | None = None
    ) -> None:
        super().__init__(url, reason, address, via)
        self.url = url
        self.reason = reason
        self.address = address
        self.via = via

    def __str__(self) -> str:
        where = f" (resolves to {self.address})" if self.address else ""
        came = f", redirected from {self.via}" if self.via else ""
        return f"{self.reason}: {self.url}{where}{came}"


@dataclass
class AddressPolicy:
    """The policy of one crawl or one command: whether private addresses are allowed, and the
    lookup names are resolved with (the system's; tests pass a rebinding one).

    `refusal_reason` answers for a URL before it is requested and remembers the answer for the
    life of the policy (one crawl); `checked_addresses` resolves afresh and is what connections
    are made to, so a name that changes its answer in between (DNS rebinding) is still refused.
    """

    allow_private: bool = False
    lookup: Lookup = system_lookup
    _seen: dict[str, tuple[str, ...]] = field(default_factory=dict, repr=False)

    def address_allowed(self, ip: str) -> bool:
        return self.allow_private or is_public_ip(ip)

    def _addresses(self, host: str, *, fresh: bool) -> tuple[str, ...]:
        literal = ip_literal(host)
        if literal is not None:
            return (literal,)
        if not fresh and host in self._seen:
            return self._seen[host]
        found = tuple(self.lookup(host))
        if len(self._seen) > 4096:  # one crawl's worth of hosts; a long run starts over
            self._seen.clear()
        self._seen[host] = found
        return found

    def refusal_reason(self, url: str, trusted_url: str | None) -> str | None:
        """Why `url` must not be requested on behalf of `trusted_url` (a configured source, or
        the URL an operator gave), or None when it may be: the trusted URL's own origin, or a
        host whose every address is allowed."""
        try:
            scheme, host, _ = origin(url)
            trusted = trusted_url is not None and same_origin(url, trusted_url)
        except ValueError:
            return "bad_url"
        if trusted and scheme in ("http", "https") and host:
            return None  # the trusted origin: no look-up needed
        try:
            self.check(url, trusted_url, fresh=False)
        except AddressRefused as refused:
            return refused.reason
        return None

    def check(self, url: str, trusted_url: str | None, *, fresh: bool = True) -> tuple[str, ...]:
        """The addresses `url` may be connected to, resolved now (`fresh`) or as first seen by
        this policy; raises AddressRefused. The trusted URL's own origin is not checked."""
        try:
            scheme, host, _ = origin(url)
            trusted = trusted_url is not None and same_origin(url, trusted_url)
        except ValueError:  # a port that is not a number
            raise AddressRefused(url, "bad_url") from None
        if scheme not in ("http", "https"):
            raise AddressRefused(url, "scheme")
        if not host:
            raise AddressRefused(url, "no_host")
        addresses = self._addresses(host, fresh=fresh)
        if trusted:
            return addresses
        if not addresses:
            raise AddressRefused(url, "unresolvable")
        for address in addresses:
            if not self.address_allowed(address):
                raise AddressRefused(url, REFUSED_ADDRESS, address)
        return addresses


def refusal_reason(url: str, source_url: str, *, allow_private: bool = False) -> str | None:
    """Why a link discovered in `source_url` must not be fetched, or None when it may be (one
    look-up through the system resolver; crawls keep an `AddressPolicy` instead)."""
    return AddressPolicy(allow_private).refusal_reason(url, source_url)
