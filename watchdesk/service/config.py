"""A config file loaded for the service: the validated schema, its place, and its watchlists.

The schema itself (`crawler.config`) knows nothing of watchlists; loading them is the service's
business, since they belong to the alerting stage.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from alerts.lint import suggestion
from alerts.watchlist import (
    WatchlistError,
    WatchlistSet,
    load_watchlists,
    model_keys_at,
    parse_watchlists,
)
from crawler.config import Config, ConfigError
from crawler.stats import Stats
from crawler.storage.engine import DB_URL_ENV, is_postgres_url
from crawler.yamlfile import YamlError, line_of, load_yaml
from enrich.chain import build_context
from enrich.context import EnrichContext


class LoadedConfig:
    """A validated config, its location, and the watchlists it points at (already validated)."""

    def __init__(self, config: Config, path: Path, watchlists: WatchlistSet) -> None:
        self.config = config
        self.path = path
        self.watchlists = watchlists

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def resolve(self, relative: str) -> Path:
        """Paths in the config are relative to the config file's folder."""
        p = Path(relative)
        return p if p.is_absolute() else self.base_dir / p

    @property
    def store_path(self) -> Path | str:
        """Where the store of record is: the SQLite file, or the PostgreSQL URL (WATCHDESK_DB_URL
        when set, else `store.url`), credentials included; log it only through
        `crawler.storage.engine.masked_url` (or `Store.path`, which is masked)."""
        url = os.environ.get(DB_URL_ENV) or self.config.store.url
        if url:
            if not is_postgres_url(url):
                raise ConfigError([f"{DB_URL_ENV}: must be a postgresql:// URL"])
            return url
        return self.resolve(self.config.store.path)

    @property
    def index_path(self) -> Path | None:
        """Where this host keeps its own search index over a Postgres store: beside
        `store.path` (which then names only local files); None for SQLite (beside the file)."""
        if isinstance(self.store_path, Path):
            return None
        return self.resolve(self.config.store.path + ".index")


def _pydantic_problems(exc: ValidationError, data: Any, path: str) -> list[str]:
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        line = line_of(data, loc)
        field = ".".join(str(p) for p in loc) or "config"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            names = [str(p) for p in loc if not isinstance(p, int)]
            msg = "unknown key" + suggestion(names[-1], model_keys_at(Config, names[:-1]))
        elif err["type"] == "literal_error":
            # pydantic: "Input should be 'feed', 'sitemap' or 'listing'"
            expected = str(err.get("ctx", {}).get("expected", "")).replace("'", "")
            msg = f"must be {expected}, not {err['input']!r}"
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        where = f"{path}:{line}" if line else path
        problems.append(f"{where}: {field}: {msg}")
    return problems


def load_config(path: str | Path) -> LoadedConfig:
    """Read, validate and resolve a config file; raises ConfigError listing every problem."""
    p = Path(path)
    try:
        data = load_yaml(p)
    except YamlError as exc:
        raise ConfigError([str(exc)]) from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([f"{p}: expected a mapping of settings at the top level"])
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_pydantic_problems(exc, data, str(p))) from exc
    try:
        if isinstance(config.watchlists, str):
            wl_path = Path(config.watchlists)
            if not wl_path.is_absolute():
                wl_path = p.parent / wl_path
            watchlists = load_watchlists(wl_path)
        else:
            watchlists = parse_watchlists(data.get("watchlists"), str(p), ("watchlists",))
    except WatchlistError as exc:
        raise ConfigError([str(problem) for problem in exc.problems]) from exc
    return LoadedConfig(config, p, watchlists)


def enrich_context(loaded: LoadedConfig | None, stats: Stats | None = None) -> EnrichContext:
    """The enrichment resources for a config (its watched entities and extra organisations):
    the one builder the service and `watchdesk extract` share, so both tag the same things."""
    watched = [e.model_dump() for e in loaded.watchlists.entities] if loaded else []
    extra = loaded.config.organisations if loaded else []
    return build_context(watched_entities=watched, extra_organisations=extra, stats=stats)
