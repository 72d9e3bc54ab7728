"""Saved searches: named queries kept in the watchlists file as watchlists with `delivery: none`.

`append_watchlist` adds one to the file the way an editor would: a new block at the end of
the `watchlists:` list, in the file's own indentation, every other line (comments, order,
quoting) left exactly as it was. PyYAML cannot write a file back with its comments, and a
rewrite would reflow what people wrote, so the edit is made on the text, located by the line
numbers the loader records (`crawler.yamlfile`), and checked by loading the result before it
replaces the file (atomically: the old file or the new one, never half of one).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from alerts.watchlist import Watchlist, WatchlistError, parse_watchlists
from crawler.yamlfile import LineDict, LineList, YamlError, load_yaml_text


class SaveError(ValueError):
    """The saved search cannot be written; the message names the file (and line)."""


def saved_search_query(query: str, fields: Sequence[tuple[str, Sequence[str]]]) -> str:
    """The query of a saved search: the typed query ANDed with each filter of a field
    (`country: [CN, TW]` becomes `(country:"CN" OR country:"TW")`), in the query language,
    so the watchlist means exactly what the search did; "" when there is neither."""
    clauses_of = []
    for name, values in fields:
        clauses = [f'{name}:"{_escape(v)}"' for v in values if v]
        if len(clauses) == 1:
            clauses_of.append(clauses[0])
        elif clauses:
            clauses_of.append("(" + " OR ".join(clauses) + ")")
    if not clauses_of:
        return query.strip()
    parts = [f"({query.strip()})"] if query.strip() else []
    return " AND ".join(parts + clauses_of)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def watchlist_block(entry: dict[str, Any], indent: int) -> str:
    """One watchlist as a YAML block sequence item, indented by `indent` spaces."""
    text = yaml.safe_dump(
        [entry], sort_keys=False, allow_unicode=True, default_flow_style=False, width=1_000
    )
    pad = " " * indent
    return "".join(pad + line if line.strip() else line for line in text.splitlines(True))


def append_watchlist(path: Path, entry: dict[str, Any], inline: bool) -> Watchlist:
    """Append the watchlist `entry` to the watchlists in `path` and return it, validated.

    `inline`: the watchlists are the `watchlists:` key of a config file (else `path` is a
    watchlists file: a list, or a mapping with `watchlists:` and `entities:`). Raises
    SaveError for a name already taken, a file it cannot edit safely, or an entry the
    watchlist schema refuses."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SaveError(f"{path}: cannot read file: {exc.strerror or exc}") from None
    try:
        data = load_yaml_text(text, str(path))
    except YamlError as exc:
        raise SaveError(str(exc)) from None
    name = str(entry.get("name", ""))
    try:
        current = parse_watchlists(_watchlists_part(data, inline), str(path))
    except WatchlistError as exc:
        raise SaveError(f"fix the watchlists first:\n{exc}") from None
    if current.by_name(name) is not None:
        raise SaveError(f"{path}: a watchlist named {name!r} already exists; choose another name")
    new_text = _inserted(text, data, entry, inline, str(path))
    try:
        saved = parse_watchlists(
            _watchlists_part(load_yaml_text(new_text, str(path)), inline), str(path)
        )
    except (YamlError, WatchlistError) as exc:
        problems = exc.problems if isinstance(exc, WatchlistError) else []
        ours = [p.message for p in problems if p.watchlist == name] or [str(exc)]
        raise SaveError(f"saved search {name!r} not saved: {'; '.join(ours)}") from None
    added = saved.by_name(name)
    if added is None or len(saved.watchlists) != len(current.watchlists) + 1:
        raise SaveError(f"{path}: could not add {name!r} safely; add it by hand")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(new_text, encoding="utf-8")
    os.replace(tmp, path)
    return added


def _watchlists_part(data: Any, inline: bool) -> Any:
    if inline:
        return {"watchlists": data.get("watchlists")} if isinstance(data, dict) else None
    return data


def _inserted(text: str, data: Any, entry: dict[str, Any], inline: bool, name: str) -> str:
    """The file's text with the entry added at the end of its watchlist list."""
    lines = text.splitlines(True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    if isinstance(data, LineList) and not inline:
        return _append_to_list(lines, data, len(lines), entry, name)
    if data is None and not inline:  # an empty file
        return "".join(lines) + "watchlists:\n" + watchlist_block(entry, 2)
    if not isinstance(data, LineDict):
        raise SaveError(f"{name}: expected a mapping with a 'watchlists' list")
    if "watchlists" not in data:
        return "".join(lines) + "watchlists:\n" + watchlist_block(entry, 2)
    key_line = data.key_lines["watchlists"]  # 1-based
    after = [line for key, line in data.key_lines.items() if line > key_line]
    end = min(after) - 1 if after else len(lines)  # the lines up to the next key (0-based end)
    value = data["watchlists"]
    head = lines[key_line - 1]
    rest = head.split(":", 1)[1] if ":" in head else ""
    if value is None or (isinstance(value, list) and not value):
        if value is not None and "[]" not in rest:
            raise SaveError(f"{name}:{key_line}: watchlists: cannot tell where the list is")
        # `watchlists:` or `watchlists: []`: the key gets a block list of one
        key = head.split(":", 1)[0]
        comment = rest[rest.index("#") :] if "#" in rest else ""
        new_head = f"{key}:{(' ' + comment.strip()) if comment else ''}\n"
        block = watchlist_block(entry, 2)
        return "".join(lines[: key_line - 1]) + new_head + block + "".join(lines[key_line:])
    if not isinstance(value, LineList):
        raise SaveError(f"{name}:{key_line}: watchlists: expected a list")
    return _append_to_list(lines, value, end, entry, name)


def _append_to_list(
    lines: list[str], items: LineList, end: int, entry: dict[str, Any], name: str
) -> str:
    """Add the entry after the last item of a block list that ends by line `end`."""
    first = lines[items.item_lines[0] - 1]
    if not first.lstrip().startswith("-"):
        at = items.item_lines[0]
        raise SaveError(
            f"{name}:{at}: watchlists are written as a [flow] list; add the saved search "
            "by hand (or write them as a block list, one '- name:' per watchlist)"
        )
    indent = _indent(first)
    # the list ends before the blank lines and comments that follow its last item, unless a
    # comment is indented into the item (comments at the items' level or left of them
    # introduce what comes next)
    cut = end
    while cut > items.item_lines[-1]:
        line = lines[cut - 1]
        if line.strip() and not (line.lstrip().startswith("#") and _indent(line) <= indent):
            break
        cut -= 1
    return "".join(lines[:cut]) + watchlist_block(entry, indent) + "".join(lines[cut:])


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


__all__ = [
    "SaveError",
    "append_watchlist",
    "saved_search_query",
    "watchlist_block",
]
