"""Loopback stand-ins of the news aggregators, speaking their real formats.

- `GoogleNewsStandIn`: an RSS search feed in Google News' layout (`<source url=...>`, an HTML
  description, a non-permalink guid, `Headline - Publisher` titles, `?oc=5` links), article
  pages that answer a client without JavaScript the interstitial (`<title>Google News</title>`,
  a script, a `<noscript>` line) carrying `data-n-a-sg` / `data-n-a-ts` on its `c-wiz` block, and
  a `batchexecute` endpoint answering `Fbv4je` / `garturlreq` calls in the wire format (`)]}'`
  guard, `wrb.fr` rows echoing each request id, `di` and `af.httprm` trailers). Older tokens
  carry the publisher URL in their protobuf payload, newer ones an opaque `AU_yqL…` id.
- `bing_feed`: a Bing News RSS search answer whose links are `apiclick.aspx` redirects with a
  `tid` that changes on every answer, and `<News:Source>` publishers.

The formats follow the maintained decoders and their tests (googlenewsdecoder's `_parse.py`
and `tests/test_parse.py`) and captured feeds (tests/fixtures/feeds/).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

SCRIPT_PATH = "/_/scs/news-static/_/js/k=boq-dots.DotsSplashUi.en_US/am=AAAC/d=1/rs=AA2YrTs"
NOSCRIPT = "Opening the article needs JavaScript. Turn it on to continue."
TIMESTAMP = "1716000000"


@dataclass
class Story:
    url: str  # where the publisher serves it
    title: str
    publisher: str
    published: datetime
    new_token: bool = True  # the AU_yqL… generation (needs batchexecute)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def make_token(payload: bytes) -> str:
    """A token as Google News makes them: base64url of field 1 = 19, field 4 = payload, and
    the trailing field 26 the older tokens carry."""
    raw = b"\x08\x13\x22" + _varint(len(payload)) + payload + b"\xd2\x01\x00"
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def token_for(story: Story) -> str:
    if not story.new_token:
        return make_token(story.url.encode("utf-8"))
    digest = hashlib.sha256(story.url.encode("utf-8")).digest()
    opaque = base64.urlsafe_b64encode(digest * 3).decode("ascii").rstrip("=")
    return make_token(b"AU_yqL" + opaque.encode("ascii"))


def signature_for(token: str) -> str:
    return "AV_" + hashlib.sha1(token.encode("ascii")).hexdigest()


class GoogleNewsStandIn:
    """`with GoogleNewsStandIn(stories) as gn:` serves news.google.com on 127.0.0.1."""

    def __init__(self, stories: list[Story], *, refuse: bool = False) -> None:
        self.stories = stories
        self.refuse = refuse  # batchexecute answers an error row for every call
        self.tokens = {token_for(s): s for s in stories}
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        handler = type("Handler", (_GoogleHandler,), {"standin": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> GoogleNewsStandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def hits(self, prefix: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.requests if r["path"].startswith(prefix)]

    @property
    def feed_url(self) -> str:
        return f"{self.base_url}/rss/search?q=%22sister+city%22+China&hl=en-US&gl=US&ceid=US:en"

    def feed(self) -> str:
        e = html.escape
        items = []
        for token, s in self.tokens.items():
            link = f"{self.base_url}/rss/articles/{token}?oc=5"
            home = "{0.scheme}://{0.netloc}".format(urlsplit(s.url))
            description = (
                f'<a href="{link}" target="_blank">{e(s.title)}</a>'
                f'&nbsp;&nbsp;<font color="#6f6f6f">{e(s.publisher)}</font>'
            )
            items.append(
                f"<item><title>{e(s.title)} - {e(s.publisher)}</title><link>{e(link)}</link>"
                f'<guid isPermaLink="false">{token}</guid>'
                f"<pubDate>{format_datetime(s.published)}</pubDate>"
                f"<description>{e(description)}</description>"
                f'<source url="{e(home)}">{e(s.publisher)}</source></item>'
            )
        return (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel>'
            "<generator>NFE/5.0</generator>"
            "<title>&quot;sister city&quot; China - Google News</title>"
            f"<link>{e(self.base_url)}/search?q=%22sister+city%22+China&amp;hl=en-US</link>"
            "<language>en-US</language><webMaster>news-webmaster@google.com</webMaster>"
            "<copyright>2024 Google Inc.</copyright>"
            "<lastBuildDate>Thu, 16 May 2024 22:10:03 GMT</lastBuildDate>"
            "<description>Google News</description>" + "".join(items) + "</channel></rss>"
        )

    def interstitial(self, token: str) -> str:
        return (
            '<!doctype html><html lang="en-US" dir="ltr"><head><base href="/">'
            "<title>Google News</title>"
            f'<script src="{SCRIPT_PATH}" nonce="x"></script></head><body>'
            '<c-wiz jsrenderer="ZdMwPc" jsshadow jsdata="deferred-i1" data-p="%.@.]">'
            f'<div jscontroller="aLI87" jsaction="rcuQ6b:npT2md" data-n-a-id="{token}" '
            f'data-n-a-sg="{signature_for(token)}" data-n-a-ts="{TIMESTAMP}"></div></c-wiz>'
            f"<noscript>{NOSCRIPT}</noscript></body></html>"
        )

    def batchexecute(self, form: str) -> str:
        """The answer to one POST: a `wrb.fr` row per envelope, echoing its request id."""
        envelopes = json.loads(parse_qs(form)["f.req"][0])[0]
        rows: list[Any] = []
        for rpc, inner_json, _, req_id in envelopes:
            inner = json.loads(inner_json)
            token, ts, sig = inner[2], str(inner[3]), inner[4]
            story = self.tokens.get(token)
            good = (
                rpc == "Fbv4je"
                and inner[0] == "garturlreq"
                and story is not None
                and sig == signature_for(token)
                and ts == TIMESTAMP
            )
            if self.refuse or not good:
                rows.append(["wrb.fr", rpc, None, None, None, [3], req_id])
            else:
                payload = json.dumps(["garturlres", story.url, 1], separators=(",", ":"))  # type: ignore[union-attr]
                rows.append(["wrb.fr", rpc, payload, None, None, None, req_id])
        rows += [["di", 42], ["af.httprm", 41, "-6823418190612343717", 18]]
        return ")]}'\n\n" + json.dumps(rows, separators=(",", ":"))


class _GoogleHandler(BaseHTTPRequestHandler):
    standin: GoogleNewsStandIn
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def _record(self, body: str = "") -> str:
        path = urlsplit(self.path).path
        with self.standin.lock:
            self.standin.requests.append(
                {"method": self.command, "path": path, "full": self.path, "body": body}
            )
        return path

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        path = self._record()
        if path == "/robots.txt":
            self._send(200, "User-agent: *\nAllow: /\n", "text/plain")
        elif path == "/rss/search":
            self._send(200, self.standin.feed(), "application/xml; charset=utf-8")
        elif path.startswith("/rss/articles/"):
            token = unquote(path.rsplit("/", 1)[1])
            if token not in self.standin.tokens:
                self._send(404, "not found", "text/plain")
            else:
                self._send(200, self.standin.interstitial(token), "text/html; charset=utf-8")
        else:
            self._send(404, "not found", "text/plain")

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8")
        path = self._record(body)
        if path != "/_/DotsSplashUi/data/batchexecute":
            self._send(404, "not found", "text/plain")
            return
        try:
            answer = self.standin.batchexecute(body)
        except (KeyError, ValueError, IndexError, TypeError):
            self._send(400, "bad request", "text/plain")
            return
        self._send(200, answer, "application/json; charset=utf-8")

    def _send(self, status: int, body: str, content_type: str) -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def bing_feed(base: str, stories: list[Story]) -> str:
    """A Bing News RSS search answer; every call draws a new `tid`, as Bing does per response."""
    e = html.escape
    tid = uuid.uuid4().hex.upper()
    items = []
    for n, s in enumerate(stories):
        link = (
            f"{base}/news/apiclick.aspx?ref=FexRss&aid=&tid={tid}"
            f"&url={quote(s.url, safe='')}&c={10000 + n * 7919}&mkt=en-us"
        )
        items.append(
            f"<item><title>{e(s.title)}</title><link>{e(link)}</link>"
            f"<description>{e(s.title)}: the story in brief.</description>"
            f"<pubDate>{format_datetime(s.published)}</pubDate>"
            f"<News:Source>{e(s.publisher)}</News:Source></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8" ?>'
        f'<rss xmlns:News="{e(base)}/news/search?q=sister+city&amp;format=rss" version="2.0">'
        "<channel><title>&quot;sister city&quot; China - BingNews</title>"
        f"<link>{e(base)}/news/search?q=%22sister+city%22+China&amp;format=rss</link>"
        "<description>Search results</description>"
        "<copyright>Copyright © 2024 Microsoft. All rights reserved.</copyright>"
        + "".join(items)
        + "</channel></rss>"
    )
