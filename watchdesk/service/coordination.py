"""Coordination through Redis, for several `watchdesk run` processes (see `crawler.coordination`).

The interface and the one-process default live in the kernel (`crawler.coordination`) so that
the spiders can take a coordinator without knowing which one; this module is the Redis one.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterable
from typing import Any

from crawler.coordination import CLAIM_SECONDS, LocalCoordinator

log = logging.getLogger(__name__)

REDIS_URL_ENV = "WATCHDESK_REDIS_URL"

# Renews or gives back a lease only for its holder: check and act in one step.
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


class RedisCoordinator:
    """Claims and leases as Redis keys under `namespace`, valued with this process's token."""

    shared = True

    def __init__(self, url: str, namespace: str = "watchdesk") -> None:
        import redis

        self._redis: Any = redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5)
        self._token = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self._ns = namespace
        self._renew = self._redis.register_script(_RENEW)
        self._release = self._redis.register_script(_RELEASE)
        self._redis.ping()  # fail at start, with the reason, not at the first poll

    def _key(self, kind: str, name: str) -> str:
        return f"{self._ns}:{kind}:{name}"

    def claim(self, ids: Iterable[str]) -> set[str]:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return set()
        pipe = self._redis.pipeline(transaction=False)
        for aid in wanted:
            pipe.set(self._key("claim", aid), self._token, nx=True, ex=CLAIM_SECONDS)
        return {aid for aid, ok in zip(wanted, pipe.execute(), strict=True) if ok}

    def release(self, ids: Iterable[str]) -> None:
        keys = [self._key("claim", aid) for aid in ids]
        if keys:
            self._redis.delete(*keys)

    def lease(self, name: str, seconds: float) -> bool:
        key = self._key("lease", name)
        ms = max(1, int(seconds * 1000))
        if self._redis.set(key, self._token, nx=True, px=ms):
            return True
        return bool(self._renew(keys=[key], args=[self._token, ms]))

    def release_lease(self, name: str) -> None:
        self._release(keys=[self._key("lease", name)], args=[self._token])

    def close(self) -> None:
        self._redis.close()

    def __contains__(self, article_id: object) -> bool:
        return bool(self._redis.exists(self._key("claim", str(article_id))))


def open_coordinator(namespace: str = "watchdesk") -> LocalCoordinator | RedisCoordinator:
    """Redis when `WATCHDESK_REDIS_URL` is set, else the in-memory one.

    Raises ConnectionError (with the reason, without the URL) when Redis is unreachable.
    """
    url = os.environ.get(REDIS_URL_ENV, "").strip()
    if not url:
        return LocalCoordinator()
    import redis

    try:
        coordinator = RedisCoordinator(url, namespace)
    except (redis.RedisError, ValueError) as exc:
        # the class of the error only: its text may quote the URL, password included
        reason = type(exc).__name__
        raise ConnectionError(f"Redis ({REDIS_URL_ENV}) unreachable: {reason}") from None
    log.info("sharing claims and leases through Redis namespace=%s", namespace)
    return coordinator
