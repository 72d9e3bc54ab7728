"""News aggregators whose feed links are not the article: Google News, Bing News, Google Alerts.

Bing and Google Alerts wrap the publisher's URL in a redirect (`...apiclick.aspx?...&url=`,
`google.com/url?...&url=`): the link is unwrapped before it is keyed, so Bing's per-response
`tid` never makes a story new again. Google News links carry a token
(`/rss/articles/<token>?oc=5`), which answers a script-only interstitial to a client without
JavaScript. Older tokens hold the publisher URL in their base64 protobuf payload and decode
offline; newer ones (`AU_yq…` inside the payload) need the article page's `data-n-a-sg` /
`data-n-a-ts` attributes and one `batchexecute` call (`Fbv4je` / `garturlreq`), which takes
many tokens at once. This is the protocol of the maintained decoders (the `googlenewsdecoder`
package); here it is only data in, data out: the feed spider makes the requests through Scrapy,
with the crawler's politeness, addressed relative to the aggregator source's own origin.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from urllib.parse import parse_qs, quote, urlsplit

# The parameter of a Bing News or Google Alerts link that holds the publisher's URL; the
# others (`tid`, `aid`, `c`, `mkt`, `ct`, `cd`, `usg`) are the aggregator's own, per response.
_WRAPPED_URL_PARAM = "url"

# The protobuf envelope of a Google News token: field 1 (varint 19), then field 4 (bytes).
_TOKEN_HEADER = b"\x08\x13\x22"
# The payload of a newer token: an opaque id the batchexecute call resolves.
_NEW_TOKEN_PREFIX = b"AU_yq"
_TOKEN_PATH = re.compile(r"/(?:rss/)?(?:articles|read)/([A-Za-z0-9_-]{8,})/?$")
_SIGNATURE = re.compile(r'data-n-a-sg="([^"]+)"')
_TIMESTAMP = re.compile(r'data-n-a-ts="([^"]+)"')

_CHUNK_LENGTH = re.compile(r"\s*\d+\s*")

BATCHEXECUTE_PATH = "/_/DotsSplashUi/data/batchexecute"
RPC_ID = "Fbv4je"
# The context block the web client sends with `garturlreq` (as googlenewsdecoder sends it);
# the server reads the token, timestamp and signature that follow it.
_GARTURLREQ_CONTEXT: list[object] = [
    ["X", "X", ["X", "X"], None, None, 1, 1, "US:en", None, 1, None, None, None, None, None, 0, 1],
    "X",
    "X",
    1,
    [1, 1, 1],
    1,
    1,
    None,
    0,
    0,
    None,
    0,
]


def unwrap_redirect(link: str) -> str | None:
    """The publisher URL inside a Bing News or Google Alerts redirect link, or None when the
    link wraps nothing."""
    values = parse_qs(urlsplit(link).query).get(_WRAPPED_URL_PARAM)
    if not values:
        return None
    target = values[0].strip()
    return target if target.startswith(("http://", "https://")) else None


def google_token(link: str, source_url: str) -> str | None:
    """The token of a Google News article link on the source's own origin, else None."""
    parts, home = urlsplit(link), urlsplit(source_url)
    if (parts.scheme, parts.netloc.lower()) != (home.scheme, home.netloc.lower()):
        return None
    m = _TOKEN_PATH.search(parts.path)
    return m.group(1) if m else None


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while pos < len(data):
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
    raise ValueError("truncated varint")


