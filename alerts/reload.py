"""Hot reload of watchlists: recompile when the watchlist file changes, keep the old on error.

The monitor calls `WatchlistReloader.check()` now and then (cheap: one `stat`). When the
file's modification time or size changed, it is parsed and validated again; a valid file gives
a new `WatchlistSet` and a freshly compiled `WatchlistMatcher`, an invalid one is logged once
(every problem as `file:line: watchlist 'name': field: reason`) and the running watchlists stay.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alerts.matcher import WatchlistMatcher
from alerts.watchlist import (
    WatchlistError,
    WatchlistProblem,
    WatchlistSet,
    load_watchlists,
    parse_watchlists,
)
from crawler.query import AliasResolver
from crawler.yamlfile import YamlError, load_yaml

log = logging.getLogger("watchdesk.watchlists")

# (st_mtime_ns, st_size): an edit that keeps both is vanishingly rare (same size, same
# nanosecond), and comparing them costs one stat per check.
Signature = tuple[int, int]


@dataclass(frozen=True, slots=True)
class WatchlistReload:
    """A validated, compiled new version of the watchlists."""

    watchlists: WatchlistSet
    matcher: WatchlistMatcher
    entities_changed: bool  # the watched entities differ: the entity tagger needs rebuilding


def _signature(path: Path) -> Signature | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


class WatchlistReloader:
    """Watches one watchlist file (or the config file, when the watchlists are inline).

    `aliases_for` builds the entity-name resolver for a watchlist set (its watched entities
    may have changed); without it, `aliases` is used for every version.
    """

    def __init__(
        self,
        path: str | Path,
        current: WatchlistSet,
        *,
        inline: bool = False,
        aliases: AliasResolver | None = None,
        aliases_for: Callable[[WatchlistSet], AliasResolver | None] | None = None,
    ) -> None:
        self.path = Path(path)
        self.inline = inline
        self.watchlists = current
        self._aliases = aliases
        self._aliases_for = aliases_for
        self._seen = _signature(self.path)
        self._reported: Signature | None = None  # the broken version already logged

    @classmethod
    def for_config(
        cls,
        loaded: Any,
        *,
        aliases: AliasResolver | None = None,
        aliases_for: Callable[[WatchlistSet], AliasResolver | None] | None = None,
    ) -> WatchlistReloader:
        """The reloader for a LoadedConfig: its `watchlists:` file, or the config itself."""
        ref = loaded.config.watchlists
        if isinstance(ref, str):
            return cls(
                loaded.resolve(ref), loaded.watchlists, aliases=aliases, aliases_for=aliases_for
            )
        return cls(
            loaded.path, loaded.watchlists, inline=True, aliases=aliases, aliases_for=aliases_for
        )

    def check(self) -> WatchlistReload | None:
        """A new compiled version when the file changed and is valid; None otherwise.

        Never raises for a bad file: the problems are logged (once per version of the file)
        and the current watchlists stay in force.
        """
        sig = _signature(self.path)
        if sig is None:
            if self._reported != (-1, -1):
                log.warning("watchlists not reloaded: %s: cannot read file", self.path)
                self._reported = (-1, -1)
            return None
        if sig == self._seen:
            return None
        try:
            new = self._load()
        except WatchlistError as exc:
            if self._reported != sig:
                for problem in exc.problems:
                    log.warning("watchlists not reloaded: %s", problem)
                log.warning(
                    "watchlists: %d problem(s) in %s; still running the previous %d watchlist(s)",
                    len(exc.problems),
                    self.path,
                    len(self.watchlists.watchlists),
                )
                self._reported = sig
            return None
        self._seen = sig
        self._reported = None
        old = self.watchlists
        entities_changed = [e.model_dump() for e in new.entities] != [
            e.model_dump() for e in old.entities
        ]
        if new.watchlists == old.watchlists and not entities_changed:
            return None  # touched, not changed: nothing to recompile
        aliases = self._aliases_for(new) if self._aliases_for else self._aliases
        matcher = WatchlistMatcher(new.watchlists, aliases=aliases)
        self.watchlists = new
        log.info(
            "watchlists reloaded path=%s watchlists=%d queries=%d",
            self.path,
            len(new.watchlists),
            matcher.stats["queries"],
        )
        return WatchlistReload(new, matcher, entities_changed)

    def _load(self) -> WatchlistSet:
        if not self.inline:
            return load_watchlists(self.path)
        try:
            data = load_yaml(self.path)
        except YamlError as exc:
            raise WatchlistError([WatchlistProblem(exc.path, exc.line, None, exc.reason)]) from exc
        block = data.get("watchlists") if isinstance(data, dict) else None
        return parse_watchlists(block, str(self.path), ("watchlists",))


__all__ = ["WatchlistReload", "WatchlistReloader"]
