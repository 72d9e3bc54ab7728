"""Named outcome counters (`article/dropped/duplicate`, `feed/bozo`, `alert/sent/slack`).

Every outcome of the pipeline is counted by name, so that `watchdesk status`, logs and tests can
read what happened instead of inferring it.
"""

from __future__ import annotations

import threading
from collections import Counter


class Stats:
    """A thread-safe bag of counters keyed by path-like names."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def inc(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counts[name] += n

    def get(self, name: str) -> int:
        with self._lock:
            return self._counts.get(name, 0)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(sorted(self._counts.items()))

    def merge(self, other: Stats) -> None:
        for k, v in other.snapshot().items():
            self.inc(k, v)
