"""The configuration file (`watchdesk.yaml`): its schema, loading and error messages.

Every problem is reported with the file and line it comes from; unknown keys are errors, so a
typo never silently turns a setting off. Secrets are never in the file: they come from
environment variables (SLACK_BOT_TOKEN, ...).
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from alerts.watchlist import WatchlistError, WatchlistSet, load_watchlists, parse_watchlists
from crawler.yamlfile import YamlError, line_of, load_yaml

DEFAULT_CONFIG = "watchdesk.yaml"
DEFAULT_USER_AGENT = "watchdesk/0.1 (+https://github.com/watchdesk/watchdesk; media monitoring)"

_INTERVAL = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_interval(text: str) -> timedelta:
    """`"15m"` -> 15 minutes; units s, m, h, d."""
    m = _INTERVAL.match(str(text))
    if not m:
        raise ValueError(f"not an interval like '15m', '2h' or '1d': {text!r}")
    value = int(m.group(1))
    if value <= 0:
        raise ValueError("interval must be positive")
    return timedelta(**{_UNITS[m.group(2)]: value})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ElasticsearchConfig(_Strict):
    """An Elasticsearch cluster as the search index. Credentials come from the environment:
    WATCHDESK_ES_API_KEY, or WATCHDESK_ES_USERNAME and WATCHDESK_ES_PASSWORD."""

    url: str
    index_prefix: str = "watchdesk"
    verify_certs: bool = True
    ca_certs: str | None = None
    # ILM: roll the write index over at this size or age; delete indices older than retention
    rollover_max_size: str = "25gb"
    rollover_max_age: str = "30d"
    retention: str = "3650d"
    shards: int = 1
    replicas: int = 1

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not re.match(r"^https?://[^\s/]+", v):
            raise ValueError("must be an http:// or https:// URL")
        return v.rstrip("/")


class StoreConfig(_Strict):
    path: str = "var/watchdesk.db"
    # Search index beside the SQLite store of record; None = the embedded index.
    elasticsearch: ElasticsearchConfig | None = None
    # Articles older than this (by publication, else fetch time) are pruned; the alert
    # history is kept. None keeps everything.
    retention: str | None = None

    @field_validator("retention")
    @classmethod
    def _retention(cls, v: str | None) -> str | None:
        if v is not None:
            parse_interval(v)
        return v


class CrawlConfig(_Strict):
    user_agent: str = DEFAULT_USER_AGENT
    allow_private_addresses: bool = False
    obey_robots: bool = True
    # Scrapy's default is 180 s; a monitor polling hundreds of feeds cannot wait that long for
    # one, and news pages that take longer than 30 s are rare enough to retry next cycle.
    timeout: float = 30.0
    concurrent_requests: int = 16
    concurrent_per_domain: int = 2
    delay: float = 0.0
    # 10 MB: far above any real article page; stops a 50 MB page from eating memory.
    max_page_bytes: int = 10 * 1024 * 1024
    max_entries_per_feed: int = 200


class SlackConfig(_Strict):
    default_channel: str = "#watchdesk"


class AlertsConfig(_Strict):
    sink: Literal["auto", "slack", "terminal", "jsonl", "webhook"] = "auto"
    jsonl_path: str = "var/alerts.jsonl"
    webhook_url: str = ""
    max_attempts: int = 50
    # "inprocess": the compiled matcher in the crawler (default); "percolator": match on the
    # Elasticsearch cluster against watchlists stored as percolator queries.
    matcher: Literal["inprocess", "percolator"] = "inprocess"
    # Where source-health events (a source failing or gone silent, and its recovery) go;
    # None = not delivered (still shown by `watchdesk status`).
    source_health_channel: str | None = None


class WebConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = 8080


class SourceConfig(_Strict):
    name: str
    kind: Literal["feed", "sitemap", "listing"] = "feed"
    url: str
    every: str = "15m"
    language: str | None = None
    tags: list[str] = []
    enabled: bool = True

    @field_validator("name")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", v):
            raise ValueError("must be a slug (letters, digits, '.', '-' and '_')")
        return v

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not re.match(r"^https?://[^\s/]+", v):
            raise ValueError("must be an http:// or https:// URL")
        return v

    @field_validator("every")
    @classmethod
    def _every(cls, v: str) -> str:
        parse_interval(v)
        return v

    @property
    def interval(self) -> timedelta:
        return parse_interval(self.every)


class Config(_Strict):
    store: StoreConfig = StoreConfig()
    crawl: CrawlConfig = CrawlConfig()
    slack: SlackConfig = SlackConfig()
    alerts: AlertsConfig = AlertsConfig()
    web: WebConfig = WebConfig()
    sources: list[SourceConfig] = []
    watchlists: list[Any] | str = Field(default_factory=list)
    organisations: list[dict[str, Any]] = []

    @model_validator(mode="after")
    def _unique_sources(self) -> Config:
        names = [s.name for s in self.sources]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate source names: {', '.join(dupes)}")
        return self


class ConfigError(ValueError):
    """The config is invalid; `problems` are lines like `watchdesk.yaml:12: sources.0.url: ...`."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


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
    def store_path(self) -> Path:
        return self.resolve(self.config.store.path)


def config_path(explicit: str | None = None) -> Path:
    """The config file to use: --config, else $WATCHDESK_CONFIG, else ./watchdesk.yaml."""
    return Path(explicit or os.environ.get("WATCHDESK_CONFIG") or DEFAULT_CONFIG)


def _pydantic_problems(exc: ValidationError, data: Any, path: str) -> list[str]:
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        line = line_of(data, loc)
        field = ".".join(str(p) for p in loc) or "config"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
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
