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

import threading
from collections.abc import Iterable
from typing import Protocol

# Long enough for any article fetch (timeout 30 s, a few retries); short enough that a crashed
# process's claims are free again by the next poll of a fast source.
CLAIM_SECONDS = 300


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
