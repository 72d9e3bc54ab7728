"""The web page's guards: the access token, the security headers, the loopback rule.

Binding to anything but loopback needs `WATCHDESK_WEB_TOKEN`; when a token is set it is checked
on every request, as `Authorization: Bearer ...`, or once as `?token=...`, which is swapped for
an HttpOnly cookie and a redirect so the token does not stay in the address bar or history.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from urllib.parse import urlencode

from starlette.datastructures import URL
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp

TOKEN_ENV = "WATCHDESK_WEB_TOKEN"
COOKIE = "watchdesk_token"

# Everything from our own origin, nothing inline, no plugins, no framing: crawled text that
# slipped through escaping still could not run a script or load anything from elsewhere.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def is_loopback(host: str) -> bool:
    """True for localhost and 127.0.0.0/8 / ::1 addresses."""
    if host.strip("[]") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def token_from_env() -> str | None:
    """The configured access token, or None (empty counts as unset)."""
    return os.environ.get(TOKEN_ENV) or None


class SecurityMiddleware(BaseHTTPMiddleware):
    """Checks the token (when one is set) and adds the security headers to every response."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        super().__init__(app)
        self.token = token

    def _valid(self, candidate: str | None) -> bool:
        assert self.token is not None
        return bool(candidate) and hmac.compare_digest(
            candidate.encode("utf-8"),  # type: ignore[union-attr]
            self.token.encode("utf-8"),
        )

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await self._guarded(request, call_next)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    async def _guarded(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        if self.token is None:
            return await call_next(request)
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer ") and self._valid(auth[7:].strip()):
            return await call_next(request)
        given = request.query_params.get("token")
        if given is not None:
            if not self._valid(given):
                return _denied()
            rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
            target = URL(path=request.url.path, query=urlencode(rest))
            redirect = RedirectResponse(str(target), status_code=303)
            redirect.set_cookie(
                COOKIE,
                given,
                httponly=True,
                samesite="strict",
                secure=request.url.scheme == "https",
            )
            return redirect
        if self._valid(request.cookies.get(COOKIE)):
            return await call_next(request)
        return _denied()


def _denied() -> Response:
    return PlainTextResponse(
        "401 Unauthorized: this watchdesk needs its access token "
        "(Authorization: Bearer <token>, or open a link with ?token=<token> once).\n",
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer realm="watchdesk"', "Cache-Control": "no-store"},
    )
