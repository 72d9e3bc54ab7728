"""A loopback HTTP server answering the real Elasticsearch client with response bodies in
Elasticsearch's wire format, chosen by the test, and recording every request.

Not an emulator: it holds no index and decides nothing. A test gives, per method and path, the
function that builds the answer (shaped after the specification's response types: bulk
`{"took", "errors", "items": [{"index": {"_index", "_id", "status", "error"?}}]}`, search
`{"took", "timed_out", "_shards", "hits": {"total", "max_score", "hits": [...]}}`), so what is
tested is how watchdesk reads those answers and what it sends.

    with Replay() as es:
        es.route("POST", "/_bulk", lambda req: (200, bulk_response(req, refuse={...})))
        client = Elasticsearch(es.url)
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    query: str
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def ndjson(self) -> list[dict[str, Any]]:
        """The lines of a bulk body."""
        return [json.loads(line) for line in self.body.splitlines() if line.strip()]

    def bulk_actions(self) -> list[tuple[str, dict[str, Any], dict[str, Any] | None]]:
        """(op type, action metadata, source or None) for each action of a bulk body."""
        lines = self.ndjson()
        out: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = []
        i = 0
        while i < len(lines):
            ((op, meta),) = lines[i].items()
            source = None if op == "delete" else lines[i + 1]
            out.append((op, meta, source))
            i += 1 if op == "delete" else 2
        return out


Answer = Callable[[Request], tuple[int, dict[str, Any]]]


class Replay:
    """See the module docstring. `requests` lists what the client sent, in order."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Answer] = {}
        self.requests: list[Request] = []
        replay = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                req = Request(self.command, parts.path, parts.query, self.rfile.read(length))
                replay.requests.append(req)
                answer = replay.routes.get((req.method, req.path))
                if answer is None:
                    status, body = (
                        404,
                        {
                            "error": {"type": "no_route", "reason": f"{req.method} {req.path}"},
                            "status": 404,
                        },
                    )
                else:
                    status, body = answer(req)
                data = b"" if req.method == "HEAD" else json.dumps(body).encode()
                self.send_response(status)
                # the client checks that it talks to Elasticsearch
                self.send_header("X-Elastic-Product", "Elasticsearch")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def route(self, method: str, path: str, answer: Answer) -> None:
        self.routes[(method, path)] = answer

    def sent(self, method: str, path: str) -> list[Request]:
        return [r for r in self.requests if (r.method, r.path) == (method, path)]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> Replay:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def bulk_response(
    req: Request, errors: dict[str, tuple[int, str, str]] | None = None
) -> dict[str, Any]:
    """A bulk response for `req`: each action succeeds, except the ids in `errors`
    (id -> (status, error type, reason))."""
    errors = errors or {}
    items: list[dict[str, Any]] = []
    for op, meta, _ in req.bulk_actions():
        doc_id = meta["_id"]
        item: dict[str, Any] = {"_index": meta["_index"], "_id": doc_id}
        if doc_id in errors and op != "delete":
            status, kind, reason = errors[doc_id]
            item.update(status=status, error={"type": kind, "reason": reason})
        else:
            item.update(
                _version=1,
                result="deleted" if op == "delete" else "created",
                _shards={"total": 1, "successful": 1, "failed": 0},
                _seq_no=0,
                _primary_term=1,
                status=200 if op == "delete" else 201,
            )
        items.append({op: item})
    return {
        "took": 3,
        "errors": any("error" in next(iter(i.values())) for i in items),
        "items": items,
    }


def search_response(hits: list[dict[str, Any]]) -> dict[str, Any]:
    """A search response holding `hits` (each with `_index`, `_id` and whatever else)."""
    return {
        "took": 1,
        "timed_out": False,
        "_shards": {"total": 2, "successful": 2, "skipped": 0, "failed": 0},
        "hits": {
            "total": {"value": len(hits), "relation": "eq"},
            "max_score": 1.0 if hits else None,
            "hits": [{"_score": 1.0, **h} for h in hits],
        },
    }
