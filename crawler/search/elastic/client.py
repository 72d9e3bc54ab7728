"""The Elasticsearch client, built from the config and the credentials in the environment.

The one place that reads WATCHDESK_ES_API_KEY / WATCHDESK_ES_USERNAME / WATCHDESK_ES_PASSWORD.
Secrets go to the client and nowhere else: never into a log line, an error message or a repr.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

from elasticsearch import Elasticsearch

from crawler.config import ElasticsearchConfig

API_KEY_ENV = "WATCHDESK_ES_API_KEY"
USERNAME_ENV = "WATCHDESK_ES_USERNAME"
PASSWORD_ENV = "WATCHDESK_ES_PASSWORD"

# Seconds per request: searches and 500-document bulks answer well within this on a healthy
# cluster; a hung cluster must not hang a poll cycle.
REQUEST_TIMEOUT = 30.0


class ElasticsearchSetupError(Exception):
    """The cluster cannot be used as configured (credentials, templates, aliases)."""


def redact_url(url: str) -> str:
    """The URL without any user:password part, for messages and logs."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def credentials(env: Mapping[str, str] | None = None) -> dict[str, object]:
    """The client's auth keyword arguments from the environment (empty: no auth).

    An API key wins over a username/password pair; half a pair is an error naming the
    missing variable (never the value of the other).
    """
    env = os.environ if env is None else env
    api_key = env.get(API_KEY_ENV, "").strip()
    if api_key:
        return {"api_key": api_key}
    username = env.get(USERNAME_ENV, "")
    password = env.get(PASSWORD_ENV, "")
    if username and password:
        return {"basic_auth": (username, password)}
    if username or password:
        missing = PASSWORD_ENV if username else USERNAME_ENV
        raise ElasticsearchSetupError(
            f"{missing} is not set: set both {USERNAME_ENV} and {PASSWORD_ENV}, or {API_KEY_ENV}"
        )
    return {}


def _quiet_transport_retries() -> None:
    """Silence the transport's per-retry warnings (each with a full traceback) unless the
    user asked for verbose logs: callers report a failed request once, in one line."""
    if logging.getLogger("elastic_transport").getEffectiveLevel() >= logging.WARNING:
        for name in ("elastic_transport.transport", "elastic_transport.node_pool"):
            logging.getLogger(name).setLevel(logging.ERROR)


def connect(
    cfg: ElasticsearchConfig,
    *,
    env: Mapping[str, str] | None = None,
    request_timeout: float = REQUEST_TIMEOUT,
    max_retries: int = 2,
) -> Elasticsearch:
    """A client for the configured cluster (no request is made here)."""
    _quiet_transport_retries()
    kwargs: dict[str, object] = dict(credentials(env))
    if cfg.url.startswith("https://"):
        kwargs["verify_certs"] = cfg.verify_certs
        if cfg.ca_certs:
            kwargs["ca_certs"] = cfg.ca_certs
    return Elasticsearch(
        cfg.url,
        request_timeout=request_timeout,
        max_retries=max_retries,
        retry_on_timeout=True,
        **kwargs,  # type: ignore[arg-type]
    )


__all__ = [
    "API_KEY_ENV",
    "PASSWORD_ENV",
    "USERNAME_ENV",
    "ElasticsearchSetupError",
    "connect",
    "credentials",
    "redact_url",
]
