"""One page fetched outside a crawl, under the crawl's address policy: the function every other
client that fetches on the crawler's behalf goes through (`watchdesk extract URL`, `watchlist
explain` of an unstored URL, resolving an aggregator's link).

Redirects are followed by hand, each hop checked against the trusted URL's origin like a
discovered link, and each connection made to the very address that was checked (resolved once
per hop, then connected to by address, TLS still verified against the host name), so a name that
changes its answer between the check and the connection cannot lead anywhere unchecked.
"""

from __future__ import annotations

import http.client
import socket
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from crawler.addresses import AddressPolicy, AddressRefused

# Scrapy's REDIRECT_MAX_TIMES in spiders/settings.py
MAX_REDIRECTS = 10
_REDIRECTS = {301, 302, 303, 307, 308}


class FetchError(Exception):
    """The page could not be fetched (network error, HTTP error, too large, too many redirects)."""


@dataclass(slots=True)
class FetchedPage:
    url: str  # after redirects
    status: int
    text: str
    content_type: str = ""
    redirects: list[str] = field(default_factory=list)  # the URLs that redirected, in order


def _connection(
    scheme: str, host: str, port: int | None, address: str, timeout: float
) -> http.client.HTTPConnection:
    cls = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
    conn = cls(host, port, timeout=timeout)

    def connect_checked(
        addr: tuple[str, int], timeout: Any = None, source_address: Any = None
    ) -> socket.socket:
        # http.client connects through this attribute; the host name stays for Host and SNI
        return socket.create_connection((address, addr[1]), timeout, source_address)

    conn._create_connection = connect_checked  # type: ignore[attr-defined]
    return conn


def fetch_page(
    url: str,
    *,
    trusted_url: str | None = None,
    policy: AddressPolicy | None = None,
    user_agent: str = "watchdesk",
    timeout: float = 30.0,
    max_bytes: int = 10 * 1024 * 1024,
) -> FetchedPage:
    """GET `url`, following redirects, under `policy` (default: no private addresses).

    `trusted_url` is whose origin is trusted as a configured source is (default: `url` itself,
    given by the operator); every other hop must resolve to allowed addresses only. Raises
    `AddressRefused` for a refused hop (its URL in the exception), `FetchError` otherwise.
    """
    policy = policy or AddressPolicy()
    trusted = url if trusted_url is None else trusted_url
    redirects: list[str] = []
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        try:
            addresses = policy.check(current, trusted)
        except AddressRefused as refused:
            refused.via = redirects[-1] if redirects else None
            raise
        if not addresses:
            raise FetchError(
                f"{current}: cannot fetch: cannot resolve {urlsplit(current).hostname!r}"
            )
        parts = urlsplit(current)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = {"User-Agent": user_agent, "Accept-Encoding": "identity", "Accept": "*/*"}
        last_error: Exception | None = None
        for address in addresses:
            conn = _connection(parts.scheme, parts.hostname or "", parts.port, address, timeout)
            try:
                conn.request("GET", target, headers=headers)
                resp = conn.getresponse()
                break
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                last_error = exc
        else:
            raise FetchError(f"{current}: cannot fetch: {last_error}")
        try:
            location = resp.getheader("Location")
            if resp.status in _REDIRECTS and location:
                redirects.append(current)
                current = urljoin(current, location.strip())
                continue
            body = resp.read(max_bytes + 1)
        except (OSError, http.client.HTTPException) as exc:
            raise FetchError(f"{current}: cannot fetch: {exc}") from exc
        finally:
            conn.close()
        if len(body) > max_bytes:
            raise FetchError(f"{current}: larger than {max_bytes} bytes (crawl.max_page_bytes)")
        if resp.status >= 400:
            raise FetchError(f"{current}: HTTP {resp.status} {resp.reason}".rstrip())
        charset = resp.headers.get_content_charset() or "utf-8"
        try:
            text = body.decode(charset, errors="replace")
        except LookupError:  # a charset Python does not know
            text = body.decode("utf-8", errors="replace")
        return FetchedPage(
            current, resp.status, text, resp.getheader("Content-Type") or "", redirects
        )
    raise FetchError(f"more than {MAX_REDIRECTS} redirects from {url}")


__all__ = ["AddressRefused", "FetchError", "FetchedPage", "fetch_page"]
