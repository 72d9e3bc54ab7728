"""Watchlists and watched entities: the editors' rules, as validated data.

A watchlist file (or the `watchlists:` key of the config) is YAML; every problem is reported
at once, each naming the file, the line and the watchlist, before anything runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)

from crawler.yamlfile import LineDict, LineList, YamlError, line_of, load_yaml

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class Digest(BaseModel):
    """Collect matches and post one message on a five-field cron schedule."""

    model_config = ConfigDict(extra="forbid")
    digest: str = Field(description="five-field cron, e.g. '0 8 * * *'")
    timezone: str = "UTC"
    # at least one story per digest (a negative number used to slice off the last ones);
    # at most 500, which already takes ten messages or so
    max_stories: int = Field(default=20, ge=1, le=500)

    @field_validator("digest")
    @classmethod
    def _cron(cls, v: str) -> str:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(v)
        except ValueError as exc:
            raise ValueError(f"not a five-field cron expression: {exc}") from exc
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r}") from exc
        return v


class WatchedEntity(BaseModel):
    """A person or organisation an editor wants matched exactly, with aliases in any language."""

    model_config = ConfigDict(extra="forbid")
    id: str
    name: str
    type: Literal["person", "org", "place"] = "person"
    aliases: list[str] = []
    country: str | None = None

    @field_validator("id")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not SLUG.match(v):
            raise ValueError("must be a lowercase slug (letters, digits, - and _)")
        return v


class Watchlist(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    query: str
    description: str = ""
    channel: str = ""
    languages: list[str] = []
    sources: list[str] = []
    min_relevance: float = Field(0.0, ge=0.0, le=1.0)
    # `none`: a saved search, a named query with its filters that never alerts (the matcher
    # skips it); "make it a watchlist" is changing this one line to `instant` or a digest
    delivery: Literal["instant", "none"] | Digest = "instant"
    muted: bool = False
    # `min_relevance: auto`: the floor is learned from the desk's verdicts (alerts.auto_relevance
    # sets `min_relevance` to it); 0.0, no floor, until there are enough
    _auto_relevance: bool = PrivateAttr(default=False)

    @model_validator(mode="wrap")
    @classmethod
    def _auto(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Watchlist:
        auto = isinstance(data, dict) and _is_auto(data.get("min_relevance"))
        if auto:
            data = {**data, "min_relevance": 0.0}
        watchlist: Watchlist = handler(data)
        watchlist._auto_relevance = auto or watchlist._auto_relevance
        return watchlist

    @property
    def auto_relevance(self) -> bool:
        """True for `min_relevance: auto` (then `min_relevance` is the floor in force)."""
        return self._auto_relevance

    @field_validator("name")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not SLUG.match(v):
            raise ValueError("must be a lowercase slug (letters, digits, - and _)")
        return v

    @field_validator("min_relevance", mode="before")
    @classmethod
    def _number_or_auto(cls, v: Any) -> Any:
        if isinstance(v, str):
            try:
                return float(v)
            except ValueError:
                raise ValueError(f"must be a number from 0 to 1, or auto; not {v!r}") from None
        return v

    @field_validator("query")
    @classmethod
    def _query(cls, v: str) -> str:
        from crawler.query import QueryError, parse_query

        try:
            parse_query(v)
        except QueryError as exc:
            raise ValueError(f"bad query: {exc}") from exc
        return v

    @property
    def is_digest(self) -> bool:
        return isinstance(self.delivery, Digest)

    @property
    def is_saved_search(self) -> bool:
        """`delivery: none`: searched by name, never matched live, never alerting."""
        return self.delivery == "none"

    @property
    def delivery_label(self) -> str:
        """How the watchlist delivers, in the file's words: instant, a digest's cron, or none
        for a saved search (the CLI and the web page both show it)."""
        if self.is_saved_search:
            return "none (saved search)"
        if isinstance(self.delivery, Digest):
            return f"digest {self.delivery.digest} ({self.delivery.timezone})"
        return "instant"


def _is_auto(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower() == "auto"


@dataclass
class WatchlistProblem:
    path: str
    line: int | None
    watchlist: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        who = f" watchlist {self.watchlist!r}:" if self.watchlist else ""
        return f"{where}:{who} {self.message}"


class WatchlistError(ValueError):
    """Raised with every problem found; `problems` lists them."""

    def __init__(self, problems: list[WatchlistProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass
class WatchlistSet:
    watchlists: list[Watchlist]
    entities: list[WatchedEntity]

    def by_name(self, name: str) -> Watchlist | None:
        return next((w for w in self.watchlists if w.name == name), None)


def _format_pydantic(
    exc: ValidationError, model: type[BaseModel]
) -> list[tuple[tuple[int | str, ...], str]]:
    """Pydantic's errors as (YAML location, `field: reason`) in an editor's words.

    Pydantic names the members of a union in its paths (`delivery.literal['instant']`,
    `delivery.Digest`) and reports one error per member; those are folded into one sentence
    about the field. An unknown key says which known key it is nearest to (`querry`)."""
    out: list[tuple[tuple[int | str, ...], str]] = []
    seen: set[tuple[tuple[int | str, ...], str]] = set()
    for err in exc.errors():
        raw = tuple(err["loc"])
        loc = tuple(p for p in raw if not _is_union_member(p))
        names = [str(p) for p in loc if not isinstance(p, int)]
        field = ".".join(names) or "value"
        msg = err["msg"]
        if names[:1] == ["delivery"] and len(names) == 1 and not isinstance(err["input"], dict):
            # the input is no mapping: the Digest member's complaint adds nothing
            msg = (
                "must be instant, none (a saved search) or a digest such as "
                f"{{digest: '0 8 * * *'}}, not {err['input']!r}"
            )
        elif (
            names[:1] == ["delivery"] and isinstance(err["input"], dict) and "literal[" in str(raw)
        ):
            continue  # a mapping is meant as a digest: the 'instant' member's error is noise
        elif err["type"] == "extra_forbidden":
            known = model_keys_at(model, names[:-1])
            msg = "unknown key" + _nearest(names[-1], known)
        elif err["type"] == "missing":
            msg = "missing: every entry needs one"
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        key = (loc, f"{field}: {msg}")
        if key not in seen:
            seen.add(key)
            out.append(key)
    return out


def _is_union_member(part: int | str) -> bool:
    # field names are lower-case slugs; pydantic names union members by type (`Digest`,
    # `literal['instant']`, `str`, `float`)
    return isinstance(part, str) and (
        part[:1].isupper() or part.startswith("literal[") or part in ("str", "int", "float")
    )


def model_keys_at(model: type[BaseModel], path: list[str]) -> list[str]:
    """The keys a mapping at `path` inside `model` may have (nested models followed)."""
    for name in path:
        info = model.model_fields.get(name)
        if info is None:
            return []
        members = getattr(info.annotation, "__args__", None) or (info.annotation,)
        models = [t for t in members if isinstance(t, type) and issubclass(t, BaseModel)]
        if not models:
            return []
        model = models[0]
    return list(model.model_fields)


def _nearest(value: str, known: list[str]) -> str:
    import difflib

    # 0.75: "querry" -> "query", "timzone" -> "timezone", but no guess for "colour"
    near = difflib.get_close_matches(value, known, n=1, cutoff=0.75)
    return f" (did you mean {near[0]!r}?)" if near else ""


def parse_watchlists(data: Any, path: str, base_loc: tuple[int | str, ...] = ()) -> WatchlistSet:
    """Validate already-loaded YAML (a mapping with `watchlists:` and `entities:`, or a list).

    Raises WatchlistError listing every problem, each with file, line and watchlist name.
    """
    problems: list[WatchlistProblem] = []
    if isinstance(data, list):
        data_map: dict[str, Any] = {"watchlists": data}
        lists_loc: tuple[int | str, ...] = ()
    elif isinstance(data, dict):
        data_map = data
        lists_loc = ("watchlists",)
        for key in data:
            if key not in ("watchlists", "entities"):
                problems.append(
                    WatchlistProblem(path, line_of(data, (key,)), None, f"{key}: unknown key")
                )
    elif data is None:
        data_map = {}
        lists_loc = ("watchlists",)
    else:
        raise WatchlistError(
            [WatchlistProblem(path, None, None, "expected a mapping with a 'watchlists' list")]
        )
    root = data
    watchlists: list[Watchlist] = []
    seen: dict[str, int | None] = {}
    raw_lists = data_map.get("watchlists") or []
    if not isinstance(raw_lists, list):
        problems.append(
            WatchlistProblem(path, line_of(root, lists_loc), None, "watchlists: expected a list")
        )
        raw_lists = []
    for i, raw in enumerate(raw_lists):
        loc = (*lists_loc, i)
        name = raw.get("name") if isinstance(raw, dict) else None
        try:
            wl = Watchlist.model_validate(raw)
        except ValidationError as exc:
            for err_loc, msg in _format_pydantic(exc, Watchlist):
                problems.append(WatchlistProblem(path, line_of(root, (*loc, *err_loc)), name, msg))
            continue
        if wl.name in seen:
            problems.append(
                WatchlistProblem(
                    path,
                    line_of(root, loc),
                    wl.name,
                    f"name: duplicate watchlist name (first at line {seen[wl.name]})",
                )
            )
            continue
        seen[wl.name] = line_of(root, loc)
        watchlists.append(wl)
    entities: list[WatchedEntity] = []
    raw_entities = data_map.get("entities") or []
    if not isinstance(raw_entities, list):
        problems.append(
            WatchlistProblem(path, line_of(root, ("entities",)), None, "entities: expected a list")
        )
        raw_entities = []
    for i, raw in enumerate(raw_entities):
        try:
            entities.append(WatchedEntity.model_validate(raw))
        except ValidationError as exc:
            for err_loc, msg in _format_pydantic(exc, WatchedEntity):
                problems.append(
                    WatchlistProblem(
                        path, line_of(root, ("entities", i, *err_loc)), None, f"entities: {msg}"
                    )
                )
    if problems:
        raise WatchlistError(problems)
    return WatchlistSet(watchlists, entities)


def load_watchlists(path: str | Path) -> WatchlistSet:
    """Load and validate a watchlist file; raises WatchlistError naming file and line."""
    try:
        data = load_yaml(path)
    except YamlError as exc:
        raise WatchlistError([WatchlistProblem(exc.path, exc.line, None, exc.reason)]) from exc
    return parse_watchlists(data, str(path))


__all__ = [
    "Digest",
    "LineDict",
    "LineList",
    "WatchedEntity",
    "Watchlist",
    "WatchlistError",
    "WatchlistProblem",
    "WatchlistSet",
    "load_watchlists",
    "parse_watchlists",
]