def token_payload(token: str) -> bytes | None:
    """The bytes of field 4 of a token's protobuf envelope, or None if it is not one."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    if not raw.startswith(_TOKEN_HEADER):
        return None
    try:
        length, pos = _varint(raw, len(_TOKEN_HEADER))
    except ValueError:
        return None
    payload = raw[pos : pos + length]
    return payload if len(payload) == length else None


def decode_token_offline(token: str) -> str | None:
    """The publisher URL of an older token (it is in the payload), or None: a newer token
    (`AU_yq…`) or something else, which needs the batchexecute call."""
    payload = token_payload(token)
    if payload is None or payload.startswith(_NEW_TOKEN_PREFIX):
        return None
    try:
        url = payload.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return url if url.startswith(("http://", "https://")) else None


def signature_page_url(origin: str, token: str, feed_url: str) -> str:
    """The article page that carries the token's signature, with the feed's locale
    (`/articles/` and `/read/` redirect a client without JavaScript to a consent page;
    `/rss/articles/` answers)."""
    query = parse_qs(urlsplit(feed_url).query)
    hl = query.get("hl", ["en-US"])[0]
    gl = query.get("gl", ["US"])[0]
    ceid = query.get("ceid", ["US:en"])[0]
    return (
        f"{origin}/rss/articles/{token}"
        f"?hl={quote(hl, safe='')}&gl={quote(gl, safe='')}&ceid={quote(ceid, safe='')}"
    )


def parse_signature(html: str) -> tuple[str, str] | None:
    """`(signature, timestamp)` from the article page's `data-n-a-sg` / `data-n-a-ts`."""
    sg, ts = _SIGNATURE.search(html), _TIMESTAMP.search(html)
    return (sg.group(1), ts.group(1)) if sg and ts else None


def batchexecute_body(items: list[tuple[str, str, str, str]]) -> str:
    """The form body of one batchexecute POST for `(request_id, token, timestamp, signature)`
    items; each envelope carries its request id, echoed back in its answer row."""
    envelopes = []
    for req_id, token, ts, sig in items:
        inner = ["garturlreq", _GARTURLREQ_CONTEXT, token, int(ts) if ts.isdigit() else ts, sig]
        envelopes.append([RPC_ID, json.dumps(inner, separators=(",", ":")), None, req_id])
    return "f.req=" + quote(json.dumps([envelopes], separators=(",", ":")), safe="")


def _rows(text: str) -> list[object]:
    """The answer rows of a batchexecute response: after the `)]}'` guard, either one JSON
    array or (with `rt=c`) chunks each preceded by its length."""
    body = text.lstrip()
    if body.startswith(")]}'"):
        body = body[4:]
    body = body.strip()
    try:
        rows = json.loads(body)
        return rows if isinstance(rows, list) else []
    except json.JSONDecodeError:
        pass
    out: list[object] = []
    decoder = json.JSONDecoder()
    pos = 0
    while pos < len(body):
        m = _CHUNK_LENGTH.match(body, pos)
        if m:
            pos = m.end()
        if pos >= len(body):
            break
        chunk, pos = decoder.raw_decode(body, pos)
        if isinstance(chunk, list):
            out.extend(chunk)
    return out


def parse_batchexecute(text: str) -> dict[str, str]:
    """Request id -> publisher URL from a batchexecute response; rows that are not a
    `garturlres` answer (errors, `di`, `af.httprm`) are skipped. Never raises."""
    try:
        rows = _rows(text)
    except (json.JSONDecodeError, ValueError):
        return {}
    found: dict[str, str] = {}
    for row in rows:
        if not (isinstance(row, list) and len(row) >= 3 and row[0] == "wrb.fr"):
            continue
        if row[1] != RPC_ID or not isinstance(row[2], str):
            continue
        try:
            payload = json.loads(row[2])
        except json.JSONDecodeError:
            continue
        if not (isinstance(payload, list) and len(payload) >= 2 and payload[0] == "garturlres"):
            continue
        url = payload[1]
        req_id = next((str(c) for c in reversed(row[3:]) if c is not None), str(len(found)))
        if isinstance(url, str) and url.startswith(("http://", "https://")):
            found[req_id] = url
    return found


def strip_publisher_suffix(title: str, publisher: str) -> str:
    """Google News titles end in ` - Publisher`: the headline alone."""
    suffix = f" - {publisher}"
    if publisher and title.endswith(suffix) and len(title) > len(suffix):
        return title[: -len(suffix)].strip()
    return title
