"""Warnings about watchlists that are valid but can never fire, for `watchlist validate`.

A watchlist that names an entity nobody defined, a source the config does not poll, a label
no source of the config carries, a language, country or region no article is ever tagged with,
or a Slack channel written neither as `#name` nor as an id, validates (the schema cannot know)
and then stays silent forever. `lint_watchlists` finds those, each as a sentence for an editor
with the file and line, and the nearest known value when the value looks like a typo ("did you
mean 'zhou-zheng'?").
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alerts.watchlist import Watchlist, WatchlistProblem, WatchlistSet
from crawler.query import Facet, parse_query
from crawler.query.syntax import walk
from crawler.textnorm import fold
from crawler.yamlfile import YamlError, line_of, load_yaml

# Slack: a channel name is at most 80 lower-case letters, digits, hyphens and underscores
# (Slack's "conversations.create" rules); ids are C/G/D (channels, private, DMs) followed by
# upper-case letters and digits, 9 to 11 characters in all in every workspace seen so far.
CHANNEL_NAME = re.compile(r"^#[a-z0-9][a-z0-9_-]{0,79}$")
CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{8,12}$")
# difflib's ratio above which a known value is offered as the intended one: 0.75 suggests
# "querry" -> "query" and "zhou-zhen" -> "zhou-zheng" but not "cn" -> "ca"
SUGGEST_CUTOFF = 0.75


class LintWarning(WatchlistProblem):
    """One reason a watchlist may never match: where, which watchlist, why (a sentence).

    Worded and placed as a load error (`WatchlistProblem`), but a warning: the file loads."""


@dataclass(frozen=True)
class Vocabulary:
    """What articles can be tagged with, to check watchlists against.

    `entity_ids` answers whether an entity value (id, name or alias) names a known entity
    (the live matcher's resolver, `EntityMatcher.ids_for_name`); `entity_keys` are the ids
    offered as suggestions. Countries are upper-case ISO codes, regions and languages as the
    query language normalises them (folded names, lower-case ISO 639-1 codes). `labels` are
    the labels the config's sources carry (`SourceConfig.label`).
    """

    sources: Collection[str]
    languages: Collection[str]
    countries: Collection[str]
    regions: Collection[str]
    entity_ids: Callable[[str], set[str]]
    entity_keys: Collection[str]
    labels: Collection[str] = ()


def suggestion(value: str, known: Collection[str]) -> str:
    """' (did you mean 'x'?)' for the nearest known value, or '' when none is near."""
    near = difflib.get_close_matches(value, list(known), n=1, cutoff=SUGGEST_CUTOFF)
    return f" (did you mean {near[0]!r}?)" if near else ""


def lint_watchlists(
    watchlists: WatchlistSet, vocabulary: Vocabulary, path: str | Path, root: Any = None
) -> list[LintWarning]:
    """Every never-matching value of every watchlist, in file order.

    `root` is the YAML as loaded with line numbers (`crawler.yamlfile.load_yaml`) of the file
    at `path`, holding the watchlists under `watchlists:` (or as a top-level list); without it
    warnings name the file only.
    """
    prefix: tuple[int | str, ...] = () if isinstance(root, list) else ("watchlists",)
    out: list[LintWarning] = []
    for i, wl in enumerate(watchlists.watchlists):

        def warn(key: str, message: str, wl: Watchlist = wl, i: int = i) -> None:
            line = line_of(root, (*prefix, i, key)) if root is not None else None
            out.append(LintWarning(str(path), line, wl.name, message))

        for message in _query_warnings(wl.query, vocabulary):
            warn("query", message)
        for source in wl.sources:
            if source not in vocabulary.sources:
                warn("sources", _unknown("source", source, vocabulary.sources, "config"))
        for language in wl.languages:
            code = language.strip().lower()
            if code not in vocabulary.languages:
                warn("languages", _unknown("language", language, vocabulary.languages))
        if wl.channel and not (CHANNEL_NAME.match(wl.channel) or CHANNEL_ID.match(wl.channel)):
            warn(
                "channel",
                f"channel {wl.channel!r} is neither a #channel-name (lower case, no spaces) "
                "nor a Slack channel id such as C0123456789; Slack will refuse it",
            )
    return out


def _query_warnings(query: str, vocabulary: Vocabulary) -> Iterator[str]:
    tree = parse_query(query)  # already valid: the schema parsed it
    for node in walk(tree):
        if not isinstance(node, Facet):
            continue
        written = node.values[-1] if node.values else ""
        if node.field == "entity":
            if not any(
                vocabulary.entity_ids(fold(v)) or v in vocabulary.entity_keys for v in node.values
            ):
                keys = {k.split(":", 1)[-1] for k in vocabulary.entity_keys}
                yield (
                    f"entity:{written} is not an entity of the watchlists' `entities:` or of "
                    f"the organisation list, so no article is ever tagged with it"
                    f"{suggestion(written.split(':', 1)[-1], keys)}"
                )
        elif node.field == "source":
            for value in node.values:
                if value not in vocabulary.sources:
                    yield _unknown("source", value, vocabulary.sources, "config")
        elif node.field == "label":
            for value in node.values:
                if value not in vocabulary.labels:
                    yield _unknown("label", value, vocabulary.labels)
        elif node.field == "language":
            for value in node.values:
                if value not in vocabulary.languages:
                    yield _unknown("language", value, vocabulary.languages)
        elif node.field == "country":
            for value in node.values:
                if value not in vocabulary.countries:
                    yield _unknown("country", value, vocabulary.countries)
        elif node.field == "region":
            for value in node.values:
                if value not in vocabulary.regions:
                    yield _unknown("region", value, vocabulary.regions)


_WHAT = {
    "source": "a source of the config",
    "label": "the label of a source of the config",
    "language": "a language code articles are tagged with (ISO 639-1, such as en or zh)",
    "country": "a country code articles are tagged with (ISO 3166, such as CN or US)",
    "region": "a US state or Chinese province the gazetteer knows",
}


def _unknown(kind: str, value: str, known: Collection[str], _where: str = "") -> str:
    return (
        f"{kind} {value!r} is not {_WHAT[kind]}, so this can never match{suggestion(value, known)}"
    )


def watchlists_yaml(loaded: Any) -> tuple[Path, Any]:
    """The file the watchlists of a LoadedConfig were read from, and its YAML with lines."""
    ref = loaded.config.watchlists
    path = loaded.resolve(ref) if isinstance(ref, str) else loaded.path
    try:
        data = load_yaml(path)
    except YamlError:
        return path, None  # it loaded a moment ago; a race with an editor: lines unknown
    if isinstance(ref, str):
        return path, data
    block = data.get("watchlists") if isinstance(data, dict) else None
    return path, block


__all__ = ["LintWarning", "Vocabulary", "lint_watchlists", "suggestion", "watchlists_yaml"]
