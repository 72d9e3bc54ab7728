"""What several crawler processes share: claims on articles and leases on jobs.

One process (the default) keeps both in memory. With `WATCHDESK_REDIS_URL` set, they live in
Redis, and N `watchdesk run` processes (on one machine or several, over one shared store)
divide the work between them:

- a **claim** on an article id is taken before its page is fetched, so an article linked by
  two sources polled at the same moment, in this process or another, is fetched once; claims
  are released when the poll ends and expire by themselves (`CLAIM_SECONDS`) if their process
  dies holding them;
- a **lease** on a named job (`poll:<source>`, `outbox`) is held by one process at a time for
  a number of seconds: each source is polled by whichever process takes its lease first when
  it falls due, and one process at a time sends the outbox (one sender is what keeps alerts
  exactly once).

Contract of every `Coordinator`: `claim(ids)` returns the ids newly claimed by this call
(atomic per id), `release(ids)` gives back claims this process holds, `lease(name, seconds)`
is True when this process holds the lease afterwards (taken now, or renewed because it already
held it), `release_lease(name)` gives it back if this process holds it. The Redis URL is a
secret (it may carry a password): it comes from the environment only and is never logged.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Iterable
from typing import Any, Protocol

log = logging.getLogger(__name__)

REDIS_URL_ENV = "WATCHDESK_REDIS_URL"
# Long enough for any article fetch (timeout 30 s, a few retries); short enough that a crashed
# process's claims are free again by the next poll of a fast source.
CLAIM_SECONDS = 300

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


class Coordinator(Protocol):
    # False when this process is the only one (every lease is always its own)
    shared: bool

    def claim(self, ids: Iterable[str]) -> set[str]: ...

    def release(self, ids: Iterable[str]) -> None: ...

    def lease(self, name: str, seconds: float) -> bool: ...

    def release_lease(self, name: str) -> None: ...

    def close(self) -> None: ...

    def __contains__(self, article_id: object) -> bool: ...


class LocalCoordinator:
    """One process: claims in a set; every lease is this process's."""

    shared = False

    def __init__(self) -> None:
        self._claims: set[str] = set()
        self._lock = threading.Lock()

    def claim(self, ids: Iterable[str]) -> set[str]:
        with self._lock:
            new = set(ids) - self._claims
            self._claims |= new
            return new

    def release(self, ids: Iterable[str]) -> None:
        with self._lock:
            self._claims.difference_update(ids)

    def lease(self, name: str, seconds: float) -> bool:
        return True

    def release_lease(self, name: str) -> None:
        pass

    def close(self) -> None:
        pass

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._claims


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
